"""Segmentation kernels: pixel confusion, per-class scores and panoptic quality.

Every function is a pure tensor function: CUDA or CPU from the same code, output on
the input's device, no ``.item()`` / ``.tolist()`` / ``.cpu()`` on a device, and an
empty input gives an empty output of the right shape. (On CUDA, ``torch.bincount``
itself reads the input's min and max on the host to size its output: one small
synchronisation per call, inside torch.)

Bad input gets a ``TypeError`` / ``ValueError`` naming the argument (see
:mod:`._checks`): the metadata (types, dtypes, shapes, devices, the integer
arguments) is checked on every device; on CPU tensors also the values (label and
segment indexes in range, counts not negative), one ``aminmax`` pass per tensor, the
first offending item named. Device values are not read (no host sync): there the
documented contract stands, and a label out of range is counted in another cell.
On the CPU :func:`pixel_confusion_matrix` counts with the invalid-pixel count of
:func:`pixel_confusion_matrix_with_invalid` and looks for the offending pixel only
when that count is nonzero: 10-20% more than the unchecked count (500 int64 maps of
512 x 512, 21 classes, two threads: about 400 ms against 340). The evaluators, which
check the labels themselves, call the unchecked cores ``_pixel_confusion_matrix``,
``_pixel_confusion_matrix_with_invalid``, ``_pixel_pair_counts``,
``_panoptic_intersections`` and ``_panoptic_counts``; the streaming metrics with
``validate_args=False`` call ``_pixel_confusion_matrix_dropping_invalid`` (invalid
pixels dropped, not counted: no mask, no sum, no host read on a device).

Semantic segmentation reduces to one ``(C, C)`` pixel confusion matrix (rows: target
class, columns: predicted class), counted with a single ``bincount`` of
``target * C + preds`` over every pixel of every image at once. Every score is then a
function of that matrix:

====================  =========================================================
IoU (Jaccard)         ``tp / (gt + pred - tp)``
Dice (F1)             ``2 tp / (gt + pred)``
precision             ``tp / pred``
recall (class acc.)   ``tp / gt``
pixel accuracy        ``trace / total``
frequency-weighted    ``sum_c gt_c IoU_c / total`` over classes with ``gt_c > 0``
====================  =========================================================

where ``tp`` is the diagonal, ``gt`` the row sums and ``pred`` the column sums.
:func:`semantic_scores` leaves a ratio with a zero denominator NaN and averages with
``nanmean`` (mmsegmentation's ``IoUMetric``, scikit-learn with
``zero_division=np.nan``, torchmetrics' macro average); :func:`valor_lite_semantic_scores`
follows valor-lite: class 0 is background, zero denominators give 0.

Panoptic quality works on per-image *local* segment indexes: in ``target`` and
``preds`` a pixel holds 0 (void) or ``1 + `` the index of its segment in that image's
segment table. One ``bincount`` over ``(image, target segment, predicted segment)``
gives every intersection; matching (IoU > 0.5), the void and crowd rules and the
per-category tallies are dense masked reductions over ``(N, G, D)``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from . import _triton
from ._checks import (
    as_int64,
    as_ordered,
    check_binary,
    check_dtype,
    check_int,
    check_range,
    check_same_device,
    check_size,
    check_tensor,
    first_item,
    reads_values,
)

__all__ = [
    "PANOPTIC_PROTOCOLS",
    "PanopticCounts",
    "PanopticProtocol",
    "PanopticScores",
    "SemanticScores",
    "ValorLiteSemanticScores",
    "confusion_dice",
    "confusion_iou",
    "confusion_precision",
    "confusion_recall",
    "fused_confusion_available",
    "panoptic_averages",
    "panoptic_counts",
    "panoptic_intersections",
    "panoptic_scores",
    "pixel_confusion_matrix",
    "pixel_confusion_matrix_with_invalid",
    "pixel_pair_counts",
    "semantic_scores",
    "valor_lite_semantic_scores",
]

PanopticProtocol = Literal["coco", "torchmetrics", "torchmetrics-modified"]
PANOPTIC_PROTOCOLS: tuple[str, ...] = ("coco", "torchmetrics", "torchmetrics-modified")


# ---------------------------------------------------------------------------- checks


def _check_map(name: str, x: object, shape: str = "any shape", kind: str = "integer") -> Tensor:
    """A tensor of ``kind`` (:func:`._checks.check_dtype`) of any shape.

    With ``shape="(N, ...)"`` at least one dimension.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"Expected `{name}` to be a torch.Tensor, but got {type(x).__name__}")
    check_dtype(name, x, kind)
    if shape != "any shape" and x.ndim < 1:
        raise ValueError(f"Expected `{name}` to have shape {shape}, but got ()")
    return x


def _check_pair(
    target: object, preds: object, shape: str = "any shape", kind: str = "integer"
) -> None:
    """Two label maps of ``kind`` (default integer, bool refused), one shape, one device."""
    t = _check_map("target", target, shape, kind)
    p = _check_map("preds", preds, shape, kind)
    check_same_device(target=t, preds=p)
    if p.shape != t.shape:
        raise ValueError(
            f"Expected `preds` to have the shape of `target` {tuple(t.shape)}, but got "
            f"{tuple(p.shape)}"
        )


def _fits(dtype: torch.dtype, value: int) -> bool:
    info = torch.iinfo(dtype)
    return int(info.min) <= value <= int(info.max)


def _check_ignore(
    ignore_index: object, target: Tensor, representable: bool, given: torch.dtype
) -> int | None:
    """``ignore_index`` as an int (or None); with ``representable``, in ``target``'s dtype.

    torch compares a tensor with a value outside its dtype after wrapping the value
    into it (-1 equals 255 in uint8): such an ``ignore_index`` would leave out the
    pixels of another value. ``given``: the dtype the caller passed (bool for a map
    counted as uint8).
    """
    if ignore_index is None:
        return None
    ig = check_int("ignore_index", ignore_index, minimum=None)
    if representable and not _fits(target.dtype, ig):
        info = torch.iinfo(target.dtype)
        read_as = f", read as {target.dtype}" if given != target.dtype else ""
        raise ValueError(
            f"Expected `ignore_index` to be representable in `target`'s dtype {given}"
            f"{read_as} ([{int(info.min)}, {int(info.max)}]), but got {ig}; widen `target` "
            "first, e.g. target.long()"
        )
    return ig


def _within(x: Tensor, low: int, high: int) -> bool:
    """Whether every value of non-empty CPU ``x`` lies in ``[low, high)`` (one ``aminmax``)."""
    lo, hi = (int(v) for v in torch.aminmax(as_ordered(x)))
    return lo >= low and hi < high


def _check_labels(target: Tensor, preds: Tensor, c: int, ignore_index: int | None) -> None:
    """CPU label maps: ``target`` in ``[0, C)`` or ``ignore_index``, ``preds`` in ``[0, C)``.

    A prediction on an ignored pixel is not read. One ``aminmax`` per map; masks are
    built only where a map's range leaves ``[0, C)`` (an ignore value such as 255
    does), naming the first offending pixel. Device values are not read.
    """
    if not reads_values(target, preds) or not target.numel():
        return
    if ignore_index is None:
        check_range("target", target, 0, c, "class indexes")
        check_range("preds", preds, 0, c, "class indexes")
        return
    counted = None
    if not _within(target, 0, c):
        t = as_int64(target)  # compared with Python ints that may lie beyond a narrow dtype
        counted = t != ignore_index
        _raise_first(
            "target", t, ((t < 0) | (t >= c)) & counted, f"[0, {c}) or ignore_index={ignore_index}"
        )
    if not _within(preds, 0, c):
        if counted is None:
            counted = as_int64(target) != ignore_index
        p = as_int64(preds)
        where = f"[0, {c}) where `target` is not ignore_index={ignore_index}"
        _raise_first("preds", p, ((p < 0) | (p >= c)) & counted, where)


def _raise_first(name: str, x: Tensor, bad: Tensor, interval: str) -> None:
    """ValueError naming the first set entry of ``bad`` (none set: nothing)."""
    if not bool(bad.any()):
        return
    first, item = first_item(name, bad)
    raise ValueError(
        f"Expected `{name}` to hold class indexes in {interval}, but got "
        f"{x.reshape(-1)[first].item()} (first offending item: {item})"
    )


def _label_inputs(
    target: object, preds: object, num_classes: object, ignore_index: object, representable: bool
) -> tuple[Tensor, Tensor, int, int | None]:
    """Metadata of the semantic kernels' arguments, the maps in a dtype torch compares.

    Bool maps as uint8 0 / 1 (a view), uint16-64 maps widened to int64.
    """
    c = check_int("num_classes", num_classes, minimum=1)
    _check_pair(target, preds, kind="integer or bool")
    t, p = as_ordered(target), as_ordered(preds)  # type: ignore[arg-type]
    given = target.dtype  # type: ignore[attr-defined]
    ig = _check_ignore(ignore_index, t, representable, given)  # widened: compared exactly
    return t, p, c, ig


def _check_confusion(confusion: object, min_classes: int = 0) -> Tensor:
    """A square ``(C, C)`` integer or floating-point tensor; on the CPU, counts ``>= 0``."""
    cm = check_tensor("confusion", confusion, 2, "(C, C)")
    if cm.shape[0] != cm.shape[1] or cm.shape[0] < min_classes:
        at_least = f" with C >= {min_classes}" if min_classes else ""
        raise ValueError(
            f"Expected `confusion` to have shape (C, C){at_least}, but got {tuple(cm.shape)}"
        )
    if cm.dtype == torch.bool or cm.is_complex():
        raise TypeError(
            f"Expected `confusion` to hold integer or floating-point counts, but got dtype "
            f"{cm.dtype}"
        )
    check_range("confusion", cm, 0, None, "counts")  # NaN included
    return cm


# --------------------------------------------------------------------------- semantic


def _key_dtype(num_bins: int) -> torch.dtype:
    """Smallest integer dtype that holds ``0 .. num_bins`` (smaller keys count faster)."""
    if num_bins < 2**15 - 1:
        return torch.int16
    if num_bins < 2**31 - 1:
        return torch.int32
    return torch.int64


def _pair_keys(target: Tensor, preds: Tensor, num_classes: int, num_bins: int) -> Tensor:
    """``target * C + preds`` over every pixel, flat, in the narrowest dtype for ``num_bins``.

    On devices one fused ``torch.add`` reads both maps once and writes the narrow key
    (500 int64 maps of 512 x 512 on an H100: 0.84 ms, at the memory bandwidth). On
    the CPU a casting add does not vectorise: both maps are cast first, then added in
    place (26M int64 pixels: 47 ms against 117 fused). A prediction out of range
    gives a wrong key, so callers mask the keys of ignored pixels, or check first.
    """
    dtype = _key_dtype(num_bins)
    if target.device.type == "cpu":
        return _pair_keys_cast_first(target, preds, num_classes, dtype)
    return _pair_keys_fused(target, preds, num_classes, dtype)


def _pair_keys_cast_first(target: Tensor, preds: Tensor, c: int, dtype: torch.dtype) -> Tensor:
    key = target.reshape(-1).to(dtype, copy=True)
    return torch.add(preds.reshape(-1).to(dtype), key, alpha=c, out=key)


def _pair_keys_fused(target: Tensor, preds: Tensor, c: int, dtype: torch.dtype) -> Tensor:
    """One ``add`` into a narrow ``out``, computed in the inputs' common dtype.

    A common dtype narrower than ``dtype`` (uint8 maps, bool) is widened first.
    """
    t = target.reshape(-1)
    p = preds.reshape(-1)
    common = torch.promote_types(t.dtype, p.dtype)
    if torch.promote_types(common, dtype) != common:
        t = t.to(dtype)
    return torch.add(p, t, alpha=c, out=torch.empty(t.shape, dtype=dtype, device=t.device))


_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def _triton_takes(
    target: Tensor, preds: Tensor, num_classes: int, ignore_index: int | None = None
) -> bool:
    """Whether the one-pass Triton histogram counts these maps (CUDA, small ``C``, ints).

    An ``ignore_index`` outside ``target``'s dtype goes the eager way, where it matches
    no pixel (:func:`pixel_confusion_matrix` refuses it; torch would wrap it into the
    dtype, so the eager code never compares it).
    """
    if ignore_index is not None and target.dtype in _INT_DTYPES:
        info = torch.iinfo(target.dtype)
        if not info.min <= ignore_index <= info.max:
            return False
    return (
        target.dtype in _INT_DTYPES
        and preds.dtype in _INT_DTYPES
        and _triton.histogram_fits(num_classes)
        and _triton.available(target, preds)
    )


def _fused_counts(
    target: Tensor, preds: Tensor, num_classes: int, ignore_index: int | None
) -> tuple[Tensor, Tensor] | None:
    """``(counts, invalid)`` from the Triton histogram, or None where it does not run."""
    if not _triton_takes(target, preds, num_classes, ignore_index):
        return None
    return _triton.pair_histogram(target, preds, num_classes, ignore_index)


def pixel_confusion_matrix(
    target: Tensor, preds: Tensor, num_classes: int, ignore_index: int | None = None
) -> Tensor:
    """Pixel confusion matrix of label maps, all images in one ``bincount``.

    On CUDA with Triton installed (and ``C * C + 2 <= 512``) one Triton kernel reads
    both maps once and histograms the pairs in registers; the counts are the same.

    Args:
        target: ``(N, H, W)`` (any shape) integer ground-truth classes in
            ``[0, num_classes)``, or ``ignore_index``; a bool map counts as 0 / 1.
        preds: integer (or bool) predicted classes in ``[0, num_classes)``, same
            shape as ``target``; its value at an ignored pixel is never read.
        num_classes: ``C``.
        ignore_index: target value whose pixels are left out; it must be
            representable in ``target``'s dtype.

    Returns:
        ``(C, C)`` int64 counts; row = target class, column = predicted class (the
        layout of ``sklearn.metrics.confusion_matrix``), on the input's device.

    Raises:
        TypeError: ``target`` or ``preds`` not an integer or bool tensor
            (floating-point refused), ``num_classes`` or ``ignore_index`` not an int.
        ValueError: ``num_classes < 1``, maps of different shapes or devices, an
            ``ignore_index`` outside ``target``'s dtype; on CPU tensors a target
            outside ``[0, num_classes)`` that is not ``ignore_index``, or a prediction
            outside it on a counted pixel (the first one is named; counted with
            :func:`pixel_confusion_matrix_with_invalid`, which costs one ``aminmax``
            per map more). Device values are not read.

    Example:
        >>> import torch
        >>> target = torch.tensor([[[0, 0, 1], [1, 2, 255]]])
        >>> preds = torch.tensor([[[0, 1, 1], [1, 2, 0]]])
        >>> pixel_confusion_matrix(target, preds, 3, ignore_index=255)
        tensor([[1, 1, 0],
                [0, 2, 0],
                [0, 0, 1]])
        >>> pixel_confusion_matrix(target[:0], preds[:0], 2)
        tensor([[0, 0],
                [0, 0]])
        >>> pixel_confusion_matrix(target, preds, 3)
        Traceback (most recent call last):
        ...
        ValueError: Expected `target` to hold class indexes in [0, 3), but got 255 ...
    """
    t, p, c, ig = _label_inputs(target, preds, num_classes, ignore_index, representable=True)
    if not reads_values(t, p) or not t.numel():
        return _pixel_confusion_matrix(t, p, c, ig)
    # CPU: the count that also finds invalid pixels costs about one aminmax per map more;
    # only a nonzero count leads to the check that names the first one
    counts, invalid = _pixel_confusion_matrix_with_invalid(t, p, c, ig)
    if int(invalid):
        _check_labels(t, p, c, ig)
    return counts


def _pixel_confusion_matrix(
    target: Tensor, preds: Tensor, num_classes: int, ignore_index: int | None
) -> Tensor:
    """:func:`pixel_confusion_matrix` of arguments already checked."""
    c = num_classes
    fused = _fused_counts(target, preds, c, ignore_index)  # CUDA: key and histogram, one read
    if fused is not None:
        return fused[0]
    bins = c * c
    key = _pair_keys(target, preds, c, bins)
    if ignore_index is not None:
        # Ignored pixels go to one extra bin that is dropped: no compaction pass. The
        # mask overwrites their keys, so the predictions there (any value) never count.
        key.masked_fill_(target.reshape(-1) == ignore_index, bins)
    return torch.bincount(key, minlength=bins + 1)[:bins].reshape(c, c)


def fused_confusion_available(
    target: Tensor, preds: Tensor, num_classes: int, ignore_index: int | None = None
) -> bool:
    """Whether :func:`pixel_confusion_matrix_with_invalid` reads the maps once (Triton).

    True for integer maps on CUDA with Triton installed, ``C * C + 2 <= 512`` and
    ``ignore_index`` (if any) representable in ``target``'s dtype (``ASSAY_TRITON=0``
    turns it off). Callers that can also check labels another way use it to pick the
    cheaper path. Other dtypes and shapes give False (nothing is read).

    Raises:
        TypeError: ``target`` or ``preds`` not a tensor, ``num_classes`` or
            ``ignore_index`` not an int.
        ValueError: ``num_classes < 1``.

    Example:
        >>> import torch
        >>> fused_confusion_available(torch.zeros(2, dtype=torch.long), torch.zeros(2), 3)
        False
    """
    for name, x in (("target", target), ("preds", preds)):
        if not isinstance(x, Tensor):
            raise TypeError(f"Expected `{name}` to be a torch.Tensor, but got {type(x).__name__}")
    c = check_int("num_classes", num_classes, minimum=1)
    ig = None if ignore_index is None else check_int("ignore_index", ignore_index, minimum=None)
    return _triton_takes(target, preds, c, ig)


def pixel_confusion_matrix_with_invalid(
    target: Tensor, preds: Tensor, num_classes: int, ignore_index: int | None = None
) -> tuple[Tensor, Tensor]:
    """Pixel confusion matrix of the valid pixels, and the number of invalid ones.

    A pixel is invalid when it is not ignored and its target or prediction lies
    outside ``[0, C)``; it is left out of the counts. So one pass both counts and
    validates: a caller reads ``invalid`` (one synchronisation) and only on a nonzero
    count looks for the offending pixel. On CUDA with Triton (see
    :func:`fused_confusion_available`) that pass is one read of both maps. On the CPU,
    when no value is negative, no prediction is ``>= C`` and the target values are
    small (an ignore value such as 255 included), one ``aminmax`` per map and one
    :func:`pixel_pair_counts` pass count both, about the cost of
    :func:`pixel_confusion_matrix`; else masks of the valid pixels are built.

    Args:
        target: integer ground-truth classes (any shape), or ``ignore_index``; any
            value is accepted (out of range: invalid); a bool map counts as 0 / 1.
        preds: integer (or bool) predicted classes, same shape; ignored pixels' are
            not read.
        num_classes: ``C``.
        ignore_index: target value whose pixels are left out (one outside ``target``'s
            dtype matches no pixel).

    Returns:
        ``(confusion, invalid)``: ``(C, C)`` int64 counts (rows target, columns
        prediction) and a 0-d int64 count, both on the input's device.

    Raises:
        TypeError: ``target`` or ``preds`` not an integer or bool tensor
            (floating-point refused), ``num_classes`` or ``ignore_index`` not an int.
        ValueError: ``num_classes < 1``, maps of different shapes or devices. Label
            values are never refused: out of range, they are counted as invalid.

    Example:
        >>> import torch
        >>> target = torch.tensor([0, 1, 7, 255, 1])
        >>> preds = torch.tensor([0, 1, 0, 9, -1])
        >>> cm, invalid = pixel_confusion_matrix_with_invalid(target, preds, 2, 255)
        >>> cm
        tensor([[1, 0],
                [0, 1]])
        >>> int(invalid)
        2
    """
    t, p, c, ig = _label_inputs(target, preds, num_classes, ignore_index, representable=False)
    return _pixel_confusion_matrix_with_invalid(t, p, c, ig)


# CPU: the largest (T, C) pair count that replaces the masks of the valid pixels
_MAX_PAIR_BINS = 1 << 22


def _pixel_confusion_matrix_with_invalid(
    target: Tensor, preds: Tensor, num_classes: int, ignore_index: int | None
) -> tuple[Tensor, Tensor]:
    """:func:`pixel_confusion_matrix_with_invalid` of arguments already checked.

    The maps need a dtype torch compares (not uint16-64); any values.
    """
    c = num_classes
    counted = _counts_without_masks(target, preds, c, ignore_index)
    if counted is not None:
        return counted
    ignore_index = _held(target.dtype, ignore_index)
    t, p = target.reshape(-1), preds.reshape(-1)
    valid = _in_classes(t, c) & _in_classes(p, c)
    if ignore_index is None:
        invalid = valid.numel() - valid.sum()
    else:
        kept = t != ignore_index
        valid &= kept
        invalid = kept.sum() - valid.sum()
    bins = c * c
    # invalid pixels' keys (wrapped, any value) are overwritten before they are counted
    key = _pair_keys(t, p, c, bins).masked_fill_(~valid, bins)
    counts = torch.bincount(key, minlength=bins + 1)[:bins].reshape(c, c)
    return counts, invalid


def _held(dtype: torch.dtype, ignore_index: int | None) -> int | None:
    """``ignore_index``, or None where ``dtype`` cannot hold it.

    No pixel holds such a value, and torch would wrap it into the dtype before comparing.
    """
    return None if ignore_index is None or not _fits(dtype, ignore_index) else ignore_index


def _counts_without_masks(
    target: Tensor, preds: Tensor, c: int, ignore_index: int | None
) -> tuple[Tensor, Tensor] | None:
    """``(counts, invalid)`` where no mask of the valid pixels is needed, else None.

    The one-pass Triton histogram (CUDA) or, on the CPU, :func:`_in_range_counts`.
    """
    fused = _fused_counts(target, preds, c, ignore_index)
    if fused is not None or not reads_values(target, preds) or not target.numel():
        return fused
    return _in_range_counts(target, preds, c, _held(target.dtype, ignore_index))


def _in_classes(x: Tensor, c: int) -> Tensor:
    """Mask of ``x`` in ``[0, C)``, compared only with bounds its dtype holds.

    torch wraps a Python int into the tensor's dtype before comparing (``C = 150``
    is -106 in int8), so a ``C`` above the dtype's maximum is not compared.
    """
    info = torch.iinfo(x.dtype)
    below = x < c if c <= info.max else torch.ones_like(x, dtype=torch.bool)
    return below & (x >= 0) if info.min < 0 else below


def _pixel_confusion_matrix_dropping_invalid(
    target: Tensor, preds: Tensor, num_classes: int, ignore_index: int | None
) -> Tensor:
    """The counts of :func:`_pixel_confusion_matrix_with_invalid`, without ``invalid``.

    For callers that drop invalid pixels unseen (``validate_args=False``): no mask of
    the valid pixels, no sum and, off the CPU, no host read. Each map is clamped to
    ``[-1, C]``, so every value outside ``[0, C)`` lands in a border row or column of a
    ``(C + 2, C + 2)`` count that is cut off; an ``ignore_index`` outside ``[0, C)`` is
    such a value, one inside needs the ignore mask of :func:`_pixel_confusion_matrix`.
    On the CPU :func:`_in_range_counts` counts first where it can (cheaper than the
    clamped copies). Same dtypes as :func:`_pixel_confusion_matrix_with_invalid`.
    """
    c = num_classes
    counted = _counts_without_masks(target, preds, c, ignore_index)
    if counted is not None:
        return counted[0]
    ignore_index = _held(target.dtype, ignore_index)
    s = c + 2
    bins = s * s
    t = _clamped(target.reshape(-1), c)
    p = _clamped(preds.reshape(-1), c)
    key = _pair_keys(t, p, s, bins).add_(s + 1)  # (t + 1) * s + p + 1, in [0, bins)
    if ignore_index is not None and 0 <= ignore_index < c:
        key.masked_fill_(target.reshape(-1) == ignore_index, 0)  # a border bin
    counts = torch.bincount(key, minlength=bins).reshape(s, s)
    return counts[1 : c + 1, 1 : c + 1].contiguous()


def _clamped(x: Tensor, c: int) -> Tensor:
    """``x`` clamped to ``[-1, C]`` (a copy), or ``x`` where its dtype holds no other value."""
    info = torch.iinfo(x.dtype)
    low = -1 if info.min < 0 else None
    high = c if c < info.max else None
    if low is None and high is None:
        return x
    return torch.clamp(x, low, high)


def _in_range_counts(
    target: Tensor, preds: Tensor, c: int, ignore_index: int | None
) -> tuple[Tensor, Tensor] | None:
    """CPU ``(counts, invalid)`` from one ``(T, C)`` pair count, or None where it fails.

    It counts when no value is negative, every prediction is below ``C`` and
    ``T * C`` stays small (``T`` = largest target + 1): target rows ``>= C`` are the
    invalid pixels, the ``ignore_index`` row is dropped. Five times cheaper than the
    masks of the valid pixels on 131M int64 pixels.
    """
    lo_t, hi_t = (int(v) for v in torch.aminmax(target))
    lo_p, hi_p = (int(v) for v in torch.aminmax(preds))
    rows = max(hi_t + 1, c)
    if lo_t < 0 or lo_p < 0 or hi_p >= c or rows * c > _MAX_PAIR_BINS:
        return None
    counts = _pixel_pair_counts(target, preds, rows, c)
    if ignore_index is not None and 0 <= ignore_index < rows:
        counts[ignore_index] = 0
    return counts[:c], counts[c:].sum()


def pixel_pair_counts(target: Tensor, preds: Tensor, num_rows: int, num_classes: int) -> Tensor:
    """Counts of every (target value, predicted class) pair, ignore values included.

    :func:`pixel_confusion_matrix` without the ignore mask: rows run over every target
    value ``0 .. num_rows - 1``, so an ignore value (such as 255) or an out-of-range
    label gets a row of its own. Validating label maps then only needs those few rows,
    not another pass over the pixels.

    Args:
        target: integer target values in ``[0, num_rows)`` (any shape); a bool map
            counts as 0 / 1.
        preds: integer (or bool) predicted classes in ``[0, num_classes)``, same shape.
        num_rows: ``T``, larger than every target value.
        num_classes: ``C``.

    Returns:
        ``(T, C)`` int64 counts on the input's device.

    Raises:
        TypeError: ``target`` or ``preds`` not an integer or bool tensor
            (floating-point refused), ``num_rows`` or ``num_classes`` not an int.
        ValueError: ``num_rows < 0``, ``num_classes < 1``, maps of different shapes or
            devices; on CPU tensors a target outside ``[0, num_rows)`` or a prediction
            outside ``[0, num_classes)`` (the first one is named). Device values are
            not read.

    Example:
        >>> import torch
        >>> pixel_pair_counts(torch.tensor([[0, 1, 4]]), torch.tensor([[0, 1, 1]]), 5, 2)
        tensor([[1, 0],
                [0, 1],
                [0, 0],
                [0, 0],
                [0, 1]])
    """
    rows = check_int("num_rows", num_rows)
    c = check_int("num_classes", num_classes, minimum=1)
    _check_pair(target, preds, kind="integer or bool")
    t, p = as_ordered(target), as_ordered(preds)
    check_range("target", t, 0, rows, "target values")
    check_range("preds", p, 0, c, "class indexes")
    return _pixel_pair_counts(t, p, rows, c)


def _pixel_pair_counts(target: Tensor, preds: Tensor, num_rows: int, num_classes: int) -> Tensor:
    """:func:`pixel_pair_counts` of arguments already checked."""
    bins = num_rows * num_classes
    key = _pair_keys(target, preds, num_classes, bins)
    return torch.bincount(key, minlength=bins)[:bins].reshape(num_rows, num_classes)


def _parts(confusion: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    cm = confusion.to(torch.float64)
    return cm.diagonal(), cm.sum(1), cm.sum(0)


def confusion_iou(confusion: Tensor) -> Tensor:
    """Per-class IoU ``tp / (gt + pred - tp)``; NaN for a class absent from both.

    Args:
        confusion: ``(C, C)`` counts, rows = target.

    Returns:
        ``(C,)`` float64.

    Raises:
        TypeError: ``confusion`` not a tensor, or bool / complex.
        ValueError: ``confusion`` not square ``(C, C)``; on the CPU a negative or NaN
            count (the first one is named). Device values are not read.

    Example:
        >>> import torch
        >>> confusion_iou(torch.tensor([[9, 5, 0], [3, 7, 0], [0, 0, 0]]))
        tensor([0.5294, 0.4667,    nan], dtype=torch.float64)
    """
    tp, gt, pred = _parts(_check_confusion(confusion))
    return tp / (gt + pred - tp)


def confusion_dice(confusion: Tensor) -> Tensor:
    """Per-class Dice / F1 ``2 tp / (gt + pred)``; NaN for a class absent from both.

    Args:
        confusion: ``(C, C)`` counts, rows = target.

    Returns:
        ``(C,)`` float64.

    Raises:
        TypeError: ``confusion`` not a tensor, or bool / complex.
        ValueError: ``confusion`` not square ``(C, C)``; on the CPU a negative or NaN
            count (the first one is named). Device values are not read.

    Example:
        >>> import torch
        >>> confusion_dice(torch.tensor([[9, 5, 0], [3, 7, 0], [0, 0, 0]]))
        tensor([0.6923, 0.6364,    nan], dtype=torch.float64)
    """
    tp, gt, pred = _parts(_check_confusion(confusion))
    return 2 * tp / (gt + pred)


def confusion_precision(confusion: Tensor) -> Tensor:
    """Per-class precision ``tp / pred``; NaN for a class never predicted.

    Args:
        confusion: ``(C, C)`` counts, rows = target.

    Returns:
        ``(C,)`` float64.

    Raises:
        TypeError: ``confusion`` not a tensor, or bool / complex.
        ValueError: ``confusion`` not square ``(C, C)``; on the CPU a negative or NaN
            count (the first one is named). Device values are not read.

    Example:
        >>> import torch
        >>> confusion_precision(torch.tensor([[9, 5, 0], [3, 7, 0], [0, 0, 0]]))
        tensor([0.7500, 0.5833,    nan], dtype=torch.float64)
    """
    tp, _, pred = _parts(_check_confusion(confusion))
    return tp / pred


def confusion_recall(confusion: Tensor) -> Tensor:
    """Per-class recall (class accuracy) ``tp / gt``; NaN for a class without pixels.

    Args:
        confusion: ``(C, C)`` counts, rows = target.

    Returns:
        ``(C,)`` float64.

    Raises:
        TypeError: ``confusion`` not a tensor, or bool / complex.
        ValueError: ``confusion`` not square ``(C, C)``; on the CPU a negative or NaN
            count (the first one is named). Device values are not read.

    Example:
        >>> import torch
        >>> confusion_recall(torch.tensor([[9, 5, 0], [3, 7, 0], [0, 0, 0]]))
        tensor([0.6429, 0.7000,    nan], dtype=torch.float64)
    """
    tp, gt, _ = _parts(_check_confusion(confusion))
    return tp / gt


class SemanticScores(NamedTuple):
    """Result of :func:`semantic_scores`; every tensor float64.

    Attributes:
        iou: ``(C,)`` per-class IoU, NaN where the class is absent from target and preds.
        dice: ``(C,)`` per-class Dice (= F1), NaN likewise.
        precision: ``(C,)``, NaN where the class is never predicted.
        recall: ``(C,)``, NaN where the class has no target pixel.
        miou: ``()`` NaN-mean of ``iou``.
        mean_dice: ``()`` NaN-mean of ``dice``.
        pixel_accuracy: ``()`` correct pixels / counted pixels.
        mean_class_accuracy: ``()`` NaN-mean of ``recall``.
        frequency_weighted_iou: ``()`` IoU weighted by each class's target pixels.
    """

    iou: Tensor
    dice: Tensor
    precision: Tensor
    recall: Tensor
    miou: Tensor
    mean_dice: Tensor
    pixel_accuracy: Tensor
    mean_class_accuracy: Tensor
    frequency_weighted_iou: Tensor


def semantic_scores(confusion: Tensor) -> SemanticScores:
    """Every standard semantic-segmentation score from a confusion matrix.

    A ratio whose denominator is 0 is NaN and means skip NaN, so a class absent from
    both target and preds neither helps nor hurts mIoU. With no counted pixel at all
    every score is NaN.

    Args:
        confusion: ``(C, C)`` counts, rows = target.

    Returns:
        :class:`SemanticScores`.

    Raises:
        TypeError: ``confusion`` not a tensor, or bool / complex.
        ValueError: ``confusion`` not square ``(C, C)``; on the CPU a negative or NaN
            count (the first one is named). Device values are not read.

    Example:
        >>> import torch
        >>> s = semantic_scores(torch.tensor([[9, 5, 0], [3, 7, 0], [0, 0, 0]]))
        >>> float(s.miou) == (9 / 17 + 7 / 15) / 2
        True
        >>> round(float(s.pixel_accuracy), 4), round(float(s.frequency_weighted_iou), 4)
        (0.6667, 0.5033)
    """
    tp, gt, pred = _parts(_check_confusion(confusion))
    iou = tp / (gt + pred - tp)
    dice = 2 * tp / (gt + pred)
    precision = tp / pred
    recall = tp / gt
    total = gt.sum()
    weighted = torch.where(gt > 0, gt * iou, torch.zeros_like(iou))
    return SemanticScores(
        iou=iou,
        dice=dice,
        precision=precision,
        recall=recall,
        miou=torch.nanmean(iou),
        mean_dice=torch.nanmean(dice),
        pixel_accuracy=tp.sum() / total,
        mean_class_accuracy=torch.nanmean(recall),
        frequency_weighted_iou=weighted.sum() / total,
    )


class ValorLiteSemanticScores(NamedTuple):
    """Result of :func:`valor_lite_semantic_scores` (``K = C - 1`` foreground classes).

    Attributes:
        precision: ``(K,)`` per foreground class, 0 where never predicted.
        recall: ``(K,)``, 0 where the class has no target pixel.
        f1: ``(K,)`` ``2 P R / (P + R)``, 0 where ``P + R == 0``.
        iou: ``(K,)`` the diagonal of ``iou_matrix``.
        iou_matrix: ``(K, K)`` ``cm[i, j] / (gt_i + pred_j - cm[i, j])``, 0 where the
            union is empty (valor-lite's "confusion matrix").
        unmatched_prediction_ratio: ``(K,)`` share of each class's predicted pixels
            whose target is background, 0 where never predicted.
        unmatched_ground_truth_ratio: ``(K,)`` share of each class's target pixels
            predicted as background, 0 where the class has no target pixel.
        accuracy: ``()`` correct pixels (background included) / pixels, 0 if none.
        miou: ``()`` mean of ``iou`` over every foreground class (absent ones count as
            0), 0 when there is none.
    """

    precision: Tensor
    recall: Tensor
    f1: Tensor
    iou: Tensor
    iou_matrix: Tensor
    unmatched_prediction_ratio: Tensor
    unmatched_ground_truth_ratio: Tensor
    accuracy: Tensor
    miou: Tensor


def _divide_or_zero(num: Tensor, den: Tensor) -> Tensor:
    ok = den > 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))


def valor_lite_semantic_scores(confusion: Tensor) -> ValorLiteSemanticScores:
    """valor-lite's semantic-segmentation metric set, class 0 being background.

    Follows ``valor_lite.semantic_segmentation.computation.compute_metrics``
    operation for operation: background pixels count in every denominator (a
    foreground prediction on background is a false positive) but background has no
    metric of its own; a zero denominator gives 0, never NaN; mIoU averages over every
    foreground class including absent ones.

    Args:
        confusion: ``(C, C)`` counts, rows = target, class 0 = background.

    Returns:
        :class:`ValorLiteSemanticScores`.

    Raises:
        TypeError: ``confusion`` not a tensor, or bool / complex.
        ValueError: ``confusion`` not square ``(C, C)`` with ``C >= 1`` (class 0, the
            background, is needed); on the CPU a negative or NaN count (the first one
            is named). Device values are not read.

    Example:
        >>> import torch
        >>> cm = torch.tensor([[5, 1, 0], [2, 6, 0], [0, 0, 0]])  # class 2 absent
        >>> s = valor_lite_semantic_scores(cm)
        >>> s.iou, s.miou
        (tensor([0.6667, 0.0000], dtype=torch.float64), tensor(0.3333, dtype=torch.float64))
        >>> s.unmatched_ground_truth_ratio
        tensor([0.2500, 0.0000], dtype=torch.float64)
    """
    cm = _check_confusion(confusion, min_classes=1).to(torch.float64)
    gt = cm[1:, :].sum(1)
    pred = cm[:, 1:].sum(0)
    inter = cm[1:, 1:]
    iou_matrix = _divide_or_zero(inter, gt[:, None] + pred[None, :] - inter)
    tp = inter.diagonal()
    precision = _divide_or_zero(tp, pred)
    recall = _divide_or_zero(tp, gt)
    f1 = _divide_or_zero(2 * (precision * recall), precision + recall)
    total = cm.sum()
    accuracy = _divide_or_zero(tp.sum() + cm[0, 0], total)
    iou = iou_matrix.diagonal()
    miou = iou.mean() if iou.numel() else torch.zeros((), dtype=torch.float64, device=cm.device)
    return ValorLiteSemanticScores(
        precision=precision,
        recall=recall,
        f1=f1,
        iou=iou,
        iou_matrix=iou_matrix,
        unmatched_prediction_ratio=_divide_or_zero(cm[0, 1:], pred),
        unmatched_ground_truth_ratio=_divide_or_zero(cm[1:, 0], gt),
        accuracy=accuracy,
        miou=miou,
    )


# --------------------------------------------------------------------------- panoptic


def panoptic_intersections(
    target: Tensor, preds: Tensor, num_target_segments: int, num_pred_segments: int
) -> Tensor:
    """Pixel counts of every (image, target segment, predicted segment) triple.

    Args:
        target: ``(N, H, W)`` (any ``(N, ...)``) int64 local target segment index per
            pixel: 0 = void, ``g + 1`` = segment ``g`` of that image, ``g < G``.
        preds: same shape, local predicted segment index, 0 = void, ``d + 1 <= D``.
        num_target_segments: ``G``, the largest number of target segments in an image.
        num_pred_segments: ``D``.

    Returns:
        ``(N, G + 1, D + 1)`` int64; ``[n, 0, d + 1]`` counts pixels of predicted segment
        ``d`` on void, ``[n, g + 1, 0]`` pixels of target segment ``g`` predicted void.

    Raises:
        TypeError: ``target`` or ``preds`` not an integer tensor (bool, floating-point
            refused), a segment count not an int.
        ValueError: a segment count below 0, maps without an image axis, of different
            shapes or devices; on CPU tensors a target index outside ``[0, G]`` or a
            predicted one outside ``[0, D]`` (the first one is named). Device values
            are not read.

    Example:
        >>> import torch
        >>> target = torch.tensor([[[1, 1, 0, 2]]])
        >>> preds = torch.tensor([[[1, 0, 1, 1]]])
        >>> panoptic_intersections(target, preds, 2, 1)
        tensor([[[0, 1],
                 [1, 1],
                 [0, 1]]])
    """
    g = check_int("num_target_segments", num_target_segments)
    d = check_int("num_pred_segments", num_pred_segments)
    _check_pair(target, preds, "(N, ...)")
    what = "local segment indexes (0: void, g + 1: segment g)"
    check_range("target", target, 0, g, what, high_closed=True)
    check_range("preds", preds, 0, d, what, high_closed=True)
    return _panoptic_intersections(target, preds, g, d)


def _panoptic_intersections(
    target: Tensor, preds: Tensor, num_target_segments: int, num_pred_segments: int
) -> Tensor:
    """:func:`panoptic_intersections` of arguments already checked."""
    n = target.shape[0]
    g1, d1 = num_target_segments + 1, num_pred_segments + 1
    image = torch.arange(n, device=target.device).reshape((n,) + (1,) * (target.ndim - 1))
    key = (image * g1 + target.to(torch.int64)) * d1 + preds.to(torch.int64)
    counts = torch.bincount(key.reshape(-1), minlength=n * g1 * d1)
    return counts[: n * g1 * d1].reshape(n, g1, d1)


class PanopticCounts(NamedTuple):
    """Per-category tallies of :func:`panoptic_counts`; sums across batches and ranks.

    Attributes:
        iou_sum: ``(K,)`` float64 sum of the IoU of matched pairs.
        tp: ``(K,)`` int64 matched pairs.
        fp: ``(K,)`` int64 unmatched predicted segments that count.
        fn: ``(K,)`` int64 unmatched target segments that count.
    """

    iou_sum: Tensor
    tp: Tensor
    fp: Tensor
    fn: Tensor


def _check_protocol(protocol: object) -> None:
    if not isinstance(protocol, str) or protocol not in PANOPTIC_PROTOCOLS:
        raise ValueError(
            f"Expected `protocol` to be one of {PANOPTIC_PROTOCOLS}, but got {protocol!r}"
        )


def _check_shape(name: str, x: Tensor, want: tuple[int, ...], shape: str, why: str) -> None:
    if tuple(x.shape) != want:
        raise ValueError(
            f"Expected `{name}` to have shape {shape} = {want} ({why}), but got {tuple(x.shape)}"
        )


def _check_table(name: str, x: object, want: tuple[int, ...], shape: str, why: str) -> Tensor:
    """A per-segment integer table of shape ``want``."""
    table = check_tensor(name, x, len(want), shape)
    check_dtype(name, table, "integer")
    _check_shape(name, table, want, shape, why)
    return table


def _check_flags(name: str, x: object, want: tuple[int, ...], shape: str, why: str) -> Tensor:
    """Flags of shape ``want``: bool, or integer / floating-point 0 / 1 (values: later)."""
    flags = check_tensor(name, x, len(want), shape)
    if flags.is_complex():
        raise TypeError(
            f"Expected `{name}` to be a bool, integer or 0/1 float tensor, but got dtype "
            f"{flags.dtype}"
        )
    _check_shape(name, flags, want, shape, why)
    return flags


def _tally(mask: Tensor, category: Tensor, num_categories: int) -> Tensor:
    idx = torch.where(mask, category, torch.full_like(category, num_categories))
    return torch.bincount(idx.reshape(-1), minlength=num_categories + 1)[:num_categories]


def _tally_sum(mask: Tensor, category: Tensor, values: Tensor, num_categories: int) -> Tensor:
    idx = torch.where(mask, category, torch.full_like(category, num_categories)).reshape(-1)
    out = torch.zeros(num_categories + 1, dtype=torch.float64, device=values.device)
    out.index_add_(0, idx, torch.where(mask, values, torch.zeros_like(values)).reshape(-1))
    return out[:num_categories]


def panoptic_counts(
    intersections: Tensor,
    target_category: Tensor,
    target_crowd: Tensor,
    pred_category: Tensor,
    num_categories: int,
    protocol: PanopticProtocol = "coco",
    modified: Tensor | None = None,
) -> PanopticCounts:
    """Match segments (IoU > 0.5, same category) and tally TP / FP / FN per category.

    ``protocol="coco"`` is panopticapi's ``pq_compute_single_core``: the IoU's union
    leaves out a predicted segment's pixels on void (``union = pred + gt - inter -
    pred_on_void``); crowd target segments never match; an unmatched target segment is
    a FN unless it is crowd; an unmatched predicted segment is ignored (neither FP nor
    anything else) when more than half of its area lies on void plus the *last* crowd
    segment of its category in that image (panopticapi keeps one crowd id per
    category), else it is a FP. IoU and ratios are float64.

    ``protocol="torchmetrics"`` is torchmetrics' ``PanopticQuality``: the union also
    leaves out a target segment's pixels predicted void, an unmatched target segment
    more than half predicted void is not a FN, there is no crowd, and IoU and the void
    ratios are computed in float32 (torchmetrics divides int64 tensors); a target
    segment without pixels does not exist there (COCO: a FN). With
    ``"torchmetrics-modified"`` (``ModifiedPanopticQuality``) the categories flagged in
    ``modified`` instead add the IoU of every overlapping same-category pair to
    ``iou_sum``, count every target segment as a TP and have no FP / FN.

    Args:
        intersections: ``(N, G + 1, D + 1)`` from :func:`panoptic_intersections`.
        target_category: ``(N, G)`` int64 category index in ``[0, K)`` of each target
            segment, -1 for padding.
        target_crowd: ``(N, G)`` bool.
        pred_category: ``(N, D)`` int64, -1 for padding. A predicted segment without
            pixels is skipped.
        num_categories: ``K``.
        protocol: ``"coco"``, ``"torchmetrics"`` or ``"torchmetrics-modified"``.
        modified: ``(K,)`` bool, the categories scored the modified way (stuff); only
            read with ``"torchmetrics-modified"``.

    Returns:
        :class:`PanopticCounts`.

    Raises:
        TypeError: a non-tensor, ``intersections`` or a category table not integer,
            ``target_crowd`` / ``modified`` not bool, integer or 0/1 floating-point,
            ``num_categories`` not an int.
        ValueError: ``num_categories < 1``, an unknown ``protocol``, tables whose shapes
            do not follow ``intersections``' ``(N, G + 1, D + 1)``, ``modified`` not
            ``(K,)``, tensors on different devices; on CPU tensors a negative
            intersection, a category outside ``[-1, K)``, a crowd / modified flag other
            than 0 or 1 (the first one is named). Device values are not read.

    Example:
        >>> import torch
        >>> # one image, two target segments (cat 0 thing, cat 1 stuff), two predictions
        >>> inter = torch.tensor([[[0, 0, 0], [0, 8, 2], [0, 1, 5]]])
        >>> c = panoptic_counts(inter, torch.tensor([[0, 1]]), torch.tensor([[False, False]]),
        ...                     torch.tensor([[0, 1]]), 2)
        >>> c.tp, c.fp, c.fn
        (tensor([1, 1]), tensor([0, 0]), tensor([0, 0]))
        >>> c.iou_sum  # 8 / (9 + 10 - 8), 5 / (7 + 6 - 5)
        tensor([0.7273, 0.6250], dtype=torch.float64)
    """
    k = check_int("num_categories", num_categories, minimum=1)
    _check_protocol(protocol)
    inter = check_tensor("intersections", intersections, 3, "(N, G + 1, D + 1)")
    check_dtype("intersections", inter, "integer")
    n, g1, d1 = inter.shape
    if not g1 or not d1:
        raise ValueError(
            "Expected `intersections` to have shape (N, G + 1, D + 1) with G + 1, D + 1 >= 1, "
            f"but got {tuple(inter.shape)}"
        )
    layout = f"from `intersections` of shape {tuple(inter.shape)}"
    t_cat = _check_table("target_category", target_category, (n, g1 - 1), "(N, G)", layout)
    crowd = _check_flags("target_crowd", target_crowd, (n, g1 - 1), "(N, G)", layout)
    p_cat = _check_table("pred_category", pred_category, (n, d1 - 1), "(N, D)", layout)
    tensors = {"intersections": inter, "target_category": t_cat, "target_crowd": crowd}
    tensors["pred_category"] = p_cat
    if protocol == "torchmetrics-modified" and modified is not None:  # read only then
        modified = _check_flags("modified", modified, (k,), "(K,)", "one per category")
        tensors["modified"] = modified
    check_same_device(**tensors)
    check_range("intersections", inter, 0, None, "pixel counts")
    what = "category indexes (-1: padding)"
    check_range("target_category", t_cat, -1, k, what)
    check_range("pred_category", p_cat, -1, k, what)
    check_binary("target_crowd", crowd, "crowd flags 0 or 1")
    t_cat, p_cat = as_int64(t_cat), as_int64(p_cat)
    crowd = crowd if crowd.dtype == torch.bool else crowd != 0
    if protocol == "torchmetrics-modified" and modified is not None:
        check_binary("modified", modified, "flags 0 or 1")
        modified = modified if modified.dtype == torch.bool else modified != 0
    return _panoptic_counts(inter, t_cat, crowd, p_cat, k, protocol, modified)


def _panoptic_counts(
    intersections: Tensor,
    target_category: Tensor,
    target_crowd: Tensor,
    pred_category: Tensor,
    num_categories: int,
    protocol: PanopticProtocol = "coco",
    modified: Tensor | None = None,
) -> PanopticCounts:
    """:func:`panoptic_counts` of arguments already checked (int64 categories, bool flags)."""
    k = num_categories
    inter = intersections.to(torch.int64)
    both = inter[:, 1:, 1:]  # (N, G, D)
    gt_area = inter[:, 1:, :].sum(2)  # (N, G)
    pred_area = inter[:, :, 1:].sum(1)  # (N, D)
    pred_on_void = inter[:, 0, 1:]  # (N, D)
    gt_on_void = inter[:, 1:, 0]  # (N, G) target pixels predicted void
    gt_valid = target_category >= 0
    if protocol != "coco":  # torchmetrics only knows segments that have pixels
        gt_valid = gt_valid & (gt_area > 0)
    pred_valid = (pred_category >= 0) & (pred_area > 0)
    same = target_category[:, :, None] == pred_category[:, None, :]
    pair = (both > 0) & same & gt_valid[:, :, None] & pred_valid[:, None, :]
    pair_category = target_category[:, :, None].expand_as(both)
    tm = protocol != "coco"

    if tm:
        union = pred_area[:, None, :] - pred_on_void[:, None, :] + gt_area[:, :, None]
        union = union - gt_on_void[:, :, None] - both
        safe = torch.where(pair, union, torch.ones_like(union))
        iou = (both.to(torch.float32) / safe.to(torch.float32)).to(torch.float64)
    else:
        union = pred_area[:, None, :] + gt_area[:, :, None] - both - pred_on_void[:, None, :]
        safe = torch.where(pair, union, torch.ones_like(union))
        iou = both.to(torch.float64) / safe.to(torch.float64)
    iou = torch.where(pair, iou, torch.zeros_like(iou))

    if protocol == "torchmetrics-modified" and modified is not None:
        gt_mod = modified[target_category.clamp_min(0)] & gt_valid
        pred_mod = modified[pred_category.clamp_min(0)] & (pred_category >= 0)
    else:
        gt_mod = torch.zeros_like(gt_valid)
        pred_mod = torch.zeros_like(pred_valid)

    matched = pair & (iou > 0.5) & ~gt_mod[:, :, None]
    if not tm:
        matched = matched & ~target_crowd[:, :, None]
    gt_matched = matched.any(2)
    pred_matched = matched.any(1)

    tp = _tally(matched, pair_category, k)
    iou_sum = _tally_sum(matched, pair_category, iou, k)

    if tm:
        gt_void_ratio = gt_on_void.to(torch.float32) / gt_area.clamp_min(1).to(torch.float32)
        fn_mask = gt_valid & ~gt_matched & ~gt_mod & (gt_void_ratio <= 0.5)
        pred_void_ratio = pred_on_void.to(torch.float32) / pred_area.clamp_min(1).to(torch.float32)
        fp_mask = pred_valid & ~pred_matched & ~pred_mod & (pred_void_ratio <= 0.5)
        if protocol == "torchmetrics-modified" and modified is not None:
            mod_pair = pair & gt_mod[:, :, None] & (iou > 0)
            iou_sum = iou_sum + _tally_sum(mod_pair, pair_category, iou, k)
            tp = tp + _tally(gt_mod, target_category, k)
    else:
        fn_mask = gt_valid & ~target_crowd & ~gt_matched
        # panopticapi keeps one crowd segment per (image, category): the last listed.
        crowd = target_crowd & gt_valid
        g = target_category.shape[1]
        later = torch.ones(g, g, dtype=torch.bool, device=crowd.device).triu(1)  # [g, g'] g' > g
        same_gt = target_category[:, :, None] == target_category[:, None, :]
        shadowed = (same_gt & crowd[:, None, :] & later).any(2)
        crowd_used = crowd & ~shadowed
        crowd_pair = crowd_used[:, :, None] & same
        crowd_inter = torch.where(crowd_pair, both, torch.zeros_like(both)).sum(1)  # (N, D)
        absorbed = (pred_on_void + crowd_inter).to(torch.float64) / pred_area.clamp_min(1).to(
            torch.float64
        )
        fp_mask = pred_valid & ~pred_matched & ~(absorbed > 0.5)

    fn = _tally(fn_mask, target_category, k)
    fp = _tally(fp_mask, pred_category, k)
    return PanopticCounts(iou_sum=iou_sum, tp=tp, fp=fp, fn=fn)


def _check_fields(
    name: str, record: object, fields: tuple[str, ...], **others: object
) -> tuple[Tensor, ...]:
    """A tuple (or list) of ``(K,)`` tensors named ``fields``, of one length, on one device.

    ``others``: more ``(K,)`` tensors (arguments) that go with them.
    """
    if not isinstance(record, (tuple, list)) or len(record) != len(fields):
        raise TypeError(
            f"Expected `{name}` to be a tuple or list of {len(fields)} tensors "
            f"({', '.join(fields)}), but got {type(record).__name__}"
            + (f" of length {len(record)}" if isinstance(record, (tuple, list)) else "")
        )
    named = {f"{name}.{f}": x for f, x in zip(fields, record, strict=True)} | others
    tensors = {key: check_tensor(key, x, 1, "(K,)") for key, x in named.items()}
    first = f"{name}.{fields[0]}"
    k = tensors[first].shape[0]
    for key, x in tensors.items():
        check_size(key, x, k, f"one entry per category of `{first}`")
    check_same_device(**tensors)
    return tuple(tensors[f"{name}.{f}"] for f in fields)


class PanopticScores(NamedTuple):
    """Per-category PQ / SQ / RQ of :func:`panoptic_scores`.

    Attributes:
        pq: ``(K,)`` float64, 0 for a category without TP, FP or FN.
        sq: ``(K,)`` float64, 0 without TP.
        rq: ``(K,)`` float64.
        valid: ``(K,)`` bool, ``tp + fp + fn > 0``: the categories that enter averages.
    """

    pq: Tensor
    sq: Tensor
    rq: Tensor
    valid: Tensor


def panoptic_scores(counts: PanopticCounts, protocol: PanopticProtocol = "coco") -> PanopticScores:
    """PQ, SQ and RQ per category from the tallies.

    ``"coco"`` follows panopticapi's ``pq_average``: ``pq = iou_sum / (tp + fp/2 + fn/2)``,
    ``sq = iou_sum / tp``, ``rq = tp / (tp + fp/2 + fn/2)`` in float64. The torchmetrics
    protocols follow ``_panoptic_quality_compute``: ``rq`` in float32 (an int tensor
    plus ``0.5 * fp`` is float32 there) and ``pq = sq * rq``.

    Args:
        counts: :class:`PanopticCounts` (or a tuple / list of its four fields).
        protocol: ``"coco"``, ``"torchmetrics"`` or ``"torchmetrics-modified"``.

    Returns:
        :class:`PanopticScores`.

    Raises:
        TypeError: ``counts`` not a :class:`PanopticCounts` (a tuple or list of four
            tensors), ``iou_sum`` not floating-point or ``tp`` / ``fp`` / ``fn`` not
            integer.
        ValueError: an unknown ``protocol``, fields not ``(K,)`` of one length and one
            device; on CPU tensors a negative (or NaN) entry, the first one named.
            Device values are not read.

    Example:
        >>> import torch
        >>> c = PanopticCounts(torch.tensor([1.6, 0.0], dtype=torch.float64),
        ...                    torch.tensor([2, 0]), torch.tensor([1, 0]), torch.tensor([1, 0]))
        >>> s = panoptic_scores(c)
        >>> s.pq
        tensor([0.5333, 0.0000], dtype=torch.float64)
        >>> s.sq
        tensor([0.8000, 0.0000], dtype=torch.float64)
        >>> s.rq
        tensor([0.6667, 0.0000], dtype=torch.float64)
        >>> s.valid
        tensor([ True, False])
    """
    _check_protocol(protocol)
    iou_sum, tp, fp, fn = _check_fields("counts", counts, PanopticCounts._fields)
    check_dtype("counts.iou_sum", iou_sum, "floating")
    for name, x in (("tp", tp), ("fp", fp), ("fn", fn)):
        check_dtype(f"counts.{name}", x, "integer")
    check_range("counts.iou_sum", iou_sum, 0, None, "IoU sums")
    for name, x in (("tp", tp), ("fp", fp), ("fn", fn)):
        check_range(f"counts.{name}", x, 0, None, "counts")
    tp64 = tp.to(torch.float64)
    valid = (tp + fp + fn) > 0
    sq = _divide_or_zero(iou_sum, tp64)
    if protocol == "coco":
        den = tp64 + 0.5 * fp.to(torch.float64) + 0.5 * fn.to(torch.float64)
        pq = _divide_or_zero(iou_sum, den)
        rq = _divide_or_zero(tp64, den)
    else:
        den32 = tp.to(torch.float32) + 0.5 * fp.to(torch.float32) + 0.5 * fn.to(torch.float32)
        rq = _divide_or_zero(tp.to(torch.float32), den32).to(torch.float64)
        pq = sq * rq
        valid = den32 > 0
    return PanopticScores(pq=pq, sq=sq, rq=rq, valid=valid)


def panoptic_averages(
    scores: PanopticScores, is_thing: Tensor, *, float32_rq: bool = False
) -> tuple[Tensor, Tensor]:
    """Mean PQ, SQ, RQ over valid categories: all, things, stuff.

    Args:
        scores: :class:`PanopticScores` for ``K`` categories (or a tuple / list of
            its four fields).
        is_thing: ``(K,)`` bool.
        float32_rq: average RQ in float32 (``torch.mean`` of the valid categories'
            float32 RQ, things first, as torchmetrics' ``_panoptic_quality_compute``
            does; it holds RQ in float32); PQ and SQ are float64 means either way.
            Categories are expected ordered by id within things and within stuff.

    Returns:
        ``(means, n)``: ``(3, 3)`` float64, rows all / things / stuff and columns
        PQ / SQ / RQ, NaN for a group without a valid category (panopticapi divides by
        zero there); ``(3,)`` int64 number of valid categories per group.

    Raises:
        TypeError: ``scores`` not a :class:`PanopticScores` (a tuple or list of four
            tensors), ``pq`` / ``sq`` / ``rq`` not floating-point, ``valid`` or
            ``is_thing`` not bool, ``float32_rq`` not a bool (an int 0 / 1 included).
        ValueError: fields or ``is_thing`` not ``(K,)`` of one length and one device.

    Example:
        >>> import torch
        >>> s = PanopticScores(torch.tensor([0.5, 0.3, 0.0], dtype=torch.float64),
        ...                    torch.tensor([0.8, 0.6, 0.0], dtype=torch.float64),
        ...                    torch.tensor([0.625, 0.5, 0.0], dtype=torch.float64),
        ...                    torch.tensor([True, True, False]))
        >>> means, n = panoptic_averages(s, torch.tensor([True, False, False]))
        >>> means[0], n
        (tensor([0.4000, 0.7000, 0.5625], dtype=torch.float64), tensor([2, 1, 1]))
    """
    pq, sq, rq, valid = _check_fields("scores", scores, PanopticScores._fields, is_thing=is_thing)
    for name, x in (("pq", pq), ("sq", sq), ("rq", rq)):
        check_dtype(f"scores.{name}", x, "floating")
    check_dtype("scores.valid", valid, "bool")
    check_dtype("is_thing", is_thing, "bool")
    if not isinstance(float32_rq, (bool, np.bool_)):
        raise TypeError(
            f"Expected `float32_rq` to be a bool, but got {float32_rq!r} "
            f"({type(float32_rq).__name__})"
        )
    return _panoptic_averages(PanopticScores(pq, sq, rq, valid), is_thing, bool(float32_rq))


def _panoptic_averages(
    scores: PanopticScores, is_thing: Tensor, float32_rq: bool
) -> tuple[Tensor, Tensor]:
    """:func:`panoptic_averages` of arguments already checked."""
    groups = torch.stack((torch.ones_like(is_thing), is_thing, ~is_thing))  # (3, K)
    use = groups & scores.valid[None, :]
    values = torch.stack((scores.pq, scores.sq, scores.rq))  # (3, K)
    n = use.sum(1)
    sums = torch.where(use[:, None, :], values[None, :, :], torch.zeros_like(values)).sum(2)
    means = sums / n[:, None].to(torch.float64)
    if float32_rq:
        # the same reduction on the same float32 values in torchmetrics' order (things,
        # then stuff, each by id): a float32 sum depends on the order
        order = torch.sort((~is_thing).to(torch.int8), stable=True).indices
        rq32 = scores.rq.to(torch.float32).index_select(0, order)
        means[:, 2] = torch.stack([rq32[u.index_select(0, order)].mean() for u in use]).to(
            torch.float64
        )
    return means, n
