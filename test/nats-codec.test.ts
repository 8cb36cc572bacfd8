// The binary messages between RemoteIndex and search nodes: round trips,
// batch splitting under max_payload, and refusal of what a peer cannot read.
import { describe, expect, it } from 'vitest';
import { FaissError } from 'faiss-native';
import { decodeReply, decodeRequest, encodeErrorReply, encodeReply, encodeRequest, rowsPerMessage } from '../dist/distributed/search-codec.js';

describe('search codec', () => {
  const queries = Float32Array.from({ length: 3 * 4 }, (_, i) => i / 7);

  it('round-trips a request and a reply, from any byte offset', () => {
    const bytes = encodeRequest({ k: 5, rows: 3, dimension: 4, timeoutMs: 199.2, options: { nprobe: 8, kFactor: 2 }, queries });
    const shifted = new Uint8Array(bytes.length + 1).fill(0xee);
    shifted.set(bytes, 1);
    expect(decodeRequest(shifted.subarray(1))).toEqual({ k: 5, rows: 3, dimension: 4, timeoutMs: 200, options: { nprobe: 8, kFactor: 2 }, queries });
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
    const bytes = encodeRequest({ k: 5, rows: 3, dimension: 4, timeoutMs: 10, options: {}, queries });
    const future = bytes.slice();
    future[0] = 2;
    expect(() => decodeRequest(future)).toThrow('malformed search message: codec version 2; this node speaks 1');
    expect(() => decodeRequest(bytes.subarray(0, bytes.length - 4))).toThrow('malformed search message: 116 bytes for 3 queries of dimension 4');
    const reply = encodeReply(1, 2, { labels: new BigInt64Array(2), distances: new Float32Array(2) });
    expect(() => decodeReply(reply, 1, 3)).toThrow(expect.objectContaining({ code: 'ERR_FAISS_PROTOCOL' }));
  });

  it('sizes batches so that requests and replies fit max_payload', () => {
    // 1 MiB: a request holds 4,095 queries of d 64; at k 100 the reply (12 bytes per result) limits it to 873.
    expect(rowsPerMessage(1048576, 64, 10)).toBe(4095);
    expect(rowsPerMessage(1048576, 64, 100)).toBe(873);
    expect(() => rowsPerMessage(4096, 16, 1000)).toThrow("Expected a k whose reply fits the NATS server's max_payload of 4096 bytes for k but received 1000");
  });
});
