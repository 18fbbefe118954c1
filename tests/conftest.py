"""Shared fixtures: real data sets from ../shared/datasets and one session-scoped Spark session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
