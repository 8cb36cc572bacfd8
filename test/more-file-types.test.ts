// Index files beyond the factory types of faiss-index.test.ts, written by
// Python faiss 1.7.3: LSH, NSG and IVF-PQR, which the file check walks, and types
// it does not know yet (additive quantizers, spectral hashing), refused by
// default and read by Faiss unchecked with { trusted: true }. Either way they
// search exactly as Faiss 1.15 searches the same file from C++.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaissError, Index } from 'faiss-native';
import { hasSift10k, loadSift10k, sift10kDir } from '../tools/datasets.mjs';
import { tempDir } from './helpers';
import { searchWithFaiss } from './native/faiss-cxx';
import { faissTool, pythonFaissMissing } from './python/faiss-tool';

const missing = hasSift10k() ? undefined : `SIFT10K not found in ${sift10kDir}`;
const skip = missing ?? pythonFaissMissing();
const ROWS = 2000;
const TRAIN_ROWS = 1000;
const K = 10;

interface UncheckedType {
  description: string;
  indexType: string;
  // Faiss ParameterSpace settings, and the same as search options.
  parameters: string;
  search: { nprobe?: number };
  tag: string;
  // The file check walks this type: it loads without { trusted: true }.
  checked: boolean;
}

const TYPES: UncheckedType[] = [
  { description: 'LSH', indexType: 'IndexLSH', parameters: '', search: {}, tag: 'IxHe', checked: true },
  { description: 'NSG16,Flat', indexType: 'IndexNSGFlat', parameters: '', search: {}, tag: 'INSf', checked: true },
  { description: 'RQ4x8', indexType: 'IndexResidualQuantizer', parameters: '', search: {}, tag: 'IxRq', checked: false },
  { description: 'IVF16,PQ16+16', indexType: 'IndexIVFPQR', parameters: 'nprobe=4', search: { nprobe: 4 }, tag: 'IwQR', checked: true },
  { description: 'IVF16,ITQ64,SH1.0', indexType: 'IndexIVFSpectralHash', parameters: 'nprobe=4', search: { nprobe: 4 }, tag: 'IwSh', checked: false },
];

describe.skipIf(skip)(`more index file types${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const dir = tempDir();
  const fileOf = (type: UncheckedType) => path.join(dir, `${type.description.replace(/[^A-Za-z0-9]/g, '_')}.faiss`);
  const queriesFile = path.join(dir, 'queries.f32');
  let queries: Float32Array;

  beforeAll(async () => {
    const sift = loadSift10k();
    queries = sift.queries.data;
    writeFileSync(path.join(dir, 'base.f32'), sift.base.data.subarray(0, ROWS * 128));
    writeFileSync(queriesFile, queries);
    // Two at a time: one per core.
    const pending = [...TYPES];
    const worker = async () => {
      for (let type = pending.shift(); type; type = pending.shift()) {
        await faissTool('factory', { base: path.join(dir, 'base.f32'), dim: 128, description: type.description, train: TRAIN_ROWS, out: fileOf(type) });
      }
    };
    await Promise.all([worker(), worker()]);
  }, 300_000);

  describe.each(TYPES)('$description', (type) => {
    if (!type.checked) {
      it('is refused by default, naming its type and the trusted option', () => {
        for (const read of [() => Index.readSync(fileOf(type)), () => Index.fromBuffer(readFileSync(fileOf(type)))]) {
          try {
            read().dispose();
            expect.unreachable('an unchecked type loaded without { trusted: true }');
          } catch (error) {
            expect(error).toBeInstanceOf(FaissError);
            expect((error as FaissError).code).toBe('ERR_FAISS_UNSUPPORTED');
            expect((error as Error).message).toContain(`index type '${type.tag}'`);
            expect((error as Error).message).toContain('{ trusted: true }');
          }
        }
      });
    }

    it(`loads${type.checked ? '' : ' trusted'} (file, Promise, buffer, mmap) and returns the labels Faiss 1.15 returns from C++`, async () => {
      const theirs = searchWithFaiss(fileOf(type), queriesFile, K, type.parameters, path.join(dir, 'cxx'));
      const trusted = !type.checked;
      const loaded = [
        Index.readSync(fileOf(type), { trusted }),
        await Index.read(fileOf(type), { trusted }),
        Index.fromBuffer(readFileSync(fileOf(type)), { trusted }),
        Index.readSync(fileOf(type), { trusted, mmap: true }),
      ];
      for (const index of loaded) {
        expect(index.indexType).toBe(type.indexType);
        expect(index.ntotal).toBe(ROWS);
        const ours = index.searchSync(queries, K, { ...type.search, threads: 1 });
        expect(ours.labels).toEqual(theirs.labels);
        for (let i = 0; i < ours.distances.length; i++) {
          expect(Math.abs(ours.distances[i] - theirs.distances[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(theirs.distances[i])));
        }
        index.dispose();
      }
    });

    it('writes what it read: the file reads back to the same results', () => {
      const index = Index.readSync(fileOf(type), { trusted: !type.checked });
      const before = index.searchSync(queries, K, type.search);
      const again = path.join(dir, `again-${path.basename(fileOf(type))}`);
      index.writeSync(again);
      const reread = Index.readSync(again, { trusted: !type.checked });
      expect(reread.searchSync(queries, K, type.search).labels).toEqual(before.labels);
      reread.dispose();
      index.dispose();
    });

    it('never returns unfiltered results: a filter is applied or refused, and the index stays usable', () => {
      const index = Index.readSync(fileOf(type), { trusted: !type.checked });
      const unfiltered = index.searchSync(queries, K, type.search);
      try {
        const filtered = index.searchSync(queries, K, { ...type.search, filter: { range: [0, ROWS / 2] } });
        for (const label of filtered.labels) expect(label < BigInt(ROWS / 2)).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(FaissError);
        expect((error as Error).message).toMatch(new RegExp(`${type.indexType}|selector`));
      }
      expect(index.searchSync(queries, K, type.search).labels).toEqual(unfiltered.labels);
      index.dispose();
    });
  });

  it('a cut file of an unchecked type is a FaissError from Faiss, not a crash', () => {
    for (const type of TYPES.filter((t) => !t.checked)) {
      const bytes = readFileSync(fileOf(type));
      for (const cut of [4, 60, bytes.length >> 1, bytes.length - 1]) {
        expect(() => Index.fromBuffer(bytes.subarray(0, cut), { trusted: true })).toThrow(FaissError);
      }
    }
  });

  it('a cut LSH, NSG or IVF-PQR file is ERR_FAISS_BAD_FILE, trusted or not', () => {
    for (const type of TYPES.filter((t) => t.checked)) {
      const bytes = readFileSync(fileOf(type));
      for (const cut of [60, bytes.length >> 1, bytes.length - 1]) {
        for (const trusted of [false, true]) {
          try {
            Index.fromBuffer(bytes.subarray(0, cut), { trusted }).dispose();
            expect.unreachable(`${type.description} cut at ${cut} loaded`);
          } catch (error) {
            expect((error as FaissError).code).toBe('ERR_FAISS_BAD_FILE');
          }
        }
      }
    }
  });

  it('IVF-PQR from a factory string keeps row labels under an id map, so 64-bit ids work', () => {
    const sift = loadSift10k();
    const index = Index.fromFactory(128, 'IVF16,PQ16+16');
    index.trainSync(sift.base.data.subarray(0, TRAIN_ROWS * 128));
    const ids = BigInt64Array.from({ length: ROWS }, (_, i) => 5_000_000_000n + BigInt(i));
    index.addWithIdsSync(sift.base.data.subarray(0, ROWS * 128), ids);
    expect(index.indexType).toBe('IndexIVFPQR');
    expect(index.description).toBe('IVF16,PQ16+16');
    const result = index.searchSync(queries, K, { nprobe: 4 });
    for (const label of result.labels) expect(label >= 5_000_000_000n && label < 5_000_000_000n + BigInt(ROWS)).toBe(true);
    const reread = Index.fromBuffer(index.toBuffer());
    // Read back, the description is Faiss's reverse factory's, with the refinement restored.
    expect(reread.description).toBe('IDMap2,IVF16,PQ16+16');
    expect(Index.readSync(fileOf(TYPES[3])).description).toBe('IVF16,PQ16+16');
    expect(reread.searchSync(queries, K, { nprobe: 4 }).labels).toEqual(result.labels);
    reread.dispose();
    index.dispose();
  });

  it('NSG searched for more neighbours than it holds: padded as Faiss pads, never a hang', () => {
    // NSG seeds its pool with max(search_L, k) distinct rows and, in Faiss, loops until it has them.
    const sift = loadSift10k();
    const rows = 150;
    const nsg = Index.fromFactory(128, 'NSG8,Flat');
    nsg.addSync(sift.base.data.subarray(0, rows * 128));
    const k = 200;
    const result = nsg.searchSync(queries.subarray(0, 3 * 128), k);
    for (let q = 0; q < 3; q++) {
      const found = result.labels.subarray(q * k, q * k + rows);
      expect(new Set(found).size).toBe(rows);
      for (const label of found) expect(label >= 0n && label < BigInt(rows)).toBe(true);
      expect([...result.labels.subarray(q * k + rows, (q + 1) * k)]).toEqual(new Array(k - rows).fill(-1n));
      expect([...result.distances.subarray(q * k + rows, (q + 1) * k)]).toEqual(new Array(k - rows).fill(3.4028234663852886e38));
    }
    // The same through the file, and with a stored search_L above the row count.
    const bytes = Buffer.from(nsg.toBuffer());
    const again = Index.fromBuffer(bytes);
    expect(again.searchSync(queries.subarray(0, 3 * 128), k).labels).toEqual(result.labels);
    again.dispose();
    // IxM2 and its header (37 bytes), then INSf, its header, GK, build_type, 4 NNDescent fields, ntotal, R, L, C.
    const searchLAt = 37 + 4 + 33 + 4 + 1 + 16 + 16;
    expect(bytes.toString('latin1', 37, 41)).toBe('INSf');
    expect(bytes.readInt32LE(searchLAt - 16)).toBe(rows);
    bytes.writeInt32LE(100_000, searchLAt);
    const wide = Index.fromBuffer(bytes);
    const ten = wide.searchSync(queries.subarray(0, 3 * 128), 10);
    for (const label of ten.labels) expect(label >= 0n && label < BigInt(rows)).toBe(true);
    wide.dispose();
    nsg.dispose();
  });

  it('types the check knows are still checked when trusted', () => {
    const hnsw = Index.fromFactory(128, 'HNSW16');
    hnsw.addSync(queries);
    const bytes = hnsw.toBuffer();
    hnsw.dispose();
    try {
      Index.fromBuffer(bytes.subarray(0, bytes.length >> 1), { trusted: true });
      expect.unreachable('a cut HNSW file loaded');
    } catch (error) {
      expect((error as FaissError).code).toBe('ERR_FAISS_BAD_FILE');
    }
    expect(() => Index.fromBuffer(bytes, { trusted: 'yes' as unknown as boolean })).toThrow(/trusted/);
  });
});
