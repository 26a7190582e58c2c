"""COCO ground truth and results -> columnar tables.

Ids become dense indexes here, once. Every record is checked, with vectorised checks
after a C-level extraction; the first offending record is named in the error. Nothing
is dropped silently: a result for an unknown image or category is an error, not a
skipped row (pycocotools asserts on the first and silently ignores the second).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
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


class CocoFormatError(ValueError):
    """A COCO file or dict that cannot be evaluated as it is."""


def read_json(source: str | os.PathLike[str], what: str) -> Any:
    """Parse a JSON file, naming ``what`` it should hold when it cannot be read.

    Args:
        source: path of the file.
        what: the argument name, for the error message.

    Returns:
        The parsed JSON value.
    """
    path = Path(source)
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"Expected `{what}` to be an existing file, but got {str(path)!r}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CocoFormatError(f"Expected `{what}` to be a JSON file, but {str(path)!r} is not valid JSON: {exc}") from None


def _column(records: Sequence[Any], key: str, where: str) -> list[Any]:
    try:
        return list(map(itemgetter(key), records))
    except (KeyError, TypeError, IndexError):
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise TypeError(f"Expected `{where}[{i}]` to be an object (dict), but got {type(rec).__name__}") from None
            if key not in rec:
                raise CocoFormatError(
                    f"Expected `{where}[{i}]` to have key {key!r}, but it has keys {sorted(rec)}"
                ) from None
        raise


def _first_bad_type(values: Sequence[Any], ok: tuple[type, ...]) -> int:
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, ok):
            return i
    return -1


def _int_column(records: Sequence[Any], key: str, where: str) -> np.ndarray:
    values = _column(records, key, where)
    types = set(map(type, values))
    if not types <= {int} and (bool in types or not all(issubclass(t, _INT_TYPES) for t in types)):
        i = _first_bad_type(values, _INT_TYPES)
        v = values[i]
        raise TypeError(f"Expected `{where}[{i}].{key}` to be an int, but got {v!r} ({type(v).__name__})")
    return np.fromiter(values, dtype=np.int64, count=len(values))


def _float_column(records: Sequence[Any], key: str, where: str, *, finite: bool = True) -> np.ndarray:
    values = _column(records, key, where)
    types = set(map(type, values))
    if not types <= {float, int} and (bool in types or not all(issubclass(t, _NUM_TYPES) for t in types)):
        i = _first_bad_type(values, _NUM_TYPES)
        v = values[i]
        raise TypeError(f"Expected `{where}[{i}].{key}` to be a number, but got {v!r} ({type(v).__name__})")
    out = np.fromiter(values, dtype=np.float64, count=len(values))
    if finite:
        bad = ~np.isfinite(out)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CocoFormatError(f"Expected `{where}[{i}].{key}` to be a finite number, but got {values[i]!r}")
    return out


def _bbox_column(records: Sequence[Any], where: str) -> np.ndarray:
    values = _column(records, "bbox", where)
    try:
        arr = np.array(values)
    except ValueError:
        arr = np.array([], dtype=object)  # ragged: located below
    if arr.dtype.kind not in "fiu" or arr.ndim != 2 or arr.shape[1] != 4:
        for i, v in enumerate(values):
            if (not isinstance(v, (list, tuple)) or len(v) != 4
                    or _first_bad_type(v, _NUM_TYPES) >= 0):
                raise CocoFormatError(f"Expected `{where}[{i}].bbox` to be [x, y, width, height] numbers, but got {v!r}")
        arr = np.array(values, dtype=np.float64).reshape(-1, 4)  # e.g. empty list
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr).all(axis=1) | (arr[:, 2] < 0) | (arr[:, 3] < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CocoFormatError(
            f"Expected `{where}[{i}].bbox` to be finite [x, y, width, height] with width and "
            f"height >= 0, but got {values[i]!r}"
        )
    return arr


def _dense_index(ids: np.ndarray, known: np.ndarray, where: str, key: str, what: str) -> np.ndarray:
    """Map ids to indexes into the sorted array ``known``; unknown ids are an error."""
    index = np.searchsorted(known, ids)
    index_c = np.minimum(index, max(len(known) - 1, 0))
    bad = (index >= len(known)) | (known[index_c] != ids) if len(known) else np.ones(len(ids), bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CocoFormatError(
            f"Expected `{where}[{i}].{key}` to be one of the ground truth's {what} ids, but got {int(ids[i])}"
        )
    return index


def _check_unique(ids: np.ndarray, where: str) -> None:
    order = np.argsort(ids, kind="stable")
    dup = ids[order][1:] == ids[order][:-1]
    if dup.any():
        j = int(np.flatnonzero(dup)[0])
        first, second = sorted((int(order[j]), int(order[j + 1])))
        raise CocoFormatError(
            f"Expected `{where}` ids to be unique, but `{where}[{second}].id` repeats "
            f"id {int(ids[second])} of `{where}[{first}]`"
        )


def _list_field(data: Mapping[str, Any], key: str, what: str) -> list[Any]:
    if key not in data:
        raise CocoFormatError(f"Expected `{what}` to have key {key!r}, but it has keys {sorted(data)}")
    value = data[key]
    if not isinstance(value, list):
        raise TypeError(f"Expected `{what}['{key}']` to be a list, but got {type(value).__name__}")
    return value


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
        CocoFormatError: a missing key, a non-finite or negative-size box, an unknown
            image or category id, a duplicate id.
        TypeError: an id that is not an int (for example ``"2299"``).

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
        raise TypeError(f"Expected `gt` to be a COCO dict or a path to one, but got {type(data).__name__}")
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
    if images and "height" in images[0] and all("height" in im and "width" in im for im in images):
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
    image = _dense_index(_int_column(anns, "image_id", "annotations"), catalog.image_ids,
                         "annotations", "image_id", "image")
    category = _dense_index(_int_column(anns, "category_id", "annotations"), catalog.category_ids,
                            "annotations", "category_id", "category")
    box = _bbox_column(anns, "annotations")
    area = _float_column(anns, "area", "annotations")
    if (area < 0).any():
        i = int(np.flatnonzero(area < 0)[0])
        raise CocoFormatError(f"Expected `annotations[{i}].area` to be >= 0, but got {anns[i]['area']!r}")
    iscrowd = np.fromiter((a.get("iscrowd", 0) for a in anns), dtype=np.int64, count=len(anns))
    if ((iscrowd != 0) & (iscrowd != 1)).any():
        i = int(np.flatnonzero((iscrowd != 0) & (iscrowd != 1))[0])
        raise CocoFormatError(f"Expected `annotations[{i}].iscrowd` to be 0 or 1, but got {anns[i]['iscrowd']!r}")
    table = GroundTruthTable(
        image=torch.from_numpy(image),
        category=torch.from_numpy(category),
        box=torch.from_numpy(box),
        area=torch.from_numpy(area),
        iscrowd=torch.from_numpy(iscrowd.astype(bool)),
        id=torch.from_numpy(ann_ids),
    )
    return catalog, table


def _results_from_array(array: np.ndarray) -> list[dict[str, Any]]:
    if array.ndim != 2 or array.shape[1] != 7:
        raise CocoFormatError(
            "Expected `dt` as an array to have shape (N, 7) "
            f"[image_id, x, y, w, h, score, category_id], but got {array.shape}"
        )
    return [
        {"image_id": int(r[0]), "bbox": [float(r[1]), float(r[2]), float(r[3]), float(r[4])],
         "score": float(r[5]), "category_id": int(r[6])}
        for r in array
    ]


def load_coco_results(
    dt: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | np.ndarray,
    catalog: Catalog,
) -> DetectionTable:
    """Load COCO detection results into a table indexed like ``catalog``.

    Args:
        dt: results JSON path, list of result dicts (``image_id``, ``category_id``,
            ``bbox`` as ``xywh``, ``score``), or an ``(N, 7)`` array
            ``[image_id, x, y, w, h, score, category_id]`` as ``COCO.loadRes`` takes.
        catalog: the ground truth's catalog.

    Returns:
        A :class:`DetectionTable`; ``area`` is ``w * h`` as in ``loadRes``.

    Raises:
        CocoFormatError: missing key, non-finite score or box, negative box size,
            unknown image id or category id.
        TypeError: ids that are not ints.

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
        dt = _results_from_array(dt)
    if not isinstance(dt, Sequence) or isinstance(dt, (str, bytes)):
        raise TypeError(f"Expected `dt` to be a list of result dicts, a path or an (N, 7) array, but got {type(dt).__name__}")
    where = "dt"
    image = _dense_index(_int_column(dt, "image_id", where), catalog.image_ids, where, "image_id", "image")
    category = _dense_index(_int_column(dt, "category_id", where), catalog.category_ids, where,
                            "category_id", "category")
    box = _bbox_column(dt, where)
    score = _float_column(dt, "score", where)
    return DetectionTable(
        image=torch.from_numpy(image),
        category=torch.from_numpy(category),
        box=torch.from_numpy(box),
        score=torch.from_numpy(score),
        area=torch.from_numpy(box[:, 2] * box[:, 3]),
    )
