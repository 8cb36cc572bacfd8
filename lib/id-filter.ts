// Id filters as callers write them, and the [mode, ids] pair the native search
// (and the serving wire format) carries them in.
import { expectBigInt64Array, expectInteger, expectOptions, fail } from './validate';

/** Which stored ids a search may return: exactly one of the three forms. */
export type IdFilter = { ids: BigInt64Array } | { exclude: BigInt64Array } | { range: [bigint | number, bigint | number] };

export const FILTER_NONE = 0;
export const FILTER_IDS = 1;
export const FILTER_EXCLUDE = 2;
export const FILTER_RANGE = 3;

/** A mode, and the ids it takes (a range as [low, high]). */
export type FilterArgs = [mode: number, ids: BigInt64Array | undefined];

export function expectIdBound(value: unknown, name: string): bigint {
  if (typeof value === 'bigint') {
    if (value < -(2n ** 63n) || value >= 2n ** 63n) fail('range', 'a 64-bit id', name, value);
    return value;
  }
  return BigInt(expectInteger(value, name, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
}

export function filterArgs(filter: unknown): FilterArgs {
  if (filter === undefined) return [FILTER_NONE, undefined];
  const bag = expectOptions<{ ids: unknown; exclude: unknown; range: unknown }>(filter, 'filter', ['ids', 'exclude', 'range']);
  const forms = Object.keys(bag).filter((key) => bag[key as keyof typeof bag] !== undefined);
  if (forms.length !== 1) fail('type', 'exactly one of ids, exclude or range', 'filter', filter);
  if (bag.ids !== undefined) return [FILTER_IDS, expectBigInt64Array(bag.ids, 'filter.ids')];
  if (bag.exclude !== undefined) return [FILTER_EXCLUDE, expectBigInt64Array(bag.exclude, 'filter.exclude')];
  const range = bag.range;
  if (!Array.isArray(range) || range.length !== 2) fail('type', 'a [low, high] pair', 'filter.range', range);
  const low = expectIdBound(range[0], 'filter.range[0]');
  const high = expectIdBound(range[1], 'filter.range[1]');
  if (high < low) fail('range', `a high bound >= low (${low})`, 'filter.range[1]', range[1]);
  return [FILTER_RANGE, BigInt64Array.of(low, high)];
}

/** The filter a [mode, ids] pair stands for; undefined for none. */
export function filterFromArgs(mode: number, ids: BigInt64Array | undefined): IdFilter | undefined {
  if (mode === FILTER_NONE) return undefined;
  if (ids === undefined) throw new RangeError(`Expected ids for filter mode ${mode} for filter but received none`);
  switch (mode) {
    case FILTER_IDS:
      return { ids };
    case FILTER_EXCLUDE:
      return { exclude: ids };
    case FILTER_RANGE:
      if (ids.length !== 2) throw new RangeError(`Expected a [low, high] pair for filter.range but received ${ids.length} bounds`);
      return { range: [ids[0], ids[1]] };
    default:
      throw new RangeError(`Expected a filter mode of 0 to 3 for filter but received ${mode}`);
  }
}
