// What `npm pack` puts in the published tarball: the compiled library, the
// sources a source build needs (Faiss's among them), the install-time preflight and the prebuilt
// binaries; none of the tests, tools, build outputs or development scripts.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');

describe('npm pack', () => {
  it('ships the library, the native sources, the preflight and the prebuilds, and nothing else', () => {
    const result = spawnSync('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(result.status).toBe(0);
    const files: string[] = JSON.parse(result.stdout)[0].files.map((f: { path: string }) => f.path);

    for (const file of [
      'package.json',
      'README.md',
      'binding.gyp',
      'dist/index.js',
      'dist/index.mjs',
      'dist/index.d.ts',
      'dist/index.d.mts',
      'dist/distributed/index.js',
      'dist/distributed/index.mjs',
      'dist/distributed/index.d.ts',
      'dist/distributed/index.d.mts',
      'native/addon.cc',
      'native/gfortran_shim.c',
      'native/libstdcxx_compat.c',
      'scripts/preflight.mjs',
      'scripts/install-system-deps.sh',
      'scripts/build-faiss.sh',
      // The verified Faiss source, for installs where no prebuilt binary fits.
      'faiss-src/faiss-1.15.0.tar.gz',
    ]) {
      expect(files).toContain(file);
    }
    const allowed = /^(package\.json|README\.md|LICENSE|binding\.gyp|CMakeLists\.txt|dist\/|native\/|prebuilds\/linux-(x64|arm64)\/|faiss-src\/faiss-1\.15\.0\.tar\.gz$|scripts\/(preflight\.mjs|install-system-deps\.sh|build-faiss\.sh)$)/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);

    for (const arch of ['x64', 'arm64']) {
      const dir = path.join(root, 'prebuilds', `linux-${arch}`);
      if (!existsSync(dir)) continue;
      for (const file of readdirSync(dir)) expect(files).toContain(`prebuilds/linux-${arch}/${file}`);
    }
  });
});
