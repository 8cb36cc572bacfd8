import type { NatsConnection } from '@nats-io/nats-core';
import { subjects } from './serving-layout';

/** One shard a search node serves, and how it has been doing. */
export interface ServedShardStatus {
  shard: number;
  ntotal: number;
  queries: number;
  /** Query rows answered (a request may carry many). */
  rows: number;
  errors: number;
  inflight: number;
  /** Over the latest 1,024 requests, as the node measured them (decode to reply). */
  latencyMs: { p50: number; p99: number };
}

export interface ServedVersionStatus {
  buildId: string;
  /** loading: downloading and opening; ready: answering; failed: see error; retiring: draining before it is dropped. */
  state: 'loading' | 'ready' | 'failed' | 'retiring';
  error?: string;
  shards: ServedShardStatus[];
}

/** What a search node reports on the alias's status subject. */
export interface SearchNodeStatus {
  id: string;
  alias: string;
  /** The shards it was started to serve; 'all' serves every shard of each version. */
  configured: number[] | 'all';
  startedAt: string;
  versions: ServedVersionStatus[];
}

/** The status of every search node of an alias that answers within maxWaitMs. */
export async function collectStatus(connection: NatsConnection, alias: string, maxWaitMs = 250): Promise<SearchNodeStatus[]> {
  const replies: SearchNodeStatus[] = [];
  try {
    const answers = await connection.requestMany(subjects.status(alias), undefined, { strategy: 'timer', maxWait: maxWaitMs });
    for await (const message of answers) replies.push(message.json<SearchNodeStatus>());
  } catch (error) {
    // No node is up: an empty list, not an error.
    if (!(error as { isNoResponders?: () => boolean }).isNoResponders?.() && !/no responders/i.test(String((error as Error).message))) throw error;
  }
  return replies.sort((a, b) => (a.id < b.id ? -1 : 1));
}
