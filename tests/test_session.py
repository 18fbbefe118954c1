"""Profile lookup (package data, shipped names) and which Python the workers run."""

import sys

import pytest

from graphkit.errors import GraphkitError
from graphkit.session import _choose_worker_python, profile_dir, read_conf, resolve_profile


def test_shipped_profiles_are_package_data():
    assert profile_dir().parent.name == "graphkit"  # inside the package, not beside a source tree
    assert read_conf("local")["spark.master"] == "local[*]"
    assert read_conf("cluster")["spark.ui.showConsoleProgress"] == "true"
    assert (profile_dir() / "log4j2.properties").is_file()


def test_an_existing_file_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cluster").write_text("spark.master local[3]\n")
    assert resolve_profile("cluster").resolve() == tmp_path / "cluster"
    assert read_conf("cluster")["spark.master"] == "local[3]"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(GraphkitError, match="no such Spark profile .*cluster, local"):
        read_conf("nosuchprofile")


@pytest.mark.parametrize(
    "conf, env, launched, expected_env, expected_conf",
    [
        ({}, None, set(), sys.executable, sys.executable),                      # local mode default
        ({}, "/opt/py/bin/python", set(), "/opt/py/bin/python", "/opt/py/bin/python"),  # environment
        ({"spark.pyspark.python": "./environment/bin/python"}, "/opt/py/bin/python", set(),
         "./environment/bin/python", "./environment/bin/python"),           # explicit setting wins
        # spark-submit --conf spark.pyspark.python=...: the launcher exported it; keep, do not re-set
        ({}, "./environment/bin/python", {"spark.pyspark.python"}, "./environment/bin/python", None),
    ],
)
def test_worker_python_precedence(monkeypatch, conf, env, launched, expected_env, expected_conf):
    import os

    if env is None:
        monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    else:
        monkeypatch.setenv("PYSPARK_PYTHON", env)
    conf = dict(conf)
    _choose_worker_python(conf, launched)
    assert os.environ["PYSPARK_PYTHON"] == expected_env
    assert conf.get("spark.pyspark.python") == expected_conf
