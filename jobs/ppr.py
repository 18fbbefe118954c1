"""spark-submit entry point for `graphkit ppr` (same arguments)."""

import sys

from graphkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["ppr", *sys.argv[1:]]))
