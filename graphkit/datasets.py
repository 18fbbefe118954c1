"""Built-in graphs that need no download, and where the real data sets are when present.

The planted-partition graph is generated deterministically from a seed, so every machine gets
the same graph, with ground-truth communities to check answers against: the embedded default
for the demo, the docs, and the notebooks when the shared data sets are absent.

The real public graphs (email-Eu-core, PPI, BlogCatalog...) are never copied into graphkit; the
tests and notebooks read them from ``$GRAPHKIT_DATASETS`` or a ``shared/datasets`` folder beside
the checkout (see :func:`shared_dataset`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from graphkit.csr import CSRGraph


def planted_partition(
    num_communities: int = 12,
    community_size: int = 80,
    mean_degree_in: float = 12.0,
    mean_degree_out: float = 2.0,
    seed: int = 7,
):
    """An undirected graph with planted communities (a stochastic block model).

    Parameters
    ----------
    num_communities, community_size : int
        ``n = num_communities * community_size`` vertices, ids ``0..n-1``; community ``c`` holds
        ids ``c*size .. (c+1)*size - 1``.
    mean_degree_in, mean_degree_out : float
        Expected neighbours inside / outside a vertex's own community.
    seed : int

    Returns
    -------
    graph : CSRGraph
    labels : ndarray of int64, shape (n,)
        Community of each vertex.
    """
    rng = np.random.default_rng(seed)
    n = num_communities * community_size
    labels = np.repeat(np.arange(num_communities, dtype=np.int64), community_size)
    p_in = mean_degree_in / (community_size - 1)
    p_out = mean_degree_out / (n - community_size)
    iu, ju = np.triu_indices(n, k=1)
    same = labels[iu] == labels[ju]
    keep = rng.random(iu.shape[0]) < np.where(same, p_in, p_out)
    graph = CSRGraph.from_edges(iu[keep], ju[keep], n, directed=False)
    return graph, labels


def write_edge_list(graph: CSRGraph, path: str | os.PathLike, comment: str = "") -> Path:
    """Write a graph as a SNAP-style text edge list (undirected edges once, ``u < v``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = np.repeat(np.arange(graph.num_vertices), graph.out_degree())
    dst = graph.indices
    keep = (src <= dst) if not graph.directed else np.ones(src.shape[0], dtype=bool)
    ids = graph.ids
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        if comment:
            fh.write("".join(f"# {line}\n" for line in comment.splitlines()))
        for u, v in zip(ids[src[keep]], ids[dst[keep]]):
            fh.write(f"{u}\t{v}\n")
    os.replace(tmp, path)
    return path


#: Environment variable naming the folder of the shared data sets (``email_eu_core/``, ...).
DATASETS_ENV = "GRAPHKIT_DATASETS"


def shared_dataset(*parts: str) -> Path | None:
    """Path of a file or folder of the shared data sets, or None when it is absent.

    Looks in ``$GRAPHKIT_DATASETS`` when that is set (and only there, so pointing it at an empty
    folder hides the data sets), otherwise in ``../shared/datasets`` and
    ``../../shared/datasets`` from the working directory (a checkout's root and its
    ``notebooks/`` folder).

    Parameters
    ----------
    *parts : str
        Path inside the data-set folder, e.g. ``"email_eu_core", "email-Eu-core.txt"``.

    Returns
    -------
    pathlib.Path or None
    """
    if os.environ.get(DATASETS_ENV):
        candidates = [Path(os.environ[DATASETS_ENV])]
    else:
        candidates = [Path("..", "shared", "datasets"), Path("..", "..", "shared", "datasets")]
    for folder in candidates:
        path = folder.joinpath(*parts)
        if path.exists():
            return path.resolve()
    return None
