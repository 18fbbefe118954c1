"""One progress interface: ``progress(stage, done, total)`` everywhere, log lines by default."""

import logging
import subprocess
import sys

import pytest

from graphkit import _progress
from graphkit.datasets import planted_partition, write_edge_list
from graphkit.ppr import PPRIndex
from tests.conftest import ROOT


def test_user_callback_gets_three_positional_arguments():
    calls = []
    report = _progress.reporter(lambda stage, done, total: calls.append((stage, done, total)))
    report("collecting")
    report("walking", 3, 10)
    assert calls == [("collecting", None, None), ("walking", 3, 10)]


def test_false_is_silent_and_junk_is_refused(caplog):
    caplog.set_level(logging.INFO, logger="graphkit")
    _progress.reporter(False)("nothing to see", 1, 2)
    assert not caplog.records
    with pytest.raises(TypeError, match="progress must be a callable"):
        _progress.reporter("loud")


def test_log_lines_show_percentages_a_tenth_at_a_time(caplog):
    caplog.set_level(logging.INFO, logger="graphkit")
    report = _progress.LogProgress(interval=0)
    report("reading")
    for done in range(0, 101):
        report("walking", done, 100)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "reading"
    assert lines[1] == "walking: 0/100 (0%)" and lines[-1] == "walking: 100/100 (100%)"
    assert len(lines) == 1 + 11  # 0 %, 10 %, ..., 100 %: a long stage does not flood the log


def test_a_quick_stage_is_one_line_and_may_run_again(caplog):
    caplog.set_level(logging.INFO, logger="graphkit")
    report = _progress.LogProgress()  # lines at least 2 s apart: this loop takes microseconds
    for _ in range(2):
        for done in range(1, 101):
            report("fingerprints", done, 100)
    assert [r.getMessage() for r in caplog.records] == ["fingerprints: 100/100 (100%)"] * 2


def test_index_fit_reports_fingerprints_with_counts():
    graph, _ = planted_partition(num_communities=3, community_size=40)
    calls = []
    PPRIndex(walks=200).fit(graph, progress=lambda *a: calls.append(a))
    assert calls and all(stage == "fingerprints" for stage, _, _ in calls)
    assert calls[-1] == ("fingerprints", graph.num_vertices, graph.num_vertices)


def test_default_is_not_silent_without_any_logging_setup():
    # A fresh interpreter with no logging configuration: the default reporter still shows lines.
    code = ("from graphkit.datasets import planted_partition\n"
            "from graphkit.ppr import PPRIndex\n"
            "PPRIndex(walks=200).fit(planted_partition(num_communities=3, community_size=40)[0])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "] fingerprints: 120/120 (100%)" in done.stderr and done.stderr.startswith("[graphkit ")


@pytest.mark.spark
def test_spark_estimator_takes_the_same_interface(spark, tmp_path):
    from graphkit.graph import Graph
    from graphkit.ppr.spark import FullyPersonalizedPageRank

    path = write_edge_list(planted_partition(num_communities=3, community_size=20)[0], tmp_path / "g.txt")
    graph = Graph.read(str(path), spark=spark)
    calls = []
    model = FullyPersonalizedPageRank(walks=100, top_k=5).fit(graph, progress=lambda *a: calls.append(a))
    model.close()
    stages = [stage for stage, _, _ in calls]
    assert any(s.startswith("fingerprints") for s in stages) and any(s.startswith("decomposition") for s in stages)
    assert all(len(c) == 3 for c in calls)
