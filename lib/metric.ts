/** 'l2': squared L2 distance. 'ip': inner product. 'cosine': cosine similarity. */
export type Metric = 'l2' | 'ip' | 'cosine';
export const METRICS: readonly Metric[] = ['l2', 'ip', 'cosine'];
