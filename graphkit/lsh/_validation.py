"""Checks of the user's ids and signatures given to an :class:`~graphkit.lsh.LSHIndex`."""

from __future__ import annotations

import numpy as np


def as_id_array(ids) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim != 1:
        arr = np.asarray(list(ids))
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind == "O" and all(isinstance(v, str) for v in arr.tolist()):
        return arr.astype(str)
    raise TypeError(f"ids must be all integers or all strings, got dtype {arr.dtype}")


def check_unique(ids: np.ndarray) -> None:
    if ids.shape[0] < 2:
        return
    s = np.sort(ids)
    dup = s[1:] == s[:-1]
    if dup.any():
        raise ValueError(f"duplicate vertex id {s[1:][dup][0].item()!r}")


__all__ = ["LSHIndex"]


def as_signature_values(sig: np.ndarray) -> np.ndarray:
    """``sig`` as uint32, or ``ValueError`` unless it holds 32-bit unsigned hash values."""
    if sig.dtype != np.uint32:
        if sig.dtype.kind not in "iu" or (sig.size and (sig.min() < 0 or sig.max() > 0xFFFFFFFF)):
            raise ValueError(f"signatures must hold 32-bit unsigned hash values, got dtype {sig.dtype}")
        sig = sig.astype(np.uint32)
    return sig


__all__ = ["as_id_array", "as_signature_values", "check_unique"]
