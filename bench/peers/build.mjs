// Builds the benchmark's native parts, bench-only, never into the package's
// build/ directory:
// - bench/native-floor.cc → .cache/bench-compare/bin/native-floor, linked like
//   the addon (build/Release): scripts/build-faiss.sh's libfaiss.a, -lopenblas,
//   -fopenmp, -O2.
// - faiss-node 0.5.1's src/faiss.cc, linked against the same libfaiss.a (its
//   install script downloads a prebuild from GitHub, and its source fallback
//   clones Faiss, so it is installed with --ignore-scripts and built here).
// - hnswlib-node (a plain node-gyp package; `npm ci --ignore-scripts` leaves it unbuilt).
// usearch ships a linux-x64 N-API prebuild and needs nothing.
//
// Every compile runs under `flock /tmp/faiss-native-build.lock`, shared with
// the project's other builds on this 2-core machine. Outputs are rebuilt only
// when missing or older than their sources.
//
//   node bench/peers/build.mjs            # all three
//   node bench/peers/build.mjs --force    # rebuild even when up to date
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const binDir = path.join(repoRoot, '.cache', 'bench-compare', 'bin');
export const floorBinary = path.join(binDir, 'native-floor');
const LOCK = '/tmp/faiss-native-build.lock';
// The Faiss the addon links (built and cached by scripts/build-faiss.sh).
const FAISS_PREFIX =
  process.env.FAISS_NATIVE_PREFIX ??
  execFileSync('bash', [path.join(repoRoot, 'scripts', 'build-faiss.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
export const LIBFAISS = path.join(FAISS_PREFIX, 'lib', 'libfaiss.a');
const FAISS_INCLUDE = `-I${path.join(FAISS_PREFIX, 'include')}`;
const require = createRequire(import.meta.url);

function stale(output, sources) {
  if (!existsSync(output)) return true;
  const built = statSync(output).mtimeMs;
  return sources.some((source) => statSync(source).mtimeMs > built);
}

function locked(command, args, options = {}) {
  execFileSync('flock', [LOCK, command, ...args], { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

function packageDir(name) {
  return path.dirname(require.resolve(`${name}/package.json`, { paths: [repoRoot] }));
}

/** The native floor binaries; compiled when missing or stale. */
export function ensureNativeFloor({ force = false, log = console.error } = {}) {
  const source = path.join(repoRoot, 'bench', 'native-floor.cc');
  // The binding's own IVF search path, compiled in as binding.gyp compiles it.
  const native = ['coarse_quantizer.cc', 'ivf_search.cc'].map((file) => path.join(repoRoot, 'native', file));
  const inputs = [source, ...native, ...native.map((file) => file.replace(/\.cc$/, '.h')), LIBFAISS];
  if (!force && !stale(floorBinary, inputs)) return { path: floorBinary, built: false };
  mkdirSync(binDir, { recursive: true });
  log(`compiling ${path.relative(repoRoot, source)} against ${LIBFAISS} (waiting for ${LOCK})`);
  const started = performance.now();
  // Same flags as the addon in binding.gyp (-O2, OpenMP, C++20).
  locked('g++', ['-std=c++20', '-O2', '-fopenmp', `-I${path.join(repoRoot, 'native')}`, FAISS_INCLUDE, '-o', floorBinary, source,
    ...native, LIBFAISS, '-lopenblas', '-lgomp']);
  return { path: floorBinary, built: true, seconds: (performance.now() - started) / 1000 };
}

/**
 * faiss-node's addon at the path its lib/index.js loads through `bindings`
 * (build/Release/faiss-node.node inside its package), compiled from its own
 * src/faiss.cc with its own node-addon-api, against the system libfaiss.a.
 */
export function ensureFaissNode({ force = false, log = console.error } = {}) {
  const dir = packageDir('faiss-node');
  const source = path.join(dir, 'src', 'faiss.cc');
  const output = path.join(dir, 'build', 'Release', 'faiss-node.node');
  if (!force && !stale(output, [source, LIBFAISS])) return { path: output, built: false };
  const addonApi = path.dirname(require.resolve('node-addon-api/package.json', { paths: [dir] }));
  const nodeHeaders = findNodeHeaders();
  mkdirSync(path.dirname(output), { recursive: true });
  log(`compiling faiss-node ${require(path.join(dir, 'package.json')).version} src/faiss.cc against ${LIBFAISS} (waiting for ${LOCK})`);
  const started = performance.now();
  locked('g++', [
    '-std=c++20', '-O2', '-fPIC', '-shared', '-fopenmp',
    // Its CMakeLists.txt: NAPI_VERSION=6 and C++ exceptions on (it catches FaissException).
    '-DNAPI_VERSION=6', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_GYP_MODULE_NAME=faiss_node', '-DBUILDING_NODE_EXTENSION',
    `-I${nodeHeaders}`, `-I${addonApi}`, FAISS_INCLUDE,
    // Keep its copy of Faiss private, so it cannot interpose on another addon's.
    '-fvisibility=hidden', '-Wl,--exclude-libs,ALL',
    '-o', output, source, LIBFAISS, '-lopenblas', '-lgomp',
  ]);
  return { path: output, built: true, seconds: (performance.now() - started) / 1000 };
}

/** hnswlib-node's addon, built with node-gyp inside its own package directory. */
export function ensureHnswlib({ force = false, log = console.error } = {}) {
  const dir = packageDir('hnswlib-node');
  const output = path.join(dir, 'build', 'Release', 'addon.node');
  if (!force && existsSync(output)) return { path: output, built: false };
  log(`building hnswlib-node with node-gyp in ${path.relative(repoRoot, dir)} (waiting for ${LOCK})`);
  const started = performance.now();
  const nodeGyp = path.join(packageDir('node-gyp'), 'bin', 'node-gyp.js');
  locked(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${path.resolve(findNodeHeaders(), '..', '..')}`, '--jobs=1'], { cwd: dir });
  return { path: output, built: true, seconds: (performance.now() - started) / 1000 };
}

function findNodeHeaders() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node'),
    '/usr/include/node',
  ].filter(Boolean);
  const found = candidates.find((dir) => existsSync(path.join(dir, 'node_api.h')));
  if (!found) throw new Error(`node_api.h not found in ${candidates.join(', ')}`);
  return found;
}

/** Builds what is missing; returns, per part, { ok, path?, built?, error? }. Never throws. */
export function ensureAll({ force = false, log = console.error } = {}) {
  const result = {};
  for (const [name, ensure] of [['native-floor', ensureNativeFloor], ['faiss-node', ensureFaissNode], ['hnswlib-node', ensureHnswlib]]) {
    try {
      result[name] = { ok: true, ...ensure({ force, log }) };
    } catch (error) {
      result[name] = { ok: false, error: String(error.message ?? error).split('\n')[0] };
      log(`${name}: cannot build: ${result[name].error}`);
    }
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = ensureAll({ force: process.argv.includes('--force') });
  console.log(JSON.stringify(result, null, 2));
  process.exitCode = Object.values(result).every((part) => part.ok) ? 0 : 1;
}
