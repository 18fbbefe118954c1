"""The Spark side of MinHash-LSH against the local side, datasketch and brute force."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from graphkit import io
from graphkit.base import NotFittedError
from graphkit.csr import CSRGraph
from graphkit.graph import Graph
from graphkit.lsh import LSHIndex
from graphkit.lsh import kernels as K
from graphkit.lsh import pairs as P
from graphkit.lsh import signatures as SG
from graphkit.lsh._batches import whole_groups
from graphkit.lsh.spark import NeighbourhoodSignatures
from graphkit.lsh.evaluation import exact_jaccard
from tests.conftest import ROOT, dataset, run_cli

pytestmark = pytest.mark.spark

EMAIL = ("email_eu_core", "email-Eu-core.txt")


@pytest.fixture(scope="module")
def email_spark(spark) -> Graph:
    return Graph.read(dataset(*EMAIL), spark=spark)


@pytest.fixture(scope="module")
def email_local() -> CSRGraph:
    return io.load_csr(dataset(*EMAIL), directed=True)


@pytest.fixture(scope="module")
def fitted_out(email_spark):
    est = NeighbourhoodSignatures(num_perm=128, neighbourhood="out").fit(email_spark)
    yield est
    est.unpersist()


def local_signatures(index: LSHIndex) -> np.ndarray:
    return np.asarray(index._signatures)


# -- signatures and band keys ------------------------------------------------------------------
@pytest.mark.parametrize("neighbourhood", ["out", "in", "both"])
def test_signatures_and_band_keys_equal_local_byte_for_byte(email_spark, email_local, fitted_out, neighbourhood):
    est = fitted_out if neighbourhood == "out" else NeighbourhoodSignatures(neighbourhood=neighbourhood).fit(email_spark)
    ids, sig = est.collect()
    local = LSHIndex.from_graph(email_local, num_perm=128, neighbourhood=neighbourhood, seed=1)
    assert sig.dtype == np.uint32 and sig.shape == (1005, 128)
    assert np.array_equal(ids, local.ids)
    assert sig.tobytes() == local_signatures(local).tobytes()

    # band keys computed in Spark tasks == the local function on the same signatures
    keys = est.band_keys_.toPandas()
    live = np.flatnonzero(~K.is_empty_signature(sig))
    expected = K.band_keys(sig[live], est.bands_, est.rows_)
    got = np.zeros((live.shape[0], est.bands_), dtype=np.uint64)
    pos = np.searchsorted(live, keys["id"].to_numpy())
    assert np.array_equal(live[pos], keys["id"].to_numpy()) and len(keys) == expected.size
    got[pos, keys["band"].to_numpy()] = keys["key"].to_numpy().view(np.uint64)
    assert got.tobytes() == expected.tobytes()
    if est is not fitted_out:
        est.unpersist()


def test_signatures_equal_datasketch(fitted_out, email_local):
    from datasketch import MinHash

    ids, sig = fitted_out.collect()
    for dense in [0, 1, 7, 160, 1004]:
        m = MinHash(num_perm=128, seed=1)
        for nb in email_local.ids[email_local.neighbors(dense)].tolist():
            m.update(str(nb).encode("utf-8"))
        assert np.array_equal(m.hashvalues.astype(np.uint32), sig[dense]), dense


def test_string_ids_undirected_isolated_vertices_and_streamed_slices(spark, monkeypatch):
    """String ids, an undirected graph, vertices without neighbours, and partitions streamed in
    many slices (small Arrow batches, tiny task budget) give the local bytes too."""
    rng = np.random.default_rng(3)
    src, dst = rng.integers(0, 400, 3000), rng.integers(0, 400, 3000)
    names = np.array([f"user-{i:04d}-é" for i in range(420)])  # 20 isolated vertices
    csr = CSRGraph.from_edges(src, dst, 420, ids=names, directed=False)
    graph = Graph.from_csr(spark, csr)
    monkeypatch.setattr(SG, "_TASK_SIGNATURE_BYTES", 1)  # flush every 4096 rows
    previous = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "700")
    try:
        est = NeighbourhoodSignatures(num_perm=64, neighbourhood="in", seed=99, num_partitions=1).fit(graph)
        ids, sig = est.collect()
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", previous)
    local = LSHIndex.from_graph(csr, num_perm=64, seed=99)
    assert ids.tolist() == local.ids.tolist()
    assert sig.tobytes() == local_signatures(local).tobytes()
    assert K.is_empty_signature(sig).sum() == 20
    est.unpersist()


# -- candidate pairs ---------------------------------------------------------------------------
def brute_force_pairs(sig: np.ndarray, bands: int, rows: int, threshold: float, max_bucket: int | None = None):
    """{(a, b): estimate} of dense pairs sharing a band key (in a bucket of <= max_bucket
    members) with estimated Jaccard >= threshold, by pandas over all band keys."""
    live = np.flatnonzero(~K.is_empty_signature(sig))
    keys = K.band_keys(sig[live], bands, rows)
    frame = pd.DataFrame({"id": np.repeat(live, bands), "band": np.tile(np.arange(bands), live.size),
                          "key": keys.reshape(-1)})
    if max_bucket is not None:
        size = frame.groupby(["band", "key"])["id"].transform("size")
        frame = frame[size <= max_bucket]
    both = frame.merge(frame, on=["band", "key"])
    both = both[both["id_x"] < both["id_y"]][["id_x", "id_y"]].drop_duplicates()
    a, b = both["id_x"].to_numpy(), both["id_y"].to_numpy()
    est = np.count_nonzero(sig[a] == sig[b], axis=1) / sig.shape[1]
    keep = est >= threshold
    return dict(zip(zip(a[keep].tolist(), b[keep].tolist()), est[keep].tolist()))


def test_similar_pairs_equal_brute_force_over_band_keys(fitted_out, email_local):
    threshold = 0.3
    ids, sig = fitted_out.collect()
    got = fitted_out.similar_pairs(threshold).toPandas()  # scored against broadcast signatures
    expected = brute_force_pairs(sig, fitted_out.bands_, fitted_out.rows_, threshold)
    # user ids of email-Eu-core are 0..1004, equal to the dense ids
    assert np.array_equal(ids, np.arange(1005))
    got_pairs = dict(zip(zip(got["a"].tolist(), got["b"].tolist()), got["jaccard_estimate"].tolist()))
    assert len(got_pairs) == len(got) > 500  # each pair once
    assert got_pairs == expected  # same pairs, and estimates equal signature agreement exactly
    assert (got["a"] < got["b"]).all()
    # the join strategy (signatures too big to broadcast) gives the same answer
    raw = P.bucket_pairs(fitted_out.sorted_band_keys(), 1000).distinct()
    joined = P.pair_estimates(raw, fitted_out.signatures_, 128, threshold).toPandas()
    assert dict(zip(zip(joined["a"].tolist(), joined["b"].tolist()), joined["jaccard_estimate"].tolist())) == expected

    # against exact Jaccard: estimates within 5 standard errors, and the LSH misses few truly
    # similar pairs (P(candidate | J >= 0.4) > 0.9999 with 64 bands of 2 rows)
    jac = exact_jaccard(email_local, np.arange(1005)).tocoo()
    exact = {(int(r), int(c)): v for r, c, v in zip(jac.row, jac.col, jac.data) if r < c}
    errors = np.array([abs(est - exact.get(pair, 0.0)) for pair, est in got_pairs.items()])
    assert errors.max() < 5 * np.sqrt(0.25 / 128)
    strong = [pair for pair, v in exact.items() if v >= threshold + 0.1]
    found = sum(pair in got_pairs for pair in strong)
    assert len(strong) > 100 and found / len(strong) > 0.97


def test_oversized_buckets_are_skipped_and_reported(email_spark, fitted_out):
    assert fitted_out.bucket_report()["skipped"] == 0  # default cap 1000
    cap = 12
    est = NeighbourhoodSignatures(max_bucket=cap).fit(email_spark)
    report = est.bucket_report()
    sizes = P.bucket_sizes(est.sorted_band_keys()).select("size").toPandas()["size"].to_numpy()
    big = sizes[sizes > cap]
    assert report == {"buckets": sizes.size, "largest": sizes.max(), "skipped": big.size,
                      "skipped_pairs": int((big * (big - 1) // 2).sum()), "max_bucket": cap}
    assert report["skipped"] > 0
    pairs = est.similar_pairs(0.2).toPandas()
    _, sig = est.collect()
    expected = brute_force_pairs(sig, 64, 2, 0.2, max_bucket=cap)
    assert dict(zip(zip(pairs["a"].tolist(), pairs["b"].tolist()), pairs["jaccard_estimate"].tolist())) == expected
    assert len(expected) < len(brute_force_pairs(sig, 64, 2, 0.2))
    est.unpersist()


# -- parameters --------------------------------------------------------------------------------
def test_parameters_are_validated_in_fit_before_spark_work(email_spark):
    for params, match in [
        ({"num_perm": 100, "bands": 30}, "bands x rows must equal num_perm"),
        ({"num_perm": 0}, "num_perm must be a positive integer"),
        ({"neighbourhood": "sideways"}, "neighbourhood must be one of"),
        ({"seed": -1}, "seed must be an integer"),
        ({"scheme": "affine64"}, "scheme must be one of"),
        ({"max_bucket": 0}, "max_bucket must be a positive integer"),
    ]:
        with pytest.raises(ValueError, match=match):
            NeighbourhoodSignatures(**params).fit(email_spark)
    with pytest.raises(TypeError, match="expects a graphkit Graph"):
        NeighbourhoodSignatures().fit(np.zeros(3))
    est = NeighbourhoodSignatures()
    with pytest.raises(NotFittedError, match="not fitted"):
        est.similar_pairs(0.5)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        est.similar_pairs(0.0)
    assert est.set_params(num_perm=64).get_params()["num_perm"] == 64
    assert "num_perm=64" in repr(est)


def test_build_writes_the_index_through_save_and_close(spark, tmp_path):
    """graphkit.build.build(graph, NeighbourhoodSignatures(...), out) is the one write path: the
    index (and pairs) it writes equal the local side's."""
    from graphkit.base import clone
    from graphkit.build import build
    from graphkit.datasets import planted_partition

    csr = planted_partition()[0]
    graph = Graph.from_csr(spark, csr)
    est = NeighbourhoodSignatures(num_perm=32, pairs_threshold=0.5, extra_params={"input": "planted"})
    with pytest.raises(NotFittedError):
        est.save(tmp_path / "never")
    assert clone(est).get_params() == est.get_params()
    path = build(graph, est, tmp_path / "idx", progress=False)
    index, local = LSHIndex.load(path), LSHIndex.from_graph(csr, num_perm=32)
    assert local_signatures(index).tobytes() == local_signatures(local).tobytes()
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["params"]["input"] == "planted" and manifest["params"]["built_by"] == "spark"
    assert manifest["pairs"]["count"] == est.export_summary_.pairs == len(pd.read_parquet(tmp_path / "idx" / "pairs"))
    assert est._broadcast is None and est._sorted_keys is None  # close() released the caches
    again = NeighbourhoodSignatures(num_perm=32)
    build(graph, again, tmp_path / "again", progress=False)
    assert again.export_summary_.pairs is None
    assert local_signatures(LSHIndex.load(again.export_summary_.path)).tobytes() == local_signatures(local).tobytes()


# -- the command line --------------------------------------------------------------------------
def test_cli_writes_an_index_and_pairs_then_refuses_to_overwrite(tmp_path, email_local, cli_in_process):
    out = tmp_path / "email-lsh"
    done = cli_in_process("signatures", dataset(*EMAIL), out, "--neighbourhood", "both", "--pairs-threshold", "0.4",
                          "--num-perm", "64", "--bands", "32")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "vertices   1,005" in done.stdout and "32 bands x 2 rows" in done.stdout
    assert "[graphkit" in done.stderr  # progress

    index = LSHIndex.load(out)
    local = LSHIndex.from_graph(email_local, num_perm=64, bands=32, neighbourhood="both")
    assert (index.num_perm, index.bands, index.seed, index.neighbourhood) == (64, 32, 1, "both")
    assert local_signatures(index).tobytes() == local_signatures(local).tobytes()
    for v in [0, 5, 160, 500]:
        assert index.similar(v, 10) == local.similar(v, 10)
        assert index.similar(v, 10, exact=True) == local.similar(v, 10, exact=True)
    assert index.adjacent(5) == local.adjacent(5)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pairs"]["threshold"] == 0.4 and "pairs/part-00000.parquet" in manifest["files"]
    # built in Spark and on one machine from the same file: the same graph fingerprint
    assert index.graph_fingerprint == local.graph_fingerprint == manifest["graph"]
    pairs = pd.read_parquet(out / "pairs")
    assert len(pairs) == manifest["pairs"]["count"] > 0
    assert f"pairs      {len(pairs):,} with estimated Jaccard >= 0.4" in done.stdout
    assert all(index.jaccard(a, b) == j >= 0.4 for a, b, j in pairs.itertuples(index=False))
    assert pairs.equals(pairs.sort_values(["a", "b"], ignore_index=True))

    again = run_cli("signatures", dataset(*EMAIL), out, "--master", "local[2]", timeout=60)
    assert again.returncode == 1
    assert again.stderr.strip() == f"graphkit: error: output {out} already exists (pass --overwrite to replace it)"
    assert LSHIndex.load(out).num_perm == 64  # untouched


@pytest.mark.parametrize("args, message", [
    (["--num-perm", "100", "--bands", "30"], "graphkit: error: --bands 30 must divide --num-perm 100"),
    (["--num-perm", "0"], "graphkit: error: num_perm must be a positive integer, got 0"),
    (["--pairs-threshold", "1.5"], "graphkit: error: pairs threshold must be in (0, 1], got 1.5"),
    (["--seed", "-3"], "graphkit: error: seed must be an integer in [0, 2**32), got -3"),
])
def test_cli_bad_parameters_are_one_line_errors_before_spark(tmp_path, args, message):
    done = run_cli("signatures", dataset(*EMAIL), tmp_path / "out", *args, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith(message)
    assert not (tmp_path / "out").exists()


def test_job_module_does_not_import_pyspark():
    code = (
        "import sys, graphkit.lsh.job\n"
        "from graphkit.cli import build_parser; build_parser().parse_args(['signatures', 'in', 'out'])\n"
        "assert not [m for m in sys.modules if m.startswith(('pyspark', 'py4j'))]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr


def test_streaming_keeps_groups_whole_and_band_slices_match_full_keys():
    """Task-side helpers, no Spark: a hub spanning many Arrow batches stays one group, and keys of
    one band (first_band=j) equal column j of the full band keys."""
    import pyarrow as pa

    v = np.sort(np.r_[np.zeros(50_000, np.int64), np.arange(1, 3000).repeat(3), np.full(20_000, 5000)])
    batches = [pa.RecordBatch.from_arrays([pa.array(v[i:i + 700])], ["v"]) for i in range(0, v.size, 700)]
    out = list(whole_groups(iter(batches), lambda b: {"v": b.column("v").to_numpy()}, ["v"], 4096))
    assert np.array_equal(np.concatenate([o["v"] for o in out]), v)
    assert all(a["v"][-1] != b["v"][0] for a, b in zip(out, out[1:]))

    sig = np.random.default_rng(5).integers(0, 2**32, (40, 24), dtype=np.uint64).astype(np.uint32)
    full = K.band_keys(sig, 8, 3)
    for j in range(8):
        assert np.array_equal(K.band_keys(sig[:, 3 * j:3 * j + 3], 1, 3, first_band=j)[:, 0], full[:, j])
