"""The local MinHash-LSH index: signatures plus band tables, memory-mapped from one artifact.

The artifact's layout and its checks are in :mod:`graphkit.lsh.storage`, the band tables in
:mod:`graphkit.lsh.band_table`, the neighbour sets in :mod:`graphkit.lsh.neighbourhood`.
This module does not import pyspark.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from graphkit.csr import CSRGraph, IdMap
from graphkit.errors import UnknownVertexError
from graphkit.fingerprint import csr_fingerprint
from graphkit.lsh import kernels as K
from graphkit.lsh import storage
from graphkit.lsh._validation import as_id_array, as_signature_values, check_unique
from graphkit.lsh.band_table import BandTable
from graphkit.lsh.interop import DatasketchInterop
from graphkit.lsh.neighbourhood import neighbourhood_csr, row_jaccard
from graphkit.lsh.updates import DeltaUpdates


class LSHIndex(DeltaUpdates, DatasketchInterop):
    """MinHash-LSH index of vertex neighbourhoods for real-time similarity queries.

    Build it with :meth:`build` (from signatures, e.g. computed by Spark), :meth:`from_graph`
    (from a :class:`~graphkit.csr.CSRGraph` on one machine) or :meth:`from_datasketch`;
    persist it with :meth:`save` and reopen it memory-mapped with :meth:`load`. The
    constructor is internal.

    Estimated Jaccard similarity of two vertices is the fraction of equal signature slots.
    Candidates of a query are the vertices sharing at least one band with it; with ``bands``
    bands of ``rows`` rows a pair of Jaccard ``s`` becomes a candidate with probability
    ``1 - (1 - s**rows)**bands``. Why the default is ``rows=2``, measured: see ``docs/lsh.md``.

    Updates without a rebuild: :meth:`add` appends to a small in-memory *delta* segment with
    its own band table, and :meth:`remove` tombstones vertices. Both are persisted by
    :meth:`save` (``delta_*`` and ``deleted`` arrays) and restored by :meth:`load`;
    :meth:`compact` folds them into a freshly built index. Queries see the main and delta
    segments as one; a removed vertex is neither answered nor returned.

    Attributes
    ----------
    num_perm, bands, rows, seed : int
    scheme : str
        Permutation scheme of the hash family (datasketch names).
    neighbourhood : str
        Which adjacency the signatures summarise ("out", "in", "both" or "given").
    params : dict
        All of the above plus provenance, as stored in the manifest.

    Examples
    --------
    >>> import numpy as np
    >>> from graphkit.csr import CSRGraph
    >>> g = CSRGraph.from_edges([0, 0, 1, 1, 2], [2, 3, 2, 3, 3], 4, directed=False)
    >>> index = LSHIndex.from_graph(g, num_perm=64)
    >>> [v for v, _ in index.similar(0, k=1)]
    [1]
    """

    def __init__(
        self,
        signatures: np.ndarray,
        ids: np.ndarray,
        table: BandTable,
        params: dict,
        *,
        graph: CSRGraph | None = None,
        graph_rows: np.ndarray | None = None,
        deleted: np.ndarray | None = None,
        delta_ids: np.ndarray | None = None,
        delta_signatures: np.ndarray | None = None,
        graph_fingerprint: dict | None = None,
    ):
        self._signatures = signatures
        #: fingerprint record of the input graph (:mod:`graphkit.fingerprint`), None if unknown
        self.graph_fingerprint = graph_fingerprint
        self._ids = np.asarray(ids)
        self._idmap = IdMap(self._ids)
        self._table = table
        self.params = dict(params)
        self.num_perm = int(params["num_perm"])
        self.bands = int(params["bands"])
        self.rows = int(params["rows"])
        self.seed = int(params["seed"])
        self.scheme = str(params["scheme"])
        self.neighbourhood = str(params.get("neighbourhood", "given"))
        self._graph = graph
        if graph is not None and graph_rows is None:
            try:
                graph_rows = graph.index_of(self._ids)
            except UnknownVertexError as exc:
                raise ValueError(f"the graph lacks an indexed vertex ({exc})") from None
        self._graph_rows = graph_rows  # dense index -> row of the stored neighbourhood CSR
        n = self._ids.shape[0]
        self._deleted = np.zeros(n, dtype=bool)
        if deleted is not None and len(deleted):
            self._deleted[np.asarray(deleted, dtype=np.int64)] = True
        self._num_deleted = int(self._deleted.sum())
        self._family: K.HashFamily | None = None
        empty_ids = self._ids[:0]
        self._set_delta(
            empty_ids if delta_ids is None else np.asarray(delta_ids),
            np.zeros((0, self.num_perm), np.uint32) if delta_signatures is None else np.asarray(delta_signatures),
        )

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        signatures: np.ndarray,
        ids,
        *,
        bands: int | None = None,
        rows: int | None = None,
        seed: int = 1,
        scheme: str = "affine32",
        neighbourhood: str = "given",
        graph: CSRGraph | None = None,
        extra_params: Mapping | None = None,
        graph_fingerprint: dict | None = None,
    ) -> "LSHIndex":
        """Index precomputed signatures.

        Parameters
        ----------
        signatures : array-like of uint32, shape (n, num_perm)
            From :func:`graphkit.lsh.kernels.minhash_signatures` (the Spark side) or any
            datasketch MinHash with the same ``seed`` and ``scheme``.
        ids : array-like, shape (n,)
            Unique user ids (integers or strings), one per signature row.
        bands, rows : int, optional
            Banding with ``bands * rows == num_perm``; default ``rows=2``.
        seed : int, default 1
            Seed of the hash family that produced the signatures (datasketch's default),
            recorded so :meth:`sketch`, :meth:`to_datasketch` and the Spark side agree.
        scheme : {"affine32", "legacy"}, default "affine32"
            Permutation scheme of the hash family (datasketch >= 2.0 default).
        neighbourhood : str, default "given"
            Label recorded in the parameters ("out", "in", "both", ...).
        graph : CSRGraph, optional
            The neighbourhood adjacency the signatures summarise (rows = neighbour sets,
            every id present), kept for :meth:`adjacent` and ``similar(..., exact=True)``.
        extra_params : mapping, optional
            More provenance to store in the manifest (e.g. the input path).
        graph_fingerprint : dict, optional
            Fingerprint of the input graph (:meth:`graphkit.Graph.fingerprint`), recorded so
            artifacts of different graphs are not used together.

        Returns
        -------
        LSHIndex

        Raises
        ------
        ValueError
            Bad banding, a signature matrix of the wrong shape, or duplicate ids.
        """
        K.check_scheme(scheme)
        sig = np.asarray(signatures)
        if sig.ndim != 2 or sig.shape[1] < 1:
            raise ValueError(f"signatures must be a 2-D array (n, num_perm), got shape {sig.shape}")
        sig = as_signature_values(sig)
        ids = as_id_array(ids)
        if ids.shape[0] != sig.shape[0]:
            raise ValueError(f"{ids.shape[0]} ids for {sig.shape[0]} signatures")
        check_unique(ids)
        num_perm = sig.shape[1]
        bands, rows = K.check_bands(num_perm, bands, rows)
        params = {
            **(dict(extra_params) if extra_params else {}),
            "num_perm": num_perm,
            "bands": bands,
            "rows": rows,
            "seed": int(seed),
            "scheme": scheme,
            "neighbourhood": neighbourhood,
            "element_hash": K.ELEMENT_HASH,
            "band_key": K.BAND_KEY_VERSION,
        }
        return cls(sig, ids, BandTable.build(sig, bands, rows), params, graph=graph,
                   graph_fingerprint=graph_fingerprint)

    @classmethod
    def from_graph(
        cls,
        graph: CSRGraph,
        *,
        num_perm: int = 128,
        bands: int | None = None,
        rows: int | None = None,
        seed: int = 1,
        scheme: str = "affine32",
        neighbourhood: str = "out",
        closed: bool = False,
        min_degree: int = 0,
        keep_graph: bool = True,
    ) -> "LSHIndex":
        """Compute neighbourhood signatures of a graph on this machine and index them.

        Parameters
        ----------
        graph : CSRGraph
        num_perm : int, default 128
            Signature length (datasketch's default); the standard error of an estimated
            Jaccard ``s`` is ``sqrt(s (1 - s) / num_perm)``, 0.04 at ``s = 0.3``.
        bands, rows, seed, scheme
            See :meth:`build`.
        neighbourhood : {"out", "in", "both"}, default "out"
            Which neighbours form a vertex's set (identical for undirected graphs).
        closed : bool, default False
            Include each vertex in its own set (see :func:`neighbourhood_csr`).
        min_degree : int, default 0
            Index only vertices with at least this many neighbours (they still count as
            neighbours of others). The paper's setting is 2; 0 keeps every vertex, and one
            without neighbours answers ``similar`` with an empty list.
        keep_graph : bool, default True
            Store the neighbourhood CSR in the index for :meth:`adjacent` (about
            ``4 * edges`` bytes more).
        """
        if int(min_degree) < 0:
            raise ValueError(f"min_degree must be >= 0, got {min_degree!r}")
        K.check_scheme(scheme)
        K.check_bands(num_perm, bands, rows)
        base = neighbourhood_csr(graph, neighbourhood)
        degree = base.out_degree()  # min_degree counts neighbours, never the vertex itself
        adjacency = neighbourhood_csr(base, "out", closed)
        family = K.hash_family(num_perm, seed, scheme)
        selected = np.flatnonzero(degree >= int(min_degree))
        sig = K.minhash_signatures(
            adjacency.indptr, adjacency.indices, K.element_hashes(adjacency.ids), family, rows=selected
        )
        return cls.build(
            sig,
            adjacency.ids[selected],
            bands=bands,
            rows=rows,
            seed=seed,
            scheme=scheme,
            neighbourhood=neighbourhood,
            graph=adjacency if keep_graph else None,
            graph_fingerprint=csr_fingerprint(graph),
            extra_params={
                "closed": bool(closed),
                "min_degree": int(min_degree),
                "graph_vertices": adjacency.num_vertices,
                "graph_edges": adjacency.num_edges,
            },
        )

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the index (including pending adds and removals) as an artifact directory.

        The directory is written under a temporary name and renamed into place when
        complete. Saving over the directory this index was loaded from is allowed with
        ``overwrite=True``.

        Raises
        ------
        OutputExistsError
            ``path`` exists and ``overwrite`` is False.
        """
        return storage.save_index(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool | str = True) -> "LSHIndex":
        """Open a saved index, memory-mapped, and check it.

        Checked on every load (see :func:`graphkit.artifacts.open_artifact` for the manifest,
        names, sizes and headers): parameter types and banding; signatures ``uint32 (n,
        num_perm)``; unique ids; band keys strictly increasing; bucket offsets non-decreasing
        from 0 to the number of members; members, tombstones and ``graph_rows`` in range; the
        directory non-decreasing from 0 to the number of keys; the delta segment consistent and
        disjoint from the built ids; the stored CSR (see :meth:`CSRGraph.read_arrays`). All are
        single vectorised passes (on com-DBLP they add about 0.1 s, see the README).

        Parameters
        ----------
        path : str or Path
        verify : {True, False, "full"}, default True
            ``True`` also compares every file's CRC-32; ``False`` skips that (sizes, headers
            and the checks above still run); ``"full"`` adds the expensive checks: the
            directory and the band tables are rebuilt from the signatures and compared, and
            the CSR rows must be sorted.

        Raises
        ------
        ArtifactError
            Not an LSH index, a newer major format version, a missing, truncated or corrupted
            file, or any failed check (one line naming them).
        """
        return storage.read_index(cls, path, verify)

    # -- queries --------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of live vertices (built + added - removed)."""
        return int(self._ids.shape[0] - self._num_deleted + self._delta_ids.shape[0])

    def __contains__(self, vertex) -> bool:
        try:
            self._dense([vertex])
        except UnknownVertexError:
            return False
        return True

    def __repr__(self) -> str:
        return (
            f"LSHIndex(vertices={len(self)}, num_perm={self.num_perm}, bands={self.bands}, "
            f"rows={self.rows}, seed={self.seed}, scheme={self.scheme!r}, "
            f"neighbourhood={self.neighbourhood!r})"
        )

    @property
    def ids(self) -> np.ndarray:
        """User ids of all live vertices (built ones first, then added ones)."""
        return np.concatenate([self._ids[~self._deleted], self._delta_ids])

    def signature(self, vertex) -> np.ndarray:
        """The MinHash signature (uint32, ``num_perm``) of one vertex."""
        return self._sig(self._dense([vertex]))[0].copy()

    def jaccard(self, u, v) -> float:
        """Estimated Jaccard similarity of the neighbourhoods of ``u`` and ``v``."""
        sig = self._sig(self._dense([u, v]))
        if K.is_empty_signature(sig).any():
            return 0.0
        return float(np.count_nonzero(sig[0] == sig[1])) / self.num_perm

    def similar(self, vertex, k: int = 10, *, exact: bool = False) -> list[tuple]:
        """The ``k`` vertices most similar to ``vertex``, best first.

        Candidates are the vertices sharing at least one band with ``vertex``; they are
        re-ranked by estimated Jaccard (signature agreement), ties broken by index order so
        answers are reproducible. The query vertex itself is excluded.

        Parameters
        ----------
        vertex : user id
        k : int, default 10
        exact : bool, default False
            Re-rank the candidates by their exact Jaccard similarity, computed from the
            stored neighbourhood CSR, and return it instead of the estimate. This removes
            the estimation noise of the ranking (with 128 permutations the estimate of 0.2
            has a standard error of 0.035) at roughly twice the cost; candidates still come
            from the bands. Needs an index built with ``keep_graph``; vertices added after the
            build keep their estimate.

        Returns
        -------
        list of (user_id, estimated_jaccard)
            At most ``k`` pairs; fewer when fewer candidates share a band; empty for a
            vertex without neighbours.

        Raises
        ------
        UnknownVertexError
            ``vertex`` is not in the index (or was removed).
        """
        if int(k) != k or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if exact and self._graph is None:
            raise ValueError("exact=True needs the neighbourhood graph (build with keep_graph=True)")
        dense = self._dense([vertex])[0]
        query = self._sig(np.array([dense]))[0]
        if K.is_empty_signature(query):
            return []
        cand = self._candidates(query)
        cand = cand[cand != dense]
        if not cand.size:
            return []
        score = K.signature_agreement(query, self._sig(cand)) / self.num_perm
        if exact and dense < self._ids.shape[0]:
            score = self._exact_jaccard(dense, cand, score)
        order = np.argsort(-score, kind="stable")[: int(k)]
        return list(zip(self._user_ids(cand[order]), score[order].tolist()))

    def adjacent(self, vertex) -> list:
        """User ids of the neighbourhood the vertex's signature summarises.

        Raises
        ------
        ValueError
            The index was built without ``keep_graph`` (or from bare signatures).
        UnknownVertexError
            The vertex is not in the stored graph (e.g. it was added after the build).
        """
        if self._graph is None:
            raise ValueError("this index stores no graph (build it with from_graph(..., keep_graph=True))")
        dense = int(self._dense([vertex])[0])
        if dense >= self._ids.shape[0]:
            raise UnknownVertexError(f"vertex {vertex!r} has no stored neighbourhood (added after the build)")
        return self._graph.ids[self._graph.neighbors(int(self._graph_rows[dense]))].tolist()

    def sketch(self, elements: Iterable) -> np.ndarray:
        """Signature of an arbitrary set of user ids with this index's hash family (e.g. the
        neighbourhood of a new vertex, for :meth:`add`)."""
        elements = np.asarray(list(elements))
        hashes = K.element_hashes(elements)
        return K.minhash_signatures(
            np.array([0, hashes.shape[0]]), np.arange(hashes.shape[0]), hashes, self.hash_family()
        )[0]

    def hash_family(self) -> K.HashFamily:
        """The permutations behind the signatures (as ``datasketch.MinHash(num_perm, seed)``)."""
        if self._family is None:
            self._family = K.hash_family(self.num_perm, self.seed, self.scheme)
        return self._family

    # -- internals shared with graphkit.lsh.community --------------------------------------
    # Dense indices: 0..n-1 are the built vertices, n.. the delta segment.
    def _dense(self, vertices) -> np.ndarray:
        """Dense indices of live user ids; :class:`UnknownVertexError` names the first miss."""
        values = self._idmap.coerce(vertices)
        out = np.empty(values.shape[0], dtype=np.int64)
        n = self._ids.shape[0]
        in_delta = np.zeros(values.shape[0], dtype=bool)
        if self._delta_pos:
            for j, v in enumerate(values.tolist()):
                pos = self._delta_pos.get(v)
                if pos is not None:
                    out[j] = n + pos
                    in_delta[j] = True
        rest = ~in_delta
        if rest.any():
            main = self._idmap.index_of(values[rest])
            removed = self._deleted[main]
            if removed.any():
                raise UnknownVertexError(f"vertex {values[rest][removed][0].item()!r} was removed from the index")
            out[rest] = main
        return out

    def _sig(self, dense: np.ndarray) -> np.ndarray:
        n = self._ids.shape[0]
        if not self._delta_ids.shape[0] or (dense.size and dense.max() < n):
            return self._signatures[dense]
        out = np.empty((dense.shape[0], self.num_perm), dtype=np.uint32)
        main = dense < n
        out[main] = self._signatures[dense[main]]
        out[~main] = self._delta_sig[dense[~main] - n]
        return out

    def _candidates(self, query: np.ndarray) -> np.ndarray:
        """Live dense indices sharing a band with ``query`` (sorted, unique)."""
        keys = K.band_keys(query[None, :], self.bands, self.rows)[0]
        cand = self._table.lookup(keys)
        if self._delta_ids.shape[0]:
            extra = self._delta_table.lookup(keys)
            cand = np.concatenate([cand.astype(np.int64), extra.astype(np.int64) + self._ids.shape[0]])
        cand = np.unique(cand)
        if cand.size and self._num_deleted:
            main = cand < self._ids.shape[0]
            cand = cand[~(main & self._deleted[np.where(main, cand, 0)])]
        return cand

    def _exact_jaccard(self, dense: int, cand: np.ndarray, estimate: np.ndarray) -> np.ndarray:
        """Exact Jaccard of ``dense``'s neighbourhood with each built candidate's (estimate
        kept for delta candidates, which have no stored neighbourhood)."""
        built = cand < self._ids.shape[0]
        out = estimate.copy()
        out[built] = row_jaccard(self._graph, int(self._graph_rows[dense]), self._graph_rows[cand[built]])
        return out

    def _user_ids(self, dense: np.ndarray) -> list:
        n = self._ids.shape[0]
        if not self._delta_ids.shape[0] or (dense.size and dense.max() < n):
            return self._ids[dense].tolist()
        return [self._ids[d].item() if d < n else self._delta_ids[d - n].item() for d in dense.tolist()]


__all__ = ["LSHIndex"]
