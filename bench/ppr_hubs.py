"""PPR decomposition with and without hub rows (a script, not a test).

For each graph: walk fingerprints at the library defaults, once; then for every ``hub_degree``
(None is the baseline: spread through every vertex) the hub rows are refined
(:func:`graphkit.ppr.refine_hubs`) and the top-100 of a fixed random sample of sources is timed
(median of ``--repeats`` runs, one process, single-threaded scipy). Precision@10 and RAG@100 are
measured on 100 degree-stratified sources against exact PPR (power iteration to 1e-10)::

    python bench/ppr_hubs.py                       # ca-AstroPh, soc-Slashdot0902, R-MAT scale 16
    python bench/ppr_hubs.py --graphs rmat18 --hub-degrees none,50
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Table, dataset, report  # noqa: E402

GRAPHS = {
    "astro": ("ca_astroph", "ca-AstroPh.txt.gz", False),
    "slashdot": ("soc_slashdot0902", "soc-Slashdot0902.txt.gz", True),
}


def load(name: str):
    from graphkit import io

    if name.startswith("rmat"):
        from graphkit.datasets import rmat_edges

        scale = int(name[4:])
        chunks = list(rmat_edges(scale, seed=scale))
        src, dst = (np.concatenate([c[i] for c in chunks]) for i in (0, 1))
        return f"R-MAT scale {scale} (undirected)", io.csr_from_id_edges(src, dst, directed=False)
    folder, file, directed = GRAPHS[name]
    return f"{file.split('.')[0]} ({'directed' if directed else 'undirected'})", io.load_csr(
        dataset(folder, file), directed=directed)


def main(argv=None) -> int:
    from graphkit.ppr import kernels as K
    from graphkit.ppr.evaluation import evaluate, stratified_sources

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--graphs", default="astro,slashdot,rmat16")
    parser.add_argument("--hub-degrees", default="none,300,100,50,30")
    parser.add_argument("--timed-sources", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    degrees = [None if d == "none" else int(d) for d in args.hub_degrees.split(",")]
    tables = []
    for name in args.graphs.split(","):
        title, csr = load(name)
        n = csr.num_vertices
        out_degree = np.diff(csr.indptr)
        started = time.perf_counter()
        walked = K.fingerprints(csr.indptr, csr.indices, csr.weights, seed=1)
        walk_seconds = time.perf_counter() - started
        P = K.transition_matrix(csr.indptr, csr.indices, csr.weights)
        sources = stratified_sources(out_degree, 100, seed=3)
        exact = K.exact_ppr(csr.indptr, csr.indices, csr.weights, sources)
        timed = np.random.default_rng(0).choice(n, size=min(n, args.timed_sources), replace=False)
        table = Table(
            f"{title}: {n:,} vertices, {csr.num_edges:,} stored edges, max out-degree {out_degree.max():,}; "
            f"walk fingerprints {walk_seconds:.0f} s, {walked.indptr[-1] / n:.0f} entries per vertex; "
            f"top-100 timed on {timed.size:,} random sources (median of {args.repeats})",
            ["hub_degree", "hubs", "refine s", "entries vs walked", "precision@10", "RAG@100", "ms per source",
             "all sources s", "speed-up"])
        baseline = None
        for hub_degree in degrees:
            started = time.perf_counter()
            fp = K.refine_hubs(walked, P, hub_degree, threshold=K.DEFAULT_FINGERPRINT_THRESHOLD)
            refine_seconds = time.perf_counter() - started

            def top(s, fp=fp, hub_degree=hub_degree):
                return K.fully_ppr_topk(csr.indptr, csr.indices, csr.weights, fp, s, 100, transition=P,
                                        hub_degree=hub_degree)

            quality = evaluate(top, csr, sources, (10, 100), exact=exact)
            runs = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                top(timed)
                runs.append(time.perf_counter() - started)
            per_source = float(np.median(runs)) / timed.size
            baseline = baseline or per_source
            hubs = 0 if hub_degree is None else int((out_degree > hub_degree).sum())
            table.add("none" if hub_degree is None else hub_degree, f"{hubs:,}", refine_seconds,
                      f"{fp.indptr[-1] / walked.indptr[-1]:.2f}x", f"{quality['precision@10']:.3f}",
                      f"{quality['rag@100']:.4f}", per_source * 1e3, per_source * n, f"{baseline / per_source:.1f}x")
            print(table.render(), flush=True)
        tables.append(table)
    report("ppr_hubs", tables, notes=(
        "The speed-up is against the first row (`none`) of the same graph and run. Queries and `graphkit ppr` use "
        "`hub_degree=50` by default."))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
