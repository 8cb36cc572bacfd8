#!/usr/bin/python3
"""Reference side of the interop tests: Python faiss builds, reads, writes and
searches IVF-PQ indexes so the Node binding can be compared with it.

Run with an interpreter that can import faiss (Debian: /usr/bin/python3).
Every subcommand prints one JSON object on stdout; bulk results go to files:
distances as raw little-endian float32, labels as raw little-endian int64,
both n x k, row-major.

Vector files: TEXMEX .fvecs (by extension) or raw float32 with --dim.

Subcommands
  build     train and fill an index, write it (Faiss binary format)
  search    load an index, search at one or more nprobe values
  describe  load an index and report its structure
  rewrite   load an index and write it again (Python round trip)
  recall    build one index per nlist:m setting and report recall@k per nprobe
"""

import argparse
import json
import sys

import faiss
import numpy as np

METRICS = {'l2': faiss.METRIC_L2, 'ip': faiss.METRIC_INNER_PRODUCT, 'cosine': faiss.METRIC_INNER_PRODUCT}
METRIC_NAMES = {faiss.METRIC_L2: 'l2', faiss.METRIC_INNER_PRODUCT: 'ip'}


def read_vectors(path, dim=None):
    """Float32 matrix from an .fvecs file or a raw float32 file of rows of `dim`."""
    if path.endswith('.fvecs'):
        raw = np.fromfile(path, dtype='<i4')
        d = int(raw[0])
        return np.ascontiguousarray(raw.reshape(-1, d + 1)[:, 1:].view('<f4'))
    if dim is None:
        sys.exit(f'{path}: raw float32 input needs --dim')
    return np.fromfile(path, dtype='<f4').reshape(-1, dim)


def read_ivecs(path):
    raw = np.fromfile(path, dtype='<i4')
    return raw.reshape(-1, int(raw[0]) + 1)[:, 1:]


def build_index(d, nlist, m, nbits, metric, how):
    """An untrained index shaped the way the binding builds it (or by index_factory)."""
    if how == 'factory':
        # 'np': a bare 'PQ16' also turns on polysemous training, which only reorders the
        # PQ centroids (same file layout, same search results) but takes minutes here.
        prefix = 'L2norm,' if metric == 'cosine' else ''
        return faiss.index_factory(d, f'{prefix}IVF{nlist},PQ{m}x{nbits}np', METRICS[metric])
    if how == 'fastscan':
        prefix = 'L2norm,' if metric == 'cosine' else ''
        return faiss.index_factory(d, f'{prefix}IVF{nlist},PQ{m}x{nbits}fs', METRICS[metric])
    if metric == 'l2':
        quantizer = faiss.IndexFlatL2(d)
    else:
        quantizer = faiss.IndexFlatIP(d)
    ivf = faiss.IndexIVFPQ(quantizer, d, nlist, m, nbits, METRICS[metric])
    if metric != 'cosine':
        return ivf
    # The Python wrappers keep the constructor arguments alive.
    return faiss.IndexPreTransform(faiss.NormalizationTransform(d, 2.0), ivf)


def search(index, queries, k, nprobe):
    """nprobe 0 keeps the index's own settings (and is the only choice for a non-IVF index)."""
    if nprobe > 0:
        faiss.extract_index_ivf(index).nprobe = nprobe
    return index.search(queries, k)


def recall_at_k(labels, truth, k):
    """|returned top-k ∩ true top-k| / k, averaged over queries (as tools/datasets.mjs)."""
    hits = sum(len(set(row[:k].tolist()) & set(true[:k].tolist())) for row, true in zip(labels, truth))
    return hits / (len(labels) * k)


def describe(owner):
    # `owner` must stay referenced: the downcast wrappers below do not own their objects.
    index = faiss.downcast_index(owner)
    info = {'type': type(index).__name__, 'd': index.d, 'ntotal': index.ntotal,
            'isTrained': bool(index.is_trained), 'metric': METRIC_NAMES.get(index.metric_type)}
    inner = index
    if isinstance(index, faiss.IndexPreTransform):
        chain = []
        for i in range(index.chain.size()):
            transform = faiss.downcast_VectorTransform(index.chain.at(i))
            entry = {'type': type(transform).__name__}
            if isinstance(transform, faiss.NormalizationTransform):
                entry['norm'] = transform.norm
            chain.append(entry)
        info['chain'] = chain
        inner = faiss.downcast_index(index.index)
    if isinstance(inner, (faiss.IndexIVFPQ, faiss.IndexIVFPQFastScan)):
        info['ivf'] = {'type': type(inner).__name__, 'metric': METRIC_NAMES.get(inner.metric_type),
                       'nlist': inner.nlist, 'm': inner.pq.M, 'nbits': inner.pq.nbits,
                       'nprobe': inner.nprobe, 'byResidual': bool(inner.by_residual),
                       'quantizer': type(faiss.downcast_index(inner.quantizer)).__name__,
                       'quantizerMetric': METRIC_NAMES.get(inner.quantizer.metric_type)}
    elif inner is not index:
        info['inner'] = type(inner).__name__
    return info


def parse_list(text):
    return [int(x) for x in text.split(',')]


def cmd_build(args):
    base = read_vectors(args.base, args.dim)
    index = build_index(base.shape[1], args.nlist, args.m, args.nbits, args.metric, args.how)
    index.train(base)
    if args.id_offset is None:
        index.add(base)
    else:
        index.add_with_ids(base, np.arange(len(base), dtype=np.int64) + args.id_offset)
    faiss.extract_index_ivf(index).nprobe = args.nprobe
    faiss.write_index(index, args.out)
    return describe(index)


def cmd_factory(args):
    base = read_vectors(args.base, args.dim)
    index = faiss.index_factory(base.shape[1], args.description, METRICS[args.metric])
    index.train(base[:args.train])
    if args.id_offset is None:
        index.add(base)
    else:
        if not hasattr(index, 'id_map') and not isinstance(faiss.try_extract_index_ivf(index), faiss.IndexIVF):
            index = faiss.IndexIDMap2(index)
        index.add_with_ids(base, np.arange(len(base), dtype=np.int64) + args.id_offset)
    faiss.write_index(index, args.out)
    return {'type': type(faiss.downcast_index(index)).__name__, 'ntotal': index.ntotal}


def cmd_search(args):
    index = faiss.read_index(args.index)
    queries = read_vectors(args.queries, index.d)
    results = []
    for nprobe in parse_list(args.nprobe):
        distances, labels = search(index, queries, args.k, nprobe)
        paths = {'distances': f'{args.out}-nprobe{nprobe}.f32', 'labels': f'{args.out}-nprobe{nprobe}.i64'}
        distances.astype('<f4').tofile(paths['distances'])
        labels.astype('<i8').tofile(paths['labels'])
        results.append({'nprobe': nprobe, **paths})
    return {'n': len(queries), 'k': args.k, 'results': results}


def cmd_describe(args):
    return describe(faiss.read_index(args.index))


def cmd_rewrite(args):
    index = faiss.read_index(args.index)
    faiss.write_index(index, args.out)
    return describe(index)


def cmd_recall(args):
    base = read_vectors(args.base)
    queries = read_vectors(args.queries)
    truth = read_ivecs(args.groundtruth)
    rows = []
    for setting in args.setting:
        nlist, m = (int(x) for x in setting.split(':'))
        index = build_index(base.shape[1], nlist, m, args.nbits, args.metric, 'explicit')
        index.train(base)
        index.add(base)
        for nprobe in parse_list(args.nprobe):
            if nprobe > nlist:
                continue
            _, labels = search(index, queries, args.k, nprobe)
            rows.append({'nlist': nlist, 'm': m, 'nprobe': nprobe,
                         'recall': recall_at_k(labels, truth, args.k)})
    return {'k': args.k, 'rows': rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('build', help='train, fill and write an index')
    p.add_argument('--base', required=True, help='.fvecs or raw float32 file')
    p.add_argument('--dim', type=int, help='row length of a raw float32 file')
    p.add_argument('--nlist', type=int, required=True)
    p.add_argument('--m', type=int, required=True)
    p.add_argument('--nbits', type=int, default=8)
    p.add_argument('--metric', choices=sorted(METRICS), default='l2')
    p.add_argument('--how', choices=['explicit', 'factory', 'fastscan'], default='explicit',
                   help='explicit IndexIVFPQ(quantizer, ...) like the binding, or index_factory')
    p.add_argument('--id-offset', type=int, help='add with ids offset + i instead of 0..n-1')
    p.add_argument('--nprobe', type=int, default=1, help='nprobe stored in the file')
    p.add_argument('--out', required=True)
    p.set_defaults(run=cmd_build)

    p = sub.add_parser('factory', help='build an index from a factory string, fill and write it')
    p.add_argument('--base', required=True, help='.fvecs or raw float32 file')
    p.add_argument('--dim', type=int, help='row length of a raw float32 file')
    p.add_argument('--description', required=True)
    p.add_argument('--metric', choices=sorted(METRICS), default='l2')
    p.add_argument('--train', type=int, default=5000, help='train on the first N rows')
    p.add_argument('--id-offset', type=int, help='add with ids offset + i instead of 0..n-1')
    p.add_argument('--out', required=True)
    p.set_defaults(run=cmd_factory)

    p = sub.add_parser('search', help='search a stored index')
    p.add_argument('--index', required=True)
    p.add_argument('--queries', required=True, help='.fvecs or raw float32 file')
    p.add_argument('--k', type=int, required=True)
    p.add_argument('--nprobe', required=True, help='comma-separated list')
    p.add_argument('--out', required=True, help='prefix for <out>-nprobe<N>.f32/.i64')
    p.set_defaults(run=cmd_search)

    p = sub.add_parser('describe', help='report the structure of a stored index')
    p.add_argument('--index', required=True)
    p.set_defaults(run=cmd_describe)

    p = sub.add_parser('rewrite', help='read an index and write it again')
    p.add_argument('--index', required=True)
    p.add_argument('--out', required=True)
    p.set_defaults(run=cmd_rewrite)

    p = sub.add_parser('recall', help='recall@k per nlist:m setting and nprobe')
    p.add_argument('--base', required=True)
    p.add_argument('--queries', required=True)
    p.add_argument('--groundtruth', required=True, help='.ivecs, ids of the true neighbours')
    p.add_argument('--k', type=int, default=10)
    p.add_argument('--setting', action='append', required=True, help='nlist:m, repeatable')
    p.add_argument('--nprobe', required=True, help='comma-separated; values above nlist are skipped')
    p.add_argument('--nbits', type=int, default=8)
    p.add_argument('--metric', choices=sorted(METRICS), default='l2')
    p.set_defaults(run=cmd_recall)

    args = parser.parse_args()
    json.dump(args.run(args), sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
