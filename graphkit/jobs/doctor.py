"""spark-submit entry point for `graphkit doctor` (same arguments).

    spark-submit [spark options] "$(graphkit jobs-path)/doctor.py" ARGS...
    python -m graphkit.jobs.doctor ARGS...
"""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["doctor", *sys.argv[1:]]))
