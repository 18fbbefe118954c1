"""spark-submit the jobs/ entry points to a real standalone cluster and check their output."""

import json

import pytest

from tests.conftest import dataset

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_info_job_on_standalone_cluster(cluster):
    before = cluster.app_ids()
    done = cluster.submit("info.py", str(dataset("email_eu_core", "email-Eu-core.txt")), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    facts = json.loads(done.stdout[done.stdout.index("{"):])
    assert (facts["vertices"], facts["edges"], facts["self_loops"]) == (1005, 25571, 642)
    assert facts["components"] == {"components": 20, "largest": 986}
    # the work ran in this application's executors on the workers, not in the driver
    (app,) = cluster.app_ids() - before
    assert cluster.tasks_started(app) > 0
