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


def require_graphframes(spark) -> None:
    """Skip a GraphFrames test when the JVM package is not on the class path, or fail it when
    ``GRAPHKIT_REQUIRE_GRAPHFRAMES=1`` (CI and `make test` set it where the package can be had,
    so a provisioning regression cannot hide behind skips)."""
    from graphkit import _jvm

    if _jvm.graphframes_available(spark):
        return
    reason = f"GraphFrames JVM package {_jvm.GRAPHFRAMES_COORDINATES} not provisioned (see make setup output)"
    if os.environ.get("GRAPHKIT_REQUIRE_GRAPHFRAMES") == "1":
        pytest.fail(reason + "; GRAPHKIT_REQUIRE_GRAPHFRAMES=1 says it must be")
    pytest.skip(reason)


def run_cli(*args, timeout=600):
    """Run the installed console script; returns CompletedProcess with text output."""
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("graphkit")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="session")
def cli_in_process(spark):
    """``cli_in_process(*args)``: ``graphkit ARGS`` run by :func:`graphkit.cli.main` inside the
    test process, on the session's Spark; returns a CompletedProcess with text output.

    For tests that need a command's *artifact* (a local-mode reference, an output to load), not its
    process: a subprocess pays about 15 s of JVM and Spark start-up before reading a byte, more
    than the whole job on the bundled graphs. Do not pass ``--master`` / ``--conf-file`` /
    ``--conf``: they would ask for another session. The console script itself, exit codes and
    start-up are tested with :func:`run_cli` (tests/test_cli.py, the capabilities' one-line-error
    tests, tests/cluster/test_faults.py).
    """
    import contextlib
    import io
    import logging
    import subprocess

    from graphkit import cli

    def run(*args):
        argv = [str(a) for a in args]
        assert not {"--master", "--conf-file", "--conf"} & set(argv), "these start another session"
        logger = logging.getLogger("graphkit")
        handlers, level = list(logger.handlers), logger.level
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli.main(argv)
                except SystemExit as exc:  # argparse's usage errors
                    code = exc.code if isinstance(exc.code, int) else 2
        finally:  # leave the logger as the other tests expect it
            for handler in set(logger.handlers) - set(handlers):
                logger.removeHandler(handler)
            logger.setLevel(level)
        return subprocess.CompletedProcess(["graphkit", *argv], code, out.getvalue(), err.getvalue())

    return run


class InstalledEnv:
    """A fresh virtualenv with graphkit installed from a wheel built from this checkout."""

    def __init__(self, prefix: Path, wheel: Path, build_seconds: float, install_seconds: float):
        self.prefix = prefix
        self.wheel = wheel
        self.python = prefix / "bin" / "python"
        self.graphkit = prefix / "bin" / "graphkit"
        self.build_seconds = build_seconds
        self.install_seconds = install_seconds

    def run(self, *args, cwd, timeout=900, env=None):
        """Run a program of this environment (``graphkit``, ``python``...) as a user would."""
        import subprocess

        return subprocess.run([str(self.prefix / "bin" / args[0]), *map(str, args[1:])], capture_output=True,
                              text=True, timeout=timeout, cwd=cwd, env=env)


@pytest.fixture(scope="session")
def installed_env():
    """Build graphkit's wheel (``python -m build --wheel``) and install it, with the pinned
    dependencies and the ``pack`` extra, into a new virtualenv outside the checkout.

    The build is isolated (a temporary build environment with setuptools >= 77, as pyproject
    asks): that is how CI and users build, and the project virtualenv's setuptools is older. The
    dependencies come from the package index (pip's cache makes a second run quick). Everything is
    deleted at the end of the session.
    """
    import shutil
    import subprocess
    import sys
    import tempfile
    import time

    base = Path(tempfile.mkdtemp(prefix="graphkit-wheel-"))
    had_build_dir = (ROOT / "build").exists()
    try:
        started = time.perf_counter()
        built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(base / "dist"), str(ROOT)],
                               capture_output=True, text=True, timeout=600)
        assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
        build_seconds = time.perf_counter() - started
        (wheel,) = (base / "dist").glob("graphkit-*.whl")
        started = time.perf_counter()
        prefix = base / "venv"
        # the checkout's Python without its virtualenv: a user's plain interpreter
        subprocess.run([sys._base_executable, "-m", "venv", str(prefix)], check=True, timeout=300)
        installed = subprocess.run(
            [str(prefix / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "-c", str(ROOT / "constraints.txt"), f"{wheel}[pack]"],
            capture_output=True, text=True, timeout=1200, cwd=base)
        assert installed.returncode == 0, installed.stderr[-3000:]
        yield InstalledEnv(prefix, wheel, build_seconds, time.perf_counter() - started)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        if not had_build_dir:  # setuptools builds in the source tree; leave the checkout as it was
            shutil.rmtree(ROOT / "build", ignore_errors=True)
