import { describe, expect, it } from 'vitest';
import { IndexIVFPQ, estimatedRecallCap, recommendParams } from 'faiss-native';
import { randomVectors } from './helpers';

type Metric = 'l2' | 'ip' | 'cosine';

const SIZES = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const DIMENSIONS = [96, 100, 128, 768];
const RECALLS = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999];
const GRID = DIMENSIONS.flatMap((dimension) => SIZES.map((n) => ({ n, dimension })));

// Written out independently of lib/recommend.ts: codes and ids, coarse
// centroids, PQ centroids, and Faiss's precomputed L2 table when ≤ 2 GiB.
function expectedMemory(n: number, d: number, metric: Metric, nlist: number, m: number, nbits: number): number {
  const table = nlist * m * 2 ** nbits * 4;
  const tableBytes = metric === 'l2' && table <= 2 ** 31 ? table : 0;
  return n * (Math.ceil((m * nbits) / 8) + 8) + nlist * d * 4 + d * 2 ** nbits * 4 + tableBytes;
}

function divisors(d: number): number[] {
  return Array.from({ length: d }, (_, i) => i + 1).filter((m) => d % m === 0);
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('recommendParams: invariants over n × dimension', () => {
  it.each(GRID)('n = $n, dimension = $dimension', ({ n, dimension }) => {
    const r = recommendParams({ n, dimension });
    for (const value of [r.nlist, r.m, r.nbits, r.trainSize, r.nprobe, r.bytesPerVector, r.memoryBytes]) {
      expect(Number.isInteger(value)).toBe(true);
    }

    // nlist: a power of two, ≤ n/39, and within 4√n..16√n once n allows it.
    expect(Math.log2(r.nlist) % 1).toBe(0);
    expect(r.nlist).toBeLessThanOrEqual(Math.max(1, n / 39));
    if (n >= 1e5) {
      expect(r.nlist).toBeGreaterThanOrEqual(4 * Math.sqrt(n));
      expect(r.nlist).toBeLessThanOrEqual(16 * Math.sqrt(n));
    } else {
      expect(r.nlist).toBeLessThan(4 * Math.sqrt(n));
    }

    // PQ: m divides dimension, codes of dimension/4..dimension/2 bytes by default.
    expect(dimension % r.m).toBe(0);
    expect(r.m).toBeGreaterThanOrEqual(dimension / 4);
    expect(r.m).toBeLessThanOrEqual(dimension / 2);
    expect(r.nbits).toBe(8);
    expect(r.bytesPerVector).toBe(Math.ceil((r.m * r.nbits) / 8) + 8);

    // trainSize: 39·nlist .. 256·nlist, ≤ n, enough for both quantizers, fits one Float32Array.
    expect(r.trainSize).toBeLessThanOrEqual(n);
    expect(r.trainSize).toBeLessThanOrEqual(256 * r.nlist);
    expect(r.trainSize).toBeGreaterThanOrEqual(Math.min(n, 39 * r.nlist));
    expect(r.trainSize).toBeGreaterThanOrEqual(Math.max(r.nlist, 2 ** r.nbits));
    expect(r.trainSize * dimension).toBeLessThanOrEqual(2 ** 32);

    expect(r.nprobe).toBeGreaterThanOrEqual(1);
    expect(r.nprobe).toBeLessThanOrEqual(r.nlist);
    expect(r.memoryBytes).toBe(expectedMemory(n, dimension, 'l2', r.nlist, r.m, r.nbits));
  });

  it.each(GRID)('nprobe grows with targetRecall: n = $n, dimension = $dimension', ({ n, dimension }) => {
    const probes = RECALLS.map((targetRecall) => recommendParams({ n, dimension, targetRecall }).nprobe);
    for (let i = 1; i < probes.length; i++) expect(probes[i]).toBeGreaterThanOrEqual(probes[i - 1]);
    expect(probes[probes.length - 1]).toBeGreaterThan(probes[0]);
    // targetRecall changes nothing else but whether to re-rank, and with re-ranking the
    // code's form: FastScan, twice the 4-bit sub-quantizers in the same bytes.
    const low = recommendParams({ n, dimension, targetRecall: 0.5 });
    const high = recommendParams({ n, dimension, targetRecall: 0.99 });
    const shape = (r: ReturnType<typeof recommendParams>) => ({
      nlist: r.nlist, trainSize: r.trainSize, bytesPerVector: r.bytesPerVector,
      m: r.fastScan ? r.m / 2 : r.m, nbits: r.fastScan ? 8 : r.nbits,
    });
    expect(shape(high)).toEqual(shape(low));
    expect([low.refine, low.fastScan]).toEqual(['none', false]);
    expect(high.fastScan).toBe(high.refine !== 'none' && high.nbits === 4);
    expect(high.memoryBytes).toBe(expectedMemory(n, dimension, 'l2', high.nlist, high.m, high.nbits));
  });

  it.each(DIMENSIONS)('nlist and nprobe grow with n, nprobe as a shrinking share of nlist: dimension %i', (dimension) => {
    const results = SIZES.map((n) => recommendParams({ n, dimension }));
    for (let i = 1; i < results.length; i++) {
      expect(results[i].nlist).toBeGreaterThanOrEqual(results[i - 1].nlist);
      expect(results[i].nprobe).toBeGreaterThanOrEqual(results[i - 1].nprobe);
      expect(results[i].nprobe / results[i].nlist).toBeLessThanOrEqual(results[i - 1].nprobe / results[i - 1].nlist);
    }
    // The documented targets at recall 0.9: ~5–10% of small nlist, ~1–3% of large.
    const share = (nlist: number): number => {
      const r = results.find((x) => x.nlist === nlist);
      if (!r) throw new Error(`no nlist ${nlist}`);
      return r.nprobe / r.nlist;
    };
    expect(share(256)).toBeGreaterThanOrEqual(0.05);
    expect(share(256)).toBeLessThanOrEqual(0.1);
    expect(share(32768)).toBeGreaterThanOrEqual(0.01);
    expect(share(32768)).toBeLessThanOrEqual(0.03);
  });

  it('gives these values at dimension 128', () => {
    const pick = (n: number) => {
      const { nlist, m, nbits, trainSize, nprobe, bytesPerVector } = recommendParams({ n, dimension: 128 });
      return { nlist, m, nbits, trainSize, nprobe, bytesPerVector };
    };
    expect(pick(1e3)).toEqual({ nlist: 16, m: 32, nbits: 8, trainSize: 1000, nprobe: 3, bytesPerVector: 40 });
    expect(pick(1e5)).toEqual({ nlist: 2048, m: 32, nbits: 8, trainSize: 100000, nprobe: 81, bytesPerVector: 40 });
    expect(pick(1e7)).toEqual({ nlist: 32768, m: 32, nbits: 8, trainSize: 1638400, nprobe: 512, bytesPerVector: 40 });
    expect(pick(1e9)).toEqual({ nlist: 262144, m: 32, nbits: 8, trainSize: 13107200, nprobe: 2048, bytesPerVector: 40 });
  });

  it('picks m by sub-vector length, then GPU-supported code sizes', () => {
    const m = (dimension: number) => recommendParams({ n: 1e6, dimension }).m;
    expect([m(96), m(100), m(128), m(768), m(384)]).toEqual([24, 25, 32, 192, 96]);
    // No divisor in dimension/4..dimension/2: the nearest sub-vector length.
    expect([m(1), m(2), m(3), m(5), m(97)]).toEqual([1, 1, 1, 1, 97]);
  });

  it('leaves the precomputed L2 table out of memoryBytes for ip and cosine', () => {
    const l2 = recommendParams({ n: 1e6, dimension: 128, metric: 'l2' });
    for (const metric of ['ip', 'cosine'] as const) {
      const r = recommendParams({ n: 1e6, dimension: 128, metric });
      expect(r.memoryBytes).toBe(expectedMemory(1e6, 128, metric, r.nlist, r.m, r.nbits));
      expect(l2.memoryBytes - r.memoryBytes).toBe(r.nlist * r.m * 256 * 4);
    }
  });
});

describe('recommendParams: against the native index', () => {
  it.each(['l2', 'ip', 'cosine'] as const)('memoryBytes equals IndexIVFPQ.memoryBytes after train and add (%s)', (metric) => {
    const n = 10000;
    const dimension = 16;
    const r = recommendParams({ n, dimension, metric });
    const vectors = randomVectors(n, dimension, 11);
    const index = new IndexIVFPQ({ dimension, nlist: r.nlist, m: r.m, nbits: r.nbits, metric });
    try {
      index.trainSync(vectors.subarray(0, r.trainSize * dimension));
      index.addSync(vectors);
      expect(index.memoryBytes).toBe(r.memoryBytes);
    } finally {
      index.dispose();
    }
  });
});

describe('recommendParams: memory budget', () => {
  const cases = GRID.flatMap(({ n, dimension }) =>
    (['l2', 'ip'] as const).flatMap((metric) => [0.25, 0.5, 1, 4].map((scale) => ({ n, dimension, metric, scale }))),
  );

  it.each(cases)(
    'n = $n, dimension = $dimension, $metric, $scale × the default footprint',
    ({ n, dimension, metric, scale }) => {
      const free = recommendParams({ n, dimension, metric });
      const budget = Math.floor(free.memoryBytes * scale);
      const usable = divisors(dimension).filter((m) => m <= Math.max(free.m, dimension / 2));
      const cost = (m: number) => expectedMemory(n, dimension, metric, free.nlist, m, free.nbits);
      const fits = usable.filter((m) => cost(m) <= budget);
      if (fits.length === 0) {
        expect(() => recommendParams({ n, dimension, metric, memoryBudgetBytes: budget })).toThrow(RangeError);
        return;
      }
      const r = recommendParams({ n, dimension, metric, memoryBudgetBytes: budget });
      expect(r.memoryBytes).toBeLessThanOrEqual(budget);
      expect(r.memoryBytes).toBe(cost(r.m));
      expect(dimension % r.m).toBe(0);
      expect(r.m).toBe(Math.max(...fits)); // the largest m that fits
      expect([r.nlist, r.nbits, r.trainSize]).toEqual([free.nlist, free.nbits, free.trainSize]);
      if (scale === 1) expect(r.m).toBeGreaterThanOrEqual(free.m);
      if (scale === 4) expect(r.m).toBeLessThanOrEqual(dimension / 2);
    },
  );

  it('goes finer than the default when the budget allows, down to sub-vectors of 2', () => {
    expect(recommendParams({ n: 1e6, dimension: 128, metric: 'ip', memoryBudgetBytes: 1e12 }).m).toBe(64);
    expect(recommendParams({ n: 1e6, dimension: 97, metric: 'ip', memoryBudgetBytes: 1e12 }).m).toBe(97);
  });

  it('accepts exactly the minimum and rejects one byte less, naming the minimum', () => {
    // 1e6 × (1 + 8) + 8192 × 128 × 4 coarse + 128 × 256 × 4 PQ centroids.
    const minimum = 9_000_000 + 4_194_304 + 131_072;
    expect(recommendParams({ n: 1e6, dimension: 128, metric: 'ip', memoryBudgetBytes: minimum }).m).toBe(1);
    const error = thrown(() =>
      recommendParams({ n: 1e6, dimension: 128, metric: 'ip', memoryBudgetBytes: minimum - 1 }),
    );
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe(
      'Expected at least 13325376 bytes (1000000 vectors × 9 bytes with m = 1, plus 4325376 bytes of centroids and tables for nlist = 8192) for memoryBudgetBytes but received 13325375',
    );
  });

  it('counts the precomputed L2 table in the minimum', () => {
    const error = thrown(() => recommendParams({ n: 1e6, dimension: 128, memoryBudgetBytes: 13325376 }));
    expect(error).toBeInstanceOf(RangeError);
    // + 8192 lists × m = 1 × 256 × 4 bytes.
    expect(error.message).toMatch(/^Expected at least 21713984 bytes \(.*m = 1, plus 12713984 bytes/);
  });
});

describe('recommendParams: small n', () => {
  it('lowers nlist to n/39 and says so', () => {
    const r = recommendParams({ n: 1e4, dimension: 128 });
    expect(r.nlist).toBe(256);
    expect(r.warnings).toContain(
      'nlist = 256 is below the 4·√n = 400 guideline: k-means needs 39 training vectors per list and n is 10000; for this few vectors an exact (flat) search may serve better',
    );
  });

  it('uses nlist 1 below 78 vectors and warns below 39', () => {
    const r = recommendParams({ n: 38, dimension: 8 });
    expect([r.nlist, r.trainSize]).toEqual([1, 38]);
    expect(r.warnings).toContain('n = 38 is below 39·nlist = 39: Faiss will warn that k-means has too few training points');
    expect(recommendParams({ n: 77, dimension: 8 }).nlist).toBe(1);
    expect(recommendParams({ n: 78, dimension: 8 }).nlist).toBe(2);
    expect(recommendParams({ n: 39, dimension: 8 }).warnings.join('\n')).not.toMatch(/below 39·nlist/);
  });

  it('reduces nbits below 256 vectors so that 2^nbits ≤ n', () => {
    for (const [n, nbits] of [[2, 1], [3, 1], [100, 6], [255, 7], [256, 8]]) {
      const r = recommendParams({ n, dimension: 16 });
      expect(r.nbits).toBe(nbits);
      expect(2 ** r.nbits).toBeLessThanOrEqual(n);
      expect(r.trainSize).toBeGreaterThanOrEqual(2 ** r.nbits);
      expect(r.bytesPerVector).toBe(Math.ceil((r.m * r.nbits) / 8) + 8);
      const warned = r.warnings.some((w) => w.startsWith(`nbits = ${nbits}: 8-bit codes need at least 256 training vectors`));
      expect(warned).toBe(nbits < 8);
    }
  });

  it('warns when the PQ gets fewer than 39·2^nbits training vectors', () => {
    expect(recommendParams({ n: 1000, dimension: 128 }).warnings).toContain(
      'trainSize = 1000 is below 39·2^nbits = 9984: Faiss will warn while training the product quantizer, and codes will be less accurate',
    );
    expect(recommendParams({ n: 9984, dimension: 128 }).warnings.join('\n')).not.toMatch(/39·2\^nbits/);
  });
});

describe('recommendParams: warnings', () => {
  it('has none for a well-sized index', () => {
    expect(recommendParams({ n: 1e8, dimension: 128 }).warnings).toEqual([]);
    expect(recommendParams({ n: 1e7, dimension: 128, metric: 'ip' }).warnings).toEqual([]);
  });

  it('warns that small codes cap recall at targetRecall ≥ 0.9 only', () => {
    const budget = 30_000_000; // forces m = 16 (dimension / 8) for ip
    const high = recommendParams({ n: 1e6, dimension: 128, metric: 'ip', memoryBudgetBytes: budget });
    expect(high.m).toBe(16);
    expect(high.warnings).toContain(
      'm = 16: 16-byte codes for 128 dimensions (under 2 bits per dimension) may cap recall below targetRecall 0.9 whatever nprobe',
    );
    const low = recommendParams({ n: 1e6, dimension: 128, metric: 'ip', memoryBudgetBytes: budget, targetRecall: 0.8 });
    expect(low.m).toBe(16);
    expect(low.warnings.join('\n')).not.toMatch(/cap recall/);
    // The default m (dimension / 4) does not trigger it.
    expect(recommendParams({ n: 1e6, dimension: 128, metric: 'ip', targetRecall: 0.99 }).warnings.join('\n')).not.toMatch(
      /under 2 bits per dimension/,
    );
  });

  it('warns when the precomputed L2 table outweighs the codes', () => {
    const l2 = recommendParams({ n: 1e6, dimension: 128 });
    expect(l2.warnings).toContain(
      "metric 'l2': Faiss precomputes a table of nlist·m·2^nbits floats (256.0 MiB) when training, more than the codes and ids (38.1 MiB); it is part of memoryBytes",
    );
    expect(recommendParams({ n: 1e6, dimension: 128, metric: 'cosine' }).warnings).toEqual([]);
  });

  it('warns about flat-quantizer cost above 65536 lists', () => {
    const r = recommendParams({ n: 1e9, dimension: 128 });
    expect(r.nlist).toBe(262144);
    expect(r.warnings).toEqual([expect.stringMatching(/^nlist = 262144: the coarse quantizer is flat/)]);
  });

  it('keeps the training set within one Float32Array', () => {
    const r = recommendParams({ n: 1e9, dimension: 768 });
    expect(r.nlist).toBe(131072); // 2^18 would need 39 × 2^18 × 768 > 2^32 floats
    expect(r.trainSize).toBe(Math.floor(2 ** 32 / 768));
    expect(r.warnings).toContain(
      'trainSize = 5592405: limited so that trainSize·dimension fits one Float32Array (2^32 elements)',
    );
  });

  it('caps nprobe at nlist and says so', () => {
    const r = recommendParams({ n: 1000, dimension: 128, targetRecall: 0.999 });
    expect(r.nprobe).toBe(r.nlist);
    expect(r.warnings).toContain('nprobe = nlist = 16: targetRecall 0.999 would need about 352 probes, so every list is scanned');
  });
});

describe('recommendParams: validation', () => {
  const ok = { n: 1e6, dimension: 128 };
  const cases: [string, unknown, typeof TypeError | typeof RangeError, string][] = [
    ['no options', undefined, TypeError, 'Expected an options object for options but received undefined'],
    ['null', null, TypeError, 'Expected an options object for options but received null'],
    ['missing n', { dimension: 128 }, TypeError, 'Expected an integer for n but received undefined'],
    ['missing dimension', { n: 1e6 }, TypeError, 'Expected an integer for dimension but received undefined'],
    ['n as string', { ...ok, n: '1000' }, TypeError, "Expected an integer for n but received '1000'"],
    ['n = 0', { ...ok, n: 0 }, RangeError, 'Expected an integer between 1 and 1000000000000 for n but received 0'],
    ['n fractional', { ...ok, n: 1.5 }, RangeError, 'Expected an integer between 1 and 1000000000000 for n but received 1.5'],
    ['n too big', { ...ok, n: 1e13 }, RangeError, 'Expected an integer between 1 and 1000000000000 for n but received 10000000000000'],
    [
      'n = 1',
      { ...ok, n: 1 },
      RangeError,
      'Expected at least 2 vectors (a product quantizer with nbits = 1 trains on 2 or more) for n but received 1',
    ],
    ['dimension 0', { ...ok, dimension: 0 }, RangeError, 'Expected an integer between 1 and 65536 for dimension but received 0'],
    ['dimension too big', { ...ok, dimension: 65537 }, RangeError, 'Expected an integer between 1 and 65536 for dimension but received 65537'],
    ['metric', { ...ok, metric: 'L2' }, TypeError, "Expected 'l2' or 'ip' or 'cosine' for metric but received 'L2'"],
    ['targetRecall as string', { ...ok, targetRecall: '0.9' }, TypeError, "Expected a number for targetRecall but received '0.9'"],
    ['targetRecall 1', { ...ok, targetRecall: 1 }, RangeError, 'Expected a number greater than 0 and less than 1 for targetRecall but received 1'],
    ['targetRecall 0', { ...ok, targetRecall: 0 }, RangeError, 'Expected a number greater than 0 and less than 1 for targetRecall but received 0'],
    ['targetRecall NaN', { ...ok, targetRecall: NaN }, RangeError, 'Expected a number greater than 0 and less than 1 for targetRecall but received NaN'],
    [
      'budget 0',
      { ...ok, memoryBudgetBytes: 0 },
      RangeError,
      'Expected an integer between 1 and 9007199254740991 for memoryBudgetBytes but received 0',
    ],
    ['budget as bigint', { ...ok, memoryBudgetBytes: 10n ** 9n }, TypeError, 'Expected an integer for memoryBudgetBytes but received 1000000000n'],
    [
      'unknown option',
      { ...ok, nprobe: 4 },
      TypeError,
      "Unknown option 'nprobe' for options; known options: n, dimension, metric, memoryBudgetBytes, targetRecall",
    ],
    ['misspelt option', { ...ok, targetrecall: 0.9 }, TypeError, "Unknown option 'targetrecall' for options; did you mean 'targetRecall'?"],
  ];

  it.each(cases)('%s', (_, options, kind, message) => {
    const error = thrown(() => recommendParams(options as Parameters<typeof recommendParams>[0]));
    expect(error).toBeInstanceOf(kind);
    expect(error.constructor).toBe(kind);
    expect(error.message).toBe(message);
  });

  it('accepts the bounds', () => {
    expect(recommendParams({ n: 2, dimension: 1 }).m).toBe(1);
    expect(recommendParams({ n: 1e12, dimension: 65536 }).m).toBe(16384);
    expect(recommendParams({ ...ok, targetRecall: 1e-9 }).nprobe).toBe(1);
  });
});

describe('recommendParams: refinement', () => {
  it('recommends no re-ranking when the code can reach the target', () => {
    const r = recommendParams({ n: 1e6, dimension: 128, metric: 'ip', targetRecall: 0.9 });
    expect([r.refine, r.refineBytesPerVector]).toEqual(['none', 0]);
  });

  it('recommends sq8 re-ranking for a high target and says what it costs', () => {
    const r = recommendParams({ n: 1e6, dimension: 100, metric: 'cosine', targetRecall: 0.95 });
    expect(r.refine).toBe('sq8');
    // The same 25-byte code in FastScan form: 50 sub-quantizers of 4 bits.
    expect([r.fastScan, r.m, r.nbits, r.bytesPerVector]).toEqual([true, 50, 4, 25 + 8]);
    expect(r.warnings).toContain(
      'fastScan: 50 4-bit sub-quantizers (the same 25-byte codes as 25 8-bit ones), scanned several times faster; the sq8 re-ranking restores their precision',
    );
    expect(r.refineBytesPerVector).toBe(100 + 40);
    expect(r.warnings.find((w) => w.startsWith("refine = 'sq8'"))).toMatch(
      /^refine = 'sq8': \d+-byte codes likely cap recall@10 near 0\.\d\d, below targetRecall 0\.95; re-ranking costs 140 more bytes per vector$/,
    );
  });

  it('recommends flat re-ranking above 0.99, and falls back to sq8 or none within a budget', () => {
    expect(recommendParams({ n: 1e5, dimension: 128, metric: 'ip', targetRecall: 0.995 }).refine).toBe('flat');
    const base = recommendParams({ n: 1e5, dimension: 128, metric: 'ip', targetRecall: 0.995 });
    const sq8Budget = base.memoryBytes + 1e5 * (128 + 40);
    expect(recommendParams({ n: 1e5, dimension: 128, metric: 'ip', targetRecall: 0.995, memoryBudgetBytes: sq8Budget }).refine).toBe('sq8');
    const sq8 = recommendParams({ n: 1e5, dimension: 128, metric: 'ip', targetRecall: 0.995, memoryBudgetBytes: sq8Budget });
    expect(sq8.m).toBe(base.m); // the budget went to the copy, not to finer codes
    expect(sq8.memoryBytes + 1e5 * sq8.refineBytesPerVector).toBeLessThanOrEqual(sq8Budget);
    const tight = recommendParams({ n: 1e5, dimension: 128, metric: 'ip', targetRecall: 0.995, memoryBudgetBytes: base.memoryBytes });
    expect(tight.refine).toBe('none');
    expect(tight.warnings.join('\n')).toMatch(/does not fit memoryBudgetBytes/);
  });

  it('estimates the cap from the measured GloVe points', () => {
    expect(estimatedRecallCap(2)).toBeCloseTo(0.66, 2);
    expect(estimatedRecallCap(4)).toBeCloseTo(0.88, 2);
    expect(estimatedRecallCap(8)).toBeGreaterThan(0.98);
  });
});
