"""Classification ground truths and predictions with key/value labels -> per-key tables.

A datum (an image, a crop, a table row) carries one ground-truth *value* per label
*key* (``class=truck``, ``occluded=yes``); each key is a classification problem of
its own. Inputs are columnar, one row per record:

ground truths
    ``datum_uid``, ``key`` (optional, default ``"class"``), ``value``.
predictions, one of three layouts
    - long: ``datum_uid``, ``key``, ``value``, ``score`` (optional: without a score,
      or with a null one, the row is a hard label);
    - valor-lite style: ``datum_uid``, ``key``, ``values`` (list of str),
      ``scores`` (list of float, same length);
    - dense: ``datum_uid``, ``key``, ``scores`` (list of float) aligned with the
      declared ``labels[key]``.

Each table may be a path (``.jsonl`` / ``.ndjson`` / ``.json``: JSON lines, or one
JSON array of records; ``.parquet``), a ``pyarrow.Table``, a mapping of column name
to sequence / numpy array / tensor, or a sequence of record dicts. Uids and values
are mapped to dense indexes here, once, with pyarrow. Every record is checked; an
error names the table, the record (0-based) and the field, for example
``predictions[4].score``. Nothing is dropped or coerced silently: a column outside
the table's layout is an error too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._json_lines import read_json_lines, starts_with

__all__ = [
    "ClassificationFormatError",
    "ClassificationTables",
    "DEFAULT_KEY",
    "LabelKeyTable",
    "load_classification",
    "read_records",
]

DEFAULT_KEY = "class"
_GT_COLUMNS = ("datum_uid", "key", "value")
# the predictions' layout is told by the first of these keys that is a column of the table
_PD_COLUMNS = {
    "values": ("datum_uid", "key", "values", "scores"),
    "value": ("datum_uid", "key", "value", "score"),
    "scores": ("datum_uid", "key", "scores"),
}
_PD_LAYOUTS = {
    "values": " in the valor-lite layout ('values' and 'scores' lists)",
    "value": " in the long layout (one 'value' per row)",
    "scores": " in the dense layout ('scores' vectors)",
}
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
_PARQUET_SUFFIXES = (".parquet", ".pq")


class ClassificationFormatError(ValueError):
    """Classification ground truths or predictions that cannot be evaluated as they are."""


@dataclass(frozen=True)
class LabelKeyTable:
    """Ground truths and predictions of one label key, as dense indexes.

    Attributes:
        key: the label key.
        datum_uids: ``(D,)`` object array of the datums with a ground truth for this
            key, in ground-truth order; datum index ``d`` is ``datum_uids[d]``.
        values: label values in first-seen order (per datum: its ground truth, then
            its predictions in input order); value index ``v`` is ``values[v]``.
        target: ``(D,)`` int64 ground-truth value index.
        gt_record: ``(D,)`` int64 record of each ground truth in its table.
        pd_datum: ``(R,)`` int64 datum index, rows grouped by datum in input order.
        pd_value: ``(R,)`` int64 predicted value index.
        pd_score: ``(R,)`` float64 score, ``nan`` for a hard label.
        pd_record: ``(R,)`` int64 record of each row in the predictions table.
        dense: the predictions came as dense ``scores`` vectors over ``values``.
    """

    key: str
    datum_uids: np.ndarray
    values: tuple[str, ...]
    target: np.ndarray
    gt_record: np.ndarray
    pd_datum: np.ndarray
    pd_value: np.ndarray
    pd_score: np.ndarray
    pd_record: np.ndarray
    dense: bool = False


@dataclass(frozen=True)
class ClassificationTables:
    """All label keys of an evaluation.

    Attributes:
        keys: one table per label key, in ground-truth order.
        declared: the ``labels`` the caller declared per key (empty when none).
    """

    keys: tuple[LabelKeyTable, ...]
    declared: Mapping[str, tuple[str, ...]]


# ------------------------------------------------------------------------ reading


def _read_json_records(path: Path, what: str) -> list[Any]:
    if not starts_with(path, "["):
        return read_json_lines(path, what, ClassificationFormatError)
    try:
        records = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ClassificationFormatError(
            f"Expected `{what}` to be UTF-8 text, but {str(path)!r} is not: {exc.reason}"
        ) from None
    except json.JSONDecodeError as exc:
        raise ClassificationFormatError(
            f"Expected `{what}` to be valid JSON, but {str(path)!r} is not: {exc}"
        ) from None
    return list(records)


def read_records(source: str | os.PathLike[str], what: str) -> pa.Table | list[Any]:
    """Read a JSON lines / JSON / Parquet file into records or a table.

    Args:
        source: path; the suffix picks the reader (``.jsonl``, ``.ndjson``,
            ``.json``, ``.parquet``, ``.pq``).
        what: the argument name, for error messages.

    Returns:
        A list of records (JSON) or a ``pyarrow.Table`` (Parquet).

    Raises:
        FileNotFoundError: no such file.
        ClassificationFormatError: unknown suffix or unreadable content.
    """
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"Expected `{what}` to be an existing file, but got {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise ClassificationFormatError(
                f"Expected `{what}` to be a Parquet file, but {str(path)!r} could not be read: "
                f"{exc}"
            ) from None
    if suffix in _JSON_SUFFIXES:
        return _read_json_records(path, what)
    raise ClassificationFormatError(
        f"Expected `{what}` to be a JSON lines ({', '.join(_JSON_SUFFIXES)}) or Parquet "
        f"({', '.join(_PARQUET_SUFFIXES)}) file, but got {str(path)!r}"
    )


def _records_to_columns(records: Sequence[Any], what: str) -> dict[str, list[Any]]:
    keys: dict[str, None] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise TypeError(
                f"Expected `{what}[{i}]` to be an object (dict), but got {type(rec).__name__}"
            )
        for k in rec:
            keys.setdefault(str(k), None)
    columns: dict[str, list[Any]] = {k: [] for k in keys}
    # a record without the optional key has the default one (found by fuzzing: it read
    # as an explicit null), one without a score is a hard label
    missing = {"key": DEFAULT_KEY, "score": None}
    for i, rec in enumerate(records):
        for k in keys:
            if k in rec:
                columns[k].append(rec[k])
            elif k in missing:
                columns[k].append(missing[k])
            else:
                raise ClassificationFormatError(
                    f"Expected `{what}[{i}]` to have key {k!r} like the other records, but it "
                    f"has keys {sorted(map(str, rec))}"
                )
    return columns


def _to_table(source: Any, what: str) -> pa.Table:
    if isinstance(source, (str, os.PathLike)):
        source = read_records(source, what)
    if isinstance(source, pa.RecordBatch):
        source = pa.Table.from_batches([source])
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, Mapping):
        columns = dict(source)
    elif isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)):
        columns = _records_to_columns(source, what)
    else:
        raise TypeError(
            f"Expected `{what}` to be a path, a pyarrow.Table, a mapping of columns or a list "
            f"of records, but got {type(source).__name__}"
        )
    lengths = {}
    arrays = {}
    for name, col in columns.items():
        if hasattr(col, "detach"):  # a torch tensor
            col = col.detach().cpu().numpy()
        try:
            lengths[str(name)] = len(col)
        except TypeError:
            raise TypeError(
                f"Expected column `{what}.{name}` to be a sequence, but got {type(col).__name__}"
            ) from None
        arrays[str(name)] = col
    if len(set(lengths.values())) > 1:
        raise ClassificationFormatError(
            f"Expected the columns of `{what}` to have the same length, but got lengths {lengths}"
        )
    out = {}
    for name, col in arrays.items():
        try:
            out[name] = pa.array(
                col.tolist() if isinstance(col, np.ndarray) and col.dtype == object else col
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            raise TypeError(_mixed_types_message(what, name, list(col))) from None
    return pa.table(out) if out else pa.table({})


def _mixed_types_message(what: str, name: str, values: list[Any]) -> str:
    first = type(values[0]) if values else type(None)
    for i, v in enumerate(values):
        if v is not None and not isinstance(v, first):
            return (
                f"Expected column `{what}.{name}` to hold values of one type, but "
                f"`{what}[{i}].{name}` is {v!r} ({type(v).__name__}) after "
                f"{first.__name__} values"
            )
    return f"Expected column `{what}.{name}` to hold values of one type"


# ------------------------------------------------------------------------ columns


def _known_columns(table: pa.Table, allowed: tuple[str, ...], what: str, layout: str) -> None:
    """A column outside ``allowed`` is an error: it would be ignored (e.g. a misspelt score)."""
    unknown = [c for c in table.column_names if c not in allowed]
    if unknown:
        listed = ", ".join(repr(c) for c in allowed)
        raise ClassificationFormatError(
            f"Expected the columns of `{what}`{layout} to be among {listed}, but got unknown "
            f"column {unknown[0]!r} (it would be ignored)"
        )


def _column(table: pa.Table, name: str, what: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise ClassificationFormatError(
            f"Expected `{what}` to have a column {name!r}, but it has {table.column_names}"
        )
    return table.column(name)


def _first_bad(values: list[Any], ok: Any) -> int:
    return next(i for i, v in enumerate(values) if not ok(v))


def _string_like(col: pa.ChunkedArray, what: str, name: str, allow_int: bool) -> np.ndarray:
    """``(N,)`` object array of str (or int for uids); nulls and other types rejected."""
    t = col.type
    ok_types = pa.types.is_string(t) or pa.types.is_large_string(t)
    if allow_int:
        ok_types = ok_types or pa.types.is_integer(t)
    if not ok_types or col.null_count:
        values = col.to_pylist()
        kinds = "a string or an int" if allow_int else "a string"

        def ok(v: Any) -> bool:
            return isinstance(v, str) or (
                allow_int and isinstance(v, int) and not isinstance(v, bool)
            )

        if all(ok(v) for v in values):  # e.g. a null-typed empty column
            return np.asarray(values, dtype=object)
        i = _first_bad(values, ok)
        raise TypeError(
            f"Expected `{what}[{i}].{name}` to be {kinds}, but got {values[i]!r} "
            f"({type(values[i]).__name__})"
        )
    return np.asarray(col.to_pylist(), dtype=object)


def _score_column(col: pa.ChunkedArray, what: str, name: str) -> np.ndarray:
    """``(N,)`` float64; null -> nan (hard label); non-numbers and non-finite rejected."""
    t = col.type
    if not (pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_null(t)):
        values = col.to_pylist()
        i = _first_bad(
            values, lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
        )
        raise TypeError(
            f"Expected `{what}[{i}].{name}` to be a number, but got {values[i]!r} "
            f"({type(values[i]).__name__})"
        )
    arr = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
    arr = np.asarray(arr, dtype=np.float64)
    valid = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    bad = valid & ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ClassificationFormatError(
            f"Expected `{what}[{i}].{name}` to be a finite number, but got {float(arr[i])!r}"
        )
    return np.where(valid, arr, np.nan)


def _list_column(
    col: pa.ChunkedArray, what: str, name: str, numeric: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Flatten a list column: ``(values, offsets)`` with ``offsets`` ``(N + 1,)``."""
    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)) or arr.null_count:
        values = col.to_pylist()
        i = _first_bad(values, lambda v: isinstance(v, list))
        raise TypeError(
            f"Expected `{what}[{i}].{name}` to be a list, but got {values[i]!r} "
            f"({type(values[i]).__name__})"
        )
    offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    flat = pa.chunked_array([arr.flatten()])
    record = np.repeat(np.arange(len(arr)), np.diff(offsets))
    try:
        if numeric:
            out = _score_column(flat, what, name)
            if np.isnan(out).any():
                raise ClassificationFormatError(f"`{what}.{name}` holds a null")
        else:
            out = _string_like(flat, what, name, allow_int=False)
    except (TypeError, ClassificationFormatError) as exc:
        # re-point the message at the record holding the bad element
        values = flat.to_pylist()
        if numeric:
            i = _first_bad(
                values,
                lambda v: (
                    isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
                ),
            )
        else:
            i = _first_bad(values, lambda v: isinstance(v, str))
        r = int(record[i])
        kind = "finite numbers" if numeric else "strings"
        raise type(exc)(
            f"Expected `{what}[{r}].{name}` to be a list of {kind}, but it holds "
            f"{values[i]!r} at position {i - int(offsets[r])}"
        ) from None
    return out, offsets


def _encode(*arrays: np.ndarray) -> tuple[list[np.ndarray], list[Any]]:
    """Dense codes in first-appearance order over the concatenation of ``arrays``."""
    joined = np.concatenate([a.astype(object) for a in arrays]) if arrays else np.array([])
    if joined.size == 0:
        return [np.zeros(0, dtype=np.int64) for _ in arrays], []
    # ints and strs are kept apart: 1 and "1" are different uids
    typed = [(type(v).__name__, v) for v in joined] if _mixed(joined) else None
    if typed is not None:
        keys = {k: i for i, k in enumerate(dict.fromkeys(typed))}
        codes = np.fromiter((keys[k] for k in typed), dtype=np.int64, count=len(typed))
        uniques = [k[1] for k in keys]
    else:
        enc = pa.array(joined.tolist()).dictionary_encode()
        codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        uniques = enc.dictionary.to_pylist()
    out, start = [], 0
    for a in arrays:
        out.append(codes[start : start + len(a)])
        start += len(a)
    return out, uniques


def _mixed(values: np.ndarray) -> bool:
    return len({type(v) for v in values[: 1 << 20]} | {type(values[-1])}) > 1


def _first_duplicate(code: np.ndarray) -> tuple[int, int] | None:
    """``(later, first)`` records of the first repeated code (by the later record)."""
    if code.size < 2:
        return None
    order = np.argsort(code, kind="stable")
    s = code[order]
    dup = np.flatnonzero(s[1:] == s[:-1])
    if dup.size == 0:
        return None
    later = order[dup + 1]
    j = int(np.argmin(later))
    first = int(order[np.searchsorted(s, s[dup[j]])])
    return int(later[j]), first


# ------------------------------------------------------------------------- loading


def _keys_column(table: pa.Table, what: str) -> np.ndarray:
    if "key" not in table.column_names:
        return np.full(table.num_rows, DEFAULT_KEY, dtype=object)
    col = table.column("key")
    if col.null_count and col.null_count == table.num_rows:
        return np.full(table.num_rows, DEFAULT_KEY, dtype=object)
    return _string_like(col, what, "key", allow_int=False)


def _check_declared(
    labels: Mapping[str, Sequence[str]] | None,
) -> dict[str, tuple[str, ...]]:
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise TypeError(
            f"Expected `labels` to map each key to its values, but got {type(labels).__name__}"
        )
    out: dict[str, tuple[str, ...]] = {}
    for key, values in labels.items():
        if isinstance(values, str) or not all(isinstance(v, str) for v in values):
            raise TypeError(
                f"Expected `labels[{key!r}]` to be a sequence of strings, but got {values!r}"
            )
        vals = tuple(values)
        if not vals or len(set(vals)) != len(vals):
            raise ValueError(
                f"Expected `labels[{key!r}]` to be a non-empty sequence of unique values, but "
                f"got {list(vals)}"
            )
        out[str(key)] = vals
    return out


def load_classification(
    groundtruths: Any,
    predictions: Any,
    labels: Mapping[str, Sequence[str]] | None = None,
) -> ClassificationTables:
    """Check ground truths and predictions and map them to per-key tables.

    Args:
        groundtruths: ground-truth table (see the module docstring).
        predictions: predictions table in one of the three layouts.
        labels: optional declared values per key; a value outside them is an error.
            Required for dense ``scores`` vectors (they give the vector order).

    Returns:
        :class:`ClassificationTables`.

    Raises:
        ClassificationFormatError: a missing column, columns of different lengths, a
            repeated (datum, key) ground truth or (datum, key, value) prediction, a
            prediction without a ground truth, a ground truth without a prediction, a
            value outside ``labels``, a non-finite score.
        TypeError: a value of the wrong type.
        FileNotFoundError: a path that does not exist.

    Example:
        >>> gt = {"datum_uid": ["a", "b"], "key": ["class", "class"], "value": ["cat", "dog"]}
        >>> pd = {"datum_uid": ["a", "b"], "key": ["class", "class"],
        ...       "values": [["cat", "dog"], ["dog", "cat"]], "scores": [[0.8, 0.2], [0.6, 0.4]]}
        >>> tables = load_classification(gt, pd)
        >>> t = tables.keys[0]
        >>> t.key, t.values, t.target.tolist(), t.pd_value.tolist()
        ('class', ('cat', 'dog'), [0, 1], [0, 1, 1, 0])
    """
    declared = _check_declared(labels)
    gt = _to_table(groundtruths, "groundtruths")
    pd = _to_table(predictions, "predictions")
    gt_uid = _string_like(
        _column(gt, "datum_uid", "groundtruths"), "groundtruths", "datum_uid", allow_int=True
    )
    gt_key = _keys_column(gt, "groundtruths")
    gt_value = _string_like(
        _column(gt, "value", "groundtruths"), "groundtruths", "value", allow_int=False
    )
    _known_columns(gt, _GT_COLUMNS, "groundtruths", "")
    pd_uid = _string_like(
        _column(pd, "datum_uid", "predictions"), "predictions", "datum_uid", allow_int=True
    )
    pd_key = _keys_column(pd, "predictions")
    n_pd = pd.num_rows

    dense = False
    layout = next((c for c in _PD_COLUMNS if c in pd.column_names), None)
    if layout is None:
        raise ClassificationFormatError(
            "Expected `predictions` to have a column 'value' (one row per predicted value), "
            f"'values' and 'scores' (lists), or 'scores' (dense), but it has {pd.column_names}"
        )
    if layout == "values":
        names, offsets = _list_column(pd.column("values"), "predictions", "values", numeric=False)
        scores, s_off = _list_column(
            _column(pd, "scores", "predictions"), "predictions", "scores", numeric=True
        )
        if not np.array_equal(offsets, s_off):
            r = int(np.flatnonzero(np.diff(offsets) != np.diff(s_off))[0])
            raise ClassificationFormatError(
                f"Expected `predictions[{r}].scores` to have one score per value "
                f"({int(offsets[r + 1] - offsets[r])}), but got {int(s_off[r + 1] - s_off[r])}"
            )
        record = np.repeat(np.arange(n_pd), np.diff(offsets))
    elif layout == "value":
        names = _string_like(pd.column("value"), "predictions", "value", allow_int=False)
        scores = (
            _score_column(pd.column("score"), "predictions", "score")
            if "score" in pd.column_names
            else np.full(n_pd, np.nan)
        )
        record = np.arange(n_pd)
    else:  # dense
        dense = True
        scores, offsets = _list_column(pd.column("scores"), "predictions", "scores", numeric=True)
        record = np.repeat(np.arange(n_pd), np.diff(offsets))
        position = np.arange(record.size) - offsets[record]
        names = np.empty(record.size, dtype=object)
        for r_key in np.unique(pd_key):
            sel = pd_key[record] == r_key
            if r_key not in declared:
                raise ClassificationFormatError(
                    f"Expected `labels[{r_key!r}]` to be declared: dense `scores` vectors are "
                    "aligned with the declared values of their key"
                )
            vals = np.asarray(declared[r_key], dtype=object)
            lens = np.diff(offsets)[pd_key == r_key]
            if (lens != len(vals)).any():
                r = int(np.flatnonzero((pd_key == r_key) & (np.diff(offsets) != len(vals)))[0])
                raise ClassificationFormatError(
                    f"Expected `predictions[{r}].scores` to have one score per declared value of "
                    f"key {r_key!r} ({len(vals)}), but got {int(offsets[r + 1] - offsets[r])}"
                )
            names[sel] = vals[position[sel]]
    _known_columns(pd, _PD_COLUMNS[layout], "predictions", _PD_LAYOUTS[layout])

    (gt_uid_c, pd_uid_c), _ = _encode(gt_uid, pd_uid)
    (gt_key_c, pd_key_c), keys = _encode(gt_key, pd_key)
    (gt_val_c, pd_val_c), values = _encode(gt_value, names)
    n_keys = max(len(keys), 1)
    gt_pair = gt_uid_c * n_keys + gt_key_c
    dup = _first_duplicate(gt_pair)
    if dup is not None:
        later, first = dup
        raise ClassificationFormatError(
            f"Expected one ground truth per (datum_uid, key), but `groundtruths[{later}]` repeats "
            f"datum_uid {gt_uid[later]!r} key {gt_key[later]!r} of `groundtruths[{first}]`"
        )
    row_uid = pd_uid_c[record]
    row_key = pd_key_c[record]
    pd_pair = row_uid * n_keys + row_key
    order = np.argsort(gt_pair, kind="stable")
    sorted_pairs = gt_pair[order]
    pos = np.searchsorted(sorted_pairs, pd_pair)
    pos_c = np.minimum(pos, max(len(sorted_pairs) - 1, 0))
    found = (
        (pos < len(sorted_pairs)) & (sorted_pairs[pos_c] == pd_pair)
        if len(sorted_pairs)
        else np.zeros(len(pd_pair), dtype=bool)
    )
    if not found.all():
        r = int(record[np.flatnonzero(~found)[0]])
        raise ClassificationFormatError(
            f"Expected every prediction to have a ground truth for its datum and key, but "
            f"`predictions[{r}]` (datum_uid {pd_uid[r]!r}, key {pd_key[r]!r}) has none"
        )
    row_gt = order[pos_c]  # ground-truth record of each prediction row
    n_vals = max(len(values), 1)
    dup = _first_duplicate(row_gt * n_vals + pd_val_c)
    if dup is not None:
        later, first = dup
        raise ClassificationFormatError(
            f"Expected each value at most once per (datum_uid, key) in `predictions`, but "
            f"`predictions[{int(record[later])}]` repeats value {names[later]!r} for datum_uid "
            f"{gt_uid[row_gt[later]]!r} key {gt_key[row_gt[later]]!r} (first in "
            f"`predictions[{int(record[first])}]`)"
        )
    has_pred = np.zeros(len(gt_pair), dtype=bool)
    has_pred[row_gt] = True
    if not has_pred.all():
        i = int(np.flatnonzero(~has_pred)[0])
        raise ClassificationFormatError(
            f"Expected every ground truth to have at least one prediction, but "
            f"`groundtruths[{i}]` (datum_uid {gt_uid[i]!r}, key {gt_key[i]!r}) has none"
        )
    for key, declared_vals in declared.items():
        if key not in keys:
            raise ClassificationFormatError(
                f"Expected every key of `labels` to occur in `groundtruths`, but {key!r} does "
                f"not (keys: {[str(k) for k in keys]})"
            )
        allowed = np.zeros(len(values), dtype=bool)
        value_index = {v: i for i, v in enumerate(values)}
        for v in declared_vals:
            if v in value_index:
                allowed[value_index[v]] = True
        key_code = keys.index(key)
        bad_gt = (gt_key_c == key_code) & ~allowed[gt_val_c] if len(values) else np.zeros(0, bool)
        if bad_gt.any():
            i = int(np.flatnonzero(bad_gt)[0])
            raise ClassificationFormatError(
                f"Expected `groundtruths[{i}].value` to be one of the declared labels of key "
                f"{key!r} {list(declared_vals)}, but got {gt_value[i]!r}"
            )
        bad_pd = (row_key == key_code) & ~allowed[pd_val_c] if len(values) else np.zeros(0, bool)
        if bad_pd.any():
            j = int(np.flatnonzero(bad_pd)[0])
            raise ClassificationFormatError(
                f"Expected `predictions[{int(record[j])}].{layout}` to be among the declared "
                f"labels of key {key!r} {list(declared_vals)}, but got {names[j]!r}"
            )

    tables = []
    for key_code, key in enumerate(keys):
        gt_rows = np.flatnonzero(gt_key_c == key_code)
        if gt_rows.size == 0:
            continue
        datum_of_gt = np.full(len(gt_pair), -1, dtype=np.int64)
        datum_of_gt[gt_rows] = np.arange(gt_rows.size)
        rows = np.flatnonzero(row_key == key_code)
        pd_datum = datum_of_gt[row_gt[rows]]
        grouped = np.argsort(pd_datum, kind="stable")
        rows = rows[grouped]
        pd_datum = pd_datum[grouped]
        # first-seen value order: per datum its ground truth, then its predictions
        seq_datum = np.concatenate([np.arange(gt_rows.size), pd_datum])
        seq_pos = np.concatenate([np.full(gt_rows.size, -1), np.arange(rows.size)])
        seq_val = np.concatenate([gt_val_c[gt_rows], pd_val_c[rows]])
        seq = seq_val[np.lexsort((seq_pos, seq_datum))]
        uniq, first_at = np.unique(seq, return_index=True)
        seen = uniq[np.argsort(first_at)]
        remap = np.full(max(len(values), 1), -1, dtype=np.int64)
        remap[seen] = np.arange(seen.size)
        tables.append(
            LabelKeyTable(
                key=str(key),
                datum_uids=gt_uid[gt_rows],
                values=tuple(str(values[v]) for v in seen),
                target=remap[gt_val_c[gt_rows]],
                gt_record=gt_rows.astype(np.int64),
                pd_datum=pd_datum,
                pd_value=remap[pd_val_c[rows]],
                pd_score=scores[rows].astype(np.float64),
                pd_record=record[rows].astype(np.int64),
                dense=dense,
            )
        )
    return ClassificationTables(keys=tuple(tables), declared=declared)
