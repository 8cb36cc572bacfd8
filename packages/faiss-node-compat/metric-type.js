'use strict';
// faiss/MetricType.h's numbers, as faiss-node exports them (a TypeScript-style
// enum object: name → number and number → name).
const MetricType = {};
for (const [name, value] of [
  ['METRIC_INNER_PRODUCT', 0],
  ['METRIC_L2', 1],
  ['METRIC_L1', 2],
  ['METRIC_Linf', 3],
  ['METRIC_Lp', 4],
  ['METRIC_Canberra', 20],
  ['METRIC_BrayCurtis', 21],
  ['METRIC_JensenShannon', 22],
  ['METRIC_Jaccard', 23],
]) {
  MetricType[(MetricType[name] = value)] = name;
}

// faiss-native stores L2 and inner-product indexes; the other metrics exist in
// Faiss only for flat brute-force search.
const ENGINE_METRICS = new Map([
  [MetricType.METRIC_L2, 'l2'],
  [MetricType.METRIC_INNER_PRODUCT, 'ip'],
]);

/** faiss-native's metric name for a MetricType number; faiss-node's default is L2. */
function engineMetric(metric) {
  if (typeof metric !== 'number') return 'l2';
  const name = ENGINE_METRICS.get(metric);
  if (name === undefined) {
    throw new RangeError(
      `Unsupported metric ${MetricType[metric] ?? metric}: use MetricType.METRIC_L2 or MetricType.METRIC_INNER_PRODUCT`,
    );
  }
  return name;
}

module.exports = { MetricType, engineMetric };
