// How shard jobs read their rows: raw float32 objects straight into a reused
// buffer (fsStore.getRangeInto), .fvecs through a copy that drops each row's
// header; both give the same rows, across object boundaries.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fsStore } from 'faiss-native/distributed';
import { readRows, resolveSource } from '../dist/distributed/vector-source.js';
import { randomVectors } from './helpers';

const dimension = 6;
const count = 100;
const vectors = randomVectors(count, dimension, 5);

function fvecs(rows: Float32Array): Buffer {
  const out = Buffer.alloc((rows.length / dimension) * (4 + 4 * dimension));
  for (let row = 0; row < rows.length / dimension; row++) {
    out.writeInt32LE(dimension, row * (4 + 4 * dimension));
    for (let j = 0; j < dimension; j++) out.writeFloatLE(rows[row * dimension + j], row * (4 + 4 * dimension) + 4 + 4 * j);
  }
  return out;
}

describe('reading a shard job\'s rows', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'faiss-native-rows-'));
  const store = fsStore(dir);
  // Two objects of 40 and 60 rows, in each format.
  const split = 40 * dimension;
  writeFileSync(path.join(dir, 'a.f32'), Buffer.from(vectors.buffer, 0, split * 4));
  writeFileSync(path.join(dir, 'b.f32'), Buffer.from(vectors.buffer, split * 4));
  writeFileSync(path.join(dir, 'a.fvecs'), fvecs(vectors.subarray(0, split)));
  writeFileSync(path.join(dir, 'b.fvecs'), fvecs(vectors.subarray(split)));

  it('raw rows land in the caller buffer; every range equals the rows, across the object boundary', async () => {
    const raw = await resolveSource(store, { objects: [{ key: 'a.f32', format: 'f32' }, { key: 'b.f32', format: 'f32' }], dimension });
    const headed = await resolveSource(store, { objects: [{ key: 'a.fvecs', format: 'fvecs' }, { key: 'b.fvecs', format: 'fvecs' }] });
    const into = new Float32Array(32 * dimension).fill(Number.NaN);
    for (const [start, end] of [[0, 32], [30, 50], [39, 41], [40, 72], [70, 100], [99, 100]]) {
      const expected = vectors.subarray(start * dimension, end * dimension);
      let bytes = 0;
      const direct = await readRows(store, raw, start, end, (b: number) => (bytes += b), into);
      expect(direct.buffer).toBe(into.buffer);
      expect(Array.from(direct)).toEqual(Array.from(expected));
      expect(bytes).toBe((end - start) * dimension * 4);
      expect(Array.from(await readRows(store, raw, start, end, () => {}))).toEqual(Array.from(expected));
      // Rows with headers are never read into the caller's buffer.
      const copied = await readRows(store, headed, start, end, () => {}, into);
      expect(copied.buffer).not.toBe(into.buffer);
      expect(Array.from(copied)).toEqual(Array.from(expected));
    }
  });

  it('getRangeInto refuses a range past the end of the object', async () => {
    await expect(store.getRangeInto!('a.f32', 39 * dimension * 4, new Uint8Array(2 * dimension * 4))).rejects.toThrow(
      new RangeError(`object 'a.f32' ends before byte ${41 * dimension * 4}`),
    );
  });
});
