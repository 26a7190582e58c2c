"""One-call evaluation helpers: ``evaluate_coco`` and ``evaluate_detections``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .engine.device import check_tensor_device, resolve_device
from .engine.evaluation import CocoParams, CocoResult, IouType, evaluate_detection_tables
from .engine.formats import load_coco_ground_truth, load_coco_results
from .engine.tables import Catalog, DetectionTable, GroundTruthTable, fits_int64
from .kernels.boxes import BOX_FORMATS, BoxFormat, box_convert
from .kernels.masks import Rle

__all__ = ["evaluate_coco", "evaluate_detections"]

ArrayLike = Tensor | np.ndarray | Sequence[Any]


def evaluate_coco(
    gt: str | os.PathLike[str] | Mapping[str, Any] | Any,
    dt: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | np.ndarray | Any,
    iou_type: IouType = "bbox",
    *,
    device: torch.device | str | None = None,
    params: CocoParams | Mapping[str, Any] | Any | None = None,
) -> CocoResult:
    """Evaluate COCO results against COCO ground truth, number for number like pycocotools.

    Args:
        gt: ground-truth JSON path, its parsed dict, or a ``pycocotools.coco.COCO``.
        dt: results JSON path, list of result dicts, ``(N, 7)`` array as
            ``COCO.loadRes`` takes, or a loaded results ``COCO`` object.
        iou_type: ``"bbox"``, or ``"segm"`` for masks (``segmentation``: polygons,
            RLE or compressed RLE, in the ground truth and in the results).
        device: ``None``/``"cpu"``, ``"cuda"`` or ``"auto"``.
        params: :class:`CocoParams`, a dict of its fields, or a pycocotools
            ``Params`` object (iouThrs, recThrs, maxDets, areaRng, areaRngLbl,
            catIds, imgIds, useCats).

    Returns:
        :class:`CocoResult` with ``stats``, ``precision``, ``recall``, ``scores``.

    Example:
        >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "dog"}],
        ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
        ...                        "bbox": [10, 10, 50, 50], "area": 2500, "iscrowd": 0}]}
        >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [12, 10, 50, 50], "score": 0.9}]
        >>> r = evaluate_coco(gt, dt)
        >>> round(r.stats_named["AP50"], 3), r.precision.shape
        (1.0, (10, 101, 1, 4, 3))
    """
    if hasattr(gt, "dataset") and isinstance(gt.dataset, Mapping):
        gt = gt.dataset
    loaded = False
    if hasattr(dt, "dataset") and isinstance(dt.dataset, Mapping):
        dt, loaded = dt.dataset.get("annotations", []), True
    catalog, gt_table = load_coco_ground_truth(gt, iou_type)
    # A loaded results COCO went through loadRes, which wrote each result's area.
    dt_table = load_coco_results(
        dt, catalog, iou_type, use_area_field=loaded and iou_type == "segm"
    )
    return evaluate_detection_tables(
        gt_table, dt_table, catalog, CocoParams.coerce(params), iou_type=iou_type, device=device
    )


def _tensor(
    value: ArrayLike,
    name: str,
    dtype: torch.dtype,
    device: torch.device | None,
    allow_bool: bool = False,
) -> Tensor:
    if isinstance(value, Tensor):
        check_tensor_device(value, name)  # meta, mps...: torch's own error further on
        t = value
    elif isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":  # object, str, ...: torch's own error otherwise
            raise TypeError(f"Expected `{name}` to hold numbers, but got dtype {value.dtype}")
        t = torch.from_numpy(fits_int64(value, name))
    else:
        t = torch.from_numpy(fits_int64(_sequence_array(value, name), name))
    if t.numel() == 0:  # np.asarray([]) is float64: an empty column has no type to check
        return t.to(device=device, dtype=dtype)
    if allow_bool and t.dtype == torch.bool:
        t = t.to(torch.uint8)
    if dtype == torch.int64 and (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool):
        raise TypeError(f"Expected `{name}` to hold integer indexes, but got dtype {t.dtype}")
    if dtype == torch.float64 and (t.is_complex() or not (t.is_floating_point() or _is_int(t))):
        raise TypeError(f"Expected `{name}` to hold numbers, but got dtype {t.dtype}")
    return t.to(device=device, dtype=dtype)


def _sequence_array(value: ArrayLike, name: str) -> np.ndarray:
    """A list (of lists) of numbers as an array; a non-number or a ragged row is named."""
    try:
        arr = np.asarray(value)
    except ValueError:  # rows of different lengths
        rows = list(value)
        width = len(rows[0]) if rows and hasattr(rows[0], "__len__") else None
        i = next(
            (i for i, r in enumerate(rows) if not hasattr(r, "__len__") or len(r) != width),
            0,
        )
        raise ValueError(
            f"Expected `{name}` to have rows of one length ({width}), but got "
            f"{rows[i]!r} (first offending item: {name}[{i}])"
        ) from None
    if arr.dtype.kind not in "biuf":
        flat = arr.reshape(-1).tolist()
        i = next((i for i, v in enumerate(flat) if not isinstance(v, (int, float))), 0)
        where = f"{name}[{i}]" if arr.ndim == 1 else f"{name} (flat position {i})"
        raise TypeError(
            f"Expected `{name}` to hold numbers, but got {flat[i]!r} (first offending item: "
            f"{where})"
        )
    return arr


def _is_int(t: Tensor) -> bool:
    return t.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def _first(mask: Tensor) -> int | None:
    """Index of the first True in ``mask`` (one device read), or None."""
    hits = torch.nonzero(mask)
    return int(hits[0, 0]) if hits.shape[0] else None


def _all_finite(x: Tensor) -> bool:
    """Whether every value is finite, from one sum (a NaN or inf makes it non-finite).

    ``False`` can also mean a finite sum that overflowed: callers then scan the values.
    """
    return bool(torch.isfinite(x.sum()))


def _sizes_non_negative(boxes: Tensor) -> bool:
    """Whether every ``xywh`` box of finite values has width and height >= 0.

    One contiguous minimum over all coordinates settles the usual case (everything
    >= 0); only with a negative coordinate are the two size columns looked at alone.
    """
    if bool(boxes.amin() >= 0):
        return True
    return bool(torch.minimum(boxes[:, 2], boxes[:, 3]).amin() >= 0)


def _check_index(t: Tensor, name: str, size: int, what: str) -> None:
    if t.numel() == 0:
        return
    low, high = torch.aminmax(t)  # one reduction; the row scan below only names a culprit
    if bool(low >= 0) and bool(high < size):
        return
    bad = (t < 0) | (t >= size)
    i = _first(bad)
    if i is not None:
        raise ValueError(
            f"Expected `{name}[{i}]` to be {what} index in [0, {size}), but got {int(t[i])}"
        )


def _column(
    table: Mapping[str, ArrayLike],
    key: str,
    name: str,
    dtype: torch.dtype,
    device: torch.device | None,
    rows: int | None,
    allow_bool: bool = False,
) -> Tensor:
    """One validated 1-D column of ``rows`` rows (``None``: any length)."""
    if key not in table:
        raise ValueError(f"Expected `{name}` to have key {key!r}, but it has keys {sorted(table)}")
    col = _tensor(table[key], f"{name}['{key}']", dtype, device, allow_bool)
    if col.numel() == 0:
        col = col.reshape(0)
    if col.ndim != 1:
        raise ValueError(
            f"Expected `{name}['{key}']` to have shape (N,), but got {tuple(col.shape)}"
        )
    if rows is not None and col.shape[0] != rows:
        raise ValueError(
            f"Expected `{name}['{key}']` to have {rows} rows like `{name}['image']`, "
            f"but got {col.shape[0]}"
        )
    return col


def _boxes(
    table: Mapping[str, ArrayLike],
    name: str,
    fmt: BoxFormat,
    device: torch.device | None,
    rows: int,
) -> Tensor:
    if "boxes" not in table:
        raise ValueError(f"Expected `{name}` to have key 'boxes', but it has keys {sorted(table)}")
    boxes = _tensor(table["boxes"], f"{name}['boxes']", torch.float64, device)
    if boxes.numel() == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f"Expected `{name}['boxes']` to have shape (N, 4), but got {tuple(boxes.shape)}"
        )
    if boxes.shape[0] != rows:
        raise ValueError(
            f"Expected `{name}['boxes']` to have {rows} rows like `{name}['image']`, "
            f"but got {boxes.shape[0]}"
        )
    boxes = box_convert(boxes, fmt, "xywh")
    if boxes.numel() == 0 or (_all_finite(boxes) and _sizes_non_negative(boxes)):
        return boxes
    bad = ~torch.isfinite(boxes).all(1) | (boxes[:, 2] < 0) | (boxes[:, 3] < 0)
    i = _first(bad)
    if i is not None:
        raise ValueError(
            f"Expected `{name}['boxes'][{i}]` to be a finite box with width and height >= 0, "
            f"but got {boxes[i].tolist()}"
        )
    return boxes


_GT_COLUMNS = ("image", "category", "boxes", "area", "iscrowd", "id")
_DT_COLUMNS = ("image", "category", "boxes", "scores")


def _mapping(
    table: Any, name: str, table_type: type, columns: tuple[str, ...]
) -> Mapping[str, ArrayLike]:
    if not isinstance(table, Mapping):
        raise TypeError(
            f"Expected `{name}` to be a mapping of columns or a {table_type.__name__}, "
            f"but got {type(table).__name__}"
        )
    unknown = [k for k in table if k not in columns]
    if unknown:  # a misspelt optional column would silently change the result
        raise ValueError(
            f"Expected `{name}` to have columns among {list(columns)}, but got {unknown[0]!r}"
        )
    return table


def _rows(
    table: Mapping[str, ArrayLike], name: str, fmt: BoxFormat, default: torch.device | None
) -> tuple[Tensor, Tensor, Tensor]:
    """The ``image``, ``category`` and ``boxes`` (xywh) columns every table has.

    The columns land on the device of ``table["image"]`` when it is a tensor, else on
    ``default``.
    """
    first = table.get("image")
    dev = first.device if isinstance(first, Tensor) else default
    image = _column(table, "image", name, torch.int64, dev, None)
    n, dev = image.shape[0], image.device
    boxes = _boxes(table, name, fmt, dev, n)
    return image, _column(table, "category", name, torch.int64, dev, n), boxes


def _area(table: Mapping[str, ArrayLike], name: str, dev: torch.device, n: int) -> Tensor:
    """``table["area"]``: ``n`` finite areas >= 0, as float64."""
    area = _column(table, "area", name, torch.float64, dev, n)
    i = _first(~torch.isfinite(area) | (area < 0))
    if i is not None:
        raise ValueError(
            f"Expected `{name}['area'][{i}]` to be finite and >= 0, but got {float(area[i])}"
        )
    return area


def _mask(mask: Rle | None, name: str, rows: int) -> Rle | None:
    """A table's masks: an :class:`Rle` of one mask per row (or none)."""
    if mask is None:
        return None
    if not isinstance(mask, Rle):
        raise TypeError(
            f"Expected `{name}.mask` to be an Rle or None, but got {type(mask).__name__}"
        )
    if mask.num_masks != rows:
        raise ValueError(
            f"Expected `{name}.mask` to hold one mask per row ({rows}), but got {mask.num_masks}"
        )
    return mask


def _checked_ground_truth(gt: GroundTruthTable) -> GroundTruthTable:
    """A hand-built table, column by column as a mapping is (the evaluator trusts tables)."""
    columns = {"image": gt.image, "category": gt.category, "boxes": gt.box, "area": gt.area}
    checked = _ground_truth_table({**columns, "iscrowd": gt.iscrowd, "id": gt.id}, "xywh")
    return replace(checked, mask=_mask(gt.mask, "gt", len(checked)))


def _ground_truth_table(gt: Any, fmt: BoxFormat) -> GroundTruthTable:
    if isinstance(gt, GroundTruthTable):
        return _checked_ground_truth(gt)
    table = _mapping(gt, "gt", GroundTruthTable, _GT_COLUMNS)
    image, category, boxes = _rows(table, "gt", fmt, None)
    n, dev = image.shape[0], image.device
    area = _area(table, "gt", dev, n) if "area" in table else boxes[:, 2] * boxes[:, 3]
    if "iscrowd" in table:
        crowd = _column(table, "iscrowd", "gt", torch.float64, dev, n, allow_bool=True)
        bad = (crowd != 0) & (crowd != 1)
        i = _first(bad)
        if i is not None:
            raise ValueError(
                f"Expected `gt['iscrowd'][{i}]` to be 0 or 1, but got {float(crowd[i])}"
            )
        iscrowd = crowd.bool()
    else:
        iscrowd = torch.zeros(n, dtype=torch.bool, device=dev)
    if "id" in table:
        ids = _column(table, "id", "gt", torch.int64, dev, n)
        _check_unique_ids(ids)
    else:
        ids = torch.arange(1, n + 1, device=dev)
    return GroundTruthTable(image, category, boxes, area, iscrowd, ids)


def _check_unique_ids(ids: Tensor) -> None:
    """Annotation ids are unique (as the JSON loader requires); the first repeat is named.

    Ascending ids (``1..G``, as files usually number them) take one comparison; others
    one sort.
    """
    if ids.shape[0] < 2 or bool((ids[1:] > ids[:-1]).all()):
        return
    sorted_ids, order = torch.sort(ids, stable=True)
    dup = sorted_ids[1:] == sorted_ids[:-1]
    if not bool(dup.any()):
        return
    second = int(order[1:][dup].min())  # the first row that repeats an earlier id
    first = _first(ids == ids[second])
    raise ValueError(
        f"Expected `gt['id']` to hold unique annotation ids, but `gt['id'][{second}]` repeats "
        f"id {int(ids[second])} of `gt['id'][{first}]`"
    )


def _checked_detections(dt: DetectionTable, default: torch.device) -> DetectionTable:
    """A hand-built table, column by column as a mapping is; its own areas and masks kept."""
    columns = {"image": dt.image, "category": dt.category, "boxes": dt.box, "scores": dt.score}
    checked = _detection_table(columns, "xywh", default)
    area = _area({"area": dt.area}, "dt", checked.image.device, len(checked))
    return replace(checked, area=area, mask=_mask(dt.mask, "dt", len(checked)))


def _detection_table(dt: Any, fmt: BoxFormat, default: torch.device) -> DetectionTable:
    if isinstance(dt, DetectionTable):
        return _checked_detections(dt, default)
    table = _mapping(dt, "dt", DetectionTable, _DT_COLUMNS)
    image, category, boxes = _rows(table, "dt", fmt, default)
    n, dev = image.shape[0], image.device
    scores = _column(table, "scores", "dt", torch.float64, dev, n)
    i = None if _all_finite(scores) else _first(~torch.isfinite(scores))
    if i is not None:
        raise ValueError(f"Expected `dt['scores'][{i}]` to be finite, but got {float(scores[i])}")
    return DetectionTable(image, category, boxes, scores, boxes[:, 2] * boxes[:, 3])


def _count(value: int | None, name: str, fallback: int) -> int:
    if value is None:
        return fallback
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"Expected `{name}` to be an int >= 0, but got {value!r}")
    return int(value)


def evaluate_detections(
    gt: Mapping[str, ArrayLike] | GroundTruthTable,
    dt: Mapping[str, ArrayLike] | DetectionTable,
    *,
    num_images: int | None = None,
    num_categories: int | None = None,
    box_format: BoxFormat = "xywh",
    params: CocoParams | Mapping[str, Any] | Any | None = None,
    device: torch.device | str | None = None,
    catalog: Catalog | None = None,
) -> CocoResult:
    """COCO evaluation straight from arrays or tensors, skipping JSON.

    Images and categories are dense indexes ``0..num_images-1`` /
    ``0..num_categories-1`` (ascending index = ascending id, which fixes the order of
    tied detections across images, as in pycocotools).

    Args:
        gt: mapping with ``image`` (G,), ``category`` (G,), ``boxes`` (G, 4) and
            optionally ``area`` (G,) (default: box area), ``iscrowd`` (G,) and ``id``
            (G,) (unique; default ``1..G``); or a :class:`GroundTruthTable` (checked column
            by column as a mapping is, its columns named by the mapping's keys).
        dt: mapping with ``image`` (D,), ``category`` (D,), ``boxes`` (D, 4),
            ``scores`` (D,); or a :class:`DetectionTable` (checked likewise; its
            ``area`` and ``mask`` are kept).
        num_images: number of images (default: largest index + 1; images without any
            annotation still count when given).
        num_categories: number of categories (default: largest index + 1).
        box_format: ``"xywh"`` (COCO), ``"xyxy"`` or ``"cxcywh"``.
        params: evaluation parameters, as for :func:`evaluate_coco`.
        device: where to compute; ``None`` keeps the inputs' device.
        catalog: ids and names for the indexes (overrides ``num_images`` /
            ``num_categories``); checked with :meth:`Catalog.checked` (ids strictly
            ascending, one name per category).

    Returns:
        :class:`CocoResult`.

    Example:
        >>> import torch
        >>> gt = {"image": [0, 0], "category": [0, 1],
        ...       "boxes": torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 40.]])}
        >>> dt = {"image": [0, 0], "category": [0, 1], "scores": [0.9, 0.8],
        ...       "boxes": torch.tensor([[0., 0., 10., 10.], [0., 0., 5., 5.]])}
        >>> r = evaluate_detections(gt, dt, box_format="xyxy")
        >>> [round(c.ap, 6) for c in r.per_category()]
        [1.0, 0.0]
    """
    if box_format not in BOX_FORMATS:
        raise ValueError(
            f"Expected `box_format` to be one of {BOX_FORMATS}, but got {box_format!r}"
        )
    if catalog is not None:
        if not isinstance(catalog, Catalog):
            raise TypeError(
                f"Expected `catalog` to be a Catalog (ids and names of the indexes), but got "
                f"{type(catalog).__name__}"
            )
        catalog = catalog.checked()  # ascending ids order tied detections, as in pycocotools
    gt_table = _ground_truth_table(gt, box_format)
    dt_table = _detection_table(dt, box_format, gt_table.image.device)
    if dt_table.image.device != gt_table.image.device:
        raise ValueError(
            f"Expected `gt` and `dt` on the same device, but got {gt_table.image.device} and "
            f"{dt_table.image.device}; move both with .to(device)"
        )
    if catalog is None:

        def _extent(a: Tensor, b: Tensor) -> int:
            both = torch.cat((a, b))
            return int(both.max()) + 1 if both.numel() else 0

        catalog = Catalog.from_counts(
            _count(num_images, "num_images", _extent(gt_table.image, dt_table.image)),
            _count(num_categories, "num_categories", _extent(gt_table.category, dt_table.category)),
        )
    ni, nk = len(catalog.image_ids), len(catalog.category_ids)
    for name, t in (("gt", gt_table), ("dt", dt_table)):
        _check_index(t.image, f"{name}['image']", ni, "an image")
        _check_index(t.category, f"{name}['category']", nk, "a category")
    return evaluate_detection_tables(
        gt_table,
        dt_table,
        catalog,
        CocoParams.coerce(params),
        device=resolve_device(device, gt_table.image.device),
    )
