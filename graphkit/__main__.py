"""``python -m graphkit``: the ``graphkit`` command, for environments without the console script
on PATH (a packed environment on an executor, ``spark-submit`` wrappers)."""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
