"""Registry of the subcommands that capability packages add to the ``graphkit`` CLI.

Each registrar takes the argparse sub-parsers object and adds its commands; handlers import
their (possibly Spark-side) modules only when they run, so ``graphkit --help`` and the REPL
start fast.
"""

REGISTRARS: list = []
