// No leaks: thousands of short-lived indexes, disposed or just dropped, and
// thousands of rejected hostile buffers leave the C heap's in-use bytes where
// they were after a warm-up (within 256 bytes per cycle: one leaked index, id
// list or error string per cycle is far more), and RSS within +20%. RSS alone
// is a blunt measure: glibc's per-thread arenas and fragmentation move it by
// several percent from run to run without any leak. The C heap has one-off
// steps too (V8 compiles on background threads with malloc'ed zones; a new
// thread's malloc cache fills once), so a window of cycles that grew is run
// again: a leak grows in every window, a step in one. Needs --expose-gc
// (vitest.config.mjs).
import { describe, expect, it } from 'vitest';
import { FaissError, IndexIVFPQ, nativeMemoryUsage } from 'faiss-native';
import { describeLayout } from '../scripts/fuzz-index-files.mjs';
import { randomVectors } from './helpers';

const gc = (globalThis as { gc?: () => void }).gc;
const MiB = 2 ** 20;
const CYCLES = 2000;
const WINDOWS = 3;
const LEAK_BYTES_PER_CYCLE = 256;
const RSS_GROWTH = 1.2;
const dimension = 8;
// 39 points per centroid: Faiss's k-means stays quiet.
const training = randomVectors(39 * 16, dimension, 1);
const vectors = randomVectors(100, dimension, 2);
const queries = randomVectors(5, dimension, 3);

/** gc, then let the event loop run: N-API finalizers are scheduled, not run inside gc(). */
async function settle(): Promise<Sample> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { rss: process.memoryUsage().rss, heap: nativeMemoryUsage()!.allocatedBytes };
}

interface Sample {
  rss: number;
  heap: number;
}

function build(): IndexIVFPQ {
  const index = new IndexIVFPQ({ dimension, nlist: 4, m: 2, nbits: 4, metric: 'l2' });
  index.trainSync(training, { threads: 1 });
  index.addSync(vectors, { threads: 1 });
  return index;
}

async function cycle(i: number): Promise<void> {
  if (i % 2 === 0) {
    const index = build();
    index.searchSync(queries, 5, { threads: 1 });
    index.dispose();
    return;
  }
  // The Promise forms go through the thread pool and the operation queue.
  const index = new IndexIVFPQ({ dimension, nlist: 4, m: 2, nbits: 4, metric: i % 4 === 1 ? 'ip' : 'cosine' });
  await index.train(training, { threads: 1 });
  await index.addWithIds(vectors, BigInt64Array.from({ length: 100 }, (_, j) => BigInt(i * 1000 + j)));
  await index.search(queries, 5, { threads: 1 });
  index.dispose();
}

/**
 * Runs `cycles` cycles in up to WINDOWS windows, each measured after a full
 * collection, and passes on the first window whose C heap grew by at most
 * LEAK_BYTES_PER_CYCLE per cycle; RSS over all windows stays within RSS_GROWTH.
 */
async function expectNoLeak(name: string, cycles: number, runWindow: () => Promise<void>): Promise<void> {
  const first = await settle();
  let start = first;
  const growths: number[] = [];
  for (let window = 0; window < WINDOWS; window++) {
    await runWindow();
    const end = await settle();
    growths.push((end.heap - start.heap) / cycles);
    const percent = (((end.rss - first.rss) / first.rss) * 100).toFixed(1);
    console.log(
      `${name}, window ${window + 1}: C heap in use ${(start.heap / MiB).toFixed(2)} -> ${(end.heap / MiB).toFixed(2)} MiB ` +
        `(${growths.at(-1)!.toFixed(1)} B per cycle); RSS ${(first.rss / MiB).toFixed(1)} -> ${(end.rss / MiB).toFixed(1)} MiB (${percent}%)`,
    );
    expect(end.rss).toBeLessThanOrEqual(first.rss * RSS_GROWTH);
    if (growths.at(-1)! <= LEAK_BYTES_PER_CYCLE) return;
    start = end;
  }
  expect(Math.min(...growths)).toBeLessThanOrEqual(LEAK_BYTES_PER_CYCLE);
}

describe.skipIf(!gc)('no leaks', () => {
  it(`${CYCLES} create/train/add/search/dispose cycles leave the C heap as it was`, async () => {
    // Warm-up: glibc gives each thread-pool thread its own malloc arena, which
    // grows to a plateau over the first thousand or so cycles; that is not a leak.
    for (let i = 0; i < 1000; i++) await cycle(i);
    await expectNoLeak('dispose cycles', CYCLES, async () => {
      for (let i = 0; i < CYCLES; i++) await cycle(i);
    });
  });

  it(`${CYCLES} indexes dropped without dispose() are collected and leave the C heap as it was`, async () => {
    for (let i = 0; i < 200; i++) build();
    await expectNoLeak('dropped indexes', CYCLES, async () => {
      let collected = 0;
      const registry = new FinalizationRegistry(() => {
        collected++;
      });
      for (let i = 0; i < CYCLES; i++) {
        const index = build();
        index.searchSync(queries, 5, { threads: 1 });
        registry.register(index, i);
        if (i % 100 === 99) await settle();
      }
      for (let i = 0; i < 10 && collected < CYCLES; i++) await settle();
      expect(collected).toBeGreaterThanOrEqual(CYCLES * 0.95);
    });
  });

  it(`${CYCLES} rejected hostile buffers leave the C heap as it was`, async () => {
    const index = new IndexIVFPQ({ dimension, nlist: 4, m: 2, nbits: 4, directMap: true });
    index.trainSync(training, { threads: 1 });
    index.addWithIdsSync(vectors, BigInt64Array.from({ length: 100 }, (_, j) => BigInt(j + 5)));
    const good = index.toBuffer();
    index.dispose();
    // Rejected early (the header), late (the lists), and after Faiss parsed
    // everything (a direct map that contradicts the lists).
    const hostile: Buffer[] = [good.subarray(0, 40), good.subarray(0, good.length - 9), Buffer.concat([good, Buffer.alloc(3)])];
    const wrongTag = Buffer.from(good);
    wrongTag.write('IvPQ', 0, 'latin1');
    hostile.push(wrongTag);
    // Two direct-map entries with swapped locations: Faiss parses it all, then the check refuses it.
    const badMap = Buffer.from(good);
    const locations = describeLayout(good).filter((f: { name: string }) => f.name === 'dm.table[].location');
    const [a, b] = [locations[0].off, locations[1].off];
    badMap.writeBigInt64LE(good.readBigInt64LE(b), a);
    badMap.writeBigInt64LE(good.readBigInt64LE(a), b);
    hostile.push(badMap);
    const rejected = () => {
      for (const bytes of hostile) {
        try {
          IndexIVFPQ.fromBuffer(bytes).dispose();
        } catch (error) {
          expect(error).toBeInstanceOf(FaissError);
        }
      }
    };
    for (let i = 0; i < 100; i++) rejected();
    await expectNoLeak(`rejected buffers (${CYCLES} loads)`, CYCLES, async () => {
      for (let i = 0; i < CYCLES / hostile.length; i++) rejected();
    });
  });
});
