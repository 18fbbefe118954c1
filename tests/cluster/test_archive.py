"""The README's "Run on your cluster" recipe, on a real standalone cluster: pack a virtualenv that
has graphkit installed from its wheel, ship it with spark.archives, and run the job files of the
installed package with its shipped cluster profile. Executors must run the archive's Python and
the archive's graphkit (not the checkout's, not the driver's), and the answer must equal local
mode's."""

import json
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import EMAIL, PPR_ARGS, assert_same_ppr
from tests.conftest import dataset

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_jobs_run_from_a_shipped_environment(cluster, installed_env, local_run, tmp_path, record_property):
    archive = tmp_path / "graphkit-env.tar.gz"
    started = time.perf_counter()
    packed = installed_env.run("graphkit", "pack-env", archive, cwd=tmp_path)
    pack_seconds = time.perf_counter() - started
    assert packed.returncode == 0, packed.stderr[-3000:]
    size_mb = archive.stat().st_size / 1e6
    record_property("archive_mb", round(size_mb, 1))
    record_property("pack_seconds", round(pack_seconds, 1))
    print(f"\npacked environment: {size_mb:.1f} MB in {pack_seconds:.1f} s")

    jobs = Path(installed_env.run("python", "-m", "graphkit", "jobs-path", cwd=tmp_path).stdout.strip())
    shipped = {
        "spark.archives": f"{archive}#environment",
        "spark.pyspark.python": "./environment/bin/python",               # executors: the archive
        "spark.pyspark.driver.python": str(installed_env.python),        # driver: the user's env
    }

    before = cluster.app_ids()
    doctor = cluster.submit(str(jobs / "doctor.py"), "--json", conf=shipped)
    assert doctor.returncode == 0, doctor.stderr[-3000:]
    facts = json.loads(doctor.stdout[doctor.stdout.index("{"):])
    assert facts["driver"]["graphkit"].startswith(str(installed_env.prefix))
    (app,) = cluster.app_ids() - before
    unpacked = {p.parent for p in cluster.workdir.glob(f"worker*/{app}/*/environment/pyvenv.cfg")}
    assert unpacked, "Spark did not unpack the archive into an executor's work directory"
    assert facts["executors"]
    for where in facts["executors"]:
        environment = Path(where["cwd"]) / "environment"
        assert environment in unpacked, where
        for key in ("python", "prefix", "graphkit"):
            assert Path(where[key]).is_relative_to(environment), (key, where)

    graph = dataset(*EMAIL)
    out = tmp_path / "ppr"
    before = cluster.app_ids()
    done = cluster.submit(str(jobs / "ppr.py"), str(graph), str(out), *PPR_ARGS, "--conf-file", "cluster", conf=shipped)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ppr: top-10 of 1,005 sources (local engine, 3000 walks/vertex)" in done.stdout
    assert_same_ppr(out, local_run("ppr", graph, *PPR_ARGS), min_rows=8000)
    (app,) = cluster.app_ids() - before
    assert cluster.tasks_started(app) > 0  # the walks ran in the workers' executors
