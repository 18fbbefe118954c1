"""Numerical kernels of personalized PageRank: pure functions over CSR arrays.

Everything here takes numpy arrays (``indptr`` int64, ``indices`` int32/int64, ``weights``
float64 or ``None``) and returns numpy arrays, with no I/O and no pyspark, so the very same code
runs inside a Spark task (``mapPartitions`` over a broadcast CSR) and on a laptop.

Conventions
-----------
Restart probability ``alpha``: a walk from source ``u`` stops at each step with probability
``alpha``, otherwise moves to an out-neighbour chosen with probability proportional to the edge
weight. ``PPR(u, v)`` is the probability that the walk ends at ``v``.

Dangling vertices (out-degree 0) *restart at the source*: a walk that is at a dangling vertex and
does not stop jumps back to ``u``. Equivalently, ``PPR_u = y_u / |y_u|_1`` where ``y_u`` is the
PPR of the *absorbing* chain (a walk that would leave a dangling vertex is killed instead);
this renewal identity is what lets fingerprints (which cannot know the source of the query that
will use them) be combined under the restart-at-source rule, see :func:`fingerprints` and
:func:`decomposition_ppr`.

Randomness is counter-based: the uniform used by walk ``r`` of source ``u`` at step ``t`` is a
SplitMix64 hash of ``(key(seed), u, r, t)``, where ``key(seed)`` comes from
:class:`numpy.random.SeedSequence`. Results therefore depend only on the seed and the source, not
on how sources are batched or partitioned (a Spark retry or a different partitioning gives
identical bytes), at about 6 ns per random number.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from graphkit.errors import EmptyGraphError
from graphkit.base import check_positive_int  # noqa: F401 (re-exported)

__all__ = [
    "AliasTable",
    "Fingerprints",
    "SparseRows",
    "alias_table",
    "check_alpha",
    "check_positive_int",
    "check_sources",
    "count_walk_steps",
    "decomposition_ppr",
    "exact_iterations",
    "exact_ppr",
    "fingerprints",
    "fully_ppr_topk",
    "merge_fingerprints",
    "monte_carlo_ppr",
    "propagate",
    "sample_neighbors",
    "seed_key",
    "top_k",
    "transition_matrix",
]

DEFAULT_ALPHA = 0.15
# Defaults of the fingerprint index, chosen by measurement (tests/ppr/bench_ppr.py, samples of 100
# degree-stratified sources, exact PPR to 1e-10). precision@10 on soc-Slashdot0902 is the binding
# constraint (its top-10 boundaries are near-ties of ~1e-3 scores): at T=2 it is 0.907 / 0.950 /
# 0.962 with 1000 / 4000 / 10000 walks; over three source samples 5000 walks give 0.950 / 0.974 /
# 0.948 and 8000 give 0.959 / 0.972 / 0.955. On ca-AstroPh 1000 walks already give 0.967 and 4000
# give 0.990. Build cost is linear in walks (ca-AstroPh stays > 10x faster than exact at 8000).
# The threshold barely moves accuracy between 1e-4 and 3e-4 but halves the index and the query
# cost; 1e-3 costs 0.02-0.05 precision on Slashdot. T=3 adds ~0.01 precision for 3-5x the query
# cost; T=1 loses 0.03-0.06. Dropping more of the frontier costs up to 0.02 at T >= 3 (epsilon
# 1e-4 vs 1e-5 on AstroPh, 1e-5 vs 1e-6 on Slashdot) and nothing measurable at T = 2.
#: Walks per fingerprint (visit-counted).
DEFAULT_FINGERPRINT_WALKS = 8000
#: Fingerprint entries below this value are not stored (at most ``1 / threshold`` per vertex).
DEFAULT_FINGERPRINT_THRESHOLD = 3e-4
#: Propagation steps T of the decomposition query before fingerprints take over.
DEFAULT_STEPS = 2
#: Frontier entries below this mass are dropped after each propagation step.
DEFAULT_EPSILON = 1e-5
#: Exact solver L1 tolerance.
DEFAULT_TOL = 1e-10

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
# Largest dense (sources x vertices) count matrix used to aggregate visits; beyond it a sort is used.
_DENSE_CELLS = 1 << 24


class SparseRows(NamedTuple):
    """One sparse row per source, CSR-style: row ``i`` is ``indices[indptr[i]:indptr[i + 1]]``
    with ``values`` aligned (for top-k results, best first)."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[i], self.indptr[i + 1]
        return self.indices[lo:hi], self.values[lo:hi]

    def to_scipy(self, num_vertices: int) -> sp.csr_matrix:
        return sp.csr_matrix(
            (self.values, self.indices, self.indptr), shape=(len(self.indptr) - 1, num_vertices)
        )


class AliasTable(NamedTuple):
    """Per-edge alias table: slot ``e`` (an edge of vertex ``v``) keeps its own target
    ``indices[e]`` with probability ``prob[e]``, else moves to vertex ``alias[e]``."""

    prob: np.ndarray
    alias: np.ndarray


class Fingerprints(NamedTuple):
    """Fingerprint of every vertex: visit distribution of short absorbing walks.

    ``indptr`` (int64, n + 1), ``indices`` (int32), ``values`` (float32) are CSR rows of the
    truncated estimates of ``y_v``; ``mass`` (float32, n) is the untruncated estimate of
    ``|y_v|_1`` (1 for vertices whose walks never meet a dangling vertex).
    """

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    mass: np.ndarray


# -- validation (used at the public entry points, never inside loops) ----------------------
def check_alpha(alpha) -> float:
    """Return ``alpha`` as a float, or raise ``ValueError`` unless ``0 < alpha < 1``."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def check_nonnegative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_sources(sources, num_vertices: int) -> np.ndarray:
    """Dense source indices as int64, or ``ValueError`` naming the first out-of-range one."""
    if num_vertices <= 0:
        raise EmptyGraphError("graph has no vertices")
    arr = np.atleast_1d(np.asarray(sources))
    if arr.ndim != 1:
        raise ValueError(f"sources must be a 1-d array of vertex indices, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"sources must be integer vertex indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    bad = (arr < 0) | (arr >= num_vertices)
    if bad.any():
        raise ValueError(f"source index {int(arr[bad][0])} is out of range [0, {num_vertices})")
    return arr


def _check_graph(indptr, indices, weights):
    indptr = np.asarray(indptr)
    n = indptr.shape[0] - 1
    if n <= 0:
        raise EmptyGraphError("graph has no vertices")
    if weights is not None and np.shape(weights) != np.shape(indices):
        raise ValueError(f"weights has shape {np.shape(weights)}, indices has {np.shape(indices)}")
    return n


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
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(np.random.SeedSequence(int(seed)).generate_state(1, np.uint64)[0])


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
    walks, alpha, key = check_positive_int("walks", walks), check_alpha(alpha), seed_key(seed)
    total = 0
    per = max(1, _MAX_WALKERS // walks)
    for lo in range(0, sources.shape[0], per):
        total += int(_walk_lengths(_walker_keys(key, sources[lo : lo + per], walks), alpha).sum())
    return total


# -- Monte-Carlo walkers -------------------------------------------------------------------------
def _walk_chunk(g: _Walkable, sources, walks, alpha, key, restart, record_visits):
    """Advance ``walks`` walks from each source together, all live walkers in one array per step.

    Walk lengths are drawn up front and walkers sorted by length (longest first), so the live
    walkers at step ``t`` are always a prefix: no compaction, no masks.

    Returns ``(keys, row, lengths, final)`` where ``keys`` are the recorded ``row * (n + 1) + v``
    visit keys (steps >= 1) or ``None``, and the rest is per walker in the sorted order.
    """
    n1 = g.num_vertices + 1  # column n is the sink of absorbed walks
    num = sources.shape[0] * walks
    kw = _walker_keys(key, sources, walks)
    lengths = _walk_lengths(kw, alpha)
    order = np.argsort(-lengths, kind="stable")
    kw, lengths = kw[order], lengths[order]
    row = order // walks
    pos = sources[row].astype(g.indices.dtype)
    origin = pos.copy() if restart and g.has_dangling else None
    lmax = int(lengths[0]) if num else 0
    alive = np.cumsum(np.bincount(lengths, minlength=lmax + 1)[::-1])[::-1]
    key_dtype = np.int32 if sources.shape[0] * n1 < 2**31 else np.int64
    keys = None
    if record_visits:
        keys = np.empty(int(alive[1:].sum()), dtype=key_dtype)
        rowbase = (row * n1).astype(key_dtype)
    u = np.empty(num, dtype=np.float64)
    tmp = np.empty(num, dtype=np.uint64)
    sink = g.num_vertices
    off = 0
    for t in range(1, lmax + 1):
        k = int(alive[t])
        p = pos[:k]
        nxt, dangling = _step(g, p, _uniforms(kw[:k], t, u[:k], tmp[:k]))
        if dangling is not None:
            if restart:
                np.copyto(nxt, origin[:k], where=dangling)
            else:
                nxt[dangling] = sink  # absorbed (and the sink, degree 0, keeps them)
        p[...] = nxt
        if record_visits:
            np.add(rowbase[:k], nxt, out=keys[off : off + k], casting="unsafe")
            off += k
    return keys, row, lengths, pos


def _count_keys(keys, num_rows, n1, extra_keys=None, extra_count=0):
    """Distinct keys ``row * n1 + col`` and their counts, sorted; ``extra_keys`` (distinct) each
    get ``extra_count`` more. Dense bincount when the (rows x n1) table is small, else a sort."""
    cells = num_rows * n1
    if cells <= max(_DENSE_CELLS // 4, min(_DENSE_CELLS, 8 * keys.shape[0])):
        c = np.bincount(keys, minlength=cells)
        if extra_keys is not None:
            c[extra_keys] += extra_count
        nz = np.flatnonzero(c)
        return nz, c[nz]
    if extra_keys is not None:
        keys = np.concatenate([keys, extra_keys.astype(keys.dtype)])
    s = np.sort(keys)
    if s.size == 0:
        return s.astype(np.int64), np.zeros(0, dtype=np.int64)
    start = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    uniq = s[start].astype(np.int64)
    counts = np.diff(np.append(start, s.shape[0]))
    if extra_keys is not None:
        counts[np.searchsorted(uniq, extra_keys)] += extra_count - 1
    return uniq, counts


def _rows_from_keys(uniq, values, num_rows, n1, keep):
    rows = uniq[keep] // n1
    cols = (uniq[keep] - rows * n1).astype(np.int32 if n1 <= 2**31 else np.int64)
    indptr = np.zeros(num_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=num_rows), out=indptr[1:])
    return indptr, cols, values[keep]


def _walk_estimates(g, sources, walks, alpha, key, estimator, restart, threshold, progress=None):
    """Per-chunk driver: returns list of (indptr, cols, values, mass) blocks."""
    n1 = g.num_vertices + 1
    per = max(1, _MAX_WALKERS // walks)
    blocks = []
    for lo in range(0, sources.shape[0], per):
        src = sources[lo : lo + per]
        b = src.shape[0]
        visits = estimator == "visits"
        keys, row, lengths, final = _walk_chunk(g, src, walks, alpha, key, restart, visits)
        start_keys = np.arange(b, dtype=np.int64) * n1 + src
        if visits:
            # The start of every walk is a visit of the source: counted, not recorded.
            uniq, counts = _count_keys(keys, b, n1, start_keys, walks)
        else:
            uniq, counts = _count_keys(row * n1 + final, b, n1)
        rows = uniq // n1
        real = uniq - rows * n1 < g.num_vertices  # drop the sink column
        mass = np.ones(b, dtype=np.float64)
        if not visits:
            values = counts / walks
        elif restart:
            total = walks + np.bincount(row, weights=lengths, minlength=b)
            values = counts / total[rows]
        else:
            # Absorbing walks: shape from the visit ratio, mass = 1 - fraction absorbed, so that
            # values estimate y_v (see module docs) with the ratio estimator's lower variance.
            absorbed = np.bincount(row[final == g.num_vertices], minlength=b)
            mass = 1.0 - absorbed / walks
            real_total = np.bincount(rows[real], weights=counts[real], minlength=b)
            values = counts * (mass / real_total)[rows]
        keep = real & (values >= threshold) if threshold > 0 else real
        indptr, cols, vals = _rows_from_keys(uniq, values, b, n1, keep)
        blocks.append((indptr, cols, vals, mass))
        if progress is not None:
            progress(lo + b, sources.shape[0])
    return blocks


def _concat_rows(blocks, dtype):
    indptr = [np.zeros(1, dtype=np.int64)]
    offset = 0
    for ip, _, _, _ in blocks:
        indptr.append(ip[1:] + offset)
        offset += ip[-1]
    return (
        np.concatenate(indptr),
        np.concatenate([b[1] for b in blocks]) if blocks else np.zeros(0, np.int32),
        np.concatenate([b[2] for b in blocks]).astype(dtype) if blocks else np.zeros(0, dtype),
    )


def monte_carlo_ppr(
    indptr,
    indices,
    weights,
    sources,
    *,
    walks: int = 10_000,
    alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
    estimator: str = "visits",
    alias: AliasTable | None = None,
) -> SparseRows:
    """Monte-Carlo PPR of each source from ``walks`` random walks (dangling: restart at source).

    All live walkers of a chunk of sources advance together, one numpy pass per step.

    Parameters
    ----------
    indptr, indices, weights : ndarray
        The CSR graph (``weights=None``: unweighted).
    sources : array of int
        Dense source indices.
    walks : int, default 10000
        Walks per source (on ca-AstroPh, 10,000 walks reach precision@10 0.91 with visits and
        0.85 with end points: plain Monte Carlo is the baseline, fingerprints + decomposition the
        method).
    alpha : float, default 0.15
        Restart (stop) probability.
    seed : int, default 0
        Results depend only on ``(seed, source)``, not on batching.
    estimator : {"visits", "endpoint"}, default "visits"
        ``"visits"``: visits to ``v`` / total visits of the source's walks (PowerWalk's MCFP; its
        expectation ratio equals ``alpha * E[visits to v] / walks``, and it needs about
        ``1 / alpha`` fewer walks). ``"endpoint"``: fraction of walks ending at ``v``.
    alias : AliasTable, optional
        Precomputed :func:`alias_table` (built here when the graph is weighted and it is None).

    Returns
    -------
    SparseRows
        Row ``i``: targets (int32, sorted) and estimated PPR (float64) of ``sources[i]``.

    Examples
    --------
    >>> import numpy as np
    >>> indptr, indices = np.array([0, 1, 2]), np.array([1, 0], dtype=np.int32)
    >>> est = monte_carlo_ppr(indptr, indices, None, [0], walks=20000)
    >>> bool(abs(est.values[0] - 1 / 1.85) < 0.01)   # exact: 1 / (2 - alpha)
    True
    """
    n = _check_graph(indptr, indices, weights)
    sources = check_sources(sources, n)
    walks = check_positive_int("walks", walks)
    alpha = check_alpha(alpha)
    if estimator not in ("visits", "endpoint"):
        raise ValueError(f"estimator must be 'visits' or 'endpoint', got {estimator!r}")
    g = _prepare(indptr, indices, weights, alias)
    blocks = _walk_estimates(g, sources, walks, alpha, seed_key(seed), estimator, True, 0.0)
    return SparseRows(*_concat_rows(blocks, np.float64))


def fingerprints(
    indptr,
    indices,
    weights,
    vertices=None,
    *,
    walks: int = DEFAULT_FINGERPRINT_WALKS,
    alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
    threshold: float = DEFAULT_FINGERPRINT_THRESHOLD,
    alias: AliasTable | None = None,
    progress=None,
) -> Fingerprints:
    """Fingerprints: visit distributions of ``walks`` short walks from every vertex.

    The walks are *absorbing*: a walk that would leave a dangling vertex is killed. The row of
    ``v`` then estimates ``y_v`` (PPR of the absorbing chain, total mass ``|y_v|_1 <= 1``), which
    :func:`decomposition_ppr` can combine into PPR with restart *at the query source* (restarting
    at ``v`` would be wrong for any other source).

    Parameters
    ----------
    indptr, indices, weights : ndarray
        The CSR graph.
    vertices : array of int, optional
        Dense vertices to fingerprint (default all ``0..n-1``), e.g. one Spark partition's share;
        each row depends only on ``(seed, vertex)``, so partitions concatenate to the same bytes.
    walks : int, default 8000
        Walks per vertex.
    alpha : float, default 0.15
    seed : int, default 0
    threshold : float, default 3e-4
        Entries below it are not stored, so a row keeps at most ``1 / threshold`` entries (the
        index stays O(n / threshold); ~270 entries per vertex on ca-AstroPh and ~145 on Slashdot
        at the defaults, against ~2,000 untruncated at 1,000 walks). The dropped tail is *not*
        renormalised into the kept entries: a query loses the corresponding low scores (its
        far tail and some L1 accuracy), while its top-k, which is made of high entries that
        survive, barely moves (precision@10 within 0.01 between 1e-4 and 3e-4).

    progress : callable, optional
        ``progress(done, total)`` after each chunk of vertices (long builds report progress).

    Returns
    -------
    Fingerprints
        Rows in the order of ``vertices``; ``mass`` is the untruncated ``|y_v|_1`` estimate.
    """
    n = _check_graph(indptr, indices, weights)
    vertices = np.arange(n, dtype=np.int64) if vertices is None else check_sources(vertices, n)
    walks = check_positive_int("walks", walks)
    alpha = check_alpha(alpha)
    threshold = check_nonnegative("threshold", threshold)
    g = _prepare(indptr, indices, weights, alias)
    blocks = _walk_estimates(g, vertices, walks, alpha, seed_key(seed), "visits", False, threshold, progress)
    ip, cols, vals = _concat_rows(blocks, np.float32)
    mass = np.concatenate([b[3] for b in blocks]).astype(np.float32) if blocks else np.ones(0, np.float32)
    return Fingerprints(ip, cols.astype(np.int32), vals, mass)


def merge_fingerprints(parts, num_vertices: int) -> Fingerprints:
    """Assemble the fingerprints of all vertices from per-partition pieces.

    Parameters
    ----------
    parts : iterable of (vertices, Fingerprints)
        Each piece as returned by ``fingerprints(..., vertices=vertices)``; together the pieces
        must cover every vertex ``0..num_vertices-1`` exactly once, in any order.
    num_vertices : int

    Returns
    -------
    Fingerprints
        Rows in vertex order, byte-identical to a single ``fingerprints`` call with the same
        parameters (rows depend only on the seed and the vertex).
    """
    parts = [(np.asarray(v, dtype=np.int64), fp) for v, fp in parts]
    seen = np.zeros(num_vertices, dtype=np.int64)
    lengths = np.zeros(num_vertices, dtype=np.int64)
    for vertices, fp in parts:
        if vertices.shape[0] != fp.indptr.shape[0] - 1:
            raise ValueError(f"a piece lists {vertices.shape[0]} vertices but has {fp.indptr.shape[0] - 1} rows")
        np.add.at(seen, vertices, 1)
        lengths[vertices] = np.diff(fp.indptr)
    if not np.all(seen == 1):
        bad = int(np.flatnonzero(seen != 1)[0])
        raise ValueError(f"vertex {bad} appears {int(seen[bad])} times in the pieces (expected once)")
    indptr = np.zeros(num_vertices + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int32)
    values = np.empty(indptr[-1], dtype=np.float32)
    mass = np.empty(num_vertices, dtype=np.float32)
    for vertices, fp in parts:
        counts = np.diff(fp.indptr)
        dest = np.repeat(indptr[vertices] - fp.indptr[:-1], counts) + np.arange(fp.indptr[-1])
        indices[dest] = fp.indices
        values[dest] = fp.values
        mass[vertices] = fp.mass
    return Fingerprints(indptr, indices, values, mass)


# -- exact PPR and the decomposition query -----------------------------------------------------
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
    alpha = check_alpha(alpha)
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


def _fingerprint_matrix(fp: Fingerprints, n: int) -> sp.csr_matrix:
    # Shares fp's arrays (memory-mapped on load): int32 indices stay int32 and values float32,
    # so products below never copy the (large) fingerprint arrays.
    return sp.csr_matrix((fp.values, fp.indices, fp.indptr), shape=(n, n), copy=False)


def propagate(
    transition,
    sources,
    *,
    alpha: float = DEFAULT_ALPHA,
    steps: int = DEFAULT_STEPS,
    epsilon: float = DEFAULT_EPSILON,
    drop_weight: np.ndarray | None = None,
):
    """The first ``steps`` terms of the PPR series for a batch of sources, sharing the products.

    ``s = sum_{t < T} alpha f_t``, ``f_{t+1} = (1 - alpha) f_t P`` with absorbing dangling
    vertices (their mass leaves ``f``), and after each step frontier entries below ``epsilon``
    are dropped.

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
    for _ in range(steps):
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

    Returns
    -------
    SparseRows
        Row ``i``: targets and estimated PPR (float64) of ``sources[i]``.
    """
    n = _check_graph(indptr, indices, weights)
    sources = check_sources(sources, n)
    alpha = check_alpha(alpha)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    epsilon = check_nonnegative("epsilon", epsilon)
    if fp.indptr.shape[0] != n + 1:
        raise ValueError(f"fingerprints cover {fp.indptr.shape[0] - 1} vertices, graph has {n}")
    P = transition if transition is not None else transition_matrix(indptr, indices, weights)
    y = _decompose(P, fp, sources, alpha, int(steps), epsilon)
    return SparseRows(y.indptr.astype(np.int64), y.indices, y.data)


def _decompose(P, fp, sources, alpha, steps, epsilon) -> sp.csr_matrix:
    n = P.shape[0]
    mass = np.asarray(fp.mass, dtype=np.float64)
    s, f, dropped = propagate(P, sources, alpha=alpha, steps=steps, epsilon=epsilon, drop_weight=mass)
    y = s + f.astype(np.float32) @ _fingerprint_matrix(fp, n)
    z = np.asarray(s.sum(axis=1)).ravel() + f @ mass + dropped
    y = sp.csr_matrix(y)
    y.data = y.data.astype(np.float64) / np.repeat(z, np.diff(y.indptr))
    return y


def top_k(rows, k: int) -> SparseRows:
    """The ``k`` largest entries of every row, best first (ties: smaller index first).

    Parameters
    ----------
    rows : SparseRows or scipy.sparse.csr_matrix
    k : int

    Returns
    -------
    SparseRows
        At most ``k`` entries per row.
    """
    k = check_positive_int("k", k)
    indptr, cols, vals = (rows.indptr, rows.indices, rows.data) if sp.issparse(rows) else rows
    num = len(indptr) - 1
    out_ptr = np.zeros(num + 1, dtype=np.int64)
    out_cols, out_vals = [], []
    for i in range(num):
        c, v = cols[indptr[i] : indptr[i + 1]], vals[indptr[i] : indptr[i + 1]]
        if v.shape[0] > k:
            part = np.argpartition(-v, k - 1)[:k]
            c, v = c[part], v[part]
        order = np.lexsort((c, -v))
        out_cols.append(c[order])
        out_vals.append(v[order])
        out_ptr[i + 1] = out_ptr[i] + order.shape[0]
    if not out_cols:
        return SparseRows(out_ptr, np.zeros(0, np.int64), np.zeros(0))
    return SparseRows(out_ptr, np.concatenate(out_cols).astype(np.int64), np.concatenate(out_vals))


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
    alpha, steps, epsilon : see :func:`decomposition_ppr`
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
    if transition is None:
        transition = transition_matrix(indptr, indices, weights)
    parts = []
    for lo in range(0, sources.shape[0], batch_size):
        rows = decomposition_ppr(
            indptr, indices, weights, fp, sources[lo : lo + batch_size],
            alpha=alpha, steps=steps, epsilon=epsilon, transition=transition,
        )
        parts.append(top_k(rows, k))
    return _concat_sparse(parts)


def _concat_sparse(parts) -> SparseRows:
    if not parts:
        return SparseRows(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0))
    blocks = [(p.indptr, p.indices, p.values, None) for p in parts]
    ip, cols, vals = _concat_rows(blocks, np.float64)
    return SparseRows(ip, cols, vals)
