// The binding's own SIMD code paths: the coarse step, and the replacements for
// Faiss's PQ-table loops, which must match Faiss's loops bit for bit.
import { arch } from 'node:process';
import { describe, expect, it } from 'vitest';
import { IndexIVFPQ, kernelInfo } from 'faiss-native';
import { randomVectors } from './helpers';

describe('kernels', () => {
  it('names the coarse kernel this CPU runs', () => {
    const expected = arch === 'x64' ? ['avx2', 'sse2'] : arch === 'arm64' ? ['neon'] : ['scalar'];
    expect(expected).toContain(kernelInfo().coarse);
  });

  it.runIf(arch === 'x64')("replaces Faiss's PQ-table loops with bit-identical ones", () => {
    const info = kernelInfo();
    expect(info.pqTablesSubstituted).toBe(true);
    expect(info.pqTableCases).toBeGreaterThan(100);
    expect(info.pqTableMismatches).toBe(0);
  });

  it('a query gets the same lists and distances alone, in any batch and on any thread count', () => {
    for (const metric of ['l2', 'ip', 'cosine'] as const) {
      const dimension = 20; // not a multiple of 8: the kernels' tails are used too
      const index = new IndexIVFPQ({ dimension, nlist: 37, m: 5, metric });
      const data = randomVectors(3000, dimension, 7);
      index.trainSync(data);
      index.addSync(data);
      const queries = randomVectors(61, dimension, 8);
      const batch = index.searchSync(queries, 7, { nprobe: 5, threads: 2 });
      for (let q = 0; q < 61; q++) {
        const alone = index.searchSync(queries.subarray(q * dimension, (q + 1) * dimension), 7, { nprobe: 5 });
        expect(alone.labels, `${metric} query ${q}`).toEqual(batch.labels.subarray(q * 7, (q + 1) * 7));
        const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
        expect(bits(alone.distances), `${metric} query ${q}`).toEqual(bits(batch.distances.subarray(q * 7, (q + 1) * 7)));
      }
      index.dispose();
    }
  });
});
