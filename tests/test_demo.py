"""graphkit.demo without Spark: the steps it runs, in order, and that a failing step stops it."""

from __future__ import annotations

from graphkit import demo


def test_demo_runs_the_commands_a_user_would_type_and_stops_at_a_failure(tmp_path):
    seen = []

    def run_command(argv):
        seen.append(argv)
        return 3 if argv[0] == "ppr-index" else 0

    code = demo.run(run_command, output=str(tmp_path / "demo"), master="local[1]", conf=["spark.ui.enabled=false"])
    assert code == 3  # the failing step's exit code, and nothing after it
    assert [argv[0] for argv in seen] == ["info", "ppr", "ppr-index"]
    graph = str(tmp_path / "demo" / "graph.txt")
    for argv in seen:
        assert argv[1] == graph
        assert argv[-5:] == ["--undirected", "--master", "local[1]", "--conf", "spark.ui.enabled=false"]
    # the embedded graph was written first: 12 planted communities of 80 vertices
    lines = [line for line in (tmp_path / "demo" / "graph.txt").read_text().splitlines() if not line.startswith("#")]
    vertices = {int(v) for line in lines for v in line.split()}
    assert vertices == set(range(960))
