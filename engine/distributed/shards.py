"""The Parquet shard layout of a sampling pool, and writing a pool as shards (pyarrow only).

A shard holds **one row per frame**, CVAL's frames layout, the one ``assay sample``
reads from Parquet as well:

============== ================================================================
``frame_id``   string (integers are read as their decimal string); unique over all
               shards
``predictions`` list of struct (detection): ``category_id`` (int or string),
               ``score`` (double in [0, 1]), ``embedding_id`` (string),
               ``probabilities`` (list of double), ``mc_probabilities`` (list of
               list of double); any field may be absent or null; an empty or null
               list is a frame without boxes
``prediction`` struct with the same fields, instead of ``predictions`` (classification)
============== ================================================================

One row per frame keeps every frame whole inside a Ray block, so per-frame reductions
never straddle two workers. A table with one row per prediction (``frame_id`` plus the
prediction fields as columns, the other layout ``assay sample`` reads) becomes this
layout with :func:`to_frames_layout`; :func:`write_prediction_shards` does that and
splits the frames into files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..sampling._arrow_frames import frames_of_rows
from ..sampling.table import BOX_FIELDS, Task

__all__ = ["SHARD_COLUMNS", "shard_task", "to_frames_layout", "write_prediction_shards"]

#: Columns of a shard: ``frame_id`` and ``predictions`` (detection) or ``prediction``.
SHARD_COLUMNS: dict[Task, tuple[str, str]] = {
    "detection": ("frame_id", "predictions"),
    "classification": ("frame_id", "prediction"),
}


def shard_task(names: Sequence[str]) -> Task:
    """The task of a shard schema's column names, or a ``ValueError`` saying what to write.

    Example:
        >>> shard_task(["frame_id", "predictions"])
        'detection'
    """
    names = list(names)
    for task, columns in SHARD_COLUMNS.items():
        if set(names) == set(columns):
            return task
    if "frame_id" in names and any(n in BOX_FIELDS for n in names):
        raise ValueError(
            "Expected shards with one row per frame (columns 'frame_id' and 'predictions', or "
            f"'prediction'), but got one row per prediction (columns {names}); convert them "
            "with assay.engine.distributed.to_frames_layout(table) or write_prediction_shards"
        )
    raise ValueError(
        "Expected shards with the columns 'frame_id' and 'predictions' (detection) or "
        f"'frame_id' and 'prediction' (classification), but got columns {names}"
    )


def to_frames_layout(table: pa.Table, *, task: Task = "detection") -> pa.Table:
    """One row per prediction -> one row per frame (frames in order of first appearance).

    Args:
        table: ``frame_id`` plus any of the prediction fields
            (``category_id``, ``score``, ``embedding_id``, ``probabilities``,
            ``mc_probabilities``) as columns; a row whose prediction fields are all
            null is a frame without boxes. A table already in the frames layout is
            returned as is.
        task: ``"detection"`` (a ``predictions`` list per frame) or
            ``"classification"`` (exactly one ``prediction`` per frame).

    Returns:
        ``frame_id`` (string) and ``predictions`` (list of struct) or ``prediction``.

    Raises:
        ValueError: no ``frame_id``, unknown columns, a classification frame without
            exactly one prediction.

    Example:
        >>> t = to_frames_layout(pa.table({"frame_id": ["b", "a", "b"],
        ...                                "score": [0.25, None, 0.5]}))
        >>> t.to_pylist()
        [{'frame_id': 'b', 'predictions': [{'score': 0.25}, {'score': 0.5}]},
         {'frame_id': 'a', 'predictions': []}]
    """
    names = table.column_names
    if "predictions" in names or "prediction" in names:
        shard_task(names)
        return table
    if "frame_id" not in names:
        raise ValueError(f"Expected a column 'frame_id', but the table has columns {names}")
    unknown = [n for n in names if n != "frame_id" and n not in BOX_FIELDS]
    if unknown:
        raise ValueError(
            f"Expected the columns to be among 'frame_id', {', '.join(map(repr, BOX_FIELDS))}, "
            f"but got unknown column {unknown[0]!r}"
        )
    ids = table.column("frame_id").combine_chunks()
    if pa.types.is_integer(ids.type):
        ids = pc.cast(ids, pa.string())
    if ids.null_count:
        row = int(np.flatnonzero(ids.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"Expected every row to have a frame_id, but got None (rows[{row}])")
    frame_of_row, frame_ids, _ = frames_of_rows(ids)  # frames in first-appearance order
    num_frames = len(frame_ids)
    fields = [n for n in names if n != "frame_id"]
    present = np.zeros(table.num_rows, dtype=bool)
    for name in fields:
        present |= table.column(name).combine_chunks().is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(present)
    if (np.diff(frame_of_row[rows]) < 0).any():  # rows not already frame after frame
        rows = rows[np.argsort(frame_of_row[rows], kind="stable")]
    take = pa.array(rows, pa.int64())
    structs = (
        pa.StructArray.from_arrays(
            [table.column(n).combine_chunks().take(take) for n in fields], names=fields
        )
        if fields
        else pa.array([{}] * 0, pa.struct([]))
    )
    counts = np.bincount(frame_of_row[rows], minlength=num_frames)
    if task == "classification":
        if (counts != 1).any():
            f = int(np.flatnonzero(counts != 1)[0])
            raise ValueError(
                "Expected exactly one prediction per classification frame, but frame_id "
                f"{frame_ids[f].as_py()!r} has {int(counts[f])}"
            )
        return pa.table({"frame_id": frame_ids, "prediction": structs})
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    predictions = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), structs)
    return pa.table({"frame_id": frame_ids, "predictions": predictions})


def write_prediction_shards(
    frames: pa.Table | Sequence[Mapping[str, Any]],
    directory: str | os.PathLike[str],
    num_shards: int,
    *,
    prefix: str = "part",
    task: Task = "detection",
) -> list[Path]:
    """Write a pool as ``num_shards`` Parquet files of about equal numbers of frames.

    Args:
        frames: an Arrow table in either layout, or CVAL-style frame dicts
            (``{"frame_id": ..., "predictions": [...]}``).
        directory: created if missing.
        num_shards: files to write (>= 1; at most one per frame, at least one).
        prefix: file names are ``{prefix}-00000.parquet``, ...
        task: ``"detection"`` or ``"classification"`` (for a one-row-per-prediction table).

    Returns:
        The paths written, in order.

    Example:
        >>> import tempfile
        >>> paths = write_prediction_shards(
        ...     [{"frame_id": "a", "predictions": [{"score": 0.5}]}, {"frame_id": "b"}],
        ...     tempfile.mkdtemp(), num_shards=2)
        >>> [p.name for p in paths], pq.read_table(paths[1]).to_pylist()
        (['part-00000.parquet', 'part-00001.parquet'], [{'frame_id': 'b', 'predictions': []}])
    """
    if isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards < 1:
        raise ValueError(f"Expected `num_shards` to be an int >= 1, but got {num_shards!r}")
    if isinstance(frames, pa.Table):
        table = to_frames_layout(frames, task=task)
    else:
        key = "prediction" if task == "classification" else "predictions"
        rows = [dict(fr) for fr in frames]
        if task == "detection":
            for fr in rows:
                fr.setdefault(key, [])
                if fr[key] is None:
                    fr[key] = []
        table = to_frames_layout(pa.Table.from_pylist(rows), task=task)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    n = table.num_rows
    bounds = np.linspace(0, n, min(num_shards, max(n, 1)) + 1).round().astype(np.int64)
    paths = []
    for i in range(len(bounds) - 1):
        path = out / f"{prefix}-{i:05d}.parquet"
        pq.write_table(table.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i])), path)
        paths.append(path)
    return paths
