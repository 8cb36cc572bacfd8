// The Promise API: same answers as the blocking one, call-order semantics,
// concurrency, pinning, disposal, and an event loop that keeps turning.
import { describe, expect, it } from 'vitest';
import { FaissError, IndexFlat, IndexIVFPQ } from 'faiss-native';
import { expectSameResults, randomVectors } from './helpers';

const dimension = 32;
const base = randomVectors(20_000, dimension, 11);
const queries = randomVectors(200, dimension, 12);
const gc = (globalThis as { gc?: () => void }).gc;

async function filledIndex(): Promise<IndexIVFPQ> {
  const index = new IndexIVFPQ({ dimension, nlist: 64, m: 8 });
  await index.train(base.subarray(0, 5000 * dimension));
  await index.add(base);
  return index;
}

describe('Promise API', () => {
  it('train/add/addWithIds/search/write/read give the same results as the Sync forms', async () => {
    const a = await filledIndex();
    const b = new IndexIVFPQ({ dimension, nlist: 64, m: 8 });
    b.trainSync(base.subarray(0, 5000 * dimension));
    b.addSync(base);
    expect(await a.search(queries, 10, { nprobe: 8 })).toEqual(b.searchSync(queries, 10, { nprobe: 8 }));
    const ids = BigInt64Array.from({ length: 100 }, (_, i) => 10n ** 15n + BigInt(i));
    await a.addWithIds(queries.subarray(0, 100 * dimension), ids);
    b.addWithIdsSync(queries.subarray(0, 100 * dimension), ids);
    expect(await a.search(queries, 10, { nprobe: 8 })).toEqual(b.searchSync(queries, 10, { nprobe: 8 }));
    const file = `${require('node:os').tmpdir()}/faiss-native-async-${process.pid}.index`;
    await a.write(file);
    const loaded = await IndexIVFPQ.read(file);
    expect(loaded.ntotal).toBe(20_100);
    expect(await loaded.search(queries, 10, { nprobe: 8 })).toEqual(b.searchSync(queries, 10, { nprobe: 8 }));
    require('node:fs').rmSync(file);
  });

  it('many concurrent searches equal the same searches run one by one', async () => {
    const index = await filledIndex();
    const calls = Array.from({ length: 120 }, (_, i) => ({
      q: queries.subarray((i % 200) * dimension, ((i % 200) + 1 + (i % 3)) * dimension),
      k: 1 + (i % 17),
      nprobe: 1 + (i % 64),
    }));
    const concurrent = await Promise.all(calls.map(({ q, k, nprobe }) => index.search(q, k, { nprobe })));
    calls.forEach(({ q, k, nprobe }, i) => expectSameResults(concurrent[i], index.searchSync(q, k, { nprobe })));
  });

  it('operations take effect in call order: a search issued after an add sees it, without awaiting', async () => {
    const index = new IndexIVFPQ({ dimension, nlist: 16, m: 8 });
    const trained = index.train(base.subarray(0, 5000 * dimension));
    const pending: Promise<unknown>[] = [trained];
    const seen: Promise<{ labels: BigInt64Array }>[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const vectors = base.subarray(batch * 50 * dimension, (batch + 1) * 50 * dimension);
      const ids = BigInt64Array.from({ length: 50 }, (_, i) => BigInt(batch * 1000 + i));
      pending.push(index.addWithIds(vectors, ids));
      seen.push(index.search(vectors.subarray(0, dimension), 1, { nprobe: 16 }));
    }
    await Promise.all(pending);
    const labels = await Promise.all(seen);
    // Each search found the first vector of the batch added just before it.
    labels.forEach((result, batch) => expect(result.labels[0]).toBe(BigInt(batch * 1000)));
    expect(index.ntotal).toBe(1000);
  });

  it('sync calls also wait for async work issued before them', async () => {
    const index = new IndexIVFPQ({ dimension, nlist: 16, m: 8 });
    const training = index.train(base.subarray(0, 5000 * dimension));
    const adding = index.add(base.subarray(0, 3000 * dimension));
    expect(index.searchSync(base.subarray(0, dimension), 1, { nprobe: 16 }).labels[0]).toBe(0n);
    expect(index.ntotal).toBe(3000);
    await Promise.all([training, adding]);
  });
});

describe('the event loop keeps turning', () => {
  async function ticksDuring(work: () => unknown): Promise<number> {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await work();
    clearInterval(timer);
    return ticks;
  }

  it('train() leaves the event loop free while trainSync() blocks it', async () => {
    const big = randomVectors(20_000, dimension, 5);
    const started = performance.now();
    const asyncTicks = await ticksDuring(() => new IndexIVFPQ({ dimension, nlist: 128, m: 8 }).train(big));
    const asyncMs = performance.now() - started;
    const syncTicks = await ticksDuring(() => new IndexIVFPQ({ dimension, nlist: 128, m: 8 }).trainSync(big));
    expect(syncTicks).toBe(0);
    // A free loop ticks about once per millisecond; demand a fraction of that.
    expect(asyncTicks).toBeGreaterThan(Math.min(20, asyncMs / 20));
  });
});

describe('lifetime', () => {
  it('dispose() waits for work issued before it; later calls fail clearly', async () => {
    const index = await filledIndex();
    const expected = index.searchSync(queries, 5, { nprobe: 4 });
    const inFlight = [index.search(queries, 5, { nprobe: 4 }), index.add(base.subarray(0, 1000 * dimension))];
    index.dispose();
    const [result] = await Promise.all(inFlight);
    expect(result).toEqual(expected);
    expect(index.disposed).toBe(true);
    expect(() => index.searchSync(queries, 5)).toThrow(FaissError);
    expect(() => index.searchSync(queries, 5)).toThrow('index has been disposed');
    await expect(index.search(queries, 5)).rejects.toThrow(FaissError);
    await expect(index.add(queries)).rejects.toMatchObject({ code: 'ERR_FAISS_DISPOSED' });
    expect(() => index.ntotal).toThrow('index has been disposed');
    expect(() => index.writeSync('/tmp/never.index')).toThrow('index has been disposed');
    index.dispose(); // idempotent
  });

  it.skipIf(!gc)('inputs and the index stay alive while async work runs, even when the caller drops them', async () => {
    const expectedIndex = await filledIndex();
    const expected = expectedIndex.searchSync(queries, 10, { nprobe: 16 });
    const results = await (async () => {
      const promises: Promise<unknown>[] = [];
      for (let round = 0; round < 5; round++) {
        const dropped = await filledIndex(); // referenced only by its pending searches
        promises.push(dropped.search(queries.slice(), 10, { nprobe: 16 }));
      }
      return promises;
    })().then((promises) => {
      for (let i = 0; i < 5; i++) gc!();
      return Promise.all(promises);
    });
    for (const result of results) expect(result).toEqual(expected);
  });

  it('IndexFlat has the same async behaviour', async () => {
    const flat = new IndexFlat({ dimension });
    const adding = flat.add(base.subarray(0, 2000 * dimension));
    const found = flat.search(base.subarray(1999 * dimension, 2000 * dimension), 1);
    await adding;
    expect((await found).labels[0]).toBe(1999n);
    flat.dispose();
    await expect(flat.search(queries, 1)).rejects.toMatchObject({ code: 'ERR_FAISS_DISPOSED' });
  });
});
