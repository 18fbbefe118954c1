"""The ``graphkit`` command line: one subcommand per job, plus the local query REPL.

Every Spark subcommand has a ``graphkit/jobs/<name>.py`` twin for ``spark-submit`` that accepts
the same arguments (``graphkit jobs-path`` prints that folder). Errors a user can cause print one
line (``graphkit: error: ...``) and exit non-zero; no stack trace. Progress and other messages go
through the ``graphkit`` logger, shown on stderr as ``[graphkit HH:MM:SS] message``; results go to
stdout. Options are never abbreviated (``--conf`` must not be taken for ``--conf-file``).
Importing this module does not import pyspark.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time

from graphkit import _progress
from graphkit.commands import Parser, add_graph_options, add_spark_options, open_graph, progress, spark_conf
from graphkit._version import __version__
from graphkit.errors import GraphkitError, RuntimeDependencyError

EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED = 2, 1, 130

#: Modules whose ``register(subparsers)`` adds a capability's subcommands. They import Spark only
#: inside their handlers, so building the parser stays fast.
CAPABILITY_JOBS: tuple[str, ...] = ("graphkit.ppr.job", "graphkit.embed.job", "graphkit.lsh.job")


# -- subcommands -------------------------------------------------------------------------------
def cmd_info(args) -> int:
    graph = open_graph(args, "graphkit-info")
    started = time.perf_counter()
    facts = {
        "input": args.input,
        "directed": graph.directed,
        "weighted": graph.weighted,
        "vertices": graph.num_vertices,
        "edges": graph.num_edges,
        "self_loops": graph.num_self_loops,
        "degree": graph.degree_stats(),
    }
    progress("connected components")
    try:
        facts["components"] = graph.component_stats()
    except RuntimeDependencyError as exc:  # the counts above stand; say why components do not
        facts["components"] = None
        facts["components_unavailable"] = str(exc)
    facts["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    kind = "directed" if graph.directed else "undirected"
    deg = facts["degree"]
    label = "out-degree" if graph.directed else "degree"
    print(f"graph       {args.input}")
    print(f"vertices    {facts['vertices']:,}")
    print(f"edges       {facts['edges']:,} {kind}{' weighted' if graph.weighted else ''} ({facts['self_loops']:,} self-loops)")
    print(f"{label:<11} min {deg['min']}  median {deg['median']}  mean {deg['mean']:.2f}  max {deg['max']}")
    if graph.directed:
        print(f"in-degree   max {deg['max_in']}")
    print(f"isolated    {deg['isolated']:,}")
    comp = facts["components"]
    word = "weakly connected components" if graph.directed else "connected components"
    if comp is None:
        print(f"components  unavailable: {facts['components_unavailable']}")
    else:
        print(f"components  {comp['components']:,} {word}, largest {comp['largest']:,} vertices "
              "(GraphFrames connectedComponents)")
    return 0


def cmd_demo(args) -> int:
    from graphkit import demo

    return demo.run(main, output=args.output, master=args.master, conf_file=args.conf_file, conf=args.conf)


def cmd_jobs_path(args) -> int:
    from graphkit.jobs import jobs_path

    print(jobs_path())
    return 0


def cmd_conf_path(args) -> int:
    from graphkit.session import profile_dir

    print(profile_dir())
    return 0


def cmd_pack_env(args) -> int:
    from graphkit import _pack

    _pack.pack_environment(args.output, prefix=args.prefix, overwrite=args.overwrite,
                           include_pyspark=args.include_pyspark)
    return 0


#: Settings ``graphkit doctor`` reports (when set).
DOCTOR_CONF_KEYS = frozenset({
    "spark.archives", "spark.pyspark.python", "spark.pyspark.driver.python", "spark.executor.memory",
    "spark.driver.memory", "spark.executor.cores", "spark.cores.max", "spark.sql.shuffle.partitions",
    "spark.default.parallelism", "spark.ui.showConsoleProgress",
})


def cmd_doctor(args) -> int:
    """Where graphkit runs: the driver's interpreter and package, and every executor's."""
    import os
    import socket

    import graphkit
    from graphkit.session import get_session

    spark = get_session(conf_file=args.conf_file, master=args.master, app_name="graphkit-doctor",
                        extra=spark_conf(args.conf) or None)
    sc = spark.sparkContext

    def probe(_):
        # Defined inside the command so it is pickled by value: it must run (and say so) even
        # where graphkit is not importable.
        import os as _os
        import socket as _socket
        import sys as _sys

        where = {"host": _socket.gethostname(), "python": _sys.executable, "prefix": _sys.prefix, "cwd": _os.getcwd()}
        try:
            import graphkit as _graphkit
            import numpy as _numpy

            where.update(graphkit=_graphkit.__file__, version=_graphkit.__version__, numpy=_numpy.__version__)
        except ImportError as exc:
            where.update(graphkit=None, error=str(exc))
        yield where

    slots = max(2, sc.defaultParallelism)
    seen = sc.parallelize(range(slots), slots).mapPartitions(probe).collect()
    executors = list({(w["host"], w["python"], w.get("graphkit")): w for w in seen}.values())
    import numpy

    facts = {
        "driver": {"host": socket.gethostname(), "python": sys.executable, "cwd": os.getcwd(),
                   "graphkit": graphkit.__file__, "version": graphkit.__version__, "numpy": numpy.__version__,
                   "pyspark_python": os.environ.get("PYSPARK_PYTHON")},
        "master": sc.master,
        # the settings that decide where and how the work runs, as the session sees them
        "conf": {k: v for k, v in sorted(sc.getConf().getAll()) if k in DOCTOR_CONF_KEYS},
        "executors": executors,
    }
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        d = facts["driver"]
        print(f"driver     {d['python']}  graphkit {d['version']} ({d['graphkit']})")
        print(f"master     {facts['master']}")
        for key, value in facts["conf"].items():
            print(f"conf       {key}={value}")
        for w in executors:
            package = f"graphkit {w['version']} ({w['graphkit']})" if w.get("graphkit") else f"no graphkit: {w['error']}"
            print(f"executor   {w['host']}: {w['python']}  {package}")
    return 0 if all(w.get("graphkit") for w in executors) else 1


def cmd_repl(args) -> int:
    from graphkit import repl

    return repl.run(args.index, ppr_index=args.ppr_index, embeddings=args.embeddings,
                    allow_mixed_graphs=args.allow_mixed_graphs)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="graphkit",
        description="Large-scale graph analytics on Apache Spark, with millisecond local queries.",
    )
    parser.add_argument("--version", action="version", version=f"graphkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    info = sub.add_parser("info", help="vertex/edge counts, degree statistics, connected components")
    add_graph_options(info)
    info.add_argument("--json", action="store_true", help="print the facts as JSON")
    info.set_defaults(handler=cmd_info)

    demo = sub.add_parser("demo", help="run the whole pipeline on the embedded demo graph (no download)")
    demo.add_argument("--output", default="out/demo", help="where the demo writes its artifacts (default out/demo)")
    add_spark_options(demo)
    demo.set_defaults(handler=cmd_demo)

    for module in CAPABILITY_JOBS:
        importlib.import_module(module).register(sub)

    repl = sub.add_parser("repl", help="interactive queries over local artifacts (no Spark)")
    repl.add_argument("index", help="LSH index directory (from `graphkit signatures`)")
    repl.add_argument("--ppr-index", help="PPR fingerprint index (from `graphkit ppr-index`)")
    repl.add_argument("--embeddings", help="embeddings directory (from `graphkit embed`)")
    repl.add_argument("--allow-mixed-graphs", action="store_true",
                      help="serve artifacts built from different graphs (with a warning) instead of refusing")
    repl.set_defaults(handler=cmd_repl)

    doctor = sub.add_parser("doctor", help="which Python and graphkit the driver and the executors run (Spark)")
    add_spark_options(doctor)
    doctor.add_argument("--json", action="store_true", help="print the facts as JSON")
    doctor.set_defaults(handler=cmd_doctor)

    jobs = sub.add_parser("jobs-path", help="print the folder of the spark-submit job files (<path>/ppr.py ...)")
    jobs.set_defaults(handler=cmd_jobs_path)
    conf = sub.add_parser("conf-path", help="print the folder of the shipped Spark profiles (local.conf, cluster.conf)")
    conf.set_defaults(handler=cmd_conf_path)

    pack = sub.add_parser("pack-env", help="pack this virtualenv (graphkit installed from a wheel) for spark.archives")
    pack.add_argument("output", help="archive to write, e.g. graphkit-env.tar.gz")
    pack.add_argument("--prefix", help="the virtualenv to pack (default: the one running graphkit)")
    pack.add_argument("--include-pyspark", action="store_true",
                      help="keep pyspark in the archive (default: left out; executors use the cluster's own)")
    pack.add_argument("--overwrite", action="store_true", help="replace an existing archive")
    pack.set_defaults(handler=cmd_pack_env)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    _progress.configure_logging(logging.INFO)
    try:
        spark_conf(getattr(args, "conf", None))  # a malformed --conf fails before Spark starts
    except GraphkitError as exc:
        print(f"graphkit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args) or 0)
    except GraphkitError as exc:
        print(f"graphkit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (ValueError, FileNotFoundError) as exc:  # parameter validation from estimators
        print(f"graphkit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("graphkit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
