// npx faiss-native worker|build against a private redis-server and a directory store.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsStore, readManifest } from 'faiss-native/distributed';
import { randomVectors } from './helpers';
import { redisServerMissing, scratchDir, startRedis, writeFvecs, type RedisServer } from './distributed-helpers';

const cli = path.join(__dirname, '..', 'dist', 'distributed', 'cli.js');

describe.skipIf(!!redisServerMissing)(`npx faiss-native worker|build ${redisServerMissing ?? ''}`, () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  it('a worker process builds what build submits from a JSON spec, with a progress bar', async () => {
    const dir = scratchDir('faiss-native-cli-');
    const storeDir = path.join(dir, 'store');
    writeFvecs(path.join(dir, 'rows.fvecs'), randomVectors(3000, 8, 3), 8);
    await fsStore(storeDir).uploadFile('rows.fvecs', path.join(dir, 'rows.fvecs'));
    const spec = path.join(dir, 'build.json');
    writeFileSync(
      spec,
      JSON.stringify({ buildId: 'cli', source: { objects: [{ key: 'rows.fvecs', format: 'fvecs' }] }, index: { factory: 'IVF8,Flat' }, trainSample: 1000, shards: 3, pollMs: 50 }),
    );
    const worker = spawn(process.execPath, [cli, 'worker', '--redis', redis.url, '--store', storeDir, '--threads', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [banner] = await once(worker.stdout!, 'data');
      expect(String(banner)).toContain('faiss-native worker: taking build jobs from');
      const build = spawn(process.execPath, [cli, 'build', '--redis', redis.url, '--store', storeDir, '--spec', spec], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      build.stdout!.on('data', (chunk) => (output += chunk));
      const [code] = await once(build, 'exit');
      expect(code).toBe(0);
      const lines = output.trim().split('\n');
      expect(lines.at(-2)).toMatch(/^\[#{30}\] 100% done 3\/3 shards, [\d.]+ MiB moved eta 0 s$/);
      expect(lines.at(-1)).toBe(`manifest: builds/cli/manifest.json in file://${storeDir} (3000 vectors, 1 serving shards)`);
      const manifest = await readManifest(fsStore(storeDir), 'cli');
      expect(manifest).toMatchObject({ index: { indexType: 'IndexIVFFlat', onDiskLists: false }, totals: { ntotal: 3000 } });
    } finally {
      worker.kill('SIGTERM');
      expect((await once(worker, 'exit'))[0]).toBe(0);
    }
  });

  it('prints its usage for a wrong command line', () => {
    const result = spawnSync(process.execPath, [cli, 'serve'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('faiss-native worker --redis URL --store DIR|s3://bucket/prefix');
  });
});
