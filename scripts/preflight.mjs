// Runs at install time only when no prebuilt binary fits this machine
// (package.json "install": node-gyp-build runs it before `node-gyp rebuild`).
// Checks what the source build needs, the way binding.gyp will look for it,
// and when something is missing, fails with the packages to install instead
// of a page of compiler errors. Plain JavaScript, no dependencies.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function run(command, args, input) {
  const result = spawnSync(command, args, { encoding: 'utf8', input, env: process.env });
  return { ok: !result.error && result.status === 0, stdout: (result.stdout || '').trim() };
}

function whichCompiler() {
  const candidates = [process.env.CXX, 'g++', 'c++', 'clang++'].filter(Boolean);
  return candidates.find((cxx) => run(cxx, ['--version']).ok);
}

/** binding.gyp's OpenBLAS directory: FAISS_NATIVE_BLAS_LIBDIR, else /usr/lib/<multiarch>. */
function blasLibdir() {
  if (process.env.FAISS_NATIVE_BLAS_LIBDIR) return process.env.FAISS_NATIVE_BLAS_LIBDIR;
  const multiarch =
    run('gcc', ['-print-multiarch']).stdout ||
    { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[os.arch()] ||
    '';
  return `/usr/lib/${multiarch}`;
}

/** Faiss 1.15 comes from FAISS_NATIVE_PREFIX, or scripts/build-faiss.sh builds it from the source in the package. */
function faissSourceFound() {
  const prefix = process.env.FAISS_NATIVE_PREFIX;
  if (prefix) return existsSync(path.join(prefix, 'lib', 'libfaiss.a'));
  return [process.env.FAISS_SOURCE, path.join(root, 'faiss-src', 'faiss-1.15.0.tar.gz'), path.join(root, '..', 'shared', 'faiss', 'faiss-1.15.0.tar.gz')]
    .some((candidate) => candidate && existsSync(candidate));
}

/** The linker finds `name` (e.g. libopenblas.so) in `dir` or its default search path. */
function linkerFinds(cxx, name, dir) {
  if (existsSync(path.join(dir, name))) return true;
  if (!cxx) return false;
  const found = run(cxx, ['-print-file-name=' + name]).stdout;
  return path.isAbsolute(found) && existsSync(found);
}

function libc() {
  const report = process.report?.getReport?.();
  return report?.header?.glibcVersionRuntime ? `glibc ${report.header.glibcVersionRuntime}` : 'not glibc';
}

export function preflight() {
  const missing = [];
  const cxx = whichCompiler();
  if (!cxx) {
    missing.push({ what: 'a C++20 compiler and make', debian: ['g++', 'make'], rpm: ['gcc-c++', 'make'] });
  } else if (!run('make', ['--version']).ok) {
    missing.push({ what: 'make', debian: ['make'], rpm: ['make'] });
  }
  if (!run('python3', ['--version']).ok && !run('python', ['--version']).ok) {
    missing.push({ what: 'Python 3 (node-gyp runs on it)', debian: ['python3'], rpm: ['python3'] });
  }
  if (!run('cmake', ['--version']).ok) {
    missing.push({ what: 'CMake (Faiss is built from source with it)', debian: ['cmake'], rpm: ['cmake'] });
  }
  if (!faissSourceFound()) {
    missing.push({
      what: 'the Faiss 1.15.0 source (faiss-src/ in the package), or FAISS_NATIVE_PREFIX naming a Faiss 1.15 build',
      debian: [],
      rpm: [],
    });
  }
  const libdir = blasLibdir();
  if (!linkerFinds(cxx, 'libopenblas.so', libdir)) {
    missing.push({ what: 'OpenBLAS (BLAS and LAPACK)', debian: ['libopenblas-openmp-dev'], rpm: ['openblas-devel'] });
  }
  // libgomp.so comes with GCC; only another compiler can lack it.
  if (cxx && !linkerFinds(cxx, 'libgomp.so', libdir)) {
    missing.push({ what: 'OpenMP (libgomp, which comes with g++)', debian: ['g++'], rpm: ['libgomp'] });
  }
  return missing;
}

/** Why no prebuilt binary was used: none for this platform, or it did not load. */
function whyNoPrebuild(here) {
  const dir = path.join(root, 'prebuilds');
  const platforms = existsSync(dir) ? readdirSync(dir) : [];
  if (platforms.includes(`${os.platform()}-${os.arch()}`)) {
    return (
      `the prebuilt ${os.platform()}-${os.arch()} binary does not load on ${here}\n` +
      '(it needs glibc 2.34 or newer and the libstdc++ of GCC 11 or newer),'
    );
  }
  return `no prebuilt binary fits ${here} (prebuilt: ${platforms.join(', ') || 'none'}),`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const missing = preflight();
  const here = `${os.platform()}-${os.arch()} (${libc()}), Node ${process.version}`;
  if (missing.length === 0) {
    console.error(
      `faiss-native: no prebuilt binary for ${here}; building from source with node-gyp ` +
        '(Faiss first, about 6 minutes on 2 cores, once per machine)',
    );
    process.exit(0);
  }
  const debian = [...new Set(missing.flatMap((m) => m.debian))];
  const rpm = [...new Set(missing.flatMap((m) => m.rpm))];
  const lines = [
    '',
    `faiss-native: ${whyNoPrebuild(here)}`,
    'and building it from source needs what this machine lacks:',
    ...missing.map((m) => `  - ${m.what}`),
    '',
  ];
  if (debian.length > 0) {
    lines.push(
      `On Debian or Ubuntu: sudo apt-get install ${debian.join(' ')}`,
      '  (or: sudo bash node_modules/faiss-native/scripts/install-system-deps.sh)',
    );
  }
  if (rpm.length > 0) lines.push(`On Fedora / RHEL: sudo dnf install ${rpm.join(' ')}`);
  lines.push('Then run npm install again.', '');
  console.error(lines.join('\n'));
  process.exit(1);
}
