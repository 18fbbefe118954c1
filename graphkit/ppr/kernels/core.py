"""Shared vocabulary of the PPR kernels: defaults, result types and argument checks.

The defaults were chosen by measurement; the figures are in ``docs/ppr-kernels.md``.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from graphkit.errors import EmptyGraphError

DEFAULT_ALPHA = 0.15
# The defaults below were chosen by measurement: the figures are in docs/ppr-kernels.md.
#: Walks per fingerprint (visit-counted).
DEFAULT_FINGERPRINT_WALKS = 8000
#: Fingerprint entries below this value are not stored (at most ``1 / threshold`` per vertex).
DEFAULT_FINGERPRINT_THRESHOLD = 3e-4
#: Propagation steps T of the decomposition query before fingerprints take over.
DEFAULT_STEPS = 2
#: Vertices with more out-neighbours are hubs: queries read their precomputed row rather than
#: spreading through them (:mod:`.hubs`).
DEFAULT_HUB_DEGREE = 50
#: Frontier entries below this mass are dropped after each propagation step.
DEFAULT_EPSILON = 1e-5
#: Exact solver L1 tolerance.
DEFAULT_TOL = 1e-10


class AliasTable(NamedTuple):
    """Per-edge alias table: slot ``e`` (an edge of vertex ``v``) keeps its own target
    ``indices[e]`` with probability ``prob[e]``, else moves to vertex ``alias[e]``."""

    prob: np.ndarray
    alias: np.ndarray


class Fingerprints(NamedTuple):
    """Fingerprint of every vertex: visit distribution of short absorbing walks.

    ``indptr`` (int64, n + 1), ``indices`` (int32), ``values`` (float32) are CSR rows of the
    truncated estimates of ``y_v``; ``mass`` (float32, n) is the untruncated estimate of
    ``|y_v|_1`` (1 for vertices whose walks never meet a dangling vertex).
    """

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    mass: np.ndarray


def _fingerprint_matrix(fp: Fingerprints, n: int) -> sp.csr_matrix:
    # Shares fp's arrays (memory-mapped on load): int32 indices stay int32 and values float32,
    # so products with it never copy the (large) fingerprint arrays.
    return sp.csr_matrix((fp.values, fp.indices, fp.indptr), shape=(n, n), copy=False)


# -- validation (used at the public entry points, never inside loops) ----------------------
#: ``check_number`` bounds of a restart probability: the open interval (0, 1).
ALPHA_BOUNDS = {"low": 0.0, "high": 1.0, "low_open": True, "high_open": True}
#: ``check_number`` bounds of a drop threshold (``epsilon``, fingerprint ``threshold``): [0, 1).
FRACTION_BOUNDS = {"low": 0.0, "high": 1.0, "high_open": True}


def check_steps(steps) -> int:
    """Propagation steps T: an integer >= 0 (``ValueError`` otherwise)."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    return int(steps)


def check_sources(sources, num_vertices: int) -> np.ndarray:
    """Dense source indices as int64, or ``ValueError`` naming the first out-of-range one."""
    if num_vertices <= 0:
        raise EmptyGraphError("graph has no vertices")
    arr = np.atleast_1d(np.asarray(sources))
    if arr.ndim != 1:
        raise ValueError(f"sources must be a 1-d array of vertex indices, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"sources must be integer vertex indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    bad = (arr < 0) | (arr >= num_vertices)
    if bad.any():
        raise ValueError(f"source index {int(arr[bad][0])} is out of range [0, {num_vertices})")
    return arr


def _check_graph(indptr, indices, weights):
    indptr = np.asarray(indptr)
    n = indptr.shape[0] - 1
    if n <= 0:
        raise EmptyGraphError("graph has no vertices")
    if weights is not None and np.shape(weights) != np.shape(indices):
        raise ValueError(f"weights has shape {np.shape(weights)}, indices has {np.shape(indices)}")
    return n
