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

/** binding.gyp's library directory: FAISS_NATIVE_LIBDIR, else /usr/lib/<multiarch>. */
function faissLibdir() {
  if (process.env.FAISS_NATIVE_LIBDIR) return process.env.FAISS_NATIVE_LIBDIR;
  const multiarch =
    run('gcc', ['-print-multiarch']).stdout ||
    { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[os.arch()] ||
    '';
  return `/usr/lib/${multiarch}`;
}

/** The compiler finds faiss/IndexIVFPQ.h (without one: it is in a standard include directory). */
function faissHeaderFound(cxx) {
  if (cxx) return run(cxx, ['-E', '-x', 'c++', '-', '-o', '/dev/null'], '#include <faiss/IndexIVFPQ.h>\n').ok;
  return ['/usr/include', '/usr/local/include'].some((dir) => existsSync(path.join(dir, 'faiss', 'IndexIVFPQ.h')));
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
    missing.push({ what: 'a C++17 compiler and make', debian: ['g++', 'make'], rpm: ['gcc-c++', 'make'] });
  } else if (!run('make', ['--version']).ok) {
    missing.push({ what: 'make', debian: ['make'], rpm: ['make'] });
  }
  if (!run('python3', ['--version']).ok && !run('python', ['--version']).ok) {
    missing.push({ what: 'Python 3 (node-gyp runs on it)', debian: ['python3'], rpm: ['python3'] });
  }
  const libdir = faissLibdir();
  if (!faissHeaderFound(cxx) || !existsSync(path.join(libdir, 'libfaiss.a'))) {
    missing.push({
      what: `Faiss 1.7.3 (headers, and libfaiss.a in ${libdir}; set FAISS_NATIVE_LIBDIR for another directory)`,
      debian: ['libfaiss-dev'],
      rpm: [],
    });
  }
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
    console.error(`faiss-native: no prebuilt binary for ${here}; building from source with node-gyp`);
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
    `On Debian or Ubuntu: sudo apt-get install ${debian.join(' ')}`,
    '  (or: sudo bash node_modules/faiss-native/scripts/install-system-deps.sh)',
  ];
  if (rpm.length > 0) lines.push(`On Fedora / RHEL: sudo dnf install ${rpm.join(' ')}${debian.includes('libfaiss-dev') ? ' (and Faiss 1.7.3 built from source)' : ''}`);
  lines.push('Then run npm install again.', '');
  console.error(lines.join('\n'));
  process.exit(1);
}
