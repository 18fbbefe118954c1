"""Hub fingerprints (graphkit.ppr.kernels.hubs) against independent ground truth: the
absorbing-chain PPR by a dense solve, and exact PPR by power iteration."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import dataset, run_cli
from tests.ppr.test_kernels import ALPHA, dense_ppr, random_weighted_graph

from graphkit.io import load_csr
from graphkit.ppr import (
    Fingerprints,
    PPRIndex,
    decomposition_ppr,
    exact_ppr,
    fingerprints,
    refine_hubs,
    stratified_sources,
    transition_matrix,
)
from graphkit.ppr.evaluation import precision_at_k


def absorbing_fingerprints(csr) -> Fingerprints:
    """Fingerprints with no sampling error: row v is alpha (I - (1 - alpha) P)^-1 e_v of the
    absorbing chain (dangling rows empty), solved densely."""
    n = csr.num_vertices
    P = transition_matrix(csr.indptr, csr.indices, csr.weights).toarray()
    Y = ALPHA * np.linalg.inv(np.eye(n) - (1 - ALPHA) * P)
    Y[np.abs(Y) < 1e-15] = 0.0
    rows = [np.flatnonzero(Y[v]) for v in range(n)]
    indptr = np.concatenate([[0], np.cumsum([r.size for r in rows])]).astype(np.int64)
    indices = np.concatenate(rows).astype(np.int32)
    values = np.concatenate([Y[v, r] for v, r in enumerate(rows)]).astype(np.float32)
    return Fingerprints(indptr, indices, values, Y.sum(axis=1).astype(np.float32))


def test_with_exact_fingerprints_holding_hubs_still_gives_exact_ppr():
    # A weighted graph with a hub (vertex 0, 59 out-edges) and dangling vertices: with exact
    # fingerprints the decomposition is exact whether or not it spreads through hubs, so any
    # error here is the hub bookkeeping's (held mass, refined rows, refined masses).
    csr = random_weighted_graph(n=60, seed=5)
    fp = absorbing_fingerprints(csr)
    P = transition_matrix(csr.indptr, csr.indices, csr.weights)
    degrees = np.diff(csr.indptr)
    hub_degree = int(np.sort(degrees)[-8])  # the 7 highest-degree vertices are hubs
    refined = refine_hubs(fp, P, hub_degree, alpha=ALPHA)
    hubs = np.flatnonzero(degrees > hub_degree)
    assert 1 <= hubs.size <= 7 and 0 in hubs
    # a refined row of an exact fingerprint is that fingerprint again
    for h in hubs:
        lo, hi = refined.indptr[h], refined.indptr[h + 1]
        row = np.zeros(csr.num_vertices)
        row[refined.indices[lo:hi]] = refined.values[lo:hi]
        np.testing.assert_allclose(row, np.bincount(fp.indices[fp.indptr[h]:fp.indptr[h + 1]],
                                                    weights=fp.values[fp.indptr[h]:fp.indptr[h + 1]],
                                                    minlength=csr.num_vertices), atol=1e-6)
    sources = np.arange(csr.num_vertices)
    for steps in (1, 2, 3):
        rows = decomposition_ppr(csr.indptr, csr.indices, csr.weights, refined, sources, steps=steps,
                                 epsilon=0.0, hub_degree=hub_degree)
        for u in sources:
            t, v = rows.row(u)
            got = np.bincount(t, weights=v, minlength=csr.num_vertices)
            np.testing.assert_allclose(got, dense_ppr(csr, u), atol=2e-6, err_msg=f"source {u}, steps {steps}")


def test_refine_keeps_other_rows_and_builds_hub_rows_from_the_neighbours():
    csr = random_weighted_graph(n=60, seed=7)
    fp = fingerprints(csr.indptr, csr.indices, csr.weights, walks=500, seed=2, threshold=0.0)
    P = transition_matrix(csr.indptr, csr.indices, csr.weights)
    degrees = np.diff(csr.indptr)
    hub_degree = int(np.median(degrees))
    threshold = 2e-3
    refined = refine_hubs(fp, P, hub_degree, alpha=ALPHA, threshold=threshold)
    assert refine_hubs(fp, P, None) is fp
    walked = np.zeros((csr.num_vertices, csr.num_vertices))
    for v in range(csr.num_vertices):
        lo, hi = fp.indptr[v], fp.indptr[v + 1]
        walked[v, fp.indices[lo:hi]] = fp.values[lo:hi]
    assert refined.indices.dtype == np.int32 and refined.values.dtype == np.float32
    for v in range(csr.num_vertices):
        lo, hi = refined.indptr[v], refined.indptr[v + 1]
        if degrees[v] <= hub_degree:
            assert np.array_equal(refined.indices[lo:hi], fp.indices[fp.indptr[v]:fp.indptr[v + 1]])
            assert np.array_equal(refined.values[lo:hi], fp.values[fp.indptr[v]:fp.indptr[v + 1]])
            assert refined.mass[v] == fp.mass[v]
            continue
        expected = (1 - ALPHA) * (P[v].toarray().ravel() @ walked)
        expected[v] += ALPHA
        kept = np.flatnonzero(expected >= threshold * (1 + 1e-5))
        assert set(kept) <= set(refined.indices[lo:hi].tolist())
        assert refined.values[lo:hi].min() >= threshold
        np.testing.assert_allclose(refined.values[lo:hi], expected[refined.indices[lo:hi]], rtol=1e-5)
        assert refined.mass[v] == pytest.approx(ALPHA + (1 - ALPHA) * P[v].toarray().ravel() @ fp.mass, rel=1e-6)


def test_hubs_keep_precision_on_a_real_graph():
    # email-Eu-core (directed, max out-degree 334): ~40 % of its vertices are hubs at degree 20,
    # far more than the default makes; precision@10 must stay at the no-hub level.
    csr = load_csr(dataset("email_eu_core", "email-Eu-core.txt"), directed=True)
    sources = stratified_sources(np.diff(csr.indptr), 60, seed=1)
    exact = exact_ppr(csr.indptr, csr.indices, None, sources)
    precision = {}
    for hub_degree in (None, 20):
        index = PPRIndex(walks=2000, seed=4, hub_degree=hub_degree).fit(csr)
        rows = index.query_indices(sources, 10)
        precision[hub_degree] = np.mean([precision_at_k(exact[i], rows.row(i)[0], 10) for i in range(len(sources))])
    assert precision[20] >= precision[None] - 0.02, precision
    assert precision[20] >= 0.9, precision


def test_index_records_hub_degree_and_reads_indexes_written_before_it(tmp_path):
    import json

    csr = load_csr(dataset("email_eu_core", "email-Eu-core.txt"), directed=True)
    index = PPRIndex(walks=300, seed=1, hub_degree=30).fit(csr)
    path = index.save(tmp_path / "index")
    loaded = PPRIndex.load(path)
    assert loaded.hub_degree == 30
    assert loaded.query([0, 5], 5) == index.query([0, 5], 5)
    # an index of format 1.1 has no hub_degree: its fingerprints were never refined, and its
    # queries must spread through every vertex, as they did
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["params"]["hub_degree"]
    manifest["format_version"] = [1, 1]
    (path / "manifest.json").write_text(json.dumps(manifest))
    assert PPRIndex.load(path).hub_degree is None


@pytest.mark.parametrize("bad", [0, -3, 2.5, "50", True])
def test_bad_hub_degree_is_refused_before_any_work(bad):
    csr = random_weighted_graph(n=10, seed=1)
    with pytest.raises(ValueError, match="hub_degree must be a positive integer"):
        PPRIndex(hub_degree=bad).fit(csr)


@pytest.mark.parametrize("command", ["ppr", "ppr-index"])
def test_command_line_takes_a_hub_degree_or_none(command):
    from graphkit.cli import build_parser

    parser = build_parser()
    assert parser.parse_args([command, "in", "out"]).hub_degree == 50
    assert parser.parse_args([command, "in", "out", "--hub-degree", "none"]).hub_degree is None
    assert parser.parse_args([command, "in", "out", "--hub-degree", "200"]).hub_degree == 200
    done = run_cli(command, "in", "out", "--hub-degree", "0", timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"graphkit {command}: error: argument --hub-degree: must be a positive integer or 'none', got '0'")
