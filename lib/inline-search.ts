import { binding } from './binding';
import { expectInteger } from './validate';

/**
 * An async search that recently cost at most this many microseconds of CPU on
 * its index, with the same k and options, runs on the calling thread and
 * returns a settled Promise: the hop to the thread pool and back costs the
 * event loop more than such a search (about 40 µs per call on a current x64
 * core). Mapped and on-disk indexes always use the pool. Process-wide; 0 sends
 * every search to the pool. Default 40.
 */
export function setInlineSearchBudget(microseconds: number): void {
  binding.setInlineSearchBudget(expectInteger(microseconds, 'microseconds', 0, 1_000_000));
}

export function getInlineSearchBudget(): number {
  return binding.getInlineSearchBudget();
}
