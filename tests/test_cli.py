"""The command line as a user runs it: real subprocesses, one-line errors, exit codes."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT, dataset, run_cli


@pytest.mark.spark
def test_info_on_email_eu_core_reports_counts():
    done = run_cli("info", dataset("email_eu_core", "email-Eu-core.txt"), "--master", "local[2]")
    assert done.returncode == 0, done.stderr
    assert "vertices    1,005" in done.stdout
    assert "edges       25,571 directed (642 self-loops)" in done.stdout
    assert "20 weakly connected components, largest 986 vertices (GraphFrames connectedComponents)" in done.stdout


@pytest.mark.spark
def test_malformed_line_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2\n2 x\n")
    done = run_cli("info", bad, "--master", "local[1]")
    assert done.returncode == 1
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("graphkit: error:")]
    assert errors == [f"graphkit: error: {bad}:2: non-integer vertex id in '2 x'"]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["info", "/no/such/graph.txt"], "graphkit: error: /no/such/graph.txt: no such file"),
        (["info", "README.md", "--format", "graphml"], "graphkit: error: unknown format 'graphml'"),
    ],
)
def test_bad_arguments_fail_fast_without_spark(args, message):
    done = run_cli(*args, timeout=60)
    assert done.returncode == 1 and done.stderr.strip().startswith(message)
    assert "Traceback" not in done.stderr


def test_help_lists_subcommands():
    done = run_cli("--help", timeout=60)
    assert done.returncode == 0 and "info" in done.stdout and "demo" in done.stdout


LOCAL_MODULES = [
    "graphkit", "graphkit.csr", "graphkit.io", "graphkit.artifacts", "graphkit.cli", "graphkit.datasets",
    "graphkit.repl", "graphkit.lsh", "graphkit.ppr", "graphkit.embed", "graphkit.lsh.community",
]


def test_local_side_never_imports_pyspark():
    code = (
        "import importlib, sys\n"
        f"for m in {LOCAL_MODULES!r}:\n"
        "    try:\n        importlib.import_module(m)\n"
        "    except ModuleNotFoundError as e:\n        if e.name != m: raise\n"
        "from graphkit.cli import build_parser; build_parser()\n"
        "bad = [m for m in sys.modules if m.startswith(('pyspark', 'py4j'))]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
