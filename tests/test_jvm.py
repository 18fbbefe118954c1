"""graphkit._jvm: where the GraphFrames jars come from and how they join a user's class path."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphkit import _jvm
from graphkit.errors import RuntimeDependencyError


def test_extra_repositories_parses_urls_and_paths(tmp_path, monkeypatch):
    monkeypatch.setenv(_jvm.EXTRA_REPOSITORIES_ENV, f" https://repo.example/m2 ,{tmp_path}, ,file:///x/y")
    assert _jvm.extra_repositories() == ["https://repo.example/m2", tmp_path.resolve().as_uri(), "file:///x/y"]
    monkeypatch.delenv(_jvm.EXTRA_REPOSITORIES_ENV)
    assert _jvm.extra_repositories() == []


def _fake_repository(root: Path) -> list[Path]:
    base = root / _jvm.GRAPHFRAMES_GROUP.replace(".", "/")
    jars = []
    for artifact in _jvm.GRAPHFRAMES_ARTIFACTS:
        jar = base / artifact / _jvm.GRAPHFRAMES_VERSION / f"{artifact}-{_jvm.GRAPHFRAMES_VERSION}.jar"
        jar.parent.mkdir(parents=True)
        jar.write_bytes(b"PK")
        jars.append(jar)
    return jars


def test_jars_are_found_in_the_local_maven_repository(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHKIT_GRAPHFRAMES_JARS", raising=False)
    monkeypatch.setenv("GRAPHKIT_M2_REPOSITORY", str(tmp_path))
    assert _jvm.maven_repository() == tmp_path
    assert _jvm.graphframes_jars() is None  # not provisioned
    jars = _fake_repository(tmp_path)
    assert _jvm.graphframes_jars() == jars


def test_explicit_jars_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHKIT_GRAPHFRAMES_JARS", str(tmp_path / "missing.jar"))
    with pytest.raises(RuntimeDependencyError, match="missing files"):
        _jvm.graphframes_jars()


def test_merge_class_path_keeps_the_users_jars_first(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHKIT_GRAPHFRAMES_JARS", raising=False)
    monkeypatch.setenv("GRAPHKIT_M2_REPOSITORY", str(tmp_path))
    ours = [str(j) for j in _fake_repository(tmp_path)]
    assert _jvm.merge_class_path({}) == {"spark.jars": ",".join(ours)}
    # the profile's or spark-submit's --jars stay, in order, ahead of graphkit's
    assert _jvm.merge_class_path({}, {"spark.jars": "/a.jar,/b.jar"}) == {"spark.jars": ",".join(["/a.jar", "/b.jar"] + ours)}
    assert _jvm.merge_class_path({"spark.jars": "/c.jar"}, {"spark.jars": "/a.jar"})["spark.jars"].startswith("/c.jar,")
    # a user who brings GraphFrames gets no second copy
    assert _jvm.merge_class_path({}, {"spark.jars.packages": f"{_jvm.GRAPHFRAMES_COORDINATES}"}) == {}
    assert _jvm.merge_class_path({"spark.jars": "/x/graphframes-custom.jar"}) == {"spark.jars": "/x/graphframes-custom.jar"}


def test_merge_class_path_adds_nothing_when_nothing_is_provisioned(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHKIT_GRAPHFRAMES_JARS", raising=False)
    monkeypatch.setenv("GRAPHKIT_M2_REPOSITORY", str(tmp_path))
    assert _jvm.merge_class_path({}) == {}
    assert _jvm.merge_class_path({}, {"spark.jars": "/a.jar"}) == {"spark.jars": "/a.jar"}


@pytest.mark.spark
def test_hadoop_path_helpers(spark, tmp_path):
    target = tmp_path / "dir"
    assert not _jvm.path_exists(spark, str(target))
    (target / "inner").mkdir(parents=True)
    assert _jvm.path_exists(spark, str(target))
    _jvm.rename_path(spark, str(target), str(tmp_path / "moved"))
    assert not target.exists() and (tmp_path / "moved" / "inner").is_dir()
    _jvm.delete_path(spark, str(tmp_path / "moved"))
    assert not (tmp_path / "moved").exists()
    _jvm.delete_path(spark, str(tmp_path / "moved"))  # deleting what is gone is not an error
