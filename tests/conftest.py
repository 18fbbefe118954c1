"""Shared fixtures: real data sets from ../shared/datasets and one session-scoped Spark session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property-based tests: few examples in the suite (seconds per test), many in bench/fuzz.py.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=False, print_blob=True)
settings.register_profile("long", max_examples=int(os.environ.get("GRAPHKIT_FUZZ_EXAMPLES", "5000")), deadline=None,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("GRAPHKIT_DATASETS", ROOT.parent / "shared" / "datasets"))


def dataset(*parts: str) -> Path:
    """Path of a shared data set file; skips the test with a clear reason when it is absent."""
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"data set {path} is absent (expected beside the checkout in ../shared/datasets)")
    return path


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"data set folder {DATASETS} is absent")
    return DATASETS


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark session for the whole run: 2 cores, few shuffle partitions, no UI."""
    from graphkit.session import get_session

    session = get_session(
        master="local[2]",
        app_name="graphkit-tests",
        extra={
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "4",
            "spark.ui.enabled": "false",
            "spark.driver.memory": "4g",
            "graphkit.checkpoint.dir": str(tmp_path_factory.mktemp("checkpoints")),
        },
    )
    yield session
    session.stop()


def run_cli(*args, timeout=600):
    """Run the installed console script; returns CompletedProcess with text output."""
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("graphkit")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
