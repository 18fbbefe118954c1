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
        files = artifact.manifest["files"]
        weights = artifact.array(prefix + "weights") if f"{prefix}weights.npy" in files else None
        graph = cls(
            artifact.array(prefix + "indptr"),
            artifact.array(prefix + "indices"),
            weights,
            artifact.array(prefix + "ids"),
            directed,
        )
        n = graph.num_vertices
        if graph.indptr[-1] != graph.num_edges or graph.ids.shape[0] != n:
            raise ArtifactError(f"{artifact.path}: inconsistent CSR arrays")
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
        """Convert query ids (possibly strings typed at a prompt) to the id dtype."""
        arr = np.atleast_1d(np.asarray(values))
        if self.ids.dtype.kind in "iu" and arr.dtype.kind not in "iu":
            try:
                arr = np.array([int(str(v)) for v in arr], dtype=np.int64)
            except ValueError:
                bad = next(v for v in arr if not str(v).lstrip("-").isdigit())
                raise UnknownVertexError(f"unknown vertex id {bad!r} (ids are integers)") from None
        elif self.ids.dtype.kind == "U" and arr.dtype.kind != "U":
            arr = arr.astype(str)
        return arr

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
