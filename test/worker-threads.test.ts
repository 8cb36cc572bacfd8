// The addon is context-aware: several worker threads and the main thread load
// it at once, each with its own error class and indexes, and get the same answers.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { FaissError, Index, IndexIVFPQ } from 'faiss-native';
import { expectSameResults, randomVectors, tempDir } from './helpers';

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { IndexIVFPQ, FaissError } = require(workerData.packageDir);
(async () => {
  const index = await IndexIVFPQ.read(workerData.file);
  const queries = new Float32Array(workerData.queries);
  const results = [];
  for (let round = 0; round < 20; round++) results.push(await index.search(queries, 10, { nprobe: 8 }));
  const same = results.every((r) => r.labels.every((label, i) => label === results[0].labels[i]));
  let errorIsLocalClass = false;
  try { index.searchSync(queries, 0); } catch (error) { errorIsLocalClass = error instanceof RangeError; }
  try { index.trainSync(queries); } catch (error) { errorIsLocalClass = errorIsLocalClass && error instanceof FaissError; }
  index.dispose();
  parentPort.postMessage({ labels: results[0].labels, distances: results[0].distances, same, errorIsLocalClass });
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
`;

describe('worker threads', () => {
  it('4 workers and the main thread search the same index file concurrently', async () => {
    const dimension = 32;
    const dir = tempDir();
    const file = path.join(dir, 'shared.index');
    const index = new IndexIVFPQ({ dimension, nlist: 32, m: 8 });
    index.trainSync(randomVectors(5000, dimension, 1));
    index.addSync(randomVectors(20000, dimension, 2));
    index.writeSync(file);
    const queries = randomVectors(50, dimension, 3);
    const expected = index.searchSync(queries, 10, { nprobe: 8 });

    const packageDir = path.resolve(__dirname, '..');
    const workers = Array.from({ length: 4 }, () =>
      new Worker(workerSource, { eval: true, workerData: { file, packageDir, queries: Array.from(queries) } }));
    const replies = workers.map(
      (worker) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    );
    // The main thread keeps working beside them.
    const mainResults = await Promise.all(Array.from({ length: 20 }, () => index.search(queries, 10, { nprobe: 8 })));
    const results = await Promise.all(replies);
    await Promise.all(workers.map((worker) => worker.terminate()));

    for (const result of results) {
      expect(result.error).toBeUndefined();
      expect(result.same).toBe(true);
      expect(result.errorIsLocalClass).toBe(true);
      expectSameResults(result as never, expected);
    }
    for (const result of mainResults) expectSameResults(result, expected);
    // The main thread's error class is still its own after the workers registered theirs.
    expect(() => index.trainSync(queries)).toThrow(FaissError);
  });

  it('a worker terminated while its searches are in flight does not take the process down', async () => {
    const dimension = 16;
    const dir = tempDir();
    const file = path.join(dir, 'busy.index');
    const index = new IndexIVFPQ({ dimension, nlist: 16, m: 4 });
    index.trainSync(randomVectors(4000, dimension, 4));
    index.addSync(randomVectors(50000, dimension, 5));
    index.writeSync(file);
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { IndexIVFPQ } = require(workerData.packageDir);
      const index = IndexIVFPQ.readSync(workerData.file);
      const queries = new Float32Array(16 * 200).fill(0.5);
      for (let i = 0; i < 50; i++) index.search(queries, 100, { nprobe: 16 });
      parentPort.postMessage('started');
    `;
    for (let round = 0; round < 3; round++) {
      const worker = new Worker(source, { eval: true, workerData: { file, packageDir: path.resolve(__dirname, '..') } });
      await new Promise((resolve) => worker.once('message', resolve));
      await worker.terminate();
    }
    expect(index.searchSync(randomVectors(1, dimension, 9), 3).labels.length).toBe(3);
  });

  it('Index: workers read and search any index type with their own class registry', async () => {
    const dimension = 16;
    const dir = tempDir();
    const file = path.join(dir, 'hnsw.faiss');
    const index = Index.fromFactory(dimension, 'HNSW16');
    index.addSync(randomVectors(5000, dimension, 6));
    index.writeSync(file);
    const queries = randomVectors(20, dimension, 7);
    const expected = index.searchSync(queries, 5, { efSearch: 64 });
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { Index } = require(workerData.packageDir);
      (async () => {
        const index = await Index.read(workerData.file);
        const other = Index.fromFactory(16, 'Flat');
        let mergeRefused = false;
        try { index.mergeFromSync(other); } catch (error) { mergeRefused = error.name === 'FaissError'; }
        const result = await index.search(new Float32Array(workerData.queries), 5, { efSearch: 64 });
        parentPort.postMessage({ ...result, type: index.indexType, mergeRefused });
      })().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
    `;
    const workers = Array.from({ length: 3 }, () =>
      new Worker(source, { eval: true, workerData: { file, packageDir: path.resolve(__dirname, '..'), queries: Array.from(queries) } }));
    const results = await Promise.all(
      workers.map((worker) => new Promise<Record<string, unknown>>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      })),
    );
    await Promise.all(workers.map((worker) => worker.terminate()));
    for (const result of results) {
      expect(result.error).toBeUndefined();
      expect(result.type).toBe('IndexHNSWFlat');
      expect(result.mergeRefused).toBe(true);
      expectSameResults(result as never, expected);
    }
    index.dispose();
  });
});
