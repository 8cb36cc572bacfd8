import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FaissError } from '../errors';

const ILOD = Buffer.from('ilod');
const U64 = 8;

/**
 * Points an index with on-disk inverted lists (written by mergeOnDisk) at a
 * data file beside it. Faiss records the data file's absolute path in the
 * index file, and reading refuses a data file outside the index's directory,
 * so a pair copied to another directory or machine opens only once this
 * rewrites that path. The lists are the last section of an IVF-PQ index file:
 * 'ilod', nlist, code size, the list directory, the free slots, the data
 * file's name, the data size; every count is checked against the file's end.
 */
export async function relocateOnDiskIndex(indexPath: string, dataPath: string): Promise<void> {
  const absoluteData = path.resolve(dataPath);
  if (path.dirname(absoluteData) !== path.dirname(path.resolve(indexPath))) {
    throw new RangeError(`Expected a dataPath in the directory of indexPath for dataPath but received '${dataPath}'`);
  }
  const bytes = await readFile(indexPath);
  const fail = (why: string): never => {
    throw new FaissError(`cannot relocate '${indexPath}': ${why}`, 'ERR_FAISS_INVALID_INDEX');
  };
  for (let at = bytes.lastIndexOf(ILOD); at >= 0; at = at > 0 ? bytes.lastIndexOf(ILOD, at - 1) : -1) {
    let cursor = at + ILOD.length;
    const u64 = (): number | undefined => {
      if (cursor + U64 > bytes.length) return undefined;
      const value = bytes.readBigUInt64LE(cursor);
      cursor += U64;
      return value > BigInt(bytes.length) ? undefined : Number(value);
    };
    const nlist = u64();
    if (nlist === undefined || u64() === undefined) continue;
    const lists = u64();
    if (lists !== nlist) continue;
    cursor += lists * 24;
    const slots = u64();
    if (slots === undefined) continue;
    cursor += slots * 16;
    const nameAt = cursor;
    const nameLength = u64();
    if (nameLength === undefined || nameLength === 0 || nameLength > 4096) continue;
    cursor += nameLength;
    // The data size follows the name and ends the file.
    if (cursor + U64 !== bytes.length) continue;
    const name = Buffer.from(absoluteData, 'utf8');
    const length = Buffer.alloc(U64);
    length.writeBigUInt64LE(BigInt(name.length));
    const relocated = Buffer.concat([bytes.subarray(0, nameAt), length, name, bytes.subarray(cursor)]);
    const temp = `${indexPath}.relocating`;
    await writeFile(temp, relocated);
    await rename(temp, indexPath);
    return;
  }
  fail('it has no on-disk inverted lists at its end');
}
