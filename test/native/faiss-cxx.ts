// Builds and runs test/native/search-file.cc: Faiss itself, from C++, against
// the same libfaiss.a the addon links, as the reference for Index's results.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const source = path.join(__dirname, 'search-file.cc');
const binary = path.join(root, '.cache', 'test-bin', 'search-file');

function faissPrefix(): string {
  return (
    process.env.FAISS_NATIVE_PREFIX ??
    execFileSync('bash', [path.join(root, 'scripts', 'build-faiss.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  );
}

/** The compiled reference program; built when missing or older than its source or libfaiss.a. */
export function searchFileProgram(): string {
  const prefix = faissPrefix();
  const library = path.join(prefix, 'lib', 'libfaiss.a');
  const fresh = existsSync(binary) && statSync(binary).mtimeMs > Math.max(statSync(source).mtimeMs, statSync(library).mtimeMs);
  if (!fresh) {
    mkdirSync(path.dirname(binary), { recursive: true });
    execFileSync('g++', ['-std=c++20', '-O2', '-fopenmp', `-I${path.join(prefix, 'include')}`, '-o', binary, source, library, '-lopenblas', '-lgomp'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return binary;
}

/** Faiss's own search of an index file, with ParameterSpace-style parameters ('nprobe=16,efSearch=64'). */
export function searchWithFaiss(indexFile: string, queriesFile: string, k: number, parameters: string, outPrefix: string) {
  execFileSync(searchFileProgram(), [indexFile, queriesFile, String(k), parameters || '-', outPrefix], { stdio: ['ignore', 'ignore', 'inherit'] });
  const bytes = (file: string) => new Uint8Array(readFileSync(file)).buffer;
  return { labels: new BigInt64Array(bytes(`${outPrefix}.i64`)), distances: new Float32Array(bytes(`${outPrefix}.f32`)) };
}
