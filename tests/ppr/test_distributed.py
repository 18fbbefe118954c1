"""The distributed walk engine against exact PPR, the local Monte-Carlo walker and itself."""

import numpy as np
import pandas as pd
import pytest

from graphkit.graph import Graph
from graphkit.ppr import exact_ppr, monte_carlo_ppr, precision_at_k, stratified_sources
from graphkit.ppr.distributed import WalkSettings
from graphkit.ppr.evaluation import l1_error
from graphkit.ppr.spark import FullyPersonalizedPageRank
from tests.conftest import dataset, run_cli
from tests.ppr.test_kernels import random_weighted_graph

pytestmark = [pytest.mark.spark, pytest.mark.slow]
#: Restart probability of the tests on small random graphs: shorter walks, fewer rounds.
ALPHA = 0.3


def _rows(result: pd.DataFrame, source) -> tuple[np.ndarray, np.ndarray]:
    mine = result[result.src == source].sort_values(["score", "dst"], ascending=[False, True])
    return mine["dst"].to_numpy(), mine["score"].to_numpy()


@pytest.fixture(scope="module")
def email(spark):
    return Graph.read(dataset("email_eu_core", "email-Eu-core.txt"), spark=spark)


def test_distributed_engine_is_as_accurate_as_the_local_walker_on_email(email):
    walks = 1000
    model = FullyPersonalizedPageRank(walks=walks, top_k=10, seed=2, engine="distributed").fit(email)
    try:
        assert model.engine_ == "distributed"
        result = model.transform().toPandas()
    finally:
        model.close()
    csr = email.to_csr()
    assert result["src"].nunique() == csr.num_vertices and result.groupby("src").size().max() == 10
    sources = stratified_sources(csr.out_degree(), 40, seed=4)
    exact = exact_ppr(csr.indptr, csr.indices, None, sources)
    local = monte_carlo_ppr(csr.indptr, csr.indices, None, sources, walks=walks, seed=2)
    mine, theirs = [], []
    for row, s in enumerate(sources):
        targets, scores = _rows(result, csr.ids[s])
        assert np.all(np.diff(scores) <= 0) and scores.sum() <= 1 + 1e-9
        mine.append(precision_at_k(exact[row], csr.index_of(targets), 10))
        t, v = local.row(row)
        theirs.append(precision_at_k(exact[row], t[np.argsort(-v, kind="stable")], 10))
    # the same estimator with the same number of walks: the same accuracy up to sampling noise
    assert np.mean(mine) >= np.mean(theirs) - 0.05, (np.mean(mine), np.mean(theirs))
    assert np.mean(mine) >= 0.7


def test_alias_tree_and_segments_follow_weights(spark):
    csr = random_weighted_graph(n=60, seed=5)
    graph = Graph.from_csr(spark, csr)
    # tiny blocks: most vertices become hubs sampled through an alias tree; small ones use segments
    settings = WalkSettings(block_size=4, small_degree=4, segments_per_vertex=64, segment_length=4,
                            exact_steps=2)
    # alpha 0.3: walks half as long as at 0.15, so half the rounds (each a few Spark jobs)
    model = FullyPersonalizedPageRank(walks=10_000, alpha=ALPHA, top_k=60, seed=1, engine="distributed",
                                      walk_settings=settings).fit(graph)
    try:
        result = model.transform().toPandas()
    finally:
        model.close()
    sources = np.array([0, 3, 9])
    weighted = exact_ppr(csr.indptr, csr.indices, csr.weights, sources, alpha=ALPHA)
    unweighted = exact_ppr(csr.indptr, csr.indices, None, sources, alpha=ALPHA)
    for i, s in enumerate(sources):
        targets, scores = _rows(result, s)
        assert l1_error(weighted[i], targets, scores) < 0.08
        assert l1_error(unweighted[i], targets, scores) > 0.16


def test_batches_and_pipelining_do_not_change_the_answer(spark):
    csr = random_weighted_graph(n=40, seed=2)
    graph = Graph.from_csr(spark, csr)
    answers = []
    for in_flight, pipeline in ((None, 1), (14 * 300, 2)):  # one batch; three batches, two at a time
        settings = WalkSettings(walkers_in_flight=in_flight, pipeline=pipeline, block_size=8, exact_steps=3)
        model = FullyPersonalizedPageRank(walks=300, alpha=ALPHA, top_k=5, seed=9, engine="distributed",
                                          walk_settings=settings).fit(graph)
        try:
            answers.append(model.transform().toPandas().sort_values(["src", "dst"]).reset_index(drop=True))
        finally:
            model.close()
    pd.testing.assert_frame_equal(answers[0], answers[1])
    assert len(answers[0]) > 100


def test_auto_engine_falls_back_to_distributed_when_the_graph_does_not_fit(spark):
    csr = random_weighted_graph(n=30, seed=1)
    graph = Graph.from_csr(spark, csr)
    model = FullyPersonalizedPageRank(walks=50, top_k=3, max_broadcast_bytes=1_000)
    assert model.choose_engine(30, csr.num_edges) == "distributed"
    assert FullyPersonalizedPageRank().choose_engine(30, csr.num_edges) == "local"
    with pytest.raises(ValueError, match="segment_length"):
        FullyPersonalizedPageRank(walk_settings=WalkSettings(segment_length=0)).fit(graph)


def test_ppr_command_with_the_distributed_engine(tmp_path, cli_in_process):
    edges = tmp_path / "edges.csv"
    edges.write_text("src,dst\nann,bob\nbob,cat\ncat,ann\ncat,dan\ndan,ann\n")
    out = tmp_path / "ppr"
    done = cli_in_process("ppr", edges, out, "--header", "--string-ids", "--engine", "distributed", "--walks", "2000",
                          "--top-k", "2")
    assert done.returncode == 0, done.stderr
    assert "distributed engine" in done.stdout
    frame = pd.read_parquet(out)
    assert set(frame["src"]) == {"ann", "bob", "cat", "dan"} and frame.groupby("src").size().max() == 2
    # ann -> bob -> cat is the only way out of ann: bob and ann carry the most mass from ann
    assert set(frame[frame.src == "ann"]["dst"]) == {"ann", "bob"}
