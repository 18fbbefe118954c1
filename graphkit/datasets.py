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


#: Graph500's R-MAT quadrant probabilities (a, b, c; d = 1 - a - b - c) and edge factor.
GRAPH500_RMAT = (0.57, 0.19, 0.19)
GRAPH500_EDGE_FACTOR = 16


def rmat_edges(scale: int, edge_factor: int = GRAPH500_EDGE_FACTOR, *, seed: int = 0,
               probabilities: tuple[float, float, float] = GRAPH500_RMAT, chunk: int = 1 << 22):
    """Edges of an R-MAT graph (Chakrabarti et al., SDM 2004) with Graph500's parameters.

    ``edge_factor * 2**scale`` edges on ids ``0 .. 2**scale - 1``, generated ``chunk`` edges at a
    time (memory stays bounded at any scale). Ids are scrambled by a fixed random permutation,
    as Graph500 does, so that degree does not follow the id order. Duplicates and self-loops are
    left in (graphkit merges duplicates on read).

    Yields
    ------
    (src, dst) : pair of int64 ndarrays per chunk
    """
    a, b, c = probabilities
    if not (0 < a and 0 <= b and 0 <= c and a + b + c < 1):
        raise ValueError(f"R-MAT probabilities must be positive with a + b + c < 1, got {probabilities}")
    if not 1 <= int(scale) <= 40:
        raise ValueError(f"scale must be an integer in 1..40, got {scale!r}")
    rng = np.random.default_rng(seed)
    permutation = rng.permutation(1 << scale).astype(np.int64)
    total = int(edge_factor) << scale
    for start in range(0, total, chunk):
        size = min(chunk, total - start)
        src = np.zeros(size, dtype=np.int64)
        dst = np.zeros(size, dtype=np.int64)
        for bit in range(scale):
            r = rng.random(size)
            right = (r >= a) & (r < a + b) | (r >= a + b + c)   # quadrants b and d
            down = r >= a + b                                     # quadrants c and d
            src |= down.astype(np.int64) << bit
            dst |= right.astype(np.int64) << bit
        yield permutation[src], permutation[dst]


def planted_partition_edges(scale: int, edge_factor: int = GRAPH500_EDGE_FACTOR, *, community_size: int = 128,
                            mixing: float = 0.3, seed: int = 0, chunk: int = 1 << 22):
    """Edges of a large planted-partition graph, sized like :func:`rmat_edges`.

    ``2**scale`` vertices in communities of ``community_size`` (the last one may be smaller) and
    ``edge_factor * 2**scale`` undirected edges, generated ``chunk`` at a time (bounded memory at
    any scale, unlike :func:`planted_partition`, which draws every vertex pair). Each edge picks
    a uniform endpoint ``u``; with probability ``1 - mixing`` its other end is uniform in ``u``'s
    community, otherwise uniform in the whole graph (``mixing`` is LFR's mu, up to the few
    random ends that land back inside). Ids are scrambled by a fixed permutation, so a
    community's ids are not contiguous. Duplicates and self-loops are left in, as in R-MAT.

    Returns
    -------
    labels : ndarray of int64, shape (2**scale,)
        The community of every vertex id (ground truth).
    chunks : iterator of (src, dst) pairs of int64 ndarrays
    """
    if not 1 <= int(scale) <= 40:
        raise ValueError(f"scale must be an integer in 1..40, got {scale!r}")
    if not 0 <= mixing <= 1:
        raise ValueError(f"mixing must be in [0, 1], got {mixing!r}")
    n = 1 << scale
    if not 2 <= community_size <= n:
        raise ValueError(f"community_size must be in 2..{n}, got {community_size!r}")
    rng = np.random.default_rng(seed)
    permutation = rng.permutation(n).astype(np.int64)
    labels = np.empty(n, dtype=np.int64)
    labels[permutation] = np.arange(n, dtype=np.int64) // community_size
    total = int(edge_factor) << scale

    def chunks():
        for start in range(0, total, chunk):
            size = min(chunk, total - start)
            u = rng.integers(0, n, size, dtype=np.int64)
            first = u - u % community_size
            width = np.minimum(community_size, n - first)      # the last community may be short
            inside = first + (rng.random(size) * width).astype(np.int64)
            v = np.where(rng.random(size) < mixing, rng.integers(0, n, size, dtype=np.int64), inside)
            yield permutation[u], permutation[v]

    return labels, chunks()


def write_parquet_edges(chunks, path: str | os.PathLike) -> Path:
    """Write ``(src, dst)`` chunks as one Parquet file (``src``, ``dst`` int64), atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    schema = pa.schema([("src", pa.int64()), ("dst", pa.int64())])
    with pq.ParquetWriter(tmp, schema) as writer:
        for src, dst in chunks:
            writer.write_table(pa.table({"src": src, "dst": dst}, schema=schema))
    os.replace(tmp, path)
    return path
