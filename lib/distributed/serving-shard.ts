import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { FaissError } from '../errors';
import { sha256File } from './hash';
import type { ServingShard, StoredObject } from './manifest';
import type { ObjectStore } from './object-store';
import { relocateOnDiskIndex } from './relocate';

async function fetchVerified(store: ObjectStore, object: StoredObject, file: string): Promise<void> {
  await store.downloadFile(object.key, file);
  const sha256 = await sha256File(file);
  if (sha256 !== object.sha256) {
    throw new FaissError(`object '${object.key}' is corrupt: sha256 ${sha256}, manifest says ${object.sha256}`, 'ERR_FAISS_CHECKSUM');
  }
}

/**
 * Downloads a serving shard of a manifest into a directory, checks both files
 * against the manifest's sha256, and points the index at its data file there.
 * Returns the index file's path: open it with Index.read or IndexIVFPQ.read
 * (mmap: true maps its lists).
 */
export async function downloadServingShard(store: ObjectStore, shard: ServingShard, directory: string): Promise<string> {
  await mkdir(directory, { recursive: true });
  const indexPath = path.join(directory, path.basename(shard.index.key));
  const dataPath = shard.data ? path.join(directory, path.basename(shard.data.key)) : undefined;
  await Promise.all([fetchVerified(store, shard.index, indexPath), shard.data && fetchVerified(store, shard.data, dataPath!)]);
  if (dataPath) await relocateOnDiskIndex(indexPath, dataPath);
  return indexPath;
}
