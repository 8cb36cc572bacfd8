// Measured tuning on real data (SIFT10K): the tuned nprobe must hold on
// queries it never saw, and build() must meet its target or say why not.
import { describe, expect, it } from 'vitest';
import { FaissError, IndexIVFPQ, buildIndex, recallAt, recommendParams, tuneNprobe } from 'faiss-native';
import { hasSift10k, loadSift10k } from '../tools/datasets.mjs';

const available = hasSift10k();

function truthOf(groundTruth: { data: Int32Array; dimension: number }, from: number, to: number, k: number): BigInt64Array {
  const out = new BigInt64Array((to - from) * k);
  for (let q = from; q < to; q++) {
    for (let j = 0; j < k; j++) out[(q - from) * k + j] = BigInt(groundTruth.data[q * groundTruth.dimension + j]);
  }
  return out;
}

describe.skipIf(!available)(`tuneNprobe on SIFT10K${available ? '' : ' (skipped: ../shared/datasets/sift10k absent)'}`, () => {
  const sift = available ? loadSift10k() : undefined;

  it('the nprobe tuned on 500 queries meets the target on 500 others and on the 100 official ones', async () => {
    const { base, extraQueries, extraGroundTruth, queries, groundTruth, dimension } = sift!;
    const index = new IndexIVFPQ({ dimension, nlist: 128, m: 32 });
    await index.train(base.data);
    await index.add(base.data);
    const tuning = extraQueries.data.subarray(0, 500 * dimension);
    const result = await tuneNprobe(index, tuning, { k: 10, targetRecall: 0.75, groundTruth: truthOf(extraGroundTruth, 0, 500, 10) });
    expect(result.reached).toBe(true);
    expect(result.recall).toBeGreaterThanOrEqual(0.75);
    // The smallest: one less misses the target.
    const below = result.curve.find((p) => p.nprobe === result.nprobe - 1);
    if (result.nprobe > 1) expect(below === undefined || below.recall < 0.75).toBe(true);
    expect(result.curve.every((p) => p.qps > 0)).toBe(true);
    expect(index.nprobe).toBe(1); // tuning leaves the default alone

    const others = extraQueries.data.subarray(500 * dimension);
    const onOthers = recallAt((await index.search(others, 10, { nprobe: result.nprobe })).labels, truthOf(extraGroundTruth, 500, 1000, 10), 10);
    const onOfficial = recallAt((await index.search(queries.data, 10, { nprobe: result.nprobe })).labels, truthOf(groundTruth, 0, 100, 10), 10);
    // Same distribution: allow sampling noise of a few hundredths, not a miss.
    expect(onOthers).toBeGreaterThanOrEqual(0.73);
    expect(onOfficial).toBeGreaterThanOrEqual(0.73);
  });

  it('computes the ground truth itself from the indexed vectors', async () => {
    const { base, extraQueries, extraGroundTruth, dimension } = sift!;
    const index = new IndexIVFPQ({ dimension, nlist: 64, m: 16 });
    index.trainSync(base.data);
    index.addSync(base.data);
    const tuning = extraQueries.data.subarray(0, 200 * dimension);
    const given = await tuneNprobe(index, tuning, { targetRecall: 0.6, groundTruth: truthOf(extraGroundTruth, 0, 200, 10) });
    const computed = await tuneNprobe(index, tuning, { targetRecall: 0.6, vectors: base.data });
    expect(computed.nprobe).toBe(given.nprobe);
    expect(Math.abs(computed.recall - given.recall)).toBeLessThan(0.01);
    await expect(tuneNprobe(index, tuning, {})).rejects.toThrow(TypeError);
  });

  it('tunes a refined index at a given kFactor, and refuses kFactor without refine', async () => {
    const { base, extraQueries, extraGroundTruth, dimension } = sift!;
    const index = new IndexIVFPQ({ dimension, nlist: 64, m: 8, refine: 'sq8', kFactor: 1 });
    index.trainSync(base.data);
    index.addSync(base.data);
    const tuning = extraQueries.data.subarray(0, 200 * dimension);
    const truth = truthOf(extraGroundTruth, 0, 200, 10);
    const atOne = await tuneNprobe(index, tuning, { targetRecall: 0.6, groundTruth: truth });
    const atSixteen = await tuneNprobe(index, tuning, { targetRecall: 0.6, groundTruth: truth, kFactor: 16 });
    expect(atOne.kFactor).toBe(1);
    expect(atSixteen.kFactor).toBe(16);
    // More candidates re-ranked: the same recall from fewer lists.
    expect(atSixteen.reached).toBe(true);
    expect(atSixteen.nprobe).toBeLessThan(atOne.nprobe);
    const { labels } = await index.search(tuning, 10, { nprobe: atSixteen.nprobe, kFactor: 16 });
    expect(recallAt(labels, truth, 10)).toBe(atSixteen.recall);

    const plain = new IndexIVFPQ({ dimension, nlist: 16, m: 8 });
    plain.trainSync(base.data.subarray(0, 2000 * dimension));
    await expect(tuneNprobe(plain, tuning, { groundTruth: truth, kFactor: 4 })).rejects.toThrow(
      new TypeError("Expected no kFactor for options: the index has no refine stage (create it with refine: 'flat' or 'sq8')"),
    );
  });

  it('reports an unreachable target instead of pretending', async () => {
    const { base, extraQueries, extraGroundTruth, dimension } = sift!;
    const index = new IndexIVFPQ({ dimension, nlist: 16, m: 4 });
    index.trainSync(base.data);
    index.addSync(base.data);
    const result = await tuneNprobe(index, extraQueries.data.subarray(0, 200 * dimension), {
      targetRecall: 0.99,
      groundTruth: truthOf(extraGroundTruth, 0, 200, 10),
    });
    expect(result.reached).toBe(false);
    expect(result.recall).toBeLessThan(0.99);
    expect(result.curve.map((p) => p.nprobe)).toEqual([1, 2, 4, 8, 16]);
  });
});

describe.skipIf(!available)(`IndexIVFPQ.build on SIFT10K${available ? '' : ' (skipped: ../shared/datasets/sift10k absent)'}`, () => {
  const sift = available ? loadSift10k() : undefined;

  it('builds, tunes and meets the target on unseen queries', async () => {
    const { base, queries, groundTruth, dimension } = sift!;
    const steps: string[] = [];
    const { index, report } = await buildIndex(base.data, {
      dimension,
      targetRecall: 0.8,
      onProgress: (p) => steps.push(p.step),
    });
    expect(index.ntotal).toBe(10_000);
    expect(index.nprobe).toBe(report.nprobe);
    // Tuned with a margin of two standard errors over 500 held-out queries.
    expect(report.tuningTarget).toBeCloseTo(0.8 + 2 * Math.sqrt((0.8 * 0.2) / 5000), 10);
    expect(report.recall).toBeGreaterThanOrEqual(report.tuningTarget);
    expect(steps).toContain('train');
    expect(steps.at(-1)).toBe('done');
    const official = recallAt(index.searchSync(queries.data, 10).labels, truthOf(groundTruth, 0, 100, 10), 10);
    expect(official).toBeGreaterThanOrEqual(0.75);
  });

  it('sizes the training set for an overridden nlist, and rejects an nlist k-means cannot fill', async () => {
    const { base, dimension } = sift!;
    const messages: string[] = [];
    const { index, report } = await buildIndex(base.data, {
      dimension, targetRecall: 0.5, nlist: 16, m: 16, onProgress: (p) => messages.push(p.message),
    });
    expect(report.nlist).toBe(16);
    // 256 training vectors per list at most: 4,096 for 16 lists, not the 9,500 a recommended nlist takes.
    expect(messages).toContain('training m 16 on 4096 vectors');
    index.dispose();
    await expect(buildIndex(base.data, { dimension, nlist: 20_000 })).rejects.toThrow(
      new RangeError('Expected at most 9500 for nlist (k-means needs a training vector per list) but received 20000'),
    );
  });

  it('moves to re-ranking when the PQ code cannot reach the target', async () => {
    const { base, dimension } = sift!;
    const steps: string[] = [];
    const { report } = await buildIndex(base.data, {
      dimension, targetRecall: 0.95, m: 8, kFactor: 16, onProgress: (p) => steps.push(p.message),
    });
    expect(report.refine).not.toBe('none');
    expect(report.recall).toBeGreaterThanOrEqual(0.95);
    expect(steps.some((s) => /^recall 0\.\d{3} below 0\.95; trying m 8, refine sq8$/.test(s))).toBe(true);
  });

  it('re-ranks over 4-bit FastScan codes of the same size first', async () => {
    const { base, dimension } = sift!;
    const steps: string[] = [];
    const { index, report } = await buildIndex(base.data, {
      dimension, targetRecall: 0.95, refine: 'sq8', onProgress: (p) => steps.push(p.message),
    });
    try {
      const plain = recommendParams({ n: base.count, dimension, targetRecall: 0.5 });
      const training = steps.filter((s) => s.startsWith('training '));
      expect(training[0]).toMatch(new RegExp(`^training m ${2 * plain.m} \\(4-bit FastScan\\), refine sq8 on \\d+ vectors$`));
      expect([report.fastScan, report.m, report.nbits, report.refine, index.fastScan]).toEqual([true, 2 * plain.m, 4, 'sq8', true]);
      expect(report.recall).toBeGreaterThanOrEqual(0.95);
      // Same code bytes as the 8-bit plan, plus the sq8 copy.
      expect(report.bytesPerVector).toBeLessThan(plain.bytesPerVector + dimension + 80);
    } finally {
      index.dispose();
    }
  });

  it('fastScan: false keeps 8-bit codes; fastScan: true uses nothing else', async () => {
    const { base, dimension } = sift!;
    const eight = await buildIndex(base.data, { dimension, targetRecall: 0.9, refine: 'sq8', fastScan: false });
    const four = await buildIndex(base.data, { dimension, targetRecall: 0.7, fastScan: true, refine: 'none' });
    try {
      expect([eight.report.fastScan, eight.report.nbits]).toEqual([false, 8]);
      expect([four.report.fastScan, four.report.nbits, four.index.fastScan]).toEqual([true, 4, true]);
    } finally {
      eight.index.dispose();
      four.index.dispose();
    }
    await expect(buildIndex(base.data, { dimension, fastScan: 'yes' as unknown as boolean })).rejects.toThrow(
      new TypeError('Expected a boolean for fastScan but received \'yes\''),
    );
  });

  it('fails clearly when nothing reaches the target', async () => {
    const { base, dimension } = sift!;
    const failure = await buildIndex(base.data, { dimension, targetRecall: 0.999, m: 4 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(FaissError);
    expect((failure as FaissError).code).toBe('ERR_FAISS_TARGET_UNREACHABLE');
    // The static entry point validates like the rest of the API.
    await expect(IndexIVFPQ.build(new Float32Array(10), { dimension: 3 })).rejects.toThrow(
      new RangeError('Expected a non-empty length that is a multiple of dimension (3) for vectors but received length 10'),
    );
    expect((failure as Error).message).toMatch(/^target recall@10 0\.999 is out of reach: the best measured was 0\.\d{3} \(m 4(, refine (sq8|flat))?\)$/);
  });
});
