"""spark-submit entry point for `graphkit embed` (same arguments).

    spark-submit [spark options] "$(graphkit jobs-path)/embed.py" ARGS...
    python -m graphkit.jobs.embed ARGS...
"""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["embed", *sys.argv[1:]]))
