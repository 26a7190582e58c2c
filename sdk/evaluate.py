"""One-call evaluation helpers: ``evaluate_coco`` and ``evaluate_detections``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .engine.device import resolve_device
from .engine.evaluation import CocoParams, CocoResult, IouType, evaluate_detection_tables
from .engine.formats import load_coco_ground_truth, load_coco_results
from .engine.tables import Catalog, DetectionTable, GroundTruthTable
from .kernels.boxes import BOX_FORMATS, BoxFormat, box_convert

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
        iou_type: ``"bbox"``.
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
    if hasattr(dt, "dataset") and isinstance(dt.dataset, Mapping):
        dt = dt.dataset.get("annotations", [])
    catalog, gt_table = load_coco_ground_truth(gt)
    dt_table = load_coco_results(dt, catalog)
    return evaluate_detection_tables(
        gt_table, dt_table, catalog, CocoParams.coerce(params), iou_type=iou_type, device=device
    )


def _tensor(value: ArrayLike, name: str, dtype: torch.dtype, device: torch.device | None) -> Tensor:
    if isinstance(value, Tensor):
        t = value
    elif isinstance(value, np.ndarray):
        t = torch.from_numpy(value)
    else:
        try:
            t = torch.as_tensor(np.asarray(value))
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"Expected `{name}` to be a tensor, array or sequence of numbers, but got {exc}"
            ) from None
    if dtype == torch.int64 and (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool):
        raise TypeError(f"Expected `{name}` to hold integer indexes, but got dtype {t.dtype}")
    if dtype == torch.float64 and not (
        t.is_floating_point() or t.dtype in (torch.int32, torch.int64, torch.int16, torch.uint8)
    ):
        raise TypeError(f"Expected `{name}` to hold numbers, but got dtype {t.dtype}")
    return t.to(device=device, dtype=dtype)


def _first(mask: Tensor) -> int:
    return int(torch.nonzero(mask)[0, 0])


def _check_index(t: Tensor, name: str, size: int, what: str) -> None:
    bad = (t < 0) | (t >= size)
    if bool(bad.any()):
        i = _first(bad)
        raise ValueError(
            f"Expected `{name}[{i}]` to be a {what} index in [0, {size}), but got {int(t[i])}"
        )


def _check_boxes(boxes: Tensor, name: str) -> None:
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"Expected `{name}` to have shape (N, 4), but got {tuple(boxes.shape)}")
    bad = ~torch.isfinite(boxes).all(1) | (boxes[:, 2] < 0) | (boxes[:, 3] < 0)
    if bool(bad.any()):
        i = _first(bad)
        raise ValueError(
            f"Expected `{name}[{i}]` to be a finite box with width and height >= 0, "
            f"but got {boxes[i].tolist()}"
        )


def _get(table: Mapping[str, ArrayLike], key: str, name: str) -> ArrayLike:
    if key not in table:
        raise KeyError(f"Expected `{name}` to have key {key!r}, but it has keys {sorted(table)}")
    return table[key]


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
            (G,) (default ``1..G``); or a :class:`GroundTruthTable`.
        dt: mapping with ``image`` (D,), ``category`` (D,), ``boxes`` (D, 4),
            ``scores`` (D,); or a :class:`DetectionTable`.
        num_images: number of images (default: largest index + 1; images without any
            annotation still count when given).
        num_categories: number of categories (default: largest index + 1).
        box_format: ``"xywh"`` (COCO), ``"xyxy"`` or ``"cxcywh"``.
        params: evaluation parameters, as for :func:`evaluate_coco`.
        device: where to compute; ``None`` keeps the inputs' device.
        catalog: ids and names for the indexes (overrides ``num_images`` /
            ``num_categories``).

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
    if isinstance(gt, GroundTruthTable):
        gt_table = gt
    else:
        first = _get(gt, "image", "gt")
        dev = first.device if isinstance(first, Tensor) else None
        image = _tensor(first, "gt['image']", torch.int64, dev)
        n = image.shape[0]
        boxes = _tensor(_get(gt, "boxes", "gt"), "gt['boxes']", torch.float64, dev)
        if boxes.numel() == 0:
            boxes = boxes.reshape(0, 4)
        boxes = (
            box_convert(boxes, box_format, "xywh")
            if boxes.ndim == 2 and boxes.shape[-1] == 4
            else boxes
        )
        _check_boxes(boxes, "gt['boxes']")
        cols = {
            "category": _tensor(_get(gt, "category", "gt"), "gt['category']", torch.int64, dev),
            "boxes": boxes,
            "area": _tensor(gt["area"], "gt['area']", torch.float64, dev)
            if "area" in gt
            else boxes[:, 2] * boxes[:, 3],
            "iscrowd": _tensor(gt["iscrowd"], "gt['iscrowd']", torch.int64, dev).bool()
            if "iscrowd" in gt
            else torch.zeros(n, dtype=torch.bool, device=image.device),
            "id": _tensor(gt["id"], "gt['id']", torch.int64, dev)
            if "id" in gt
            else torch.arange(1, n + 1, device=image.device),
        }
        for key, col in cols.items():
            if col.shape[0] != n:
                raise ValueError(
                    f"Expected `gt['{key}']` to have {n} rows like `gt['image']`, "
                    f"but got {col.shape[0]}"
                )
        gt_table = GroundTruthTable(
            image, cols["category"], boxes, cols["area"], cols["iscrowd"], cols["id"]
        )
    if isinstance(dt, DetectionTable):
        dt_table = dt
    else:
        first = _get(dt, "image", "dt")
        dev = first.device if isinstance(first, Tensor) else gt_table.image.device
        image = _tensor(first, "dt['image']", torch.int64, dev)
        n = image.shape[0]
        boxes = _tensor(_get(dt, "boxes", "dt"), "dt['boxes']", torch.float64, dev)
        if boxes.numel() == 0:
            boxes = boxes.reshape(0, 4)
        boxes = (
            box_convert(boxes, box_format, "xywh")
            if boxes.ndim == 2 and boxes.shape[-1] == 4
            else boxes
        )
        _check_boxes(boxes, "dt['boxes']")
        category = _tensor(_get(dt, "category", "dt"), "dt['category']", torch.int64, dev)
        scores = _tensor(_get(dt, "scores", "dt"), "dt['scores']", torch.float64, dev)
        for key, col in (("category", category), ("boxes", boxes), ("scores", scores)):
            if col.shape[0] != n:
                raise ValueError(
                    f"Expected `dt['{key}']` to have {n} rows like `dt['image']`, "
                    f"but got {col.shape[0]}"
                )
        if not bool(torch.isfinite(scores).all()):
            i = _first(~torch.isfinite(scores))
            raise ValueError(
                f"Expected `dt['scores'][{i}]` to be finite, but got {float(scores[i])}"
            )
        dt_table = DetectionTable(image, category, boxes, scores, boxes[:, 2] * boxes[:, 3])
    if dt_table.image.device != gt_table.image.device:
        raise ValueError(
            f"Expected `gt` and `dt` on the same device, but got {gt_table.image.device} and "
            f"{dt_table.image.device}; move both with .to(device)"
        )
    if catalog is None:

        def _extent(a: Tensor, b: Tensor) -> int:
            both = torch.cat((a, b))
            return int(both.max()) + 1 if both.numel() else 0

        num_images = _extent(gt_table.image, dt_table.image) if num_images is None else num_images
        num_categories = (
            _extent(gt_table.category, dt_table.category)
            if num_categories is None
            else num_categories
        )
        catalog = Catalog.from_counts(num_images, num_categories)
    ni, nk = len(catalog.image_ids), len(catalog.category_ids)
    for name, table in (("gt", gt_table), ("dt", dt_table)):
        _check_index(table.image, f"{name}['image']", ni, "image")
        _check_index(table.category, f"{name}['category']", nk, "category")
    dev_out = resolve_device(device, gt_table.image.device)
    return evaluate_detection_tables(
        gt_table, dt_table, catalog, CocoParams.coerce(params), device=dev_out
    )
