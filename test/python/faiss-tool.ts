// Runs test/python/faiss_tool.py (Python faiss, the reference) from the tests.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Debian's python3-faiss is importable only from the system interpreter, not pyenv's. */
export const PYTHON = process.env.FAISS_PYTHON ?? '/usr/bin/python3';
const TOOL = fileURLToPath(new URL('./faiss_tool.py', import.meta.url));

/** Why Python faiss cannot be used here, or undefined when it can. */
export function pythonFaissMissing(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import faiss, numpy'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not runnable (${(probe.error as NodeJS.ErrnoException).code})`;
  if (probe.status !== 0) return `${PYTHON} cannot import faiss and numpy`;
  return undefined;
}

type ToolValue = string | number | bigint;

/**
 * Runs one faiss_tool.py subcommand and returns the JSON it prints. Options are given in
 * camelCase (idOffset → --id-offset); an array repeats the flag.
 */
export async function faissTool<T>(command: string, options: Record<string, ToolValue | ToolValue[]>): Promise<T> {
  const args = [TOOL, command];
  for (const [name, value] of Object.entries(options)) {
    const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    for (const one of Array.isArray(value) ? value : [value]) args.push(flag, String(one));
  }
  // One OpenMP (and OpenBLAS) thread. Training gives byte-identical files with 1 or 2
  // threads; a search splits its batch per thread, so bitwise comparisons search with
  // { threads: 1 } on our side too. And with vitest running files side by side on two
  // cores, spinning OpenMP teams were ten times slower.
  const env = { ...process.env, OMP_NUM_THREADS: '1' };
  // Asynchronous: Python training can take a minute on a busy machine, and a
  // blocked test worker misses the test runner's messages.
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(PYTHON, args, { encoding: 'utf8', env, maxBuffer: 16 << 20 }, (error, out, stderr) => {
      if (error) reject(new Error(`faiss_tool.py ${command} failed (${error.code ?? error.signal}):\n${stderr}`));
      else resolve(out);
    });
  });
  return JSON.parse(stdout) as T;
}

export interface PythonSearch {
  n: number;
  k: number;
  results: { nprobe: number; distances: string; labels: string }[];
}

/** Python's search results at one nprobe, as the typed arrays our searchSync returns. */
export function pythonResults(
  search: PythonSearch,
  nprobe: number,
): { distances: Float32Array; labels: BigInt64Array } {
  const entry = search.results.find((r) => r.nprobe === nprobe);
  if (!entry) throw new Error(`no Python results for nprobe ${nprobe}`);
  // Copy into fresh, aligned buffers: a Buffer may sit at any offset of a shared pool.
  const bytes = (file: string) => new Uint8Array(readFileSync(file)).buffer;
  return { distances: new Float32Array(bytes(entry.distances)), labels: new BigInt64Array(bytes(entry.labels)) };
}

export interface PythonIndexInfo {
  type: string;
  d: number;
  ntotal: number;
  isTrained: boolean;
  metric: 'l2' | 'ip' | null;
  chain?: { type: string; norm?: number }[];
  ivf?: {
    type: string;
    metric: 'l2' | 'ip' | null;
    nlist: number;
    m: number;
    nbits: number;
    nprobe: number;
    byResidual: boolean;
    /** Class as Python's downcast reports it: IndexFlatL2/IndexFlatIP read back as 'IndexFlat'. */
    quantizer: string;
    quantizerMetric: 'l2' | 'ip' | null;
  };
}
