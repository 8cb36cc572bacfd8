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
    expect(result.stderr).toMatch(/^faiss-native: no prebuilt binary for linux-\w+ \(glibc [\d.]+\), Node v[\d.]+; building from source with node-gyp\n$/);
    expect(result.status).toBe(0);
  });

  it('without Faiss and OpenBLAS, fails and names the Debian packages', () => {
    const result = run({ FAISS_NATIVE_LIBDIR: '/nonexistent', CXX: '/nonexistent/c++' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('  - Faiss 1.7.3 (headers, and libfaiss.a in /nonexistent; set FAISS_NATIVE_LIBDIR for another directory)\n');
    expect(result.stderr).toContain('On Debian or Ubuntu: sudo apt-get install libfaiss-dev\n');
  });

  it('without a compiler either, names the compiler too', () => {
    const result = run({ FAISS_NATIVE_LIBDIR: '/nonexistent', CXX: '/nonexistent/c++', PATH: path.dirname(process.execPath) === '/usr/bin' ? '/nonexistent' : path.dirname(process.execPath) });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('  - a C++17 compiler and make\n');
    expect(result.stderr).toMatch(/sudo apt-get install g\+\+ make python3 libfaiss-dev libopenblas-openmp-dev\n/);
  });
});
