"""``graphkit pack-env``: pack a virtualenv with graphkit for ``spark.archives``.

Executors need graphkit and its compiled dependencies (numpy, scipy, pyarrow, scikit-learn).
``--py-files`` cannot carry those: Python imports zip archives only for pure-Python code, never
for extension modules (``.so`` files). So the whole environment travels instead: venv-pack writes
it as a relocatable ``.tar.gz``, and Spark unpacks ``--archives env.tar.gz#environment`` into every
executor's working directory, where ``spark.pyspark.python=./environment/bin/python`` runs it.
A packed virtualenv links to its base interpreter (``bin/python`` is a symlink), so the nodes
need the same Python at the same path; the packages come from the archive.

pyspark is left out by default (about 90 % of the archive): Spark puts its own ``pyspark.zip``
first on the executors' ``PYTHONPATH``, so the archive's copy would never be imported, and the
cluster's pyspark must match its JVM anyway.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from graphkit.errors import GraphkitError, RuntimeDependencyError

log = logging.getLogger(__name__)


def pack_environment(output: str | os.PathLike, prefix: str | os.PathLike | None = None,
                     overwrite: bool = False, include_pyspark: bool = False) -> Path:
    """Write a virtualenv as a ``.tar.gz`` for ``spark.archives``.

    Parameters
    ----------
    output : path
        The archive to write (``.tar.gz``, ``.tgz`` or ``.zip``).
    prefix : path, optional
        The virtualenv to pack; default the one running this Python. graphkit must be installed
        in it from a wheel: venv-pack refuses editable installs (``pip install -e``), whose code
        stays in the source tree.
    overwrite : bool
        Replace an existing ``output``.
    include_pyspark : bool
        Keep the ``pyspark`` package in the archive (see the module notes).

    Returns
    -------
    pathlib.Path
        The archive written.

    Raises
    ------
    RuntimeDependencyError
        venv-pack is not installed.
    GraphkitError
        Not a virtualenv, graphkit missing or editable, or ``output`` exists.
    """
    try:
        import venv_pack
    except ImportError:
        raise RuntimeDependencyError(
            "pack-env needs venv-pack: pip install venv-pack (or graphkit[pack])") from None
    prefix = Path(prefix or sys.prefix).resolve()
    output = Path(output).resolve()
    if output.exists() and not overwrite:
        raise GraphkitError(f"{output} exists (use --overwrite to replace it)")
    if not (prefix / "pyvenv.cfg").is_file():
        raise GraphkitError(f"{prefix} is not a virtualenv (no pyvenv.cfg); create one with "
                            "python -m venv, pip install graphkit into it, and pack that")
    if not list(prefix.glob("lib/python*/site-packages/graphkit/__init__.py")):
        raise GraphkitError(f"graphkit is not installed in {prefix} (or only as an editable install, "
                            "which cannot be packed: install the wheel, e.g. `make pack` in a checkout)")
    filters = [] if include_pyspark else [("exclude", "lib/python*/site-packages/pyspark/*")]
    started = time.perf_counter()
    log.info("packing %s into %s", prefix, output)
    try:
        venv_pack.pack(prefix=str(prefix), output=str(output), force=overwrite, filters=filters)
    except venv_pack.VenvPackException as exc:
        raise GraphkitError(" ".join(str(exc).split())) from None
    size = output.stat().st_size
    log.info("wrote %s (%.1f MB) in %.1f s; ship it with --archives %s#environment "
             "--conf spark.pyspark.python=./environment/bin/python",
             output, size / 1e6, time.perf_counter() - started, output.name)
    return output
