import { binding, type NativeMemoryUsage } from './binding';

export type { NativeMemoryUsage };

/**
 * The process's C heap as glibc's allocator counts it, where Faiss keeps
 * everything it allocates: what `process.memoryUsage()` cannot separate from
 * V8's heap and from allocator fragmentation. `undefined` off glibc.
 */
export function nativeMemoryUsage(): NativeMemoryUsage | undefined {
  return binding.nativeMemoryUsage();
}
