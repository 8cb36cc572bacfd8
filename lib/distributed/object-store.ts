/**
 * Where a distributed build keeps its objects (template, shard files, serving
 * shards, manifest): a shared directory or an S3 bucket behind one small
 * interface. Keys are '/'-separated relative paths. Objects are written whole
 * and never changed, so readers never see a partial object.
 */
export interface ObjectStore {
  /** For messages and the manifest, e.g. 'file:///data/store' or 's3://bucket/prefix'. */
  readonly url: string;
  put(key: string, body: Uint8Array): Promise<void>;
  /** The whole object, or undefined when there is none. */
  get(key: string): Promise<Buffer | undefined>;
  /** Bytes [start, end) of an object. */
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  /**
   * Bytes [start, start + target.length) of an object, read into target.
   * Optional: stores that can fill caller memory spare a buffer per read.
   */
  getRangeInto?(key: string, start: number, target: Uint8Array): Promise<void>;
  /** The object's size, or undefined when there is none. */
  head(key: string): Promise<{ bytes: number } | undefined>;
  uploadFile(key: string, filePath: string, onBytes?: (bytes: number) => void): Promise<void>;
  downloadFile(key: string, filePath: string, onBytes?: (bytes: number) => void): Promise<void>;
  /** Every key starting with prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes an object; no error when it is already gone. */
  delete(key: string): Promise<void>;
}

export function expectKey(key: unknown): string {
  if (typeof key !== 'string' || key === '' || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new TypeError(`Expected a relative '/'-separated key without '.' or '..' parts for key but received ${JSON.stringify(key)}`);
  }
  return key;
}
