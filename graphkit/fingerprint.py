"""Graph fingerprints: a cheap, order-independent identity of a graph, for tying artifacts to it.

Every artifact records the fingerprint of the graph it was built from, so the query side can
refuse to serve, side by side, a PPR index and an LSH index of two different graphs. The
fingerprint must come out the same whether the graph lives in Spark (:meth:`graphkit.Graph.
fingerprint`, one aggregation over the edge and vertex DataFrames) or on one machine
(:func:`csr_fingerprint`, vectorised numpy), so it is defined on what both hold:

* the *dense edge list* as :class:`graphkit.Graph` stores it: ``(src, dst, weight)`` with dense
  long ids, an undirected edge once with ``src <= dst``, weight 1.0 when unweighted;
* the *vertex names*: ``(id, name)`` with the user's id (long or string);
* the counts and the ``directed`` / ``weighted`` flags.

Each edge and each vertex is hashed with Spark's ``xxhash64`` (seed 42, columns chained: the hash
of one column seeds the next), reimplemented here for longs, doubles and UTF-8 strings. The
per-row hashes are combined by sum (mod 2**64, as two 32-bit halves so Spark's ANSI mode cannot
overflow) and by xor, which makes the result independent of row order and partitioning; the
aggregates and counts are then hashed once with SHA-256. Merged-duplicate weights are summed in
an unspecified order, so a weighted input whose duplicate edges' weights do not add exactly in
floating point can fingerprint differently on the two sides (never for unweighted graphs).

This module never imports pyspark except inside :func:`spark_fingerprint`.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np

#: Version tag hashed into every fingerprint (bump if the definition ever changes).
SCHEME = "graphkit-graph-1"
SPARK_SEED = 42  # Spark's xxhash64 seed

_P1 = np.uint64(0x9E3779B185EBCA87)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)
_P4 = np.uint64(0x85EBCA77C2B2AE63)
_P5 = np.uint64(0x27D4EB2F165667C5)
_M64 = (1 << 64) - 1


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _fmix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * _P2
    h = h ^ (h >> np.uint64(29))
    h = h * _P3
    return h ^ (h >> np.uint64(32))


def xxhash64_long(values: np.ndarray, seed) -> np.ndarray:
    """Spark's ``xxhash64`` of 64-bit values (longs, or doubles as their IEEE bits).

    Parameters
    ----------
    values : ndarray of int64, uint64 or float64
    seed : int or ndarray of uint64
        Per-row seeds (the previous column's hash when chaining).

    Returns
    -------
    ndarray of uint64
    """
    values = np.asarray(values)
    if values.dtype == np.float64:
        # Spark normalises -0.0 to 0.0 before hashing a double.
        values = np.where(values == 0.0, 0.0, values).view(np.uint64)
    else:
        values = values.astype(np.int64, copy=False).view(np.uint64)
    with np.errstate(over="ignore"):
        h = np.asarray(seed, dtype=np.uint64) + _P5 + np.uint64(8)
        h = h ^ (_rotl(values * _P2, 31) * _P1)
        h = _rotl(h, 27) * _P1 + _P4
        return _fmix(h)


def _xxh64_bytes(data: bytes, seed: int) -> int:
    """Standard XXH64 of a byte string (what Spark's ``xxhash64`` computes for a string)."""
    p1, p2, p3, p4, p5 = (int(p) for p in (_P1, _P2, _P3, _P4, _P5))

    def rotl(x, r):
        return ((x << r) | (x >> (64 - r))) & _M64

    def round_(acc, lane):
        acc = (acc + lane * p2) & _M64
        return (rotl(acc, 31) * p1) & _M64

    n = len(data)
    i = 0
    if n >= 32:
        v1, v2, v3, v4 = (seed + p1 + p2) & _M64, (seed + p2) & _M64, seed & _M64, (seed - p1) & _M64
        while i + 32 <= n:
            v1 = round_(v1, int.from_bytes(data[i : i + 8], "little"))
            v2 = round_(v2, int.from_bytes(data[i + 8 : i + 16], "little"))
            v3 = round_(v3, int.from_bytes(data[i + 16 : i + 24], "little"))
            v4 = round_(v4, int.from_bytes(data[i + 24 : i + 32], "little"))
            i += 32
        h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) & _M64
        for v in (v1, v2, v3, v4):
            h = ((h ^ round_(0, v)) * p1 + p4) & _M64
    else:
        h = (seed + p5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        h ^= round_(0, int.from_bytes(data[i : i + 8], "little"))
        h = (rotl(h, 27) * p1 + p4) & _M64
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i : i + 4], "little") * p1) & _M64
        h = (rotl(h, 23) * p2 + p3) & _M64
        i += 4
    while i < n:
        h ^= (data[i] * p5) & _M64
        h = (rotl(h, 11) * p1) & _M64
        i += 1
    h ^= h >> 33
    h = (h * p2) & _M64
    h ^= h >> 29
    h = (h * p3) & _M64
    return h ^ (h >> 32)


def xxhash64_strings(values, seed: np.ndarray) -> np.ndarray:
    """Spark's ``xxhash64`` of strings (UTF-8 bytes), one per-row seed each (a Python loop:
    about 2 s per million ids, paid only when building from a string-id graph)."""
    seeds = np.asarray(seed, dtype=np.uint64).tolist()
    return np.fromiter(
        (_xxh64_bytes(str(v).encode("utf-8"), s) for v, s in zip(values, seeds)),
        dtype=np.uint64,
        count=len(seeds),
    )


def _halves(h: np.ndarray) -> tuple[int, int, int]:
    """(sum of low 32 bits, sum of high 32 bits, xor) exactly as the Spark aggregation."""
    lo = int((h & np.uint64(0xFFFFFFFF)).sum(dtype=np.uint64))
    hi = int((h >> np.uint64(32)).sum(dtype=np.uint64))
    x = int(np.bitwise_xor.reduce(h)) if h.size else 0
    return lo, hi, x


def combine(*, num_vertices: int, num_edges: int, directed: bool, weighted: bool, edges, vertices) -> dict:
    """The fingerprint record from the counts and the (lo-sum, hi-sum, xor) aggregates.

    Returns
    -------
    dict
        ``{"fingerprint": "<scheme>:<16 hex>", "num_vertices", "num_edges", "directed",
        "weighted"}``: the record stored in manifests (``num_edges`` counts an undirected edge
        once, as :attr:`graphkit.Graph.num_edges` does).
    """
    def total(agg):
        lo, hi, x = (int(v or 0) for v in agg)
        return ((hi << 32) + lo) & _M64, x & _M64

    parts = [SCHEME, int(num_vertices), int(num_edges), bool(directed), bool(weighted),
             *total(edges), *total(vertices)]
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]
    return {
        "fingerprint": f"{SCHEME}:{digest}",
        "num_vertices": int(num_vertices),
        "num_edges": int(num_edges),
        "directed": bool(directed),
        "weighted": bool(weighted),
    }


def edge_hashes(src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``xxhash64(src, dst, weight)`` per edge, as Spark computes it."""
    h = xxhash64_long(np.asarray(src, dtype=np.int64), SPARK_SEED)
    h = xxhash64_long(np.asarray(dst, dtype=np.int64), h)
    return xxhash64_long(np.asarray(weight, dtype=np.float64), h)


def vertex_hashes(names: np.ndarray) -> np.ndarray:
    """``xxhash64(id, name)`` per vertex (``id`` is the dense index)."""
    names = np.asarray(names)
    h = xxhash64_long(np.arange(names.shape[0], dtype=np.int64), SPARK_SEED)
    if names.dtype.kind in "iu":
        return xxhash64_long(names.astype(np.int64), h)
    return xxhash64_strings(names.tolist(), h)


def csr_fingerprint(csr) -> dict:
    """Fingerprint of a :class:`~graphkit.csr.CSRGraph` (equal to the Spark graph's it came
    from, or would become with :meth:`graphkit.Graph.from_csr`).

    Parameters
    ----------
    csr : CSRGraph

    Returns
    -------
    dict
        See :func:`combine`.
    """
    n = csr.num_vertices
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(np.asarray(csr.indptr)))
    dst = np.asarray(csr.indices, dtype=np.int64)
    weight = csr.edge_weights()
    if not csr.directed:  # stored both ways in the CSR, once (src <= dst) in a Graph
        keep = src <= dst
        src, dst, weight = src[keep], dst[keep], weight[keep]
    return combine(
        num_vertices=n, num_edges=src.shape[0], directed=csr.directed, weighted=csr.weights is not None,
        edges=_halves(edge_hashes(src, dst, weight)), vertices=_halves(vertex_hashes(csr.ids)),
    )


def csr_checksums(csr) -> dict:
    """CRC-32s of a CSR graph's arrays: the ``input_fingerprint`` record of a ``graphkit.ppr-index``
    manifest (format 1.x readers require it and compare it), *not* a graph identity (it depends
    on the order of each row's neighbours; :func:`csr_fingerprint` is the identity).

    Parameters
    ----------
    csr : CSRGraph

    Returns
    -------
    dict
        ``num_vertices``, ``num_edges`` (stored, an undirected edge twice), ``directed``,
        ``weighted`` and CRC-32s of ``indptr``, ``indices`` (as int64), ``weights`` (float64, or
        None) and the user ids (little-endian int64, or the UTF-8 of the ids joined by newlines).
    """
    ids = np.asarray(csr.ids)
    if ids.dtype.kind in "iu":
        ids_crc = _crc(ids, np.int64)
    else:
        ids_crc = zlib.crc32("\n".join(map(str, ids.tolist())).encode("utf-8"))
    return {
        "num_vertices": csr.num_vertices,
        "num_edges": csr.num_edges,
        "directed": bool(csr.directed),
        "weighted": csr.weights is not None,
        "indptr_crc32": _crc(csr.indptr, np.int64),
        "indices_crc32": _crc(csr.indices, np.int64),
        "weights_crc32": None if csr.weights is None else _crc(csr.weights, np.float64),
        "ids_crc32": ids_crc,
    }


def _crc(array: np.ndarray, dtype) -> int:
    # A canonical little-endian dtype, so int32 and int64 copies of one graph checksum alike.
    return zlib.crc32(np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")))


def spark_fingerprint(vertices, edges, *, directed: bool, weighted: bool) -> dict:
    """Fingerprint of a graph held as Spark DataFrames (one aggregation job per frame).

    Parameters
    ----------
    vertices : DataFrame
        ``(id, name)``.
    edges : DataFrame
        ``(src, dst, weight)``, dense ids, as :class:`graphkit.Graph` stores them.
    directed, weighted : bool

    Returns
    -------
    dict
        See :func:`combine`.
    """
    from pyspark.sql import functions as F

    def aggregate(frame, hashed):
        h = frame.select(hashed.alias("h"))
        row = h.agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(F.col("h").bitwiseAND(F.lit(0xFFFFFFFF))).alias("lo"),
            F.sum(F.shiftrightunsigned(F.col("h"), 32)).alias("hi"),
            F.bit_xor(F.col("h")).alias("x"),
        ).first()
        return int(row["n"]), (row["lo"], row["hi"], row["x"])

    m, e = aggregate(edges, F.xxhash64(F.col("src").cast("long"), F.col("dst").cast("long"),
                                       F.col("weight").cast("double")))
    n, v = aggregate(vertices, F.xxhash64(F.col("id").cast("long"), F.col("name")))
    return combine(num_vertices=n, num_edges=m, directed=directed, weighted=weighted, edges=e, vertices=v)
