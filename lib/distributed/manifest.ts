import { FaissError } from '../errors';
import { storeKeys } from './layout';
import type { ObjectStore } from './object-store';

/** Bumped when a manifest's meaning changes; readers refuse versions they do not know. */
export const MANIFEST_FORMAT_VERSION = 1;

/** An object in the store and how to check it. */
export interface StoredObject {
  key: string;
  sha256: string;
  bytes: number;
}

/** A shard as built and committed: rows [start, end) of the source. */
export interface BuiltShard extends StoredObject {
  shard: number;
  ntotal: number;
  /** Ids first and last + 1: ids are idBase + row. */
  idRange: [number, number];
}

/** A shard to serve: an index file and, for on-disk inverted lists, its data file (to be kept side by side). */
export interface ServingShard {
  shard: number;
  index: StoredObject;
  data?: StoredObject;
  ntotal: number;
  idRange: [number, number];
  /** The built shards merged into it. */
  builtShards: number[];
}

export interface Manifest {
  formatVersion: number;
  buildId: string;
  createdAt: string;
  faissNativeVersion: string;
  faissVersion: string;
  index: { description: string; indexType: string; dimension: number; metric: string; onDiskLists: boolean };
  template: StoredObject;
  builtShards: BuiltShard[];
  servingShards: ServingShard[];
  totals: { ntotal: number; servingBytes: number; rows: number };
}

/** The published manifest of a build, or undefined while the build has none. */
export async function readManifest(store: ObjectStore, buildId: string): Promise<Manifest | undefined> {
  const bytes = await store.get(storeKeys.manifest(buildId));
  if (!bytes) return undefined;
  const manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
  if (manifest.formatVersion !== MANIFEST_FORMAT_VERSION) {
    throw new FaissError(
      `manifest of build '${buildId}' has format version ${manifest.formatVersion}; this faiss-native reads version ${MANIFEST_FORMAT_VERSION}`,
      'ERR_FAISS_MANIFEST',
    );
  }
  return manifest;
}
