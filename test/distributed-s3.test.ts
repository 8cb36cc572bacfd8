// The object stores behind one interface: the directory store and the S3
// store, the latter against s3rver in process (behind a proxy that injects
// 503s) and, when FAISS_NATIVE_TEST_S3_URL is set, against a real endpoint.
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { IndexIVFPQ, IndexShards, buildSharded, mergeOnDisk } from 'faiss-native';
import { distributedBuild, downloadServingShard, fsStore, s3Store, type ObjectStore } from 'faiss-native/distributed';
import { randomVectors, sortedRows } from './helpers';
import { freePort, redisServerMissing, scratchDir, startRedis, startWorker, type RedisServer } from './distributed-helpers';

const dir = scratchDir('faiss-native-s3-');
const bucket = 'faiss-native-test';
let s3rver: S3rver;
let proxy: http.Server;
let endpoint: string;
/** Every request the proxy saw, as 'METHOD path?query', and how many it answered with a 503. */
const requests: string[] = [];
let injected = 0;
let failEvery = 0;

beforeAll(async () => {
  const s3Port = await freePort();
  s3rver = new S3rver({ port: s3Port, address: '127.0.0.1', directory: path.join(dir, 's3rver'), silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  await s3rver.run();
  // Forwards to s3rver, failing every failEvery-th request with a 503 the SDK must retry.
  proxy = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (failEvery > 0 && requests.length % failEvery === 0) {
      injected++;
      request.resume();
      response.writeHead(503, { 'content-type': 'application/xml' });
      response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>');
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: s3Port, path: request.url, method: request.method, headers: request.headers }, (reply) => {
      response.writeHead(reply.statusCode!, reply.headers);
      reply.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  endpoint = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
});
afterAll(async () => {
  proxy?.close();
  await s3rver?.close();
});

function client(): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    maxAttempts: 4,
  });
}

/** The same checks for every store: whole, ranged and streamed reads and writes, listing, deleting. */
async function checkStore(store: ObjectStore): Promise<void> {
  await store.put('a/one.bin', Buffer.from('hello world'));
  expect((await store.get('a/one.bin'))!.toString()).toBe('hello world');
  expect(await store.getRange('a/one.bin', 6, 11)).toEqual(Buffer.from('world'));
  expect(await store.head('a/one.bin')).toEqual({ bytes: 11 });
  expect(await store.head('a/none.bin')).toBeUndefined();
  expect(await store.get('a/none.bin')).toBeUndefined();

  // 12 MiB: three parts up and three ranged GETs down at the 5 MiB part size.
  const big = randomBytes(12 * 1024 * 1024);
  const source = path.join(dir, `big-${Date.now()}.bin`);
  writeFileSync(source, big);
  let uploaded = 0;
  await store.uploadFile('a/big.bin', source, (bytes) => (uploaded += bytes));
  expect(uploaded).toBe(big.length);
  const copy = path.join(dir, `copy-${Date.now()}.bin`);
  let downloaded = 0;
  await store.downloadFile('a/big.bin', copy, (bytes) => (downloaded += bytes));
  expect(downloaded).toBe(big.length);
  expect(readFileSync(copy).equals(big)).toBe(true);

  expect(await store.list('a/')).toEqual(['a/big.bin', 'a/one.bin']);
  await store.delete('a/one.bin');
  await store.delete('a/one.bin');
  expect(await store.list('a/')).toEqual(['a/big.bin']);
  await store.delete('a/big.bin');
  await expect(store.get('../escape')).rejects.toThrow(TypeError);
}

describe('object stores', () => {
  it('fsStore', async () => {
    await checkStore(fsStore(path.join(dir, 'fs-store')));
  });

  it('s3Store against s3rver: multipart upload, ranged parallel download, 503s retried', async () => {
    requests.length = 0;
    injected = 0;
    failEvery = 5;
    try {
      await checkStore(s3Store({ bucket, prefix: 'contract/', client: client(), partBytes: 5 * 1024 * 1024, parallelParts: 3 }));
    } finally {
      failEvery = 0;
    }
    expect(injected).toBeGreaterThan(0);
    expect(requests.filter((r) => r.startsWith('PUT') && r.includes('partNumber=')).length).toBeGreaterThanOrEqual(3);
    expect(requests.some((r) => r.startsWith('POST') && r.includes('uploads'))).toBe(true);
  });

  it('names the optional package to install when one is missing', async () => {
    const { requireOptional } = await import('../dist/distributed/optional.js');
    expect(() => requireOptional('faiss-native-absent-client')).toThrow(
      "faiss-native/distributed needs the optional package 'faiss-native-absent-client': install it with npm install faiss-native-absent-client",
    );
    expect(requireOptional('bullmq')).toHaveProperty('FlowProducer');
  });

  it('s3Store rejects bad options with the field named', () => {
    expect(() => s3Store({ bucket: '', client: client() })).toThrow("Expected a non-empty string for bucket but received ''");
    expect(() => s3Store({ bucket, client: {} as never })).toThrow('Expected an S3Client for client but received an object');
    expect(() => s3Store({ bucket, client: client(), partBytes: 1024 })).toThrow(RangeError);
  });

  const realUrl = process.env.FAISS_NATIVE_TEST_S3_URL;
  it.skipIf(!realUrl)(`s3Store against a real endpoint (${realUrl ? 'FAISS_NATIVE_TEST_S3_URL' : 'skipped: set FAISS_NATIVE_TEST_S3_URL=s3://bucket/prefix and the AWS_* variables'})`, async () => {
    const url = new URL(realUrl!);
    const prefix = `${url.pathname.replace(/^\//, '')}${url.pathname.endsWith('/') || url.pathname === '' ? '' : '/'}faiss-native-test-${Date.now()}/`;
    await checkStore(s3Store({ bucket: url.hostname, prefix, client: new S3Client({}), partBytes: 5 * 1024 * 1024 }));
  });
});

describe.skipIf(!!redisServerMissing)(`distributed build on the S3 store ${redisServerMissing ?? ''}`, () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  it('gives exactly the results of buildSharded + mergeOnDisk from the same template', async () => {
    const dimension = 16;
    const count = 5000;
    const vectors = randomVectors(count, dimension, 21);
    const queries = randomVectors(20, dimension, 22);
    const store = s3Store({ bucket, prefix: 'builds-test/', client: client() });
    // Raw float32 rows here (the directory-store tests read .fvecs), in two objects.
    const half = (count / 2) * dimension;
    await store.put('rows-0.f32', Buffer.from(vectors.buffer, 0, half * 4));
    await store.put('rows-1.f32', Buffer.from(vectors.buffer, half * 4));
    const templatePath = path.join(dir, 'template.index');
    const template = new IndexIVFPQ({ dimension, nlist: 16, m: 4, nbits: 6 });
    template.trainSync(vectors.subarray(0, 3000 * dimension));
    template.writeSync(templatePath);

    const worker = startWorker({ redisUrl: redis.url, s3: JSON.stringify({ endpoint, bucket: `${bucket}` }), s3Prefix: 'builds-test/' });
    try {
      await worker.ready;
      const { manifest } = await distributedBuild({
        redis: redis.url,
        store,
        buildId: 's3',
        source: { objects: [{ key: 'rows-0.f32', format: 'f32' }, { key: 'rows-1.f32', format: 'f32' }], dimension },
        template: templatePath,
        shards: 4,
        serveShards: 2,
        pollMs: 50,
      });
      const local = await buildSharded([{ vectors, ids: BigInt64Array.from({ length: count }, (_, i) => BigInt(i)) }], {
        templatePath,
        shardDir: scratchDir('faiss-native-s3-local-'),
        workers: 1,
      });
      const localDir = scratchDir('faiss-native-s3-merged-');
      const merged = await mergeOnDisk(local.shardPaths, { indexPath: path.join(localDir, 'm.index'), dataPath: path.join(localDir, 'm.ivfdata') });
      const into = scratchDir('faiss-native-s3-served-');
      const served = new IndexShards(
        await Promise.all(manifest.servingShards.map(async (s) => IndexIVFPQ.read(await downloadServingShard(store, s, into), { mmap: true }))),
      );
      expect(sortedRows(await served.search(queries, 5, { nprobe: 4 }), 5)).toEqual(sortedRows(merged.searchSync(queries, 5, { nprobe: 4 }), 5));
      expect(manifest.totals.ntotal).toBe(count);
    } finally {
      await worker.stop();
    }
  });
});
