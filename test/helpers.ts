// Shared test fixtures: small deterministic data and temp directories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { mulberry32 } from '../tools/random.mjs';

/** Deterministic pseudo-random floats, so failures reproduce. */
export function randomVectors(count: number, dimension: number, seed = 1): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(count * dimension);
  for (let i = 0; i < out.length; i++) out[i] = next();
  return out;
}

/** A temp directory removed after the test file finishes. */
export function tempDir(prefix = 'faiss-native-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Identical results, bit for bit: a query's neighbours and distances must not
 * depend on the batch it was searched in, the thread count or the thread it ran on.
 */
export function expectSameResults(
  actual: { labels: BigInt64Array; distances: Float32Array },
  expected: { labels: BigInt64Array; distances: Float32Array },
): void {
  expect(actual.labels).toEqual(expected.labels);
  expect(actual.distances.length).toBe(expected.distances.length);
  const differing: string[] = [];
  for (let i = 0; i < expected.distances.length; i++) {
    if (!Object.is(actual.distances[i], expected.distances[i])) {
      differing.push(`[${i}] ${actual.distances[i]} vs ${expected.distances[i]}`);
    }
  }
  expect(differing.slice(0, 5), `${differing.length} distances differ`).toEqual([]);
}

/** Per query, the sorted (distance, label) pairs: equal-distance ties may come in any order. */
export function sortedRows(result: { labels: BigInt64Array; distances: Float32Array }, k: number): string[] {
  const out: string[] = [];
  for (let q = 0; q < result.labels.length / k; q++) {
    const pairs = [];
    for (let j = q * k; j < (q + 1) * k; j++) pairs.push(`${result.distances[j]}:${result.labels[j]}`);
    out.push(pairs.sort().join(' '));
  }
  return out;
}
