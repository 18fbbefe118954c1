"""The whole-graph refinement in Spark: the distributed engine's last stage, graph never collected.

:func:`graphkit.embed.kernels.global_refinement` (method ``"spectral"``) is a warm-started
Chebyshev-filtered subspace iteration on the regularised operator, then the spectral
propagation. Every one of its steps is of three kinds, and each has a distributed form here:

* **A sparse product** ``Y = diag(l) W diag(r) X``. The rows are split into blocks of whole
  parts. Parts are numbered depth-first, so consecutive parts are siblings in the bisection
  tree, and a run of them is a low-cut piece of the graph. Each block holds its rows of ``W``,
  with columns over its own rows and its *halo*: its neighbours in other blocks. A product
  sends every block the halo rows it needs, scaled by ``r`` at the sender, in one shuffle of
  only those rows; then the block multiplies locally. A block's own rows never move. The state
  is an RDD partitioned by block, and the halo messages are partitioned the same way, so Spark
  unions them partition by partition (``PartitionerAwareUnionRDD``) without shuffling the state.
* **A row-wise update** (linear combinations, row scaling): a map over the blocks.
* **A small reduction** (a Gram matrix, Rayleigh-Ritz): every block's ``k x k`` partial sum,
  added on the driver in block order (so the result is deterministic), with the ``k x k``
  answer sent back in the next step's closure.

Orthonormalisation is TSQR (Demmel et al., 2012): a QR factorisation in every block, a QR of
the stacked ``R`` factors on the driver (``blocks x k`` rows), and every block's ``Q`` times
its slice of that. It is as stable as Householder QR on one machine. Cholesky QR, the usual
one-reduction shortcut, is not stable enough: a Chebyshev-filtered block has a condition
number of up to ~1e9 here, and Cholesky QR squares it.

Randomness (the eigensolver's oversampling columns) is drawn per *part*, seeded by
``(seed, part)``. The result therefore depends on the seed and the partition only, not on
how many blocks the rows were grouped into or on the cluster.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from graphkit import _jvm, _progress
from graphkit.embed import kernels as K

#: Rows per block of the distributed refinement (a block is one task's share of every product).
BLOCK_ROWS = 20_000
_PAYLOAD = "block long, payload binary"


@dataclass
class _Block:
    """One block's rows: its slice of the graph and of every dense matrix in flight.

    ``w_off`` (no self-loops) and ``w_tilde`` (``A + I``) have columns ``[own rows; halo]``, the
    halo ordered by (owning block, vertex id), so each sender's message fills one slice.
    """

    number: int                      # block id (the RDD key)
    ids: np.ndarray                  # sorted global ids of the own rows
    parts: np.ndarray                # part of every own row
    w_off: sp.csr_matrix
    w_tilde: sp.csr_matrix
    inv_sqrt_degree: np.ndarray      # of the regularised operator (D + t I)^-1/2
    inv_degree_tilde: np.ndarray     # 1 / rowsum(A + I)
    edgeless: np.ndarray             # own rows without an edge to another vertex
    send: list                       # [(target block, local rows it needs, sorted by id)]
    recv: dict                       # source block -> slice of the halo
    arrays: dict = field(default_factory=dict)

    def with_arrays(self, **arrays) -> "_Block":
        """A copy sharing the graph, with ``arrays`` replaced or added (``None`` drops one)."""
        kept = {**self.arrays, **arrays}
        return _Block(**{**self.__dict__, "arrays": {k: v for k, v in kept.items() if v is not None}})

    # the three operators of the refinement, as (matrix, left scale, right scale)
    def operator(self, name: str):
        if name == "spectral":  # D_t^-1/2 A D_t^-1/2 without self-loops (K.spectral_operator)
            return self.w_off, self.inv_sqrt_degree, self.inv_sqrt_degree
        if name == "walk":      # D~^-1 (A + I) (K.spectral_propagation)
            return self.w_tilde, self.inv_degree_tilde, None
        if name == "tilde":     # A + I
            return self.w_tilde, None, None
        raise ValueError(f"unknown operator {name!r}")


def _build_block(block_id: int, members, edges, tau_shift: float) -> _Block:
    """A block from its member rows ``(v, part, embedding)`` and its edges ``(src, dst, w,
    dst_block)`` (``src`` in this block, both directions, self-loops once)."""
    ids = members.column("v").to_numpy()
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    parts = members.column("part").to_numpy()[order]
    m = ids.size
    start = members.column("embedding").combine_chunks().flatten().to_numpy().reshape(m, -1)[order]
    src = edges.column("src").to_numpy()
    dst = edges.column("dst").to_numpy()
    w = edges.column("w").to_numpy().astype(np.float64)
    dst_block = edges.column("dst_block").to_numpy()
    rows = np.searchsorted(ids, src)
    inner = dst_block == block_id
    # halo: distinct (block, vertex) pairs of the outer ends, in that order
    outer_key = np.stack([dst_block[~inner], dst[~inner]])
    halo = np.unique(outer_key, axis=1) if outer_key.size else np.zeros((2, 0), np.int64)
    cols = np.empty(src.size, dtype=np.int64)
    cols[inner] = np.searchsorted(ids, dst[inner])
    if halo.shape[1]:
        # halo is sorted by (block, vertex): encode both in one sortable key for the lookup
        key = halo[0] * (int(halo[1].max()) + 1) + halo[1]
        outer_keys = dst_block[~inner] * (int(halo[1].max()) + 1) + dst[~inner]
        cols[~inner] = m + np.searchsorted(key, outer_keys)
    width = m + halo.shape[1]
    adjacency = sp.csr_matrix((w, (rows, cols)), shape=(m, width))
    adjacency.sum_duplicates()
    loops = np.zeros(m)
    is_loop = inner & (src == dst)
    np.add.at(loops, rows[is_loop], w[is_loop])
    w_off = (adjacency - sp.csr_matrix((loops, (np.arange(m), np.arange(m))), shape=(m, width))).tocsr()
    w_off.eliminate_zeros()
    w_tilde = (adjacency + sp.csr_matrix((np.ones(m), (np.arange(m), np.arange(m))), shape=(m, width))).tocsr()
    degree_off = np.asarray(w_off.sum(axis=1)).ravel()
    inv_sqrt = np.zeros(m)
    np.divide(1.0, np.sqrt(degree_off + tau_shift), out=inv_sqrt, where=degree_off + tau_shift > 0)
    # Symmetry: the rows block t needs from this block are exactly this block's rows with an
    # edge into t, sorted by id as t's halo is.
    send = []
    outer_src, outer_blocks = src[~inner], dst_block[~inner]
    for target in np.unique(outer_blocks):
        needed = np.unique(outer_src[outer_blocks == target])
        send.append((int(target), np.searchsorted(ids, needed)))
    recv = {}
    for source in np.unique(halo[0]):
        at = np.flatnonzero(halo[0] == source)
        recv[int(source)] = slice(m + int(at[0]), m + int(at[-1]) + 1)
    return _Block(number=block_id, ids=ids, parts=parts, w_off=w_off, w_tilde=w_tilde, inv_sqrt_degree=inv_sqrt,
                  inv_degree_tilde=1.0 / np.asarray(w_tilde.sum(axis=1)).ravel(),
                  edgeless=np.diff(w_off.indptr) == 0, send=send, recv=recv,
                  arrays={"start": start.astype(np.float64)})


def _multiply(block: _Block, operator: str, x: np.ndarray, messages: dict) -> np.ndarray:
    matrix, left, right = block.operator(operator)
    full = np.empty((matrix.shape[1], x.shape[1]))
    m = x.shape[0]
    full[:m] = x if right is None else right[:, None] * x
    for source, rows in messages.items():
        full[block.recv[source]] = rows
    y = matrix @ full
    return y if left is None else left[:, None] * y


class BlockRows:
    """Dense ``n x k`` matrices split by row blocks in Spark, beside the graph's rows.

    Every step returns a new :class:`BlockRows`, computed and cached at once (one Spark job),
    and releases the version before it: a :class:`BlockRows` is consumed by its next step. The
    next step reads a version twice (for the halo messages and for its own rows), so it must be
    cached. Computing each step at once keeps at most two versions in executor memory; a lazy
    chain cached every version until the next reduction, and on com-DBLP its 19 propagation
    versions (1.6 GB each) ran the 6 GB heap out of memory.
    """

    def __init__(self, rdd, num_blocks: int):
        self.rdd = rdd
        self.num_blocks = num_blocks

    def _then(self, rdd) -> "BlockRows":
        from pyspark import StorageLevel

        rdd.persist(StorageLevel.MEMORY_AND_DISK)
        _jvm.materialize_in_jvm(rdd)
        self.rdd.unpersist()
        return BlockRows(rdd, self.num_blocks)

    def _collect(self, values) -> list:
        """``values(block)`` of every block, in block order."""
        return [value for _, value in sorted(self.rdd.mapValues(values).collect(), key=lambda item: item[0])]

    @classmethod
    def from_frames(cls, edges, parts, start, num_parts: int, block_rows: int = BLOCK_ROWS):
        """Blocks of consecutive parts, about ``block_rows`` rows each.

        Parameters
        ----------
        edges : DataFrame ``(src, dst, w)``
            Symmetric adjacency, both directions, self-loops once (dense ids).
        parts : DataFrame ``(v, part)``
            Dense part ids ``0..num_parts-1`` in depth-first order.
        start : DataFrame ``(id, embedding array<float>)``
            The fused embedding, one row per vertex.
        """
        from pyspark.sql import functions as F

        from graphkit.embed.distributed import _labelled

        n = parts.count()
        num_blocks = max(1, min(num_parts, math.ceil(n / block_rows)))
        blocks = parts.select("v", "part", F.floor(F.col("part") * num_blocks / num_parts).cast("long").alias("block"))
        # mean off-diagonal degree, for the regularisation shift t = tau * mean degree
        off_total = edges.where(F.col("src") != F.col("dst")).agg(F.sum("w")).first()[0] or 0.0
        tau_shift = K.TAU * float(off_total) / n
        members = blocks.join(start.withColumnRenamed("id", "v"), "v")
        labelled = (_labelled(edges, blocks.select("v", F.col("block").alias("part")))
                    .select(F.col("part").alias("block"), "src", "dst", "w", F.col("dst_part").alias("dst_block")))

        def build(key, member_rows, edge_rows):
            import pyarrow as pa

            block_id = int(key[0].as_py())
            block = _build_block(block_id, member_rows, edge_rows, tau_shift)
            return pa.table({"block": [block_id], "payload": [pickle.dumps(block, protocol=5)]})

        frame = members.groupBy("block").cogroup(labelled.groupBy("block")).applyInArrow(build, _PAYLOAD)
        rdd = frame.rdd.map(lambda row: (row["block"], pickle.loads(row["payload"]))).partitionBy(num_blocks)
        return cls(rdd.persist(), num_blocks)

    def map(self, update) -> "BlockRows":
        """``update(block) -> dict of arrays`` row-wise in every block (added to its arrays)."""
        return self._then(self.rdd.mapValues(lambda block: block.with_arrays(**update(block))))

    def product(self, operator: str, source: str, update) -> "BlockRows":
        """``P = operator @ arrays[source]``, then ``update(block, P) -> dict of arrays``."""

        def advance(block, received):
            return block.with_arrays(**update(block, _multiply(block, operator, block.arrays[source], received)))

        if self.num_blocks == 1:  # no halo: a product is a map over the one block, no shuffle
            return self._then(self.rdd.mapValues(lambda block: advance(block, {})))

        def messages(item):
            block_id, block = item
            x = block.arrays[source]
            _, _, right = block.operator(operator)
            for target, rows in block.send:
                yield target, (block_id, x[rows] if right is None else right[rows, None] * x[rows])

        def multiply(records):
            # partition b holds block b and the messages sent to it
            own, received = [], {}
            for _, value in records:
                if isinstance(value, _Block):
                    own.append(value)
                else:
                    received[value[0]] = value[1]
            for block in own:
                yield block.number, advance(block, received)

        halo = self.rdd.flatMap(messages).partitionBy(self.num_blocks)
        return self._then(_aligned_union(self.rdd, halo).mapPartitions(multiply, preservesPartitioning=True))

    def reduce(self, partial) -> np.ndarray:
        """Sum of ``partial(block)`` over the blocks, in block order."""
        return np.sum(self._collect(partial), axis=0)

    def orthonormalised(self, source: str, target: str = "q", drop=()) -> "BlockRows":
        """``arrays[target]``: an orthonormal basis of the span of ``arrays[source]`` (TSQR);
        ``drop`` names arrays no longer needed."""
        gone = dict.fromkeys(drop)
        factored = self.map(lambda block: dict(zip(("_q", "_r"), np.linalg.qr(block.arrays[source])), **gone))
        stacked = factored._collect(lambda block: block.arrays["_r"])
        q, _ = np.linalg.qr(np.vstack(stacked))
        offsets = np.cumsum([0] + [r.shape[0] for r in stacked])
        slices = [q[offsets[i]:offsets[i + 1]] for i in range(len(stacked))]  # block b is b-th
        return factored.map(lambda block: {target: block.arrays["_q"] @ slices[block.number], "_q": None, "_r": None})

    def frame(self, spark, name: str):
        """``arrays[name]`` as a DataFrame ``(id, embedding array<float>)`` in dense ids."""
        payload = self.rdd.map(lambda item: (item[0], pickle.dumps(
            (item[1].ids, item[1].arrays[name].astype(np.float32)), protocol=5)))

        def decode(batches):
            import pyarrow as pa

            for batch in batches:
                for blob in batch.column("payload").to_pylist():
                    ids, rows = pickle.loads(blob)
                    flat = pa.array(rows.ravel())
                    yield pa.RecordBatch.from_arrays(
                        [pa.array(ids), pa.FixedSizeListArray.from_arrays(flat, rows.shape[1])
                         .cast(pa.list_(pa.float32()))], names=["id", "embedding"])

        return spark.createDataFrame(payload, _PAYLOAD).mapInArrow(decode, "id long, embedding array<float>")

    def release(self) -> None:
        self.rdd.unpersist()


def _aligned_union(own, halo):
    """The cached blocks and their halo messages, partition by partition, neither re-serialised.

    Both sides are partitioned by block with the same partitioner, so the JVM union is a
    ``PartitionerAwareUnionRDD`` (partition ``b`` holds block ``b`` and its messages) and the
    state is not shuffled. ``RDD.union`` would first re-serialise both sides through Python,
    because ``partitionBy`` and ``mapPartitions`` label their output with different serializer
    objects. Both write the same stream, pickled batches of records, so one deserializer reads
    both (see ``union_keeping_serializer`` in ``graphkit/_jvm.py``).
    """
    assert own.partitioner == halo.partitioner and own.getNumPartitions() == halo.getNumPartitions()
    return _jvm.union_keeping_serializer(own, halo)


def spark_refinement(edges, parts, fused, num_parts: int, dim: int, *, iterations: int = 2, seed: int = 0,
                     block_rows: int = BLOCK_ROWS, say=None):
    """:func:`graphkit.embed.kernels.global_refinement` (method ``"spectral"``) in Spark.

    The same steps as :func:`graphkit.embed.kernels.spectral_embed` warm-started from ``fused``
    with ``rounds=iterations``, then :func:`graphkit.embed.kernels.spectral_propagation`, on
    the row blocks of :class:`BlockRows`: ``1 + iterations * (degree + 1)`` halo products for
    the eigensolver and ``2 * order - 1`` for the propagation (19 + 19 at the defaults).

    Parameters
    ----------
    edges : DataFrame ``(src, dst, w)``
        Symmetric adjacency in dense ids (both directions, self-loops once).
    parts : DataFrame ``(v, part)``
        The partition (dense part ids in depth-first order): blocks are runs of parts.
    fused : DataFrame ``(id, embedding array<float>)``
        The fused partition embedding, the eigensolver's warm start.
    num_parts, dim : int
    iterations : int, default 2
        Eigensolver rounds (0: the propagation only).
    seed : int, default 0
        Seeds the oversampling columns, per part.
    block_rows : int, default :data:`BLOCK_ROWS`
        Rows per block (one task of every product).
    say : callable, optional
        ``say(stage, done, total)`` (see :mod:`graphkit._progress`); default log lines.

    Returns
    -------
    DataFrame ``(id, embedding array<float>)``, L2-normalised rows, isolated vertices zero; not
    yet materialised (freeze or write it, then call the returned ``release``).
    """
    say = _progress.reporter(say)
    rows = BlockRows.from_frames(edges, parts, fused, num_parts, block_rows)
    say(f"  refinement in Spark over {rows.num_blocks} row block(s)")
    k = dim
    width = K.block_width(k)  # the block size of K.top_eigenpairs

    def warm_start(block):
        # as K.top_eigenpairs: the start's columns first, seeded Gaussian columns for the rest
        given = block.arrays["start"][:, :width]
        extra = np.empty((block.ids.size, width - given.shape[1]))
        for part in np.unique(block.parts):
            at = block.parts == part
            extra[at] = np.random.default_rng([seed, int(part)]).standard_normal((int(at.sum()), extra.shape[1]))
        return {"x": np.hstack([given, extra]), "start": None}

    if iterations == 0:  # as K.global_refinement: keep the start's span, only propagate
        rows = rows.map(lambda block: {"x": block.arrays["start"][:, :k], "start": None})
    else:
        rows = rows.map(warm_start).orthonormalised("x", drop=("x",))
        evals, rows = _rayleigh_ritz(rows)
        for round_ in range(iterations):
            say("  eigensolver rounds", round_ + 1, iterations)
            rows = _chebyshev_filter(rows, high=K.filter_bound(evals))
            rows = rows.orthonormalised("y1", drop=("y0", "y1"))
            evals, rows = _rayleigh_ritz(rows)
        def scaled(block):
            return {"x": K.eigen_embedding(block.arrays["q"][:, :k], evals[:k], block.edgeless).astype(np.float64),
                    "q": None}

        rows = rows.map(scaled)
    say("  propagation")
    rows = _propagation(rows, mu=K.SPECTRAL_MU)
    return rows.frame(edges.sparkSession, "out"), rows.release


def _rayleigh_ritz(rows: BlockRows):
    """Ritz values (descending) and vectors of the spectral operator in ``span(q)``."""
    rows = rows.product("spectral", "q", lambda block, p: {"opq": p})
    evals, evecs = K.ritz_pairs(rows.reduce(lambda block: block.arrays["q"].T @ block.arrays["opq"]))
    return evals, rows.map(lambda block: {"q": block.arrays["q"] @ evecs, "opq": None})


def _chebyshev_filter(rows: BlockRows, high: float, degree: int = 8, low: float = -1.0) -> BlockRows:
    """``y1 = T_degree(q)`` as :func:`graphkit.embed.kernels._chebyshev_filter`."""
    half, centre = K.chebyshev_interval(low, high)
    rows = rows.product("spectral", "q", lambda block, p: {
        "y0": block.arrays["q"], "y1": K.chebyshev_first(p, block.arrays["q"], half, centre), "q": None})
    for _ in range(2, degree + 1):
        rows = rows.product("spectral", "y1", lambda block, p: {
            "y0": block.arrays["y1"],
            "y1": K.chebyshev_next(p, block.arrays["y1"], block.arrays["y0"], half, centre)})
    return rows


def _propagation(rows: BlockRows, *, order: int = 10, mu: float = 0.2, theta: float = 0.5) -> BlockRows:
    """:func:`graphkit.embed.kernels.spectral_propagation` of ``arrays["x"]`` into
    ``arrays["out"]``: ``M v = (1 - mu) v - D~^-1 A~ v`` is one halo product. The filter's
    coefficients and the final directions are the kernel's (``K.propagation_coefficients``,
    ``K.directions_transform``); the recurrence applies ``M`` as a product plus a row-wise update
    instead of the kernel's assembled sparse ``M``, so it agrees with the kernel up to rounding."""
    c = K.propagation_coefficients(order, theta)
    rows = rows.product("walk", "x", lambda block, p: {"t": (1.0 - mu) * block.arrays["x"] - p})

    def first(block, p):
        x = block.arrays["x"]
        lx1 = 0.5 * ((1.0 - mu) * block.arrays["t"] - p) - x
        # d = x - conv, kept instead of conv (one array fewer in every version)
        return {"lx0": x, "lx1": lx1, "d": (1.0 - c[0]) * x - c[1] * lx1,
                "x": None, "t": None}

    rows = rows.product("walk", "t", first)
    for i in range(2, order):
        coefficient = c[i]
        rows = rows.product("walk", "lx1", lambda block, p: {"t": (1.0 - mu) * block.arrays["lx1"] - p})

        def step(block, p, coefficient=coefficient):
            a = block.arrays
            lx2 = ((1.0 - mu) * a["t"] - p) - 2.0 * a["lx1"] - a["lx0"]
            return {"lx0": a["lx1"], "lx1": lx2, "d": a["d"] - coefficient * lx2, "t": None}

        rows = rows.product("walk", "t", step)
    rows = rows.product("tilde", "d", lambda block, p: {"z": p, "d": None, "lx0": None, "lx1": None})
    # K.orthonormal_directions: U sqrt(S) of z's thin SVD through its Gram matrix
    transform = K.directions_transform(rows.reduce(lambda block: block.arrays["z"].T @ block.arrays["z"]))[:, ::-1]
    return rows.map(lambda block: {"out": K.unit_rows(block.arrays["z"] @ transform), "z": None})
