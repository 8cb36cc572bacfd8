// Deterministic row sampling for building from data: which rows become
// held-out tuning queries and training vectors.

/** 0..n-1 in an order fixed by seed (Fisher–Yates over a linear congruential generator). */
export function shuffledRows(n: number, seed: number): Uint32Array {
  const rows = Uint32Array.from({ length: n }, (_, i) => i);
  let state = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows;
}

/** The given rows of a row-major matrix of dimension-wide vectors, copied. */
export function gather(vectors: Float32Array, rows: Uint32Array, dimension: number): Float32Array {
  const out = new Float32Array(rows.length * dimension);
  rows.forEach((row, i) => out.set(vectors.subarray(row * dimension, (row + 1) * dimension), i * dimension));
  return out;
}
