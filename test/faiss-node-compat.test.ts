// faiss-node-compat beyond faiss-node's own suite (test/faiss-node-suite.test.ts):
// how it loads, its types, and where it fixes faiss-node (Faiss exceptions as
// errors instead of aborts, Float32Array input, row renumbering on removal).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as faiss from 'faiss-node-compat';
import { FaissError } from 'faiss-native';
import { tempDir } from './helpers';

const { Index, IndexFlatIP, IndexFlatL2, MetricType } = faiss;
const ROOT = path.join(__dirname, '..');

function squares(): InstanceType<typeof IndexFlatL2> {
  const index = new IndexFlatL2(2);
  index.add([0, 0, 1, 0, 2, 0, 3, 0]);
  return index;
}

describe('faiss-node-compat', () => {
  const dir = tempDir('faiss-node-compat-');

  it('loads as CommonJS, as the default export of an ES module, and by named ES imports', () => {
    const script = `
      const require = (await import('node:module')).createRequire(import.meta.url);
      const cjs = require('faiss-node-compat');
      const esm = await import('faiss-node-compat');
      console.log(JSON.stringify({
        default: esm.default === cjs,
        named: ['Index', 'IndexFlatL2', 'IndexFlatIP', 'MetricType'].every((name) => esm[name] === cjs[name]),
        ip: esm.MetricType.METRIC_INNER_PRODUCT,
      }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ default: true, named: true, ip: 0 });
  });

  it("declares faiss-node's types: each side's declarations are assignable to the other's", () => {
    const theirs = path.join(ROOT, 'node_modules', 'faiss-node', 'lib', 'index');
    const ours = path.join(ROOT, 'packages', 'faiss-node-compat', 'index');
    const check = path.join(dir, 'types-check.ts');
    writeFileSync(
      check,
      `import * as Theirs from ${JSON.stringify(theirs)};
import * as Ours from ${JSON.stringify(ours)};
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const same: [
  Same<typeof Theirs.Index, typeof Ours.Index>,
  Same<typeof Theirs.IndexFlatL2, typeof Ours.IndexFlatL2>,
  Same<typeof Theirs.IndexFlatIP, typeof Ours.IndexFlatIP>,
  Same<typeof Theirs.MetricType, typeof Ours.MetricType>,
  Same<Theirs.SearchResult, Ours.SearchResult>,
  Same<Theirs.Index, Ours.Index>,
] = [true, true, true, true, true, true];
// Code written for faiss-node compiles against faiss-node-compat.
const index: Ours.IndexFlatL2 = new Ours.IndexFlatL2(2);
index.add([1, 0]);
const found: Ours.SearchResult = index.search([1, 0], 1);
export const first: number = found.labels[0];
export const flat: Ours.Index = Ours.Index.fromFactory(2, 'Flat', Ours.MetricType.METRIC_INNER_PRODUCT);
`,
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = spawnSync(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--skipLibCheck', 'false', '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules', '@types'), check],
      { encoding: 'utf8' },
    );
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('takes Float32Array vectors and queries as well as number[]', () => {
    const index = new IndexFlatL2(2);
    index.add(new Float32Array([0, 0, 1, 0, 2, 0]));
    index.train(new Float32Array([0, 0]));
    expect(index.ntotal()).toBe(3);
    const fromTyped = index.search(new Float32Array([1.9, 0]), 2);
    expect(fromTyped.labels).toEqual([2, 1]);
    expect(index.search([1.9, 0], 2)).toEqual(fromTyped);
    expect(Array.isArray(fromTyped.distances)).toBe(true);
    expect(() => index.search(new Float32Array(3), 1)).toThrow('Invalid the given array length.');
  });

  it('removeIds renumbers the vectors after the removed ones, for new indexes and fromFactory("Flat")', () => {
    for (const index of [squares(), Index.fromFactory(2, 'Flat')]) {
      if (index.ntotal() === 0) index.add([0, 0, 1, 0, 2, 0, 3, 0]);
      expect(index.removeIds([1])).toBe(1);
      expect(index.search([3, 0], 3)).toEqual({ distances: [0, 1, 9], labels: [2, 1, 0] });
    }
  });

  it('keeps the metric: IndexFlatIP and fromFactory with METRIC_INNER_PRODUCT rank by inner product', () => {
    const ip = new IndexFlatIP(2);
    const factory = Index.fromFactory(2, 'Flat', MetricType.METRIC_INNER_PRODUCT);
    for (const index of [ip, factory]) {
      index.add([1, 0, 3, 0, 2, 0]);
      expect(index.search([1, 0], 3)).toEqual({ distances: [3, 2, 1], labels: [1, 2, 0] });
    }
    expect(IndexFlatIP.fromBuffer(ip.toBuffer()).search([1, 0], 1)).toEqual({ distances: [3], labels: [1] });
  });

  it('index types beyond flat, through fromFactory: HNSW trains, adds and finds', () => {
    const index = Index.fromFactory(2, 'HNSW16', MetricType.METRIC_L2);
    index.train([0, 0, 1, 1]);
    index.add([0, 0, 1, 1, 5, 5]);
    expect(index.search([4.5, 4.5], 1).labels).toEqual([2]);
  });

  it("turns Faiss exceptions, which abort faiss-node's process, into thrown Errors", () => {
    const index = squares();
    // faiss-node aborts on each of these.
    expect(() => index.write(path.join(dir, 'no-such-dir', 'x.index'))).toThrow(FaissError);
    expect(() => index.search([0, 0], 0)).toThrow(RangeError);
    const ivf = Index.fromFactory(2, 'IVF2,Flat');
    expect(() => ivf.add([0, 0])).toThrow(/not trained/);
    expect(() => Index.fromFactory(2, 'HNSW16').removeIds([0])).toThrow(/does not support removeIds/);
    expect(() => index.mergeFrom(new IndexFlatIP(2))).toThrow(/cannot merge/);
    expect(() => Index.fromFactory(2, 'NoSuchIndex')).toThrow(/Faiss cannot build 'NoSuchIndex'/);
    expect(() => Index.fromBuffer(Buffer.from('not an index'))).toThrow(FaissError);
    expect(index.ntotal()).toBe(4);
  });

  it("reports a missing file in Faiss's own words", () => {
    const missing = path.join(dir, 'missing.index');
    expect(() => IndexFlatL2.read(missing)).toThrow(
      `Error in faiss::FileIOReader::FileIOReader(const char*) at faiss/impl/io.cpp:68: Error: 'f' failed: could not open ${missing} for reading: No such file or directory`,
    );
  });

  it('refuses metrics faiss-native does not store, naming the ones it does', () => {
    expect(() => Index.fromFactory(2, 'Flat', MetricType.METRIC_L1)).toThrow(
      new RangeError('Unsupported metric METRIC_L1: use MetricType.METRIC_L2 or MetricType.METRIC_INNER_PRODUCT'),
    );
  });

  it('throws when k exceeds ntotal, as faiss-node does', () => {
    expect(() => squares().search([0, 0], 5)).toThrow('Invalid the number of k (cannot be given a value greater than `ntotal`: 4).');
  });

  it('reads and writes files: write → read, and the same bytes through toBuffer', () => {
    const index = squares();
    const file = path.join(dir, 'squares.index');
    index.write(file);
    const read = Index.read(file);
    expect(read).toBeInstanceOf(Index);
    expect(read.ntotal()).toBe(4);
    expect(read.toBuffer().equals(index.toBuffer())).toBe(true);
    expect(IndexFlatL2.read(file)).toBeInstanceOf(IndexFlatL2);
  });
});
