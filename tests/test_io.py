"""Single-machine readers, CSR policy and id mapping (no Spark)."""

import gzip

import numpy as np
import pytest
import scipy.sparse.csgraph as csgraph

from graphkit import io
from graphkit.csr import CSRGraph, IdMap
from graphkit.errors import EmptyGraphError, InputFormatError, UnknownVertexError
from tests.conftest import dataset


def test_email_eu_core_counts_with_self_loops():
    g = io.load_csr(dataset("email_eu_core", "email-Eu-core.txt"))
    assert (g.num_vertices, g.num_edges) == (1005, 25571)
    src = np.repeat(np.arange(g.num_vertices), g.out_degree())
    assert int((src == g.indices).sum()) == 642


def test_undirected_file_listing_both_directions_reads_each_edge_once():
    g = io.load_csr(dataset("ca_astroph", "ca-AstroPh.txt.gz"), directed=False)
    assert g.num_vertices == 18772
    src = np.repeat(np.arange(g.num_vertices), g.out_degree())
    loops = int((src == g.indices).sum())
    # 198,050 undirected non-loop edges (shared/datasets README), each stored both ways; loops once
    assert (g.num_edges - loops) // 2 == 198050 and loops == 60
    # every stored edge has its reverse
    a = g.to_scipy()
    assert (a != a.T).nnz == 0


def test_edge_policy_merges_duplicates_and_sums_weights():
    g = CSRGraph.from_edges([0, 0, 1], [1, 1, 2], 3, weights=[1.0, 2.5, 4.0])
    assert g.indices.tolist() == [1, 2] and g.weights.tolist() == [3.5, 4.0]
    u = CSRGraph.from_edges([0, 1, 1], [1, 0, 1], 2, directed=False)
    assert u.weights is None  # (0,1) and (1,0) are one undirected edge; loop kept once
    assert u.indptr.tolist() == [0, 1, 3] and u.indices.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    "content, weighted, message",
    [
        ("1 2\n3\n", False, ":2: malformed line"),
        ("1 2\nx 3\n", False, ":2: non-integer vertex id"),
        ("1 2 1.0\n2 3 nan\n", True, ":2: weight nan"),
        ("1 2 -1\n", True, ":1: weight -1.0"),
        ("1 2 inf\n", True, ":1: weight inf"),
        ("1 2 0\n", True, ":1: weight 0.0"),
        ("# only a comment\n\n", False, "no edges"),
    ],
)
def test_bad_edge_lists_name_file_and_line(tmp_path, content, weighted, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises((InputFormatError, EmptyGraphError)) as err:
        io.read_edge_list(path, weighted=weighted)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_file_and_gzip(tmp_path):
    with pytest.raises(InputFormatError, match="no such file"):
        io.read_edge_list(tmp_path / "nope.txt")
    path = tmp_path / "g.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("# c\n1,2,0.5\n2,3,2\n")
    src, dst, w = io.read_edge_list(path, weighted=True)
    assert src.tolist() == [1, 2] and dst.tolist() == [2, 3] and w.tolist() == [0.5, 2.0]


def test_string_ids_map_in_sorted_order():
    g = io.csr_from_id_edges(np.array(["b", "a"]), np.array(["c", "b"]))
    assert g.ids.tolist() == ["a", "b", "c"]
    assert g.index_of(["c", "a"]).tolist() == [2, 0]
    with pytest.raises(UnknownVertexError, match="'zz'"):
        g.index_of(["zz"])


def test_idmap_coerces_typed_ids_and_rejects_unknown():
    m = IdMap(np.array([10, 5, 7]))
    assert m.index_of(["7", 10]).tolist() == [2, 0]
    with pytest.raises(UnknownVertexError):
        m.index_of(["abc"])
    with pytest.raises(UnknownVertexError):
        m.index_of([6])


def test_ground_truth_readers():
    labels = io.read_labels(dataset("email_eu_core", "email-Eu-core-department-labels.txt"))
    assert len(labels) == 1005 and len(set(labels.values())) == 42
    adjacency, groups = io.read_mat(dataset("blogcatalog", "blogcatalog.mat"))
    assert adjacency.shape == (10312, 10312) and groups.shape == (10312, 39)
    adjacency, circles = io.read_ego_npz(dataset("facebook_ego_circles", "fb_0.npz"))
    assert adjacency.shape[0] == adjacency.shape[1] and circles and all(c.max() < adjacency.shape[0] for c in circles)
    communities = io.read_communities_json(dataset("com_dblp", "dblp_ground_truth.json.gz"))
    assert len(communities) == 13477


def test_mat_adjacency_to_csr_is_connected_like_scipy():
    adjacency, _ = io.read_mat(dataset("ppi_node2vec", "Homo_sapiens.mat"))
    g = io.csr_from_matrix(adjacency)
    expected = csgraph.connected_components(adjacency, directed=False)[0]
    assert csgraph.connected_components(g.to_scipy(), directed=False)[0] == expected
