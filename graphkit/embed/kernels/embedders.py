"""Embedders of one (sub)graph: regularised spectral (the default), NetMF, ProNE, and ProNE's
spectral propagation. Measurements behind the default: ``docs/embed-kernels.md``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import iv

from graphkit.embed.kernels.common import (
    METHODS,
    SPECTRAL_MU,
    TAU,
    adjacency,
    check_embeddable,
    unit_rows,
)
from graphkit.embed.kernels.eigen import (
    eigen_embedding,
    normalized_top_eigenpairs,
    orthonormal_directions,
    spectral_operator,
    top_eigenpairs,
)


#: Rough size limit of the dense NetMF method: its matrix is materialised as ``n x n`` float32
#: (16384 vertices -> 1 GiB).
DENSE_LIMIT = 16384


def _randomized_svd(m, dim: int, seed: int, n_iter: int = 5):
    from sklearn.utils.extmath import randomized_svd

    return randomized_svd(m, dim, n_iter=n_iter, random_state=seed)


def spectral_embed(a: sp.csr_matrix, dim: int, seed: int = 0, *, tau: float = TAU, rounds: int = 4,
                   degree: int = 8, propagate: bool = True, mu: float = SPECTRAL_MU,
                   start: np.ndarray | None = None) -> np.ndarray:
    """Regularised spectral embedding + ProNE's spectral propagation (the default embedder).

    The top ``dim`` eigenvectors ``U`` of :func:`spectral_operator` (eigenvalues ``L``) by
    :func:`top_eigenpairs`, scaled ``U |L|^1/2``, rows L2-normalised, then
    :func:`spectral_propagation`. Cost is linear in the edges: ``rounds * (degree + 1) + 1``
    sparse products of width about ``1.25 * dim``, ten more for the propagation.

    Why this default (the table in the module docstring; dim 128, Micro/Macro-F1 at 50%
    training, 5 splits): BlogCatalog 0.435 / 0.297 against ProNE's 0.412 / 0.252 and dense
    NetMF's 0.432 / 0.290 (``n^2`` memory, 71 s there; this 3 s on one core); PPI Macro-F1 0.212
    against ProNE's 0.208. Without the propagation BlogCatalog scores the same but link
    prediction drops (email-Eu-core AUC 0.846 vs 0.943; ProNE 0.912) and PPI loses 0.4 points.
    ``mu = -0.2`` instead of ProNE's 0.2 for the propagation: +0.1-0.3 points on BlogCatalog
    and PPI (same on 5 embedding seeds), email-Eu-core AUC 0.943 vs 0.928. ``tau``: see
    :func:`spectral_operator`.

    Parameters
    ----------
    a : scipy.sparse.csr_matrix
        Symmetric adjacency (see :func:`adjacency`).
    dim : int
    seed : int, default 0
        Seeds the random start block.
    tau : float, default :data:`TAU`
        Degree regularisation (see :func:`spectral_operator`).
    rounds, degree : int, default 4, 8
        Subspace-iteration rounds and Chebyshev degree (see :func:`top_eigenpairs`).
    propagate : bool, default True
    mu : float, default :data:`SPECTRAL_MU`
        Centre of the propagation filter (see :func:`spectral_propagation`).
    start : ndarray, shape (n, <= dim), optional
        Warm start of the eigensolver (:func:`global_refinement` passes the fused embedding).

    Returns
    -------
    ndarray of float32, shape (n, dim), rows L2-normalised (isolated vertices: zero rows).
    """
    op = spectral_operator(a, tau)
    evals, evecs = top_eigenpairs(op, dim, seed, start=start, rounds=rounds, degree=degree)
    x = eigen_embedding(evecs, evals, np.diff(op.indptr) == 0)
    if not propagate:
        return x
    return spectral_propagation(a, x.astype(np.float64), mu=mu)


def netmf_embed(a: sp.csr_matrix, dim: int, seed: int = 0, *, window: int = 5, negative: float = 1.0,
                rank: int | None = None) -> np.ndarray:
    """NetMF (Qiu et al., WSDM 2018) with a small window, from a truncated eigendecomposition.

    Factorises ``log(max(vol(G)/(b T) * sum_{r=1..T} (D^-1 A)^r D^-1, 1))``, the matrix that
    DeepWalk with window ``T`` and ``b`` negative samples implicitly factorises; the sum is
    evaluated through the top ``rank`` eigenpairs of ``D^-1/2 A D^-1/2``. The element-wise log
    is what lifts it above the plain spectral embedding (BlogCatalog Micro/Macro-F1 at 50%,
    ``C = 1``: 0.433 / 0.278 vs 0.428 / 0.273 for the exact top eigenvectors and 0.413 / 0.246
    for ProNE), but regularising the degrees does better at linear cost (:func:`spectral_embed`,
    0.435 / 0.283, the default), and the log makes the matrix dense: memory is ``n^2`` float32,
    so use it for graphs / parts up to :data:`DENSE_LIMIT` vertices. It took 71 s on
    BlogCatalog on one core, most of it in ARPACK.

    Parameters
    ----------
    a : scipy.sparse.csr_matrix
        Symmetric adjacency (see :func:`adjacency`).
    dim : int
    seed : int, default 0
    window : int, default 5
        ``T``; 5 and 10 score alike on BlogCatalog and PPI, 5 is cheaper to approximate.
    negative : float, default 1.0
        ``b``.
    rank : int, optional
        Eigenpairs used; default ``2 * dim`` (more was not better on BlogCatalog or PPI).

    Returns
    -------
    ndarray of float32, shape (n, dim), rows L2-normalised (isolated vertices: zero rows).
    """
    n = a.shape[0]
    if n > DENSE_LIMIT:
        raise ValueError(
            f"method 'netmf' materialises an n x n matrix; {n} vertices exceed its limit of "
            f"{DENSE_LIMIT}: use method 'prone' or partition the graph (max_part_size)"
        )
    rank = min(rank or 2 * dim, n - 1)
    lam, u, dis = normalized_top_eigenpairs(a, rank, seed)
    power, filt = lam.copy(), lam.copy()
    for _ in range(2, window + 1):
        power *= lam
        filt += power
    filt /= window
    vol = float(a.sum())
    x = (dis[:, None] * u).astype(np.float32)
    xf = (x * filt.astype(np.float32)) * np.float32(vol / negative)
    m = np.empty((n, n), dtype=np.float32)
    block = max(1, (1 << 24) // max(n, 1))
    for start in range(0, n, block):
        stop = min(n, start + block)
        chunk = xf[start:stop] @ x.T
        np.maximum(chunk, 1.0, out=chunk)
        np.log(chunk, out=m[start:stop])
    u_m, s_m, _ = _randomized_svd(m, dim, seed)
    return unit_rows(u_m * np.sqrt(s_m))


def prone_embed(a: sp.csr_matrix, dim: int, seed: int = 0, *, order: int = 10, mu: float = 0.2,
                theta: float = 0.5) -> np.ndarray:
    """ProNE (Zhang et al., IJCAI 2019): sparse matrix factorisation + spectral propagation.

    Factorises the sparse matrix ``log(P_ij) - log(lambda_j)`` on the edges, where ``P = D^-1 A``
    and ``lambda_j ~ (sum_i P_ij)^0.75`` is the word2vec negative-sampling distribution, by
    randomized SVD; then applies :func:`spectral_propagation`. Time and memory are linear in the
    edges. It was the default before :func:`spectral_embed`, which scores 2-4 points higher on
    BlogCatalog classification; ProNE stays ahead on com-DBLP link prediction (AUC 0.978 vs
    0.969, one run each) and is faster there (whole graph on one core: ProNE 84 s, spectral
    101 s on a quiet machine and 140 s on a loaded one).

    Returns
    -------
    ndarray of float32, shape (n, dim), rows L2-normalised (isolated vertices: zero rows).
    """
    u, s, _ = _randomized_svd(prone_matrix(a), dim, seed)
    x = unit_rows(u * np.sqrt(s)).astype(np.float64)
    return spectral_propagation(a, x, order=order, mu=mu, theta=theta)


def prone_matrix(a: sp.csr_matrix) -> sp.csr_matrix:
    """ProNE's sparse proximity ``log(P_ij) - log(lambda_j)`` on the edges of ``a``.

    ``P = D^-1 A``; ``lambda_j`` is proportional to ``(sum_i P_ij)^0.75``. Same sparsity as ``a``.
    """
    row_sum = np.asarray(a.sum(axis=1)).ravel()
    inv = np.zeros_like(row_sum)
    np.divide(1.0, row_sum, out=inv, where=row_sum > 0)
    p = (sp.diags(inv) @ a).tocsr()
    neg = np.asarray(p.sum(axis=0)).ravel() ** 0.75
    neg /= neg.sum()
    f = p.copy()
    f.data = np.log(p.data) - np.log(neg[f.indices])
    return f


def spectral_propagation(a: sp.csr_matrix, x: np.ndarray, *, order: int = 10, mu: float = 0.2,
                         theta: float = 0.5) -> np.ndarray:
    """Band-pass spectral filter of an embedding over a graph, then re-orthogonalisation.

    ProNE's enhancement step: ``A~ (I - g(L~)) x`` where ``L~ = I - D~^-1 A~`` with
    ``A~ = A + I`` and ``g`` a Gaussian kernel centred at ``mu`` with width ``theta``, expanded in
    ``order`` Chebyshev terms (Bessel coefficients). Each term is one sparse-times-dense product,
    so the cost is ``O(order * edges * dim)`` - the distributed version is ``order`` rounds of
    neighbour aggregation. The result is re-orthogonalised through the ``dim x dim`` Gram matrix
    (``y = z V S^-1/2`` from ``z^T z = V S^2 V^T``), which is how the distributed version would do
    it too (one aggregate, one broadcast).

    Parameters
    ----------
    a : scipy.sparse.csr_matrix, shape (n, n)
        Symmetric adjacency.
    x : ndarray, shape (n, dim)
        Embedding to filter.
    order : int, default 10
    mu : float, default 0.2
    theta : float, default 0.5

    Returns
    -------
    ndarray of float32, shape (n, dim), rows L2-normalised (zero rows stay zero).
    """
    n = a.shape[0]
    x = np.asarray(x, dtype=np.float64)
    a_tilde = (a + sp.eye(n, format="csr")).tocsr()
    rw = sp.diags(1.0 / np.asarray(a_tilde.sum(axis=1)).ravel()) @ a_tilde
    # M = L~ - mu I = (1 - mu) I - D~^-1 A~
    m = ((1.0 - mu) * sp.eye(n, format="csr") - rw).tocsr()
    lx0 = x
    lx1 = 0.5 * (m @ (m @ x)) - x
    c = propagation_coefficients(order, theta)
    conv = c[0] * lx0 + c[1] * lx1
    for i in range(2, order):
        lx2 = (m @ (m @ lx1) - 2.0 * lx1) - lx0
        conv += c[i] * lx2
        lx0, lx1 = lx1, lx2
    z = a_tilde @ (x - conv)
    return orthonormal_directions(z)


def propagation_coefficients(order: int, theta: float) -> list[float]:
    """Chebyshev coefficients of :func:`spectral_propagation`'s Gaussian filter (modified Bessel
    functions): ``conv = sum_i c[i] T_i``; shared with the Spark version
    (:mod:`graphkit.embed.blockrows`)."""
    return [iv(0, theta), -2.0 * iv(1, theta)] + [
        (2.0 if i % 2 == 0 else -2.0) * iv(i, theta) for i in range(2, order)]


def embed_part(csr_part, dim: int, seed: int = 0, method: str = "spectral") -> np.ndarray:
    """Embed one (sub)graph.

    Parameters
    ----------
    csr_part : CSRGraph or scipy.sparse matrix
        The part's induced subgraph (directed graphs are symmetrised).
    dim : int
        Embedding dimension, ``0 < dim < number of vertices``.
    seed : int, default 0
    method : {"spectral", "prone", "netmf"}, default "spectral"
        ``"spectral"`` (:func:`spectral_embed`): regularised spectral embedding + propagation,
        linear time and memory; BlogCatalog Micro/Macro-F1 at 50% 0.435 / 0.297, PPI Macro-F1
        0.212, the best link prediction measured here except com-DBLP. ``"prone"``
        (:func:`prone_embed`): linear too, faster on big sparse graphs, BlogCatalog 0.412 /
        0.252, PPI 0.208, com-DBLP AUC 0.978 (spectral 0.969). ``"netmf"``
        (:func:`netmf_embed`): BlogCatalog 0.432 / 0.290, PPI 0.198, but ``n^2`` memory (only
        for graphs or parts up to about :data:`DENSE_LIMIT` vertices) and 20x slower.

    Returns
    -------
    ndarray of float32, shape (n, dim)
        L2-normalised rows; isolated vertices get the zero vector.

    Raises
    ------
    EmptyGraphError
        No vertices, or no edges at all.
    ValueError
        ``dim`` out of range or an unknown ``method``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> ring = sp.diags([1.0, 1.0], [1, -1], shape=(40, 40)).tocsr()
    >>> x = embed_part(ring, dim=4, seed=0)
    >>> x.shape, x.dtype.name
    ((40, 4), 'float32')
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    a = adjacency(csr_part)
    dim = check_embeddable(a, dim)
    if method == "netmf":
        return netmf_embed(a, dim, seed)
    if method == "prone":
        return prone_embed(a, dim, seed)
    return spectral_embed(a, dim, seed)


def embed_or_zeros(a: sp.csr_matrix, dim: int, seed: int, method: str) -> np.ndarray:
    """Embed a piece; a piece too small or with no edges gets zero rows (it has nothing to say,
    and the final propagation fills its vertices in from their neighbours)."""
    n = a.shape[0]
    if n <= dim or a.nnz - np.count_nonzero(a.diagonal()) == 0:
        return np.zeros((n, dim), dtype=np.float32)
    return embed_part(a, dim, seed, method)
