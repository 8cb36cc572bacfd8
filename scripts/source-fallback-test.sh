#!/usr/bin/env bash
# Proves the source fallback: the packed tarball without its prebuilds/
# installs on this machine (which has the build dependencies) by compiling
# Faiss from the source the tarball ships (faiss-src/, into an empty cache, no
# network) and the addon with node-gyp, and gives the same results as the
# repository's build.
#   bash scripts/source-fallback-test.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${FAISS_NATIVE_SOURCE_DIR:-/tmp/faiss-native-source-fallback}
log() { echo "source-fallback: $*"; }
started=$SECONDS

rm -rf "$work"
mkdir -p "$work/app" "$work/unpacked"
tarball=$(cd "$repo" && npm pack --loglevel=error --pack-destination "$work" | tail -1)
tar -xzf "$work/$tarball" -C "$work/unpacked"
rm -rf "$work/unpacked/package/prebuilds"
tar -czf "$work/app/faiss-native-source.tgz" -C "$work/unpacked" package
echo '{ "name": "app", "private": true }' >"$work/app/package.json"

# The install compiles C++: hold the machine's build lock.
(cd "$work/app" && env -u FAISS_SOURCE -u FAISS_NATIVE_PREFIX FAISS_NATIVE_CACHE="$work/faiss-cache" \
  flock /tmp/faiss-native-build.lock npm install --prefer-offline --no-audit --no-fund --foreground-scripts ./faiss-native-source.tgz 2>&1 |
  grep -v -E '^\s+(CXX|CC)\(' | sed 's/^/  npm: /' | tee "$work/install.log")
grep -q "build-faiss: source: $work/app/node_modules/faiss-native/faiss-src/faiss-1.15.0.tar.gz" "$work/install.log" ||
  { echo "source-fallback: Faiss was not built from the package's own source" >&2; exit 1; }
built=$work/app/node_modules/faiss-native/build/Release/faiss_native.node
[ -f "$built" ] || { echo "source-fallback: no $built after npm install" >&2; exit 1; }

(cd "$repo" && node scripts/smoke.mjs run "$repo" --save="$work/host.index" >"$work/host.json" 2>/dev/null)
(cd "$work/app" && node "$repo/scripts/smoke.mjs" run faiss-native --index="$work/host.index" >"$work/source.json" 2>/dev/null)
grep -q '"binary":"build/Release/faiss_native.node"' "$work/source.json" ||
  { echo "source-fallback: the installed package did not load its own build" >&2; exit 1; }
node "$repo/scripts/smoke.mjs" compare "$work/host.json" "$work/source.json" --tolerance=1e-5
log "ok: built from source at install time and gave the same results; $((SECONDS - started)) s"
