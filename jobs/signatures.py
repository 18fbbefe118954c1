"""spark-submit entry point for `graphkit signatures` (same arguments).

    spark-submit --master spark://host:7077 jobs/signatures.py INPUT OUTPUT [--undirected]
        [--neighbourhood out|in|both] [--num-perm 128] [--bands 64] [--pairs-threshold 0.5] [--seed 1]
"""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["signatures", *sys.argv[1:]]))
