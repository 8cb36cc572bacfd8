// LangChain.js's FaissStore (the current @langchain/community) on
// faiss-node-compat, offline: FakeEmbeddings, fromTexts, fromDocuments,
// addVectors, searches with scores, save → load, delete, mergeFrom, and
// loadFromPython on a folder in the format Python LangChain's save_local writes.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers';
import { PYTHON, pythonFaissMissing } from './python/faiss-tool';

const LANGCHAIN = path.join(__dirname, 'langchain');
const pythonMissing = pythonFaissMissing();
const pythonTitle = (name: string) => (pythonMissing ? `${name} (skipped: ${pythonMissing})` : name);

interface Hit {
  text: string;
  metadata: Record<string, unknown>;
  score: number;
}
type Observed = Record<string, Record<string, unknown>> & { faissNodeIsCompat: boolean };

/** Python LangChain's save_local output: the axis vectors 0..2 of 4 dimensions, ids py-0..py-2. */
function writePythonStore(dir: string): void {
  const spec = {
    ids: ['py-0', 'py-1', 'py-2'],
    texts: ['first', 'second', 'third'],
    metadatas: [0, 1, 2].map((i) => ({ source: 'python', i })),
    vectors: [0, 1, 2].map((i) => [0, 1, 2, 3].map((j) => (j === i ? 1 : 0))),
  };
  const run = spawnSync(PYTHON, [path.join(__dirname, 'python', 'langchain_faiss_store.py'), dir], {
    input: JSON.stringify(spec),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`langchain_faiss_store.py failed:\n${run.stderr}`);
}

const texts = (hits: unknown) => (hits as Hit[]).map((hit) => hit.text);

describe('LangChain.js FaissStore on faiss-node-compat', () => {
  const work = tempDir('langchain-faissstore-');
  const pythonStore = path.join(work, 'python-store');
  let observed: Observed;

  beforeAll(() => {
    if (!pythonMissing) writePythonStore(pythonStore);
    const run = spawnSync(
      process.execPath,
      ['--import', './faiss-node-alias.mjs', 'faissstore-scenario.mjs', work, pythonMissing ? '-' : pythonStore],
      { cwd: LANGCHAIN, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } },
    );
    if (run.status !== 0) throw new Error(`the FaissStore scenario failed:\n${run.stderr}`);
    observed = JSON.parse(run.stdout) as Observed;
  });

  it('imports faiss-node as faiss-node-compat', () => {
    expect(observed.faissNodeIsCompat).toBe(true);
  });

  it('fromTexts and similaritySearchWithScore', () => {
    expect(observed.fromTexts.ntotal).toBe(3);
    const hits = observed.fromTexts.hits as Hit[];
    expect(hits).toHaveLength(2);
    // FakeEmbeddings maps every text to one vector: distance 0, ties in insertion order.
    expect(hits.map((hit) => hit.score)).toEqual([0, 0]);
    expect(hits.map((hit) => [hit.text, hit.metadata])).toEqual([['alpha', { n: 1 }], ['beta', { n: 2 }]]);
  });

  it('fromDocuments and similaritySearch', () => {
    expect(observed.fromDocuments).toEqual({ ntotal: 2, texts: ['one', 'two'] });
  });

  it('addVectors with ids', () => {
    expect(observed.addVectors.ids).toEqual(['id-a', 'id-b', 'id-c', 'id-d']);
    expect(observed.addVectors.ntotal).toBe(4);
    expect(observed.addVectors.nearestToC).toEqual([{ text: 'c', metadata: { text: 'c' }, score: 0 }]);
  });

  it('save → load keeps every vector and document', () => {
    expect(observed.load.ntotal).toBe(4);
    expect((observed.load.nearest as Hit[][]).map(texts)).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it("delete: the remaining vectors are renumbered, as FaissStore's id mapping expects", () => {
    expect(observed.delete.ntotal).toBe(3);
    expect((observed.delete.nearest as Hit[][]).map(texts)).toEqual([['a'], ['c'], ['d']]);
    // Squared L2 from axis 3: 0 to d, 2 to a and c.
    const all = observed.delete.all as Hit[];
    expect(all.map((hit) => hit.score)).toEqual([0, 2, 2]);
    expect(texts(all)[0]).toBe('d');
    expect(texts(all).slice(1).sort()).toEqual(['a', 'c']);
  });

  it('mergeFrom', () => {
    expect(observed.mergeFrom.ntotal).toBe(4);
    expect(texts(observed.mergeFrom.nearestToE)).toEqual(['e']);
    expect(texts(observed.mergeFrom.nearestToD)).toEqual(['d']);
  });

  it.skipIf(pythonMissing !== undefined)(pythonTitle("save writes faiss-node's file (an IndexFlatL2), which Python faiss reads"), () => {
    const file = path.join(work, 'saved', 'faiss.index');
    // IxF2: a bare IndexFlatL2, as faiss-node writes it; no id map around it.
    expect(readFileSync(file).toString('latin1', 0, 4)).toBe('IxF2');
    const script = 'import faiss,sys; i=faiss.read_index(sys.argv[1]); print(type(i).__name__, i.metric_type, i.ntotal, i.d)';
    const run = spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('IndexFlat 1 4 4');
  });

  it.skipIf(pythonMissing !== undefined)(pythonTitle("loadFromPython reads Python LangChain's index.faiss + index.pkl"), () => {
    expect(observed.loadFromPython.ntotal).toBe(3);
    const nearest = observed.loadFromPython.nearest as Hit[][];
    expect(nearest.map(texts)).toEqual([['first'], ['second'], ['third']]);
    expect(nearest[1][0].metadata).toEqual({ source: 'python', i: 1 });
    expect(observed.loadFromPythonDelete.ntotal).toBe(2);
    expect(texts(observed.loadFromPythonDelete.nearestToAxis2)).toEqual(['third']);
  });
});
