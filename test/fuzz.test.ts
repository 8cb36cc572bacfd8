// Hostile index files: deterministic 1,000-case subsets of the fuzz campaign
// (scripts/fuzz-index-files.mjs), one through IndexIVFPQ and one through the
// generic Index (factory-built flat, HNSW, IVF, SQ, PQ, RaBitQ, pre-transform
// and refined bases, plus IndexIVFPQ's files). Every mutated file, loaded from
// a buffer, a file and a memory-mapped file, must either load and search or
// throw a FaissError: no crash, no hang, no runaway allocation, no other error class.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const root = path.resolve(__dirname, '..');

interface FuzzGroup {
  key: string;
  count: number;
  files: string[];
  example: { id: number; mutation: string; message: string };
}

interface FuzzSummary {
  cases: number;
  table: { outcome: string; counts: number[] }[];
  crashes: number;
  timeouts: number;
  rssOverLimit: number;
  wrongClass: number;
  hugeAllocationErrors: number;
  peakChildRssMb: number;
  groups: FuzzGroup[];
}

// Reproducers of any finding stay here after a failure; a clean run removes them.
const reproDir = (bases: string) => path.join(tmpdir(), 'faiss-fuzz-repro', `test-${process.pid}-${bases}`);

function runCampaign(bases: string, args: string[]): Promise<FuzzSummary> {
  const dir = tempDir('faiss-fuzz-test-');
  const json = path.join(dir, 'summary.json');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(root, 'scripts', 'fuzz-index-files.mjs'), ...args, '--bases', bases, '--json', json, '--quiet', '--work', path.join(dir, 'work'), '--repro-dir', reproDir(bases)],
      { cwd: root, maxBuffer: 64 * 2 ** 20 },
      (error) => {
        // Exit code 1 means "bugs found": the summary says which.
        if (error && error.code !== 1) {
          reject(error);
          return;
        }
        resolve(JSON.parse(readFileSync(json, 'utf8')) as FuzzSummary);
      },
    );
  });
}

function describeFindings(summary: FuzzSummary, pattern: RegExp): string {
  return summary.groups
    .filter((g) => pattern.test(g.key))
    .map((g) => `${g.count} × ${g.key}\n    e.g. case ${g.example.id}: ${g.example.mutation}\n    ${g.files[0]}\n    ${g.example.message}`)
    .join('\n');
}

function expectNoFindings(summary: FuzzSummary, cases: number): void {
  const total = (outcome: string) => summary.table.find((row) => row.outcome === outcome)?.counts.reduce((a, b) => a + b, 0) ?? 0;
  // Every case was run all three ways.
  expect(summary.table.reduce((sum, row) => sum + row.counts.reduce((a, b) => a + b, 0), 0)).toBe(3 * cases);
  expect(total('loaded + searched')).toBeGreaterThan(0);
  expect(describeFindings(summary, /^(crash|exit|timeout|rss-over-limit)/)).toBe('');
  expect(describeFindings(summary, /^wrong-class/)).toBe('');
  expect(describeFindings(summary, /^huge-allocation/)).toBe('');
  expect([summary.crashes, summary.timeouts, summary.rssOverLimit, summary.wrongClass]).toEqual([0, 0, 0, 0]);
  expect(summary.peakChildRssMb).toBeLessThan(1024);
}

describe('fuzzed index files', () => {
  it('IndexIVFPQ: 1,000 mutated files × 3 ways of loading: each loads and searches or throws FaissError', async () => {
    const summary = await runCampaign('ivfpq', ['--cases', '1000', '--seed', '7', '--jobs', '2']);
    expectNoFindings(summary, 1000);
    rmSync(reproDir('ivfpq'), { recursive: true, force: true });
  }, 300_000);

  it('Index: 1,000 mutated files of every type it reads × 3 ways of loading: each loads and searches or throws FaissError', async () => {
    const summary = await runCampaign('factory', ['--cases', '1000', '--seed', '7', '--jobs', '2']);
    expectNoFindings(summary, 1000);
    rmSync(reproDir('factory'), { recursive: true, force: true });
  }, 300_000);
});
