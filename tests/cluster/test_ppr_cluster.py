"""spark-submit jobs/ppr_index.py to a real standalone cluster, with the cluster profile
conf/cluster.conf: same seed, same index as local mode (conf/local.conf, local[2]). (jobs/ppr.py
runs on the cluster in tests/cluster/test_archive.py, from the shipped environment.)"""

import json

import numpy as np
import pytest

from graphkit.ppr import PPRIndex
from tests.cluster.conftest import EMAIL
from tests.conftest import ROOT, dataset

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

CLUSTER_CONF = ("--conf-file", str(ROOT / "conf" / "cluster.conf"))
INDEX_ARGS = ("--walks", "3000", "--seed", "5")


def test_ppr_index_job_on_standalone_cluster_equals_local_mode(cluster, local_run, tmp_path):
    graph = dataset(*EMAIL)
    out = tmp_path / "cluster-ppr-index"
    before = cluster.app_ids()
    done = cluster.submit("ppr_index.py", str(graph), str(out), *INDEX_ARGS, *CLUSTER_CONF)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ppr-index: 1,005 vertices" in done.stdout
    local = local_run("ppr-index", graph, *INDEX_ARGS)

    on_cluster, in_local_mode = PPRIndex.load(out), PPRIndex.load(local)
    assert on_cluster.get_params() == in_local_mode.get_params()
    # the same fingerprints, and every array file (graph included) byte for byte
    for name in ("indptr", "indices", "values", "mass"):
        a = getattr(on_cluster.fingerprints_, name)
        b = getattr(in_local_mode.fingerprints_, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert int(on_cluster.fingerprints_.indptr[-1]) > 10_000
    files = [json.loads((path / "manifest.json").read_text())["files"] for path in (out, local)]
    assert files[0] == files[1]  # every file's size and CRC-32
    # hence the same answers
    ids = [0, 5, 160, 500, 1004]  # 1004 reaches nothing: its only target is itself
    answers = on_cluster.query(ids, 10)
    assert answers == in_local_mode.query(ids, 10)
    assert [len(row) for row in answers] == [10, 10, 10, 10, 1]
    assert [row[0][0] for row in answers] == ids
    (app,) = cluster.app_ids() - before
    assert cluster.tasks_started(app) > 0
