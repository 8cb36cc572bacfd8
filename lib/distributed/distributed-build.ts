import { stat } from 'node:fs/promises';
import type { Queue } from 'bullmq';
import { FaissError } from '../errors';
import { expectInteger, expectOptions, expectString, fail } from '../validate';
import { BuildState, type BuildSpec } from './build-state';
import { describeTemplate } from './build-worker';
import { sha256File } from './hash';
import { expectIndexSpec, type IndexSpec } from './index-spec';
import { QUEUE_NAME, expectBuildId, jobIds, storeKeys } from './layout';
import { readManifest, type Manifest } from './manifest';
import type { ObjectStore } from './object-store';
import { requireOptional } from './optional';
import { connectRedis, expectRedisConnection, type RedisConnection } from './redis';
import { resolveSource, type VectorSource } from './vector-source';

type BullMQ = typeof import('bullmq');

export interface DistributedBuildProgress {
  phase: 'train' | 'add' | 'merge' | 'done';
  shardsDone: number;
  shardsTotal: number;
  vectorsAdded: number;
  vectorsTotal: number;
  /** Bytes uploaded and downloaded by the build's jobs so far. */
  bytesMoved: number;
  /** From the rate of vectors added so far; undefined until there is one. */
  etaSeconds: number | undefined;
}

export interface DistributedBuildOptions {
  redis: RedisConnection;
  store: ObjectStore;
  /** Names the build: its objects, Redis keys and jobs. Submitting the same buildId again resumes it. */
  buildId: string;
  source: VectorSource;
  /** The index to train; or give template. */
  index?: IndexSpec;
  /** Path of an empty trained index (written by write or writeSync) to build from instead of training. */
  template?: string;
  /** Rows to train on, taken in 16 runs spread over the source. Default: min(rows, 100,000). */
  trainSample?: number;
  /** Shard jobs; more shards than workers evens out stragglers. Default: one per million rows. */
  shards?: number;
  /** Serving shards the built shards are merged into. Default 1. */
  serveShards?: number;
  /** Tries of each job before the build fails. Default 3. */
  attempts?: number;
  onProgress?: (progress: DistributedBuildProgress) => void;
  /** How often the build's state is read for progress and completion. Default 250 ms. */
  pollMs?: number;
  /** Stops waiting (the promise rejects with the signal's reason); the build goes on in the workers. */
  signal?: AbortSignal;
}

export interface DistributedBuildResult {
  manifest: Manifest;
}

const KEYS = [
  'redis', 'store', 'buildId', 'source', 'index', 'template', 'trainSample', 'shards', 'serveShards', 'attempts', 'onProgress', 'pollMs', 'signal',
] as const;

// The parts of a spec that decide the build's result: a resumed build must match them.
function identity(spec: BuildSpec): string {
  return JSON.stringify([spec.source, spec.index ?? null, spec.trainSample, spec.shards, spec.serveShards]);
}

/**
 * Builds an index across worker processes (runBuildWorker, on any machine that
 * reaches Redis and the store): one train job, one job per shard, one merge
 * job, then a manifest in the store. The build lives in Redis and the store,
 * not in this call: if the caller dies, the workers finish it, and calling
 * again with the same buildId waits for it (or returns the published
 * manifest) without redoing committed shards.
 */
export async function distributedBuild(options: DistributedBuildOptions): Promise<DistributedBuildResult> {
  const bag = expectOptions<DistributedBuildOptions>(options, 'options', KEYS);
  const redis = expectRedisConnection(bag.redis);
  const store = bag.store;
  if (typeof store?.uploadFile !== 'function') fail('type', 'an ObjectStore (fsStore or s3Store)', 'store', store);
  const buildId = expectBuildId(bag.buildId);
  if ((bag.index === undefined) === (bag.template === undefined)) fail('type', 'either index or template', 'options', options);
  const index = bag.index === undefined ? undefined : expectIndexSpec(bag.index);
  const templatePath = bag.template === undefined ? undefined : expectString(bag.template, 'template');
  const attempts = bag.attempts === undefined ? 3 : expectInteger(bag.attempts, 'attempts', 1, 100);
  const pollMs = bag.pollMs === undefined ? 250 : expectInteger(bag.pollMs, 'pollMs', 10, 60_000);
  const onProgress = bag.onProgress ?? (() => {});
  if (typeof onProgress !== 'function') fail('type', 'a function', 'onProgress', onProgress);

  const published = await readManifest(store, buildId);
  if (published) return { manifest: published };

  const source = await resolveSource(store, bag.source as VectorSource);
  const shards = bag.shards === undefined ? Math.ceil(source.rows / 1_000_000) : expectInteger(bag.shards, 'shards', 1, source.rows);
  const serveShards = bag.serveShards === undefined ? 1 : expectInteger(bag.serveShards, 'serveShards', 1, shards);
  const trainSample = Math.min(
    source.rows,
    bag.trainSample === undefined ? 100_000 : expectInteger(bag.trainSample, 'trainSample', 1, Number.MAX_SAFE_INTEGER),
  );
  const spec: BuildSpec = { buildId, source, index, trainSample, shards, serveShards, attempts };

  const { Queue } = requireOptional<BullMQ>('bullmq');
  const connection = connectRedis(redis);
  const queue = new Queue(QUEUE_NAME, { connection });
  try {
    const state = new BuildState(connection, buildId);
    const stored = await state.claimSpec(spec);
    if (identity(stored) !== identity(spec)) {
      throw new RangeError(`Expected the spec build '${buildId}' was submitted with for a resumed build but received a different source, index or shard count`);
    }
    if (templatePath !== undefined && !(await state.template())) {
      const { size } = await stat(templatePath);
      const key = storeKeys.template(buildId, 'given');
      await store.uploadFile(key, templatePath);
      await state.claimTemplate({ key, sha256: await sha256File(templatePath), bytes: size, ...(await describeTemplate(templatePath)) });
    }
    await submitJobs(queue, buildId, attempts);
    return { manifest: await waitForManifest(queue, state, store, spec, onProgress, pollMs, bag.signal) };
  } finally {
    await queue.close();
    await connection.quit().catch(() => {});
  }
}

/**
 * Adds the train job, which adds the merge job and its shard jobs. A build
 * whose train or merge job failed is submitted afresh: its committed shards
 * are in Redis, so only the uncommitted ones run again.
 */
async function submitJobs(queue: Queue, buildId: string, attempts: number): Promise<void> {
  let merge = await queue.getJob(jobIds.merge(buildId));
  if (merge && (await merge.getState()) === 'failed') {
    await merge.remove({ removeChildren: true });
    merge = undefined;
  }
  const train = await queue.getJob(jobIds.train(buildId));
  const trainState = train ? await train.getState() : undefined;
  // A finished train job with no merge job left would never add one again.
  if (train && (trainState === 'failed' || (trainState === 'completed' && !merge))) await train.remove();
  await queue.add('train', { buildId }, { jobId: jobIds.train(buildId), attempts, backoff: { type: 'exponential', delay: 1000 } });
}

async function waitForManifest(
  queue: Queue,
  state: BuildState,
  store: ObjectStore,
  spec: BuildSpec,
  onProgress: (progress: DistributedBuildProgress) => void,
  pollMs: number,
  signal: AbortSignal | undefined,
): Promise<Manifest> {
  const started = Date.now();
  let vectorsAdded = 0;
  let shardsDone = 0;
  let bytesMoved = 0;
  for (;;) {
    signal?.throwIfAborted();
    if (await state.cancelled()) throw new FaissError(`build '${spec.buildId}' was cancelled`, 'ERR_FAISS_BUILD_CANCELLED');
    const [train, merge, commits, added] = await Promise.all([
      queue.getJob(jobIds.train(spec.buildId)),
      queue.getJob(jobIds.merge(spec.buildId)),
      state.commits(),
      state.addedPerShard(),
    ]);
    for (const job of [train, merge]) {
      if (job && (await job.getState()) === 'failed') {
        // The snapshot may predate the failure, so read its reason afresh.
        const reason = (job.id === undefined ? undefined : await queue.getJob(job.id))?.failedReason ?? job.failedReason ?? 'no reason recorded';
        throw new FaissError(`build '${spec.buildId}' failed in its ${job.name} job: ${reason}`, 'ERR_FAISS_BUILD_FAILED');
      }
    }
    const manifest = merge && (await merge.getState()) === 'completed' ? await readManifest(store, spec.buildId) : undefined;
    // Counts only grow, though a retried shard restarts its own count.
    let inFlight = 0;
    for (const [shard, count] of added) if (!commits.has(shard)) inFlight += count;
    const committed = [...commits.values()].reduce((sum, built) => sum + built.ntotal, 0);
    vectorsAdded = Math.max(vectorsAdded, Math.min(spec.source.rows, committed + inFlight));
    shardsDone = Math.max(shardsDone, commits.size);
    bytesMoved = Math.max(bytesMoved, await state.bytesMoved());
    const seconds = (Date.now() - started) / 1000;
    const phase = manifest ? 'done' : shardsDone === spec.shards ? 'merge' : (await state.template()) ? 'add' : 'train';
    onProgress({
      phase,
      shardsDone,
      shardsTotal: spec.shards,
      vectorsAdded,
      vectorsTotal: spec.source.rows,
      bytesMoved,
      etaSeconds: manifest ? 0 : vectorsAdded > 0 ? (seconds * (spec.source.rows - vectorsAdded)) / vectorsAdded : undefined,
    });
    if (manifest) return manifest;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * Stops a build: its jobs fail at their next step and distributedBuild
 * rejects. Committed objects stay until deleteBuild.
 */
export async function cancelBuild(options: { redis: RedisConnection; buildId: string }): Promise<void> {
  const bag = expectOptions<{ redis: unknown; buildId: unknown }>(options, 'options', ['redis', 'buildId']);
  const connection = connectRedis(expectRedisConnection(bag.redis));
  try {
    await new BuildState(connection, expectBuildId(bag.buildId)).cancel();
  } finally {
    await connection.quit().catch(() => {});
  }
}
