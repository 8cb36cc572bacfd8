// Builds the self-contained prebuilt binary for one Linux architecture into
// prebuilds/linux-<arch>/, with prebuildify (N-API tag, stripped):
//   node scripts/prebuild.mjs            the machine's own architecture
//   node scripts/prebuild.mjs --arch=arm64   cross-built on x64 (scripts/prebuild-setup.sh arm64 first)
//
// Faiss and OpenBLAS are linked statically (scripts/build-faiss.sh's libfaiss.a,
// every SIMD level inside, and Debian's PIC openblas-openmp/libopenblas.a), libgfortran's two routines come from
// native/gfortran_shim.c, and libgomp is shipped beside the .node under its
// own name (see renameLibgomp). The build runs in a staging directory, so a
// developer's build/ is left alone, and holds the build lock so that only one
// heavy C++ build runs at a time. Finally scripts/check-binary.mjs checks the
// result (NEEDED list, glibc floor).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPrebuildDir, formatReport, GOMP_NAME } from './check-binary.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const LOCK = '/tmp/faiss-native-build.lock';

const TOOLCHAINS = {
  x64: { multiarch: 'x86_64-linux-gnu', prefix: 'x86_64-linux-gnu-' },
  arm64: { multiarch: 'aarch64-linux-gnu', prefix: 'aarch64-linux-gnu-' },
};

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
}

function output(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) return '';
  return result.stdout.trim();
}

function parseArgs(argv) {
  const arch = argv.find((a) => a.startsWith('--arch='))?.slice('--arch='.length) ?? process.arch;
  if (!TOOLCHAINS[arch]) throw new Error(`Expected --arch=x64 or --arch=arm64 but received ${arch}`);
  return { arch };
}

/** Compiler, strip, OpenBLAS directory and Faiss prefix for the target architecture. */
function toolchain(arch) {
  const { multiarch, prefix } = TOOLCHAINS[arch];
  const native = arch === process.arch;
  const tool = (name) => (native ? name : `${prefix}${name}`);
  for (const name of ['gcc', 'g++', 'strip']) {
    if (!output('sh', ['-c', `command -v ${tool(name)}`])) {
      throw new Error(
        `${tool(name)} not found` + (native ? '' : `: run \`bash scripts/prebuild-setup.sh arm64\` first`),
      );
    }
  }
  const blasCandidates = [`/usr/lib/${multiarch}`, path.join(root, '.cache', `sysroot-${arch}`, 'usr', 'lib', multiarch)];
  const blasLibdir = blasCandidates.find((dir) => existsSync(`${dir}/openblas-openmp/libopenblas.a`));
  if (!blasLibdir) {
    throw new Error(
      `openblas-openmp/libopenblas.a for ${arch} not found in ${blasCandidates.join(', ')}; ` +
        (native ? 'install libopenblas-openmp-dev' : 'run `bash scripts/prebuild-setup.sh arm64` first'),
    );
  }
  // Built once per architecture and cached; the first call takes minutes.
  const faiss = spawnSync('bash', [path.join(root, 'scripts', 'build-faiss.sh'), arch], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (faiss.status !== 0) throw new Error(`scripts/build-faiss.sh ${arch} failed`);
  const faissPrefix = faiss.stdout.trim();
  return { cc: tool('gcc'), cxx: tool('g++'), strip: tool('strip'), ar: tool('ar'), blasLibdir, faissPrefix, native };
}

/**
 * Copies the toolchain's libgomp.so.1 under another name and SONAME.
 *
 * Why renamed: the dynamic loader shares one copy of each SONAME per process.
 * Under the plain name libgomp.so.1, whichever copy loaded first would serve
 * every library asking for that name: ours would serve another addon (or
 * Python extension, or the system's OpenBLAS) built against a newer GCC and
 * fail it with "version `GOMP_x' not found", or theirs would serve us.
 * Renamed, each library gets the runtime it was linked against (the approach
 * of Python wheels repaired by auditwheel, e.g. PyTorch's libgomp-<hash>.so.1).
 * Two OpenMP runtimes in one process each keep their own thread pool; every
 * GOMP_/omp_ call still binds within its own library's dependencies, because
 * Node loads addons without RTLD_GLOBAL.
 */
function renameLibgomp(tc, workDir) {
  const source = realpathSync(output(tc.cc, ['-print-file-name=libgomp.so.1']) || 'libgomp.so.1');
  const dir = path.join(workDir, 'gomp');
  mkdirSync(dir, { recursive: true });
  const target = path.join(dir, GOMP_NAME);
  cpSync(source, target);
  run('patchelf', ['--set-soname', GOMP_NAME, target]);
  return target;
}

/** The package's build inputs, copied so that prebuildify's `node-gyp rebuild` never touches build/. */
function stage(workDir) {
  const staging = path.join(workDir, 'package');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const entry of ['package.json', 'binding.gyp', 'native']) {
    cpSync(path.join(root, entry), path.join(staging, entry), { recursive: true });
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(staging, 'node_modules'));
  return staging;
}

/** Builds prebuilds/linux-<arch>/. */
export function prebuild(arch) {
  if (process.platform !== 'linux') throw new Error('prebuilt binaries are built on Linux only');
  if (!output('sh', ['-c', 'command -v patchelf'])) {
    throw new Error('patchelf not found: run `bash scripts/prebuild-setup.sh` (or apt-get install patchelf)');
  }
  const tc = toolchain(arch);
  const platform = `linux-${arch}`;
  const workDir = path.join(process.env.FAISS_NATIVE_PREBUILD_TMP || tmpdir(), `faiss-native-prebuild-${platform}`);
  mkdirSync(workDir, { recursive: true });
  const gomp = renameLibgomp(tc, workDir);
  const staging = stage(workDir);

  const env = {
    ...process.env,
    // node-gyp turns npm_config_* into gyp variables (binding.gyp: static_deps, gomp_lib).
    npm_config_static_deps: '1',
    npm_config_gomp_lib: gomp,
    FAISS_NATIVE_PREFIX: tc.faissPrefix,
    FAISS_NATIVE_BLAS_LIBDIR: tc.blasLibdir,
    PREBUILD_STRIP_BIN: tc.strip,
  };
  if (!tc.native) {
    Object.assign(env, { CC: tc.cc, CXX: tc.cxx, LINK: tc.cxx, AR: tc.ar });
  }
  // Node's headers: the machine's own when npm is set up that way, else node-gyp downloads them.
  if (!env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h') && process.execPath === '/usr/bin/node') {
    env.npm_config_nodedir = '/usr';
  }

  const prebuildify = path.join(root, 'node_modules', 'prebuildify', 'bin.js');
  const started = Date.now();
  console.log(`prebuild: ${platform} with ${tc.cxx}, Faiss from ${tc.faissPrefix}, OpenBLAS from ${tc.blasLibdir}`);
  // --tag-libc: the file is named faiss-native.glibc.node, so node-gyp-build never offers it on
  // musl (Alpine), where it cannot load; there the install builds from source.
  run('flock', [LOCK, process.execPath, prebuildify, '--napi', '--strip', '--tag-libc', `--arch=${arch}`, `--cwd=${staging}`], {
    env,
    cwd: staging,
  });
  const seconds = (Date.now() - started) / 1000;

  const built = path.join(staging, 'prebuilds', `linux-${arch}`);
  const dest = path.join(root, 'prebuilds', platform);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  for (const file of readdirSync(built)) cpSync(path.join(built, file), path.join(dest, file));

  const report = checkPrebuildDir(dest, arch);
  console.log(formatReport(report));
  for (const file of readdirSync(dest)) {
    console.log(`  ${file}: ${(statSync(path.join(dest, file)).size / 1048576).toFixed(1)} MiB`);
  }
  console.log(`prebuild: ${platform} built in ${seconds.toFixed(0)} s`);
  if (report.problems.length > 0) throw new Error(`prebuilds/${platform} failed its checks`);
  return dest;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const { arch } = parseArgs(process.argv.slice(2));
    prebuild(arch);
  } catch (error) {
    console.error(`prebuild: ${error.message}`);
    process.exit(1);
  }
}
