"""spark-submit jobs/embed.py to a real standalone cluster: same seed, same embedding as local mode,
with the distributed engine (it shuffles parts between the workers instead of broadcasting the
graph; the broadcast path of the local engine is the one the PPR cluster tests take)."""

import numpy as np
import pytest

from graphkit.embed import load_embeddings
from tests.conftest import dataset

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

ARGS = ("--undirected", "--dim", "16", "--max-part-size", "300", "--seed", "3")


def test_embed_job_on_standalone_cluster_equals_local_mode(cluster, cli_in_process, tmp_path, engine="distributed"):
    graph_file = dataset("email_eu_core", "email-Eu-core.txt")
    on_cluster = tmp_path / "cluster-emb"
    before = cluster.app_ids()
    args = (*ARGS, "--engine", engine)
    done = cluster.submit("embed.py", str(graph_file), str(on_cluster), *args,
                          conf={"spark.sql.shuffle.partitions": "4"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1,005 vertices x 16" in done.stdout and f"[{engine} engine" in done.stdout
    # the distributed job refines across the workers too (the graph is never collected)
    assert "refined in Spark" in done.stdout, done.stdout

    local = tmp_path / "local-emb"
    done_local = cli_in_process("embed", graph_file, local, *args)
    assert done_local.returncode == 0, done_local.stderr[-3000:]
    # the same number of parts was used on both sides (partitioning depends only on the seed and sizes)
    assert done.stdout.split(" part(s)")[0].rsplit(" ", 1)[-1] == done_local.stdout.split(" part(s)")[0].rsplit(" ", 1)[-1]

    ids_c, x_c = load_embeddings(on_cluster)
    ids_l, x_l = load_embeddings(local)
    assert x_c.shape == (1005, 16)
    assert np.array_equal(ids_c, ids_l)
    np.testing.assert_allclose(x_c, x_l, rtol=0, atol=1e-5)
    # the work ran in this application's executors on the workers, not in the driver
    (app,) = cluster.app_ids() - before
    assert cluster.tasks_started(app) > 0
