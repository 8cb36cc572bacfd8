// Linux x64 ships two prebuilt binaries: the generic one in prebuilds/linux-x64/
// (picked by node-gyp-build) and one whose Faiss uses AVX2 and FMA kernels, in
// prebuilds/linux-x64-avx2/ (a directory node-gyp-build does not look at). This
// picks the AVX2 one when the CPU has both. FAISS_NATIVE_CPU=generic forces the
// generic one; FAISS_NATIVE_CPU=avx2 forces the AVX2 one (on a CPU without AVX2
// it then dies with an illegal instruction).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const CPU_CHOICES = ['generic', 'avx2'] as const;

/** The CPU flags line of /proc/cpuinfo has avx2 and fma (the kernel lists only usable ones). */
export function cpuHasAvx2Fma(cpuinfo?: string): boolean {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return false;
    }
  }
  const flags = /^flags\s*:(.*)$/m.exec(text)?.[1].split(/\s+/) ?? [];
  return flags.includes('avx2') && flags.includes('fma');
}

function isGlibc(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return Boolean(report?.header?.glibcVersionRuntime);
}

function nodeFileIn(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const file = readdirSync(dir).find((name) => name.endsWith('.node'));
  return file && path.join(dir, file);
}

/** The AVX2 binary's path when it should be loaded instead of node-gyp-build's choice. */
export function selectBinary(root: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const cpu = env.FAISS_NATIVE_CPU;
  if (cpu !== undefined && cpu !== '' && !(CPU_CHOICES as readonly string[]).includes(cpu)) {
    throw new RangeError(`Expected "generic" or "avx2" for FAISS_NATIVE_CPU but received "${cpu}"`);
  }
  if (process.platform !== 'linux' || process.arch !== 'x64' || cpu === 'generic') return undefined;
  // A local build (node-gyp or cmake-js) wins over prebuilt binaries, as in node-gyp-build.
  if (!env.PREBUILDS_ONLY && nodeFileIn(path.join(root, 'build', 'Release'))) return undefined;
  const avx2 = nodeFileIn(path.join(root, 'prebuilds', 'linux-x64-avx2'));
  if (!avx2 || !isGlibc()) return undefined;
  return cpu === 'avx2' || cpuHasAvx2Fma() ? avx2 : undefined;
}
