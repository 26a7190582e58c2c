"""COCO detection evaluation (pycocotools protocol) over columnar tables.

The evaluator only selects rows, builds group keys and hands whole columns to the
kernels: ``group_pairs`` + ``coco_box_iou_pairs`` (IoU of every detection with every
ground truth of its image and category), ``coco_greedy_match_rounds`` and
``coco_accumulate``. The 12 stats are computed from the arrays with pycocotools' own
numpy reductions.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ...kernels._bits import bits_to_rows, rows_to_bits
from ...kernels._nonzero import flat_nonzero
from ...kernels.boxes import coco_box_iou_pairs
from ...kernels.gather import _take_packed, take_rows
from ...kernels.matching import _coco_greedy_match_rounds, _group_pairs, _rank_within_groups
from ...kernels.ranking import _accumulation_layout, _coco_accumulate, _detection_group_orders
from ..device import resolve_device
from ..tables import Catalog, DetectionTable, GroundTruthTable
from .params import CocoParams, IouType
from .result import CocoResult, summarize
from .segm import segm_pair_iou

__all__ = ["evaluate_detection_tables"]

# The kernels are called through their unchecked cores (``_name``): the columns are built
# here from checked tables, and the kernels' CPU value checks (permutations, ranges, order)
# would add about 5% to an evaluation.

_SUPPORTED_IOU_TYPES = ("bbox", "segm")
_PACKED_AREAS = 16  # up to this many area ranges travel as bits of one packed gather


def _id_positions(wanted: tuple[int, ...], known: np.ndarray, name: str) -> np.ndarray:
    """Dense indexes of ``wanted`` ids in ``known`` (sorted); unknown ids are an error."""
    ids = np.asarray(wanted, dtype=np.int64)
    pos = np.searchsorted(known, ids)
    ok = (
        (pos < len(known)) & (known[np.minimum(pos, max(len(known) - 1, 0))] == ids)
        if len(known)
        else (np.zeros(len(ids), dtype=bool))
    )
    if not ok.all():
        bad = [int(i) for i in ids[~ok]]
        raise ValueError(
            f"Expected `params.{name}` to be ids present in the ground truth, but got {bad}"
        )
    return pos


def _selection(
    params: CocoParams, catalog: Catalog, device: torch.device
) -> tuple[Tensor, Tensor, int, tuple[int, ...], tuple[str, ...]]:
    """Image mask, category -> key map, number of K segments, K-axis ids and names."""
    num_img, num_cat = len(catalog.image_ids), len(catalog.category_ids)
    image_keep = np.ones(num_img, dtype=bool)
    if params.imgIds is not None:
        image_keep[:] = False
        image_keep[_id_positions(params.imgIds, catalog.image_ids, "imgIds")] = True
    cat_key = np.full(num_cat, -1, dtype=np.int64)
    if params.catIds is None:
        chosen = np.arange(num_cat)
    elif params.useCats:
        chosen = np.sort(_id_positions(params.catIds, catalog.category_ids, "catIds"))
    else:  # useCats=0 keeps the caller's category order (it orders tied ground truths)
        chosen = _id_positions(params.catIds, catalog.category_ids, "catIds")
    cat_key[chosen] = np.arange(len(chosen))
    if params.useCats:
        ids = tuple(int(catalog.category_ids[k]) for k in chosen)
        names = tuple(catalog.category_names[k] for k in chosen)
        num_seg = len(chosen)
    else:
        ids, names, num_seg = (-1,), ("all",), 1
    return (
        torch.from_numpy(image_keep).to(device),
        torch.from_numpy(cat_key).to(device),
        num_seg,
        ids,
        names,
    )


def evaluate_detection_tables(
    gt: GroundTruthTable,
    dt: DetectionTable,
    catalog: Catalog,
    params: CocoParams | None = None,
    iou_type: IouType = "bbox",
    device: torch.device | str | None = None,
) -> CocoResult:
    """Evaluate detections against ground truth the pycocotools way.

    The tables are trusted, as the loaders (``load_coco_ground_truth``,
    ``load_coco_results``) and :func:`assay.evaluate_detections` build and check
    them: columns of one length and of the documented dtypes, indexes within
    ``catalog``, finite scores, boxes and areas, one mask per row. A hand-built table
    that breaks this gives wrong numbers or torch errors; pass it through
    :func:`assay.evaluate_detections` (which checks table objects) instead.

    Args:
        gt: ground-truth table.
        dt: detection table, indexed with the same ``catalog``.
        catalog: image and category ids of the ground truth.
        params: evaluation parameters (pycocotools' defaults when ``None``).
        iou_type: ``"bbox"``.
        device: where to compute; ``None`` keeps the tables' device, ``"auto"``
            picks CUDA when available.

    Returns:
        A :class:`CocoResult` identical to pycocotools' ``COCOeval.eval`` and stats.
    """
    if iou_type not in _SUPPORTED_IOU_TYPES:
        raise ValueError(
            f"Expected `iou_type` to be one of {_SUPPORTED_IOU_TYPES}, but got {iou_type!r}"
        )
    params = params or CocoParams()
    dev = resolve_device(device, gt.image.device)
    gt, dt = gt.to(dev), dt.to(dev)
    image_keep, cat_key, num_seg, k_ids, k_names = _selection(params, catalog, dev)
    num_keys = max(len(catalog.category_ids), 1)

    # Rows of the evaluated images and categories; `dt_row` None: all of them, in
    # table order (no gathers). `*_row` keeps each kept row's index in its table
    # through every reordering below.
    dt_row: Tensor | None = None
    if params.imgIds is None and params.catIds is None:
        gt_row = torch.arange(len(gt), device=dev)
    else:
        gt_row = flat_nonzero(image_keep[gt.image] & (cat_key[gt.category] >= 0))
        dt_row = flat_nonzero(image_keep[dt.image] & (cat_key[dt.category] >= 0))

    # Ground truths sorted by image, category key, then annotation order: one group is a
    # contiguous run in pycocotools' scan order (also for useCats=0, grouped by image).
    gt_image = gt.image.index_select(0, gt_row)
    gt_key = cat_key.index_select(0, gt.category.index_select(0, gt_row))
    gt_order = torch.sort(gt_image * num_keys + gt_key, stable=True).indices
    gt_image, gt_key, gt_row = (c.index_select(0, gt_order) for c in (gt_image, gt_key, gt_row))
    gt_area, gt_crowd, gt_id = (c.index_select(0, gt_row) for c in (gt.area, gt.iscrowd, gt.id))
    dt_image, dt_category, dt_score, dt_area = (
        (c if dt_row is None else c.index_select(0, dt_row))
        for c in (dt.image, dt.category, dt.score, dt.area)
    )
    dt_key = cat_key.index_select(0, dt_category)
    num_img = len(catalog.image_ids)
    if params.useCats:
        num_groups = num_img * num_keys
        gt_group, dt_group = gt_image * num_keys + gt_key, dt_image * num_keys + dt_key
        gt_seg, dt_seg = gt_key, dt_key
    else:
        num_groups = num_img
        gt_group, dt_group = gt_image, dt_image
        gt_seg, dt_seg = torch.zeros_like(gt_key), torch.zeros_like(dt_key)

    f64 = torch.float64
    area_lo = torch.tensor([r[0] for r in params.areaRng], dtype=f64, device=dev)[:, None]
    area_hi = torch.tensor([r[1] for r in params.areaRng], dtype=f64, device=dev)[:, None]
    num_area = len(params.areaRng)
    dt_outside = (dt_area[None, :] < area_lo) | (dt_area[None, :] > area_hi)

    # Rank inside each group by descending score; keep the top maxDets[-1]; then lay the
    # detections out in accumulation order (category, -score, image, rank).
    order, by_group, sorted_group = _detection_group_orders(
        dt_score, dt_image, dt_key, num_keys, num_img, bool(params.useCats)
    )
    rank = _rank_within_groups(dt_group, by_group, sorted_group)
    cut = rank >= params.maxDets[-1]
    if bool(cut.any()):  # host read: usually no group holds more than maxDets
        order = order.index_select(0, flat_nonzero(~cut.index_select(0, order)))
        in_group = flat_nonzero(~cut.index_select(0, by_group))
        by_group = by_group.index_select(0, in_group)
        sorted_group = sorted_group.index_select(0, in_group)
    layout, dt_seg = _accumulation_layout(order, dt_seg, num_seg)
    # The small per-detection columns in that order, packed into one gather (rows cut by
    # maxDets are never gathered, so their out-of-bound ranks do not matter).
    if num_area <= _PACKED_AREAS:  # the outside flags as one bit per area range
        rank, dt_image, outside_bits = _take_packed(
            (rank, dt_image, rows_to_bits(dt_outside)),
            (params.maxDets[-1], num_img, 2**num_area),
            layout,
        )
        dt_outside = bits_to_rows(outside_bits, num_area)
    else:
        rank, dt_image = _take_packed((rank, dt_image), (params.maxDets[-1], num_img), layout)
        dt_outside = dt_outside.index_select(1, layout)
    dt_score = dt_score.index_select(0, layout)

    # Pairs are built in group order (close to table order: the box reads stay local),
    # then the few that can match are handed to the matcher by accumulation position.
    # Dense group tables when they are small against the data, binary search otherwise.
    dense = num_groups <= 4 * (by_group.shape[0] + gt_group.shape[0]) + 1024
    pair_bg, pair_gt = _group_pairs(sorted_group.long(), gt_group, num_groups if dense else None)
    # The only difference between "bbox" and "segm": the IoU of the pairs' table rows.
    bg_row = by_group if dt_row is None else dt_row.index_select(0, by_group)
    pair_dt_row, pair_gt_row = bg_row.index_select(0, pair_bg), gt_row.index_select(0, pair_gt)
    pair_crowd = gt_crowd.index_select(0, pair_gt)
    if iou_type == "bbox":
        pair_iou = coco_box_iou_pairs(
            take_rows(dt.box, pair_dt_row), take_rows(gt.box, pair_gt_row), pair_crowd
        )
    else:
        pair_iou = segm_pair_iou(gt, dt, pair_gt_row, pair_dt_row, pair_crowd)

    gt_ignore = gt_crowd[None, :] | (gt_area[None, :] < area_lo) | (gt_area[None, :] > area_hi)
    iou_thr = torch.tensor([min(t, 1 - 1e-10) for t in params.iouThrs], dtype=f64, device=dev)
    # Pairs below the smallest threshold never match (the matcher would drop them too).
    near = flat_nonzero(pair_iou >= iou_thr.min())
    position = torch.empty(dt_key.shape[0], dtype=torch.int64, device=dev).index_copy_(
        0, layout, torch.arange(layout.shape[0], device=dev)
    )  # accumulation position of each detection (cut ones are never read)
    pair_dt = position.index_select(0, by_group.index_select(0, pair_bg.index_select(0, near)))
    pair_gt, pair_iou = pair_gt.index_select(0, near), pair_iou.index_select(0, near)
    matches = _coco_greedy_match_rounds(
        pair_dt, pair_gt, pair_iou, rank, gt_crowd, gt_ignore, iou_thr
    )

    counted_seg = torch.where(~gt_ignore, gt_seg[None, :], num_seg)  # ignored -> sink bin
    num_counted = torch.zeros((num_area, num_seg + 1), dtype=torch.int64, device=dev)
    num_counted.scatter_add_(1, counted_seg, torch.ones_like(counted_seg))
    acc = _coco_accumulate(
        dt_segment=dt_seg,
        dt_rank=rank,
        dt_score=dt_score.to(f64),
        dt_outside=dt_outside,
        matches=matches,
        gt_ignore=gt_ignore,
        gt_id_nonzero=gt_id != 0,
        num_counted=num_counted[:, :num_seg].t(),
        max_dets=list(params.maxDets),
        rec_thresholds=params.recThrs,
    )
    precision = acc.precision.cpu().numpy()
    recall = acc.recall.cpu().numpy()
    stats, _ = summarize(precision, recall, params)
    return CocoResult(
        iou_type=iou_type,
        params=params,
        stats=stats,
        precision=precision,
        recall=recall,
        scores=acc.scores.cpu().numpy(),
        category_ids=k_ids,
        category_names=k_names,
    )
