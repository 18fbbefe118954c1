"""Quality of the LSH index against exact ground truth.

* Similarity: exact neighbourhood Jaccard by brute force (sparse set intersections over the
  CSR) for sampled vertices, and the recall of :meth:`LSHIndex.similar` against the exact
  top-k, overall and restricted to true top-k members with Jaccard >= a threshold.
* Communities: recovery of a ground-truth community from a few seeds, as the recall of the
  result as it grows (curve and area under it), for :func:`graphkit.lsh.community` and for a
  personalized-PageRank-from-the-seeds baseline.

Everything here runs on one machine (scipy.sparse), never imports pyspark, and is meant for
tests, benchmarks and notebooks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from graphkit.csr import CSRGraph
from graphkit.lsh.community import community
from graphkit.lsh.index import LSHIndex, neighbourhood_csr
from graphkit.ppr import DEFAULT_ALPHA, transition_matrix


# -- exact Jaccard --------------------------------------------------------------------------
def _binary_adjacency(graph: CSRGraph) -> sp.csr_matrix:
    n = graph.num_vertices
    adj = sp.csr_matrix(
        (np.ones(graph.num_edges, dtype=np.float64), graph.indices, graph.indptr), shape=(n, n)
    )
    adj.sum_duplicates()
    adj.data[:] = 1.0
    return adj


def exact_jaccard(graph: CSRGraph, sources: np.ndarray, allowed: np.ndarray | None = None) -> sp.csr_matrix:
    """Exact Jaccard similarity of the neighbourhoods (CSR rows) of ``sources`` to every vertex.

    Parameters
    ----------
    graph : CSRGraph
        Rows are the neighbour sets (pass :func:`neighbourhood_csr` for in/both).
    sources : ndarray of int
        Dense vertex indices.
    allowed : ndarray of bool, shape (n,), optional
        Keep only these target vertices (e.g. the vertices an index holds).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (len(sources), n)
        Nonzero entries are the targets sharing a neighbour with the source, the source itself
        excluded. Pairs with empty union are 0.
    """
    adj = _binary_adjacency(graph)
    sources = np.asarray(sources, dtype=np.int64)
    degree = np.asarray(adj.sum(axis=1)).ravel()
    inter = (adj[sources] @ adj.T).tocsr()
    inter.sort_indices()
    rows = np.repeat(np.arange(sources.shape[0]), np.diff(inter.indptr))
    cols = inter.indices
    union = degree[sources][rows] + degree[cols] - inter.data
    data = np.divide(inter.data, union, out=np.zeros_like(inter.data), where=union > 0)
    keep = cols != sources[rows]
    if allowed is not None:
        keep &= np.asarray(allowed, dtype=bool)[cols]
    out = sp.csr_matrix((data[keep], (rows[keep], cols[keep])), shape=inter.shape)
    out.sort_indices()
    return out


@dataclass(frozen=True)
class SimilarityRecall:
    """Recall of ``similar(v, k)`` against exact top-k (micro-averaged over sources).

    Attributes
    ----------
    recall_at_k : float
        Hits / sum over sources of ``min(k, |T|)``, with ``T`` the exact top-k *with ties*
        (every vertex whose Jaccard is at least the k-th largest), so any valid tie-break
        scores 1.
    recall_above : float
        The same restricted to members of ``T`` with Jaccard >= ``min_jaccard``.
    sources, sources_above : int
        Sources evaluated; sources with at least one true top-k member above the threshold.
    k : int
    min_jaccard : float
    """

    recall_at_k: float
    recall_above: float
    sources: int
    sources_above: int
    k: int
    min_jaccard: float


def similarity_recall(
    index: LSHIndex,
    graph: CSRGraph,
    sources,
    *,
    k: int = 10,
    min_jaccard: float = 0.2,
    exact: bool = False,
) -> SimilarityRecall:
    """Compare :meth:`LSHIndex.similar` with the exact top-k Jaccard neighbours.

    Parameters
    ----------
    index : LSHIndex
        Built from ``graph`` (same neighbourhood); only the vertices it holds count as
        possible answers.
    graph : CSRGraph
        The graph the index summarises (its ``neighbourhood`` is applied here too).
    sources : array-like
        User ids to query (must be in the index).
    k : int, default 10
    min_jaccard : float, default 0.2
    exact : bool, default False
        Passed to :meth:`LSHIndex.similar` (exact re-ranking of the candidates).
    """
    neighbourhood = index.neighbourhood if index.neighbourhood in ("out", "in", "both") else "out"
    adjacency = neighbourhood_csr(graph, neighbourhood, bool(index.params.get("closed", False)))
    src = adjacency.index_of(sources)
    allowed = np.zeros(adjacency.num_vertices, dtype=bool)
    live = index.ids
    in_graph = np.isin(live, adjacency.ids)
    allowed[adjacency.index_of(live[in_graph])] = True
    jac = exact_jaccard(adjacency, src, allowed)
    hits = denom = hits_above = denom_above = sources_above = 0
    for row, uid in enumerate(np.asarray(sources).tolist()):
        start, end = jac.indptr[row], jac.indptr[row + 1]
        values, cols = jac.data[start:end], jac.indices[start:end]
        pos = values > 0
        values, cols = values[pos], cols[pos]
        if not values.size:
            continue
        kth = np.sort(values)[::-1][min(k, values.size) - 1]
        truth = set(adjacency.ids[cols[values >= kth]].tolist())
        truth_above = set(adjacency.ids[cols[(values >= kth) & (values >= min_jaccard)]].tolist())
        got = {v for v, _ in index.similar(uid, k, exact=exact)}
        hits += len(got & truth)
        denom += min(k, len(truth))
        if truth_above:
            sources_above += 1
            hits_above += len(got & truth_above)
            denom_above += min(k, len(truth_above))
    return SimilarityRecall(
        recall_at_k=hits / denom if denom else float("nan"),
        recall_above=hits_above / denom_above if denom_above else float("nan"),
        sources=len(src),
        sources_above=sources_above,
        k=k,
        min_jaccard=min_jaccard,
    )


# -- community recovery ---------------------------------------------------------------------
def recovery_curve(ranked, community_members, seeds, max_size: int | None = None):
    """Recall of a community as a ranked result grows.

    Seeds are removed from both the ranking and the community (finding them is free).

    Parameters
    ----------
    ranked : sequence of user ids
        The result, best first (may contain the seeds).
    community_members : iterable of user ids
    seeds : iterable of user ids
    max_size : int, optional
        Longest result considered; default twice the number of non-seed members.

    Returns
    -------
    recall : ndarray of float, shape (max_size,)
        ``recall[s - 1]`` = fraction of the non-seed members among the first ``s`` non-seed
        results (a result shorter than ``max_size`` keeps its last recall).
    auc : float
        Mean of ``recall`` (area under the curve with the size axis scaled to [0, 1]); an
        ideal ranking scores ``1 - (t + 1) / (2 * max_size)`` for ``t`` members (0.75 at the
        default size), a random one about ``t / n * (max_size + 1) / 2``.
    """
    seeds = set(np.asarray(list(seeds)).tolist())
    truth = set(np.asarray(list(community_members)).tolist()) - seeds
    if not truth:
        raise ValueError("the community has no members besides the seeds")
    size = int(max_size) if max_size is not None else 2 * len(truth)
    result = [v for v in np.asarray(list(ranked)).tolist() if v not in seeds][:size]
    hit = np.array([v in truth for v in result], dtype=np.float64)
    recall = np.zeros(size)
    if hit.size:
        recall[: hit.size] = np.cumsum(hit) / len(truth)
        recall[hit.size :] = recall[hit.size - 1]
    return recall, float(recall.mean())


def ppr_from_seeds(
    graph: CSRGraph,
    seeds,
    alpha: float = DEFAULT_ALPHA,
    iterations: int = 30,
    transition: sp.csr_matrix | None = None,
) -> np.ndarray:
    """Personalized PageRank restarting uniformly at ``seeds`` (power iteration).

    ``p <- alpha * s + (1 - alpha) * P^T p`` with ``P`` the row-normalised adjacency;
    the mass of dangling vertices also returns to the seeds. ``iterations=30`` leaves an
    error below ``0.85**30``, about 0.8 %, plenty for ranking.

    Not :func:`graphkit.ppr.exact_ppr`, on purpose: that restarts at one source and iterates to a
    tolerance, while this baseline restarts uniformly at a seed *set* (the dangling mass returns
    to all seeds) for a fixed number of iterations, and its published recovery figures depend on
    both.

    Parameters
    ----------
    graph : CSRGraph
    seeds : iterable of user ids
    alpha : float, default 0.15
        Restart probability.
    iterations : int, default 30
    transition : scipy.sparse.csr_matrix, optional
        ``P^T`` from :func:`ppr_transition`, to reuse across many seed sets.

    Returns
    -------
    ndarray of float64, shape (n,)
        Scores indexed by dense vertex id (sum 1).
    """
    n = graph.num_vertices
    transition_t = ppr_transition(graph) if transition is None else transition
    restart = np.zeros(n)
    restart[graph.index_of(list(seeds))] = 1.0
    restart /= restart.sum()
    dangling = np.diff(graph.indptr) == 0
    p = restart.copy()
    for _ in range(int(iterations)):
        p = alpha * restart + (1 - alpha) * (transition_t @ p + p[dangling].sum() * restart)
    return p


def ppr_transition(graph: CSRGraph) -> sp.csr_matrix:
    """Transpose of the row-stochastic transition matrix (weights respected)."""
    return transition_matrix(graph.indptr, graph.indices, graph.weights).T.tocsr()


def ppr_ranking(graph: CSRGraph, seeds, size: int, alpha: float = DEFAULT_ALPHA, transition=None) -> list:
    """User ids of the ``size`` highest-PPR vertices, seeds excluded (the baseline)."""
    scores = ppr_from_seeds(graph, seeds, alpha=alpha, transition=transition)
    seed_dense = graph.index_of(list(seeds))
    scores[seed_dense] = -np.inf
    size = min(int(size), scores.shape[0])
    top = np.argpartition(-scores, size - 1)[:size] if size < scores.shape[0] else np.arange(size)
    top = top[np.lexsort((top, -scores[top]))]  # best first, ties by vertex order
    return graph.ids[top[np.isfinite(scores[top]) & (scores[top] > 0)]].tolist()


@dataclass(frozen=True)
class RecoveryResult:
    """Community recovery of LSH vs PPR over several (community, seed draw) trials.

    Attributes
    ----------
    lsh_auc, ppr_auc : float
        Mean area under the recall-vs-size curve over all trials.
    lsh_curve, ppr_curve : ndarray
        Mean recall at result sizes expressed as multiples of the community size
        (``grid``), averaged over trials.
    grid : ndarray
        The size fractions, ``(1..points) / points * 2``.
    trials : int
    """

    lsh_auc: float
    ppr_auc: float
    lsh_curve: np.ndarray
    ppr_curve: np.ndarray
    grid: np.ndarray
    trials: int


def community_recovery(
    index: LSHIndex,
    graph: CSRGraph,
    communities,
    *,
    n_seeds: int = 5,
    draws: int = 3,
    random_state: int = 0,
    points: int = 20,
    expand: bool = False,
) -> RecoveryResult:
    """Recover ground-truth communities from ``n_seeds`` random members: LSH vs PPR.

    For each community with more than ``n_seeds`` members held by the index, and each of
    ``draws`` seed draws, both methods produce a ranking of up to twice the number of
    non-seed members, scored by :func:`recovery_curve`.

    Parameters
    ----------
    index : LSHIndex
    graph : CSRGraph
        Graph for the PPR baseline (the one the index was built from).
    communities : list of array-like of user ids
    n_seeds : int, default 5
    draws : int, default 3
    random_state : int, default 0
    points : int, default 20
        Resolution of the averaged curves.
    expand : bool, default False
        Passed to :func:`graphkit.lsh.community`.
    """
    rng = np.random.default_rng(random_state)
    grid = np.arange(1, points + 1) / points * 2.0
    lsh_aucs, ppr_aucs, lsh_curves, ppr_curves = [], [], [], []
    transition = ppr_transition(graph)
    for members in communities:
        members = [v for v in np.asarray(members).tolist() if v in index]
        if len(members) <= n_seeds:
            continue
        for _ in range(int(draws)):
            seeds = rng.choice(np.asarray(members), n_seeds, replace=False).tolist()
            size = 2 * (len(members) - n_seeds)
            lsh = community(index, seeds, size + n_seeds, expand=expand).members
            ppr = ppr_ranking(graph, seeds, size, transition=transition)
            for ranked, aucs, curves in ((lsh, lsh_aucs, lsh_curves), (ppr, ppr_aucs, ppr_curves)):
                recall, auc = recovery_curve(ranked, members, seeds, size)
                aucs.append(auc)
                at = np.clip(np.ceil(grid / 2.0 * size).astype(int), 1, size) - 1
                curves.append(recall[at])
    if not lsh_aucs:
        raise ValueError(f"no community has more than {n_seeds} members in the index")
    return RecoveryResult(
        lsh_auc=float(np.mean(lsh_aucs)),
        ppr_auc=float(np.mean(ppr_aucs)),
        lsh_curve=np.mean(lsh_curves, axis=0),
        ppr_curve=np.mean(ppr_curves, axis=0),
        grid=grid,
        trials=len(lsh_aucs),
    )
