"""The Spark graph model against independent single-machine ground truth."""

import numpy as np
import pytest
import scipy.sparse.csgraph as csgraph

from graphkit import io
from graphkit.csr import CSRGraph
from graphkit.errors import EmptyGraphError, InputFormatError
from graphkit.graph import Graph
from tests.conftest import dataset, require_graphframes

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def email(spark):
    return Graph.read(dataset("email_eu_core", "email-Eu-core.txt"), spark=spark)


def test_email_eu_core_counts(email):
    assert (email.num_vertices, email.num_edges, email.num_self_loops) == (1005, 25571, 642)


def test_to_csr_matches_local_reader(email):
    local = io.load_csr(dataset("email_eu_core", "email-Eu-core.txt"))
    csr = email.to_csr()
    assert np.array_equal(csr.ids, local.ids)
    assert np.array_equal(csr.indptr, local.indptr) and np.array_equal(csr.indices, local.indices)


def test_degree_stats_match_numpy(email):
    deg = io.load_csr(dataset("email_eu_core", "email-Eu-core.txt")).out_degree()
    stats = email.degree_stats()
    assert (stats["min"], stats["max"]) == (deg.min(), deg.max())
    assert stats["mean"] == pytest.approx(deg.mean())


def _labelled_by_smallest_id(components) -> bool:
    smallest = components.groupby("component")["id"].min()
    return bool((smallest == smallest.index).all())


def _spy_on_two_phase(monkeypatch):
    calls = []
    two_phase = Graph._two_phase_labels
    monkeypatch.setattr(Graph, "_two_phase_labels", lambda self, frame: calls.append(1) or two_phase(self, frame))
    return calls


@pytest.mark.graphframes
def test_components_match_scipy(email, monkeypatch):
    require_graphframes(email.spark)
    a = io.load_csr(dataset("email_eu_core", "email-Eu-core.txt")).to_scipy()
    count, labels = csgraph.connected_components(a, directed=True, connection="weak")
    two_phase = _spy_on_two_phase(monkeypatch)
    got = email.connected_components().toPandas().sort_values("id")
    assert not two_phase  # label propagation converged (diameter far below GRAPHX_COMPONENT_ROUNDS)
    assert got["component"].nunique() == count == 20
    # same partition: labels agree up to renaming, and each label is its component's smallest id
    pairs = set(zip(got["component"], labels))
    assert len(pairs) == count
    assert _labelled_by_smallest_id(got)
    assert email.component_stats() == {"components": 20, "largest": 986}


@pytest.mark.graphframes
def test_components_on_disconnected_weighted_string_graph(spark, tmp_path):
    require_graphframes(spark)
    path = tmp_path / "g.csv"
    path.write_text("src,dst,w\nb,a,2\na,b,1.5\nc,d,1\nd,e,1\nx,x,3\n")
    g = Graph.read(path, spark=spark, header=True, weight_col="w", int_ids=False, directed=False)
    assert g.num_vertices == 6 and g.num_edges == 4  # (a,b) merged, loop kept
    edges = {(r.src, r.dst): r.weight for r in g.translate(g.edges, "src", "dst").collect()}
    assert edges[("a", "b")] == pytest.approx(3.5)
    comps = g.connected_components().toPandas()
    groups = sorted(sorted(group["name"]) for _, group in comps.groupby("component"))
    assert groups == [["a", "b"], ["c", "d", "e"], ["x"]]


@pytest.mark.graphframes
def test_components_of_a_long_path_fall_back_to_two_phase(spark, tmp_path, monkeypatch):
    """A path longer than GRAPHX_COMPONENT_ROUNDS hops: unfinished label propagation must not be
    returned as components (GraphX stopped early splits the path into pieces)."""
    require_graphframes(spark)
    import graphkit.graph

    monkeypatch.setattr(graphkit.graph, "GRAPHX_COMPONENT_ROUNDS", 4)  # the same route, 10x faster
    hops = 12
    order = np.random.default_rng(4).permutation(hops + 1) * 7 + 1000  # ids not in path order
    lines = [f"{order[i]} {order[i + 1]}" for i in range(hops)] + ["1 2", "2 3"]
    path = tmp_path / "path.txt"
    path.write_text("\n".join(lines) + "\n")
    g = Graph.read(path, spark=spark, directed=False)
    two_phase = _spy_on_two_phase(monkeypatch)
    comps = g.connected_components().toPandas()
    assert two_phase == [1]
    sizes = sorted(comps.groupby("component").size())
    assert sizes == [3, hops + 1]
    assert _labelled_by_smallest_id(comps)


@pytest.mark.parametrize(
    "content, kwargs, message",
    [
        ("1 2\n3 4\n5\n", {}, "bad.txt:3: malformed line"),
        ("1 2\n# c\nfoo 4\n", {}, "bad.txt:3: non-integer vertex id"),
        ("1 2 1\n2 3 NaN\n", {"weight_col": "3"}, "bad.txt:2: weight"),
        ("1 2 -2\n", {"weight_col": "3"}, "bad.txt:1: weight"),
        ("# nothing\n", {}, "no edges"),
    ],
)
def test_bad_input_names_file_and_line(spark, tmp_path, content, kwargs, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises((InputFormatError, EmptyGraphError)) as err:
        Graph.read(path, spark=spark, **kwargs)
    assert message in str(err.value)


def test_unknown_format_and_missing_file(spark, tmp_path):
    with pytest.raises(InputFormatError, match="unknown format"):
        Graph.read(dataset("email_eu_core", "email-Eu-core.txt"), spark=spark, format="graphml")
    with pytest.raises(InputFormatError, match="no such file"):
        Graph.read(tmp_path / "nope.txt", spark=spark)


def test_parquet_mat_and_dataframes(spark, tmp_path):
    spark.createDataFrame([(1, 2, 0.5), (2, 3, 1.0)], "src long, dst long, weight double").write.parquet(str(tmp_path / "e.parquet"))
    g = Graph.read(tmp_path / "e.parquet", spark=spark, weight_col="weight")
    assert g.weighted and g.num_edges == 2 and sorted(g.vertex_names().tolist()) == [1, 2, 3]
    ppi = Graph.read(dataset("ppi_node2vec", "Homo_sapiens.mat"), spark=spark, directed=False)
    assert ppi.num_vertices == 3890
    vertices = spark.createDataFrame([(1,), (2,), (99,)], "id long")
    edges = spark.createDataFrame([(1, 2)], "src long, dst long")
    h = Graph.from_dataframes(vertices, edges)
    assert h.num_vertices == 3 and h.degree_stats()["isolated"] == 1


def test_fingerprint_in_spark_equals_numpy_and_tells_graphs_apart(spark, email, tmp_path):
    from graphkit.fingerprint import csr_fingerprint

    path = dataset("email_eu_core", "email-Eu-core.txt")
    fp = email.fingerprint()
    assert fp == csr_fingerprint(email.to_csr()) == csr_fingerprint(io.load_csr(path))
    assert fp["num_vertices"] == 1005 and fp["num_edges"] == 25571 and fp["directed"] is True
    undirected = Graph.read(path, spark=spark, directed=False).fingerprint()
    assert undirected == csr_fingerprint(io.load_csr(path, directed=False)) and undirected != fp
    # string ids (UTF-8, longer than a 32-byte stripe) and weights, through from_csr
    names = np.array(["ünïcode-vertex-name-longer-than-32-bytes", "b", "日本"])
    csr = CSRGraph.from_edges([0, 1, 2], [1, 2, 0], 3, weights=[0.5, 2.0, 1.0], ids=names, directed=False)
    assert Graph.from_csr(spark, csr).fingerprint() == csr_fingerprint(csr)
    moved = CSRGraph.from_edges([0, 1, 2], [1, 2, 0], 3, weights=[0.5, 2.0, 1.5], ids=names, directed=False)
    assert csr_fingerprint(moved) != csr_fingerprint(csr)  # one weight changed
