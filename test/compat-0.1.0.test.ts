// Files written by faiss-native 0.1.0 (Faiss 1.7.3) load and answer as they
// did then: the fixtures in test/fixtures/0.1.0/ hold the files and that
// version's results (written by make.mjs there).
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexIVFPQ } from 'faiss-native';

const fixtures = path.join(__dirname, 'fixtures', '0.1.0');
// make.mjs wrote the on-disk index here; its file names its data file by this path.
const ON_DISK_DIR = '/tmp/faiss-native-fixture-0.1.0';

interface Expected {
  nprobe: number;
  labels: string[];
  distances: number[];
}
const { queries, expected } = JSON.parse(readFileSync(path.join(fixtures, 'expected.json'), 'utf8')) as {
  queries: number[];
  expected: Record<string, Expected>;
};

function fixturePath(name: string): string {
  if (name !== 'ondisk') return path.join(fixtures, `${name}.faissindex`);
  mkdirSync(ON_DISK_DIR, { recursive: true });
  for (const file of ['ondisk.faissindex', 'ondisk.ivfdata']) {
    copyFileSync(path.join(fixtures, file), path.join(ON_DISK_DIR, file));
  }
  return path.join(ON_DISK_DIR, 'ondisk.faissindex');
}

describe('files written by faiss-native 0.1.0', () => {
  it.each(['plain', 'cosine', 'refine', 'ondisk'])('%s: same neighbours, distances within float rounding', (name) => {
    const want = expected[name];
    const index = IndexIVFPQ.readSync(fixturePath(name));
    try {
      const { labels, distances } = index.searchSync(Float32Array.from(queries), 10, { nprobe: want.nprobe });
      expect(Array.from(labels, String)).toEqual(want.labels);
      // Faiss 1.15 sums the distance tables with SIMD, 1.7.3 did not: the last bits may differ.
      const worst = Math.max(...want.distances.map((d, i) => Math.abs(distances[i] - d) / Math.max(1, Math.abs(d))));
      expect(worst).toBeLessThan(1e-5);
    } finally {
      index.dispose();
    }
  });

  it('keep their settings', () => {
    const refine = IndexIVFPQ.readSync(fixturePath('refine'));
    const cosine = IndexIVFPQ.readSync(fixturePath('cosine'));
    const ondisk = IndexIVFPQ.readSync(fixturePath('ondisk'));
    try {
      expect([refine.metric, refine.refine, refine.kFactor, refine.ntotal]).toEqual(['ip', 'sq8', 3, 1200]);
      expect([cosine.metric, cosine.m, cosine.nbits]).toEqual(['cosine', 8, 6]);
      expect([ondisk.readOnly, ondisk.ntotal]).toEqual([true, 1200]);
    } finally {
      for (const index of [refine, cosine, ondisk]) index.dispose();
    }
  });
});
