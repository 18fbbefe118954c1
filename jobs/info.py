"""spark-submit entry point for `graphkit info` (same arguments).

    spark-submit --master spark://host:7077 jobs/info.py INPUT [--undirected] [--json]
"""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["info", *sys.argv[1:]]))
