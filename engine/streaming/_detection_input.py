"""Input stage of the streaming detection metric: torchvision-style dicts -> one batch.

:func:`detection_batch` checks what a detector returns in a training loop and joins
it into flat tensors, one row per detection / ground truth, with each row's image
(its position in the batch). Two input forms:

- **lists of dicts**, one dict per image (torchvision's detection models and
  torchmetrics' ``MeanAveragePrecision``): ``preds[i]`` with ``boxes`` ``(N, 4)``,
  ``scores`` ``(N,)``, ``labels`` ``(N,)`` (and ``masks`` ``(N, H, W)`` for ``segm``);
  ``target[i]`` with ``boxes``, ``labels`` and optionally ``iscrowd`` and ``area``.
- **packed dicts**: the same keys holding the rows of the whole batch, plus
  ``batch`` ``(N,)``, the image of each row (0-based, as in YOLO-style
  ``batch_idx``).

Everything here reads tensor metadata (shapes, dtypes, devices) only; the value
checks (finite boxes, scores and areas, ``iscrowd`` in {0, 1}) are gathered into one flag
tensor that the caller reads together with its other host reads.

Boxes go to ``xywh`` in their input dtype with torchvision's arithmetic (what
torchmetrics does before handing ``tolist()`` values to pycocotools), then to float64.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, NoReturn

import numpy as np
import torch
from torch import Tensor

__all__ = ["DetectionBatch", "detection_batch", "torchvision_xywh"]

# Without num_images the image count is the largest `batch` index + 1; an index far
# beyond the rows (e.g. an image id passed as the index) would size per-image tables
# by it, so such counts need num_images spelled out.
_INFERRED_IMAGES_FREE = 1 << 16
_INFERRED_IMAGES_PER_ROW = 64

# Keys the metric reads. Any other key is accepted and not read (torchmetrics ignores
# extra keys; torchvision's, DETR's and VOC's targets carry image_id, orig_size,
# difficult...), unless it looks like a misspelling of a read key: a misspelt optional
# column (`is_crowd`) would otherwise be dropped without a word.
_DT_KEYS = ("boxes", "labels", "masks", "scores")
_GT_KEYS = ("area", "boxes", "iscrowd", "labels", "masks")
_MISSPELLING_CUTOFF = 0.8  # difflib ratio: is_crowd 0.93, crowd 0.83, bbox 0.67, size 0.4


@functools.lru_cache(maxsize=256)
def _misspelling(key: str, known: tuple[str, ...]) -> str | None:
    """The read key ``key`` looks like a misspelling of, or None (a read or unrelated key)."""
    if key in known:
        return None
    close = difflib.get_close_matches(key, known, n=1, cutoff=_MISSPELLING_CUTOFF)
    return close[0] if close else None


@functools.lru_cache(maxsize=8)
def _key_set(known: tuple[str, ...]) -> frozenset[str]:
    return frozenset(known)


def _has_misspelling(item: Mapping[Any, Any], known: tuple[str, ...]) -> bool:
    """Whether a key of ``item`` looks like a misspelt read key (one set difference)."""
    return any(_misspelling(str(k), known) is not None for k in item.keys() - _key_set(known))


_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
_MASK_DTYPES = (torch.bool, torch.uint8)
_NUMBER_DTYPES = (*_INT_DTYPES, torch.float16, torch.bfloat16, torch.float32, torch.float64)


class DetectionBatch(NamedTuple):
    """One update's detections and ground truths as flat columns.

    Attributes:
        num_images: images in the batch (host int).
        dt_counts: detections per image (host ints).
        gt_counts: ground truths per image (host ints).
        dt_image: ``(D,)`` int64 image of each detection, ascending.
        dt_score: ``(D,)`` float64.
        dt_label: ``(D,)`` int64.
        dt_box: ``(D, 4)`` float64 ``xywh``, or ``None`` without ``bbox``.
        dt_masks: per image ``(D_i, H, W)`` masks, or ``None`` without ``segm``.
        gt_image: ``(G,)`` int64 image of each ground truth, ascending.
        gt_label: ``(G,)`` int64.
        gt_crowd: ``(G,)`` bool.
        gt_iscrowd: ``(G,)`` the ``iscrowd`` values as given (0 where none).
        gt_area: ``(G,)`` float64 given area, 0 where none was given.
        gt_box: ``(G, 4)`` float64 ``xywh``, or ``None``.
        gt_masks: per image ``(G_i, H, W)`` masks, or ``None``.
        bad: ``(2,)`` bool flags, read by the caller: a non-finite box, score or
            area; an ``iscrowd`` value outside {0, 1}.
    """

    num_images: int
    dt_counts: list[int]
    gt_counts: list[int]
    dt_image: Tensor
    dt_score: Tensor
    dt_label: Tensor
    dt_box: Tensor | None
    dt_masks: list[Tensor] | None
    gt_image: Tensor
    gt_label: Tensor
    gt_crowd: Tensor
    gt_iscrowd: Tensor
    gt_area: Tensor
    gt_box: Tensor | None
    gt_masks: list[Tensor] | None
    bad: Tensor


def torchvision_xywh(boxes: Tensor, fmt: str) -> Tensor:
    """``torchvision.ops.box_convert(boxes, fmt, "xywh")``, same arithmetic and dtype.

    torchvision converts through ``xyxy`` (``cxcywh`` -> ``xyxy`` -> ``xywh``
    recomputes the width as ``(cx + 0.5 w) - (cx - 0.5 w)``), which can differ in the
    last bit from keeping ``w``; torchmetrics hands exactly these values to pycocotools.

    Args:
        boxes: ``(N, 4)`` boxes in ``fmt``.
        fmt: ``"xyxy"``, ``"xywh"`` or ``"cxcywh"``.

    Returns:
        ``(N, 4)`` ``xywh`` boxes (the input itself for ``xywh``).

    Example:
        >>> torchvision_xywh(torch.tensor([[1.0, 2.0, 4.0, 6.0]]), "xyxy")
        tensor([[1., 2., 3., 4.]])
        >>> torchvision_xywh(torch.tensor([[2.0, 3.0, 2.0, 2.0]]), "cxcywh")
        tensor([[1., 2., 2., 2.]])
    """
    if fmt == "xywh":
        return boxes
    if fmt == "cxcywh":
        cx, cy, w, h = boxes.unbind(-1)
        boxes = torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack((x1, y1, x2 - x1, y2 - y1), dim=-1)


def _fail(cls: type[Exception], message: str) -> NoReturn:
    raise cls(message)


class _Checker:
    """Metadata checks of one input field, with the project's error template."""

    def __init__(self, check_device: Callable[[str, Tensor], None]) -> None:
        self.check_device = check_device

    def tensor(self, item: Mapping[str, Any], key: str, name: str) -> Tensor:
        value = item[key]
        field = f"{name}['{key}']"
        if not isinstance(value, Tensor):
            _fail(
                TypeError,
                f"Expected `{field}` to be a torch.Tensor, but got {type(value).__name__}",
            )
        self.check_device(field, value)
        return value

    def labels(self, item: Mapping[str, Any], name: str) -> Tensor:
        t = self.tensor(item, "labels", name)
        if t.dtype not in _INT_DTYPES:
            _fail(
                TypeError,
                f"Expected `{name}['labels']` to hold integer class ids, but got dtype "
                f"{t.dtype}; convert with .long()",
            )
        if t.ndim != 1:
            _fail(
                ValueError,
                f"Expected `{name}['labels']` to have shape (N,), but got {tuple(t.shape)}",
            )
        return t

    def index(self, item: Mapping[str, Any], name: str, rows: int) -> Tensor:
        t = self.tensor(item, "batch", name)
        if t.dtype not in _INT_DTYPES or t.ndim != 1 or t.shape[0] != rows:
            _fail(
                ValueError,
                f"Expected `{name}['batch']` to be an integer tensor of shape ({rows},), the "
                f"image of each row, but got {t.dtype} {tuple(t.shape)}",
            )
        return t.long()

    def column(self, item: Mapping[str, Any], key: str, name: str, rows: int) -> Tensor:
        t = self.tensor(item, key, name)
        if t.dtype == torch.bool or t.is_complex():
            _fail(TypeError, f"Expected `{name}['{key}']` to hold numbers, but got {t.dtype}")
        if t.ndim != 1 or t.shape[0] != rows:
            _fail(
                ValueError,
                f"Expected `{name}['{key}']` to have shape ({rows},), one value per label of "
                f"`{name}['labels']`, but got {tuple(t.shape)}",
            )
        return t

    def scores(self, item: Mapping[str, Any], name: str, rows: int) -> Tensor:
        t = self.column(item, "scores", name, rows)
        if not t.is_floating_point():
            _fail(
                TypeError,
                f"Expected `{name}['scores']` to be a floating-point tensor, but got {t.dtype}",
            )
        return t

    def boxes(self, item: Mapping[str, Any], name: str, rows: int) -> Tensor:
        t = self.tensor(item, "boxes", name)
        if t.dtype == torch.bool or t.is_complex():
            _fail(TypeError, f"Expected `{name}['boxes']` to hold numbers, but got {t.dtype}")
        if t.numel() == 0:
            t = t.reshape(0, 4)
        if t.ndim != 2 or t.shape[1] != 4:
            _fail(
                ValueError,
                f"Expected `{name}['boxes']` to have shape (N, 4), but got {tuple(t.shape)}",
            )
        if t.shape[0] != rows:
            _fail(
                ValueError,
                f"Expected `{name}['boxes']` to have {rows} rows, one per label of "
                f"`{name}['labels']`, but got {t.shape[0]}",
            )
        return t

    def masks(self, item: Mapping[str, Any], name: str, rows: int) -> Tensor:
        t = self.tensor(item, "masks", name)
        if t.dtype not in _MASK_DTYPES:
            _fail(
                TypeError,
                f"Expected `{name}['masks']` to be a bool (or uint8 0/1) tensor, but got {t.dtype}",
            )
        if t.numel() == 0 and rows == 0 and t.ndim != 3:
            t = t.reshape(0, 0, 0)
        if t.ndim != 3 or t.shape[0] != rows:
            _fail(
                ValueError,
                f"Expected `{name}['masks']` to have shape ({rows}, H, W), one mask per label "
                f"of `{name}['labels']`, but got {tuple(t.shape)}",
            )
        return t


def _require(
    item: Any, name: str, keys: tuple[str, ...], known: tuple[str, ...]
) -> Mapping[str, Any]:
    """``item`` as a mapping holding ``keys``, and no key outside ``known`` or the ignored."""
    if not isinstance(item, Mapping):
        _fail(
            TypeError,
            f"Expected `{name}` to be a dict of tensors, but got {type(item).__name__}",
        )
    for key in keys:
        if key not in item:
            _fail(
                ValueError,
                f"Expected `{name}` to have key {key!r} (required: {', '.join(keys)}), but it "
                f"has keys {sorted(str(k) for k in item)}",
            )
    for key in item:
        match = _misspelling(str(key), known)
        if match is not None:
            _fail(
                ValueError,
                f"Expected the keys of `{name}` to be spelt as the metric reads them "
                f"({', '.join(known)}), but got {key!r} (first offending item: "
                f"{name}[{key!r}]); did you mean {match!r}? Other keys are accepted, not read",
            )
    return item


def _same_mask_size(dt: Tensor, gt: Tensor, index: str) -> None:
    if dt.shape[0] and gt.shape[0] and dt.shape[1:] != gt.shape[1:]:
        _fail(
            ValueError,
            f"Expected `preds{index}['masks']` and `target{index}['masks']` to have the same "
            f"(H, W), but got {tuple(dt.shape[1:])} and {tuple(gt.shape[1:])}",
        )


def detection_batch(
    preds: Any,
    target: Any,
    iou_types: tuple[str, ...],
    box_format: str,
    device: torch.device,
    check_device: Callable[[str, Tensor], None],
    num_images: int | None = None,
) -> DetectionBatch:
    """Check one update's input and join it into a :class:`DetectionBatch`.

    Args:
        preds: list of per-image dicts, or one packed dict with ``batch``.
        target: same form as ``preds``.
        iou_types: ``("bbox",)``, ``("segm",)`` or both.
        box_format: format of the boxes.
        device: the metric's device (for empty columns).
        check_device: raises when a tensor is not on the metric's device.
        num_images: images in a packed batch (default: largest ``batch`` + 1).

    Returns:
        The batch; value checks are pending in ``bad``.

    Raises:
        TypeError: wrong container or dtype.
        ValueError: missing keys, wrong shapes, mismatched lengths.
    """
    packed = isinstance(preds, Mapping)
    if packed != isinstance(target, Mapping):
        _fail(
            TypeError,
            "Expected `preds` and `target` in the same form (both lists of per-image dicts or "
            f"both packed dicts), but got {type(preds).__name__} and {type(target).__name__}",
        )
    if packed:
        return _packed_batch(preds, target, iou_types, box_format, device, check_device, num_images)
    for value, name in ((preds, "preds"), (target, "target")):
        if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
            _fail(
                TypeError,
                f"Expected `{name}` to be a list of dicts (one per image) or a packed dict, but "
                f"got {type(value).__name__}",
            )
    if len(preds) != len(target):
        _fail(
            ValueError,
            f"Expected `preds` and `target` to have the same length (one dict per image), but "
            f"got {len(preds)} and {len(target)}",
        )
    if num_images is not None and num_images != len(preds):
        _fail(
            ValueError,
            f"Expected `num_images` to be None or len(preds) ({len(preds)}) for lists of dicts, "
            f"but got {num_images}",
        )
    bbox, segm = "bbox" in iou_types, "segm" in iou_types
    try:
        return _fast_list_batch(preds, target, bbox, segm, box_format, device)
    except Exception as exc:  # a precise message for whatever made the bulk path fail
        _diagnose(preds, target, bbox, segm, check_device)
        raise ValueError(
            f"Expected `preds` and `target` to be lists of per-image dicts of tensors, but "
            f"joining them failed: {exc}"
        ) from exc


class _BulkCheckError(Exception):
    """The bulk path found something wrong; the per-item diagnosis names it."""


def _fast_list_batch(
    preds: Sequence[Any],
    target: Sequence[Any],
    bbox: bool,
    segm: bool,
    box_format: str,
    device: torch.device,
) -> DetectionBatch:
    """Lists of dicts joined with one ``torch.cat`` per field, checked on the results.

    Any problem (missing key, wrong type, shape, dtype or device, mismatched lengths)
    raises; the caller then runs the per-item checks, which name the offending item.
    """
    if any(_has_misspelling(p, _DT_KEYS) for p in preds) or any(
        _has_misspelling(t, _GT_KEYS) for t in target
    ):
        raise _BulkCheckError  # a misspelt key: the diagnosis names it
    labels = [p["labels"] for p in preds]
    scores = [p["scores"] for p in preds]
    gt_labels = [t["labels"] for t in target]
    # shape[0] (not len(), a slow Python-level call); a 0-d tensor raises here.
    dt_counts = [x.shape[0] for x in labels]
    gt_counts = [x.shape[0] for x in gt_labels]
    same = [x.shape[0] for x in scores] == dt_counts
    # torch.cat promotes mixed dtypes: check each part's (a set of a few dtypes).
    same &= all(d.is_floating_point for d in {x.dtype for x in scores})
    dt_boxes = gt_boxes = dt_masks = gt_masks = None
    if bbox:
        dt_boxes = [p["boxes"] for p in preds]
        gt_boxes = [t["boxes"] for t in target]
        same &= [x.shape[0] for x in dt_boxes] == dt_counts
        same &= [x.shape[0] for x in gt_boxes] == gt_counts
    if segm:
        dt_masks = [p["masks"] for p in preds]
        gt_masks = [t["masks"] for t in target]
        for dm, gm, d, g in zip(dt_masks, gt_masks, dt_counts, gt_counts, strict=True):
            if not (
                dm.dtype in _MASK_DTYPES
                and gm.dtype in _MASK_DTYPES
                and dm.ndim == 3
                and gm.ndim == 3
                and dm.shape[0] == d
                and gm.shape[0] == g
                and dm.device == device
                and gm.device == device
                and (not d or not g or dm.shape[1:] == gm.shape[1:])
            ):
                raise _BulkCheckError
    crowds = [t.get("iscrowd") for t in target]
    areas = [t.get("area") for t in target]
    for column in (crowds, areas):
        given = [g if x is None else x.shape[0] for x, g in zip(column, gt_counts, strict=True)]
        same &= given == gt_counts
    if not same:
        raise _BulkCheckError
    num_gt = sum(gt_counts)

    def optional(parts: list[Any], dtype: torch.dtype) -> list[Tensor]:
        if all(x is None for x in parts):  # one column of zeros, not one per image
            return [torch.zeros(num_gt, dtype=dtype, device=device)] if num_gt else []
        return [
            torch.zeros(g, dtype=dtype, device=device) if x is None else x
            for x, g in zip(parts, gt_counts, strict=True)
            if g or x is not None
        ]

    crowd_parts = optional(crowds, torch.int64)
    area_parts = optional(areas, torch.float64)
    batch = _assemble(
        len(preds),
        dt_counts,
        gt_counts,
        scores,
        labels,
        dt_boxes,
        dt_masks,
        gt_labels,
        gt_boxes,
        gt_masks,
        crowd_parts,
        area_parts,
        box_format,
        device,
        check=True,
    )
    return batch


def _diagnose(
    preds: Sequence[Any],
    target: Sequence[Any],
    bbox: bool,
    segm: bool,
    check_device: Callable[[str, Tensor], None],
) -> None:
    """The per-item checks: raise naming the first offending item (no-op when clean)."""
    geometry = ("boxes",) * bbox + ("masks",) * segm
    dt_keys = (*geometry, "scores", "labels")
    gt_keys = (*geometry, "labels")
    check = _Checker(check_device)
    for i, (p, t) in enumerate(zip(preds, target, strict=True)):
        pn, tn = f"preds[{i}]", f"target[{i}]"
        p = _require(p, pn, dt_keys, _DT_KEYS)
        t = _require(t, tn, gt_keys, _GT_KEYS)
        n = check.labels(p, pn).shape[0]
        check.scores(p, pn, n)
        g = check.labels(t, tn).shape[0]
        if bbox:
            check.boxes(p, pn, n)
            check.boxes(t, tn, g)
        if segm:
            _same_mask_size(check.masks(p, pn, n), check.masks(t, tn, g), f"[{i}]")
        for key in ("iscrowd", "area"):
            if key in t:
                check.column(t, key, tn, g)


def _assemble(
    num_images: int,
    dt_counts: list[int],
    gt_counts: list[int],
    scores: list[Tensor],
    labels: list[Tensor],
    dt_boxes: list[Tensor] | None,
    dt_masks: list[Tensor] | None,
    gt_labels: list[Tensor],
    gt_boxes: list[Tensor] | None,
    gt_masks: list[Tensor] | None,
    crowds: list[Tensor],
    areas: list[Tensor],
    box_format: str,
    device: torch.device,
    check: bool = False,
) -> DetectionBatch:
    """Join the per-image parts; with ``check``, verify the joined columns' metadata."""
    f64, i64 = torch.float64, torch.int64

    def first_on_device(parts: list[Tensor]) -> None:
        # torch.cat refuses mixed devices; the first part tells the common one (and a
        # wrong device is found before cat: on "meta" it would be slow).
        if check and parts and parts[0].device != device:
            raise _BulkCheckError

    def joined(
        parts: list[Tensor], dtype: torch.dtype, kind: tuple[torch.dtype, ...] | None
    ) -> Tensor:
        first_on_device(parts)
        t = torch.cat(parts) if parts else torch.zeros(0, dtype=dtype, device=device)
        if check and (
            t.device != device
            or t.ndim != 1
            or (kind is not None and t.dtype not in kind)
            or (kind is None and not t.is_floating_point())
        ):
            raise _BulkCheckError
        return t

    def joined_boxes(parts: list[Tensor]) -> Tensor:
        first_on_device(parts)
        t = torch.cat(parts) if parts else torch.zeros((0, 4), dtype=f64, device=device)
        if t.numel() == 0:
            t = t.reshape(0, 4)
        if check and (
            t.device != device
            or t.ndim != 2
            or t.shape[1] != 4
            or t.dtype == torch.bool
            or t.is_complex()
        ):
            raise _BulkCheckError
        return t

    # Image of each row from the host counts (free on the CPU, one copy to a GPU).
    images = np.arange(num_images, dtype=np.int64)
    dt_image = torch.from_numpy(np.repeat(images, dt_counts)).to(device, non_blocking=True)
    gt_image = torch.from_numpy(np.repeat(images, gt_counts)).to(device, non_blocking=True)
    score = joined(scores, f64, None)
    label = joined(labels, i64, _INT_DTYPES)
    gt_label = joined(gt_labels, i64, _INT_DTYPES)
    crowd = joined(crowds, i64, (*_NUMBER_DTYPES, torch.bool))
    area = joined(areas, f64, _NUMBER_DTYPES)
    dt_box = gt_box = None
    finite = [score, area]
    if dt_boxes is not None and gt_boxes is not None:
        # Convert in the input dtype (torchmetrics converts each image's tensor), then
        # float64: the values pycocotools receives from tolist().
        dt_box = torchvision_xywh(joined_boxes(dt_boxes), box_format).to(f64)
        gt_box = torchvision_xywh(joined_boxes(gt_boxes), box_format).to(f64)
        finite += [dt_box.reshape(-1), gt_box.reshape(-1)]
    score = score.to(f64)
    crowd_flag = crowd != 0
    # Pending value checks, read later with the caller's first host read.
    bad = torch.stack(
        (
            ~torch.isfinite(torch.cat(finite)).all(),
            (crowd_flag & (crowd != 1)).any(),
        )
    )
    return DetectionBatch(
        num_images=num_images,
        dt_counts=dt_counts,
        gt_counts=gt_counts,
        dt_image=dt_image,
        dt_score=score,
        dt_label=label.to(i64),
        dt_box=dt_box,
        dt_masks=dt_masks,
        gt_image=gt_image,
        gt_label=gt_label.to(i64),
        gt_crowd=crowd_flag,
        gt_iscrowd=crowd,
        gt_area=area.to(f64),
        gt_box=gt_box,
        gt_masks=gt_masks,
        bad=bad,
    )


def _packed_batch(
    preds: Mapping[str, Any],
    target: Mapping[str, Any],
    iou_types: tuple[str, ...],
    box_format: str,
    device: torch.device,
    check_device: Callable[[str, Tensor], None],
    num_images: int | None,
) -> DetectionBatch:
    """Packed dicts: rows of the whole batch with a ``batch`` image index per row."""
    bbox, segm = "bbox" in iou_types, "segm" in iou_types
    geometry = ("boxes",) * bbox + ("masks",) * segm
    p = _require(preds, "preds", (*geometry, "scores", "labels", "batch"), (*_DT_KEYS, "batch"))
    t = _require(target, "target", (*geometry, "labels", "batch"), (*_GT_KEYS, "batch"))
    check = _Checker(check_device)
    label = check.labels(p, "preds")
    gt_label = check.labels(t, "target")
    n, g = label.shape[0], gt_label.shape[0]
    dt_batch = check.index(p, "preds", n)
    gt_batch = check.index(t, "target", g)
    if num_images is None:
        both = torch.cat((dt_batch, gt_batch))
        num_images = int(both.max()) + 1 if both.numel() else 0  # host read
        if num_images > max(_INFERRED_IMAGES_PER_ROW * both.numel(), _INFERRED_IMAGES_FREE):
            _fail(
                ValueError,
                f"Expected `preds['batch']` / `target['batch']` to hold image positions in a "
                f"batch, but the largest is {num_images - 1} for {both.numel()} rows; pass "
                "num_images=... if the batch really holds that many images",
            )
    elif isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 0:
        _fail(ValueError, f"Expected `num_images` to be an int >= 0, but got {num_images!r}")
    # Rows grouped by image (stable: annotation order inside an image is kept); the
    # per-image counts come back to the host once.
    dt_order = torch.sort(dt_batch, stable=True)
    gt_order = torch.sort(gt_batch, stable=True)
    last = max(num_images - 1, 0)
    table = torch.cat(
        (
            torch.bincount(dt_order.values.clamp(0, last), minlength=num_images)[:num_images],
            torch.bincount(gt_order.values.clamp(0, last), minlength=num_images)[:num_images],
            ((dt_batch < 0) | (dt_batch >= num_images)).any()[None],
            ((gt_batch < 0) | (gt_batch >= num_images)).any()[None],
        )
    ).tolist()  # host read: counts per image and two range flags
    counts = [table[:num_images], table[num_images : 2 * num_images]]
    for flag, name in zip(table[2 * num_images :], ("preds", "target"), strict=True):
        if flag:
            _fail(
                ValueError,
                f"Expected `{name}['batch']` to hold image indexes in [0, {num_images}), but got "
                "values outside (pass num_images=... for the batch size)",
            )
    di, gi = dt_order.indices, gt_order.indices
    scores = check.scores(p, "preds", n).index_select(0, di)
    crowd = (
        check.column(t, "iscrowd", "target", g).index_select(0, gi)
        if "iscrowd" in t
        else torch.zeros(g, dtype=torch.int64, device=device)
    )
    area = (
        check.column(t, "area", "target", g).index_select(0, gi)
        if "area" in t
        else torch.zeros(g, dtype=torch.float64, device=device)
    )
    dt_boxes = gt_boxes = dt_masks = gt_masks = None
    if bbox:
        dt_boxes = [check.boxes(p, "preds", n).index_select(0, di)]
        gt_boxes = [check.boxes(t, "target", g).index_select(0, gi)]
    if segm:
        dm, gm = check.masks(p, "preds", n), check.masks(t, "target", g)
        _same_mask_size(dm, gm, "")
        dt_masks = list(torch.split(dm.index_select(0, di), counts[0])) if num_images else []
        gt_masks = list(torch.split(gm.index_select(0, gi), counts[1])) if num_images else []
    return _assemble(
        num_images,
        counts[0],
        counts[1],
        [scores],
        [label.index_select(0, di)],
        dt_boxes,
        dt_masks,
        [gt_label.index_select(0, gi)],
        gt_boxes,
        gt_masks,
        [crowd],
        [area],
        box_format,
        device,
    )
