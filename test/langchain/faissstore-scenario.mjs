// LangChain.js's FaissStore end to end on whatever `faiss-node` resolves to
// (run with --import ./faiss-node-alias.mjs). Prints what it observed as JSON.
// Usage: node --import ./faiss-node-alias.mjs faissstore-scenario.mjs WORK_DIR PYTHON_STORE_DIR|-
import { createRequire } from 'node:module';
import path from 'node:path';
import { FaissStore } from '@langchain/community/vectorstores/faiss';
import { Document } from '@langchain/core/documents';
import { FakeEmbeddings } from '@langchain/core/utils/testing';

const [workDir, pythonStoreDir] = process.argv.slice(2);
const embeddings = new FakeEmbeddings();
const observed = {};

const faissNode = (await import('faiss-node')).default;
const compat = createRequire(import.meta.url)('../../packages/faiss-node-compat');
observed.faissNodeIsCompat = faissNode.IndexFlatL2 === compat.IndexFlatL2;

const hits = (results) => results.map(([doc, score]) => ({ text: doc.pageContent, metadata: doc.metadata, score }));
const nearest = async (store, vector, k = 1) => hits(await store.similaritySearchVectorWithScore(vector, k));

// FakeEmbeddings gives every text the same vector: every hit is at distance 0.
const fromTexts = await FaissStore.fromTexts(['alpha', 'beta', 'gamma'], [{ n: 1 }, { n: 2 }, { n: 3 }], embeddings);
observed.fromTexts = { ntotal: fromTexts.index.ntotal(), hits: hits(await fromTexts.similaritySearchWithScore('query', 2)) };

const fromDocuments = await FaissStore.fromDocuments(
  [new Document({ pageContent: 'one', metadata: { source: 'a.txt' } }), new Document({ pageContent: 'two', metadata: {} })],
  embeddings,
);
observed.fromDocuments = {
  ntotal: fromDocuments.index.ntotal(),
  texts: (await fromDocuments.similaritySearch('query', 2)).map((doc) => doc.pageContent).sort(),
};

// Vectors of our own: one axis per document, so each has one exact nearest.
const axis = (i) => [0, 1, 2, 3].map((j) => (j === i ? 1 : 0));
const store = new FaissStore(embeddings, {});
const ids = await store.addVectors(
  [0, 1, 2, 3].map(axis),
  ['a', 'b', 'c', 'd'].map((text) => new Document({ pageContent: text, metadata: { text } })),
  { ids: ['id-a', 'id-b', 'id-c', 'id-d'] },
);
observed.addVectors = { ids, ntotal: store.index.ntotal(), nearestToC: await nearest(store, axis(2)) };

const saved = path.join(workDir, 'saved');
await store.save(saved);
const loaded = await FaissStore.load(saved, embeddings);
observed.load = { ntotal: loaded.index.ntotal(), nearest: await Promise.all([0, 1, 2, 3].map((i) => nearest(loaded, axis(i)))) };

await loaded.delete({ ids: ['id-b'] });
observed.delete = {
  ntotal: loaded.index.ntotal(),
  nearest: await Promise.all([0, 2, 3].map((i) => nearest(loaded, axis(i)))),
  all: await nearest(loaded, axis(3), 3),
};

const other = new FaissStore(embeddings, {});
await other.addVectors([[0.5, 0.5, 0.5, 0.5]], [new Document({ pageContent: 'e', metadata: {} })], { ids: ['id-e'] });
await loaded.mergeFrom(other);
observed.mergeFrom = {
  ntotal: loaded.index.ntotal(),
  nearestToE: await nearest(loaded, [0.5, 0.5, 0.5, 0.5]),
  nearestToD: await nearest(loaded, axis(3)),
};

if (pythonStoreDir !== '-') {
  const fromPython = await FaissStore.loadFromPython(pythonStoreDir, embeddings);
  observed.loadFromPython = {
    ntotal: fromPython.index.ntotal(),
    nearest: await Promise.all([0, 1, 2].map((i) => nearest(fromPython, axis(i)))),
  };
  await fromPython.delete({ ids: ['py-0'] });
  observed.loadFromPythonDelete = { ntotal: fromPython.index.ntotal(), nearestToAxis2: await nearest(fromPython, axis(2)) };
}

process.stdout.write(JSON.stringify(observed));
