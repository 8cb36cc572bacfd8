// The binding's coarse step scores every query-centroid pair with one SIMD
// sequence (native/coarse_quantizer.h), so a query's lists, and so its
// results, do not depend on the batch it arrives in: coalesced searches and
// single ones must agree bit for bit.
import { describe, expect, it } from 'vitest';
import { IndexIVFPQ } from 'faiss-native';
import { randomVectors } from './helpers';

describe('coarse step', () => {
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
