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
      const q = new Float32Array(fs.readFileSync(${JSON.stringify(queriesFile)}).buffer.slice(0));
      const r = f.IndexIVFPQ.readSync(${JSON.stringify(file)}).searchSync(q, 10, { nprobe: 4 });
      console.log(JSON.stringify({ level: f.faissInfo().simdLevel, labels: Array.from(r.labels, String) }));`;
    const candidates = arch === 'x64' ? X64_LEVELS : ARM_LEVELS;
    const runs = candidates
      .map((level) => ({ level, run: node(search, { FAISS_SIMD_LEVEL: level }) }))
      .filter(({ run }) => run.status === 0)
      .map(({ run }) => JSON.parse(run.stdout));
    // At least the baseline and the detected level.
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.map((r) => r.level)).toContain(faissInfo().simdLevel);
    for (const other of runs.slice(1)) expect(other.labels, other.level).toEqual(runs[0].labels);
    index.dispose();
  });
});
