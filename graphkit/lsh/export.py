"""The LSH index artifact written from Spark: :func:`write_index`, the body of
:meth:`NeighbourhoodSignatures.save <graphkit.lsh.spark.NeighbourhoodSignatures.save>`
(graph -> artifact is :func:`graphkit.build.build`, as for every capability).

Importing this module does not import pyspark.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graphkit import _progress
from graphkit.lsh import kernels as K
from graphkit.lsh.storage import save_index
from graphkit.lsh.signatures import JACCARD, PAIR_A, PAIR_B, check_pairs_threshold


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


def write_index(estimator: "NeighbourhoodSignatures", output: str | os.PathLike, *,
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

    from graphkit.artifacts import check_output_path

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

    def write_pairs(directory: Path, writer) -> dict:
        if pairs_table is None:
            return {}
        (directory / "pairs").mkdir()
        pq.write_table(pairs_table, directory / "pairs" / "part-00000.parquet")
        writer.add_file("pairs")
        return {"pairs": {"path": "pairs", "threshold": pairs_threshold, "count": pairs_table.num_rows,
                          "columns": [PAIR_A, PAIR_B, JACCARD], "buckets": report}}

    save_index(index, output, overwrite=overwrite, add_files=write_pairs)
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


__all__ = ["ExportSummary", "local_output", "write_index"]
