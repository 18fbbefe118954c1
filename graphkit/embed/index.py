"""The local query object of embeddings: :class:`EmbeddingIndex`.

Opens a ``graphkit.embeddings`` artifact (what ``graphkit embed`` or
:func:`graphkit.embed.save_embeddings` writes; checked by :func:`graphkit.embed.open_embeddings`)
and answers cosine nearest-neighbour and vector look-ups by the user's vertex ids. Used by
``graphkit repl``'s ``neighbors`` command.

Never imports pyspark.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["EmbeddingIndex"]


class EmbeddingIndex:
    """Embeddings by vertex id, with exact cosine k-nearest-neighbour queries.

    Parameters
    ----------
    ids : array-like, shape (n,)
        Unique vertex ids (ints or strings).
    matrix : array-like, shape (n, dim)
        Row ``i`` is the vector of ``ids[i]``.
    graph_fingerprint : dict, optional
        Fingerprint of the graph the embeddings were computed from.
    params : dict, optional
        Parameters recorded with the embeddings.

    Examples
    --------
    >>> index = EmbeddingIndex([10, 20, 30], [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    >>> index.neighbors(10, k=2)
    [(20, 0.800000011920929), (30, 0.0)]
    >>> len(index), index.dim, index.vector(30).tolist()
    (3, 2, [0.0, 1.0])
    """

    def __init__(self, ids, matrix, *, graph_fingerprint: dict | None = None, params: dict | None = None):
        from graphkit.csr import IdMap

        ids = np.asarray(ids)
        matrix = np.asarray(matrix, dtype=np.float32)
        if ids.ndim != 1 or matrix.ndim != 2 or matrix.shape[0] != ids.shape[0]:
            raise ValueError(f"{ids.shape} ids for an embedding matrix of shape {matrix.shape}")
        self._ids = ids
        self._vectors = matrix
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self._unit = (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
        self._idmap = IdMap(ids)
        self.graph_fingerprint = graph_fingerprint
        self.params = dict(params or {})

    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool | str = True, unverified: bool = False) -> "EmbeddingIndex":
        """Open and check an embeddings artifact (the parameters of
        :func:`graphkit.embed.open_embeddings`, whose checks all run)."""
        from graphkit.embed.local import open_embeddings

        emb = open_embeddings(path, verify=verify, unverified=unverified)
        return cls(emb.ids, emb.matrix, graph_fingerprint=emb.graph_fingerprint, params=emb.params)

    @property
    def ids(self) -> np.ndarray:
        """Vertex ids, in row order."""
        return self._ids

    @property
    def dim(self) -> int:
        return int(self._vectors.shape[1])

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    def __repr__(self) -> str:
        return f"EmbeddingIndex({len(self):,} vertices x {self.dim})"

    def vector(self, vertex) -> np.ndarray:
        """The stored vector of ``vertex`` (a copy; :class:`~graphkit.errors.UnknownVertexError`
        for an unknown id)."""
        return self._vectors[int(self._idmap.index_of([vertex])[0])].copy()

    def neighbors(self, vertex, k: int = 10) -> list[tuple]:
        """The ``k`` vertices (``vertex`` itself excluded) with the highest cosine similarity to
        ``vertex``, best first, as ``(id, cosine)`` pairs; ties keep row order. A zero vector
        has cosine 0 with everything."""
        row = int(self._idmap.index_of([vertex])[0])
        scores = self._unit @ self._unit[row]
        scores[row] = -np.inf
        k = min(k, len(scores) - 1)
        top = np.argpartition(-scores, k - 1)[:k] if k > 0 else np.array([], dtype=np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self._ids[i].item(), float(scores[i])) for i in top]
