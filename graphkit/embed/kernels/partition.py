"""Recursive spectral bisection into balanced low-cut parts, and partition quality."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from scipy.sparse.csgraph import connected_components

from graphkit.embed.kernels.common import DENSE_EIG_LIMIT, adjacency
from graphkit.errors import EmptyGraphError


def _fiedler_order(a: sp.csr_matrix, seed: int) -> np.ndarray:
    """Vertices of a connected graph sorted by an (approximate) Fiedler vector."""
    n = a.shape[0]
    if n <= 2:
        return np.arange(n)
    d = np.asarray(a.sum(axis=1)).ravel()
    dis = 1.0 / np.sqrt(d)
    norm = sp.diags(dis) @ a @ sp.diags(dis)
    trivial = np.sqrt(d / d.sum())
    if n <= DENSE_EIG_LIMIT:
        _, u = scipy.linalg.eigh(norm.toarray(), subset_by_index=[n - 2, n - 2])
        vec = u[:, 0]
    else:
        # The second-largest eigenvector of D^-1/2 A D^-1/2; deflating the known top one
        # (sqrt(d)) lets ARPACK look for a single vector. A loose tolerance suffices because
        # only the order matters, and refinement fixes the boundary afterwards.
        op = sla.LinearOperator(
            (n, n),
            matvec=lambda v: norm @ v - trivial * (trivial @ (norm @ v)),
            dtype=np.float64,
        )
        rng = np.random.default_rng(seed)
        v0 = rng.standard_normal(n)
        v0 -= trivial * (trivial @ v0)
        try:
            _, u = sla.eigsh(op, k=1, which="LA", tol=1e-3, v0=v0, maxiter=max(300, n // 10))
            vec = u[:, 0]
        except sla.ArpackNoConvergence as exc:
            vec = exc.eigenvectors[:, 0] if exc.eigenvectors.shape[1] else v0
    # Eigenvectors have no sign; fixing it (first vertex on the low side) makes part numbering
    # independent of the solver's whims.
    if vec[0] > 0:
        vec = -vec
    return np.argsort(dis * vec, kind="stable")


def _cut_weight(a: sp.csr_matrix, side: np.ndarray) -> float:
    coo_rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
    cross = side[coo_rows] != side[a.indices]
    return float(a.data[cross].sum()) / 2.0


def _refine(a: sp.csr_matrix, side: np.ndarray, passes: int = 8, vertex_weights: np.ndarray | None = None,
            target: float = 0.0) -> np.ndarray:
    """Balanced boundary refinement: swap equal numbers of best-gain vertices between sides.

    A vectorised Kernighan-Lin flavour: the gain of moving ``v`` is (weight to the other side) -
    (weight to its own side); the top candidates of each side are swapped in pairs, and a batch
    is kept only if the cut really drops (simultaneous moves can interact), else halved. With
    ``vertex_weights`` a swap also moves weight, so a batch is kept only if the second side's
    weight stays within the largest vertex weight of ``target`` (or does not get further from it).
    """
    side = side.copy()
    cut = _cut_weight(a, side)
    slack = 0.0 if vertex_weights is None else float(vertex_weights.max())

    def balance(trial: np.ndarray) -> float:
        return abs(float(vertex_weights[trial].sum()) - target)

    for _ in range(passes):
        other = a @ side.astype(np.float64)
        total = np.asarray(a.sum(axis=1)).ravel() - a.diagonal()
        to_one = other - side * a.diagonal()
        gain = np.where(side, (total - to_one) - to_one, to_one - (total - to_one))
        zeros, ones = np.flatnonzero(~side), np.flatnonzero(side)
        gz = zeros[np.argsort(-gain[zeros], kind="stable")]
        go = ones[np.argsort(-gain[ones], kind="stable")]
        k = min(gz.size, go.size)
        pair_gain = gain[gz[:k]] + gain[go[:k]]
        batch = int(np.count_nonzero(pair_gain > 0))
        improved = False
        while batch > 0:
            trial = side.copy()
            trial[gz[:batch]] = True
            trial[go[:batch]] = False
            trial_cut = _cut_weight(a, trial)
            balanced = vertex_weights is None or balance(trial) <= max(slack, balance(side))
            if trial_cut < cut and balanced:
                side, cut, improved = trial, trial_cut, True
                break
            batch //= 2
        if not improved:
            break
    return side


def bisect(csr_sub, seed: int = 0, refine: bool = True, vertex_weights=None) -> np.ndarray:
    """Split a graph into two halves of sizes ``floor(n/2)`` and ``ceil(n/2)`` with a low cut.

    Whole connected components are packed into the first half (largest first) as long as they
    fit, so no edge is cut there; the remaining gap is filled by splitting one component along
    its Fiedler vector (spectral bisection, balanced by cutting the sorted order at the needed
    rank, taking whichever end cuts less), and the boundary is then improved by balanced swaps.
    Isolated vertices are components of size one and simply fill gaps.

    Parameters
    ----------
    csr_sub : CSRGraph or scipy.sparse matrix
        The (sub)graph; directed graphs are symmetrised.
    seed : int, default 0
        Seeds the eigensolver's start vector.
    refine : bool, default True
        Run the boundary refinement.
    vertex_weights : ndarray of positive int, optional
        Sizes of the vertices (e.g. of clusters contracted into them): the halves then balance
        total weight, ``floor(W/2)`` in the first, to within the largest vertex weight.

    Returns
    -------
    ndarray of bool, shape (n,)
        ``True`` for vertices of the second half (exactly ``ceil(n/2)`` of them when unweighted).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> two_triangles = sp.csr_matrix(sp.block_diag([1 - sp.eye(3).toarray()] * 2))
    >>> bisect(two_triangles).astype(int).tolist()
    [0, 0, 0, 1, 1, 1]
    """
    a = adjacency(csr_sub)
    n = a.shape[0]
    if n == 0:
        raise EmptyGraphError("cannot bisect a graph with no vertices")
    weights = np.ones(n, dtype=np.int64) if vertex_weights is None else _check_vertex_weights(vertex_weights, n)
    first_size = int(weights.sum()) // 2
    side = np.ones(n, dtype=bool)
    if first_size == 0 or n == 1:
        return side
    ncomp, comp = connected_components(a, directed=False)
    sizes = np.bincount(comp, weights=weights, minlength=ncomp).astype(np.int64)
    # Largest first, ties by component number, so the packing is deterministic.
    order = np.lexsort((np.arange(ncomp), -sizes))
    in_first = np.zeros(ncomp, dtype=bool)
    room = first_size
    for c in order:
        if sizes[c] <= room:
            in_first[c] = True
            room -= sizes[c]
            if room == 0:
                break
    side[in_first[comp]] = False
    if room > 0:
        # Every component left out was larger than the room at its turn, hence than `room`
        # now; split the smallest such one (least work, and it has the most slack).
        rest = np.flatnonzero(~in_first)
        c = rest[np.argmin(sizes[rest])]
        members = np.flatnonzero(comp == c)
        sub = a[members][:, members].tocsr()
        ranked = members[_fiedler_order(sub, seed)]
        trials = []
        for end in (ranked, ranked[::-1]):
            # the prefix whose weight is nearest to the room (exactly `room` vertices unweighted)
            cum = np.cumsum(weights[end])
            take = int(np.searchsorted(cum, room, side="right"))
            if take < end.size and take > 0 and room - cum[take - 1] > cum[take] - room:
                take += 1
            trial = side.copy()
            trial[end[:max(take, 1)]] = False
            trials.append(trial)
        side = min(trials, key=lambda t: _cut_weight(a, t))
    if refine:
        side = _refine(a, side, vertex_weights=None if vertex_weights is None else weights,
                       target=float(weights.sum() - first_size))
    return side


def _check_vertex_weights(vertex_weights, n: int) -> np.ndarray:
    weights = np.asarray(vertex_weights)
    if weights.shape != (n,) or weights.dtype.kind not in "iu" or (n and weights.min() < 1):
        raise ValueError(f"vertex_weights must be {n} positive integers, got shape {weights.shape} "
                         f"of {weights.dtype}")
    return weights.astype(np.int64)


def recursive_partition(csr, max_part_size: int | None, seed: int = 0, refine: bool = True,
                        vertex_weights=None, depth: int | None = None) -> np.ndarray:
    """Recursively bisect a graph until every part has at most ``max_part_size`` vertices.

    Median splits make sibling parts differ by at most one vertex, so with ``n`` vertices all
    parts have ``n / 2^L`` vertices (rounded) where ``L = ceil(log2(n / max_part_size))``.

    Parameters
    ----------
    csr : CSRGraph or scipy.sparse matrix
    max_part_size : int
        Upper bound on part sizes, ``>= 1``.
    seed : int, default 0
        Base seed; each bisection derives its own from the part's position in the tree.
    refine : bool, default True
        Boundary refinement after every bisection.
    vertex_weights : ndarray of positive int, optional
        Vertex sizes (a contracted graph's cluster sizes): parts are then bounded and balanced
        by total weight (a single vertex heavier than the bound stays a part of its own).
    depth : int, optional
        Instead of the bound (pass ``max_part_size=None``): bisect every part exactly ``depth``
        times, giving ``2^depth`` parts (fewer only where a part is down to one vertex).

    Returns
    -------
    ndarray of int64, shape (n,)
        Part id of every vertex, ``0..num_parts-1`` in depth-first (left to right) order.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> path = sp.diags([1.0, 1.0], [1, -1], shape=(10, 10)).tocsr()
    >>> recursive_partition(path, max_part_size=3).tolist()
    [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]
    """
    if depth is not None:
        if max_part_size is not None or isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
            raise ValueError(f"depth must be a non-negative integer given with max_part_size=None, got {depth!r}")
    elif isinstance(max_part_size, bool) or not isinstance(max_part_size, (int, np.integer)):
        raise TypeError(f"max_part_size must be an integer, got {max_part_size!r}")
    elif max_part_size < 1:
        raise ValueError(f"max_part_size must be >= 1, got {max_part_size}")
    a = adjacency(csr)
    n = a.shape[0]
    if n == 0:
        raise EmptyGraphError("cannot partition a graph with no vertices")
    weights = None if vertex_weights is None else _check_vertex_weights(vertex_weights, n)
    parts = np.empty(n, dtype=np.int64)
    next_id = 0
    # Explicit stack instead of recursion: depth is only log2(n / max_part_size), but a stack
    # keeps left-to-right numbering simple.
    stack = [(np.arange(n), 1)]
    while stack:
        members, node = stack.pop()
        if depth is not None:
            done = node >= 1 << depth  # the tree node number encodes the depth
        else:
            done = (members.size if weights is None else int(weights[members].sum())) <= max_part_size
        if done or members.size == 1:
            parts[members] = next_id
            next_id += 1
            continue
        sub = a[members][:, members].tocsr()
        side = bisect(sub, seed=seed * 1_000_003 + node, refine=refine,
                      vertex_weights=None if weights is None else weights[members])
        stack.append((members[side], 2 * node + 1))
        stack.append((members[~side], 2 * node))
    return parts


def partition_quality(csr, parts: np.ndarray) -> dict:
    """Cut fraction (share of edge weight crossing parts) and balance of a partition.

    Returns
    -------
    dict
        ``num_parts``, ``cut_fraction``, ``max_part``, ``min_part``, ``imbalance``
        (largest part / mean part size), ``border_fraction`` (share of vertices with a cut edge).
    """
    a = adjacency(csr)
    parts = np.asarray(parts)
    rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
    cross = parts[rows] != parts[a.indices]
    sizes = np.bincount(parts)
    sizes = sizes[sizes > 0]
    border = np.zeros(a.shape[0], dtype=bool)
    border[rows[cross]] = True
    total = float(a.data.sum())
    return {
        "num_parts": int(sizes.size),
        "cut_fraction": float(a.data[cross].sum() / total) if total else 0.0,
        "max_part": int(sizes.max()),
        "min_part": int(sizes.min()),
        "imbalance": float(sizes.max() / sizes.mean()),
        "border_fraction": float(border.mean()),
    }
