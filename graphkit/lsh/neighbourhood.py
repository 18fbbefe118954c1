"""Neighbour sets as CSR rows: which adjacency an LSH index summarises (out, in, both; open or
closed) and exact Jaccard similarities between stored rows.

This module does not import pyspark.
"""

from __future__ import annotations

import numpy as np

from graphkit.csr import CSRGraph
from graphkit.lsh import kernels as K

NEIGHBOURHOODS = ("out", "in", "both")


def check_neighbourhood(neighbourhood) -> str:
    """``neighbourhood`` unless it is not one of :data:`NEIGHBOURHOODS` (``ValueError``)."""
    if neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(f"neighbourhood must be one of {NEIGHBOURHOODS}, got {neighbourhood!r}")
    return neighbourhood


def neighbourhood_csr(graph: CSRGraph, neighbourhood: str, closed: bool = False) -> CSRGraph:
    """The adjacency whose rows are the requested neighbour sets.

    Parameters
    ----------
    graph : CSRGraph
    neighbourhood : {"out", "in", "both"}
        Out-neighbours, in-neighbours or their union (the same for an undirected graph).
    closed : bool, default False
        Add each vertex to its own set (the *closed* neighbourhood ``N[v] = N(v) + {v}``).
        Then two adjacent vertices share at least each other, so adjacency itself counts
        towards similarity, which matters on sparse graphs.
    """
    check_neighbourhood(neighbourhood)
    if not closed and (neighbourhood == "out" or not graph.directed):
        return graph
    import scipy.sparse as sp

    adj = graph.to_scipy()
    adj.data[:] = 1.0
    if graph.directed and neighbourhood == "in":
        adj = adj.T.tocsr()
    elif graph.directed and neighbourhood == "both":
        adj = (adj + adj.T).tocsr()
    if closed:
        adj = (adj + sp.identity(graph.num_vertices, format="csr")).tocsr()
    adj.sort_indices()
    return CSRGraph(
        adj.indptr.astype(np.int64),
        adj.indices.astype(graph.indices.dtype),
        None,
        graph.ids,
        directed=True,
    )



def row_jaccard(graph: CSRGraph, row: int, others: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity of the set in CSR row ``row`` with the set of each row in
    ``others`` (rows sorted; 0 where both sets are empty)."""
    mine = graph.indices[graph.indptr[row] : graph.indptr[row + 1]]  # sorted
    starts = graph.indptr[others]
    lengths = graph.indptr[others + 1] - starts
    total = int(lengths.sum())
    if not total or not mine.size:
        return np.zeros(others.shape[0])
    theirs = graph.indices[K.concat_ranges(starts, lengths)]
    pos = np.minimum(np.searchsorted(mine, theirs), mine.shape[0] - 1)
    owner = np.repeat(np.arange(others.shape[0]), lengths)
    shared = np.bincount(owner, weights=mine[pos] == theirs, minlength=others.shape[0])
    union = mine.shape[0] + lengths - shared
    return np.divide(shared, union, out=np.zeros(shared.shape[0]), where=union > 0)


__all__ = ["NEIGHBOURHOODS", "check_neighbourhood", "neighbourhood_csr", "row_jaccard"]
