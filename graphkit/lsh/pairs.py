"""The Spark side of MinHash-LSH: candidate pairs from band keys (two strategies, one answer).


Candidate pairs (:meth:`~graphkit.lsh.spark.NeighbourhoodSignatures.similar_pairs`) are the pairs sharing at least
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


This module imports pyspark only inside its functions.
"""

from __future__ import annotations

import numpy as np

from graphkit.lsh import kernels as K
from graphkit.lsh._batches import group_starts, whole_groups
from graphkit.lsh.signatures import BAND, ID, JACCARD, KEY, PAIR_A, PAIR_B, SIGNATURE, SIZE, SignatureConfig


# Candidate pairs, strategy 1 (signatures broadcast): one step per band, no shuffle.
def band_pairs(spark, signatures, config: SignatureConfig, threshold: float, oversized=None):
    """``(a long, b long, jaccard_estimate double)``: candidate pairs with estimate ``>= threshold``
    (dense ids, ``a < b``, each pair once), formed band by band against broadcast signatures.

    Each task takes a range of bands; for band ``j`` it computes the band-``j`` keys of all
    non-empty signatures (:func:`~graphkit.lsh.kernels.band_keys` with ``first_band=j``, equal
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
        for cols in whole_groups(batches, convert, [BAND, KEY], 1 << 18):
            starts = group_starts(cols, [BAND, KEY])
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


__all__ = ["band_pairs", "band_bucket_stats", "sorted_band_keys", "bucket_sizes", "bucket_pairs", "pair_estimates"]
