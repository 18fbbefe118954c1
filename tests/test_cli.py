"""The command line as a user runs it: one-line errors, exit codes, options, help.

Where the process itself is under test (start-up, argument errors before Spark, ``--help``,
settings reaching a new session) the console script runs as a subprocess. Where a Spark job's
output is, the command runs in the test process (``cli_in_process``): a subprocess would add
about 15 s of JVM start-up and test nothing more (tests/test_install.py runs `info` from an
installed wheel in its own process)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT, dataset, run_cli


@pytest.mark.spark
def test_info_on_email_eu_core_reports_counts(cli_in_process):
    done = cli_in_process("info", dataset("email_eu_core", "email-Eu-core.txt"))
    assert done.returncode == 0, done.stderr
    assert "vertices    1,005" in done.stdout
    assert "edges       25,571 directed (642 self-loops)" in done.stdout
    assert "out-degree  min 0  median 15  mean 25.44  max 334" in done.stdout
    assert "20 weakly connected components, largest 986 vertices (GraphFrames connectedComponents)" in done.stdout


@pytest.mark.spark
def test_malformed_line_is_one_line_error(tmp_path, cli_in_process):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2\n2 x\n")
    done = cli_in_process("info", bad)
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


SUBCOMMANDS = ("info", "demo", "ppr", "ppr-index", "embed", "evaluate-embedding", "signatures", "repl", "doctor", "jobs-path",
               "conf-path", "pack-env")


def test_help_lists_every_subcommand():
    from graphkit.cli import build_parser

    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert sorted(choices) == sorted(SUBCOMMANDS)
    done = run_cli("--help", timeout=60)
    assert done.returncode == 0
    listed = {line.split()[0] for line in done.stdout.splitlines() if line.startswith("    ") and line.split()}
    assert set(SUBCOMMANDS) <= listed, sorted(set(SUBCOMMANDS) - listed)
    for command in SUBCOMMANDS:  # every subcommand has its own help, and exits 0 on it
        assert run_cli(command, "--help", timeout=60).returncode == 0, command


LOCAL_MODULES = [
    "graphkit", "graphkit.csr", "graphkit.io", "graphkit.artifacts", "graphkit.cli", "graphkit.commands",
    "graphkit.base", "graphkit.build", "graphkit.datasets", "graphkit.repl", "graphkit.lsh", "graphkit.ppr",
    "graphkit.embed", "graphkit.lsh.community", "graphkit.fingerprint", "graphkit._progress",
]


def test_local_side_never_imports_pyspark():
    """Every module of the query side imports (a missing one fails) without pulling in pyspark."""
    code = (
        "import importlib, sys\n"
        f"for m in {LOCAL_MODULES!r}:\n"
        "    importlib.import_module(m)\n"
        "from graphkit.cli import build_parser; build_parser()\n"
        "bad = [m for m in sys.modules if m.startswith(('pyspark', 'py4j'))]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


# -- spark-submit conventions: --conf KEY=VALUE, no abbreviated options ----------------------------
@pytest.mark.spark
def test_conf_reaches_the_session_over_the_profile():
    # conf/local.conf says 8 shuffle partitions; --conf wins, and the last of a repeated key wins
    done = run_cli("doctor", "--json", "--master", "local[1]", "--conf", "spark.sql.shuffle.partitions=5",
                   "--conf", "spark.sql.shuffle.partitions=3", "--conf", "spark.ui.enabled=false", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    facts = __import__("json").loads(done.stdout)
    assert facts["conf"]["spark.sql.shuffle.partitions"] == "3"
    assert facts["master"] == "local[1]"
    assert facts["executors"] and all(w["graphkit"] for w in facts["executors"])


def test_conf_without_equals_is_a_one_line_error():
    done = run_cli("info", "README.md", "--conf", "spark.executor.memory", timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "graphkit: error: --conf expects KEY=VALUE (e.g. --conf spark.executor.memory=8g), got 'spark.executor.memory'"]


@pytest.mark.parametrize("args", [
    ["info", "README.md", "--conf-fil", "x"],          # was silently taken as --conf-file
    ["ppr", "README.md", "out", "--top", "5"],         # was --top-k
    ["repl", "idx", "--ppr", "p"],                     # was --ppr-index
])
def test_abbreviated_options_are_rejected(args):
    done = run_cli(*args, timeout=60)
    assert done.returncode == 2
    assert f"unrecognized arguments: {' '.join(args[-2:])}" in done.stderr


def test_no_parser_accepts_abbreviations():
    from graphkit.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.choices and isinstance(a.choices, dict)]
    parsers = [parser, *sub.choices.values()]
    assert len(parsers) > 10 and not [p.prog for p in parsers if p.allow_abbrev]


def test_jobs_and_profiles_are_found_in_the_package():
    from graphkit.jobs import JOBS

    jobs = run_cli("jobs-path", timeout=60)
    conf = run_cli("conf-path", timeout=60)
    assert jobs.returncode == conf.returncode == 0
    from pathlib import Path

    jobs_dir, conf_dir = Path(jobs.stdout.strip()), Path(conf.stdout.strip())
    assert jobs_dir.parent.name == conf_dir.parent.name == "graphkit"
    assert sorted(p.name for p in jobs_dir.glob("*.py") if p.name != "__init__.py") == sorted(JOBS)
    assert {"local.conf", "cluster.conf", "log4j2.properties"} <= {p.name for p in conf_dir.iterdir()}
    # the top-level jobs/ and conf/ of a checkout are the same folders, not copies
    assert (ROOT / "jobs").resolve() == jobs_dir and (ROOT / "conf").resolve() == conf_dir
