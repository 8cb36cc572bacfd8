// Async searches cheaper than the hop to the thread pool run on the calling
// thread: same results, still a Promise (errors reject), call order kept, and
// the pool whenever the cost is unknown, new, over the budget, or may touch storage.
import { afterEach, describe, expect, it } from 'vitest';
import { getInlineSearchBudget, Index, IndexIVFPQ, setInlineSearchBudget } from 'faiss-native';
import { randomVectors, tempDir } from './helpers';

const dimension = 16;
const base = randomVectors(2048, dimension, 3);
const query = base.subarray(0, dimension);
const defaultBudget = getInlineSearchBudget();

// A pool search settles from a libuv callback, after the microtask queue has
// drained; an inline one is settled when it is returned.
async function settledWithoutTheLoop(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return settled;
}

function smallIndex(): IndexIVFPQ {
  const index = new IndexIVFPQ({ dimension, nlist: 1, m: 4, nbits: 4 });
  index.trainSync(base);
  index.addSync(base);
  return index;
}

// A budget far above these searches' cost, so a busy machine cannot push them over it.
const generous = 100_000;

afterEach(() => setInlineSearchBudget(defaultBudget));

describe('inline searches', () => {
  it('defaults to 40 µs and validates the budget', () => {
    expect(defaultBudget).toBe(40);
    expect(() => setInlineSearchBudget(-1)).toThrow(RangeError);
    expect(() => setInlineSearchBudget(1.5)).toThrow(/microseconds/);
    expect(() => setInlineSearchBudget('5' as unknown as number)).toThrow(TypeError);
    setInlineSearchBudget(0);
    expect(getInlineSearchBudget()).toBe(0);
  });

  it('runs a search measured under the budget on the calling thread, with the results of searchSync', async () => {
    setInlineSearchBudget(generous);
    const index = smallIndex();
    const first = index.search(query, 10);
    expect(await settledWithoutTheLoop(first)).toBe(false); // cost unknown yet: the pool measures it
    await first;
    const second = index.search(query, 10);
    expect(await settledWithoutTheLoop(second)).toBe(true);
    expect(await second).toEqual(index.searchSync(query, 10));
    index.dispose();
  });

  it('sends every search to the pool with a budget of 0', async () => {
    setInlineSearchBudget(0);
    const index = smallIndex();
    await index.search(query, 10);
    expect(await settledWithoutTheLoop(index.search(query, 10))).toBe(false);
    index.dispose();
  });

  it('measures new options, a new k and a changed nprobe in the pool first', async () => {
    setInlineSearchBudget(generous);
    const index = new IndexIVFPQ({ dimension, nlist: 16, m: 4, nbits: 4 });
    index.trainSync(base);
    index.addSync(base);
    await index.search(query, 10, { nprobe: 2 });
    expect(await settledWithoutTheLoop(index.search(query, 10, { nprobe: 2 }))).toBe(true);
    const wider = index.search(query, 10, { nprobe: 16 });
    expect(await settledWithoutTheLoop(wider)).toBe(false);
    const fewer = index.search(query, 5, { nprobe: 2 });
    expect(await settledWithoutTheLoop(fewer)).toBe(false);
    // Each records its own cost when it finishes: let both finish first, or one
    // finishing late replaces the cost the next line measures.
    await Promise.all([wider, fewer]);
    await index.search(query, 10);
    expect(await settledWithoutTheLoop(index.search(query, 10))).toBe(true);
    index.nprobe = 8; // the default changes without a mutation
    expect(await settledWithoutTheLoop(index.search(query, 10))).toBe(false);
    index.dispose();
  });

  it('keeps call order: a search issued after an unfinished add waits for it in the pool and sees its vectors', async () => {
    setInlineSearchBudget(generous);
    const index = smallIndex();
    await index.search(query, 1);
    // Long enough that it is still running when the search is issued.
    const many = randomVectors(200_000, dimension, 4);
    const ids = BigInt64Array.from({ length: 200_000 }, (_, i) => 10n ** 12n + BigInt(i));
    const far = new Float32Array(dimension).fill(1000);
    many.set(far, 0);
    const added = index.addWithIds(many, ids);
    const found = index.search(far, 1);
    expect(await settledWithoutTheLoop(found)).toBe(false);
    await added;
    expect((await found).labels[0]).toBe(10n ** 12n);
    await index.search(far, 1);
    expect(await settledWithoutTheLoop(index.search(far, 1))).toBe(true);
    // A mutation changes what a search costs: the next one is measured again.
    index.addSync(base.subarray(0, 64 * dimension));
    expect(await settledWithoutTheLoop(index.search(far, 1))).toBe(false);
    index.dispose();
  });

  it('lets the event loop turn during a loop of awaited inline searches', async () => {
    // Inline results settle through microtasks alone; past 1 ms of inline work
    // in one turn the next search takes the pool, and timers and I/O get their turn.
    setInlineSearchBudget(1000);
    const index = smallIndex();
    await index.search(query, 10);
    let turns = 0;
    let stopped = false;
    const tick = () => {
      turns++;
      if (!stopped) setImmediate(tick);
    };
    setImmediate(tick);
    let searches = 0;
    let inline = 0;
    const end = performance.now() + 300;
    while (performance.now() < end) {
      const pending = index.search(query, 10);
      if (await settledWithoutTheLoop(pending)) inline++;
      await pending;
      searches++;
    }
    stopped = true;
    expect(inline).toBeGreaterThan(searches / 2);
    expect(turns).toBeGreaterThanOrEqual(30); // one per ~1 ms of inline work, at most ~300
    index.dispose();
  });

  it('rejects, never throws, when an inline search fails, and the index stays usable', async () => {
    setInlineSearchBudget(generous);
    const index = smallIndex();
    await index.search(query, 10);
    const bad = new Float32Array(dimension).fill(Number.NaN);
    let pending: Promise<unknown> | undefined;
    expect(() => (pending = index.search(bad, 10))).not.toThrow();
    await expect(pending).rejects.toThrow(/queries/);
    await expect(pending).rejects.toBeInstanceOf(RangeError);
    expect(await index.search(query, 10)).toEqual(index.searchSync(query, 10));
  });

  it('applies to Index too, filters included, and never to a memory-mapped index', async () => {
    setInlineSearchBudget(generous);
    const index = Index.fromFactory(dimension, 'Flat');
    index.addSync(base);
    const filter = { range: [0n, 100n] as [bigint, bigint] };
    await index.search(query, 10, { filter });
    const inline = index.search(query, 10, { filter });
    expect(await settledWithoutTheLoop(inline)).toBe(true);
    const { labels } = await inline;
    expect([...labels].every((id) => id >= 0n && id < 100n)).toBe(true);
    expect(labels).toEqual(index.searchSync(query, 10, { filter }).labels);

    const file = `${tempDir()}/flat.index`;
    index.writeSync(file);
    const mapped = Index.readSync(file, { mmap: true });
    await mapped.search(query, 10);
    expect(await settledWithoutTheLoop(mapped.search(query, 10))).toBe(false);
    mapped.dispose();
    index.dispose();
  });
});
