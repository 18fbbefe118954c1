"""Everything that touches the JVM side of GraphFrames lives here.

GraphFrames is a JVM package; its Python wrapper (``graphframes-py``) only forwards calls. This
module finds the provisioned jars, and turns a missing jar into one actionable message instead of
a Py4J stack trace.
"""

from __future__ import annotations

import os
from pathlib import Path

from graphkit.errors import RuntimeDependencyError

#: The JVM package matching the pinned ``graphframes-py`` (same release) and PySpark 4 / Scala 2.13.
GRAPHFRAMES_GROUP = "io.graphframes"
GRAPHFRAMES_ARTIFACTS = ("graphframes-spark4_2.13", "graphframes-graphx-spark4_2.13")
GRAPHFRAMES_VERSION = "0.11.0"
GRAPHFRAMES_COORDINATES = f"{GRAPHFRAMES_GROUP}:{GRAPHFRAMES_ARTIFACTS[0]}:{GRAPHFRAMES_VERSION}"

MISSING_MESSAGE = (
    "the GraphFrames JVM package ({coords}) is not provisioned; run `make setup` (it fetches it with "
    "Maven into ~/.m2), or set GRAPHKIT_GRAPHFRAMES_JARS to a comma-separated list of the "
    "graphframes-spark4_2.13 and graphframes-graphx-spark4_2.13 jars"
)


def _maven_repository() -> Path:
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
    base = _maven_repository() / GRAPHFRAMES_GROUP.replace(".", "/")
    jars = [
        base / artifact / GRAPHFRAMES_VERSION / f"{artifact}-{GRAPHFRAMES_VERSION}.jar"
        for artifact in GRAPHFRAMES_ARTIFACTS
    ]
    return jars if jars[0].is_file() else None


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
