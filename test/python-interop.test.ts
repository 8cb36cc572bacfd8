// Interop with Python faiss: the same files, read by either side, give the same answers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexIVFPQ } from 'faiss-native';
import { hasSift10k, loadSift10k, sift10kDir } from '../tools/datasets.mjs';
import {
  faissTool,
  pythonFaissMissing,
  pythonResults,
  type PythonIndexInfo,
  type PythonSearch,
} from './python/faiss-tool';

const skipReason = !hasSift10k() ? `SIFT10K not found in ${sift10kDir}` : pythonFaissMissing();
const title = (name: string) => (skipReason ? `${name} (skipped: ${skipReason})` : name);

type Metric = 'l2' | 'ip' | 'cosine';
type Results = { distances: Float32Array; labels: BigInt64Array };

const K = 10;
const NLIST = 64;
const M = 16;
const NPROBES = [1, 8, NLIST];
const STORED_NPROBE = 8;
// Odd ids above 2^53 do not survive a trip through a double.
const ID_OFFSET = 10n ** 16n;
const BASE = path.join(sift10kDir, 'base.fvecs');
const QUERIES = path.join(sift10kDir, 'query.fvecs');
// One OpenMP thread, as on the Python side (see python/faiss-tool.ts). A search splits its
// batch per thread and each slice's coarse distances go through BLAS on their own, so
// different thread counts may round differently in the last bits (see test/helpers.ts);
// the same split on both sides leaves bitwise equality as the expectation. It also keeps
// OpenMP from oversubscribing the cores while vitest runs test files side by side.
const ONE_THREAD = { threads: 1 };
// How Python builds each one: the binding's own construction, or index_factory.
const PYTHON_BUILD: Record<Metric, 'explicit' | 'factory'> = { l2: 'explicit', ip: 'explicit', cosine: 'factory' };

// Labels must be equal. L2 distances may differ in the last bits: Faiss adds each query's
// coarse distance, |q|² + |c|² - 2 q·c, into its results, and the binding computes q·c with
// its own SIMD loop where Python's batches use BLAS. Measured up to 1.4e-5 relative on SIFT10K.
const DISTANCE_TOLERANCE = 2e-5;

/** Labels equal; distances bitwise equal or within DISTANCE_TOLERANCE, relative. */
function expectSameResults(ours: Results, theirs: Results, what: string): void {
  expect(ours.labels.length, what).toBe(theirs.labels.length);
  const labelMismatches: string[] = [];
  const distanceMismatches: string[] = [];
  let worst = 0;
  for (let i = 0; i < ours.labels.length; i++) {
    if (ours.labels[i] !== theirs.labels[i]) labelMismatches.push(`[${i}] ${ours.labels[i]} vs ${theirs.labels[i]}`);
    const a = ours.distances[i];
    const b = theirs.distances[i];
    if (Object.is(a, b)) continue;
    const relative = Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
    worst = Math.max(worst, relative);
    if (!(relative <= DISTANCE_TOLERANCE)) distanceMismatches.push(`[${i}] ${a} vs ${b}`);
  }
  expect(labelMismatches.slice(0, 5), `${what}: ${labelMismatches.length} labels differ`).toEqual([]);
  const count = distanceMismatches.length;
  const summary = `${what}: ${count} distances differ by more than ${DISTANCE_TOLERANCE}, worst ${worst.toExponential(2)}`;
  expect(distanceMismatches.slice(0, 5), summary).toEqual([]);
}

function idsFrom(offset: bigint, count: number): BigInt64Array {
  const ids = new BigInt64Array(count);
  for (let i = 0; i < count; i++) ids[i] = offset + BigInt(i);
  return ids;
}

describe.skipIf(skipReason !== undefined)(title('Python faiss interop on SIFT10K'), () => {
  let dir: string;
  let sift: ReturnType<typeof loadSift10k>;
  const ours = new Map<Metric, { index: IndexIVFPQ; file: string }>();
  const pythons = new Map<Metric, string>();

  beforeAll(() => {
    sift = loadSift10k();
    // Not tempDir(): vitest runs the body of a skipped describe, and the directory would stay.
    dir = mkdtempSync(path.join(tmpdir(), 'faiss-interop-'));
    return () => rmSync(dir, { recursive: true, force: true });
  });
  afterAll(() => {
    for (const { index } of ours.values()) index.dispose();
  });

  /** Trained and filled here with ids ID_OFFSET + i, nprobe 8, written once. */
  function ourIndex(metric: Metric): { index: IndexIVFPQ; file: string } {
    let entry = ours.get(metric);
    if (!entry) {
      const index = new IndexIVFPQ({ dimension: sift.dimension, nlist: NLIST, m: M, nbits: 8, metric });
      index.trainSync(sift.base.data, ONE_THREAD);
      index.addWithIdsSync(sift.base.data, idsFrom(ID_OFFSET, sift.base.count), ONE_THREAD);
      index.nprobe = STORED_NPROBE;
      const file = path.join(dir, `node-${metric}.faiss`);
      index.writeSync(file);
      entry = { index, file };
      ours.set(metric, entry);
    }
    return entry;
  }

  /** The same index, trained, filled and written by Python; returns its path. */
  async function pythonIndex(metric: Metric): Promise<string> {
    let file = pythons.get(metric);
    if (!file) {
      file = path.join(dir, `python-${metric}.faiss`);
      await faissTool('build', {
        base: BASE, nlist: NLIST, m: M, nbits: 8, metric, how: PYTHON_BUILD[metric],
        idOffset: ID_OFFSET, nprobe: STORED_NPROBE, out: file,
      });
      pythons.set(metric, file);
    }
    return file;
  }

  /** Python searches `file` at every nprobe; ours must give the same answers. */
  async function expectSameAsPython(index: IndexIVFPQ, file: string, what: string): Promise<void> {
    const search = await faissTool<PythonSearch>('search', {
      index: file, queries: QUERIES, k: K, nprobe: NPROBES.join(','), out: `${file}.py`,
    });
    expect(search.n).toBe(sift.queries.count);
    for (const nprobe of NPROBES) {
      const results = index.searchSync(sift.queries.data, K, { nprobe, ...ONE_THREAD });
      expectSameResults(results, pythonResults(search, nprobe), `${what}, nprobe ${nprobe}`);
    }
  }

  describe.each(['l2', 'ip', 'cosine'] as const)('%s', (metric) => {
    const pythonHow = PYTHON_BUILD[metric] === 'factory'
      ? `index_factory('${metric === 'cosine' ? 'L2norm,' : ''}IVF${NLIST},PQ${M}x8np')`
      : `IndexIVFPQ(IndexFlat${metric === 'l2' ? 'L2' : 'IP'}, ...)`;

    it(`an index Python built with ${pythonHow} loads here with the same results and 64-bit ids`, async () => {
      const file = await pythonIndex(metric);
      const index = IndexIVFPQ.readSync(file);
      try {
        expect([index.dimension, index.nlist, index.m, index.nbits, index.metric])
          .toEqual([sift.dimension, NLIST, M, 8, metric]);
        expect([index.ntotal, index.nprobe]).toEqual([sift.base.count, STORED_NPROBE]);
        await expectSameAsPython(index, file, `${metric} written by Python`);

        // Every label is one of the ids Python assigned, exactly: no rounding through doubles.
        const { labels } = index.searchSync(sift.queries.data, K);
        for (const label of labels) {
          expect(label >= ID_OFFSET && label < ID_OFFSET + BigInt(sift.base.count), `label ${label}`).toBe(true);
        }
        const odd = labels.find((label) => label % 2n === 1n)!;
        expect(BigInt(Number(odd))).not.toBe(odd);
        if (metric === 'l2') {
          // id - offset is the base row: the true nearest neighbour usually comes first.
          let firstHits = 0;
          for (let q = 0; q < sift.queries.count; q++) {
            if (labels[q * K] - ID_OFFSET === BigInt(sift.groundTruth.data[q * 100])) firstHits++;
          }
          expect(firstHits).toBeGreaterThan(sift.queries.count / 2);
        }
      } finally {
        index.dispose();
      }
    });

    it('an index written here loads in Python with the same shape and results', async () => {
      const { index, file } = ourIndex(metric);
      const info = await faissTool<PythonIndexInfo>('describe', { index: file });
      expect(info).toMatchObject({ d: sift.dimension, ntotal: sift.base.count, isTrained: true });
      expect(info.ivf).toEqual({
        type: 'IndexIVFPQ',
        metric: metric === 'l2' ? 'l2' : 'ip',
        nlist: NLIST,
        m: M,
        nbits: 8,
        nprobe: STORED_NPROBE,
        byResidual: true,
        quantizer: 'IndexFlat',
        quantizerMetric: metric === 'l2' ? 'l2' : 'ip',
      });
      await expectSameAsPython(index, file, `${metric} written here`);
    });

    it('Python faiss writes the file written here back byte for byte', async () => {
      // Python's faiss (1.7.3 on Debian 12) trains with other kernels than the
      // linked Faiss, so the two builds' files differ in their numbers; the format
      // must not: read there and written again, the file is unchanged.
      const { file } = ourIndex(metric);
      const rewritten = path.join(dir, `${metric}-rewritten.faissindex`);
      await faissTool<PythonIndexInfo>('rewrite', { index: file, out: rewritten });
      expect(readFileSync(rewritten).equals(readFileSync(file))).toBe(true);
    });
  });

  describe('cosine as Python sees it', () => {
    it('is IndexPreTransform(NormalizationTransform(d, 2.0)) in front of an inner-product IndexIVFPQ', async () => {
      const info = await faissTool<PythonIndexInfo>('describe', { index: ourIndex('cosine').file });
      expect(info).toMatchObject({
        type: 'IndexPreTransform',
        metric: 'ip',
        chain: [{ type: 'NormalizationTransform', norm: 2 }],
        ivf: { type: 'IndexIVFPQ', metric: 'ip', quantizerMetric: 'ip' },
      });
    });

    it('returns cosine similarities, in Python as here', async () => {
      const { index, file } = ourIndex('cosine');
      const search = await faissTool<PythonSearch>('search', {
        index: file, queries: QUERIES, k: K, nprobe: NLIST, out: `${file}.exhaustive`,
      });
      const theirs = pythonResults(search, NLIST);
      expectSameResults(index.searchSync(sift.queries.data, K, { nprobe: NLIST, ...ONE_THREAD }), theirs, 'cosine');
      // Each score is the exact cosine of query and neighbour, up to PQ error.
      const d = sift.dimension;
      let worst = 0;
      let total = 0;
      for (let i = 0; i < theirs.labels.length; i++) {
        const query = Math.floor(i / K);
        const q = sift.queries.data.subarray(query * d, (query + 1) * d);
        const row = Number(theirs.labels[i] - ID_OFFSET);
        const b = sift.base.data.subarray(row * d, (row + 1) * d);
        let dot = 0;
        let qq = 0;
        let bb = 0;
        for (let j = 0; j < d; j++) {
          dot += q[j] * b[j];
          qq += q[j] * q[j];
          bb += b[j] * b[j];
        }
        const error = Math.abs(theirs.distances[i] - dot / Math.sqrt(qq * bb));
        worst = Math.max(worst, error);
        total += error;
      }
      // Measured: mean 0.020, worst 0.093. Squared L2 of unit vectors (2 - 2·cos) or raw
      // inner products (~1e5 on SIFT) would be off by far more.
      expect(total / theirs.labels.length).toBeLessThan(0.04);
      expect(worst).toBeLessThan(0.15);
    });

    it("survives a Python read + write: still 'cosine' here, same results, same bytes", async () => {
      const { index, file } = ourIndex('cosine');
      const rewritten = path.join(dir, 'node-cosine-rewritten.faiss');
      expect((await faissTool<PythonIndexInfo>('rewrite', { index: file, out: rewritten })).type).toBe('IndexPreTransform');
      expect(readFileSync(rewritten).equals(readFileSync(file))).toBe(true);
      const again = IndexIVFPQ.readSync(rewritten);
      try {
        expect([again.metric, again.nlist, again.m, again.ntotal, again.nprobe])
          .toEqual(['cosine', NLIST, M, sift.base.count, STORED_NPROBE]);
        for (const nprobe of [1, STORED_NPROBE]) {
          expectSameResults(
            again.searchSync(sift.queries.data, K, { nprobe }),
            index.searchSync(sift.queries.data, K, { nprobe }),
            `rewritten cosine, nprobe ${nprobe}`,
          );
        }
      } finally {
        again.dispose();
      }
    });
  });
});
