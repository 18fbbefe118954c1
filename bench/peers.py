"""GraphFrames 0.11 as a same-run peer of every graphkit capability (a script; pytest does not
collect it). Four tables, each with the graphkit row as the reference of the ratio column::

    python bench/peers.py                      # everything (about an hour on 2 cores)
    python bench/peers.py --only components --only communities --repeats 3

* ppr: GraphFrames parallelPersonalizedPageRank on the degree-stratified sources that graphkit
  is scored on (ca-AstroPh, soc-Slashdot0902), seconds per source and precision@10 / RAG@100
  against exact PPR, beside graphkit's fully-PPR (all vertices, engine local) and PPRIndex.
* embed: GraphFrames RandomWalkEmbeddings against graphkit's default embedding on com-DBLP link
  prediction (20 % of edges held out, cosine ROC-AUC).
* components: GraphFrames connectedComponents (its default and AQE-skew settings) on com-DBLP
  and soc-Slashdot0902, answers checked against scipy. (graphkit's own large-star / small-star
  was measured here against it, lost 2-5x, and was removed; docs/benchmarks.md keeps that table.)
* communities: GraphFrames labelPropagation against graphkit's LSH community search, recovery
  from 5 seeds as in bench/communities.py (email-Eu-core departments; 100 com-DBLP communities).
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

from harness import Table, dataset, percentile, report  # noqa: E402

PARTS = ("ppr", "embed", "components", "communities")


def runs(fn, repeats: int):
    """Median seconds of ``repeats`` calls and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def label(repeats: int) -> str:
    return "1 run" if repeats == 1 else f"median of {repeats}"


# -- PPR ----------------------------------------------------------------------------------------
def ppr_table(spark, key: str, repeats: int, n_sources: int) -> Table:
    from ppr_kernels import DATASETS, GRAPHS, exact_for, timed_queries

    from graphkit.graph import Graph
    from graphkit.ppr import PPRIndex
    from graphkit.ppr.evaluation import evaluate, stratified_sources
    from graphkit.ppr.spark import FullyPersonalizedPageRank, graphframes_ppr

    rel, directed = GRAPHS[key]
    graph = Graph.read(str(DATASETS / rel), spark=spark, directed=directed)
    csr = graph.to_csr()
    n = csr.num_vertices
    sources = stratified_sources(csr, n_sources, seed=1)
    exact, _, _ = exact_for(argparse.Namespace(cache=None, graph=key, seed=1), csr, sources)

    def fully():
        est = FullyPersonalizedPageRank(top_k=100, engine="local", seed=0).fit(graph)
        frame = est.dense_result_.toPandas()
        return frame

    gk_s, frame = runs(fully, repeats)
    from ppr import rows_by_source

    gk = evaluate(lambda s: rows_by_source(frame[frame.src.isin(sources.tolist())], sources), csr, sources,
                  (10, 100), exact=exact)
    gf_s, gf_rows = runs(lambda: graphframes_ppr(graph, sources), repeats)
    gf = evaluate(lambda s: gf_rows, csr, sources, (10, 100), exact=exact)
    build_s, index = runs(lambda: PPRIndex().fit(csr), 1)
    latencies, idx_rows = timed_queries(index, csr, csr.ids[sources].tolist())
    idx = evaluate(lambda s: idx_rows, csr, sources, (10, 100), exact=exact)
    name = {"astro": "ca-AstroPh", "slashdot": "soc-Slashdot0902"}[key]
    t = Table(f"PPR, {name}: n={n:,}, {'directed' if directed else 'undirected'}; accuracy on {len(sources)} "
              f"degree-stratified sources vs exact power iteration",
              ["method", "seconds / source", "ratio", "precision@10", "RAG@100", "notes"])
    per = gk_s / n
    t.add("graphkit fully PPR (every vertex, top-100, engine local)", per, 1.0, gk["precision@10"], gk["rag@100"],
          f"{label(repeats)}: {gk_s:.1f} s for all {n:,} vertices")
    t.add("GraphFrames parallelPersonalizedPageRank (the sampled sources)", gf_s / len(sources),
          gf_s / len(sources) / per, gf["precision@10"], gf["rag@100"],
          f"{label(repeats)}: {gf_s:.1f} s for {len(sources)} sources in one call; unweighted, dangling mass renormalised")
    t.add("graphkit PPRIndex query (local, no Spark)", percentile(latencies, 50), percentile(latencies, 50) / per,
          idx["precision@10"], idx["rag@100"],
          f"p50 of {len(sources)} single-source queries, p99 {percentile(latencies, 99) * 1e3:.1f} ms; "
          f"index built in {build_s:.0f} s (1 run)")
    return t


# -- embeddings ------------------------------------------------------------------------------------
def embed_table(spark, repeats: int) -> Table:
    from graphkit.embed import link_prediction_auc, split_edges
    from graphkit.embed.spark import RecursivePartitionEmbedding, graphframes_embedding
    from graphkit.graph import Graph
    from graphkit.io import load_csr

    csr = load_csr(dataset("com_dblp", "dblp.csv.gz"), directed=False)
    train, positives = split_edges(csr, 0.2, seed=0)
    graph = Graph.from_csr(spark, train)
    t = Table(f"Embeddings, com-DBLP: n={train.num_vertices:,}, {len(positives):,} held-out edges, dim 128, "
              "link prediction ROC-AUC (cosine)",
              ["method", "seconds", "ratio", "AUC", "notes"])
    models = []

    def graphkit_fit():
        models.append(RecursivePartitionEmbedding(dim=128, seed=0).fit(graph))
        return models[-1]

    gk_s, model = runs(graphkit_fit, repeats)
    t.add("graphkit RecursivePartitionEmbedding (defaults)", gk_s, 1.0,
          link_prediction_auc(model.embedding_, csr, positives, seed=0), f"{label(repeats)}; {model.num_parts_} part(s)")
    for m in models:
        m.close()
    gf_s, x = runs(lambda: graphframes_embedding(graph, 128, 0), repeats)
    t.add("GraphFrames RandomWalkEmbeddings (5 walks/vertex, Word2Vec)", gf_s, gf_s / gk_s,
          link_prediction_auc(x, csr, positives, seed=0), label(repeats))
    return t


# -- connected components ------------------------------------------------------------------------
def components_table(spark, repeats: int) -> Table:
    """GraphFrames' two-phase algorithm at its two settings against what ``Graph.connected_components``
    runs below 8M edges (GraphX label propagation, checked for convergence), answers checked against
    scipy. graphkit's own large-star / small-star implementation was removed after this table
    measured it 2-5x slower (README, design notes: 149 s on com-DBLP, 21.7 s on soc-Slashdot0902)."""
    import scipy.sparse.csgraph as csgraph
    from pyspark.sql import functions as F

    from graphkit import _jvm, io
    from graphkit.graph import ID, SRC, DST, Graph

    t = Table("Connected components: GraphFrames connectedComponents, time and answer against scipy",
              ["graph", "method", "seconds", "ratio", "components", "same answer as scipy"])
    for name, parts, directed in (("email-Eu-core", ("email_eu_core", "email-Eu-core.txt"), True),
                                  ("com-DBLP", ("com_dblp", "dblp.csv.gz"), False),
                                  ("soc-Slashdot0902", ("soc_slashdot0902", "soc-Slashdot0902.txt.gz"), True)):
        graph = Graph.read(str(dataset(*parts)), spark=spark, directed=directed)
        graph.num_edges  # read and cache before timing
        count, truth = csgraph.connected_components(io.load_csr(dataset(*parts), directed=directed).to_scipy(),
                                                    directed=directed, connection="weak")

        def theirs(threshold):
            frame = _jvm.make_graphframe(spark, graph.vertices.select(ID), graph.edges.select(SRC, DST))
            return frame.connectedComponents(broadcastThreshold=threshold).select(
                ID, F.col("component").cast("long")).toPandas()

        def ours():
            return graph.connected_components().select(ID, "component").toPandas()

        base = None
        for method, what in ((lambda: theirs(1_000_000), "GraphFrames two-phase, default broadcastThreshold"),
                             (lambda: theirs(-1), "GraphFrames two-phase, broadcastThreshold=-1 (AQE)"),
                             (ours, "Graph.connected_components (GraphX + convergence check)")):
            seconds, labels = runs(method, repeats)
            labels = labels.sort_values(ID)["component"].to_numpy()
            base = base or seconds
            same = len(set(zip(labels.tolist(), truth.tolist()))) == count == len(np.unique(labels))
            t.add(name, what, seconds, seconds / base, len(np.unique(labels)), same)
        graph.edges.unpersist()
        graph.vertices.unpersist()
    return t


# -- communities -----------------------------------------------------------------------------------
def lpa_ranking(labels: np.ndarray, csr, seeds, size: int) -> list:
    """LPA gives a set, not a ranking: the community most seeds fall in, its members ordered by
    how many seeds they are adjacent to, then by degree (a fair, cheap order inside a set)."""
    dense = csr.index_of(seeds)
    values, counts = np.unique(labels[dense], return_counts=True)
    members = np.flatnonzero(labels == values[counts.argmax()])
    adjacent = np.zeros(csr.num_vertices)
    for s in dense:
        adjacent[csr.indices[csr.indptr[s]:csr.indptr[s + 1]]] += 1
    order = np.lexsort((-csr.out_degree()[members], -adjacent[members]))
    return csr.ids[members[order]][: size + len(seeds)].tolist()


def communities_table(spark, repeats: int, max_iter: int) -> Table:
    from graphkit import _jvm, io
    from graphkit.graph import Graph
    from graphkit.lsh import LSHIndex
    from graphkit.lsh.community import community
    from graphkit.lsh.evaluation import recovery_curve

    t = Table(f"Communities: recovery from 5 seeds (AUC of recall vs result size), GraphFrames labelPropagation "
              f"({max_iter} iterations) vs graphkit LSH community search",
              ["data set", "method", "seconds", "ratio", "recovery AUC", "notes"])
    email = ("email-Eu-core departments", ("email_eu_core", "email-Eu-core.txt"), 5)
    dblp = ("com-DBLP (100 communities of 10-100)", ("com_dblp", "dblp.csv.gz"), 1)
    for name, parts, draws in (email, dblp):
        csr = io.load_csr(dataset(*parts), directed=False)
        if "DBLP" in name:
            truth = io.read_communities_json(dataset("com_dblp", "dblp_ground_truth.json.gz"))
            sized = [c for c in truth if 10 <= len(c) <= 100]
            rng = np.random.default_rng(0)
            truth = [sized[i] for i in rng.choice(len(sized), min(100, len(sized)), replace=False)]
        else:
            labels = io.read_labels(dataset("email_eu_core", "email-Eu-core-department-labels.txt"))
            truth = [c for c in io.communities_from_labels(labels) if len(c) > 5]
        rng = np.random.default_rng(0)
        trials = [(members, rng.choice(np.asarray(members), 5, replace=False).tolist())
                  for members in truth for _ in range(draws)]

        def lsh_all():
            index = LSHIndex.from_graph(csr, keep_graph=False)
            return [community(index, seeds, 2 * (len(m) - 5) + 5).members for m, seeds in trials]

        lsh_s, lsh_ranked = runs(lsh_all, repeats)
        graph = Graph.from_csr(spark, csr)

        def lpa():
            frame = _jvm.make_graphframe(spark, graph.vertices.select("id"), graph.symmetric_edges().select("src", "dst"))
            out = frame.labelPropagation(maxIter=max_iter).select("id", "label").toPandas()
            labels = np.empty(csr.num_vertices, dtype=np.int64)
            labels[out["id"].to_numpy()] = out["label"].to_numpy()
            return labels

        lpa_s, lpa_labels = runs(lpa, repeats)
        auc = lambda ranked: float(np.mean([recovery_curve(r, m, s, 2 * (len(m) - 5))[1]  # noqa: E731
                                            for r, (m, s) in zip(ranked, trials)]))
        lpa_ranked = [lpa_ranking(lpa_labels, csr, s, 2 * (len(m) - 5)) for m, s in trials]
        t.add(name, "graphkit LSH community (index build + every query)", lsh_s, 1.0, auc(lsh_ranked),
              f"{label(repeats)}; {len(trials)} seed sets")
        t.add(name, "GraphFrames labelPropagation (whole graph) + pick the seeds' label", lpa_s, lpa_s / lsh_s,
              auc(lpa_ranked), f"{label(repeats)}; {len(np.unique(lpa_labels)):,} labels")
        graph.edges.unpersist()
    return t


def earlier_tables(new: list[Table]) -> str:
    """Tables of this section from earlier runs (``--only`` runs a part at a time), kept with
    the stamp of the run that made them, unless this run remade them."""
    from harness import DOCS

    text = DOCS.read_text() if DOCS.exists() else ""
    marker = "## peers\n"
    if marker not in text:
        return ""
    start = text.index(marker)
    end = text.find("\n## ", start + len(marker))
    section = text[start:end if end != -1 else len(text)]
    head = section.split("\n\n**")[0].split("\n\n")
    # the run's stamp, then the italic notes that speak for the whole run (shared cores, repeats)
    stamp, run_notes = head[1].strip("_\n"), [p.strip() for p in head[2:] if p.startswith("_")]
    titles = {f"**{t.title}**" for t in new}
    kept = []
    for block in section.split("\n\n**")[1:]:
        paragraphs = ("**" + block.split("\n\nGraphFrames ")[0].strip()).split("\n\n")
        if paragraphs[0] in titles:
            continue
        if not any(p.startswith("_") for p in paragraphs[1:]):
            # a block without a stamp of its own came from the run stamped at the section's top
            paragraphs += [f"_Earlier run: {stamp}_", *run_notes]
        kept.append("\n\n".join(paragraphs))
    return "\n\n".join(kept)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts (repeatable)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timed row (median reported)")
    parser.add_argument("--big-repeats", type=int, default=1,
                        help="runs of the long rows (com-DBLP embeddings, soc-Slashdot0902 fully PPR)")
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--lpa-iterations", type=int, default=5)
    parser.add_argument("--ppr-graphs", default="astro,slashdot", help="comma-separated, from astro, slashdot")
    args = parser.parse_args(argv)
    from graphkit import _jvm
    from graphkit.session import get_session

    spark = get_session(master="local[2]", app_name="bench-graphframes")
    _jvm.require_graphframes(spark)
    parts = args.only or PARTS
    tables = []
    if "components" in parts:
        tables.append(components_table(spark, args.repeats))
        print(tables[-1].render(), flush=True)
    if "communities" in parts:
        tables.append(communities_table(spark, args.repeats, args.lpa_iterations))
        print(tables[-1].render(), flush=True)
    if "ppr" in parts:
        for key, repeats in (("astro", args.repeats), ("slashdot", args.big_repeats)):
            if key not in args.ppr_graphs.split(","):
                continue
            tables.append(ppr_table(spark, key, repeats, args.sources))
            print(tables[-1].render(), flush=True)
    if "embed" in parts:
        tables.append(embed_table(spark, args.big_repeats))
    kept = earlier_tables(tables)
    report("peers", tables, notes=(kept + "\n\n" if kept else "") + (
        f"GraphFrames {_jvm.jvm_graphframes_version(spark)} (JVM package, Spark local[2]). Ratio = row time / "
        "graphkit time in the same run (> 1: graphkit is faster). Seconds per source for fully PPR = total / vertices."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
