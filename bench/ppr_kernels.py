"""PPR benchmarks (a script, not a test: pytest does not collect it).

Speed and accuracy of the local PPR kernels, printed as tables::

    python bench/ppr_kernels.py fully astro       # fully PPR (top-100 of every vertex) vs exact
    python bench/ppr_kernels.py fully slashdot
    python bench/ppr_kernels.py query dblp        # PPRIndex single-source query latency
    python bench/ppr_kernels.py walk astro        # raw walker speed, plain Monte-Carlo accuracy

Options: ``--walks --threshold --steps --epsilon`` (defaults: the library's), ``--sources``
(degree-stratified, default 100), ``--cache DIR`` (reuse exact PPR of the sampled sources).

Times are reported as CPU seconds of this process and wall seconds; on a shared machine the CPU
figure is the stable one (all kernels are single-threaded). The exact baseline is batched power
iteration (:func:`graphkit.ppr.exact_ppr`, 1e-10 L1) timed on the sampled sources and
extrapolated linearly to all vertices.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphkit.io import load_csr  # noqa: E402
from graphkit.ppr import kernels as K  # noqa: E402
from graphkit.ppr.evaluation import evaluate, stratified_sources  # noqa: E402
from graphkit.ppr.index import PPRIndex  # noqa: E402

DATASETS = Path(os.environ.get("GRAPHKIT_DATASETS", ROOT.parent / "shared" / "datasets"))
GRAPHS = {
    "email": ("email_eu_core/email-Eu-core.txt", True),
    "astro": ("ca_astroph/ca-AstroPh.txt.gz", False),
    "slashdot": ("soc_slashdot0902/soc-Slashdot0902.txt.gz", True),
    "dblp": ("com_dblp/dblp.csv.gz", False),
}


class Timer:
    def __enter__(self):
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu = time.process_time() - self.cpu
        self.wall = time.perf_counter() - self.wall


def table(title, rows):
    print(f"\n{title}")
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def exact_for(args, g, sources):
    cache = Path(args.cache) / f"exact_{args.graph}_{len(sources)}_{args.seed}.npz" if args.cache else None
    if cache and cache.exists():
        z = np.load(cache)
        if np.array_equal(z["sources"], sources):
            return z["exact"], float(z["cpu"]), float(z["wall"])
    with Timer() as t:
        exact = K.exact_ppr(g.indptr, g.indices, g.weights, sources)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, sources=sources, exact=exact, cpu=t.cpu, wall=t.wall)
    return exact, t.cpu, t.wall


def accuracy_rows(metrics):
    return [
        ("precision@10 (mean / min)", f"{metrics['precision@10']:.4f} / {metrics['min_precision@10']:.2f}"),
        ("RAG@100 (mean / min)", f"{metrics['rag@100']:.5f} / {metrics['min_rag@100']:.4f}"),
        ("precision@100 (mean)", f"{metrics['precision@100']:.4f}"),
    ]


def bench_fully(args, g, sources):
    n = g.num_vertices
    exact, ex_cpu, ex_wall = exact_for(args, g, sources)
    per_cpu, per_wall = ex_cpu / len(sources), ex_wall / len(sources)
    everyone = np.arange(n)
    with Timer() as t_fp:
        fp = K.fingerprints(g.indptr, g.indices, g.weights, walks=args.walks, threshold=args.threshold)
    steps = K.count_walk_steps(everyone, args.walks)
    with Timer() as t_q:
        P = K.transition_matrix(g.indptr, g.indices, g.weights)
        top = K.fully_ppr_topk(
            g.indptr, g.indices, g.weights, fp, everyone, 100,
            steps=args.steps, epsilon=args.epsilon, transition=P,
        )
    picked = K.SparseRows(*_rows_of(top, sources))
    metrics = evaluate(lambda s: picked, g, sources, (10, 100), exact=exact)
    total_cpu, total_wall = t_fp.cpu + t_q.cpu, t_fp.wall + t_q.wall
    table(
        f"fully PPR, {args.graph}: n={n:,} m={g.num_edges:,}; walks={args.walks} threshold={args.threshold:g} "
        f"T={args.steps} epsilon={args.epsilon:g}; {len(sources)} degree-stratified sources",
        [
            ("exact, batch of sources (cpu / wall s)", f"{ex_cpu:.1f} / {ex_wall:.1f}"),
            ("exact per source (cpu / wall ms)", f"{per_cpu * 1e3:.1f} / {per_wall * 1e3:.1f}"),
            ("exact all vertices, extrapolated (cpu / wall s)", f"{per_cpu * n:,.0f} / {per_wall * n:,.0f}"),
            ("fingerprints all vertices (cpu / wall s)", f"{t_fp.cpu:.1f} / {t_fp.wall:.1f}"),
            ("  walk steps, steps/s (cpu)", f"{steps:,}  {steps / t_fp.cpu / 1e6:.1f} M/s"),
            ("  stored entries per vertex", f"{fp.indptr[-1] / n:.0f}"),
            ("top-100 of all vertices (cpu / wall s)", f"{t_q.cpu:.1f} / {t_q.wall:.1f}"),
            ("total (cpu / wall s)", f"{total_cpu:.1f} / {total_wall:.1f}"),
            ("speed-up vs exact (cpu / wall)", f"{per_cpu * n / total_cpu:.1f}x / {per_wall * n / total_wall:.1f}x"),
            *accuracy_rows(metrics),
        ],
    )


def _rows_of(rows, wanted):
    ptr, cols, vals = [0], [], []
    for i in wanted:
        c, v = rows.row(int(i))
        cols.append(c)
        vals.append(v)
        ptr.append(ptr[-1] + len(c))
    return np.array(ptr), np.concatenate(cols), np.concatenate(vals)


def bench_walk(args, g, sources):
    exact, _, _ = exact_for(args, g, sources)
    rows = []
    for estimator, walks in (("visits", 1000), ("visits", 10000), ("endpoint", 10000)):
        with Timer() as t:
            est = K.monte_carlo_ppr(g.indptr, g.indices, g.weights, sources, walks=walks, estimator=estimator)
        steps = K.count_walk_steps(sources, walks)
        m = evaluate(lambda s: est, g, sources, (10, 100), exact=exact)
        rows.append(
            (f"{estimator}, {walks} walks/source",
             f"{steps / t.cpu / 1e6:.1f} M steps/s (cpu), p@10 {m['precision@10']:.3f}, "
             f"RAG@100 {m['rag@100']:.4f}, L1 {m['l1']:.3f}")
        )
    table(f"Monte-Carlo walkers, {args.graph}, {len(sources)} sources", rows)


def timed_queries(index, g, ids, k: int = 100):
    """Time one ``index.query`` per user id (after a warm-up call that builds the id map and the
    transition matrix); return the latencies (s) and the answers as dense-id SparseRows."""
    index.query(ids[0], k=k)
    latencies, results = [], []
    for user_id in ids:
        start = time.perf_counter()
        results.append(index.query(user_id, k=k))
        latencies.append(time.perf_counter() - start)
    dense = [g.index_of([t for t, _ in r]) for r in results]
    ptr = np.concatenate([[0], np.cumsum([len(d) for d in dense])])
    scores = np.concatenate([[s for _, s in r] for r in results])
    return latencies, K.SparseRows(ptr, np.concatenate(dense), scores)


def bench_query(args, g, sources):
    with Timer() as t_build:
        index = PPRIndex(walks=args.walks, threshold=args.threshold, steps=args.steps, epsilon=args.epsilon).fit(g)
    with tempfile.TemporaryDirectory() as tmp:
        path = index.save(Path(tmp) / "index")
        size = sum(f.stat().st_size for f in path.iterdir())
        with Timer() as t_load:
            loaded = PPRIndex.load(path)
        with Timer() as t_load_noverify:
            PPRIndex.load(path, verify=False)
        exact, _, _ = exact_for(args, g, sources)
        ids = g.ids[sources].tolist()
        latencies, rows = timed_queries(loaded, g, ids)
        with Timer() as t_batch:
            loaded.query(ids, k=100)
    metrics = evaluate(lambda s: rows, g, sources, (10, 100), exact=exact)
    lat = np.array(latencies) * 1e3
    table(
        f"PPRIndex queries, {args.graph}: n={g.num_vertices:,}; walks={args.walks} threshold={args.threshold:g} "
        f"T={args.steps} epsilon={args.epsilon:g}; {len(sources)} degree-stratified sources, k=100",
        [
            ("build (cpu / wall s)", f"{t_build.cpu:.1f} / {t_build.wall:.1f}"),
            ("index size on disk (MB)", f"{size / 1e6:.0f}"),
            ("load with / without CRC check (wall s)", f"{t_load.wall:.2f} / {t_load_noverify.wall:.3f}"),
            ("single-source latency p50 / p90 / max (ms)", f"{np.median(lat):.1f} / {np.percentile(lat, 90):.1f} / {lat.max():.1f}"),
            (f"batch of {len(ids)} ids (wall s)", f"{t_batch.wall:.2f}"),
            *accuracy_rows(metrics),
        ],
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["fully", "query", "walk"])
    parser.add_argument("graph", choices=sorted(GRAPHS))
    parser.add_argument("--walks", type=int, default=K.DEFAULT_FINGERPRINT_WALKS)
    parser.add_argument("--threshold", type=float, default=K.DEFAULT_FINGERPRINT_THRESHOLD)
    parser.add_argument("--steps", type=int, default=K.DEFAULT_STEPS)
    parser.add_argument("--epsilon", type=float, default=K.DEFAULT_EPSILON)
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1, help="seed of the source sample")
    parser.add_argument("--cache", default=None, help="directory caching exact PPR of the sample")
    args = parser.parse_args(argv)
    rel, directed = GRAPHS[args.graph]
    path = DATASETS / rel
    if not path.exists():
        sys.exit(f"data set {path} is absent")
    g = load_csr(path, directed=directed)
    sources = stratified_sources(g, args.sources, seed=args.seed)
    {"fully": bench_fully, "query": bench_query, "walk": bench_walk}[args.mode](args, g, sources)


if __name__ == "__main__":
    main()
