// Where a build's objects live in the store, its state in Redis, and its job
// ids in the queue: one place, so the client, the workers and garbage
// collection agree.

export const QUEUE_NAME = 'faiss-native-build';

const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function expectBuildId(buildId: unknown): string {
  if (typeof buildId !== 'string' || !BUILD_ID.test(buildId)) {
    throw new TypeError(`Expected 1-128 letters, digits, '_', '.' or '-' (not first) for buildId but received ${JSON.stringify(buildId)}`);
  }
  return buildId;
}

const pad = (shard: number) => String(shard).padStart(6, '0');

export const storeKeys = {
  build: (buildId: string) => `builds/${buildId}/`,
  template: (buildId: string, attemptId: string) => `builds/${buildId}/template-${attemptId}.index`,
  attempts: (buildId: string) => `builds/${buildId}/attempts/`,
  attempt: (buildId: string, shard: number, attemptId: string) => `builds/${buildId}/attempts/shard-${pad(shard)}/${attemptId}.index`,
  servingIndex: (buildId: string, shard: number) => `builds/${buildId}/serving/shard-${pad(shard)}.index`,
  servingData: (buildId: string, shard: number) => `builds/${buildId}/serving/shard-${pad(shard)}.ivfdata`,
  manifest: (buildId: string) => `builds/${buildId}/manifest.json`,
};

/** Redis keys of one build; the hash tag keeps them in one Redis Cluster slot. */
export function redisKeys(buildId: string) {
  const base = `faiss-native:{${buildId}}`;
  return {
    /** The build as submitted (JSON), so a resumed build can be checked against it. */
    spec: `${base}:spec`,
    /** The trained template: { key, sha256, bytes } (JSON), set once. */
    template: `${base}:template`,
    /** shard → its winning commit (JSON), set with HSETNX: first writer wins. */
    commits: `${base}:commits`,
    /** shard → vectors added by its latest attempt, for progress. */
    added: `${base}:added`,
    bytesMoved: `${base}:bytes-moved`,
    cancelled: `${base}:cancelled`,
  };
}

export const jobIds = {
  train: (buildId: string) => `${buildId}.train`,
  shard: (buildId: string, shard: number) => `${buildId}.shard-${pad(shard)}`,
  merge: (buildId: string) => `${buildId}.merge`,
};
