// Index.setSearchDefaults: search options stored in the index itself. A search
// that sets nothing must equal one that passes the same options explicitly, and
// the settings Faiss's format holds must survive write → read.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Index, type SearchDefaults } from 'faiss-native';
import { hasSift10k, loadSift10k, sift10kDir } from '../tools/datasets.mjs';
import { expectSameResults, tempDir } from './helpers';

const missing = hasSift10k() ? undefined : `SIFT10K not found in ${sift10kDir}`;
const BASE_ROWS = 5000;
const QUERY_ROWS = 100;

interface Case {
  description: string;
  defaults: SearchDefaults;
  // What the file keeps (maxCodes is not in Faiss's format).
  persisted: SearchDefaults;
}

const CASES: Case[] = [
  { description: 'HNSW32', defaults: { efSearch: 24 }, persisted: { efSearch: 24 } },
  { description: 'IVF64,Flat', defaults: { nprobe: 5, maxCodes: 900 }, persisted: { nprobe: 5, maxCodes: 0 } },
  {
    description: 'IVF64,PQ16x4fsr,Refine(SQ8)',
    defaults: { nprobe: 6, kFactor: 2 },
    persisted: { nprobe: 6, kFactor: 2, maxCodes: 0 },
  },
  { description: 'IVF32_HNSW16,Flat', defaults: { nprobe: 3, quantizerEfSearch: 12 }, persisted: { nprobe: 3, quantizerEfSearch: 12, maxCodes: 0 } },
  { description: 'IVF64,RaBitQ', defaults: { nprobe: 7, qb: 2 }, persisted: { nprobe: 7, qb: 2, maxCodes: 0 } },
];

describe.skipIf(missing !== undefined)(`Index.setSearchDefaults on SIFT10K ${missing ?? ''}`, () => {
  const sift = missing ? undefined : loadSift10k();
  const dimension = sift?.dimension ?? 128;
  const base = sift?.base.data.subarray(0, BASE_ROWS * dimension) ?? new Float32Array();
  const queries = sift?.queries.data.subarray(0, QUERY_ROWS * dimension) ?? new Float32Array();
  const dir = tempDir('faiss-native-defaults-');

  async function built(description: string): Promise<Index> {
    const index = Index.fromFactory(dimension, description);
    await index.train(base);
    await index.add(base);
    return index;
  }

  for (const c of CASES) {
    it(`${c.description}: stored options act as the search's own, and persist in the file`, async () => {
      const index = await built(c.description);
      const explicit = await index.search(queries, 10, c.defaults);
      const before = await index.search(queries, 10);
      await index.setSearchDefaults(c.defaults);
      expect(index.searchDefaults).toMatchObject(c.defaults);
      expectSameResults(await index.search(queries, 10), explicit);
      expectSameResults(index.searchSync(queries, 10), explicit);
      // The old defaults differ, so the setting changed something.
      expect(before.labels).not.toEqual(explicit.labels);

      const file = path.join(dir, `${c.description.replace(/[^A-Za-z0-9]/g, '_')}.faiss`);
      await index.write(file);
      const again = await Index.read(file);
      expect(again.searchDefaults).toMatchObject(c.persisted);
      if (c.defaults.maxCodes === undefined) expectSameResults(await again.search(queries, 10), explicit);
      index.dispose();
      again.dispose();
    });
  }

  it('reports the defaults an index starts with, only for the options it takes', async () => {
    const hnsw = Index.fromFactory(dimension, 'HNSW32');
    expect(hnsw.searchDefaults).toEqual({ efSearch: 16 });
    const ivf = Index.fromFactory(dimension, 'IVF16,Flat');
    expect(ivf.searchDefaults).toEqual({ nprobe: 1, maxCodes: 0 });
    expect(Index.fromFactory(dimension, 'Flat').searchDefaults).toEqual({});
    // nprobe is clamped to nlist, as per-call nprobe is.
    ivf.setSearchDefaultsSync({ nprobe: 1000 });
    expect(ivf.searchDefaults.nprobe).toBe(16);
    hnsw.dispose();
    ivf.dispose();
  });

  it('sets the defaults of a memory-mapped (read-only) index too: they are settings, not data', async () => {
    const index = await built('IVF64,Flat');
    const file = path.join(dir, 'mapped.faiss');
    await index.write(file);
    const mapped = await Index.read(file, { mmap: true });
    expect(mapped.readOnly).toBe(true);
    await mapped.setSearchDefaults({ nprobe: 5 });
    expect(mapped.searchDefaults.nprobe).toBe(5);
    expectSameResults(await mapped.search(queries, 10), await index.search(queries, 10, { nprobe: 5 }));
    mapped.dispose();
    index.dispose();
  });

  it('rejects an option the index does not take, and bad values, without changing anything', async () => {
    const hnsw = Index.fromFactory(dimension, 'HNSW32');
    await expect(hnsw.setSearchDefaults({ nprobe: 4 })).rejects.toThrow(
      new RangeError('IndexHNSWFlat does not take nprobe; its search options are efSearch, filter, threads'),
    );
    expect(() => hnsw.setSearchDefaultsSync({ efSearch: 0 })).toThrow(
      new RangeError('Expected an integer between 1 and 1073741824 for efSearch but received 0'),
    );
    expect(() => hnsw.setSearchDefaultsSync({ efSearch: 2.5 })).toThrow(RangeError);
    expect(() => hnsw.setSearchDefaultsSync({ filter: { ids: new BigInt64Array(1) } } as SearchDefaults)).toThrow(
      new TypeError("Unknown option 'filter' for options; known options: nprobe, efSearch, quantizerEfSearch, maxCodes, qb, kFactor"),
    );
    expect(() => hnsw.setSearchDefaultsSync(undefined as unknown as SearchDefaults)).toThrow(
      new TypeError('Expected an options object for options but received undefined'),
    );
    expect(hnsw.searchDefaults).toEqual({ efSearch: 16 });
    hnsw.dispose();
    expect(() => hnsw.setSearchDefaultsSync({ efSearch: 8 })).toThrow(/disposed/);
  });
});
