"""Every benchmark in turn (``make bench``); each regenerates its section of docs/benchmarks.md.

    python bench/run_all.py            # the full set (hours on a 2-core machine: com-DBLP rows)
    python bench/run_all.py --quick    # the small graphs only (about half an hour)

A failing benchmark does not stop the others; the exit status says whether all of them ran.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (bench/ppr_kernels.py is a tuning tool for one graph and one mode at a time, run by hand.)
SCRIPTS = ("ppr.py", "embed.py", "lsh.py", "communities.py")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each script's quick mode")
    args = parser.parse_args(argv)
    failed = []
    for script in SCRIPTS:
        command = [sys.executable, str(HERE / script), *(["--quick"] if args.quick else [])]
        print(f"== {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        if subprocess.run(command).returncode != 0:
            failed.append(script)
        print(f"== {script}: {time.perf_counter() - started:.0f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
