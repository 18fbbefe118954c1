"""RecursivePartitionEmbedding on Spark: partition contract, quality against the local whole-graph
embedding, the transform() frame, determinism, argument checks, and the `graphkit embed` CLI."""

from __future__ import annotations

import numpy as np
import pytest

from graphkit.base import NotFittedError
from graphkit.csr import CSRGraph
from graphkit.embed import embed_csr, load_embeddings, node_classification
from graphkit.embed.distributed import CoarseningSettings
from graphkit.embed.spark import RecursivePartitionEmbedding
from graphkit.errors import EmptyGraphError
from graphkit.graph import Graph
from graphkit.io import csr_from_matrix, read_mat
from tests.conftest import dataset, require_graphframes, run_cli

pytestmark = pytest.mark.spark

DIM = 64
PPI_PARTS = 8


@pytest.fixture(scope="module")
def ppi_graph(spark):
    return Graph.read(dataset("ppi_node2vec", "Homo_sapiens.mat"), spark=spark, directed=False)


@pytest.fixture(scope="module")
def ppi_labels():
    _, labels = read_mat(dataset("ppi_node2vec", "Homo_sapiens.mat"))
    return labels.tocsr()


@pytest.fixture(scope="module")
def ppi_model(ppi_graph):
    n = ppi_graph.num_vertices
    max_part_size = -(-n // PPI_PARTS)  # ceil(n / 8): ~8 parts of at most this size
    return RecursivePartitionEmbedding(dim=DIM, max_part_size=max_part_size, seed=5).fit(ppi_graph)


@pytest.fixture(scope="module")
def ppi_distributed(ppi_graph):
    """The distributed engine, made to coarsen (PPI is small enough to partition directly)."""
    n = ppi_graph.num_vertices
    model = RecursivePartitionEmbedding(dim=DIM, max_part_size=-(-n // PPI_PARTS), seed=5, engine="distributed",
                                        coarsening=CoarseningSettings(max_coarse_vertices=600))

    def collected(*args, **kwargs):
        raise AssertionError("the distributed engine collected the graph")

    with pytest.MonkeyPatch.context() as patch:  # partition, embed and refine: the graph stays in Spark
        patch.setattr(Graph, "to_csr", collected)
        model.fit(ppi_graph)
    assert model.refinement_ == "spark"
    yield model
    model.close()


@pytest.fixture(scope="module")
def ppi_whole_f1(ppi_labels):
    adjacency, _ = read_mat(dataset("ppi_node2vec", "Homo_sapiens.mat"))
    ids, whole = embed_csr(csr_from_matrix(adjacency), dim=DIM, seed=5)
    return node_classification(whole, ppi_labels[ids.astype(np.int64)], train_ratios=(0.5,), repeats=2, seed=0)[0.5]


@pytest.fixture(params=["local", "distributed"])
def fitted(request, ppi_model, ppi_distributed):
    return ppi_model if request.param == "local" else ppi_distributed


def test_parts_respect_the_bound_and_cover_every_vertex_once(fitted, ppi_graph):
    n = ppi_graph.num_vertices
    parts = fitted.parts_
    assert parts.shape == (n,)  # one part label per vertex: each vertex is in exactly one part
    sizes = np.bincount(parts)
    assert sizes.sum() == n
    assert sizes.min() > 0, "part numbers are dense (no empty part)"
    assert sizes.max() <= fitted.max_part_size
    assert PPI_PARTS <= sizes.size <= 2 * PPI_PARTS == 16
    assert fitted.num_parts_ == sizes.size
    assert fitted.embedding_.shape == (n, DIM)
    quality = fitted.partition_quality_
    assert quality["max_part"] == sizes.max() and quality["num_parts"] == sizes.size
    # A random split into 8+ parts cuts >= 7/8 of the edges; PPI's best partitions cut ~half.
    assert quality["cut_fraction"] < 0.7, quality


def test_distributed_engine_coarsened_and_reports_its_partition_truthfully(ppi_distributed, ppi_model, ppi_graph):
    assert ppi_distributed.engine_ == "distributed" and ppi_model.engine_ == "local"
    assert ppi_distributed.coarse_vertices_ <= 600 < ppi_graph.num_vertices
    cut_d = ppi_distributed.partition_quality_["cut_fraction"]
    cut_l = ppi_model.partition_quality_["cut_fraction"]
    # Label-propagation coarsening cuts more than whole-graph spectral bisection on PPI (measured
    # 0.61 against 0.52), far less than a random 8-way split (7/8); the embeddings are as good.
    assert cut_d < 0.7, (cut_d, cut_l)
    # the Spark-side statistics agree with the kernel's on the collected parts
    from graphkit.embed import kernels as K

    adjacency, _ = read_mat(dataset("ppi_node2vec", "Homo_sapiens.mat"))
    order = ppi_distributed.ids_.astype(np.int64)
    expected = K.partition_quality(K.adjacency(adjacency)[order][:, order], ppi_distributed.parts_)
    for key in ("num_parts", "max_part", "min_part"):
        assert expected[key] == ppi_distributed.partition_quality_[key]
    assert abs(expected["cut_fraction"] - cut_d) < 1e-9


def test_classification_within_1_5_points_of_whole_graph_local_embedding(fitted, ppi_labels, ppi_whole_f1):
    labels_spark = ppi_labels[fitted.ids_.astype(np.int64)]
    got = node_classification(fitted.embedding_, labels_spark, train_ratios=(0.5,), repeats=2, seed=0)[0.5]
    assert fitted.refined_
    for metric in ("micro_f1", "macro_f1"):
        assert got[metric] >= ppi_whole_f1[metric] - 0.015, (metric, got[metric], ppi_whole_f1[metric])
        assert got[metric] > 0.15, (metric, got[metric])  # far above chance on PPI (50 labels)


def test_auto_engine_picks_a_part_size_when_the_graph_does_not_fit_the_driver(ppi_graph, ppi_labels):
    """At the defaults (no max_part_size), a graph over max_driver_bytes goes to the distributed
    engine with a part size chosen for it, instead of stopping (issue 13)."""
    from graphkit.embed.spark import auto_part_size

    n = ppi_graph.num_vertices
    model = RecursivePartitionEmbedding(dim=DIM, seed=5, max_driver_bytes=1, refine=False)
    try:
        model.fit(ppi_graph)
        assert model.engine_ == "distributed" and model.max_part_size_ == auto_part_size(n, DIM) == -(-n // 8)
        assert 8 <= model.num_parts_ <= 16 and model.partition_quality_["max_part"] <= model.max_part_size_
        f1 = node_classification(model.embedding_, ppi_labels[model.ids_.astype(np.int64)], train_ratios=(0.5,),
                                 repeats=2, seed=0)[0.5]["micro_f1"]
        assert f1 > 0.15, f1  # chance is about 0.07
    finally:
        model.close()
    assert auto_part_size(10**8, 128) == 20_000 and auto_part_size(1000, 128) == 512


def test_distributed_engine_without_refinement_stays_in_spark(ppi_graph, ppi_labels):
    n = ppi_graph.num_vertices
    models = {engine: RecursivePartitionEmbedding(dim=DIM, max_part_size=-(-n // PPI_PARTS), seed=5,
                                                  engine=engine, refine=False) for engine in ("distributed", "local")}
    f1 = {}
    try:
        for engine, model in models.items():
            model.fit(ppi_graph)
            assert not model.refined_
            if engine == "distributed":
                assert model._embedding is None  # nothing collected yet
                rows = model.transform().toPandas()
                assert len(rows) == n and {len(v) for v in rows["embedding"]} == {DIM}
            x = model.embedding_
            norms = np.linalg.norm(x, axis=1)
            assert np.all((np.abs(norms - 1) < 1e-5) | (norms == 0))
            f1[engine] = node_classification(x, ppi_labels[model.ids_.astype(np.int64)], train_ratios=(0.5,),
                                             repeats=2, seed=0)[0.5]["micro_f1"]
    finally:
        models["distributed"].close()
    # DistNE's fused output without the whole-graph polish: far above chance (~0.07), and as good
    # as the one-machine partition's fused output (measured 0.184 against 0.179)
    assert f1["distributed"] > 0.15 and f1["distributed"] >= f1["local"] - 0.01, f1


def test_coarsening_respects_the_cluster_cap(spark):
    from graphkit.embed import distributed as D
    from graphkit.sparkio import Scratch

    graph = Graph.read(dataset("email_eu_core", "email-Eu-core.txt"), spark=spark, directed=False)
    scratch = Scratch(spark, "test-coarsen")
    try:
        edges = scratch.freeze(D.undirected_edges(graph), "edges")
        settings = CoarseningSettings(max_coarse_vertices=100, rounds=6)
        assignment, clusters, coarse_edges = D.coarsen(edges, graph.num_vertices, 40, 1, settings, scratch,
                                                       lambda message: None)
        a = assignment.toPandas()
        assert sorted(a["v"]) == list(range(graph.num_vertices))  # every vertex exactly once
        sizes = a.groupby("c").size()
        assert sizes.max() <= 40
        c = clusters.toPandas().set_index("c")["vw"]
        assert c.sort_index().tolist() == sizes.sort_index().tolist()
        assert len(c) < graph.num_vertices / 4  # it did contract
        e = coarse_edges.toPandas()
        assert (e["src"] != e["dst"]).all() and set(e["src"]) <= set(c.index)
    finally:
        scratch.close()


def test_transform_returns_user_ids_and_float_vectors(ppi_model, ppi_graph):
    frame = ppi_model.transform()
    assert frame.columns == ["id", "embedding"]
    assert dict(frame.dtypes) == {"id": "bigint", "embedding": "array<float>"}
    rows = frame.toPandas()
    assert len(rows) == ppi_graph.num_vertices
    user_ids = sorted(r.id for r in ppi_graph.vertices.select("id").collect())
    assert sorted(rows["id"].tolist()) == user_ids
    assert {len(v) for v in rows["embedding"]} == {DIM}
    first = dict(zip(rows["id"], rows["embedding"]))
    vertex = int(ppi_model.ids_[17])
    np.testing.assert_allclose(first[vertex], ppi_model.embedding_[17], rtol=0, atol=0)


def test_same_seed_twice_gives_identical_embedding(spark):
    graph = Graph.read(dataset("email_eu_core", "email-Eu-core.txt"), spark=spark, directed=False)
    first = RecursivePartitionEmbedding(dim=16, max_part_size=300, seed=3).fit(graph)
    second = RecursivePartitionEmbedding(dim=16, max_part_size=300, seed=3).fit(graph)
    assert int(first.parts_.max()) + 1 >= 4
    assert np.array_equal(first.parts_, second.parts_)
    assert first.embedding_.tobytes() == second.embedding_.tobytes()
    assert np.array_equal(first.ids_, second.ids_)


def test_transform_before_fit_raises():
    with pytest.raises(NotFittedError, match="not fitted"):
        RecursivePartitionEmbedding(dim=8).transform()
    for use in (lambda m: m.embedding_, lambda m: m.parts_, lambda m: m.save("/nonexistent/emb")):
        with pytest.raises(NotFittedError):
            use(RecursivePartitionEmbedding(dim=8))


class _Untouchable:
    """A stand-in graph that fails on any use: parameters must be checked before the graph is."""

    def __getattr__(self, name):
        raise AssertionError(f"graph.{name} was used before the parameters were checked")


@pytest.mark.parametrize("params", [
    {"dim": 0}, {"dim": 2.5}, {"dim": 4, "max_part_size": 8}, {"method": "word2vec"}, {"engine": "gpu"},
    {"engine": "distributed"}, {"seed": -1}, {"refine": "yes"}, {"refine_iterations": -1},
    {"refine_block_rows": 0}, {"max_driver_bytes": -1}, {"engine": "local", "refine_on": "spark"},
    {"coarsening": CoarseningSettings(rounds=0)}, {"coarsening": {"rounds": 2}},
])
def test_every_parameter_is_checked_before_the_graph_is_used(params):
    with pytest.raises((ValueError, TypeError)):
        RecursivePartitionEmbedding(**params).fit(_Untouchable())


def test_estimator_contract_params_clone_repr():
    from sklearn.base import clone

    settings = CoarseningSettings(rounds=2)
    model = RecursivePartitionEmbedding(dim=8, max_part_size=40, coarsening=settings)
    assert model.coarsening is settings and RecursivePartitionEmbedding().coarsening is None
    twin = clone(model)
    assert twin is not model and twin.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    assert twin.dim == 8 and twin.max_part_size == 40 and twin.coarsening == settings
    assert model.set_params(dim=16) is model and model.dim == 16
    assert repr(RecursivePartitionEmbedding(dim=8)) == "RecursivePartitionEmbedding(dim=8)"


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"dim": 0}, ValueError, "dim must be positive, got dim=0"),
        ({"dim": -3}, ValueError, "dim must be positive"),
        ({"dim": 40}, ValueError, r"dim=40 must be smaller than the number of vertices \(40\)"),
        ({"dim": 2.5}, TypeError, "dim must be an integer"),
        ({"dim": 4, "max_part_size": 8}, ValueError, r"max_part_size=8 is too small for dim=4: it must be > 2 \* dim = 8"),
        ({"dim": 4, "max_part_size": 6}, ValueError, "max_part_size=6 is too small"),
        ({"dim": 4, "refine_on": "gpu"}, ValueError, "refine_on must be 'auto', 'spark' or 'driver', got 'gpu'"),
        ({"dim": 4, "max_part_size": 20, "engine": "local", "refine_on": "spark"}, ValueError,
         "refine_on='spark' needs engine='distributed' and method='spectral'"),
        ({"dim": 4, "refine_block_rows": 0}, ValueError, "refine_block_rows must be a positive integer, got 0"),
        ({"dim": 4, "refine_iterations": -1}, ValueError, "refine_iterations must be a non-negative integer"),
    ],
)
def test_bad_parameters_raise_clear_errors(spark, params, error, message):
    src = np.arange(40)
    graph = Graph.from_csr(spark, CSRGraph.from_edges(src, (src + 1) % 40, 40, directed=False))
    with pytest.raises(error, match=message):
        RecursivePartitionEmbedding(**params).fit(graph)


def test_graph_without_edges_between_distinct_vertices_raises(spark):
    # Graph construction refuses an edgeless graph (EmptyGraphError "graph has no edges"), but a
    # graph whose only edges are self-loops is constructible and has only isolated vertices to embed.
    loops = spark.createDataFrame([(i, i) for i in range(12)], "src long, dst long")
    graph = Graph.from_edges(loops, directed=False)
    with pytest.raises(EmptyGraphError, match=r"only isolated vertices \(12 vertices, no edges\)"):
        RecursivePartitionEmbedding(dim=2).fit(graph)


def test_cli_embed_writes_parquet_that_load_embeddings_reads(tmp_path, cli_in_process):
    graph_file = dataset("email_eu_core", "email-Eu-core.txt")
    out = tmp_path / "email-emb"
    done = cli_in_process("embed", graph_file, out, "--undirected", "--dim", "16")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1,005 vertices x 16" in done.stdout
    ids, x = load_embeddings(out)
    assert x.shape == (1005, 16) and x.dtype == np.float32
    import json

    manifest = json.loads((out / "_manifest.json").read_text())  # an artifact, not bare Parquet
    assert manifest["format"] == "graphkit.embeddings" and manifest["params"]["dim"] == 16
    assert manifest["graph"]["num_vertices"] == 1005 and manifest["seed"] == 0
    assert manifest["files"] and all(name.endswith(".parquet") for name in manifest["files"])
    assert ids.tolist() == sorted(set(ids.tolist()))
    assert np.isfinite(x).all()

    again = run_cli("embed", graph_file, out, "--undirected", "--dim", "16")  # refused before Spark starts
    assert again.returncode == 1
    errors = [line for line in again.stderr.splitlines() if line.startswith("graphkit: error:")]
    assert len(errors) == 1 and str(out) in errors[0] and "overwrite" in errors[0], again.stderr[-2000:]
    assert "Traceback" not in again.stderr


def test_cli_distributed_engine_needs_a_part_size(tmp_path):
    done = run_cli("embed", dataset("email_eu_core", "email-Eu-core.txt"), tmp_path / "x", "--engine", "distributed")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == ("graphkit: error: engine='distributed' needs max_part_size "
                                                     "(the whole graph would be embedded on the driver)")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("rounds", [0, 3])
def test_rebalancing_brings_every_part_under_the_bound(spark, rounds):
    from graphkit.embed import distributed as D
    from graphkit.sparkio import Scratch

    graph = Graph.read(dataset("email_eu_core", "email-Eu-core.txt"), spark=spark, directed=False)
    scratch = Scratch(spark, "test-rebalance")
    try:
        edges = scratch.freeze(D.undirected_edges(graph), "edges")
        # part 0 holds the first 400 vertices, parts 1-3 share the rest: 400, 202, 202, 201
        start = spark.range(graph.num_vertices).selectExpr(
            "id AS v", "CASE WHEN id < 400 THEN 0 ELSE 1 + (id % 3) END AS part")
        # rounds=0 exercises only the forced placement; 3 rounds place by ties first
        out = D._rebalance(edges, start, 260, 4, 1, scratch, lambda m: None, rounds=rounds).toPandas()
        assert sorted(out["v"]) == list(range(graph.num_vertices))
        sizes = out.groupby("part").size()
        assert sizes.max() <= 260 and sorted(sizes.index) == [0, 1, 2, 3]
        before = start.toPandas().set_index("v")["part"].sort_index()
        moved = (out.set_index("v")["part"].sort_index() != before).sum()
        assert moved == 400 - 260  # only the excess moves
    finally:
        scratch.close()


@pytest.mark.graphframes
def test_graphframes_peer(spark):
    """GraphFrames 0.11's RandomWalkEmbeddings, read back through graphkit's peer wrapper, gives
    one unit row per vertex that separates email-Eu-core's departments."""
    from graphkit.embed.spark import graphframes_embedding

    require_graphframes(spark)
    graph = Graph.read(dataset("email_eu_core", "email-Eu-core.txt"), spark=spark, directed=False)
    x = graphframes_embedding(graph, dim=16)
    from graphkit.io import read_labels

    # GraphFrames 0.11 appends the neighbours' aggregated vector to each Word2Vec vector
    assert x.shape == (graph.num_vertices, 32)
    walked = np.linalg.norm(x, axis=1) > 0
    assert walked.mean() > 0.95 and np.allclose(np.linalg.norm(x[walked], axis=1), 1.0, atol=1e-5)

    names = graph.vertex_names()
    truth = read_labels(dataset("email_eu_core", "email-Eu-core-department-labels.txt"))
    labels = np.array([truth[int(v)] for v in names])
    same = labels[:, None] == labels[None, :]
    cosine = x @ x.T
    assert cosine[same].mean() > cosine[~same].mean() + 0.1
