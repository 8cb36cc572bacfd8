// The faiss-native package the benchmark measures. Others rebuild dist/ and
// build/Release in this tree while a run goes on, so bench/compare.mjs copies
// package.json, dist/ and the addon into .cache/bench-compare/package/ once at
// the start, and every process of the run loads that copy
// (FAISS_NATIVE_BENCH_PACKAGE): one binary per run, named by its SHA-256.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { cacheRoot, repoRoot } from './common.mjs';

const require = createRequire(path.join(repoRoot, 'package.json'));
export const PACKAGE_ENV = 'FAISS_NATIVE_BENCH_PACKAGE';

/** faiss-native as this process should load it: the run's copy, or the package itself. */
export function faissNative() {
  return require(process.env[PACKAGE_ENV] ?? 'faiss-native');
}

/** The raw N-API binding (dist/binding.js) of the same copy. */
export function faissNativeBinding() {
  return require(path.join(process.env[PACKAGE_ENV] ?? repoRoot, 'dist', 'binding.js')).binding;
}

/** Copies the package as it is now; returns where, and which addon it holds. */
export function snapshotPackage() {
  const addon = require('node-gyp-build').path(repoRoot);
  const dir = path.join(cacheRoot, 'package');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
  cpSync(path.join(repoRoot, 'package.json'), path.join(dir, 'package.json'));
  cpSync(path.join(repoRoot, 'dist'), path.join(dir, 'dist'), { recursive: true });
  // node-gyp-build looks in build/Release: the copy keeps that layout whatever the addon's origin.
  cpSync(addon, path.join(dir, 'build', 'Release', path.basename(addon)));
  return {
    dir,
    addon: path.relative(repoRoot, addon),
    addonBuiltAt: statSync(addon).mtime.toISOString(),
    addonSha256: createHash('sha256').update(readFileSync(addon)).digest('hex'),
    distBuiltAt: statSync(path.join(repoRoot, 'dist', 'index.js')).mtime.toISOString(),
  };
}
