"""Reading graph files on Spark: edge-list text (optionally gzip), CSV/TSV, Parquet, MATLAB ``.mat``.

Every line is validated in Spark with the grammar of :mod:`graphkit.io` (the single-machine
reader), and the first bad line is reported by file and line number. :class:`graphkit.Graph`
turns what this module returns into the graph model (:meth:`graphkit.Graph.read`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from graphkit.errors import EmptyGraphError, InputFormatError
from graphkit.schema import DST, SRC, WEIGHT

FORMATS = ("auto", "edgelist", "csv", "tsv", "parquet", "mat")
SELF_LOOP_POLICIES = ("keep", "drop")


@dataclass(frozen=True)
class ReadOptions:
    """How to read a graph file (validated once, shared by the CLI, jobs and the API)."""

    format: str = "auto"
    directed: bool = True
    weight_col: str | None = None
    int_ids: bool = True
    header: bool = False
    self_loops: str = "keep"

    def validate(self) -> "ReadOptions":
        if self.format not in FORMATS:
            raise InputFormatError(f"unknown format {self.format!r} (choose from {', '.join(FORMATS)})")
        if self.self_loops not in SELF_LOOP_POLICIES:
            raise ValueError(f"self_loops must be one of {SELF_LOOP_POLICIES}, got {self.self_loops!r}")
        return self


def detect_format(path: str) -> str:
    name = str(path).lower().removesuffix(".gz")
    if name.endswith(".mat"):
        return "mat"
    if name.endswith(".parquet") or (Path(path).is_dir() and any(Path(path).glob("*.parquet"))):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".tsv"):
        return "tsv"
    return "edgelist"


def read_edges(spark, path: str, options: ReadOptions):
    """The edges of the graph file at ``path``: a DataFrame ``(src, dst, weight)`` of user ids,
    validated, or, for a ``.mat`` file, the :class:`graphkit.csr.CSRGraph` it holds."""
    fmt = detect_format(path) if options.format == "auto" else options.format
    if fmt == "mat":
        from graphkit.io import csr_from_matrix, read_mat

        return csr_from_matrix(read_mat(path)[0], directed=options.directed, self_loops=options.self_loops == "keep")
    if fmt == "parquet":
        frame = spark.read.parquet(path)
        src_col, dst_col = _pick_columns(frame.columns, path)
        edges = frame.select(
            frame[src_col].alias(SRC),
            frame[dst_col].alias(DST),
            (frame[options.weight_col] if options.weight_col else _lit(1.0)).cast("double").alias(WEIGHT),
        )
        _check_dataframe_edges(edges, path, options.weight_col is not None)
        return edges
    return _read_text_edges(spark, path, options)


def _lit(value):
    from pyspark.sql import functions as F

    return F.lit(value)


def _pick_columns(columns, path):
    for pair in ((SRC, DST), ("source", "target"), ("u", "v")):
        if set(pair) <= set(columns):
            return pair
    raise InputFormatError(f"{path}: no src/dst columns found; columns are {columns}")


def _check_dataframe_edges(edges, path, weighted):
    from pyspark.sql import functions as F

    cond = F.col(SRC).isNull() | F.col(DST).isNull()
    if weighted:
        cond = cond | _bad_weight(F.col(WEIGHT))
    bad = edges.filter(cond).limit(1).collect()
    if bad:
        raise InputFormatError(f"{path}: invalid edge {tuple(bad[0])} (null id, or weight not finite and > 0)")


def _bad_weight(col):
    from pyspark.sql import functions as F

    return col.isNull() | F.isnan(col) | (col <= 0) | (col == float("inf"))


def _read_text_edges(spark, path: str, options: ReadOptions):
    """Parse edge-list text in Spark with the grammar of :mod:`graphkit.io`; validate every line."""
    from pyspark.sql import functions as F

    from graphkit.io import COMMENT_PREFIXES

    lines = spark.read.text(path).withColumn("_file", F.input_file_name())
    value = F.trim(F.col("value"))
    data = lines.filter((value != "") & ~value.startswith(COMMENT_PREFIXES[0]) & ~value.startswith(COMMENT_PREFIXES[1]))
    weight_index = _weight_index(options, data, path)
    if options.header:
        first = data.first()
        if first is not None:
            data = data.filter(F.col("value") != first["value"])
    fields = F.split(F.trim(F.col("value")), r"[\s,]+")
    need = 2 if weight_index is None else weight_index + 1
    parsed = data.select(
        "value", "_file",
        F.size(fields).alias("_n"),
        F.get(fields, 0).alias(SRC), F.get(fields, 1).alias(DST),
        (F.get(fields, weight_index).try_cast("double") if weight_index is not None else F.lit(1.0)).alias(WEIGHT),
    )
    if options.int_ids:
        parsed = parsed.withColumn(SRC, F.col(SRC).try_cast("long")).withColumn(DST, F.col(DST).try_cast("long"))
    bad = (F.col("_n") < need) | F.col(SRC).isNull() | F.col(DST).isNull()
    if weight_index is not None:
        bad = bad | _bad_weight(F.col(WEIGHT))
    parsed = parsed.withColumn("_bad", bad).cache()
    counts = parsed.agg(F.count("*").alias("n"), F.sum(F.col("_bad").cast("int")).alias("bad")).first()
    if counts["n"] == 0:
        raise EmptyGraphError(f"{path}: no edges")
    if counts["bad"]:
        row = parsed.filter("_bad").select("value", "_file", "_n", SRC, DST, WEIGHT).first()
        raise InputFormatError(_describe_bad_line(spark, row, need, options, weight_index))
    return parsed.select(SRC, DST, WEIGHT)


def _weight_index(options: ReadOptions, data, path) -> int | None:
    if options.weight_col is None:
        return None
    if options.weight_col.isdigit():
        index = int(options.weight_col) - 1
        if index < 2:
            raise InputFormatError(f"weight column {options.weight_col} must be 3 or higher (1-based)")
        return index
    if options.weight_col == WEIGHT and not options.header:
        return 2  # the conventional third column
    if not options.header:
        raise InputFormatError(
            f"weight column {options.weight_col!r} is a name but the file has no header; "
            "give its 1-based number (e.g. 3) or pass --header")
    first = data.first()
    names = [n.strip() for n in first["value"].replace(",", " ").split()] if first else []
    if options.weight_col not in names:
        raise InputFormatError(f"{path}: header has no column {options.weight_col!r}; found {names}")
    return names.index(options.weight_col)


def _describe_bad_line(spark, row, need, options, weight_index) -> str:
    """One line naming file, line number and what is wrong with the first bad line."""
    text, file = row["value"], row["_file"]
    lineno = (
        spark.read.text(file).rdd.zipWithIndex().filter(lambda pair: pair[0][0] == text).map(lambda p: p[1]).first() + 1
    )
    where = f"{file.removeprefix('file://')}:{lineno}"
    if row["_n"] < need:
        expected = "src dst" + (" weight" if weight_index is not None else "")
        return f"{where}: malformed line {text.strip()[:60]!r} (expected {expected})"
    if row[SRC] is None or row[DST] is None:
        return f"{where}: non-integer vertex id in {text.strip()[:60]!r}"
    return f"{where}: weight in {text.strip()[:60]!r} is not a finite positive number"
