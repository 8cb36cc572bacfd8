// Faiss's precomputed L2 table (nlist × m × 256 floats) is backed with huge
// pages once built (native/huge_pages.cc). Checked through the process's own
// AnonHugePages; needs transparent huge pages enabled and MADV_COLLAPSE
// (Linux 6.1+), and says so in the test name when the machine has neither.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { describe, expect, it } from 'vitest';
import { IndexIVFPQ } from 'faiss-native';
import { randomVectors, tempDir } from './helpers';

const thpPath = '/sys/kernel/mm/transparent_hugepage/enabled';
const thp = existsSync(thpPath) ? /\[(\w+)\]/.exec(readFileSync(thpPath, 'utf8'))?.[1] ?? 'unknown' : 'absent';
const [major, minor] = release().split('.').map(Number);
const canCollapse = thp !== 'never' && thp !== 'absent' && (major > 6 || (major === 6 && minor >= 1));

/** Anonymous memory of this process on huge pages, in bytes. */
function anonHugePageBytes(): number {
  const kb = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1];
  return Number(kb) * 1024;
}

describe.skipIf(!canCollapse)(`huge pages for the L2 table (transparent huge pages: ${thp}, kernel ${release()})`, () => {
  const dimension = 32;
  // nlist 512, m 16: a 512 × 16 × 256 × 4 = 8 MiB table, at least 3 whole huge pages.
  const options = { dimension, nlist: 512, m: 16, metric: 'l2' as const };
  const data = randomVectors(6000, dimension, 3);

  it('backs the table built by training, and the one rebuilt by reading the file', () => {
    const before = anonHugePageBytes();
    const index = new IndexIVFPQ(options);
    index.trainSync(data);
    const afterTrain = anonHugePageBytes();
    expect(afterTrain - before).toBeGreaterThanOrEqual(3 * 2 ** 21);

    index.addSync(data);
    const file = `${tempDir('huge-pages')}/l2.faissindex`;
    index.writeSync(file);
    const reread = IndexIVFPQ.readSync(file);
    expect(anonHugePageBytes() - afterTrain).toBeGreaterThanOrEqual(3 * 2 ** 21);
    // Same pages, same answers.
    const queries = data.subarray(0, 50 * dimension);
    expect(reread.searchSync(queries, 5, { nprobe: 8 }).labels).toEqual(index.searchSync(queries, 5, { nprobe: 8 }).labels);
    reread.dispose();
    index.dispose();
  });

  // Under 'always' the kernel backs other large allocations with huge pages too.
  it.runIf(thp === 'madvise')('leaves indexes without the table alone (inner product)', () => {
    const before = anonHugePageBytes();
    const index = new IndexIVFPQ({ ...options, metric: 'ip' });
    index.trainSync(data);
    expect(anonHugePageBytes() - before).toBeLessThan(2 ** 21);
    index.dispose();
  });
});
