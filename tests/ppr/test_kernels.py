"""PPR kernels against independent ground truth (dense linear algebra, closed forms, exact PPR)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from tests.conftest import dataset

from graphkit.csr import CSRGraph
from graphkit.errors import EmptyGraphError
from graphkit.io import load_csr
from graphkit.ppr import (
    alias_table,
    count_walk_steps,
    decomposition_ppr,
    exact_ppr,
    fingerprints,
    fully_ppr_topk,
    merge_fingerprints,
    monte_carlo_ppr,
    sample_neighbors,
    top_k,
    transition_matrix,
)
from graphkit.ppr.evaluation import l1_error, precision_at_k, rag_at_k, stratified_sources

ALPHA = 0.15


def dense_ppr(csr: CSRGraph, source: int, alpha: float = ALPHA) -> np.ndarray:
    """PPR by a dense linear solve, built from scratch (no graphkit kernel involved):
    x = alpha (I - (1 - alpha) P_u^T)^{-1} e_u, where P_u's dangling rows jump to the source."""
    n = csr.num_vertices
    A = np.zeros((n, n))
    w = csr.edge_weights()
    for v in range(n):
        lo, hi = csr.indptr[v], csr.indptr[v + 1]
        if hi > lo:
            A[v, csr.indices[lo:hi]] += w[lo:hi] / w[lo:hi].sum()
        else:
            A[v, source] = 1.0
    e = np.zeros(n)
    e[source] = 1.0
    return np.linalg.solve(np.eye(n) - (1 - alpha) * A.T, alpha * e)


def random_weighted_graph(n=60, seed=3, directed=True):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, 6 * n)
    dst = rng.integers(0, n, 6 * n)
    # A hub with many out-edges, and a few dangling vertices (no out-edges).
    src = np.concatenate([src, np.zeros(n - 1, dtype=np.int64)])
    dst = np.concatenate([dst, np.arange(1, n)])
    keep = ~np.isin(src, [n - 1, n - 2])
    w = rng.lognormal(0.0, 1.5, keep.sum())
    return CSRGraph.from_edges(src[keep], dst[keep], n, weights=w, directed=directed)


@pytest.fixture(scope="module")
def email():
    return load_csr(dataset("email_eu_core", "email-Eu-core.txt"), directed=True)


@pytest.fixture(scope="module")
def email_exact(email):
    sources = stratified_sources(email, 30, seed=7)
    return sources, exact_ppr(email.indptr, email.indices, None, sources)


# -- alias tables ------------------------------------------------------------------------------
def implied_probabilities(csr, table):
    """Probability of every (vertex, target) implied by an alias table, computed slot by slot."""
    n = csr.num_vertices
    deg = csr.out_degree()
    seg = np.repeat(np.arange(n), deg)
    own = table.prob / deg[seg]
    other = (1.0 - table.prob) / deg[seg]
    implied = sp.coo_matrix((own, (seg, csr.indices)), shape=(n, n)).tocsr()
    implied = implied + sp.coo_matrix((other, (seg, table.alias)), shape=(n, n)).tocsr()
    return implied.toarray()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alias_table_reproduces_weights_exactly(seed):
    csr = random_weighted_graph(n=80, seed=seed)
    table = alias_table(csr.indptr, csr.indices, csr.weights)
    assert table.prob.min() >= 0.0 and table.prob.max() <= 1.0
    expected = csr.to_scipy().toarray()
    sums = expected.sum(axis=1, keepdims=True)
    expected = np.divide(expected, sums, out=np.zeros_like(expected), where=sums > 0)
    np.testing.assert_allclose(implied_probabilities(csr, table), expected, atol=1e-12)


def test_alias_table_with_ties_and_equal_weights():
    # Weights equal to the mean (scaled weight exactly 1) and repeated values stress the sweep's
    # tie rules; one vertex has all-equal weights, one a single edge.
    src = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 2])
    dst = np.array([1, 2, 3, 4, 5, 6, 0, 2, 3, 0])
    w = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 3.0, 5.0, 5.0, 5.0, 7.0])
    csr = CSRGraph.from_edges(src, dst, 7, weights=w)
    table = alias_table(csr.indptr, csr.indices, csr.weights)
    expected = csr.to_scipy().toarray()
    sums = expected.sum(axis=1, keepdims=True)
    expected = np.divide(expected, sums, out=np.zeros_like(expected), where=sums > 0)
    np.testing.assert_allclose(implied_probabilities(csr, table), expected, atol=1e-12)


def test_alias_table_none_for_unweighted():
    assert alias_table(np.array([0, 1]), np.array([0], dtype=np.int32), None) is None


def test_alias_sampling_frequencies_follow_weights():
    weights = np.array([1.0, 2.0, 3.0, 4.0, 10.0, 0.5])
    csr = CSRGraph.from_edges(np.zeros(6, dtype=np.int64), np.arange(1, 7), 7, weights=weights)
    table = alias_table(csr.indptr, csr.indices, csr.weights)
    draws = 200_000
    u = np.random.default_rng(11).random(draws)
    nxt = sample_neighbors(csr.indptr, csr.indices, np.zeros(draws, dtype=np.int64), u, alias=table)
    observed = np.bincount(nxt, minlength=7)[1:]
    expected = draws * weights / weights.sum()
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    # 5 degrees of freedom: P(chi2 > 25) ~ 1e-4, and a wrong table is off by thousands.
    assert chi2 < 25.0, (observed, expected)


def test_uniform_sampling_and_dangling_marker():
    csr = CSRGraph.from_edges(np.array([0, 0, 0]), np.array([1, 2, 3]), 5)
    u = np.random.default_rng(5).random(30_000)
    nxt = sample_neighbors(csr.indptr, csr.indices, np.zeros(30_000, dtype=np.int64), u)
    counts = np.bincount(nxt, minlength=5)
    assert counts[0] == 0 and counts[4] == 0
    assert np.all(np.abs(counts[1:4] - 10_000) < 500)
    assert sample_neighbors(csr.indptr, csr.indices, np.array([1, 4]), np.array([0.3, 0.9])).tolist() == [-1, -1]


# -- exact solver ------------------------------------------------------------------------------
def test_exact_matches_dense_solve_weighted_with_dangling():
    csr = random_weighted_graph(n=60, seed=4)
    assert (csr.out_degree() == 0).sum() >= 2
    sources = np.array([0, 5, 17, 58, 59])  # 58, 59 are dangling
    got = exact_ppr(csr.indptr, csr.indices, csr.weights, sources)
    for row, u in zip(got, sources):
        np.testing.assert_allclose(row, dense_ppr(csr, int(u)), atol=1e-10)
        assert abs(row.sum() - 1.0) < 1e-10


def test_exact_matches_dense_solve_on_email(email):
    sources = np.array([0, 1, 100, 500])
    got = exact_ppr(email.indptr, email.indices, None, sources, batch_size=3)
    for row, u in zip(got, sources):
        assert np.abs(row - dense_ppr(email, int(u))).sum() < 1e-9


def test_dangling_restart_closed_form():
    # 0 -> 1 -> 2, vertex 2 dangling: walks from 0 cycle 0 -> 1 -> 2 -> (restart) 0, so
    # PPR(0, .) = alpha (1, b, b^2) / (1 - b^3) with b = 1 - alpha; from 2, PPR(2, 2) = 1.
    csr = CSRGraph.from_edges(np.array([0, 1]), np.array([1, 2]), 3)
    b = 1 - ALPHA
    closed = ALPHA * np.array([1, b, b * b]) / (1 - b**3)
    got = exact_ppr(csr.indptr, csr.indices, None, [0, 2])
    np.testing.assert_allclose(got[0], closed, atol=1e-12)
    np.testing.assert_allclose(got[1], [0, 0, 1], atol=1e-12)
    for estimator in ("visits", "endpoint"):
        est = monte_carlo_ppr(csr.indptr, csr.indices, None, [0, 2], walks=20_000, estimator=estimator)
        t, v = est.row(0)
        np.testing.assert_allclose(np.bincount(t, weights=v, minlength=3), closed, atol=0.01)
        t, v = est.row(1)
        assert t.tolist() == [2] and v[0] == pytest.approx(1.0)
    # Fingerprints cannot restart at the (unknown) query source; the decomposition still must
    # reproduce restart-at-source exactly, through the renewal normalisation.
    fp = fingerprints(csr.indptr, csr.indices, None, walks=20_000, threshold=0.0)
    assert fp.mass[2] < 0.2 and fp.mass[0] < 1.0  # absorbing walks do lose mass
    for steps in (0, 1, 3):
        rows = decomposition_ppr(csr.indptr, csr.indices, None, fp, [0, 2], steps=steps, epsilon=0.0)
        t, v = rows.row(0)
        np.testing.assert_allclose(np.bincount(t, weights=v, minlength=3), closed, atol=0.01)
        t, v = rows.row(1)
        np.testing.assert_allclose(np.bincount(t, weights=v, minlength=3), [0, 0, 1], atol=1e-6)


def test_weights_change_the_answer():
    # 0 -> 1 (weight 9), 0 -> 2 (weight 1), both back to 0: unweighted they tie.
    src, dst = np.array([0, 0, 1, 2]), np.array([1, 2, 0, 0])
    weighted = CSRGraph.from_edges(src, dst, 3, weights=np.array([9.0, 1.0, 1.0, 1.0]))
    plain = CSRGraph.from_edges(src, dst, 3)
    ex_w = exact_ppr(weighted.indptr, weighted.indices, weighted.weights, [0])[0]
    ex_u = exact_ppr(plain.indptr, plain.indices, None, [0])[0]
    np.testing.assert_allclose(ex_w, dense_ppr(weighted, 0), atol=1e-12)
    assert ex_u[1] == pytest.approx(ex_u[2])
    assert ex_w[1] > 5 * ex_w[2]
    est = monte_carlo_ppr(weighted.indptr, weighted.indices, weighted.weights, [0], walks=20_000)
    t, v = est.row(0)
    got = np.bincount(t, weights=v, minlength=3)
    np.testing.assert_allclose(got, ex_w, atol=0.01)
    assert np.abs(got - ex_u).max() > 0.1


def test_weighted_mc_and_decomposition_follow_weights():
    csr = random_weighted_graph(n=60, seed=5)
    sources = np.array([0, 3, 9])
    exact = exact_ppr(csr.indptr, csr.indices, csr.weights, sources)
    est = monte_carlo_ppr(csr.indptr, csr.indices, csr.weights, sources, walks=20_000)
    fp = fingerprints(csr.indptr, csr.indices, csr.weights, walks=4000, threshold=0.0)
    dec = decomposition_ppr(csr.indptr, csr.indices, csr.weights, fp, sources, epsilon=0.0)
    unweighted = exact_ppr(csr.indptr, csr.indices, None, sources)
    for i in range(sources.shape[0]):
        for rows, bound in ((est, 0.06), (dec, 0.06)):
            t, v = rows.row(i)
            assert l1_error(exact[i], t, v) < bound
            assert l1_error(unweighted[i], t, v) > 2 * bound


def test_exact_rejects_bad_tolerance():
    with pytest.raises(ValueError, match="tol"):
        exact_ppr(np.array([0, 0]), np.zeros(0, np.int32), None, [0], tol=0.0)


# -- Monte Carlo -------------------------------------------------------------------------------
def test_monte_carlo_vs_exact_on_email(email, email_exact):
    sources, exact = email_exact
    errors = {}
    for estimator in ("visits", "endpoint"):
        est = monte_carlo_ppr(email.indptr, email.indices, None, sources, walks=2000, estimator=estimator)
        errors[estimator] = np.mean([l1_error(exact[i], *est.row(i)) for i in range(len(sources))])
        rag = np.mean([rag_at_k(exact[i], top_k(est, 10).row(i)[0], 10) for i in range(len(sources))])
        assert rag > 0.97, estimator
    # The visit-count estimator has clearly lower variance than the end point.
    assert errors["visits"] < 0.25
    assert errors["visits"] < 0.6 * errors["endpoint"]


def test_visits_are_unbiased_on_average(email):
    # Averaging many independent seeds removes the noise; the mean must converge to exact.
    u = 42
    exact = exact_ppr(email.indptr, email.indices, None, [u])[0]
    total = np.zeros(email.num_vertices)
    for seed in range(8):
        t, v = monte_carlo_ppr(email.indptr, email.indices, None, [u], walks=5000, seed=seed).row(0)
        total[t] += v
    assert np.abs(total / 8 - exact).sum() < 0.06


def test_results_independent_of_batching_and_reproducible(email):
    a = monte_carlo_ppr(email.indptr, email.indices, None, [3, 7, 11], walks=300, seed=9)
    b = monte_carlo_ppr(email.indptr, email.indices, None, [11, 7], walks=300, seed=9)
    c = monte_carlo_ppr(email.indptr, email.indices, None, [7], walks=300, seed=9)
    for x, y in ((a.row(1), b.row(1)), (a.row(1), c.row(0)), (a.row(2), b.row(0))):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])
    d = monte_carlo_ppr(email.indptr, email.indices, None, [7], walks=300, seed=10)
    assert not np.array_equal(c.values, d.values)
    full = fingerprints(email.indptr, email.indices, None, walks=200, seed=2)
    part = fingerprints(email.indptr, email.indices, None, [500, 2], walks=200, seed=2)
    for i, v in enumerate([500, 2]):
        lo, hi = full.indptr[v], full.indptr[v + 1]
        np.testing.assert_array_equal(part.indices[part.indptr[i] : part.indptr[i + 1]], full.indices[lo:hi])
        np.testing.assert_array_equal(part.values[part.indptr[i] : part.indptr[i + 1]], full.values[lo:hi])
        assert part.mass[i] == full.mass[v]


def test_partitioned_fingerprints_merge_to_the_same_bytes(email):
    n = email.num_vertices
    full = fingerprints(email.indptr, email.indices, None, walks=100, seed=4)
    order = np.random.default_rng(0).permutation(n)
    pieces = [(p, fingerprints(email.indptr, email.indices, None, p, walks=100, seed=4))
              for p in np.array_split(order, 3)]
    merged = merge_fingerprints(pieces, n)
    for a, b in zip(merged, full):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="appears 0 times"):
        merge_fingerprints(pieces[:2], n)


def test_count_walk_steps_matches_geometric_mean():
    steps = count_walk_steps(np.arange(50), 2000, alpha=ALPHA, seed=1)
    expected = 50 * 2000 * (1 - ALPHA) / ALPHA
    assert abs(steps - expected) < 0.02 * expected
    assert count_walk_steps(np.arange(50), 2000, alpha=ALPHA, seed=1) == steps


# -- fingerprints and the decomposition --------------------------------------------------------
def test_fingerprints_shape_and_threshold(email):
    fp = fingerprints(email.indptr, email.indices, None, walks=500, threshold=1e-3)
    n = email.num_vertices
    assert fp.indptr.shape == (n + 1,) and fp.mass.shape == (n,)
    assert fp.indices.dtype == np.int32 and fp.values.dtype == np.float32
    assert fp.values.min() >= 1e-3
    assert np.all(np.diff(fp.indptr) <= 1000)
    row_sums = np.bincount(np.repeat(np.arange(n), np.diff(fp.indptr)), weights=fp.values, minlength=n)
    assert np.all(row_sums <= fp.mass + 1e-5)
    dangling = email.out_degree() == 0
    assert np.all(fp.mass[dangling] < 0.2)  # killed at the first move unless they stop at once
    untruncated = fingerprints(email.indptr, email.indices, None, walks=500, threshold=0.0)
    full_sums = np.bincount(
        np.repeat(np.arange(n), np.diff(untruncated.indptr)), weights=untruncated.values, minlength=n
    )
    np.testing.assert_allclose(full_sums, untruncated.mass, rtol=1e-5)


def test_decomposition_converges_to_exact_with_many_steps(email, email_exact):
    # With T steps the fingerprints only carry (1 - alpha)^T of the mass: at T = 40 the estimate
    # must be exact up to ~2 * 0.85^40 ~ 0.003 in L1 (1.6e-5 measured) -- which also checks the dangling
    # normalisation on a graph with 137 dangling vertices.
    sources, exact = email_exact
    fp = fingerprints(email.indptr, email.indices, None, walks=300, threshold=0.0)
    rows = decomposition_ppr(email.indptr, email.indices, None, fp, sources, steps=40, epsilon=0.0)
    for i in range(len(sources)):
        assert l1_error(exact[i], *rows.row(i)) < 1e-3


def test_fully_ppr_topk_accuracy_on_email(email, email_exact):
    sources, exact = email_exact
    fp = fingerprints(email.indptr, email.indices, None, walks=2000)
    P = transition_matrix(email.indptr, email.indices, None)
    top = fully_ppr_topk(email.indptr, email.indices, None, fp, sources, 100, transition=P, batch_size=7)
    assert np.all(np.diff(top.indptr) <= 100)
    p10 = np.mean([precision_at_k(exact[i], top.row(i)[0], 10) for i in range(len(sources))])
    rag = np.mean([rag_at_k(exact[i], top.row(i)[0], 100) for i in range(len(sources))])
    assert p10 >= 0.9, p10
    assert rag >= 0.99, rag
    for i in range(len(sources)):
        assert np.all(np.diff(top.row(i)[1]) <= 0)  # best first
    # Batching does not change the answer (shared propagation is per-row exact).
    one = fully_ppr_topk(email.indptr, email.indices, None, fp, sources[3:4], 100, transition=P)
    np.testing.assert_array_equal(one.row(0)[0], top.row(3)[0])
    np.testing.assert_allclose(one.row(0)[1], top.row(3)[1], rtol=1e-12)


def test_top_k_orders_and_breaks_ties_by_index():
    rows = sp.csr_matrix(np.array([[0.1, 0.5, 0.5, 0.0, 0.2], [0.0, 0.0, 0.0, 0.0, 0.3]]))
    top = top_k(rows, 3)
    assert top.row(0)[0].tolist() == [1, 2, 4]
    assert top.row(1)[0].tolist() == [4]


# -- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.15", True, float("nan")])
def test_bad_alpha_is_named(alpha):
    with pytest.raises(ValueError, match="alpha"):
        monte_carlo_ppr(np.array([0, 0]), np.zeros(0, np.int32), None, [0], alpha=alpha)


@pytest.mark.parametrize("walks", [0, -5, 2.5, None])
def test_bad_walks_is_named(walks):
    with pytest.raises(ValueError, match="walks"):
        fingerprints(np.array([0, 0]), np.zeros(0, np.int32), None, walks=walks)


def test_other_bad_arguments():
    indptr, indices = np.array([0, 1, 1]), np.array([1], dtype=np.int32)
    with pytest.raises(ValueError, match="k must"):
        top_k(sp.csr_matrix((1, 2)), 0)
    with pytest.raises(ValueError, match="out of range"):
        monte_carlo_ppr(indptr, indices, None, [2])
    with pytest.raises(ValueError, match="estimator"):
        monte_carlo_ppr(indptr, indices, None, [0], estimator="ends")
    with pytest.raises(ValueError, match="seed"):
        monte_carlo_ppr(indptr, indices, None, [0], seed=-1)
    with pytest.raises(ValueError, match="steps"):
        decomposition_ppr(indptr, indices, None, fingerprints(indptr, indices, None, walks=10), [0], steps=-1)
    with pytest.raises(ValueError, match="epsilon"):
        fully_ppr_topk(indptr, indices, None, fingerprints(indptr, indices, None, walks=10), [0], 5, epsilon=2.0)
    with pytest.raises(EmptyGraphError):
        exact_ppr(np.array([0]), np.zeros(0, np.int32), None, [])


def test_graph_without_edges_is_all_restart():
    indptr, indices = np.zeros(4, dtype=np.int64), np.zeros(0, dtype=np.int32)
    est = monte_carlo_ppr(indptr, indices, None, [1], walks=50)
    assert est.row(0)[0].tolist() == [1] and est.row(0)[1][0] == pytest.approx(1.0)
    np.testing.assert_allclose(exact_ppr(indptr, indices, None, [2])[0], [0, 0, 1])
