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

:func:`coco_greedy_match_rounds` gives the same matches with far fewer sequential
steps, for small inputs where per-step overhead dominates (a training loop's batch):
it resolves the greedy assignment in *rounds*, each a handful of ops over all pairs,
and a typical batch needs two to four rounds instead of one step per rank.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ._checks import (
    as_index,
    as_int64,
    check_dtype,
    check_int,
    check_permutation,
    check_range,
    check_same_device,
    check_size,
    check_sorted,
    check_tensor,
    reads_values,
)
from ._nonzero import flat_nonzero

# Ground-truth index bits at the bottom of the rounds' preference key.
_GT_BITS = 24
_GT_MASK = (1 << _GT_BITS) - 1

__all__ = [
    "GreedyMatches",
    "coco_greedy_match",
    "coco_greedy_match_rounds",
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


def rank_within_groups(group: Tensor, order: Tensor, sorted_group: Tensor | None = None) -> Tensor:
    """Rank of each element inside its group, given an order sorted by group.

    Args:
        group: ``(N,)`` integer group key of each element.
        order: ``(N,)`` int64 permutation (other integer dtypes are converted) that
            sorts ``group`` ascending and, inside a group, puts elements in rank order.
        sorted_group: ``group[order]`` (any integer dtype) when the caller has it
            already, e.g. the values of the sort that made ``order``.

    Returns:
        ``(N,)`` int64 rank (0 = first) of each element within its group, in the
        original element order.

    Raises:
        TypeError: an argument is not a tensor, or not of an integer dtype.
        ValueError: another shape, sizes that differ, or tensors on two devices; on
            CPU tensors also ``order`` that is not a permutation of ``0 .. N - 1``,
            ``sorted_group`` other than ``group[order]``, or ``group[order]`` not
            ascending. Values on other devices are not read: there the contract stands
            (a non-permutation leaves entries of the result uninitialised).

    Example:
        >>> import torch
        >>> group = torch.tensor([7, 3, 7, 3, 7])
        >>> order = torch.tensor([3, 1, 4, 0, 2])  # group 3: 3, 1; group 7: 4, 0, 2
        >>> rank_within_groups(group, order)
        tensor([1, 1, 2, 0, 0])
    """
    sorted_group = _check_rank_args(group, order, sorted_group)
    return _rank_within_groups(group, as_int64(order), sorted_group)


def _rank_within_groups(group: Tensor, order: Tensor, sorted_group: Tensor | None) -> Tensor:
    """:func:`rank_within_groups` without its argument checks."""
    n = group.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.int64, device=group.device)
    if sorted_group is None:
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
        dt_group: ``(D,)`` integer group key of each detection.
        gt_group: ``(G,)`` integer group key of each ground truth, sorted ascending.
        num_groups: when given (all keys in ``[0, num_groups)``), group extents come
            from a dense table of that size instead of binary searches.

    Returns:
        ``(pair_dt, pair_gt)``: ``(P,)`` int64 indexes, ordered by detection and then
        by ground-truth index.

    Raises:
        TypeError: a group key tensor that is not an integer tensor, or ``num_groups``
            that is not an int.
        ValueError: keys that are not 1-D, on two devices, or a negative
            ``num_groups``; on CPU tensors also ``gt_group`` not ascending and, with
            ``num_groups``, a key outside ``[0, num_groups)``. Values on other devices
            are not read (the contract stands there).

    Example:
        >>> import torch
        >>> group_pairs(torch.tensor([1, 0, 2]), torch.tensor([0, 0, 1]))
        (tensor([0, 1, 1]), tensor([2, 0, 1]))
    """
    num_groups = _check_pair_groups(dt_group, gt_group, num_groups)
    if dt_group.dtype != gt_group.dtype:  # one dtype for both (searchsorted)
        dt_group, gt_group = dt_group.long(), gt_group.long()
    dt_group, gt_group = as_index(dt_group), as_index(gt_group)
    return _group_pairs(dt_group, gt_group, num_groups)


def _group_pairs(
    dt_group: Tensor, gt_group: Tensor, num_groups: int | None
) -> tuple[Tensor, Tensor]:
    """:func:`group_pairs` without its argument checks (int32 or int64 keys, one dtype)."""
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
        pair_iou: ``(P,)`` float IoU of each pair (crowd IoU for crowd ground truths),
            at most 1 up to rounding (below 2, not NaN); a pair below the smallest
            threshold (e.g. -1) never matches.
        dt_rank: ``(D,)`` int64 rank of each detection inside its group by
            descending score (ties in annotation order); ``>= 0`` for every detection
            of a pair that reaches the smallest threshold (the others are not read).
        gt_crowd: ``(G,)`` bool; crowd ground truths can absorb many detections.
        gt_ignore: ``(A, G)`` bool; ground truth ignored in area range ``a`` (crowd,
            or its area outside the range).
        iou_thresholds: ``(T,)`` float thresholds in ``[0, 1]``, ``T >= 1``, already
            clipped as pycocotools does (``min(t, 1 - 1e-10)``); a pair qualifies when
            ``iou >= threshold``.

    Returns:
        :class:`GreedyMatches` for the detections that reach the smallest threshold.

    Raises:
        TypeError: an argument that is not a tensor, or of another dtype (integer
            indexes and ranks, floating IoUs and thresholds, bool flags).
        ValueError: other shapes or sizes, no threshold, or tensors on two devices; on
            CPU tensors also a threshold outside ``[0, 1]``, ``pair_dt`` outside
            ``[0, D)``, ``pair_gt`` outside ``[0, G)``, an IoU of 2 or more or NaN, or a
            negative rank of a detection that takes part, or two detections of one
            rank that are candidates for one ground truth (ranks inside a group must
            be distinct). Values on other devices are not read (the contract stands
            there).

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
    _check_match_args(pair_dt, pair_gt, pair_iou, dt_rank, gt_crowd, gt_ignore, iou_thresholds)
    pair_dt, pair_gt, dt_rank = (as_int64(t) for t in (pair_dt, pair_gt, dt_rank))
    return _coco_greedy_match(
        pair_dt, pair_gt, pair_iou, dt_rank, gt_crowd, gt_ignore, iou_thresholds
    )


def _coco_greedy_match(
    pair_dt: Tensor,
    pair_gt: Tensor,
    pair_iou: Tensor,
    dt_rank: Tensor,
    gt_crowd: Tensor,
    gt_ignore: Tensor,
    iou_thresholds: Tensor,
) -> GreedyMatches:
    """:func:`coco_greedy_match` without its argument checks (but the candidates' ranks)."""
    device = pair_iou.device
    num_thr = iou_thresholds.shape[0]
    num_area, num_gt = gt_ignore.shape
    keep = flat_nonzero(pair_iou >= iou_thresholds.min())
    pair_dt, pair_gt, pair_iou = (t.index_select(0, keep) for t in (pair_dt, pair_gt, pair_iou))
    det_index, pair_slot = torch.unique(pair_dt, sorted=True, return_inverse=True)
    num_cand = det_index.shape[0]
    gt_index = torch.full((num_thr, num_area, num_cand), -1, dtype=torch.int64, device=device)
    if num_cand == 0:
        return GreedyMatches(det_index, gt_index)

    # Lay candidates and pairs out by rank so that each step is one contiguous slice.
    cand_rank = dt_rank.index_select(0, det_index)
    _check_candidate_ranks(cand_rank, det_index)
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


def coco_greedy_match_rounds(
    pair_dt: Tensor,
    pair_gt: Tensor,
    pair_iou: Tensor,
    dt_rank: Tensor,
    gt_crowd: Tensor,
    gt_ignore: Tensor,
    iou_thresholds: Tensor,
) -> GreedyMatches:
    """:func:`coco_greedy_match`'s result, resolved in rounds instead of rank steps.

    Same arguments, same contract and the same :class:`GreedyMatches`, element for
    element. pycocotools' greedy loop is a serial dictatorship: in rank order each
    detection takes its most preferred free ground truth (non-ignored first, then the
    highest IoU, then the later ground truth). Candidate pairs (IoU >= the smallest
    threshold) split into connected components:

    - a component with one ground truth (a detection's only candidate, shared by
      any number of detections: duplicates) has a closed form: at each threshold the
      ground truth goes to the highest-ranked detection that reaches it (to every
      such detection when it is a crowd region), in every area range;
    - the rest (detections with several candidate ground truths, and everything
      connected to them) is resolved in rounds, for every threshold and area range
      at once:

      1. each unresolved detection proposes its most preferred ground truth among
         those that qualify (IoU >= threshold) and that no resolved detection holds;
      2. a proposal is final when no *higher-ranked unresolved* detection of the group
         qualifies for that ground truth (or it is a crowd region, or there is no
         proposal): then nothing can take it first in the greedy order, and
         everything the detection prefers is already held by higher-ranked ones;
      3. final detections hold their ground truths (crowd regions are never held);
      4. an unresolved detection left without any free qualifying ground truth is
         final and unmatched (everything it qualifies for is held by higher-ranked
         detections).

      The highest-ranked unresolved detection of every group is final in each round,
      so the loop ends; in practice after one or two rounds (a chain of detections
      that compete for overlapping ground truths resolves about one link per round).

    Host reads: the candidate count, the candidate detections, the count of pairs in
    components with several ground truths and, when there are any, their detections,
    their ground truths and one flag per round.

    Args:
        pair_dt: ``(P,)`` int64 detection of each candidate pair.
        pair_gt: ``(P,)`` int64 ground truth of each candidate pair (same group).
        pair_iou: ``(P,)`` float IoU of each pair (crowd IoU for crowd ground truths),
            at most 1 up to rounding.
        dt_rank: ``(D,)`` int64 rank of each detection inside its group by
            descending score; ranks inside a group are distinct, ``>= 0`` where read.
        gt_crowd: ``(G,)`` bool; crowd ground truths can absorb many detections.
        gt_ignore: ``(A, G)`` bool; ground truth ignored in area range ``a``.
        iou_thresholds: ``(T,)`` thresholds in ``[0, 1]``, already clipped as
            pycocotools does.

    Returns:
        :class:`GreedyMatches`, equal to :func:`coco_greedy_match`'s.

    Raises:
        TypeError: as :func:`coco_greedy_match`.
        ValueError: as :func:`coco_greedy_match` (values of CPU tensors only).

    Example:
        >>> import torch
        >>> m = coco_greedy_match_rounds(
        ...     pair_dt=torch.tensor([0, 1]), pair_gt=torch.tensor([0, 0]),
        ...     pair_iou=torch.tensor([0.8, 0.9], dtype=torch.float64),
        ...     dt_rank=torch.tensor([0, 1]), gt_crowd=torch.tensor([False]),
        ...     gt_ignore=torch.tensor([[False]]),
        ...     iou_thresholds=torch.tensor([0.5, 0.85], dtype=torch.float64))
        >>> m.gt_index[:, 0, :]
        tensor([[ 0, -1],
                [-1,  0]])
    """
    _check_match_args(pair_dt, pair_gt, pair_iou, dt_rank, gt_crowd, gt_ignore, iou_thresholds)
    pair_dt, pair_gt, dt_rank = (as_int64(t) for t in (pair_dt, pair_gt, dt_rank))
    return _coco_greedy_match_rounds(
        pair_dt, pair_gt, pair_iou, dt_rank, gt_crowd, gt_ignore, iou_thresholds
    )


def _coco_greedy_match_rounds(
    pair_dt: Tensor,
    pair_gt: Tensor,
    pair_iou: Tensor,
    dt_rank: Tensor,
    gt_crowd: Tensor,
    gt_ignore: Tensor,
    iou_thresholds: Tensor,
) -> GreedyMatches:
    """:func:`coco_greedy_match_rounds` without its checks (but the candidates' ranks)."""
    device = pair_iou.device
    num_thr = iou_thresholds.shape[0]
    num_area, num_gt = gt_ignore.shape
    if num_gt > _GT_MASK:  # the rounds' key holds a ground-truth index in _GT_BITS bits
        return _coco_greedy_match(
            pair_dt, pair_gt, pair_iou, dt_rank, gt_crowd, gt_ignore, iou_thresholds
        )
    keep = flat_nonzero(pair_iou >= iou_thresholds.min())  # host read
    pair_dt, pair_gt, pair_iou = (t.index_select(0, keep) for t in (pair_dt, pair_gt, pair_iou))
    det_index, pair_slot = torch.unique(pair_dt, sorted=True, return_inverse=True)  # host read
    num_cand = det_index.shape[0]
    gt_index = torch.full((num_thr, num_area, num_cand), -1, dtype=torch.int64, device=device)
    if num_cand == 0:
        return GreedyMatches(det_index, gt_index)
    slot_rank = dt_rank.index_select(0, det_index)
    _check_candidate_ranks(slot_rank, det_index)
    pair_rank = slot_rank.index_select(0, pair_slot)
    pair_crowd = gt_crowd.index_select(0, pair_gt)
    thr = iou_thresholds.to(pair_iou.dtype)[:, None]

    # Ground truths in a component with several ground truths: those of detections with
    # several candidate pairs (a path between two ground truths passes such a detection).
    several = torch.bincount(pair_slot, minlength=num_cand).index_select(0, pair_slot) > 1
    joint_gt = torch.zeros(num_gt + 1, dtype=torch.bool, device=device)
    joint_gt.index_fill_(0, torch.where(several, pair_gt, num_gt), True)
    joint = joint_gt.index_select(0, pair_gt)

    # One-ground-truth components, closed form: the best rank reaching the ground truth.
    no_rank = torch.iinfo(torch.int64).max
    reach = (pair_iou >= thr) & ~joint  # (T, P)
    cell = (torch.arange(num_thr, device=device)[:, None] * num_gt + pair_gt).reshape(-1)
    best = torch.full((num_thr * num_gt,), no_rank, dtype=torch.int64, device=device)
    best.scatter_reduce_(0, cell, torch.where(reach, pair_rank, no_rank).reshape(-1), "amin")
    wins = reach & (pair_crowd | (best.index_select(0, cell).view(num_thr, -1) == pair_rank))
    won = torch.full((num_thr, num_cand), -1, dtype=torch.int64, device=device)
    won.scatter_reduce_(1, pair_slot.expand(num_thr, -1), torch.where(wins, pair_gt, -1), "amax")
    gt_index[:] = won[:, None, :]

    rest = flat_nonzero(joint)  # host read
    if rest.shape[0]:
        slots, local = torch.unique(
            pair_slot.index_select(0, rest), sorted=True, return_inverse=True
        )  # host read
        # The rounds' tables span only the ground truths of these pairs (renumbered in
        # the same order, so ties still go to the later one), not all G of them.
        rest_gt, rest_pair_gt = torch.unique(
            pair_gt.index_select(0, rest), sorted=True, return_inverse=True
        )
        matched = _match_in_rounds(
            local,
            rest_pair_gt,
            pair_iou.index_select(0, rest),
            slot_rank.index_select(0, slots),
            gt_crowd.index_select(0, rest_gt),
            gt_ignore.index_select(1, rest_gt),
            thr,
        )
        matched = torch.where(
            matched >= 0,
            rest_gt.index_select(0, matched.clamp(min=0).view(-1)).view(matched.shape),
            -1,
        )
        gt_index.index_copy_(2, slots, matched)
    return GreedyMatches(det_index, gt_index)


def _match_in_rounds(
    pair_slot: Tensor,
    pair_gt: Tensor,
    pair_iou: Tensor,
    slot_rank: Tensor,
    gt_crowd: Tensor,
    gt_ignore: Tensor,
    thr: Tensor,
) -> Tensor:
    """Steps 1-4 of :func:`coco_greedy_match_rounds` on candidate pairs.

    Args:
        pair_slot: ``(P,)`` int64 detection slot ``0..S-1`` of each pair.
        pair_gt: ``(P,)`` int64 ground truth of each pair.
        pair_iou: ``(P,)`` IoU.
        slot_rank: ``(S,)`` int64 rank of each slot's detection inside its group.
        gt_crowd: ``(G,)`` bool.
        gt_ignore: ``(A, G)`` bool.
        thr: ``(T, 1)`` thresholds in ``pair_iou``'s dtype.

    Returns:
        ``(T, A, S)`` int64 matched ground truth or -1.
    """
    device = pair_iou.device
    num_thr, (num_area, num_gt) = thr.shape[0], gt_ignore.shape
    num_cand, num_pairs, num_ta = slot_rank.shape[0], pair_gt.shape[0], num_thr * num_area
    # Layout: (T, A, pair) entries broadcast from per-pair columns, and flat
    # (T * A * slot) / (T * A * (G + 1)) tables. Ground-truth column num_gt is a sink
    # that stands for "no proposal" and counts as a crowd region (never held).
    ta = torch.arange(num_ta, device=device).view(num_thr, num_area, 1)
    slot_flat = (ta * num_cand + pair_slot).reshape(-1)
    gt_flat = (ta * (num_gt + 1) + pair_gt).reshape(-1)
    row_base = (torch.arange(num_ta, device=device) * (num_gt + 1)).repeat_interleave(num_cand)
    sink = row_base + num_gt
    crowd_ext = torch.cat((gt_crowd, gt_crowd.new_ones(1)))
    pair_crowd = gt_crowd.index_select(0, pair_gt).repeat(num_ta)
    pair_rank = slot_rank.index_select(0, pair_slot)
    slot_rank_ta = slot_rank.repeat(num_ta)
    # One preference key per (area, pair), largest = preferred: bit 62 = non-ignored
    # ground truth, then the IoU's dense rank among the pairs (equal IoUs, equal rank),
    # then the ground truth itself (the later one wins a tie): the arg-max is in the key.
    by_iou = torch.sort(pair_iou).indices
    sorted_iou = pair_iou.index_select(0, by_iou)
    step = torch.cat((sorted_iou.new_zeros(1, dtype=torch.int64), (sorted_iou.diff() != 0).long()))
    iou_rank = torch.empty_like(by_iou).index_copy_(0, by_iou, step.cumsum(0))
    pair_counted = ~gt_ignore.index_select(1, pair_gt)  # (A, P)
    pair_key = (pair_counted.long() << 62) | (iou_rank << _GT_BITS) | pair_gt
    qualifies = (pair_iou >= thr)[:, None, :]  # (T, 1, P)
    no_rank = torch.iinfo(torch.int64).max
    shape = (num_thr, num_area, num_pairs)

    unresolved = torch.ones(num_ta * num_cand, dtype=torch.bool, device=device)
    free_gt = torch.ones(num_ta * (num_gt + 1), dtype=torch.bool, device=device)
    match = torch.full((num_ta * num_cand,), num_gt, dtype=torch.int64, device=device)
    while True:
        open_pair = (qualifies & unresolved.index_select(0, slot_flat).view(shape)).reshape(-1)
        free = open_pair & (pair_crowd | free_gt.index_select(0, gt_flat))
        # 1) each unresolved detection's proposal: its largest free key.
        key = torch.where(free.view(shape), pair_key, -1).reshape(-1)
        best = torch.full_like(match, -1).scatter_reduce_(0, slot_flat, key, "amax")
        proposal = torch.where(best >= 0, best & _GT_MASK, num_gt)
        # 2) highest rank (smallest) among unresolved detections that qualify for each
        # ground truth: a proposal is final when that is the proposer itself.
        blocker = torch.full(free_gt.shape, no_rank, dtype=torch.int64, device=device)
        blocker.scatter_reduce_(
            0, gt_flat, torch.where(open_pair.view(shape), pair_rank, no_rank).reshape(-1), "amin"
        )
        column_flat = row_base + proposal
        crowd = crowd_ext.index_select(0, proposal)
        now = unresolved & (crowd | (blocker.index_select(0, column_flat) >= slot_rank_ta))
        # 3) final detections hold their (non-crowd) ground truths.
        match = torch.where(now, proposal, match)
        unresolved &= ~now
        free_gt.scatter_(0, torch.where(now & ~crowd, column_flat, sink), False)
        # 4) an unresolved detection whose qualifying truths are all held now gets none
        # (those are held by higher-ranked detections, so greedy leaves it unmatched).
        left = open_pair & unresolved.index_select(0, slot_flat)
        left &= pair_crowd | free_gt.index_select(0, gt_flat)
        unresolved &= torch.zeros_like(match).index_add_(0, slot_flat, left.long()) > 0
        if not bool(unresolved.any()):  # host read: one per round
            break
    match = torch.where(match == num_gt, -1, match)
    return match.view(num_thr, num_area, num_cand)


# ----------------------------------------------------------------------------- checks


def _check_keys(name: str, x: object) -> Tensor:
    """``x`` must be a 1-D integer tensor (keys or indexes)."""
    x = check_tensor(name, x, 1)
    check_dtype(name, x, "integer")
    return x


def _check_rank_args(group: Tensor, order: Tensor, sorted_group: Tensor | None) -> Tensor | None:
    """:func:`rank_within_groups`' arguments; returns ``group[order]`` (CPU: gathered)."""
    group = _check_keys("group", group)
    n = group.shape[0]
    order = _check_keys("order", order)
    check_size("order", order, n, "one index per element of `group`")
    if sorted_group is not None:
        sorted_group = _check_keys("sorted_group", sorted_group)
        check_size("sorted_group", sorted_group, n, "one group per element of `group`")
        check_same_device(group=group, order=order, sorted_group=sorted_group)
    else:
        check_same_device(group=group, order=order)
    if not n or not reads_values(group, order):
        return sorted_group
    check_permutation("order", order, n)
    in_order = group.index_select(0, as_index(order))
    if sorted_group is not None:
        _check_equal("sorted_group", sorted_group, in_order, "group[order]")
    check_sorted("group[order]", in_order, "ascending (`order` sorted by group)")
    return in_order


def _check_pair_groups(dt_group: Tensor, gt_group: Tensor, num_groups: int | None) -> int | None:
    """:func:`group_pairs`' arguments; returns ``num_groups`` as an int (or ``None``)."""
    dt_group = _check_keys("dt_group", dt_group)
    gt_group = _check_keys("gt_group", gt_group)
    check_same_device(dt_group=dt_group, gt_group=gt_group)
    if num_groups is not None:
        num_groups = check_int("num_groups", num_groups)
    if reads_values(dt_group, gt_group):
        check_sorted("gt_group", gt_group, "ascending")
        if num_groups is not None:
            check_range("dt_group", dt_group, 0, num_groups, "group keys")
            check_range("gt_group", gt_group, 0, num_groups, "group keys")
    return num_groups


def _check_equal(name: str, x: Tensor, want: Tensor, what: str) -> None:
    """CPU ``x`` must equal ``want`` (same shape) element for element."""
    differ = x != want
    if bool(differ.any()):
        first = int(flat_nonzero(differ)[0])
        raise ValueError(
            f"Expected `{name}` to be {what}, but got {x[first].item()} where {what} is "
            f"{want[first].item()} (first offending item: {name}[{first}])"
        )


def _check_match_args(
    pair_dt: Tensor,
    pair_gt: Tensor,
    pair_iou: Tensor,
    dt_rank: Tensor,
    gt_crowd: Tensor,
    gt_ignore: Tensor,
    iou_thresholds: Tensor,
) -> None:
    """The matchers' arguments: metadata always, values of CPU tensors (one pass each)."""
    pair_dt = _check_keys("pair_dt", pair_dt)
    num_pairs = pair_dt.shape[0]
    pair_gt = _check_keys("pair_gt", pair_gt)
    check_size("pair_gt", pair_gt, num_pairs, "one ground truth per pair of `pair_dt`")
    pair_iou = check_tensor("pair_iou", pair_iou, 1)
    check_dtype("pair_iou", pair_iou, "floating")
    check_size("pair_iou", pair_iou, num_pairs, "one IoU per pair of `pair_dt`")
    dt_rank = _check_keys("dt_rank", dt_rank)
    gt_crowd = check_tensor("gt_crowd", gt_crowd, 1)
    check_dtype("gt_crowd", gt_crowd, "bool")
    num_gt = gt_crowd.shape[0]
    gt_ignore = check_tensor("gt_ignore", gt_ignore, 2, "(A, G)")
    check_dtype("gt_ignore", gt_ignore, "bool")
    check_size("gt_ignore", gt_ignore, num_gt, "a column per ground truth of `gt_crowd`", 1)
    iou_thresholds = check_tensor("iou_thresholds", iou_thresholds, 1)
    check_dtype("iou_thresholds", iou_thresholds, "floating")
    if iou_thresholds.shape[0] == 0:
        raise ValueError(
            "Expected `iou_thresholds` to be a non-empty 1-D tensor of thresholds in [0, 1], "
            "but got shape (0,)"
        )
    check_same_device(
        pair_iou=pair_iou,
        pair_dt=pair_dt,
        pair_gt=pair_gt,
        dt_rank=dt_rank,
        gt_crowd=gt_crowd,
        gt_ignore=gt_ignore,
        iou_thresholds=iou_thresholds,
    )
    if not reads_values(pair_iou):
        return
    check_range("iou_thresholds", iou_thresholds, 0, 1, "thresholds", high_closed=True)
    check_range("pair_dt", pair_dt, 0, dt_rank.shape[0], "detection indexes (of `dt_rank`)")
    check_range("pair_gt", pair_gt, 0, num_gt, "ground-truth indexes (of `gt_crowd`)")
    # IoUs reach 1 + 2**-52 by rounding; 2 and above would spoil the preference key.
    check_range("pair_iou", pair_iou, None, 2, "IoUs (at most 1, up to rounding)")
    _check_shared_ranks(pair_dt, pair_gt, pair_iou, dt_rank, iou_thresholds)


def _check_shared_ranks(
    pair_dt: Tensor, pair_gt: Tensor, pair_iou: Tensor, dt_rank: Tensor, thresholds: Tensor
) -> None:
    """CPU: no two detections of one rank may compete for one ground truth.

    Ranks inside a group must be distinct; two detections of a group that share a
    rank and a candidate ground truth would both take it. Pairs below the smallest
    threshold never match and are left out. Two stable sorts of the candidate pairs
    (by rank, then by ground truth); neighbours with the same (ground truth, rank)
    and another detection are the offence. Negative ranks are the rank check's.
    """
    near = flat_nonzero(pair_iou >= thresholds.min())
    if near.shape[0] < 2:
        return
    dt, gt = pair_dt.index_select(0, near), pair_gt.index_select(0, near)
    rank = dt_rank.long().index_select(0, dt.long())
    order = torch.sort(rank, stable=True).indices
    order = order.index_select(0, torch.sort(gt.index_select(0, order), stable=True).indices)
    dt, gt, rank = (t.index_select(0, order) for t in (dt, gt, rank))
    clash = (gt[1:] == gt[:-1]) & (rank[1:] == rank[:-1]) & (dt[1:] != dt[:-1]) & (rank[1:] >= 0)
    if bool(clash.any()):
        i = int(flat_nonzero(clash)[0])
        a, b = sorted((int(dt[i]), int(dt[i + 1])))
        raise ValueError(
            f"Expected `dt_rank` to hold distinct ranks inside a group, but detections {a} "
            f"and {b}, both candidates for ground truth {int(gt[i])}, share rank "
            f"{int(rank[i])} (first offending item: dt_rank[{b}])"
        )


def _check_candidate_ranks(cand_rank: Tensor, det_index: Tensor) -> None:
    """CPU ranks of the detections that take part in matching must be >= 0.

    Only these ranks are read (a caller may give the others any value, e.g. -1 for
    detections kept out by an IoU below every threshold). Costs a pass over them.
    """
    if not reads_values(cand_rank):
        return
    negative = cand_rank < 0
    if bool(negative.any()):
        first = int(flat_nonzero(negative)[0])
        raise ValueError(
            f"Expected `dt_rank` to hold ranks >= 0 for the detections of pairs that reach "
            f"the smallest threshold, but got {cand_rank[first].item()} (first offending "
            f"item: dt_rank[{det_index[first].item()}])"
        )
