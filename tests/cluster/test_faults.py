"""Faults: a worker dies mid-job, a job is killed, an output already exists."""

import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.cluster.conftest import PPR_ARGS, assert_same_ppr
from tests.conftest import ROOT, dataset, run_cli

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

EMAIL = "email-Eu-core.txt"


def _wait_for(predicate, timeout=300, what="condition", interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def test_worker_killed_mid_job_gives_the_same_result(cluster, local_run, tmp_path, monkeypatch):
    # the driver logs at INFO which tasks it lost and re-ran (graphkit's default is WARN)
    monkeypatch.setenv("GRAPHKIT_SPARK_LOG_LEVEL", "INFO")
    graph = str(dataset("email_eu_core", EMAIL))
    log = tmp_path / "submit.log"
    before = cluster.app_ids()
    # 8 tasks per fingerprint/decomposition stage (not 32): each runs for a second or more, so the
    # kill below lands inside a task, not between two
    job = cluster.submit_async("ppr.py", graph, str(tmp_path / "cluster"), *PPR_ARGS, log=log,
                               conf={"spark.default.parallelism": "2"})
    try:
        _wait_for(lambda: cluster.app_ids() - before, timeout=120, what="the application's executors")
        (app,) = cluster.app_ids() - before
        # once the walks start, kill worker1 while its executor runs a task that has been running
        # for a while (not a millisecond task about to finish)
        _wait_for(lambda: "fingerprints:" in log.read_text(errors="replace"), what="the fingerprint stage")
        first_seen: dict[str, float] = {}

        def long_task_running() -> bool:
            now = time.monotonic()
            return any(now - first_seen.setdefault(tid, now) >= 0.3 for tid in cluster.tasks_in_flight(app, worker=1))

        _wait_for(long_task_running, interval=0.05, what="a task running on worker1")
        cluster.kill_worker(1)
        killed = cluster.tasks_in_flight(app, worker=1)
        assert job.wait(timeout=900) == 0, log.read_text()[-3000:]
    finally:
        if job.poll() is None:
            job.kill()
        cluster.restart_worker(1)
    # the driver saw the executor go, failed the task it was running, and ran that task again
    # elsewhere: so the job below completed because Spark retried, not because the kill came late
    driver_log = log.read_text(errors="replace")
    assert re.search(r"Lost executor \d+ on 127\.0\.0\.1", driver_log), driver_log[-3000:]
    assert killed, "the task running on worker1 finished before the kill landed"
    for tid, (index, stage) in killed.items():
        assert re.search(rf"\(TID {tid}\) failed because while it was being computed, its executor exited|"
                         rf"Lost task \S+ in stage \S+ \(TID {tid}\) .*ExecutorLostFailure", driver_log), tid
        reruns = re.findall(rf"Finished task {index}\.\d+ in stage {stage}\.\d+ \(TID (\d+)\)", driver_log)
        assert set(reruns) - {tid}, f"task {index} of stage {stage} (TID {tid}) was not run again"
    # ... and the job still gives the same answer as local mode
    assert_same_ppr(tmp_path / "cluster", local_run("ppr", graph, *PPR_ARGS), min_rows=8000)


def test_killed_job_leaves_no_output_that_looks_complete(tmp_path, cli_in_process):
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
    done = cli_in_process("ppr", dataset("email_eu_core", EMAIL), out, "--walks", "500", "--top-k", "3")
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
