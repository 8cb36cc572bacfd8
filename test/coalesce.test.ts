// Concurrent search() calls merged into batches give the answers of single
// calls, keep call order with mutations, and never delay a lone request.
import { describe, expect, it } from 'vitest';
import { Index, IndexIVFPQ } from 'faiss-native';
import { expectSameResults, randomVectors } from './helpers';

const dimension = 32;
const base = randomVectors(20_000, dimension, 51);
const queries = randomVectors(300, dimension, 52);
const template = new IndexIVFPQ({ dimension, nlist: 64, m: 8 });
template.trainSync(base.subarray(0, 8000 * dimension));
template.addSync(base);
const bytes = template.toBuffer();

function rng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

describe('coalesced search', () => {
  it('equals single searchSync calls under a random mix of k, nprobe, sizes and arrival times', async () => {
    for (const metric of ['l2', 'ip'] as const) {
      const index = metric === 'l2' ? IndexIVFPQ.fromBuffer(bytes) : (() => {
        const ip = new IndexIVFPQ({ dimension, nlist: 64, m: 8, metric: 'ip' });
        ip.trainSync(base.subarray(0, 8000 * dimension));
        ip.addSync(base);
        return ip;
      })();
      expect(index.coalesceSearches).toBe(true);
      const random = rng(metric === 'l2' ? 3 : 4);
      const calls = Array.from({ length: 400 }, () => {
        const start = Math.floor(random() * 290);
        const rows = 1 + Math.floor(random() * 3);
        return {
          q: queries.subarray(start * dimension, (start + rows) * dimension),
          k: [1, 5, 10][Math.floor(random() * 3)],
          nprobe: [1, 4, 16][Math.floor(random() * 3)],
          delay: random() < 0.3 ? Math.floor(random() * 3) : -1,
        };
      });
      const results = await Promise.all(
        calls.map(async ({ q, k, nprobe, delay }) => {
          if (delay >= 0) await new Promise((resolve) => setTimeout(resolve, delay));
          return index.search(q, k, { nprobe });
        }),
      );
      calls.forEach(({ q, k, nprobe }, i) => expectSameResults(results[i], index.searchSync(q, k, { nprobe })));
    }
  });

  it('a search issued before an add does not see it, one issued after does', async () => {
    const index = IndexIVFPQ.fromBuffer(bytes);
    const newcomer = queries.subarray(0, dimension);
    const blocker = index.search(queries, 10, { nprobe: 64 }); // keeps the index busy so the next ones queue
    const before = index.search(newcomer, 1, { nprobe: 64 });
    const added = index.addWithIds(newcomer, BigInt64Array.of(999_999n));
    const after = index.search(newcomer, 1, { nprobe: 64 });
    await Promise.all([blocker, added]);
    expect((await before).labels[0]).not.toBe(999_999n);
    expect((await after).labels[0]).toBe(999_999n);
  });

  it('a bad query fails alone; its batch neighbours succeed', async () => {
    const index = IndexIVFPQ.fromBuffer(bytes);
    const bad = queries.slice(0, dimension);
    bad[5] = Number.NaN;
    const blocker = index.search(queries, 10);
    const good = index.search(queries.subarray(dimension, 2 * dimension), 5);
    const failing = index.search(bad, 5).catch((error: unknown) => error); // handled at once: no unhandled rejection
    await blocker;
    expect(await failing).toEqual(new RangeError('Expected finite values for queries but element 5 is NaN'));
    expect(await good).toEqual(index.searchSync(queries.subarray(dimension, 2 * dimension), 5));
  });

  it('can be turned off per index; results stay the same', async () => {
    const index = IndexIVFPQ.fromBuffer(bytes);
    index.coalesceSearches = false;
    const off = await Promise.all(Array.from({ length: 50 }, (_, i) => index.search(queries.subarray(i * dimension, (i + 1) * dimension), 10)));
    index.coalesceSearches = true;
    const on = await Promise.all(Array.from({ length: 50 }, (_, i) => index.search(queries.subarray(i * dimension, (i + 1) * dimension), 10)));
    on.forEach((result, i) => expectSameResults(result, off[i]));
    expect(() => new IndexIVFPQ({ dimension, nlist: 4, m: 4, coalesce: 'yes' as never })).toThrow(TypeError);
  });

  it('does not delay a lone request (measured against the uncoalesced path)', async () => {
    const index = IndexIVFPQ.fromBuffer(bytes);
    const q = queries.subarray(0, dimension);
    async function medianMicros(): Promise<number> {
      const times: number[] = [];
      for (let i = 0; i < 300; i++) {
        const start = process.hrtime.bigint();
        await index.search(q, 10, { nprobe: 4 });
        times.push(Number(process.hrtime.bigint() - start) / 1000);
      }
      return times.sort((a, b) => a - b)[150];
    }
    index.coalesceSearches = false;
    await medianMicros(); // warm up
    const uncoalesced = await medianMicros();
    index.coalesceSearches = true;
    const coalesced = await medianMicros();
    // Same path when idle: allow scheduling noise, not a batching delay.
    expect(coalesced).toBeLessThan(uncoalesced * 1.5 + 200);
  });

  it('Index: batches only calls with equal options, and filtered calls go alone with their own filter', async () => {
    const index = Index.fromFactory(dimension, 'IVF64,SQ8');
    index.trainSync(base.subarray(0, 8000 * dimension));
    index.addSync(base);
    const random = rng(9);
    const calls = Array.from({ length: 300 }, (_, i) => {
      const start = Math.floor(random() * 290);
      const filter = i % 7 === 0 ? { range: [0n, BigInt(5000 + i)] as [bigint, bigint] } : undefined;
      return {
        q: queries.subarray(start * dimension, (start + 1 + (i % 3)) * dimension),
        k: [1, 5, 10][i % 3],
        options: { nprobe: [1, 4, 16][Math.floor(random() * 3)], ...(filter ? { filter } : {}) },
      };
    });
    const results = await Promise.all(calls.map(({ q, k, options }) => index.search(q, k, options)));
    calls.forEach(({ q, k, options }, i) => expectSameResults(results[i], index.searchSync(q, k, options)));
    expect(index.coalesceSearches).toBe(true);
    expect(() => Index.fromFactory(dimension, 'Flat', { coalesce: 'yes' as never })).toThrow(TypeError);
    index.dispose();
  });
});
