"""Sampling files: predictions (JSON lines, JSON, Parquet), embeddings (.npy, Parquet, JSON lines).

Predictions, either layout of :class:`~.table.PredictionTable`:

- one row per frame: ``{"frame_id": "f1", "predictions": [{"score": 0.8, ...}, ...]}``
  (or ``"prediction": {...}`` for classification);
- one row per prediction: ``{"frame_id": "f1", "score": 0.8, "category_id": 3, ...}``,
  a row with only a ``frame_id`` (or null fields) being a frame without boxes.

``.jsonl`` / ``.ndjson`` hold one JSON object per line; ``.json`` one array of them
(or a whole request object, see :func:`read_request`); ``.parquet`` / ``.pq`` the same
columns (``predictions`` a list of structs).

Embeddings: ``.npy`` (an ``(N, D)`` array of numbers; the ids, one per line, in a
``.txt`` file or a JSON array in a ``.json`` file: :func:`read_ids`), ``.parquet`` or
``.jsonl`` with an id column (``id``, ``embedding_id`` or ``frame_id``) and a vector
column (``embedding`` or ``vector``).
"""

from __future__ import annotations

import functools
import json
import os
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..formats._json_lines import read_json_lines, split_lines
from ..index._inputs import load_npy
from .table import PredictionTable, Task

__all__ = [
    "EMBEDDING_ID_COLUMNS",
    "EMBEDDING_VECTOR_COLUMNS",
    "read_embeddings",
    "read_ids",
    "read_predictions",
    "read_request",
]

_T = TypeVar("_T")
_JSONL = (".jsonl", ".ndjson")
_PARQUET = (".parquet", ".pq")
_JSON_BLOCK = 1 << 24  # bytes per block of pyarrow's JSON reader: no record may straddle two
#: Accepted names of the id column of an embeddings table, in order of preference.
EMBEDDING_ID_COLUMNS: tuple[str, ...] = ("id", "embedding_id", "frame_id")
#: Accepted names of the vector column of an embeddings table.
EMBEDDING_VECTOR_COLUMNS: tuple[str, ...] = ("embedding", "vector")


def _existing(path: str | os.PathLike[str], what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"Expected `{what}` to be an existing file, but got {str(p)!r}")
    return p


def _arrow_json_lines(path: Path) -> pa.Table | None:
    """JSON lines through pyarrow's reader (C++; docs/performance.md has the figures).

    ``None`` when it cannot read the file (invalid JSON, a column whose values change
    type, a record larger than a block, bytes that are not UTF-8) or when the table it
    built is not valid: the Python reader then accepts what it accepts and names the
    offending line or item. The full validation is not optional: pyarrow 26 drops a
    leading ``null`` of a list but keeps counting it (apache/arrow#51305), which
    shifts the values of the rows after it.
    """
    import pyarrow.json as pj

    try:
        table = pj.read_json(path, read_options=pj.ReadOptions(block_size=_JSON_BLOCK))
        table.validate(full=True)  # list offsets in bounds, strings UTF-8
    except (pa.ArrowException, OSError, ValueError):  # ValueError: UnicodeDecodeError
        return None
    return table


def _through_arrow(path: Path, load: Callable[[pa.Table], _T | None]) -> _T | None:
    """``load`` of the file as read by :func:`_arrow_json_lines`, or None.

    None when pyarrow cannot read the file or ``load`` refuses the table (returns None,
    raises ValueError or TypeError): the caller then reads it again record by record,
    with the same rules and that reader's error names. The table is no longer held by
    then.
    """
    table = _arrow_json_lines(path)
    if table is None:
        return None
    try:
        return load(table)
    except (ValueError, TypeError):
        return None


def _json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"Expected `{what}` to be valid JSON, but {str(path)!r} is not: {exc}"
        ) from None


def _parquet(path: Path, what: str) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(
            f"Expected `{what}` to be a Parquet file, but {str(path)!r} could not be read: {exc}"
        ) from None


def _suffix_error(path: Path, what: str, kinds: str) -> ValueError:
    return ValueError(f"Expected `{what}` to be {kinds}, but got {str(path)!r}")


def read_request(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The request object of a ``.json`` file, or None when the file holds no request.

    A request is a JSON object with a ``frames`` key (CVAL's request body).

    Example:
        >>> import json, tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "req.json"
        >>> _ = p.write_text(json.dumps({"num_of_samples": 1, "frames": []}))
        >>> read_request(p)
        {'num_of_samples': 1, 'frames': []}
    """
    p = _existing(path, "predictions")
    if p.suffix.lower() != ".json":
        return None
    data = _json(p, "predictions")
    if isinstance(data, Mapping) and "frames" in data:
        return dict(data)
    return None


def read_predictions(path: str | os.PathLike[str], *, task: Task | None = None) -> PredictionTable:
    r"""Read a predictions file into a :class:`PredictionTable` (either layout).

    Args:
        path: ``.jsonl``/``.ndjson``, ``.json`` (an array of records, or a request
            object whose ``frames`` are read) or ``.parquet``/``.pq``.
        task: ``"detection"`` / ``"classification"``; default: from the data.

    Returns:
        The table.

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown suffix, unreadable content, a bad record (named).
        TypeError: a value of the wrong type, e.g. a float ``category_id`` (named).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "pred.jsonl"
        >>> _ = p.write_text('{"frame_id": "a", "score": 0.4}\n{"frame_id": "b"}\n')
        >>> read_predictions(p).boxes_per_frame().tolist()
        [1, 0]
    """
    p = _existing(path, "predictions")
    suffix = p.suffix.lower()
    if suffix in _PARQUET:
        return PredictionTable.from_arrow(_parquet(p, "predictions"), task=task)
    if suffix in _JSONL:
        fast = _through_arrow(p, functools.partial(PredictionTable.from_arrow, task=task))
        if fast is not None:
            return fast
        return PredictionTable.from_records(read_json_lines(p, "predictions"), task=task)
    if suffix == ".json":
        data = _json(p, "predictions")
        if isinstance(data, Mapping) and "frames" in data:
            data = data["frames"]
        if not isinstance(data, list):
            raise ValueError(
                f"Expected `predictions` to be a JSON array of records (or a request object), "
                f"but {str(p)!r} holds {type(data).__name__}"
            )
        return PredictionTable.from_records(data, task=task)
    raise _suffix_error(p, "predictions", "a .jsonl, .ndjson, .json, .parquet or .pq file")


def read_ids(path: str | os.PathLike[str], *, what: str = "ids") -> list[str]:
    r"""Read a list of ids: a ``.json`` array, or any other file with one id per line.

    JSON arrays hold str or int ids (an int becomes its decimal string, as frame ids
    do); anything else is an error naming the file and the item. In a text file,
    each line is stripped of surrounding ASCII whitespace (``string.whitespace``: a
    trailing space or ``\r`` is not part of an id) and blank lines are skipped.

    Args:
        path: the file.
        what: what the ids are, for messages (e.g. ``"--labeled"``).

    Returns:
        The ids, in file order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: invalid JSON, a JSON value that is not an array, bytes that are not
            UTF-8.
        TypeError: a JSON item that is neither a str nor an int (named).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "ids.txt").write_text("a\n  b \n\n")
        >>> _ = (d / "ids.json").write_text('["a", 7]')
        >>> read_ids(d / "ids.txt"), read_ids(d / "ids.json")
        (['a', 'b'], ['a', '7'])
    """
    p = _existing(path, what)
    if p.suffix.lower() != ".json":
        lines = (ln.strip(string.whitespace) for ln in split_lines(p.read_text(encoding="utf-8")))
        return [ln for ln in lines if ln]
    ids = _json(p, what)
    if not isinstance(ids, list):
        raise ValueError(
            f"Expected `{what}` to be a JSON array of str or int ids, but {str(p)!r} holds "
            f"{type(ids).__name__}"
        )
    if set(map(type, ids)) <= {str}:
        return ids
    for i, item in enumerate(ids):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise TypeError(
                f"Expected `{what}` to be a JSON array of str or int ids, but got {item!r} "
                f"(first offending item: {p}[{i}])"
            )
    return [item if isinstance(item, str) else str(item) for item in ids]


def _read_npy(path: Path) -> np.ndarray:
    """The array of a ``.npy`` embeddings file, checked to hold numbers."""
    expected = "Expected the .npy embeddings to be an (N, D) array of numbers, but"
    array = load_npy(path, expected)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{expected} {str(path)!r} holds dtype {array.dtype}")
    return array


def _table_embeddings(table: pa.Table, what: str) -> tuple[list[str], np.ndarray]:
    names = table.column_names
    id_col = next((c for c in EMBEDDING_ID_COLUMNS if c in names), None)
    vec_col = next((c for c in EMBEDDING_VECTOR_COLUMNS if c in names), None)
    if id_col is None or vec_col is None:
        raise ValueError(
            f"Expected `{what}` to have an id column ({' or '.join(EMBEDDING_ID_COLUMNS)}) and a "
            f"vector column ({' or '.join(EMBEDDING_VECTOR_COLUMNS)}), but it has {names}"
        )
    ids_arr = table.column(id_col).combine_chunks()
    if pa.types.is_integer(ids_arr.type) or pa.types.is_large_string(ids_arr.type):
        ids_arr = pc.cast(ids_arr, pa.string())
    if not pa.types.is_string(ids_arr.type) and len(ids_arr) and ids_arr.null_count < len(ids_arr):
        r = int(np.flatnonzero(ids_arr.is_valid().to_numpy(zero_copy_only=False))[0])
        raise TypeError(
            f"Expected column {id_col!r} to hold str or int ids, but got {ids_arr.type} "
            f"{ids_arr[r].as_py()!r} (row {r})"
        )
    if ids_arr.null_count:
        r = int(np.flatnonzero(ids_arr.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"Expected every embedding to have an id, but got None (row {r})")
    vec = table.column(vec_col).combine_chunks()
    if not (
        pa.types.is_list(vec.type)
        or pa.types.is_large_list(vec.type)
        or pa.types.is_fixed_size_list(vec.type)
    ):
        raise TypeError(f"Expected column {vec_col!r} to hold lists of numbers, but got {vec.type}")
    if vec.null_count:
        r = int(np.flatnonzero(vec.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"Expected every embedding to be a vector, but row {r} is null")
    lengths = pc.list_value_length(vec).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths != lengths[0]).any():
        r = int(np.flatnonzero(lengths != lengths[0])[0])
        raise ValueError(
            f"Expected every embedding to have dimension {int(lengths[0])}, but got "
            f"{int(lengths[r])} (first offending item: row {r}, id {ids_arr[r].as_py()!r})"
        )
    flat = pc.list_flatten(vec)
    if len(flat) and not (pa.types.is_floating(flat.type) or pa.types.is_integer(flat.type)):
        raise TypeError(f"Expected column {vec_col!r} to hold numbers, but got {vec.type}")
    dim = int(lengths[0]) if len(lengths) else 0
    values = pc.cast(flat, pa.float32()).to_numpy(zero_copy_only=False) if len(flat) else []
    array = np.asarray(values, dtype=np.float32).reshape(len(lengths), dim)
    return ids_arr.to_pylist(), array


def read_embeddings(
    path: str | os.PathLike[str], *, ids: str | os.PathLike[str] | None = None
) -> tuple[list[str], np.ndarray]:
    r"""Read embeddings: ``(ids, (N, D) float32 array)``.

    Args:
        path: ``.npy`` (needs ``ids``), ``.parquet``/``.pq`` or ``.jsonl``/``.ndjson``.
        ids: for ``.npy``: a ``.txt`` file with one id per line or a ``.json`` array
            (see :func:`read_ids`).

    Returns:
        The ids and their vectors, row for row.

    Raises:
        FileNotFoundError: a missing file.
        ValueError: a bad suffix, ids that do not pair with the rows, ragged vectors,
            an empty or unreadable ``.npy`` file (named).
        TypeError: ids that are neither str nor int, vectors that are not numbers.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "emb.jsonl"
        >>> _ = p.write_text('{"id": "a", "embedding": [1, 2]}\n')
        >>> read_embeddings(p)
        (['a'], array([[1., 2.]], dtype=float32))
    """
    p = _existing(path, "embeddings")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        if ids is None:
            raise ValueError(
                "Expected the ids of the .npy embeddings (`--embedding-ids`, a .txt file with "
                "one id per line or a .json array), but got none"
            )
        array = _read_npy(p)
        id_list = read_ids(ids, what="embedding ids")
        if array.ndim != 2:
            raise ValueError(
                f"Expected the .npy embeddings to be 2-D (N, D), but got shape {array.shape}"
            )
        if array.shape[0] != len(id_list):
            raise ValueError(
                f"Expected one embedding id per row, but got {len(id_list)} ids for "
                f"{array.shape[0]} rows"
            )
        return id_list, np.asarray(array, dtype=np.float32)
    if suffix in _PARQUET:
        return _table_embeddings(_parquet(p, "embeddings"), "embeddings")
    if suffix in _JSONL:
        fast = _through_arrow(p, functools.partial(_table_embeddings, what="embeddings"))
        if fast is not None:
            return fast
        records = read_json_lines(p, "embeddings")
        keys = list(dict.fromkeys(k for rec in records if isinstance(rec, Mapping) for k in rec))
        try:
            table = pa.table({k: [rec.get(k) for rec in records] for k in keys})
        except (pa.ArrowException, TypeError, AttributeError, OverflowError) as exc:
            raise ValueError(f"Expected `embeddings` records of one shape: {exc}") from None
        return _table_embeddings(table, "embeddings")
    raise _suffix_error(p, "embeddings", "a .npy, .parquet, .pq, .jsonl or .ndjson file")
