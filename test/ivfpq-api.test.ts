import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexFlat, IndexIVFPQ } from 'faiss-native';
import { randomVectors, tempDir } from './helpers';

const dimension = 16;
const base = randomVectors(4000, dimension, 7);
const queries = randomVectors(20, dimension, 8);

function trainedIndex(metric: 'l2' | 'ip' | 'cosine' = 'l2'): IndexIVFPQ {
  const index = new IndexIVFPQ({ dimension, nlist: 32, m: 4, metric });
  index.trainSync(base);
  return index;
}

describe('IndexIVFPQ construction and properties', () => {
  it('reports its configuration and defaults', () => {
    const index = new IndexIVFPQ({ dimension, nlist: 32, m: 8 });
    expect([index.dimension, index.nlist, index.m, index.nbits, index.metric]).toEqual([16, 32, 8, 8, 'l2']);
    expect([index.ntotal, index.isTrained, index.nprobe]).toEqual([0, false, 1]);
  });

  it('trains, then adds with sequential ids', () => {
    const index = trainedIndex();
    expect(index.isTrained).toBe(true);
    index.addSync(base.subarray(0, 100 * dimension));
    index.addSync(base.subarray(100 * dimension, 250 * dimension));
    expect(index.ntotal).toBe(250);
    // Vector 180 was added second batch at offset 80: its id is 180.
    const { labels } = index.searchSync(base.subarray(180 * dimension, 181 * dimension), 1, { nprobe: 32 });
    expect(labels[0]).toBe(180n);
    expect(index.memoryBytes).toBeGreaterThan(250 * (4 + 8));
  });

  it('keeps full 64-bit ids', () => {
    const index = trainedIndex();
    const ids = BigInt64Array.from({ length: 50 }, (_, i) => (1n << 62n) + BigInt(i) * 1_000_003n);
    index.addWithIdsSync(base.subarray(0, 50 * dimension), ids);
    const { labels } = index.searchSync(base.subarray(0, 50 * dimension), 1, { nprobe: 32 });
    expect(Array.from(labels)).toEqual(Array.from(ids));
  });

  it('pads with -1 and +Infinity distances when fewer than k results exist', () => {
    const index = trainedIndex();
    index.addSync(base.subarray(0, 3 * dimension));
    const { labels, distances } = index.searchSync(queries.subarray(0, dimension), 5, { nprobe: 32 });
    expect(Array.from(labels.subarray(3))).toEqual([-1n, -1n]);
    expect(new Set(Array.from(labels.subarray(0, 3)))).toEqual(new Set([0n, 1n, 2n]));
    expect(distances.subarray(0, 3).every(Number.isFinite)).toBe(true);
  });

  it('returns n × k row-major results sorted by distance', () => {
    const index = trainedIndex();
    index.addSync(base);
    const k = 7;
    const { labels, distances } = index.searchSync(queries, k, { nprobe: 8 });
    expect(labels.length).toBe(20 * k);
    expect(distances.length).toBe(20 * k);
    for (let q = 0; q < 20; q++) {
      const row = Array.from(distances.subarray(q * k, (q + 1) * k));
      expect(row).toEqual([...row].sort((a, b) => a - b));
    }
  });
});

describe('nprobe', () => {
  it('per-call nprobe leaves the default alone and matches setting it', () => {
    const index = trainedIndex();
    index.addSync(base);
    const wide = index.searchSync(queries, 10, { nprobe: 32 });
    expect(index.nprobe).toBe(1);
    const narrow = index.searchSync(queries, 10);
    expect(narrow.labels).not.toEqual(wide.labels);
    index.nprobe = 32;
    expect(index.searchSync(queries, 10)).toEqual(wide);
    index.setNprobe(1);
    expect(index.nprobe).toBe(1);
    expect(index.searchSync(queries, 10)).toEqual(narrow);
  });

  it('nprobe = nlist on the PQ codes finds a vector added to the index as its own neighbour', () => {
    const index = trainedIndex();
    index.addSync(base.subarray(0, 1000 * dimension));
    const { labels } = index.searchSync(base.subarray(0, 200 * dimension), 1, { nprobe: 32 });
    const self = Array.from(labels).filter((label, i) => label === BigInt(i)).length;
    expect(self / 200).toBeGreaterThan(0.9);
  });
});

describe('zero-copy inputs', () => {
  it('reads subarray views with a byte offset', () => {
    const index = trainedIndex();
    index.addSync(base);
    const padded = new Float32Array(queries.length + 3 * dimension + 5);
    padded.set(queries, 3 * dimension + 5);
    const view = padded.subarray(3 * dimension + 5);
    expect(view.byteOffset).toBeGreaterThan(0);
    expect(index.searchSync(view, 5, { nprobe: 4 })).toEqual(index.searchSync(queries.slice(), 5, { nprobe: 4 }));
  });

  it('adds from a view over a larger buffer', () => {
    const a = trainedIndex();
    const b = trainedIndex();
    a.addSync(base.subarray(500 * dimension, 900 * dimension));
    b.addSync(base.slice(500 * dimension, 900 * dimension));
    expect(a.searchSync(queries, 5, { nprobe: 8 })).toEqual(b.searchSync(queries, 5, { nprobe: 8 }));
  });
});

describe('metrics', () => {
  it('cosine returns cosine similarity and leaves the caller arrays untouched', () => {
    const index = trainedIndex('cosine');
    const data = base.slice(0, 2000 * dimension);
    const before = data.slice();
    index.addSync(data);
    const query = queries.slice(0, dimension);
    const { labels, distances } = index.searchSync(query, 3, { nprobe: 32 });
    expect(data).toEqual(before);
    // Check the top hit's score against cosine computed here; PQ makes it approximate.
    const hit = Number(labels[0]);
    const v = data.subarray(hit * dimension, (hit + 1) * dimension);
    let dot = 0, nq = 0, nv = 0;
    for (let i = 0; i < dimension; i++) {
      dot += query[i] * v[i];
      nq += query[i] ** 2;
      nv += v[i] ** 2;
    }
    expect(distances[0]).toBeCloseTo(dot / Math.sqrt(nq * nv), 1);
    expect(distances[0]).toBeLessThanOrEqual(1.05);
    expect(distances[0]).toBeGreaterThanOrEqual(distances[1]);
  });

  it('ip ranks by inner product, descending', () => {
    const index = trainedIndex('ip');
    index.addSync(base);
    const { distances } = index.searchSync(queries.subarray(0, dimension), 10, { nprobe: 32 });
    const row = Array.from(distances);
    expect(row).toEqual([...row].sort((a, b) => b - a));
  });

  it('finds mostly the exact neighbours (vs IndexFlat) at full nprobe', () => {
    const index = trainedIndex('l2');
    index.addSync(base);
    const exact = new IndexFlat({ dimension });
    exact.addSync(base);
    const approx = index.searchSync(queries, 10, { nprobe: 32 }).labels;
    const truth = exact.searchSync(queries, 10).labels;
    let hits = 0;
    for (let q = 0; q < 20; q++) {
      const expected = new Set(Array.from(truth.subarray(q * 10, q * 10 + 10)));
      for (const label of approx.subarray(q * 10, q * 10 + 10)) if (expected.has(label)) hits++;
    }
    expect(hits / 200).toBeGreaterThan(0.3);
  });
});

describe('persistence', () => {
  const dir = tempDir();

  for (const metric of ['l2', 'ip', 'cosine'] as const) {
    it(`${metric}: write → read returns identical results and keeps the configuration`, () => {
      const index = trainedIndex(metric);
      index.addWithIdsSync(base.subarray(0, 1000 * dimension), BigInt64Array.from({ length: 1000 }, (_, i) => BigInt(i) * 3n + 10n ** 12n));
      index.nprobe = 5;
      const file = path.join(dir, `${metric}.index`);
      index.writeSync(file);
      const loaded = IndexIVFPQ.readSync(file);
      expect([loaded.metric, loaded.nlist, loaded.m, loaded.nbits, loaded.ntotal, loaded.nprobe, loaded.isTrained]).toEqual([
        metric, 32, 4, 8, 1000, 5, true,
      ]);
      expect(loaded.searchSync(queries, 10)).toEqual(index.searchSync(queries, 10));
    });
  }

  it('writes Faiss\'s own format: an IVF-PQ header, or a pre-transform for cosine', () => {
    const l2 = trainedIndex('l2');
    l2.writeSync(path.join(dir, 'plain.index'));
    expect(readFileSync(path.join(dir, 'plain.index')).subarray(0, 4).toString('latin1')).toBe('IwPQ');
    const cosine = trainedIndex('cosine');
    cosine.writeSync(path.join(dir, 'cosine.index'));
    expect(readFileSync(path.join(dir, 'cosine.index')).subarray(0, 4).toString('latin1')).toBe('IxPT');
  });

  it('a save removes temporary files left by writers that died, and no others', () => {
    const fs = require('node:fs') as typeof import('node:fs');
    const target = path.join(dir, 'target.index');
    const dead = require('node:child_process').spawnSync(process.execPath, ['-e', '0']).pid as number;
    fs.writeFileSync(`${target}.tmp-${dead}-0`, 'partial');
    fs.writeFileSync(`${target}.tmp-${process.pid}-999`, 'in progress elsewhere in this process');
    trainedIndex().writeSync(target);
    expect(fs.existsSync(`${target}.tmp-${dead}-0`)).toBe(false);
    expect(fs.existsSync(`${target}.tmp-${process.pid}-999`)).toBe(true);
    expect(IndexIVFPQ.readSync(target).isTrained).toBe(true);
  });

  it('an untrained index survives a round trip and can be trained after', () => {
    const file = path.join(dir, 'empty.index');
    new IndexIVFPQ({ dimension, nlist: 32, m: 4 }).writeSync(file);
    const loaded = IndexIVFPQ.readSync(file);
    expect(loaded.isTrained).toBe(false);
    loaded.trainSync(base);
    loaded.addSync(base.subarray(0, 10 * dimension));
    expect(loaded.ntotal).toBe(10);
  });
});
