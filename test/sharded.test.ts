// The billion-scale path at small size: train once, build shards in worker
// threads, merge them on disk, search memory-mapped; and fan-out search.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaissError, IndexIVFPQ, IndexShards, buildSharded, mergeOnDisk, mergeOnDiskSync } from 'faiss-native';
import { randomVectors, sortedRows as rows, tempDir } from './helpers';

const dimension = 32;
const count = 24_000;
const base = randomVectors(count, dimension, 41);
const queries = randomVectors(40, dimension, 42);
const ids = BigInt64Array.from({ length: count }, (_, i) => 10n ** 12n + BigInt(i) * 3n);
const dir = tempDir();
const templatePath = path.join(dir, 'template.index');

const template = new IndexIVFPQ({ dimension, nlist: 64, m: 8 });
template.trainSync(base.subarray(0, 10_000 * dimension));
template.writeSync(templatePath);

// One index fed everything in order: the reference answer.
const whole = IndexIVFPQ.readSync(templatePath);
whole.addWithIdsSync(base, ids);
const expected = whole.searchSync(queries, 10, { nprobe: 16 });

function* batches(size: number) {
  for (let start = 0; start < count; start += size) {
    yield { vectors: base.subarray(start * dimension, (start + size) * dimension), ids: ids.subarray(start, start + size) };
  }
}

describe('sharded build merged on disk', () => {
  it('returns exactly the labels and distances of one in-memory index', async () => {
    const progress: string[] = [];
    const indexPath = path.join(dir, 'merged.index');
    const dataPath = path.join(dir, 'merged.ivfdata');
    const result = await buildSharded(batches(1000), {
      templatePath,
      shardDir: dir,
      workers: 3,
      indexPath,
      dataPath,
      onProgress: (p) => progress.push(`${p.step}:${p.vectorsAdded}`),
    });
    expect(result.shardPaths).toHaveLength(3);
    expect(result.ntotal).toBe(count);
    expect(progress.at(-1)).toBe(`merge:${count}`);
    expect(progress.filter((p) => p.startsWith('add:'))).toHaveLength(24);

    const merged = result.index!;
    expect([merged.ntotal, merged.readOnly]).toEqual([count, true]);
    expect(rows(merged.searchSync(queries, 10, { nprobe: 16 }), 10)).toEqual(rows(expected, 10));

    // Reopened from disk, memory-mapped: the same answers; the lists are in the data file.
    const reopened = await IndexIVFPQ.read(indexPath);
    expect(rows(await reopened.search(queries, 10, { nprobe: 16 }), 10)).toEqual(rows(expected, 10));
    expect(reopened.readOnly).toBe(true);
    expect(statSync(dataPath).size).toBeGreaterThanOrEqual(count * (8 + 8));
    expect(statSync(indexPath).size).toBeLessThan(statSync(dataPath).size / 4);
    expect(() => reopened.addSync(queries)).toThrow(FaissError);
  });

  it('mergeOnDisk works on shard files built elsewhere, and rejects foreign shards', () => {
    const shardPaths = [0, 1].map((i) => {
      const shard = IndexIVFPQ.readSync(templatePath);
      const half = count / 2;
      shard.addWithIdsSync(base.subarray(i * half * dimension, (i + 1) * half * dimension), ids.subarray(i * half, (i + 1) * half));
      const file = path.join(dir, `manual-${i}.index`);
      shard.writeSync(file);
      return file;
    });
    const merged = mergeOnDiskSync(shardPaths, { indexPath: path.join(dir, 'manual.index'), dataPath: path.join(dir, 'manual.ivfdata') });
    expect(rows(merged.searchSync(queries, 10, { nprobe: 16 }), 10)).toEqual(rows(expected, 10));

    const foreign = new IndexIVFPQ({ dimension, nlist: 64, m: 8 });
    foreign.trainSync(randomVectors(10_000, dimension, 7));
    const foreignPath = path.join(dir, 'foreign.index');
    foreign.writeSync(foreignPath);
    expect(() =>
      mergeOnDiskSync([shardPaths[0], foreignPath], { indexPath: path.join(dir, 'bad.index'), dataPath: path.join(dir, 'bad.ivfdata') }),
    ).toThrow(/cannot merge shard '.*foreign\.index': it was not built from the same trained index/);
    expect(existsSync(path.join(dir, 'bad.index'))).toBe(false);
    expect(() => mergeOnDiskSync([], { indexPath: 'a', dataPath: 'b' })).toThrow(TypeError);
    expect(() => mergeOnDiskSync(shardPaths, { indexPath: path.join(dir, 'x.index'), dataPath: '/tmp/elsewhere/x.ivfdata' })).toThrow(RangeError);
  });

  it('refuses an index file whose data file lies outside its directory, and on-disk lists from a buffer', () => {
    const merged = IndexIVFPQ.readSync(path.join(dir, 'manual.index'));
    const bytes = merged.toBuffer();
    expect(() => IndexIVFPQ.fromBuffer(bytes)).toThrow(/can only be opened from its file/);
    // The same index file copied elsewhere still names the original data file.
    const other = tempDir('faiss-native-moved-');
    const moved = path.join(other, 'moved.index');
    writeFileSync(moved, bytes);
    expect(() => IndexIVFPQ.readSync(moved)).toThrow(FaissError);
    expect(() => IndexIVFPQ.readSync(moved)).toThrow(/the data file '.*manual\.ivfdata' is not in the index file's directory/);
  });

  it('rejects bad batches with the batch field named', async () => {
    await expect(
      buildSharded([{ vectors: new Float32Array(31), ids: BigInt64Array.of(1n) }], { templatePath, shardDir: dir, workers: 1 }),
    ).rejects.toThrow('Expected a non-empty length that is a multiple of dimension (32) for batch.vectors but received length 31');
    await expect(
      buildSharded([{ vectors: new Float32Array(32), ids: BigInt64Array.of(-4n) }], { templatePath, shardDir: dir, workers: 1 }),
    ).rejects.toThrow('Expected non-negative ids for ids but ids[0] is -4');
  });
});

describe('IndexShards', () => {
  it('searches several indexes as one top-k, sync and async', async () => {
    const parts = [0, 1, 2].map((i) => {
      const part = IndexIVFPQ.readSync(templatePath);
      const third = count / 3;
      part.addWithIdsSync(base.subarray(i * third * dimension, (i + 1) * third * dimension), ids.subarray(i * third, (i + 1) * third));
      return part;
    });
    const shards = new IndexShards(parts);
    expect(shards.ntotal).toBe(count);
    expect(rows(await shards.search(queries, 10, { nprobe: 16 }), 10)).toEqual(rows(expected, 10));
    expect(rows(shards.searchSync(queries, 10, { nprobe: 16 }), 10)).toEqual(rows(expected, 10));
    // More results wanted than exist: padded like Faiss.
    const small = new IndexShards([parts[0]]);
    const padded = small.searchSync(queries.subarray(0, dimension), 9000, { nprobe: 64 });
    expect(padded.labels[8000]).toBe(-1n);
    expect(() => new IndexShards([])).toThrow(TypeError);
  });
});
