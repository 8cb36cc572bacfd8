// Buffers and memory-mapped files: the same bytes and answers as files.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaissError, IndexIVFPQ } from 'faiss-native';
import { randomVectors, tempDir } from './helpers';

const dimension = 16;
const base = randomVectors(6000, dimension, 21);
const queries = randomVectors(30, dimension, 22);
const dir = tempDir();

function built(metric: 'l2' | 'ip' | 'cosine'): IndexIVFPQ {
  const index = new IndexIVFPQ({ dimension, nlist: 16, m: 8, metric });
  index.trainSync(base);
  index.addWithIdsSync(base, BigInt64Array.from({ length: 6000 }, (_, i) => 7n * BigInt(i) + 2n ** 40n));
  index.nprobe = 4;
  return index;
}

describe.each(['l2', 'ip', 'cosine'] as const)('%s', (metric) => {
  const index = built(metric);
  const file = path.join(dir, `${metric}.index`);
  index.writeSync(file);
  const expected = index.searchSync(queries, 10);

  it('toBuffer() holds exactly the bytes writeSync() writes', () => {
    const buffer = index.toBuffer();
    expect(Buffer.isBuffer(buffer)).toBe(true);
    expect(buffer.equals(readFileSync(file))).toBe(true);
  });

  it('fromBuffer() reads them back, from a Buffer, a Uint8Array view or an ArrayBuffer', () => {
    const buffer = index.toBuffer();
    const padded = new Uint8Array(buffer.length + 13);
    padded.set(buffer, 13);
    for (const source of [buffer, padded.subarray(13), padded.slice(13).buffer]) {
      const loaded = IndexIVFPQ.fromBuffer(source);
      expect([loaded.metric, loaded.ntotal, loaded.nprobe]).toEqual([metric, 6000, 4]);
      expect(loaded.searchSync(queries, 10)).toEqual(expected);
    }
  });

  it('a memory-mapped read gives identical results, reports read-only and refuses mutations', async () => {
    const mapped = IndexIVFPQ.readSync(file, { mmap: true });
    expect(mapped.readOnly).toBe(true);
    expect(mapped.searchSync(queries, 10)).toEqual(expected);
    expect(await mapped.search(queries, 10)).toEqual(expected);
    // The lists stay in the page cache, not in the index's own memory.
    expect(index.memoryBytes - mapped.memoryBytes).toBe(6000 * (8 + 8));
    expect(() => mapped.addSync(queries)).toThrow('cannot add vectors: the index\'s inverted lists are memory-mapped or on disk (read-only)');
    await expect(mapped.removeIds(BigInt64Array.of(1n))).rejects.toMatchObject({ code: 'ERR_FAISS_READ_ONLY' });
    expect(mapped.searchSync(queries, 10)).toEqual(expected);
    const asyncMapped = await IndexIVFPQ.read(file, { mmap: true });
    expect(asyncMapped.searchSync(queries, 10)).toEqual(expected);
    // Its lists live in the source file: saving it would write an index without codes.
    expect(() => mapped.toBuffer()).toThrow('cannot save an index opened with { mmap: true }');
    await expect(mapped.write(path.join(dir, `${metric}-copy.index`))).rejects.toMatchObject({ code: 'ERR_FAISS_READ_ONLY' });
  });
});

describe('reading without the L2 search table', () => {
  it('saves nlist·m·256 floats and still finds the same neighbours', () => {
    const index = built('l2');
    const file = path.join(dir, 'no-table.index');
    index.writeSync(file);
    const lean = IndexIVFPQ.readSync(file, { precomputeTable: false });
    expect(index.memoryBytes - lean.memoryBytes).toBe(16 * 8 * 256 * 4);
    expect(lean.searchSync(queries, 10).labels).toEqual(index.searchSync(queries, 10).labels);
    expect(() => IndexIVFPQ.readSync(file, { precomputeTable: 1 } as never)).toThrow(
      new TypeError('Expected a boolean for precomputeTable but received 1'),
    );
  });
});

describe('bad buffers', () => {
  it('rejects non-buffers and garbage with clear errors', () => {
    expect(() => IndexIVFPQ.fromBuffer('abc' as never)).toThrow(new TypeError("Expected a Buffer or Uint8Array for buffer but received a string"));
    expect(() => IndexIVFPQ.fromBuffer(new Float32Array(4) as never)).toThrow(TypeError);
    expect(() => IndexIVFPQ.fromBuffer(Buffer.from('not an index at all'))).toThrow(FaissError);
    expect(() => IndexIVFPQ.readSync(path.join(dir, 'l2.index'), { mmap: 'yes' } as never)).toThrow(
      new TypeError("Expected a boolean for mmap but received 'yes'"),
    );
  });
});
