"""spark-submit jobs/signatures.py to a real standalone cluster: the index equals the local one."""

import json

import numpy as np
import pandas as pd
import pytest

from graphkit import io
from graphkit.lsh import LSHIndex
from tests.conftest import dataset

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_signatures_job_on_standalone_cluster_equals_local(cluster, tmp_path):
    graph_file = dataset("email_eu_core", "email-Eu-core.txt")
    out = tmp_path / "email-lsh"
    before = cluster.app_ids()
    done = cluster.submit("signatures.py", str(graph_file), str(out), "--neighbourhood", "in",
                          "--pairs-threshold", "0.5", "--seed", "7",
                          conf={"spark.sql.shuffle.partitions": "4"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "vertices   1,005" in done.stdout

    index = LSHIndex.load(out)
    local = LSHIndex.from_graph(io.load_csr(graph_file, directed=True), num_perm=128, seed=7, neighbourhood="in")
    # same seed, same answer: identical ids, signatures, band tables and stored graph
    for name in ("ids", "signatures", "table_keys", "table_offsets", "table_members", "table_directory",
                 "csr_indptr", "csr_indices", "graph_rows"):
        spark_array = np.load(out / f"{name}.npy")
        local_array = {"ids": local._ids, "signatures": local._signatures, "graph_rows": local._graph_rows,
                       **{f"table_{k}": getattr(local._table, k) for k in ("keys", "offsets", "members", "directory")},
                       "csr_indptr": local._graph.indptr, "csr_indices": local._graph.indices}[name]
        assert spark_array.tobytes() == np.asarray(local_array).tobytes(), name
    for v in [0, 5, 160, 500]:
        assert index.similar(v, 10) == local.similar(v, 10)

    manifest = json.loads((out / "manifest.json").read_text())
    pairs = pd.read_parquet(out / "pairs")
    assert len(pairs) == manifest["pairs"]["count"] > 0
    assert all(local.jaccard(a, b) == j >= 0.5 for a, b, j in pairs.itertuples(index=False))
    # the work ran in this application's executors on the workers, not in the driver
    (app,) = cluster.app_ids() - before
    assert cluster.tasks_started(app) > 0
