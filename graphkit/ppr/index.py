"""The local PPR query side: a fingerprint index that answers top-k PPR queries in milliseconds.

:class:`PPRIndex` is a thin class over the pure kernels in :mod:`graphkit.ppr.kernels`: ``fit``
computes fingerprints (short-walk visit distributions of every vertex), ``query`` runs the
vertex-centric decomposition. It is saved as a ``graphkit.ppr-index`` artifact (see
:mod:`graphkit.artifacts`) and loads memory-mapped, without Spark.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from graphkit import _progress
from graphkit._progress import Progress
from graphkit.artifacts import ArtifactWriter, Checks, atomic_directory, open_artifact
from graphkit.base import Estimator, check_number, check_optional_positive_int, check_positive_int, check_seed
from graphkit.csr import CSRGraph, IdMap
from graphkit.errors import ArtifactError
from graphkit.fingerprint import csr_checksums, csr_fingerprint
from graphkit.ppr.kernels import (
    ALPHA_BOUNDS,
    DEFAULT_ALPHA,
    DEFAULT_EPSILON,
    DEFAULT_FINGERPRINT_THRESHOLD,
    DEFAULT_FINGERPRINT_WALKS,
    DEFAULT_HUB_DEGREE,
    DEFAULT_STEPS,
    FRACTION_BOUNDS,
    Fingerprints,
    SparseRows,
    check_steps,
    fingerprints,
    fully_ppr_topk,
    refine_hubs,
    transition_matrix,
)

__all__ = ["FORMAT", "VERSION", "PPRIndex"]

FORMAT = "graphkit.ppr-index"
VERSION = (1, 2)  # 1.1: manifest records the input graph's fingerprint; 1.2: hub_degree
#: The constructor parameters a manifest records (``params``, besides ``directed``).
_MANIFEST_PARAMS = ("walks", "alpha", "seed", "threshold", "steps", "epsilon", "hub_degree")
#: What an index written before a parameter existed was built with.
_PARAMS_BEFORE = {"hub_degree": None}


class PPRIndex(Estimator):
    """Personalized PageRank index: fingerprints of every vertex plus the graph.

    Parameters
    ----------
    walks : int, default 8000
        Visit-counted walks per fingerprint. Accuracy grows with ``walks`` while the index size
        does not (it is bounded by ``threshold``); build time is linear in it.
    alpha : float, default 0.15
        Restart probability.
    seed : int, default 0
        Fingerprints depend only on ``(seed, vertex)``.
    threshold : float, default 3e-4
        Fingerprint entries below it are not stored (at most ``1 / threshold`` per vertex).
    steps : int, default 2
        Default propagation steps T of a query.
    epsilon : float, default 1e-5
        Default frontier drop threshold of a query.
    hub_degree : int or None, default 50
        Vertices with more out-neighbours are hubs: their fingerprint rows are built from their
        neighbours' (:func:`~graphkit.ppr.refine_hubs`) and queries do not spread through them,
        which made top-100 queries 4-42x faster with precision@10 within 0.007
        (``docs/ppr-kernels.md``). None: no hubs.

    Attributes
    ----------
    csr_ : CSRGraph
        The graph (memory-mapped after :meth:`load`).
    fingerprints_ : Fingerprints
    input_fingerprint_ : dict
        :func:`graphkit.fingerprint.csr_checksums` of the stored CSR (CRC-32s of its arrays): the
        manifest's ``input_fingerprint`` record, kept for format 1.x readers; not an identity.
    graph_fingerprint : dict or None
        The order-independent fingerprint of the input graph (:mod:`graphkit.fingerprint`,
        equal to :meth:`graphkit.Graph.fingerprint`) that every artifact records; None for an
        index saved by format 1.0 (:meth:`check_graph` then fingerprints the stored graph).

    Examples
    --------
    >>> import numpy as np
    >>> from graphkit.csr import CSRGraph
    >>> g = CSRGraph.from_edges(np.array([0, 1, 2, 2]), np.array([1, 2, 0, 1]), 3,
    ...                         ids=np.array([10, 20, 30]))
    >>> index = PPRIndex.build(g, walks=2000, seed=1)
    >>> [(target, round(score, 2)) for target, score in index.query(10, k=3)]
    [(20, 0.38), (30, 0.33), (10, 0.29)]
    """

    def __init__(
        self,
        *,
        walks: int = DEFAULT_FINGERPRINT_WALKS,
        alpha: float = DEFAULT_ALPHA,
        seed: int = 0,
        threshold: float = DEFAULT_FINGERPRINT_THRESHOLD,
        steps: int = DEFAULT_STEPS,
        epsilon: float = DEFAULT_EPSILON,
        hub_degree: int | None = DEFAULT_HUB_DEGREE,
    ):
        self.walks = walks
        self.alpha = alpha
        self.seed = seed
        self.threshold = threshold
        self.steps = steps
        self.epsilon = epsilon
        self.hub_degree = hub_degree

    def _validate(self) -> None:
        check_positive_int("walks", self.walks)
        check_number("alpha", self.alpha, **ALPHA_BOUNDS)
        check_seed(self.seed)
        check_number("threshold", self.threshold, **FRACTION_BOUNDS)
        check_steps(self.steps)
        check_number("epsilon", self.epsilon, **FRACTION_BOUNDS)
        check_optional_positive_int("hub_degree", self.hub_degree)

    # -- building -----------------------------------------------------------------------------
    def fit(self, graph, progress: Progress | bool | None = None) -> "PPRIndex":
        """Compute the fingerprints of every vertex of ``graph``.

        Parameters
        ----------
        graph : graphkit.Graph or CSRGraph
            A Spark graph: collected to a CSR on the driver, fingerprints computed in Spark tasks
            (:func:`graphkit.ppr.spark.spark_fingerprints`). A :class:`CSRGraph`: computed here,
            without Spark. Both give the same bytes for the same parameters.
        progress : callable, None or False, optional
            ``progress(stage, done, total)`` for long stages (see :mod:`graphkit._progress`);
            default: log lines to the ``graphkit`` logger; ``False``: silent.
            On a CSRGraph, reports the stage ``"fingerprints"`` with vertices done / in all
            after each chunk.

        Returns
        -------
        self
        """
        self._validate_params()
        report = _progress.reporter(progress)
        if isinstance(graph, CSRGraph):
            csr = graph
            fp = fingerprints(
                csr.indptr, csr.indices, csr.weights,
                walks=self.walks, alpha=self.alpha, seed=self.seed, threshold=self.threshold,
                progress=lambda done, total: report("fingerprints", done, total),  # the kernel counts vertices
            )
        elif _is_spark_graph(graph):
            from graphkit.ppr.spark import spark_fingerprints  # Spark only on this path

            csr = graph.to_csr()
            report(f"fingerprints: {self.walks} walks from each of {csr.num_vertices:,} vertices")
            fp = spark_fingerprints(graph.spark, csr, walks=self.walks, alpha=self.alpha, seed=self.seed,
                                    threshold=self.threshold)
        else:
            raise TypeError(f"PPRIndex.fit expects a graphkit.Graph or a CSRGraph, got {type(graph).__name__}")
        self._set_fitted(csr, fp)
        return self

    @classmethod
    def build(cls, csr: CSRGraph, **params) -> "PPRIndex":
        """``PPRIndex(**params).fit(csr)``."""
        return cls(**params).fit(csr)

    @classmethod
    def from_fingerprints(cls, csr: CSRGraph, fingerprints: Fingerprints, **params) -> "PPRIndex":
        """An index from fingerprints computed elsewhere (e.g. in Spark tasks).

        Parameters
        ----------
        csr : CSRGraph
        fingerprints : Fingerprints
            Rows for every vertex of ``csr`` in vertex order (see
            :func:`~graphkit.ppr.merge_fingerprints`), computed with the ``walks``, ``alpha``,
            ``seed`` and ``threshold`` given in ``params`` (they are recorded, not re-checked);
            hub rows are refined here, as :meth:`fit` does.
        **params
            Constructor parameters.

        Returns
        -------
        PPRIndex
        """
        if not isinstance(csr, CSRGraph):
            raise TypeError(f"expected a CSRGraph, got {type(csr).__name__}")
        index = cls(**params)
        index._validate_params()
        fp = Fingerprints(*(np.asarray(a) for a in fingerprints))
        n = csr.num_vertices
        if fp.indptr.shape != (n + 1,) or fp.mass.shape != (n,) or int(fp.indptr[-1]) != fp.indices.shape[0]:
            raise ValueError(
                f"fingerprints have {fp.indptr.shape[0] - 1} rows and {fp.indices.shape[0]} entries; "
                f"the graph has {n} vertices"
            )
        index._set_fitted(csr, fp)
        return index

    def _set_fitted(self, csr: CSRGraph, fp: Fingerprints) -> None:
        """The fitted state from a graph and its walk fingerprints: hub rows refined, stored
        dtypes (int64 indptr, int32 targets, float32 values and masses; arrays already in them
        are not copied)."""
        self._reset_caches()
        self.csr_ = csr
        fp = refine_hubs(fp, self._transition_matrix(), self.hub_degree, alpha=self.alpha, threshold=self.threshold)
        self.fingerprints_ = Fingerprints(
            fp.indptr.astype(np.int64, copy=False), fp.indices.astype(np.int32, copy=False),
            fp.values.astype(np.float32, copy=False), fp.mass.astype(np.float32, copy=False),
        )
        self.input_fingerprint_ = csr_checksums(csr)
        self.graph_fingerprint = csr_fingerprint(csr)

    def _reset_caches(self) -> None:
        self._idmap = None
        self._transition = None

    @property
    def num_vertices(self) -> int:
        self._check_fitted("fingerprints_")
        return self.csr_.num_vertices

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the index as a ``graphkit.ppr-index`` artifact directory (atomically).

        Parameters
        ----------
        path : str or Path
        overwrite : bool, default False
            Replace an existing artifact (otherwise :class:`~graphkit.errors.OutputExistsError`).

        Returns
        -------
        Path
        """
        self._check_fitted("fingerprints_")
        fp = self.fingerprints_
        params = {**{k: getattr(self, k) for k in _MANIFEST_PARAMS}, "directed": bool(self.csr_.directed)}
        with atomic_directory(path, overwrite=overwrite) as tmp:
            writer = ArtifactWriter(tmp, FORMAT, VERSION, params=params, graph=self.graph_fingerprint,
                                    seed=self.seed)
            self.csr_.write_arrays(writer)
            writer.add_array("fp_indptr", fp.indptr)
            writer.add_array("fp_indices", fp.indices)
            writer.add_array("fp_values", fp.values)
            writer.add_array("fp_mass", fp.mass)
            writer.finish(input_fingerprint=self.input_fingerprint_, seed=self.seed)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool | str = True) -> "PPRIndex":
        """Open a saved index, memory-mapped (no Spark), and check it.

        Checked on every load, besides the manifest, names, sizes and headers: parameters, the
        CSR (see :meth:`CSRGraph.read_arrays`), fingerprint arrays (dtypes, ``indptr``
        non-decreasing from 0 to the number of entries, target indices in range, values and
        masses finite and non-negative) and the recorded counts.

        Parameters
        ----------
        path : str or Path
        verify : {True, False, "full"}, default True
            ``True`` also checks every file's CRC-32 (a read of the files, ~1 s per GB);
            ``False`` skips that; ``"full"`` also recomputes the stored graph's fingerprint
            and compares it with the manifest's, and requires sorted CSR rows.

        Raises
        ------
        ArtifactError
            Not an index, a newer major format version, missing, truncated or corrupted files, or
            inconsistent arrays.
        """
        art = open_artifact(path, FORMAT, VERSION[0], verify=verify)
        try:
            params = dict(art.params)
            directed = params.pop("directed")
            if not isinstance(directed, bool):
                raise TypeError(f"directed is {directed!r}")
            index = cls(**{k: params[k] if k in params else _PARAMS_BEFORE[k] for k in _MANIFEST_PARAMS})
            index._validate_params()
            input_fp = art.manifest["input_fingerprint"]
            if not isinstance(input_fp, dict):
                raise TypeError("input_fingerprint is not an object")
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{art.path}: invalid index parameters ({exc})") from None
        csr = CSRGraph.read_arrays(art, directed)
        fp = Fingerprints(
            *(art.array(name) for name in ("fp_indptr", "fp_indices", "fp_values", "fp_mass"))
        )
        n = csr.num_vertices
        check = Checks(art.path, "fingerprint arrays")
        shapes = check.require(
            fp.indptr.shape == (n + 1,) and fp.mass.shape == (n,) and fp.indices.shape == fp.values.shape
            and fp.indptr.dtype.kind == "i" and fp.indices.dtype == np.int32
            and fp.values.dtype == np.float32 and fp.mass.dtype.kind == "f",
            "shapes or dtypes do not match the graph",
        )
        if shapes:
            check.monotone("fingerprint indptr", fp.indptr, 0, fp.indices.shape[0])
            check.in_range("fingerprint targets", fp.indices, 0, n)
            check.finite("fingerprint values", fp.values, low=0.0)
            check.finite("fingerprint masses", fp.mass, low=0.0)
        check.require(input_fp.get("num_vertices") == n and input_fp.get("num_edges") == csr.num_edges,
                      "graph arrays do not match the recorded input fingerprint")
        if art.verify == "full" and art.graph and not check.problems:
            check.require(csr_fingerprint(csr)["fingerprint"] == art.graph["fingerprint"],
                          "the stored graph's fingerprint differs from the manifest's")
        check.raise_if_any()
        index.csr_ = csr
        index.fingerprints_ = fp
        index.input_fingerprint_ = input_fp
        index.graph_fingerprint = art.graph
        index._reset_caches()
        return index

    def check_graph(self, csr: CSRGraph) -> None:
        """Raise :class:`~graphkit.errors.ArtifactError` unless the index was built for ``csr``.

        Compares :func:`graphkit.fingerprint.csr_fingerprint` records, the one graph identity
        every artifact uses (for a format-1.0 index, which records none, that of its stored graph).
        """
        self._check_fitted("fingerprints_")
        mine = self.graph_fingerprint or csr_fingerprint(self.csr_)
        theirs = csr_fingerprint(csr)
        if mine.get("fingerprint") != theirs["fingerprint"]:
            raise ArtifactError(
                "index built for another graph "
                f"(index: {mine.get('num_vertices')} vertices, {mine.get('num_edges')} edges; "
                f"graph: {theirs['num_vertices']} vertices, {theirs['num_edges']} edges)"
            )

    # -- queries ------------------------------------------------------------------------------
    def _id_map(self) -> IdMap:
        if self._idmap is None:
            self._idmap = IdMap(self.csr_.ids)
        return self._idmap

    def _transition_matrix(self):
        if self._transition is None:
            self._transition = transition_matrix(self.csr_.indptr, self.csr_.indices, self.csr_.weights)
        return self._transition

    def query_indices(self, sources, k: int = 10, *, steps: int | None = None, epsilon: float | None = None) -> SparseRows:
        """Top-``k`` PPR of dense source indices (targets are dense indices too).

        Parameters
        ----------
        sources : array of int
        k : int, default 10
        steps, epsilon : optional
            Override the index defaults for this call.

        Returns
        -------
        SparseRows
            Row ``i``: up to ``k`` (target, score) of ``sources[i]``, best first.
        """
        self._check_fitted("fingerprints_")
        csr = self.csr_
        return fully_ppr_topk(
            csr.indptr, csr.indices, csr.weights, self.fingerprints_, sources, k,
            alpha=self.alpha,
            steps=self.steps if steps is None else check_steps(steps),
            epsilon=self.epsilon if epsilon is None else check_number("epsilon", epsilon, **FRACTION_BOUNDS),
            transition=self._transition_matrix(),
            hub_degree=self.hub_degree,
        )

    def query(self, ids, k: int = 10, *, steps: int | None = None, epsilon: float | None = None):
        """Top-``k`` personalized PageRank of user ids.

        Batches share the propagation, so querying many ids at once is cheaper than one by one.

        Parameters
        ----------
        ids : user id or sequence of user ids
            Ids as in the input graph (strings typed at a prompt are converted for int ids).
        k : int, default 10
        steps, epsilon : optional
            Override the index defaults for this call.

        Returns
        -------
        list of (target_id, score), or a list of such lists
            Best first. A single id gives one list; a sequence gives one list per id.

        Raises
        ------
        UnknownVertexError
            An id that is not in the graph.
        """
        self._check_fitted("fingerprints_")
        k = check_positive_int("k", k)
        scalar = np.ndim(ids) == 0
        dense = self._id_map().index_of([ids] if scalar else list(ids))
        rows = self.query_indices(dense, k, steps=steps, epsilon=epsilon)
        user_ids = self.csr_.ids
        result = []
        for i in range(dense.shape[0]):
            targets, scores = rows.row(i)
            names = np.asarray(user_ids[targets]).tolist()
            result.append(list(zip(names, scores.tolist())))
        return result[0] if scalar else result


def _is_spark_graph(graph) -> bool:
    """Whether ``graph`` is a :class:`graphkit.Graph`, without importing :mod:`graphkit.graph`
    (and so pyspark): if that module is not loaded, no such graph exists."""
    module = sys.modules.get("graphkit.graph")
    return module is not None and isinstance(graph, module.Graph)
