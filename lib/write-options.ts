import { expectBoolean, expectOptions } from './validate';

export interface WriteOptions {
  /**
   * Default true: the file and its directory entry are flushed to disk
   * (fsync) before write resolves, so the new file survives a power loss.
   * false: still atomic (a temporary file renamed over the old one) for
   * readers and across a crash of this process, several times faster for
   * small files, but a power loss may leave the old file.
   */
  durable?: boolean;
}

const KEYS = ['durable'] as const;

export function durableOption(options: WriteOptions | undefined): boolean {
  const bag = expectOptions<WriteOptions>(options, 'options', KEYS);
  return bag.durable === undefined ? true : expectBoolean(bag.durable, 'durable');
}
