// `node --import` this file: `faiss-node` then resolves to faiss-node-compat,
// as in an application that ran `npm install faiss-node@npm:faiss-node-compat`.
// (This repository keeps the real faiss-node 0.5.1 installed, for benchmarks.)
import { register } from 'node:module';

const compat = new URL('../../packages/faiss-node-compat/index.js', import.meta.url).href;
const hook = `export async function resolve(specifier, context, next) {
  return next(specifier === 'faiss-node' ? ${JSON.stringify(compat)} : specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
