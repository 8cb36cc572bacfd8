import { binding, type KernelInfo } from './binding';

export type { KernelInfo };

/**
 * The SIMD code paths this build runs: the instruction set of the coarse step,
 * and whether Faiss's PQ-table loops are replaced by faster ones; those are
 * compared bit for bit with Faiss's own loops on every call.
 */
export function kernelInfo(): KernelInfo {
  return binding.kernelInfo();
}
