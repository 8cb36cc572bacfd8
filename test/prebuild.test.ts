// The prebuilt binaries in prebuilds/ (npm run prebuilds): self-contained,
// loadable on glibc 2.34, picked by node-gyp-build with PREBUILDS_ONLY=1, and
// giving the same answers as the local build. Skipped, with the reason in the
// test name, when prebuilds/ has not been built.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-ignore: a plain JavaScript module, without type declarations
import { checkPrebuildDir, GOMP_NAME, inspectElf, maxVersions, compareVersions } from '../scripts/check-binary.mjs';
import { tempDir } from './helpers';

const root = path.resolve(__dirname, '..');
const prebuilds = path.join(root, 'prebuilds');
const smoke = path.join(root, 'scripts', 'smoke.mjs');
const arches = existsSync(prebuilds) ? readdirSync(prebuilds).filter((d) => d.startsWith('linux-')) : [];
const hostDir = path.join(prebuilds, `linux-${process.arch}`);
const hasHost = existsSync(hostDir) && readdirSync(hostDir).some((f) => f.endsWith('.node'));

function node(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(arches.length === 0)('prebuilt binaries: ELF checks', () => {
  for (const arch of arches) {
    it(`${arch}: needs only libc, libm, the loader, libstdc++, libgcc_s and its own libgomp`, () => {
      const report = checkPrebuildDir(path.join(prebuilds, arch));
      expect(report.problems).toEqual([]);
      const loader = arch === 'linux-arm64' ? 'ld-linux-aarch64.so.1' : 'ld-linux-x86-64.so.2';
      const allowed = ['libc.so.6', 'libm.so.6', loader, 'libstdc++.so.6', 'libgcc_s.so.1', GOMP_NAME];
      for (const file of readdirSync(path.join(prebuilds, arch)).filter((f) => f.endsWith('.node'))) {
        const info = inspectElf(path.join(prebuilds, arch, file));
        expect(info.needed.filter((lib: string) => !allowed.includes(lib))).toEqual([]);
        expect(info.needed).toContain(GOMP_NAME);
        expect(info.runpath).toBe('$ORIGIN');
        expect(info.unresolved).toEqual([]);
      }
      const gomp = inspectElf(path.join(prebuilds, arch, GOMP_NAME));
      expect(gomp.soname).toBe(GOMP_NAME);
    });

    it(`${arch}: runs on glibc 2.34 and GCC 11's libstdc++ (newest symbol versions needed)`, () => {
      for (const file of readdirSync(path.join(prebuilds, arch)).filter((f) => f.endsWith('.node') || f === GOMP_NAME)) {
        const max = maxVersions(inspectElf(path.join(prebuilds, arch, file)).needs);
        expect(compareVersions(max.GLIBC, '2.34')).toBeLessThanOrEqual(0);
        if (max.GLIBCXX) expect(compareVersions(max.GLIBCXX, '3.4.29')).toBeLessThanOrEqual(0);
        if (max.CXXABI) expect(compareVersions(max.CXXABI, '1.3.13')).toBeLessThanOrEqual(0);
      }
    });
  }
});

describe.skipIf(!hasHost)(`prebuilt binary for linux-${process.arch}: loaded with PREBUILDS_ONLY=1`, () => {
  it('node-gyp-build picks it, and train/add/search/write/read agree with the default build', () => {
    const dir = tempDir();
    const saved = path.join(dir, 'default.index');
    const fromDefault = node([smoke, 'run', root, `--save=${saved}`]);
    expect(fromDefault.stderr.replace(/WARNING clustering.*\n/g, '')).toBe('');
    expect(fromDefault.status).toBe(0);
    const fromPrebuild = node([smoke, 'run', root, '--expect-prebuild', `--index=${saved}`], { PREBUILDS_ONLY: '1' });
    expect(fromPrebuild.stderr.replace(/WARNING clustering.*\n/g, '')).toBe('');
    expect(fromPrebuild.status).toBe(0);
    const report = JSON.parse(fromPrebuild.stdout);
    expect(report.binary).toMatch(/^prebuilds\/linux-(x64|arm64)\/faiss-native\.glibc\.node$/);

    const expectedFile = path.join(dir, 'default.json');
    const actualFile = path.join(dir, 'prebuild.json');
    writeFileSync(expectedFile, fromDefault.stdout);
    writeFileSync(actualFile, fromPrebuild.stdout);
    const compared = node([smoke, 'compare', expectedFile, actualFile]);
    expect(compared.stderr).toBe('');
    expect(compared.status).toBe(0);
  });

  const devBuild = path.join(root, 'build', 'Release', 'faiss_native.node');
  it.runIf(existsSync(devBuild))('coexists with an addon that loaded the system libgomp.so.1', () => {
    // The local build links the system's libgomp.so.1 (and OpenBLAS) dynamically. A second copy
    // of the package, with only dist/ and prebuilds/, loads the prebuilt binary into the same
    // process, with its own libgomp under its own SONAME. Both run OpenMP work.
    const copy = tempDir();
    cpSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
    cpSync(path.join(root, 'dist'), path.join(copy, 'dist'), { recursive: true });
    symlinkSync(path.join(root, 'prebuilds'), path.join(copy, 'prebuilds'));
    symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
    const script = `
      const fs = require('node:fs');
      const data = Float32Array.from({ length: 8 * 400 }, (_, i) => Math.sin(i));
      const results = [${JSON.stringify(root)}, ${JSON.stringify(copy)}].map((dir) => {
        const { IndexIVFPQ } = require(dir);
        const index = new IndexIVFPQ({ dimension: 8, nlist: 4, m: 2, nbits: 4 });
        index.trainSync(data, { threads: 2 });
        index.addSync(data, { threads: 2 });
        return index.searchSync(data.subarray(0, 16), 1, { nprobe: 4, threads: 2 });
      });
      const maps = fs.readFileSync('/proc/self/maps', 'utf8');
      console.log(JSON.stringify({
        labels: results.map((r) => String(r.labels[0])),
        local: maps.includes(${JSON.stringify(devBuild)}),
        prebuilt: maps.includes('/prebuilds/linux-'),
        systemGomp: /\\/libgomp\\.so\\.1/.test(maps),
        ourGomp: maps.includes(${JSON.stringify(GOMP_NAME)}),
      }));`;
    const result = node(['-e', script]);
    // Faiss's k-means warning (too few points) arrives as a process warning; nothing else may.
    expect(result.stderr.replace(/^\(node:\d+\) FaissWarning: WARNING clustering.*\n|^\(Use `node --trace-warnings.*\n/gm, '')).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      labels: ['0', '0'],
      local: true,
      prebuilt: true,
      systemGomp: true,
      ourGomp: true,
    });
  });
});

if (!hasHost) {
  describe('prebuilt binaries', () => {
    it.skip(`skipped: no prebuilds/linux-${process.arch}/ here (build it with \`npm run prebuilds\`)`, () => {});
  });
}
