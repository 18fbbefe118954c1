"""Personalized PageRank: Monte-Carlo walks, exact ground truth, fingerprint index, evaluation.

Local side (this package, no Spark):

- :mod:`graphkit.ppr.kernels`: pure numpy/scipy kernels over CSR arrays, shared with the Spark
  side (one implementation, two callers), one module per concern: sampling (alias tables,
  walker randomness), walks and fingerprints, exact batched power iteration, the vertex-centric
  decomposition, top-k rows.
- :class:`PPRIndex`: fingerprints + graph as a memory-mapped artifact; millisecond top-k queries.
- :mod:`graphkit.ppr.evaluation`: precision@k, RAG@k, L1 against exact PPR.

Importing this package never imports pyspark.
"""

from graphkit.ppr.kernels import (
    DEFAULT_ALPHA,
    AliasTable,
    Fingerprints,
    SparseRows,
    alias_table,
    count_walk_steps,
    decomposition_ppr,
    exact_ppr,
    fingerprints,
    fully_ppr_topk,
    merge_fingerprints,
    monte_carlo_ppr,
    refine_hubs,
    sample_neighbors,
    top_k,
    transition_matrix,
)
from graphkit.ppr.evaluation import evaluate, l1_error, precision_at_k, rag_at_k, stratified_sources
from graphkit.ppr.index import PPRIndex
from graphkit.ppr.topk import TopK, load_topk

__all__ = [
    "TopK",
    "load_topk",
    "DEFAULT_ALPHA",
    "AliasTable",
    "Fingerprints",
    "PPRIndex",
    "SparseRows",
    "alias_table",
    "count_walk_steps",
    "decomposition_ppr",
    "evaluate",
    "exact_ppr",
    "fingerprints",
    "fully_ppr_topk",
    "l1_error",
    "merge_fingerprints",
    "monte_carlo_ppr",
    "precision_at_k",
    "rag_at_k",
    "refine_hubs",
    "sample_neighbors",
    "stratified_sources",
    "top_k",
    "transition_matrix",
]
