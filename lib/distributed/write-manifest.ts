import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FaissError } from '../errors';
import { faissInfo } from '../faiss-info';
import { Index } from '../faiss-index';
import type { IndexIVFPQ } from '../index-ivfpq';
import { expectOptions, fail } from '../validate';
import { sha256File } from './hash';
import { expectBuildId, storeKeys } from './layout';
import { MANIFEST_FORMAT_VERSION, readManifest, type Manifest, type ServingShard, type StoredObject } from './manifest';
import type { ObjectStore } from './object-store';

/** A shard built anywhere: an index in this process, or the path of an index file. */
export type ShardSource = Index | IndexIVFPQ | string | { index: Index | IndexIVFPQ | string; idRange?: [number, number] };

export interface WriteManifestOptions {
  store: ObjectStore;
  buildId: string;
  /** Serving shard i is shards[i]; ids should be disjoint across shards. */
  shards: ShardSource[];
}

const KEYS = ['store', 'buildId', 'shards'] as const;

async function upload(store: ObjectStore, key: string, file: string): Promise<StoredObject> {
  const [sha256, { size }] = await Promise.all([sha256File(file), stat(file)]);
  await store.uploadFile(key, file);
  return { key, sha256, bytes: size };
}

/**
 * Uploads shards built anywhere (by buildSharded, by Python faiss, one per
 * machine) with their sha256 and publishes a manifest for them, the same
 * format distributedBuild writes, so runSearchNode can serve them. Shards are
 * single index files (inverted lists in the file, not on disk); the template
 * recorded is the first shard emptied. Refuses a buildId that already has a
 * manifest: manifests are immutable.
 */
export async function writeManifest(options: WriteManifestOptions): Promise<Manifest> {
  const bag = expectOptions<WriteManifestOptions>(options, 'options', KEYS);
  const store = bag.store as ObjectStore;
  if (!store || typeof store.put !== 'function') fail('type', 'an ObjectStore (fsStore or s3Store)', 'store', store);
  const buildId = expectBuildId(bag.buildId);
  if (!Array.isArray(bag.shards) || bag.shards.length === 0) fail('type', 'a non-empty array of indexes or index paths', 'shards', bag.shards);
  if (await store.head(storeKeys.manifest(buildId))) {
    throw new FaissError(`build '${buildId}' already has a manifest in ${store.url}; manifests are never replaced`, 'ERR_FAISS_MANIFEST');
  }
  const scratch = await mkdtemp(path.join(tmpdir(), 'faiss-native-manifest-'));
  try {
    const servingShards: ServingShard[] = [];
    let described: Manifest['index'] | undefined;
    let template: StoredObject | undefined;
    for (const [shard, source] of bag.shards.entries()) {
      const given = typeof source === 'object' && source !== null && 'index' in source && !('search' in source) ? source : { index: source as Index | string };
      let file: string;
      if (typeof given.index === 'string') file = given.index;
      else if (given.index && typeof (given.index as Index).write === 'function') {
        file = path.join(scratch, `shard-${shard}.index`);
        await (given.index as Index).write(file);
      } else fail('type', 'an index or the path of an index file', `shards[${shard}]`, given.index);
      const index = await Index.read(file, { mmap: true });
      try {
        const description = { description: index.description, indexType: index.indexType, dimension: index.dimension, metric: index.metric, onDiskLists: false };
        if (!described) described = description;
        else if (described.dimension !== description.dimension || described.metric !== description.metric) {
          throw new RangeError(
            `Expected shards of one dimension and metric for shards but received ${described.dimension}/${described.metric} and ${description.dimension}/${description.metric} (shards[${shard}])`,
          );
        }
        if (!template) {
          const empty = await Index.read(file);
          empty.resetSync();
          const templateFile = path.join(scratch, 'template.index');
          await empty.write(templateFile);
          empty.dispose();
          template = await upload(store, storeKeys.template(buildId, 'written'), templateFile);
        }
        const object = await upload(store, storeKeys.servingIndex(buildId, shard), file);
        servingShards.push({ shard, index: object, ntotal: index.ntotal, idRange: given.idRange ?? [0, 0], builtShards: [shard] });
      } finally {
        index.dispose();
      }
    }
    const version = require('../../package.json') as { version: string };
    const ntotal = servingShards.reduce((sum, s) => sum + s.ntotal, 0);
    const manifest: Manifest = {
      formatVersion: MANIFEST_FORMAT_VERSION,
      buildId,
      createdAt: new Date().toISOString(),
      faissNativeVersion: version.version,
      faissVersion: faissInfo().version,
      index: described!,
      template: template!,
      builtShards: servingShards.map((s) => ({ shard: s.shard, ...s.index, ntotal: s.ntotal, idRange: s.idRange })),
      servingShards,
      totals: { ntotal, servingBytes: servingShards.reduce((sum, s) => sum + s.index.bytes, 0), rows: ntotal },
    };
    await store.put(storeKeys.manifest(buildId), Buffer.from(JSON.stringify(manifest, null, 2)));
    return (await readManifest(store, buildId))!;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
