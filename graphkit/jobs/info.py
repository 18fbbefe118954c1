"""spark-submit entry point for `graphkit info` (same arguments).

    spark-submit [spark options] "$(graphkit jobs-path)/info.py" ARGS...
    python -m graphkit.jobs.info ARGS...
"""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["info", *sys.argv[1:]]))
