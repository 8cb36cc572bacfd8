import { Index } from '../faiss-index';
import { IndexIVFPQ, type IndexIVFPQOptions } from '../index-ivfpq';
import type { Metric } from '../metric';
import { expectOneOf, expectOptions, expectString, fail } from '../validate';
import { METRICS } from '../metric';

/** The index to train: a Faiss factory string, or IndexIVFPQ's options without dimension (taken from the source). */
export type IndexSpec = { factory: string; metric?: Metric } | { ivfpq: Omit<IndexIVFPQOptions, 'dimension' | 'coalesce'> };

export function expectIndexSpec(spec: unknown): IndexSpec {
  const bag = expectOptions<{ factory?: unknown; metric?: unknown; ivfpq?: unknown }>(spec, 'index', ['factory', 'metric', 'ivfpq']);
  if ((bag.factory === undefined) === (bag.ivfpq === undefined)) fail('type', '{ factory, metric? } or { ivfpq }', 'index', spec);
  if (bag.ivfpq !== undefined) {
    if (typeof bag.ivfpq !== 'object' || bag.ivfpq === null) fail('type', 'IndexIVFPQ options without dimension', 'index.ivfpq', bag.ivfpq);
    return { ivfpq: bag.ivfpq as Omit<IndexIVFPQOptions, 'dimension'> };
  }
  const factory = expectString(bag.factory, 'index.factory');
  return bag.metric === undefined ? { factory } : { factory, metric: expectOneOf(bag.metric, 'index.metric', METRICS) };
}

/** An empty index to train, as the spec describes. */
export function emptyIndex(spec: IndexSpec, dimension: number): Index | IndexIVFPQ {
  if ('ivfpq' in spec) return new IndexIVFPQ({ ...spec.ivfpq, dimension, coalesce: false });
  return Index.fromFactory(dimension, spec.factory, { metric: spec.metric, coalesce: false });
}

/**
 * Whether shards of this template can be merged into on-disk inverted lists
 * (mergeOnDisk: plain IVF-PQ); other index types are merged in memory.
 */
export async function mergesOnDisk(templatePath: string): Promise<boolean> {
  const generic = await Index.read(templatePath);
  const plainIvfpq = generic.indexType === 'IndexIVFPQ';
  generic.dispose();
  if (!plainIvfpq) return false;
  try {
    const ivfpq = await IndexIVFPQ.read(templatePath, { precomputeTable: false });
    const refine = ivfpq.refine;
    ivfpq.dispose();
    return refine === 'none';
  } catch {
    return false;
  }
}

/** The template opened to add vectors to; an IVF-PQ shard is only added to and written, so it skips the L2 search table. */
export function openForAdding(templatePath: string, onDiskLists: boolean): Promise<Index | IndexIVFPQ> {
  return onDiskLists ? IndexIVFPQ.read(templatePath, { precomputeTable: false }) : Index.read(templatePath);
}
