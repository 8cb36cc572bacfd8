export { FaissError } from './errors';
export { IndexIVFPQ } from './index-ivfpq';
export type { IndexIVFPQOptions, Metric, SearchOptions, SearchResult, WorkOptions } from './index-ivfpq';
export { getNumThreads, setNumThreads } from './threads';
