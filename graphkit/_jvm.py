"""Everything that touches the JVM side of GraphFrames lives here.

GraphFrames is a JVM package; its Python wrapper (``graphframes-py``) only forwards calls. This
module pins the release (the one place that names it), finds the provisioned jars, merges them
into whatever class path the user already asked for, and turns a missing jar into one actionable
message instead of a Py4J stack trace.
"""

from __future__ import annotations

import os
from pathlib import Path

from graphkit.errors import RuntimeDependencyError

#: The JVM package matching ``graphframes-py`` (same release; constraints.txt pins the Python side
#: to it and a test checks both agree) for PySpark 4 / Scala 2.13.
GRAPHFRAMES_GROUP = "io.graphframes"
GRAPHFRAMES_ARTIFACTS = ("graphframes-spark4_2.13", "graphframes-graphx-spark4_2.13")
GRAPHFRAMES_VERSION = "0.11.0"
GRAPHFRAMES_COORDINATES = f"{GRAPHFRAMES_GROUP}:{GRAPHFRAMES_ARTIFACTS[0]}:{GRAPHFRAMES_VERSION}"

MISSING_MESSAGE = (
    "the GraphFrames JVM package ({coords}) is not provisioned; run `make setup` (it fetches it with "
    "Maven into ~/.m2), or set GRAPHKIT_GRAPHFRAMES_JARS to a comma-separated list of the "
    "graphframes-spark4_2.13 and graphframes-graphx-spark4_2.13 jars, or pass "
    "`--packages {coords}` to spark-submit"
)


#: Extra Maven repositories for ``make setup`` (comma-separated URLs, ``file://`` included), searched
#: after the user's own Maven configuration (settings.xml mirrors and profiles still apply).
EXTRA_REPOSITORIES_ENV = "GRAPHKIT_MAVEN_REPOS"


def extra_repositories() -> list[str]:
    """Repository URLs named in ``$GRAPHKIT_MAVEN_REPOS``; a bare path is taken as ``file://``."""
    urls = []
    for entry in os.environ.get(EXTRA_REPOSITORIES_ENV, "").split(","):
        entry = entry.strip()
        if entry:
            urls.append(entry if "://" in entry else Path(entry).resolve().as_uri())
    return urls


def maven_repository() -> Path:
    """The local Maven repository graphkit reads the jars from (``$GRAPHKIT_M2_REPOSITORY`` or ~/.m2)."""
    return Path(os.environ.get("GRAPHKIT_M2_REPOSITORY", Path.home() / ".m2" / "repository"))


def graphframes_jars() -> list[Path] | None:
    """The GraphFrames jars to put on Spark's class path, or None when not provisioned."""
    explicit = os.environ.get("GRAPHKIT_GRAPHFRAMES_JARS")
    if explicit:
        jars = [Path(p) for p in explicit.split(",") if p]
        missing = [str(j) for j in jars if not j.is_file()]
        if missing:
            raise RuntimeDependencyError(f"GRAPHKIT_GRAPHFRAMES_JARS names missing files: {missing}")
        return jars
    base = maven_repository() / GRAPHFRAMES_GROUP.replace(".", "/")
    jars = [
        base / artifact / GRAPHFRAMES_VERSION / f"{artifact}-{GRAPHFRAMES_VERSION}.jar"
        for artifact in GRAPHFRAMES_ARTIFACTS
    ]
    return jars if jars[0].is_file() else None


def _names_graphframes(entries: list[str]) -> bool:
    return any("graphframes" in Path(e.split("?")[0]).name or e.startswith(GRAPHFRAMES_GROUP + ":")
               for e in entries)


def merge_class_path(conf: dict[str, str], launched: dict[str, str] | None = None) -> dict[str, str]:
    """Add graphkit's GraphFrames jars to ``spark.jars`` without dropping anything the user set.

    ``conf`` is the profile plus explicit settings; ``launched`` what spark-submit already holds
    (its ``--jars``, ``--packages``, spark-defaults). The user's entries come first and are kept
    as given. Nothing is added when the user already supplies GraphFrames (``--packages
    io.graphframes:...`` or a graphframes jar), so one class path never holds two releases.
    Returns only the keys to set.
    """
    launched = launched or {}
    split = lambda key: [e for e in (conf.get(key) or launched.get(key) or "").split(",") if e]  # noqa: E731
    jars, packages = split("spark.jars"), split("spark.jars.packages")
    if _names_graphframes(jars + packages):
        return {"spark.jars": ",".join(jars)} if jars else {}
    ours = graphframes_jars() or []
    return {"spark.jars": ",".join(jars + [str(j) for j in ours])} if jars or ours else {}


def load_on_driver(spark) -> None:
    """Make the GraphFrames jars in ``spark.jars`` loadable by the driver's JVM as well.

    A session that graphkit starts itself hands ``spark.jars`` to the JVM launcher, which puts
    them on both class paths. Under ``spark-submit`` the driver JVM is already running when
    graphkit adds its jars: the SparkContext ships them to the executors, but the driver's class
    loader has never seen them. spark-submit's loader is Spark's ``MutableURLClassLoader``, whose
    ``addURL`` is public, so the jars are added there. Any other loader is left alone, and the
    GraphFrames features then say how to pass the package (``--packages`` or ``--jars``).
    """
    if graphframes_available(spark):
        return
    listed = spark.sparkContext.getConf().get("spark.jars", "") or ""
    jars = [j for j in (graphframes_jars() or []) if str(j) in listed.split(",")]
    jvm = spark.sparkContext._jvm
    loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
    if not jars or loader is None or loader.getClass().getName() != "org.apache.spark.util.MutableURLClassLoader":
        return
    for jar in jars:
        loader.addURL(jvm.java.io.File(str(jar)).toURI().toURL())


def jvm_graphframes_version(spark) -> str | None:
    """Implementation-Version of the GraphFrames jar that the running JVM actually loaded."""
    require_graphframes(spark)
    cls = spark.sparkContext._jvm.java.lang.Class.forName(
        "org.graphframes.GraphFrame", True, spark.sparkContext._jvm.java.lang.Thread.currentThread().getContextClassLoader())
    return cls.getPackage().getImplementationVersion()



# -- Spark sizes and executors: the private PySpark attributes graphkit reads, behind names --------
#: Binary multipliers of Spark's byte-size suffixes (``JavaUtils.byteStringAsBytes``).
_BYTE_SUFFIXES = {"b": 0, "k": 10, "kb": 10, "m": 20, "mb": 20, "g": 30, "gb": 30, "t": 40, "tb": 40,
                  "p": 50, "pb": 50}


def parse_byte_size(text: str) -> int:
    """Bytes in a Spark size string (``"512m"``, ``"4g"``, ``"1024"``: no suffix means bytes),
    parsed in Python by the rules of Spark's ``JavaUtils.byteStringAsBytes``.

    Raises
    ------
    ValueError
        Not an integer with an optional suffix b, k(b), m(b), g(b), t(b) or p(b) (fractions are
        refused, as Spark refuses them).
    """
    import re

    match = re.fullmatch(r"(-?[0-9]+)([a-z]+)?", str(text).strip().lower())
    if match is None or (match.group(2) or "b") not in _BYTE_SUFFIXES:
        raise ValueError(f"not a Spark byte size (e.g. 512m, 4g): {text!r}")
    return int(match.group(1)) << _BYTE_SUFFIXES[match.group(2) or "b"]


def byte_size(spark, text: str) -> int:
    """Bytes in a Spark size string, as the JVM reads it (``JavaUtils.byteStringAsBytes``);
    :func:`parse_byte_size` where there is no JVM gateway (Spark Connect)."""
    try:
        to_bytes = spark.sparkContext._jvm.org.apache.spark.network.util.JavaUtils.byteStringAsBytes
    except Exception:  # no Py4J gateway
        return parse_byte_size(text)
    return int(to_bytes(text))


def executor_count(sc) -> int:
    """Executors registered with the driver, the driver not counted (at least 1).

    Read from ``SparkContext.getExecutorMemoryStatus`` through the JVM gateway; without one,
    estimated from public settings: ``defaultParallelism / spark.executor.cores``.
    """
    try:
        status = sc._jsc.sc().getExecutorMemoryStatus()
    except Exception:  # no Py4J gateway
        cores = int(sc.getConf().get("spark.executor.cores", "1") or 1)
        return max(1, sc.defaultParallelism // max(1, cores))
    return max(1, status.size() - 1)

def graphframes_available(spark) -> bool:
    """True when the running JVM can load GraphFrames' classes."""
    from py4j.java_gateway import JavaClass

    try:
        return isinstance(spark.sparkContext._jvm.org.graphframes.GraphFrame, JavaClass)
    except Exception:  # py4j raises several types for an unknown package
        return False


def require_graphframes(spark) -> None:
    if not graphframes_available(spark):
        raise RuntimeDependencyError(MISSING_MESSAGE.format(coords=GRAPHFRAMES_COORDINATES))


def make_graphframe(spark, vertices, edges):
    """A ``graphframes.GraphFrame``, or an actionable error when the JVM package is missing."""
    require_graphframes(spark)
    from graphframes import GraphFrame

    return GraphFrame(vertices, edges)


# -- Hadoop file system (so outputs move into place atomically on HDFS/S3 as well as locally) --
def _fs_and_path(spark, path: str):
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hpath


def path_exists(spark, path: str) -> bool:
    fs, hpath = _fs_and_path(spark, path)
    return bool(fs.exists(hpath))


def delete_path(spark, path: str) -> None:
    fs, hpath = _fs_and_path(spark, path)
    if fs.exists(hpath):
        fs.delete(hpath, True)


def rename_path(spark, source: str, target: str) -> None:
    fs, src = _fs_and_path(spark, source)
    _, dst = _fs_and_path(spark, target)
    if not fs.rename(src, dst):
        raise OSError(f"could not move {source} to {target}")


# -- PySpark RDD internals (graphkit.embed.blockrows) ------------------------------------------
# The only private PySpark attributes graphkit uses, each behind a named helper with a public-API
# fallback, so a PySpark release that renames them costs speed, not correctness. Written against
# PySpark 4.0.1's ``pyspark.core.rdd``.
def materialize_in_jvm(rdd) -> None:
    """Compute (and so cache, when persisted) every partition of ``rdd``, counting on the JVM.

    Why the private route (``rdd._jrdd.count()``): ``rdd.count()`` runs a Python job that ships
    every cached record back into a Python worker only to count it (for the distributed
    refinement, gigabytes of pickled row blocks per step); the JVM count reads the serialised
    batches and never deserialises them. The JVM counts batches, not records, so no count is
    returned. Fallback: ``rdd.count()`` (same effect, slower).
    """
    jrdd = getattr(rdd, "_jrdd", None)
    if jrdd is None:
        rdd.count()
    else:
        jrdd.count()


def union_keeping_serializer(a, b):
    """``a.union(b)`` for two RDDs written with the same pickled-batch format, without
    re-serialising either; the result keeps ``a``'s partitioner when both share it.

    Why the private route (``RDD(a._jrdd.union(b._jrdd), a.ctx, b._jrdd_deserializer)``): public
    ``RDD.union`` compares the two sides' serializer *objects*; ``partitionBy`` and
    ``mapPartitions`` label their output with different (but equivalent) ones, so it would first
    pass both sides through Python again (``_reserialize``). Both write the same stream, so one
    deserializer reads both, and the JVM union of two RDDs with one partitioner is a
    ``PartitionerAwareUnionRDD`` (partition ``i`` holds partition ``i`` of both, nothing shuffled).
    Fallback: ``a.union(b)``, which gives the same partitions (its re-serialisation preserves
    partitioning), only slower.
    """
    try:
        from pyspark.core.rdd import RDD

        jrdd_a, jrdd_b, deserializer = a._jrdd, b._jrdd, b._jrdd_deserializer
    except (ImportError, AttributeError):
        return a.union(b)
    union = RDD(jrdd_a.union(jrdd_b), a.ctx, deserializer)
    if a.partitioner == b.partitioner and a.getNumPartitions() == union.getNumPartitions():
        union.partitioner = a.partitioner
    return union
