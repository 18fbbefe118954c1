"""datasketch interoperability of :class:`~graphkit.lsh.LSHIndex`: the same sketches as
``datasketch.MinHashLSH`` / ``LeanMinHash`` objects, and an index from datasketch sketches.

datasketch is imported only when these are used; this module does not import pyspark.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from graphkit.lsh import kernels as K
from graphkit.lsh._validation import as_id_array


class DatasketchInterop:
    """The datasketch methods of :class:`~graphkit.lsh.LSHIndex` (a mixin)."""

    def to_datasketch(self):
        """The same sketches as datasketch objects.

        Returns
        -------
        lsh : datasketch.MinHashLSH
            With ``params=(bands, rows)`` and every live vertex inserted under its user id.
        minhashes : dict
            ``{user_id: datasketch.LeanMinHash}`` with this index's seed and scheme, so
            ``minhashes[u].jaccard(minhashes[v])`` equals :meth:`jaccard`.
        """
        from datasketch import LeanMinHash, MinHashLSH

        lsh = MinHashLSH(num_perm=self.num_perm, params=(self.bands, self.rows))
        minhashes = {}
        value_dtype = np.uint64 if self.scheme == "legacy" else np.uint32
        live = np.flatnonzero(~self._deleted)
        sigs = np.concatenate([np.asarray(self._signatures)[live], self._delta_sig])
        for uid, sig in zip(self.ids.tolist(), sigs):
            m = LeanMinHash(seed=self.seed, hashvalues=sig.astype(value_dtype), scheme=self.scheme)
            minhashes[uid] = m
            lsh.insert(uid, m, check_duplication=False)
        return lsh, minhashes

    @classmethod
    def from_datasketch(
        cls,
        minhashes: Mapping,
        *,
        bands: int | None = None,
        rows: int | None = None,
    ) -> "LSHIndex":  # noqa: F821
        """Index datasketch sketches ``{user_id: MinHash or LeanMinHash}``.

        All sketches must share ``num_perm``, ``seed`` and scheme ("affine32" or "legacy";
        64-bit "affine64" values do not fit graphkit's uint32 signatures).
        """
        if not minhashes:
            raise ValueError("no MinHash sketches given")
        items = list(minhashes.items())
        first = items[0][1]
        seed, scheme, num_perm = first.seed, getattr(first, "scheme", "legacy"), len(first)
        K.check_scheme(scheme)
        for key, m in items:
            if m.seed != seed or getattr(m, "scheme", "legacy") != scheme or len(m) != num_perm:
                raise ValueError(
                    f"sketch for {key!r} has seed/scheme/num_perm {m.seed}/{getattr(m, 'scheme', 'legacy')}/{len(m)}, "
                    f"expected {seed}/{scheme}/{num_perm}"
                )
        sig = np.array([m.hashvalues for _, m in items], dtype=np.uint64)
        if sig.size and sig.max() > 0xFFFFFFFF:
            raise ValueError("hash values exceed 32 bits")
        ids = as_id_array([k for k, _ in items])
        return cls.build(sig.astype(np.uint32), ids, bands=bands, rows=rows, seed=seed, scheme=scheme)


__all__ = ["DatasketchInterop"]
