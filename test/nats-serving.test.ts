// Serving over NATS: search nodes are `faiss-native serve` child processes
// against a private nats-server; results are checked against IndexShards over
// the same shard files.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaissError, Index, IndexIVFPQ, IndexShards, mergeOnDisk, type IdFilter, type SearchResult } from 'faiss-native';
import { RemoteIndex, fsStore, publishIndex, readManifest, rollbackIndex, writeManifest, type Manifest } from 'faiss-native/distributed';
import { randomVectors } from './helpers';
import { scratchDir } from './distributed-helpers';
import { natsServerMissing, startNats, startNode, waitFor, type NatsServer, type NodeProcess } from './nats-helpers';

const dimension = 16;
const perShard = 1000;
const shardCount = 3;
const queries = randomVectors(200, dimension, 11);
const k = 10;
const nprobe = 4;
const dir = scratchDir('faiss-native-serving-');
const storeDir = path.join(dir, 'store');
const store = fsStore(storeDir);

interface Version {
  manifest: Manifest;
  local: IndexShards;
  idBase: number;
  files: string[];
}

/** A version of 3 IVF-PQ shards from one template, ids idBase + row: v1 and v2 have disjoint ids. */
async function buildVersion(buildId: string, idBase: number, seed: number): Promise<Version> {
  const template = new IndexIVFPQ({ dimension, nlist: 8, m: 4, nbits: 6 });
  template.trainSync(randomVectors(2000, dimension, seed));
  const templatePath = path.join(dir, `${buildId}-template.index`);
  template.writeSync(templatePath);
  const files: string[] = [];
  for (let shard = 0; shard < shardCount; shard++) {
    const index = IndexIVFPQ.readSync(templatePath);
    const ids = BigInt64Array.from({ length: perShard }, (_, i) => BigInt(idBase + shard * perShard + i));
    index.addWithIdsSync(randomVectors(perShard, dimension, seed * 10 + shard), ids);
    files.push(path.join(dir, `${buildId}-shard-${shard}.index`));
    index.writeSync(files[shard]);
    index.dispose();
  }
  const manifest = await writeManifest({ store, buildId, shards: files });
  const local = new IndexShards(await Promise.all(files.map((file) => IndexIVFPQ.read(file, { mmap: true }))));
  return { manifest, local, idBase, files };
}

function expectSame(remote: SearchResult, local: SearchResult): void {
  expect(remote.labels).toEqual(local.labels);
  expect(remote.distances).toEqual(local.distances);
}

describe.skipIf(!!natsServerMissing)(`search over NATS ${natsServerMissing ?? ''}`, () => {
  let nats: NatsServer;
  let v1: Version;
  let v2: Version;
  const nodes: NodeProcess[] = [];
  const remotes: RemoteIndex[] = [];

  function node(alias: string, shards?: number[]): NodeProcess {
    const started = startNode({ nats: nats.url, store: storeDir, alias, shards });
    nodes.push(started);
    return started;
  }
  async function remote(alias: string): Promise<RemoteIndex> {
    const connected = await RemoteIndex.connect({ nats: nats.url, alias, timeoutMs: 3000 });
    remotes.push(connected);
    return connected;
  }

  beforeAll(async () => {
    // A small max_payload: 200 queries go as several requests per shard (34 rows each at k = 10).
    nats = await startNats({ maxPayload: 4096 });
    [v1, v2] = [await buildVersion('v1', 0, 1), await buildVersion('v2', 1_000_000, 2)];
  });
  afterEach(async () => {
    await Promise.all(remotes.splice(0).map((r) => r.close()));
    // Every node stopped with SIGTERM drains and exits 0, whatever it was doing (killed ones aside).
    const exits = await Promise.all(nodes.splice(0).map((n) => n.stop()));
    expect(exits.filter((exit) => exit !== '0' && exit !== 'SIGKILL')).toEqual([]);
  });
  afterAll(async () => nats?.stop());

  it('refuses what it cannot serve: an unpublished alias, a stale publish, bad options, a manifest written twice', async () => {
    await expect(RemoteIndex.connect({ nats: nats.url, alias: 'unpublished' })).rejects.toMatchObject({
      code: 'ERR_FAISS_NO_ALIAS',
      message: "alias 'unpublished' names no published index (publishIndex first)",
    });
    // No node serves it: publishing gives up and leaves the alias as it was.
    await expect(publishIndex({ nats: nats.url, alias: 'unserved', manifest: v1.manifest, timeoutMs: 300 })).rejects.toMatchObject({
      code: 'ERR_FAISS_PUBLISH',
      message: "build 'v1' is not served after 300 ms (shard 0: 0, shard 1: 0, shard 2: 0 of 1 replicas answering); alias 'unserved' left as it was",
    });
    await expect(RemoteIndex.connect({ nats: nats.url, alias: 'unserved' })).rejects.toMatchObject({ code: 'ERR_FAISS_NO_ALIAS' });
    await expect(RemoteIndex.connect({ nats: nats.url, alias: 'a.b' })).rejects.toThrow(TypeError);
    const oldServer = { info: { version: '2.8.4' }, request: () => undefined };
    await expect(RemoteIndex.connect({ nats: oldServer as never, alias: 'docs' })).rejects.toMatchObject({
      code: 'ERR_FAISS_NATS_SERVER',
      message: 'nats-server 2.8.4 is too old: faiss-native serving needs 2.9.0 or later',
    });
    await expect(writeManifest({ store, buildId: 'v1', shards: [path.join(dir, 'v1-shard-0.index')] })).rejects.toMatchObject({ code: 'ERR_FAISS_MANIFEST' });

    // A node that cannot load a version fails the publish with its reason; the alias stays unset.
    const corrupt = await writeManifest({ store, buildId: 'corrupt', shards: v1.manifest.servingShards.map((_, i) => path.join(dir, `v1-shard-${i}.index`)) });
    const damaged = path.join(storeDir, corrupt.servingShards[1].index.key);
    const bytes = readFileSync(damaged);
    bytes[bytes.length - 9] ^= 1;
    writeFileSync(damaged, bytes);
    const loader = node('corrupt');
    await expect(publishIndex({ nats: nats.url, alias: 'corrupt', manifest: corrupt, timeoutMs: 20_000 })).rejects.toThrow(
      new RegExp(`^search node \\S+ failed to load build 'corrupt': object 'builds/corrupt/serving/shard-000001.index' is corrupt: sha256 [0-9a-f]{64}, manifest says ${corrupt.servingShards[1].index.sha256}$`),
    );
    await expect(RemoteIndex.connect({ nats: nats.url, alias: 'corrupt' })).rejects.toMatchObject({ code: 'ERR_FAISS_NO_ALIAS' });
    await loader.stop();

    const served = node('options', [0, 1, 2]);
    await publishIndex({ nats: nats.url, alias: 'options', manifest: v1.manifest, timeoutMs: 20_000 });
    await served.ready;
    const index = await remote('options');
    await expect(index.search(queries, k, { nProbe: 4 } as never)).rejects.toThrow("Unknown option 'nProbe' for options; did you mean 'nprobe'?");
    await expect(index.search(queries.subarray(0, 10), k)).rejects.toThrow(RangeError);
    // What a node refuses comes back as the node's error: IVF-PQ shards take no efSearch.
    await expect(index.search(queries, k, { efSearch: 16 })).rejects.toThrow('IndexIVFPQ does not take efSearch');
    await expect(index.search(queries, k, { filter: { range: [5, 1] } })).rejects.toThrow(RangeError);
  });

  it('scatter-gather over 2 nodes holding different shards returns exactly what IndexShards does; status shows the shards', async () => {
    const [a, b] = [node('scatter', [0, 1]), node('scatter', [2])];
    await publishIndex({ nats: nats.url, alias: 'scatter', manifest: v1.manifest, timeoutMs: 20_000 });
    await Promise.all([a.ready, b.ready]);
    const index = await remote('scatter');
    expect([index.dimension, index.metric, index.ntotal, index.version.buildId]).toEqual([dimension, 'l2', 3000, 'v1']);
    const result = await index.search(queries, k, { nprobe });
    expectSame(result, await v1.local.search(queries, k, { nprobe }));
    expect(result.coverage).toBe(1);
    expect(result.buildId).toBe('v1');
    // One query, and concurrent ones (coalesced on the nodes), alike.
    const one = queries.subarray(0, dimension);
    expectSame(await index.search(one, k, { nprobe }), await v1.local.search(one, k, { nprobe }));
    const parallel = await Promise.all([0, 1, 2, 3].map((i) => index.search(queries.subarray(i * dimension, (i + 5) * dimension), 5, { nprobe: 8 })));
    for (const [i, got] of parallel.entries()) expectSame(got, await v1.local.search(queries.subarray(i * dimension, (i + 5) * dimension), 5, { nprobe: 8 }));

    // Filters travel with the queries and each shard applies them: as IndexShards over the same files.
    const filtering = new IndexShards(await Promise.all(v1.files.map((file) => Index.read(file, { mmap: true }))));
    const picked = BigInt64Array.from({ length: 300 }, (_, i) => BigInt(v1.idBase + i * 10));
    const filters: IdFilter[] = [{ ids: picked }, { exclude: picked }, { range: [v1.idBase + 500, v1.idBase + 2500] }];
    const unfiltered = await v1.local.search(queries, k, { nprobe });
    for (const filter of filters) {
      const got = await index.search(queries, k, { nprobe, filter });
      expectSame(got, await filtering.search(queries, k, { nprobe, filter }));
      expect(got.labels).not.toEqual(unfiltered.labels);
      if ('ids' in filter) for (const label of got.labels) expect(label === -1n || picked.includes(label)).toBe(true);
    }
    for (const shard of filtering.shards) shard.dispose();

    const status = await index.status();
    expect(status.map((s) => s.configured).sort()).toEqual([[0, 1], [2]]);
    const served = status.flatMap((s) => s.versions.filter((v) => v.buildId === 'v1').flatMap((v) => v.shards));
    expect(served.map((s) => s.shard).sort()).toEqual([0, 1, 2]);
    for (const s of served) {
      expect(s.ntotal).toBe(perShard);
      expect(s.queries).toBeGreaterThanOrEqual(8); // 200 rows in 6 requests, then 1 and 4 more
      expect(s.errors).toBe(0);
      expect(s.latencyMs.p99).toBeGreaterThan(0);
    }
  });

  it('serves on-disk shards as distributedBuild publishes them (index + data file), exactly as IndexShards over them', async () => {
    // Two serving shards merged on disk from v1's three, uploaded with a manifest written as the merge job writes it.
    const servingShards = [];
    const local = [];
    for (const [serving, group] of [[0, [0, 1]], [1, [2]]] as const) {
      const indexPath = path.join(dir, `ondisk-${serving}.index`);
      const dataPath = path.join(dir, `ondisk-${serving}.ivfdata`);
      (await mergeOnDisk(group.map((i) => path.join(dir, `v1-shard-${i}.index`)), { indexPath, dataPath })).dispose();
      const upload = async (file: string, key: string) => {
        await store.uploadFile(key, file);
        return { key, sha256: createHash('sha256').update(readFileSync(file)).digest('hex'), bytes: readFileSync(file).length };
      };
      local.push(await IndexIVFPQ.read(indexPath, { mmap: true }));
      servingShards.push({
        shard: serving,
        index: await upload(indexPath, `builds/ondisk/serving/shard-00000${serving}.index`),
        data: await upload(dataPath, `builds/ondisk/serving/shard-00000${serving}.ivfdata`),
        ntotal: group.length * perShard,
        idRange: [group[0] * perShard, (group.at(-1)! + 1) * perShard],
        builtShards: [...group],
      });
    }
    const manifest = { ...v1.manifest, buildId: 'ondisk', index: { ...v1.manifest.index, onDiskLists: true }, servingShards } as Manifest;
    await store.put('builds/ondisk/manifest.json', Buffer.from(JSON.stringify(manifest)));
    const [a, b] = [node('ondisk', [0]), node('ondisk', [1])];
    await publishIndex({ nats: nats.url, alias: 'ondisk', manifest: (await readManifest(store, 'ondisk'))!, timeoutMs: 20_000 });
    await Promise.all([a.ready, b.ready]);
    const index = await remote('ondisk');
    const result = await index.search(queries, k, { nprobe });
    expectSame(result, await new IndexShards(local).search(queries, k, { nprobe }));
    // The same vectors as v1's three single-file shards: the same neighbours.
    expect(result.labels).toEqual((await v1.local.search(queries, k, { nprobe })).labels);
  });

  it('an unserved shard fails the search by default and lowers coverage with partial: allow', async () => {
    const [a, b] = [node('partial', [0, 1]), node('partial', [2])];
    await publishIndex({ nats: nats.url, alias: 'partial', manifest: v1.manifest, timeoutMs: 20_000 });
    await Promise.all([a.ready, b.ready]);
    const index = await remote('partial');
    await b.stop();
    const failed = await index.search(queries, k, { nprobe }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(FaissError);
    expect(failed).toMatchObject({ code: 'ERR_FAISS_SHARDS_UNAVAILABLE' });
    expect((failed as Error).message).toBe("RemoteIndex 'partial' (build 'v1'): 1 of 3 shards did not answer: shard 2 (no search node serves it)");
    const partial = await index.search(queries, k, { nprobe, partial: 'allow' });
    expect(partial.coverage).toBeCloseTo(2 / 3, 10);
    expectSame(partial, await new IndexShards(v1.local.shards.slice(0, 2)).search(queries, k, { nprobe }));
  });

  it('killing one of two replicas of a shard under a query loop fails no query', async () => {
    const nodesOf = [node('replicas', [0, 1]), node('replicas', [2]), node('replicas', [2])];
    await publishIndex({ nats: nats.url, alias: 'replicas', manifest: v1.manifest, timeoutMs: 20_000 });
    await Promise.all(nodesOf.map((n) => n.ready));
    const index = await remote('replicas');
    const expected = await v1.local.search(queries, k, { nprobe });
    let done = 0;
    let failures = 0;
    let wrong = 0;
    const stopAt = Date.now() + 2500;
    const loop = async (worker: number) => {
      for (let i = worker; Date.now() < stopAt; i += 4) {
        const row = i % 200;
        try {
          const got = await index.search(queries.subarray(row * dimension, (row + 1) * dimension), k, { nprobe, timeoutMs: 2000 });
          if (got.labels.join() !== expected.labels.subarray(row * k, (row + 1) * k).join()) wrong++;
          done++;
        } catch {
          failures++;
        }
      }
    };
    const loops = [0, 1, 2, 3].map(loop);
    await waitFor(() => done >= 50, '50 answered queries');
    const before = (await index.status()).filter((s) => s.configured.toString() === '2');
    expect(before.every((s) => s.versions[0].shards[0].queries > 0)).toBe(true); // the queue group used both
    await nodesOf[1].stop('SIGKILL');
    const killedAt = done;
    await Promise.all(loops);
    expect(failures).toBe(0);
    expect(wrong).toBe(0);
    expect(done - killedAt).toBeGreaterThan(50);
  });

  it('publish v2 and roll back under a query loop: no errors, every answer from one version', async () => {
    const serving = [node('swap', [0, 1]), node('swap', [2])];
    await publishIndex({ nats: nats.url, alias: 'swap', manifest: v1.manifest, timeoutMs: 20_000 });
    await Promise.all(serving.map((n) => n.ready));
    const index = await remote('swap');
    await expect(rollbackIndex({ nats: nats.url, alias: 'nothing-published' })).rejects.toMatchObject({ code: 'ERR_FAISS_NO_PREVIOUS' });
    const expected = { v1: await v1.local.search(queries, k, { nprobe }), v2: await v2.local.search(queries, k, { nprobe }) };
    const seen: Record<string, number> = { v1: 0, v2: 0 };
    let failures = 0;
    let mixed = 0;
    let running = true;
    const loop = async (worker: number) => {
      for (let i = worker; running; i += 4) {
        const row = i % 200;
        try {
          const got = await index.search(queries.subarray(row * dimension, (row + 1) * dimension), k, { nprobe });
          const want = expected[got.buildId as 'v1' | 'v2'];
          const base = got.buildId === 'v1' ? v1.idBase : v2.idBase;
          // Ids tell the versions apart: v1 has 0..2999, v2 1000000..1002999.
          const ours = [...got.labels].every((id) => id >= BigInt(base) && id < BigInt(base + 3000));
          if (!ours || got.labels.join() !== want.labels.subarray(row * k, (row + 1) * k).join()) mixed++;
          seen[got.buildId]++;
        } catch {
          failures++;
        }
      }
    };
    const loops = [0, 1, 2, 3].map(loop);
    try {
      await waitFor(() => seen.v1 >= 20, 'answers from v1');
      const published = await publishIndex({ nats: nats.url, alias: 'swap', manifest: v2.manifest, timeoutMs: 20_000 });
      expect([published.live.buildId, published.previous?.buildId]).toEqual(['v2', 'v1']);
      // Publishing the live version again changes nothing.
      const again = await publishIndex({ nats: nats.url, alias: 'swap', manifest: v2.manifest, timeoutMs: 20_000 });
      expect([again.live.buildId, again.previous?.buildId, again.revision]).toEqual(['v2', 'v1', published.revision]);
      await waitFor(() => seen.v2 >= 20, 'answers from v2');
      const rolledBack = await rollbackIndex({ nats: nats.url, alias: 'swap', timeoutMs: 20_000 });
      expect([rolledBack.live.buildId, rolledBack.previous?.buildId]).toEqual(['v1', 'v2']);
      const v1Before = seen.v1;
      await waitFor(() => seen.v1 >= v1Before + 20, 'answers from v1 again');
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(failures).toBe(0);
    expect(mixed).toBe(0);
    // The nodes dropped v2 once the alias left it and its linger passed.
    await waitFor(async () => (await index.status()).every((s) => s.versions.map((v) => v.buildId).join() === 'v1'), 'v2 dropped', 5000);
    // Stopped while v1 lingers after this swap: the nodes still exit cleanly (afterEach checks).
    await publishIndex({ nats: nats.url, alias: 'swap', manifest: v2.manifest, timeoutMs: 20_000 });
  });
});
