// One validation helper with one message shape:
// "Expected <what> for <name> but received <value>". TypeError for a wrong
// type, RangeError for a value out of range.

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return `${value}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === 'boolean') return `${value}`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an Array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) {
    const length = (value as { length?: number }).length ?? value.byteLength;
    return `${/^[AEIOU]/.test(value.constructor.name) ? 'an' : 'a'} ${value.constructor.name} of length ${length}`;
  }
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}` : 'an object';
}

export function fail(kind: 'type' | 'range', what: string, name: string, value: unknown): never {
  const message = `Expected ${what} for ${name} but received ${describe(value)}`;
  throw kind === 'type' ? new TypeError(message) : new RangeError(message);
}

function isDetached(view: ArrayBufferView): boolean {
  const { buffer } = view;
  if (buffer.byteLength !== 0) return false;
  const flag = (buffer as { detached?: boolean }).detached;
  if (flag !== undefined) return flag;
  // Before ArrayBuffer.prototype.detached (Node < 22): a view cannot be built on a detached buffer.
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

export function expectFloat32Array(value: unknown, name: string): Float32Array {
  if (!(value instanceof Float32Array)) fail('type', 'a Float32Array', name, value);
  if (value.length === 0 && isDetached(value)) {
    throw new TypeError(`Expected an attached buffer for ${name} but its ArrayBuffer is detached`);
  }
  return value;
}

export function expectBigInt64Array(value: unknown, name: string): BigInt64Array {
  if (!(value instanceof BigInt64Array)) fail('type', 'a BigInt64Array', name, value);
  if (value.length === 0 && isDetached(value)) {
    throw new TypeError(`Expected an attached buffer for ${name} but its ArrayBuffer is detached`);
  }
  return value;
}

export function expectInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') fail('type', 'an integer', name, value);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail('range', `an integer between ${min} and ${max}`, name, value);
  }
  return value;
}

export function expectBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') fail('type', 'a boolean', name, value);
  return value;
}

export function expectString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) fail('type', 'a non-empty string', name, value);
  if (value.includes('\0')) fail('type', 'a path without NUL bytes', name, value);
  return value;
}

export function expectOneOf<T extends string>(value: unknown, name: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    fail('type', choices.map((choice) => `'${choice}'`).join(' or '), name, value);
  }
  return value as T;
}

/** Number of rows in a flat row-major array of `dimension`-wide vectors. */
export function expectRows(vectors: Float32Array, dimension: number, name: string): number {
  if (vectors.length === 0 || vectors.length % dimension !== 0) {
    throw new RangeError(
      `Expected a non-empty length that is a multiple of dimension (${dimension}) for ${name} but received length ${vectors.length}`,
    );
  }
  return vectors.length / dimension;
}

/**
 * Checks an options bag: undefined or a plain object whose keys are all known.
 * A misspelt key is an error, not a silent default.
 */
export function expectOptions<T extends object>(
  value: unknown,
  name: string,
  known: readonly string[],
): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('type', 'an options object', name, value);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const hint = known.find((candidate) => candidate.toLowerCase() === key.toLowerCase());
      throw new TypeError(
        `Unknown option '${key}' for ${name}${hint ? `; did you mean '${hint}'?` : `; known options: ${known.join(', ')}`}`,
      );
    }
  }
  return value as Partial<T>;
}

/** A Float32Array of whole `dimension`-wide rows. */
export function expectVectors(value: unknown, dimension: number, name: string): Float32Array {
  const checked = expectFloat32Array(value, name);
  expectRows(checked, dimension, name);
  return checked;
}

/** One BigInt64Array id per row of `vectors`. */
export function expectIdsFor(ids: unknown, vectors: Float32Array, dimension: number): BigInt64Array {
  const checked = expectBigInt64Array(ids, 'ids');
  const n = vectors.length / dimension;
  if (checked.length !== n) {
    throw new RangeError(`Expected ${n} ids (one per vector) for ids but received length ${checked.length}`);
  }
  return checked;
}

export const MAX_THREADS = 1024;
export const MAX_K = 2 ** 20;

/** Per-call OpenMP threads from an options bag; 0 means "let the policy choose". */
export function threadsOption(threads: unknown): number {
  return threads === undefined ? 0 : expectInteger(threads, 'threads', 1, MAX_THREADS);
}
