"""Shared by the cluster tests: one standalone cluster per session, local-mode reference runs
computed once, and the cluster-vs-local comparisons."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cluster.standalone import StandaloneCluster

EMAIL = ("email_eu_core", "email-Eu-core.txt")
#: One small `ppr` setting shared by the cluster and fault tests, so the local-mode reference is
#: computed once per session.
PPR_ARGS = ("--walks", "3000", "--top-k", "10", "--seed", "5")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """One standalone master and two workers on 127.0.0.1 for the cluster tests."""
    with StandaloneCluster(tmp_path_factory.mktemp("standalone"), workers=2) as running:
        yield running


@pytest.fixture(scope="session")
def local_run(tmp_path_factory, cli_in_process):
    """``local_run(command, input, *options)`` -> the output directory of
    ``graphkit <command> input OUT *options`` in local mode (``local[2]``, in this process).

    Each distinct argument list runs once per session (same seed, same answer), so the cluster
    tests that compare against the same local-mode run share it.
    """
    outputs: dict[tuple, Path] = {}

    def run(command: str, graph, *options) -> Path:
        key = (command, str(graph), *map(str, options))
        if key not in outputs:
            out = tmp_path_factory.mktemp(f"local-{command}") / "out"
            done = cli_in_process(command, graph, out, *options)
            assert done.returncode == 0, done.stderr[-3000:]
            outputs[key] = out
        return outputs[key]

    return run


def read_ppr(path) -> pd.DataFrame:
    """A `graphkit ppr` output as one frame in (src, dst) order."""
    return pd.read_parquet(path).sort_values(["src", "dst"]).reset_index(drop=True)


def assert_same_ppr(path_a, path_b, min_rows: int) -> None:
    """The same (src, dst) rows, scores equal up to float summation order."""
    a, b = read_ppr(path_a), read_ppr(path_b)
    assert len(a) == len(b) >= min_rows
    assert np.array_equal(a[["src", "dst"]].to_numpy(), b[["src", "dst"]].to_numpy())
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-6, atol=1e-9)
