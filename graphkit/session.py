"""The one place that builds a SparkSession, from a ``conf/`` profile plus overrides.

A profile is a spark-defaults style file (``key value`` per line). Keys starting with
``graphkit.`` are graphkit's own (for example ``graphkit.checkpoint.dir``); everything else goes to
Spark unchanged. When a job runs under ``spark-submit`` the session already exists and its
settings win for everything Spark fixes at start-up (master, memory); the profile still supplies
the rest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from graphkit.errors import GraphkitError, RuntimeDependencyError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONF = PROJECT_ROOT / "conf" / "local.conf"


def read_conf(path: str | os.PathLike) -> dict[str, str]:
    """Parse a spark-defaults style profile into a dict; a clear error for a bad file."""
    path = Path(path)
    if not path.is_file():
        raise GraphkitError(f"{path}: no such Spark profile (see conf/local.conf for the format)")
    conf: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise GraphkitError(f"{path}:{lineno}: expected 'key value', got {line!r}")
        conf[parts[0]] = parts[1].strip()
    return conf


def get_session(
    conf_file: str | os.PathLike | None = None,
    master: str | None = None,
    app_name: str | None = None,
    extra: dict[str, str] | None = None,
):
    """Get or create the SparkSession for graphkit.

    Parameters
    ----------
    conf_file : path, optional
        Spark profile; defaults to ``conf/local.conf`` (local mode, sized for a laptop).
    master : str, optional
        Overrides ``spark.master`` (``local[2]``, ``spark://host:7077``, ``yarn``...).
    app_name : str, optional
        Overrides ``spark.app.name``.
    extra : dict, optional
        Further Spark settings, applied last.

    Returns
    -------
    pyspark.sql.SparkSession
        With the checkpoint directory set and the GraphFrames JVM package on the class path
        when it has been provisioned (see :func:`graphkit._jvm.graphframes_jars`).
    """
    from pyspark.sql import SparkSession

    from graphkit import _jvm

    active = SparkSession.getActiveSession()
    if active is not None and master is None and conf_file is None and not extra:
        return active  # one process running several commands (the demo, a notebook) shares it

    conf = read_conf(conf_file or DEFAULT_CONF)
    launched: dict[str, str] = {}
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        # Under spark-submit the launcher's settings (its --master, --conf, spark-defaults) win
        # over the profile; explicit arguments below still override both.
        from pyspark import SparkConf, SparkContext

        SparkContext._ensure_initialized()  # connect to the launcher's JVM so SparkConf sees its settings
        launched = dict(SparkConf().getAll())
        conf = {k: v for k, v in conf.items() if k not in launched}
    if master:
        conf["spark.master"] = master
    if app_name:
        conf["spark.app.name"] = app_name
    conf.update(extra or {})
    checkpoint_dir = conf.pop("graphkit.checkpoint.dir", None)
    for key in [k for k in conf if k.startswith("graphkit.")]:
        conf.pop(key)
    # Executors must run the driver's interpreter (the one with graphkit installed), unless the
    # profile says otherwise (e.g. a shipped virtualenv on a real cluster).
    conf.setdefault("spark.pyspark.python", sys.executable)
    conf.setdefault("spark.pyspark.driver.python", sys.executable)
    conf.update(_jvm.merge_class_path(conf, launched))
    log_conf = PROJECT_ROOT / "conf" / "log4j2.properties"
    if log_conf.is_file() and "spark.driver.extraJavaOptions" not in conf:
        conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{log_conf}"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: missing Java, bad master URL...
        raise RuntimeDependencyError(f"could not start Spark: {str(exc).splitlines()[0]}") from None
    if launched:
        _jvm.load_on_driver(spark)
    if checkpoint_dir:
        spark.sparkContext.setCheckpointDir(checkpoint_dir)
    spark.sparkContext.setLogLevel(os.environ.get("GRAPHKIT_SPARK_LOG_LEVEL", "WARN"))
    return spark
