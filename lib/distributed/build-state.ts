import type { Redis } from 'ioredis';
import { FaissError } from '../errors';
import { redisKeys } from './layout';
import type { BuiltShard, StoredObject } from './manifest';
import type { IndexSpec } from './index-spec';
import type { ResolvedSource } from './vector-source';

/** A build as submitted; stored in Redis so that workers and a resumed client see the same one. */
export interface BuildSpec {
  buildId: string;
  source: ResolvedSource;
  /** Absent when a trained template was given. */
  index?: IndexSpec;
  trainSample: number;
  shards: number;
  serveShards: number;
  /** Retries of a failed job (stalled or thrown) before the build fails. */
  attempts: number;
}

export interface TemplateRecord extends StoredObject {
  onDiskLists: boolean;
  description: string;
  indexType: string;
  metric: string;
}

/** Rows [start, end) of shard i: shards differ in size by at most one row. */
export function shardRange(spec: Pick<BuildSpec, 'source' | 'shards'>, shard: number): [number, number] {
  const { rows } = spec.source;
  return [Math.floor((rows * shard) / spec.shards), Math.floor((rows * (shard + 1)) / spec.shards)];
}

/** One build's state in Redis. Commits are first-writer-wins: HSETNX on the commits hash. */
export class BuildState {
  readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    readonly redis: Redis,
    readonly buildId: string,
  ) {
    this.keys = redisKeys(buildId);
  }

  async spec(): Promise<BuildSpec> {
    const text = await this.redis.get(this.keys.spec);
    if (!text) throw new FaissError(`build '${this.buildId}' is unknown to this Redis (no spec)`, 'ERR_FAISS_BUILD_UNKNOWN');
    return JSON.parse(text) as BuildSpec;
  }

  /** Stores the spec unless there is one; returns the one that is stored. */
  async claimSpec(spec: BuildSpec): Promise<BuildSpec> {
    await this.redis.set(this.keys.spec, JSON.stringify(spec), 'NX');
    return this.spec();
  }

  async template(): Promise<TemplateRecord | undefined> {
    const text = await this.redis.get(this.keys.template);
    return text ? (JSON.parse(text) as TemplateRecord) : undefined;
  }

  /** Records the template unless one is recorded; returns the recorded one (first writer wins). */
  async claimTemplate(record: TemplateRecord): Promise<TemplateRecord> {
    await this.redis.set(this.keys.template, JSON.stringify(record), 'NX');
    return (await this.template())!;
  }

  async commit(shard: number): Promise<BuiltShard | undefined> {
    const text = await this.redis.hget(this.keys.commits, String(shard));
    return text ? (JSON.parse(text) as BuiltShard) : undefined;
  }

  /** Commits a shard unless it is committed; returns the winning commit and whether it is this one. */
  async claimCommit(record: BuiltShard): Promise<{ commit: BuiltShard; won: boolean }> {
    const won = (await this.redis.hsetnx(this.keys.commits, String(record.shard), JSON.stringify(record))) === 1;
    return { commit: won ? record : (await this.commit(record.shard))!, won };
  }

  async commits(): Promise<Map<number, BuiltShard>> {
    const all = await this.redis.hgetall(this.keys.commits);
    return new Map(Object.entries(all).map(([shard, text]) => [Number(shard), JSON.parse(text) as BuiltShard]));
  }

  async reportAdded(shard: number, vectors: number): Promise<void> {
    await this.redis.hset(this.keys.added, String(shard), vectors);
  }

  async addedPerShard(): Promise<Map<number, number>> {
    const all = await this.redis.hgetall(this.keys.added);
    return new Map(Object.entries(all).map(([shard, count]) => [Number(shard), Number(count)]));
  }

  async countBytes(bytes: number): Promise<void> {
    if (bytes > 0) await this.redis.incrby(this.keys.bytesMoved, bytes);
  }

  async bytesMoved(): Promise<number> {
    return Number((await this.redis.get(this.keys.bytesMoved)) ?? 0);
  }

  async cancel(): Promise<void> {
    await this.redis.set(this.keys.cancelled, '1');
  }

  async cancelled(): Promise<boolean> {
    return (await this.redis.exists(this.keys.cancelled)) === 1;
  }

  async throwIfCancelled(): Promise<void> {
    if (await this.cancelled()) throw new FaissError(`build '${this.buildId}' was cancelled`, 'ERR_FAISS_BUILD_CANCELLED');
  }

  async forget(): Promise<void> {
    await this.redis.del(...Object.values(this.keys));
  }
}
