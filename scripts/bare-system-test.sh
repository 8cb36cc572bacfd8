#!/usr/bin/env bash
# Proves that `npm install faiss-native` works on a bare Linux system: one with
# Node.js and nothing else (no compiler, no Faiss, no BLAS, no OpenMP), with
# no network, on x64 or (emulated) arm64.
#
#   bash scripts/bare-system-test.sh [x64|arm64]      (as root; needs prebuilds/linux-<arch>/)
#
# 1. Makes a root file system from Debian's own packages, unpacked with
#    `dpkg -x`: the C and C++ runtimes, a shell (dash) and coreutils (npm runs
#    install scripts through `sh` and `#!/usr/bin/env node`); Node.js 24, the
#    official binary from the npm package node-linux-<arch>; and npm 10 from
#    the npm registry. It checks that no compiler, Faiss, BLAS, gfortran or
#    OpenMP library is in it.
# 2. `npm pack`s this package (with its prebuilds/) and, inside the root
#    (chroot), runs `npm install ./faiss-native-<version>.tgz --offline`: the
#    package's install script (node-gyp-build) must find the prebuilt binary,
#    since a source build cannot work there.
# 3. Runs scripts/smoke.mjs there (train, add, search, write, read, and a
#    search of an index the host wrote) and compares the results with the
#    host's: same labels, distances equal within float rounding.
# arm64 runs under qemu-aarch64-static, registered with binfmt_misc for the
# duration of the test (flag F, so the chroot needs no copy of qemu), twice:
# on a CPU without SVE (cortex-a72), where Faiss must choose ARM_NEON, and on
# one with it (max), where it must choose ARM_SVE; both must match the host.
set -euo pipefail

arch=${1:-$(node -p process.arch)}
case "$arch" in
  x64) deb_arch=amd64 tolerance=1e-5 ;;
  arm64) deb_arch=arm64 tolerance=1e-4 ;;
  *) echo "usage: $0 [x64|arm64]" >&2; exit 2 ;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${FAISS_NATIVE_BARE_DIR:-/tmp/faiss-native-bare-$arch}
root=$work/root
binfmt_name=faiss-native-aarch64
log() { echo "bare-system($arch): $*"; }
skip() { log "SKIPPED: $*"; exit 0; }
started=$SECONDS

[ "$(id -u)" -eq 0 ] || skip "needs root (chroot, mount, apt-get)"
{ command -v apt-get && command -v dpkg; } >/dev/null || skip "needs Debian's apt-get and dpkg"
if ! ls "$repo/prebuilds/linux-$arch/"*.node >/dev/null 2>&1; then
  echo "bare-system($arch): no prebuilds/linux-$arch/*.node: run npm run prebuilds first" >&2
  exit 1
fi

apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- host side: package lists for the target architecture, and qemu ---------
if [ "$arch" = arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64 && [ "$(dpkg --print-architecture)" != arm64 ]; then
  dpkg --add-architecture arm64
  apt-get update -qq
fi
apt-cache show --no-all-versions "libc6:$deb_arch" >/dev/null 2>&1 || apt-get update -qq

if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
  apt_install qemu-user-static
  [ -d /proc/sys/fs/binfmt_misc ] || skip "the kernel has no binfmt_misc, needed to run arm64 programs under qemu"
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null ||
      skip "binfmt_misc cannot be mounted here, needed to run arm64 programs under qemu"
  fi
fi

# --- what Node.js needs to run, a shell and coreutils: their package closure --
# First alternative of each Depends/Pre-Depends, recursively. Left out: what
# only installing or configuring packages needs (dpkg, debconf, ...).
declare -A seen=([dpkg]=1 [debianutils]=1 [debconf]=1 [install-info]=1 [perl-base]=1 [tar]=1)
queue=(libc6 libstdc++6 libgcc-s1 dash coreutils)
debs=()
while [ ${#queue[@]} -gt 0 ]; do
  spec=${queue[0]}; queue=("${queue[@]:1}")
  name=${spec%%=*}
  [ -n "${seen[$name]:-}" ] && continue
  seen[$name]=1
  if [[ $spec == *=* ]]; then query="$name:$deb_arch=${spec#*=}"; else query="$name:$deb_arch"; fi
  # Architecture-independent packages (Architecture: all) answer only to their plain name.
  info=$(apt-cache show --no-all-versions "$query" 2>/dev/null || true)
  [ -n "$info" ] || info=$(apt-cache show --no-all-versions "$name" 2>/dev/null || true)
  [ -n "$info" ] || { echo "bare-system($arch): no package $query" >&2; exit 1; }
  version=$(awk '/^Version:/ {print $2; exit}' <<<"$info")
  pkg_arch=$(awk '/^Architecture:/ {print $2; exit}' <<<"$info")
  if [ "$pkg_arch" = all ]; then debs+=("$name=$version"); else debs+=("$name:$deb_arch=$version"); fi
  deps=$(awk '/^(Pre-)?Depends:/ {sub(/^[^:]*: */, ""); print}' <<<"$info" | tr ',' '\n' |
    sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/ //g' | grep -v '^$' || true)
  for dep in $deps; do queue+=("$dep"); done
done
log "root from ${#debs[@]} Debian packages: ${debs[*]}"

# Nothing may still be mounted in an old root before it is deleted.
while read -r mountpoint; do umount -l "$mountpoint"; done < <(awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r)
rm -rf --one-file-system "$work"
mkdir -p "$work/debs" "$root"
id _apt >/dev/null 2>&1 && chown _apt "$work/debs"  # apt downloads as _apt
(cd "$work/debs" && apt-get download -qq "${debs[@]}")
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$root"; done

# Nothing that could build or stand in for the prebuilt binary's dependencies.
forbidden=$(find "$root" \( -name 'gcc*' -o -name 'g++*' -o -name 'cc' -o -name 'c++' -o -name 'ld' -o -name 'ld.bfd' \
  -o -name 'libgomp*' -o -name 'libopenblas*' -o -name 'libblas*' -o -name 'liblapack*' -o -name 'libfaiss*' \
  -o -name 'libgfortran*' -o -name 'make' -o -name 'python3*' \) -not -type d | sed "s|^$root||")
if [ -n "$forbidden" ]; then
  echo "bare-system($arch): the root is not bare:" >&2; echo "$forbidden" >&2; exit 1
fi

# Node.js 24: the official binary, as the npm package node-linux-<arch> holds it.
npm pack --loglevel=error --pack-destination "$work" "node-linux-$arch@24" >/dev/null
tar -xzf "$work"/node-linux-"$arch"-24.*.tgz -C "$root/usr" --strip-components=1 package/bin/node
# npm is not in that package; npm 10 from the npm registry.
npm pack --loglevel=error --pack-destination "$work" npm@10 >/dev/null
mkdir -p "$root/usr/lib/node_modules/npm"
tar -xzf "$work"/npm-10.*.tgz -C "$root/usr/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
mkdir -p "$root/tmp" "$root/root" "$root/app" "$root/proc" "$root/dev" "$root/etc"
chmod 1777 "$root/tmp"
# The few devices programs expect, as nodes: no bind mount of the host's /dev.
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/zero" c 1 5
mknod -m 666 "$root/dev/random" c 1 8
mknod -m 666 "$root/dev/urandom" c 1 9
ln -s /proc/self/fd "$root/dev/fd"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
[ -e "$root/bin/sh" ] || ln -s dash "$root/bin/sh"

# --- the package, as npm would publish it -------------------------------------
tarball=$(cd "$repo" && npm pack --loglevel=error --pack-destination "$work" | tail -1)
contents=$(tar -tzf "$work/$tarball")
grep -q "^package/prebuilds/linux-$arch/.*\.node$" <<<"$contents" ||
  { echo "bare-system($arch): $tarball has no prebuilds/linux-$arch/" >&2; exit 1; }
log "packed $tarball ($(du -k "$work/$tarball" | cut -f1) KiB)"
cp "$work/$tarball" "$repo/scripts/smoke.mjs" "$root/app/"
# Its dependencies (node-gyp-build, node-addon-api) into the root's npm cache, so that
# the install inside needs no network.
npm install --loglevel=error --prefix "$work/prime" --cache "$root/root/.npm" --ignore-scripts --no-audit --no-fund \
  "$work/$tarball" >/dev/null

# --- the host's results -------------------------------------------------------
(cd "$repo" && node scripts/smoke.mjs run "$repo" --save="$root/app/host.index" >"$work/host.json" 2>/dev/null)

# --- install and run inside the bare root --------------------------------------
registered=
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  if [ -n "$registered" ]; then echo -1 >"/proc/sys/fs/binfmt_misc/$binfmt_name" || true; fi
}
trap cleanup EXIT
# A qemu-aarch64 handler the system registered serves only if enabled with flag F (the
# interpreter opened at registration, so that it works inside the chroot).
system_handler=/proc/sys/fs/binfmt_misc/qemu-aarch64
if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ] &&
  ! { grep -qs '^enabled' "$system_handler" && grep -qs '^flags:.*F' "$system_handler"; }; then
  if [ ! -e "/proc/sys/fs/binfmt_misc/$binfmt_name" ]; then
    printf '%s' ":$binfmt_name:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F" \
      >/proc/sys/fs/binfmt_misc/register
    registered=1
  fi
fi
mount -t proc proc "$root/proc"

inside() {
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/bin:/bin LANG=C.UTF-8 /bin/sh -c "$1"
}
log "inside: $(inside 'uname -m; node --version' | tr '\n' ' ')"
install_started=$SECONDS
inside "cd /app && npm install --offline --no-audit --no-fund --foreground-scripts ./$tarball" 2>&1 | sed "s/^/  npm: /"
log "npm install took $((SECONDS - install_started)) s"
inside "ls /app/node_modules/faiss-native/prebuilds/linux-$arch/" | sed 's/^/  installed: /'
if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
  # qemu-user reads QEMU_CPU from the emulated program's environment.
  runs=("cortex-a72 ARM_NEON" "max ARM_SVE")
else
  runs=("host $(node -p "require('$repo').faissInfo().simdLevel")")
fi
for cpu_level in "${runs[@]}"; do
  read -r cpu level <<<"$cpu_level"
  log "smoke test on cpu $cpu, expecting Faiss at $level"
  inside "cd /app && QEMU_CPU=$cpu node smoke.mjs run faiss-native --expect-prebuild --expect-simd=$level \
    --index=/app/host.index >/app/result-$cpu.json"
  node "$repo/scripts/smoke.mjs" compare "$work/host.json" "$root/app/result-$cpu.json" --tolerance="$tolerance"
done

# Without a prebuilt binary, the install must stop with the packages to install
# (scripts/preflight.mjs), not with compiler errors. Once is enough: on x64.
if [ "$arch" = x64 ]; then
  mkdir -p "$work/noprebuild" "$root/app2"
  tar -xzf "$work/$tarball" -C "$work/noprebuild"
  rm -rf "$work/noprebuild/package/prebuilds"
  tar -czf "$root/app2/faiss-native-noprebuild.tgz" -C "$work/noprebuild" package
  if inside "cd /app2 && npm install --offline --no-audit --no-fund --foreground-scripts ./faiss-native-noprebuild.tgz" \
    >"$work/noprebuild.log" 2>&1; then
    echo "bare-system($arch): installing without a prebuilt binary succeeded on a bare system?" >&2
    cat "$work/noprebuild.log" >&2; exit 1
  fi
  if ! grep -q "sudo apt-get install g++ make python3 cmake libopenblas-openmp-dev" "$work/noprebuild.log"; then
    echo "bare-system($arch): the failed install does not name the packages to install:" >&2
    cat "$work/noprebuild.log" >&2; exit 1
  fi
  log "without a prebuilt binary, npm install fails and says what to install:"
  grep -A8 "^faiss-native:" "$work/noprebuild.log" | sed 's/^/  npm: /'
fi
log "ok: npm install and train/add/search/write/read in a bare $arch root; $((SECONDS - started)) s in all"
