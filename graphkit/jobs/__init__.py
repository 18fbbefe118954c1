"""spark-submit entry points, one file per Spark command, shipped inside the package.

Each ``<name>.py`` here runs ``graphkit <command>`` with the same arguments, and works both as
a file for ``spark-submit`` (which needs a path, not a module name) and as a module::

    spark-submit --master spark://host:7077 "$(graphkit jobs-path)/ppr.py" INPUT OUTPUT
    python -m graphkit.jobs.ppr INPUT OUTPUT          # the same, without spark-submit

``jobs/`` at the top of the source tree is a link to this folder, so ``spark-submit jobs/ppr.py``
keeps working from a checkout.
"""

from __future__ import annotations

from pathlib import Path

#: The job files and the ``graphkit`` subcommand each one runs.
JOBS: dict[str, str] = {
    "info.py": "info",
    "ppr.py": "ppr",
    "ppr_index.py": "ppr-index",
    "embed.py": "embed",
    "signatures.py": "signatures",
    "doctor.py": "doctor",
}


def jobs_path() -> Path:
    """The folder holding the job files (inside the installed package).

    Returns
    -------
    pathlib.Path
        An absolute path; pass ``<path>/<job>.py`` to ``spark-submit``.
    """
    return Path(__file__).resolve().parent
