"""Frames of a boxes-layout Arrow table: the runs of equal ids, hashed only when needed.

One row per prediction, ``frame_id`` in a column: each frame's rows usually come
together, often in id order. Then a comparison of neighbours finds the frames, and no
id is hashed or sorted. Used by :meth:`PredictionTable.from_arrow
<assay.engine.sampling.PredictionTable.from_arrow>`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ascending", "column", "frames_of_rows", "take_sorted"]

_EMPTY_I64 = np.zeros(0, dtype=np.int64)


def column(table: pa.Table, name: str) -> pa.Array:
    """Column ``name`` as one array (no copy when it is one chunk already)."""
    col = table.column(name)
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def ascending(ids: pa.Array) -> bool:
    """Whether ``ids`` are strictly ascending (so sorted and distinct)."""
    m = len(ids)
    return m < 2 or bool(pc.all(pc.less(ids.slice(0, m - 1), ids.slice(1))).as_py())


def take_sorted(arr: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``arr[rows]`` for ascending ``rows``, as one array.

    Chunk by chunk: pyarrow's take of a chunked array concatenates every chunk first.
    """
    if isinstance(arr, pa.Array):
        return arr.take(pa.array(rows))
    bounds = np.cumsum([0, *(len(c) for c in arr.chunks)])
    cuts = np.searchsorted(rows, bounds)
    parts = [
        chunk.take(pa.array(rows[a:b] - start))
        for chunk, start, a, b in zip(arr.chunks, bounds[:-1], cuts[:-1], cuts[1:], strict=True)
    ]
    return pa.concat_arrays(parts) if parts else pa.array([], arr.type)


def frames_of_rows(
    ids: pa.Array | pa.ChunkedArray,
) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Rows' frame ids -> (frame of each row, ids of the frames, first row of each frame).

    Frames are numbered in order of first appearance. Only the runs of equal ids are
    looked at: when each frame's rows are adjacent (the usual export) there is one run
    per frame, and when those come in id order no id is even hashed.

    Example:
        >>> rows, ids, first = frames_of_rows(pa.array(["b", "b", "a", "b"]))
        >>> rows.tolist(), ids.to_pylist(), first.tolist()
        ([0, 0, 1, 0], ['b', 'a'], [0, 2])
    """
    n = len(ids)
    if n == 0:
        return _EMPTY_I64, pa.array([], pa.string()), _EMPTY_I64
    change = np.ones(n, dtype=bool)
    if n > 1:
        change[1:] = pc.not_equal(ids.slice(1), ids.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    run_start = np.flatnonzero(change)
    if 2 * len(run_start) > n:  # mostly single rows (interleaved frames): hash the rows
        run_start = np.arange(n, dtype=np.int64)
        run_ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        run_length = np.ones(n, dtype=np.int64)
    else:
        run_ids = take_sorted(ids, run_start)
        run_length = np.diff(run_start, append=n)
    if ascending(run_ids):  # one run per frame, in id order
        frame_of_run = np.arange(len(run_start), dtype=np.int64)
        return np.repeat(frame_of_run, run_length), run_ids, run_start.astype(np.int64)
    enc = run_ids.dictionary_encode()  # dictionary in first-appearance order
    frame_of_run = enc.indices.to_numpy().astype(np.int64)
    running = np.maximum.accumulate(frame_of_run)  # grows exactly where a frame is new
    first_run = np.flatnonzero(np.r_[True, running[1:] > running[:-1]])
    return (
        np.repeat(frame_of_run, run_length),
        enc.dictionary,
        run_start[first_run].astype(np.int64),
    )
