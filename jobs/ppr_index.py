"""spark-submit entry point for `graphkit ppr-index` (same arguments)."""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["ppr-index", *sys.argv[1:]]))
