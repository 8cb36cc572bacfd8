import type { Redis } from 'ioredis';
import { fail } from '../validate';
import { requireOptional } from './optional';

/** A Redis URL ('redis://127.0.0.1:6379/0') or ioredis connection options. */
export type RedisConnection = string | { host?: string; port?: number; username?: string; password?: string; db?: number; tls?: object };

export function expectRedisConnection(redis: unknown): RedisConnection {
  if (typeof redis === 'string' && redis !== '') return redis;
  if (typeof redis === 'object' && redis !== null && !Array.isArray(redis)) return redis as RedisConnection;
  return fail('type', 'a Redis URL or connection options', 'redis', redis);
}

/** A new connection; BullMQ needs maxRetriesPerRequest null so that blocking commands wait out a Redis restart. */
export function connectRedis(redis: RedisConnection): Redis {
  const { Redis: Client } = requireOptional<typeof import('ioredis')>('ioredis');
  return typeof redis === 'string'
    ? new Client(redis, { maxRetriesPerRequest: null })
    : new Client({ ...redis, maxRetriesPerRequest: null });
}
