"""numpy helpers of the Spark tasks of :mod:`graphkit.lsh.signatures` and :mod:`graphkit.lsh.pairs`:
whole groups of a sorted partition streamed through ``mapInArrow``, and signature matrices
from Arrow columns. Imports neither pyspark nor pyarrow at module level.
"""

from __future__ import annotations

import numpy as np


def whole_groups(batches, convert, group_columns, budget: int):
    """Stream a partition sorted by ``group_columns`` as dicts of numpy columns holding whole
    groups only, about ``budget`` rows at a time (a group may span Arrow batches; it is carried
    over until it is complete)."""
    held, count, limit = [], 0, budget
    for batch in batches:
        if not batch.num_rows:
            continue
        held.append(convert(batch))
        count += batch.num_rows
        if count < limit:
            continue
        columns = {name: np.concatenate([h[name] for h in held]) for name in held[0]}
        cut = _last_group_start(columns, group_columns)
        if cut == 0:  # one group (a hub) fills everything: wait for twice as much, so copies stay linear
            held, limit = [columns], 2 * count
            continue
        yield {name: values[:cut] for name, values in columns.items()}
        held = [{name: values[cut:] for name, values in columns.items()}]
        count, limit = held[0][group_columns[0]].shape[0], budget
    if count:
        yield {name: np.concatenate([h[name] for h in held]) for name in held[0]}


def _last_group_start(columns, group_columns) -> int:
    n = columns[group_columns[0]].shape[0]
    same = np.ones(n, dtype=bool)
    for name in group_columns:
        same &= columns[name] == columns[name][-1]
    # rows are sorted by the group columns, so the last group is a suffix
    return int(n - np.argmin(same[::-1])) if not same.all() else 0


def group_starts(columns, group_columns) -> np.ndarray:
    n = columns[group_columns[0]].shape[0]
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for name in group_columns:
        values = columns[name]
        change[1:] |= values[1:] != values[:-1]
    return np.flatnonzero(change)



def signature_matrix(column, num_perm: int) -> np.ndarray:
    """uint32 ``(rows, num_perm)`` view of an Arrow ``list<int32>`` column of signatures."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(values, dtype=np.int32).view(np.uint32).reshape(-1, num_perm)



__all__ = ["whole_groups", "group_starts", "signature_matrix"]
