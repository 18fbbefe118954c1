"""Benchmark of recursive-partition embeddings (DESIGN.md section 2).

BlogCatalog and PPI: node classification (Micro/Macro-F1 at 10/50/90 % training) and time for
graphkit partitioned into 2, 8 and 32 parts (the Spark estimator on local[2]), graphkit on the
whole graph with its default embedder (regularised spectral embedding + propagation) and with
ProNE (the previous default, for reference), and a plain spectral baseline written here
(randomized SVD of D^-1/2 A D^-1/2, dim 128, rows L2-normalised), which is the same-run reference
of the ratio columns. com-DBLP (full run only): time, peak driver memory and link-prediction
ROC-AUC, whole graph vs 32 parts. GraphFrames' RandomWalkEmbeddings is the named peer; it gets a
row saying why it did not run when its JVM package is not on the classpath.

Every time is the median of several timed runs of the same call (the first run pays for Spark's
warm-up, so a single run overstates it); the min-max range is reported beside it.

    python bench/embed.py            # everything: medians of 5 runs (com-DBLP: 3), 5 splits
    python bench/embed.py --quick    # BlogCatalog + PPI only, medians of 3 runs, 2 splits
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Table, dataset, peak_rss_mb, report  # noqa: E402

DIM = 128
SEED = 0
PART_COUNTS = (2, 8, 32)
RATIOS = (0.1, 0.5, 0.9)


def timed_runs(fn, *args, repeats: int = 3, **kwargs):
    """Run ``fn`` ``repeats`` times; return (median seconds, "min-max" text, last result)."""
    import statistics
    import time

    times, result = [], None
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - started)
    return statistics.median(times), f"{min(times):.3g}-{max(times):.3g}", result


def spectral_baseline(a: sp.csr_matrix, dim: int = DIM, seed: int = SEED) -> np.ndarray:
    """Plain spectral embedding: top-``dim`` randomized SVD of D^-1/2 A D^-1/2, rows L2-normalised."""
    from sklearn.utils.extmath import randomized_svd

    a = sp.csr_matrix(a, dtype=np.float64)
    a = ((a + a.T) > 0).astype(np.float64)  # symmetric, unweighted
    d = np.asarray(a.sum(axis=1)).ravel()
    inv = np.zeros_like(d)
    np.divide(1.0, np.sqrt(d), out=inv, where=d > 0)
    m = sp.diags(inv) @ a @ sp.diags(inv)
    u, s, _ = randomized_svd(m, dim, n_iter=5, random_state=seed)
    x = u * np.sqrt(s)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def graphframes_row(spark) -> str:
    from graphkit._jvm import graphframes_available

    if graphframes_available(spark):
        return "available"
    return "unavailable: GraphFrames JVM package not provisioned"


def classification_table(spark, name: str, path: Path, repeats: int, splits: int, gf_status: str) -> Table:
    from graphkit.embed import node_classification
    from graphkit.embed.spark import RecursivePartitionEmbedding
    from graphkit.graph import Graph
    from graphkit.io import csr_from_matrix, read_mat

    adjacency, labels = read_mat(path)
    labels = labels.tocsr()
    graph = Graph.read(path, spark=spark, directed=False)
    n = graph.num_vertices
    columns = ["method", "parts", "time s", "time range s", "time ratio"]
    for r in RATIOS:
        columns += [f"Mi-F1 {r:.0%}", f"Ma-F1 {r:.0%}"]
    columns.append("Mi-F1@50% ratio")
    table = Table(f"{name}: n={n:,}, dim {DIM}, node classification (mean of {splits} splits), "
                  f"time median of {repeats} runs", columns)

    def scores(x, rows):
        f1 = node_classification(x, labels[rows], train_ratios=RATIOS, repeats=splits, seed=0)
        return [v for r in RATIOS for v in (f1[r]["micro_f1"], f1[r]["macro_f1"])], f1[0.5]["micro_f1"]

    a = csr_from_matrix(adjacency).to_scipy()
    base_time, base_range, base_x = timed_runs(spectral_baseline, a, repeats=repeats)
    base_f1, base_mi50 = scores(base_x, np.arange(n))
    table.add("spectral SVD baseline (reference)", 1, base_time, base_range, 1.0, *base_f1, 1.0)
    print(table.render(), flush=True)

    opened = []  # fitted models, closed (their Spark scratch files deleted) once scored

    def fit(max_part_size, options):
        opened.append(RecursivePartitionEmbedding(dim=DIM, max_part_size=max_part_size, seed=SEED,
                                                  **options).fit(graph))
        return opened[-1]

    runs = [("graphkit whole graph", None, {}), ("graphkit whole graph, method='prone'", None, {"method": "prone"})]
    runs += [(f"graphkit {k} parts (Spark local[2])", -(-n // k), {}) for k in PART_COUNTS]
    eight = -(-n // 8)
    runs += [("graphkit 8 parts, no refinement", eight, {"refine": False}),
             ("graphkit 8 parts, engine='distributed'", eight, {"engine": "distributed"}),
             ("graphkit 8 parts, engine='distributed', no refinement", eight, {"engine": "distributed", "refine": False})]
    for label, max_part_size, options in runs:
        if max_part_size is not None and max_part_size <= 2 * DIM:
            table.add(label, "-", "not run", "-", "-", *(["-"] * 2 * len(RATIOS)),
                      f"n/{label.split()[1]} = {max_part_size} <= 2*dim")
            continue
        seconds, spread, model = timed_runs(fit, max_part_size, options, repeats=repeats)
        f1, mi50 = scores(model.embedding_, model.ids_.astype(np.int64))
        while opened:
            opened.pop().close()
        table.add(label, model.num_parts_, seconds, spread, seconds / base_time, *f1, mi50 / base_mi50)
        print(table.render(), flush=True)
    if gf_status == "available":
        from graphkit.embed.spark import graphframes_embedding

        seconds, spread, x = timed_runs(graphframes_embedding, graph, DIM, SEED, repeats=repeats)
        f1, mi50 = scores(x, np.arange(n))
        table.add("GraphFrames RandomWalkEmbeddings (5 walks/vertex, Word2Vec)", 1, seconds, spread,
                  seconds / base_time, *f1, mi50 / base_mi50)
    else:
        table.add(f"GraphFrames RandomWalkEmbeddings: {gf_status}", "-", "-", "-", "-", *(["-"] * 2 * len(RATIOS)), "-")
    return table


def dblp_table(spark, repeats: int, gf_status: str) -> Table:
    from graphkit.embed import link_prediction_auc, split_edges
    from graphkit.embed.spark import RecursivePartitionEmbedding
    from graphkit.graph import Graph
    from graphkit.io import load_csr

    csr = load_csr(dataset("com_dblp", "dblp.csv.gz"), directed=False)
    train, positives = split_edges(csr, 0.2, seed=SEED)
    graph = Graph.from_csr(spark, train)
    n = train.num_vertices
    table = Table(f"com-DBLP: n={n:,}, {len(positives):,} held-out edges (20 %), dim {DIM}, "
                  f"link prediction ROC-AUC (cosine), time median of {repeats} runs",
                  ["method", "parts", "time s", "time range s", "time ratio", "peak driver RSS MiB", "AUC", "cut fraction"])
    base_time, base_range, x = timed_runs(spectral_baseline, train.to_scipy(), repeats=repeats)
    table.add("spectral SVD baseline (reference)", 1, base_time, base_range, 1.0, peak_rss_mb(),
              link_prediction_auc(x, csr, positives, seed=SEED), "-")
    print(table.render(), flush=True)
    thirty_two = -(-n // 32)
    runs = [("graphkit whole graph", None, {}), ("graphkit 32 parts (Spark local[2])", thirty_two, {}),
            ("graphkit 32 parts, engine='distributed' (refined in Spark)", thirty_two, {"engine": "distributed"}),
            ("graphkit 32 parts, engine='distributed', refined on the driver", thirty_two,
             {"engine": "distributed", "refine_on": "driver"}),
            ("graphkit 32 parts, engine='distributed', no refinement", thirty_two,
             {"engine": "distributed", "refine": False})]
    opened = []
    for label, max_part_size, options in runs:
        def fit():
            opened.append(RecursivePartitionEmbedding(dim=DIM, max_part_size=max_part_size, seed=SEED,
                                                      **options).fit(graph))
            return opened[-1]

        seconds, spread, model = timed_runs(fit, repeats=repeats)
        peak = peak_rss_mb()
        table.add(label, model.num_parts_, seconds, spread, seconds / base_time, peak,
                  link_prediction_auc(model.embedding_, csr, positives, seed=SEED),
                  model.partition_quality_["cut_fraction"])
        while opened:
            opened.pop().close()
        print(table.render(), flush=True)
    if gf_status == "available":
        from graphkit.embed.spark import graphframes_embedding

        seconds, spread, x = timed_runs(graphframes_embedding, graph, DIM, SEED, repeats=repeats)
        table.add("GraphFrames RandomWalkEmbeddings (5 walks/vertex, Word2Vec)", 1, seconds, spread,
                  seconds / base_time, peak_rss_mb(), link_prediction_auc(x, csr, positives, seed=SEED), "-")
    else:
        table.add(f"GraphFrames RandomWalkEmbeddings: {gf_status}", "-", "-", "-", "-", "-", "-", "-")
    return table


def _with_earlier_results(tables: dict, command: str) -> dict:
    """Keep each data set's latest table in out/bench/embed.json, so a run of some data sets
    (``--only dblp``) does not drop the others from docs/benchmarks.md; older tables say when
    and how they were produced."""
    import json
    import time

    store = Path(__file__).resolve().parents[1] / "out" / "bench" / "embed.json"
    saved = json.loads(store.read_text()) if store.exists() else {}
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for key, table in tables.items():
        saved[key] = {"title": table.title, "columns": table.columns, "rows": table.rows,
                      "stamp": stamp, "command": command}
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(saved, indent=1))
    merged = dict(tables)
    for key, entry in saved.items():
        if key not in merged:
            merged[key] = Table(f"{entry['title']} [earlier run: {entry['stamp']}, `{entry['command']}`]",
                                entry["columns"], entry["rows"])
    return merged


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="BlogCatalog + PPI only, medians of 3 runs, 2 splits")
    parser.add_argument("--only", choices=["blogcatalog", "ppi", "dblp"], action="append",
                        help="run only these data sets (repeatable)")
    parser.add_argument("--repeats", type=int,
                        help="timed runs per row, the median is reported (default 5, com-DBLP 3; 3 with --quick)")
    args = parser.parse_args(argv)
    repeats, splits = (3, 2) if args.quick else (5, 5)
    repeats = args.repeats or repeats
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be >= 1")
    wanted = set(args.only or (["blogcatalog", "ppi"] if args.quick else ["blogcatalog", "ppi", "dblp"]))

    from threadpoolctl import threadpool_limits

    from graphkit.session import get_session

    # One BLAS thread in the driver, as in each one-core Spark task: the machine is small and shared.
    threadpool_limits(1)
    spark = get_session(master="local[2]", app_name="bench-embed", extra={
        "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4", "spark.driver.memory": "6g"})
    gf_status = graphframes_row(spark)
    tables = {}
    if "blogcatalog" in wanted:
        tables["blogcatalog"] = classification_table(spark, "BlogCatalog", dataset("blogcatalog", "blogcatalog.mat"),
                                                     repeats, splits, gf_status)
    if "ppi" in wanted:
        tables["ppi"] = classification_table(spark, "PPI", dataset("ppi_node2vec", "Homo_sapiens.mat"),
                                             repeats, splits, gf_status)
    if "dblp" in wanted:
        tables["dblp"] = dblp_table(spark, args.repeats or 3, gf_status)
    tables = _with_earlier_results(tables, " ".join(["bench/embed.py", *(argv if argv is not None else sys.argv[1:])]))
    notes = f"""
Ratios are against the same-run spectral baseline (time ratio: graphkit time / baseline time;
Mi-F1@50% ratio: graphkit Micro-F1 at 50 % / baseline's). graphkit rows are
`RecursivePartitionEmbedding(dim={DIM}, max_part_size=ceil(n / parts), seed={SEED}).fit(graph)` on a
local[2] session (whole graph: `max_part_size=None`, embedded on the driver; default
method='spectral'; default engine: local, which collects the graph; `engine='distributed'` keeps it
in Spark, the whole-graph refinement included, unless `refine_on='driver'` collects it for that
last step); their time covers
partitioning, the Spark tasks, fusing and refining (not collecting a distributed embedding for
scoring). Peak RSS is the running maximum of the driver process, so a row can only show more
than the rows above it. Times are medians of repeated runs (min-max beside them). Classification is
one-vs-rest liblinear logistic regression with the fixed C=2 of
`graphkit.embed.node_classification` on every row. A part count is not run
when ceil(n / parts) <= 2 * dim, which the estimator rejects (every part needs more vertices than
dimensions). The driver runs BLAS on one thread, like each one-core Spark task. Peak memory is the
driver process's (Python workers and the JVM are not included).
{f"This run: `{' '.join(['bench/embed.py', *(argv if argv is not None else sys.argv[1:])])}`, {repeats} timed runs per row, {splits} classification splits (the full run: medians of 5 runs, com-DBLP 3, 5 splits)."}
GraphFrames RandomWalkEmbeddings: {gf_status} (Maven Central as reachable here refuses io.graphframes).
"""
    report("embed", [tables[k] for k in ("blogcatalog", "ppi", "dblp") if k in tables], notes)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
