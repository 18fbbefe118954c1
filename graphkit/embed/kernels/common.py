"""Inputs, checks and row normalisation shared by every embedding kernel (no I/O, no pyspark)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphkit.errors import EmptyGraphError


#: Below this many vertices a dense eigendecomposition is faster and more exact than ARPACK.
DENSE_EIG_LIMIT = 2500
METHODS = ("spectral", "prone", "netmf")
#: Default regularisation of :func:`spectral_operator`: ``tau = TAU * mean degree``.
TAU = 0.2
#: Centre of :func:`spectral_propagation`'s filter after :func:`spectral_embed` (ProNE's own
#: default, 0.2, is kept for :func:`prone_embed`); measured in :func:`spectral_embed`.
SPECTRAL_MU = -0.2


# -- inputs and validation --------------------------------------------------------------------
def adjacency(graph) -> sp.csr_matrix:
    """Symmetric float64 CSR adjacency of a :class:`~graphkit.csr.CSRGraph` or a square sparse
    matrix (a directed graph is symmetrised as ``A + A.T``; sorted indices)."""
    if hasattr(graph, "to_scipy"):
        a = graph.to_scipy()
        directed = bool(getattr(graph, "directed", True))
    elif sp.issparse(graph):
        a = graph
        directed = True
    else:
        raise TypeError(f"expected a CSRGraph or a scipy sparse matrix, got {type(graph).__name__}")
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {a.shape}")
    a = sp.csr_matrix(a, dtype=np.float64)
    if directed and a.nnz and (a != a.T).nnz:
        a = (a + a.T).tocsr()
    a.sum_duplicates()
    a.sort_indices()
    return a


def check_dim(dim, num_vertices: int | None = None) -> int:
    """Validate an embedding dimension: an integer with ``0 < dim < num_vertices`` (only
    ``0 < dim`` when ``num_vertices`` is None, as an estimator checks it before seeing the graph)."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an integer, got {dim!r}")
    if dim <= 0:
        raise ValueError(f"dim must be positive, got dim={dim}")
    if num_vertices is not None and dim >= num_vertices:
        raise ValueError(
            f"dim={dim} must be smaller than the number of vertices ({num_vertices})"
        )
    return int(dim)


def check_max_part_size(max_part_size, dim: int) -> int:
    """Validate ``max_part_size`` for embedding: an integer ``> 2 * dim``.

    Median bisection makes every part at least about half the bound, so the rule guarantees
    each part has more than ``dim`` vertices: a part's spectral embedding then has ``dim``
    meaningful directions, and :func:`align` has at least ``dim`` shared vertices per part.
    """
    if isinstance(max_part_size, bool) or not isinstance(max_part_size, (int, np.integer)):
        raise TypeError(f"max_part_size must be an integer, got {max_part_size!r}")
    if max_part_size <= 2 * dim:
        raise ValueError(
            f"max_part_size={max_part_size} is too small for dim={dim}: it must be > 2 * dim "
            f"= {2 * dim} so every part has more vertices than dimensions"
        )
    return int(max_part_size)


def check_has_edges(num_vertices: int, num_edges: int) -> None:
    """Raise :class:`~graphkit.errors.EmptyGraphError` unless the graph has a vertex and an edge
    between two different vertices (``num_edges`` counts those; self-loops carry no structure).
    The one empty-graph check of every engine (:func:`check_embeddable` on a matrix; the
    distributed engine counts its edges in Spark)."""
    if num_vertices == 0:
        raise EmptyGraphError("graph has no vertices")
    if num_edges == 0:
        raise EmptyGraphError(f"graph has only isolated vertices ({num_vertices} vertices, no edges)")


def check_embeddable(a: sp.csr_matrix, dim) -> int:
    """Check that adjacency ``a`` can be embedded in ``dim`` dimensions (:func:`check_has_edges`,
    then :func:`check_dim`); returns ``dim`` as an int."""
    n = a.shape[0]
    check_has_edges(n, a.nnz - np.count_nonzero(a.diagonal()) if n else 0)
    return check_dim(dim, n)


def inv_sqrt_degree(a: sp.csr_matrix, tau: float = 0.0) -> np.ndarray:
    """``(d + tau * mean(d))^-1/2`` per vertex (0 where that is 0), ``d`` the weighted degrees."""
    d = np.asarray(a.sum(axis=1)).ravel()
    if tau:
        d = d + tau * (float(d.sum()) / max(d.size, 1))
    out = np.zeros_like(d)
    np.divide(1.0, np.sqrt(d), out=out, where=d > 0)
    return out


def unit_rows(x: np.ndarray) -> np.ndarray:
    """L2-normalise rows (zero rows stay zero) and return float32."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 1e-12)
    x[(norms <= 1e-12).ravel()] = 0.0
    return x.astype(np.float32)
