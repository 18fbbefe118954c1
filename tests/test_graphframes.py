"""GraphFrames integration: one pinned release on both sides, provisioning from extra
repositories, class-path merging that keeps the user's jars, the GraphFrame round trip, and the
message a user gets when the JVM package is missing."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

import numpy as np
import pytest

from graphkit import _jvm
from tests.conftest import ROOT, dataset, require_graphframes

SHARED_MAVEN = ROOT.parent / "shared" / "maven"


# -- pure Python: no Spark --------------------------------------------------------------------
def test_python_package_is_the_jvm_release():
    assert importlib.metadata.version("graphframes-py") == _jvm.GRAPHFRAMES_VERSION
    pins = (ROOT / "constraints.txt").read_text().split()
    assert f"graphframes-py=={_jvm.GRAPHFRAMES_VERSION}" in pins


def test_extra_repositories_parse_urls_and_paths(monkeypatch, tmp_path):
    monkeypatch.setenv(_jvm.EXTRA_REPOSITORIES_ENV, f" file:///srv/m2 ,{tmp_path},, https://repo.example/m2")
    assert _jvm.extra_repositories() == ["file:///srv/m2", tmp_path.resolve().as_uri(), "https://repo.example/m2"]
    monkeypatch.delenv(_jvm.EXTRA_REPOSITORIES_ENV)
    assert _jvm.extra_repositories() == []


@pytest.fixture
def provisioned(monkeypatch, tmp_path):
    """Two fake jar files named like the provisioned ones, through GRAPHKIT_GRAPHFRAMES_JARS."""
    jars = [tmp_path / f"{a}-{_jvm.GRAPHFRAMES_VERSION}.jar" for a in _jvm.GRAPHFRAMES_ARTIFACTS]
    for jar in jars:
        jar.write_bytes(b"PK")
    monkeypatch.setenv("GRAPHKIT_GRAPHFRAMES_JARS", ",".join(map(str, jars)))
    return [str(j) for j in jars]


def test_class_path_keeps_the_users_jars_first(provisioned):
    user = "file:///opt/udf.jar,hdfs:///libs/other.jar"
    assert _jvm.merge_class_path({}, {"spark.jars": user}) == {"spark.jars": ",".join([user, *provisioned])}
    assert _jvm.merge_class_path({"spark.jars": "/a.jar"}) == {"spark.jars": ",".join(["/a.jar", *provisioned])}
    assert _jvm.merge_class_path({}) == {"spark.jars": ",".join(provisioned)}


@pytest.mark.parametrize("launched", [
    {"spark.jars.packages": f"org.x:y:1,{_jvm.GRAPHFRAMES_COORDINATES}"},
    {"spark.jars": "/opt/graphframes-spark4_2.13-0.11.0.jar,/opt/udf.jar"},
])
def test_class_path_adds_nothing_when_the_user_brings_graphframes(provisioned, launched):
    merged = _jvm.merge_class_path({}, launched)
    assert not any(p in merged.get("spark.jars", "") for p in provisioned)
    assert merged.get("spark.jars", "") == launched.get("spark.jars", "")


def test_named_jars_must_exist(monkeypatch, tmp_path):
    from graphkit.errors import RuntimeDependencyError

    monkeypatch.setenv("GRAPHKIT_GRAPHFRAMES_JARS", str(tmp_path / "missing.jar"))
    with pytest.raises(RuntimeDependencyError, match="GRAPHKIT_GRAPHFRAMES_JARS names missing files"):
        _jvm.graphframes_jars()


# -- provisioning with Maven ------------------------------------------------------------------
def _provision(tmp_path, repos: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRAPHKIT_GRAPHFRAMES_JARS"}
    env.update(GRAPHKIT_M2_REPOSITORY=str(tmp_path / "m2"), GRAPHKIT_MAVEN_REPOS=repos)
    return subprocess.run([sys.executable, "-m", "graphkit._provision"], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.slow
def test_setup_fetches_from_an_extra_repository_and_says_so_when_none_serves(tmp_path):
    """`make setup` against an empty local Maven repository: the pinned jars come from the extra
    file:// repository; with an empty one instead, the one clear warning and exit 0."""
    import shutil

    if shutil.which("mvn") is None:
        pytest.skip("Maven is not installed")
    if not (SHARED_MAVEN / "io").is_dir():
        pytest.skip(f"{SHARED_MAVEN} is absent")
    empty = tmp_path / "empty-repo"
    empty.mkdir()
    missing = _provision(tmp_path, empty.as_uri())
    assert missing.returncode == 0
    assert "could not be obtained" in missing.stderr and "GRAPHKIT_MAVEN_REPOS" in missing.stderr
    done = _provision(tmp_path, SHARED_MAVEN.as_uri())
    assert done.returncode == 0, done.stderr
    assert "installed into ~/.m2" in done.stdout
    for artifact in _jvm.GRAPHFRAMES_ARTIFACTS:
        jar = tmp_path / "m2" / "io" / "graphframes" / artifact / _jvm.GRAPHFRAMES_VERSION / f"{artifact}-{_jvm.GRAPHFRAMES_VERSION}.jar"
        assert jar.read_bytes() == (SHARED_MAVEN / jar.relative_to(tmp_path / "m2")).read_bytes()
    again = _provision(tmp_path, SHARED_MAVEN.as_uri())
    assert again.returncode == 0 and again.stdout.strip().endswith(": present")


# -- with Spark -------------------------------------------------------------------------------
@pytest.mark.spark
@pytest.mark.graphframes
def test_jvm_loads_the_pinned_release(spark):
    require_graphframes(spark)
    assert _jvm.jvm_graphframes_version(spark) == _jvm.GRAPHFRAMES_VERSION


@pytest.mark.spark
@pytest.mark.graphframes
def test_graphframe_round_trip_with_string_ids(spark):
    """email-Eu-core read with string ids: Graph -> GraphFrame in user ids -> Graph gives
    the same vertices, dense ids and edges, and GraphFrames sees the user's ids."""
    from pyspark.sql import functions as F

    from graphkit.graph import Graph

    require_graphframes(spark)
    graph = Graph.read(dataset("email_eu_core", "email-Eu-core.txt"), spark=spark, int_ids=False, directed=False)
    frame = graph.graphframe
    assert frame.vertices.columns == ["id"] and frame.vertices.count() == graph.num_vertices == 1005
    assert dict(frame.vertices.dtypes)["id"] == dict(frame.edges.dtypes)["src"] == "string"
    # user ids, not dense ids: sorted as strings, "10" has dense id 2
    assert frame.edges.filter((F.col("src") == "10") & (F.col("dst") == "10")).count() == \
        graph.edges.filter("src = 2 and dst = 2").count()
    assert frame.inDegrees.count() > 0  # a GraphFrames method runs on it
    back = Graph.from_graphframe(frame, directed=False)
    assert not back.weighted or back.edges.filter("weight != 1.0").count() == 0
    assert np.array_equal(back.vertex_names(), graph.vertex_names())
    got = back.edges.select("src", "dst").orderBy("src", "dst").toPandas().to_numpy()
    want = graph.edges.select("src", "dst").orderBy("src", "dst").toPandas().to_numpy()
    assert np.array_equal(got, want) and len(want) == graph.num_edges


def test_missing_jvm_package_gives_one_actionable_message(tmp_path):
    """Without the JVM package every GraphFrames feature raises the same typed error naming the
    ways to provide it, and `graphkit info` still reports everything else, saying why components
    are missing (a separate process, since the test session has the jar loaded)."""
    graph = str(dataset("email_eu_core", "email-Eu-core.txt"))
    script = tmp_path / "nojar.py"
    script.write_text(f"""
import sys
from graphkit import Graph, get_session
from graphkit.cli import main
from graphkit.errors import RuntimeDependencyError
from graphkit.ppr.spark import graphframes_ppr
from graphkit.embed.spark import graphframes_embedding
spark = get_session(master="local[1]", extra={{"spark.ui.enabled": "false"}})
g = Graph.read({graph!r}, spark=spark)
for name, call in [("graphframe", lambda: g.graphframe), ("ppr", lambda: graphframes_ppr(g, [0])),
                   ("embedding", lambda: graphframes_embedding(g, dim=8)),
                   ("components", lambda: g.component_stats())]:
    try:
        call()
        print(name, "no error")
    except RuntimeDependencyError as exc:
        print(name, "|", exc)
sys.exit(main(["info", {graph!r}]))  # the command, on the same jar-less session
""")
    env = {k: v for k, v in os.environ.items() if k != "GRAPHKIT_GRAPHFRAMES_JARS"}
    env["GRAPHKIT_M2_REPOSITORY"] = str(tmp_path / "empty-m2")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    output = done.stdout.splitlines()
    lines = dict(line.split(" ", 1) for line in output[:4])
    for name in ("graphframe", "ppr", "embedding", "components"):
        assert lines[name].startswith("| the GraphFrames JVM package"), lines[name]
        assert "make setup" in lines[name] and "--packages io.graphframes:" in lines[name]
    assert "vertices    1,005" in output
    assert any(line.startswith("components  unavailable: the GraphFrames JVM package") for line in output), output
