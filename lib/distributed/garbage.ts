import { expectOptions, fail } from '../validate';
import { BuildState } from './build-state';
import { expectBuildId, storeKeys } from './layout';
import { readManifest } from './manifest';
import type { ObjectStore } from './object-store';
import { connectRedis, expectRedisConnection, type RedisConnection } from './redis';

export interface BuildTarget {
  redis: RedisConnection;
  store: ObjectStore;
  buildId: string;
}

function target(options: unknown): { redis: RedisConnection; store: ObjectStore; buildId: string } {
  const bag = expectOptions<BuildTarget>(options, 'options', ['redis', 'store', 'buildId']);
  const store = bag.store;
  if (typeof store?.list !== 'function') fail('type', 'an ObjectStore (fsStore or s3Store)', 'store', store);
  return { redis: expectRedisConnection(bag.redis), store, buildId: expectBuildId(bag.buildId) };
}

/**
 * Deletes the objects of a build that nothing refers to: shard attempts that
 * lost their commit (a retry, a worker killed mid-upload, a late duplicate)
 * and templates that were not chosen. Run it after the build, or while it runs:
 * an attempt still in flight may lose its upload, in which case it is retried.
 * Returns the keys deleted.
 */
export async function collectGarbage(options: BuildTarget): Promise<string[]> {
  const { redis, store, buildId } = target(options);
  const connection = connectRedis(redis);
  try {
    const state = new BuildState(connection, buildId);
    const manifest = await readManifest(store, buildId);
    const kept = new Set<string>();
    if (manifest) {
      kept.add(manifest.template.key);
      for (const built of manifest.builtShards) kept.add(built.key);
    } else {
      for (const built of (await state.commits()).values()) kept.add(built.key);
      const template = await state.template();
      if (template) kept.add(template.key);
    }
    const candidates = (await store.list(storeKeys.build(buildId))).filter(
      (key) => key.startsWith(storeKeys.attempts(buildId)) || /\/template-[^/]+\.index$/.test(key),
    );
    const deleted = candidates.filter((key) => !kept.has(key));
    for (const key of deleted) await store.delete(key);
    return deleted;
  } finally {
    await connection.quit().catch(() => {});
  }
}

/** Deletes everything of a build: its objects (manifest included) and its Redis state. Its jobs are left to BullMQ's retention. */
export async function deleteBuild(options: BuildTarget): Promise<void> {
  const { redis, store, buildId } = target(options);
  const connection = connectRedis(redis);
  try {
    // The manifest goes first: a half-deleted build must not look published.
    await store.delete(storeKeys.manifest(buildId));
    for (const key of await store.list(storeKeys.build(buildId))) await store.delete(key);
    await new BuildState(connection, buildId).forget();
  } finally {
    await connection.quit().catch(() => {});
  }
}
