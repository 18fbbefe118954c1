"""Faults: a worker dies mid-job, a job is killed, an output already exists."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, dataset, run_cli

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

EMAIL = "email-Eu-core.txt"


def _wait_for(predicate, timeout=300, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _ppr_table(path):
    frame = pd.read_parquet(path)
    return frame.sort_values(["src", "dst"]).reset_index(drop=True)


def test_worker_killed_mid_job_gives_the_same_result(cluster, tmp_path):
    graph = str(dataset("email_eu_core", EMAIL))
    args = ["--walks", "3000", "--top-k", "10", "--seed", "5"]
    before = set((cluster.workdir / "worker1").glob("app-*"))
    job = cluster.submit_async("ppr.py", graph, str(tmp_path / "cluster"), *args, log=tmp_path / "submit.log")
    try:
        # kill a worker once an executor of this application (not an earlier one) runs on it
        _wait_for(lambda: any(d.glob("*/stderr") for d in set((cluster.workdir / "worker1").glob("app-*")) - before),
                  what="an executor of this job on worker1")
        time.sleep(3)
        cluster.kill_worker(1)
        assert job.wait(timeout=900) == 0, (tmp_path / "submit.log").read_text()[-3000:]
    finally:
        if job.poll() is None:
            job.kill()
        cluster.restart_worker(1)
    local = run_cli("ppr", graph, tmp_path / "local", *args, "--master", "local[2]")
    assert local.returncode == 0, local.stderr
    a, b = _ppr_table(tmp_path / "cluster"), _ppr_table(tmp_path / "local")
    assert len(a) == len(b) > 5000
    assert np.array_equal(a[["src", "dst"]].to_numpy(), b[["src", "dst"]].to_numpy())
    assert np.allclose(a["score"], b["score"], rtol=1e-6, atol=1e-9)


def test_killed_job_leaves_no_output_that_looks_complete(tmp_path):
    out = tmp_path / "ppr"
    proc = subprocess.Popen(
        [str(os.path.join(os.path.dirname(sys.executable), "graphkit")), "ppr",
         str(dataset("email_eu_core", EMAIL)), str(out), "--walks", "20000", "--master", "local[2]"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True,
    )
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "fingerprints:" in line:
            break
    time.sleep(5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert any("fingerprints:" in line for line in seen), "".join(seen)
    assert not out.exists()
    # a re-run completes and replaces nothing it should not
    done = run_cli("ppr", dataset("email_eu_core", EMAIL), out, "--walks", "500", "--top-k", "3", "--master", "local[2]")
    assert done.returncode == 0, done.stderr
    assert len(pd.read_parquet(out)) > 0


@pytest.mark.parametrize("command", ["ppr", "ppr-index", "embed", "signatures"])
def test_rerun_over_existing_output_refuses_without_overwrite(tmp_path, command):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    done = run_cli(command, dataset("email_eu_core", EMAIL), out, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"graphkit: error: output {out} already exists (pass --overwrite to replace it)"
    assert (out / "keep.txt").read_text() == "precious"
