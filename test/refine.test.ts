// Re-ranking: refined results equal a brute-force re-rank of the same PQ
// candidates, survive every persistence path, and Python faiss reads them.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaissError, IndexFlat, IndexIVFPQ } from 'faiss-native';
import { randomVectors, tempDir } from './helpers';

const dimension = 16;
const count = 4000;
const base = randomVectors(count, dimension, 61);
const queries = randomVectors(25, dimension, 62);
const ids = BigInt64Array.from({ length: count }, (_, i) => 2n ** 45n + BigInt(i) * 11n);
const dir = tempDir();

function refined(metric: 'l2' | 'ip' | 'cosine', refine: 'flat' | 'sq8'): IndexIVFPQ {
  const index = new IndexIVFPQ({ dimension, nlist: 16, m: 4, metric, refine, kFactor: 4 });
  index.trainSync(base);
  index.addWithIdsSync(base, ids);
  return index;
}

function exactScore(metric: 'l2' | 'ip' | 'cosine', q: Float32Array, v: Float32Array): number {
  let dot = 0, l2 = 0, nq = 0, nv = 0;
  for (let i = 0; i < q.length; i++) {
    dot += q[i] * v[i];
    l2 += (q[i] - v[i]) ** 2;
    nq += q[i] ** 2;
    nv += v[i] ** 2;
  }
  return metric === 'l2' ? l2 : metric === 'ip' ? dot : dot / Math.sqrt(nq * nv);
}

describe.each(['l2', 'ip', 'cosine'] as const)('refine flat, %s', (metric) => {
  it('equals a brute-force re-rank of the same PQ candidates', () => {
    const index = refined(metric, 'flat');
    // The same training gives the same PQ index, whose top k × kFactor are the candidates.
    const plain = new IndexIVFPQ({ dimension, nlist: 16, m: 4, metric });
    plain.trainSync(base);
    plain.addWithIdsSync(base, ids);
    const k = 5;
    const candidates = plain.searchSync(queries, k * 4, { nprobe: 4 });
    const got = index.searchSync(queries, k, { nprobe: 4 });
    const row = new Map(Array.from(ids, (id, i) => [id, i]));
    const largerIsCloser = metric !== 'l2';
    for (let q = 0; q < 25; q++) {
      const query = queries.subarray(q * dimension, (q + 1) * dimension);
      const rescored = Array.from(candidates.labels.subarray(q * k * 4, (q + 1) * k * 4))
        .filter((label) => label >= 0n)
        .map((label) => {
          const r = row.get(label)!;
          return { label, score: exactScore(metric, query, base.subarray(r * dimension, (r + 1) * dimension)) };
        })
        .sort((a, b) => (largerIsCloser ? b.score - a.score : a.score - b.score))
        .slice(0, k);
      expect(Array.from(got.labels.subarray(q * k, (q + 1) * k))).toEqual(rescored.map((r) => r.label));
      rescored.forEach((r, j) => expect(got.distances[q * k + j]).toBeCloseTo(r.score, 4));
    }
  });
});

describe('refine', () => {
  it('lifts recall above the PQ code\'s cap', () => {
    const exact = new IndexFlat({ dimension });
    exact.addSync(base);
    const truth = exact.searchSync(queries, 10).labels;
    const recall = (labels: BigInt64Array, mapped: boolean) => {
      let hits = 0;
      for (let q = 0; q < 25; q++) {
        const expected = new Set(Array.from(truth.subarray(q * 10, q * 10 + 10), (r) => (mapped ? ids[Number(r)] : r)));
        for (const label of labels.subarray(q * 10, q * 10 + 10)) if (expected.has(label)) hits++;
      }
      return hits / 250;
    };
    const plain = new IndexIVFPQ({ dimension, nlist: 16, m: 4 });
    plain.trainSync(base);
    plain.addSync(base);
    const capped = recall(plain.searchSync(queries, 10, { nprobe: 16 }).labels, false);
    for (const kind of ['flat', 'sq8'] as const) {
      const lifted = recall(refined('l2', kind).searchSync(queries, 10, { nprobe: 16, kFactor: 16 }).labels, true);
      expect(lifted).toBeGreaterThan(Math.max(0.9, capped + 0.15));
    }
  });

  it('survives write/read, toBuffer/fromBuffer and a memory-mapped read', async () => {
    for (const kind of ['flat', 'sq8'] as const) {
      for (const metric of ['l2', 'cosine'] as const) {
        const index = refined(metric, kind);
        const expected = index.searchSync(queries, 10, { nprobe: 8 });
        const file = path.join(dir, `${kind}-${metric}.index`);
        await index.write(file);
        for (const loaded of [
          IndexIVFPQ.readSync(file),
          IndexIVFPQ.fromBuffer(index.toBuffer()),
          IndexIVFPQ.readSync(file, { mmap: true }),
        ]) {
          expect([loaded.refine, loaded.kFactor, loaded.metric, loaded.ntotal]).toEqual([kind, 4, metric, count]);
          expect(loaded.searchSync(queries, 10, { nprobe: 8 })).toEqual(expected);
        }
      }
    }
  });

  it('removeIds, reconstruct and per-call kFactor work with custom 64-bit ids', () => {
    const index = refined('l2', 'flat');
    const first = index.searchSync(queries.subarray(0, dimension), 3, { nprobe: 16 });
    expect(index.removeIdsSync(first.labels.subarray(0, 1))).toBe(1);
    expect(index.ntotal).toBe(count - 1);
    const after = index.searchSync(queries.subarray(0, dimension), 3, { nprobe: 16 });
    expect(after.labels).not.toContain(first.labels[0]);
    // Removal survives a reload.
    const reloaded = IndexIVFPQ.fromBuffer(index.toBuffer());
    expect(reloaded.searchSync(queries.subarray(0, dimension), 3, { nprobe: 16 })).toEqual(after);
    expect(() => reloaded.reconstructSync(first.labels[0])).toThrow(RangeError);
    // Reconstruct reads the exact copy.
    expect(index.reconstructSync(ids[7])).toEqual(base.slice(7 * dimension, 8 * dimension));
    const narrow = index.searchSync(queries, 10, { nprobe: 16, kFactor: 1 });
    const wide = index.searchSync(queries, 10, { nprobe: 16, kFactor: 32 });
    expect(narrow.labels).not.toEqual(wide.labels);
  });

  it('rejects bad refine options clearly', () => {
    expect(() => new IndexIVFPQ({ dimension, nlist: 4, m: 4, refine: 'pq' as never })).toThrow(
      new TypeError("Expected 'none' or 'flat' or 'sq8' for refine but received 'pq'"),
    );
    expect(() => new IndexIVFPQ({ dimension, nlist: 4, m: 4, refine: 'flat', kFactor: 0 })).toThrow(
      new RangeError('Expected an integer between 1 and 1024 for kFactor but received 0'),
    );
    expect(() => new IndexIVFPQ({ dimension, nlist: 4, m: 4, refine: 'flat', directMap: true })).toThrow(TypeError);
    const index = refined('l2', 'sq8');
    expect(() => index.searchSync(queries, 5, { kFactor: 2000 })).toThrow(RangeError);
    const other = refined('l2', 'sq8');
    expect(() => index.mergeFromSync(other)).toThrow(FaissError);
    expect(() => index.mergeFromSync(other)).toThrow('cannot merge refined indexes');
  });
});

const python = '/usr/bin/python3';
const hasPythonFaiss = (() => {
  try {
    execFileSync(python, ['-c', 'import faiss'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasPythonFaiss)('refine and Python faiss (python3-faiss)', () => {
  it('Python reads a refined index as IndexIDMap2(IndexRefine) and returns the same neighbours', () => {
    for (const metric of ['l2', 'cosine'] as const) {
      const index = refined(metric, 'sq8');
      index.nprobe = 8;
      const file = path.join(dir, `py-${metric}.index`);
      index.writeSync(file);
      const queryFile = path.join(dir, 'queries.f32');
      writeFileSync(queryFile, Buffer.from(queries.buffer, queries.byteOffset, queries.byteLength));
      const script = `
import faiss, numpy as np, sys, json
index = faiss.read_index(sys.argv[1])
q = np.fromfile(sys.argv[2], dtype='float32').reshape(-1, ${dimension})
D, I = index.search(q, 10)
inner = faiss.downcast_index(index.index)
if isinstance(inner, faiss.IndexPreTransform):
    inner = faiss.downcast_index(inner.index)
print(json.dumps({"outer": type(faiss.downcast_index(index)).__name__, "inner": type(inner).__name__,
                  "labels": [str(v) for v in I.ravel()]}))
`;
      const out = JSON.parse(execFileSync(python, ['-c', script, file, queryFile]).toString());
      expect(out.outer).toBe('IndexIDMap2');
      expect(out.inner).toMatch(/^IndexRefine/);
      expect(out.labels).toEqual(Array.from(index.searchSync(queries, 10).labels, String));
    }
  });
});
