"""COCO greedy matching for all (image, category, area range, IoU threshold) at once.

pycocotools' ``evaluateImg`` matches one (image, category, area range) at a time: for
each detection in score order it takes, among ground truths not yet matched (crowd
ground truths stay available), the one with the highest IoU at or above the
threshold, scanning non-ignored ground truths first and falling back to ignored ones
only when no non-ignored ground truth qualifies; equal IoUs go to the *later* ground
truth in that order.

The loop is sequential only along detection rank inside one group, so here it runs
over rank (at most ``maxDets`` steps) and each step is a masked arg-max over every
group, area range and IoU threshold at once. Only detection / ground-truth pairs whose
IoU reaches the smallest threshold take part; detections without such a pair are
unmatched everywhere and never enter the loop.

Host synchronisation: sizing ragged buffers (number of pairs, candidate detections,
pairs per rank) needs a constant number of host reads per call, never one per image,
detection or rank step.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "GreedyMatches",
    "coco_greedy_match",
    "group_pairs",
    "rank_within_groups",
]


class GreedyMatches(NamedTuple):
    """Result of :func:`coco_greedy_match`.

    Attributes:
        det_index: ``(S,)`` int64, sorted; the detections that reach the smallest IoU
            threshold with at least one ground truth of their group. Every other
            detection is unmatched at every threshold and area range.
        gt_index: ``(T, A, S)`` int64; the ground truth matched to ``det_index[s]`` at
            threshold ``t`` and area range ``a``, or -1.
    """

    det_index: Tensor
    gt_index: Tensor


def rank_within_groups(group: Tensor, order: Tensor) -> Tensor:
    """Rank of each element inside its group, given an order sorted by group.

    Args:
        group: ``(N,)`` int64 group key of each element.
        order: ``(N,)`` int64 permutation that sorts ``group`` ascending and, inside a
            group, puts elements in rank order.

    Returns:
        ``(N,)`` int64 rank (0 = first) of each element within its group, in the
        original element order.

    Example:
        >>> import torch
        >>> group = torch.tensor([7, 3, 7, 3, 7])
        >>> order = torch.tensor([3, 1, 4, 0, 2])  # group 3: 3, 1; group 7: 4, 0, 2
        >>> rank_within_groups(group, order)
        tensor([1, 1, 2, 0, 0])
    """
    n = group.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.int64, device=group.device)
    sorted_group = group.index_select(0, order)
    position = torch.arange(n, device=group.device)
    new_group = torch.ones(n, dtype=torch.bool, device=group.device)
    new_group[1:] = sorted_group[1:] != sorted_group[:-1]
    start = torch.where(new_group, position, torch.zeros_like(position)).cummax(0).values
    return torch.empty_like(position).index_copy_(0, order, position - start)


def group_pairs(
    dt_group: Tensor, gt_group: Tensor, num_groups: int | None = None
) -> tuple[Tensor, Tensor]:
    """All (detection, ground truth) pairs that share a group.

    Args:
        dt_group: ``(D,)`` int64 group key of each detection.
        gt_group: ``(G,)`` int64 group key of each ground truth, sorted ascending.
        num_groups: when given (all keys ``< num_groups``), group extents come from a
            dense table of that size instead of binary searches.

    Returns:
        ``(pair_dt, pair_gt)``: ``(P,)`` int64 indexes, ordered by detection and then
        by ground-truth index.

    Example:
        >>> import torch
        >>> group_pairs(torch.tensor([1, 0, 2]), torch.tensor([0, 0, 1]))
        (tensor([0, 1, 1]), tensor([2, 0, 1]))
    """
    device = dt_group.device
    if num_groups is not None:
        per_group = torch.bincount(gt_group, minlength=num_groups)
        count = per_group.index_select(0, dt_group)
        start = (torch.cumsum(per_group, 0) - per_group).index_select(0, dt_group)
    else:
        start = torch.searchsorted(gt_group, dt_group, side="left")
        count = torch.searchsorted(gt_group, dt_group, side="right") - start
    total = int(count.sum())  # host read: size of the ragged pair buffer
    pair_dt = torch.repeat_interleave(
        torch.arange(dt_group.shape[0], device=device), count, output_size=total
    )
    first = torch.cumsum(count, 0) - count
    pair_gt = (start - first).index_select(0, pair_dt) + torch.arange(total, device=device)
    return pair_dt, pair_gt


def coco_greedy_match(
    pair_dt: Tensor,
    pair_gt: Tensor,
    pair_iou: Tensor,
    dt_rank: Tensor,
    gt_crowd: Tensor,
    gt_ignore: Tensor,
    iou_thresholds: Tensor,
) -> GreedyMatches:
    """Greedy COCO matching of every detection at every threshold and area range.

    Ground truths must be indexed so that, inside one group, a larger index means
    later in pycocotools' order (annotation order; for ``useCats=0`` category then
    annotation order). Groups never share ground truths.

    Args:
        pair_dt: ``(P,)`` int64 detection of each candidate pair.
        pair_gt: ``(P,)`` int64 ground truth of each candidate pair (same group).
        pair_iou: ``(P,)`` IoU of each pair (crowd IoU for crowd ground truths).
        dt_rank: ``(D,)`` int64 rank of each detection inside its group by
            descending score (ties in annotation order).
        gt_crowd: ``(G,)`` bool; crowd ground truths can absorb many detections.
        gt_ignore: ``(A, G)`` bool; ground truth ignored in area range ``a`` (crowd,
            or its area outside the range).
        iou_thresholds: ``(T,)`` thresholds, already clipped as pycocotools does
            (``min(t, 1 - 1e-10)``); a pair qualifies when ``iou >= threshold``.

    Returns:
        :class:`GreedyMatches` for the detections that reach the smallest threshold.

    Example:
        One image, one category. Two detections (ranks 0 and 1) both overlap the same
        ground truth; only the first takes it:

        >>> import torch
        >>> m = coco_greedy_match(
        ...     pair_dt=torch.tensor([0, 1]), pair_gt=torch.tensor([0, 0]),
        ...     pair_iou=torch.tensor([0.8, 0.9], dtype=torch.float64),
        ...     dt_rank=torch.tensor([0, 1]), gt_crowd=torch.tensor([False]),
        ...     gt_ignore=torch.tensor([[False]]),
        ...     iou_thresholds=torch.tensor([0.5, 0.85], dtype=torch.float64))
        >>> m.det_index
        tensor([0, 1])
        >>> m.gt_index[:, 0, :]  # 0.5: the first takes it; 0.85: only the second reaches it
        tensor([[ 0, -1],
                [-1,  0]])
    """
    device = pair_iou.device
    num_thr = iou_thresholds.shape[0]
    num_area, num_gt = gt_ignore.shape
    keep = torch.nonzero(pair_iou >= iou_thresholds.min()).squeeze(1)
    pair_dt, pair_gt, pair_iou = (t.index_select(0, keep) for t in (pair_dt, pair_gt, pair_iou))
    det_index, pair_slot = torch.unique(pair_dt, sorted=True, return_inverse=True)
    num_cand = det_index.shape[0]
    gt_index = torch.full((num_thr, num_area, num_cand), -1, dtype=torch.int64, device=device)
    if num_cand == 0:
        return GreedyMatches(det_index, gt_index)

    # Lay candidates and pairs out by rank so that each step is one contiguous slice.
    cand_rank = dt_rank.index_select(0, det_index)
    rank_order = torch.sort(cand_rank, stable=True).indices
    slot_in_rank_order = torch.empty_like(rank_order).index_copy_(
        0, rank_order, torch.arange(num_cand, device=device)
    )
    pair_pos = slot_in_rank_order.index_select(0, pair_slot)
    pair_order = torch.sort(pair_pos, stable=True).indices
    pair_pos, pair_gt, pair_iou = (
        t.index_select(0, pair_order) for t in (pair_pos, pair_gt, pair_iou)
    )
    num_steps = int(cand_rank.max()) + 1  # host read
    cand_per_rank = torch.bincount(cand_rank, minlength=num_steps)
    pairs_per_rank = torch.bincount(cand_rank.index_select(0, pair_slot), minlength=num_steps)
    bounds = torch.stack((cand_per_rank.cumsum(0), pairs_per_rank.cumsum(0))).tolist()  # host read

    pair_crowd = gt_crowd.index_select(0, pair_gt)
    # Preference key per (area, pair): bit 62 = non-ignored ground truth, bits 0-61 = the
    # IoU's float64 bits (order-preserving for values in [0, 1], which stay below 2**62).
    pair_counted = ~gt_ignore.index_select(1, pair_gt)  # (A, P)
    iou_bits = pair_iou.to(torch.float64).view(torch.int64)
    pair_key = (pair_counted.long() << 62) | iou_bits
    thr = iou_thresholds.to(pair_iou.dtype)[:, None, None]
    # taken[t, a, g]: non-crowd ground truth already matched. Column num_gt is a sink
    # that crowd matches and "no match" (best_gt -1 -> take_column[0]) write to.
    taken = torch.zeros((num_thr, num_area, num_gt + 1), dtype=torch.bool, device=device)
    take_column = torch.where(
        torch.cat((gt_crowd.new_ones(1), gt_crowd)), num_gt, torch.arange(-1, num_gt, device=device)
    )
    matched: list[Tensor] = []
    c0 = p0 = 0
    for c1, p1 in zip(*bounds, strict=True):
        n = c1 - c0
        if n == 0:
            continue
        gt = pair_gt[p0:p1]
        slot = (pair_pos[p0:p1] - c0).expand(num_thr, num_area, -1)
        free = pair_crowd[p0:p1] | ~taken.index_select(2, gt)
        # 1) prefer non-ignored ground truths, 2) highest IoU (one int64 key), 3) the
        # later ground truth among equal keys.
        key = torch.where((pair_iou[p0:p1] >= thr) & free, pair_key[:, p0:p1], -1)
        best_key = torch.full((num_thr, num_area, n), -1, dtype=torch.int64, device=device)
        best_key.scatter_reduce_(2, slot, key, "amax")
        ok = (key == best_key.gather(2, slot)) & (key >= 0)
        best_gt = torch.full((num_thr, num_area, n), -1, dtype=torch.int64, device=device)
        best_gt.scatter_reduce_(2, slot, torch.where(ok, gt, -1), "amax")
        matched.append(best_gt)
        taken.scatter_(
            2, take_column.index_select(0, (best_gt + 1).view(-1)).view_as(best_gt), True
        )
        c0, p0 = c1, p1
    gt_index.index_copy_(2, rank_order, torch.cat(matched, 2))
    return GreedyMatches(det_index, gt_index)
