"""Sparse result rows: one CSR-style row per source, top-k selection and concatenation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from graphkit.base import check_positive_int


class SparseRows(NamedTuple):
    """One sparse row per source, CSR-style: row ``i`` is ``indices[indptr[i]:indptr[i + 1]]``
    with ``values`` aligned (for top-k results, best first)."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[i], self.indptr[i + 1]
        return self.indices[lo:hi], self.values[lo:hi]

    def to_scipy(self, num_vertices: int) -> sp.csr_matrix:
        return sp.csr_matrix(
            (self.values, self.indices, self.indptr), shape=(len(self.indptr) - 1, num_vertices)
        )


def top_k(rows, k: int) -> SparseRows:
    """The ``k`` largest entries of every row, best first (ties: smaller index first).

    Parameters
    ----------
    rows : SparseRows or scipy.sparse.csr_matrix
    k : int

    Returns
    -------
    SparseRows
        At most ``k`` entries per row.
    """
    k = check_positive_int("k", k)
    indptr, cols, vals = (rows.indptr, rows.indices, rows.data) if sp.issparse(rows) else rows
    num = len(indptr) - 1
    out_ptr = np.zeros(num + 1, dtype=np.int64)
    out_cols, out_vals = [], []
    for i in range(num):
        c, v = cols[indptr[i] : indptr[i + 1]], vals[indptr[i] : indptr[i + 1]]
        if v.shape[0] > k:
            part = np.argpartition(-v, k - 1)[:k]
            c, v = c[part], v[part]
        order = np.lexsort((c, -v))
        out_cols.append(c[order])
        out_vals.append(v[order])
        out_ptr[i + 1] = out_ptr[i] + order.shape[0]
    if not out_cols:
        return SparseRows(out_ptr, np.zeros(0, np.int64), np.zeros(0))
    return SparseRows(out_ptr, np.concatenate(out_cols).astype(np.int64), np.concatenate(out_vals))


def _concat_rows(blocks, dtype):
    indptr = [np.zeros(1, dtype=np.int64)]
    offset = 0
    for ip, _, _, _ in blocks:
        indptr.append(ip[1:] + offset)
        offset += ip[-1]
    return (
        np.concatenate(indptr),
        np.concatenate([b[1] for b in blocks]) if blocks else np.zeros(0, np.int32),
        np.concatenate([b[2] for b in blocks]).astype(dtype) if blocks else np.zeros(0, dtype),
    )


def _concat_sparse(parts) -> SparseRows:
    if not parts:
        return SparseRows(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0))
    blocks = [(p.indptr, p.indices, p.values, None) for p in parts]
    ip, cols, vals = _concat_rows(blocks, np.float64)
    return SparseRows(ip, cols, vals)
