"""Compressed sparse row graphs for code that runs on one machine or inside one Spark task.

:class:`CSRGraph` is the hand-off point between the Spark side (which builds it from a
:class:`graphkit.Graph`) and the local kernels (PPR walks, MinHash, embeddings). Vertices are
dense integers ``0..n-1``; ``ids[i]`` is the user's id of vertex ``i``. Importing this module
never imports pyspark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphkit.errors import ArtifactError, EmptyGraphError, UnknownVertexError


@dataclass(frozen=True)
class CSRGraph:
    """Out-adjacency in CSR form.

    Attributes
    ----------
    indptr : ndarray of int64, shape (n + 1,)
    indices : ndarray of int32 or int64, shape (m,)
        Out-neighbours of vertex ``i`` are ``indices[indptr[i]:indptr[i + 1]]``, sorted.
    weights : ndarray of float64, shape (m,), or None
        Positive finite edge weights; ``None`` means every weight is 1.
    ids : ndarray, shape (n,)
        The user's vertex ids (int64 or fixed-width unicode), indexed by dense id.
    directed : bool
        False when every edge is stored in both directions.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray | None
    ids: np.ndarray
    directed: bool = True

    @property
    def num_vertices(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def num_edges(self) -> int:
        """Stored (directed) edges; an undirected edge counts twice."""
        return int(self.indices.shape[0])

    def out_degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def edge_weights(self) -> np.ndarray:
        """Weights as an array (ones when unweighted)."""
        if self.weights is None:
            return np.ones(self.num_edges, dtype=np.float64)
        return self.weights

    def neighbors(self, vertex: int) -> np.ndarray:
        return self.indices[self.indptr[vertex] : self.indptr[vertex + 1]]

    def to_scipy(self):
        """The adjacency as a ``scipy.sparse.csr_matrix`` (rows are sources)."""
        import scipy.sparse as sp

        n = self.num_vertices
        return sp.csr_matrix((self.edge_weights(), self.indices, self.indptr), shape=(n, n))

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_edges(
        cls,
        src: np.ndarray,
        dst: np.ndarray,
        num_vertices: int,
        weights: np.ndarray | None = None,
        ids: np.ndarray | None = None,
        directed: bool = True,
    ) -> "CSRGraph":
        """Build from dense-id edge arrays, applying graphkit's edge policy.

        Duplicate edges are merged into one: weights are summed (parallel edges add their
        transition mass), unweighted duplicates collapse to a single edge. For an undirected
        graph, ``(u, v)`` and ``(v, u)`` are the same edge (so files that list both directions
        are read correctly), and each merged edge is then stored in both directions.
        """
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        if num_vertices <= 0:
            raise EmptyGraphError("graph has no vertices")
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        if not directed:
            src, dst = np.minimum(src, dst), np.maximum(src, dst)
        key, w = _merge_duplicates(src * num_vertices + dst, w)
        if not directed:
            s, d = key // num_vertices, key % num_vertices
            loops = s == d
            key = np.concatenate([key, d[~loops] * num_vertices + s[~loops]])
            if w is not None:
                w = np.concatenate([w, w[~loops]])
            order = np.argsort(key, kind="stable")
            key = key[order]
            w = None if w is None else w[order]
        s, d = key // num_vertices, key % num_vertices
        indptr = np.zeros(num_vertices + 1, dtype=np.int64)
        np.cumsum(np.bincount(s, minlength=num_vertices), out=indptr[1:])
        index_dtype = np.int32 if num_vertices < 2**31 else np.int64
        if ids is None:
            ids = np.arange(num_vertices, dtype=np.int64)
        return cls(indptr, d.astype(index_dtype), w, np.asarray(ids), directed)

    # -- id mapping -----------------------------------------------------------------------
    def index_of(self, ids) -> np.ndarray:
        """Dense indices of user ids; raises :class:`UnknownVertexError` naming the first miss."""
        return IdMap(self.ids).index_of(ids)

    # -- persistence ----------------------------------------------------------------------
    def write_arrays(self, writer, prefix: str = "csr_") -> None:
        """Add this graph's arrays to an :class:`~graphkit.artifacts.ArtifactWriter`."""
        writer.add_array(prefix + "indptr", self.indptr)
        writer.add_array(prefix + "indices", self.indices)
        if self.weights is not None:
            writer.add_array(prefix + "weights", self.weights)
        writer.add_array(prefix + "ids", self.ids)

    @classmethod
    def read_arrays(cls, artifact, directed: bool, prefix: str = "csr_") -> "CSRGraph":
        """Open this graph's arrays from a loaded artifact and check them.

        Always (vectorised, one pass): dtypes, ``indptr`` non-decreasing from 0 to the number
        of edges, neighbour indices in range, finite positive weights, unique ids (an id map
        over duplicates would answer for the wrong vertex). With ``artifact.verify == "full"``
        also that every row's neighbours are sorted.
        """
        from graphkit.artifacts import Checks

        weights = artifact.array(prefix + "weights") if artifact.has(f"{prefix}weights.npy") else None
        graph = cls(
            artifact.array(prefix + "indptr"),
            artifact.array(prefix + "indices"),
            weights,
            artifact.array(prefix + "ids"),
            directed,
        )
        check = Checks(artifact.path, "CSR arrays")
        if check.dtype("csr indptr", graph.indptr, "iu") & check.dtype("csr indices", graph.indices, "iu"):
            n = graph.num_vertices
            check.monotone("csr indptr", graph.indptr, 0, graph.num_edges)
            check.in_range("csr indices", graph.indices, 0, max(n, 0))
            if check.dtype("csr ids", graph.ids, "iuU") and check.require(graph.ids.shape[0] == n, "csr ids do not match indptr"):
                check.unique("csr ids", graph.ids)
            if graph.weights is not None and check.dtype("csr weights", graph.weights, "f"):
                check.require(graph.weights.shape[0] == graph.num_edges, "csr weights do not match indices")
                check.finite("csr weights", graph.weights)
                check.require(not graph.weights.size or float(graph.weights.min()) > 0, "csr weights are not positive")
            if artifact.verify == "full" and not check.problems:
                step = np.diff(graph.indices.astype(np.int64))
                row_start = np.zeros(graph.indices.shape[0], dtype=bool)
                row_start[graph.indptr[1:-1][graph.indptr[1:-1] < graph.indices.shape[0]]] = True
                check.require(bool(((step > 0) | row_start[1:]).all()), "csr rows are not sorted")
        check.raise_if_any()
        return graph


def _merge_duplicates(key: np.ndarray, w: np.ndarray | None):
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(key.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    if w is not None and key.size:
        w = np.add.reduceat(w[order], np.flatnonzero(first))
    return key[first], w


class IdMap:
    """Maps user ids (ints or strings) to dense indices with a sorted lookup; no Python dict,
    so it stays compact and fast for millions of ids and works on memory-mapped arrays."""

    def __init__(self, ids: np.ndarray):
        self.ids = np.asarray(ids)
        self._order = np.argsort(self.ids, kind="stable")
        self._sorted = self.ids[self._order]

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def coerce(self, values) -> np.ndarray:
        """Convert query ids (possibly strings typed at a prompt) to the id dtype.

        Integer ids are parsed by :func:`parse_int_id`; anything that cannot be an id of this
        map raises :class:`UnknownVertexError`, never another exception.
        """
        if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
            values = [values]
        values = list(values) if not isinstance(values, np.ndarray) else values
        if self.ids.dtype.kind in "iu":
            if isinstance(values, np.ndarray) and values.dtype.kind in "iu" and values.dtype != np.uint64:
                return values.astype(np.int64, copy=False).reshape(-1)
            return np.array([parse_int_id(v) for v in np.asarray(values, dtype=object).reshape(-1).tolist()],
                            dtype=np.int64)
        if isinstance(values, np.ndarray) and values.dtype.kind == "U":
            return values.reshape(-1)
        arr = np.asarray(values, dtype=object).reshape(-1)
        return np.array([str(v) for v in arr.tolist()], dtype=str) if arr.size else np.zeros(0, dtype=self.ids.dtype)

    def index_of(self, values) -> np.ndarray:
        arr = self.coerce(values)
        pos = np.searchsorted(self._sorted, arr)
        pos_clipped = np.minimum(pos, len(self) - 1)
        found = (pos < len(self)) & (self._sorted[pos_clipped] == arr)
        if not found.all():
            bad = arr[~found][0]
            raise UnknownVertexError(f"unknown vertex id {bad.item() if hasattr(bad, 'item') else bad!r}")
        return self._order[pos_clipped].astype(np.int64)

    def contains(self, value) -> bool:
        try:
            self.index_of([value])
        except UnknownVertexError:
            return False
        return True


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def parse_int_id(value) -> int:
    """The one parser of integer vertex ids typed by users (REPL, API calls with strings).

    Accepts a Python or numpy integer, or a string of ASCII digits with an optional sign and
    surrounding blanks; the value must fit int64 (graphkit's id type). Everything else (floats,
    ``"1_000"``, ``"0x10"``, ``"١٢"`` and other Unicode digits that ``int()`` would take or
    ``str.isdigit()`` would pass, too-large values, bools) is an unknown vertex.

    Raises
    ------
    UnknownVertexError
        With the offending text, cut to 40 characters.

    Examples
    --------
    >>> parse_int_id(" -12 ")
    -12
    >>> parse_int_id("1_000")
    Traceback (most recent call last):
    ...
    graphkit.errors.UnknownVertexError: unknown vertex id '1_000' (ids are integers)
    """
    if isinstance(value, (bool, np.bool_)):
        raise UnknownVertexError(f"unknown vertex id {value!r} (ids are integers)")
    if isinstance(value, (int, np.integer)):
        number = int(value)
    else:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        digits = text.strip()
        body = digits[1:] if digits[:1] in "+-" else digits
        if not body or not body.isascii() or not body.isdigit():
            raise UnknownVertexError(f"unknown vertex id {text[:40]!r} (ids are integers)")
        if len(body) > 19:  # beyond any int64; also keeps int() away from huge strings
            raise UnknownVertexError(f"unknown vertex id {text[:40]!r} (ids are 64-bit integers)")
        number = int(digits)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise UnknownVertexError(f"unknown vertex id {str(value)[:40]!r} (ids are 64-bit integers)")
    return number
