// Checks the package as npm would publish it: publint (package.json fields,
// exports, files) and @arethetypeswrong/cli (types resolve for CommonJS and
// ESM importers under every TypeScript module resolution), and reports the
// tarball's size.
//   node scripts/lint-package.mjs [faiss-native-x.y.z.tgz]   (default: npm pack into a temp dir)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  return result.status === 0;
}

let tarball = process.argv[2];
let temp;
if (!tarball) {
  temp = mkdtempSync(path.join(tmpdir(), 'faiss-native-pack-'));
  if (!run('npm', ['pack', '--loglevel=error', '--pack-destination', temp], { stdio: ['ignore', 'ignore', 'inherit'] })) {
    process.exit(1);
  }
  tarball = path.join(temp, readdirSync(temp).find((f) => f.endsWith('.tgz')));
}
tarball = path.resolve(tarball);

let ok = run(bin('publint'), ['run', tarball, '--strict']);
ok = run(bin('attw'), [tarball, '--no-emoji', '--format', 'table-flipped']) && ok;
const listing = spawnSync('tar', ['-tzvf', tarball], { encoding: 'utf8' }).stdout.trim().split('\n');
const unpacked = listing.reduce((sum, line) => sum + Number(line.split(/\s+/)[2] || 0), 0);
console.log(
  `${path.basename(tarball)}: ${(statSync(tarball).size / 1048576).toFixed(1)} MiB packed, ` +
    `${(unpacked / 1048576).toFixed(1)} MiB unpacked, ${listing.length} files`,
);
if (temp) rmSync(temp, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
