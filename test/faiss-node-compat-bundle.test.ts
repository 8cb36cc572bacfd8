// An application bundled with esbuild: `require('faiss-node')` is aliased to
// faiss-node-compat and bundled in; faiss-native stays external, as the README
// tells bundler users, and loads its binary from its own package directory.
// And faiss-native's own loader as bundlers and file tracers see it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const ROOT = path.join(__dirname, '..');

const APP = `
const { IndexFlatL2, Index, MetricType } = require('faiss-node');
const index = new IndexFlatL2(2);
index.add([0, 0, 1, 0, 2, 0]);
index.removeIds([0]);
const ip = Index.fromFactory(2, 'Flat', MetricType.METRIC_INNER_PRODUCT);
ip.add([1, 0, 2, 0]);
console.log(JSON.stringify({ l2: index.search([2, 0], 2), ip: ip.search([1, 0], 1) }));
`;

describe('faiss-node-compat in an esbuild bundle', () => {
  const work = tempDir('faiss-node-bundle-');

  it('bundles an application written for faiss-node and runs it from another directory', async () => {
    const entry = path.join(work, 'app.js');
    writeFileSync(entry, APP);
    const outfile = path.join(work, 'dist', 'app.js');
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      alias: { 'faiss-node': 'faiss-node-compat' },
      external: ['faiss-native'],
      nodePaths: [path.join(ROOT, 'node_modules')],
      logLevel: 'silent',
    });
    const bundle = readFileSync(outfile, 'utf8');
    expect(bundle).toContain('Invalid the given array length.');
    expect(bundle).toContain('require("faiss-native")');

    // A deployment: the bundle plus node_modules/faiss-native, nothing else.
    const deployed = path.join(work, 'deployed');
    mkdirSync(path.join(deployed, 'node_modules'), { recursive: true });
    writeFileSync(path.join(deployed, 'app.js'), bundle);
    symlinkSync(ROOT, path.join(deployed, 'node_modules', 'faiss-native'), 'dir');
    const run = spawnSync(process.execPath, ['app.js'], { cwd: deployed, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      l2: { distances: [0, 1], labels: [1, 0] },
      ip: { distances: [2], labels: [1] },
    });
  });
});

describe('the addon as a bundler sees it', () => {
  it('every binary the loader may pick is a literal require that a bundler resolves', async () => {
    // What a file tracer sees: the .node paths esbuild resolves while bundling faiss-native itself.
    const seen: string[] = [];
    await build({
      entryPoints: [path.join(ROOT, 'dist', 'index.js')],
      write: false,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      logLevel: 'silent',
      plugins: [
        {
          name: 'record-binaries',
          setup(bundler) {
            bundler.onResolve({ filter: /\.node$/ }, (args) => {
              seen.push(path.relative(ROOT, path.resolve(args.resolveDir, args.path)));
              return { path: args.path, external: true };
            });
          },
        },
      ],
    });
    expect(seen.sort()).toEqual([
      'build/Release/faiss_native.node',
      'prebuilds/linux-arm64/faiss-native.glibc.node',
      'prebuilds/linux-x64/faiss-native.glibc.node',
    ]);
  });
});
