"""Fully personalized PageRank on Spark versus its baselines (a script; pytest does not collect it).

One table per graph, rows are methods, columns: wall time (all vertices; measured or extrapolated),
walk steps/s, precision@10, precision@100, RAG@100 on 100 degree-stratified sources, and the time
ratio to graphkit (method time / graphkit time; > 1 means graphkit is faster)::

    python bench/ppr.py                       # ca-AstroPh, soc-Slashdot0902, com-DBLP (index queries)
    python bench/ppr.py --quick               # ca-AstroPh only
    python bench/ppr.py --graphs astro,slashdot

Methods: (a) graphkit FullyPersonalizedPageRank, engine "local", Spark local[2]; (b) engine
"distributed" (walking from the sampled sources only, extrapolated per walk step); (c) a naive one-shuffle-per-step Spark DataFrame walker
(written here, run on the sampled sources with few walks and extrapolated per walk step);
(d) GraphFrames parallelPersonalizedPageRank (when its JVM package is provisioned); (e) the
single-process numpy walker (graphkit.ppr.monte_carlo_ppr, visits estimator): the speed-limit
reference for walk steps/s; (f) exact batched power iteration on the sources, extrapolated.
Dataset loading, stratified sources, exact PPR and accuracy come from bench/ppr_kernels.py and
graphkit.ppr.evaluation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import Table, percentile, report, timed  # noqa: E402
from ppr_kernels import DATASETS, GRAPHS, Timer, exact_for, timed_queries  # noqa: E402

from graphkit.ppr import kernels as K  # noqa: E402
from graphkit.ppr.evaluation import evaluate, stratified_sources  # noqa: E402

NAMES = {"astro": "ca-AstroPh", "slashdot": "soc-Slashdot0902", "dblp": "com-DBLP"}
COLUMNS = ["method", "wall time s", "walk steps/s", "precision@10", "precision@100", "RAG@100",
           "time ratio to graphkit", "note"]
CORES = 2


def _acc(m):
    return (m["precision@10"], m["precision@100"], m["rag@100"]) if m else ("-", "-", "-")


def _exact_args(args, graph):
    """The namespace bench/ppr_kernels.exact_for expects (its cache key uses graph and seed)."""
    return argparse.Namespace(cache=args.cache, graph=graph, seed=args.seed)


def rows_by_source(frame, sources, src="src", dst="dst", score="score", normalise=False) -> K.SparseRows:
    """The rows of a pandas ``(src, dst, score)`` frame, one per source in ``sources`` order (empty
    for a source with none); ``normalise`` divides each row by its sum (counts to estimates)."""
    groups = dict(tuple(frame.groupby(src)))
    ptr, cols, vals = [0], [], []
    for s in sources:
        g = groups.get(int(s))
        cols.append(g[dst].to_numpy(np.int32) if g is not None else np.zeros(0, np.int32))
        v = g[score].to_numpy(np.float64) if g is not None else np.zeros(0)
        vals.append(v / max(v.sum(), 1) if normalise else v)
        ptr.append(ptr[-1] + len(cols[-1]))
    return K.SparseRows(np.array(ptr), np.concatenate(cols), np.concatenate(vals))


# -- (c) the naive Spark walker -------------------------------------------------------------------
def naive_spark_walker(spark, csr, sources, walks, alpha, seed, max_steps=200):
    """Toy design: a DataFrame of walkers (source, walk, current); every step joins the walkers
    with the degree table and the indexed edge list (one shuffle per step), picks a uniform
    neighbour index with rand(), stops each walker with probability alpha, and records visits.
    Returns (SparseRows of visit-count estimates, walk steps made)."""
    from pyspark.sql import functions as F

    n = csr.num_vertices
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
    pos = np.arange(len(src), dtype=np.int64) - np.repeat(csr.indptr[:-1].astype(np.int64), np.diff(csr.indptr))
    import pandas as pd

    edges = spark.createDataFrame(pd.DataFrame({"v": src, "idx": pos, "nxt": csr.indices.astype(np.int64)}))
    deg = np.diff(csr.indptr).astype(np.int64)
    degrees = spark.createDataFrame(pd.DataFrame({"v": np.arange(n, dtype=np.int64)[deg > 0], "deg": deg[deg > 0]}))
    edges, degrees = edges.cache(), degrees.cache()
    edges.count(), degrees.count()
    start = pd.DataFrame({"source": np.repeat(sources.astype(np.int64), walks),
                          "walk": np.tile(np.arange(walks, dtype=np.int64), len(sources))})
    start["current"] = start["source"]
    walkers = spark.createDataFrame(start).localCheckpoint()
    visits = [walkers.select("source", "current")]
    steps, step = 0, 0
    while step < max_steps:
        step += 1
        # stop with probability alpha (the visit at `current` is already recorded)
        alive = walkers.where(F.rand(seed * 1000 + step) >= alpha)
        moved = (alive.join(degrees, alive.current == degrees.v, "left")
                 .withColumn("idx", F.floor(F.rand(seed * 1000 + 500 + step) * F.col("deg")).cast("long"))
                 .drop("v"))
        moved = (moved.join(edges, (moved.current == edges.v) & (moved.idx == edges.idx), "left")
                 # dangling vertex: restart at the source
                 .select("source", "walk", F.coalesce(F.col("nxt"), F.col("source")).alias("current")))
        walkers = moved.localCheckpoint()
        live = walkers.count()
        if live == 0:
            break
        steps += live
        visits.append(walkers.select("source", "current"))
    counts = visits[0]
    for v in visits[1:]:
        counts = counts.unionAll(v)
    pdf = counts.groupBy("source", "current").count().toPandas().sort_values(["source", "current"])
    return rows_by_source(pdf, sources, "source", "current", "count", normalise=True), steps


# -- (b) the distributed engine ---------------------------------------------------------------------
def distributed_on_sources(args, spark, graph, csr, sources, exact):
    """graphkit's shuffle-based engine walking from the sampled sources only (its tables are built
    for the whole graph in every run and counted in the time). Returns (extrapolated time for all
    vertices at the default walks, steps/s, accuracy, note)."""
    from graphkit.ppr.distributed import WalkSettings, distributed_ppr_topk
    from graphkit.sparkio import Scratch

    alpha, times, frame = K.DEFAULT_ALPHA, [], None
    for r in range(args.dist_repeats):
        scratch = Scratch(spark, "bench-distributed")
        try:
            started = time.perf_counter()
            frame = distributed_ppr_topk(graph, walks=args.dist_walks, alpha=alpha, top_k=100, seed=r,
                                         settings=WalkSettings(), results=scratch, sources=sources).toPandas()
            times.append(time.perf_counter() - started)
        finally:
            scratch.close()
    picked = rows_by_source(frame, sources)
    m = evaluate(lambda s: picked, csr, sources, (10, 100), exact=exact)
    steps = len(sources) * args.dist_walks * (1 - alpha) / alpha  # expected; lengths are xxhash-drawn
    rate = steps / statistics.median(times)
    all_steps = K.count_walk_steps(np.arange(csr.num_vertices), args.walks, alpha=alpha, seed=0)
    note = (f"median of {args.dist_repeats}: {statistics.median(times):.1f}s for ~{steps:,.0f} steps (tables "
            f"included); accuracy at {args.dist_walks} walks (plain Monte Carlo)")
    return all_steps / rate, rate, m, note


# -- one fully-PPR graph --------------------------------------------------------------------------
def bench_graph(args, spark, key):
    from graphkit.graph import Graph
    from graphkit.ppr.spark import FullyPersonalizedPageRank
    from graphkit._jvm import graphframes_available

    rel, directed = GRAPHS[key]
    path = DATASETS / rel
    if not path.exists():
        sys.exit(f"data set {path} is absent")
    graph = Graph.read(str(path), spark=spark, directed=directed)
    walks, alpha = args.walks, K.DEFAULT_ALPHA
    notes = []

    # (a) graphkit, engine local: fingerprint stage (inside fit) + top-100 of every vertex
    from pyspark import StorageLevel

    runs = []  # (fit s, materialise s, fingerprint stage s): the result is the same bytes every run
    for r in range(args.gk_repeats):
        est = FullyPersonalizedPageRank(walks=walks, top_k=100, engine="local", seed=0)
        with Timer() as t_fit:
            est.fit(graph)
        with Timer() as t_mat:
            result = est.dense_result_.persist(StorageLevel.MEMORY_AND_DISK)
            rows_out = result.count()
        runs.append((t_fit.wall, t_mat.wall, est.fingerprint_seconds_))
        if r + 1 < args.gk_repeats:
            result.unpersist()
    fit_s, mat_s, fp_s = (statistics.median(x) for x in zip(*runs))
    total = statistics.median(f + m for f, m, _ in runs)
    csr = est.csr_  # dense ids of dense_result_
    n = csr.num_vertices
    sources = stratified_sources(csr, args.sources, seed=args.seed)
    from pyspark.sql import functions as F

    pdf = result.where(F.col("src").isin([int(s) for s in sources])).toPandas()
    result.unpersist()
    picked = rows_by_source(pdf, sources)
    exact, ex_cpu, ex_wall = exact_for(_exact_args(args, key), csr, sources)
    m_gk = evaluate(lambda s: picked, csr, sources, (10, 100), exact=exact)
    gk_steps = K.count_walk_steps(np.arange(n), walks, alpha=alpha, seed=0)
    fp_rate = gk_steps / fp_s  # the walk stage alone (tasks + collecting the rows)

    # (e) numpy walker, single process, visits estimator, same walks per source
    t_np, est_np = timed(K.monte_carlo_ppr, csr.indptr, csr.indices, csr.weights, sources,
                         walks=walks, estimator="visits", repeats=3)
    np_steps = K.count_walk_steps(sources, walks, alpha=alpha, seed=0)
    np_rate = np_steps / t_np
    m_np = evaluate(lambda s: est_np, csr, sources, (10, 100), exact=exact)

    # (c) naive Spark walker on the sources with few walks, extrapolated per walk step
    naive_times, naive_steps, est_nv = [], [], None
    for r in range(args.naive_repeats):
        started = time.perf_counter()
        est_nv, st = naive_spark_walker(spark, csr, sources, args.naive_walks, alpha, seed=r + 1)
        naive_times.append(time.perf_counter() - started)
        naive_steps.append(st)
    nv_rate = statistics.median(s / t for s, t in zip(naive_steps, naive_times))
    m_nv = evaluate(lambda s: est_nv, csr, sources, (10, 100), exact=exact)
    nv_all = gk_steps / nv_rate

    # (f) exact power iteration, timed on the sources (cheap ones: median of 3)
    if n <= 30_000 and not args.cache:
        ex_wall, _ = timed(K.exact_ppr, csr.indptr, csr.indices, csr.weights, sources, repeats=3)
        ex_runs = "median of 3"
    else:
        ex_runs = "1 run"
    ex_all = ex_wall / len(sources) * n

    t = Table(
        f"{NAMES[key]}: n={n:,}, {'directed' if directed else 'undirected'}, {walks} walks/vertex, "
        f"top-100 of every vertex; accuracy on {len(sources)} degree-stratified sources vs exact PPR",
        COLUMNS,
    )
    t.add("(a) graphkit FullyPersonalizedPageRank, engine local, Spark local[2]", total, gk_steps / total,
          *_acc(m_gk), 1.0, f"median of {args.gk_repeats}; fit {fit_s:.1f}s (fingerprints) + materialise "
          f"{mat_s:.1f}s, {rows_out:,} rows")
    t.add("  fingerprint stage (in fit)", fp_s, fp_rate, "-", "-", "-", "-",
          f"{gk_steps:,} steps; per core {fp_rate / CORES / np_rate:.0%} of the numpy walker")
    d_all, d_rate, m_d, d_note = distributed_on_sources(args, spark, graph, csr, sources, exact)
    t.add(f"(b) graphkit engine distributed (extrapolated from {args.dist_walks} walks x {len(sources)} sources)",
          d_all, d_rate, *_acc(m_d), d_all / total, d_note + f"; {nv_rate and d_rate / nv_rate:.0f}x the naive walker's steps/s")
    t.add(f"(c) naive Spark walker, 1 shuffle/step (extrapolated from {args.naive_walks} walks x "
          f"{len(sources)} sources)", nv_all, nv_rate, *_acc(m_nv), nv_all / total,
          f"median of {args.naive_repeats}; measured {statistics.median(naive_times):.1f}s for "
          f"{int(statistics.median(naive_steps)):,} steps; accuracy at {args.naive_walks} walks; "
          f"graphkit {nv_all / total:.0f}x faster (target >= 20x)")
    if graphframes_available(spark):
        from graphkit.ppr.spark import graphframes_ppr

        started = time.perf_counter()
        est_gf = graphframes_ppr(graph, sources, alpha=alpha)
        gf_wall = time.perf_counter() - started
        gf_all = gf_wall / len(sources) * n
        t.add("(d) GraphFrames parallelPersonalizedPageRank (extrapolated)", gf_all, "-",
              *_acc(evaluate(lambda s: est_gf, csr, sources, (10, 100), exact=exact)), gf_all / total,
              f"1 run: {gf_wall:.1f}s for the {len(sources)} sources, {K.exact_iterations(alpha, 1e-4)} "
              "iterations (unweighted; GraphX drops dangling mass)")
    else:
        t.add("(d) GraphFrames parallelPersonalizedPageRank", "-", "-", "-", "-", "-", "-",
              "unavailable: GraphFrames JVM package not provisioned")
    np_all = gk_steps / np_rate
    t.add("(e) numpy walker, 1 process (monte_carlo_ppr visits; walks only, extrapolated)", np_all, np_rate,
          *_acc(m_np), np_all / total,
          f"median of 3 on {len(sources)} sources ({np_steps:,} steps); graphkit per-core steps/s = "
          f"{fp_rate / CORES / np_rate:.0%} of it (target >= 50%)")
    t.add("(f) exact batched power iteration (extrapolated)", ex_all, "-", 1.0, 1.0, 1.0, ex_all / total,
          f"{ex_runs}: {ex_wall:.1f}s for {len(sources)} sources; graphkit {ex_all / total:.0f}x faster (target >= 10x)")
    notes.append(
        f"{NAMES[key]}: graphkit steps/s = count_walk_steps over all "
        f"{n:,} vertices / wall time (whole run for (a), the fingerprint tasks and the collection of their "
        f"rows for the stage row)."
    )
    return t, notes


# -- com-DBLP: PPRIndex queries -------------------------------------------------------------------
def bench_dblp(args):
    from graphkit.io import load_csr
    from graphkit.ppr.index import PPRIndex

    rel, directed = GRAPHS["dblp"]
    g = load_csr(DATASETS / rel, directed=directed)
    sources = stratified_sources(g, args.sources, seed=args.seed)
    with Timer() as t_build:
        index = PPRIndex(walks=args.walks).fit(g)
    exact, _, _ = exact_for(_exact_args(args, "dblp"), g, sources)
    ids = g.ids[sources].tolist()
    lat, rows = timed_queries(index, g, ids)
    m = evaluate(lambda s: rows, g, sources, (10, 100), exact=exact)
    t = Table(f"com-DBLP: n={g.num_vertices:,}, PPRIndex single-source queries (k=100), "
              f"{len(sources)} degree-stratified sources",
              ["method", "build s", "p50 latency ms", "p99 latency ms", "precision@10", "precision@100", "RAG@100"])
    t.add("graphkit PPRIndex (local)", t_build.wall, percentile(lat, 50) * 1e3, percentile(lat, 99) * 1e3,
          m["precision@10"], m["precision@100"], m["rag@100"])
    return t


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ca-AstroPh only (skips com-DBLP's ~13 min index build)")
    parser.add_argument("--graphs", default="astro,slashdot,dblp", help="comma-separated: astro, slashdot, dblp")
    parser.add_argument("--walks", type=int, default=K.DEFAULT_FINGERPRINT_WALKS)
    parser.add_argument("--naive-walks", type=int, default=100)
    parser.add_argument("--dist-walks", type=int, default=2000, help="walks per source for engine distributed")
    parser.add_argument("--dist-repeats", type=int, default=3)
    parser.add_argument("--naive-repeats", type=int, default=3)
    parser.add_argument("--gk-repeats", type=int, default=3, help="runs of graphkit (a) (median reported)")
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", default=None, help="directory caching exact PPR of the sample")
    args = parser.parse_args(argv)
    keys = ["astro"] if args.quick else [k.strip() for k in args.graphs.split(",") if k.strip()]
    bad = [k for k in keys if k not in NAMES]
    if bad:
        parser.error(f"unknown graphs {bad}; choose from {sorted(NAMES)}")

    tables, notes = [], []
    spark_keys = [k for k in keys if k != "dblp"]
    if spark_keys:
        from graphkit.session import get_session

        spark = get_session(master="local[2]", extra={"spark.sql.shuffle.partitions": "4"})
        for key in spark_keys:
            t, n = bench_graph(args, spark, key)
            print(t.render(), flush=True)
            tables.append(t)
            notes += n
    if "dblp" in keys:
        tables.append(bench_dblp(args))
    elif args.quick:
        notes.append("--quick: ca-AstroPh only; soc-Slashdot0902 and com-DBLP (PPRIndex build ~13 min) skipped.")
    notes.append(
        "Time ratio = method time for all vertices / graphkit (a) time; the naive walker, numpy walker and exact "
        "rows are extrapolated (per walk step to graphkit's total walk steps, or per source to all vertices). "
        "Every timed row is the median of several runs (the count is in its note). "
        "The naive walker uses spark.sql.shuffle.partitions=4 and localCheckpoint per step."
    )
    report("ppr", tables, "\n\n".join(notes))


if __name__ == "__main__":
    main()
