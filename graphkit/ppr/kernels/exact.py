"""Exact personalized PageRank: the transition matrix and batched sparse power iteration
(the ground truth every estimate is measured against)."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from graphkit.base import check_number, check_positive_int
from graphkit.ppr.kernels.core import ALPHA_BOUNDS, DEFAULT_ALPHA, DEFAULT_TOL, _check_graph, check_sources


def transition_matrix(indptr, indices, weights) -> sp.csr_matrix:
    """Row-stochastic transition matrix ``P`` (n x n, float64): ``P[v, w] = w_vw / sum_w w_vw``.

    Rows of dangling vertices are empty (where their mass goes is the caller's rule). Build it
    once and pass it to :func:`exact_ppr`, :func:`decomposition_ppr` and :func:`fully_ppr_topk`
    when calling them repeatedly (it is O(m)).
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    n = indptr.shape[0] - 1
    deg = np.diff(indptr)
    if weights is None:
        inv = np.zeros(n)
        np.divide(1.0, deg, out=inv, where=deg > 0)
        data = np.repeat(inv, deg)
    else:
        w = np.asarray(weights, dtype=np.float64)
        seg = np.repeat(np.arange(n), deg)
        data = w / np.bincount(seg, weights=w, minlength=n)[seg]
    return sp.csr_matrix((data, np.asarray(indices), indptr), shape=(n, n))


def exact_iterations(alpha: float, tol: float) -> int:
    """Iterations after which the power series' remaining mass ``(1 - alpha)^T`` is <= ``tol``."""
    return max(1, math.ceil(math.log(tol) / math.log1p(-alpha)))


def exact_ppr(
    indptr,
    indices,
    weights,
    sources,
    *,
    alpha: float = DEFAULT_ALPHA,
    tol: float = DEFAULT_TOL,
    transition: sp.csr_matrix | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """Exact PPR of many sources by batched sparse power iteration (the ground truth).

    Iterates ``s += alpha * f; f <- (1 - alpha) * P^T f`` (plus the mass of dangling vertices back
    to each column's source) on an (n x batch) dense block. Each term of the series carries mass
    exactly ``alpha (1 - alpha)^t``, so stopping after :func:`exact_iterations` steps guarantees
    an L1 error of at most ``tol`` per source (142 iterations for alpha 0.15, tol 1e-10).

    Parameters
    ----------
    indptr, indices, weights : ndarray
        The CSR graph.
    sources : array of int
        Dense source indices.
    alpha : float, default 0.15
    tol : float, default 1e-10
        L1 error bound per source.
    transition : scipy.sparse.csr_matrix, optional
        Precomputed :func:`transition_matrix`.
    batch_size : int, default 32
        Sources iterated together. Larger blocks amortise less than they lose to cache misses:
        8-32 columns measured fastest on ca-AstroPh, soc-Slashdot0902 and com-DBLP.

    Returns
    -------
    ndarray of float64, shape (len(sources), n)

    Examples
    --------
    >>> import numpy as np
    >>> indptr, indices = np.array([0, 1, 2]), np.array([1, 0], dtype=np.int32)
    >>> exact_ppr(indptr, indices, None, [0]).round(6)
    array([[0.540541, 0.459459]])
    """
    n = _check_graph(indptr, indices, weights)
    sources = check_sources(sources, n)
    alpha = check_number("alpha", alpha, **ALPHA_BOUNDS)
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1), got {tol!r}")
    batch_size = check_positive_int("batch_size", batch_size)
    P = transition if transition is not None else transition_matrix(indptr, indices, weights)
    PT = P.T.tocsr()
    dangling = np.flatnonzero(np.diff(np.asarray(indptr)) == 0)
    iters = exact_iterations(alpha, tol)
    out = np.empty((sources.shape[0], n), dtype=np.float64)
    for lo in range(0, sources.shape[0], batch_size):
        src = sources[lo : lo + batch_size]
        cols = np.arange(src.shape[0])
        f = np.zeros((n, src.shape[0]))
        f[src, cols] = 1.0
        s = np.zeros_like(f)
        for _ in range(iters):
            s += alpha * f
            lost = f[dangling].sum(axis=0) if dangling.size else None
            f = PT @ f
            f *= 1.0 - alpha
            if lost is not None:
                np.add.at(f, (src, cols), (1.0 - alpha) * lost)
        out[lo : lo + src.shape[0]] = s.T
    return out
