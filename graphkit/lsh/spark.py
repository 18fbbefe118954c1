"""The Spark estimator of MinHash-LSH: :class:`NeighbourhoodSignatures` (fit -> signatures,
candidate pairs, local index; ``save`` writes the index artifact, see :mod:`graphkit.lsh.export`).

Importing this module does not import pyspark (its methods do).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from graphkit import _progress
from graphkit._progress import Progress
from graphkit.base import Estimator
from graphkit.lsh import kernels as K
from graphkit.lsh._batches import signature_matrix
from graphkit.lsh.index import LSHIndex
from graphkit.lsh.neighbourhood import neighbourhood_csr
from graphkit.lsh.pairs import band_bucket_stats, band_pairs, bucket_pairs, bucket_sizes, pair_estimates, sorted_band_keys
from graphkit.lsh.signatures import (
    DEFAULT_MAX_BROADCAST_BYTES, DEFAULT_MAX_BUCKET, ID, JACCARD, PAIR_A, PAIR_B, SIGNATURE, SIZE, SignatureConfig,
    band_key_frame, check_pairs_threshold, signature_frame,
)


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
    hash_family_ : graphkit.lsh.kernels.HashFamily
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
    export_summary_ : graphkit.lsh.export.ExportSummary
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
        sig = signature_matrix(table.column(SIGNATURE), self.config_.num_perm)
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
        atomically; see :func:`graphkit.lsh.export.write_index`. Returns the path."""
        from graphkit.lsh.export import write_index

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


__all__ = ["NeighbourhoodSignatures"]
