import type { SearchResult } from './results';

/**
 * The native search a coalescer batches for; `options` are whatever it takes
 * besides queries and k. It returns the result itself when it ran inline.
 */
type NativeSearch<Options> = (queries: Float32Array, k: number, options: Options) => SearchResult | Promise<SearchResult>;

interface Request {
  queries: Float32Array;
  rows: number;
  resolve: (result: SearchResult) => void;
  reject: (error: unknown) => void;
}

interface Batch<Options> {
  k: number;
  key: string;
  options: Options;
  rows: number;
  requests: Request[];
}

/** Upper bound on the rows of one merged search, so one batch cannot grow without end. */
export const MAX_COALESCED_ROWS = 256;

/**
 * Merges concurrent searches into batched native calls. Faiss pays a fixed
 * cost per call (a pool hop, per-call setup); a batch shares it. No timer ever
 * holds a request back: when nothing is running, a search is dispatched at
 * once; searches that arrive while one runs wait for it and then go together,
 * one batch per k and options key (calls with equal keys take equal options).
 * Mutations call flush() first, so a waiting search still takes effect before a
 * later add().
 */
export class SearchCoalescer<Options> {
  readonly #search: NativeSearch<Options>;
  // Calls with equal keys take equal options; asked only when a search has to wait.
  readonly #keyOf: (options: Options) => string;
  readonly #dimension: number;
  #running = 0;
  #waiting: Batch<Options>[] = [];

  constructor(search: NativeSearch<Options>, keyOf: (options: Options) => string, dimension: number) {
    this.#search = search;
    this.#keyOf = keyOf;
    this.#dimension = dimension;
  }

  /** The result itself when the native search ran inline; throws what it threw. */
  search(queries: Float32Array, k: number, options: Options): SearchResult | Promise<SearchResult> {
    const rows = queries.length / this.#dimension;
    if (this.#running === 0 && this.#waiting.length === 0) {
      const outcome = this.#search(queries, k, options);
      if (!(outcome instanceof Promise)) return outcome;
      this.#running++;
      return outcome.finally(() => this.#finished());
    }
    // A bad query must fail alone, not the batch it would have joined.
    for (let i = 0; i < queries.length; i++) {
      if (!Number.isFinite(queries[i])) {
        const kind = Number.isNaN(queries[i]) ? 'NaN' : 'infinite';
        return Promise.reject(new RangeError(`Expected finite values for queries but element ${i} is ${kind}`));
      }
    }
    const key = this.#keyOf(options);
    return new Promise<SearchResult>((resolve, reject) => {
      let batch = this.#waiting.find((b) => b.k === k && b.key === key && b.rows + rows <= MAX_COALESCED_ROWS);
      if (!batch) {
        batch = { k, key, options, rows: 0, requests: [] };
        this.#waiting.push(batch);
      }
      batch.rows += rows;
      batch.requests.push({ queries, rows, resolve, reject });
    });
  }

  /** Dispatches every waiting batch now. */
  flush(): void {
    const batches = this.#waiting;
    this.#waiting = [];
    for (const batch of batches) this.#dispatch(batch);
  }

  #finished(): void {
    this.#running--;
    if (this.#running === 0) this.flush();
  }

  #dispatch(batch: Batch<Options>): void {
    this.#running++;
    const { k, options, requests } = batch;
    if (requests.length === 1) {
      const [only] = requests;
      this.#run(only.queries, k, options).then(only.resolve, only.reject).finally(() => this.#finished());
      return;
    }
    const merged = new Float32Array(batch.rows * this.#dimension);
    let offset = 0;
    for (const request of requests) {
      merged.set(request.queries, offset);
      offset += request.queries.length;
    }
    this.#run(merged, k, options)
      .then(
        ({ distances, labels }) => {
          let row = 0;
          for (const request of requests) {
            const from = row * k;
            const to = (row + request.rows) * k;
            request.resolve({ distances: distances.slice(from, to), labels: labels.slice(from, to) });
            row += request.rows;
          }
        },
        // Inputs were checked before queueing, so a failure concerns the index
        // itself (e.g. not trained) and applies to every request alike.
        (error: unknown) => {
          for (const request of requests) request.reject(error);
        },
      )
      .finally(() => this.#finished());
  }

  #run(queries: Float32Array, k: number, options: Options): Promise<SearchResult> {
    try {
      return Promise.resolve(this.#search(queries, k, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
