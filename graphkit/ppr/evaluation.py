"""Accuracy of PPR estimates against exact PPR (power iteration to 1e-10).

Metrics follow the fully-PPR literature (Lin, WWW 2019; PowerWalk, CIKM 2016):

- precision@k: fraction of the returned top-k whose exact score is in the exact top-k. Ties at
  the k-th exact score are not penalised: a returned target is a hit when its exact score is at
  least the k-th largest exact score (minus the solver tolerance).
- RAG@k (relative aggregated goodness): sum of the exact scores of the returned top-k divided by
  the sum of the exact top-k scores; 1 means the returned set is as good as the true one, even if
  it swaps near-equal vertices.
- L1 error: sum over all vertices of |estimate - exact| (meaningful for full estimates, not for
  top-k lists).

Pure numpy; no Spark.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

import numpy as np

from graphkit.base import check_number, check_positive_int
from graphkit.ppr.kernels import ALPHA_BOUNDS, DEFAULT_ALPHA, DEFAULT_TOL, SparseRows, exact_ppr

__all__ = ["evaluate", "l1_error", "precision_at_k", "rag_at_k", "stratified_sources"]


def _kth_and_effective_k(exact: np.ndarray, k: int) -> tuple[float, int]:
    positive = int(np.count_nonzero(exact > 0))
    k_eff = max(1, min(k, positive))
    kth = np.partition(exact, exact.shape[0] - k_eff)[exact.shape[0] - k_eff]
    return float(kth), k_eff


def precision_at_k(exact: np.ndarray, targets, k: int, tol: float = DEFAULT_TOL) -> float:
    """Precision of a returned ranking at ``k``.

    Parameters
    ----------
    exact : ndarray of float, shape (n,)
        Exact PPR of the source.
    targets : array of int
        Returned targets, best first (only the first ``k`` are used).
    k : int
        When fewer than ``k`` vertices have positive exact PPR, ``k`` shrinks to their number.
    tol : float, default 1e-10
        Exact scores within ``tol`` of the k-th largest count as ties (hits).

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> precision_at_k(np.array([0.5, 0.3, 0.2, 0.0]), [0, 2], k=2)
    0.5
    """
    k = check_positive_int("k", k)
    exact = np.asarray(exact, dtype=np.float64)
    kth, k_eff = _kth_and_effective_k(exact, k)
    top = np.asarray(targets, dtype=np.int64)[:k_eff]
    return float(np.count_nonzero(exact[top] >= kth - tol)) / k_eff


def rag_at_k(exact: np.ndarray, targets, k: int) -> float:
    """Relative aggregated goodness at ``k``: ``sum(exact[returned top-k]) / sum(exact top-k)``.

    Parameters
    ----------
    exact : ndarray of float, shape (n,)
    targets : array of int
        Returned targets, best first.
    k : int

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> round(rag_at_k(np.array([0.5, 0.3, 0.2, 0.0]), [0, 2], k=2), 4)
    0.875
    """
    k = check_positive_int("k", k)
    exact = np.asarray(exact, dtype=np.float64)
    kk = min(k, exact.shape[0])
    best = np.partition(exact, exact.shape[0] - kk)[exact.shape[0] - kk :].sum()
    top = np.asarray(targets, dtype=np.int64)[:k]
    return float(exact[top].sum() / best) if best > 0 else 1.0


def l1_error(exact: np.ndarray, targets, scores) -> float:
    """``sum_v |estimate(v) - exact(v)|`` for a sparse estimate (absent targets score 0).

    Parameters
    ----------
    exact : ndarray of float, shape (n,)
    targets : array of int
        Distinct targets of the estimate.
    scores : array of float

    Returns
    -------
    float
    """
    exact = np.asarray(exact, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    covered = exact[targets]
    return float(np.abs(scores - covered).sum() + exact.sum() - covered.sum())


def stratified_sources(degrees, num_sources: int, *, strata: int = 5, seed: int = 0) -> np.ndarray:
    """Sample sources stratified by degree, reproducibly.

    Vertices are sorted by degree and cut into ``strata`` groups of (nearly) equal size; the
    same number of sources is drawn uniformly without replacement from each group, so low-,
    mid- and high-degree sources are all represented (uniform sampling would be dominated by the
    many low-degree vertices of a heavy-tailed graph).

    Parameters
    ----------
    degrees : array of int, or a CSRGraph
        Degree of every vertex (a :class:`~graphkit.csr.CSRGraph` uses its out-degree).
    num_sources : int
        Total sources (rounded down to a multiple of ``strata``, at least one per stratum).
    strata : int, default 5
    seed : int, default 0

    Returns
    -------
    ndarray of int64
        Dense vertex indices, sorted by stratum (lowest degree first).
    """
    if hasattr(degrees, "out_degree"):
        degrees = degrees.out_degree()
    degrees = np.asarray(degrees)
    num_sources = check_positive_int("num_sources", num_sources)
    strata = check_positive_int("strata", strata)
    n = degrees.shape[0]
    if n == 0:
        raise ValueError("cannot sample sources from an empty graph")
    strata = min(strata, n)
    per = max(1, num_sources // strata)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    order = np.argsort(degrees, kind="stable")
    picks = []
    for group in np.array_split(order, strata):
        picks.append(np.sort(rng.choice(group, size=min(per, group.shape[0]), replace=False)))
    return np.concatenate(picks).astype(np.int64)


def evaluate(
    estimate_fn: Callable[[np.ndarray], SparseRows],
    csr,
    sources,
    k_values: Iterable[int] = (10, 100),
    *,
    alpha: float = DEFAULT_ALPHA,
    exact: np.ndarray | None = None,
) -> dict:
    """Compare an estimator with exact PPR on ``sources``.

    Parameters
    ----------
    estimate_fn : callable
        ``estimate_fn(sources) -> SparseRows`` (dense source indices in, one row per source; a
        row may be a full sparse estimate or a best-first top-k list).
    csr : CSRGraph
        The graph.
    sources : array of int
        Dense source indices (e.g. from :func:`stratified_sources`).
    k_values : iterable of int, default (10, 100)
    alpha : float, default 0.15
    exact : ndarray, shape (len(sources), n), optional
        Precomputed exact PPR (computed with :func:`~graphkit.ppr.exact_ppr` otherwise).

    Returns
    -------
    dict
        ``precision@k``, ``rag@k`` (means; also ``min_precision@k``, ``min_rag@k``) for every k,
        ``l1`` (mean), ``estimate_seconds``, ``exact_seconds`` (0 when ``exact`` was given) and
        ``sources``.
    """
    alpha = check_number("alpha", alpha, **ALPHA_BOUNDS)
    sources = np.asarray(sources, dtype=np.int64)
    k_values = [check_positive_int("k", k) for k in k_values]
    t0 = time.perf_counter()
    if exact is None:
        exact = exact_ppr(csr.indptr, csr.indices, csr.weights, sources, alpha=alpha)
    t1 = time.perf_counter()
    est = estimate_fn(sources)
    t2 = time.perf_counter()
    if len(est.indptr) - 1 != sources.shape[0]:
        raise ValueError(f"estimate_fn returned {len(est.indptr) - 1} rows for {sources.shape[0]} sources")
    result: dict = {"sources": int(sources.shape[0])}
    l1 = []
    per_k = {k: ([], []) for k in k_values}
    for i in range(sources.shape[0]):
        lo, hi = est.indptr[i], est.indptr[i + 1]
        targets, scores = np.asarray(est.indices[lo:hi]), np.asarray(est.values[lo:hi], dtype=np.float64)
        ranked = targets[np.lexsort((targets, -scores))]
        for k in k_values:
            per_k[k][0].append(precision_at_k(exact[i], ranked, k))
            per_k[k][1].append(rag_at_k(exact[i], ranked, k))
        l1.append(l1_error(exact[i], targets, scores))
    for k, (prec, rag) in per_k.items():
        result[f"precision@{k}"] = float(np.mean(prec))
        result[f"rag@{k}"] = float(np.mean(rag))
        result[f"min_precision@{k}"] = float(np.min(prec))
        result[f"min_rag@{k}"] = float(np.min(rag))
    result["l1"] = float(np.mean(l1))
    result["estimate_seconds"] = t2 - t1
    result["exact_seconds"] = t1 - t0
    return result
