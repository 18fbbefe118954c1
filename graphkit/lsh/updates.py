"""Updates of an :class:`~graphkit.lsh.LSHIndex` without a rebuild: a small in-memory *delta*
segment with its own band table for added vertices, tombstones for removed ones, and
:meth:`~DeltaUpdates.compact` to fold both into a freshly built index.

This module does not import pyspark.
"""

from __future__ import annotations

import numpy as np

from graphkit.errors import UnknownVertexError
from graphkit.lsh._validation import as_signature_values, check_unique
from graphkit.lsh.band_table import BandTable


class DeltaUpdates:
    """The update methods of :class:`~graphkit.lsh.LSHIndex` (a mixin: it uses the index's
    ids, id map, tombstones and :meth:`_dense`)."""

    def add(self, ids, signatures) -> None:
        """Add vertices without rebuilding the main tables (they join the delta segment).

        Parameters
        ----------
        ids : array-like, shape (a,)
            New user ids, of the index's id type; none may be live in the index (a removed
            id may be added again).
        signatures : array-like of uint32, shape (a, num_perm)

        Raises
        ------
        ValueError
            Duplicate or already present ids, or signatures of the wrong shape.
        """
        try:
            new_ids = self._idmap.coerce(ids)
        except UnknownVertexError as exc:
            raise ValueError(f"new ids must match the index's id type: {exc}") from None
        sig = np.atleast_2d(np.asarray(signatures))
        if sig.shape != (new_ids.shape[0], self.num_perm):
            raise ValueError(
                f"signatures must have shape ({new_ids.shape[0]}, {self.num_perm}), got {sig.shape}"
            )
        sig = as_signature_values(sig)
        check_unique(new_ids)
        present = [v for v in new_ids.tolist() if v in self]
        if present:
            raise ValueError(f"vertex {present[0]!r} is already in the index (remove it first to replace it)")
        self._set_delta(
            np.concatenate([self._delta_ids, new_ids]),
            np.concatenate([self._delta_sig, sig]),
        )

    def remove(self, ids) -> None:
        """Remove vertices: built ones are tombstoned, added ones dropped from the delta.

        Raises
        ------
        UnknownVertexError
            An id is not live in the index (nothing is removed then).
        """
        dense = self._dense(ids)
        n = self._ids.shape[0]
        self._deleted[dense[dense < n]] = True
        self._num_deleted = int(self._deleted.sum())
        drop = dense[dense >= n] - n
        if drop.size:
            keep = np.ones(self._delta_ids.shape[0], dtype=bool)
            keep[drop] = False
            self._set_delta(self._delta_ids[keep], self._delta_sig[keep])

    def compact(self) -> "LSHIndex":
        """A new index with the delta merged in and tombstoned vertices dropped (full rebuild).

        The stored neighbourhood graph is carried over only when no vertices were added
        (added vertices have no stored neighbourhood).
        """
        live = ~self._deleted
        return type(self).build(
            np.concatenate([np.asarray(self._signatures)[live], self._delta_sig]),
            np.concatenate([np.asarray(self._ids)[live], self._delta_ids]),
            bands=self.bands,
            rows=self.rows,
            seed=self.seed,
            scheme=self.scheme,
            neighbourhood=self.neighbourhood,
            graph=self._graph if not self._delta_ids.shape[0] else None,
            graph_fingerprint=self.graph_fingerprint,
            extra_params={k: v for k, v in self.params.items() if k not in ("num_perm", "bands", "rows")},
        )

    def _set_delta(self, ids: np.ndarray, signatures: np.ndarray) -> None:
        self._delta_ids = ids
        self._delta_sig = np.ascontiguousarray(signatures, dtype=np.uint32)
        self._delta_pos = {v: i for i, v in enumerate(ids.tolist())}
        self._delta_table = BandTable.build(self._delta_sig, self.bands, self.rows)


__all__ = ["DeltaUpdates"]
