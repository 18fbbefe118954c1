"""Recursive-partition network embeddings on Spark (after DistNE, Lin KDD 2021).

Two engines run the same stages (each a pure kernel from :mod:`graphkit.embed.kernels`):

``engine="local"`` (graphs that fit on the driver): the driver collects the graph and bisects
it into up to 16 coarse parts (Fiedler vector + boundary refinement); each coarse part is bisected
further in its own Spark task until every part has at most ``max_part_size`` vertices; the
border vertices (most cut weight, ``2 * dim`` per part) are embedded together on the driver as
the shared space; one Spark task per part embeds the part's induced subgraph (regularised
spectral embedding by default, :func:`graphkit.embed.kernels.spectral_embed`) and rotates it
onto the shared space by orthogonal Procrustes; the pieces are averaged.

``engine="distributed"`` (:mod:`graphkit.embed.distributed`): the graph stays in Spark. Label
propagation contracts it until the driver can partition it; parts and their subgraphs are
shuffled to tasks; only the shared-space subgraph is collected.

Both end with a **refinement**: two rounds of the whole-graph eigensolver warm-started from the
fused embedding, then the propagation (sparse products linear in the edges), which removes the
seams between parts (on BlogCatalog with 8 parts, Micro-F1 0.278 without any, 0.405 with the
propagation alone, 0.432 with it; whole graph 0.435). The local engine runs it on the driver.
The distributed engine runs it in Spark (:mod:`graphkit.embed.blockrows`: row blocks of whole
parts, a halo exchange per sparse product, TSQR), so the graph is never collected; it gives the
driver's answer up to rounding. ``method="prone"`` / ``"netmf"`` have only the driver version,
which ``refine=None`` runs when :meth:`estimate_driver_bytes` fits ``max_driver_bytes``.
"""

from __future__ import annotations

import numbers

import numpy as np

from graphkit import _progress
from graphkit.base import Estimator, check_choice, check_positive_int, check_seed
from graphkit.embed import kernels as K
from graphkit.embed.blockrows import BLOCK_ROWS
from graphkit.embed.distributed import COARSE_PARTS, CoarseningSettings

SCHEMA = "id long, embedding array<float>"
ENGINES = ("auto", "local", "distributed")
_NEEDS_PART_SIZE = "engine='distributed' needs max_part_size (the whole graph would be embedded on the driver)"
#: Part size the distributed engine picks when ``engine="auto"`` chose it and no ``max_part_size``
#: was given: com-DBLP's 32 parts of about 10,000 vertices lost no link-prediction AUC against the
#: whole-graph embedding (0.988 both), and a part of 20,000 vertices embeds in one task in seconds.
AUTO_PART_SIZE = 20_000


def auto_part_size(num_vertices: int, dim: int) -> int:
    """The distributed engine's part size when none is given: :data:`AUTO_PART_SIZE`, or an
    eighth of the graph when that is smaller, and always more than ``2 * dim`` (the rule of
    :func:`graphkit.embed.kernels.check_max_part_size`)."""
    return max(4 * int(dim), min(AUTO_PART_SIZE, -(-int(num_vertices) // 8)))


class RecursivePartitionEmbedding(Estimator):
    """Estimator: ``RecursivePartitionEmbedding(dim=128, max_part_size=...).fit(graph).transform()``.

    Parameters
    ----------
    dim : int, default 128
        Embedding dimension, ``0 < dim < number of vertices``.
    max_part_size : int or None, default None
        Parts have at most this many vertices (must be ``> 2 * dim``). ``None``: the local
        engine embeds the whole graph in one piece (the quality reference); when ``engine="auto"``
        finds that the graph does not fit the driver, the distributed engine picks
        :func:`auto_part_size` (at most 20,000 vertices per part).
    seed : int, default 0
    method : {"spectral", "prone", "netmf"}, default "spectral"
        See :func:`graphkit.embed.kernels.embed_part`.
    engine : {"auto", "local", "distributed"}, default "auto"
        ``"local"`` collects the graph to the driver; ``"distributed"`` keeps it in Spark (see the
        module docs); ``"auto"`` picks local when :meth:`estimate_driver_bytes` fits
        ``max_driver_bytes``.
    refine : bool or None, default None
        Whole-graph refinement after fusion. ``None``: when it runs in Spark (see
        ``refine_on``), otherwise when the graph fits ``max_driver_bytes``.
    refine_on : {"auto", "spark", "driver"}, default "auto"
        Where the refinement runs. ``"spark"`` (:mod:`graphkit.embed.blockrows`) needs
        ``engine="distributed"`` and ``method="spectral"``; ``"driver"`` collects the graph
        (com-DBLP, 32 parts: 147 s against 451 s in Spark, same AUC); ``"auto"``: Spark whenever
        it can.
    refine_iterations : int, default 2
    refine_block_rows : int, default 20000
        Distributed refinement: rows per block, i.e. per task of each sparse product (see
        :mod:`graphkit.embed.blockrows`); every block costs a task per product, so fewer, larger
        blocks are faster while a block's rows and halo fit a task.
    max_driver_bytes : int, default 2 GiB
    coarsening : CoarseningSettings or None, default None
        Tuning of the distributed engine's partitioner (``None``: ``CoarseningSettings()``,
        resolved in :meth:`fit`).

    Attributes
    ----------
    engine_ : str
    max_part_size_ : int or None
        The part size used (``max_part_size``, or the automatic one; None: one piece).
    num_parts_ : int
    coarse_vertices_ : int
        Distributed engine: vertices of the contracted graph the driver partitioned.
    partition_quality_ : dict
        Cut fraction, part sizes, border share (see
        :func:`graphkit.embed.kernels.partition_quality`).
    refined_ : bool
    refinement_ : {"spark", "driver"} or None
        Where the refinement ran.
    ids_ : ndarray
        User ids by dense id.
    parts_ : ndarray of int64
        Part of every vertex (dense ids; collected from Spark on first access after a
        distributed fit).
    embedding_ : ndarray of float32, shape (n, dim)
        L2-normalised rows; isolated vertices get the zero vector (collected from Spark on first
        access when the embedding stayed distributed).
    """

    def __init__(self, *, dim: int = 128, max_part_size: int | None = None, seed: int = 0, method: str = "spectral",
                 engine: str = "auto", refine: bool | None = None, refine_on: str = "auto", refine_iterations: int = 2,
                 refine_block_rows: int = BLOCK_ROWS, max_driver_bytes: int = 2 << 30,
                 coarsening: CoarseningSettings | None = None):
        self.dim = dim
        self.max_part_size = max_part_size
        self.seed = seed
        self.method = method
        self.engine = engine
        self.refine = refine
        self.refine_on = refine_on
        self.refine_iterations = refine_iterations
        self.refine_block_rows = refine_block_rows
        self.max_driver_bytes = max_driver_bytes
        self.coarsening = coarsening
        # fitted state behind the parts_ / embedding_ properties (not parameters)
        self._parts = self._embedding = self._parts_frame = self._embedding_frame = self._scratch = None

    def estimate_driver_bytes(self, num_vertices: int, num_edges: int) -> int:
        """Driver memory of the local engine and of the driver refinement: the CSR (both directions)
        and a few ``n x dim`` float64 work matrices of the eigensolver."""
        return int(24 * 2 * num_edges + 4 * 8 * num_vertices * self.dim)

    def _validate(self) -> None:
        check_choice("engine", self.engine, ENGINES)
        if self.refine not in (None, True, False):
            raise ValueError(f"refine must be None, True or False, got {self.refine!r}")
        if self.refine_on not in ("auto", "spark", "driver"):
            raise ValueError(f"refine_on must be 'auto', 'spark' or 'driver', got {self.refine_on!r}")
        check_choice("method", self.method, K.METHODS)
        dim = K.check_dim(self.dim)
        if self.max_part_size is not None:
            K.check_max_part_size(self.max_part_size, dim)
        elif self.engine == "distributed":
            raise ValueError(_NEEDS_PART_SIZE)
        check_seed(self.seed)
        check_positive_int("refine_block_rows", self.refine_block_rows)
        for name in ("refine_iterations", "max_driver_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if self.refine_on == "spark" and (self.engine == "local" or self.method != "spectral"):
            raise ValueError("refine_on='spark' needs engine='distributed' and method='spectral' "
                             f"(got engine {self.engine!r}, method {self.method!r})")
        if self.coarsening is not None:
            if not isinstance(self.coarsening, CoarseningSettings):
                raise TypeError(f"coarsening must be a CoarseningSettings or None, got {self.coarsening!r}")
            self.coarsening.validate()

    def fit(self, graph, progress=None) -> "RecursivePartitionEmbedding":
        """Partition, embed the parts in Spark tasks, fuse, refine (Spark jobs run here).

        Parameters
        ----------
        graph : graphkit.Graph
        progress : callable, None or False, optional
            ``progress(stage, done, total)`` for long stages (see :mod:`graphkit._progress`);
            default: log lines to the ``graphkit`` logger; ``False``: silent.
        """
        self._validate_params()
        say = _progress.reporter(progress)
        # dim < number of vertices: the one check that needs the graph (a count, nothing collected)
        K.check_dim(self.dim, graph.num_vertices)
        self.close()  # a refit drops the previous fit's Spark files
        self.graph_ = graph
        self._parts = self._embedding = self._parts_frame = self._embedding_frame = None
        fits = self.estimate_driver_bytes(graph.num_vertices, graph.num_edges) <= self.max_driver_bytes
        self.engine_ = self.engine if self.engine != "auto" else ("local" if fits else "distributed")
        can = self.engine_ == "distributed" and self.method == "spectral"
        if self.refine_on == "spark" and not can:
            raise ValueError("refine_on='spark' needs engine='distributed' and method='spectral' "
                             f"(got engine {self.engine_!r}, method {self.method!r})")
        in_spark = can and self.refine_on != "driver"
        self.refined_ = (in_spark or fits) if self.refine is None else self.refine
        self.refinement_ = ("spark" if in_spark else "driver") if self.refined_ else None
        self.max_part_size_ = self.max_part_size
        if self.engine_ == "distributed":
            if self.max_part_size is None:  # engine="auto" chose it (_validate refuses an explicit one)
                self.max_part_size_ = auto_part_size(graph.num_vertices, self.dim)
                say(f"the graph does not fit the driver (max_driver_bytes): distributed engine, parts of at most "
                    f"{self.max_part_size_:,} vertices")
            self._fit_distributed(graph, say)
        else:
            self._fit_local(graph, say)
        return self

    def _fit_local(self, graph, say) -> None:
        say(f"collecting the graph ({graph.num_vertices:,} vertices)")
        csr = graph.to_csr()
        a = K.adjacency(csr)
        n = a.shape[0]
        dim = K.check_embeddable(a, self.dim)  # parameters were validated in fit; this checks the graph
        self.ids_ = csr.ids
        if self.max_part_size_ is None or self.max_part_size_ >= n:
            say("embedding the whole graph")
            self._parts = np.zeros(n, dtype=np.int64)
            self.num_parts_, self.refined_, self.refinement_ = 1, False, None
            self.partition_quality_ = K.partition_quality(a, self._parts)
            self._embedding = K.embed_part(a, dim, self.seed, self.method)
            return
        max_part = int(self.max_part_size_)
        spark = graph.spark
        sc = spark.sparkContext
        a_b = sc.broadcast(a)

        say(f"partitioning into parts of at most {max_part:,} vertices")
        self._parts = _partition(spark, a, a_b, max_part, self.seed)
        num_parts = self.num_parts_ = int(self._parts.max()) + 1
        self.partition_quality_ = K.partition_quality(a, self._parts)
        say(f"{num_parts} parts, cut fraction {self.partition_quality_['cut_fraction']:.3f}")

        shared, ref = K.shared_space(a, self._parts, 2 * dim, dim, self.seed, self.method)
        state_b = sc.broadcast((self._parts, shared, ref))
        seed, method = self.seed, self.method

        def part_kernel(part_ids):
            import pyarrow as pa

            parts, shared_ids, reference = state_b.value
            for members, rows in K.embed_parts(a_b.value, parts, part_ids, shared_ids, reference, dim, seed, method):
                flat = pa.array(rows.ravel())
                yield pa.RecordBatch.from_arrays(
                    [pa.array(members), pa.FixedSizeListArray.from_arrays(flat, dim).cast(pa.list_(pa.float32()))],
                    names=["id", "embedding"],
                )

        from graphkit.sparkio import map_vertex_batches

        say(f"embedding {num_parts} parts in parallel")
        table = map_vertex_batches(spark, num_parts, part_kernel, SCHEMA, num_batches=num_parts).toArrow()
        say("fusing the pieces" + (" and refining" if self.refined_ else ""))
        fused = np.zeros((n, dim), dtype=np.float32)
        for batch in table.to_batches():
            if batch.num_rows:
                flat = batch.column("embedding").values.to_numpy()
                fused[batch.column("id").to_numpy()] = flat.reshape(batch.num_rows, dim)
        self._embedding = self._refined(a, fused) if self.refined_ else fused

    def _refined(self, a, fused):
        return K.global_refinement(a, fused, iterations=self.refine_iterations, method=self.method, seed=self.seed)

    def _fit_distributed(self, graph, say) -> None:
        from pyspark.sql import functions as F

        from graphkit.embed import distributed as D
        from graphkit.embed.blockrows import spark_refinement
        from graphkit.sparkio import Scratch

        n = graph.num_vertices
        scratch = self._scratch = Scratch(graph.spark, "graphkit-embed")
        edges = scratch.freeze(D.undirected_edges(graph), "edges")
        K.check_has_edges(n, edges.where(F.col("src") != F.col("dst")).limit(1).count())
        dim, max_part = int(self.dim), int(self.max_part_size_)
        say(f"partitioning in Spark into parts of at most {max_part:,} vertices")
        parts, self.num_parts_, self.coarse_vertices_ = D.distributed_partition(
            graph, edges, max_part, self.seed, self.coarsening or CoarseningSettings(), scratch, say)
        self._parts_frame = parts
        self.partition_quality_ = D.partition_stats(edges, parts)
        say(f"{self.num_parts_} parts, cut fraction {self.partition_quality_['cut_fraction']:.3f}")
        say("embedding the shared space")
        shared_ids, shared_rows = D.shared_space(edges, parts, 2 * dim, dim, self.seed, self.method)
        say(f"embedding {self.num_parts_} parts in parallel and fusing")
        fused = scratch.freeze(D.embed_parts(graph.spark, edges, parts, shared_ids, shared_rows, dim, self.seed,
                                             self.method), "fused")
        self._embedding_frame = fused
        if self.refinement_ != "driver":
            if self.refined_:
                say("refining in Spark")
                refined, release = spark_refinement(edges, parts, fused, self.num_parts_, dim,
                                                    iterations=self.refine_iterations, seed=self.seed,
                                                    block_rows=self.refine_block_rows, say=say)
                self._embedding_frame = scratch.freeze(refined, "refined")
                release()
            self.ids_ = graph.vertex_names()
            return
        say("refining on the driver")
        csr = graph.to_csr()
        self.ids_ = csr.ids
        self._embedding = self._refined(K.adjacency(csr), _dense_rows(fused, n, dim))
        self._embedding_frame = None

    @property
    def parts_(self) -> np.ndarray:
        self._check_fitted("graph_")
        if self._parts is None and self._parts_frame is not None:
            frame = self._parts_frame.toPandas()
            self._parts = np.empty(len(frame), dtype=np.int64)
            self._parts[frame["v"].to_numpy(np.int64)] = frame["part"].to_numpy(np.int64)
        return self._parts

    @property
    def embedding_(self) -> np.ndarray:
        self._check_fitted("graph_")
        if self._embedding is None and self._embedding_frame is not None:
            self._embedding = _dense_rows(self._embedding_frame, len(self.ids_), self.dim)
        return self._embedding

    def transform(self):
        """DataFrame ``(id, embedding array<float>)`` in the user's ids."""
        self._check_fitted("graph_")
        if self._embedding_frame is not None:
            return self.graph_.translate(self._embedding_frame, "id").select("id", "embedding")
        import pandas as pd

        spark = self.graph_.spark
        frame = pd.DataFrame({"id": self.ids_.tolist(), "embedding": list(self._embedding.astype(np.float32))})
        id_type = "long" if self.ids_.dtype.kind in "iu" else "string"
        return spark.createDataFrame(frame, f"id {id_type}, embedding array<float>")

    def save(self, path: str, overwrite: bool = False) -> str:
        """Write :meth:`transform` as a ``graphkit.embeddings`` artifact: Parquet parts plus a
        manifest (parameters, seed, the graph's fingerprint, every part's size and CRC-32),
        atomically. Read it back with :func:`graphkit.embed.load_embeddings`.
        """
        self._check_fitted("graph_")
        from graphkit.embed.local import FORMAT, VERSION
        from graphkit.sparkio import write_parquet

        params = {"dim": self.dim, "max_part_size": self.max_part_size_, "method": self.method,
                  "engine": self.engine_, "refinement": self.refinement_, "num_parts": self.num_parts_}
        return write_parquet(self.transform(), path, overwrite=overwrite, artifact={
            "format": FORMAT, "version": VERSION, "params": params, "seed": self.seed,
            "graph": self.graph_.fingerprint()})

    def close(self) -> None:
        """Delete the distributed engine's intermediate files (after :meth:`transform`'s output is
        written). A no-op for the local engine."""
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            scratch.close()
            self._scratch = None


def _dense_rows(frame, n: int, dim: int) -> np.ndarray:
    """Collect an ``(id, embedding)`` frame of dense ids into an ``n x dim`` float32 matrix."""
    table = frame.toArrow()
    out = np.zeros((n, dim), dtype=np.float32)
    ids = table.column("id").to_numpy()
    flat = table.column("embedding").combine_chunks().flatten().to_numpy()
    out[ids] = flat.reshape(-1, dim)
    return out


def _partition(spark, a, a_b, max_part: int, seed: int) -> np.ndarray:
    """Top levels on the driver, then each coarse part's subtree in its own Spark task."""
    n = a.shape[0]
    # A fixed fan-out (not the cluster's core count), so the same seed gives the same parts
    # on a laptop and on any cluster.
    coarse_size = max(max_part, int(np.ceil(n / COARSE_PARTS)))
    coarse = K.recursive_partition(a, coarse_size, seed)
    num_coarse = int(coarse.max()) + 1
    if coarse_size == max_part:
        return coarse
    coarse_b = spark.sparkContext.broadcast(coarse)

    def refine_kernel(coarse_ids):
        import pyarrow as pa

        adjacency_matrix, labels = a_b.value, coarse_b.value
        for c in coarse_ids:
            members = np.flatnonzero(labels == c)
            sub = K.recursive_partition(adjacency_matrix[members][:, members].tocsr(), max_part, seed * 7919 + int(c))
            yield pa.RecordBatch.from_arrays(
                [pa.array(members), pa.array(np.full(members.size, c, dtype=np.int64)), pa.array(sub)],
                names=["vertex", "coarse", "fine"],
            )

    from graphkit.sparkio import map_vertex_batches

    table = map_vertex_batches(spark, num_coarse, refine_kernel, "vertex long, coarse long, fine long",
                               num_batches=num_coarse).toArrow()
    vertex = table.column("vertex").to_numpy()
    key = table.column("coarse").to_numpy() * (n + 1) + table.column("fine").to_numpy()
    _, dense_part = np.unique(key, return_inverse=True)  # renumber (coarse, fine) pairs 0..parts-1
    parts = np.empty(n, dtype=np.int64)
    parts[vertex] = dense_part
    return parts


def graphframes_embedding(graph, dim: int = 128, seed: int = 0, walks_per_vertex: int = 5) -> np.ndarray:
    """Embeddings from GraphFrames' ``RandomWalkEmbeddings`` (random walks with restart +
    Word2Vec, DeepWalk-style): the same-run peer of ``bench/embed.py``. Needs the GraphFrames JVM
    package (see ``require_graphframes`` in ``graphkit/_jvm.py``) and a checkpoint directory for its
    walks.

    Returns
    -------
    ndarray of float32, shape (n, dim)
        Rows in dense-id order, L2-normalised; vertices Word2Vec dropped (never walked) are zero.
    """
    from graphframes.graphframe import RandomWalkEmbeddings

    from graphkit import _jvm
    from graphkit.sparkio import Scratch

    n = graph.num_vertices
    dim = K.check_dim(dim, n)
    frame = _jvm.make_graphframe(graph.spark, graph.vertices, graph.symmetric_edges())
    scratch = Scratch(graph.spark, "graphkit-rw-embeddings")
    if scratch.path is None:
        raise RuntimeError("GraphFrames RandomWalkEmbeddings needs a checkpoint directory (spark.checkpoint.dir)")
    try:
        model = RandomWalkEmbeddings(frame)
        model.set_rw_model(temporary_prefix=scratch.path, num_walks_per_node=walks_per_vertex, seed=seed)
        model.set_word2vec(embeddings_dim=dim, min_count=0, seed=seed)
        result = model.run().toPandas()
    finally:
        scratch.close()
    # the vector column's name is GraphFrames' choice; it is the one column besides the id
    column = next(c for c in result.columns if c != "id" and not isinstance(result[c].iloc[0], (int, str)))
    vectors = np.stack([np.asarray(v.toArray() if hasattr(v, "toArray") else v, dtype=np.float64)
                        for v in result[column]])
    x = np.zeros((n, vectors.shape[1]), dtype=np.float64)
    x[result["id"].to_numpy(np.int64)] = vectors
    return K.unit_rows(x)
