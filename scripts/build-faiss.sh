#!/usr/bin/env bash
# Builds the Faiss that faiss-native links: release 1.15.0, static and
# position-independent, every SIMD level compiled in and chosen at run time
# (FAISS_OPT_LEVEL=dd), no GPU, Python, MKL or tests.
#
#   bash scripts/build-faiss.sh [x64|arm64]     prints the install prefix on stdout
#   bash scripts/build-faiss.sh --pack DIR      puts the verified source in DIR/faiss-1.15.0.tar.gz
#                                               (npm pack ships it, for installs without a prebuild)
#
# The install goes to a cache keyed by version, architecture and flags
# ($FAISS_NATIVE_CACHE, default .cache/faiss/ in the package) and is reused when
# present. The source is the release's `git archive`, verified by the sha256 of
# its tar stream (the same whatever gzip packed it) before anything is built:
#   $FAISS_SOURCE         a faiss-1.15.0.tar.gz
#   ../shared/faiss/      beside the repository
#   faiss-src/            inside the npm package
#   otherwise             a clone of tag v1.15.0, checked against its commit
# arm64 is cross-compiled on x86-64 with aarch64-linux-gnu-g++ against the
# OpenBLAS that scripts/prebuild-setup.sh arm64 unpacks.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
version=1.15.0
tar_sha256=3248151ec1a07ee875bb208350ca240860e5b9ad185492279873b5b11b683cba
commit=20f14b31a6d54e243a3d1de6ae193fc4c3ec18ed
host_arch=$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')
log() { echo "build-faiss: $*" >&2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Sets tarball to a verified faiss-$version.tar.gz.
find_source() {
  tarball=
  for candidate in "${FAISS_SOURCE:-}" "$repo/../shared/faiss/faiss-$version.tar.gz" "$repo/faiss-src/faiss-$version.tar.gz"; do
    [ -n "$candidate" ] && [ -f "$candidate" ] || continue
    tarball=$candidate
    log "source: $candidate"
    break
  done
  if [ -z "$tarball" ]; then
    log "no local source; cloning tag v$version"
    git clone -q --depth 1 --branch "v$version" https://github.com/facebookresearch/faiss.git "$work/clone"
    [ "$(git -C "$work/clone" rev-parse HEAD)" = "$commit" ] || { log "tag v$version is not commit $commit"; exit 1; }
    tarball=$work/faiss-$version.tar.gz
    git -C "$work/clone" archive --format=tar --prefix="faiss-$version/" HEAD | gzip -n >"$tarball"
  fi
  [ "$(gzip -dc "$tarball" | sha256sum | cut -d' ' -f1)" = "$tar_sha256" ] ||
    { log "$tarball is not the Faiss $version release source (sha256 of its tar stream differs)"; exit 1; }
}

if [ "${1:-}" = --pack ]; then
  find_source
  mkdir -p "${2:?usage: $0 --pack DIR}"
  cp "$tarball" "$2/faiss-$version.tar.gz"
  exit 0
fi

arch=${1:-$host_arch}
flags=(
  -DCMAKE_BUILD_TYPE=Release -DFAISS_OPT_LEVEL=dd -DBUILD_SHARED_LIBS=OFF
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DFAISS_ENABLE_GPU=OFF -DFAISS_ENABLE_PYTHON=OFF
  -DFAISS_ENABLE_EXTRAS=OFF -DBUILD_TESTING=OFF -DFAISS_ENABLE_MKL=OFF -DFAISS_ENABLE_C_API=OFF
)
case "$arch" in
  x64 | arm64) ;;
  *) echo "usage: $0 [x64|arm64] | --pack DIR" >&2; exit 2 ;;
esac
if [ "$arch" != "$host_arch" ]; then
  [ "$arch" = arm64 ] && [ "$host_arch" = x64 ] || { log "cannot build $arch on $host_arch"; exit 2; }
  blas=$repo/.cache/sysroot-arm64/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.a
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
mkdir -p "$(dirname "$prefix")"
# One build per cache entry at a time (node-gyp and cmake-js may both ask).
exec 9>"$prefix.lock"
flock 9
if [ -f "$prefix/.complete" ]; then
  log "$arch: cached at $prefix"
  echo "$prefix"
  exit 0
fi

find_source
tar -xzf "$tarball" -C "$work"
src=$work/faiss-$version
log "$arch: building (about 6 minutes on 2 cores) into $prefix"
cmake -S "$src" -B "$work/build" "${flags[@]}" -DCMAKE_INSTALL_PREFIX="$prefix" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; exit 1; }
cmake --build "$work/build" --target faiss -j "${FAISS_BUILD_JOBS:-$(nproc)}" >"$work/build.log" 2>&1 ||
  { tail -50 "$work/build.log" >&2; exit 1; }
rm -rf "$prefix"
cmake --install "$work/build" >/dev/null
cp "$src/LICENSE" "$prefix/LICENSE"
touch "$prefix/.complete"
log "$arch: done"
echo "$prefix"
