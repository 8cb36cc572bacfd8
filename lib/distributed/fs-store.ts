import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expectString } from '../validate';
import { expectKey, type ObjectStore } from './object-store';

function isMissing(error: unknown): boolean {
  return (error as { code?: string }).code === 'ENOENT';
}

function counting(onBytes: ((bytes: number) => void) | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
}

/**
 * An object store in a directory: a shared filesystem (NFS, a mounted volume)
 * for several machines, or a local directory for one. Writes go to a temporary
 * name and are renamed into place, so an object is either absent or whole.
 */
export function fsStore(directory: string): ObjectStore {
  const root = path.resolve(expectString(directory, 'directory'));
  const pathOf = (key: string) => path.join(root, expectKey(key));

  async function writeAtomically(key: string, write: (temp: string) => Promise<void>): Promise<void> {
    const target = pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${randomUUID()}.partial`;
    try {
      await write(temp);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async function getRangeInto(key: string, start: number, target: Uint8Array): Promise<void> {
    const handle = await open(pathOf(key), 'r');
    try {
      for (let done = 0; done < target.length; ) {
        const { bytesRead } = await handle.read(target, done, target.length - done, start + done);
        if (bytesRead === 0) throw new RangeError(`object '${key}' ends before byte ${start + target.length}`);
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
  }

  return {
    url: `file://${root}`,
    put: (key, body) => writeAtomically(key, (temp) => writeFile(temp, body)),
    async get(key) {
      try {
        return await readFile(pathOf(key));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async getRange(key, start, end) {
      // Every byte is read into it: no zero fill; its own ArrayBuffer, so callers can view it as floats.
      const buffer = Buffer.allocUnsafeSlow(end - start);
      await getRangeInto(key, start, buffer);
      return buffer;
    },
    getRangeInto,
    async head(key) {
      try {
        return { bytes: (await stat(pathOf(key))).size };
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    uploadFile: (key, filePath, onBytes) =>
      writeAtomically(key, async (temp) => {
        if (onBytes) await pipeline(createReadStream(filePath), counting(onBytes), createWriteStream(temp));
        else await copyFile(filePath, temp);
      }),
    async downloadFile(key, filePath, onBytes) {
      const temp = `${filePath}.${randomUUID()}.partial`;
      try {
        await pipeline(createReadStream(pathOf(key)), counting(onBytes), createWriteStream(temp));
        await rename(temp, filePath);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },
    async list(prefix) {
      let names: string[];
      try {
        names = await readdir(root, { recursive: true });
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
      const keys: string[] = [];
      for (const name of names) {
        const key = name.split(path.sep).join('/');
        if (!key.startsWith(prefix) || key.endsWith('.partial')) continue;
        if ((await stat(path.join(root, name))).isFile()) keys.push(key);
      }
      return keys.sort();
    },
    delete: (key) => rm(pathOf(key), { force: true }),
  };
}
