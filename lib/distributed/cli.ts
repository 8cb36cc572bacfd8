#!/usr/bin/env node
// npx faiss-native worker|build|serve: a build worker process, a build submitted from a JSON spec, or a search node.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { distributedBuild, type DistributedBuildOptions, type DistributedBuildProgress } from './distributed-build';
import { runBuildWorker } from './build-worker';
import { fsStore } from './fs-store';
import type { ObjectStore } from './object-store';
import { requireOptional } from './optional';
import { s3Store } from './s3-store';
import { runSearchNode } from './search-node';

const USAGE = `usage:
  faiss-native worker --redis URL --store DIR|s3://bucket/prefix [--concurrency N] [--threads N]
  faiss-native build  --redis URL --store DIR|s3://bucket/prefix --spec build.json
  faiss-native serve  --nats URL --store DIR|s3://bucket/prefix --alias NAME [--shards 0,3] [--threads N] [--cache-dir DIR] [--linger-ms MS]
build.json holds distributedBuild's options other than redis and store (buildId, source, index or template, shards, ...).
S3 credentials and region come from the usual AWS_* variables.`;

function storeFrom(spec: string): ObjectStore {
  if (!spec.startsWith('s3://')) return fsStore(spec);
  const url = new URL(spec);
  const { S3Client } = requireOptional<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');
  const prefix = url.pathname.replace(/^\//, '');
  return s3Store({ bucket: url.hostname, prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix, client: new S3Client({}) });
}

function bar(p: DistributedBuildProgress): string {
  const fraction = p.vectorsTotal > 0 ? p.vectorsAdded / p.vectorsTotal : 0;
  const filled = Math.round(fraction * 30);
  const eta = p.etaSeconds === undefined ? '' : ` eta ${Math.ceil(p.etaSeconds)} s`;
  return `[${'#'.repeat(filled)}${' '.repeat(30 - filled)}] ${(100 * fraction).toFixed(0)}% ${p.phase} ${p.shardsDone}/${p.shardsTotal} shards, ${(p.bytesMoved / 1048576).toFixed(1)} MiB moved${eta}`;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      redis: { type: 'string' },
      store: { type: 'string' },
      spec: { type: 'string' },
      concurrency: { type: 'string' },
      threads: { type: 'string' },
      nats: { type: 'string' },
      alias: { type: 'string' },
      shards: { type: 'string' },
      'cache-dir': { type: 'string' },
      'linger-ms': { type: 'string' },
    },
  });
  const [command] = positionals;
  if (command === 'serve') {
    if (!values.nats || !values.store || !values.alias) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    return serve(values as Required<typeof values>);
  }
  if ((command !== 'worker' && command !== 'build') || !values.redis || !values.store || (command === 'build' && !values.spec)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const store = storeFrom(values.store);
  if (command === 'worker') {
    const worker = await runBuildWorker({
      redis: values.redis,
      store,
      concurrency: values.concurrency === undefined ? undefined : Number(values.concurrency),
      threads: values.threads === undefined ? undefined : Number(values.threads),
    });
    process.stdout.write(`faiss-native worker: taking build jobs from ${values.redis}, store ${store.url}\n`);
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
    });
    await worker.close();
    return 0;
  }
  const spec = JSON.parse(readFileSync(values.spec!, 'utf8')) as Omit<DistributedBuildOptions, 'redis' | 'store'>;
  const interactive = process.stdout.isTTY;
  let last = '';
  const { manifest } = await distributedBuild({
    ...spec,
    redis: values.redis,
    store,
    onProgress: (p) => {
      const line = bar(p);
      if (line === last) return;
      last = line;
      process.stdout.write(interactive ? `\r${line}` : `${line}\n`);
    },
  });
  process.stdout.write(`${interactive ? '\n' : ''}manifest: builds/${manifest.buildId}/manifest.json in ${store.url} (${manifest.totals.ntotal} vectors, ${manifest.servingShards.length} serving shards)\n`);
  return 0;
}

async function serve(values: Record<string, string | undefined>): Promise<number> {
  const node = await runSearchNode({
    nats: values.nats!,
    store: storeFrom(values.store!),
    alias: values.alias!,
    shards: values.shards === undefined ? undefined : values.shards.split(',').map(Number),
    threads: values.threads === undefined ? undefined : Number(values.threads),
    cacheDir: values['cache-dir'],
    lingerMs: values['linger-ms'] === undefined ? undefined : Number(values['linger-ms']),
  });
  await node.settled();
  const versions = node.status().versions.map((v) => `${v.buildId} (${v.state}, shards ${v.shards.map((s) => s.shard).join(',') || 'none'})`);
  process.stdout.write(`faiss-native serve: node ${node.id}, alias ${values.alias} from ${values.nats}; serving ${versions.join(', ') || 'nothing yet'}\n`);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  await node.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`faiss-native: ${error.message}\n`);
    process.exit(1);
  },
);
