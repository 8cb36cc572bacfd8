export { FaissError } from './errors';
export { IndexFlat } from './index-flat';
export type { IndexFlatOptions } from './index-flat';
export { IndexIVFPQ } from './index-ivfpq';
export type { IndexIVFPQOptions, SearchOptions } from './index-ivfpq';
export type { Metric } from './metric';
export type { SearchResult, WorkOptions } from './results';
export { getNumThreads, setNumThreads } from './threads';
export { recommendParams, type RecommendParamsOptions, type RecommendedParams } from './recommend';
