"""Fully personalized PageRank on Spark: the PPR of every vertex, top-k per source.

Pipeline (PowerWalk's offline/online split, run for all sources):

1. **Fingerprints** of every vertex, computed in Spark tasks: each task walks from its share of
   the vertices over the broadcast CSR with the vectorised numpy walker
   (:func:`graphkit.ppr.kernels.fingerprints`; alias tables make weighted steps O(1)). Rows
   depend only on ``(seed, vertex)``, so any partitioning gives the same bytes.
2. **Decomposition** for every source, again in tasks over the broadcast CSR and fingerprints
   (:func:`graphkit.ppr.kernels.fully_ppr_topk`): ``steps`` exact propagation steps, then the
   fingerprints of the frontier. Batches of sources share sparse products.

This "fast path" needs the CSR and the fingerprints to fit in one task's memory: 16 bytes per
edge plus 8 bytes per fingerprint entry. ``engine="auto"`` measures the entries per vertex on a
random sample of vertices (fingerprints are per-vertex, so a sample mean is an unbiased estimate;
the upper end of its confidence interval is used) rather than assuming the worst case of
``1 / threshold`` per vertex, which overstated soc-Slashdot0902 by 20x and com-DBLP by 12x and
sent both down a path 30x slower. Graphs whose estimate exceeds ``max_broadcast_bytes`` go to
the distributed engine (:mod:`graphkit.ppr.distributed`): walkers as DataFrame rows moved by joins against
blocked alias tables and precomputed segments, never the whole graph in one place. It is plain
Monte Carlo (visit counting), so for the same precision it needs more walks than the fast path.
"""

from __future__ import annotations

import time

import numpy as np

from graphkit import _progress
from graphkit.base import (
    Estimator,
    check_choice,
    check_number,
    check_optional_positive_int,
    check_positive_int,
    check_seed,
)
from graphkit.ppr import kernels as K
from graphkit.ppr.distributed import WalkSettings, distributed_ppr_topk
from graphkit.sparkio import Scratch, map_vertex_batches

ENGINES = ("auto", "local", "distributed")
#: Fast-path memory per edge (int32 index, float64 weight, alias table) and per fingerprint entry
#: (int32 target, float32 value).
CSR_BYTES_PER_EDGE, FP_BYTES_PER_ENTRY = 16, 8
RESULT_SCHEMA = "src long, dst long, score double"


class FullyPersonalizedPageRank(Estimator):
    """Top-``k`` personalized PageRank of every vertex of a :class:`graphkit.Graph`.

    Parameters
    ----------
    alpha : float, default 0.15
        Restart probability; dangling vertices restart at the source.
    walks : int, default 8000
        Walks per vertex: fingerprint walks on the fast path (see :func:`graphkit.ppr.fingerprints`),
        Monte-Carlo walks per source on the distributed engine (visit-count estimator on both).
    top_k : int, default 100
        Targets kept per source.
    engine : {"auto", "local", "distributed"}, default "auto"
        ``"local"``: broadcast CSR + vectorised numpy walks inside tasks (the fast path).
        ``"distributed"``: shuffle-based walker (:mod:`graphkit.ppr.distributed`). ``"auto"``:
        the fast path when :meth:`estimate_task_bytes`, with the fingerprint size measured on a
        sample of vertices, fits ``max_broadcast_bytes``.
    seed : int, default 0
    steps, epsilon, threshold, hub_degree : see :class:`graphkit.ppr.PPRIndex` (fast path)
    max_broadcast_bytes : int, default 2 GiB
        Largest estimated task footprint that ``engine="auto"`` sends down the fast path.
    walk_settings : WalkSettings, optional
        Tuning of the distributed engine (hub block size, segments, walkers in flight); None:
        ``WalkSettings()``'s defaults, resolved in :meth:`fit`.

    Examples
    --------
    >>> ppr = FullyPersonalizedPageRank(top_k=10).fit(graph)     # doctest: +SKIP
    >>> ppr.transform().show()                                   # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        alpha: float = K.DEFAULT_ALPHA,
        walks: int = K.DEFAULT_FINGERPRINT_WALKS,
        top_k: int = 100,
        engine: str = "auto",
        seed: int = 0,
        steps: int = K.DEFAULT_STEPS,
        epsilon: float = K.DEFAULT_EPSILON,
        threshold: float = K.DEFAULT_FINGERPRINT_THRESHOLD,
        hub_degree: int | None = K.DEFAULT_HUB_DEGREE,
        max_broadcast_bytes: int = 2 << 30,
        walk_settings: WalkSettings | None = None,
    ):
        self.alpha = alpha
        self.walks = walks
        self.top_k = top_k
        self.engine = engine
        self.seed = seed
        self.steps = steps
        self.epsilon = epsilon
        self.threshold = threshold
        self.hub_degree = hub_degree
        self.max_broadcast_bytes = max_broadcast_bytes
        self.walk_settings = walk_settings

    def _validate(self) -> None:
        check_number("alpha", self.alpha, **K.ALPHA_BOUNDS)
        check_positive_int("walks", self.walks)
        check_positive_int("top_k", self.top_k)
        check_seed(self.seed)
        check_positive_int("steps", self.steps)
        check_number("epsilon", self.epsilon, **K.FRACTION_BOUNDS)
        check_number("threshold", self.threshold, **K.FRACTION_BOUNDS)
        check_optional_positive_int("hub_degree", self.hub_degree)
        check_choice("engine", self.engine, ENGINES)
        check_number("max_broadcast_bytes", self.max_broadcast_bytes, low=0)
        if self.walk_settings is not None:
            if not isinstance(self.walk_settings, WalkSettings):
                raise TypeError(f"walk_settings must be a WalkSettings or None, got {type(self.walk_settings).__name__}")
            self.walk_settings.validate()

    def estimate_task_bytes(self, num_vertices: int, num_edges: int, entries_per_vertex: float | None = None) -> int:
        """Memory one task needs on the fast path: CSR and alias table (16 B per edge) plus
        fingerprints (8 B per entry, 4 B per vertex). ``entries_per_vertex`` is a measured
        figure (:meth:`sample_entries_per_vertex`); without it, the worst case ``1 / threshold``."""
        bound = min(1.0 / max(self.threshold, 1e-12), num_vertices)
        per_vertex = bound if entries_per_vertex is None else min(entries_per_vertex, bound)
        return int(CSR_BYTES_PER_EDGE * num_edges + num_vertices * (FP_BYTES_PER_ENTRY * per_vertex + 4))

    def sample_entries_per_vertex(self, csr, sample: int = 512) -> float:
        """Fingerprint entries per vertex, measured on ``sample`` random vertices with this
        estimator's walks, threshold and seed: the mean plus three standard errors (about a
        0.1 % chance of underestimating). Costs ``sample * walks / alpha`` walk steps on the
        driver, about half a second at the defaults."""
        n = csr.num_vertices
        rng = np.random.default_rng(self.seed)
        vertices = np.sort(rng.choice(n, min(sample, n), replace=False))
        fp = K.fingerprints(csr.indptr, csr.indices, csr.weights, vertices, walks=self.walks, alpha=self.alpha,
                            seed=self.seed, threshold=self.threshold)
        counts = np.diff(fp.indptr).astype(np.float64)
        stderr = counts.std(ddof=1) / np.sqrt(counts.size) if counts.size > 1 and counts.size < n else 0.0
        return float(counts.mean() + 3 * stderr)

    def choose_engine(self, num_vertices: int, num_edges: int, entries_per_vertex: float | None = None) -> str:
        """The engine ``fit`` runs: the fast path when the (measured) task footprint fits."""
        if self.engine != "auto":
            return self.engine
        fits = self.estimate_task_bytes(num_vertices, num_edges, entries_per_vertex) <= self.max_broadcast_bytes
        return "local" if fits else "distributed"

    def fit(self, graph, progress=None) -> "FullyPersonalizedPageRank":
        """Compute fingerprints and the top-k of every source (Spark jobs run here).

        Parameters
        ----------
        graph : graphkit.Graph
        progress : callable, None or False, optional
            ``progress(stage, done, total)`` for long stages (see :mod:`graphkit._progress`);
            default: log lines to the ``graphkit`` logger; ``False``: silent.
        """
        self._validate_params()
        say = _progress.reporter(progress)
        edges = graph.num_edges * (1 if graph.directed else 2)
        self.graph_ = graph
        self.close()
        csr = None
        self.engine_ = self.choose_engine(graph.num_vertices, edges, entries_per_vertex=0.0)
        if self.engine == "auto" and self.engine_ == "local":
            # The CSR fits one task; whether the fingerprints do is measured on a sample.
            say(f"collecting the graph ({graph.num_vertices:,} vertices) and sampling fingerprint sizes")
            csr = graph.to_csr()
            entries = self.sample_entries_per_vertex(csr)
            self.estimated_task_bytes_ = self.estimate_task_bytes(csr.num_vertices, edges, entries)
            self.engine_ = self.choose_engine(csr.num_vertices, edges, entries)
            say(f"fast-path task footprint about {self.estimated_task_bytes_ / 2**20:,.0f} MiB "
                f"({entries:.0f} fingerprint entries per vertex): engine {self.engine_}")
        if self.engine_ == "distributed":
            say(f"distributed engine: {self.walks} Monte-Carlo walks from each of {graph.num_vertices:,} sources")
            self._scratch = Scratch(graph.spark, "graphkit-ppr")
            self.dense_result_ = distributed_ppr_topk(
                graph, walks=self.walks, alpha=self.alpha, top_k=self.top_k, seed=self.seed,
                settings=self.walk_settings or WalkSettings(), results=self._scratch, progress=say)
            return self
        spark = graph.spark
        if csr is None:
            say(f"collecting the graph ({graph.num_vertices:,} vertices) for the broadcast fast path")
            csr = graph.to_csr()
        self.csr_ = csr
        sc = spark.sparkContext
        csr_b = sc.broadcast((csr.indptr, csr.indices, csr.weights))

        say(f"fingerprints: {self.walks} walks from each of {csr.num_vertices:,} vertices")
        started = time.perf_counter()
        self.fingerprints_ = spark_fingerprints(
            spark, csr, walks=self.walks, alpha=self.alpha, seed=self.seed, threshold=self.threshold,
            csr_broadcast=csr_b)
        # wall time of the walk stage alone (tasks + collecting the rows), for benchmarks
        self.fingerprint_seconds_ = time.perf_counter() - started
        # on the driver: a sparse product over the hubs' edges, O(hub edges x fingerprint size)
        self.fingerprints_ = K.refine_hubs(self.fingerprints_, K.transition_matrix(csr.indptr, csr.indices, csr.weights),
                                           self.hub_degree, alpha=self.alpha, threshold=self.threshold)
        fp_b = sc.broadcast(tuple(self.fingerprints_))

        say(f"decomposition: top-{self.top_k} for every source")
        top_k, steps, epsilon, alpha, hub_degree = self.top_k, self.steps, self.epsilon, self.alpha, self.hub_degree

        def topk_kernel(sources):
            import pyarrow as pa

            indptr, indices, weights = csr_b.value
            fp = K.Fingerprints(*fp_b.value)
            rows = K.fully_ppr_topk(indptr, indices, weights, fp, sources, top_k,
                                    alpha=alpha, steps=steps, epsilon=epsilon, hub_degree=hub_degree,
                                    transition=_task_transition(csr_b))
            src = np.repeat(sources, np.diff(rows.indptr))
            yield pa.RecordBatch.from_arrays(
                [pa.array(src), pa.array(rows.indices.astype(np.int64)), pa.array(rows.values.astype(np.float64))],
                names=["src", "dst", "score"],
            )

        self.dense_result_ = map_vertex_batches(spark, csr.num_vertices, topk_kernel, RESULT_SCHEMA)
        return self

    def transform(self):
        """DataFrame ``(src, dst, score)`` in the user's ids (at most ``top_k`` rows per source)."""
        self._check_fitted("dense_result_")
        return self.graph_.translate(self.dense_result_, "src", "dst").select("src", "dst", "score")

    def save(self, path: str, overwrite: bool = False) -> str:
        """Write :meth:`transform` as a ``graphkit.ppr-topk`` artifact: Parquet parts plus a
        manifest (parameters, seed, the graph's fingerprint, every part's size and CRC-32),
        atomically. Read it back with :func:`graphkit.ppr.load_topk`.
        """
        from graphkit.ppr.topk import FORMAT, VERSION
        from graphkit.sparkio import write_parquet

        params = {"alpha": self.alpha, "walks": self.walks, "top_k": self.top_k, "engine": self.engine_,
                  "steps": self.steps, "epsilon": self.epsilon, "threshold": self.threshold,
                  "hub_degree": self.hub_degree}
        return write_parquet(self.transform(), path, overwrite=overwrite, artifact={
            "format": FORMAT, "version": VERSION, "params": params, "seed": self.seed,
            "graph": self.graph_.fingerprint()})

    def close(self) -> None:
        """Delete the distributed engine's result files (after :meth:`transform`'s output is
        written). A no-op on the fast path."""
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            scratch.close()
            self._scratch = None


_TRANSITION_CACHE: list = []


def _task_transition(csr_broadcast):
    """The transition matrix of a broadcast CSR, built once per Python worker (O(m)) rather
    than once per batch of sources. A worker keeps the broadcast value loaded across tasks, so
    the value object itself identifies the graph."""
    value = csr_broadcast.value
    if not _TRANSITION_CACHE or _TRANSITION_CACHE[0] is not value:
        _TRANSITION_CACHE[:] = [value, K.transition_matrix(*value)]
    return _TRANSITION_CACHE[1]


def spark_fingerprints(spark, csr, *, walks, alpha, seed, threshold, csr_broadcast=None) -> K.Fingerprints:
    """Fingerprints of every vertex computed in Spark tasks over a broadcast CSR.

    Byte-identical to :func:`graphkit.ppr.kernels.fingerprints` on one machine (rows depend
    only on the seed and the vertex).
    """
    csr_b = csr_broadcast or spark.sparkContext.broadcast((csr.indptr, csr.indices, csr.weights))

    def fingerprint_kernel(vertices):
        import pyarrow as pa

        indptr, indices, weights = csr_b.value
        fp = K.fingerprints(indptr, indices, weights, vertices, walks=walks, threshold=threshold,
                            alpha=alpha, seed=seed)
        offsets = pa.array(fp.indptr.astype(np.int32))
        yield pa.RecordBatch.from_arrays(
            [pa.array(vertices), pa.ListArray.from_arrays(offsets, pa.array(fp.indices)),
             pa.ListArray.from_arrays(offsets, pa.array(fp.values)), pa.array(fp.mass)],
            names=["vertex", "targets", "values", "mass"],
        )

    table = map_vertex_batches(
        spark, csr.num_vertices, fingerprint_kernel,
        "vertex long, targets array<int>, values array<float>, mass float",
    ).toArrow()
    return _fingerprints_from_arrow(table, csr.num_vertices)


def _fingerprints_from_arrow(table, num_vertices: int) -> K.Fingerprints:
    """Reassemble per-task fingerprint rows (any order) into one Fingerprints in vertex order."""
    parts = []
    for batch in table.to_batches():
        if batch.num_rows == 0:
            continue
        targets, values = batch.column("targets"), batch.column("values")
        offsets = targets.offsets.to_numpy().astype(np.int64)
        fp = K.Fingerprints(
            offsets - offsets[0],
            targets.values.to_numpy()[offsets[0]:offsets[-1]].astype(np.int32),
            values.values.to_numpy()[offsets[0]:offsets[-1]].astype(np.float32),
            batch.column("mass").to_numpy().astype(np.float32),
        )
        parts.append((batch.column("vertex").to_numpy(), fp))
    return K.merge_fingerprints(parts, num_vertices)


def graphframes_ppr(graph, sources, *, alpha: float = K.DEFAULT_ALPHA, tol: float = 1e-4,
                    max_iter: int | None = None) -> K.SparseRows:
    """PPR of ``sources`` by GraphFrames' ``parallelPersonalizedPageRank`` (the same-run peer of
    the benchmark; needs the GraphFrames JVM package, see :func:`graphkit._jvm.require_graphframes`).

    GraphX's parallel PPR runs a fixed number of iterations over all sources at once and ignores
    edge weights; its source ids are collected on the driver, which is why it cannot serve every
    vertex of a large graph. Undirected graphs are given to it with both edge directions. GraphX
    loses the mass that reaches a dangling vertex; normalising the rows rescales it, which is not
    graphkit's restart-at-source rule, so compare on graphs without dangling vertices.

    Parameters
    ----------
    graph : graphkit.Graph
    sources : array of int
        Dense source ids.
    alpha : float, default 0.15
        Reset probability.
    tol : float, default 1e-4
        Sets the iteration count ``T`` (``(1 - alpha)^T <= tol``) when ``max_iter`` is None.
    max_iter : int, optional

    Returns
    -------
    SparseRows
        Row ``i``: targets (sorted dense ids) and scores of ``sources[i]``, normalised to sum 1.
    """
    from graphkit import _jvm

    alpha = check_number("alpha", alpha, **K.ALPHA_BOUNDS)
    sources = K.check_sources(sources, graph.num_vertices)
    iterations = max_iter or K.exact_iterations(alpha, tol)
    frame = _jvm.make_graphframe(graph.spark, graph.vertices, graph.symmetric_edges())
    ranked = frame.parallelPersonalizedPageRank(resetProbability=alpha, sourceIds=[int(s) for s in sources],
                                                maxIter=iterations)
    rows, cols, vals = [], [], []
    for row in ranked.vertices.select("id", "pageranks").toLocalIterator():
        vector = row["pageranks"]  # SparseVector over the positions of sourceIds
        rows.append(np.asarray(vector.indices, dtype=np.int64))
        cols.append(np.full(len(vector.indices), int(row["id"]), dtype=np.int64))
        vals.append(np.asarray(vector.values, dtype=np.float64))
    import scipy.sparse as sp

    m = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(sources.size, graph.num_vertices))
    m.sort_indices()
    sums = np.asarray(m.sum(axis=1)).ravel()
    m.data /= np.repeat(np.where(sums > 0, sums, 1.0), np.diff(m.indptr))
    return K.SparseRows(m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data)
