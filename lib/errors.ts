/**
 * Raised for failures inside Faiss or the native layer: a Faiss exception, an
 * I/O failure, an unreadable index file, or an index in the wrong state
 * (disposed, not trained). `code` is stable; `message` is for people.
 */
export class FaissError extends Error {
  readonly code: string;

  constructor(message: string, code = 'ERR_FAISS') {
    super(message);
    this.name = 'FaissError';
    this.code = code;
  }
}

/**
 * Async errors are created on the JS thread after the native work finished, so
 * their stack says nothing about who called. Capture the caller's frames up
 * front and graft them on when the promise rejects.
 */
/**
 * A native async call's outcome as a Promise: one from the pool gets the
 * caller's stack; a value means the call ran inline (its errors were thrown
 * there, with the caller's stack already).
 */
export function settled<T extends object>(outcome: T | Promise<T>, caller: Function): Promise<T> {
  return outcome instanceof Promise ? withCallerStack(outcome, caller) : Promise.resolve(outcome);
}

export function withCallerStack<T>(promise: Promise<T>, caller: Function): Promise<T> {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, caller);
  return promise.catch((error: unknown) => {
    if (error instanceof Error && holder.stack) {
      const callerFrames = holder.stack.slice(holder.stack.indexOf('\n') + 1);
      error.stack = `${error.name}: ${error.message}\n${callerFrames}`;
    }
    throw error;
  });
}
