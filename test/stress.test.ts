// Stress, CI length: 10 seconds of concurrent async search / add / removeIds /
// write / read (plus Sync calls, reconstructs and deliberate bad calls) on
// shared indexes; every result must match a mirror index that applies the same
// calls in call order with the Sync API. The 60-second run is
// `node scripts/stress.mjs --seconds 60`.
import { describe, expect, it } from 'vitest';
import { runStress } from '../scripts/stress.mjs';

describe('stress', () => {
  it('10 s of concurrent callers: results follow call order, no unexpected rejection, final indexes equal their mirrors', async () => {
    const stats = await runStress({ seconds: 10, seed: 11, callers: 24 });
    console.log(
      `stress: ${stats.issued} operations in ${stats.elapsed.toFixed(1)} s ${JSON.stringify(stats.ops)}; ` +
        `expected rejections ${JSON.stringify(stats.expectedRejections)}; ${stats.filesRead} files read back`,
    );
    expect(stats.unexpected).toEqual([]);
    expect(stats.mismatches).toEqual([]);
    expect(stats.issued).toBeGreaterThan(1000);
    for (const kind of ['search', 'add', 'remove', 'write', 'searchSync', 'bad']) expect(stats.ops[kind]).toBeGreaterThan(0);
    expect(stats.final.length).toBeGreaterThanOrEqual(3);
    expect(stats.final.every((index: { sameBytes: boolean }) => index.sameBytes)).toBe(true);
  }, 120_000);
});
