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

// The value exports of each entry point, read from its source rather than by
// loading the package: the native addon may not be built yet.
function writeEsmEntry(entry) {
  const source = readFileSync(`${root}lib/${entry}.ts`, 'utf8');
  const names = [...source.matchAll(/^export \{([^}]*)\} from/gm)]
    .flatMap((match) => match[1].split(','))
    .map((name) => name.trim())
    .filter((name) => name && !name.startsWith('type '))
    .sort();
  writeFileSync(
    `${root}dist/${entry}.mjs`,
    [
      "import { createRequire } from 'node:module';",
      `const api = createRequire(import.meta.url)('./${entry.split('/').pop()}.js');`,
      `export const { ${names.join(', ')} } = api;`,
      'export default api;',
      '',
    ].join('\n'),
  );
  writeFileSync(`${root}dist/${entry}.d.mts`, `export * from './${entry.split('/').pop()}.js';\n`);
}

writeEsmEntry('index');
// faiss-native/distributed: the build jobs, their stores and manifests.
writeEsmEntry('distributed/index');
