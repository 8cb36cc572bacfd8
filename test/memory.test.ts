// Native memory is visible to V8 and released: by dispose(), and by the
// finalizer when an index is dropped without it.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexFlat, IndexIVFPQ, nativeMemoryUsage } from 'faiss-native';
import { randomVectors, tempDir } from './helpers';

const gc = (globalThis as { gc?: () => void }).gc;
const MiB = 2 ** 20;

function collect(): void {
  for (let i = 0; i < 4; i++) gc!();
}

describe.skipIf(!gc)('native memory', () => {
  const dimension = 64;
  const dir = tempDir();
  const file = path.join(dir, 'big.index');
  // About 40 MiB of codes and ids in memory once loaded.
  const template = new IndexIVFPQ({ dimension, nlist: 16, m: 64, metric: 'ip' });
  template.trainSync(randomVectors(5000, dimension, 1));
  const chunk = randomVectors(50_000, dimension, 2);
  for (let i = 0; i < 11; i++) template.addSync(chunk);
  template.writeSync(file);
  const indexBytes = template.memoryBytes;
  template.dispose();

  it('dispose() frees the native memory at once', () => {
    collect();
    const before = process.memoryUsage().rss;
    for (let round = 0; round < 10; round++) {
      const index = IndexIVFPQ.readSync(file);
      expect(index.memoryBytes).toBe(indexBytes);
      index.dispose();
    }
    // Ten undisposed copies would hold ~10 × indexBytes; freed ones are reused.
    expect(process.memoryUsage().rss - before).toBeLessThan(2 * indexBytes);
  });

  it('nativeMemoryUsage() counts a loaded index and its release', () => {
    collect();
    const before = nativeMemoryUsage()!;
    const index = IndexIVFPQ.readSync(file);
    const loaded = nativeMemoryUsage()!;
    index.dispose();
    const after = nativeMemoryUsage()!;
    // The index's own estimate, give or take the allocator's block headers.
    expect(loaded.allocatedBytes - before.allocatedBytes).toBeGreaterThan(indexBytes * 0.95);
    expect(loaded.allocatedBytes - before.allocatedBytes).toBeLessThan(indexBytes * 1.2);
    expect(loaded.retainedBytes).toBeGreaterThanOrEqual(loaded.allocatedBytes);
    expect(Math.abs(after.allocatedBytes - before.allocatedBytes)).toBeLessThan(MiB);
  });

  it('indexes dropped without dispose() are freed by the garbage collector', async () => {
    collect();
    const rssBefore = process.memoryUsage().rss;
    for (let round = 0; round < 15; round++) {
      const index = IndexIVFPQ.readSync(file);
      expect(index.ntotal).toBe(550_000);
      collect();
      // N-API runs finalizers after the collection, on the event loop.
      await new Promise(setImmediate);
    }
    const growth = process.memoryUsage().rss - rssBefore;
    // 15 leaked copies would be ~15 × indexBytes; allow two live ones plus allocator slack.
    expect(indexBytes).toBeGreaterThan(30 * MiB);
    expect(growth).toBeLessThan(3 * indexBytes);
  });

  it('V8 counts native memory: allocation pressure alone collects dropped indexes', async () => {
    collect();
    await new Promise(setImmediate);
    const rssBefore = process.memoryUsage().rss;
    const vectors = randomVectors(50_000, dimension, 3);
    for (let round = 0; round < 40; round++) {
      // 12.8 MB each, held only natively; its JS wrapper is a few bytes, so
      // without AdjustExternalMemory V8 would see no reason to collect it.
      new IndexFlat({ dimension }).addSync(vectors);
      await new Promise(setImmediate);
    }
    // Never collected, the 40 indexes would keep 40 × 12.8 MB; how many V8 lets
    // pile up before it collects varies by version (up to ~16 seen on Node 22).
    const growth = process.memoryUsage().rss - rssBefore;
    expect(growth).toBeLessThan(20 * vectors.byteLength);
  });
});
