// Compiles lib/ to CommonJS in dist/, then adds an ES module entry that
// re-exports it. One copy of the code serves both module systems, so
// `instanceof FaissError` and the loaded addon are the same for every importer.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], {
  cwd: root,
  stdio: 'inherit',
});

const api = require(`${root}dist/index.js`);
const names = Object.keys(api).filter((name) => name !== '__esModule').sort();
writeFileSync(
  `${root}dist/index.mjs`,
  [
    "import { createRequire } from 'node:module';",
    "const api = createRequire(import.meta.url)('./index.js');",
    `export const { ${names.join(', ')} } = api;`,
    'export default api;',
    '',
  ].join('\n'),
);
writeFileSync(`${root}dist/index.d.mts`, `export * from './index.js';\n`);
