// Distributed builds: BullMQ jobs on a private redis-server, worker child
// processes, a directory store. Each fault is injected by a worker hook
// (test/fixtures/distributed-worker.mjs).
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexIVFPQ, IndexShards, buildSharded, mergeOnDisk } from 'faiss-native';
import {
  cancelBuild,
  collectGarbage,
  distributedBuild,
  downloadServingShard,
  fsStore,
  readManifest,
  relocateOnDiskIndex,
  type DistributedBuildProgress,
  type Manifest,
} from 'faiss-native/distributed';
import { hasSift10k, loadSift10k, sift10kDir } from '../tools/datasets.mjs';
import { randomVectors, sortedRows as rows } from './helpers';
import { redisServerMissing, scratchDir, startRedis, startWorker, writeFvecs, type RedisServer, type WorkerProcess } from './distributed-helpers';

const dir = scratchDir('faiss-native-distributed-');
const storeDir = path.join(dir, 'store');
const store = fsStore(storeDir);
let redis: RedisServer;
const workers: WorkerProcess[] = [];

function worker(fault?: string): WorkerProcess {
  const started = startWorker({ redisUrl: redis.url, storeDir, fault, lockMs: 1500 });
  workers.push(started);
  return started;
}

/** Stops every running worker and starts one with the fault: it alone takes the next jobs. */
async function onlyWorker(fault?: string): Promise<WorkerProcess> {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  const started = worker(fault);
  await started.ready;
  return started;
}

beforeAll(async () => {
  if (!redisServerMissing) redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await redis?.stop();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Downloads the serving shards of a manifest into a new directory and opens them memory-mapped. */
async function openServing(manifest: Manifest): Promise<IndexShards> {
  const into = scratchDir('faiss-native-served-');
  const shards = [];
  for (const serving of manifest.servingShards) {
    expect(serving.data).toBeDefined();
    shards.push(await IndexIVFPQ.read(await downloadServingShard(store, serving, into), { mmap: true }));
  }
  return new IndexShards(shards);
}

async function attemptKeys(buildId: string): Promise<string[]> {
  return store.list(`builds/${buildId}/attempts/`);
}

// Synthetic rows for the fault tests: small, so each build takes a second or two.
const dimension = 16;
const count = 6000;
const synthetic = randomVectors(count, dimension, 7);
const queries = randomVectors(20, dimension, 8);
writeFvecs(path.join(dir, 'synthetic.fvecs'), synthetic, dimension);

async function putSynthetic(): Promise<void> {
  await store.uploadFile('data/synthetic.fvecs', path.join(dir, 'synthetic.fvecs'));
}

function syntheticBuild(buildId: string, extra: Record<string, unknown> = {}) {
  return distributedBuild({
    redis: redis.url,
    store,
    buildId,
    source: { objects: [{ key: 'data/synthetic.fvecs', format: 'fvecs' }] },
    index: { ivfpq: { nlist: 16, m: 4, nbits: 6 } },
    trainSample: 3000,
    shards: 6,
    serveShards: 2,
    pollMs: 50,
    ...extra,
  });
}

describe.skipIf(!hasSift10k() || !!redisServerMissing)(`distributed build of SIFT10K (${sift10kDir}) ${redisServerMissing ?? ''}`, () => {
  it('gives exactly the results of buildSharded + mergeOnDisk from the same template, with a checked manifest', async () => {
    const sift = loadSift10k();
    const d = sift.base.dimension;
    const n = sift.base.count;
    await store.uploadFile('data/sift-base.fvecs', path.join(sift10kDir, 'base.fvecs'));
    const templatePath = path.join(dir, 'sift-template.index');
    const template = new IndexIVFPQ({ dimension: d, nlist: 64, m: 16 });
    template.trainSync(sift.base.data.subarray(0, 5000 * d));
    template.writeSync(templatePath);

    worker();
    worker();
    const progress: DistributedBuildProgress[] = [];
    const started = performance.now();
    const { manifest } = await distributedBuild({
      redis: redis.url,
      store,
      buildId: 'sift',
      source: { objects: [{ key: 'data/sift-base.fvecs', format: 'fvecs' }], idBase: 1000 },
      template: templatePath,
      shards: 5,
      serveShards: 2,
      pollMs: 50,
      onProgress: (p) => progress.push(p),
    });
    const seconds = (performance.now() - started) / 1000;

    // The reference: one process, the same template and ids.
    const ids = BigInt64Array.from({ length: n }, (_, i) => 1000n + BigInt(i));
    const local = await buildSharded([{ vectors: sift.base.data, ids }], { templatePath, shardDir: scratchDir('faiss-native-local-'), workers: 1 });
    const localDir = scratchDir('faiss-native-local-merged-');
    const merged = await mergeOnDisk(local.shardPaths, { indexPath: path.join(localDir, 'm.index'), dataPath: path.join(localDir, 'm.ivfdata') });
    const expected = merged.searchSync(sift.queries.data, 10, { nprobe: 8 });

    const served = await openServing(manifest);
    expect(rows(await served.search(sift.queries.data, 10, { nprobe: 8 }), 10)).toEqual(rows(expected, 10));

    expect(manifest).toMatchObject({
      formatVersion: 1,
      buildId: 'sift',
      index: { dimension: d, metric: 'l2', indexType: 'IndexIVFPQ', onDiskLists: true },
      totals: { ntotal: n, rows: n },
    });
    expect(manifest.template.sha256).toBe(sha256(readFileSync(templatePath)));
    expect(manifest.builtShards.map((s) => s.idRange)).toEqual([0, 1, 2, 3, 4].map((i) => [1000 + i * 2000, 1000 + (i + 1) * 2000]));
    expect(manifest.servingShards.map((s) => [s.builtShards, s.ntotal, s.idRange])).toEqual([
      [[0, 1], 4000, [1000, 5000]],
      [[2, 3, 4], 6000, [5000, 11000]],
    ]);
    for (const built of manifest.builtShards) expect(sha256((await store.get(built.key))!)).toBe(built.sha256);
    expect(await readManifest(store, 'sift')).toEqual(manifest);

    // Progress only grows and ends at 100 %.
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i].vectorsAdded).toBeGreaterThanOrEqual(progress[i - 1].vectorsAdded);
      expect(progress[i].shardsDone).toBeGreaterThanOrEqual(progress[i - 1].shardsDone);
    }
    expect(progress.at(-1)).toMatchObject({ phase: 'done', shardsDone: 5, shardsTotal: 5, vectorsAdded: n, etaSeconds: 0 });
    expect(progress.at(-1)!.bytesMoved).toBeGreaterThan(statBytes(manifest));
    console.log(`SIFT10K over 2 worker processes: ${seconds.toFixed(2)} s`);
  });
});

function statBytes(manifest: Manifest): number {
  return manifest.builtShards.reduce((sum, s) => sum + s.bytes, 0);
}

describe.skipIf(!!redisServerMissing)(`distributed build faults ${redisServerMissing ?? ''}`, () => {
  beforeAll(async () => {
    await putSynthetic();
    await onlyWorker();
  });

  it('trains once, and a re-run with the same buildId returns the same manifest without new jobs', async () => {
    const { manifest } = await syntheticBuild('trained');
    expect(manifest.totals.ntotal).toBe(count);
    expect((await attemptKeys('trained')).length).toBe(6);
    const again = await syntheticBuild('trained');
    expect(again.manifest).toEqual(manifest);
    expect((await attemptKeys('trained')).length).toBe(6);
    // Built from the trained template, the shards hold every row with its id.
    const whole = await IndexIVFPQ.read(await download(manifest.template.key));
    whole.addWithIdsSync(synthetic, BigInt64Array.from({ length: count }, (_, i) => BigInt(i)));
    const served = await openServing(manifest);
    expect(rows(await served.search(queries, 5, { nprobe: 4 }), 5)).toEqual(rows(whole.searchSync(queries, 5, { nprobe: 4 }), 5));
  });

  it('retries a shard job that throws once and commits one object', async () => {
    const faulty = await onlyWorker('throw-once:2');
    const { manifest } = await syntheticBuild('throws');
    await faulty.line('threw 2');
    expect(manifest.totals.ntotal).toBe(count);
    expect((await attemptKeys('throws')).length).toBe(6);
  });

  it('finishes a shard whose worker was killed mid-add (stalled job), and collects the dead upload', async () => {
    const doomed = await onlyWorker('hang-commit:1');
    const building = syntheticBuild('killed');
    const deadKey = (await doomed.line('hung ')).split(' ')[1];
    worker();
    doomed.child.kill('SIGKILL');
    expect(await doomed.exited).toBe('SIGKILL');
    const { manifest } = await building;
    expect(manifest.totals.ntotal).toBe(count);
    expect(manifest.builtShards.map((s) => s.key)).not.toContain(deadKey);
    expect(existsSync(path.join(storeDir, deadKey))).toBe(true);
    expect(await collectGarbage({ redis: redis.url, store, buildId: 'killed' })).toEqual([deadKey]);
    expect(existsSync(path.join(storeDir, deadKey))).toBe(false);
    expect((await attemptKeys('killed')).length).toBe(6);
  });

  it('a zombie attempt that finishes after another committed changes nothing', async () => {
    const zombie = await onlyWorker('zombie:3');
    const building = syntheticBuild('zombie');
    const zombieKey = (await zombie.line('zombie builds/')).split(' ')[1];
    worker();
    const { manifest } = await building;
    await zombie.line('zombie awake');
    expect(manifest.builtShards[3].key).not.toBe(zombieKey);
    // The zombie saw the commit and removed its own upload.
    await expect.poll(() => existsSync(path.join(storeDir, zombieKey)), { timeout: 10_000 }).toBe(false);
    expect(await readManifest(store, 'zombie')).toEqual(manifest);
    expect((await attemptKeys('zombie')).length).toBe(6);
  });

  it('survives the submitting client: a second call with the same buildId resumes and runs only uncommitted shards', async () => {
    await onlyWorker();
    const controller = new AbortController();
    const first = syntheticBuild('resumed', {
      signal: controller.signal,
      onProgress: (p: DistributedBuildProgress) => {
        if (p.shardsDone >= 2) controller.abort(new Error('client gone'));
      },
    });
    await expect(first).rejects.toThrow('client gone');
    const { manifest } = await syntheticBuild('resumed');
    expect(manifest.totals.ntotal).toBe(count);
    expect((await attemptKeys('resumed')).length).toBe(6);
  });

  it('refuses a corrupted shard object: a checksum error, never a smaller index', async () => {
    await onlyWorker('corrupt:4');
    await expect(syntheticBuild('corrupt')).rejects.toThrow(/is corrupt: sha256 [0-9a-f]{64}, committed [0-9a-f]{64}/);
    expect(await readManifest(store, 'corrupt')).toBeUndefined();
    await onlyWorker();
  });

  it('fails loudly when a committed shard object is missing', async () => {
    await distributedBuildCommitted('lost');
    await expect(syntheticBuild('lost')).rejects.toThrow(/object 'builds\/lost\/attempts\/gone\.index' of build 'lost' is missing/);
    expect(await readManifest(store, 'lost')).toBeUndefined();
  });

  it('completes when Redis (with an append-only file) restarts mid-build', async () => {
    const persistent = await startRedis({ appendOnly: true });
    const own = startWorker({ redisUrl: persistent.url, storeDir, lockMs: 1500 });
    try {
      await own.ready;
      let restarted: Promise<void> | undefined;
      const { manifest } = await distributedBuild({
        redis: persistent.url,
        store,
        buildId: 'redis-restart',
        source: { objects: [{ key: 'data/synthetic.fvecs', format: 'fvecs' }] },
        index: { ivfpq: { nlist: 16, m: 4, nbits: 6 } },
        trainSample: 3000,
        shards: 12,
        pollMs: 50,
        onProgress: (p) => {
          if (p.shardsDone >= 2 && !restarted) restarted = persistent.restart({ kill: true });
        },
      });
      await restarted;
      expect(restarted).toBeDefined();
      expect(manifest.totals.ntotal).toBe(count);
      expect(manifest.builtShards).toHaveLength(12);
    } finally {
      await own.stop();
      await persistent.stop();
    }
  });

  it('cancelBuild stops a build', async () => {
    const building = syntheticBuild('cancelled', { shards: 30 });
    await cancelBuild({ redis: redis.url, buildId: 'cancelled' });
    await expect(building).rejects.toThrow("build 'cancelled' was cancelled");
  });

  it('validates its options with the field named', async () => {
    await expect(distributedBuild({ redis: redis.url, store, buildId: 'a/b' } as never)).rejects.toThrow(/for buildId but received "a\/b"/);
    await expect(syntheticBuild('both', { template: 'x.index' })).rejects.toThrow(TypeError);
    await expect(
      distributedBuild({ redis: redis.url, store, buildId: 'nosource', index: { factory: 'IVF4,Flat' }, source: { objects: [{ key: 'nope', format: 'fvecs' }] } }),
    ).rejects.toThrow("Expected an object in file://");
  });
});

describe('relocateOnDiskIndex', () => {
  it('opens a merged index and its data file copied to another directory, with the same results', async () => {
    const from = scratchDir('faiss-native-relocate-from-');
    const template = new IndexIVFPQ({ dimension, nlist: 16, m: 4, nbits: 6 });
    template.trainSync(synthetic.subarray(0, 3000 * dimension));
    template.addWithIdsSync(synthetic, BigInt64Array.from({ length: count }, (_, i) => BigInt(i)));
    template.writeSync(path.join(from, 'shard.index'));
    const merged = await mergeOnDisk([path.join(from, 'shard.index')], { indexPath: path.join(from, 'a.index'), dataPath: path.join(from, 'a.ivfdata') });
    const expected = merged.searchSync(queries, 5, { nprobe: 4 });
    const to = scratchDir('faiss-native-relocate-to-');
    copyFileSync(path.join(from, 'a.index'), path.join(to, 'a.index'));
    copyFileSync(path.join(from, 'a.ivfdata'), path.join(to, 'b.ivfdata'));
    await relocateOnDiskIndex(path.join(to, 'a.index'), path.join(to, 'b.ivfdata'));
    rmSync(from, { recursive: true });
    const moved = await IndexIVFPQ.read(path.join(to, 'a.index'), { mmap: true });
    expect(rows(moved.searchSync(queries, 5, { nprobe: 4 }), 5)).toEqual(rows(expected, 5));
    const plain = path.join(to, 'plain.index');
    template.writeSync(plain);
    await expect(relocateOnDiskIndex(plain, path.join(to, 'b.ivfdata'))).rejects.toThrow(/cannot relocate '.*plain\.index': it has no on-disk inverted lists at its end/);
    await expect(relocateOnDiskIndex(plain, '/elsewhere/b.ivfdata')).rejects.toThrow(RangeError);
  });
});

/** A commit for shard 0 whose object does not exist, as if it had been lost from the store. */
async function distributedBuildCommitted(buildId: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(redis.url);
  await client.hset(
    `faiss-native:{${buildId}}:commits`,
    '0',
    JSON.stringify({ key: `builds/${buildId}/attempts/gone.index`, sha256: '0'.repeat(64), bytes: 10, shard: 0, ntotal: 1000, idRange: [0, 1000] }),
  );
  await client.quit();
}

async function download(key: string): Promise<string> {
  const file = path.join(scratchDir('faiss-native-get-'), path.basename(key));
  await store.downloadFile(key, file);
  return file;
}

