import { binding, type FaissInfo } from './binding';

export type { FaissInfo };

/**
 * The Faiss this build links and the SIMD level it runs at: chosen for this
 * CPU when the addon loads, or forced with the FAISS_SIMD_LEVEL environment
 * variable (NONE, AVX2, AVX512, AVX512_SPR on x86-64; ARM_NEON, ARM_SVE on arm64).
 */
export function faissInfo(): FaissInfo {
  return binding.faissInfo();
}
