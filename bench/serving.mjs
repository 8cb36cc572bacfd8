// Search over NATS against the same shards searched in process: one-query
// latency (one caller, one query at a time) and throughput (many callers),
// through RemoteIndex with 1 and 2 search nodes on loopback. Every search
// uses one OpenMP thread, in process and on the nodes, so the figures
// compare the paths rather than thread budgets.
//   node bench/serving.mjs [--vectors 200000] [--seconds 4] [--callers 32]
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { IndexIVFPQ, IndexShards } from 'faiss-native';
import { RemoteIndex, fsStore, publishIndex, writeManifest } from 'faiss-native/distributed';
import { writeAtomically } from '../tools/datasets.mjs';

const { values } = parseArgs({
  options: { vectors: { type: 'string', default: '200000' }, seconds: { type: 'string', default: '4' }, callers: { type: 'string', default: '32' } },
});
const total = Number(values.vectors);
const seconds = Number(values.seconds);
const callers = Number(values.callers);
const dimension = 64;
const shardCount = 4;
const nlist = 1024;
const nprobes = [1, 16];
const k = 10;
const log = (line) => console.error(line);
const root = fileURLToPath(new URL('..', import.meta.url));

if (spawnSync('nats-server', ['--version']).status !== 0) throw new Error('nats-server is not installed (scripts/install-system-deps.sh)');

function random(count, seed) {
  let state = seed >>> 0;
  const out = new Float32Array(count * dimension);
  for (let i = 0; i < out.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

// CPU time (user + system, every thread) of a process in µs: on shared cores wall time mostly
// measures the other processes, CPU time per query measures this path's own cost.
const TICK_US = 1e6 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
function cpuMicros(pid) {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return user + system;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'faiss-native-bench-serving-'));
const children = [];
try {
  log(`building ${shardCount} shards of ${total / shardCount} vectors, d ${dimension}, IVF${nlist},PQ16`);
  const template = new IndexIVFPQ({ dimension, nlist, m: 16 });
  template.trainSync(random(50_000, 1));
  const templatePath = path.join(dir, 'template.index');
  template.writeSync(templatePath);
  const files = [];
  for (let s = 0; s < shardCount; s++) {
    const shard = IndexIVFPQ.readSync(templatePath);
    const rows = total / shardCount;
    shard.addWithIdsSync(random(rows, 100 + s), BigInt64Array.from({ length: rows }, (_, i) => BigInt(s * rows + i)));
    files.push(path.join(dir, `shard-${s}.index`));
    shard.writeSync(files[s]);
    shard.dispose();
  }
  const queries = random(1000, 7);
  const queryCount = queries.length / dimension;
  const storeDir = path.join(dir, 'store');
  const manifest = await writeManifest({ store: fsStore(storeDir), buildId: 'bench', shards: files });

  const port = await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
  });
  const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(dir, 'js')], { stdio: 'ignore' });
  children.push(nats);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const url = `nats://127.0.0.1:${port}`;
  const cli = path.join(root, 'dist', 'distributed', 'cli.js');
  async function startNode(alias, shards) {
    const child = spawn(process.execPath, [cli, 'serve', '--nats', url, '--store', storeDir, '--alias', alias, '--threads', '1', '--shards', shards.join(',')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await once(child.stdout, 'data');
    return child;
  }

  /** pids: { client, nodes: [], nats }; CPU per query is measured over the throughput phase. */
  async function measure(search, pids) {
    for (let q = 0; q < 50; q++) await search(q); // warm-up
    // One caller: the latency of a lone query.
    const lone = [];
    for (let q = 0; q < 500; q++) {
      const started = performance.now();
      await search(q % queryCount);
      lone.push(performance.now() - started);
    }
    lone.sort((a, b) => a - b);
    let done = 0;
    let next = 0;
    const deadline = performance.now() + seconds * 1000;
    const cpu = () => ({ client: cpuMicros(process.pid), nodes: pids.nodes.reduce((sum, pid) => sum + cpuMicros(pid), 0), nats: pids.nats ? cpuMicros(pids.nats) : 0 });
    const cpuBefore = cpu();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (performance.now() < deadline) {
          await search(next++ % queryCount);
          done++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const cpuAfter = cpu();
    const perQuery = Object.fromEntries(Object.keys(cpuAfter).map((part) => [part, (cpuAfter[part] - cpuBefore[part]) / done]));
    const at = (p) => lone[Math.min(lone.length - 1, Math.floor(p * lone.length))];
    return { p50: at(0.5), p99: at(0.99), qps: done / elapsed, cpuMicrosPerQuery: perQuery };
  }
  const one = (q) => queries.subarray(q * dimension, (q + 1) * dimension);

  const rows = [];
  const load = { start: os.loadavg() };
  const local = new IndexShards(await Promise.all(files.map((file) => IndexIVFPQ.read(file, { mmap: true }))));
  log('in process');
  for (const nprobe of nprobes) {
    rows.push({ setup: `in process: IndexShards over the ${shardCount} shards (this process)`, nprobe, ...(await measure((q) => local.search(one(q), k, { nprobe, threads: 1 }), { nodes: [] })) });
  }

  const setups = [
    { alias: 'one', label: `RemoteIndex, 1 search node holding the ${shardCount} shards`, nodes: [[0, 1, 2, 3]] },
    { alias: 'split', label: 'RemoteIndex, 2 search nodes holding 2 shards each', nodes: [[0, 1], [2, 3]] },
    { alias: 'replicas', label: `RemoteIndex, 2 search nodes each holding the ${shardCount} shards (replicas)`, nodes: [[0, 1, 2, 3], [0, 1, 2, 3]] },
  ];
  for (const setup of setups) {
    log(setup.label);
    const started = await Promise.all(setup.nodes.map((shards) => startNode(setup.alias, shards)));
    await publishIndex({ nats: url, alias: setup.alias, manifest, timeoutMs: 120_000 });
    const remote = await RemoteIndex.connect({ nats: url, alias: setup.alias });
    for (const nprobe of nprobes) {
      rows.push({ setup: setup.label, nprobe, ...(await measure((q) => remote.search(one(q), k, { nprobe }), { nodes: started.map((child) => child.pid), nats: nats.pid })) });
    }
    await remote.close();
    for (const child of started) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
  load.end = os.loadavg();

  const fmt = (x) => x.toFixed(2);
  const md = [
    `# Search over NATS (loopback) against in process, ${total} vectors (uniform random, d ${dimension}), ${shardCount} shards of IVF${nlist},PQ16, k ${k}`,
    '',
    `${spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout.trim()} on 127.0.0.1; search nodes are \`faiss-native serve\` processes on this machine (${os.cpus().length} cores, shared with the client and nats-server), one OpenMP thread per search everywhere.`,
    `Latency: one caller, one query at a time, 500 queries. Throughput: ${callers} callers × one query each, ${seconds} s. Load average ${load.start.map(fmt).join(' / ')} → ${load.end.map(fmt).join(' / ')}.`,
    '',
    'CPU per query: CPU time (user + system, all threads) of each process during the throughput run, divided by the queries answered.',
    '',
    '| setup | nprobe | one query p50 ms | p99 ms | QPS | CPU µs per query: client | search nodes | nats-server | total |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const c = r.cpuMicrosPerQuery;
      return `| ${r.setup} | ${r.nprobe} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${Math.round(r.qps)} | ${Math.round(c.client)} | ${Math.round(c.nodes)} | ${Math.round(c.nats)} | ${Math.round(c.client + c.nodes + c.nats)} |`;
    }),
    '',
  ].join('\n');
  writeAtomically(path.join(root, 'bench', 'results', 'serving.md'), md);
  writeAtomically(path.join(root, 'bench', 'results', 'serving.json'), `${JSON.stringify({ total, dimension, shardCount, nlist, nprobes, k, callers, seconds, load, rows }, null, 2)}\n`);
  process.stdout.write(md);
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
