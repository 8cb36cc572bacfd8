// Index.build on real data (SIFT10K): the index it picks must meet the target
// on 1,000 queries it never saw (exact ground truth over the whole base), keep
// its tuned settings through write → read, respect a memory budget, and say
// clearly when the target is out of reach or an option is wrong.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaissError, Index, recallAt, type IndexBuildProgress, type IndexBuildReport } from 'faiss-native';
import { hasSift10k, loadSift10k, sift10kDir } from '../tools/datasets.mjs';
import { expectSameResults, tempDir } from './helpers';

const missing = hasSift10k() ? undefined : `SIFT10K not found in ${sift10kDir}`;
const K = 10;
const TARGET = 0.9;
// Sampling noise of a recall measured on 1,000 queries is about ±0.01.
const TOLERANCE = 0.015;

function truthOf(groundTruth: { data: Int32Array; dimension: number }, count: number): BigInt64Array {
  const out = new BigInt64Array(count * K);
  for (let q = 0; q < count; q++) {
    for (let j = 0; j < K; j++) out[q * K + j] = BigInt(groundTruth.data[q * groundTruth.dimension + j]);
  }
  return out;
}

describe.skipIf(missing !== undefined)(`Index.build on SIFT10K ${missing ?? ''}`, () => {
  const sift = missing ? undefined : loadSift10k();
  const dimension = sift?.dimension ?? 128;
  const base = sift?.base.data ?? new Float32Array();
  const extra = sift?.extraQueries.data ?? new Float32Array();
  const extraTruth = sift ? truthOf(sift.extraGroundTruth, 1000) : new BigInt64Array();
  const dir = tempDir('faiss-native-index-build-');
  let index: Index;
  let report: IndexBuildReport;
  const steps: IndexBuildProgress[] = [];

  beforeAll(async () => {
    ({ index, report } = await Index.build(base, { dimension, targetRecall: TARGET, onProgress: (p) => steps.push(p) }));
  }, 60_000);

  it('meets the target on 1,000 queries it never saw, at its stored settings', async () => {
    expect(index.ntotal).toBe(10_000);
    expect(index.description).toBe(report.factory);
    expect(index.searchDefaults).toMatchObject(report.searchOptions);
    const { labels } = await index.search(extra, K);
    expect(recallAt(labels, extraTruth, K)).toBeGreaterThanOrEqual(TARGET - TOLERANCE);
  });

  it('reports what it tried, with figures, and picks the fastest that met the target', () => {
    expect(report.tuningQueries).toBe(300);
    expect(report.tuningTarget).toBeCloseTo(TARGET + 2 * Math.sqrt((TARGET * (1 - TARGET)) / (K * 300)), 10);
    expect(report.recall).toBeGreaterThanOrEqual(report.tuningTarget);
    expect(report.qps).toBeGreaterThan(0);
    expect(report.bytesPerVector).toBeCloseTo(index.memoryBytes / index.ntotal, 0);
    const factories = report.candidates.map((c) => c.factory);
    expect(factories).toEqual(['HNSW32', 'IVF128,PQ32x7np', 'IVF128,PQ64x4fsr,Refine(SQ8)', 'IVF128,RaBitQ,Refine(SQ8)', 'IVF128,Flat', 'Flat']);
    for (const c of report.candidates) {
      if (c.skipped !== undefined) continue;
      expect(c.recall).toBeGreaterThan(0);
      expect(c.qps).toBeGreaterThan(0);
      expect(c.bytesPerVector).toBeGreaterThan(0);
      expect(c.settings).toBeDefined();
    }
    // 8-bit-ish PQ at ~2 bits per component cannot reach 0.9: skipped before building, saying why.
    expect(report.candidates[1].skipped).toMatch(/cap recall@10 near 0\.\d\d \(estimate\), below the target/);
    const met = report.candidates.filter((c) => c.reached);
    expect(Math.max(...met.map((c) => c.qps!))).toBe(report.qps);
    expect(report.candidates.find((c) => c.factory === report.factory)?.settings).toEqual(report.searchOptions);
    const stepNames = new Set(steps.map((s) => s.step));
    for (const step of ['plan', 'truth', 'train', 'add', 'tune', 'measure', 'done']) expect(stepNames).toContain(step);
    expect(steps.at(-1)?.step).toBe('done');
  });

  it('keeps the tuned settings through write → read', async () => {
    const file = path.join(dir, 'built.faiss');
    await index.write(file);
    const again = await Index.read(file);
    expect(again.searchDefaults).toMatchObject(report.searchOptions);
    const queries = extra.subarray(0, 200 * dimension);
    expectSameResults(await again.search(queries, K), await index.search(queries, K));
    again.dispose();
  });

  it('respects a tight memory budget, which changes the choice', async () => {
    const budget = 260 * 10_000;
    const tight = await Index.build(base, { dimension, targetRecall: TARGET, memoryBudgetBytes: budget, candidates: undefined });
    expect(tight.index.memoryBytes).toBeLessThanOrEqual(budget);
    // Unconstrained, it picks a larger index (HNSW32 here): that one no longer fits.
    if (report.bytesPerVector * 10_000 > budget) expect(tight.report.factory).not.toBe(report.factory);
    expect(tight.report.factory).toMatch(/Refine\(SQ8\)$/);
    const hnsw = tight.report.candidates.find((c) => c.factory === 'HNSW32')!;
    expect(hnsw.skipped).toMatch(/over the budget of 2600000/);
    const { labels } = await tight.index.search(extra, K);
    expect(recallAt(labels, extraTruth, K)).toBeGreaterThanOrEqual(TARGET - TOLERANCE);
    tight.index.dispose();
  }, 30_000);

  it('chooses among the factory strings given, in their order', async () => {
    const { index: chosen, report: r } = await Index.build(base, { dimension, targetRecall: 0.8, candidates: ['IVF64,Flat', 'HNSW16'], seed: 7 });
    expect(r.candidates.map((c) => c.factory)).toEqual(['IVF64,Flat', 'HNSW16']);
    expect(['IVF64,Flat', 'HNSW16']).toContain(r.factory);
    expect(r.candidates.every((c) => c.reached && c.skipped === undefined)).toBe(true);
    expect(Object.keys(r.searchOptions)).toEqual(r.factory === 'HNSW16' ? ['efSearch'] : ['nprobe']);
    chosen.dispose();
  });

  it('passes on an error thrown by onProgress, mid-build', async () => {
    const stop = new Error('stop');
    const onProgress = (p: IndexBuildProgress) => {
      if (p.step === 'tune' && p.candidate === 'HNSW16') throw stop;
    };
    await expect(Index.build(base, { dimension, candidates: ['IVF64,Flat', 'HNSW16'], onProgress })).rejects.toBe(stop);
  });

  it('rejects an unreachable target with the best recall it measured', async () => {
    const attempt = Index.build(base, { dimension, targetRecall: 0.95, candidates: ['IVF64,PQ4x4np'] });
    await expect(attempt).rejects.toThrow(FaissError);
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_FAISS_TARGET_UNREACHABLE',
      message: expect.stringMatching(/^target recall@10 0\.95 is out of reach: the best measured was 0\.\d{3} \(IVF64,PQ4x4np\)$/),
    });
  });

  it('rejects bad options with errors that name them', async () => {
    await expect(Index.build(base, undefined as never)).rejects.toThrow(new TypeError('Expected an options object for options but received undefined'));
    await expect(Index.build(base, { dimension, targetRecall: 1.5 })).rejects.toThrow(
      new RangeError('Expected a number in (0, 1] for targetRecall but received 1.5'),
    );
    await expect(Index.build(base, { dimension, memoryBudgetBytes: -1 })).rejects.toThrow(
      new RangeError('Expected a positive number of bytes for memoryBudgetBytes but received -1'),
    );
    await expect(Index.build(base, { dimension, candidates: [] })).rejects.toThrow(
      new TypeError('Expected an array of 1 to 32 factory strings for candidates but received an Array of length 0'),
    );
    await expect(Index.build(base, { dimension, candidates: ['IVF64,Nope'] })).rejects.toThrow(FaissError);
    await expect(Index.build(base, { dimension, ids: new BigInt64Array(3) })).rejects.toThrow(
      new RangeError('Expected 10000 ids (one per vector) for ids but received length 3'),
    );
    await expect(Index.build(base, { dimension, TargetRecall: 0.9 } as never)).rejects.toThrow(
      new TypeError("Unknown option 'TargetRecall' for options; did you mean 'targetRecall'?"),
    );
    await expect(Index.build(base.subarray(0, 10 * dimension), { dimension })).rejects.toThrow(
      new RangeError('Expected at least 20 vectors for vectors but received a Float32Array of length 1280'),
    );
  });
});
