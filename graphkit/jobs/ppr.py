"""spark-submit entry point for `graphkit ppr` (same arguments).

    spark-submit [spark options] "$(graphkit jobs-path)/ppr.py" ARGS...
    python -m graphkit.jobs.ppr ARGS...
"""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["ppr", *sys.argv[1:]]))
