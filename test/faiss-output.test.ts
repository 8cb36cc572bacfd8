// Nothing Faiss prints reaches stdout (servers speak protocols over it); its
// warnings arrive as process warnings of type FaissWarning.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const root = path.resolve(__dirname, '..');

describe('Faiss output', () => {
  it('training on too few points warns through process.emitWarning, sync and async; merges print nothing', () => {
    const dir = tempDir();
    const script = `
      const f = require('./dist');
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.name + ': ' + w.message));
      const data = new Float32Array(300 * 8).map((_, i) => Math.sin(i));
      (async () => {
        const a = new f.IndexIVFPQ({ dimension: 8, nlist: 4, m: 2, nbits: 8 });
        a.trainSync(data);
        const b = new f.IndexIVFPQ({ dimension: 8, nlist: 4, m: 2, nbits: 8 });
        await b.train(data);
        const shards = [0, 1].map((s) => {
          const copy = f.IndexIVFPQ.fromBuffer(a.toBuffer());
          copy.addSync(data.subarray(s * 1200, s * 1200 + 1200));
          const file = ${JSON.stringify(dir)} + '/shard' + s;
          copy.writeSync(file);
          return file;
        });
        await f.mergeOnDisk(shards, { indexPath: ${JSON.stringify(dir)} + '/merged', dataPath: ${JSON.stringify(dir)} + '/merged.data' });
        await new Promise((resolve) => setImmediate(resolve));
        process.stderr.write(JSON.stringify(warnings));
      })();`;
    const run = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    const warnings: string[] = JSON.parse(run.stderr.slice(run.stderr.lastIndexOf('[')));
    const clustering = warnings.filter((w) => /^FaissWarning: WARNING clustering 300 points to 256 centroids/.test(w));
    // Faiss warns once per sub-quantizer (m = 2): once per training reaches JS.
    expect(clustering).toHaveLength(2);
  });
});
