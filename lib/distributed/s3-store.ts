import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { expectInteger, expectOptions, expectString, fail } from '../validate';
import { expectKey, type ObjectStore } from './object-store';
import { requireOptional } from './optional';

type S3Module = typeof import('@aws-sdk/client-s3');
type StorageModule = typeof import('@aws-sdk/lib-storage');

export interface S3StoreOptions {
  bucket: string;
  /** Prepended to every key ('' by default); e.g. 'indexes/' */
  prefix?: string;
  /** An S3Client from @aws-sdk/client-s3 (its region, endpoint, credentials and retry policy are used as they are). */
  client: { send(command: unknown): Promise<unknown> };
  /** Multipart part size and ranged-download chunk, bytes. Default 8 MiB (S3's minimum part is 5 MiB). */
  partBytes?: number;
  /** Parts moved at once per upload or download. Default 4. */
  parallelParts?: number;
}

const KEYS = ['bucket', 'prefix', 'client', 'partBytes', 'parallelParts'] as const;
const MIN_PART_BYTES = 5 * 1024 * 1024;

function isMissing(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as Readable) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * An object store in an S3 bucket (or any S3-compatible service). Large files
 * go up as multipart uploads (@aws-sdk/lib-storage) and come down as parallel
 * ranged GETs; failed requests are retried by the client's retry policy.
 */
export function s3Store(options: S3StoreOptions): ObjectStore {
  const bag = expectOptions<S3StoreOptions>(options, 'options', KEYS);
  const bucket = expectString(bag.bucket, 'bucket');
  const prefix = bag.prefix === undefined || bag.prefix === '' ? '' : expectString(bag.prefix, 'prefix');
  const client = bag.client;
  if (typeof client?.send !== 'function') fail('type', 'an S3Client', 'client', client);
  const partBytes = bag.partBytes === undefined ? 8 * 1024 * 1024 : expectInteger(bag.partBytes, 'partBytes', MIN_PART_BYTES, 2 ** 32);
  const parallelParts = bag.parallelParts === undefined ? 4 : expectInteger(bag.parallelParts, 'parallelParts', 1, 64);
  const s3 = requireOptional<S3Module>('@aws-sdk/client-s3');
  const send = <T>(command: unknown) => client.send(command) as Promise<T>;
  const Key = (key: string) => prefix + expectKey(key);

  async function getRange(key: string, start: number, end: number): Promise<Buffer> {
    const reply = await send<{ Body: unknown }>(new s3.GetObjectCommand({ Bucket: bucket, Key: Key(key), Range: `bytes=${start}-${end - 1}` }));
    const bytes = await bodyBytes(reply.Body);
    if (bytes.length !== end - start) throw new RangeError(`object '${key}' gave ${bytes.length} bytes for range [${start}, ${end})`);
    return bytes;
  }

  async function head(key: string): Promise<{ bytes: number } | undefined> {
    try {
      const reply = await send<{ ContentLength?: number }>(new s3.HeadObjectCommand({ Bucket: bucket, Key: Key(key) }));
      return { bytes: reply.ContentLength ?? 0 };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  return {
    url: `s3://${bucket}/${prefix}`,
    async put(key, body) {
      await send(new s3.PutObjectCommand({ Bucket: bucket, Key: Key(key), Body: body }));
    },
    async get(key) {
      try {
        const reply = await send<{ Body: unknown }>(new s3.GetObjectCommand({ Bucket: bucket, Key: Key(key) }));
        return await bodyBytes(reply.Body);
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    getRange,
    head,
    async uploadFile(key, filePath, onBytes) {
      const { Upload } = requireOptional<StorageModule>('@aws-sdk/lib-storage');
      const upload = new Upload({
        client: client as InstanceType<S3Module['S3Client']>,
        params: { Bucket: bucket, Key: Key(key), Body: createReadStream(filePath, { highWaterMark: 1024 * 1024 }) },
        partSize: partBytes,
        queueSize: parallelParts,
        // A failed multipart upload must not leave parts billed in the bucket.
        leavePartsOnError: false,
      });
      let reported = 0;
      upload.on('httpUploadProgress', ({ loaded }) => {
        if (loaded !== undefined && loaded > reported) {
          onBytes?.(loaded - reported);
          reported = loaded;
        }
      });
      await upload.done();
    },
    async downloadFile(key, filePath, onBytes) {
      const size = await head(key);
      if (!size) throw Object.assign(new Error(`no object '${key}' in ${bucket}`), { code: 'ENOENT' });
      const temp = `${filePath}.${randomUUID()}.partial`;
      const handle = await open(temp, 'w');
      try {
        let next = 0;
        // Workers take the next chunk until none is left: at most parallelParts requests in flight.
        const fetchChunks = async () => {
          while (next < size.bytes) {
            const start = next;
            const end = Math.min(size.bytes, start + partBytes);
            next = end;
            const bytes = await getRange(key, start, end);
            await handle.write(bytes, 0, bytes.length, start);
            onBytes?.(bytes.length);
          }
        };
        await Promise.all(Array.from({ length: parallelParts }, fetchChunks));
        await handle.close();
        await rename(temp, filePath);
      } catch (error) {
        await handle.close().catch(() => {});
        await rm(temp, { force: true });
        throw error;
      }
    },
    async list(listPrefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const reply = await send<{ Contents?: { Key?: string }[]; NextContinuationToken?: string }>(
          new s3.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix + listPrefix, ContinuationToken: token }),
        );
        for (const item of reply.Contents ?? []) if (item.Key) keys.push(item.Key.slice(prefix.length));
        token = reply.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    async delete(key) {
      await send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: Key(key) }));
    },
  };
}
