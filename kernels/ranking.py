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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from .matching import GreedyMatches

__all__ = [
    "CocoAccumulation",
    "coco_accumulate",
    "detection_order",
]

_EPS = 2.220446049250313e-16  # np.spacing(1)


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


def detection_order(score: Tensor, image: Tensor, category: Tensor, num_categories: int) -> Tensor:
    """Descending-score order with ties broken by (image, category, input position).

    This is the order in which pycocotools sees tied detections: inside an image by
    category then annotation order (``evaluateImg``), across images by image order
    (``accumulate``'s mergesort over image-ordered concatenation).

    Args:
        score: ``(D,)`` float detection scores.
        image: ``(D,)`` int64 dense image index (ascending image id).
        category: ``(D,)`` int64 dense category index.
        num_categories: number of categories (``category < num_categories``).

    Returns:
        ``(D,)`` int64 permutation.

    Example:
        >>> import torch
        >>> detection_order(torch.tensor([0.5, 0.9, 0.5, 0.5]), torch.tensor([1, 0, 0, 0]),
        ...                 torch.tensor([0, 0, 1, 0]), num_categories=2)
        tensor([1, 3, 2, 0])
    """
    pre = torch.sort(image * num_categories + category, stable=True).indices
    by_score = torch.sort(score[pre], stable=True, descending=True).indices
    return pre[by_score]


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
    dt_order: Tensor,
    dt_segment: Tensor,
    dt_rank: Tensor,
    dt_score: Tensor,
    dt_outside: Tensor,
    matches: GreedyMatches,
    gt_ignore: Tensor,
    gt_id_nonzero: Tensor,
    num_counted: Tensor,
    max_dets: Sequence[int],
    rec_thresholds: Tensor,
) -> CocoAccumulation:
    """pycocotools ``accumulate`` for every (threshold, category, area, maxDets) at once.

    Args:
        dt_order: ``(D,)`` int64 permutation of the detections by descending score,
            ties by (image, rank), e.g. from :func:`detection_order`.
        dt_segment: ``(D,)`` int64 category index ``k`` of each detection (all 0 when
            categories are not used).
        dt_rank: ``(D,)`` int64 rank of the detection inside its (image, category)
            group; detections must already be cut to ``max(max_dets)`` per group.
        dt_score: ``(D,)`` float64 scores.
        dt_outside: ``(A, D)`` bool; detection area outside area range ``a``.
        matches: matching result from :func:`~assay.kernels.matching.coco_greedy_match`.
        gt_ignore: ``(A, G)`` bool ignored ground truths per area range.
        gt_id_nonzero: ``(G,)`` bool; ``False`` reproduces pycocotools' treatment of a
            ground truth with id 0, whose match is recorded as "no match".
        num_counted: ``(K, A)`` int64 non-ignored ground truths per category and area.
        max_dets: ``M`` maxDets values, ascending.
        rec_thresholds: ``(R,)`` float64 recall thresholds.

    Returns:
        :class:`CocoAccumulation` in pycocotools' layout, on the input's device.

    Example:
        One category, two detections: the first (score 0.9) matches the only ground
        truth, the second is a false positive.

        >>> import torch
        >>> acc = coco_accumulate(
        ...     dt_order=torch.tensor([0, 1]), dt_segment=torch.tensor([0, 0]),
        ...     dt_rank=torch.tensor([0, 1]), dt_score=torch.tensor([0.9, 0.8], dtype=torch.float64),
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
    device = dt_score.device
    f64 = torch.float64
    num_thr, num_area, _ = matches.gt_index.shape
    num_cat = num_counted.shape[0]
    num_max = len(max_dets)
    num_rec = rec_thresholds.shape[0]
    num_det = dt_order.shape[0]
    rec_sorted, rec_perm = torch.sort(rec_thresholds.to(f64), stable=True)

    # Accumulation order: category, then descending score, then image and rank.
    order = dt_order[torch.sort(dt_segment[dt_order], stable=True).indices]
    position = torch.empty_like(order)
    position[order] = torch.arange(num_det, device=device)
    seg_size = torch.bincount(dt_segment, minlength=num_cat)
    seg_start = torch.cumsum(seg_size, 0) - seg_size
    # One padding slot at the end lets empty segments (start == D) index safely.
    sorted_score = torch.cat((dt_score.to(f64)[order], dt_score.new_zeros(1, dtype=f64)))
    first_score = torch.where(seg_size > 0, sorted_score[seg_start], 0.0)
    sorted_rank = dt_rank[order]
    sorted_inside = ~dt_outside[:, order]  # (A, D)

    # Candidate detections (those that can match) in accumulation order.
    cand_sort = torch.sort(position[matches.det_index]).indices
    cand = matches.det_index[cand_sort]
    cand_gt = matches.gt_index[:, :, cand_sort]  # (T, A, S)
    num_cand = cand.shape[0]
    cand_pos = position[cand]
    cand_seg = dt_segment[cand]
    cand_rank = dt_rank[cand]
    cand_score = dt_score.to(f64)[cand]
    cand_inside = ~dt_outside[:, cand]  # (A, S)
    is_matched = cand_gt >= 0
    gt_safe = cand_gt.clamp(min=0)
    counts_as_match = is_matched & gt_id_nonzero[gt_safe]
    gt_ignored = torch.gather(gt_ignore[None].expand(num_thr, -1, -1), 2, gt_safe)
    dt_ignored = (is_matched & gt_ignored) | (~counts_as_match & ~cand_inside)
    cand_tp = counts_as_match & ~dt_ignored
    cand_counted = ~dt_ignored
    # First candidate of each candidate's category segment, to make cumsums segment-relative.
    index = torch.arange(num_cand, device=device)
    new_seg = torch.ones(num_cand, dtype=torch.bool, device=device)
    new_seg[1:] = cand_seg[1:] != cand_seg[:-1]
    cand_first = torch.where(new_seg, index, torch.zeros_like(index)).cummax(0).values

    area_index = torch.arange(num_area, device=device)
    counted_per_seg = num_counted.t()  # (A, K)
    n_cand = counted_per_seg[:, cand_seg].to(f64)  # (A, S)
    thr_counts = _recall_threshold_counts(rec_sorted, counted_per_seg)  # (A, K, R)
    # Flat layout of (category, TP count) per area range for reading scores back.
    slots = counted_per_seg + 1
    slot_offset = torch.cumsum(slots, 1) - slots  # (A, K)
    num_slots = int(slots.sum(1).max()) if num_cat else 1  # host read: buffer size

    precision = torch.empty((num_thr, num_area, num_max, num_cat, num_rec), dtype=f64, device=device)
    recall = torch.empty((num_thr, num_area, num_max, num_cat), dtype=f64, device=device)
    scores = torch.empty_like(precision)
    for mi, max_det in enumerate(max_dets):
        # Every detection counted as if unmatched: counted iff inside the area range.
        plain = (sorted_inside & (sorted_rank < max_det)).to(f64)  # (A, D)
        plain_cum = torch.cumsum(plain, 1)
        plain_before = torch.cat((plain_cum - plain, plain_cum[:, -1:] if num_det else plain), 1)
        plain_before_seg = plain_before[:, seg_start] if num_det else plain_before[:, :0]
        included = cand_rank < max_det
        tp = (cand_tp & included).to(f64)  # (T, A, S)
        # Correction of the plain count for candidates: matched ones may be ignored.
        delta = (cand_counted & included).to(f64) - (cand_inside & included).to(f64)
        tp_cum = torch.cumsum(tp, 2)
        delta_cum = torch.cumsum(delta, 2)
        tp_seg = tp_cum - (tp_cum - tp)[:, :, cand_first]
        delta_seg = delta_cum - (delta_cum - delta)[:, :, cand_first]
        counted_seen = (
            plain_cum[:, cand_pos] - plain_before_seg[:, cand_seg] + delta_seg
        )  # (T, A, S)
        fp_seg = counted_seen - tp_seg
        is_tp = tp > 0
        pr = torch.where(is_tp, tp_seg / (fp_seg + tp_seg + _EPS), 0.0)
        rc = tp_seg / n_cand.clamp(min=1)
        block = torch.searchsorted(rec_sorted, rc, right=True) - 1  # (T, A, S)
        keep = is_tp & (block >= 0)
        flat = ((torch.arange(num_thr, device=device)[:, None, None] * num_area
                 + area_index[None, :, None]) * num_cat + cand_seg) * num_rec + block.clamp(min=0)
        env = torch.zeros(num_thr * num_area * num_cat * num_rec, dtype=f64, device=device)
        env.scatter_reduce_(0, flat[keep], pr[keep], "amax")
        env = env.view(num_thr, num_area, num_cat, num_rec)
        q = env.flip(-1).cummax(-1).values.flip(-1)

        tp_total = torch.zeros((num_thr, num_area, num_cat), dtype=f64, device=device)
        tp_total.scatter_add_(2, cand_seg.expand(num_thr, num_area, -1), tp)
        # Score at each recall threshold: the c-th true positive, or the first detection.
        score_buf = torch.zeros((num_thr, num_area, num_slots + 1), dtype=f64, device=device)
        slot = (slot_offset[:, cand_seg] + tp_seg.long()).clamp(max=num_slots)
        score_buf.scatter_(2, torch.where(is_tp, slot, num_slots), cand_score.expand_as(tp))
        c_r = thr_counts.long()  # (A, K, R)
        read = (slot_offset[:, :, None] + c_r).clamp(max=num_slots)
        by_count = torch.gather(score_buf, 2, read.view(1, num_area, -1).expand(num_thr, -1, -1))
        by_count = by_count.view(num_thr, num_area, num_cat, num_rec)
        reached = c_r[None] <= tp_total[..., None]
        s = torch.where(c_r[None] == 0, first_score[None, None, :, None], by_count)
        s = torch.where(reached, s, 0.0)

        rec = tp_total / counted_per_seg.to(f64).clamp(min=1)
        precision[:, :, mi] = q
        scores[:, :, mi] = s
        recall[:, :, mi] = rec

    absent = (counted_per_seg == 0)[None, :, None, :]  # (1, A, 1, K)
    precision = torch.where(absent[..., None], -1.0, precision)
    scores = torch.where(absent[..., None], -1.0, scores)
    recall = torch.where(absent, -1.0, recall)
    unsort = torch.empty_like(rec_perm)
    unsort[rec_perm] = torch.arange(num_rec, device=device)
    precision = precision[..., unsort].permute(0, 4, 3, 1, 2).contiguous()
    scores = scores[..., unsort].permute(0, 4, 3, 1, 2).contiguous()
    recall = recall.permute(0, 3, 1, 2).contiguous()
    return CocoAccumulation(precision, recall, scores)
