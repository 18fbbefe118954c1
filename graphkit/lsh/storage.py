"""The ``graphkit.lsh-index`` artifact: writing an :class:`~graphkit.lsh.LSHIndex` and reading it back.

Layout of the ``graphkit.lsh-index`` artifact (format version 1.1, see
:mod:`graphkit.artifacts` for the manifest, checksums and atomic writes)::

    signatures.npy         uint32 (n, num_perm)   MinHash signature of each vertex
    ids.npy                int64 or <U (n,)        user id of each vertex
    table_keys.npy         uint64 (u,)             distinct band keys, sorted
    table_offsets.npy      int32/int64 (u + 1,)    bucket of keys[j] = members[offsets[j]:offsets[j+1]]
    table_members.npy      int32/int64 (t,)        vertices of all (vertex, band) pairs, by bucket
    table_directory.npy    int32/int64 (2**b + 1,) first key position per top-b-bit prefix
    deleted.npy            int64 (d,)              tombstoned vertices (removed after the build)
    delta_ids.npy          (a,)                    vertices added after the build ...
    delta_signatures.npy   uint32 (a, num_perm)    ... and their signatures
    csr_*.npy              optional neighbourhood CSR (``adjacent`` queries)

This module does not import pyspark.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from graphkit.artifacts import ArtifactWriter, Checks, atomic_directory, open_artifact
from graphkit.csr import CSRGraph
from graphkit.lsh import kernels as K
from graphkit.lsh.band_table import BandTable

FORMAT = "graphkit.lsh-index"
VERSION = (1, 1)  # 1.1: manifest records the input graph's fingerprint


def save_index(index, path: str | os.PathLike, overwrite: bool = False,
               add_files: Callable[[Path, ArtifactWriter], dict] | None = None) -> Path:
    """Write ``index`` as an artifact directory, atomically (see :meth:`LSHIndex.save`).

    ``add_files(directory, writer)``, when given, writes more files into the temporary
    directory, lists them with ``writer.add_file`` and returns more manifest fields (e.g. the
    candidate pairs of ``graphkit signatures``).
    """
    with atomic_directory(path, overwrite=overwrite) as tmp:
        writer = ArtifactWriter(tmp, FORMAT, VERSION, index.params, graph=index.graph_fingerprint, seed=index.seed)
        fields = write_index_arrays(index, writer)
        if add_files is not None:
            fields.update(add_files(tmp, writer))
        writer.finish(**fields)
    return Path(path)


def write_index_arrays(index, writer: ArtifactWriter) -> dict:
    """Add ``index``'s arrays to ``writer`` and return the manifest fields they need."""
    writer.add_array("signatures", index._signatures)
    writer.add_array("ids", index._ids)
    index._table.write_arrays(writer)
    writer.add_array("deleted", np.flatnonzero(index._deleted).astype(np.int64))
    writer.add_array("delta_ids", index._delta_ids)
    writer.add_array("delta_signatures", index._delta_sig)
    if index._graph is not None:
        index._graph.write_arrays(writer)
        writer.add_array("graph_rows", index._graph_rows)
    return {
        "num_vertices": len(index),
        "has_graph": index._graph is not None,
        "graph_directed": bool(index._graph.directed) if index._graph is not None else None,
    }


def read_index(cls, path: str | os.PathLike, verify: bool | str = True):
    """Open and check a saved index as a ``cls`` (:class:`LSHIndex`); see :meth:`LSHIndex.load`."""
    art = open_artifact(path, FORMAT, VERSION[0], verify=verify)
    params = art.params
    check = Checks(art.path, "LSH index")
    for key in ("num_perm", "bands", "rows", "seed"):
        check.require(isinstance(params.get(key), int) and not isinstance(params.get(key), bool),
                      f"parameter {key!r} is {params.get(key)!r:.40}, not an integer")
    check.require(isinstance(params.get("scheme"), str), "parameter 'scheme' is not a string")
    check.raise_if_any()
    num_perm, bands, rows = params["num_perm"], params["bands"], params["rows"]
    check.require(num_perm >= 1 and bands >= 1 and rows >= 1 and bands * rows == num_perm,
                  f"bands x rows = {bands} x {rows} != num_perm {num_perm}")
    try:
        K.check_scheme(params["scheme"])
    except ValueError as exc:
        check.problems.append(str(exc))
    check.raise_if_any()
    sig = np.asarray(art.array("signatures"))  # plain views of the maps (see BandTable)
    ids = np.asarray(art.array("ids"))
    table = BandTable.read_arrays(art)
    deleted = art.array("deleted", mmap=False)
    delta_ids = art.array("delta_ids", mmap=False)
    delta_sig = art.array("delta_signatures", mmap=False)
    n = ids.shape[0]
    if check.dtype("ids", ids, "iU"):
        check.require(sig.dtype == np.uint32 and sig.shape == (n, num_perm),
                      f"signatures {sig.dtype}{sig.shape} for {n} ids x {num_perm} permutations")
        check.in_range("band table members", table.members, 0, n)
        if check.dtype("tombstones", deleted, "i"):
            check.in_range("tombstones", deleted, 0, n)
        check.require(delta_ids.ndim == 1 and delta_ids.dtype.kind == ids.dtype.kind
                      and delta_sig.dtype == np.uint32 and delta_sig.shape == (delta_ids.shape[0], num_perm),
                      "delta ids and signatures disagree")
    check.raise_if_any()
    graph = graph_rows = None
    if art.manifest.get("has_graph"):
        graph = CSRGraph.read_arrays(art, directed=bool(art.manifest.get("graph_directed", True)))
        graph_rows = np.asarray(art.array("graph_rows"))
        if check.require(graph_rows.shape == (n,) and graph_rows.dtype.kind in "iu",
                         "graph_rows do not match the ids"):
            check.in_range("graph_rows", graph_rows, 0, graph.num_vertices)
    if art.verify == "full":
        live = ~K.is_empty_signature(sig)
        rebuilt = BandTable.build(sig, bands, rows)
        for name in ("keys", "offsets", "members", "directory"):
            check.require(np.array_equal(getattr(rebuilt, name), getattr(table, name)),
                          f"band table {name} differ from the ones rebuilt from the signatures")
        check.require(int(live.sum()) * bands == len(table), "band table size does not match the signatures")
    check.raise_if_any()
    index = cls(
        sig, ids, table, params, graph=graph, graph_rows=graph_rows,
        deleted=deleted, delta_ids=delta_ids, delta_signatures=delta_sig,
    )
    # The id map sorted the ids already: uniqueness costs one comparison pass.
    check.unique("ids", ids, index._idmap._sorted)
    if delta_ids.shape[0]:
        check.unique("delta ids", delta_ids)
        both = np.concatenate([np.asarray(ids[~index._deleted]), delta_ids])
        check.unique("live ids (built and added)", both)
    check.raise_if_any()
    index.graph_fingerprint = art.graph
    return index


__all__ = ["FORMAT", "VERSION", "read_index", "save_index", "write_index_arrays"]
