"""spark-submit entry point for `graphkit signatures` (same arguments).

    spark-submit [spark options] "$(graphkit jobs-path)/signatures.py" ARGS...
    python -m graphkit.jobs.signatures ARGS...
"""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["signatures", *sys.argv[1:]]))
