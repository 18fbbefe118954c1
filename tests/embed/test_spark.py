"""RecursivePartitionEmbedding on Spark: partition contract, quality against the local whole-graph
embedding, the transform() frame, determinism, argument checks, and the `graphkit embed` CLI."""

from __future__ import annotations

import numpy as np
import pytest

from graphkit.csr import CSRGraph
from graphkit.embed import embed_csr, load_embeddings, node_classification
from graphkit.embed.spark import RecursivePartitionEmbedding
from graphkit.errors import EmptyGraphError
from graphkit.graph import Graph
from graphkit.io import csr_from_matrix, read_mat
from tests.conftest import dataset, run_cli

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


def test_parts_respect_the_bound_and_cover_every_vertex_once(ppi_model, ppi_graph):
    n = ppi_graph.num_vertices
    parts = ppi_model.parts_
    assert parts.shape == (n,)  # one part label per vertex: each vertex is in exactly one part
    sizes = np.bincount(parts)
    assert sizes.sum() == n
    assert sizes.min() > 0, "part numbers are dense (no empty part)"
    assert sizes.max() <= ppi_model.max_part_size
    assert PPI_PARTS <= sizes.size <= 2 * PPI_PARTS
    assert ppi_model.embedding_.shape == (n, DIM)


def test_classification_within_1_5_points_of_whole_graph_local_embedding(ppi_model, ppi_labels):
    adjacency, _ = read_mat(dataset("ppi_node2vec", "Homo_sapiens.mat"))
    ids, whole = embed_csr(csr_from_matrix(adjacency), dim=DIM, seed=5)
    labels_local = ppi_labels[ids.astype(np.int64)]
    labels_spark = ppi_labels[ppi_model.ids_.astype(np.int64)]
    ref = node_classification(whole, labels_local, train_ratios=(0.5,), repeats=2, seed=0)[0.5]
    got = node_classification(ppi_model.embedding_, labels_spark, train_ratios=(0.5,), repeats=2, seed=0)[0.5]
    for metric in ("micro_f1", "macro_f1"):
        assert got[metric] >= ref[metric] - 0.015, (metric, got[metric], ref[metric])
        assert got[metric] > 0.15, (metric, got[metric])  # far above chance on PPI (50 labels)


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
    with pytest.raises(RuntimeError, match="not fitted"):
        RecursivePartitionEmbedding(dim=8).transform()


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"dim": 0}, ValueError, "dim must be positive, got dim=0"),
        ({"dim": -3}, ValueError, "dim must be positive"),
        ({"dim": 40}, ValueError, r"dim=40 must be smaller than the number of vertices \(40\)"),
        ({"dim": 2.5}, TypeError, "dim must be an integer"),
        ({"dim": 4, "max_part_size": 8}, ValueError, r"max_part_size=8 is too small for dim=4: it must be > 2 \* dim = 8"),
        ({"dim": 4, "max_part_size": 6}, ValueError, "max_part_size=6 is too small"),
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


def test_cli_embed_writes_parquet_that_load_embeddings_reads(tmp_path):
    graph_file = dataset("email_eu_core", "email-Eu-core.txt")
    out = tmp_path / "email-emb"
    done = run_cli("embed", graph_file, out, "--undirected", "--dim", "16", "--master", "local[2]")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1,005 vertices x 16" in done.stdout
    ids, x = load_embeddings(out)
    assert x.shape == (1005, 16) and x.dtype == np.float32
    assert ids.tolist() == sorted(set(ids.tolist()))
    assert np.isfinite(x).all()

    again = run_cli("embed", graph_file, out, "--undirected", "--dim", "16", "--master", "local[2]")
    assert again.returncode == 1
    errors = [line for line in again.stderr.splitlines() if line.startswith("graphkit: error:")]
    assert len(errors) == 1 and str(out) in errors[0] and "overwrite" in errors[0], again.stderr[-2000:]
    assert "Traceback" not in again.stderr
