"""Recursive-partition network embeddings (DESIGN.md section 2, after DistNE).

Shape of the capability:

* :mod:`graphkit.embed.kernels` - pure numerical kernels (spectral embedders, recursive
  bisection, alignment, fusion, whole-graph refinement); the Spark side calls them inside tasks.
* :mod:`graphkit.embed.local` - :func:`load_embeddings` / :func:`open_embeddings` (the
  ``graphkit.embeddings`` artifact written by the Spark job, read with pyarrow) and :func:`embed_csr` (the same pipeline in one process).
* :mod:`graphkit.embed.index` - :class:`EmbeddingIndex`, the local query object (cosine
  nearest neighbours and vectors by vertex id over a loaded artifact; ``graphkit repl`` uses it).
* :mod:`graphkit.embed.evaluation` - node classification and link prediction metrics.
* Spark side: :mod:`graphkit.embed.spark` (the ``RecursivePartitionEmbedding`` estimator and its
  two engines), :mod:`graphkit.embed.distributed` (partitioning and part embedding without
  collecting the graph), :mod:`graphkit.embed.blockrows` (the whole-graph refinement in Spark).

Importing this package never imports pyspark.
"""

from graphkit.embed.evaluation import link_prediction_auc, node_classification, split_edges
from graphkit.embed.index import EmbeddingIndex
from graphkit.embed.local import Embeddings, embed_csr, load_embeddings, open_embeddings, save_embeddings

__all__ = [
    "EmbeddingIndex",
    "embed_csr",
    "load_embeddings",
    "open_embeddings",
    "save_embeddings",
    "Embeddings",
    "node_classification",
    "split_edges",
    "link_prediction_auc",
]
