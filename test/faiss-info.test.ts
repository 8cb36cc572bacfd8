// The linked Faiss: its version and SIMD level, FAISS_SIMD_LEVEL handled
// without aborting, equal answers at every level this CPU has, and the
// reader's deserialization limits.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import path from 'node:path';
import { arch } from 'node:process';
import { describe, expect, it } from 'vitest';
import { faissInfo, IndexIVFPQ } from 'faiss-native';
import { randomVectors, tempDir } from './helpers';

const root = path.resolve(__dirname, '..');
const X64_LEVELS = ['NONE', 'AVX2', 'AVX512', 'AVX512_SPR'];
const ARM_LEVELS = ['ARM_NEON', 'ARM_SVE'];

/** Runs a script in a fresh Node process (the level is chosen when the addon loads). */
function node(script: string, env: Record<string, string | undefined>) {
  const result = spawnSync(process.execPath, ['-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

interface Answer {
  labels: string[];
  distances: number[];
}

/**
 * Kernels at different levels add in a different order, so distances differ
 * in the last bits (about 5e-7 relative) and near-equal neighbours may swap.
 * Distances must agree rank by rank over the first k - 1; labels must agree
 * as sets within each group of tied distances, except a group tied with the
 * k-th result, whose members past the cut may differ.
 */
function sameNeighbours(a: Answer, b: Answer, k: number) {
  const tolerance = 1e-5;
  const close = (x: number, y: number) => Math.abs(x - y) <= tolerance * Math.max(1, Math.abs(x));
  const mismatchedQueries: number[] = [];
  for (let q = 0; q * k < a.labels.length; q++) {
    const rank = (i: number) => q * k + i;
    let ok = true;
    for (let start = 0; start < k - 1 && ok; ) {
      let end = start + 1;
      while (end < k && close(a.distances[rank(start)], a.distances[rank(end)])) end++;
      for (let i = start; i < Math.min(end, k - 1); i++) ok &&= close(a.distances[rank(i)], b.distances[rank(i)]);
      if (end < k) {
        const group = (x: Answer) => x.labels.slice(rank(start), rank(end)).sort();
        ok &&= group(a).join() === group(b).join();
      }
      start = end;
    }
    if (!ok) mismatchedQueries.push(q);
  }
  return { mismatchedQueries };
}

const LEVEL_OF = "console.log(require('./dist').faissInfo().simdLevel)";

describe('faissInfo', () => {
  it('reports Faiss 1.15.0 built with run-time SIMD dispatch', () => {
    const info = faissInfo();
    expect(info.version).toBe('1.15.0');
    expect(info.compileOptions).toContain('DD');
    expect(arch === 'x64' ? X64_LEVELS : ARM_LEVELS).toContain(info.simdLevel);
  });

  it('bounds what an index file may make the reader allocate or loop over', () => {
    const { deserializationLoopLimit, deserializationByteLimit } = faissInfo();
    expect(deserializationLoopLimit).toBe(2 ** 31);
    expect(deserializationByteLimit).toBe(totalmem());
  });
});

describe('FAISS_SIMD_LEVEL', () => {
  it('forces a level the CPU has', () => {
    const forced = node(LEVEL_OF, { FAISS_SIMD_LEVEL: arch === 'x64' ? 'NONE' : 'ARM_NEON' });
    expect(forced.stdout.trim()).toBe(arch === 'x64' ? 'NONE' : 'ARM_NEON');
  });

  it('an empty value is the same as none', () => {
    expect(node(LEVEL_OF, { FAISS_SIMD_LEVEL: '' }).stdout.trim()).toBe(faissInfo().simdLevel);
  });

  it('an unknown name is a RangeError at require time, not an abort', () => {
    const run = node("try { require('./dist') } catch (e) { console.log(e.name + ': ' + e.message); process.exit(3) }", {
      FAISS_SIMD_LEVEL: 'avx9000',
    });
    expect(run.signal).toBeNull();
    expect(run.status).toBe(3);
    expect(run.stdout.trim()).toBe(
      "RangeError: Expected NONE, AVX2, AVX512, AVX512_SPR, ARM_NEON, ARM_SVE or RISCV_RVV for FAISS_SIMD_LEVEL but received 'avx9000'",
    );
  });

  it("a level this CPU lacks is a FaissError naming the detected one", () => {
    const foreign = arch === 'x64' ? 'ARM_SVE' : 'AVX2';
    const run = node("try { require('./dist') } catch (e) { console.log(e.name + ': ' + e.message); process.exit(3) }", {
      FAISS_SIMD_LEVEL: foreign,
    });
    expect(run.status).toBe(3);
    expect(run.stdout.trim()).toBe(
      `FaissError: FAISS_SIMD_LEVEL=${foreign} is not available on this CPU (detected ${faissInfo().simdLevel})`,
    );
  });

  it('every level this CPU has returns the same neighbours', () => {
    const dir = tempDir();
    const dimension = 32;
    const index = new IndexIVFPQ({ dimension, nlist: 16, m: 8, refine: 'sq8' });
    const data = randomVectors(4000, dimension, 3);
    index.trainSync(data);
    index.addSync(data);
    const file = path.join(dir, 'index.faiss');
    index.writeSync(file);
    const queriesFile = path.join(dir, 'queries.f32');
    writeFileSync(queriesFile, randomVectors(200, dimension, 4));
    const search = `
      const f = require('./dist'); const fs = require('fs');
      const bytes = fs.readFileSync(${JSON.stringify(queriesFile)});
      // Only the file's bytes: a Buffer may be a view into a larger ArrayBuffer.
      const q = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      const r = f.IndexIVFPQ.readSync(${JSON.stringify(file)}).searchSync(q, 11, { nprobe: 4 });
      console.log(JSON.stringify({ level: f.faissInfo().simdLevel, labels: Array.from(r.labels, String), distances: Array.from(r.distances) }));`;
    const candidates = arch === 'x64' ? X64_LEVELS : ARM_LEVELS;
    const runs = candidates
      .map((level) => ({ level, run: node(search, { FAISS_SIMD_LEVEL: level }) }))
      .filter(({ run }) => run.status === 0)
      .map(({ run }) => JSON.parse(run.stdout));
    // At least the baseline and the detected level.
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.map((r) => r.level)).toContain(faissInfo().simdLevel);
    for (const other of runs.slice(1)) {
      expect(sameNeighbours(runs[0], other, 11), other.level).toEqual({ mismatchedQueries: [] });
    }
    index.dispose();
  });
});
