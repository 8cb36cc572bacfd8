// Runs the child processes of the benchmark (bench/compare/worker.mjs).
import { fork, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_PREFIX, median } from './common.mjs';
import { recallAt10 } from './data.mjs';

const workerFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.mjs');

/** Runs one task in a fresh process; resolves with its RESULT object. */
export function runTask(task, { env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', workerFile, JSON.stringify(task)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_PREFIX.length)));
      else reject(new Error(`${task.task} ${task.config?.id ?? ''} on ${task.dataset} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/**
 * One query per call on 2 threads for libraries with only a blocking API:
 * two processes, each with its own copy of the index, each taking every other
 * query; a sample is the wall time from 'go' until both are done.
 */
export async function runPair(task, { values, reps, targetMs, truth, count, env = {} }) {
  const children = [0, 1].map((part) =>
    fork(workerFile, [JSON.stringify({ ...task, task: 'stream', part, parts: 2 })], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  const inbox = children.map(() => []);
  const waiters = children.map(() => []);
  const gone = children.map(() => null);
  children.forEach((child, i) => {
    child.on('message', (message) => (waiters[i].length ? waiters[i].shift().resolve(message) : inbox[i].push(message)));
    // A child that dies (a crash in the library) fails the measurement instead of hanging it.
    child.on('exit', (code, signal) => {
      gone[i] = new Error(`${task.config.id} stream process exited (${signal ?? code})`);
      for (const waiter of waiters[i].splice(0)) waiter.reject(gone[i]);
    });
  });
  const next = (i) => {
    if (inbox[i].length) return Promise.resolve(inbox[i].shift());
    if (gone[i]) return Promise.reject(gone[i]);
    return new Promise((resolve, reject) => waiters[i].push({ resolve, reject }));
  };
  const exited = Promise.all(children.map((child) => new Promise((resolve) => child.on('exit', resolve))));
  try {
    const ready = await Promise.all([next(0), next(1)]);
    const points = [];
    for (const value of values) {
      const round = async (wantLabels = false) => {
        const start = performance.now();
        children.forEach((child) => child.send({ value, wantLabels }));
        const replies = await Promise.all([next(0), next(1)]);
        return { ms: performance.now() - start, replies };
      };
      const warm = await round(true); // also switches the parameter
      const labels = new Float64Array(count * 10).fill(-1);
      for (const reply of warm.replies) {
        for (const [q, row] of Object.entries(reply.labels)) row.slice(0, 10).forEach((label, j) => (labels[Number(q) * 10 + j] = label));
      }
      const rounds = Math.max(1, Math.ceil(targetMs / Math.max(1, warm.ms)));
      const samples = [];
      for (let rep = 0; rep < reps; rep++) {
        let ms = 0;
        for (let r = 0; r < rounds; r++) ms += (await round()).ms;
        samples.push((count * rounds) / (ms / 1000));
      }
      points.push({ value, mode: 'one-2t', qps: median(samples), samples: samples.map(Math.round), recall: recallAt10(labels, truth, count) });
    }
    return { points, peakRssBytes: ready.map((r) => r.peakRssBytes) };
  } finally {
    children.forEach((child) => child.kill());
    await exited;
  }
}
