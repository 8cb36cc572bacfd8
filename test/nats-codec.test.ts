// The binary messages between RemoteIndex and search nodes: round trips,
// batch splitting under max_payload, and refusal of what a peer cannot read.
import { describe, expect, it } from 'vitest';
import { FaissError } from 'faiss-native';
import { decodeReply, decodeRequest, encodeErrorReply, encodeReply, encodeRequest, rowsPerMessage } from '../dist/distributed/search-codec.js';

describe('search codec', () => {
  const queries = Float32Array.from({ length: 3 * 4 }, (_, i) => i / 7);

  it('round-trips a request and a reply, from any byte offset', () => {
    const bytes = encodeRequest({ k: 5, rows: 3, dimension: 4, timeoutMs: 199.2, options: { nprobe: 8, kFactor: 2 }, queries, filter: [0, undefined] });
    const shifted = new Uint8Array(bytes.length + 1).fill(0xee);
    shifted.set(bytes, 1);
    const decoded = { k: 5, rows: 3, dimension: 4, timeoutMs: 200, options: { nprobe: 8, kFactor: 2 }, queries, filter: [0, undefined] };
    expect(decodeRequest(shifted.subarray(1))).toEqual(decoded);
    // Filters: ids past 2^53, an empty id list (nothing allowed), a range.
    const filters: [number, BigInt64Array][] = [
      [1, BigInt64Array.of(3n, 2n ** 62n + 1n, -5n)],
      [2, new BigInt64Array(0)],
      [3, BigInt64Array.of(10n, 2n ** 40n)],
    ];
    for (const filter of filters) {
      const withFilter = encodeRequest({ ...decoded, timeoutMs: 200, filter });
      const moved = new Uint8Array(withFilter.length + 3);
      moved.set(withFilter, 3);
      expect(decodeRequest(moved.subarray(3))).toEqual({ ...decoded, filter });
    }
    const result = { labels: BigInt64Array.from({ length: 15 }, (_, i) => BigInt(i * 1000) - 1n), distances: Float32Array.from({ length: 15 }, (_, i) => i / 3) };
    expect(decodeReply(encodeReply(3, 5, result), 3, 5)).toEqual(result);
  });

  it('rethrows a node error with its class and code', () => {
    expect(() => decodeReply(encodeErrorReply(new RangeError('Expected nprobe')), 1, 1)).toThrow(new RangeError('Expected nprobe'));
    const error = (() => {
      try {
        decodeReply(encodeErrorReply(new FaissError('disk gone', 'ERR_FAISS_IO')), 1, 1);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(FaissError);
    expect(error).toMatchObject({ message: 'disk gone', code: 'ERR_FAISS_IO' });
  });

  it('refuses a message of another version, a truncated one, and a reply of the wrong shape', () => {
    const bytes = encodeRequest({ k: 5, rows: 3, dimension: 4, timeoutMs: 10, options: {}, queries, filter: [0, undefined] });
    const future = bytes.slice();
    future[0] = 2;
    expect(() => decodeRequest(future)).toThrow('malformed search message: codec version 2; this node speaks 1');
    expect(() => decodeRequest(bytes.subarray(0, bytes.length - 4))).toThrow('malformed search message: 116 bytes for 3 queries of dimension 4 and filter mode 0');
    // A range needs exactly two bounds; an unknown filter mode is refused.
    const range = encodeRequest({ k: 5, rows: 3, dimension: 4, timeoutMs: 10, options: {}, queries, filter: [3, BigInt64Array.of(1n, 2n, 3n)] });
    expect(() => decodeRequest(range)).toThrow(expect.objectContaining({ code: 'ERR_FAISS_PROTOCOL' }));
    const mode = encodeRequest({ k: 5, rows: 3, dimension: 4, timeoutMs: 10, options: {}, queries, filter: [9, BigInt64Array.of(1n)] });
    expect(() => decodeRequest(mode)).toThrow('filter mode 9');
    const reply = encodeReply(1, 2, { labels: new BigInt64Array(2), distances: new Float32Array(2) });
    expect(() => decodeReply(reply, 1, 3)).toThrow(expect.objectContaining({ code: 'ERR_FAISS_PROTOCOL' }));
  });

  it('sizes batches so that requests and replies fit max_payload', () => {
    // 1 MiB: a request holds 4,095 queries of d 64; at k 100 the reply (12 bytes per result) limits it to 873.
    expect(rowsPerMessage(1048576, 64, 10)).toBe(4095);
    expect(rowsPerMessage(1048576, 64, 100)).toBe(873);
    expect(() => rowsPerMessage(4096, 16, 1000)).toThrow("Expected a k whose reply fits the NATS server's max_payload of 4096 bytes for k but received 1000");
    // A filter's ids take request room: 4096 - 72 - 8 * 300 bytes leave 25 queries of d 16.
    expect(rowsPerMessage(4096, 16, 10, 300)).toBe(25);
    expect(() => rowsPerMessage(4096, 16, 10, 500)).toThrow('filter whose 500 ids fit');
  });
});
