"""Whole-graph refinement of a fused partition embedding (one process; the Spark version is
:mod:`graphkit.embed.blockrows`)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphkit.embed.kernels.common import METHODS, SPECTRAL_MU, unit_rows
from graphkit.embed.kernels.eigen import orthonormal_basis
from graphkit.embed.kernels.embedders import prone_matrix, spectral_embed, spectral_propagation


def global_refinement(a: sp.csr_matrix, x: np.ndarray, *, iterations: int = 2, propagate: bool = True,
                      method: str = "spectral", seed: int = 0) -> np.ndarray:
    """Polish an embedding against the whole graph at a cost linear in its edges.

    ``method="spectral"`` (the default embedder's refinement): :func:`spectral_embed` of the
    whole graph with its eigensolver warm-started from ``x`` and ``iterations`` rounds instead of
    4, i.e. ``iterations`` Chebyshev-filtered subspace-iteration rounds on the whole graph's
    regularised operator, then the propagation. On BlogCatalog with 8 parts (Micro/Macro-F1 at
    50%, whole graph 0.435 / 0.297): 0 rounds (propagation only) 0.405 / 0.256, 1 round 0.424 /
    0.282, 2 rounds 0.432 / 0.292, 3 rounds 0.433 / 0.293 (2 rounds from a random start: 0.432
    / 0.292, 1 round: 0.416 / 0.268).

    ``method="prone"`` or ``"netmf"``: ``iterations`` steps of subspace iteration on ProNE's
    sparse proximity matrix ``F``
    (:func:`prone_matrix`) started from ``x``, a Rayleigh-Ritz step, then
    :func:`spectral_propagation`. This is a randomized SVD of ``F`` whose random start block is
    replaced by ``x``: a good start (the fused partition embedding) needs fewer passes over the
    edges than a random one for the same quality. Every step is a sparse-times-dense product
    (one round of neighbour aggregation when distributed) or a ``dim x dim`` problem.

    Parameters
    ----------
    a : scipy.sparse.csr_matrix
        Symmetric adjacency of the whole graph.
    x : ndarray, shape (n, dim)
        Starting embedding.
    iterations : int, default 2
        Subspace-iteration steps; 0 keeps ``x``'s span and only propagates.
    propagate : bool, default True
    method : {"spectral", "prone", "netmf"}, default "spectral"
        The embedder the parts were embedded with.
    seed : int, default 0
        Seeds the extra (oversampling) columns of the spectral eigensolver's start block.

    Returns
    -------
    ndarray of float32, shape (n, dim), rows L2-normalised (isolated vertices: zero rows).
    """
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = np.asarray(x, dtype=np.float64)
    if method == "spectral" and iterations > 0:
        return spectral_embed(a, x.shape[1], seed, rounds=iterations, propagate=propagate, start=x)
    if iterations > 0:
        f = prone_matrix(a)
        q = orthonormal_basis(x)
        for _ in range(iterations):
            q = orthonormal_basis(f @ (f.T @ q))
        # Rayleigh-Ritz: the left singular vectors of F within span(q).
        b = f.T @ q
        evals, evecs = np.linalg.eigh(b.T @ b)
        evals, evecs = evals[::-1], evecs[:, ::-1]
        s = np.sqrt(np.clip(evals, 0.0, None))
        x = unit_rows((q @ evecs) * np.sqrt(s))
    if not propagate:
        return unit_rows(x)
    return spectral_propagation(a, x, mu=SPECTRAL_MU if method == "spectral" else 0.2)
