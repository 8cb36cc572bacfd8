#!/usr/bin/env bash
# Builds Faiss 1.7.3 with AVX2 kernels (FAISS_OPT_LEVEL=avx2: -mavx2 -mfma -mf16c
# -mpopcnt) from Debian's own source package (`apt-get source faiss`, Debian's
# patches applied), as a static, position-independent library:
# .cache/faiss-avx2/lib/libfaiss.a, for `node scripts/prebuild.mjs --variant=avx2`
# (prebuilds/linux-x64-avx2/) and scripts/bench-avx2.mjs. The package does not
# ship that variant: it was faster on SIFT10K and with recommendParams() on GloVe,
# but slower for other common settings (sub-vectors of 5 or 10 dimensions).
# x64 only; about 2 minutes on 2 cores; holds the build lock. Run as root (apt).
#   bash scripts/build-faiss-avx2.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/.cache/faiss-avx2
src=$out/src
log() { echo "faiss-avx2: $*"; }

if [ -f "$out/lib/libfaiss.a" ]; then log "$out/lib/libfaiss.a already there"; exit 0; fi
[ "$(uname -m)" = x86_64 ] || { log "x64 only" >&2; exit 1; }
missing=()
for p in dpkg-dev cmake g++ make libopenblas-openmp-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Source packages: Debian's container images list binary packages only.
if ! apt-cache showsrc faiss 2>/dev/null | grep -q '^Version: 1\.7\.3' && [ -f /etc/apt/sources.list.d/debian.sources ]; then
  log "adding deb-src entries (/etc/apt/sources.list.d/faiss-native-src.sources)"
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >/etc/apt/sources.list.d/faiss-native-src.sources
  apt-get update -qq
fi
if ! apt-cache showsrc faiss 2>/dev/null | grep -q '^Version: 1\.7\.3'; then
  log "no deb-src entry for faiss 1.7.3 in the apt sources (Types: deb-src)" >&2
  exit 1
fi

rm -rf "$src" && mkdir -p "$src"
id _apt >/dev/null 2>&1 && chown _apt "$src"  # apt downloads as _apt
(cd "$src" && apt-get source -qq faiss=1.7.3-2 >/dev/null)
dir=$(find "$src" -maxdepth 1 -type d -name 'faiss-1.7.3*' | head -1)
[ -n "$dir" ] || { log "apt-get source faiss did not unpack" >&2; exit 1; }

started=$SECONDS
flock /tmp/faiss-native-build.lock cmake -S "$dir" -B "$out/build" -DCMAKE_BUILD_TYPE=Release \
  -DFAISS_OPT_LEVEL=avx2 -DFAISS_ENABLE_GPU=OFF -DFAISS_ENABLE_PYTHON=OFF -DBUILD_TESTING=OFF \
  -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBLA_VENDOR=OpenBLAS >/dev/null
flock /tmp/faiss-native-build.lock cmake --build "$out/build" --target faiss_avx2 -j 2 >/dev/null
mkdir -p "$out/lib"
cp "$(find "$out/build" -name libfaiss_avx2.a | head -1)" "$out/lib/libfaiss.a"
# binding.gyp looks for OpenBLAS beside Faiss: the system's static one.
ln -sfn "/usr/lib/$(gcc -print-multiarch)/openblas-openmp" "$out/lib/openblas-openmp"
rm -rf "$out/build" "$src"
log "built $out/lib/libfaiss.a in $((SECONDS - started)) s"
