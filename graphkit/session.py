"""The one place that builds a SparkSession, from a profile plus overrides.

A profile is a spark-defaults style file (``key value`` per line). Keys starting with
``graphkit.`` are graphkit's own (for example ``graphkit.checkpoint.dir``); everything else goes to
Spark unchanged. The profiles graphkit ships (``local``, ``cluster``) and its log4j configuration
are package data in ``graphkit/conf/`` (``conf/`` in a checkout links there), found through
:mod:`importlib.resources`, so an installed wheel needs no source tree. When a job runs under
``spark-submit`` the launcher's settings win over the profile; explicit overrides (``--conf``)
win over both.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import resources
from pathlib import Path

from graphkit.errors import GraphkitError, RuntimeDependencyError

log = logging.getLogger(__name__)


def profile_dir() -> Path:
    """The folder of the Spark profiles shipped with graphkit (``local.conf``, ``cluster.conf``).

    Returns
    -------
    pathlib.Path
        A real directory: pip installs packages unzipped, and Spark needs a file path for the
        log4j configuration.
    """
    return Path(str(resources.files("graphkit") / "conf"))


DEFAULT_CONF = profile_dir() / "local.conf"


def resolve_profile(name_or_path: str | os.PathLike) -> Path:
    """A profile path from a file path or the name of a shipped profile (``local``, ``cluster``).

    A path that exists wins, so a local file called ``cluster`` is still read as itself.
    """
    path = Path(name_or_path)
    if not path.exists() and path.name == str(name_or_path) and not path.suffix:
        shipped = profile_dir() / f"{path.name}.conf"
        if shipped.is_file():
            return shipped
    return path


def read_conf(path: str | os.PathLike) -> dict[str, str]:
    """Parse a spark-defaults style profile into a dict; a clear error for a bad file.

    Parameters
    ----------
    path : path or str
        A profile file, or the name of a shipped profile (``local``, ``cluster``).

    Returns
    -------
    dict of str to str
    """
    path = resolve_profile(path)
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in profile_dir().glob("*.conf")))
        raise GraphkitError(f"{path}: no such Spark profile (a spark-defaults style file, or one of: {shipped})")
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
    conf_file : path or str, optional
        Spark profile, a file or the name of a shipped one (``local``, ``cluster``); defaults
        to ``local`` (local mode, sized for a laptop).
    master : str, optional
        Overrides ``spark.master`` (``local[2]``, ``spark://host:7077``, ``yarn``...).
    app_name : str, optional
        Overrides ``spark.app.name``.
    extra : dict, optional
        Further Spark settings (the command line's ``--conf K=V``), applied last: they win over
        the profile and over spark-submit's settings.

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
    _choose_worker_python(conf, launched)
    conf.update(_jvm.merge_class_path(conf, launched))
    log_conf = profile_dir() / "log4j2.properties"
    if log_conf.is_file() and "spark.driver.extraJavaOptions" not in conf:
        conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{log_conf}"

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
    if spark.sparkContext.uiWebUrl:  # None when spark.ui.enabled is false
        log.info("Spark UI: %s", spark.sparkContext.uiWebUrl)
    return spark


def _choose_worker_python(conf: dict[str, str], launched: dict[str, str]) -> None:
    """Decide which interpreter the Python workers run, in place.

    PySpark takes the workers' interpreter from the ``PYSPARK_PYTHON`` environment variable when
    the SparkContext starts, not from ``spark.pyspark.python``; spark-submit exports the latter
    into the former. So the choice is made here, with Spark's precedence: an explicit setting
    (``--conf``, ``extra``, the profile) over the environment over the driver's own interpreter
    (right for local mode and for clusters whose nodes share the driver's environment). A
    shipped environment (``spark.archives`` with ``spark.pyspark.python=./environment/bin/python``)
    therefore wins whether it comes from spark-submit, ``--conf`` or a profile.
    """
    python = conf.get("spark.pyspark.python") or os.environ.get("PYSPARK_PYTHON") or sys.executable
    os.environ["PYSPARK_PYTHON"] = python
    if "spark.pyspark.python" not in launched:
        conf["spark.pyspark.python"] = python  # so spark.conf shows what the workers run
