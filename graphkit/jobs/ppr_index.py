"""spark-submit entry point for `graphkit ppr-index` (same arguments).

    spark-submit [spark options] "$(graphkit jobs-path)/ppr_index.py" ARGS...
    python -m graphkit.jobs.ppr_index ARGS...
"""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["ppr-index", *sys.argv[1:]]))
