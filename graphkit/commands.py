"""What every Spark command shares: option groups, ``--conf K=V``, reading the graph once, the
build path and the progress reporter.

The capability modules (``graphkit.<capability>.job``) register their subcommands with these,
and :mod:`graphkit.cli` assembles them; neither of those imports the other's internals, and no
job module imports :mod:`graphkit.cli`. Importing this module does not import pyspark.
"""

from __future__ import annotations

import argparse
import time

from graphkit import _progress
from graphkit.errors import GraphkitError


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` that never accepts abbreviated options.

    With abbreviations on, ``--conf spark.executor.memory=8g`` was silently read as
    ``--conf-file``; spark-submit users type ``--conf`` by habit. Subcommand parsers are made
    with this class too (``add_subparsers(parser_class=Parser)``), including the capability
    modules' ones.
    """

    def __init__(self, *args, **kwargs):
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)


def add_spark_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Spark")
    group.add_argument("--master", help="Spark master URL (overrides the profile), e.g. local[2], spark://host:7077")
    group.add_argument("--conf-file", help="Spark profile: a spark-defaults style file, or a shipped profile "
                       "by name (local, cluster; `graphkit conf-path` shows them); default local")
    group.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                       help="a Spark setting applied over the profile (and over spark-submit's); repeatable")


def spark_conf(pairs: list[str] | None) -> dict[str, str]:
    """``--conf KEY=VALUE`` arguments as a dict (later ones win, as in spark-submit).

    Raises
    ------
    GraphkitError
        For an argument without ``=`` or with an empty key.
    """
    conf: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise GraphkitError(f"--conf expects KEY=VALUE (e.g. --conf spark.executor.memory=8g), got {pair!r}")
        conf[key.strip()] = value
    return conf


def add_output_options(parser: argparse.ArgumentParser, seed: int = 0) -> None:
    parser.add_argument("output", help="output directory (written atomically)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed})")


def add_graph_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="graph file or directory (edge list .txt/.csv/.tsv[.gz], Parquet, .mat)")
    group = parser.add_argument_group("graph")
    group.add_argument("--format", default="auto", help="auto, edgelist, csv, tsv, parquet or mat (default: auto)")
    group.add_argument("--undirected", action="store_true", help="treat edges as undirected")
    group.add_argument("--weight-col", help="weight column: 1-based number for text (3), or a name")
    group.add_argument("--header", action="store_true", help="the text file starts with a header line")
    group.add_argument("--string-ids", action="store_true", help="vertex ids are strings, not integers")
    group.add_argument("--drop-self-loops", action="store_true", help="remove self-loops (kept by default)")
    add_spark_options(parser)


def read_options(args):
    from graphkit.reader import ReadOptions

    return ReadOptions(
        format=args.format, directed=not args.undirected, weight_col=args.weight_col,
        int_ids=not args.string_ids, header=args.header,
        self_loops="drop" if args.drop_self_loops else "keep",
    ).validate()


def open_graph(args, app_name: str):
    """Validate options before paying for a JVM, then start Spark and read the graph."""
    from pathlib import Path

    options = read_options(args)
    if "://" not in args.input and not Path(args.input).exists():
        raise GraphkitError(f"{args.input}: no such file")
    from graphkit.graph import Graph
    from graphkit.session import get_session

    spark = get_session(conf_file=args.conf_file, master=args.master, app_name=app_name,
                        extra=spark_conf(args.conf) or None)
    key = (args.input, options, Path(args.input).stat().st_mtime_ns if "://" not in args.input else None)
    if key not in _OPEN_GRAPHS:  # one process running several commands (the demo) reads once
        progress(f"reading {args.input}")
        _OPEN_GRAPHS[key] = Graph.read(args.input, spark=spark, options=options)
    return _OPEN_GRAPHS[key]


_OPEN_GRAPHS: dict = {}


def build_command(args, estimator, app_name: str):
    """A Spark command's whole path: refuse an existing output before reading anything, read
    the graph, then :func:`graphkit.build.build` (fit, write atomically, delete intermediate
    files whatever happens). Returns ``(graph, path, seconds)``."""
    from graphkit.build import build, check_before_reading

    check_before_reading(estimator, args.output, args.overwrite)
    graph = open_graph(args, app_name)
    started = time.perf_counter()
    path = build(graph, estimator, args.output, overwrite=args.overwrite, progress=progress)
    return graph, path, time.perf_counter() - started


def progress(stage: str, done: int | None = None, total: int | None = None) -> None:
    """The commands' progress reporter (a :class:`graphkit._progress.Progress`): log lines."""
    _REPORTER(stage, done, total)


_REPORTER = _progress.LogProgress()
