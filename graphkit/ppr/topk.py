"""Fully-PPR results on the local side: the ``graphkit.ppr-topk`` artifact ``graphkit ppr`` writes.

The artifact is Spark's Parquet parts ``(src, dst, score)`` in the user's ids plus a manifest
(:mod:`graphkit.artifacts`) listing every part with its size and CRC-32, the parameters, the
seed and the input graph's fingerprint. :func:`load_topk` reads exactly the listed parts.
Never imports pyspark.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from graphkit.errors import ArtifactError

__all__ = ["FORMAT", "VERSION", "TopK", "load_topk"]

FORMAT = "graphkit.ppr-topk"
VERSION = (1, 0)
COLUMNS = ("src", "dst", "score")


@dataclass
class TopK:
    """Top-k PPR rows, sorted by ``(src, -score)``.

    Attributes
    ----------
    src, dst : ndarray
        User ids.
    score : ndarray of float64
        Finite, in ``[0, 1]``.
    graph_fingerprint : dict or None
    params : dict
    """

    src: np.ndarray
    dst: np.ndarray
    score: np.ndarray
    graph_fingerprint: dict | None = None
    params: dict = field(default_factory=dict)


def load_topk(path: str | os.PathLike, verify: bool | str = True) -> TopK:
    """Read and check a ``graphkit.ppr-topk`` artifact.

    Checked: the manifest and every listed part (sizes, CRC-32 unless ``verify=False``),
    columns, no nulls, scores finite in ``[0, 1]``, at most ``top_k`` rows per source and no
    repeated ``(src, dst)``.

    Raises
    ------
    ArtifactError
        Damage or a failed check, in one line.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from graphkit.artifacts import Checks, open_artifact

    art = open_artifact(path, FORMAT, VERSION[0], verify=verify)
    files = art.files_under("", ".parquet")
    if not files:
        raise ArtifactError(f"{art.path}: no Parquet parts listed")
    try:
        table = pa.concat_tables([pq.read_table(f, columns=list(COLUMNS)) for f in files], promote_options="permissive")
    except (pa.ArrowException, OSError, KeyError) as exc:
        raise ArtifactError(f"{art.path}: unreadable results ({str(exc)[:120]})") from None
    if any(table.column(c).null_count for c in COLUMNS):
        raise ArtifactError(f"{art.path}: null values in the results")
    src = table.column("src").to_numpy()
    dst = table.column("dst").to_numpy()
    try:
        score = table.column("score").to_numpy().astype(np.float64)
    except (ValueError, TypeError):
        raise ArtifactError(f"{art.path}: column 'score' is not numeric") from None
    if src.dtype == object:
        src, dst = src.astype(str), dst.astype(str)
    order = np.lexsort((-score, src))
    src, dst, score = src[order], dst[order], score[order]
    check = Checks(art.path, "PPR results")
    if check.finite("scores", score, low=0.0):
        check.require(not score.size or float(score.max()) <= 1.0 + 1e-6, "scores exceed 1")
    top_k = art.params.get("top_k")
    if src.size:
        first = np.ones(src.shape[0], dtype=bool)
        first[1:] = src[1:] != src[:-1]
        per_source = np.diff(np.append(np.flatnonzero(first), src.shape[0]))
        if isinstance(top_k, int):
            check.require(int(per_source.max()) <= top_k, f"a source has {int(per_source.max())} rows, top_k is {top_k}")
        pairs = np.lexsort((dst, src))
        same = (src[pairs][1:] == src[pairs][:-1]) & (dst[pairs][1:] == dst[pairs][:-1])
        check.require(not same.any(), "a (src, dst) pair appears more than once")
    check.raise_if_any()
    return TopK(src, dst, score, art.graph, dict(art.params))
