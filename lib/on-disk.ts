import path from 'node:path';
import { binding } from './binding';
import { withCallerStack } from './errors';
import { IndexIVFPQ } from './index-ivfpq';
import { expectOptions, expectString, fail } from './validate';

export interface MergeOnDiskOptions {
  /** Where the merged index (centroids, codebooks, list directory) is written. */
  indexPath: string;
  /** Where the merged inverted lists are written, beside indexPath; the index file records its absolute path. */
  dataPath: string;
}

const KEYS = ['indexPath', 'dataPath'] as const;

function mergeArgs(shardPaths: unknown, options: unknown): [string[], string, string] {
  if (!Array.isArray(shardPaths) || shardPaths.length === 0) {
    fail('type', 'a non-empty array of paths', 'shardPaths', shardPaths);
  }
  const paths = shardPaths.map((shard: unknown, i) => expectString(shard, `shardPaths[${i}]`));
  const bag = expectOptions<MergeOnDiskOptions>(options, 'options', KEYS);
  const indexPath = expectString(bag.indexPath, 'indexPath');
  // Faiss records the data file's name inside the index file: make it absolute
  // so the index opens from any working directory.
  const dataPath = path.resolve(expectString(bag.dataPath, 'dataPath'));
  // Reading refuses data files outside the index's directory (a file must not
  // name arbitrary paths to map), so the two are written side by side.
  if (path.dirname(dataPath) !== path.dirname(path.resolve(indexPath))) {
    throw new RangeError(
      `Expected a dataPath in the directory of indexPath (${path.dirname(path.resolve(indexPath))}) for dataPath but received '${dataPath}'`,
    );
  }
  return [paths, dataPath, indexPath];
}

/**
 * Merges shard files, each built by adding vectors to a copy of one trained
 * template, into a single index whose inverted lists live on disk (Faiss
 * OnDiskInvertedLists, as faiss/contrib/ondisk.py does). Shards are read
 * memory-mapped, so their codes never need to fit in RAM together. Returns the
 * merged index (read-only); `IndexIVFPQ.read(indexPath)` opens it later.
 */
export async function mergeOnDisk(shardPaths: string[], options: MergeOnDiskOptions): Promise<IndexIVFPQ> {
  const [paths, dataPath, indexPath] = mergeArgs(shardPaths, options);
  const native = await withCallerStack(binding.NativeIndex.mergeOnDisk(paths, dataPath, indexPath), mergeOnDisk);
  return IndexIVFPQ.fromNative(native);
}

export function mergeOnDiskSync(shardPaths: string[], options: MergeOnDiskOptions): IndexIVFPQ {
  const [paths, dataPath, indexPath] = mergeArgs(shardPaths, options);
  return IndexIVFPQ.fromNative(binding.NativeIndex.mergeOnDiskSync(paths, dataPath, indexPath));
}
