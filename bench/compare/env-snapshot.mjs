// Imported first by bench/compare.mjs: faiss-native sets OMP_WAIT_POLICY=PASSIVE
// in process.env when it loads (unless the user set it), and the native floor
// must run with the environment the user started the benchmark with.
export const originalEnv = { OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? null };
