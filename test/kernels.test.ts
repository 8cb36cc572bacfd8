// The binding's own SIMD code paths: the coarse step, and the replacements for
// Faiss's PQ-table loops, which must match Faiss's loops bit for bit.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { arch } from 'node:process';
import { describe, expect, it } from 'vitest';
import { IndexIVFPQ, kernelInfo } from 'faiss-native';
// @ts-ignore: a plain JavaScript module, without type declarations
import { SCAN_SECTION, scanCodeSection } from '../scripts/check-binary.mjs';
import { randomVectors } from './helpers';

const root = path.resolve(__dirname, '..');
const addonFile: string = createRequire(path.join(root, 'package.json'))('node-gyp-build').path(root);
const hasReadelf = !spawnSync('readelf', ['--version']).error;

describe('kernels', () => {
  it('names the coarse kernel this CPU runs', () => {
    const expected = arch === 'x64' ? ['avx2', 'sse2'] : arch === 'arm64' ? ['neon'] : ['scalar'];
    expect(expected).toContain(kernelInfo().coarse);
  });

  it.runIf(arch === 'x64')("replaces Faiss's PQ-table loops with bit-identical ones", () => {
    const info = kernelInfo();
    expect(info.pqTablesSubstituted).toBe(true);
    expect(info.pqTableCases).toBeGreaterThan(100);
    expect(info.pqTableMismatches).toBe(0);
  });

  it.runIf(hasReadelf)(`starts Faiss's IVF-PQ list scan on a 64-byte boundary (${SCAN_SECTION})`, () => {
    // Where those loops fall relative to 64-byte fetch windows changed search
    // speed by up to 18 % (native/faiss-code-layout.ld); every build must pin it.
    const section = scanCodeSection(addonFile);
    expect(section, `${addonFile} lacks ${SCAN_SECTION}`).not.toBeNull();
    expect(section.size).toBeGreaterThan(0);
    expect(section.address % 64).toBe(0);
  });

  it('a query gets the same lists and distances alone, in any batch and on any thread count', () => {
    for (const metric of ['l2', 'ip', 'cosine'] as const) {
      const dimension = 20; // not a multiple of 8: the kernels' tails are used too
      const index = new IndexIVFPQ({ dimension, nlist: 37, m: 5, metric });
      const data = randomVectors(3000, dimension, 7);
      index.trainSync(data);
      index.addSync(data);
      const queries = randomVectors(61, dimension, 8);
      const batch = index.searchSync(queries, 7, { nprobe: 5, threads: 2 });
      for (let q = 0; q < 61; q++) {
        const alone = index.searchSync(queries.subarray(q * dimension, (q + 1) * dimension), 7, { nprobe: 5 });
        expect(alone.labels, `${metric} query ${q}`).toEqual(batch.labels.subarray(q * 7, (q + 1) * 7));
        const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
        expect(bits(alone.distances), `${metric} query ${q}`).toEqual(bits(batch.distances.subarray(q * 7, (q + 1) * 7)));
      }
      index.dispose();
    }
  });
});
