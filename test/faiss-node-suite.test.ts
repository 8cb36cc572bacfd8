// faiss-node 0.5.1's own Jest suite (the test/ folder of its npm tarball, 33
// tests), run unmodified against faiss-node-compat: the files are copied as
// they are and their `require('../lib')` finds a lib/ that is the compat package.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const ROOT = path.join(__dirname, '..');
const COMPAT = path.join(ROOT, 'packages', 'faiss-node-compat');
const JEST = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const VERSION = '0.5.1';
const TARBALL_DIR = path.join(ROOT, '.cache', `faiss-node-${VERSION}`);

/** faiss-node 0.5.1's test folder: the installed package's, else the registry tarball's (never installed). */
function faissNodeTests(): string | undefined {
  const installed = path.join(ROOT, 'node_modules', 'faiss-node');
  const manifest = path.join(installed, 'package.json');
  if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).version === VERSION) {
    if (existsSync(path.join(installed, 'test'))) return path.join(installed, 'test');
  }
  const unpacked = path.join(TARBALL_DIR, 'package', 'test');
  if (existsSync(unpacked)) return unpacked;
  mkdirSync(TARBALL_DIR, { recursive: true });
  const pack = spawnSync('npm', ['pack', `faiss-node@${VERSION}`, '--silent'], { cwd: TARBALL_DIR, encoding: 'utf8' });
  if (pack.status !== 0) return undefined;
  const tarball = pack.stdout.trim().split('\n').pop() ?? '';
  const untar = spawnSync('tar', ['-xzf', tarball, 'package/test'], { cwd: TARBALL_DIR });
  return untar.status === 0 && existsSync(unpacked) ? unpacked : undefined;
}

const testsDir = existsSync(JEST) ? faissNodeTests() : undefined;
const skipReason = !existsSync(JEST) ? 'jest is not installed' : testsDir ? undefined : `faiss-node@${VERSION} tests unavailable`;
const title = (name: string) => (skipReason ? `${name} (skipped: ${skipReason})` : name);

interface JestReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

describe('faiss-node 0.5.1 test suite', () => {
  const project = tempDir('faiss-node-suite-');

  it.skipIf(skipReason !== undefined)(title('passes all 33 tests against faiss-node-compat'), () => {
    mkdirSync(path.join(project, 'test'));
    for (const file of readdirSync(testsDir!)) copyFileSync(path.join(testsDir!, file), path.join(project, 'test', file));
    mkdirSync(path.join(project, 'lib'));
    writeFileSync(path.join(project, 'lib', 'index.js'), `module.exports = require(${JSON.stringify(COMPAT)});\n`);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'faiss-node-suite', private: true }));

    const report = path.join(project, 'jest-report.json');
    const run = spawnSync(
      process.execPath,
      [JEST, '--rootDir', project, '--ci', '--json', '--outputFile', report, '--watchman=false'],
      { cwd: project, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } },
    );
    expect(existsSync(report), `jest wrote no report:\n${run.stderr}`).toBe(true);
    const result = JSON.parse(readFileSync(report, 'utf8')) as JestReport;
    const failures = result.testResults
      .flatMap((file) => file.assertionResults)
      .filter((test) => test.status !== 'passed')
      .map((test) => `${test.fullName}: ${test.failureMessages.join('\n').slice(0, 400)}`);
    expect(failures).toEqual([]);
    expect(result.numTotalTests).toBe(33);
    expect(result.numPassedTests).toBe(33);
    expect(run.status).toBe(0);
  });
});
