// Shared by the orchestrator (bench/compare.mjs) and its child processes:
// paths, raw-array files, timing, and what the rest of the machine was doing.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeAtomically } from '../../tools/datasets.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cacheRoot = path.join(repoRoot, '.cache', 'bench-compare');
export const resultsDir = path.join(repoRoot, 'bench', 'results');
export const K = 10;
export const SEED = 42;
export const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;

// ---- files ----------------------------------------------------------------

export { writeAtomically };

/** A typed array as raw little-endian bytes (the machine's order; x86-64 only here). */
export function writeArray(file, array) {
  writeAtomically(file, new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
}

export function readArray(file, ArrayType) {
  const bytes = readFileSync(file);
  // A fresh, aligned buffer: Buffer pools can start at any byte offset.
  return new ArrayType(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function readJson(file, fallback = null) {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : fallback;
}

export function writeJson(file, value) {
  writeAtomically(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function fileBytes(file) {
  return existsSync(file) ? statSync(file).size : 0;
}

// ---- memory ---------------------------------------------------------------

/** Resident set size now, from /proc (process.memoryUsage().rss walks all of it, slower). */
export function rssBytes() {
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
    return pages * 4096;
  } catch {
    return process.memoryUsage().rss;
  }
}

/** Peak resident set size of this process so far (getrusage ru_maxrss). */
export function peakRssBytes() {
  return process.resourceUsage().maxRSS * 1024;
}

// ---- timing ---------------------------------------------------------------

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Calls to make so that one sample lasts about targetMs, from a first timed call. */
export function callsFor(firstMs, targetMs) {
  return Math.max(1, Math.min(10_000, Math.ceil(targetMs / Math.max(firstMs, 1e-3))));
}

// ---- the rest of the machine ----------------------------------------------

export function loadAverages() {
  return loadavg().map((value) => Number(value.toFixed(2)));
}

/** Busy CPU time of the whole machine in ms, from /proc/stat (null elsewhere). */
export function machineBusyMs() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    const busy = fields.slice(0, 8).reduce((sum, value, i) => (i === 3 || i === 4 ? sum : sum + value), 0);
    return busy * 10; // USER_HZ = 100
  } catch {
    return null;
  }
}

/** Opens a window; close() says how many cores the whole machine kept busy meanwhile. */
export function machineWindow() {
  const start = performance.now();
  const busy = machineBusyMs();
  return {
    close() {
      const wall = performance.now() - start;
      const end = machineBusyMs();
      return { wallMs: wall, machineCores: busy === null || wall <= 0 ? null : (end - busy) / wall };
    },
  };
}

/**
 * Samples how many cores the rest of the machine keeps busy (2 s windows, this
 * process idle meanwhile) until it is below `threshold` or `maxSeconds` passed.
 */
export async function waitForQuiet(maxSeconds, threshold = 0.5) {
  const started = performance.now();
  let othersCores = null;
  do {
    const window = machineWindow();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    othersCores = window.close().machineCores;
    if (othersCores === null || othersCores < threshold) break;
  } while (performance.now() - started < maxSeconds * 1000);
  return { othersCores: othersCores === null ? null : Number(othersCores.toFixed(2)), quiet: othersCores !== null && othersCores < threshold, waitedMs: Math.round(performance.now() - started) };
}

// ---- child protocol -------------------------------------------------------

/** Child processes end with exactly one line `RESULT <json>` on stdout; logs go to stderr. */
export const RESULT_PREFIX = 'RESULT ';

/** A progress line on stderr, stamped with the wall-clock time. */
export function log(...parts) {
  const now = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[${now}] ${parts.join(' ')}\n`);
}

export function seconds(ms) {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
