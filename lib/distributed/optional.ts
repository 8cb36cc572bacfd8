import { FaissError } from '../errors';

/**
 * Loads a client library that only the distributed build needs. They are
 * optional peer dependencies, so that a user of the index alone never
 * installs a Redis or S3 client; a missing one is named in the error.
 */
export function requireOptional<T>(name: string): T {
  try {
    return require(name) as T;
  } catch (error) {
    if ((error as { code?: string }).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${name}'`)) {
      throw new FaissError(
        `faiss-native/distributed needs the optional package '${name}': install it with npm install ${name}`,
        'ERR_FAISS_MISSING_PACKAGE',
      );
    }
    throw error;
  }
}
