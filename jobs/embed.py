"""spark-submit entry point for `graphkit embed` (same arguments)."""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["embed", *sys.argv[1:]]))
