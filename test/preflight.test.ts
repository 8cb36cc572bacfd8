// scripts/preflight.mjs: run by the install script when no prebuilt binary
// fits, before node-gyp; it names the packages a source build still needs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const preflight = path.resolve(__dirname, '..', 'scripts', 'preflight.mjs');

function run(env: Record<string, string>) {
  const result = spawnSync(process.execPath, [preflight], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: result.status, stderr: result.stderr };
}

describe('install preflight (source fallback)', () => {
  it('passes on a machine with the build dependencies, and says it builds from source', () => {
    const result = run({});
    expect(result.stderr).toMatch(
      /^faiss-native: no prebuilt binary for linux-\w+ \(glibc [\d.]+\), Node v[\d.]+; building from source with node-gyp \(Faiss first, about 6 minutes on 2 cores, once per machine\)\n$/,
    );
    expect(result.status).toBe(0);
  });

  it('without a Faiss build to link, fails and names it', () => {
    const result = run({ FAISS_NATIVE_PREFIX: '/nonexistent' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'and building it from source needs what this machine lacks:\n' +
        '  - the Faiss 1.15.0 source (faiss-src/ in the package), or FAISS_NATIVE_PREFIX naming a Faiss 1.15 build\n\n' +
        'Then run npm install again.\n',
    );
  });

  it('without a compiler or CMake either, names them too', () => {
    const result = run({
      FAISS_NATIVE_BLAS_LIBDIR: '/nonexistent',
      CXX: '/nonexistent/c++',
      PATH: path.dirname(process.execPath) === '/usr/bin' ? '/nonexistent' : path.dirname(process.execPath),
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('  - a C++20 compiler and make\n');
    expect(result.stderr).toContain('  - CMake (Faiss is built from source with it)\n');
    expect(result.stderr).toMatch(/sudo apt-get install g\+\+ make python3 cmake libopenblas-openmp-dev\n/);
  });
});
