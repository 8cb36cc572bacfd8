// Index types faiss-native's file check does not know yet (LSH, NSG, additive
// quantizers, IVF-PQR, spectral hashing): refused by default, read by Faiss
// unchecked with { trusted: true }, and then searched exactly as Faiss 1.15
// searches the same file from C++. Files come from Python faiss 1.7.3.
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
}

const TYPES: UncheckedType[] = [
  { description: 'LSH', indexType: 'IndexLSH', parameters: '', search: {}, tag: 'IxHe' },
  { description: 'NSG16,Flat', indexType: 'IndexNSGFlat', parameters: '', search: {}, tag: 'INSf' },
  { description: 'RQ4x8', indexType: 'IndexResidualQuantizer', parameters: '', search: {}, tag: 'IxRq' },
  { description: 'IVF16,PQ16+16', indexType: 'IndexIVFPQR', parameters: 'nprobe=4', search: { nprobe: 4 }, tag: 'IwQR' },
  { description: 'IVF16,ITQ64,SH1.0', indexType: 'IndexIVFSpectralHash', parameters: 'nprobe=4', search: { nprobe: 4 }, tag: 'IwSh' },
];

describe.skipIf(skip)(`Index.read with { trusted: true }${skip ? ` (skipped: ${skip})` : ''}`, () => {
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

    it('loads trusted (file, Promise, buffer, mmap) and returns the labels Faiss 1.15 returns from C++', async () => {
      const theirs = searchWithFaiss(fileOf(type), queriesFile, K, type.parameters, path.join(dir, 'cxx'));
      const loaded = [
        Index.readSync(fileOf(type), { trusted: true }),
        await Index.read(fileOf(type), { trusted: true }),
        Index.fromBuffer(readFileSync(fileOf(type)), { trusted: true }),
        Index.readSync(fileOf(type), { trusted: true, mmap: true }),
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
      const index = Index.readSync(fileOf(type), { trusted: true });
      const before = index.searchSync(queries, K, type.search);
      const again = path.join(dir, `again-${path.basename(fileOf(type))}`);
      index.writeSync(again);
      const reread = Index.readSync(again, { trusted: true });
      expect(reread.searchSync(queries, K, type.search).labels).toEqual(before.labels);
      reread.dispose();
      index.dispose();
    });

    it('never returns unfiltered results: a filter is applied or refused, and the index stays usable', () => {
      const index = Index.readSync(fileOf(type), { trusted: true });
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
    for (const type of [TYPES[0], TYPES[3]]) {
      const bytes = readFileSync(fileOf(type));
      for (const cut of [4, 60, bytes.length >> 1, bytes.length - 1]) {
        expect(() => Index.fromBuffer(bytes.subarray(0, cut), { trusted: true })).toThrow(FaissError);
      }
    }
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
