"""Load time of artifacts with and without graphkit's load-time checks (README numbers).

    python bench/load_checks.py LSH_INDEX [--ppr-index P] [--embeddings E] [--repeat 7]

Prints the median wall time of ``repeat`` loads (page cache warm: the first load is discarded)
for ``verify=False`` (sizes, headers, semantic checks), ``True`` (the default: + CRC-32) and
``"full"``, and the time of the semantic checks alone (the loader with ``Checks`` disabled).
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager
from unittest import mock


def median_seconds(load, repeat: int) -> float:
    load()  # warm the page cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        load()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def checks_disabled():
    """Every Checks method passes without looking at the data (to measure their cost)."""
    from graphkit.artifacts import Checks

    def ok(self, *args, **kwargs):
        return True

    names = ("require", "dtype", "sorted", "monotone", "in_range", "finite", "unique")
    with mock.patch.multiple(Checks, **{n: ok for n in names}):
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lsh")
    parser.add_argument("--ppr-index")
    parser.add_argument("--embeddings")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    from graphkit.embed import load_embeddings
    from graphkit.lsh import LSHIndex
    from graphkit.ppr import PPRIndex

    loaders = {"lsh index": (LSHIndex.load, args.lsh)}
    if args.ppr_index:
        loaders["ppr index"] = (PPRIndex.load, args.ppr_index)
    if args.embeddings:
        loaders["embeddings"] = (load_embeddings, args.embeddings)
    print(f"{'artifact':<12} {'verify=False':>13} {'True':>8} {'full':>8} {'checks off':>11} {'checks cost':>12}")
    for label, (load, path) in loaders.items():
        row = [median_seconds(lambda v=v: load(path, verify=v), args.repeat) for v in (False, True, "full")]
        with checks_disabled():
            bare = median_seconds(lambda: load(path, verify=False), args.repeat)
        print(f"{label:<12} {row[0]:>12.3f}s {row[1]:>7.3f}s {row[2]:>7.3f}s {bare:>10.3f}s {row[0] - bare:>11.3f}s")


if __name__ == "__main__":
    main()
