"""The Spark side of MinHash-LSH: neighbourhood signatures, band keys and candidate pairs.

Everything here is a DataFrame -> DataFrame function over a :class:`~graphkit.graph.Graph`
(plus the thin estimator :class:`NeighbourhoodSignatures` and :func:`export_index`, which writes
the local :class:`~graphkit.lsh.LSHIndex` artifact). The numerical work is done by the very
kernels the local side uses (:mod:`graphkit.lsh._kernels`), called inside ``mapInArrow`` tasks,
so a signature computed here equals ``LSHIndex.from_graph`` (and ``datasketch.MinHash`` with the
same ``seed`` and scheme) byte for byte.

How the signatures are computed (one pass over the edges, vectorised per partition):

1. ``element_hash_frame``: the element hash of every vertex's *user* id
   (:func:`~graphkit.lsh._kernels.element_hashes`), once per vertex, in a ``mapInArrow`` over
   the vertices.
2. ``neighbour_hash_rows``: one ``(vertex, element_hash)`` row per (vertex, neighbour) pair of
   the requested neighbourhood (the hash joined from step 1, broadcast when the vertex table is
   small), plus one marker row ``(vertex, NULL)`` per vertex so that vertices without
   neighbours come out too.
3. ``signature_frame``: the rows are repartitioned by vertex and sorted within partitions; each
   task streams its partition in slices of whole vertices, turns each slice into a CSR
   (``indptr`` over the sorted vertices, ``indices`` into the slice's element-hash column) and
   calls :func:`~graphkit.lsh._kernels.minhash_signatures` on it.

Spark has no unsigned types: signature values (uint32) are stored as ``array<int>`` holding the
same 32 bits (two's complement; ``np.int32`` viewed as ``np.uint32`` gives them back), and band
keys (uint64) as ``long`` holding the same 64 bits. Equality, which is all LSH needs, is the
same on both views.

Candidate pairs (:meth:`NeighbourhoodSignatures.similar_pairs`) are the pairs sharing at least
one band key (AND within a band, OR across bands; Spark MLlib's ``MinHashLSH`` has only one
hash per table, i.e. OR-amplification), scored by their estimated Jaccard (fraction of equal
signature slots), each pair once with ``a < b``. Two strategies give the same answer:

* *broadcast* (signatures up to ``max_broadcast_bytes``, 1 GiB by default: about 2 million
  vertices at 128 permutations): the signatures, which the index export collects to the driver
  anyway, are broadcast; each task takes a range of bands, sorts that band's keys, emits the
  member pairs of each bucket (numpy, one block per bucket size), scores them in place and keeps
  a pair only in the first band where the two signatures agree, so no shuffle is needed at all;
* *shuffle* (any size): the ``(id, band, key)`` rows are partitioned and sorted by bucket, each
  task emits its buckets' pairs, and pairs are deduplicated and scored by joining the
  signatures in Spark SQL.

**Huge buckets.** A bucket of ``s`` members emits ``s (s - 1) / 2`` pairs; on graphs with hubs
a few "same minimum neighbour" buckets can hold thousands of vertices. Buckets with more than
``max_bucket`` members (default 1000) are *skipped* when forming pairs: a pair that meets only
in skipped buckets is not returned. :meth:`NeighbourhoodSignatures.bucket_report` counts the
skipped buckets and the pairs they would have emitted, and ``graphkit signatures`` prints it.
The local index keeps every bucket (its queries re-rank a query's candidates, so a big bucket
costs time, not correctness).

This module imports pyspark; the local side (:mod:`graphkit.lsh`) never imports it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from graphkit import _progress
from graphkit._progress import Progress
from graphkit.base import Estimator, check_positive_int
from graphkit.lsh import _kernels as K
from graphkit.lsh.index import FORMAT, NEIGHBOURHOODS, VERSION, LSHIndex, neighbourhood_csr

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
        if self.neighbourhood not in NEIGHBOURHOODS:
            raise ValueError(f"neighbourhood must be one of {NEIGHBOURHOODS}, got {self.neighbourhood!r}")
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
        ``element_hash`` holds :func:`~graphkit.lsh._kernels.element_hashes` of ``name`` (uint32
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

    if neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(f"neighbourhood must be one of {NEIGHBOURHOODS}, got {neighbourhood!r}")
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
    signatures of its vertices with :func:`~graphkit.lsh._kernels.minhash_signatures` on CSR
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


def _whole_groups(batches, convert, group_columns, budget: int):
    """Stream a partition sorted by ``group_columns`` as dicts of numpy columns holding whole
    groups only, about ``budget`` rows at a time (a group may span Arrow batches; it is carried
    over until it is complete)."""
    held, count, limit = [], 0, budget
    for batch in batches:
        if not batch.num_rows:
            continue
        held.append(convert(batch))
        count += batch.num_rows
        if count < limit:
            continue
        columns = {name: np.concatenate([h[name] for h in held]) for name in held[0]}
        cut = _last_group_start(columns, group_columns)
        if cut == 0:  # one group (a hub) fills everything: wait for twice as much, so copies stay linear
            held, limit = [columns], 2 * count
            continue
        yield {name: values[:cut] for name, values in columns.items()}
        held = [{name: values[cut:] for name, values in columns.items()}]
        count, limit = held[0][group_columns[0]].shape[0], budget
    if count:
        yield {name: np.concatenate([h[name] for h in held]) for name in held[0]}


def _last_group_start(columns, group_columns) -> int:
    n = columns[group_columns[0]].shape[0]
    same = np.ones(n, dtype=bool)
    for name in group_columns:
        same &= columns[name] == columns[name][-1]
    # rows are sorted by the group columns, so the last group is a suffix
    return int(n - np.argmin(same[::-1])) if not same.all() else 0


def _group_starts(columns, group_columns) -> np.ndarray:
    n = columns[group_columns[0]].shape[0]
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for name in group_columns:
        values = columns[name]
        change[1:] |= values[1:] != values[:-1]
    return np.flatnonzero(change)


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

        for cols in _whole_groups(batches, convert, [VERTEX], budget):
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

    Computed in Spark tasks with :func:`~graphkit.lsh._kernels.band_keys`, the function the
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
            sig = _signature_matrix(batch.column(SIGNATURE), num_perm)
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


# Candidate pairs, strategy 1 (signatures broadcast): one step per band, no shuffle.
def band_pairs(spark, signatures, config: SignatureConfig, threshold: float, oversized=None):
    """``(a long, b long, jaccard_estimate double)``: candidate pairs with estimate ``>= threshold``
    (dense ids, ``a < b``, each pair once), formed band by band against broadcast signatures.

    Each task takes a range of bands; for band ``j`` it computes the band-``j`` keys of all
    non-empty signatures (:func:`~graphkit.lsh._kernels.band_keys` with ``first_band=j``, equal
    to column ``j`` of the full keys), sorts them, and emits the member pairs of every bucket of
    2 to ``max_bucket`` members whose estimated Jaccard reaches ``threshold``. A pair is
    emitted only by the *first* band in which its signatures agree outside an oversized
    bucket, so it comes out once with no shuffle (band keys are a bijection of band values for
    ``rows <= 2``; for longer bands a 64-bit key collision, probability about ``2**-64`` per
    pair, could repeat a pair). Lazy.

    Parameters
    ----------
    spark : SparkSession
    signatures : Broadcast of ndarray
        uint32 ``(n, num_perm)``, row = dense id.
    config : SignatureConfig
        Validated.
    threshold : float
    oversized : ndarray of uint64, optional
        Keys of the buckets above ``max_bucket`` (from :func:`band_bucket_stats`); needed
        whenever there are any, so that a pair whose first agreeing band is skipped still
        comes out of its next band.
    """
    import pyarrow as pa

    from graphkit.sparkio import map_vertex_batches

    bands, rows, cap = config.bands, config.rows, config.max_bucket
    oversized = np.sort(np.asarray(oversized if oversized is not None else [], dtype=np.uint64))

    def kernel(band_ids):
        sig = signatures.value
        live = np.flatnonzero(~K.is_empty_signature(sig))
        for band in band_ids.tolist():
            members, starts, sizes = _band_buckets(sig, live, band, rows)
            for a, b in _run_pairs(members, starts, sizes, cap):
                a, b, estimate = _score_pairs(sig, a, b, band, rows, threshold, oversized)
                if a.shape[0]:
                    yield pa.RecordBatch.from_arrays(
                        [pa.array(a, pa.int64()), pa.array(b, pa.int64()), pa.array(estimate, pa.float64())],
                        [PAIR_A, PAIR_B, JACCARD])

    tasks = min(bands, 2 * spark.sparkContext.defaultParallelism)
    return map_vertex_batches(spark, bands, kernel, f"{PAIR_A} long, {PAIR_B} long, {JACCARD} double",
                              num_batches=tasks)


def band_bucket_stats(spark, signatures, config: SignatureConfig):
    """``(band, buckets, largest, skipped, skipped_pairs long, oversized array<long>)``, one row
    per band, from broadcast signatures: the bucket report of strategy 1 (see
    :meth:`NeighbourhoodSignatures.bucket_report`) and the keys of the buckets above
    ``max_bucket`` (uint64 bits), which :func:`band_pairs` needs. Lazy."""
    import pyarrow as pa

    from graphkit.sparkio import map_vertex_batches

    rows, cap = config.rows, config.max_bucket

    def kernel(band_ids):
        sig = signatures.value
        live = np.flatnonzero(~K.is_empty_signature(sig))
        stats, oversized = [], []
        for band in band_ids.tolist():
            members, starts, sizes = _band_buckets(sig, live, band, rows)
            big = sizes > cap
            stats.append((band, int((sizes >= 2).sum()), int(sizes.max(initial=0)), int(big.sum()),
                          int((sizes[big] * (sizes[big] - 1) // 2).sum())))
            keys = K.band_keys(np.ascontiguousarray(sig[members[starts[big]], band * rows:(band + 1) * rows]),
                               1, rows, first_band=band)[:, 0]
            oversized.append(keys.view(np.int64))
        columns = np.array(stats, dtype=np.int64).reshape(-1, 5).T
        lists = pa.array([k.tolist() for k in oversized], pa.list_(pa.int64()))
        yield pa.RecordBatch.from_arrays([pa.array(c, pa.int64()) for c in columns] + [lists], [*_STATS, "oversized"])

    tasks = min(config.bands, 2 * spark.sparkContext.defaultParallelism)
    schema = ", ".join(f"{c} long" for c in _STATS) + ", oversized array<long>"
    return map_vertex_batches(spark, config.bands, kernel, schema, num_batches=tasks)


_STATS = ("band", "buckets", "largest", "skipped", "skipped_pairs")


def _band_buckets(sig, live, band: int, rows: int):
    """Buckets of one band: ``members`` (live dense ids sorted by key, then id), run ``starts``
    and ``sizes``."""
    values = np.ascontiguousarray(sig[live, band * rows:(band + 1) * rows])
    keys = K.band_keys(values, 1, rows, first_band=band)[:, 0]
    order = np.argsort(keys, kind="stable")  # live is ascending, so ties keep ids ascending
    keys, members = keys[order], live[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.shape[0] else np.zeros(0, np.int64)
    return members, starts, np.diff(np.append(starts, keys.shape[0]))


def _run_pairs(members, starts, sizes, cap: int):
    """All pairs ``(a, b)`` inside runs of 2..cap members (rows sorted, so ``a < b``), one
    vectorised block per run size."""
    for size in np.unique(sizes[(sizes >= 2) & (sizes <= cap)]).tolist():
        first = starts[sizes == size]
        block = members[first[:, None] + np.arange(size)[None, :]]  # (c, size)
        i, j = np.triu_indices(size, 1)
        yield block[:, i].reshape(-1), block[:, j].reshape(-1)


def _score_pairs(sig, a, b, band: int, rows: int, threshold: float, oversized, chunk: int = 1 << 15):
    """Keep pairs whose estimate reaches ``threshold`` and whose first agreeing band outside
    the ``oversized`` buckets (sorted uint64 keys) is ``band``."""
    out_a, out_b, out_j = [], [], []
    num_perm = sig.shape[1]
    for lo in range(0, a.shape[0], chunk):
        ca, cb = a[lo:lo + chunk], b[lo:lo + chunk]
        equal = sig[ca] == sig[cb]
        estimate = np.count_nonzero(equal, axis=1) / num_perm
        keep = estimate >= threshold
        if band:
            earlier = equal[:, : band * rows].reshape(-1, band, rows).all(axis=2)  # (c, band)
            if oversized.shape[0]:
                _drop_oversized(earlier, sig, ca, rows, oversized)
            keep &= ~earlier.any(axis=1)
        out_a.append(ca[keep])
        out_b.append(cb[keep])
        out_j.append(estimate[keep])
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_j)


def _drop_oversized(earlier, sig, a, rows: int, oversized) -> None:
    """Clear ``earlier[p, i]`` where pair ``p`` agrees in band ``i`` inside an oversized bucket
    (a pair's bucket in a band where it agrees is its first member's)."""
    pair, band = np.nonzero(earlier)
    for i in np.unique(band).tolist():
        at = band == i
        values = np.ascontiguousarray(sig[a[pair[at]], i * rows:(i + 1) * rows])
        keys = K.band_keys(values, 1, rows, first_band=i)[:, 0]
        pos = np.minimum(np.searchsorted(oversized, keys), oversized.shape[0] - 1)
        skipped = oversized[pos] == keys
        earlier[pair[at][skipped], i] = False


# Candidate pairs, strategy 2 (no size limit): shuffle the band keys into buckets, then join.
def sorted_band_keys(band_keys, num_partitions: int):
    """The band keys hash-partitioned by bucket ``(band, key)`` and sorted by ``(band, key, id)``
    within partitions, so every bucket is a contiguous run of one partition. Lazy."""
    return band_keys.repartition(int(num_partitions), BAND, KEY).sortWithinPartitions(BAND, KEY, ID)


def bucket_sizes(sorted_keys):
    """``(band, key, size)`` of every bucket with at least two members. Lazy."""
    from pyspark.sql import functions as F

    return sorted_keys.groupBy(BAND, KEY).agg(F.count("*").alias(SIZE)).filter(F.col(SIZE) >= 2)


def bucket_pairs(sorted_keys, max_bucket: int):
    """``(a long, b long)``, ``a < b``: the member pairs of every bucket of 2 to ``max_bucket``
    members, once per shared band (dense ids; ``distinct()`` them before scoring with
    :func:`pair_estimates`). Each task streams its sorted runs through numpy. Lazy.

    Parameters
    ----------
    sorted_keys : DataFrame
        From :func:`sorted_band_keys`.
    max_bucket : int
    """
    import pyarrow as pa

    cap = int(max_bucket)

    def convert(batch):
        return {ID: batch.column(ID).to_numpy(), BAND: batch.column(BAND).to_numpy(),
                KEY: batch.column(KEY).to_numpy()}

    def run(batches):
        for cols in _whole_groups(batches, convert, [BAND, KEY], 1 << 18):
            starts = _group_starts(cols, [BAND, KEY])
            sizes = np.diff(np.append(starts, cols[ID].shape[0]))
            for a, b in _run_pairs(cols[ID], starts, sizes, cap):
                yield pa.RecordBatch.from_arrays([pa.array(a, pa.int64()), pa.array(b, pa.int64())], [PAIR_A, PAIR_B])

    return sorted_keys.mapInArrow(run, f"{PAIR_A} long, {PAIR_B} long")


def pair_estimates(pairs, signatures, num_perm: int, threshold: float | None = None):
    """``(a, b, jaccard_estimate double)``: the fraction of equal slots of the two signatures,
    kept when ``>= threshold`` (Spark SQL; dense ids). Lazy."""
    from pyspark.sql import functions as F

    sig_a = signatures.select(F.col(ID).alias(PAIR_A), F.col(SIGNATURE).alias("_sa"))
    sig_b = signatures.select(F.col(ID).alias(PAIR_B), F.col(SIGNATURE).alias("_sb"))
    equal = F.zip_with("_sa", "_sb", lambda x, y: (x == y).cast("int"))
    agreement = F.aggregate(equal, F.lit(0), lambda acc, x: acc + x)
    frame = pairs.join(sig_a, PAIR_A).join(sig_b, PAIR_B).select(
        PAIR_A, PAIR_B, (agreement / F.lit(int(num_perm))).cast("double").alias(JACCARD))
    if threshold is not None:
        frame = frame.filter(F.col(JACCARD) >= F.lit(float(threshold)))
    return frame


def _signature_matrix(column, num_perm: int) -> np.ndarray:
    """uint32 ``(rows, num_perm)`` view of an Arrow ``list<int32>`` column of signatures."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(values, dtype=np.int32).view(np.uint32).reshape(-1, num_perm)


# -- estimator -------------------------------------------------------------------------------
#: The estimator parameters that make up its :class:`SignatureConfig`.
_CONFIG_FIELDS = ("num_perm", "bands", "rows", "neighbourhood", "seed", "scheme", "max_bucket", "num_partitions",
                  "max_broadcast_bytes")


class NeighbourhoodSignatures(Estimator):
    """MinHash signatures of every vertex's neighbourhood, computed by Spark.

    Parameters
    ----------
    num_perm : int, default 128
        Signature length.
    bands, rows : int, optional
        Banding, ``bands * rows == num_perm``; default ``rows=2``.
    neighbourhood : {"out", "in", "both"}, default "out"
        Which neighbours form a vertex's set (identical for undirected graphs).
    seed : int, default 1
        Seed of the hash family. 1 is datasketch's default, so
        ``datasketch.MinHash(num_perm, seed=1)`` over ``str(neighbour_id).encode()`` gives the
        same values.
    scheme : {"affine32", "legacy"}, default "affine32"
        Permutation scheme (datasketch >= 2.0 default, or the pre-2.0 Mersenne family).
    max_bucket : int, default 1000
        Buckets with more members are skipped by :meth:`similar_pairs` (see the module notes).
    num_partitions : int, optional
        Partitions of the per-vertex and per-bucket shuffles (default
        ``spark.sql.shuffle.partitions``).
    max_broadcast_bytes : int, default 2**30
        Largest signature matrix broadcast to score candidate pairs in place (see
        :class:`SignatureConfig`); 0 always uses joins.
    pairs_threshold : float in (0, 1], optional
        :meth:`save` also writes the candidate pairs with estimated Jaccard ``>= pairs_threshold``
        (``pairs/`` in the index artifact). They are collected to the driver through Arrow
        (20-30 bytes a pair), so keep the threshold high enough for the result to fit
        ``spark.driver.maxResultSize``.
    extra_params : dict, optional
        More provenance for the index manifest written by :meth:`save` (e.g. the input path).

    Attributes
    ----------
    config_ : SignatureConfig
        The validated parameters (``bands`` and ``rows`` resolved).
    bands_, rows_ : int
    hash_family_ : graphkit.lsh._kernels.HashFamily
    graph_ : Graph
        The graph the signatures were computed from.
    signatures_ : DataFrame
        ``(id long, signature array<int>)``, one row per vertex (dense id), persisted.
    band_keys_ : DataFrame
        ``(id long, band int, key long)`` of the non-empty signatures (lazy).
    num_vertices_ : int
    timings_ : dict
        Seconds per stage (``signatures`` from :meth:`fit`; ``pairs``, ``collect``, ``index``,
        ``write`` from :meth:`save`).
    export_summary_ : ExportSummary
        What :meth:`save` wrote (set by :meth:`save`).

    Examples
    --------
    On the built-in planted-partition graph (needs a Spark session; ``fit``, ``collect``,
    ``to_index`` and actions on ``similar_pairs`` run Spark jobs):

    >>> from graphkit import Graph, get_session                                # doctest: +SKIP
    >>> from graphkit.datasets import planted_partition
    >>> graph = Graph.from_csr(get_session(), planted_partition()[0])          # doctest: +SKIP
    >>> est = NeighbourhoodSignatures(num_perm=128).fit(graph)                  # doctest: +SKIP
    >>> index = est.to_index()   # the same bytes as LSHIndex.from_graph          # doctest: +SKIP
    >>> est.similar_pairs(0.3).count()                                         # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        num_perm: int = 128,
        bands: int | None = None,
        rows: int | None = None,
        neighbourhood: str = "out",
        seed: int = 1,
        scheme: str = "affine32",
        max_bucket: int = DEFAULT_MAX_BUCKET,
        num_partitions: int | None = None,
        max_broadcast_bytes: int = DEFAULT_MAX_BROADCAST_BYTES,
        pairs_threshold: float | None = None,
        extra_params: dict | None = None,
    ):
        self.num_perm = num_perm
        self.bands = bands
        self.rows = rows
        self.neighbourhood = neighbourhood
        self.seed = seed
        self.scheme = scheme
        self.max_bucket = max_bucket
        self.num_partitions = num_partitions
        self.max_broadcast_bytes = max_broadcast_bytes
        self.pairs_threshold = pairs_threshold
        self.extra_params = extra_params

    def config(self) -> SignatureConfig:
        """The signature parameters as a validated :class:`SignatureConfig` (raises ``ValueError``)."""
        return SignatureConfig(**{name: getattr(self, name) for name in _CONFIG_FIELDS}).validate()

    def _validate(self) -> None:
        self.config()
        if self.pairs_threshold is not None:
            check_pairs_threshold(self.pairs_threshold)
        if self.extra_params is not None and not isinstance(self.extra_params, dict):
            raise ValueError(f"extra_params must be a dict or None, got {self.extra_params!r}")

    def fit(self, graph, progress: Progress | bool | None = None) -> "NeighbourhoodSignatures":
        """Compute (and persist) the signatures of every vertex of ``graph``.

        Runs Spark actions: the signature pass, materialised once into the cache.
        """
        from pyspark import StorageLevel

        from graphkit.graph import Graph

        self._validate_params()
        if not isinstance(graph, Graph):
            raise TypeError(f"NeighbourhoodSignatures.fit expects a graphkit Graph, got {type(graph).__name__}")
        config = self.config()
        self._report = _progress.reporter(progress)
        self._report(f"signatures ({config.num_perm} permutations, {config.neighbourhood}-neighbourhoods)")
        started = time.perf_counter()
        signatures = signature_frame(graph, config).persist(StorageLevel.MEMORY_AND_DISK)
        self.num_vertices_ = signatures.count()
        self.timings_ = {"signatures": time.perf_counter() - started}
        self.config_ = config
        self.bands_, self.rows_ = config.bands, config.rows
        self.hash_family_ = K.hash_family(config.num_perm, config.seed, config.scheme)
        self.graph_ = graph
        self.signatures_ = signatures
        self.band_keys_ = band_key_frame(signatures, config.bands, config.rows)
        self._sorted_keys = self._collected = self._broadcast = self._band_stats = None
        return self

    # -- pairs ------------------------------------------------------------------------------
    def _broadcast_signatures(self):
        """The signatures broadcast to the tasks (strategy 1), or None when they are too big."""
        if self.num_vertices_ * self.config_.num_perm * 4 > self.config_.max_broadcast_bytes:
            return None
        if self._broadcast is None:
            self._broadcast = self.signatures_.sparkSession.sparkContext.broadcast(self.collect()[1])
        return self._broadcast

    def _band_summary(self):
        """(report totals, sorted oversized keys) from :func:`band_bucket_stats`, computed once."""
        if self._band_stats is None:
            table = band_bucket_stats(self.signatures_.sparkSession, self._broadcast_signatures(), self.config_).toArrow()
            totals = {name: int(pa_sum) for name, pa_sum in (
                ("buckets", np.sum(table.column("buckets").to_numpy())),
                ("largest", np.max(table.column("largest").to_numpy(), initial=0)),
                ("skipped", np.sum(table.column("skipped").to_numpy())),
                ("skipped_pairs", np.sum(table.column("skipped_pairs").to_numpy())),
            )}
            oversized = table.column("oversized").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            self._band_stats = (totals, np.sort(np.asarray(oversized, dtype=np.int64).view(np.uint64)))
        return self._band_stats

    def sorted_band_keys(self):
        """:func:`sorted_band_keys` of :attr:`band_keys_` (strategy 2; persisted on first use:
        the bucket report and the pairs both read it, so the keys are shuffled once)."""
        from pyspark import StorageLevel

        self._check_fitted("signatures_")
        if self._sorted_keys is None:
            partitions = self.config_.num_partitions or int(
                self.signatures_.sparkSession.conf.get("spark.sql.shuffle.partitions"))
            self._sorted_keys = sorted_band_keys(self.band_keys_, partitions).persist(StorageLevel.MEMORY_AND_DISK)
        return self._sorted_keys

    def similar_pairs(self, threshold: float, *, user_ids: bool = True):
        """Pairs of vertices sharing a band whose estimated Jaccard is ``>= threshold``.

        Two strategies, same answer: when the signatures fit ``max_broadcast_bytes`` they are
        collected, broadcast, and the pairs are formed and scored band by band in the tasks
        (:func:`band_pairs`, no shuffle); otherwise the band keys are shuffled into buckets,
        pairs deduplicated and scored by joining the signatures (:func:`bucket_pairs`,
        :func:`pair_estimates`).

        Parameters
        ----------
        threshold : float in (0, 1]
        user_ids : bool, default True
            Translate ``a`` and ``b`` to the user's ids (else dense ids).

        Returns
        -------
        DataFrame
            ``(a, b, jaccard_estimate)`` with ``a < b`` (user-id order equals dense order),
            each pair once; ``jaccard_estimate`` is the fraction of equal signature slots, the
            same number as :meth:`LSHIndex.jaccard`. Pairs that meet only in buckets above
            ``max_bucket`` members are missing (see :meth:`bucket_report`). Lazy, apart from
            collecting the signatures for the broadcast.
        """
        threshold = check_pairs_threshold(threshold)
        self._check_fitted("signatures_")
        config = self.config_
        broadcast = self._broadcast_signatures()
        if broadcast is not None:
            oversized = self._band_summary()[1]
            frame = band_pairs(self.signatures_.sparkSession, broadcast, config, threshold, oversized)
        else:
            pairs = bucket_pairs(self.sorted_band_keys(), config.max_bucket).distinct()
            frame = pair_estimates(pairs, self.signatures_, config.num_perm, threshold)
        if user_ids:
            frame = self.graph_.translate(frame, PAIR_A, PAIR_B).select(PAIR_A, PAIR_B, JACCARD)
        return frame

    def bucket_report(self) -> dict:
        """Facts about the buckets (a Spark action).

        Returns
        -------
        dict
            ``buckets`` (with >= 2 members), ``largest`` (members of the biggest),
            ``skipped`` (buckets above ``max_bucket``), ``skipped_pairs`` (pairs those would
            have emitted, counted once per band), ``max_bucket``.
        """
        from pyspark.sql import functions as F

        self._check_fitted("signatures_")
        cap = self.config_.max_bucket
        if self._broadcast_signatures() is not None:
            row = self._band_summary()[0]
        else:
            big = F.col(SIZE) > cap
            row = bucket_sizes(self.sorted_band_keys()).agg(
                F.count("*").alias("buckets"),
                F.max(SIZE).alias("largest"),
                F.sum(big.cast("long")).alias("skipped"),
                F.sum(F.when(big, F.col(SIZE) * (F.col(SIZE) - 1) / 2).otherwise(0)).cast("long").alias("skipped_pairs"),
            ).first()
        return {
            "buckets": int(row["buckets"] or 0),
            "largest": int(row["largest"] or 0),
            "skipped": int(row["skipped"] or 0),
            "skipped_pairs": int(row["skipped_pairs"] or 0),
            "max_bucket": int(cap),
        }

    # -- to the driver ----------------------------------------------------------------------
    def collect(self) -> tuple[np.ndarray, np.ndarray]:
        """Signatures on the driver, through Arrow (a Spark action).

        Returns
        -------
        ids : ndarray, shape (n,)
            User ids, in dense-id (= sorted user id) order.
        signatures : ndarray of uint32, shape (n, num_perm)
            Read-only; kept on the estimator, so a second call is free.

        Notes
        -----
        ``n * num_perm * 4`` bytes travel to the driver (65 MB for a million vertices at 16
        permutations, 512 MB at 128): ``spark.driver.maxResultSize`` must allow it.
        """
        self._check_fitted("signatures_")
        if self._collected is not None:
            return self._collected
        table = self.signatures_.toArrow()
        dense = table.column(ID).to_numpy()
        sig = _signature_matrix(table.column(SIGNATURE), self.config_.num_perm)
        order = np.argsort(dense, kind="stable")
        if not np.array_equal(dense[order], np.arange(self.num_vertices_)):
            raise RuntimeError("signature rows do not cover the dense ids 0..n-1 exactly once")
        sig = np.ascontiguousarray(sig[order])
        sig.flags.writeable = False
        self._collected = (self.graph_.vertex_names(), sig)
        return self._collected

    def to_index(self, *, keep_graph: bool = True, extra_params: dict | None = None) -> LSHIndex:
        """The local :class:`LSHIndex` of these signatures (Spark actions: collect, and the graph
        for ``keep_graph``). Equal to ``LSHIndex.from_graph(graph.to_csr(), ...)`` with the same
        parameters."""
        self._check_fitted("signatures_")
        ids, sig = self.collect()
        adjacency = None
        params = {"closed": False, "min_degree": 0}
        if keep_graph:
            adjacency = neighbourhood_csr(self.graph_.to_csr(), self.config_.neighbourhood)
            params.update(graph_vertices=adjacency.num_vertices, graph_edges=adjacency.num_edges)
        params.update(extra_params or {})
        params["built_by"] = "spark"
        return LSHIndex.build(
            sig, ids, bands=self.config_.bands, rows=self.config_.rows, seed=self.config_.seed,
            scheme=self.config_.scheme, neighbourhood=self.config_.neighbourhood, graph=adjacency,
            extra_params=params,
        )

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the local LSH index artifact (and ``pairs/`` with ``pairs_threshold``)
        atomically; see :func:`write_index`. Returns the path."""
        self._check_fitted("signatures_")
        self.export_summary_ = write_index(self, path, overwrite=overwrite)
        return self.export_summary_.path

    def close(self) -> None:
        """Release the cached Spark data (:meth:`unpersist`); the fitted attributes stay."""
        self.unpersist()

    def unpersist(self) -> None:
        """Release the cached signatures, band keys, driver copy and broadcast."""
        for frame in (getattr(self, "signatures_", None), getattr(self, "_sorted_keys", None)):
            if frame is not None:
                frame.unpersist()
        if getattr(self, "_broadcast", None) is not None:
            self._broadcast.destroy()
        self._sorted_keys = self._collected = self._broadcast = self._band_stats = None


# -- the job's library function --------------------------------------------------------------
@dataclass
class ExportSummary:
    """What :meth:`NeighbourhoodSignatures.save` (:func:`write_index`) wrote."""

    path: Path
    num_vertices: int
    indexed: int
    seconds: float
    pairs: int | None = None
    pairs_threshold: float | None = None
    buckets: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


def write_index(estimator: NeighbourhoodSignatures, output: str | os.PathLike, *,
                overwrite: bool = False) -> ExportSummary:
    """Write a fitted estimator's local index (and optional pairs) atomically: the body of
    :meth:`NeighbourhoodSignatures.save`.

    ``output`` becomes one ``graphkit.lsh-index`` artifact (see :mod:`graphkit.lsh.index`),
    loadable with :meth:`LSHIndex.load`. With the estimator's ``pairs_threshold``, it also holds
    ``pairs/``: Parquet ``(a, b, jaccard_estimate)`` in user ids, sorted by ``(a, b)``, listed
    and checksummed in the manifest (``pairs`` entry: threshold, count, bucket report).
    Everything is built in a temporary sibling directory and renamed into place at the end.

    Parameters
    ----------
    estimator : NeighbourhoodSignatures
        Fitted.
    output : path
        A directory on the driver's file system (the index is a local artifact).
    overwrite : bool, default False

    Raises
    ------
    OutputExistsError
        ``output`` exists and ``overwrite`` is False (checked before any work).
    ValueError
        ``output`` is a URL other than ``file://``.
    """
    import pyarrow.parquet as pq

    from graphkit.artifacts import ArtifactWriter, atomic_directory, check_output_path

    output = local_output(output)
    check_output_path(output, overwrite)
    say = getattr(estimator, "_report", None) or _progress.reporter(None)
    graph, pairs_threshold = estimator.graph_, estimator.pairs_threshold
    timings = dict(estimator.timings_)
    pairs_table, report = None, {}
    if pairs_threshold is not None:
        pairs_threshold = check_pairs_threshold(pairs_threshold)
        say(f"candidate pairs with estimated Jaccard >= {pairs_threshold:g}")
        t = time.perf_counter()
        report = estimator.bucket_report()
        if report["skipped"]:
            say(f"skipping {report['skipped']:,} buckets above {report['max_bucket']:,} members "
                f"(largest {report['largest']:,}; {report['skipped_pairs']:,} pairs not formed)")
        pairs_table = estimator.similar_pairs(pairs_threshold).toArrow()
        pairs_table = pairs_table.sort_by([(PAIR_A, "ascending"), (PAIR_B, "ascending")])
        timings["pairs"] = time.perf_counter() - t
    say("collecting the signatures to the driver")
    t = time.perf_counter()
    estimator.collect()
    timings["collect"] = time.perf_counter() - t
    say("building the index (neighbourhood graph to the driver, band tables)")
    t = time.perf_counter()
    params = {"input_directed": bool(graph.directed), **(estimator.extra_params or {})}
    index = estimator.to_index(extra_params=params)
    index.graph_fingerprint = graph.fingerprint()  # ties the index (and its pairs) to the graph
    timings["index"] = time.perf_counter() - t
    t = time.perf_counter()
    with atomic_directory(output, overwrite=overwrite) as tmp:
        writer = ArtifactWriter(tmp, FORMAT, VERSION, index.params, graph=index.graph_fingerprint, seed=index.seed)
        fields = index.write_arrays(writer)
        if pairs_table is not None:
            (tmp / "pairs").mkdir()
            pq.write_table(pairs_table, tmp / "pairs" / "part-00000.parquet")
            writer.add_file("pairs")
            fields["pairs"] = {"path": "pairs", "threshold": pairs_threshold, "count": pairs_table.num_rows,
                               "columns": [PAIR_A, PAIR_B, JACCARD], "buckets": report}
        writer.finish(**fields)
    timings["write"] = time.perf_counter() - t
    return ExportSummary(
        path=Path(output),
        num_vertices=estimator.num_vertices_,
        indexed=int((~K.is_empty_signature(np.asarray(index._signatures))).sum()),
        seconds=sum(timings.values()),
        pairs=None if pairs_table is None else pairs_table.num_rows,
        pairs_threshold=pairs_threshold,
        buckets=report,
        timings=timings,
    )


def local_output(output: str | os.PathLike) -> str:
    """``output`` as a path on this machine (``file://`` removed); ``ValueError`` for any other URL
    (the index is a local artifact)."""
    output = os.fspath(output)
    if "://" in output and not output.startswith("file://"):
        raise ValueError(f"OUTPUT must be a directory on this machine (the index is a local artifact), got {output}")
    return output.removeprefix("file://")


def export_index(
    graph,
    output: str | os.PathLike,
    estimator: NeighbourhoodSignatures | None = None,
    *,
    pairs_threshold: float | None = None,
    overwrite: bool = False,
    progress: Progress | bool | None = None,
    extra_params: dict | None = None,
) -> ExportSummary:
    """Compute signatures with Spark and write the local index (and optional pairs) atomically:
    :func:`graphkit.build.build` with ``estimator`` (default ``NeighbourhoodSignatures()``,
    unfitted) given ``pairs_threshold`` and ``extra_params`` (see
    :class:`NeighbourhoodSignatures`). Returns what :meth:`NeighbourhoodSignatures.save` wrote,
    with ``seconds`` the whole run's wall time.

    Raises
    ------
    OutputExistsError
        ``output`` exists and ``overwrite`` is False (checked before any work).
    """
    from graphkit.build import build

    started = time.perf_counter()
    estimator = NeighbourhoodSignatures() if estimator is None else estimator
    estimator.set_params(pairs_threshold=pairs_threshold, extra_params=extra_params)
    build(graph, estimator, local_output(output), overwrite=overwrite, progress=progress)
    return replace(estimator.export_summary_, seconds=time.perf_counter() - started)


__all__ = [
    "NeighbourhoodSignatures", "SignatureConfig", "ExportSummary", "export_index", "write_index", "local_output",
    "element_hash_frame", "neighbour_hash_rows", "signature_frame", "band_key_frame",
    "band_pairs", "band_bucket_stats", "sorted_band_keys", "bucket_sizes", "bucket_pairs", "pair_estimates",
    "check_pairs_threshold",
]
