// The distributed build's cost per vector against the local buildSharded, on
// the same template, rows and ids, in the same run (alternating rounds):
// GloVe 100-d (341,479 words) repeated `--copies` times as one source, IVF-PQ
// nlist 1024, m 25. Local: buildSharded with one worker thread (add and write).
// Distributed: a private redis-server, a directory store, `--workers` worker
// processes (`npx faiss-native worker --threads 1`), `--shards` shard jobs and
// one serving shard; timed from submission to manifest, with the add phase
// (first shard job started to last shard committed) apart.
//
//   node bench/distributed-build.mjs [--copies 3] [--shards 1] [--workers 1] [--rounds 2]
//
// Writes bench/results/distributed-build.{json,md}.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { IndexIVFPQ, buildSharded, setNumThreads } from '../dist/index.mjs';
import { distributedBuild, fsStore } from '../dist/distributed/index.mjs';
import { gloveCacheDir, loadGlove, repoRoot, sampleRows, gatherRows } from '../tools/datasets.mjs';
import { loadAverages, log, median, resultsDir, writeJson } from './compare/common.mjs';

const { values: options } = parseArgs({
  options: {
    copies: { type: 'string', default: '3' },
    shards: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
  },
});
const COPIES = Number(options.copies);
const SHARDS = Number(options.shards);
const WORKERS = Number(options.workers);
const BATCH = 65_536;

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  return port;
}

async function startRedis(dir) {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().startsWith('PONG')) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill() };
}

function startWorker(redisUrl, storeDir) {
  const cli = path.join(repoRoot, 'dist', 'distributed', 'cli.js');
  const child = spawn(process.execPath, [cli, 'worker', '--redis', redisUrl, '--store', storeDir, '--threads', '1', '--concurrency', '1'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  return { stop: async () => { child.kill('SIGTERM'); await once(child, 'exit'); } };
}

const { vectors, count, dimension } = loadGlove();
const rows = count * COPIES;
const work = mkdtempSync(path.join(tmpdir(), 'faiss-native-bench-distributed-'));
const templatePath = path.join(work, 'template.index');
setNumThreads(2);
{
  const template = new IndexIVFPQ({ dimension, nlist: 1024, m: 25, metric: 'l2' });
  await template.train(gatherRows(vectors, dimension, sampleRows(count, 65_536, 7)));
  await template.write(templatePath);
  template.dispose();
}
setNumThreads(1);

async function local() {
  const shardDir = mkdtempSync(path.join(work, 'local-'));
  function* batches() {
    for (let from = 0; from < rows; from += BATCH) {
      const to = Math.min(rows, from + BATCH);
      const out = new Float32Array((to - from) * dimension);
      for (let row = from; row < to; row++) {
        const source = row % count;
        out.set(vectors.subarray(source * dimension, (source + 1) * dimension), (row - from) * dimension);
      }
      yield { vectors: out, ids: BigInt64Array.from({ length: to - from }, (_, i) => BigInt(from + i)) };
    }
  }
  const started = performance.now();
  const { ntotal } = await buildSharded(batches(), { templatePath, shardDir, workers: 1, threadsPerWorker: 1 });
  const seconds = (performance.now() - started) / 1000;
  if (ntotal !== rows) throw new Error(`local build holds ${ntotal} vectors, not ${rows}`);
  rmSync(shardDir, { recursive: true, force: true });
  return { seconds };
}

async function distributed(round) {
  const dir = mkdtempSync(path.join(work, 'distributed-'));
  const storeDir = path.join(dir, 'store');
  mkdirSync(path.join(storeDir, 'rows'), { recursive: true });
  copyFileSync(path.join(gloveCacheDir, 'vectors.f32'), path.join(storeDir, 'rows', 'glove.f32'));
  const redis = await startRedis(dir);
  const workers = Array.from({ length: WORKERS }, () => startWorker(redis.url, storeDir));
  try {
    let addStarted;
    let addEnded;
    const started = performance.now();
    const { manifest } = await distributedBuild({
      redis: redis.url,
      store: fsStore(storeDir),
      buildId: `bench-${round}`,
      source: { objects: Array.from({ length: COPIES }, () => ({ key: 'rows/glove.f32', format: 'f32' })), dimension },
      template: templatePath,
      shards: SHARDS,
      serveShards: 1,
      pollMs: 50,
      onProgress: ({ phase }) => {
        const now = performance.now();
        if (phase === 'add') addStarted ??= now;
        if (phase === 'merge' || phase === 'done') addEnded ??= now;
      },
    });
    const seconds = (performance.now() - started) / 1000;
    if (manifest.totals.ntotal !== rows) throw new Error(`distributed build holds ${manifest.totals.ntotal} vectors, not ${rows}`);
    return { seconds, addSeconds: ((addEnded ?? performance.now()) - (addStarted ?? started)) / 1000 };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const loadBefore = loadAverages();
const runs = { local: [], distributed: [] };
for (let round = 0; round < Number(options.rounds); round++) {
  log(`round ${round + 1}: local`);
  runs.local.push(await local());
  log(`round ${round + 1}: distributed`);
  runs.distributed.push(await distributed(round));
}
rmSync(work, { recursive: true, force: true });

const localSeconds = median(runs.local.map((run) => run.seconds));
const totalSeconds = median(runs.distributed.map((run) => run.seconds));
const addSeconds = median(runs.distributed.map((run) => run.addSeconds));
const perVector = (seconds) => (seconds / rows) * 1e6;
const result = {
  rows, dimension, copies: COPIES, shards: SHARDS, workers: WORKERS, rounds: Number(options.rounds), threadsPerWorker: 1,
  index: 'IVF1024,PQ25 (l2)', loadAverages: [loadBefore, loadAverages()], runs,
  localSeconds, totalSeconds, addSeconds, ratioTotal: totalSeconds / localSeconds, ratioAdd: addSeconds / localSeconds,
};
const suffix = `${SHARDS}-shard${SHARDS > 1 ? 's' : ''}-${WORKERS}-worker${WORKERS > 1 ? 's' : ''}`;
writeJson(path.join(resultsDir, `distributed-build-${suffix}.json`), result);
const table = [
  `Distributed build vs buildSharded: GloVe 100-d ×${COPIES} = ${rows.toLocaleString('en')} vectors, IVF1024,PQ25, ` +
    `${SHARDS} shard job(s), ${WORKERS} worker process(es), 1 OpenMP thread each, median of ${options.rounds} rounds`,
  '',
  '| build | seconds | µs per vector | / buildSharded |',
  '| --- | ---: | ---: | ---: |',
  `| buildSharded, 1 worker thread (add + write) | ${localSeconds.toFixed(2)} | ${perVector(localSeconds).toFixed(2)} | ×1.00 |`,
  `| distributed, shard jobs (read, add, write, hash, upload, commit) | ${addSeconds.toFixed(2)} | ${perVector(addSeconds).toFixed(2)} | ×${(addSeconds / localSeconds).toFixed(2)} |`,
  `| distributed, submission to manifest (merge and upload included) | ${totalSeconds.toFixed(2)} | ${perVector(totalSeconds).toFixed(2)} | ×${(totalSeconds / localSeconds).toFixed(2)} |`,
  '',
].join('\n');
writeFileSync(path.join(resultsDir, `distributed-build-${suffix}.md`), table);
console.log(table);
