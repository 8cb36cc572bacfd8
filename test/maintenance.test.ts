// removeIds, reconstruct, rangeSearch, mergeFrom.
import { describe, expect, it } from 'vitest';
import { FaissError, IndexFlat, IndexIVFPQ } from 'faiss-native';
import { randomVectors } from './helpers';

const dimension = 16;
const base = randomVectors(5000, dimension, 31);
const queries = randomVectors(10, dimension, 32);
const template = new IndexIVFPQ({ dimension, nlist: 16, m: 8 });
template.trainSync(base);
const trained = template.toBuffer();

function fresh(): IndexIVFPQ {
  return IndexIVFPQ.fromBuffer(trained);
}

describe('removeIds', () => {
  it('removes what is present, returns the count, and searches no longer see it', async () => {
    const index = fresh();
    index.addSync(base);
    const before = index.searchSync(queries, 5, { nprobe: 16 });
    const victims = before.labels.subarray(0, 5);
    const removed = index.removeIdsSync(BigInt64Array.from([...victims, 123456789n]));
    expect(removed).toBe(new Set(victims).size);
    expect(index.ntotal).toBe(5000 - removed);
    const after = await index.search(queries, 5, { nprobe: 16 });
    for (const label of after.labels) expect(victims).not.toContain(label);
    expect(await index.removeIds(BigInt64Array.of(victims[0]))).toBe(0);
  });
});

describe('reconstruct', () => {
  it('needs a direct map, then returns the PQ approximation of the stored vector', async () => {
    const plain = fresh();
    plain.addSync(base.subarray(0, 100 * dimension));
    expect(() => plain.reconstructSync(3)).toThrow(FaissError);
    expect(() => plain.reconstructSync(3)).toThrow('reconstruct needs a direct map: create the index with { directMap: true }');

    const index = new IndexIVFPQ({ dimension, nlist: 16, m: 8, directMap: true });
    expect(index.directMap).toBe(true);
    index.trainSync(base);
    const ids = BigInt64Array.from({ length: 100 }, (_, i) => 2n ** 50n + BigInt(i));
    index.addWithIdsSync(base.subarray(0, 100 * dimension), ids);
    const vector = index.reconstructSync(2n ** 50n + 7n);
    const original = base.subarray(7 * dimension, 8 * dimension);
    let error = 0;
    let norm = 0;
    for (let i = 0; i < dimension; i++) {
      error += (vector[i] - original[i]) ** 2;
      norm += original[i] ** 2;
    }
    expect(error / norm).toBeLessThan(0.05);
    expect(await index.reconstruct(2n ** 50n + 7n)).toEqual(vector);
    expect(() => index.reconstructSync(5)).toThrow(new RangeError('Expected an id present in the index for id but received 5'));
    expect(() => index.reconstructSync(-1)).toThrow(RangeError);
    // Removal keeps the direct map consistent.
    expect(index.removeIdsSync(BigInt64Array.of(2n ** 50n + 7n))).toBe(1);
    expect(() => index.reconstructSync(2n ** 50n + 7n)).toThrow(RangeError);
    expect(index.reconstructSync(2n ** 50n + 8n).length).toBe(dimension);
  });
});

describe('rangeSearch', () => {
  it('returns exactly the stored vectors within the radius, per query', async () => {
    const index = fresh();
    index.addSync(base);
    const k = 5000;
    const all = index.searchSync(queries, k, { nprobe: 16 });
    const radius = all.distances[40]; // about 40 results for the first query
    const ranged = index.rangeSearchSync(queries, radius, { nprobe: 16 });
    expect(ranged.lims.length).toBe(11);
    for (let q = 0; q < 10; q++) {
      const expected = new Set<bigint>();
      for (let j = 0; j < k; j++) if (all.distances[q * k + j] < radius) expected.add(all.labels[q * k + j]);
      const got = new Set(ranged.labels.subarray(ranged.lims[q], ranged.lims[q + 1]));
      expect(got).toEqual(expected);
    }
    expect(await index.rangeSearch(queries, radius, { nprobe: 16 })).toEqual(ranged);
    expect(() => index.rangeSearchSync(queries, Number.NaN)).toThrow(new RangeError('Expected a finite number for radius but received NaN'));
  });
});

describe('mergeFrom', () => {
  it('moves the other index\'s vectors in; the result equals one index fed everything', async () => {
    const a = fresh();
    const b = fresh();
    a.addWithIdsSync(base.subarray(0, 2500 * dimension), BigInt64Array.from({ length: 2500 }, (_, i) => BigInt(i)));
    b.addWithIdsSync(base.subarray(2500 * dimension), BigInt64Array.from({ length: 2500 }, (_, i) => BigInt(2500 + i)));
    const whole = fresh();
    whole.addSync(base);
    await a.mergeFrom(b);
    expect(a.ntotal).toBe(5000);
    expect(b.ntotal).toBe(0);
    const got = a.searchSync(queries, 10, { nprobe: 16 });
    const want = whole.searchSync(queries, 10, { nprobe: 16 });
    expect(got.distances).toEqual(want.distances);
    expect(new Set(got.labels)).toEqual(new Set(want.labels));
  });

  it('refuses an index trained separately, with a clear error', () => {
    const a = fresh();
    const other = new IndexIVFPQ({ dimension, nlist: 16, m: 8 });
    other.trainSync(randomVectors(5000, dimension, 99));
    expect(() => a.mergeFromSync(other)).toThrow(FaissError);
    expect(() => a.mergeFromSync(other)).toThrow(/cannot merge: the indexes were trained separately/);
    const differentShape = new IndexIVFPQ({ dimension, nlist: 8, m: 8 });
    expect(() => a.mergeFromSync(differentShape)).toThrow('cannot merge: the indexes differ in metric, dimension, nlist, m, nbits or fastScan');
    expect(() => a.mergeFromSync(new IndexFlat({ dimension }) as never)).toThrow(new TypeError('Expected an IndexIVFPQ for other but received an IndexFlat'));
    expect(() => a.mergeFromSync(a)).toThrow('cannot merge an index into itself');
  });
});
