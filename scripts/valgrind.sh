#!/usr/bin/env bash
# valgrind memcheck on a small workload that touches every part of the addon
# (sync and async train/add/search/remove/reconstruct/range search, every
# metric, direct maps, refinement, write/read/fromBuffer/mmap, hostile buffers,
# indexes dropped without dispose and collected, worker threads).
#
#   bash scripts/valgrind.sh            # uses this repository's dist/ and build/Release
#   PACKAGE_DIR=/tmp/other bash scripts/valgrind.sh
#
# Node and V8 produce their own noise (JIT code, intentionally never-freed
# singletons), so the verdict only counts loss records and errors whose stack
# passes through faiss_native.node. Exit status 1 when there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGE_DIR=${PACKAGE_DIR:-$PWD}
OUT=${VALGRIND_OUT:-.cache/valgrind}
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

cat >"$OUT/workload.mjs" <<EOF
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
const lib = createRequire('$PACKAGE_DIR/package.json')('$PACKAGE_DIR/dist/index.js');
const { IndexIVFPQ, IndexFlat, FaissError } = lib;
function vectors(n, d, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(n * d);
  for (let i = 0; i < out.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; out[i] = s / 2 ** 32; }
  return out;
}
const d = 8;
const train = vectors(39 * 16, d, 1), data = vectors(200, d, 2), queries = vectors(4, d, 3);
const dir = mkdtempSync(path.join(tmpdir(), 'faiss-valgrind-'));
const settle = async () => { for (let i = 0; i < 3; i++) { globalThis.gc?.(); await new Promise((r) => setImmediate(r)); } };
const expectFaiss = (fn) => { try { fn(); } catch (e) { if (!(e instanceof FaissError)) throw e; return; } };
const shapes = [
  { metric: 'l2' }, { metric: 'ip', directMap: true }, { metric: 'cosine' },
  { metric: 'l2', refine: 'flat' }, { metric: 'cosine', refine: 'sq8' },
];
for (const [i, extra] of shapes.entries()) {
  let index;
  try { index = new IndexIVFPQ({ dimension: d, nlist: 4, m: 2, nbits: 4, ...extra }); }
  catch (e) { console.log('skipping', JSON.stringify(extra), e.message); continue; }
  if (i % 2) await index.train(train, { threads: 1 }); else index.trainSync(train, { threads: 1 });
  const ids = BigInt64Array.from({ length: 200 }, (_, j) => BigInt(j * 3 + 1));
  await index.addWithIds(data, ids);
  index.searchSync(queries, 5);
  await Promise.all([index.search(queries, 5, { nprobe: 4 }), index.search(queries, 3), index.rangeSearch(queries, extra.metric === 'l2' ? 0.5 : 0.5)]);
  if (index.directMap) { index.reconstructSync(4n); await index.reconstruct(7n); }
  await index.removeIds(BigInt64Array.of(1n, 4n, 999n));
  const file = path.join(dir, 'i' + i + '.index');
  await index.write(file);
  index.writeSync(file);
  const buffer = index.toBuffer();
  for (const copy of [IndexIVFPQ.readSync(file), await IndexIVFPQ.read(file), IndexIVFPQ.fromBuffer(buffer), IndexIVFPQ.readSync(file, { mmap: true })]) {
    copy.searchSync(queries, 5);
    copy.dispose();
  }
  // Hostile buffers: rejected early, late, and after Faiss parsed everything.
  const hostile = [buffer.subarray(0, 30), buffer.subarray(0, buffer.length - 5), Buffer.concat([buffer, Buffer.alloc(2)])];
  if (index.directMap) {
    // Two direct-map entries with swapped locations: only caught after Faiss has parsed everything.
    const swapped = Buffer.from(buffer);
    const at = buffer.lastIndexOf(Buffer.from('ilar', 'latin1'));
    // The last two (id, location) pairs of the table sit just before by_residual, code_size and the PQ.
    const pq = 1 + 8 + 24 + 8 + 4 * d * 16;
    const b = at - pq - 8, a = b - 16;
    swapped.writeBigInt64LE(buffer.readBigInt64LE(b), a);
    swapped.writeBigInt64LE(buffer.readBigInt64LE(a), b);
    hostile.push(swapped);
  }
  for (const bad of hostile) expectFaiss(() => IndexIVFPQ.fromBuffer(bad).dispose());
  index.dispose();
  expectFaiss(() => index.searchSync(queries, 5));
  // Dropped without dispose(): freed by the finalizer.
  const dropped = new IndexIVFPQ({ dimension: d, nlist: 4, m: 2, nbits: 4, ...extra });
  dropped.trainSync(train, { threads: 1 });
}
const flat = new IndexFlat({ dimension: d });
flat.addSync(data); await flat.search(queries, 3); flat.dispose();
await new Promise((resolve, reject) => {
  const worker = new Worker(\`
    const lib = require('$PACKAGE_DIR/dist/index.js');
    const index = new lib.IndexIVFPQ({ dimension: 8, nlist: 2, m: 2, nbits: 4 });
    const v = new Float32Array(39 * 16 * 8).map((_, i) => (i * 7919 % 1000) / 1000);
    index.trainSync(v, { threads: 1 }); index.addSync(v.subarray(0, 80)); index.search(v.subarray(0, 8), 3).then(() => process.exit(0));
  \`, { eval: true });
  worker.on('exit', resolve); worker.on('error', reject);
});
await settle();
rmSync(dir, { recursive: true, force: true });
console.log('workload done');
EOF

LOG="$OUT/memcheck.log"
echo "valgrind: running the workload (this takes a few minutes)…" >&2
OMP_NUM_THREADS=1 valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,possible \
  --num-callers=40 --error-limit=no --log-file="$LOG" \
  node --expose-gc --jitless "$OUT/workload.mjs"

node - "$LOG" <<'EOF'
const fs = require('node:fs');
const text = fs.readFileSync(process.argv[2], 'utf8');
// Records start with "==pid== <headline>" and end at the next empty "==pid== " line.
const blocks = text.split(/\n==\d+== \n/);
const ours = (b) => /faiss_native\.node|faiss_native::|faiss::/.test(b);
const definite = blocks.filter((b) => /are definitely lost in loss record/.test(b));
const possible = blocks.filter((b) => /are possibly lost in loss record/.test(b));
const errors = blocks.filter((b) => /(Invalid (read|write|free)|uninitialised|Mismatched free|overlap|Syscall param)/.test(b));
const summary = (text.match(/definitely lost: [^\n]*/) || ['definitely lost: ?'])[0];
const report = {
  summary,
  definiteRecordsTotal: definite.length,
  definiteRecordsInAddon: definite.filter(ours).length,
  possibleRecordsInAddon: possible.filter(ours).length,
  errorsTotal: errors.length,
  errorsInAddon: errors.filter(ours).length,
};
console.log(JSON.stringify(report, null, 2));
for (const b of [...definite.filter(ours), ...errors.filter(ours)]) console.log('\n' + b.split('\n').slice(0, 25).join('\n'));
process.exit(report.definiteRecordsInAddon + report.errorsInAddon > 0 ? 1 : 0);
EOF
