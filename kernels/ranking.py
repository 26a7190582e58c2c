"""Ranking kernels: score order and COCO precision / recall accumulation.

:func:`coco_accumulate` fills pycocotools' ``eval['precision']`` ``[T, R, K, A, M]``,
``eval['recall']`` ``[T, K, A, M]`` and ``eval['scores']`` ``[T, R, K, A, M]`` for all
categories, area ranges, maxDets and IoU thresholds at once, number for number.

pycocotools walks every detection of a category in score order, builds cumulative
TP / FP counts, takes the right-to-left running maximum of precision and reads it at
``searchsorted(recall, recThrs, 'left')``. Only true positives can raise precision, so
here only the detections that match something (at most one per counted ground truth
and threshold) are visited; every other detection enters through one cumulative count
per (area range, maxDets). Each true positive is dropped into the recall-threshold
block it opens, the blocks take their maximum precision, and a reverse running maximum
over the ``R`` blocks gives the interpolated precision. All arithmetic on precision and
recall is pycocotools' own, in float64: ``tp / (fp + tp + eps)`` and ``tp / npig``.

On CPU tensors a C loop (``kernels/_native/ranking.c``, through
:func:`._compiled.accumulate`) takes the place of these passes when built: pycocotools'
own walk over each category's matched detections, one (category, area range) per
item, with the same numbers bit for bit (``ASSAY_COMPILED=0`` or ``ASSAY_NATIVE=0``:
the torch passes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from . import _compiled
from ._checks import (
    as_index,
    as_int64,
    check_dtype,
    check_int,
    check_no_nan,
    check_permutation,
    check_range,
    check_same_device,
    check_size,
    check_sorted,
    check_tensor,
    reads_values,
)
from ._keys import compact_descending_key, descending_key, narrow_key
from ._nonzero import flat_nonzero
from ._segments import segment_cumsum
from .matching import GreedyMatches

__all__ = [
    "CocoAccumulation",
    "accumulation_layout",
    "accumulation_order",
    "coco_accumulate",
    "detection_group_orders",
    "detection_order",
]

_EPS = 2.220446049250313e-16  # np.spacing(1)
_INT64_MAX = (1 << 63) - 1  # maxDets above it: every rank is below it


class CocoAccumulation(NamedTuple):
    """pycocotools-layout accumulation arrays (-1 where a category has no counted GT).

    Attributes:
        precision: ``(T, R, K, A, M)`` float64 interpolated precision.
        recall: ``(T, K, A, M)`` float64 final recall.
        scores: ``(T, R, K, A, M)`` float64 score at each recall threshold.
    """

    precision: Tensor
    recall: Tensor
    scores: Tensor


def detection_order(
    score: Tensor,
    image: Tensor,
    category: Tensor,
    num_categories: int,
    num_images: int | None = None,
) -> Tensor:
    """Descending-score order with ties broken by (image, category, input position).

    This is the order in which pycocotools sees tied detections: inside an image by
    category then annotation order (``evaluateImg``), across images by image order
    (``accumulate``'s mergesort over image-ordered concatenation).

    Args:
        score: ``(D,)`` float detection scores.
        image: ``(D,)`` int64 dense image index (ascending image id).
        category: ``(D,)`` int64 dense category index.
        num_categories: number of categories (``category < num_categories``).
        num_images: number of images (``image < num_images``) when known: the
            (image, category) key is then sorted in a narrower integer dtype (faster,
            same order).

    Returns:
        ``(D,)`` int64 permutation.

    Raises:
        TypeError: ``score`` not a floating-point tensor, ``image`` or ``category`` not
            an integer tensor, or a count that is not an int.
        ValueError: tensors that are not 1-D, of other sizes or on two devices, or a
            negative count; on CPU tensors also a category outside
            ``[0, num_categories)``, an image outside ``[0, num_images)`` (when given)
            or a NaN score. Values on other devices are not read (the contract stands
            there: an index out of range gives a wrong order).

    Example:
        >>> import torch
        >>> detection_order(torch.tensor([0.5, 0.9, 0.5, 0.5]), torch.tensor([1, 0, 0, 0]),
        ...                 torch.tensor([0, 0, 1, 0]), num_categories=2)
        tensor([1, 3, 2, 0])
    """
    num_categories, num_images = _check_order_args(
        score, image, category, num_categories, num_images
    )
    image, category = as_int64(image), as_int64(category)  # the (image, category) key in int64
    return _detection_order(score, image, category, num_categories, num_images)


def _detection_order(
    score: Tensor,
    image: Tensor,
    category: Tensor,
    num_categories: int,
    num_images: int | None,
) -> Tensor:
    """:func:`detection_order` without its argument checks."""
    bound = None if num_images is None else num_images * num_categories
    pre = torch.sort(narrow_key(image * num_categories + category, bound), stable=True).indices
    # Ascending stable sort of an order-preserving integer key (descending score, -0.0
    # equal to 0.0), ties kept in (image, category, input) order. Integer keys take the
    # fast radix path on CPU.
    key = descending_key(score.to(torch.float64))
    by_score = torch.sort(key.index_select(0, pre), stable=True).indices
    return pre.index_select(0, by_score)


def detection_group_orders(
    score: Tensor,
    image: Tensor,
    category: Tensor,
    num_categories: int,
    num_images: int | None = None,
    *,
    by_category: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`detection_order`, and the same detections grouped for matching.

    A group is an (image, category) pair (``by_category``) or an image (pycocotools'
    ``useCats=0``); inside a group detections keep ``detection_order``'s order.
    On the CPU, when the scores have a compact key (decimals of a few places, or
    float32 values: :func:`~assay.kernels._keys.compact_descending_key`), groups are
    by category and ``num_images`` is given, two sorts give both orders: one of
    (group, score key) packed into one integer, then a stable one of the score key
    alone in group order, which leaves ties in (image, category, input) order as
    ``detection_order`` does. Otherwise ``detection_order`` and a stable sort of its
    result by group (three sorts).

    Args:
        score: ``(D,)`` float detection scores (no NaN).
        image: ``(D,)`` int64 dense image index (ascending image id).
        category: ``(D,)`` int64 dense category index.
        num_categories: number of categories (``category < num_categories``).
        num_images: number of images (``image < num_images``) when known: narrower
            sort keys, and the packed sort.
        by_category: group by (image, category) rather than by image.

    Raises:
        TypeError: as :func:`detection_order`, or ``by_category`` not a bool.
        ValueError: as :func:`detection_order` (values of CPU tensors only).

    Returns:
        ``(order, by_group, sorted_group)``: ``(D,)`` int64 ``detection_order``;
        ``(D,)`` int64 permutation by group, then in ``order``'s order; the group at
        each of its positions (ascending; a narrower integer dtype when
        ``num_images`` is given).

    Example:
        >>> import torch
        >>> order, by_group, group = detection_group_orders(
        ...     torch.tensor([0.5, 0.9, 0.5, 0.7], dtype=torch.float64),
        ...     torch.tensor([0, 1, 0, 0]), torch.tensor([0, 0, 1, 0]), num_categories=2,
        ...     num_images=2)
        >>> order  # descending score; the tie at 0.5 by (image, category)
        tensor([1, 3, 0, 2])
        >>> by_group, group.long()  # groups 0 (image 0, category 0), 1 and 2
        (tensor([3, 0, 2, 1]), tensor([0, 0, 1, 2]))
    """
    num_categories, num_images = _check_order_args(
        score, image, category, num_categories, num_images
    )
    if not isinstance(by_category, bool):
        raise TypeError(
            f"Expected `by_category` to be a bool, but got {type(by_category).__name__} "
            f"{by_category!r}"
        )
    return _detection_group_orders(score, image, category, num_categories, num_images, by_category)


def _detection_group_orders(
    score: Tensor,
    image: Tensor,
    category: Tensor,
    num_categories: int,
    num_images: int | None,
    by_category: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`detection_group_orders` without its argument checks."""
    image, category = image.long(), category.long()  # the packed key needs int64
    group = image * num_categories + category if by_category else image
    bound = None if num_images is None else num_images * (num_categories if by_category else 1)
    compact = compact_descending_key(score) if by_category and bound is not None else None
    if compact is not None and bound is not None and bound * compact[1] < 2**63:
        key, span = compact
        packed = narrow_key(group * span + key, bound * span)
        by_group = torch.sort(packed, stable=True).indices
        sorted_group = narrow_key(group, bound).index_select(0, by_group)
        by_score = torch.sort(narrow_key(key, span).index_select(0, by_group), stable=True)
        return by_group.index_select(0, by_score.indices), by_group, sorted_group
    order = _detection_order(score, image, category, num_categories, num_images)
    sorted_group, group_sort = torch.sort(
        narrow_key(group, bound).index_select(0, order), stable=True
    )
    return order, order.index_select(0, group_sort), sorted_group


def accumulation_order(
    score_order: Tensor, segment: Tensor, num_segments: int | None = None
) -> Tensor:
    """Order in which pycocotools' ``accumulate`` walks detections.

    By category segment, then descending score, then image and rank: a stable sort by
    segment of a score order whose ties are already in (image, rank) order.

    Args:
        score_order: ``(D,)`` permutation by descending score, ties by (image, rank),
            e.g. from :func:`detection_order`.
        segment: ``(D,)`` int64 category segment of each detection.
        num_segments: number of segments (``segment < num_segments``) when known: the
            key is then sorted in a narrower integer dtype (faster, same order).

    Returns:
        ``(D,)`` int64 permutation.

    Raises:
        TypeError: as :func:`accumulation_layout`.
        ValueError: as :func:`accumulation_layout`.

    Example:
        >>> import torch
        >>> accumulation_order(torch.tensor([2, 0, 1]), torch.tensor([1, 0, 1]))
        tensor([1, 2, 0])
    """
    num_segments = _check_layout_args(score_order, segment, num_segments)
    score_order = as_index(score_order)
    return _accumulation_layout(score_order, segment, num_segments)[0]


def accumulation_layout(
    score_order: Tensor, segment: Tensor, num_segments: int | None = None
) -> tuple[Tensor, Tensor]:
    """:func:`accumulation_order` and the segment at each of its positions.

    The segments come sorted out of the same sort, so callers that need them in
    accumulation order get them without another gather.

    Args:
        score_order: ``(D,)`` permutation by descending score, ties by (image, rank).
        segment: ``(D,)`` int64 category segment of each detection.
        num_segments: number of segments, when known (a narrower sort key).

    Returns:
        ``(order, segments)``: ``(D,)`` int64 permutation and ``(D,)`` int64
        ``segment[order]`` (ascending).

    Raises:
        TypeError: ``score_order`` or ``segment`` not an integer tensor, or
            ``num_segments`` not an int.
        ValueError: tensors that are not 1-D, of other sizes or on two devices, or a
            negative ``num_segments``; on CPU tensors also ``score_order`` that is not a
            permutation of ``0 .. D - 1`` or, with ``num_segments``, a segment outside
            ``[0, num_segments)``. Values on other devices are not read (the contract
            stands there).

    Example:
        >>> import torch
        >>> accumulation_layout(torch.tensor([0, 1, 2]), torch.tensor([1, 0, 0]))
        (tensor([1, 2, 0]), tensor([0, 0, 1]))
    """
    num_segments = _check_layout_args(score_order, segment, num_segments)
    score_order = as_index(score_order)
    return _accumulation_layout(score_order, segment, num_segments)


def _accumulation_layout(
    score_order: Tensor, segment: Tensor, num_segments: int | None
) -> tuple[Tensor, Tensor]:
    """:func:`accumulation_layout` without its argument checks."""
    key = narrow_key(segment, num_segments).index_select(0, score_order)
    sorted_key, by_segment = torch.sort(key, stable=True)
    return score_order.index_select(0, by_segment), sorted_key.long()


class _Events(NamedTuple):
    """Per match event (threshold, area, detection), in (t, a, k, position) order."""

    seg: Tensor  # int64 (t, a, k) segment, nondecreasing
    tp: Tensor  # bool: a true positive
    delta: Tensor  # int8 change of the counted status against an unmatched detection
    upto: Tensor  # int64 position in the flat (A, D) running count of plain detections
    ak: Tensor  # int64 (a, k)
    slot_ak: Tensor  # int64 first slot of (a, k)
    slot: Tensor  # int64 first score slot of (t, a, k)
    score: Tensor  # float64 detection score

    def take(self, index: Tensor) -> _Events:
        return _Events(*(column.index_select(0, index) for column in self))


def _segment_ends(seg: Tensor, num_seg: int) -> tuple[Tensor, Tensor, Tensor]:
    """First and last position of each segment of a nondecreasing ``seg``; non-empty.

    Empty segments point at a valid position, which nothing reads.
    """
    size = torch.bincount(seg, minlength=num_seg)
    end = torch.cumsum(size, 0)
    top = max(seg.shape[0] - 1, 0)
    return (end - size).clamp(max=top), (end - 1).clamp(0, top), size > 0


def _row_cumsum(flags: Tensor, out: Tensor) -> Tensor:
    """``torch.cumsum(flags, 1)`` of a 2-D bool tensor into ``out`` (int32 or int64).

    One 1-D scan per row: on the CPU about 4x faster than the scan along dim 1 (8
    against 2 ms for 4 x 500k), and numpy's scan there is faster still (1.0-1.4
    against 2.3-3.5 ms); a scan of the flattened rows less each row's base is no
    better (the broadcast subtraction costs more than the scan). ``out`` is reused
    across calls: a fresh 8 MB buffer costs its page faults again each time.
    """
    if flags.device.type == "cpu":
        flat, dst = flags.numpy(), out.numpy()
        for row in range(flags.shape[0]):  # a few area ranges
            np.cumsum(flat[row], dtype=dst.dtype, out=dst[row])
        return out
    for row in range(flags.shape[0]):
        torch.cumsum(flags[row], 0, dtype=out.dtype, out=out[row])
    return out


def _suffix_max_(x: Tensor, scratch: Tensor) -> Tensor:
    """Running maximum from the right along the last dim (``x`` and ``scratch`` reused).

    ``flip(-1).cummax(-1).values.flip(-1)`` in ``log2(R)`` passes of ``maximum``
    between two preallocated buffers: the same values (a maximum rounds nothing), but
    no fresh buffers per call (the flips and ``cummax``'s values and indices cost their
    page faults again on every call on the CPU). Returns ``x`` or ``scratch``.
    """
    a, b = x, scratch
    step = 1
    while step < x.shape[-1]:
        b[..., -step:] = a[..., -step:]
        torch.maximum(a[..., :-step], a[..., step:], out=b[..., :-step])
        a, b = b, a
        step *= 2
    return a


def _recall_threshold_counts(rec_thresholds: Tensor, num_counted: Tensor) -> Tensor:
    """Smallest TP count ``c`` with ``c / n >= r`` (float64) for every (n, r).

    Args:
        rec_thresholds: ``(R,)`` float64 in ``[0, 1]``.
        num_counted: ``(...,)`` int64 counted ground truths ``n`` (> 0 where used).

    Returns:
        ``(..., R)`` float64 counts.
    """
    n = num_counted.to(rec_thresholds.dtype).clamp(min=1)[..., None]
    c = torch.ceil(rec_thresholds * n)
    for _ in range(2):  # ceil of a rounded product is at most one count off
        c = torch.where((c > 0) & ((c - 1) / n >= rec_thresholds), c - 1, c)
        c = torch.where(c / n < rec_thresholds, c + 1, c)
    return c


def coco_accumulate(
    dt_segment: Tensor,
    dt_rank: Tensor,
    dt_score: Tensor,
    dt_outside: Tensor,
    matches: GreedyMatches,
    gt_ignore: Tensor,
    gt_id_nonzero: Tensor,
    num_counted: Tensor,
    max_dets: Sequence[int],
    rec_thresholds: Sequence[float] | Tensor,
) -> CocoAccumulation:
    """Pycocotools ``accumulate`` for every (threshold, category, area, maxDets) at once.

    Detections must be given in accumulation order: by category, then descending
    score, then image and rank (what pycocotools' stable mergesort over the
    image-ordered concatenation gives); :func:`accumulation_order` computes it.

    Args:
        dt_segment: ``(D,)`` int64 category index ``k`` of each detection, ascending
            (all 0 when categories are not used).
        dt_rank: ``(D,)`` int64 rank of the detection inside its (image, category)
            group; detections must already be cut to ``max(max_dets)`` per group.
        dt_score: ``(D,)`` float64 scores.
        dt_outside: ``(A, D)`` bool; detection area outside area range ``a``.
        matches: matching result from :func:`~assay.kernels.matching.coco_greedy_match`
            on the detections in this order.
        gt_ignore: ``(A, G)`` bool ignored ground truths per area range.
        gt_id_nonzero: ``(G,)`` bool; ``False`` reproduces pycocotools' treatment of a
            ground truth with id 0, whose match is recorded as "no match".
        num_counted: ``(K, A)`` int64 non-ignored ground truths per category and area.
        max_dets: ``M`` maxDets values (ints >= 1), one column each, in the order
            given (pycocotools sorts them ascending first).
        rec_thresholds: ``R`` recall thresholds in ``[0, 1]``, in any order, as host
            values (a tensor is read back once).

    Returns:
        :class:`CocoAccumulation` in pycocotools' layout, on the input's device.

    Raises:
        TypeError: an argument of another type or dtype (``matches`` not a
            ``(det_index, gt_index)`` pair, a ``max_dets`` value not an int, a recall
            threshold not a number).
        ValueError: tensors of other shapes or on two devices, an empty ``max_dets`` or
            one below 1, a recall threshold outside ``[0, 1]`` or NaN; on CPU tensors
            also: ``num_counted`` negative, ``dt_segment`` outside ``[0, K)`` or not
            ascending, ``dt_score`` increasing (or NaN) inside a category, ``dt_rank``
            outside ``[0, max(max_dets))``, ``matches.det_index`` outside ``[0, D)`` or
            not strictly increasing, ``matches.gt_index`` outside ``[-1, G)``. Values on
            other devices are not read (the contract stands there). Ties are not checked
            (their image and rank order is the caller's).

    Example:
        One category, two detections: the first (score 0.9) matches the only ground
        truth, the second is a false positive.

        >>> import torch
        >>> acc = coco_accumulate(
        ...     dt_segment=torch.tensor([0, 0]), dt_rank=torch.tensor([0, 1]),
        ...     dt_score=torch.tensor([0.9, 0.8], dtype=torch.float64),
        ...     dt_outside=torch.zeros(1, 2, dtype=torch.bool),
        ...     matches=GreedyMatches(torch.tensor([0]), torch.tensor([[[0]]])),
        ...     gt_ignore=torch.zeros(1, 1, dtype=torch.bool), gt_id_nonzero=torch.tensor([True]),
        ...     num_counted=torch.tensor([[1]]), max_dets=[1, 10],
        ...     rec_thresholds=torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
        >>> acc.precision[0, :, 0, 0, :]  # 1 / (1 + eps), as pycocotools
        tensor([[1.0000, 1.0000],
                [1.0000, 1.0000],
                [1.0000, 1.0000]], dtype=torch.float64)
        >>> acc.recall[0, 0, 0]
        tensor([1., 1.], dtype=torch.float64)
    """
    max_dets, rec_thresholds = _check_accumulate_args(
        dt_segment,
        dt_rank,
        dt_score,
        dt_outside,
        matches,
        gt_ignore,
        gt_id_nonzero,
        num_counted,
        max_dets,
        rec_thresholds,
    )
    dt_segment, dt_rank, num_counted = (as_int64(t) for t in (dt_segment, dt_rank, num_counted))
    matches = GreedyMatches(as_int64(matches[0]), as_int64(matches[1]))
    return _coco_accumulate(
        dt_segment,
        dt_rank,
        dt_score,
        dt_outside,
        matches,
        gt_ignore,
        gt_id_nonzero,
        num_counted,
        max_dets,
        rec_thresholds,
    )


def _coco_accumulate(
    dt_segment: Tensor,
    dt_rank: Tensor,
    dt_score: Tensor,
    dt_outside: Tensor,
    matches: GreedyMatches,
    gt_ignore: Tensor,
    gt_id_nonzero: Tensor,
    num_counted: Tensor,
    max_dets: Sequence[int],
    rec_thresholds: Sequence[float] | Tensor,
) -> CocoAccumulation:
    """:func:`coco_accumulate` without its argument checks."""
    device = dt_score.device
    f64 = torch.float64
    num_thr, num_area, _ = matches.gt_index.shape
    num_cat = num_counted.shape[0]
    rec_values = [
        float(r)
        for r in (rec_thresholds.tolist() if isinstance(rec_thresholds, Tensor) else rec_thresholds)
    ]
    tensors = (dt_segment, dt_rank, dt_score, dt_outside, *matches, gt_ignore, gt_id_nonzero)
    if _compiled.accumulate_available(*tensors, num_counted, detections=dt_score.shape[0]):
        return CocoAccumulation(*_compiled.accumulate(*tensors, num_counted, max_dets, rec_values))
    num_rec = len(rec_values)
    num_det = dt_score.shape[0]
    rec_order = sorted(range(num_rec), key=rec_values.__getitem__)  # stable
    rec_sorted = torch.tensor([rec_values[i] for i in rec_order], dtype=f64, device=device)
    in_order = rec_order == list(range(num_rec))
    score = dt_score.to(f64)

    seg_size = torch.bincount(dt_segment, minlength=num_cat)
    seg_start = torch.cumsum(seg_size, 0) - seg_size
    # A zero after the last detection lets empty segments (start == D) index safely.
    padded_score = torch.cat((score, score.new_zeros(1)))
    first_score = torch.where(seg_size > 0, padded_score.index_select(0, seg_start), 0.0)
    inside = ~dt_outside  # (A, D)

    # Match events: (threshold, area, detection) where the detection matched a ground
    # truth. Row-major nonzero lists them sorted by (t, a, category, position).
    flat_match = matches.gt_index.reshape(-1)
    ev_flat = flat_nonzero(flat_match >= 0)
    num_cand = matches.det_index.shape[0]
    ev_ta = torch.div(ev_flat, num_cand, rounding_mode="floor")  # t * A + a
    ev_a = ev_ta % num_area
    ev_gt = flat_match.index_select(0, ev_flat)
    ev_det = matches.det_index.index_select(0, ev_flat % num_cand)
    ev_inside = inside.reshape(-1).index_select(0, ev_a * num_det + ev_det)
    # pycocotools: dtIg = gtIg[m] for a match; an unmatched detection outside the area
    # range is ignored; a match to a ground truth with id 0 is recorded as no match.
    ev_real = gt_id_nonzero.index_select(0, ev_gt)
    ev_gt_ignored = gt_ignore.reshape(-1).index_select(0, ev_a * gt_ignore.shape[1] + ev_gt)
    ev_ignored = ev_gt_ignored | (~ev_real & ~ev_inside)
    ev_tp = ev_real & ~ev_ignored
    # Change of the "counted" status relative to an unmatched detection: -1, 0 or 1.
    ev_delta = (~ev_ignored).to(torch.int8) - ev_inside.to(torch.int8)
    # Inert events (neither a TP nor a change of counted status, e.g. a detection outside
    # the area range matched to a ground truth outside it) change no count: drop them.
    live = flat_nonzero(ev_tp | (ev_delta != 0))
    ev_ta, ev_a, ev_det, ev_tp, ev_delta = (
        t.index_select(0, live) for t in (ev_ta, ev_a, ev_det, ev_tp, ev_delta)
    )
    num_ev = live.shape[0]
    ev_cat = dt_segment.index_select(0, ev_det)
    ev_rank = dt_rank.index_select(0, ev_det)
    ev_ak = ev_a * num_cat + ev_cat
    ev_seg = ev_ta * num_cat + ev_cat  # (t, a, k): nondecreasing
    num_seg = num_thr * num_area * num_cat
    ev_upto = ev_a * num_det + ev_det  # into the (A, D) cumulative count, flat
    # Last position before each category segment, per area: (A * K,), clamped at 0.
    before_seg = torch.arange(num_area, device=device)[:, None] * num_det + seg_start - 1
    before_seg = before_seg.clamp(min=0).reshape(-1)
    has_before = (seg_start > 0).expand(num_area, -1).reshape(-1)

    counted = num_counted.t().contiguous()  # (A, K)
    # (A, K, R); capped at npig (only reached where npig = 0, whose cells end up -1).
    thr_counts = torch.minimum(
        _recall_threshold_counts(rec_sorted, counted).long(), counted[..., None]
    )
    # Slots (a, k, c) for c = 0..npig[k, a]: they index the recall-threshold block a TP
    # count opens and, per threshold t, the score of the c-th true positive.
    slots = counted.reshape(-1) + 1
    slot_offset = torch.cumsum(slots, 0) - slots  # (A * K,)
    slots_per_ta = int(slots.sum()) if num_cat else 0  # host read: buffer size
    # block[(a, k, c)] = number of thresholds with c_r <= c, minus one: c_r is the
    # smallest count whose recall c / npig reaches threshold r (pycocotools' searchsorted).
    hits = torch.zeros(slots_per_ta, dtype=torch.int64, device=device)
    hits.scatter_add_(
        0,
        (slot_offset.view(num_area, num_cat, 1) + thr_counts).reshape(-1),
        torch.ones(thr_counts.numel(), dtype=torch.int64, device=device),
    )
    slot_ak = torch.repeat_interleave(
        torch.arange(num_area * num_cat, device=device), slots, output_size=slots_per_ta
    )
    block_of_slot = torch.cumsum(hits, 0) - slot_ak * num_rec - 1
    ev_slot_ak = slot_offset.index_select(0, ev_ak)
    ev_slot = torch.div(ev_ta, num_area, rounding_mode="floor") * slots_per_ta + ev_slot_ak
    score_sink = num_thr * slots_per_ta
    # (T, A, K, R) slot of the score each recall threshold reads: below the sink, as
    # thr_counts <= counted (the clamp only guards that bound).
    read_slot = (
        torch.arange(num_thr, device=device)[:, None, None, None] * slots_per_ta
        + (slot_offset.view(num_area, num_cat)[:, :, None] + thr_counts)[None]
    ).clamp_(max=score_sink)
    env_sink = num_seg * num_rec
    ev_score = score.index_select(0, ev_det)
    events = _Events(ev_seg, ev_tp, ev_delta, ev_upto, ev_ak, ev_slot_ak, ev_slot, ev_score)
    all_ends = _segment_ends(ev_seg, num_seg)
    # Running counts (plain detections, events) in one dtype, as they are added in
    # place: int32 (a cheaper scan) unless either could overflow it.
    count_dtype = torch.int32 if max(num_ev, num_det) < 2**31 else torch.int64

    # Written straight into pycocotools' layout, one maxDets column per pass.
    num_max = len(max_dets)
    shape = (num_thr, num_rec, num_cat, num_area, num_max)
    precision = torch.empty(shape, dtype=f64, device=device)
    scores = torch.empty(shape, dtype=f64, device=device)
    recall = torch.empty((num_thr, num_cat, num_area, num_max), dtype=f64, device=device)
    absent = counted == 0  # (A, K): -1 everywhere, as pycocotools leaves them
    env_shape = (num_thr, num_area, num_cat, num_rec)
    # Envelope start: 0, or -1 where nothing is counted (no true positive lands there).
    env_start = torch.where(absent, -1.0, 0.0).to(f64)[None, :, :, None].expand(env_shape)
    first_score_ak = torch.where(absent, -1.0, first_score)[..., None]  # (A, K, 1)
    no_count = thr_counts == 0  # (A, K, R): the score of the first detection
    back = None
    if not in_order:
        unsort = [0] * num_rec
        for position, original in enumerate(rec_order):
            unsort[original] = position
        back = torch.tensor(unsort, dtype=torch.int64, device=device)
    # The (T, A, K, R) work is the same size at any number of detections: its buffers
    # are made once and reused by every pass (on the CPU a fresh 2.6 MB buffer per step
    # costs more in page faults than the step itself on small evaluations).
    cum_buf = torch.empty(inside.shape, dtype=count_dtype, device=device)
    env_buf = torch.zeros(num_seg * num_rec + 1, dtype=f64, device=device)  # + sink
    env_scratch = torch.empty(env_shape, dtype=f64, device=device)
    score_buf = torch.empty(score_sink + 1, dtype=f64, device=device)
    by_count = torch.empty(env_shape, dtype=f64, device=device)
    read_index = read_slot.view(-1)
    for mi, max_det in enumerate(max_dets):
        # Every detection counted as if unmatched: counted iff inside the area range.
        # Detections are cut to max(max_dets): the largest one includes them all.
        every = max_det >= max(max_dets)
        max_det = min(max_det, _INT64_MAX)  # above every rank; torch wraps larger ints
        plain = inside if every else inside & (dt_rank < max_det)
        plain_cum = (
            _row_cumsum(plain, cum_buf).view(-1)
            if num_det
            else torch.zeros(1, dtype=count_dtype, device=device)
        )
        plain_before = torch.where(has_before, plain_cum.index_select(0, before_seg), 0)
        ev = events
        tp, delta = ev.tp, ev.delta
        if not every:
            included = ev_rank < max_det
            chosen = flat_nonzero(included)  # host read: its size
            if 4 * chosen.shape[0] < 3 * num_ev:  # few events left: work on those only
                ev = events.take(chosen)
                tp, delta = ev.tp, ev.delta
            else:
                tp, delta = ev.tp & included, ev.delta * included
        # Running counts inside each (t, a, k) segment, in integers (exact), then
        # pycocotools' float64 tp / (fp + tp + eps).
        ends = all_ends if ev is events else _segment_ends(ev.seg, num_seg)
        seg_first, seg_last, seg_used = ends
        tp_seg = segment_cumsum(tp, seg_first, ev.seg, count_dtype)
        delta_seg = segment_cumsum(delta, seg_first, ev.seg, count_dtype)
        counted_seen = plain_cum.index_select(0, ev.upto)
        counted_seen.sub_(plain_before.index_select(0, ev.ak)).add_(delta_seg)
        tp_f = tp_seg.to(f64)
        fp_tp = counted_seen.sub_(tp_seg).to(f64).add_(tp_f).add_(_EPS)  # fp + tp + eps
        pr = torch.div(tp_f, fp_tp, out=fp_tp)  # tp / (fp + tp + eps)
        tp_count = tp_seg.long()
        block = block_of_slot.index_select(0, ev.slot_ak + tp_count)
        keep = tp & (block >= 0)
        # Categories without counted ground truth (no true positives) stay at -1.
        env_buf[:-1].view(env_shape).copy_(env_start)
        env_buf.scatter_reduce_(
            0, torch.where(keep, ev.seg * num_rec + block, env_sink), pr, "amax"
        )
        q = _suffix_max_(env_buf[:-1].view(env_shape), env_scratch)

        # True positives of each segment: the running count at its last event.
        tp_total = (
            torch.where(seg_used, tp_f.index_select(0, seg_last), 0.0)
            if tp_f.shape[0]
            else tp_f.new_zeros(num_seg)
        ).view(num_thr, num_area, num_cat)
        # Score at each recall threshold: the c-th true positive, or the first detection.
        score_buf.zero_()
        score_buf.scatter_(0, torch.where(tp, ev.slot + tp_count, score_sink), ev.score)
        torch.index_select(score_buf, 0, read_index, out=by_count.view(-1))
        # Written straight into the (T, R, K, A) column, seen in (T, A, K, R) order.
        precision_out = precision[..., mi].permute(0, 3, 2, 1)
        scores_out = scores[..., mi].permute(0, 3, 2, 1)
        if back is None:
            precision_out.copy_(q)
            torch.where(no_count, first_score_ak, by_count, out=scores_out)
        else:
            # Back to the caller's threshold order. pycocotools fills thresholds in that
            # order and stops at the first one recall never reaches (IndexError),
            # leaving the rest 0. With ascending thresholds unreached cells are 0 already.
            at_score = torch.where(no_count, first_score_ak, by_count)
            reached = (thr_counts <= tp_total[..., None]).index_select(3, back)
            filled = reached.to(torch.uint8).cummin(-1).values.bool()
            zero = q.new_zeros(())
            torch.where(filled, q.index_select(3, back), zero, out=precision_out)
            torch.where(filled, at_score.index_select(3, back), zero, out=scores_out)
        rec = tp_total / counted.to(f64).clamp(min=1)
        recall[..., mi] = torch.where(absent, -1.0, rec).permute(0, 2, 1)
    return CocoAccumulation(precision, recall, scores)


# ----------------------------------------------------------------------------- checks


def _check_vector(name: str, x: object, kind: str, n: int | None = None, what: str = "") -> Tensor:
    """``x`` must be a 1-D tensor of dtype ``kind`` (with ``n`` entries, when given)."""
    x = check_tensor(name, x, 1)
    check_dtype(name, x, kind)
    if n is not None:
        check_size(name, x, n, what)
    return x


def _first_true(flags: Tensor) -> int:
    return int(flat_nonzero(flags)[0])


def _check_order_args(
    score: Tensor,
    image: Tensor,
    category: Tensor,
    num_categories: int,
    num_images: int | None,
) -> tuple[int, int | None]:
    """Arguments of :func:`detection_order` / :func:`detection_group_orders`.

    Returns:
        ``num_categories`` and ``num_images`` as ints.
    """
    score = _check_vector("score", score, "floating")
    num_det = score.shape[0]
    image = _check_vector("image", image, "integer", num_det, "one image per score")
    category = _check_vector("category", category, "integer", num_det, "one category per score")
    num_categories = check_int("num_categories", num_categories)
    if num_images is not None:
        num_images = check_int("num_images", num_images)
    check_same_device(score=score, image=image, category=category)
    if num_det and reads_values(score):
        # The (image, category) key needs category < num_categories; a narrowed key
        # (num_images given) wraps an image index past num_images.
        check_range("category", category, 0, num_categories, "category indexes")
        if num_images is not None:
            check_range("image", image, 0, num_images, "image indexes")
        check_no_nan("score", score)
    return num_categories, num_images


def _check_layout_args(
    score_order: Tensor, segment: Tensor, num_segments: int | None
) -> int | None:
    """Arguments of :func:`accumulation_layout`; returns ``num_segments`` as an int."""
    segment = _check_vector("segment", segment, "integer")
    score_order = _check_vector("score_order", score_order, "integer")
    if num_segments is not None:
        num_segments = check_int("num_segments", num_segments)
    check_same_device(score_order=score_order, segment=segment)
    check_permutation("score_order", score_order, segment.shape[0])
    if num_segments is not None and reads_values(segment):
        check_range("segment", segment, 0, num_segments, "segment indexes")
    return num_segments


def _host_items(name: str, values: object, what: str) -> list[object]:
    """The items of a host sequence (list, tuple, array; a tensor: one read back)."""
    if isinstance(values, Tensor):
        check_tensor(name, values, 1)
        return list(values.tolist())
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"Expected `{name}` to be {what}, but got {type(values).__name__}")
    return list(values)


def _check_max_dets(max_dets: object) -> list[int]:
    """The `max_dets` values as host ints >= 1, at least one."""
    items = _host_items("max_dets", max_dets, "a sequence of ints")
    values = [check_int(f"max_dets[{i}]", m, 1) for i, m in enumerate(items)]
    if not values:
        raise ValueError("Expected `max_dets` to be a non-empty sequence of ints >= 1, but got []")
    return values


def _check_rec_thresholds(rec_thresholds: object) -> list[float]:
    """Recall thresholds as host floats in [0, 1] (a tensor is read back once)."""
    items = _host_items("rec_thresholds", rec_thresholds, "a sequence of floats")
    values = []
    for i, r in enumerate(items):
        try:
            if isinstance(r, (bool, str, bytes)):
                raise TypeError
            value = float(r)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise TypeError(
                f"Expected `rec_thresholds` to hold floats, but got {type(r).__name__} {r!r} "
                f"(first offending item: rec_thresholds[{i}])"
            ) from None
        if not 0.0 <= value <= 1.0:  # NaN included
            raise ValueError(
                f"Expected `rec_thresholds` to hold recall thresholds in [0, 1], but got "
                f"{value} (first offending item: rec_thresholds[{i}])"
            )
        values.append(value)
    return values


def _check_accumulate_args(
    dt_segment: Tensor,
    dt_rank: Tensor,
    dt_score: Tensor,
    dt_outside: Tensor,
    matches: GreedyMatches,
    gt_ignore: Tensor,
    gt_id_nonzero: Tensor,
    num_counted: Tensor,
    max_dets: Sequence[int],
    rec_thresholds: Sequence[float] | Tensor,
) -> tuple[list[int], list[float]]:
    """Arguments of :func:`coco_accumulate`: metadata always, values of CPU tensors.

    Returns:
        ``max_dets`` and ``rec_thresholds`` as host lists.
    """
    dt_segment = _check_vector("dt_segment", dt_segment, "integer")
    num_det = dt_segment.shape[0]
    dt_rank = _check_vector("dt_rank", dt_rank, "integer", num_det, "one rank per detection")
    dt_score = _check_vector("dt_score", dt_score, "floating", num_det, "one per detection")
    dt_outside = check_tensor("dt_outside", dt_outside, 2, "(A, D)")
    check_dtype("dt_outside", dt_outside, "bool")
    check_size("dt_outside", dt_outside, num_det, "a column per detection", 1)
    num_area = dt_outside.shape[0]
    if not isinstance(matches, tuple) or len(matches) != 2:
        raise TypeError(
            f"Expected `matches` to be a GreedyMatches (det_index, gt_index), but got "
            f"{type(matches).__name__}"
        )
    det_index = _check_vector("matches.det_index", matches[0], "integer")
    gt_index = check_tensor("matches.gt_index", matches[1], 3, "(T, A, S)")
    check_dtype("matches.gt_index", gt_index, "integer")
    check_size("matches.gt_index", gt_index, num_area, "a row per area range of `dt_outside`", 1)
    check_size("matches.gt_index", gt_index, det_index.shape[0], "a column per det_index", 2)
    gt_ignore = check_tensor("gt_ignore", gt_ignore, 2, "(A, G)")
    check_dtype("gt_ignore", gt_ignore, "bool")
    check_size("gt_ignore", gt_ignore, num_area, "a row per area range of `dt_outside`")
    num_gt = gt_ignore.shape[1]
    gt_id_nonzero = _check_vector(
        "gt_id_nonzero", gt_id_nonzero, "bool", num_gt, "one flag per column of `gt_ignore`"
    )
    num_counted = check_tensor("num_counted", num_counted, 2, "(K, A)")
    check_dtype("num_counted", num_counted, "integer")
    check_size("num_counted", num_counted, num_area, "a column per area range", 1)
    max_values = _check_max_dets(max_dets)
    rec_values = _check_rec_thresholds(rec_thresholds)
    check_same_device(
        dt_score=dt_score,
        dt_segment=dt_segment,
        dt_rank=dt_rank,
        dt_outside=dt_outside,
        **{"matches.det_index": det_index, "matches.gt_index": gt_index},
        gt_ignore=gt_ignore,
        gt_id_nonzero=gt_id_nonzero,
        num_counted=num_counted,
    )
    if not reads_values(dt_score):
        return max_values, rec_values
    num_cat = num_counted.shape[0]
    check_range("num_counted", num_counted, 0, None, "counts")
    check_range("dt_segment", dt_segment, 0, num_cat, "category indexes (rows of `num_counted`)")
    check_sorted("dt_segment", dt_segment, "ascending")
    _check_descending_in_segments(dt_score, dt_segment)
    check_range("dt_rank", dt_rank, 0, max(max_values), "ranks (cut to max(max_dets))")
    check_range("matches.det_index", det_index, 0, num_det, "detection indexes")
    check_sorted("matches.det_index", det_index, "strictly increasing", strict=True)
    check_range("matches.gt_index", gt_index, -1, num_gt, "ground-truth indexes or -1")
    return max_values, rec_values


def _check_descending_in_segments(score: Tensor, segment: Tensor) -> None:
    """CPU ``score`` must not increase inside a segment (nor be NaN next to its own)."""
    if score.shape[0] < 2:
        return
    bad = ~(score[1:] <= score[:-1])
    bad &= segment[1:] == segment[:-1]
    if bool(bad.any()):
        first = _first_true(bad) + 1
        raise ValueError(
            f"Expected `dt_score` to be descending inside each category of `dt_segment` "
            f"(accumulation order), but got {score[first].item()} after "
            f"{score[first - 1].item()} (first offending item: dt_score[{first}])"
        )
