"""Sampling kernels: alias tables, one vectorised step of many walkers, counter-based randomness.

Randomness is counter-based: the uniform used by walk ``r`` of source ``u`` at step ``t`` is a
SplitMix64 hash of ``(key(seed), u, r, t)``, where ``key(seed)`` comes from
:class:`numpy.random.SeedSequence`. Results therefore depend only on the seed and the source, not
on how sources are batched or partitioned (a Spark retry or a different partitioning gives
identical bytes), at about 6 ns per random number.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from graphkit.base import check_number, check_positive_int, check_seed
from graphkit.ppr.kernels.core import ALPHA_BOUNDS, DEFAULT_ALPHA, AliasTable

# SplitMix64 constants (Steele, Lea & Flood 2014; Stafford's "mix13" finaliser).
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_LENGTH_SALT = 0x5851F42D4C957F2D
_TWO53 = 2.0**-53
_U64 = 1 << 64

# Bound on live walkers per chunk: keeps the per-step arrays in cache-friendly sizes and memory
# bounded (~60 bytes per walker plus ~8 bytes per recorded visit).
_MAX_WALKERS = 1 << 17


# -- alias tables ----------------------------------------------------------------------------
def alias_table(indptr, indices, weights) -> AliasTable | None:
    """Alias tables of every vertex at once, for O(1) weighted neighbour sampling.

    A vectorised form of the *sweeping* alias construction (Vose's method with lights and heavies
    each taken in order; Hübschle-Schneider & Sanders, "Parallel weighted random sampling",
    2019). With scaled weights ``q`` (mean 1 within a vertex), light ``i`` (``q < 1``) is served
    by the first heavy whose cumulative excess reaches the lights' cumulative deficit before
    ``i``; heavy ``j`` closes (becomes a bucket of its own with probability
    ``1 + X_j - S_i`` and alias ``j + 1``) at the first light whose inclusive cumulative deficit
    ``S_i`` exceeds its cumulative excess ``X_j``. Both searches are merges of per-vertex sorted
    sequences, done for all vertices at once with two stable sorts each: O(m log m), no Python
    loop (about 1 s for 2 million weighted edges).
    The table is exact up to floating-point rounding of the per-vertex prefix sums.

    Parameters
    ----------
    indptr : ndarray of int64, shape (n + 1,)
    indices : ndarray of int, shape (m,)
    weights : ndarray of float64, shape (m,), or None

    Returns
    -------
    AliasTable or None
        ``None`` for an unweighted graph (sampling is then a uniform index). ``prob`` is float64
        and ``alias`` holds neighbour *vertices* (same dtype as ``indices``), so a step needs one
        gather fewer.
    """
    if weights is None:
        return None
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices)
    w = np.asarray(weights, dtype=np.float64)
    n, m = indptr.shape[0] - 1, w.shape[0]
    deg = np.diff(indptr)
    seg = np.repeat(np.arange(n, dtype=np.int32 if n < 2**31 else np.int64), deg)
    total = np.bincount(seg, weights=w, minlength=n)
    q = w * (deg[seg] / total[seg])
    light = q < 1.0
    L = np.flatnonzero(light)
    H = np.flatnonzero(~light)
    seg_L, seg_H = seg[L], seg[H]

    def local_cumsum(values, seg_of):
        # Inclusive prefix sums restarted at every vertex, as differences of one global cumsum:
        # the rounding accumulated before a vertex cancels, so each keeps ~deg * ulp accuracy.
        cs = np.cumsum(values)
        counts = np.bincount(seg_of, minlength=n)
        start = np.concatenate(([0], np.cumsum(counts)[:-1]))
        before = np.concatenate(([0.0], cs))[start]
        return cs - np.repeat(before, counts), start, counts

    S, l_start, l_count = local_cumsum(1.0 - q[L], seg_L)
    # Exclusive deficit before each light = inclusive value of the previous light of its vertex
    # (taken verbatim, so the sweep state is consistent to the last bit).
    C = np.concatenate(([0.0], S[:-1]))
    C[l_start[l_count > 0]] = 0.0
    X, h_start, h_count = local_cumsum(q[H] - 1.0, seg_H)

    prob = np.ones(m, dtype=np.float64)
    alias_edge = np.arange(m, dtype=np.int64)
    if L.size and H.size:
        # Lights: the first heavy of the same vertex with X >= C (heavies with X < C are closed).
        j = _merge_rank(seg_L, C, seg_H, X, b_wins_ties=False)
        first, count = h_start[seg_L], h_count[seg_L]
        has_heavy = count > 0
        j = np.clip(j, first, np.maximum(first + count - 1, first))
        j = np.minimum(j, H.size - 1)
        prob[L] = np.where(has_heavy, q[L], 1.0)
        alias_edge[L] = np.where(has_heavy, H[j], L)
        # Heavies: close at the first light of the same vertex with S > X (ties keep it open:
        # exactly 1 left is a full bucket), leaving 1 + X - S; the rest comes from the next heavy.
        i = _merge_rank(seg_H, X, seg_L, S, b_wins_ties=True)
        closes = i < l_start[seg_H] + l_count[seg_H]
        own = np.arange(H.size)
        closes &= own + 1 < h_start[seg_H] + h_count[seg_H]
        i = np.minimum(i, L.size - 1)
        prob[H] = np.where(closes, np.clip(1.0 + X - S[i], 0.0, 1.0), 1.0)
        alias_edge[H] = np.where(closes, H[np.minimum(own + 1, H.size - 1)], H)
    return AliasTable(prob, indices[alias_edge])


def _merge_rank(seg_a, val_a, seg_b, val_b, b_wins_ties):
    """For each ``a``: how many ``b`` precede it in (vertex, value) order over all vertices.

    Both inputs are grouped by vertex; on equal (vertex, value) ``b`` precedes ``a`` only when
    ``b_wins_ties``. Two stable sorts (value, then vertex) replace a per-vertex merge loop.
    """
    na, nb = seg_a.shape[0], seg_b.shape[0]
    if b_wins_ties:
        keys_seg, keys_val, b_first = np.concatenate([seg_b, seg_a]), np.concatenate([val_b, val_a]), True
    else:
        keys_seg, keys_val, b_first = np.concatenate([seg_a, seg_b]), np.concatenate([val_a, val_b]), False
    order = np.argsort(keys_val, kind="stable")
    order = order[np.argsort(keys_seg[order], kind="stable")]
    is_b = order < nb if b_first else order >= na
    b_before = np.cumsum(is_b) - is_b
    out = np.empty(na, dtype=np.int64)
    a_pos = order[~is_b] - nb if b_first else order[~is_b]
    out[a_pos] = b_before[~is_b]
    return out


class _Walkable(NamedTuple):
    """A CSR graph prepared once per call for stepping many walkers (not part of the API)."""

    indptr: np.ndarray  # int64, n + 2 (a trailing sink vertex n with no edges)
    indices: np.ndarray
    degree: np.ndarray  # float64, n + 1 (sink included, degree 0)
    alias: AliasTable | None
    num_vertices: int
    has_dangling: bool


def _prepare(indptr, indices, weights, alias=None) -> _Walkable:
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices)
    n = indptr.shape[0] - 1
    deg = np.diff(indptr)
    if alias is None and weights is not None:
        alias = alias_table(indptr, indices, weights)
    if indices.shape[0] == 0:
        # No edges at all: every vertex is dangling; a dummy slot keeps the gathers in range.
        indices = np.zeros(1, dtype=np.int32)
        alias = None
    degree = np.concatenate([deg.astype(np.float64), [0.0]])
    return _Walkable(
        np.concatenate([indptr, indptr[-1:]]), indices, degree, alias, n, bool((deg == 0).any())
    )


def _step(g: _Walkable, current: np.ndarray, uniforms: np.ndarray):
    """Next vertex of each walker (uniforms are consumed in place). Returns ``(next, dangling)``
    where ``dangling`` is a mask of walkers that had no out-edge (their ``next`` is garbage), or
    ``None`` when the graph has no dangling vertex."""
    d = g.degree[current]
    x = np.multiply(uniforms, d, out=uniforms)
    off = x.astype(np.int64)
    slot = g.indptr[current]
    slot += off
    dangling = None
    if g.has_dangling:
        dangling = d == 0
        # A dangling vertex's slot may equal m (one past the end): clamp, then discard.
        np.minimum(slot, g.indices.shape[0] - 1, out=slot)
    if g.alias is None:
        nxt = g.indices[slot]
    else:
        x -= off
        nxt = np.where(x < g.alias.prob[slot], g.indices[slot], g.alias.alias[slot])
    return nxt, dangling


def sample_neighbors(indptr, indices, current, uniforms, alias=None) -> np.ndarray:
    """Draw one out-neighbour for each walker, vectorised.

    Parameters
    ----------
    indptr, indices : ndarray
        The CSR graph.
    current : ndarray of int, shape (k,)
        Current vertex of each walker.
    uniforms : ndarray of float64, shape (k,)
        Uniforms in ``[0, 1)``. One uniform serves both alias draws: ``x = u * deg`` picks the
        slot ``floor(x)`` and its fractional part is the coin (it keeps ``53 - log2(deg)`` random
        bits, ample for any real degree).
    alias : AliasTable or None
        From :func:`alias_table`; ``None`` samples uniformly (unweighted graph).

    Returns
    -------
    ndarray of int64, shape (k,)
        The next vertex, or ``-1`` for walkers at a dangling vertex (the caller decides where
        they go: back to the source for PPR, absorbed for fingerprints).

    Examples
    --------
    >>> import numpy as np
    >>> indptr, indices = np.array([0, 2, 2]), np.array([0, 1], dtype=np.int32)
    >>> sample_neighbors(indptr, indices, np.array([0, 0, 1]), np.array([0.1, 0.9, 0.5]))
    array([ 0,  1, -1])
    """
    g = _prepare(indptr, indices, None, alias)
    current = np.asarray(current, dtype=np.int64)
    nxt, dangling = _step(g, current, np.array(uniforms, dtype=np.float64, copy=True))
    nxt = nxt.astype(np.int64)
    if dangling is not None:
        nxt[dangling] = -1
    return nxt


# -- counter-based randomness ----------------------------------------------------------------
def seed_key(seed) -> int:
    """The 64-bit key of all random streams for ``seed`` (via :class:`numpy.random.SeedSequence`,
    so small or similar seeds still give unrelated streams)."""
    return int(np.random.SeedSequence(check_seed(seed)).generate_state(1, np.uint64)[0])


def _mix64(x: np.ndarray, tmp: np.ndarray | None = None) -> np.ndarray:
    """SplitMix64 finaliser, in place on a uint64 array (wrap-around arithmetic is intended)."""
    if tmp is None:
        tmp = np.empty_like(x)
    np.right_shift(x, _S30, out=tmp)
    x ^= tmp
    x *= _M1
    np.right_shift(x, _S27, out=tmp)
    x ^= tmp
    x *= _M2
    np.right_shift(x, _S31, out=tmp)
    x ^= tmp
    return x


def _u64(value: int) -> np.uint64:
    return np.uint64(value % _U64)


def _walker_keys(key: int, sources: np.ndarray, walks: int) -> np.ndarray:
    """One 64-bit key per (source, walk); source-major order."""
    ks = sources.astype(np.uint64) + np.uint64(1)
    ks *= _u64(_GOLDEN)
    ks ^= _u64(key)
    _mix64(ks)
    kw = np.repeat(ks, walks)
    r = np.tile(np.arange(1, walks + 1, dtype=np.uint64), sources.shape[0])
    r *= _u64(_GOLDEN * 0x2545F4914F6CDD1D)
    kw += r
    return _mix64(kw)


def _uniforms(keys: np.ndarray, step: int, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """Uniforms in [0, 1) for ``step`` of every walker (53 random bits each)."""
    np.add(keys, _u64(step * _GOLDEN), out=tmp)
    _mix64(tmp, out.view(np.uint64))
    np.right_shift(tmp, _S11, out=tmp)
    return np.multiply(tmp, _TWO53, out=out)


def _walk_lengths(keys: np.ndarray, alpha: float) -> np.ndarray:
    """Number of moves of each walk, Geometric(alpha) on {0, 1, ...}: P(L >= l) = (1-alpha)^l."""
    x = keys ^ _u64(_LENGTH_SALT)
    _mix64(x)
    x >>= _S11
    u = (x.astype(np.float64) + 1.0) * _TWO53  # in (0, 1], so log(u) is finite
    return np.floor(np.log(u) / math.log1p(-alpha)).astype(np.int64)


def count_walk_steps(sources, walks: int, alpha: float = DEFAULT_ALPHA, seed: int = 0) -> int:
    """Total moves the walkers of :func:`monte_carlo_ppr` / :func:`fingerprints` will make.

    Walk lengths depend only on ``(seed, source, walk)``, so this is exact and costs no walking;
    a benchmark divides it by the walking time to report steps per second. (Visits are
    ``steps + walks * len(sources)``, counting the start.)

    Parameters
    ----------
    sources : array of int
        Dense source indices.
    walks : int
        Walks per source.
    alpha : float
    seed : int

    Returns
    -------
    int
    """
    sources = np.atleast_1d(np.asarray(sources, dtype=np.int64))
    walks, key = check_positive_int("walks", walks), seed_key(seed)
    alpha = check_number("alpha", alpha, **ALPHA_BOUNDS)
    total = 0
    per = max(1, _MAX_WALKERS // walks)
    for lo in range(0, sources.shape[0], per):
        total += int(_walk_lengths(_walker_keys(key, sources[lo : lo + per], walks), alpha).sum())
    return total
