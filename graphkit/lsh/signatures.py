"""The Spark side of MinHash-LSH: neighbourhood signatures and band keys.

Everything here is a DataFrame -> DataFrame function over a :class:`~graphkit.graph.Graph`
(the estimator :class:`~graphkit.lsh.spark.NeighbourhoodSignatures` strings them together;
candidate pairs are in :mod:`graphkit.lsh.pairs`, the index artifact in
:mod:`graphkit.lsh.export`). The numerical work is done by the very kernels the local side uses
(:mod:`graphkit.lsh.kernels`), called inside ``mapInArrow`` tasks, so a signature computed here
equals ``LSHIndex.from_graph`` (and ``datasketch.MinHash`` with the same ``seed`` and scheme)
byte for byte.

How the signatures are computed (one pass over the edges, vectorised per partition):

1. ``element_hash_frame``: the element hash of every vertex's *user* id
   (:func:`~graphkit.lsh.kernels.element_hashes`), once per vertex, in a ``mapInArrow`` over
   the vertices.
2. ``neighbour_hash_rows``: one ``(vertex, element_hash)`` row per (vertex, neighbour) pair of
   the requested neighbourhood (the hash joined from step 1, broadcast when the vertex table is
   small), plus one marker row ``(vertex, NULL)`` per vertex so that vertices without
   neighbours come out too.
3. ``signature_frame``: the rows are repartitioned by vertex and sorted within partitions; each
   task streams its partition in slices of whole vertices, turns each slice into a CSR
   (``indptr`` over the sorted vertices, ``indices`` into the slice's element-hash column) and
   calls :func:`~graphkit.lsh.kernels.minhash_signatures` on it.

Spark has no unsigned types: signature values (uint32) are stored as ``array<int>`` holding the
same 32 bits (two's complement; ``np.int32`` viewed as ``np.uint32`` gives them back), and band
keys (uint64) as ``long`` holding the same 64 bits. Equality, which is all LSH needs, is the
same on both views.

This module imports pyspark only inside its functions; the local side (:mod:`graphkit.lsh`)
never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from graphkit.base import check_positive_int
from graphkit.lsh import kernels as K
from graphkit.lsh._batches import signature_matrix, whole_groups
from graphkit.lsh.neighbourhood import check_neighbourhood

ID, SIGNATURE = "id", "signature"
VERTEX, ELEMENT_HASH = "vertex", "element_hash"
BAND, KEY, SIZE = "band", "key", "size"
PAIR_A, PAIR_B, JACCARD = "a", "b", "jaccard_estimate"

#: Buckets above this many members are skipped when forming candidate pairs (see module notes).
DEFAULT_MAX_BUCKET = 1000
#: Signatures up to this size are broadcast to the pair-forming tasks (see SignatureConfig).
DEFAULT_MAX_BROADCAST_BYTES = 1 << 30
#: Vertices broadcast to the hash join below this count (like Graph.translate).
_BROADCAST_VERTICES = 2_000_000
#: Bound on the signature matrix one task holds at once (bytes).
_TASK_SIGNATURE_BYTES = 64 << 20
#: Rows per Arrow batch yielded by the tasks.
_OUT_ROWS = 8192


# -- configuration ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SignatureConfig:
    """Parameters of a signature run, validated once (before any Spark work) by :meth:`validate`.

    Attributes
    ----------
    num_perm : int
        Signature length (permutations).
    bands, rows : int or None
        Banding with ``bands * rows == num_perm``; default ``rows=2`` (see :class:`LSHIndex`).
    neighbourhood : {"out", "in", "both"}
        Out-neighbours, in-neighbours or their union (all the same for an undirected graph).
    seed : int
        Seed of the hash family, ``0 <= seed < 2**32`` (``np.random.RandomState``'s range).
        1 is datasketch's default, so sketches interoperate with ``datasketch.MinHash``.
    scheme : {"affine32", "legacy"}
        Permutation scheme (datasketch's names).
    max_bucket : int
        Buckets with more members are skipped when forming candidate pairs.
    num_partitions : int or None
        Partitions of the per-vertex and per-bucket shuffles; default
        ``spark.sql.shuffle.partitions``.
    max_broadcast_bytes : int
        Candidate pairs are scored in the tasks that form them, against a broadcast copy of all
        signatures, when those take at most this many bytes (``n * num_perm * 4``); above it,
        pairs are deduplicated and scored with two joins (more shuffle, no size limit).
    """

    num_perm: int = 128
    bands: int | None = None
    rows: int | None = None
    neighbourhood: str = "out"
    seed: int = 1
    scheme: str = "affine32"
    max_bucket: int = DEFAULT_MAX_BUCKET
    num_partitions: int | None = None
    max_broadcast_bytes: int = DEFAULT_MAX_BROADCAST_BYTES

    def validate(self) -> "SignatureConfig":
        """Return a copy with ``bands`` and ``rows`` resolved; ``ValueError`` names a bad value."""
        check_positive_int("num_perm", self.num_perm)
        bands, rows = K.check_bands(self.num_perm, self.bands, self.rows)
        check_neighbourhood(self.neighbourhood)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be an integer in [0, 2**32), got {self.seed!r}")
        K.check_scheme(self.scheme)
        check_positive_int("max_bucket", self.max_bucket)
        if self.num_partitions is not None:
            check_positive_int("num_partitions", self.num_partitions)
        if isinstance(self.max_broadcast_bytes, bool) or not isinstance(self.max_broadcast_bytes, (int, np.integer)) \
                or self.max_broadcast_bytes < 0:
            raise ValueError(f"max_broadcast_bytes must be a non-negative integer, got {self.max_broadcast_bytes!r}")
        return replace(self, num_perm=int(self.num_perm), bands=bands, rows=rows, seed=int(self.seed),
                       max_bucket=int(self.max_bucket))


def check_pairs_threshold(threshold) -> float:
    """``threshold`` as a float in ``(0, 1]`` or ``ValueError``."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"pairs threshold must be a number in (0, 1], got {threshold!r}") from None
    if not 0.0 < value <= 1.0:
        raise ValueError(f"pairs threshold must be in (0, 1], got {threshold!r}")
    return value


# -- DataFrame -> DataFrame steps ------------------------------------------------------------
def element_hash_frame(vertices):
    """``(id long, element_hash int)``: the element hash of every vertex's user id.

    Parameters
    ----------
    vertices : DataFrame
        A graph's ``vertices`` (``id``, ``name``).

    Returns
    -------
    DataFrame
        ``element_hash`` holds :func:`~graphkit.lsh.kernels.element_hashes` of ``name`` (uint32
        bits in a signed int). Lazy (no Spark action).
    """
    import pyarrow as pa

    def hash_batches(batches):
        for batch in batches:
            names = batch.column("name").to_numpy(zero_copy_only=False)
            hashes = K.element_hashes(names).view(np.int32)
            yield pa.RecordBatch.from_arrays([batch.column(ID), pa.array(hashes, pa.int32())], [ID, ELEMENT_HASH])

    return vertices.select(ID, "name").mapInArrow(hash_batches, f"{ID} long, {ELEMENT_HASH} int")


def neighbour_hash_rows(graph, neighbourhood: str, hashes=None):
    """``(vertex long, element_hash int)``: one row per neighbour of every vertex, plus a marker.

    Parameters
    ----------
    graph : Graph
    neighbourhood : {"out", "in", "both"}
        For a directed graph: ``src -> dst`` rows, ``dst -> src`` rows, or both. An undirected
        graph uses its symmetric edges for all three.
    hashes : DataFrame, optional
        :func:`element_hash_frame` of the graph's vertices (computed when absent).

    Returns
    -------
    DataFrame
        The marker row ``(v, NULL)`` of each vertex makes vertices without neighbours appear in
        :func:`signature_frame`. With ``"both"``, a reciprocated edge gives a neighbour twice,
        which is harmless (a minimum is idempotent) and cheaper than a ``distinct``. Lazy.
    """
    from pyspark.sql import functions as F

    from graphkit.graph import DST, SRC

    check_neighbourhood(neighbourhood)
    hashes = element_hash_frame(graph.vertices) if hashes is None else hashes
    if not graph.directed:
        edges = graph.symmetric_edges()
        pairs = edges.select(F.col(SRC).alias(VERTEX), F.col(DST).alias("_nbr"))
    else:
        out = graph.edges.select(F.col(SRC).alias(VERTEX), F.col(DST).alias("_nbr"))
        inn = graph.edges.select(F.col(DST).alias(VERTEX), F.col(SRC).alias("_nbr"))
        pairs = {"out": out, "in": inn, "both": out.unionByName(inn) if neighbourhood == "both" else None}[neighbourhood]
    lookup = hashes.select(F.col(ID).alias("_nbr"), ELEMENT_HASH)
    if graph.num_vertices < _BROADCAST_VERTICES:
        lookup = F.broadcast(lookup)
    rows = pairs.join(lookup, "_nbr").select(VERTEX, ELEMENT_HASH)
    markers = graph.vertices.select(F.col(ID).alias(VERTEX), F.lit(None).cast("int").alias(ELEMENT_HASH))
    return rows.unionByName(markers)


def signature_frame(graph, config: SignatureConfig, hashes=None):
    """``(id long, signature array<int>)``: the MinHash signature of every vertex's neighbourhood.

    One shuffle of the ``(vertex, element_hash)`` rows by vertex, then each task computes the
    signatures of its vertices with :func:`~graphkit.lsh.kernels.minhash_signatures` on CSR
    slices of its sorted partition. A vertex without neighbours gets datasketch's empty
    signature (every value ``2**32 - 1``, i.e. ``-1`` as int). Lazy (no Spark action).

    Parameters
    ----------
    graph : Graph
    config : SignatureConfig
    hashes : DataFrame, optional
        :func:`element_hash_frame` of the vertices.
    """
    config = config.validate()
    spark = graph.spark
    partitions = config.num_partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))
    family = K.hash_family(config.num_perm, config.seed, config.scheme)
    rows = neighbour_hash_rows(graph, config.neighbourhood, hashes)
    budget = max(4096, _TASK_SIGNATURE_BYTES // (4 * config.num_perm))
    return (
        rows.repartition(partitions, VERTEX)
        .sortWithinPartitions(VERTEX)
        .mapInArrow(_signature_task(family, budget), f"{ID} long, {SIGNATURE} array<int>")
    )


def _signature_task(family: K.HashFamily, budget: int):
    """The per-partition function of :func:`signature_frame` (streams whole vertices)."""

    def convert(batch):
        import pyarrow.compute as pc

        column = batch.column(ELEMENT_HASH)
        return {
            VERTEX: batch.column(VERTEX).to_numpy(),
            ELEMENT_HASH: pc.fill_null(column, 0).to_numpy(),
            "_ok": pc.is_valid(column).to_numpy(zero_copy_only=False),
        }

    def run(batches):
        import pyarrow as pa

        for cols in whole_groups(batches, convert, [VERTEX], budget):
            yield from _signature_batches(cols[VERTEX], cols[ELEMENT_HASH], cols["_ok"], family, pa)

    return run


def _signature_batches(v, h, ok, family, pa):
    """Signatures of the whole vertices in sorted rows ``v`` (hashes ``h``, valid mask ``ok``)."""
    starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
    vertices = v[starts]
    counts = np.add.reduceat(ok.astype(np.int64), starts)
    indptr = np.zeros(vertices.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    hashes = h[ok].view(np.uint32)
    sig = K.minhash_signatures(indptr, np.arange(hashes.shape[0], dtype=np.int64), hashes, family)
    flat = sig.view(np.int32)
    num_perm = sig.shape[1]
    for lo in range(0, vertices.shape[0], _OUT_ROWS):
        hi = min(lo + _OUT_ROWS, vertices.shape[0])
        offsets = np.arange(hi - lo + 1, dtype=np.int32) * num_perm
        values = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat[lo:hi].reshape(-1), pa.int32()))
        yield pa.RecordBatch.from_arrays([pa.array(vertices[lo:hi], pa.int64()), values], [ID, SIGNATURE])


def band_key_frame(signatures, bands: int, rows: int):
    """``(id long, band int, key long)``: the band keys of every non-empty signature.

    Computed in Spark tasks with :func:`~graphkit.lsh.kernels.band_keys`, the function the
    local index uses; ``key`` holds the uint64 bits. Vertices without neighbours have no keys
    (two empty sets are not "similar"). Lazy.
    """
    import pyarrow as pa

    bands, rows = int(bands), int(rows)
    num_perm = bands * rows

    def key_batches(batches):
        for batch in batches:
            if not batch.num_rows:
                continue
            ids = batch.column(ID).to_numpy()
            sig = signature_matrix(batch.column(SIGNATURE), num_perm)
            live = ~K.is_empty_signature(sig)
            if not live.any():
                continue
            keys = K.band_keys(sig[live], bands, rows)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(np.repeat(ids[live], bands), pa.int64()),
                    pa.array(np.tile(np.arange(bands, dtype=np.int32), int(live.sum())), pa.int32()),
                    pa.array(keys.reshape(-1).view(np.int64), pa.int64()),
                ],
                [ID, BAND, KEY],
            )

    return signatures.select(ID, SIGNATURE).mapInArrow(key_batches, f"{ID} long, {BAND} int, {KEY} long")



__all__ = [
    "SignatureConfig", "check_pairs_threshold", "element_hash_frame", "neighbour_hash_rows", "signature_frame",
    "band_key_frame",
]
