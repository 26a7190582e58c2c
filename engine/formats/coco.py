"""COCO ground truth and results -> columnar tables.

Ids become dense indexes here, once. Every record is checked, with vectorised checks
after a C-level extraction (``map``/``itemgetter``, ``np.fromiter``, a set of the
value types); only when a check fails does a Python loop look for the first
offending record, which the error names, for example ``dt[4].bbox``. ValueError
(:class:`CocoFormatError`) is raised for a bad value, TypeError for a bad type.
Nothing is dropped or coerced silently: a result for an unknown image or category is
an error, not a skipped row (pycocotools asserts on the first and silently ignores the
second), and an id must be an int (``"2299"``, ``1.0`` and ``True`` are not).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..tables import Catalog, DetectionTable, GroundTruthTable

__all__ = [
    "CocoFormatError",
    "load_coco_ground_truth",
    "load_coco_results",
    "read_json",
]

_INT_TYPES = (int, np.integer)
_NUM_TYPES = (int, float, np.integer, np.floating)
_BOX_TYPES = (list, tuple, np.ndarray)
_ARRAY_COLUMNS = ("image_id", "x", "y", "width", "height", "score", "category_id")


class CocoFormatError(ValueError):
    """A COCO file or dict that cannot be evaluated as it is."""


def read_json(source: str | os.PathLike[str], what: str) -> Any:
    """Parse a JSON file, naming ``what`` it should hold when it cannot be read.

    Args:
        source: path of the file.
        what: the argument name, for the error message.

    Returns:
        The parsed JSON value.

    Raises:
        FileNotFoundError: no such file (other ``OSError`` s keep their type).
        CocoFormatError: the file is not valid JSON.
    """
    path = Path(source)
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Expected `{what}` to be an existing file, but got {str(path)!r}"
        ) from None
    except OSError as exc:  # a directory, no permission, ...
        raise type(exc)(
            f"Expected `{what}` to be a readable JSON file, but got {str(path)!r} "
            f"({exc.strerror or exc})"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise CocoFormatError(
            f"Expected `{what}` to be a JSON file, but {str(path)!r} is not valid JSON: {exc}"
        ) from None


def _keys(record: Mapping[Any, Any]) -> list[str]:
    return sorted(map(str, record))


def _type_name(value: Any) -> str:
    return type(value).__name__


def _column(records: Sequence[Any], key: str, where: str) -> list[Any]:
    try:
        return list(map(itemgetter(key), records))
    except (KeyError, TypeError, IndexError, ValueError):
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise TypeError(
                    f"Expected `{where}[{i}]` to be an object (dict), but got {_type_name(rec)}"
                ) from None
            if key not in rec:
                raise CocoFormatError(
                    f"Expected `{where}[{i}]` to have key {key!r}, but it has keys {_keys(rec)}"
                ) from None
        raise


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUM_TYPES) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, _INT_TYPES) and not isinstance(value, bool)


def _types_ok(types: Iterable[type], ok: tuple[type, ...]) -> bool:
    return all(issubclass(t, ok) and not issubclass(t, bool) for t in types)


def _int_column(records: Sequence[Any], key: str, where: str) -> np.ndarray:
    """``(N,)`` int64 of ``records[i][key]``; ints and numpy ints only (no bool, float, str)."""
    values = _column(records, key, where)
    types = set(map(type, values))
    if not types <= {int} and not _types_ok(types, _INT_TYPES):
        i = next(i for i, v in enumerate(values) if not _is_int(v))
        v = values[i]
        raise TypeError(
            f"Expected `{where}[{i}].{key}` to be an int, but got {v!r} ({_type_name(v)})"
        )
    try:
        return np.fromiter(values, dtype=np.int64, count=len(values))
    except OverflowError:
        i = next(i for i, v in enumerate(values) if not -(2**63) <= int(v) < 2**63)
        raise CocoFormatError(
            f"Expected `{where}[{i}].{key}` to be an int in the int64 range, but got {values[i]!r}"
        ) from None


def _float_column(records: Sequence[Any], key: str, where: str) -> np.ndarray:
    """``(N,)`` finite float64 of ``records[i][key]``; ints and floats only (no bool, str)."""
    values = _column(records, key, where)
    types = set(map(type, values))
    if not types <= {float, int} and not _types_ok(types, _NUM_TYPES):
        i = next(i for i, v in enumerate(values) if not _is_number(v))
        v = values[i]
        raise TypeError(
            f"Expected `{where}[{i}].{key}` to be a number, but got {v!r} ({_type_name(v)})"
        )
    try:
        out = np.fromiter(values, dtype=np.float64, count=len(values))
    except OverflowError:  # an int beyond float64
        out = np.array([float(v) if abs(v) < 2**1023 else np.inf for v in values])
    bad = ~np.isfinite(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CocoFormatError(
            f"Expected `{where}[{i}].{key}` to be a finite number, but got {values[i]!r}"
        )
    return out


def _bad_box_record(i: int, v: Any, where: str) -> Exception | None:
    """The error for ``v``, the bbox of record ``i``, or None when it is well formed."""
    name = f"`{where}[{i}].bbox`"
    if not isinstance(v, _BOX_TYPES) or (isinstance(v, np.ndarray) and v.ndim != 1):
        return TypeError(
            f"Expected {name} to be a list [x, y, width, height], but got {v!r} ({_type_name(v)})"
        )
    if len(v) != 4:
        return CocoFormatError(
            f"Expected {name} to be [x, y, width, height] (4 numbers), but got {len(v)} "
            f"values {list(v)!r}"
        )
    for x in v:
        if not _is_number(x):
            return TypeError(
                f"Expected {name} to be [x, y, width, height] numbers, but got {list(v)!r} "
                f"(holding {x!r}, {_type_name(x)})"
            )
    return None


def _check_boxes(box: np.ndarray, name: Callable[[int], str], shown: Callable[[int], Any]) -> None:
    bad = ~np.isfinite(box).all(axis=1) | (box[:, 2] < 0) | (box[:, 3] < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CocoFormatError(
            f"Expected {name(i)} to be finite [x, y, width, height] with width and height "
            f">= 0, but got {shown(i)!r}"
        )


def _bbox_column(records: Sequence[Any], where: str) -> np.ndarray:
    """``(N, 4)`` float64 xywh of ``records[i]["bbox"]``, checked finite with w, h >= 0."""
    values = _column(records, "bbox", where)
    n = len(values)
    try:
        lengths = set(map(len, values))
        flat = list(chain.from_iterable(values))
    except TypeError:  # a bbox without len(): None, a number
        lengths, flat = {-1}, []
    box_types = set(map(type, values))
    types = set(map(type, flat))
    if (
        lengths - {4}
        or not _types_ok(box_types, _BOX_TYPES)
        or not (types <= {float, int} or _types_ok(types, _NUM_TYPES))
    ):
        for i, v in enumerate(values):
            err = _bad_box_record(i, v, where)
            if err is not None:
                raise err
    try:
        box = np.fromiter(flat, dtype=np.float64, count=4 * n).reshape(n, 4)
    except OverflowError:  # an int beyond float64
        box = np.array([float(x) if abs(x) < 2**1023 else np.inf for x in flat]).reshape(n, 4)
    _check_boxes(box, lambda i: f"`{where}[{i}].bbox`", lambda i: values[i])
    return box


def _dense_index(ids: np.ndarray, known: np.ndarray, name: Callable[[int], str],
                 what: str) -> np.ndarray:
    """Map ids to indexes into the sorted array ``known``; unknown ids are an error."""
    span = int(known[-1]) - int(known[0]) + 1 if len(known) else 0
    if 0 < span <= max(8 * len(known), 1 << 20):  # compact ids: one gather from a table
        lut = np.full(span, -1, dtype=np.int64)
        lut[known - known[0]] = np.arange(len(known))
        inside = (ids >= known[0]) & (ids <= known[-1])
        index = lut[np.where(inside, ids - known[0], 0)]
        bad = ~inside | (index < 0)
    elif len(known):
        index = np.searchsorted(known, ids)
        bad = (index >= len(known)) | (known[np.minimum(index, len(known) - 1)] != ids)
    else:
        index, bad = np.zeros(len(ids), dtype=np.int64), np.ones(len(ids), dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CocoFormatError(
            f"Expected {name(i)} to be one of the ground truth's {what} ids, but got "
            f"{int(ids[i])}"
        )
    return index


def _record_index(ids: np.ndarray, known: np.ndarray, where: str, key: str,
                  what: str) -> np.ndarray:
    return _dense_index(ids, known, lambda i: f"`{where}[{i}].{key}`", what)


def _check_unique(ids: np.ndarray, where: str) -> None:
    order = np.argsort(ids, kind="stable")
    dup = ids[order][1:] == ids[order][:-1]
    if dup.any():
        # the first record that repeats an earlier id, and that earlier record
        second = int(order[1:][dup].min())
        first = int(np.flatnonzero(ids == ids[second])[0])
        raise CocoFormatError(
            f"Expected `{where}` ids to be unique, but `{where}[{second}].id` repeats "
            f"id {int(ids[second])} of `{where}[{first}]`"
        )


def _list_field(data: Mapping[str, Any], key: str, what: str) -> Sequence[Any]:
    if key not in data:
        raise CocoFormatError(
            f"Expected `{what}` to have key {key!r}, but it has keys {_keys(data)}"
        )
    value = data[key]
    if not isinstance(value, (list, tuple)):
        raise TypeError(
            f"Expected `{what}['{key}']` to be a list, but got {_type_name(value)}"
        )
    return value


def _iscrowd_column(anns: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``(G,)`` bool; a missing ``iscrowd`` is 0; 0/1, False/True (or 0.0/1.0) only."""
    values = [a.get("iscrowd", 0) for a in anns]
    types = set(map(type, values))
    if not types <= {int} and not all(issubclass(t, (*_NUM_TYPES, np.bool_)) for t in types):
        i = next(i for i, v in enumerate(values) if not isinstance(v, (*_NUM_TYPES, np.bool_)))
        v = values[i]
        raise TypeError(
            f"Expected `annotations[{i}].iscrowd` to be 0 or 1, but got {v!r} ({_type_name(v)})"
        )
    try:
        crowd = np.fromiter(values, dtype=np.float64, count=len(values))
    except OverflowError:  # an int beyond float64: not 0 or 1 anyway
        crowd = np.array([v if v in (0, 1) else np.nan for v in values], dtype=np.float64)
    bad = (crowd != 0) & (crowd != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CocoFormatError(
            f"Expected `annotations[{i}].iscrowd` to be 0 or 1, but got {values[i]!r}"
        )
    out: np.ndarray = crowd == 1
    return out


def load_coco_ground_truth(
    gt: str | os.PathLike[str] | Mapping[str, Any],
) -> tuple[Catalog, GroundTruthTable]:
    """Load COCO ground truth (a path or the parsed dict) into a catalog and table.

    Args:
        gt: COCO instances JSON path, or its dict with ``images``, ``annotations`` and
            ``categories``.

    Returns:
        ``(catalog, table)``; boxes stay ``xywh`` float64 as in the file.

    Raises:
        FileNotFoundError: ``gt`` is a path to no file.
        CocoFormatError: invalid JSON, a missing key, a non-finite or negative-size box,
            a negative area, ``iscrowd`` other than 0/1, an unknown image or category
            id, a duplicate id.
        TypeError: ``gt`` or a record of the wrong type, an id that is not an int (for
            example ``"2299"`` or ``1.0``), a number that is a string or None.

    Example:
        >>> gt = {"images": [{"id": 7}], "categories": [{"id": 3, "name": "cat"}],
        ...       "annotations": [{"id": 1, "image_id": 7, "category_id": 3,
        ...                        "bbox": [0, 0, 10, 5], "area": 50.0, "iscrowd": 0}]}
        >>> catalog, table = load_coco_ground_truth(gt)
        >>> catalog.category_names, table.box.tolist()
        (('cat',), [[0.0, 0.0, 10.0, 5.0]])
    """
    data = read_json(gt, "gt") if isinstance(gt, (str, os.PathLike)) else gt
    if not isinstance(data, Mapping):
        raise TypeError(
            f"Expected `gt` to be a COCO dict or a path to one, but got {_type_name(data)}"
        )
    images = _list_field(data, "images", "gt")
    categories = _list_field(data, "categories", "gt")
    anns = _list_field(data, "annotations", "gt")

    image_ids = _int_column(images, "id", "images")
    _check_unique(image_ids, "images")
    cat_ids = _int_column(categories, "id", "categories")
    _check_unique(cat_ids, "categories")
    img_order = np.argsort(image_ids, kind="stable")
    cat_order = np.argsort(cat_ids, kind="stable")
    names = tuple(str(categories[i].get("name", int(cat_ids[i]))) for i in cat_order)
    hw = np.zeros((len(images), 2), dtype=np.int64)
    if images and all("height" in im and "width" in im for im in images):
        hw[:, 0] = _int_column(images, "height", "images")
        hw[:, 1] = _int_column(images, "width", "images")
    catalog = Catalog(
        image_ids=image_ids[img_order],
        category_ids=cat_ids[cat_order],
        category_names=names,
        image_hw=hw[img_order],
    )

    ann_ids = _int_column(anns, "id", "annotations")
    _check_unique(ann_ids, "annotations")
    image = _record_index(_int_column(anns, "image_id", "annotations"), catalog.image_ids,
                          "annotations", "image_id", "image")
    category = _record_index(_int_column(anns, "category_id", "annotations"),
                             catalog.category_ids, "annotations", "category_id", "category")
    box = _bbox_column(anns, "annotations")
    area = _float_column(anns, "area", "annotations")
    if (area < 0).any():
        i = int(np.flatnonzero(area < 0)[0])
        raise CocoFormatError(
            f"Expected `annotations[{i}].area` to be >= 0, but got {anns[i]['area']!r}"
        )
    iscrowd = _iscrowd_column(anns)
    table = GroundTruthTable(
        image=torch.from_numpy(image),
        category=torch.from_numpy(category),
        box=torch.from_numpy(box),
        area=torch.from_numpy(area),
        iscrowd=torch.from_numpy(iscrowd),
        id=torch.from_numpy(ann_ids),
    )
    return catalog, table


def _results_from_array(array: np.ndarray, catalog: Catalog) -> DetectionTable:
    """Rows ``[image_id, x, y, w, h, score, category_id]`` -> table, all vectorised."""
    if array.ndim != 2 or array.shape[1] != 7:
        raise CocoFormatError(
            "Expected `dt` as an array to have shape (N, 7) "
            f"[image_id, x, y, w, h, score, category_id], but got {array.shape}"
        )
    if array.dtype.kind not in "fiu":
        raise TypeError(
            f"Expected `dt` as an array to hold numbers, but got dtype {array.dtype}"
        )
    a = array.astype(np.float64, copy=False)

    def cell(j: int) -> Callable[[int], str]:
        return lambda i: f"`dt[{i}, {j}]` ({_ARRAY_COLUMNS[j]})"

    ids: dict[int, np.ndarray] = {}
    for j in (0, 6):
        col = a[:, j]
        bad = ~np.isfinite(col) | (col != np.round(col)) | (np.abs(col) >= 2.0**63)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CocoFormatError(
                f"Expected {cell(j)(i)} to be an integral id, but got {array[i, j].item()!r}"
            )
        ids[j] = col.astype(np.int64)
    image = _dense_index(ids[0], catalog.image_ids, cell(0), "image")
    category = _dense_index(ids[6], catalog.category_ids, cell(6), "category")
    box = np.ascontiguousarray(a[:, 1:5])
    _check_boxes(box, lambda i: f"`dt[{i}, 1:5]` (bbox)", lambda i: array[i, 1:5].tolist())
    score = np.ascontiguousarray(a[:, 5])
    if not np.isfinite(score).all():
        i = int(np.flatnonzero(~np.isfinite(score))[0])
        raise CocoFormatError(f"Expected {cell(5)(i)} to be a finite number, but got {score[i]}")
    return _detection_table(image, category, box, score)


def _detection_table(image: np.ndarray, category: np.ndarray, box: np.ndarray,
                     score: np.ndarray) -> DetectionTable:
    return DetectionTable(
        image=torch.from_numpy(image),
        category=torch.from_numpy(category),
        box=torch.from_numpy(box),
        score=torch.from_numpy(score),
        area=torch.from_numpy(box[:, 2] * box[:, 3]),
    )


def load_coco_results(
    dt: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | np.ndarray,
    catalog: Catalog,
) -> DetectionTable:
    """Load COCO detection results into a table indexed like ``catalog``.

    Args:
        dt: results JSON path, list of result dicts (``image_id``, ``category_id``,
            ``bbox`` as ``xywh``, ``score``), or an ``(N, 7)`` array
            ``[image_id, x, y, w, h, score, category_id]`` as ``COCO.loadRes`` takes
            (its id columns must hold integral values).
        catalog: the ground truth's catalog.

    Returns:
        A :class:`DetectionTable`; ``area`` is ``w * h`` as in ``loadRes``.

    Raises:
        FileNotFoundError: ``dt`` is a path to no file.
        CocoFormatError: invalid JSON, a missing key, a non-finite score or box, a
            negative box size, an unknown image or category id, an array not (N, 7).
        TypeError: ``dt`` or a record of the wrong type, an id that is not an int, a
            score or box value that is not a number.

    Example:
        >>> catalog = Catalog.from_counts(1, 1)
        >>> t = load_coco_results([{"image_id": 0, "category_id": 0, "bbox": [1, 1, 2, 3],
        ...                         "score": 0.5}], catalog)
        >>> t.area.tolist(), t.score.tolist()
        ([6.0], [0.5])
    """
    if isinstance(dt, (str, os.PathLike)):
        dt = read_json(dt, "dt")
    if isinstance(dt, np.ndarray):
        return _results_from_array(dt, catalog)
    if not isinstance(dt, Sequence) or isinstance(dt, (str, bytes)):
        raise TypeError(
            "Expected `dt` to be a list of result dicts, a path or an (N, 7) array, but got "
            f"{_type_name(dt)}"
        )
    where = "dt"
    image = _record_index(_int_column(dt, "image_id", where), catalog.image_ids, where,
                          "image_id", "image")
    category = _record_index(_int_column(dt, "category_id", where), catalog.category_ids,
                             where, "category_id", "category")
    box = _bbox_column(dt, where)
    score = _float_column(dt, "score", where)
    return _detection_table(image, category, box, score)
