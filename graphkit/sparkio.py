"""Spark-side plumbing shared by every capability: atomic outputs and per-task kernels.

* :func:`write_parquet` writes a DataFrame to a temporary sibling path and renames it into place
  only when Spark has finished, so a killed job leaves no output that looks complete, and an
  existing output is refused unless ``overwrite``.
* :func:`map_vertex_batches` runs a pure numpy kernel inside Spark tasks over a broadcast CSR:
  each task receives a batch of dense source vertices and yields Arrow record batches. This is
  the "one implementation, two callers" bridge: the same kernel runs on a laptop.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Callable, Iterable

import numpy as np

from graphkit import _jvm
from graphkit.errors import OutputExistsError


def check_output(spark, path: str, overwrite: bool) -> None:
    """Refuse an existing output early (before any work) unless ``overwrite``."""
    if _jvm.path_exists(spark, path) and not overwrite:
        raise OutputExistsError(f"output {path} already exists (pass --overwrite to replace it)")


def local_path(path: str) -> str | None:
    """The driver-local file system path of ``path`` (plain or ``file:``), else None."""
    if path.startswith("file:"):
        return "/" + path.removeprefix("file:").lstrip("/")
    return None if "://" in path else path


def write_parquet(frame, path: str, overwrite: bool = False, artifact: dict | None = None) -> str:
    """Write ``frame`` as Parquet at ``path`` atomically (temporary path, then rename).

    Parameters
    ----------
    frame : DataFrame
    path : str
    overwrite : bool, default False
    artifact : dict, optional
        Keyword arguments of :func:`graphkit.artifacts.seal_directory` (``format``,
        ``version``, ``params``, ``graph``, ``seed``): after Spark has written the parts, the
        driver lists and checksums them and writes the manifest into the temporary directory,
        so the output appears complete with its manifest or not at all. This reads the output
        once on the driver (about 1 s per GB) and needs ``path`` on the driver's file system
        (plain or ``file:``); elsewhere (HDFS, S3) no manifest is written.
    """
    from graphkit.artifacts import seal_directory

    spark = frame.sparkSession
    check_output(spark, path, overwrite)
    parent, _, name = path.rstrip("/").rpartition("/")
    tmp = f"{parent or '.'}/.{name}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        frame.write.mode("overwrite").parquet(tmp)
        if artifact is not None and local_path(tmp) is not None:
            seal_directory(local_path(tmp), **artifact)
        if _jvm.path_exists(spark, path):
            _jvm.delete_path(spark, path)
        _jvm.rename_path(spark, tmp, path)
    finally:
        _jvm.delete_path(spark, tmp)
    return path


def map_vertex_batches(
    spark,
    num_vertices: int,
    kernel: Callable[[np.ndarray], Iterable],
    schema: str,
    num_batches: int | None = None,
    vertices: np.ndarray | None = None,
):
    """Run ``kernel(sources) -> iterable of pyarrow.RecordBatch`` in Spark tasks.

    Parameters
    ----------
    spark : SparkSession
    num_vertices : int
        Dense ids ``0..num_vertices-1`` are split into contiguous batches.
    kernel : callable
        Pure function of an int64 array of dense source ids; it closes over whatever it needs
        (normally ``Broadcast`` handles of the CSR and other arrays, read with ``.value`` inside).
    schema : str
        Spark DDL of the rows the kernel yields.
    num_batches : int, optional
        Number of tasks; default: 4 per core, at least 1, at most ``num_vertices``.
    vertices : ndarray, optional
        Only these dense ids (default all).

    Returns
    -------
    DataFrame with ``schema``.
    """
    parallelism = spark.sparkContext.defaultParallelism
    count = num_vertices if vertices is None else int(len(vertices))
    num_batches = max(1, min(count, num_batches or 4 * parallelism))
    bounds = np.linspace(0, count, num_batches + 1).astype(np.int64)
    chosen = None if vertices is None else spark.sparkContext.broadcast(np.asarray(vertices, dtype=np.int64))
    starts = spark.createDataFrame([(int(bounds[i]), int(bounds[i + 1])) for i in range(num_batches)],
                                   "lo long, hi long").repartition(num_batches)

    def run(batches):
        for batch in batches:
            lo_col, hi_col = batch.column("lo").to_numpy(), batch.column("hi").to_numpy()
            for lo, hi in zip(lo_col, hi_col):
                sources = np.arange(lo, hi, dtype=np.int64) if chosen is None else chosen.value[lo:hi]
                yield from kernel(sources)

    return starts.mapInArrow(run, schema)


class Scratch:
    """Intermediate results of an iterative job, written as Parquet under the session's checkpoint
    directory and deleted by :meth:`close`.

    Iterating on cached DataFrames makes every round's plan contain all the previous ones, and
    Spark's planning time then grows with the depth; writing a round out and reading it back cuts
    the lineage. Files on the checkpoint directory (HDFS/S3 on a cluster) also survive the loss
    of an executor, which ``localCheckpoint`` does not. Without a checkpoint directory, rounds
    fall back to ``localCheckpoint``.
    """

    def __init__(self, spark, name: str):
        self.spark = spark
        base = spark.sparkContext.getCheckpointDir()
        self.path = f"{base.rstrip('/')}/{name}-{uuid.uuid4().hex[:12]}" if base else None
        self._serial = itertools.count(1)  # next() is atomic: pipelined batches share a scratch

    def freeze(self, frame, label: str = "part"):
        """``frame`` materialised with no lineage (a Parquet scan, or a local checkpoint)."""
        if self.path is None:
            return frame.localCheckpoint(eager=True)
        target = f"{self.path}/{label}-{next(self._serial):05d}"
        frame.write.mode("overwrite").parquet(target)
        return self.spark.read.parquet(target)

    def close(self) -> None:
        if self.path is not None:
            _jvm.delete_path(self.spark, self.path)
