"""Local side of embeddings: load what the Spark job wrote, or embed a graph in-process.

Never imports pyspark: Parquet is read with pyarrow, and :func:`embed_csr` runs the very kernels
(:mod:`graphkit.embed.kernels`) that the Spark job runs, one part per task, in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graphkit.embed import kernels as K
from graphkit.errors import ArtifactError

__all__ = ["load_embeddings", "open_embeddings", "save_embeddings", "Embeddings", "embed_csr", "FORMAT",
           "VERSION", "ID_COLUMN", "EMBEDDING_COLUMN"]

ID_COLUMN = "id"
EMBEDDING_COLUMN = "embedding"


#: The ``graphkit.embeddings`` artifact: Parquet parts ``(id, embedding array<float>)`` and a
#: manifest (see :mod:`graphkit.artifacts`).
FORMAT = "graphkit.embeddings"
VERSION = (1, 0)


def _parquet_files(root: Path) -> list[Path]:
    # Spark and Hadoop mark bookkeeping files with a leading "_" or "." (_SUCCESS, .crc).
    return sorted(
        p
        for p in root.rglob("*.parquet")
        if p.is_file() and not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts)
    )


@dataclass
class Embeddings:
    """Loaded embeddings.

    Attributes
    ----------
    ids : ndarray
        Vertex ids (the user's ids), sorted ascending, unique.
    matrix : ndarray of float32, shape (n, dim)
        Row ``i`` belongs to ``ids[i]``; every value finite.
    graph_fingerprint : dict or None
        Fingerprint of the graph they were computed from (None for bare Parquet).
    params : dict
        Parameters from the manifest (empty for bare Parquet).
    """

    ids: np.ndarray
    matrix: np.ndarray
    graph_fingerprint: dict | None = None
    params: dict = field(default_factory=dict)


def save_embeddings(ids, matrix, path: str | os.PathLike, *, graph: dict | None = None, params: dict | None = None,
                    seed: int | None = None, overwrite: bool = False) -> Path:
    """Write embeddings computed on this machine (e.g. by :func:`embed_csr`) as a
    ``graphkit.embeddings`` artifact, the same layout the Spark job writes, atomically.

    Parameters
    ----------
    ids : array-like, shape (n,)
    matrix : array-like, shape (n, dim)
    path : str or Path
    graph : dict, optional
        Fingerprint of the graph (:func:`graphkit.fingerprint.csr_fingerprint`).
    params : dict, optional
    seed : int, optional
    overwrite : bool, default False

    Returns
    -------
    Path
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from graphkit.artifacts import atomic_directory, seal_directory

    matrix = np.asarray(matrix, dtype=np.float32)
    ids = np.asarray(ids)
    if matrix.ndim != 2 or matrix.shape[0] != ids.shape[0]:
        raise ValueError(f"{ids.shape[0]} ids for an embedding matrix of shape {matrix.shape}")
    table = pa.table({
        ID_COLUMN: pa.array(ids.tolist()),
        EMBEDDING_COLUMN: pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1]),
    })
    with atomic_directory(path, overwrite=overwrite) as tmp:
        pq.write_table(table, tmp / "part-00000.parquet")
        seal_directory(tmp, FORMAT, VERSION, {"dim": int(matrix.shape[1]), **(params or {})}, graph=graph, seed=seed)
    return Path(path)


def load_embeddings(path: str | os.PathLike, verify: bool | str = True, unverified: bool = False
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Read embeddings: ``(ids, matrix)`` of :func:`open_embeddings` (same parameters).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp() + "/emb"
    >>> _ = save_embeddings([2, 1], [[0.0, 1.0], [1.0, 0.0]], d)
    >>> ids, x = load_embeddings(d)
    >>> ids.tolist(), x.tolist()
    ([1, 2], [[1.0, 0.0], [0.0, 1.0]])
    """
    emb = open_embeddings(path, verify=verify, unverified=unverified)
    return emb.ids, emb.matrix


def open_embeddings(path: str | os.PathLike, verify: bool | str = True, unverified: bool = False) -> Embeddings:
    """Open a ``graphkit.embeddings`` artifact (what ``graphkit embed`` writes) and check it.

    Only the Parquet parts listed in the manifest are read, after their sizes and (with
    ``verify``) CRC-32s are checked: a flipped byte, a deleted or an extra part is reported, not
    loaded. Then: columns ``id`` and ``embedding``, no nulls, one positive vector length equal
    to the recorded ``dim``, every value finite, unique ids, and as many rows as the recorded
    graph has vertices.

    Parameters
    ----------
    path : str or Path
        The artifact directory; with ``unverified=True`` also a bare Parquet file or directory
        (Spark's ``part-*.parquet`` layout; ``_``/``.`` files skipped).
    verify : {True, False, "full"}, default True
        Compare CRC-32s (``False``: sizes only). Every other check always runs.
    unverified : bool, default False
        Accept Parquet without a manifest (written by something else than graphkit): no
        checksums, no graph fingerprint, a missing part goes unnoticed.

    Returns
    -------
    Embeddings

    Raises
    ------
    ArtifactError
        No such path, no manifest (unless ``unverified``), damage, missing columns (the message
        lists the columns found), null, ragged or non-finite vectors, or duplicate ids.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from graphkit.artifacts import MANIFEST, Checks, manifest_path, open_artifact

    root = Path(path)
    graph, params = None, {}
    if root.is_dir() and manifest_path(root) is not None:
        art = open_artifact(root, FORMAT, VERSION[0], verify=verify)
        files = art.files_under("", ".parquet")
        graph, params = art.graph, art.params
    elif not unverified:
        if not root.exists():
            raise ArtifactError(f"{root}: no such embeddings directory")
        raise ArtifactError(f"{root}: not a graphkit artifact (no {MANIFEST}); pass unverified=True to read "
                            "bare Parquet without checksums or graph check")
    elif root.is_dir():
        files = _parquet_files(root)
    elif root.is_file():
        files = [root]
    else:
        raise ArtifactError(f"{root}: no such embeddings file or directory")
    if not files:
        raise ArtifactError(f"{root}: no Parquet files found")
    tables = []
    for file in files:
        try:
            table = pq.read_table(file)
        except (pa.ArrowException, OSError) as exc:
            raise ArtifactError(f"{file}: unreadable Parquet ({exc})") from None
        missing = {ID_COLUMN, EMBEDDING_COLUMN} - set(table.column_names)
        if missing:
            raise ArtifactError(
                f"{file}: missing column(s) {sorted(missing)}; found {table.column_names}"
            )
        tables.append(table.select([ID_COLUMN, EMBEDDING_COLUMN]))
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowException as exc:
        raise ArtifactError(f"{root}: Parquet files disagree on their schema ({exc})") from None
    ids = table.column(ID_COLUMN).combine_chunks()
    vectors = table.column(EMBEDDING_COLUMN).combine_chunks()
    if ids.null_count or vectors.null_count:
        raise ArtifactError(f"{root}: null ids or embeddings")
    if not (pa.types.is_integer(ids.type) or pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        raise ArtifactError(f"{root}: column 'id' has type {ids.type}, expected integers or strings")
    if not (pa.types.is_list(vectors.type) or pa.types.is_large_list(vectors.type)
            or pa.types.is_fixed_size_list(vectors.type)):
        raise ArtifactError(f"{root}: column 'embedding' has type {vectors.type}, expected array<float>")
    if not (pa.types.is_floating(vectors.type.value_type) or pa.types.is_integer(vectors.type.value_type)):
        raise ArtifactError(f"{root}: column 'embedding' holds {vectors.type.value_type}, expected floats")
    n = len(vectors)
    if n == 0:
        raise ArtifactError(f"{root}: no rows")
    if pa.types.is_fixed_size_list(vectors.type):
        lengths = np.full(n, vectors.type.list_size)
    else:
        lengths = np.asarray(vectors.value_lengths())
    if lengths.min() != lengths.max() or lengths[0] == 0:
        raise ArtifactError(
            f"{root}: embedding vectors have lengths {int(lengths.min())}..{int(lengths.max())}; "
            "expected one positive length"
        )
    values = vectors.flatten()
    if values.null_count:
        raise ArtifactError(f"{root}: null entries inside embedding vectors")
    matrix = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(n, int(lengths[0]))
    id_array = ids.to_numpy(zero_copy_only=False)
    if id_array.dtype == object:
        id_array = id_array.astype(str)
    elif id_array.dtype.kind == "u":
        id_array = id_array.astype(np.int64)
    order = np.argsort(id_array, kind="stable")
    id_array, matrix = id_array[order], matrix[order]
    if n > 1 and (id_array[1:] == id_array[:-1]).any():
        dup = id_array[1:][id_array[1:] == id_array[:-1]][0]
        raise ArtifactError(f"{root}: vertex id {dup!r} appears more than once")
    check = Checks(root, "embeddings")
    # A NaN or infinite row would be served as a neighbour of everything (or of nothing).
    check.finite("embedding values", matrix)
    if isinstance(params.get("dim"), int):
        check.require(params["dim"] == matrix.shape[1], f"vectors have {matrix.shape[1]} values, manifest says dim {params['dim']}")
    if graph and isinstance(graph.get("num_vertices"), int):
        check.require(graph["num_vertices"] == n, f"{n} rows for a graph of {graph['num_vertices']} vertices")
    check.raise_if_any()
    return Embeddings(id_array, matrix, graph, dict(params))


def embed_csr(
    csr,
    dim: int = 128,
    max_part_size: int | None = None,
    seed: int = 0,
    *,
    method: str = "spectral",
    refine_iterations: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Embed a graph on this machine with the recursive-partition pipeline.

    Parameters
    ----------
    csr : CSRGraph
        The graph (directed graphs are symmetrised; weights are used).
    dim : int, default 128
        Embedding dimension, ``0 < dim < num_vertices``. 128 is the literature's standard
        (DeepWalk, node2vec, NetMF, ProNE), so scores compare with published tables.
    max_part_size : int, optional
        ``None`` embeds the whole graph at once. Otherwise the graph is split by
        :func:`~graphkit.embed.kernels.recursive_partition` into parts of at most this many
        vertices; it must be ``> 2 * dim`` so every part has more vertices than dimensions.
    seed : int, default 0
    method : {"spectral", "prone", "netmf"}, default "spectral"
        Embedder of the whole graph or of each part (see
        :func:`~graphkit.embed.kernels.embed_part`): the regularised spectral embedding is
        linear in the edges and scored best here (BlogCatalog Micro/Macro-F1 at 50% 0.435 /
        0.297 vs ProNE's 0.412 / 0.252); ProNE is linear too; NetMF needs ``n^2`` memory.
    refine_iterations : int, default 2
        Whole-graph refinement passes after fusing the parts (ignored without partitioning).

    Returns
    -------
    ids : ndarray
        ``csr.ids``.
    embedding : ndarray of float32, shape (n, dim)
        L2-normalised rows; isolated vertices get the zero vector.

    Raises
    ------
    EmptyGraphError
        No vertices, or only isolated vertices.
    ValueError
        ``dim`` out of range, ``max_part_size <= 2 * dim``.

    Examples
    --------
    >>> from graphkit.csr import CSRGraph
    >>> import numpy as np
    >>> src = np.arange(60); dst = (src + 1) % 60
    >>> g = CSRGraph.from_edges(src, dst, 60, directed=False)
    >>> ids, x = embed_csr(g, dim=8, max_part_size=30)
    >>> x.shape
    (60, 8)
    """
    a = K.adjacency(csr)
    n = a.shape[0]
    dim = K.check_embeddable(a, dim)
    ids = np.asarray(getattr(csr, "ids", np.arange(n)))
    if max_part_size is None or max_part_size >= n:
        if max_part_size is not None:
            K.check_max_part_size(max_part_size, dim)
        return ids, K.embed_part(a, dim, seed, method)
    max_part_size = K.check_max_part_size(max_part_size, dim)
    parts = K.recursive_partition(a, max_part_size, seed)
    x = K.partitioned_embedding(a, parts, dim, seed, method=method, refine_iterations=refine_iterations)
    return ids, x
