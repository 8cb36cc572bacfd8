#!/usr/bin/env bash
# Installs the locked npm dependencies without running their install scripts
# (the addon is built by `npm run build`; the benchmark peers by their bench
# scripts). The lock lists every platform's optional bundler binaries, so
# `npm ci` installs from it as it is and leaves it untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --ignore-scripts --no-audit --no-fund
