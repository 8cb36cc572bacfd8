// Crash-safe saves: a child process rewrites a ~50 MB index again and again
// with writeSync(), write() and writeSync(path, { durable: false }) in turn; we SIGKILL it at random moments, many of them mid-write.
// After every kill the file under the target name must be a complete save
// (the last finished one, or the one whose rename had just happened), load
// and search exactly like the original; no partial file may sit under the
// target name.
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexIVFPQ } from 'faiss-native';
import { expectSameResults, randomVectors, tempDir } from './helpers';

const KILLS = 50;
const dimension = 32;
const nlist = 64;
const root = path.resolve(__dirname, '..');

// The writer: loads the index, then saves it forever. Generation g is stored
// in the file as nprobe = 1 + g % nlist, so a loaded file says which save it is.
const WRITER = `
import { writeSync } from 'node:fs';
import { IndexIVFPQ } from ${JSON.stringify(path.join(root, 'dist', 'index.mjs'))};
const [target, first] = [process.argv[2], Number(process.argv[3])];
const say = (line) => writeSync(1, line + '\\n');
const index = IndexIVFPQ.readSync(target);
say('ready');
for (let g = first; ; g++) {
  index.nprobe = 1 + (g % index.nlist);
  say('start ' + g);
  if (g % 3 === 0) index.writeSync(target);
  else if (g % 3 === 1) await index.write(target);
  else index.writeSync(target, { durable: false });
  say('done ' + g);
}
`;

interface KillRecord {
  generation: number;
  midWrite: boolean;
  leftovers: string[];
}

describe('crash-safe saves', () => {
  const dir = tempDir('faiss-native-kill-');
  const target = path.join(dir, 'big.index');
  const writer = path.join(dir, 'writer.mjs');
  writeFileSync(writer, WRITER);

  // 3.2 M vectors × (8-byte code + 8-byte id) ≈ 51 MB on disk.
  const index = new IndexIVFPQ({ dimension, nlist, m: 32, nbits: 2 });
  index.trainSync(randomVectors(39 * nlist, dimension, 1));
  const chunk = randomVectors(200_000, dimension, 2);
  for (let i = 0; i < 16; i++) index.addSync(chunk);
  const queries = randomVectors(5, dimension, 3);
  const expected = index.searchSync(queries, 10, { nprobe: 2 });
  const ntotal = index.ntotal;
  index.nprobe = 1;
  index.writeSync(target);
  index.dispose();

  /** Runs one writer, kills it at a random moment, returns what was on disk at the time. */
  function killOnce(first: number, random: () => number, writeMs: number[]): Promise<{ lastDone: number; lastStart: number; midWriteAim: boolean }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [writer, target, String(first)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let lastDone = first - 1;
      let lastStart = first - 1;
      let startedAt = 0;
      let armed = false;
      let midWriteAim = false;
      let buffered = '';
      const kill = () => child.kill('SIGKILL');
      child.stdout.on('data', (data: Buffer) => {
        buffered += data.toString();
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          const [event, value] = line.split(' ');
          if (event === 'start') {
            lastStart = Number(value);
            startedAt = performance.now();
          } else if (event === 'done') {
            lastDone = Number(value);
            writeMs.push(performance.now() - startedAt);
          }
          if (armed) continue;
          // Aim most kills into a write: after a 'start', within the usual write time.
          const average = writeMs.length > 0 ? writeMs.reduce((a, b) => a + b, 0) / writeMs.length : 80;
          if (event === 'start' && random() < 0.8) {
            armed = true;
            midWriteAim = true;
            setTimeout(kill, random() * average * 1.2);
          } else if (event === 'ready' && random() < 0.25) {
            armed = true;
            setTimeout(kill, random() * average * 3);
          }
        }
      });
      // Never let a writer outlive the test.
      const guard = setTimeout(kill, 20_000);
      child.on('error', reject);
      child.on('close', (_code, signal) => {
        clearTimeout(guard);
        if (signal !== 'SIGKILL') reject(new Error(`writer ended with ${signal ?? 'exit'} instead of SIGKILL`));
        else resolve({ lastDone, lastStart, midWriteAim });
      });
    });
  }

  it(`survives ${KILLS} SIGKILLs during writeSync()/write(): the previous good file always loads and searches`, async () => {
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const writeMs: number[] = [];
    const kills: KillRecord[] = [];
    let generation = 0; // generation of the file on disk (nprobe = 1 + g % nlist)
    for (let k = 0; k < KILLS; k++) {
      const { lastDone, lastStart } = await killOnce(generation + 1, random, writeMs);
      const names = readdirSync(dir);
      const leftovers = names.filter((name) => name.startsWith('big.index.tmp-'));
      // Nothing else may appear: the target itself, temp files, the writer script.
      expect(names.filter((name) => name !== 'big.index' && name !== 'writer.mjs' && !leftovers.includes(name))).toEqual([]);

      // The file under the target name is a complete save: the last finished
      // one, or the next if its rename landed just before the kill.
      const loaded = IndexIVFPQ.readSync(target, { mmap: true });
      const candidates = new Set([lastDone, lastStart].filter((g) => g >= generation));
      const found = [...candidates].find((g) => loaded.nprobe === 1 + (g % nlist));
      expect(found, `nprobe ${loaded.nprobe} after kill ${k} (last done ${lastDone}, last start ${lastStart})`).toBeDefined();
      expect(loaded.ntotal).toBe(ntotal);
      expectSameResults(loaded.searchSync(queries, 10, { nprobe: 2 }), expected);
      loaded.dispose();
      if (k % 10 === 0) {
        // Now and then the full (non-mapped) read path too.
        const full = IndexIVFPQ.readSync(target);
        expectSameResults(full.searchSync(queries, 10, { nprobe: 2 }), expected);
        full.dispose();
      }
      generation = found!;
      kills.push({ generation, midWrite: leftovers.length > 0, leftovers });
      for (const name of leftovers) rmSync(path.join(dir, name));
    }
    const midWrite = kills.filter((k) => k.midWrite).length;
    const leftoverBytes = kills.flatMap((k) => k.leftovers).length;
    console.log(
      `crash-safe saves: ${KILLS} kills, ${midWrite} mid-write (a temp file was left behind), ` +
        `${KILLS - midWrite} between writes; ${leftoverBytes} temp files left in total; ` +
        `file ${(statSync(target).size / 2 ** 20).toFixed(1)} MiB, write ${Math.round(writeMs.reduce((a, b) => a + b, 0) / Math.max(1, writeMs.length))} ms on average`,
    );
    expect(kills).toHaveLength(KILLS);
    // The aim makes kills interrupt writes often enough to test torn saves: 23 to 35
    // of 50 in eight runs, depending on the machine's load.
    expect(midWrite).toBeGreaterThanOrEqual(KILLS / 5);
  }, 240_000);

  it('write options: durable must be a boolean, an unknown option is named, the index stays usable', async () => {
    const small = new IndexIVFPQ({ dimension: 8, nlist: 2, m: 2, nbits: 4 });
    small.trainSync(randomVectors(39 * 16, 8, 4));
    small.addSync(randomVectors(50, 8, 5));
    const file = path.join(dir, 'small.index');
    expect(() => small.writeSync(file, { durable: 'no' as unknown as boolean })).toThrow(
      new TypeError("Expected a boolean for durable but received 'no'"),
    );
    await expect(small.write(file, { fsync: false } as never)).rejects.toThrow(TypeError);
    await expect(small.write(file, { fsync: false } as never)).rejects.toThrow(/fsync/);
    small.writeSync(file, { durable: false });
    const fast = IndexIVFPQ.readSync(file).toBuffer();
    await small.write(file);
    expect(Buffer.compare(fast, IndexIVFPQ.readSync(file).toBuffer())).toBe(0);
    small.dispose();
  });
});
