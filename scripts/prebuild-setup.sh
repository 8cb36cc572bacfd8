#!/usr/bin/env bash
# Installs what `npm run prebuilds` needs beyond `npm run setup`, on Debian or
# Ubuntu (as root; idempotent):
#   bash scripts/prebuild-setup.sh x64     patchelf (renames the shipped libgomp)
#   bash scripts/prebuild-setup.sh arm64   patchelf and the aarch64 cross compiler, and
#       Debian's arm64 OpenBLAS (static library) unpacked into .cache/sysroot-arm64/
#       with `dpkg -x`: nothing of another architecture is installed on the machine
#       itself (only its package lists are added). Faiss is cross-built from source
#       by scripts/build-faiss.sh arm64.
set -euo pipefail
arch=${1:-x64}
repo=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "prebuild-setup($arch): $*"; }
if [ "$(id -u)" -ne 0 ]; then log "run as root" >&2; exit 1; fi

packages=(patchelf)
case "$arch" in
  x64) ;;
  arm64) [ "$(dpkg --print-architecture)" = arm64 ] || packages+=(g++-aarch64-linux-gnu) ;;
  *) echo "usage: $0 x64|arm64" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "$arch" = arm64 ] && [ "$(dpkg --print-architecture)" != arm64 ] || exit 0

sysroot=$repo/.cache/sysroot-arm64
if [ -e "$sysroot/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.a" ]; then
  log "$sysroot already there"
  exit 0
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq
fi
apt-cache show --no-all-versions libopenblas-openmp-dev:arm64 >/dev/null 2>&1 || apt-get update -qq
rm -rf "$sysroot" "$sysroot-debs"
mkdir -p "$sysroot" "$sysroot-debs"
id _apt >/dev/null 2>&1 && chown _apt "$sysroot-debs"  # apt downloads as _apt
(cd "$sysroot-debs" && apt-get download -qq libopenblas-openmp-dev:arm64)
for deb in "$sysroot-debs"/*.deb; do dpkg -x "$deb" "$sysroot"; done
rm -rf "$sysroot-debs"
log "OpenBLAS for arm64 in $sysroot"
