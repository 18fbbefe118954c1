"""Recursive-partition network embeddings on Spark (after DistNE, Lin KDD 2021).

Stages (each a pure kernel from :mod:`graphkit.embed._kernels`, run where it is cheapest):

1. **Partition.** The driver bisects the graph (Fiedler vector + boundary refinement) into up to
   16 coarse parts; each coarse part is then bisected further
   in its own Spark task, in parallel, until every part has at most ``max_part_size`` vertices.
2. **Shared space.** The border vertices (most cut weight in each part, ``2 * dim`` per part) are
   embedded together on the driver; this is the space every part is aligned into.
3. **Parts in parallel.** One Spark task per part embeds the part's induced subgraph (regularised
   spectral embedding by default, see :func:`graphkit.embed._kernels.spectral_embed`) and
   rotates it into the shared space by orthogonal Procrustes on the shared vertices.
4. **Fuse and refine.** Every vertex's pieces are averaged (linear in the vertices), then a
   whole-graph refinement (two rounds of the eigensolver warm-started from the fused embedding,
   sparse products linear in the edges) removes the seams.

The driver holds the CSR (it is the single-machine hand-off of :class:`graphkit.Graph`); parts
ship to executors as broadcast arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphkit.embed import _kernels as K

SCHEMA = "id long, embedding array<float>"
#: coarse parts bisected on the driver before the rest of the recursion runs in parallel tasks
COARSE_PARTS = 16


@dataclass(kw_only=True)
class RecursivePartitionEmbedding:
    """Estimator: ``RecursivePartitionEmbedding(dim=128, max_part_size=...).fit(graph).transform()``.

    Parameters
    ----------
    dim : int, default 128
        Embedding dimension, ``0 < dim < number of vertices``.
    max_part_size : int or None, default None
        Parts have at most this many vertices (must be ``> 2 * dim``); ``None`` embeds the
        whole graph in one piece (the quality reference).
    seed : int, default 0
    method : {"spectral", "prone", "netmf"}, default "spectral"
        See :func:`graphkit.embed._kernels.embed_part`.
    refine_iterations : int, default 2

    Attributes
    ----------
    parts_ : ndarray of int64
        Part of every vertex (dense ids).
    embedding_ : ndarray of float32, shape (n, dim)
        L2-normalised rows; isolated vertices get the zero vector.
    """

    dim: int = 128
    max_part_size: int | None = None
    seed: int = 0
    method: str = "spectral"
    refine_iterations: int = 2

    def fit(self, graph, progress=None) -> "RecursivePartitionEmbedding":
        """Partition, embed the parts in Spark tasks, fuse (Spark jobs run here)."""
        say = progress or (lambda message: None)
        say(f"collecting the graph ({graph.num_vertices:,} vertices)")
        csr = graph.to_csr()
        a = K.adjacency(csr)
        n = a.shape[0]
        dim = K._check_embeddable(a, self.dim)
        self.graph_ = graph
        self.ids_ = csr.ids
        if self.max_part_size is None or self.max_part_size >= n:
            if self.max_part_size is not None:
                K.check_max_part_size(self.max_part_size, dim)
            say("embedding the whole graph")
            self.parts_ = np.zeros(n, dtype=np.int64)
            self.embedding_ = K.embed_part(a, dim, self.seed, self.method)
            return self
        max_part = K.check_max_part_size(self.max_part_size, dim)
        spark = graph.spark
        sc = spark.sparkContext
        a_b = sc.broadcast(a)

        say(f"partitioning into parts of at most {max_part:,} vertices")
        self.parts_ = _partition(spark, a, a_b, max_part, self.seed)
        num_parts = int(self.parts_.max()) + 1
        quality = K.partition_quality(a, self.parts_)
        say(f"{num_parts} parts, cut fraction {quality.get('cut_fraction', float('nan')):.3f}")

        shared = K.shared_vertices(a, self.parts_, 2 * dim)
        ref = K._embed_or_zeros(a[shared][:, shared].tocsr(), dim, self.seed, self.method)
        position = np.full(n, -1, dtype=np.int64)
        position[shared] = np.arange(shared.size)
        state_b = sc.broadcast((self.parts_, ref, position))
        seed, method = self.seed, self.method

        def part_kernel(part_ids):
            import pyarrow as pa

            adjacency_matrix = a_b.value
            parts, reference, pos = state_b.value
            for p in part_ids:
                members = np.flatnonzero(parts == p)
                emb = K._embed_or_zeros(adjacency_matrix[members][:, members].tocsr(), dim, seed + 1 + int(p), method)
                local = np.flatnonzero(pos[members] >= 0)
                ref_rows = reference[pos[members[local]]]
                usable = (np.abs(emb[local]).sum(axis=1) > 0) & (np.abs(ref_rows).sum(axis=1) > 0)
                if usable.any():
                    emb = K.align(emb, local[usable], ref_rows[usable])
                flat = pa.array(emb.astype(np.float32).ravel())
                yield pa.RecordBatch.from_arrays(
                    [pa.array(members), pa.FixedSizeListArray.from_arrays(flat, dim).cast(pa.list_(pa.float32()))],
                    names=["id", "embedding"],
                )

        from graphkit.sparkio import map_vertex_batches

        say(f"embedding {num_parts} parts in parallel")
        table = map_vertex_batches(spark, num_parts, part_kernel, SCHEMA, num_batches=num_parts).toArrow()
        pieces = [(shared, ref)]
        for batch in table.to_batches():
            if batch.num_rows:
                flat = batch.column("embedding").values.to_numpy()
                pieces.append((batch.column("id").to_numpy(), flat.reshape(batch.num_rows, dim)))
        say("fusing the pieces and refining")
        fused = K.fuse(n, pieces)
        self.embedding_ = K.global_refinement(a, fused, iterations=self.refine_iterations, method=self.method,
                                              seed=self.seed)
        return self

    def transform(self):
        """DataFrame ``(id, embedding array<float>)`` in the user's ids."""
        if not hasattr(self, "embedding_"):
            raise RuntimeError("RecursivePartitionEmbedding is not fitted: call fit(graph) first")
        import pandas as pd

        spark = self.graph_.spark
        frame = pd.DataFrame({"id": self.ids_.tolist(), "embedding": list(self.embedding_.astype(np.float32))})
        id_type = "long" if self.ids_.dtype.kind in "iu" else "string"
        return spark.createDataFrame(frame, f"id {id_type}, embedding array<float>")


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
