"""GraphFrames on a real standalone cluster, submitted the ways a spark-submit user would: with
their own `--jars` (graphkit appends its jars and drops none), and with `--packages`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from graphkit import _jvm

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.graphframes]

#: Runs on the cluster: which jars the driver holds and which classes the executors load.
#: (GraphFrames' components on the cluster: tests/cluster/test_standalone.py, through jobs/info.py.)
PROBE_JOB = '''
from graphkit import _jvm, get_session
spark = get_session()
print("JARS", spark.sparkContext.getConf().get("spark.jars", ""))
rows = spark.range(0, 8, 1, 4).selectExpr(
    "reflect('org.graphframes.GraphFrame', 'SRC') AS gf", "{user}").distinct().collect()
print("EXECUTORS", sorted(tuple(r) for r in rows))
print("VERSION", _jvm.jvm_graphframes_version(spark))
'''


@pytest.fixture(scope="module")
def user_jar(tmp_path_factory) -> Path:
    """A user's own jar: one class with a static method the executors can call by reflection."""
    if shutil.which("javac") is None or shutil.which("jar") is None:
        pytest.skip("a JDK (javac, jar) is needed to build the user's jar")
    work = tmp_path_factory.mktemp("userjar")
    source = work / "src" / "userlib" / "Hello.java"
    source.parent.mkdir(parents=True)
    source.write_text('package userlib;\npublic class Hello { public static String hello() { return "user-jar"; } }\n')
    subprocess.run(["javac", "--release", "17", "-d", str(work / "classes"), str(source)], check=True)
    subprocess.run(["jar", "cf", str(work / "userlib.jar"), "-C", str(work / "classes"), "."], check=True)
    return work / "userlib.jar"


def _probe(tmp_path, user_column: str) -> Path:
    script = tmp_path / "probe_job.py"
    script.write_text(PROBE_JOB.format(user=user_column))
    return script


def _lines(stdout: str) -> dict[str, str]:
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in stdout.splitlines()
            if line.split(" ", 1)[0] in ("JARS", "EXECUTORS", "VERSION")}


def test_users_jars_and_graphkits_both_reach_the_executors(cluster, user_jar, tmp_path):
    if not _jvm.graphframes_jars():
        pytest.fail("GraphFrames JVM package not provisioned (make setup)")
    script = _probe(tmp_path, "reflect('userlib.Hello', 'hello') AS user")
    done = cluster.submit(str(script), options=("--jars", str(user_jar)))
    assert done.returncode == 0, done.stderr[-3000:]
    out = _lines(done.stdout)
    jars = out["JARS"].split(",")
    assert jars[0].endswith("userlib.jar") and len(jars) == 3  # the user's first, then graphkit's two
    assert out["EXECUTORS"] == "[('src', 'user-jar')]"  # both classes load in the executors
    assert out["VERSION"] == _jvm.GRAPHFRAMES_VERSION


def test_packages_alternative(cluster, tmp_path):
    """`--packages io.graphframes:...` instead of graphkit's jars (the README's alternative): the
    package resolves through Ivy from the same repositories `make setup` uses (on a user's
    machine, Maven Central), and graphkit adds no second copy."""
    repos = _jvm.extra_repositories()
    script = _probe(tmp_path, "1 AS user")
    options = ["--packages", _jvm.GRAPHFRAMES_COORDINATES, "--conf", f"spark.jars.ivy={tmp_path / 'ivy'}"]
    if repos:
        options += ["--repositories", ",".join(repos)]
    done = cluster.submit(str(script), options=tuple(options))
    assert done.returncode == 0, done.stderr[-3000:]
    out = _lines(done.stdout)
    assert not any(str(j) in out["JARS"] for j in _jvm.graphframes_jars() or [])
    assert out["EXECUTORS"] == "[('src', 1)]"
    assert out["VERSION"] == _jvm.GRAPHFRAMES_VERSION
