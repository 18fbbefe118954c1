"""Kernels on synthetic graphs whose answers are known independently of the code."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from graphkit.csr import CSRGraph
from graphkit.embed import kernels as K
from graphkit.errors import EmptyGraphError

from tests.embed.conftest import planted_partition


def _purity(parts: np.ndarray, truth: np.ndarray) -> float:
    """Share of vertices whose part's majority block is their own block."""
    hits = 0
    for p in np.unique(parts):
        blocks = truth[parts == p]
        hits += np.bincount(blocks).max()
    return hits / truth.size


# -- partitioning ----------------------------------------------------------------------------
def test_bisect_recovers_two_planted_blocks():
    graph, truth = planted_partition([100, 100], 0.15, 0.005, seed=3)
    side = K.bisect(graph)
    assert side.sum() == 100
    agreement = np.mean(side == (truth == 1))
    assert max(agreement, 1 - agreement) == 1.0


def test_bisect_sizes_are_floor_and_ceil():
    graph, _ = planted_partition([40, 31], 0.3, 0.02, seed=0)
    side = K.bisect(graph)
    assert side.sum() == 36 and (~side).sum() == 35


def test_bisect_keeps_components_whole_when_they_fit():
    # Components of sizes 6, 3, 3 (triangles / a 6-cycle) and 0 cut edges are possible.
    cycle6 = np.array([[i, (i + 1) % 6] for i in range(6)])
    tri1 = np.array([[6, 7], [7, 8], [8, 6]])
    tri2 = np.array([[9, 10], [10, 11], [11, 9]])
    e = np.concatenate([cycle6, tri1, tri2])
    graph = CSRGraph.from_edges(e[:, 0], e[:, 1], 12, directed=False)
    side = K.bisect(graph)
    assert K.partition_quality(graph, side.astype(int))["cut_fraction"] == 0.0


@pytest.mark.parametrize("max_part_size", [1, 7, 150, 160, 604, 605])
def test_recursive_partition_bounds_and_covers(sbm4, max_part_size):
    graph, _ = sbm4
    parts = K.recursive_partition(graph, max_part_size, seed=0)
    assert parts.shape == (graph.num_vertices,)
    sizes = np.bincount(parts)
    # Every part id is used (ids are 0..k-1) and no part exceeds the bound.
    assert sizes.min() >= 1
    assert sizes.max() <= max_part_size
    assert sizes.sum() == graph.num_vertices


def test_recursive_partition_finds_planted_blocks(sbm4):
    graph, truth = sbm4
    parts = K.recursive_partition(graph, 160, seed=0)
    assert np.bincount(parts).size == 4
    core = truth >= 0
    assert _purity(parts[core], truth[core]) > 0.97
    quality = K.partition_quality(graph, parts)
    # 4 x 150 vertices at p_in 0.12, p_out 0.004: a perfect split cuts about 17% of the edge
    # weight; a random 4-way split would cut about 75%.
    assert quality["cut_fraction"] < 0.2
    assert quality["imbalance"] < 1.01


def test_recursive_partition_is_deterministic(sbm4):
    graph, _ = sbm4
    a = K.recursive_partition(graph, 100, seed=7)
    b = K.recursive_partition(graph, 100, seed=7)
    assert np.array_equal(a, b)


def test_weighted_bisect_balances_weight_not_count():
    # Two planted blocks: the first has 20 vertices of weight 5 (total 100), the second 100 of
    # weight 1. Balancing weight keeps the blocks whole; balancing counts would have to cut one.
    graph, truth = planted_partition([20, 100], 0.5, 0.01, seed=2)
    weights = np.where(truth == 0, 5, 1)
    side = K.bisect(graph, vertex_weights=weights)
    assert len(set(side[truth == 0])) == 1 and len(set(side[truth == 1])) == 1
    assert weights[side].sum() == weights[~side].sum() == 100
    unweighted = K.bisect(graph)
    assert unweighted.sum() == 60  # the count rule splits the big block


def test_weighted_recursive_partition_bounds_part_weight(sbm4):
    graph, _ = sbm4
    rng = np.random.default_rng(0)
    weights = rng.integers(1, 9, graph.num_vertices)
    parts = K.recursive_partition(graph, 400, seed=1, vertex_weights=weights)
    part_weight = np.bincount(parts, weights=weights)
    assert part_weight.max() <= 400
    assert part_weight.min() >= 400 / 2 - weights.max()  # bisection halves, to one vertex
    with pytest.raises(ValueError, match="vertex_weights must be 605 positive integers"):
        K.recursive_partition(graph, 400, vertex_weights=np.zeros(graph.num_vertices, dtype=int))


def test_recursive_partition_to_a_fixed_depth(sbm4):
    graph, truth = sbm4
    weights = np.where(truth == 0, 3, 1)  # 905 in all
    parts = K.recursive_partition(graph, None, seed=1, vertex_weights=weights, depth=1)
    halves = np.bincount(parts, weights=weights)
    assert halves.size == 2 and abs(halves[0] - halves[1]) <= 2 * 3 + 1  # balanced to a vertex's weight
    assert np.bincount(K.recursive_partition(graph, None, depth=2)).tolist() == [151, 151, 151, 152]
    with pytest.raises(ValueError, match="depth must be a non-negative integer given with max_part_size=None"):
        K.recursive_partition(graph, 100, depth=2)


def test_partition_of_blogcatalog_beats_random(blogcatalog):
    graph, _ = blogcatalog
    parts = K.recursive_partition(graph, 1289, seed=0)
    quality = K.partition_quality(graph, parts)
    assert quality["num_parts"] == 8 and quality["max_part"] <= 1289
    # A random 8-way partition cuts 7/8 of the edges; measured here: about 0.60.
    assert quality["cut_fraction"] < 0.7


# -- embedders ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["spectral", "netmf", "prone"])
def test_embed_part_separates_blocks_and_zeroes_isolated(sbm4, method):
    graph, truth = sbm4
    x = K.embed_part(graph, 16, seed=0, method=method)
    assert x.shape == (graph.num_vertices, 16) and x.dtype == np.float32
    isolated = truth < 0
    assert np.all(x[isolated] == 0)
    norms = np.linalg.norm(x[~isolated], axis=1)
    assert np.allclose(norms, 1, atol=1e-5)
    # Nearest block centroid recovers the planted block for almost every vertex.
    core = ~isolated
    centroids = np.stack([x[truth == b].mean(axis=0) for b in range(4)])
    predicted = np.argmax(x[core] @ centroids.T, axis=1)
    assert np.mean(predicted == truth[core]) > 0.95


def test_embed_part_is_reproducible(sbm4):
    graph, _ = sbm4
    assert np.array_equal(K.embed_part(graph, 8, seed=3), K.embed_part(graph, 8, seed=3))


def test_spectral_operator_is_regularised_and_ignores_self_loops():
    # Path 0-1-2 plus a self-loop on 0: degrees (self-loops dropped) 1, 2, 1, mean 4/3.
    a = sp.csr_matrix(np.array([[5.0, 1, 0], [1, 0, 1], [0, 1, 0]]))
    op = K.spectral_operator(a, tau=0.75).toarray()
    reg = np.array([1.0, 2.0, 1.0]) + 0.75 * 4 / 3
    expected = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]) / np.sqrt(np.outer(reg, reg))
    assert np.allclose(op, expected)
    assert np.allclose(K.spectral_operator(a, tau=0).toarray(),
                       np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]) / np.sqrt(np.outer([1, 2, 1], [1, 2, 1])))
    with pytest.raises(ValueError, match="tau"):
        K.spectral_operator(a, tau=-1)


def test_top_eigenpairs_match_a_dense_solver(sbm4):
    graph, _ = sbm4
    op = K.spectral_operator(K.adjacency(graph))
    exact = np.linalg.eigvalsh(op.toarray())[::-1][:12]
    evals, evecs = K.top_eigenpairs(op, 12, seed=1, oversample=20, rounds=6)
    assert np.allclose(evals, exact, atol=1e-6)
    assert np.allclose(evecs.T @ evecs, np.eye(12), atol=1e-8)
    assert np.allclose(op @ evecs, evecs * evals, atol=1e-4)
    # A start that already spans the answer needs a single round.
    warm, _ = K.top_eigenpairs(op, 12, seed=2, oversample=20, rounds=1, start=evecs)
    assert np.allclose(warm, exact, atol=1e-8)


def test_global_refinement_reaches_the_whole_graph_embedding(sbm4):
    graph, truth = sbm4
    a = K.adjacency(graph)
    whole = K.spectral_embed(a, 8, seed=0)
    rng = np.random.default_rng(0)
    # A rough start: the whole-graph embedding blurred with noise.
    start = whole + 0.5 * rng.standard_normal(whole.shape)
    refined = K.global_refinement(a, start, iterations=2, method="spectral")
    core = truth >= 0
    # Same subspace up to rotation: the Procrustes residual is small.
    u, _, vt = np.linalg.svd(refined[core].T @ whole[core])
    assert np.linalg.norm(refined[core] @ (u @ vt) - whole[core]) / np.linalg.norm(whole[core]) < 0.05
    assert np.all(refined[~core] == 0)
    with pytest.raises(ValueError, match="method"):
        K.global_refinement(a, start, method="deepwalk")


def test_align_recovers_a_rotation():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 12))
    q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    target = x @ q
    anchors = rng.choice(200, size=30, replace=False)
    for method in ("orthogonal", "linear"):
        y = K.align(x, anchors, target[anchors], method=method)
        expected = target / np.linalg.norm(target, axis=1, keepdims=True)
        # The ridge term of "linear" shrinks the map very slightly.
        assert np.allclose(y, expected, atol=1e-3 if method == "orthogonal" else 1e-2)


def test_fuse_averages_pieces_and_zeroes_uncovered():
    a = (np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    b = (np.array([1, 2]), np.array([[1.0, 0.0], [0.0, 3.0]]))
    out = K.fuse(4, [a, b])
    s = np.sqrt(0.5)
    assert np.allclose(out, [[1, 0], [s, s], [0, 1], [0, 0]], atol=1e-6)


def test_shared_vertices_takes_top_cut_degree_per_part():
    # Path 0-1-2-3 | 4-5-6-7 with parts {0..3}, {4..7}: vertices 3 and 4 carry the cut edge.
    e = np.array([[i, i + 1] for i in range(7)])
    graph = CSRGraph.from_edges(e[:, 0], e[:, 1], 8, directed=False)
    parts = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert K.shared_vertices(graph, parts, 1).tolist() == [3, 4]
    assert len(K.shared_vertices(graph, parts, 3)) == 6


def test_partitioned_embedding_keeps_blocks_apart(sbm4):
    graph, truth = sbm4
    parts = K.recursive_partition(graph, 160, seed=0)
    x = K.partitioned_embedding(graph, parts, 16, seed=0)
    core = truth >= 0
    assert np.all(x[~core] == 0)
    centroids = np.stack([x[truth == b].mean(axis=0) for b in range(4)])
    predicted = np.argmax(x[core] @ centroids.T, axis=1)
    assert np.mean(predicted == truth[core]) > 0.95


# -- validation --------------------------------------------------------------------------------
def test_bad_dim_is_named(sbm4):
    graph, _ = sbm4
    with pytest.raises(ValueError, match="dim=0"):
        K.embed_part(graph, 0)
    with pytest.raises(ValueError, match="dim=-3"):
        K.embed_part(graph, -3)
    with pytest.raises(ValueError, match=f"dim={graph.num_vertices}"):
        K.embed_part(graph, graph.num_vertices)
    with pytest.raises(TypeError, match="dim"):
        K.embed_part(graph, 2.5)
    with pytest.raises(ValueError, match="method"):
        K.embed_part(graph, 4, method="deepwalk")


def test_max_part_size_rule():
    with pytest.raises(ValueError, match="max_part_size=256 .* dim=128"):
        K.check_max_part_size(256, 128)
    assert K.check_max_part_size(257, 128) == 257
    with pytest.raises(ValueError, match="max_part_size must be >= 1, got 0"):
        K.recursive_partition(sp.eye(3, format="csr"), 0)


def test_empty_and_edgeless_graphs_raise():
    with pytest.raises(EmptyGraphError):
        K.embed_part(sp.csr_matrix((0, 0)), 2)
    with pytest.raises(EmptyGraphError, match="only isolated vertices"):
        K.embed_part(sp.csr_matrix((10, 10)), 2)
    # Self-loops alone are still no structure.
    with pytest.raises(EmptyGraphError, match="only isolated vertices"):
        K.embed_part(sp.eye(10, format="csr"), 2)
    with pytest.raises(EmptyGraphError):
        K.recursive_partition(sp.csr_matrix((0, 0)), 5)


def test_local_side_never_imports_pyspark():
    code = (
        "import sys, graphkit.embed, graphkit.embed.kernels, graphkit.embed.local, "
        "graphkit.embed.evaluation; sys.exit('pyspark' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_netmf_refuses_graphs_beyond_its_dense_limit(monkeypatch, sbm4):
    graph, _ = sbm4
    monkeypatch.setattr(K.embedders, "DENSE_LIMIT", 100)
    with pytest.raises(ValueError, match="605 vertices exceed its limit of 100"):
        K.embed_part(graph, 8, method="netmf")
