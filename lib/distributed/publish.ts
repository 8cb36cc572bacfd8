import type { NatsConnection } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import { FaissError } from '../errors';
import type { Metric } from '../metric';
import { expectInteger, expectOptions, fail } from '../validate';
import type { Manifest } from './manifest';
import { aliasBucket, openNats, type NatsTarget } from './nats';
import { collectStatus, type SearchNodeStatus } from './node-status';
import { aliasKeys, expectAlias, type AliasRecord, type ServedVersion } from './serving-layout';

export interface PublishOptions {
  nats: NatsTarget;
  alias: string;
  /** Search nodes that must answer for each shard before the alias moves. Default 1. */
  minReplicas?: number;
  /** How long to wait for the nodes to load the version. Default 600000 ms. */
  timeoutMs?: number;
}

export interface PublishIndexOptions extends PublishOptions {
  manifest: Manifest;
}

export interface PublishResult {
  /** The version the alias names now, and the one it named before. */
  live: ServedVersion;
  previous?: ServedVersion;
  /** The alias's revision in the key-value bucket. */
  revision: number;
}

const KEYS = ['nats', 'alias', 'minReplicas', 'timeoutMs'] as const;
const POLL_MS = 100;

function servedVersion(manifest: Manifest): ServedVersion {
  if (!manifest || typeof manifest !== 'object' || !Array.isArray(manifest.servingShards) || typeof manifest.buildId !== 'string') {
    fail('type', 'a manifest (readManifest, distributedBuild or writeManifest)', 'manifest', manifest);
  }
  return {
    buildId: manifest.buildId,
    dimension: manifest.index.dimension,
    metric: manifest.index.metric as Metric,
    shards: manifest.servingShards.map((s) => ({ shard: s.shard, ntotal: s.ntotal })),
  };
}

const strip = ({ buildId, dimension, metric, shards }: ServedVersion): ServedVersion => ({ buildId, dimension, metric, shards });

/** Why the nodes are not yet all answering for the version, or undefined when they are. */
function notReady(nodes: SearchNodeStatus[], version: ServedVersion, minReplicas: number): string | undefined {
  const answering = new Map<number, number>(version.shards.map((s) => [s.shard, 0]));
  for (const node of nodes) {
    const mine = version.shards.filter((s) => node.configured === 'all' || node.configured.includes(s.shard));
    if (mine.length === 0) continue;
    const loaded = node.versions.find((v) => v.buildId === version.buildId && v.state !== 'retiring');
    if (loaded?.state === 'failed') {
      throw new FaissError(`search node ${node.id} failed to load build '${version.buildId}': ${loaded.error}`, 'ERR_FAISS_PUBLISH');
    }
    // Every node that serves a shard of it must have it: a replica still loading would be skipped by the queue group only by luck.
    if (loaded?.state !== 'ready') return `search node ${node.id} has not loaded it yet`;
    for (const s of loaded.shards) answering.set(s.shard, (answering.get(s.shard) ?? 0) + 1);
  }
  const short = [...answering].filter(([, count]) => count < minReplicas).map(([shard, count]) => `shard ${shard}: ${count}`);
  return short.length ? `${short.join(', ')} of ${minReplicas} replicas answering` : undefined;
}

/**
 * Loads a version beside the live one on the search nodes (through the
 * alias's staged key), waits until every shard of it has its replicas
 * answering, then moves the alias to it with compare-and-set. Nodes drop the
 * version the alias named before once their queries to it are done.
 */
async function swap(options: PublishOptions, target: (live: AliasRecord | undefined) => ServedVersion): Promise<PublishResult> {
  const bag = expectOptions<PublishOptions>(options, 'options', [...KEYS, 'manifest']);
  const alias = expectAlias(bag.alias);
  const minReplicas = bag.minReplicas === undefined ? 1 : expectInteger(bag.minReplicas, 'minReplicas', 1, 1024);
  const timeoutMs = bag.timeoutMs === undefined ? 600_000 : expectInteger(bag.timeoutMs, 'timeoutMs', 1, 86_400_000);
  const { connection, owned } = await openNats(bag.nats!, `faiss-native publish ${alias}`);
  try {
    const kv = await aliasBucket(connection);
    const entry = await kv.get(aliasKeys.live(alias));
    const live = entry?.operation === 'PUT' ? entry.json<AliasRecord>() : undefined;
    const version = target(live);
    // Already live: moving the alias would only make rollbackIndex a no-op.
    if (live && entry && live.buildId === version.buildId) return { live: strip(live), ...(live.previous ? { previous: live.previous } : {}), revision: entry.revision };
    await kv.put(aliasKeys.staged(alias), JSON.stringify(version));
    try {
      await waitUntilServed(connection, alias, version, minReplicas, timeoutMs);
      const record: AliasRecord = { ...version, publishedAt: new Date().toISOString(), ...(live ? { previous: strip(live) } : {}) };
      const revision = await compareAndSet(kv, alias, record, entry?.operation === 'PUT' ? entry.revision : undefined);
      return { live: version, ...(live ? { previous: strip(live) } : {}), revision };
    } finally {
      // Live now (or failed): the staged key has done its work either way.
      await kv.delete(aliasKeys.staged(alias)).catch(() => undefined);
    }
  } finally {
    if (owned) await connection.close();
  }
}

async function waitUntilServed(connection: NatsConnection, alias: string, version: ServedVersion, minReplicas: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = notReady(await collectStatus(connection, alias), version, minReplicas);
    if (why === undefined) return;
    if (Date.now() > deadline) {
      throw new FaissError(`build '${version.buildId}' is not served after ${timeoutMs} ms (${why}); alias '${alias}' left as it was`, 'ERR_FAISS_PUBLISH');
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function compareAndSet(kv: KV, alias: string, record: AliasRecord, revision: number | undefined): Promise<number> {
  try {
    const value = JSON.stringify(record);
    return revision === undefined ? await kv.create(aliasKeys.live(alias), value) : await kv.update(aliasKeys.live(alias), value, revision);
  } catch (error) {
    throw new FaissError(
      `alias '${alias}' changed while build '${record.buildId}' was being loaded (another publish or rollback); left as the other one set it: ${(error as Error).message}`,
      'ERR_FAISS_ALIAS_CHANGED',
    );
  }
}

/** Makes a manifest's version the one an alias serves, with no query failing during the swap. */
export async function publishIndex(options: PublishIndexOptions): Promise<PublishResult> {
  const manifest = (options as { manifest?: Manifest } | undefined)?.manifest;
  const version = servedVersion(manifest!);
  return swap(options, () => version);
}

/** Moves an alias back to the version it named before the last publish (or rollback). */
export async function rollbackIndex(options: PublishOptions): Promise<PublishResult> {
  return swap(options, (live) => {
    if (!live?.previous) {
      throw new FaissError(`alias '${(options as PublishOptions).alias}' has no previous version to roll back to`, 'ERR_FAISS_NO_PREVIOUS');
    }
    return live.previous;
  });
}
