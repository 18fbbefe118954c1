"""Long fuzzing run: the property-based tests of tests/test_fuzz.py with many more examples.

    python bench/fuzz.py [--examples 5000] [-k EXPR]

The test suite runs the same properties with the ``ci`` profile (tens of examples, seconds per
test); this sets ``HYPOTHESIS_PROFILE=long`` with ``--examples`` examples per property and runs
them with pytest. A failure prints the shrunk example and a ``@reproduce_failure`` blob.
Hypothesis keeps found failures in ``.hypothesis/`` and replays them first on the next run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=5000, help="examples per property (default 5000)")
    parser.add_argument("-k", default="not threads", help="pytest -k expression (default: all but the thread check)")
    args = parser.parse_args()
    env = {**os.environ, "HYPOTHESIS_PROFILE": "long", "GRAPHKIT_FUZZ_EXAMPLES": str(args.examples)}
    return subprocess.call([sys.executable, "-m", "pytest", "tests/test_fuzz.py", "-q", "-k", args.k,
                            "-p", "no:cacheprovider"], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
