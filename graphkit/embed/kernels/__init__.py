"""Numerical kernels of recursive-partition embeddings (after DistNE, Lin KDD 2021).

Pure functions over numpy / scipy.sparse: no I/O, no pyspark. The same code runs inside one Spark
task (one task per part) and in :func:`graphkit.embed.local.embed_csr` on a laptop.

Pipeline
--------
1. :func:`recursive_partition` (built on :func:`bisect`) splits the graph into balanced parts of at
   most ``max_part_size`` vertices with few cut edges.
2. :func:`embed_part` embeds each part's induced subgraph independently (default
   :func:`spectral_embed`: top eigenvectors of the degree-regularised normalised adjacency by
   Chebyshev-filtered subspace iteration, then ProNE's :func:`spectral_propagation`).
3. :func:`shared_vertices` picks, in every part, the vertices with most cut edges (at least
   ``dim`` per part); :func:`embed_part` embeds the subgraph they induce: the shared space.
4. :func:`align` maps each part onto the shared space (orthogonal Procrustes on the shared
   vertices it contains); :func:`fuse` averages every vertex's pieces (linear in vertices).
5. :func:`global_refinement` polishes the fused embedding against the *whole* graph at a cost
   linear in its edges: two rounds of the whole-graph eigensolver warm-started from the fused
   embedding, then the propagation. It restores the structure carried by the cut edges, which
   Procrustes alignment alone cannot: BlogCatalog is a dense social graph where even good
   partitions cut 60% of the edges into 8 parts (two of the 8 parts have no inner edge at
   all), and fusion with propagation only loses 3 Micro-F1 points there (0.405 vs 0.435);
   with two rounds the 8-part embedding is within 0.3 points of the whole-graph one. Two
   rounds from a random start score the same there (0.432 / 0.292): on such a graph the
   quality comes from the whole-graph rounds, the parts only help when fewer rounds are run
   (1 round: 0.424 / 0.282 from the fused start, 0.416 / 0.268 from a random one). Every step
   is a sparse product or a small dense problem, so it distributes: the local engine runs this
   function on the driver, and the distributed engine runs the same steps over row blocks in
   Spark (:mod:`graphkit.embed.blockrows`).

Modules: :mod:`~graphkit.embed.kernels.common` (inputs, checks), :mod:`~.eigen` (the
eigensolver steps), :mod:`~.embedders`, :mod:`~.refine`, :mod:`~.partition`, :mod:`~.fusion`
(shared space, alignment, fusion and the per-part loop). This package re-exports their public
functions.

Why the default embedder (the measurements): see ``docs/embed-kernels.md``.

Conventions
-----------
* Graphs are treated as undirected and weighted: a directed graph is symmetrised
  (``A + A.T``), and ``weights=None`` means every weight is 1. Self-loops are kept.
* Embeddings are float32 with L2-normalised rows (so dot product = cosine).
* A vertex with no edge (self-loops aside) has no structural signal: it gets the **zero
  vector**, deterministically, in every method, after fusion and after refinement (its cosine
  with anything is defined as 0 by :func:`graphkit.embed.evaluation.edge_scores`). A vertex
  isolated only *inside its part* gets zeros there, and the whole-graph refinement fills it
  in from its neighbours in other parts.
"""

from graphkit.embed.kernels.common import (
    DENSE_EIG_LIMIT,
    METHODS,
    SPECTRAL_MU,
    TAU,
    adjacency,
    check_dim,
    check_embeddable,
    check_has_edges,
    check_max_part_size,
    unit_rows,
)
from graphkit.embed.kernels.eigen import (
    block_width,
    chebyshev_first,
    chebyshev_interval,
    chebyshev_next,
    directions_transform,
    eigen_embedding,
    filter_bound,
    orthonormal_basis,
    orthonormal_directions,
    ritz_pairs,
    spectral_operator,
    top_eigenpairs,
)
from graphkit.embed.kernels.embedders import (
    DENSE_LIMIT,
    embed_or_zeros,
    embed_part,
    netmf_embed,
    prone_embed,
    prone_matrix,
    propagation_coefficients,
    spectral_embed,
    spectral_propagation,
)
from graphkit.embed.kernels.fusion import (
    align,
    align_to_shared,
    embed_aligned_part,
    embed_parts,
    fuse,
    part_seed,
    partitioned_embedding,
    shared_space,
    shared_vertices,
)
from graphkit.embed.kernels.partition import bisect, partition_quality, recursive_partition
from graphkit.embed.kernels.refine import global_refinement

__all__ = [
    "adjacency",
    "check_dim",
    "check_embeddable",
    "check_has_edges",
    "check_max_part_size",
    "unit_rows",
    "spectral_embed",
    "spectral_operator",
    "top_eigenpairs",
    "block_width",
    "filter_bound",
    "chebyshev_interval",
    "chebyshev_first",
    "chebyshev_next",
    "ritz_pairs",
    "directions_transform",
    "eigen_embedding",
    "propagation_coefficients",
    "orthonormal_basis",
    "orthonormal_directions",
    "netmf_embed",
    "prone_embed",
    "spectral_propagation",
    "prone_matrix",
    "global_refinement",
    "embed_part",
    "embed_or_zeros",
    "bisect",
    "recursive_partition",
    "partition_quality",
    "shared_vertices",
    "align",
    "align_to_shared",
    "embed_aligned_part",
    "embed_parts",
    "part_seed",
    "shared_space",
    "fuse",
    "partitioned_embedding",
    "DENSE_LIMIT",
    "DENSE_EIG_LIMIT",
    "METHODS",
    "TAU",
    "SPECTRAL_MU",
]
