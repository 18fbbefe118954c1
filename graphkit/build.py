"""The one build path: graph + estimator -> artifact, for every capability.

The command line, the ``spark-submit`` jobs, the notebooks and the benchmarks all call
:func:`build`; there is no second way to write an artifact. Importing this module does not
import pyspark (``build`` reaches Spark through the graph it is given).
"""

from __future__ import annotations

import os


def build(graph, estimator, output: str | os.PathLike, *, overwrite: bool = False, progress=None):
    """Fit ``estimator`` on ``graph`` and write its artifact to ``output``.

    Parameters
    ----------
    graph : graphkit.Graph
    estimator : FullyPersonalizedPageRank, PPRIndex, RecursivePartitionEmbedding or NeighbourhoodSignatures
        Any graphkit estimator: ``fit(graph, progress=)``, ``save(path, overwrite=)`` and, where
        it keeps intermediate files, ``close()``.
    output : str or path
        The artifact's directory (local or a Hadoop URL where the estimator writes Parquet). Written
        atomically by ``save``: a reader never sees a half-written artifact.
    overwrite : bool, default False
        Replace an existing output; otherwise an existing one is refused before any work.
    progress : callable, False or None
        The one progress interface (:mod:`graphkit._progress`).

    Returns
    -------
    str
        The artifact's path, as ``save`` returned it.

    Raises
    ------
    OutputExistsError
        ``output`` exists and ``overwrite`` is False (checked before the graph is read).
    ValueError
        A parameter of ``estimator`` is invalid (checked before any Spark action).
    """
    from graphkit._progress import reporter

    output = os.fspath(output)
    check_before_reading(estimator, output, overwrite)
    if "://" in output:  # a Hadoop URL: only Spark can look
        from graphkit.sparkio import check_output

        check_output(graph.spark, output, overwrite)
    report = reporter(progress)
    try:
        estimator.fit(graph, progress=progress)
        report(f"writing {output}")
        return str(estimator.save(output, overwrite=overwrite))
    finally:
        close = getattr(estimator, "close", None)
        if close is not None:
            close()


def check_before_reading(estimator, output: str | os.PathLike, overwrite: bool) -> None:
    """What :func:`build` refuses without the graph: an existing local ``output`` (unless
    ``overwrite``) and an invalid parameter. The command line calls it before it reads the
    graph, so a mistake costs no Spark work.

    Raises
    ------
    OutputExistsError, ValueError
    """
    from graphkit.artifacts import check_output_path

    output = os.fspath(output)
    if "://" not in output:
        check_output_path(output, overwrite)
    estimator._validate_params()
