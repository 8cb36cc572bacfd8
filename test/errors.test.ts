// Every bad call gets the right error class and a message naming the
// parameter, and leaves the index usable.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaissError, IndexFlat, IndexIVFPQ, setNumThreads } from 'faiss-native';
import { randomVectors, tempDir } from './helpers';

const dimension = 8;
const base = randomVectors(1000, dimension, 3);
const query = base.slice(0, dimension);
const dir = tempDir();

const index = new IndexIVFPQ({ dimension, nlist: 8, m: 4 });
index.trainSync(base);
index.addSync(base);
const flat = new IndexFlat({ dimension });
flat.addSync(base);
const reference = index.searchSync(query, 5, { nprobe: 8 });

type ErrorClass = typeof TypeError | typeof RangeError | typeof FaissError;
type Case = [name: string, call: () => unknown, errorClass: ErrorClass, message: string | RegExp];

const nan = base.slice(0, dimension);
nan[3] = Number.NaN;
const infinite = base.slice(0, 2 * dimension);
infinite[12] = Number.POSITIVE_INFINITY;

function detached(): Float32Array {
  const array = new Float32Array(dimension);
  structuredClone(array.buffer, { transfer: [array.buffer] });
  return array;
}

const ids = (n: number) => BigInt64Array.from({ length: n }, (_, i) => BigInt(i));

const constructorCases: Case[] = [
  ['no options', () => new IndexIVFPQ(undefined as never), TypeError, 'Expected an options object for options but received undefined'],
  ['dimension as string', () => new IndexIVFPQ({ dimension: '8' as never, nlist: 8, m: 4 }), TypeError, "Expected an integer for dimension but received '8'"],
  ['dimension 0', () => new IndexIVFPQ({ dimension: 0, nlist: 8, m: 4 }), RangeError, 'Expected an integer between 1 and 65536 for dimension but received 0'],
  ['fractional nlist', () => new IndexIVFPQ({ dimension, nlist: 2.5, m: 4 }), RangeError, 'Expected an integer between 1 and 2147483648 for nlist but received 2.5'],
  ['m not dividing dimension', () => new IndexIVFPQ({ dimension, nlist: 8, m: 3 }), RangeError, 'Expected a divisor of dimension (8) for m but received 3'],
  ['m above dimension', () => new IndexIVFPQ({ dimension, nlist: 8, m: 16 }), RangeError, 'Expected an integer between 1 and 8 for m but received 16'],
  ['nbits 9', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4, nbits: 9 }), RangeError, 'Expected an integer between 1 and 8 for nbits but received 9'],
  ['nbits 0', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4, nbits: 0 }), RangeError, 'Expected an integer between 1 and 8 for nbits but received 0'],
  ['unknown metric', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4, metric: 'hamming' as never }), TypeError, "Expected 'l2' or 'ip' or 'cosine' for metric but received 'hamming'"],
  ['misspelt option', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4, nBits: 8 } as never), TypeError, "Unknown option 'nBits' for options; did you mean 'nbits'?"],
  ['flat without dimension', () => new IndexFlat({} as never), TypeError, 'Expected an integer for dimension but received undefined'],
];

const trainCases: Case[] = [
  ['train on number[]', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4 }).trainSync([1, 2, 3] as never), TypeError, 'Expected a Float32Array for vectors but received an Array of length 3'],
  ['train on Float64Array', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4 }).trainSync(new Float64Array(800) as never), TypeError, 'Expected a Float32Array for vectors but received a Float64Array of length 800'],
  ['train with too few vectors', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4 }).trainSync(base.subarray(0, 100 * dimension)), RangeError, 'Expected at least 256 vectors (the larger of nlist and 2^nbits) for vectors but received 100'],
  ['train with NaN', () => new IndexIVFPQ({ dimension, nlist: 1, m: 4, nbits: 1 }).trainSync(infinite.map((v, i) => (i === 3 ? NaN : v))), RangeError, 'Expected finite values for vectors but element 3 is NaN'],
  ['train twice', () => index.trainSync(base), FaissError, 'index is already trained'],
];

const addCases: Case[] = [
  ['add before train', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4 }).addSync(base), FaissError, 'index is not trained: call train() before adding vectors'],
  ['add empty array', () => index.addSync(new Float32Array(0)), RangeError, 'Expected a non-empty length that is a multiple of dimension (8) for vectors but received length 0'],
  ['add ragged length', () => index.addSync(new Float32Array(7)), RangeError, 'Expected a non-empty length that is a multiple of dimension (8) for vectors but received length 7'],
  ['add NaN', () => index.addSync(nan), RangeError, 'Expected finite values for vectors but element 3 is NaN'],
  ['add Infinity', () => index.addSync(infinite), RangeError, 'Expected finite values for vectors but element 12 is infinite'],
  ['add detached buffer', () => index.addSync(detached()), TypeError, 'Expected an attached buffer for vectors but its ArrayBuffer is detached'],
  ['ids as number[]', () => index.addWithIdsSync(query, [1] as never), TypeError, 'Expected a BigInt64Array for ids but received an Array of length 1'],
  ['ids as BigUint64Array', () => index.addWithIdsSync(query, new BigUint64Array(1) as never), TypeError, 'Expected a BigInt64Array for ids but received a BigUint64Array of length 1'],
  ['too few ids', () => index.addWithIdsSync(base.subarray(0, 2 * dimension), ids(1)), RangeError, 'Expected 2 ids (one per vector) for ids but received length 1'],
  ['negative id', () => index.addWithIdsSync(query, BigInt64Array.of(-1n)), RangeError, 'Expected non-negative ids for ids but ids[0] is -1'],
  ['add with bad threads', () => index.addSync(query, { threads: 0 }), RangeError, 'Expected an integer between 1 and 1024 for threads but received 0'],
  ['flat add Float64Array', () => flat.addSync(new Float64Array(8) as never), TypeError, 'Expected a Float32Array for vectors but received a Float64Array of length 8'],
];

const searchCases: Case[] = [
  ['search number[]', () => index.searchSync([0, 1] as never, 5), TypeError, 'Expected a Float32Array for queries but received an Array of length 2'],
  ['search ragged', () => index.searchSync(new Float32Array(9), 5), RangeError, 'Expected a non-empty length that is a multiple of dimension (8) for queries but received length 9'],
  ['search NaN', () => index.searchSync(nan, 5), RangeError, 'Expected finite values for queries but element 3 is NaN'],
  ['k = 0', () => index.searchSync(query, 0), RangeError, 'Expected an integer between 1 and 1048576 for k but received 0'],
  ['k negative', () => index.searchSync(query, -3), RangeError, 'Expected an integer between 1 and 1048576 for k but received -3'],
  ['k huge', () => index.searchSync(query, 2 ** 40), RangeError, 'Expected an integer between 1 and 1048576 for k but received 1099511627776'],
  ['k as bigint', () => index.searchSync(query, 5n as never), TypeError, 'Expected an integer for k but received 5n'],
  ['k NaN', () => index.searchSync(query, Number.NaN), RangeError, 'Expected an integer between 1 and 1048576 for k but received NaN'],
  ['nprobe 0', () => index.searchSync(query, 5, { nprobe: 0 }), RangeError, 'Expected an integer between 1 and 8 for nprobe but received 0'],
  ['nprobe above nlist', () => index.searchSync(query, 5, { nprobe: 9 }), RangeError, 'Expected an integer between 1 and 8 for nprobe but received 9'],
  ['misspelt search option', () => index.searchSync(query, 5, { nProbe: 2 } as never), TypeError, "Unknown option 'nProbe' for options; did you mean 'nprobe'?"],
  ['options not an object', () => index.searchSync(query, 5, 3 as never), TypeError, 'Expected an options object for options but received 3'],
  ['search before train', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4 }).searchSync(query, 5), FaissError, 'index is not trained: call train() before searching'],
  ['search detached', () => index.searchSync(detached(), 5), TypeError, 'Expected an attached buffer for queries but its ArrayBuffer is detached'],
  ['flat k = 0', () => flat.searchSync(query, 0), RangeError, 'Expected an integer between 1 and 1048576 for k but received 0'],
  ['set nprobe too big', () => { index.nprobe = 100; }, RangeError, 'Expected an integer between 1 and 8 for nprobe but received 100'],
  ['setNprobe string', () => index.setNprobe('2' as never), TypeError, "Expected an integer for nprobe but received '2'"],
  ['setNumThreads 0', () => setNumThreads(0), RangeError, 'Expected an integer between 1 and 1024 for threads but received 0'],
];

const ioCases: Case[] = [
  ['read missing file', () => IndexIVFPQ.readSync(path.join(dir, 'missing.index')), FaissError, /^cannot read index file '.*missing\.index': No such file or directory$/],
  ['read a directory', () => IndexIVFPQ.readSync(dir), FaissError, /^cannot read index file '.*': not a regular file$/],
  ['read path not a string', () => IndexIVFPQ.readSync(42 as never), TypeError, 'Expected a non-empty string for path but received 42'],
  ['read empty path', () => IndexIVFPQ.readSync(''), TypeError, "Expected a non-empty string for path but received ''"],
  ['write into a missing directory', () => index.writeSync(path.join(dir, 'no', 'such', 'dir', 'x.index')), FaissError, /^cannot write index file '.*x\.index': No such file or directory$/],
  ['write to a read-only place', () => index.writeSync('/proc/faiss-native.index'), FaissError, /^cannot write index file '\/proc\/faiss-native\.index': /],
  ['write path with NUL', () => index.writeSync('a\0b'), TypeError, "Expected a path without NUL bytes for path but received 'a\0b'"],
];

function expectError(caught: unknown, errorClass: ErrorClass, message: string | RegExp): void {
  expect(caught).toBeInstanceOf(errorClass);
  const text = (caught as Error).message;
  if (typeof message === 'string') expect(text).toBe(message);
  else expect(text).toMatch(message);
}

function expectFailure(call: () => unknown, errorClass: ErrorClass, message: string | RegExp): void {
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expectError(caught, errorClass, message);
}

describe.each([
  ['constructor', constructorCases],
  ['train', trainCases],
  ['add', addCases],
  ['search', searchCases],
  ['read/write', ioCases],
])('bad %s calls', (_group, cases) => {
  it.each(cases)('%s', (_name, call, errorClass, message) => {
    expectFailure(call, errorClass, message);
    // The shared index still answers exactly as before.
    expect(index.searchSync(query, 5, { nprobe: 8 })).toEqual(reference);
    expect(index.ntotal).toBe(1000);
  });
});

describe('async forms reject with the same classes and messages', () => {
  const asyncCases: Case[] = [
    ['search ragged', () => index.search(new Float32Array(9), 5), RangeError, 'Expected a non-empty length that is a multiple of dimension (8) for queries but received length 9'],
    ['search NaN (checked natively)', () => index.search(nan, 5), RangeError, 'Expected finite values for queries but element 3 is NaN'],
    ['add NaN (checked natively)', () => index.add(nan), RangeError, 'Expected finite values for vectors but element 3 is NaN'],
    ['negative id (checked natively)', () => index.addWithIds(query, BigInt64Array.of(-5n)), RangeError, 'Expected non-negative ids for ids but ids[0] is -5'],
    ['train too few', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4 }).train(base.subarray(0, 10 * dimension)), RangeError, 'Expected at least 256 vectors (the larger of nlist and 2^nbits) for vectors but received 10'],
    ['add before train', () => new IndexIVFPQ({ dimension, nlist: 8, m: 4 }).add(base), FaissError, 'index is not trained: call train() before adding vectors'],
    ['read missing', () => IndexIVFPQ.read(path.join(dir, 'gone.index')), FaissError, /No such file or directory$/],
    ['write missing dir', () => index.write(path.join(dir, 'nope', 'x.index')), FaissError, /No such file or directory$/],
    ['flat search k', () => flat.search(query, 0), RangeError, 'Expected an integer between 1 and 1048576 for k but received 0'],
  ];

  it.each(asyncCases)('%s', async (_name, call, errorClass, message) => {
    expectError(await (call() as Promise<unknown>).then(() => undefined, (error: unknown) => error), errorClass, message);
    expect(await index.search(query, 5, { nprobe: 8 })).toEqual(reference);
  });

  it('a rejection carries the caller\'s stack and a stable code', async () => {
    const error = await index.write(path.join(dir, 'nope', 'y.index')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FaissError);
    expect((error as FaissError).code).toBe('ERR_FAISS_IO');
    expect((error as Error).stack).toContain('errors.test.ts');
  });
});

describe('unreadable files become FaissError', () => {
  const fs = require('node:fs') as typeof import('node:fs');

  it('a file that is not an index', () => {
    const file = path.join(dir, 'garbage.index');
    fs.writeFileSync(file, Buffer.from('IwPQ this is not really an index'));
    expectFailure(() => IndexIVFPQ.readSync(file), FaissError, /^invalid index '.*garbage\.index': /);
    expect(index.searchSync(query, 5, { nprobe: 8 })).toEqual(reference);
  });

  it('a truncated index, a foreign index type, and trailing bytes, each named', () => {
    const whole = index.toBuffer();
    const cases: [Buffer, RegExp][] = [
      [whole.subarray(0, whole.length - 100), /^invalid index buffer: inverted lists claim more entries than the data holds \(at byte \d+\)$/],
      [whole.subarray(0, 30), /^invalid index buffer: the data ends early \(at byte \d+\)$/],
      [Buffer.concat([Buffer.from('IxHe'), whole.subarray(4)]), /^invalid index buffer: expected an IndexIVFPQ \('IwPQ'\), an IndexIVFPQFastScan \('IwPf'\), a normalising IndexPreTransform \('IxPT'\) or a refined index \('IxM2'\), found 'IxHe' \(at byte 4\)$/],
      [Buffer.concat([whole, Buffer.alloc(3)]), /^invalid index buffer: 3 unexpected bytes after the index/],
    ];
    for (const [bytes, message] of cases) {
      let caught: unknown;
      try {
        IndexIVFPQ.fromBuffer(bytes);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(FaissError);
      expect((caught as FaissError).code).toBe('ERR_FAISS_BAD_FILE');
      expect((caught as Error).message).toMatch(message);
    }
  });
});

describe('the finiteness check finds the first bad element wherever it lies', () => {
  // 100 rows: 800 elements, so whole 256-element blocks and a ragged tail.
  const rows = base.slice(0, 100 * dimension);
  const badValues: [string, number][] = [['NaN', Number.NaN], ['infinite', Number.NEGATIVE_INFINITY]];
  const positions = [0, 255, 256, 511, 700, 767, 768, rows.length - 1];
  it.each(positions.flatMap((at) => badValues.map(([word, value]) => [at, word, value] as const)))('element %i, %s', (at, word, value) => {
    const queries = rows.slice();
    queries[at] = value;
    // A later bad element is not the one reported.
    if (at + 300 < queries.length) queries[at + 300] = Number.NaN;
    expectFailure(() => index.searchSync(queries, 5), RangeError, `Expected finite values for queries but element ${at} is ${word}`);
    expectFailure(() => flat.addSync(queries), RangeError, `Expected finite values for vectors but element ${at} is ${word}`);
  });

  it('accepts the largest finite floats and subnormals', () => {
    const queries = rows.slice();
    queries[300] = 3.4028234663852886e38;
    queries[301] = -3.4028234663852886e38;
    queries[302] = 1e-45;
    expect(index.searchSync(queries, 5).labels.length).toBe(500);
  });
});
