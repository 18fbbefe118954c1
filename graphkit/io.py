"""Single-machine readers: edge lists into :class:`~graphkit.csr.CSRGraph`, and ground truth.

These never import pyspark; they serve the local side, tests and benchmarks (the Spark side reads
through :class:`graphkit.Graph`, which applies the same grammar and validation rules).

Edge-list grammar (SNAP text, CSV, TSV, optionally gzip): one edge per line,
``src<sep>dst[<sep>weight]`` where ``<sep>`` is whitespace or a comma; lines starting with ``#`` or
``%`` and blank lines are ignored; a CSV header line (first line, non-numeric) is skipped when
``header=True``.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import re
from pathlib import Path

import numpy as np

from graphkit.csr import CSRGraph
from graphkit.errors import EmptyGraphError, InputFormatError

COMMENT_PREFIXES = ("#", "%")
FIELD_SPLIT = re.compile(r"[\s,]+")


def open_text(path: str | os.PathLike):
    """Open a text file, transparently gunzipping ``*.gz``; a clear error if it is missing."""
    path = Path(path)
    if not path.exists():
        raise InputFormatError(f"{path}: no such file")
    if path.is_dir():
        raise InputFormatError(f"{path}: is a directory, expected an edge-list file")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="strict")
    return open(path, encoding="utf-8", errors="strict")


def check_weight(value: float, where: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise InputFormatError(f"{where}: weight {value!r} is not a finite positive number")
    return value


def read_edge_list(
    path: str | os.PathLike,
    *,
    weighted: bool = False,
    int_ids: bool = True,
    header: bool = False,
):
    """Parse an edge-list file.

    Parameters
    ----------
    path : str or Path
        Text file, optionally ``.gz``.
    weighted : bool, default False
        Read a third column as the edge weight (finite, > 0).
    int_ids : bool, default True
        Vertex ids are integers; a non-integer id is an error naming file and line.
    header : bool, default False
        Skip the first non-comment line.

    Returns
    -------
    src, dst : ndarray
        User ids (int64, or unicode when ``int_ids=False``).
    weights : ndarray of float64 or None
    """
    src, dst, wts = [], [], []
    skip_header = header
    try:
        with open_text(path) as fh:
            for lineno, line in enumerate(fh, 1):
                stripped = line.strip()
                if not stripped or stripped.startswith(COMMENT_PREFIXES):
                    continue
                if skip_header:
                    skip_header = False
                    continue
                fields = FIELD_SPLIT.split(stripped)
                where = f"{path}:{lineno}"
                if len(fields) < 2 or (weighted and len(fields) < 3):
                    need = "src dst weight" if weighted else "src dst"
                    raise InputFormatError(f"{where}: malformed line {stripped[:60]!r} (expected {need})")
                if int_ids:
                    try:
                        u, v = int(fields[0]), int(fields[1])
                    except ValueError:
                        raise InputFormatError(
                            f"{where}: non-integer vertex id in {stripped[:60]!r}"
                        ) from None
                else:
                    u, v = fields[0], fields[1]
                src.append(u)
                dst.append(v)
                if weighted:
                    try:
                        w = float(fields[2])
                    except ValueError:
                        raise InputFormatError(f"{where}: weight {fields[2]!r} is not a number") from None
                    wts.append(check_weight(w, where))
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    except (OSError, EOFError) as exc:
        raise InputFormatError(f"{path}: unreadable ({exc})") from None
    if not src:
        raise EmptyGraphError(f"{path}: no edges")
    kind = np.int64 if int_ids else str
    return (
        np.asarray(src, dtype=kind),
        np.asarray(dst, dtype=kind),
        np.asarray(wts, dtype=np.float64) if weighted else None,
    )


def csr_from_id_edges(src_ids, dst_ids, weights=None, directed: bool = True, self_loops: bool = True) -> CSRGraph:
    """Map user ids to dense ids (sorted order) and build the CSR with graphkit's edge policy."""
    src_ids, dst_ids = np.asarray(src_ids), np.asarray(dst_ids)
    if not self_loops:
        keep = src_ids != dst_ids
        src_ids, dst_ids = src_ids[keep], dst_ids[keep]
        weights = None if weights is None else np.asarray(weights)[keep]
    if src_ids.size == 0:
        raise EmptyGraphError("graph has no edges")
    ids, inverse = np.unique(np.concatenate([src_ids, dst_ids]), return_inverse=True)
    m = src_ids.shape[0]
    return CSRGraph.from_edges(inverse[:m], inverse[m:], ids.shape[0], weights, ids, directed)


def load_csr(
    path: str | os.PathLike,
    *,
    directed: bool = True,
    weighted: bool = False,
    self_loops: bool = True,
    int_ids: bool = True,
    header: bool = False,
) -> CSRGraph:
    """Read an edge-list (or ``.mat`` adjacency) file straight into a :class:`CSRGraph`."""
    if str(path).endswith(".mat"):
        return csr_from_matrix(read_mat(path)[0], directed=directed, self_loops=self_loops)
    src, dst, w = read_edge_list(path, weighted=weighted, int_ids=int_ids, header=header)
    return csr_from_id_edges(src, dst, w, directed=directed, self_loops=self_loops)


def csr_from_matrix(adjacency, directed: bool = False, self_loops: bool = True) -> CSRGraph:
    """CSR from a scipy sparse adjacency whose row/column indices are the vertex ids."""
    coo = adjacency.tocoo()
    weights = coo.data.astype(np.float64)
    if not np.all(np.isfinite(weights)) or (weights <= 0).any():
        raise InputFormatError("adjacency matrix has non-finite or non-positive entries")
    n = adjacency.shape[0]
    src, dst = coo.row.astype(np.int64), coo.col.astype(np.int64)
    if not self_loops:
        keep = src != dst
        src, dst, weights = src[keep], dst[keep], weights[keep]
    w = None if np.all(weights == 1.0) else weights
    return CSRGraph.from_edges(src, dst, n, w, np.arange(n, dtype=np.int64), directed)


# -- ground truth ---------------------------------------------------------------------------
def read_mat(path: str | os.PathLike):
    """Read a MATLAB file in the BlogCatalog / PPI layout.

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix, shape (n, n)
    labels : scipy.sparse.csr_matrix, shape (n, num_labels)
    """
    import scipy.io
    import scipy.sparse as sp

    path = Path(path)
    if not path.exists():
        raise InputFormatError(f"{path}: no such file")
    try:
        data = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises several unrelated types for a bad file
        raise InputFormatError(f"{path}: not a readable MATLAB file ({exc})") from None
    if "network" not in data:
        keys = sorted(k for k in data if not k.startswith("__"))
        raise InputFormatError(f"{path}: no 'network' matrix (found {keys})")
    adjacency = sp.csr_matrix(data["network"])
    labels = sp.csr_matrix(data["group"]) if "group" in data else None
    return adjacency, labels


def read_labels(path: str | os.PathLike) -> dict:
    """``node label`` lines (email-Eu-core departments) as ``{node: label}``."""
    labels = {}
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            stripped = line.strip()
            if not stripped or stripped.startswith(COMMENT_PREFIXES):
                continue
            fields = stripped.split()
            if len(fields) != 2:
                raise InputFormatError(f"{path}:{lineno}: expected 'node label', got {stripped[:60]!r}")
            try:
                labels[int(fields[0])] = int(fields[1])
            except ValueError:
                raise InputFormatError(f"{path}:{lineno}: non-integer node or label") from None
    return labels


def communities_from_labels(labels: dict) -> list[np.ndarray]:
    """Group ``{node: label}`` into one sorted member array per label (label order)."""
    groups: dict = {}
    for node, label in labels.items():
        groups.setdefault(label, []).append(node)
    return [np.array(sorted(groups[k]), dtype=np.int64) for k in sorted(groups)]


def read_communities_json(path: str | os.PathLike) -> list[np.ndarray]:
    """DBLP ground truth: JSON ``{"communities": [[ids...], ...]}``, optionally gzip."""
    with open_text(path) as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise InputFormatError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(data, dict) or "communities" not in data:
        raise InputFormatError(f"{path}: expected an object with a 'communities' list")
    return [np.asarray(c, dtype=np.int64) for c in data["communities"]]


def read_ego_npz(path: str | os.PathLike):
    """Facebook ego network with circles.

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix, shape (n, n)
    circles : list of ndarray
        Member vertex indices of each circle.
    """
    import scipy.sparse as sp

    path = Path(path)
    if not path.exists():
        raise InputFormatError(f"{path}: no such file")
    with np.load(path, allow_pickle=False) as z:
        def part(prefix):
            return sp.csr_matrix(
                (z[f"{prefix}.data"], z[f"{prefix}.indices"], z[f"{prefix}.indptr"]),
                shape=tuple(z[f"{prefix}.shape"]),
            )

        try:
            adjacency, labels = part("adj_matrix"), part("labels")
        except KeyError as exc:
            raise InputFormatError(f"{path}: missing array {exc}") from None
    labels = labels.tocsc()
    circles = [labels.indices[labels.indptr[j] : labels.indptr[j + 1]] for j in range(labels.shape[1])]
    return adjacency, [c for c in circles if c.size]
