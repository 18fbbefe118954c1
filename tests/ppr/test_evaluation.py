"""Evaluation metrics on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from graphkit.csr import CSRGraph
from graphkit.ppr import SparseRows, exact_ppr, monte_carlo_ppr
from graphkit.ppr.evaluation import evaluate, l1_error, precision_at_k, rag_at_k, stratified_sources

EXACT = np.array([0.4, 0.25, 0.2, 0.1, 0.05, 0.0])


def test_precision_at_k_hand_examples():
    assert precision_at_k(EXACT, [0, 1, 2], 3) == 1.0
    assert precision_at_k(EXACT, [0, 3, 1], 3) == pytest.approx(2 / 3)
    assert precision_at_k(EXACT, [5, 4], 2) == 0.0
    # Only the first k of a longer list count.
    assert precision_at_k(EXACT, [0, 1, 5, 4], 2) == 1.0


def test_precision_counts_boundary_ties_as_hits():
    tied = np.array([0.5, 0.2, 0.2, 0.1])
    assert precision_at_k(tied, [0, 2], 2) == 1.0
    assert precision_at_k(tied, [0, 1], 2) == 1.0
    assert precision_at_k(tied, [0, 3], 2) == 0.5


def test_precision_shrinks_k_to_reachable_vertices():
    sparse = np.array([0.7, 0.3, 0.0, 0.0])
    assert precision_at_k(sparse, [0, 1], 10) == 1.0


def test_rag_hand_examples():
    assert rag_at_k(EXACT, [0, 1, 2], 3) == pytest.approx(1.0)
    assert rag_at_k(EXACT, [0, 1, 3], 3) == pytest.approx(0.75 / 0.85)
    assert rag_at_k(EXACT, [], 3) == 0.0


def test_l1_error_counts_missing_and_extra_mass():
    assert l1_error(EXACT, np.arange(6), EXACT) == 0.0
    assert l1_error(EXACT, [0], [0.5]) == pytest.approx(0.1 + 0.6)


def test_bad_k_rejected():
    with pytest.raises(ValueError, match="k must"):
        precision_at_k(EXACT, [0], 0)
    with pytest.raises(ValueError, match="k must"):
        rag_at_k(EXACT, [0], -1)


def test_stratified_sources_cover_degrees_and_are_seeded():
    degrees = np.concatenate([np.ones(900, dtype=int), np.full(90, 50), np.full(10, 500)])
    a = stratified_sources(degrees, 50, strata=5, seed=3)
    assert a.shape == (50,) and np.unique(a).shape == (50,)
    assert np.array_equal(a, stratified_sources(degrees, 50, strata=5, seed=3))
    assert not np.array_equal(a, stratified_sources(degrees, 50, strata=5, seed=4))
    # Degree quintiles: the top 200 vertices (all 100 of degree >= 50 among them) give 10 sources.
    assert (degrees[a] >= 50).sum() >= 4
    distinct = np.random.default_rng(1).permutation(1000)  # vertex v has degree distinct[v]
    b = stratified_sources(distinct, 50, strata=5, seed=3)
    assert np.array_equal(np.bincount(distinct[b] // 200, minlength=5), [10] * 5)
    with pytest.raises(ValueError, match="num_sources"):
        stratified_sources(degrees, 0)


def test_evaluate_exact_is_perfect_and_noisy_is_not():
    rng = np.random.default_rng(0)
    g = CSRGraph.from_edges(rng.integers(0, 200, 1500), rng.integers(0, 200, 1500), 200)
    sources = stratified_sources(g, 10, seed=0)
    exact = exact_ppr(g.indptr, g.indices, None, sources)

    def exact_fn(src):
        nz = [np.flatnonzero(row) for row in exact]
        indptr = np.concatenate([[0], np.cumsum([len(x) for x in nz])])
        return SparseRows(indptr, np.concatenate(nz), np.concatenate([exact[i][x] for i, x in enumerate(nz)]))

    perfect = evaluate(exact_fn, g, sources, (10, 50))
    assert perfect["precision@10"] == 1.0 and perfect["rag@50"] == pytest.approx(1.0)
    assert perfect["l1"] < 1e-9
    noisy = evaluate(lambda s: monte_carlo_ppr(g.indptr, g.indices, None, s, walks=20), g, sources, (10,))
    assert noisy["l1"] > 0.1 and noisy["precision@10"] < 1.0
    assert noisy["sources"] == 10 and noisy["exact_seconds"] > 0
