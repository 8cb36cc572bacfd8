// Checks that a prebuilds/linux-<arch>/ directory is self-contained and runs
// on old enough systems, from the ELF headers alone (readelf), so it works for
// any architecture:
//   - each .node is an ELF shared object for <arch>;
//   - it needs only libc, libm, the dynamic loader, libstdc++, libgcc_s and
//     the libgomp shipped beside it, which it finds through RUNPATH $ORIGIN;
//   - no symbol is left for the process to provide except Node-API's;
//   - the newest symbol versions it needs exist on glibc 2.34 with GCC 11's
//     libstdc++ (Ubuntu 22.04, RHEL 9, Amazon Linux 2023 and newer).
// Usage: node scripts/check-binary.mjs [--require=linux-x64,linux-arm64] [prebuilds/linux-x64 ...]
//        (default: every prebuilds/*/)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The name libgomp is shipped under: its SONAME and the .node's NEEDED entry (scripts/prebuild.mjs). */
export const GOMP_NAME = 'libgomp-faiss-native.so.1';

/** Highest symbol version a binary may need, per version prefix. */
export const VERSION_LIMITS = {
  GLIBC: '2.34', // glibc 2.34: RHEL 9, Amazon Linux 2023 (Ubuntu 22.04 has 2.35)
  GLIBCXX: '3.4.29', // libstdc++ of GCC 11 (RHEL 9, Amazon Linux 2023)
  CXXABI: '1.3.13', // same
  GCC: '7.0.0', // libgcc_s
  GOMP: '5.0', // our own libgomp; only a sanity bound
  OMP: '5.0',
};

const ARCHES = {
  x64: { machine: 'X86-64', loader: 'ld-linux-x86-64.so.2' },
  arm64: { machine: 'AArch64', loader: 'ld-linux-aarch64.so.1' },
};

function readelf(args, file) {
  const result = spawnSync('readelf', ['-W', ...args, file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (result.error) throw new Error(`readelf not found (apt-get install binutils): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`readelf ${args.join(' ')} ${file}: ${result.stderr.trim()}`);
  return result.stdout;
}

export function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The ELF facts the checks need: machine, SONAME, NEEDED, RUNPATH, version needs, undefined symbols. */
export function inspectElf(file) {
  const header = readelf(['-h'], file);
  const dynamic = readelf(['-d'], file);
  const versions = readelf(['-V'], file);
  const symbols = readelf(['--dyn-syms'], file);
  const machine = /Machine:\s+(.*)/.exec(header)?.[1].trim() ?? '';
  const type = /Type:\s+(\S+)/.exec(header)?.[1] ?? '';
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]);
  const soname = /\(SONAME\)\s+Library soname: \[(.+?)\]/.exec(dynamic)?.[1] ?? null;
  const runpath = /\(RUNPATH\)\s+Library runpath: \[(.+?)\]/.exec(dynamic)?.[1] ?? null;
  const rpath = /\(RPATH\)\s+Library rpath: \[(.+?)\]/.exec(dynamic)?.[1] ?? null;

  // Version needs: "File: libc.so.6" followed by its "Name: GLIBC_2.34" lines.
  const needs = {};
  let current = null;
  for (const line of versions.split('\n')) {
    const fileMatch = /File:\s+(\S+)/.exec(line);
    if (fileMatch) {
      current = fileMatch[1];
      needs[current] ??= [];
      continue;
    }
    const nameMatch = /Name:\s+(\S+)/.exec(line);
    if (nameMatch && current && /Flags:/.test(line)) needs[current].push(nameMatch[1]);
  }

  // Undefined symbols with no version come from nowhere in particular: only Node-API's may.
  const unresolved = [];
  for (const line of symbols.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // Num: Value Size Type Bind Vis Ndx Name
    if (cols.length < 8 || cols[6] !== 'UND' || cols[4] === 'WEAK') continue;
    const name = cols[7];
    if (name.includes('@')) continue;
    if (/^(napi_|node_api_)/.test(name)) continue;
    unresolved.push(name);
  }
  return { file, machine, type, needed, soname, runpath, rpath, needs, unresolved };
}

/** The highest version needed per prefix (GLIBC, GLIBCXX, ...), over all libraries. */
export function maxVersions(needs) {
  const max = {};
  for (const names of Object.values(needs)) {
    for (const name of names) {
      const m = /^([A-Z]+)_([0-9][0-9.]*)$/.exec(name);
      if (!m) continue;
      const [, prefix, version] = m;
      if (!max[prefix] || compareVersions(version, max[prefix]) > 0) max[prefix] = version;
    }
  }
  return max;
}

function checkVersions(info, problems) {
  const max = maxVersions(info.needs);
  for (const [prefix, version] of Object.entries(max)) {
    const limit = VERSION_LIMITS[prefix];
    if (limit && compareVersions(version, limit) > 0) {
      problems.push(`${path.basename(info.file)} needs ${prefix}_${version}, newer than ${prefix}_${limit}`);
    }
  }
  return max;
}

/** Checks every .node and the shipped libgomp in one prebuilds/linux-<arch>/ directory. */
export function checkPrebuildDir(dir, arch = path.basename(dir).replace(/^linux-/, '').split('-')[0]) {
  const problems = [];
  const files = [];
  const spec = ARCHES[arch];
  if (!spec) return { dir, arch, files, problems: [`unknown architecture ${arch}`] };
  const entries = existsSync(dir) ? readdirSync(dir) : [];
  const nodes = entries.filter((f) => f.endsWith('.node'));
  if (nodes.length === 0) problems.push(`no .node file in ${dir}`);

  const allowed = new Set(['libc.so.6', 'libm.so.6', spec.loader, 'libstdc++.so.6', 'libgcc_s.so.1', GOMP_NAME]);
  for (const name of nodes) {
    const info = inspectElf(path.join(dir, name));
    const where = `${path.basename(dir)}/${name}`;
    if (!info.machine.includes(spec.machine)) problems.push(`${where} is for ${info.machine}, not ${arch}`);
    if (info.type !== 'DYN') problems.push(`${where} is not a shared object (${info.type})`);
    for (const lib of info.needed) {
      if (!allowed.has(lib)) problems.push(`${where} needs ${lib}, which is not shipped or part of every system`);
    }
    if (info.needed.includes(GOMP_NAME)) {
      if (info.runpath !== '$ORIGIN') problems.push(`${where} has RUNPATH ${info.runpath}, not $ORIGIN`);
      if (!entries.includes(GOMP_NAME)) problems.push(`${where} needs ${GOMP_NAME} but it is not beside it`);
    }
    if (info.rpath) problems.push(`${where} has an RPATH (${info.rpath}); expected RUNPATH only`);
    if (info.unresolved.length > 0) {
      problems.push(`${where} leaves symbols unresolved: ${info.unresolved.slice(0, 10).join(', ')}`);
    }
    const max = checkVersions(info, problems);
    files.push({ name, size: statSync(info.file).size, needed: info.needed, runpath: info.runpath, max });
  }

  if (entries.includes(GOMP_NAME)) {
    const info = inspectElf(path.join(dir, GOMP_NAME));
    const where = `${path.basename(dir)}/${GOMP_NAME}`;
    if (!info.machine.includes(spec.machine)) problems.push(`${where} is for ${info.machine}, not ${arch}`);
    if (info.soname !== GOMP_NAME) problems.push(`${where} has SONAME ${info.soname}, not ${GOMP_NAME}`);
    for (const lib of info.needed) {
      if (!['libc.so.6', spec.loader].includes(lib)) problems.push(`${where} needs ${lib}`);
    }
    const max = checkVersions(info, problems);
    files.push({ name: GOMP_NAME, size: statSync(info.file).size, needed: info.needed, runpath: info.runpath, max });
  }
  return { dir, arch, files, problems };
}

export function formatReport(report) {
  const lines = [`${report.dir}:`];
  for (const f of report.files) {
    const max = Object.entries(f.max)
      .map(([k, v]) => `${k}_${v}`)
      .join(' ');
    lines.push(`  ${f.name} (${(f.size / 1048576).toFixed(1)} MiB)`);
    lines.push(`    NEEDED ${f.needed.join(' ')}${f.runpath ? `; RUNPATH ${f.runpath}` : ''}`);
    lines.push(`    newest versions needed: ${max}`);
  }
  for (const p of report.problems) lines.push(`  PROBLEM: ${p}`);
  if (report.problems.length === 0) lines.push('  ok');
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // --require=linux-x64,linux-arm64: fail unless every one of them is there (release check).
  const requireFlag = process.argv.find((a) => a.startsWith('--require='));
  const required = requireFlag ? requireFlag.slice('--require='.length).split(',').filter(Boolean) : [];
  let dirs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  if (dirs.length === 0) {
    const prebuilds = path.join(root, 'prebuilds');
    dirs = existsSync(prebuilds) ? readdirSync(prebuilds).map((d) => path.join(prebuilds, d)) : [];
  }
  if (dirs.length === 0) {
    console.error('check-binary: no prebuilds/ to check (run npm run prebuild)');
    process.exit(1);
  }
  let failed = false;
  for (const platform of required) {
    if (!dirs.some((dir) => path.basename(dir) === platform)) {
      console.error(`check-binary: prebuilds/${platform} is missing`);
      failed = true;
    }
  }
  for (const dir of dirs) {
    const report = checkPrebuildDir(dir);
    console.log(formatReport(report));
    failed ||= report.problems.length > 0;
  }
  process.exit(failed ? 1 : 0);
}
