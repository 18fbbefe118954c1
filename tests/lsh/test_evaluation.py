"""Evaluation helpers against independent computations (Python sets, a dense linear solve)."""

from __future__ import annotations

import numpy as np
import pytest

from graphkit.csr import CSRGraph
from graphkit.lsh import LSHIndex
from graphkit.lsh.evaluation import exact_jaccard, ppr_from_seeds, ppr_ranking, similarity_recall
from graphkit.lsh.neighbourhood import neighbourhood_csr
from tests.lsh.conftest import jaccard, neighbour_sets


def test_exact_jaccard_equals_python_sets(random_graph):
    sets = neighbour_sets(random_graph)
    ids = random_graph.ids.tolist()
    rows = np.array([0, 10, 299])
    allowed = np.ones(300, dtype=bool)
    allowed[5] = False
    jac = exact_jaccard(random_graph, rows, allowed).toarray()
    for r, row in enumerate(rows.tolist()):
        for col, other in enumerate(ids):
            expected = 0.0 if col in (row, 5) else jaccard(sets[ids[row]], sets[other])
            assert jac[r, col] == pytest.approx(expected)


def test_neighbourhood_variants():
    graph = CSRGraph.from_edges([0, 0, 1], [1, 2, 2], 3, ids=np.array([10, 11, 12]), directed=True)

    def rows(g):
        return [sorted(g.ids[g.neighbors(i)].tolist()) for i in range(3)]
    assert rows(neighbourhood_csr(graph, "out")) == [[11, 12], [12], []]
    assert rows(neighbourhood_csr(graph, "in")) == [[], [10], [10, 11]]
    assert rows(neighbourhood_csr(graph, "both")) == [[11, 12], [10, 12], [10, 11]]
    assert rows(neighbourhood_csr(graph, "out", closed=True)) == [[10, 11, 12], [11, 12], [12]]
    with pytest.raises(ValueError, match="neighbourhood must be one of"):
        neighbourhood_csr(graph, "sideways")


def test_ppr_matches_linear_solve(random_graph):
    alpha, seeds = 0.15, random_graph.ids[[3, 30]].tolist()
    n = random_graph.num_vertices
    adj = random_graph.to_scipy().toarray()
    transition = adj / adj.sum(axis=1, keepdims=True)  # no dangling vertices in this graph
    restart = np.zeros(n)
    restart[[3, 30]] = 0.5
    exact = np.linalg.solve(np.eye(n) - (1 - alpha) * transition.T, alpha * restart)
    approx = ppr_from_seeds(random_graph, seeds, alpha=alpha, iterations=200)
    assert np.allclose(approx, exact, atol=1e-10)
    top = ppr_ranking(random_graph, seeds, 5)
    order = [random_graph.ids[i].item() for i in np.argsort(-exact) if i not in (3, 30)][:5]
    assert top == order


def test_ppr_returns_dangling_mass_to_the_seeds():
    graph = CSRGraph.from_edges([0, 1], [1, 2], 3, directed=True)  # 2 is dangling
    p = ppr_from_seeds(graph, [0], iterations=300)
    assert p.sum() == pytest.approx(1.0)
    # fixed point: p0 = a + (1-a) p2 (2's mass restarts at 0), p1 = (1-a) p0, p2 = (1-a) p1
    a = 0.15
    p0 = a / (1 - (1 - a) ** 3)
    assert p == pytest.approx([p0, (1 - a) * p0, (1 - a) ** 2 * p0])


def test_similarity_recall_is_perfect_when_lsh_cannot_miss(random_graph):
    # rows=1 with 64 bands: a pair sharing any neighbour shares some min-hash with prob ~1
    # once their Jaccard is >= 0.2, and exact re-ranking removes estimation noise.
    index = LSHIndex.from_graph(random_graph, num_perm=64, rows=1)
    result = similarity_recall(index, random_graph, random_graph.ids[:60], k=5, min_jaccard=0.05, exact=True)
    assert result.sources == 60 and result.sources_above > 0
    assert result.recall_above == 1.0
    worse = similarity_recall(LSHIndex.from_graph(random_graph, num_perm=8, rows=8), random_graph,
                              random_graph.ids[:60], k=5, min_jaccard=0.05)
    assert worse.recall_above < 0.5  # one band of 8 rows almost never collides at J ~ 0.1
