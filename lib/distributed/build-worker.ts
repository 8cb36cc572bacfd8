import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { FaissError } from '../errors';
import { Index } from '../faiss-index';
import { faissInfo } from '../faiss-info';
import { mergeOnDisk } from '../on-disk';
import { expectInteger, expectOptions, fail } from '../validate';
import { BuildState, shardRange, type BuildSpec, type TemplateRecord } from './build-state';
import { sha256File } from './hash';
import { emptyIndex, mergesOnDisk, openForAdding } from './index-spec';
import { QUEUE_NAME, jobIds, storeKeys } from './layout';
import { MANIFEST_FORMAT_VERSION, readManifest, type BuiltShard, type Manifest, type ServingShard, type StoredObject } from './manifest';
import type { ObjectStore } from './object-store';
import { requireOptional } from './optional';
import { connectRedis, expectRedisConnection, type RedisConnection } from './redis';
import { readRows } from './vector-source';

type BullMQ = typeof import('bullmq');

/** Called at points of a shard job, for fault-injection tests. */
export interface BuildWorkerHooks {
  /** After each batch is added to a shard, before the shard is written. */
  afterBatch?: (event: { buildId: string; shard: number; attempt: number; vectorsAdded: number }) => void | Promise<void>;
  /** After a shard's attempt is uploaded, before it is committed. */
  beforeCommit?: (event: { buildId: string; shard: number; attempt: number; key: string }) => void | Promise<void>;
  /** After a shard's commit was decided, whichever attempt won. */
  afterCommit?: (event: { buildId: string; shard: number; attempt: number; commit: BuiltShard; won: boolean }) => void | Promise<void>;
}

export interface BuildWorkerOptions {
  redis: RedisConnection;
  store: ObjectStore;
  /** Jobs run at once in this process. Default 1. */
  concurrency?: number;
  /** OpenMP threads per job. Default: cores / concurrency. */
  threads?: number;
  /** Rows read and added per batch. Default 65,536. */
  batchRows?: number;
  /** Where templates are cached and shards written before upload. Default: a new directory in the OS temp dir. */
  cacheDir?: string;
  /** How long a job's lock lasts without renewal: a worker that dies loses its job to another after about this long. Default 30,000 ms. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for. Default: lockDurationMs. */
  stalledIntervalMs?: number;
  hooks?: BuildWorkerHooks;
}

export interface BuildWorker {
  /** Waits for the jobs in progress, then disconnects. */
  close(): Promise<void>;
}

const KEYS = ['redis', 'store', 'concurrency', 'threads', 'batchRows', 'cacheDir', 'lockDurationMs', 'stalledIntervalMs', 'hooks'] as const;

interface ShardJobData {
  buildId: string;
  shard: number;
}

class JobContext {
  readonly state: BuildState;
  #spec: BuildSpec | undefined;

  constructor(
    redis: Redis,
    readonly store: ObjectStore,
    readonly job: Job,
    readonly workDir: string,
  ) {
    this.state = new BuildState(redis, (job.data as { buildId: string }).buildId);
  }

  get buildId(): string {
    return this.state.buildId;
  }

  async spec(): Promise<BuildSpec> {
    this.#spec ??= await this.state.spec();
    return this.#spec;
  }

  /** Uploads a file and says what was stored. */
  async upload(key: string, filePath: string): Promise<StoredObject> {
    const [sha256, { size }] = await Promise.all([sha256File(filePath), stat(filePath)]);
    await this.store.uploadFile(key, filePath);
    await this.state.countBytes(size);
    return { key, sha256, bytes: size };
  }

  /** Downloads an object and refuses it unless its bytes hash to the recorded sha256. */
  async download(object: StoredObject, filePath: string): Promise<void> {
    if (!(await this.store.head(object.key))) {
      throw new FaissError(`object '${object.key}' of build '${this.buildId}' is missing from ${this.store.url}`, 'ERR_FAISS_MISSING_OBJECT');
    }
    await this.store.downloadFile(object.key, filePath);
    await this.state.countBytes(object.bytes);
    const sha256 = await sha256File(filePath);
    if (sha256 !== object.sha256) {
      await rm(filePath, { force: true });
      throw new FaissError(
        `object '${object.key}' of build '${this.buildId}' is corrupt: sha256 ${sha256}, committed ${object.sha256}`,
        'ERR_FAISS_CHECKSUM',
      );
    }
  }
}

/**
 * Runs build jobs (train, shard, merge) from the queue until closed. Start one
 * per machine or per process; every worker of a build must see the same store.
 */
export async function runBuildWorker(options: BuildWorkerOptions): Promise<BuildWorker> {
  const bag = expectOptions<BuildWorkerOptions>(options, 'options', KEYS);
  const redis = expectRedisConnection(bag.redis);
  const store = bag.store;
  if (typeof store?.uploadFile !== 'function') fail('type', 'an ObjectStore (fsStore or s3Store)', 'store', store);
  const concurrency = bag.concurrency === undefined ? 1 : expectInteger(bag.concurrency, 'concurrency', 1, 1024);
  const threads =
    bag.threads === undefined ? Math.max(1, Math.floor(os.availableParallelism() / concurrency)) : expectInteger(bag.threads, 'threads', 1, 1024);
  const batchRows = bag.batchRows === undefined ? 65_536 : expectInteger(bag.batchRows, 'batchRows', 1, 2 ** 24);
  const lockDuration = bag.lockDurationMs === undefined ? 30_000 : expectInteger(bag.lockDurationMs, 'lockDurationMs', 100, 2 ** 31);
  const stalledInterval = bag.stalledIntervalMs === undefined ? lockDuration : expectInteger(bag.stalledIntervalMs, 'stalledIntervalMs', 100, 2 ** 31);
  const hooks = bag.hooks ?? {};
  const cacheDir = bag.cacheDir ?? (await mkdtemp(path.join(os.tmpdir(), 'faiss-native-worker-')));
  await mkdir(cacheDir, { recursive: true });

  const { Worker, FlowProducer, UnrecoverableError } = requireOptional<BullMQ>('bullmq');
  const connection = connectRedis(redis);
  const flows = new FlowProducer({ connection });
  // One download of a build's template per process, shared by its jobs.
  const templates = new Map<string, Promise<string>>();

  function cachedTemplate(context: JobContext, record: TemplateRecord): Promise<string> {
    const file = path.join(cacheDir, `${context.buildId}-${record.sha256}.index`);
    let pending = templates.get(file);
    if (!pending) {
      pending = context.download(record, file).then(() => file);
      pending.catch(() => templates.delete(file));
      templates.set(file, pending);
    }
    return pending;
  }

  async function train(context: JobContext): Promise<TemplateRecord> {
    const spec = await context.spec();
    let template = await context.state.template();
    if (!template) {
      if (!spec.index) throw new FaissError(`build '${context.buildId}' has neither a template nor an index to train`);
      const { source } = spec;
      // The sample is taken in 16 runs spread over the source: one run would see only its start.
      const runs = Math.min(16, spec.trainSample);
      const parts: Float32Array[] = [];
      for (let run = 0; run < runs; run++) {
        const count = Math.floor(spec.trainSample / runs) + (run < spec.trainSample % runs ? 1 : 0);
        const start = Math.floor((source.rows * run) / runs);
        parts.push(await readRows(context.store, source, start, Math.min(source.rows, start + count), (bytes) => void context.state.countBytes(bytes)));
      }
      const sample = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
      parts.reduce((at, part) => (sample.set(part, at), at + part.length), 0);
      const index = emptyIndex(spec.index, source.dimension);
      await index.train(sample, { threads });
      const file = path.join(context.workDir, 'template.index');
      await index.write(file);
      index.dispose();
      const stored = await context.upload(storeKeys.template(context.buildId, randomUUID()), file);
      template = await context.state.claimTemplate({ ...stored, ...(await describeTemplate(file)) });
    }
    await context.state.throwIfCancelled();
    // Deterministic job ids: a retried train job adds no second flow.
    await flows.add({
      name: 'merge',
      queueName: QUEUE_NAME,
      data: { buildId: context.buildId },
      opts: { jobId: jobIds.merge(context.buildId), attempts: spec.attempts, backoff: { type: 'exponential', delay: 1000 } },
      children: Array.from({ length: spec.shards }, (_, shard) => ({
        name: 'shard',
        queueName: QUEUE_NAME,
        data: { buildId: context.buildId, shard } satisfies ShardJobData,
        opts: {
          jobId: jobIds.shard(context.buildId, shard),
          attempts: spec.attempts,
          backoff: { type: 'exponential', delay: 1000 },
          failParentOnFailure: true,
        },
      })),
    });
    return template;
  }

  async function buildShard(context: JobContext): Promise<BuiltShard> {
    const { shard } = context.job.data as ShardJobData;
    const done = await context.state.commit(shard);
    if (done) return done;
    const spec = await context.spec();
    const template = await context.state.template();
    if (!template) throw new FaissError(`build '${context.buildId}' has no template`);
    const index = await openForAdding(await cachedTemplate(context, template), template.onDiskLists);
    const attempt = context.job.attemptsMade + 1;
    const [start, end] = shardRange(spec, shard);
    // The next batch is read while the current one is added (the add runs off
    // the event loop), into the other of two buffers: fresh 26 MB buffers per
    // batch cost more in page faults than the read itself.
    const buffers = [0, 1].map(() => new Float32Array(Math.min(batchRows, end - start) * spec.source.dimension));
    let batchNumber = 0;
    const readBatch = async (from: number) => {
      const to = Math.min(end, from + batchRows);
      const into = buffers[batchNumber++ % 2];
      const vectors = await readRows(context.store, spec.source, from, to, (bytes) => void context.state.countBytes(bytes), into);
      const ids = new BigInt64Array(to - from);
      for (let i = 0; i < ids.length; i++) ids[i] = BigInt(spec.source.idBase + from + i);
      return { to, vectors, ids };
    };
    // Marked handled at once: a read that fails during an add is thrown where it is awaited.
    const readAhead = (from: number) => {
      const batch = readBatch(from);
      batch.catch(() => {});
      return batch;
    };
    let next = start < end ? readAhead(start) : undefined;
    try {
      while (next) {
        await context.state.throwIfCancelled();
        const { to, vectors, ids } = await next;
        next = to < end ? readAhead(to) : undefined;
        await index.addWithIds(vectors, ids, { threads });
        await context.state.reportAdded(shard, to - start);
        await context.job.updateProgress(Math.round((100 * (to - start)) / (end - start)));
        await hooks.afterBatch?.({ buildId: context.buildId, shard, attempt, vectorsAdded: to - start });
      }
      const file = path.join(context.workDir, 'shard.index');
      await index.write(file);
      // Each attempt uploads under its own key: a late attempt never overwrites the committed object.
      const stored = await context.upload(storeKeys.attempt(context.buildId, shard, `${attempt}-${randomUUID()}`), file);
      await hooks.beforeCommit?.({ buildId: context.buildId, shard, attempt, key: stored.key });
      const { commit, won } = await context.state.claimCommit({
        ...stored,
        shard,
        ntotal: index.ntotal,
        idRange: [spec.source.idBase + start, spec.source.idBase + end],
      });
      if (!won) await context.store.delete(stored.key);
      await hooks.afterCommit?.({ buildId: context.buildId, shard, attempt, commit, won });
      return commit;
    } finally {
      index.dispose();
    }
  }

  async function merge(context: JobContext): Promise<Manifest> {
    const published = await readManifest(context.store, context.buildId);
    if (published) return published;
    await context.state.throwIfCancelled();
    const spec = await context.spec();
    const template = (await context.state.template())!;
    const commits = await context.state.commits();
    const missing = Array.from({ length: spec.shards }, (_, shard) => shard).filter((shard) => !commits.has(shard));
    const extra = [...commits.keys()].filter((shard) => !Number.isInteger(shard) || shard < 0 || shard >= spec.shards);
    if (missing.length > 0 || extra.length > 0) {
      throw new UnrecoverableError(
        `build '${context.buildId}' cannot be merged: ${missing.length ? `shards ${missing.join(', ')} are not committed` : ''}` +
          `${missing.length && extra.length ? '; ' : ''}${extra.length ? `shards ${extra.join(', ')} are not part of it` : ''}`,
      );
    }
    const builtShards = [...commits.values()].sort((a, b) => a.shard - b.shard);
    for (const built of builtShards) {
      const [start, end] = shardRange(spec, built.shard);
      if (built.ntotal !== end - start) {
        throw new UnrecoverableError(`shard ${built.shard} of build '${context.buildId}' holds ${built.ntotal} vectors, not ${end - start}`);
      }
    }
    const servingShards: ServingShard[] = [];
    for (let serving = 0; serving < spec.serveShards; serving++) {
      const group = builtShards.slice(
        Math.floor((spec.shards * serving) / spec.serveShards),
        Math.floor((spec.shards * (serving + 1)) / spec.serveShards),
      );
      const files: string[] = [];
      for (const built of group) {
        const file = path.join(context.workDir, `built-${built.shard}.index`);
        try {
          await context.download(built, file);
        } catch (error) {
          // A corrupt or lost object stays so: retrying cannot help.
          const { code } = error as FaissError;
          if (code === 'ERR_FAISS_CHECKSUM' || code === 'ERR_FAISS_MISSING_OBJECT') throw new UnrecoverableError((error as Error).message);
          throw error;
        }
        files.push(file);
      }
      servingShards.push(await mergeGroup(context, template, serving, group, files));
      await Promise.all(files.map((file) => rm(file, { force: true })));
    }
    const version = require('../../package.json') as { version: string };
    const manifest: Manifest = {
      formatVersion: MANIFEST_FORMAT_VERSION,
      buildId: context.buildId,
      createdAt: new Date().toISOString(),
      faissNativeVersion: version.version,
      faissVersion: faissInfo().version,
      index: {
        description: template.description,
        indexType: template.indexType,
        dimension: spec.source.dimension,
        metric: template.metric,
        onDiskLists: template.onDiskLists,
      },
      template: { key: template.key, sha256: template.sha256, bytes: template.bytes },
      builtShards,
      servingShards,
      totals: {
        ntotal: builtShards.reduce((sum, built) => sum + built.ntotal, 0),
        servingBytes: servingShards.reduce((sum, s) => sum + s.index.bytes + (s.data?.bytes ?? 0), 0),
        rows: spec.source.rows,
      },
    };
    // Another merge attempt may have published meanwhile: the first manifest stands.
    const again = await readManifest(context.store, context.buildId);
    if (again) return again;
    await context.store.put(storeKeys.manifest(context.buildId), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    return manifest;
  }

  async function mergeGroup(context: JobContext, template: TemplateRecord, serving: number, group: BuiltShard[], files: string[]): Promise<ServingShard> {
    const indexFile = path.join(context.workDir, 'serving.index');
    const dataFile = path.join(context.workDir, 'serving.ivfdata');
    let ntotal: number;
    if (template.onDiskLists) {
      const merged = await mergeOnDisk(files, { indexPath: indexFile, dataPath: dataFile });
      ntotal = merged.ntotal;
      merged.dispose();
    } else {
      const merged = await Index.read(files[0]);
      for (const file of files.slice(1)) {
        const other = await Index.read(file);
        await merged.mergeFrom(other);
        other.dispose();
      }
      await merged.write(indexFile);
      ntotal = merged.ntotal;
      merged.dispose();
    }
    const expected = group.reduce((sum, built) => sum + built.ntotal, 0);
    if (ntotal !== expected) throw new FaissError(`serving shard ${serving} of build '${context.buildId}' holds ${ntotal} vectors, not ${expected}`);
    const index = await context.upload(storeKeys.servingIndex(context.buildId, serving), indexFile);
    const data = template.onDiskLists ? await context.upload(storeKeys.servingData(context.buildId, serving), dataFile) : undefined;
    await Promise.all([rm(indexFile, { force: true }), rm(dataFile, { force: true })]);
    return {
      shard: serving,
      index,
      ...(data ? { data } : {}),
      ntotal,
      idRange: [group[0].idRange[0], group[group.length - 1].idRange[1]],
      builtShards: group.map((built) => built.shard),
    };
  }

  const stateConnection = connectRedis(redis);
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job) => {
      const workDir = await mkdtemp(path.join(cacheDir, 'job-'));
      const context = new JobContext(stateConnection, store, job, workDir);
      try {
        if (await context.state.cancelled()) throw new UnrecoverableError(`build '${context.buildId}' was cancelled`);
        if (job.name === 'train') return await train(context);
        if (job.name === 'shard') return await buildShard(context);
        if (job.name === 'merge') return await merge(context);
        throw new UnrecoverableError(`unknown job '${job.name}'`);
      } catch (error) {
        if ((error as FaissError).code === 'ERR_FAISS_BUILD_CANCELLED') throw new UnrecoverableError((error as Error).message);
        throw error;
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    },
    { connection, concurrency, lockDuration, stalledInterval, maxStalledCount: 1 },
  );
  // Job failures are reported through the job; a worker-level error (e.g. Redis gone) is retried by BullMQ.
  worker.on('error', () => {});
  await worker.waitUntilReady();

  return {
    async close() {
      await worker.close();
      await flows.close();
      await Promise.all([stateConnection.quit(), connection.quit()].map((p) => p.catch(() => {})));
      if (!bag.cacheDir) await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

/** What the manifest says about the index, and how its shards are merged. */
export async function describeTemplate(file: string): Promise<Omit<TemplateRecord, keyof StoredObject>> {
  const index = await Index.read(file);
  const description = { description: index.description, indexType: index.indexType, metric: index.metric };
  index.dispose();
  return { ...description, onDiskLists: await mergesOnDisk(file) };
}
