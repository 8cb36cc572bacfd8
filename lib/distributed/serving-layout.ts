// Where serving lives in NATS: the subjects of each (version, shard), the
// status subject, and the key-value bucket holding each alias. One place, so
// search nodes, RemoteIndex and publishIndex agree.
import type { Metric } from '../metric';

/** JetStream key-value bucket of aliases: `live.<alias>` is served, `staged.<alias>` is being loaded. */
export const ALIAS_BUCKET = 'faiss-native-aliases';

const ALIAS = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function expectAlias(alias: unknown): string {
  if (typeof alias !== 'string' || !ALIAS.test(alias)) {
    throw new TypeError(`Expected 1-128 letters, digits, '_' or '-' (not first) for alias but received ${JSON.stringify(alias)}`);
  }
  return alias;
}

export const aliasKeys = {
  live: (alias: string) => `live.${alias}`,
  staged: (alias: string) => `staged.${alias}`,
  /** Both keys of one alias, as a watch filter. */
  any: (alias: string) => `*.${alias}`,
};

// '.' separates NATS subject tokens; build ids may contain it but never '~'.
const token = (buildId: string) => buildId.replaceAll('.', '~');

export const subjects = {
  /** Requests for one shard of one version; its replicas share a queue group of the same name. */
  shard: (buildId: string, shard: number) => `faiss-native.search.${token(buildId)}.${shard}`,
  /** Every search node of an alias answers status requests here. */
  status: (alias: string) => `faiss-native.status.${alias}`,
};

/** A version of an index as an alias names it: enough for a client to search it without the store. */
export interface ServedVersion {
  buildId: string;
  dimension: number;
  metric: Metric;
  shards: { shard: number; ntotal: number }[];
}

/** The value of `live.<alias>`: the version served, and the one before it for rollbackIndex. */
export interface AliasRecord extends ServedVersion {
  publishedAt: string;
  previous?: ServedVersion;
}
