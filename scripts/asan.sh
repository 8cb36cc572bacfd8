#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run of the test suite.
#
#   npm run test:asan                       # build, then the suite (minus RSS-measuring tests)
#   npm run test:asan -- test/serialize.test.ts test/async.test.ts
#   ASAN_FUZZ_CASES=2000 npm run test:asan  # also a fuzz campaign against the sanitized addon
#
# The working tree is copied to $ASAN_WORK (default /tmp/asan-work; node_modules
# is linked, not copied) and the addon is built there with
# -fsanitize=address,undefined, so build/Release of this checkout is never
# touched. The copy loads its own build/Release/faiss_native.node through the
# normal node-gyp-build lookup: no loader change is needed. Node itself is not
# instrumented, so libasan is preloaded and leak detection is off (Node frees
# little at exit); libfaiss.a is not instrumented either: only the addon's own
# code is checked, plus ASan's interceptors (memcpy, memset, …) everywhere.
#
# Tests that assert RSS figures (memory, leaks) are skipped by default:
# ASan's shadow memory and quarantine make RSS meaningless.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
WORK=${ASAN_WORK:-/tmp/asan-work}
LOCK=/tmp/faiss-native-build.lock
JOBS=${JOBS:-2}

libasan=$(gcc -print-file-name=libasan.so)
[ -e "$libasan" ] || { echo "libasan not found (apt-get install gcc); gcc says: $libasan" >&2; exit 2; }

echo "asan: copying $SRC to $WORK" >&2
case "$WORK" in /tmp/?*) ;; *) echo "asan: ASAN_WORK must be a directory under /tmp" >&2; exit 2 ;; esac
rm -rf "$WORK"
mkdir -p "$WORK"
# Tracked and untracked files, without what .gitignore excludes (node_modules, build, dist, .cache…).
git -C "$SRC" ls-files -z --cached --others --exclude-standard \
  | (cd "$SRC" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) \
  | tar -C "$SRC" --null -T - -cf - | tar -C "$WORK" -xf -
ln -sfn "$SRC/node_modules" "$WORK/node_modules"

# SANITIZER_RECOVER=1: report every error and keep going (to survey), instead
# of aborting at the first one (the default, and what CI wants).
if [ "${SANITIZER_RECOVER:-0}" = 1 ]; then
  SAN_FLAGS="-fsanitize=address,undefined -fsanitize-recover=address,undefined -fno-omit-frame-pointer -g -O1"
  HALT=0
else
  SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
  HALT=1
fi
# The instrumented addon links the same (uninstrumented) Faiss as every other build.
FAISS_NATIVE_PREFIX=$(bash "$SRC/scripts/build-faiss.sh")
export FAISS_NATIVE_PREFIX
echo "asan: building the sanitized addon in $WORK/build (waiting for $LOCK)" >&2
(
  cd "$WORK"
  # Sanitized objects never mix with ordinary ones: always a clean build.
  CFLAGS="$SAN_FLAGS" CXXFLAGS="$SAN_FLAGS" LDFLAGS="-fsanitize=address,undefined" \
    flock "$LOCK" node "$SRC/node_modules/node-gyp/bin/node-gyp.js" rebuild -j "$JOBS" --nodedir="${NODEDIR:-$(npm config get nodedir 2>/dev/null || echo /usr)}" >"$WORK/asan-build.log" 2>&1 \
    || { tail -40 "$WORK/asan-build.log" >&2; exit 1; }
)
ldd "$WORK/build/Release/faiss_native.node" | grep -q libasan || { echo "asan: the addon is not linked against libasan" >&2; exit 1; }

export LD_PRELOAD="$libasan"
# detect_leaks=0: Node is not instrumented and keeps much alive at exit.
# allocator_may_return_null + max_allocation_size_mb: a hostile size field gets
# std::bad_alloc instead of an ASan abort (ulimit -v cannot be used with ASan).
# Reports also go to $WORK/sanitizer-logs/ (one file per process), summarised at the end.
LOGS="$WORK/sanitizer-logs"
mkdir -p "$LOGS"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=$HALT:abort_on_error=$HALT:allocator_may_return_null=1:max_allocation_size_mb=3072:log_path=$LOGS/asan:${ASAN_OPTIONS_EXTRA:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=$HALT:log_path=$LOGS/ubsan:${UBSAN_OPTIONS_EXTRA:-}"

# The package entry points (dist/) are compiled in the copy; build-ts loads the addon.
(cd "$WORK" && node scripts/build-ts.mjs)

status=0
cd "$WORK"
# UBSan (in ASan's runtime) writes to stderr whatever log_path says: keep a copy.
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(ls test/*.test.ts test/*.test.mjs 2>/dev/null | grep -v -E '/(memory|leaks)\.test\.' )
fi
echo "asan: running ${#files[@]} test file(s)" >&2
set +e
# Its own process group: a worker orphaned by a sanitizer abort is cleaned up below.
setsid node node_modules/vitest/vitest.mjs run "${files[@]}" > >(tee "$LOGS/vitest-output.txt") 2>&1 &
vitest_pid=$!
wait "$vitest_pid"
status=$?
kill -- "-$vitest_pid" 2>/dev/null
set -e

if [ -n "${ASAN_FUZZ_CASES:-}" ]; then
  echo "asan: fuzz campaign, $ASAN_FUZZ_CASES cases, against the sanitized addon" >&2
  FUZZ_CHILD_STDERR="$LOGS/fuzz-children.txt" node "$WORK/scripts/fuzz-index-files.mjs" --package "$WORK" \
    --cases "$ASAN_FUZZ_CASES" --seed "${ASAN_FUZZ_SEED:-1}" --repro-dir /tmp/faiss-fuzz-repro/asan || status=$?
fi

# Summary: each distinct report once, with the first frame in the addon's own sources.
node - "$LOGS" <<'EOF_SUMMARY' || status=1
const fs = require('node:fs');
const path = require('node:path');
const dir = process.argv[2];
const seen = new Map();
const add = (head, frames) => {
  const ours = frames.find((f) => /\.\.\/native\//.test(f)) || frames.find((f) => /faiss_native::/.test(f)) || '';
  const where = ours.replace(/^\s*#\d+ 0x[0-9a-f]+ in /, '').replace(/\(.*?\)/g, '()').slice(0, 140);
  const key = head.replace(/0x[0-9a-f]+/g, '0x…').replace(/^==\d+==/, '').trim() + (where ? `\n      first addon frame: ${where}` : '');
  seen.set(key, (seen.get(key) || 0) + 1);
};
for (const name of fs.readdirSync(dir)) {
  const lines = fs.readFileSync(path.join(dir, name), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!/runtime error:|ERROR: AddressSanitizer/.test(line)) continue;
    // The report's stack: the indented "#N ..." lines that follow (after any notes).
    const frames = [];
    for (let j = i + 1; j < lines.length && j < i + 80; j++) {
      if (/^\s+#\d+ /.test(lines[j])) frames.push(lines[j]);
      else if (frames.length > 0) break;
    }
    add(line, frames);
  }
}
if (seen.size === 0) {
  console.log('asan: no AddressSanitizer or UndefinedBehaviorSanitizer reports');
} else {
  console.log(`asan: ${seen.size} distinct sanitizer report(s) (logs in ${dir}):`);
  for (const [key, count] of seen) console.log(`  ${count} × ${key}`);
  process.exit(1);
}
EOF_SUMMARY
echo "asan: done (status $status)" >&2
exit $status
