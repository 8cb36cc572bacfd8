import { binding } from './binding';
import { expectInteger } from './validate';

/**
 * Sets the default number of OpenMP threads Faiss uses for one operation.
 * Concurrent operations share this budget; a call with one query always runs
 * on one thread. A per-call `{ threads }` option overrides it.
 */
export function setNumThreads(threads: number): void {
  binding.setNumThreads(expectInteger(threads, 'threads', 1, 1024));
}

export function getNumThreads(): number {
  return binding.getNumThreads();
}
