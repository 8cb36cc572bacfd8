#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages faiss-native builds and tests against,
# only those missing. Safe to run any number of times.
#   libopenblas-openmp-dev  BLAS/LAPACK built with OpenMP, as Faiss expects
#   cmake, g++, make        Faiss (scripts/build-faiss.sh) and both addon builds
#   python3-faiss           format-interop tests against Python faiss (1.7.3)
#   redis-server            the distributed build tests' job queue (BullMQ needs Redis >= 6.2)
#   nats-server             the serving tests' request/reply and alias bucket (JetStream; 2.9 or later)
set -euo pipefail

packages=(g++ make cmake python3 libopenblas-openmp-dev python3-faiss python3-numpy redis-server nats-server)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "missing packages: ${missing[*]}; run this script as root or install them" >&2
  exit 1
fi

echo "installing: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
