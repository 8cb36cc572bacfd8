import { pathToFileURL } from 'node:url';
import { expectInteger, expectOneOf, expectOptions, expectString, fail } from '../validate';
import type { ObjectStore } from './object-store';

/**
 * Where the rows of a build come from. Rows are numbered across the source in
 * order, and row r gets id idBase + r.
 * - objects: .fvecs files (each row: int32 dimension, then the floats) or raw
 *   float32 rows ('f32', dimension given), stored in the build's store.
 * - module: a file every worker can import, exporting
 *   `read(start, end): Float32Array | Promise<Float32Array>` (rows [start, end)).
 */
export type VectorSource =
  | { objects: { key: string; format: 'fvecs' | 'f32' }[]; dimension?: number; idBase?: number }
  | { module: string; rows: number; dimension: number; idBase?: number };

interface SourceObject {
  key: string;
  /** Bytes before each row's floats: 4 for fvecs, 0 for f32. */
  rowHeader: number;
  rows: number;
}

/** A source with its row counts looked up once, as the jobs carry it. */
export type ResolvedSource =
  | { kind: 'objects'; objects: SourceObject[]; dimension: number; rows: number; idBase: number }
  | { kind: 'module'; module: string; dimension: number; rows: number; idBase: number };

const FORMATS = ['fvecs', 'f32'] as const;

export async function resolveSource(store: ObjectStore, source: VectorSource): Promise<ResolvedSource> {
  const bag = expectOptions<Record<string, unknown>>(source, 'source', ['objects', 'dimension', 'idBase', 'module', 'rows']);
  const idBase = bag.idBase === undefined ? 0 : expectInteger(bag.idBase, 'source.idBase', 0, Number.MAX_SAFE_INTEGER);
  if (bag.module !== undefined) {
    const module = expectString(bag.module, 'source.module');
    const rows = expectInteger(bag.rows, 'source.rows', 1, Number.MAX_SAFE_INTEGER);
    const dimension = expectInteger(bag.dimension, 'source.dimension', 1, 65536);
    return { kind: 'module', module, rows, dimension, idBase };
  }
  if (!Array.isArray(bag.objects) || bag.objects.length === 0) fail('type', 'a non-empty array of { key, format }, or a module', 'source.objects', bag.objects);
  let dimension = bag.dimension === undefined ? undefined : expectInteger(bag.dimension, 'source.dimension', 1, 65536);
  const objects: SourceObject[] = [];
  for (const [i, item] of (bag.objects as unknown[]).entries()) {
    const { key, format } = expectOptions<{ key: unknown; format: unknown }>(item, `source.objects[${i}]`, ['key', 'format']);
    const name = `source.objects[${i}]`;
    const objectKey = expectString(key, `${name}.key`);
    const kind = expectOneOf(format, `${name}.format`, FORMATS);
    const size = await store.head(objectKey);
    if (!size) throw new RangeError(`Expected an object in ${store.url} for ${name}.key but there is none at '${objectKey}'`);
    const rowHeader = kind === 'fvecs' ? 4 : 0;
    if (kind === 'fvecs') {
      const own = size.bytes >= 4 ? (await store.getRange(objectKey, 0, 4)).readInt32LE(0) : 0;
      if (dimension !== undefined && own !== dimension) {
        throw new RangeError(`Expected rows of dimension ${dimension} for ${name} but '${objectKey}' starts with dimension ${own}`);
      }
      dimension = own;
    }
    if (dimension === undefined) fail('type', "a dimension for 'f32' objects", 'source.dimension', undefined);
    const rowBytes = rowHeader + 4 * dimension;
    if (size.bytes === 0 || size.bytes % rowBytes !== 0) {
      throw new RangeError(`Expected a whole number of ${rowBytes}-byte rows for ${name} but '${objectKey}' has ${size.bytes} bytes`);
    }
    objects.push({ key: objectKey, rowHeader, rows: size.bytes / rowBytes });
  }
  const rows = objects.reduce((sum, object) => sum + object.rows, 0);
  return { kind: 'objects', objects, dimension: dimension!, rows, idBase };
}

// Kept from TypeScript's CommonJS output, which would turn import() into require().
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<{ read?: unknown; default?: { read?: unknown } }>;

/**
 * Rows [start, end) of the source as one Float32Array; counts bytes read.
 * With `into` (room for the rows), raw float32 rows are read straight into it
 * where the store can fill caller memory, and the result is a view of it.
 */
export async function readRows(
  store: ObjectStore,
  source: ResolvedSource,
  start: number,
  end: number,
  onBytes: (bytes: number) => void,
  into?: Float32Array,
): Promise<Float32Array> {
  const { dimension } = source;
  if (into && source.kind === 'objects' && store.getRangeInto && source.objects.every((object) => object.rowHeader === 0)) {
    const out = into.subarray(0, (end - start) * dimension);
    let first = 0;
    for (const object of source.objects) {
      const from = Math.max(start, first);
      const to = Math.min(end, first + object.rows);
      if (from < to) {
        const target = new Uint8Array(out.buffer, out.byteOffset + (from - start) * dimension * 4, (to - from) * dimension * 4);
        await store.getRangeInto(object.key, (from - first) * dimension * 4, target);
        onBytes(target.length);
      }
      first += object.rows;
      if (first >= end) break;
    }
    return out;
  }
  if (source.kind === 'module') {
    const loaded = await importModule(pathToFileURL(source.module).href);
    const read = (loaded.read ?? loaded.default?.read) as ((a: number, b: number) => Float32Array | Promise<Float32Array>) | undefined;
    if (typeof read !== 'function') throw new TypeError(`Expected a module exporting read(start, end) for source.module but '${source.module}' has none`);
    const rows = await read(start, end);
    if (!(rows instanceof Float32Array) || rows.length !== (end - start) * dimension) {
      throw new RangeError(`Expected ${(end - start) * dimension} floats from read(${start}, ${end}) of '${source.module}' but received ${rows?.length}`);
    }
    onBytes(rows.byteLength);
    return rows;
  }
  let out: Float32Array | undefined;
  let first = 0; // the source row where the current object begins
  for (const object of source.objects) {
    const from = Math.max(start, first);
    const to = Math.min(end, first + object.rows);
    if (from < to) {
      const rowBytes = object.rowHeader + 4 * dimension;
      const bytes = await store.getRange(object.key, (from - first) * rowBytes, (to - first) * rowBytes);
      onBytes(bytes.length);
      // rowBytes and rowHeader are multiples of 4: every row is a Float32Array
      // view of the bytes, copied only when the Buffer sits at an odd offset.
      const floats =
        bytes.byteOffset % 4 === 0
          ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
          : new Float32Array(new Uint8Array(bytes).buffer);
      const headerFloats = object.rowHeader / 4;
      // Raw rows that make up the whole range are the result as they are.
      if (headerFloats === 0 && from === start && to === end) return floats;
      out ??= new Float32Array((end - start) * dimension);
      if (headerFloats === 0) {
        out.set(floats, (from - start) * dimension);
      } else {
        const rowFloats = rowBytes / 4;
        for (let row = 0; row < to - from; row++) {
          const at = row * rowFloats + headerFloats;
          out.set(floats.subarray(at, at + dimension), (from - start + row) * dimension);
        }
      }
    }
    first += object.rows;
    if (first >= end) break;
  }
  return out ?? new Float32Array(0);
}
