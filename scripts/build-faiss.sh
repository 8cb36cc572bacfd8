#!/usr/bin/env bash
# Builds the Faiss that faiss-native links: release 1.15.0, static and
# position-independent, every SIMD level compiled in and chosen at run time
# (FAISS_OPT_LEVEL=dd), no GPU, Python, MKL or tests.
#
#   bash scripts/build-faiss.sh [x64|arm64]     prints the install prefix on stdout
#
# The install goes to a cache keyed by version, architecture and flags
# ($FAISS_NATIVE_CACHE, default .cache/faiss/ in the package) and is reused when
# present. The source is verified against its sha256 before anything is built:
#   $FAISS_SOURCE         a faiss-1.15.0.tar.gz or an unpacked source directory
#   ../shared/faiss/      beside the repository
#   faiss-src/            inside the npm package (added by `npm pack`)
#   otherwise             a clone of tag v1.15.0, checked against its commit
# arm64 is cross-compiled on x86-64 with aarch64-linux-gnu-g++ against the
# OpenBLAS that scripts/prebuild-setup.sh arm64 unpacks.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
version=1.15.0
tarball_sha256=4463b83d6799e9ff90e0d2aa4f400206d277a75df1be4d9c244cfc8ae77db3fa
commit=20f14b31a6d54e243a3d1de6ae193fc4c3ec18ed
host_arch=$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')
arch=${1:-$host_arch}
jobs=${FAISS_BUILD_JOBS:-$(nproc)}
log() { echo "build-faiss($arch): $*" >&2; }

flags=(
  -DCMAKE_BUILD_TYPE=Release -DFAISS_OPT_LEVEL=dd -DBUILD_SHARED_LIBS=OFF
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DFAISS_ENABLE_GPU=OFF -DFAISS_ENABLE_PYTHON=OFF
  -DFAISS_ENABLE_EXTRAS=OFF -DBUILD_TESTING=OFF -DFAISS_ENABLE_MKL=OFF -DFAISS_ENABLE_C_API=OFF
)
case "$arch" in
  x64 | arm64) ;;
  *) echo "usage: $0 [x64|arm64]" >&2; exit 2 ;;
esac
if [ "$arch" != "$host_arch" ]; then
  [ "$arch" = arm64 ] && [ "$host_arch" = x64 ] || { log "cannot build $arch on $host_arch"; exit 2; }
  sysroot=$repo/.cache/sysroot-arm64
  blas=$sysroot/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.a
  [ -e "$blas" ] || { log "run scripts/prebuild-setup.sh arm64 first (no $blas)"; exit 1; }
  flags+=(
    -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64
    -DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc -DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++
    -DBLAS_LIBRARIES="$blas" -DLAPACK_LIBRARIES="$blas"
  )
else
  flags+=(-DBLA_VENDOR=OpenBLAS)
fi

key=$(printf '%s\n' "$version" "$arch" "${flags[@]}" | sha256sum | cut -c1-12)
prefix=${FAISS_NATIVE_CACHE:-$repo/.cache/faiss}/$version-$arch-$key
if [ -f "$prefix/lib/libfaiss.a" ] && [ -f "$prefix/.complete" ]; then
  log "cached at $prefix"
  echo "$prefix"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

verify_tarball() {
  echo "$tarball_sha256  $1" | sha256sum -c --quiet - >&2 || { log "$1: sha256 mismatch"; exit 1; }
  tar -xzf "$1" -C "$work"
  src=$work/faiss-$version
}

src=
for candidate in "${FAISS_SOURCE:-}" "$repo/../shared/faiss/faiss-$version.tar.gz" "$repo/faiss-src/faiss-$version.tar.gz"; do
  [ -n "$candidate" ] && [ -e "$candidate" ] || continue
  if [ -d "$candidate" ]; then
    # An unpacked tree has no tarball to check; its tag's commit is checked when it is a clone.
    src=$candidate
    if [ -d "$candidate/.git" ]; then
      [ "$(git -C "$candidate" rev-parse HEAD)" = "$commit" ] || { log "$candidate is not commit $commit"; exit 1; }
    fi
  else
    verify_tarball "$candidate"
  fi
  log "source: $candidate"
  break
done
if [ -z "$src" ]; then
  log "no local source; cloning tag v$version"
  git clone -q --depth 1 --branch "v$version" https://github.com/facebookresearch/faiss.git "$work/faiss-$version"
  [ "$(git -C "$work/faiss-$version" rev-parse HEAD)" = "$commit" ] || { log "tag v$version is not commit $commit"; exit 1; }
  src=$work/faiss-$version
fi

log "building (about 5-6 minutes on 2 cores) into $prefix"
cmake -S "$src" -B "$work/build" "${flags[@]}" -DCMAKE_INSTALL_PREFIX="$prefix" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; exit 1; }
cmake --build "$work/build" --target faiss -j "$jobs" >"$work/build.log" 2>&1 ||
  { tail -50 "$work/build.log" >&2; exit 1; }
rm -rf "$prefix"
cmake --install "$work/build" --component Unspecified >/dev/null 2>&1 || cmake --install "$work/build" >/dev/null
cp "$src/LICENSE" "$prefix/LICENSE"
touch "$prefix/.complete"
log "done"
echo "$prefix"
