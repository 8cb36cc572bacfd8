import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FaissError } from './errors';
import { IndexIVFPQ } from './index-ivfpq';
import { mergeOnDisk } from './on-disk';
import type { ShardReply, ShardRequest } from './shard-worker';
import { expectInteger, expectOptions, expectString, expectVectors, expectBigInt64Array, fail } from './validate';

export interface VectorBatch {
  vectors: Float32Array;
  /** Global ids, one per vector. */
  ids: BigInt64Array;
}

export interface ShardedBuildProgress {
  step: 'add' | 'write-shards' | 'merge';
  vectorsAdded: number;
  batchesAdded: number;
}

export interface ShardedBuildOptions {
  /** An empty trained index (writeSync of a trained IndexIVFPQ): every shard starts from it. */
  templatePath: string;
  /** Directory for the shard files (shard-0.index, …). */
  shardDir: string;
  /** Worker threads, each building one shard. Default: number of cores. */
  workers?: number;
  /** OpenMP threads per worker. Default 1, so workers × threads matches the cores. */
  threadsPerWorker?: number;
  /** When given with dataPath, the shards are merged on disk and the merged index returned. */
  indexPath?: string;
  dataPath?: string;
  onProgress?: (progress: ShardedBuildProgress) => void;
}

export interface ShardedBuildResult {
  shardPaths: string[];
  ntotal: number;
  /** The merged on-disk index, when indexPath and dataPath were given. */
  index?: IndexIVFPQ;
}

const KEYS = ['templatePath', 'shardDir', 'workers', 'threadsPerWorker', 'indexPath', 'dataPath', 'onProgress'] as const;

class ShardHandle {
  readonly worker: Worker;
  #pending: { resolve: (reply: ShardReply) => void; reject: (error: Error) => void } | undefined;

  constructor(templatePath: string, shardPath: string, threads: number) {
    this.worker = new Worker(path.join(__dirname, 'shard-worker.js'), {
      workerData: { templatePath, shardPath, threads },
    });
    this.worker.on('message', (reply: ShardReply) => this.#settle((p) => p.resolve(reply)));
    this.worker.on('error', (error) => this.#settle((p) => p.reject(error)));
    this.worker.on('exit', (code) =>
      this.#settle((p) => p.reject(new FaissError(`shard worker exited with code ${code}`))),
    );
  }

  #settle(action: (pending: { resolve: (reply: ShardReply) => void; reject: (error: Error) => void }) => void): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) action(pending);
  }

  async request(message: ShardRequest, transfer: ArrayBuffer[] = []): Promise<ShardReply> {
    const reply = await new Promise<ShardReply>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
    if (reply.kind === 'failed') {
      const ErrorClass = reply.name === 'RangeError' ? RangeError : reply.name === 'TypeError' ? TypeError : FaissError;
      throw ErrorClass === FaissError ? new FaissError(reply.message, reply.code) : new ErrorClass(reply.message);
    }
    return reply;
  }
}

/**
 * Builds an index the way Faiss builds billion-scale ones: worker threads each
 * load the trained template, add the batches handed to them (with global ids),
 * and write a shard file; then, optionally, the shards are merged on disk.
 * Shard files are the interface, so shards can also be built on other machines
 * and merged here with mergeOnDisk().
 */
export async function buildSharded(
  batches: AsyncIterable<VectorBatch> | Iterable<VectorBatch>,
  options: ShardedBuildOptions,
): Promise<ShardedBuildResult> {
  const bag = expectOptions<ShardedBuildOptions>(options, 'options', KEYS);
  const templatePath = expectString(bag.templatePath, 'templatePath');
  const shardDir = expectString(bag.shardDir, 'shardDir');
  const workers = bag.workers === undefined ? os.availableParallelism() : expectInteger(bag.workers, 'workers', 1, 256);
  const threads = bag.threadsPerWorker === undefined ? 1 : expectInteger(bag.threadsPerWorker, 'threadsPerWorker', 1, 1024);
  if ((bag.indexPath === undefined) !== (bag.dataPath === undefined)) {
    fail('type', 'both indexPath and dataPath, or neither', 'options', options);
  }
  const onProgress = bag.onProgress ?? (() => {});
  if (typeof onProgress !== 'function') fail('type', 'a function', 'onProgress', onProgress);

  const template = await IndexIVFPQ.read(templatePath);
  const dimension = template.dimension;
  if (!template.isTrained) throw new FaissError(`template '${templatePath}' is not trained`, 'ERR_FAISS_NOT_TRAINED');
  template.dispose();

  const shardPaths = Array.from({ length: workers }, (_, i) => path.join(shardDir, `shard-${i}.index`));
  const handles = shardPaths.map((shardPath) => new ShardHandle(templatePath, shardPath, threads));
  const progress: ShardedBuildProgress = { step: 'add', vectorsAdded: 0, batchesAdded: 0 };
  try {
    // Each worker has at most one batch in flight: the source is read no
    // faster than the shards can absorb it.
    const idle = [...handles];
    const busy = new Set<Promise<void>>();
    let failure: unknown;
    for await (const batch of batches) {
      const vectors = expectVectors(batch?.vectors, dimension, 'batch.vectors');
      const ids = expectBigInt64Array(batch?.ids, 'batch.ids');
      if (ids.length * dimension !== vectors.length) {
        throw new RangeError(`Expected ${vectors.length / dimension} ids (one per vector) for batch.ids but received length ${ids.length}`);
      }
      while (idle.length === 0) await Promise.race(busy);
      if (failure) throw failure;
      const handle = idle.pop()!;
      // Copies, so the caller may reuse its arrays once the loop moves on.
      const ownVectors = vectors.slice();
      const ownIds = ids.slice();
      const job: Promise<void> = handle
        .request({ kind: 'add', vectors: ownVectors, ids: ownIds }, [ownVectors.buffer, ownIds.buffer])
        .then(
          () => {
            progress.vectorsAdded += ids.length;
            progress.batchesAdded++;
            onProgress({ ...progress });
          },
          (error: unknown) => {
            failure ??= error;
          },
        )
        .finally(() => {
          busy.delete(job);
          idle.push(handle);
        });
      busy.add(job);
    }
    await Promise.all(busy);
    if (failure) throw failure;

    progress.step = 'write-shards';
    onProgress({ ...progress });
    const written = await Promise.all(handles.map((handle) => handle.request({ kind: 'finish' })));
    const ntotal = written.reduce((sum, reply) => sum + (reply.kind === 'written' ? reply.ntotal : 0), 0);

    if (bag.indexPath === undefined) return { shardPaths, ntotal };
    progress.step = 'merge';
    onProgress({ ...progress });
    const index = await mergeOnDisk(shardPaths, { indexPath: bag.indexPath, dataPath: bag.dataPath! });
    return { shardPaths, ntotal, index };
  } finally {
    await Promise.all(handles.map((handle) => handle.worker.terminate()));
  }
}
