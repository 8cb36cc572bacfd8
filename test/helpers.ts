// Shared test fixtures: small deterministic data and temp directories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';

/** Deterministic pseudo-random floats (mulberry32), so failures reproduce. */
export function randomVectors(count: number, dimension: number, seed = 1): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count * dimension);
  for (let i = 0; i < out.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

/** A temp directory removed after the test file finishes. */
export function tempDir(prefix = 'faiss-native-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Same neighbours, same distances up to float rounding. Faiss computes coarse
 * distances with BLAS for batches of 20+ queries and with SIMD loops below,
 * so the same query can differ in the last bits with what it was batched with
 * (or how a batch was split across threads); that is the only difference allowed.
 */
export function expectSameResults(
  actual: { labels: BigInt64Array; distances: Float32Array },
  expected: { labels: BigInt64Array; distances: Float32Array },
): void {
  expect(actual.labels).toEqual(expected.labels);
  expect(actual.distances.length).toBe(expected.distances.length);
  for (let i = 0; i < expected.distances.length; i++) {
    const tolerance = 1e-5 * Math.max(1, Math.abs(expected.distances[i]));
    if (Math.abs(actual.distances[i] - expected.distances[i]) > tolerance) {
      expect(actual.distances[i]).toBe(expected.distances[i]);
    }
  }
}
