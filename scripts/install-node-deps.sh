#!/usr/bin/env bash
# Installs the locked npm dependencies without running their install scripts
# (the addon is built by `npm run build`; the benchmark peers by their bench
# scripts). `npm ci` refuses a lock file that lacks an optional dependency the
# registry does not serve (e.g. a bundler's binary for a platform nobody here
# uses); `npm install` then installs the same locked versions.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --ignore-scripts --no-audit --no-fund || npm install --ignore-scripts --no-audit --no-fund
