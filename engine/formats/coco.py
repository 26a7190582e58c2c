"""COCO ground truth and results -> columnar tables.

Ids become dense indexes here, once. Every record is checked, with vectorised checks
after a C-level extraction (``map``/``itemgetter``, ``np.fromiter`` or ``array``, a
set of the value types); only when a check fails does a Python loop look for the
first offending record, which the error names, for example ``dt[4].bbox``. ValueError
(:class:`CocoFormatError`) is raised for a bad value, TypeError for a bad type.
Nothing is dropped or coerced silently: a result for an unknown image or category is
an error, not a skipped row (pycocotools asserts on the first and silently ignores the
second), an id must be an integer (an int, a numpy int or another ``__index__`` type;
``"2299"``, ``1.0`` and ``True`` are not), and a box
value or score must be a real number (an int, a float, a numpy number, or another
real such as ``Decimal``; ``"1.5"``, ``None`` and ``True`` are not).
"""

from __future__ import annotations

import json
import os
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain, compress, repeat
from operator import is_not, itemgetter, methodcaller
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...kernels.masks import (
    _MAX_COORD,  # rle_from_polygons' bound (maskApi's C ints)
    Rle,
    RleStringError,
    _area,
    _run_sums,
    _to_box,
    rle_cat,
    rle_compiled_loops,
    rle_from_polygons,
    rle_from_strings,
)
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
_IOU_TYPES = ("bbox", "segm")
_MAX_RUN = 1 << 32  # run lengths are uint32 in pycocotools' maskApi
_SEGM_BLOCK = 2048  # segmentations decoded per block (kernels' arrays stay in cache)


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


def _is_int(value: Any) -> bool:
    return isinstance(value, _INT_TYPES) and not isinstance(value, bool)


def _types_ok(types: Iterable[type], ok: tuple[type, ...]) -> bool:
    return all(issubclass(t, ok) and not issubclass(t, bool) for t in types)


_ARRAY_DTYPES = {"q": np.int64, "d": np.float64}


def _converts(value: Any, typecode: str) -> bool:
    """Whether ``value`` is a number of the kind :func:`_as_array` takes.

    An integer for ``"q"`` (int, numpy int, another ``__index__`` type), a real for
    ``"d"`` (also floats, numpy floats, ``Decimal``...); never a bool or a string. One
    out of range counts (its error is about the range, not the type).
    """
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return False
    if isinstance(value, _INT_TYPES if typecode == "q" else _NUM_TYPES):
        return True
    try:
        array(typecode, [value])
    except OverflowError:
        return True
    except (TypeError, ValueError):
        return False
    return True


def _as_array(values: list[Any], typecode: str) -> np.ndarray | None:
    """int64 (``"q"``) or float64 (``"d"``) of ``values``; ``None`` if one is not.

    ``None`` when a value is not such a number or is out of range.

    One C-level conversion (``array(typecode)``): ``"q"`` takes the objects with
    ``__index__`` (ints, numpy ints, bools) and ``"d"`` those that convert to a float
    (also floats, numpy floats, ``Decimal``...); both reject ``str``, ``None``,
    sequences and values out of range. A bool converts to exactly 0 or 1, so only the
    values that came out 0 or 1 have their types looked at (cheaper than a set of the
    types of every value).
    """
    try:
        out = np.frombuffer(array(typecode, values), dtype=_ARRAY_DTYPES[typecode])
    except (TypeError, OverflowError, ValueError):  # ValueError: Decimal('sNaN')
        return None
    suspect = np.flatnonzero((out == 0) | (out == 1)).tolist()
    if suspect and set(map(type, map(values.__getitem__, suspect))) & {bool, np.bool_}:
        return None
    return out


def _converts_real(value: Any) -> bool:
    return _converts(value, "d")


def _reals_one_by_one(values: list[Any]) -> np.ndarray:
    """float64 of values already checked to be reals, converted one at a time.

    For the rare lists the C-level conversions refuse: numpy rows, and ints beyond
    float64 (which become inf, then reported as not finite).
    """
    return np.array([float(v) if abs(v) < 2**1023 else np.inf for v in values], dtype=np.float64)


def _int_column(records: Sequence[Any], key: str, where: str) -> np.ndarray:
    """``(N,)`` int64 of ``records[i][key]``; integers only (no bool, float, str)."""
    values = _column(records, key, where)
    out = _as_array(values, "q")
    if out is not None:
        return out
    i = next((i for i, v in enumerate(values) if not _converts(v, "q")), None)
    if i is not None:
        v = values[i]
        raise TypeError(
            f"Expected `{where}[{i}].{key}` to be an int, but got {v!r} ({_type_name(v)})"
        )
    i = next(i for i, v in enumerate(values) if not -(2**63) <= int(v) < 2**63)
    raise CocoFormatError(
        f"Expected `{where}[{i}].{key}` to be an int in the int64 range, but got {values[i]!r}"
    )


def _float_column(records: Sequence[Any], key: str, where: str) -> np.ndarray:
    """``(N,)`` finite float64 of ``records[i][key]``; real numbers only (no bool, str)."""
    values = _column(records, key, where)
    out = _as_array(values, "d")
    if out is None:  # not all real numbers, or an int beyond float64
        i = next((i for i, v in enumerate(values) if not _converts(v, "d")), None)
        if i is not None:
            v = values[i]
            raise TypeError(
                f"Expected `{where}[{i}].{key}` to be a number, but got {v!r} ({_type_name(v)})"
            )
        out = _reals_one_by_one(values)
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
        if not _converts(x, "d"):
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
    # Lists and tuples of 4 reals convert in one go; anything else (numpy rows, a
    # wrong length or type) is checked box by box first.
    flat_box = None
    if not lengths - {4} and set(map(type, values)) <= {list, tuple}:
        flat_box = _as_array(flat, "d")
    if flat_box is None:
        for i, v in enumerate(values):
            err = _bad_box_record(i, v, where)
            if err is not None:
                raise err
        # Every value is a real (numpy rows, or an int beyond float64 stopped array()).
        flat_box = _reals_one_by_one(flat)
    box = flat_box.reshape(n, 4)
    _check_boxes(box, lambda i: f"`{where}[{i}].bbox`", lambda i: values[i])
    return box


def _dense_index(
    ids: np.ndarray, known: np.ndarray, name: Callable[[int], str], what: str
) -> np.ndarray:
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
            f"Expected {name(i)} to be one of the ground truth's {what} ids, but got {int(ids[i])}"
        )
    return index


def _record_index(
    ids: np.ndarray, known: np.ndarray, where: str, key: str, what: str
) -> np.ndarray:
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
        raise TypeError(f"Expected `{what}['{key}']` to be a list, but got {_type_name(value)}")
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


# --------------------------------------------------------------- segmentations (segm)


def _check_iou_type(iou_type: Any) -> str:
    if not isinstance(iou_type, str) or iou_type not in _IOU_TYPES:
        raise ValueError(f"Expected `iou_type` to be one of {_IOU_TYPES}, but got {iou_type!r}")
    return iou_type


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _image_sizes(images: Sequence[Any]) -> np.ndarray:
    """``(I, 2)`` int64 (height, width) per image in file order; -1 where it has none."""
    out = np.full((len(images), 2), -1, dtype=np.int64)
    present_both = np.ones(len(images), dtype=bool)
    for j, key in enumerate(("height", "width")):
        values = list(map(methodcaller("get", key), images))
        present = np.fromiter(map(is_not, values, repeat(None)), dtype=bool, count=len(values))
        given = list(compress(values, present))
        types = set(map(type, given))
        if not types <= {int} and not _types_ok(types, _INT_TYPES):
            i = next(i for i, v in enumerate(values) if v is not None and not _is_int(v))
            v = values[i]
            raise TypeError(
                f"Expected `images[{i}].{key}` to be an int, but got {v!r} ({_type_name(v)})"
            )
        col = np.fromiter(given, dtype=np.int64, count=len(given))
        if (col < 0).any():
            i = int(np.flatnonzero(present)[np.flatnonzero(col < 0)[0]])
            raise CocoFormatError(f"Expected `images[{i}].{key}` to be >= 0, but got {values[i]!r}")
        out[present, j] = col
        present_both &= present
    out[~present_both] = -1
    return out


def _missing_key(
    records: Sequence[Any], key: str, name: Callable[[int], str], why: str = ""
) -> Exception:
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            return TypeError(
                f"Expected {name(i)} to be an object (dict), but got {_type_name(rec)}"
            )
        if key not in rec:
            return CocoFormatError(
                f"Expected {name(i)} to have key {key!r}{why}, but it has keys {_keys(rec)}"
            )
    return CocoFormatError(f"Expected every {name(0)} to have key {key!r}")  # pragma: no cover


def _polygon_masks(
    polys: list[Any], rec: np.ndarray, where: str, hw: np.ndarray, image_name: Callable[[int], str]
) -> Rle:
    """One mask per record from COCO polygons: every ring rasterised, rings united."""
    m = len(polys)
    nrings = np.fromiter(map(len, polys), dtype=np.int64, count=m)
    if (nrings == 0).any():
        i = int(rec[np.flatnonzero(nrings == 0)[0]])
        raise CocoFormatError(
            f"Expected `{where}[{i}].segmentation` to hold at least one polygon, but got []"
        )
    rings = list(chain.from_iterable(polys))
    ring_rec = np.repeat(np.arange(m), nrings)
    ring_pos = np.arange(len(rings)) - np.repeat(np.cumsum(nrings) - nrings, nrings)

    def ring_name(r: int) -> str:
        return f"`{where}[{int(rec[ring_rec[r]])}].segmentation[{int(ring_pos[r])}]`"

    if not set(map(type, rings)) <= {list}:
        r = next(r for r, v in enumerate(rings) if not isinstance(v, list))
        raise TypeError(
            f"Expected {ring_name(r)} to be a polygon [x1, y1, x2, y2, ...], but got "
            f"{_short(rings[r])} ({_type_name(rings[r])})"
        )
    ring_len = np.fromiter(map(len, rings), dtype=np.int64, count=len(rings))
    bad = (ring_len < 6) | (ring_len % 2 == 1)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        note = (
            " (pycocotools would take 4 numbers for a box [x, y, w, h])" if ring_len[r] == 4 else ""
        )
        raise CocoFormatError(
            f"Expected {ring_name(r)} to be a polygon of at least 3 points [x1, y1, x2, y2, "
            f"x3, y3, ...] (an even number >= 6 of coordinates), but got {int(ring_len[r])} "
            f"numbers {_short(rings[r])}{note}"
        )
    flat = list(chain.from_iterable(rings))
    coords = _as_array(flat, "d")  # any real (as boxes), one C-level conversion
    if coords is None:  # a value that is not a real, or an int beyond float64
        r = next((r for r, v in enumerate(rings) if not all(map(_converts_real, v))), -1)
        if r >= 0:
            v = next(v for v in rings[r] if not _converts_real(v))
            raise TypeError(
                f"Expected {ring_name(r)} to hold numbers, but got {v!r} ({_type_name(v)})"
            )
        coords = _reals_one_by_one(flat)
    finite = np.abs(coords) < _MAX_COORD  # also False for NaN
    if not finite.all():
        point_ring = np.repeat(np.arange(len(rings)), ring_len)
        r = int(point_ring[np.flatnonzero(~finite)[0]])
        raise CocoFormatError(
            f"Expected {ring_name(r)} to hold finite numbers within +-"
            f"{_MAX_COORD:,.0f} (pycocotools scales them by 5 into a C int), but got "
            f"{_short(rings[r])}"
        )
    unsized = (hw <= 0).any(axis=1)  # -1: no height / width; 0: an empty image
    if unsized.any():
        k = int(np.flatnonzero(unsized)[0])
        has = "none" if hw[k, 0] < 0 else f"height {int(hw[k, 0])} and width {int(hw[k, 1])}"
        raise CocoFormatError(
            f"Expected {image_name(k)} to have a positive 'height' and 'width' (the polygons "
            f"of `{where}[{int(rec[k])}].segmentation` are rasterised at the image size), but "
            f"it has {has}"
        )
    offsets = np.concatenate(([0], np.cumsum(ring_len // 2)))
    return rle_from_polygons(
        torch.from_numpy(coords.reshape(-1, 2)),
        torch.from_numpy(offsets),
        torch.from_numpy(hw[ring_rec, 0]),
        torch.from_numpy(hw[ring_rec, 1]),
        torch.from_numpy(ring_rec),
        m,
    )


def _rle_masks(
    rles: list[Any], rec: np.ndarray, where: str, hw: np.ndarray, image_name: Callable[[int], str]
) -> Rle:
    """One mask per record from COCO RLE dicts (compressed string or counts list)."""
    m = len(rles)

    def name(i: int, field: str = "") -> str:
        return f"`{where}[{int(rec[i])}].segmentation{field}`"

    try:
        sizes = list(map(itemgetter("size"), rles))
        counts = list(map(itemgetter("counts"), rles))
    except KeyError:
        key = "size" if not all(map(methodcaller("__contains__", "size"), rles)) else "counts"
        raise _missing_key(rles, key, name) from None
    try:
        lengths = set(map(len, sizes))
        flat = list(chain.from_iterable(sizes))
    except TypeError:
        lengths, flat = {-1}, []
    if (
        lengths - {2}
        or not set(map(type, sizes)) <= {list, tuple}
        or not _types_ok(set(map(type, flat)), _INT_TYPES)
    ):
        for i, v in enumerate(sizes):
            if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(map(_is_int, v))):
                raise TypeError(
                    f"Expected {name(i, '.size')} to be [height, width] (2 ints), but got "
                    f"{_short(v)} ({_type_name(v)})"
                )
    size = np.fromiter(flat, dtype=np.int64, count=2 * m).reshape(m, 2)
    if (size < 0).any():
        i = int(np.flatnonzero((size < 0).any(axis=1))[0])
        raise CocoFormatError(f"Expected {name(i, '.size')} to be >= 0, but got {sizes[i]!r}")
    differs = (hw[:, 0] >= 0) & (hw != size).any(axis=1)
    if differs.any():
        i = int(np.flatnonzero(differs)[0])
        raise CocoFormatError(
            f"Expected {name(i, '.size')} to be the [height, width] of {image_name(i)}, "
            f"{hw[i].tolist()}, but got {sizes[i]!r}"
        )

    is_str = np.fromiter(map(isinstance, counts, repeat((str, bytes))), dtype=bool, count=m)
    is_list = np.fromiter(map(isinstance, counts, repeat(list)), dtype=bool, count=m)
    if not (is_str | is_list).all():
        i = int(np.flatnonzero(~(is_str | is_list))[0])
        raise TypeError(
            f"Expected {name(i, '.counts')} to be a compressed RLE string or a list of run "
            f"lengths, but got {_short(counts[i])} ({_type_name(counts[i])})"
        )
    parts: list[Rle] = []
    rows: list[np.ndarray] = []
    if is_str.any():
        idx = np.flatnonzero(is_str)
        try:
            parts.append(
                rle_from_strings(list(compress(counts, is_str)), size[idx, 0], size[idx, 1])
            )
        except RleStringError as exc:
            i = int(idx[exc.index])
            raise CocoFormatError(
                f"Expected {name(i, '.counts')} to be a COCO compressed RLE string (characters "
                f"'0' to 'o', the last one ending a value, run lengths in [0, 2**32)), but "
                f"got {_short(counts[i])}"
            ) from None
        rows.append(idx)
    if is_list.any():
        idx = np.flatnonzero(is_list)
        lists = list(compress(counts, is_list))
        runs = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        values = list(chain.from_iterable(lists))
        arr = _as_array(values, "q")  # one C-level conversion
        if arr is None:  # a value that is not an int, or one beyond int64
            j = next((j for j, v in enumerate(lists) if not all(map(_is_int, v))), -1)
            if j >= 0:
                v = next(v for v in lists[j] if not _is_int(v))
                raise TypeError(
                    f"Expected {name(int(idx[j]), '.counts')} to hold ints, but got {v!r} "
                    f"({_type_name(v)})"
                )
            arr = np.array([v if 0 <= v < _MAX_RUN else -1 for v in values], dtype=np.int64)
        out_of_range = (arr < 0) | (arr >= _MAX_RUN)
        if out_of_range.any():
            j = int(np.repeat(np.arange(len(lists)), runs)[np.flatnonzero(out_of_range)[0]])
            raise CocoFormatError(
                f"Expected {name(int(idx[j]), '.counts')} to hold run lengths in [0, 2**32), but "
                f"got {_short(lists[j])}"
            )
        offsets = np.concatenate(([0], np.cumsum(runs)))
        parts.append(
            Rle(
                torch.from_numpy(arr),
                torch.from_numpy(offsets),
                torch.from_numpy(size[idx, 0].copy()),
                torch.from_numpy(size[idx, 1].copy()),
            )
        )
        rows.append(idx)
    rle = _in_record_order(parts, rows, m)
    total = _run_sums(rle)
    wrong = total != size[:, 0] * size[:, 1]
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise CocoFormatError(
            f"Expected the run lengths of {name(i, '.counts')} to sum to height * width = "
            f"{int(size[i, 0] * size[i, 1])}, but they sum to {int(total[i])}"
        )
    return rle


def _in_record_order(parts: list[Rle], rows: list[np.ndarray], n: int) -> Rle:
    """Masks built per kind (``parts[k]`` for records ``rows[k]``) back in record order."""
    if len(parts) == 1:
        return parts[0]
    order = np.concatenate(rows)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return rle_cat(parts, torch.from_numpy(inverse))


def _image_namer(image_name: Callable[[int], str], image: np.ndarray) -> Callable[[int], str]:
    """Names the image of the ``k``-th record of a subset (``image``: their image indexes)."""
    return lambda k: image_name(int(image[k]))


def _segmentation_column(
    records: Sequence[Any],
    where: str,
    image: np.ndarray,
    sizes: np.ndarray,
    image_name: Callable[[int], str],
) -> Rle:
    """``records[i]["segmentation"]`` (polygons, RLE, compressed RLE) as one :class:`Rle`.

    Args:
        records: annotations or results.
        where: their name in messages (``"annotations"``, ``"dt"``).
        image: ``(N,)`` dense image index of each record.
        sizes: ``(I, 2)`` (height, width) per dense image index; -1 where unknown.
        image_name: message name of a dense image index.
    """
    n = len(records)
    try:
        segs = list(map(itemgetter("segmentation"), records))
    except (KeyError, TypeError):
        raise _missing_key(
            records,
            "segmentation",
            lambda i: f"`{where}[{i}]`",
            " (iou_type='segm' evaluates masks)",
        ) from None
    is_poly = np.fromiter(map(isinstance, segs, repeat(list)), dtype=bool, count=n)
    # dict first: isinstance against the Mapping ABC costs ~0.2 us a record (16 ms for
    # 79k masks); only the records that are neither a list nor a dict take it.
    is_rle = np.fromiter(map(isinstance, segs, repeat(dict)), dtype=bool, count=n)
    other = np.flatnonzero(~(is_poly | is_rle))
    if other.size:
        is_rle[other] = [isinstance(segs[i], Mapping) for i in other]
    if not (is_poly | is_rle).all():
        i = int(np.flatnonzero(~(is_poly | is_rle))[0])
        raise TypeError(
            f"Expected `{where}[{i}].segmentation` to be polygons [[x1, y1, x2, y2, ...], ...] "
            f"or an RLE {{'size': [height, width], 'counts': ...}}, but got "
            f"{_short(segs[i])} ({_type_name(segs[i])})"
        )
    hw = sizes[image]
    # Blocks of records: each block's kernels work on arrays that stay in cache (the
    # torch paths; the compiled CPU loops, loaded or worth loading for n masks, take
    # everything at once).
    block = max(n, 1) if n <= _SEGM_BLOCK or rle_compiled_loops(n) else _SEGM_BLOCK
    blocks: list[Rle] = []
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        parts: list[Rle] = []
        rows: list[np.ndarray] = []
        for kind, build in ((is_poly, _polygon_masks), (is_rle, _rle_masks)):
            if kind[lo:hi].any():
                idx = np.flatnonzero(kind[lo:hi]) + lo
                parts.append(
                    build(
                        list(compress(segs[lo:hi], kind[lo:hi])),
                        idx,
                        where,
                        hw[idx],
                        _image_namer(image_name, image[idx]),
                    )
                )
                rows.append(idx - lo)
        blocks.append(_in_record_order(parts, rows, hi - lo))
    if not blocks:
        z = torch.zeros(0, dtype=torch.int64)
        return Rle(z, torch.zeros(1, dtype=torch.int64), z, z)
    return blocks[0] if len(blocks) == 1 else rle_cat(blocks)


def load_coco_ground_truth(
    gt: str | os.PathLike[str] | Mapping[str, Any],
    iou_type: str = "bbox",
) -> tuple[Catalog, GroundTruthTable]:
    """Load COCO ground truth (a path or the parsed dict) into a catalog and table.

    Args:
        gt: COCO instances JSON path, or its dict with ``images``, ``annotations`` and
            ``categories``.
        iou_type: ``"bbox"``, or ``"segm"`` to also read every annotation's
            ``segmentation`` (polygons, uncompressed or compressed RLE) into
            ``table.mask``, as ``COCO.annToRLE`` does: polygons are rasterised at the
            image's ``height`` x ``width`` and the rings of one annotation united.

    Returns:
        ``(catalog, table)``; boxes stay ``xywh`` float64 as in the file.

    Raises:
        FileNotFoundError: ``gt`` is a path to no file.
        CocoFormatError: invalid JSON, a missing key, a non-finite or negative-size box,
            a negative area, ``iscrowd`` other than 0/1, an unknown image or category
            id, a duplicate id. For ``"segm"`` also: a missing ``segmentation``, a
            polygon of fewer than 3 points (or an odd number of coordinates), a
            polygon on an image without a positive ``height``/``width`` (missing or
            0; images without polygons may have any size, or none), an RLE whose
            ``size`` differs from its image's (a declared 0 included), an invalid
            compressed RLE string, run lengths that do not sum to ``height * width``.
        TypeError: ``gt`` or a record of the wrong type, an id that is not an int (for
            example ``"2299"`` or ``1.0``), a number that is a string or None.
        ValueError: an unknown ``iou_type``.

    Example:
        >>> gt = {"images": [{"id": 7}], "categories": [{"id": 3, "name": "cat"}],
        ...       "annotations": [{"id": 1, "image_id": 7, "category_id": 3,
        ...                        "bbox": [0, 0, 10, 5], "area": 50.0, "iscrowd": 0}]}
        >>> catalog, table = load_coco_ground_truth(gt)
        >>> catalog.category_names, table.box.tolist()
        (('cat',), [[0.0, 0.0, 10.0, 5.0]])
    """
    segm = _check_iou_type(iou_type) == "segm"
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
    hw = np.full((len(images), 2), -1, dtype=np.int64)
    if segm:
        hw = _image_sizes(images)
    elif images and all("height" in im and "width" in im for im in images):
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
    image = _record_index(
        _int_column(anns, "image_id", "annotations"),
        catalog.image_ids,
        "annotations",
        "image_id",
        "image",
    )
    category = _record_index(
        _int_column(anns, "category_id", "annotations"),
        catalog.category_ids,
        "annotations",
        "category_id",
        "category",
    )
    box = _bbox_column(anns, "annotations")
    area = _float_column(anns, "area", "annotations")
    if (area < 0).any():
        i = int(np.flatnonzero(area < 0)[0])
        raise CocoFormatError(
            f"Expected `annotations[{i}].area` to be >= 0, but got {anns[i]['area']!r}"
        )
    iscrowd = _iscrowd_column(anns)
    mask = None
    if segm:

        def image_name(k: int) -> str:
            j = int(img_order[k])
            return f"`images[{j}]` (id {int(image_ids[j])})"

        mask = _segmentation_column(anns, "annotations", image, catalog.image_hw, image_name)
    table = GroundTruthTable(
        image=torch.from_numpy(image),
        category=torch.from_numpy(category),
        box=torch.from_numpy(box),
        area=torch.from_numpy(area),
        iscrowd=torch.from_numpy(iscrowd),
        id=torch.from_numpy(ann_ids),
        mask=mask,
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
        raise TypeError(f"Expected `dt` as an array to hold numbers, but got dtype {array.dtype}")
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


def _detection_table(
    image: np.ndarray, category: np.ndarray, box: np.ndarray, score: np.ndarray
) -> DetectionTable:
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
    iou_type: str = "bbox",
    *,
    use_area_field: bool = False,
) -> DetectionTable:
    """Load COCO detection results into a table indexed like ``catalog``.

    Args:
        dt: results JSON path, list of result dicts (``image_id``, ``category_id``,
            ``bbox`` as ``xywh``, ``score``), or an ``(N, 7)`` array
            ``[image_id, x, y, w, h, score, category_id]`` as ``COCO.loadRes`` takes
            (its id columns must hold integral values).
        catalog: the ground truth's catalog (for ``"segm"`` its ``image_hw``, the
            ground-truth images' sizes, rasterises polygons).
        iou_type: ``"bbox"``, or ``"segm"`` to also read every result's
            ``segmentation`` (compressed or uncompressed RLE, or polygons) into
            ``table.mask``. ``area`` and ``box`` then follow ``COCO.loadRes``: when the
            first result has a non-empty ``bbox``, every result's ``bbox`` is kept and
            ``area`` is its ``w * h``; otherwise ``area`` is the mask's area and
            ``box`` the mask's bounding box (``maskUtils.toBbox``).
        use_area_field: take each result's own ``area`` (results that already went
            through ``COCO.loadRes``, which wrote it).

    Returns:
        A :class:`DetectionTable`; ``area`` is ``w * h`` as in ``loadRes``.

    Raises:
        FileNotFoundError: ``dt`` is a path to no file.
        CocoFormatError: invalid JSON, a missing key, a non-finite score or box, a
            negative box size, an unknown image or category id, an array not (N, 7).
            For ``"segm"`` also the mask errors of :func:`load_coco_ground_truth`.
        TypeError: ``dt`` or a record of the wrong type, an id that is not an int, a
            score or box value that is not a number.
        ValueError: an unknown ``iou_type``.

    Example:
        >>> catalog = Catalog.from_counts(1, 1)
        >>> t = load_coco_results([{"image_id": 0, "category_id": 0, "bbox": [1, 1, 2, 3],
        ...                         "score": 0.5}], catalog)
        >>> t.area.tolist(), t.score.tolist()
        ([6.0], [0.5])
    """
    segm = _check_iou_type(iou_type) == "segm"
    if isinstance(dt, (str, os.PathLike)):
        dt = read_json(dt, "dt")
    if isinstance(dt, np.ndarray):
        if segm:
            raise CocoFormatError(
                "Expected `dt` for iou_type='segm' to be result dicts with 'segmentation', "
                f"but got an array of shape {dt.shape} (boxes)"
            )
        return _results_from_array(dt, catalog)
    if not isinstance(dt, Sequence) or isinstance(dt, (str, bytes)):
        raise TypeError(
            "Expected `dt` to be a list of result dicts, a path or an (N, 7) array, but got "
            f"{_type_name(dt)}"
        )
    where = "dt"
    image = _record_index(
        _int_column(dt, "image_id", where), catalog.image_ids, where, "image_id", "image"
    )
    category = _record_index(
        _int_column(dt, "category_id", where),
        catalog.category_ids,
        where,
        "category_id",
        "category",
    )
    if segm:
        return _segm_results(dt, catalog, image, category, use_area_field)
    box = _bbox_column(dt, where)
    score = _float_column(dt, "score", where)
    return _detection_table(image, category, box, score)


def _segm_results(
    dt: Sequence[Any],
    catalog: Catalog,
    image: np.ndarray,
    category: np.ndarray,
    use_area_field: bool,
) -> DetectionTable:
    """Mask results: ``COCO.loadRes``'s two branches (first result with a bbox or not)."""
    score = _float_column(dt, "score", "dt")
    sizes = catalog.image_hw  # -1: no size (a bbox-only catalog may hold others < 0)
    if len(sizes) != len(catalog.image_ids):
        sizes = np.full((len(catalog.image_ids), 2), -1, dtype=np.int64)
    elif (sizes < 0).any():
        sizes = np.where((sizes < 0).any(axis=1, keepdims=True), -1, sizes)

    def image_name(k: int) -> str:
        return f"the ground truth's image with id {int(catalog.image_ids[k])}"

    mask = _segmentation_column(dt, "dt", image, sizes, image_name)
    first_box = dt[0].get("bbox", []) if len(dt) else []
    if not (isinstance(first_box, (list, tuple)) and len(first_box) == 0):
        box = _bbox_column(dt, "dt")
        area = box[:, 2] * box[:, 3]
    else:
        box = _to_box(mask).numpy()  # the unchecked cores: _segmentation_column checked
        area = _area(mask).numpy().astype(np.float64)  # every mask's runs
    if use_area_field:
        area = _float_column(dt, "area", "dt")
    return DetectionTable(
        image=torch.from_numpy(image),
        category=torch.from_numpy(category),
        box=torch.from_numpy(box),
        score=torch.from_numpy(score),
        area=torch.from_numpy(area),
        mask=mask,
    )
