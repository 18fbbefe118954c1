"""Numerical kernels of personalized PageRank: pure functions over CSR arrays.

Everything here takes numpy arrays (``indptr`` int64, ``indices`` int32/int64, ``weights``
float64 or ``None``) and returns numpy arrays, with no I/O and no pyspark, so the very same code
runs inside a Spark task (``mapPartitions`` over a broadcast CSR) and on a laptop.

Modules
-------
- :mod:`.core`: defaults, :class:`AliasTable` / :class:`Fingerprints`, argument checks.
- :mod:`.sampling`: alias tables, one vectorised step of many walkers, counter-based randomness.
- :mod:`.walks`: Monte-Carlo PPR estimates and fingerprints.
- :mod:`.exact`: transition matrix and exact batched power iteration.
- :mod:`.decomposition`: propagation plus fingerprints (the query), top-k of every source.
- :mod:`.hubs`: fingerprint rows of high-degree vertices, so that queries need not spread
  through them.
- :mod:`.rows`: :class:`SparseRows` and top-k selection.

Conventions
-----------
Restart probability ``alpha``: a walk from source ``u`` stops at each step with probability
``alpha``, otherwise moves to an out-neighbour chosen with probability proportional to the edge
weight. ``PPR(u, v)`` is the probability that the walk ends at ``v``.

Dangling vertices (out-degree 0) *restart at the source*: a walk that is at a dangling vertex and
does not stop jumps back to ``u``. Equivalently, ``PPR_u = y_u / |y_u|_1`` where ``y_u`` is the
PPR of the *absorbing* chain (a walk that would leave a dangling vertex is killed instead);
this renewal identity is what lets fingerprints (which cannot know the source of the query that
will use them) be combined under the restart-at-source rule, see :func:`fingerprints` and
:func:`decomposition_ppr`.

Randomness is counter-based (see :mod:`.sampling`): results depend only on the seed and the
source, never on batching or partitioning.
"""

from graphkit.ppr.kernels.core import (
    ALPHA_BOUNDS,
    DEFAULT_ALPHA,
    DEFAULT_EPSILON,
    DEFAULT_FINGERPRINT_THRESHOLD,
    DEFAULT_FINGERPRINT_WALKS,
    DEFAULT_HUB_DEGREE,
    DEFAULT_STEPS,
    DEFAULT_TOL,
    FRACTION_BOUNDS,
    AliasTable,
    Fingerprints,
    check_sources,
    check_steps,
)
from graphkit.ppr.kernels.decomposition import decomposition_ppr, fully_ppr_topk, propagate
from graphkit.ppr.kernels.exact import exact_iterations, exact_ppr, transition_matrix
from graphkit.ppr.kernels.hubs import hub_mask, refine_hubs
from graphkit.ppr.kernels.rows import SparseRows, top_k
from graphkit.ppr.kernels.sampling import alias_table, count_walk_steps, sample_neighbors, seed_key
from graphkit.ppr.kernels.walks import fingerprints, merge_fingerprints, monte_carlo_ppr

__all__ = [
    "ALPHA_BOUNDS",
    "DEFAULT_ALPHA",
    "DEFAULT_EPSILON",
    "DEFAULT_FINGERPRINT_THRESHOLD",
    "DEFAULT_FINGERPRINT_WALKS",
    "DEFAULT_HUB_DEGREE",
    "DEFAULT_STEPS",
    "DEFAULT_TOL",
    "FRACTION_BOUNDS",
    "AliasTable",
    "Fingerprints",
    "SparseRows",
    "alias_table",
    "check_sources",
    "check_steps",
    "count_walk_steps",
    "decomposition_ppr",
    "exact_iterations",
    "exact_ppr",
    "fingerprints",
    "fully_ppr_topk",
    "hub_mask",
    "merge_fingerprints",
    "monte_carlo_ppr",
    "propagate",
    "refine_hubs",
    "sample_neighbors",
    "seed_key",
    "top_k",
    "transition_matrix",
]
