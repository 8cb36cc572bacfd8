// recall@10 against QPS as an SVG: one row of panels per data set, one panel
// per search mode, one line per library configuration (QPS on a log scale).
import { MODES, pointAt } from './report.mjs';

const PANEL = { width: 330, height: 250, left: 58, right: 12, top: 28, bottom: 40 };
const COLORS = {
  'faiss-native': '#1f77b4',
  'faiss-native-sq8': '#08306b',
  'faiss-native-pq25-sq8': '#6baed6',
  'faiss-node': '#ff7f0e',
  hnswlib: '#2ca02c',
  usearch: '#d62728',
  'usearch-i8': '#e377c2',
};
const MARKERS = ['circle', 'square', 'diamond', 'triangle'];
// One name per configuration across data sets (their IVF parameters differ).
const LEGEND = {
  'faiss-native': 'faiss-native IVF-PQ (nlist, m per data set: see the tables)',
  'faiss-native-sq8': 'faiss-native IVF-PQ + sq8 refine (tuned kFactor)',
  'faiss-native-pq25-sq8': 'faiss-native IVF-PQ25 + sq8 refine (tuned kFactor)',
  'faiss-node': 'faiss-node IVF-PQ (nprobe 1 only)',
  hnswlib: 'hnswlib-node HNSW M16',
  usearch: 'usearch HNSW M16 f32',
  'usearch-i8': 'usearch HNSW M16 i8',
};
const ROW_HEADER = 22;

const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (x) => Number(x.toFixed(1));

function marker(kind, x, y, color) {
  const r = 3.5;
  switch (kind) {
    case 'square':
      return `<rect x="${num(x - r)}" y="${num(y - r)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    case 'diamond':
      return `<path d="M${num(x)} ${num(y - r - 1)}L${num(x + r + 1)} ${num(y)}L${num(x)} ${num(y + r + 1)}L${num(x - r - 1)} ${num(y)}Z" fill="${color}"/>`;
    case 'triangle':
      return `<path d="M${num(x)} ${num(y - r - 1)}L${num(x + r + 1)} ${num(y + r)}L${num(x - r - 1)} ${num(y + r)}Z" fill="${color}"/>`;
    default:
      return `<circle cx="${num(x)}" cy="${num(y)}" r="${r}" fill="${color}"/>`;
  }
}

function siQps(value) {
  if (value >= 1e6) return `${value / 1e6}M`;
  if (value >= 1e3) return `${value / 1e3}k`;
  return String(value);
}

export function renderChart(report) {
  const datasets = report.datasets.filter((d) => !d.skipped);
  const configs = [];
  for (const d of datasets) for (const e of d.configs) if (e.points?.length && !configs.some((c) => c.id === e.id)) configs.push({ id: e.id, label: LEGEND[e.id] ?? e.label });
  const legendRows = Math.ceil(configs.length / 3);
  const width = PANEL.width * MODES.length + 20;
  const top = 54;
  const height = top + (PANEL.height + ROW_HEADER) * datasets.length + 30 + legendRows * 20 + 24;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="10" y="20" font-size="15" font-weight="bold">recall@10 against queries per second${report.quick ? ' (--quick)' : ''}</text>`);
  out.push(
    `<text x="10" y="38" fill="#444">${escape(`${report.startedAt.slice(0, 10)} · ${report.machine.cores} cores, load average ${report.machine.loadAverageStart.join(' / ')} at the start · QPS on a log scale, wall clock, threads as titled · up and right is better`)}</text>`,
  );

  datasets.forEach((dataset, row) => {
    const rowTop = top + row * (PANEL.height + ROW_HEADER);
    out.push(`<text x="10" y="${rowTop + 14}" font-size="13" font-weight="bold">${escape(`${dataset.label}: ${dataset.baseCount.toLocaleString('en-US')} vectors, ${dataset.metric === 'cosine' ? 'cosine' : 'L2'}`)}</text>`);
    const entries = dataset.configs.filter((e) => e.points?.length);
    const recalls = entries.flatMap((e) => e.points.map((p) => p.recall));
    const xMin = Math.max(0, Math.floor(Math.min(...recalls) * 10) / 10);
    const qpsAll = entries.flatMap((e) => e.points.map((p) => p.qps)).filter((q) => q > 0);
    const yMin = 10 ** Math.floor(Math.log10(Math.min(...qpsAll)));
    const yMax = 10 ** Math.ceil(Math.log10(Math.max(...qpsAll)));
    MODES.forEach((mode, col) => {
      const ox = 10 + col * PANEL.width;
      const oy = rowTop + ROW_HEADER;
      const plotW = PANEL.width - PANEL.left - PANEL.right;
      const plotH = PANEL.height - PANEL.top - PANEL.bottom;
      const X = (recall) => ox + PANEL.left + ((recall - xMin) / (1 - xMin)) * plotW;
      const Y = (qps) => oy + PANEL.top + plotH - ((Math.log10(qps) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;
      out.push(`<text x="${ox + PANEL.left}" y="${oy + 16}" font-weight="bold">${escape(mode.label)}</text>`);
      out.push(`<rect x="${ox + PANEL.left}" y="${oy + PANEL.top}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#999"/>`);
      for (let decade = yMin; decade <= yMax; decade *= 10) {
        for (const step of [1, 2, 5]) {
          const q = decade * step;
          if (q > yMax) break;
          const y = num(Y(q));
          out.push(`<line x1="${ox + PANEL.left}" x2="${ox + PANEL.left + plotW}" y1="${y}" y2="${y}" stroke="${step === 1 ? '#ccc' : '#eee'}"/>`);
          if (step === 1 || plotH / (Math.log10(yMax) - Math.log10(yMin)) > 60) out.push(`<text x="${ox + PANEL.left - 4}" y="${y + 4}" text-anchor="end" fill="#444">${siQps(q)}</text>`);
        }
      }
      for (let r = Math.ceil(xMin * 10) / 10; r <= 1.0001; r += 0.1) {
        const x = num(X(r));
        out.push(`<line x1="${x}" x2="${x}" y1="${oy + PANEL.top}" y2="${oy + PANEL.top + plotH}" stroke="#e4e4e4"/>`);
        out.push(`<text x="${x}" y="${oy + PANEL.top + plotH + 14}" text-anchor="middle" fill="#444">${r.toFixed(1)}</text>`);
      }
      if (dataset.metric === 'cosine' && 0.95 > xMin) {
        const x = num(X(0.95));
        out.push(`<line x1="${x}" x2="${x}" y1="${oy + PANEL.top}" y2="${oy + PANEL.top + plotH}" stroke="#888" stroke-dasharray="4 3"/>`);
        out.push(`<text x="${x - 3}" y="${oy + PANEL.top + 11}" text-anchor="end" fill="#666">0.95</text>`);
      }
      out.push(`<text x="${ox + PANEL.left + plotW / 2}" y="${oy + PANEL.height - 8}" text-anchor="middle" fill="#222">recall@10</text>`);
      if (col === 0) out.push(`<text transform="translate(${ox + 12} ${oy + PANEL.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#222">QPS</text>`);
      entries.forEach((entry) => {
        const color = COLORS[entry.id] ?? '#555';
        const shape = MARKERS[configs.findIndex((c) => c.id === entry.id) % MARKERS.length];
        const pts = entry.values.map((v) => pointAt(entry, v, mode.id)).filter((p) => p && p.qps > 0);
        if (!pts.length) return;
        const path = pts.map((p, i) => `${i ? 'L' : 'M'}${num(X(p.recall))} ${num(Y(p.qps))}`).join('');
        out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.6"${entry.id.includes('sq8') ? ' stroke-dasharray="5 2"' : ''}/>`);
        for (const p of pts) out.push(marker(shape, X(p.recall), Y(p.qps), color));
      });
    });
  });

  const ly = top + (PANEL.height + ROW_HEADER) * datasets.length + 26;
  out.push(`<text x="10" y="${ly}" font-weight="bold">Libraries</text>`);
  configs.forEach((config, i) => {
    const x = 10 + (i % 3) * 440;
    const y = ly + 18 + Math.floor(i / 3) * 20;
    const color = COLORS[config.id] ?? '#555';
    out.push(`<line x1="${x}" x2="${x + 26}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="2"${config.id.includes('sq8') ? ' stroke-dasharray="5 2"' : ''}/>`);
    out.push(marker(MARKERS[i % MARKERS.length], x + 13, y - 4, color));
    out.push(`<text x="${x + 34}" y="${y}">${escape(config.label)}</text>`);
  });
  out.push(`<text x="10" y="${height - 8}" fill="#666">${escape('Points along a line: nprobe (IVF) or ef (HNSW) growing. faiss-node: nprobe 1 only (no setter). 1 query/call on 2 threads: faiss-native two calls in flight on one index; the peers two processes.')}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
