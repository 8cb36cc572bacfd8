import type { NatsConnection } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import { FaissError } from '../errors';
import { requireOptional } from './optional';
import { ALIAS_BUCKET } from './serving-layout';

/** A NATS server URL ('nats://host:4222', comma-separated for a cluster) or a connection the caller owns. */
export type NatsTarget = string | NatsConnection;

/** Oldest nats-server checked: JetStream key-value compare-and-set, queue groups and "no responders" all work on 2.9.10. */
export const MIN_NATS_SERVER = [2, 9, 0] as const;

function checkServer(connection: NatsConnection): void {
  const version = connection.info?.version ?? '0.0.0';
  const parts = version.split('.').map((part) => Number.parseInt(part, 10));
  for (let i = 0; i < MIN_NATS_SERVER.length; i++) {
    if ((parts[i] ?? 0) > MIN_NATS_SERVER[i]) return;
    if ((parts[i] ?? 0) < MIN_NATS_SERVER[i]) {
      throw new FaissError(`nats-server ${version} is too old: faiss-native serving needs ${MIN_NATS_SERVER.join('.')} or later`, 'ERR_FAISS_NATS_SERVER');
    }
  }
}

/**
 * Connects (or takes the caller's connection) and checks the server. `owned`
 * says whether close() should close the connection: never one the caller gave.
 */
export async function openNats(nats: NatsTarget, name: string): Promise<{ connection: NatsConnection; owned: boolean }> {
  if (typeof nats === 'string') {
    if (nats === '') throw new TypeError("Expected a NATS server URL or a NatsConnection for nats but received ''");
    const { connect } = requireOptional<typeof import('@nats-io/transport-node')>('@nats-io/transport-node');
    // Reconnect for ever: a search node outlives restarts of its server.
    const connection = await connect({ servers: nats.split(','), name, maxReconnectAttempts: -1 });
    try {
      checkServer(connection);
    } catch (error) {
      await connection.close();
      throw error;
    }
    return { connection, owned: true };
  }
  if (nats === null || typeof nats !== 'object' || typeof (nats as NatsConnection).request !== 'function') {
    throw new TypeError(`Expected a NATS server URL or a NatsConnection for nats but received ${typeof nats}`);
  }
  checkServer(nats);
  return { connection: nats, owned: false };
}

/** The aliases bucket, created on first use (JetStream must be enabled: nats-server -js). */
export async function aliasBucket(connection: NatsConnection): Promise<KV> {
  const { Kvm } = requireOptional<typeof import('@nats-io/kv')>('@nats-io/kv');
  try {
    return await new Kvm(connection).create(ALIAS_BUCKET, { history: 10 });
  } catch (error) {
    const message = String((error as Error).message);
    if (/jetstream/i.test(message) && /not enabled|unavailable|503/i.test(message)) {
      throw new FaissError(`NATS JetStream is not enabled on the server (start nats-server with -js): ${message}`, 'ERR_FAISS_NATS_SERVER');
    }
    throw error;
  }
}
