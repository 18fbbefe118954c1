"""PowerWalk's vertex-centric decomposition: a few exact propagation steps from each source, then
the fingerprints of the frontier; batched top-k of every source (what Spark tasks and
:class:`graphkit.ppr.PPRIndex` queries run)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from graphkit.base import check_number, check_positive_int
from graphkit.ppr.kernels.core import (
    ALPHA_BOUNDS,
    DEFAULT_ALPHA,
    DEFAULT_EPSILON,
    DEFAULT_STEPS,
    FRACTION_BOUNDS,
    Fingerprints,
    _check_graph,
    _fingerprint_matrix,
    check_sources,
    check_steps,
)
from graphkit.ppr.kernels.exact import transition_matrix
from graphkit.ppr.kernels.hubs import hub_mask
from graphkit.ppr.kernels.rows import SparseRows, _concat_sparse, top_k


def propagate(
    transition,
    sources,
    *,
    alpha: float = DEFAULT_ALPHA,
    steps: int = DEFAULT_STEPS,
    epsilon: float = DEFAULT_EPSILON,
    drop_weight: np.ndarray | None = None,
    hubs: np.ndarray | None = None,
):
    """The first ``steps`` terms of the PPR series for a batch of sources, sharing the products.

    ``s = sum_{t < T} alpha f_t``, ``f_{t+1} = (1 - alpha) f_t P`` with absorbing dangling
    vertices (their mass leaves ``f``), and after each step frontier entries below ``epsilon``
    are dropped. Mass that reaches a hub after the first step stays in the returned frontier
    instead of spreading (its fingerprint row holds the spread, see :mod:`.hubs`).

    Parameters
    ----------
    transition : scipy.sparse.csr_matrix
        :func:`transition_matrix`.
    sources : ndarray of int64
        Dense source indices (not validated here: callers check them at their boundary).
    alpha : float
    steps : int
    epsilon : float
    drop_weight : ndarray of float, shape (n,), optional
        Per-vertex weight of dropped mass (fingerprint masses), summed per source.
    hubs : ndarray of bool, shape (n,), optional
        Vertices not expanded after the first step (:func:`~graphkit.ppr.kernels.hub_mask`).

    Returns
    -------
    s, f : scipy.sparse.csr_matrix, shape (len(sources), n)
    dropped : ndarray of float64, shape (len(sources),)
        Sum over dropped entries of ``f_t(v) * drop_weight[v]`` (plain mass when None).
    """
    b, n = sources.shape[0], transition.shape[0]
    f = sp.csr_matrix((np.ones(b), sources, np.arange(b + 1)), shape=(b, n))
    s = sp.csr_matrix((b, n))
    dropped = np.zeros(b)
    held = None
    for step in range(steps):
        if hubs is not None and step > 0:
            at_hub = hubs[f.indices]
            if at_hub.any():
                part = f.copy()
                part.data = np.where(at_hub, part.data, 0.0)
                held = part if held is None else held + part
                f.data[at_hub] = 0.0
                f.eliminate_zeros()
        s = s + alpha * f
        f = f @ transition
        f.data *= 1.0 - alpha
        if epsilon > 0:
            small = f.data < epsilon
            if small.any():
                rows = np.repeat(np.arange(b), np.diff(f.indptr))[small]
                lost = f.data[small] if drop_weight is None else f.data[small] * drop_weight[f.indices[small]]
                dropped += np.bincount(rows, weights=lost, minlength=b)
                f.data[small] = 0.0
                f.eliminate_zeros()
    if held is not None:
        held.eliminate_zeros()
        f = f + held
    return s, f, dropped


def decomposition_ppr(
    indptr,
    indices,
    weights,
    fp: Fingerprints,
    sources,
    *,
    alpha: float = DEFAULT_ALPHA,
    steps: int = DEFAULT_STEPS,
    epsilon: float = DEFAULT_EPSILON,
    transition: sp.csr_matrix | None = None,
    hub_degree: int | None = None,
) -> SparseRows:
    """PPR of a batch of sources by PowerWalk's vertex-centric decomposition.

    ``y_u = s + sum_v f(v) y_v`` with ``s, f`` from :func:`propagate` and ``y_v`` the fingerprint
    of ``v``; then ``PPR_u = y_u / |y_u|_1`` applies the restart-at-source rule for dangling
    vertices exactly (see module docs). ``|y_u|_1`` is computed from the fingerprints'
    untruncated masses (dropped frontier entries included), so on a graph without dangling
    vertices it is exactly 1 and nothing is rescaled.

    Parameters
    ----------
    indptr, indices, weights : ndarray
        The CSR graph.
    fp : Fingerprints
        From :func:`fingerprints` (same graph, same alpha).
    sources : array of int
        Dense source indices; all share the propagation (sparse matrix products).
    alpha : float, default 0.15
    steps : int, default 2
        Propagation steps T (0: fingerprints only).
    epsilon : float, default 1e-5
        Frontier entries below this are dropped after each step (their mass is lost to the
        scores but counted in the normaliser, so it is not pushed onto the kept entries).
    transition : scipy.sparse.csr_matrix, optional
        Precomputed :func:`transition_matrix`.
    hub_degree : int, optional
        Propagation does not spread through vertices of more out-neighbours than this after the
        first step; pass it with fingerprints from :func:`~graphkit.ppr.kernels.refine_hubs`
        (same value). None: spread through every vertex.

    Returns
    -------
    SparseRows
        Row ``i``: targets and estimated PPR (float64) of ``sources[i]``.
    """
    n = _check_graph(indptr, indices, weights)
    sources = check_sources(sources, n)
    return _decompose(_prepare_query(indptr, indices, weights, fp, n, alpha, steps, epsilon, transition, hub_degree),
                      sources)


class _Query(NamedTuple):
    """What every batch of a call shares: checked parameters and the matrices built from them."""

    transition: sp.csr_matrix
    fingerprints: sp.csr_matrix
    mass: np.ndarray  # float64 fingerprint masses
    hubs: np.ndarray | None
    alpha: float
    steps: int
    epsilon: float


def _prepare_query(indptr, indices, weights, fp, n, alpha, steps, epsilon, transition, hub_degree) -> _Query:
    """Check the query parameters and build the matrices, the masses and the hub mask: once per
    call, not once per batch (each is O(n) or more)."""
    alpha = check_number("alpha", alpha, **ALPHA_BOUNDS)
    steps = check_steps(steps)
    epsilon = check_number("epsilon", epsilon, **FRACTION_BOUNDS)
    if fp.indptr.shape[0] != n + 1:
        raise ValueError(f"fingerprints cover {fp.indptr.shape[0] - 1} vertices, graph has {n}")
    P = transition if transition is not None else transition_matrix(indptr, indices, weights)
    return _Query(P, _fingerprint_matrix(fp, n), np.asarray(fp.mass, dtype=np.float64), hub_mask(P, hub_degree),
                  alpha, steps, epsilon)


def _decompose(q: _Query, sources) -> SparseRows:
    s, f, dropped = propagate(q.transition, sources, alpha=q.alpha, steps=q.steps, epsilon=q.epsilon,
                              drop_weight=q.mass, hubs=q.hubs)
    y = sp.csr_matrix(s + f.astype(np.float32) @ q.fingerprints)
    z = np.asarray(s.sum(axis=1)).ravel() + f @ q.mass + dropped
    return SparseRows(y.indptr.astype(np.int64), y.indices, y.data.astype(np.float64) / np.repeat(z, np.diff(y.indptr)))


def fully_ppr_topk(
    indptr,
    indices,
    weights,
    fp: Fingerprints,
    sources,
    k: int,
    *,
    alpha: float = DEFAULT_ALPHA,
    steps: int = DEFAULT_STEPS,
    epsilon: float = DEFAULT_EPSILON,
    transition: sp.csr_matrix | None = None,
    batch_size: int = 256,
    hub_degree: int | None = None,
) -> SparseRows:
    """Top-``k`` (target, score) of every source: fingerprints + decomposition, in batches.

    The kernel a Spark task runs on its share of sources, over a broadcast CSR and broadcast
    fingerprints; locally it serves :class:`graphkit.ppr.PPRIndex` queries.

    Parameters
    ----------
    indptr, indices, weights : ndarray
        The CSR graph.
    fp : Fingerprints
    sources : array of int
        Dense source indices.
    k : int
    alpha, steps, epsilon, hub_degree : see :func:`decomposition_ppr`
    transition : scipy.sparse.csr_matrix, optional
        Precomputed :func:`transition_matrix` (build it once per task).
    batch_size : int, default 256
        Sources propagated together.

    Returns
    -------
    SparseRows
        Row ``i``: up to ``k`` targets (int64) and scores (float64) of ``sources[i]``, best first.
    """
    n = _check_graph(indptr, indices, weights)
    sources = check_sources(sources, n)
    k = check_positive_int("k", k)
    batch_size = check_positive_int("batch_size", batch_size)
    query = _prepare_query(indptr, indices, weights, fp, n, alpha, steps, epsilon, transition, hub_degree)
    parts = [top_k(_decompose(query, sources[lo : lo + batch_size]), k)
             for lo in range(0, sources.shape[0], batch_size)]
    return _concat_sparse(parts)
