"""The band table of an LSH index: all (band key, vertex) pairs of a set of signatures, grouped
into buckets and addressed through a directory on the keys' top bits.

Band keys come from :func:`graphkit.lsh.kernels.band_keys`, which salts each band, so the keys
of all bands live in one table and a query looks up all of its bands in one vectorised step
Vertices whose neighbourhood is empty keep their signature but have no table
entries (two empty sets are not "similar").

This module does not import pyspark.
"""

from __future__ import annotations

import numpy as np

from graphkit.artifacts import Checks
from graphkit.lsh import kernels as K


class BandTable:
    """All (band key, vertex) pairs of a set of signatures, grouped into buckets.

    A lookup of a signature's ``bands`` keys returns every vertex sharing at least one band
    with it (AND within a band, OR across bands). The layout is built for memory-mapped,
    cache-cold queries: a plain binary search over tens of millions of keys costs about 25
    cache misses per key, so the unique keys are instead addressed through a *directory* on
    their top ``bits`` bits (keys are uniform hashes, so each directory cell spans about four
    keys, one cache line), which brings a lookup down to a handful of misses per band.

    Parameters
    ----------
    keys : ndarray of uint64, shape (u,)
        Distinct band keys, sorted.
    offsets : ndarray of int, shape (u + 1,)
        Bucket ``j`` (key ``keys[j]``) holds ``members[offsets[j]:offsets[j + 1]]``.
    members : ndarray of int, shape (t,)
        Vertices, grouped by bucket.
    directory : ndarray of int, shape (2**bits + 1,)
        ``directory[h]`` is the first position in ``keys`` whose top ``bits`` bits are
        ``>= h``.
    """

    def __init__(self, keys: np.ndarray, offsets: np.ndarray, members: np.ndarray, directory: np.ndarray):
        self.keys = keys
        self.offsets = offsets
        self.members = members
        self.directory = directory
        bits = int(directory.shape[0] - 1).bit_length() - 1
        if directory.shape[0] != (1 << bits) + 1 or offsets.shape[0] != keys.shape[0] + 1:
            raise ValueError("inconsistent band table arrays")
        self._shift = np.uint64(64 - bits)

    @classmethod
    def build(cls, signatures: np.ndarray, bands: int, rows: int) -> "BandTable":
        """Table over all non-empty signatures (row ``i`` becomes member ``i``)."""
        signatures = np.asarray(signatures)
        n = signatures.shape[0]
        live = np.flatnonzero(~K.is_empty_signature(signatures)) if n else np.zeros(0, np.int64)
        keys = K.band_keys(signatures[live], bands, rows).reshape(-1) if live.size else np.zeros(0, np.uint64)
        members = np.repeat(live.astype(_index_dtype(n)), bands)
        order = np.argsort(keys, kind="stable")
        keys, members = keys[order], members[order]
        first = np.ones(keys.shape[0], dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        starts = np.flatnonzero(first)
        unique = keys[starts]
        offsets = np.append(starts, keys.shape[0]).astype(_index_dtype(keys.shape[0] + 1))
        # About four distinct keys per directory cell; at least 1 bit so the shift is < 64.
        bits = int(min(max(1, int(np.ceil(np.log2(max(unique.shape[0], 1) / 4)))), 30))
        counts = np.bincount((unique >> np.uint64(64 - bits)).astype(np.int64), minlength=1 << bits)
        directory = np.zeros((1 << bits) + 1, dtype=_index_dtype(unique.shape[0] + 1))
        np.cumsum(counts, out=directory[1:])
        return cls(unique, offsets, members, directory)

    def __len__(self) -> int:
        """Number of (vertex, band) entries."""
        return int(self.members.shape[0])

    def lookup(self, query_keys: np.ndarray) -> np.ndarray:
        """Members of every bucket whose key is in ``query_keys`` (with repeats, unsorted)."""
        if not self.keys.shape[0]:
            return np.zeros(0, dtype=np.int64)
        cell = (query_keys >> self._shift).astype(np.int64)
        lo = self.directory[cell].astype(np.int64)
        width = self.directory[cell + 1] - lo
        span = int(width.max())
        if span == 0:
            return np.zeros(0, dtype=np.int64)
        # Scan each query's directory cell (a few keys, contiguous) in one vectorised step.
        cols = np.arange(span)
        inside = cols[None, :] < width[:, None]
        pos = np.where(inside, lo[:, None] + cols[None, :], 0)
        hit = inside & (self.keys[pos] == query_keys[:, None])
        found = pos[hit]
        if not found.size:
            return np.zeros(0, dtype=np.int64)
        start = self.offsets[found].astype(np.int64)
        lengths = self.offsets[found + 1] - start
        return self.members[K.concat_ranges(start, lengths)]

    def write_arrays(self, writer, prefix: str = "table_") -> None:
        for name in ("keys", "offsets", "members", "directory"):
            writer.add_array(prefix + name, getattr(self, name))

    @classmethod
    def read_arrays(cls, artifact, prefix: str = "table_") -> "BandTable":
        """Open and check a saved table: keys ``uint64`` strictly increasing, offsets and
        directory non-decreasing from 0 to the number of members / keys (members are checked
        against the vertex count by the caller)."""
        # Plain ndarray views of the maps: np.memmap's Python-level __getitem__ would add
        # microseconds to every query.
        arrays = [np.asarray(artifact.array(prefix + name)) for name in ("keys", "offsets", "members", "directory")]
        keys, offsets, members, directory = arrays
        check = Checks(artifact.path, "band table arrays")
        if not (check.require(keys.dtype == np.uint64 and keys.ndim == 1, "band keys are not a uint64 vector")
                & all([check.dtype(f"band table {name}", a, "i") for name, a in
                       zip(("offsets", "members", "directory"), arrays[1:])])):
            check.raise_if_any()
        bits = int(directory.shape[0] - 1).bit_length() - 1
        check.require(directory.shape[0] == (1 << bits) + 1 and 1 <= bits <= 62,
                      f"band directory has {directory.shape[0]} cells, not 2**bits + 1")
        check.require(offsets.shape[0] == keys.shape[0] + 1, "band offsets do not match the keys")
        check.raise_if_any()
        check.sorted("band keys", keys, strict=True)
        check.monotone("band offsets", offsets, 0, members.shape[0])
        check.monotone("band directory", directory, 0, keys.shape[0])
        if artifact.verify == "full" and not check.problems and keys.size:
            counts = np.bincount((keys >> np.uint64(64 - bits)).astype(np.int64), minlength=1 << bits)
            check.require(np.array_equal(np.cumsum(counts), directory[1:]), "band directory does not match the keys")
        check.raise_if_any()
        return cls(*arrays)


def _index_dtype(limit: int):
    return np.int32 if limit < 2**31 else np.int64


__all__ = ["BandTable"]
