// Compiles lib/ to CommonJS in dist/, then adds an ES module entry that
// re-exports it. One copy of the code serves both module systems, so
// `instanceof FaissError` and the loaded addon are the same for every importer.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], {
  cwd: root,
  stdio: 'inherit',
});

// The value exports, read from lib/index.ts rather than by loading the
// package: the native addon may not be built yet.
const source = readFileSync(`${root}lib/index.ts`, 'utf8');
const names = [...source.matchAll(/^export \{([^}]*)\} from/gm)]
  .flatMap((match) => match[1].split(','))
  .map((name) => name.trim())
  .filter((name) => name && !name.startsWith('type '))
  .sort();
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
