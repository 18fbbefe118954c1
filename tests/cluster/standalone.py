"""A real Spark standalone cluster (one master, N workers) on 127.0.0.1, started from the
pyspark installation's own ``spark-class``, for integration tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_env() -> dict:
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(SPARK_HOME),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_NO_DAEMONIZE="1",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    return env


class StandaloneCluster:
    """Start with ``with StandaloneCluster(workdir, workers=2) as cluster: cluster.url``."""

    def __init__(self, workdir: Path, workers: int = 2, cores: int = 1, memory: str = "2g"):
        self.workdir = Path(workdir)
        self.workers = workers
        self.cores = cores
        self.memory = memory
        self.port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.master: subprocess.Popen | None = None
        self.worker_procs: list[subprocess.Popen] = []

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "w")
        return subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *args],
            stdout=log, stderr=subprocess.STDOUT, env=spark_env(), start_new_session=True,
        )

    def _wait_for(self, name: str, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        log = self.workdir / f"{name}.log"
        while time.monotonic() < deadline:
            if log.exists() and text in log.read_text(errors="replace"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{name} did not report {text!r} within {timeout} s; see {log}")

    def start_worker(self, index: int) -> subprocess.Popen:
        name = f"worker{index}"
        proc = self._spawn(
            name, "org.apache.spark.deploy.worker.Worker", self.url,
            "--host", "127.0.0.1", "--cores", str(self.cores), "--memory", self.memory,
            "--webui-port", str(free_port()), "--work-dir", str(self.workdir / name),
        )
        self._wait_for(name, "Successfully registered with master")
        return proc

    def __enter__(self) -> "StandaloneCluster":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.master = self._spawn(
            "master", "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(self.port), "--webui-port", str(free_port()),
        )
        try:
            self._wait_for("master", "I have been elected leader")
            self.worker_procs = [self.start_worker(i) for i in range(self.workers)]
        except BaseException:
            self.stop()
            raise
        return self

    def kill_worker(self, index: int) -> None:
        """SIGKILL a worker and its executors (a machine failing). Call :meth:`restart_worker`
        afterwards so later tests still see the full cluster."""
        proc = self.worker_procs[index]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def restart_worker(self, index: int) -> None:
        (self.workdir / f"worker{index}.log").unlink(missing_ok=True)
        self.worker_procs[index] = self.start_worker(index)

    def stop(self) -> None:
        for proc in [*self.worker_procs, self.master]:
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what ran where (read from the workers' work directories, whatever the log levels) ----
    def app_ids(self) -> set[str]:
        """Applications that have had an executor on any worker so far."""
        return {p.name for p in self.workdir.glob("worker*/app-*")}

    def executor_logs(self, app_id: str, worker: int | None = None) -> list[Path]:
        """The stderr of every executor of ``app_id`` (on one worker, or on all of them)."""
        return sorted(self.workdir.glob(f"worker{'*' if worker is None else worker}/{app_id}/*/stderr"))

    def tasks_started(self, app_id: str, worker: int | None = None) -> int:
        """How many tasks executors of ``app_id`` started (executors log at INFO)."""
        return sum(log.read_text(errors="replace").count("Running task ")
                   for log in self.executor_logs(app_id, worker))

    def tasks_in_flight(self, app_id: str, worker: int) -> dict[str, tuple[str, str]]:
        """Tasks an executor of ``app_id`` on ``worker`` has started and not yet finished or failed:
        ``{TID: (task index, stage id)}``."""
        text = "".join(log.read_text(errors="replace") for log in self.executor_logs(app_id, worker))
        started = {tid: (index, stage) for index, stage, tid in
                   re.findall(r"Running task (\d+)\.\d+ in stage (\d+)\.\d+ \(TID (\d+)\)", text)}
        ended = re.findall(r"(?:Finished|Exception in|Executor killed) task \S+ in stage \S+ \(TID (\d+)\)", text)
        for tid in ended:
            started.pop(tid, None)
        return started

    def submit(self, job: str, *args: str, timeout: float = 900, conf: dict | None = None,
               options: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        """``spark-submit`` a ``jobs/`` entry point (or a script by absolute path) to this cluster
        (client deploy mode); ``options`` are further spark-submit flags such as ``--jars``."""
        root = Path(__file__).resolve().parents[2]
        return subprocess.run(self.submit_command(job, *args, conf=conf, options=options), capture_output=True,
                              text=True, timeout=timeout, env=spark_env(), cwd=root)

    def submit_async(self, job: str, *args: str, conf: dict | None = None, log: Path | None = None) -> subprocess.Popen:
        """Start a ``spark-submit`` without waiting (for fault injection); output goes to ``log``."""
        root = Path(__file__).resolve().parents[2]
        out = open(log or self.workdir / f"submit-{job}.log", "w")
        return subprocess.Popen(self.submit_command(job, *args, conf=conf), stdout=out, stderr=subprocess.STDOUT,
                                env=spark_env(), cwd=root, text=True)

    def submit_command(self, job: str, *args: str, conf: dict | None = None, options: tuple[str, ...] = ()) -> list[str]:
        root = Path(__file__).resolve().parents[2]
        settings = {
            "spark.executor.memory": "1g",
            "spark.cores.max": str(self.workers * self.cores),
            "spark.pyspark.python": sys.executable,
            "spark.ui.enabled": "false",
            **(conf or {}),
        }
        cmd = [str(SPARK_HOME / "bin" / "spark-submit"), "--master", self.url]
        for key, value in settings.items():
            cmd += ["--conf", f"{key}={value}"]
        return cmd + [*options, str(root / "jobs" / job), *args]
