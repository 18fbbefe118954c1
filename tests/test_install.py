"""The wheel installs into a fresh virtualenv outside the checkout, and every kind of command
works from there: no source tree, no conf/ beside the code, no ../shared (inputs given by path)."""

import json
import zipfile

import pytest

from tests.conftest import dataset

pytestmark = [pytest.mark.slow, pytest.mark.spark]

EMAIL = ("email_eu_core", "email-Eu-core.txt")


def test_wheel_carries_license_types_profiles_and_jobs(installed_env):
    names = set(zipfile.ZipFile(installed_env.wheel).namelist())
    assert {"graphkit/py.typed", "graphkit/conf/local.conf", "graphkit/conf/cluster.conf",
            "graphkit/conf/log4j2.properties", "graphkit/jobs/ppr.py", "graphkit/__main__.py"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    meta = zipfile.ZipFile(installed_env.wheel).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in meta and "Classifier: Typing :: Typed" in meta


def test_installed_commands_work_outside_the_checkout(installed_env, tmp_path, record_property):
    record_property("wheel_build_seconds", round(installed_env.build_seconds, 1))
    record_property("venv_install_seconds", round(installed_env.install_seconds, 1))
    print(f"\nwheel built in {installed_env.build_seconds:.1f} s; fresh virtualenv with the wheel and its "
          f"pinned dependencies in {installed_env.install_seconds:.1f} s")
    where = installed_env.run("python", "-c", "import graphkit; print(graphkit.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(installed_env.prefix)), where  # not the checkout's copy

    # python -m graphkit (no console script needed), with the shipped cluster profile by name; a
    # Spark job from the installed package (jobs/ppr.py runs from it on a cluster in
    # tests/cluster/test_archive.py)
    graph = dataset(*EMAIL)
    info = installed_env.run("python", "-m", "graphkit", "info", graph, "--json", "--conf-file", "cluster",
                             "--master", "local[2]", "--conf", "spark.driver.memory=2g", cwd=tmp_path)
    assert info.returncode == 0, info.stderr[-3000:]
    facts = json.loads(info.stdout)
    assert (facts["vertices"], facts["edges"]) == (1005, 25571)
    assert facts["components"] == {"components": 20, "largest": 986}  # GraphFrames from the installed package
    assert "] reading " in info.stderr  # progress lines on stderr
    assert "] Spark UI: http" in info.stderr  # where to watch the job, printed when it starts

    jobs = installed_env.run("graphkit", "jobs-path", cwd=tmp_path)
    assert jobs.stdout.strip().startswith(str(installed_env.prefix))
