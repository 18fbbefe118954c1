"""``graphkit demo``: the whole pipeline on the embedded planted-partition graph.

Runs the same commands a user would type (``graphkit info / ppr / ppr-index / embed /
signatures``) in one local Spark session, then a scripted REPL session over the artifacts they
wrote. Needs no download; re-running replaces the previous demo output.
"""

from __future__ import annotations

import io as _io
import time
from pathlib import Path

from graphkit.datasets import planted_partition, write_edge_list

REPL_SCRIPT = """\
info
similar 0 5
community 0 1 2 3 4 size=20
ppr 0 k=5
neighbors 0 5
adjacent 0
"""


def run(run_command, output: str = "out/demo", master: str | None = None, conf_file: str | None = None,
        conf: list[str] | None = None) -> int:
    """Run the demo.

    ``run_command`` runs one command line (``graphkit.cli.main``: passed in, so that the demo
    and the command line do not import each other); ``master``, ``conf_file`` and ``conf``
    (``KEY=VALUE`` strings) are passed to every step, as ``--master``, ``--conf-file`` and ``--conf``.
    """
    from graphkit import repl
    from graphkit.commands import progress

    out = Path(output)
    graph_csr, labels = planted_partition()
    graph = str(write_edge_list(
        graph_csr, out / "graph.txt",
        comment="graphkit demo graph: planted partition, 12 communities x 80 vertices (seed 7)",
    ))
    progress(f"embedded demo graph written to {graph} ({graph_csr.num_vertices} vertices, 12 planted communities)")
    spark = ["--undirected"] + (["--master", master] if master else []) + (["--conf-file", conf_file] if conf_file else [])
    spark += [arg for pair in conf or () for arg in ("--conf", pair)]
    steps = [
        ["info", graph],
        ["ppr", graph, str(out / "ppr"), "--top-k", "10", "--walks", "2000", "--overwrite"],
        ["ppr-index", graph, str(out / "ppr-index"), "--walks", "2000", "--overwrite"],
        ["embed", graph, str(out / "embeddings"), "--dim", "32", "--max-part-size", "240", "--overwrite"],
        ["signatures", graph, str(out / "lsh-index"), "--overwrite"],
    ]
    started = time.perf_counter()
    for number, step in enumerate(steps, 1):
        print(f"\n== step {number}/{len(steps) + 1}: graphkit {' '.join(step + spark)}", flush=True)
        code = run_command(step + spark)
        if code:
            return code
    print(f"\n== step {len(steps) + 1}/{len(steps) + 1}: graphkit repl {out / 'lsh-index'} "
          f"--ppr-index {out / 'ppr-index'} --embeddings {out / 'embeddings'}  (scripted)", flush=True)
    shell = repl.QueryShell(out / "lsh-index", ppr_index=out / "ppr-index", embeddings=out / "embeddings")
    buffer = _io.StringIO()
    shell.stdout = buffer
    for line in REPL_SCRIPT.splitlines():
        shell.say(f"{shell.prompt}{line}")
        shell.onecmd(line)
    print(buffer.getvalue(), end="")
    from graphkit.lsh.community import community

    found = community(shell.index, [0, 1, 2, 3, 4], 20).members
    hits = sum(int(labels[v]) == 0 for v in found)
    print(f"check: {hits} of the 20 community members grown from seeds 0-4 are in their planted community")
    print(f"\ndemo finished in {time.perf_counter() - started:.0f} s; artifacts in {out}/")
    return 0
