// The binary messages between RemoteIndex and search nodes. Little-endian;
// the version byte comes first so a node can refuse what it does not know.
//
// request: u8 version, u8 kind (1 = search), u16 0, u32 k, u32 rows,
//          u32 dimension, u32 timeoutMs, u32 filter mode (0 = none, 1 = ids,
//          2 = exclude, 3 = range), f64[6] options (NaN = unset),
//          f32[rows * dimension] queries, i64[] filter ids (a range: low, high).
//          A node without filters refuses a filtered request by its length.
// reply:   u8 version, u8 status (0 = ok, 1 = error), u16 0, u32 rows, u32 k,
//          u32 0, then ok: i64[rows * k] labels, f32[rows * k] distances;
//          error: UTF-8 JSON { message, code }
import { FaissError } from '../errors';
import { FILTER_NONE, FILTER_RANGE, type FilterArgs } from '../id-filter';
import type { SearchResult } from '../results';

export const CODEC_VERSION = 1;
const KIND_SEARCH = 1;
const STATUS_OK = 0;
const STATUS_ERROR = 1;
export const REQUEST_HEADER_BYTES = 72;
export const REPLY_HEADER_BYTES = 16;

/** Search parameters forwarded to the shards, in their wire order. */
export const OPTION_NAMES = ['nprobe', 'maxCodes', 'efSearch', 'quantizerEfSearch', 'kFactor', 'qb'] as const;
export type ForwardedOptions = Partial<Record<(typeof OPTION_NAMES)[number], number>>;

export interface SearchRequest {
  k: number;
  rows: number;
  dimension: number;
  /** What is left of the caller's deadline when the request is sent; a node measures it on its own clock. */
  timeoutMs: number;
  options: ForwardedOptions;
  queries: Float32Array;
  filter: FilterArgs;
}

export function encodeRequest(request: SearchRequest): Uint8Array {
  const [filterMode, filterIds] = request.filter;
  const idBytes = filterIds?.byteLength ?? 0;
  const bytes = new Uint8Array(REQUEST_HEADER_BYTES + request.queries.byteLength + idBytes);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, CODEC_VERSION);
  view.setUint8(1, KIND_SEARCH);
  view.setUint32(4, request.k, true);
  view.setUint32(8, request.rows, true);
  view.setUint32(12, request.dimension, true);
  view.setUint32(16, Math.max(0, Math.min(0xffffffff, Math.ceil(request.timeoutMs))), true);
  view.setUint32(20, filterMode, true);
  OPTION_NAMES.forEach((name, i) => view.setFloat64(24 + 8 * i, request.options[name] ?? Number.NaN, true));
  bytes.set(new Uint8Array(request.queries.buffer, request.queries.byteOffset, request.queries.byteLength), REQUEST_HEADER_BYTES);
  if (filterIds) {
    bytes.set(new Uint8Array(filterIds.buffer, filterIds.byteOffset, idBytes), REQUEST_HEADER_BYTES + request.queries.byteLength);
  }
  return bytes;
}

function malformed(what: string): never {
  throw new FaissError(`malformed search message: ${what}`, 'ERR_FAISS_PROTOCOL');
}

/** Copies a little-endian section out of a message: a received message may sit at any byte offset. */
function section(bytes: Uint8Array, start: number, length: number): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + length) as ArrayBuffer;
}

export function decodeRequest(bytes: Uint8Array): SearchRequest {
  if (bytes.length < REQUEST_HEADER_BYTES) malformed(`${bytes.length} bytes, shorter than a request header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== CODEC_VERSION) malformed(`codec version ${view.getUint8(0)}; this node speaks ${CODEC_VERSION}`);
  if (view.getUint8(1) !== KIND_SEARCH) malformed(`unknown request kind ${view.getUint8(1)}`);
  const k = view.getUint32(4, true);
  const rows = view.getUint32(8, true);
  const dimension = view.getUint32(12, true);
  const queryBytes = rows * dimension * 4;
  const filterMode = view.getUint32(20, true);
  const idBytes = bytes.length - REQUEST_HEADER_BYTES - queryBytes;
  const idsFit = filterMode === FILTER_NONE ? idBytes === 0 : filterMode === FILTER_RANGE ? idBytes === 16 : idBytes >= 0 && idBytes % 8 === 0;
  if (!idsFit || filterMode > FILTER_RANGE) {
    malformed(`${bytes.length} bytes for ${rows} queries of dimension ${dimension} and filter mode ${filterMode}`);
  }
  const options: ForwardedOptions = {};
  OPTION_NAMES.forEach((name, i) => {
    const value = view.getFloat64(24 + 8 * i, true);
    if (!Number.isNaN(value)) options[name] = value;
  });
  const queries = new Float32Array(section(bytes, REQUEST_HEADER_BYTES, queryBytes));
  const ids = filterMode === FILTER_NONE ? undefined : new BigInt64Array(section(bytes, REQUEST_HEADER_BYTES + queryBytes, idBytes));
  const filter: FilterArgs = [filterMode, ids];
  return { k, rows, dimension, timeoutMs: view.getUint32(16, true), options, queries, filter };
}

export function encodeReply(rows: number, k: number, result: SearchResult): Uint8Array {
  const n = rows * k;
  const bytes = new Uint8Array(REPLY_HEADER_BYTES + n * 12);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, CODEC_VERSION);
  view.setUint8(1, STATUS_OK);
  view.setUint32(4, rows, true);
  view.setUint32(8, k, true);
  bytes.set(new Uint8Array(result.labels.buffer, result.labels.byteOffset, n * 8), REPLY_HEADER_BYTES);
  bytes.set(new Uint8Array(result.distances.buffer, result.distances.byteOffset, n * 4), REPLY_HEADER_BYTES + n * 8);
  return bytes;
}

export function encodeErrorReply(error: unknown): Uint8Array {
  const { message = String(error), code = undefined } = error instanceof Error ? (error as Error & { code?: string }) : {};
  const text = new TextEncoder().encode(JSON.stringify({ message, code, name: error instanceof Error ? error.name : 'Error' }));
  const bytes = new Uint8Array(REPLY_HEADER_BYTES + text.length);
  bytes[0] = CODEC_VERSION;
  bytes[1] = STATUS_ERROR;
  bytes.set(text, REPLY_HEADER_BYTES);
  return bytes;
}

/** A shard's answer, or the error the node reported (rethrown with its class and code). */
export function decodeReply(bytes: Uint8Array, rows: number, k: number): SearchResult {
  if (bytes.length < REPLY_HEADER_BYTES) malformed(`${bytes.length} bytes, shorter than a reply header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== CODEC_VERSION) malformed(`codec version ${view.getUint8(0)}; this client speaks ${CODEC_VERSION}`);
  if (view.getUint8(1) === STATUS_ERROR) {
    const { message, code, name } = JSON.parse(new TextDecoder().decode(bytes.subarray(REPLY_HEADER_BYTES))) as { message: string; code?: string; name: string };
    if (name === 'RangeError') throw new RangeError(message);
    if (name === 'TypeError') throw new TypeError(message);
    throw new FaissError(message, code ?? 'ERR_FAISS');
  }
  const n = rows * k;
  if (view.getUint32(4, true) !== rows || view.getUint32(8, true) !== k || bytes.length !== REPLY_HEADER_BYTES + n * 12) {
    malformed(`a reply of ${bytes.length} bytes for ${rows} queries and k ${k}`);
  }
  return {
    labels: new BigInt64Array(section(bytes, REPLY_HEADER_BYTES, n * 8)),
    distances: new Float32Array(section(bytes, REPLY_HEADER_BYTES + n * 8, n * 4)),
  };
}

/** Query rows per request so that both the request (with its filter ids) and its reply fit in the server's max_payload. */
export function rowsPerMessage(maxPayload: number, dimension: number, k: number, filterIds = 0): number {
  const requestRoom = maxPayload - REQUEST_HEADER_BYTES - 8 * filterIds;
  if (requestRoom < dimension * 4) {
    throw new RangeError(
      `Expected a filter whose ${filterIds} ids fit the NATS server's max_payload of ${maxPayload} bytes beside a query for filter but received ${filterIds} ids`,
    );
  }
  const rows = Math.floor(Math.min(requestRoom / (dimension * 4), (maxPayload - REPLY_HEADER_BYTES) / (k * 12)));
  if (rows < 1) {
    throw new RangeError(`Expected a k whose reply fits the NATS server's max_payload of ${maxPayload} bytes for k but received ${k}`);
  }
  return rows;
}
