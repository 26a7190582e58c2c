"""Mask IoU of the COCO evaluator's (detection, ground truth) pairs (``iou_type="segm"``).

The evaluator selects rows (``params.imgIds`` / ``params.catIds``), sorts the ground
truths and lays the detections out in accumulation order, and indexes its pairs in
those orders; the masks stay in the tables' row order. :func:`segm_pair_iou` maps the
pairs back to table rows and hands them to :func:`~assay.kernels.masks.rle_iou_pairs`:
the only difference between ``"bbox"`` and ``"segm"`` evaluation is this IoU.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ...kernels.masks import rle_iou_pairs
from ..tables import DetectionTable, GroundTruthTable

__all__ = ["segm_pair_iou"]


def segm_pair_iou(
    gt: GroundTruthTable,
    dt: DetectionTable,
    image_keep: Tensor,
    cat_key: Tensor,
    gt_pos: Tensor,
    dt_pos: Tensor,
    gt_crowd: Tensor,
) -> Tensor:
    """COCO mask IoU (pycocotools' ``maskUtils.iou``) of the evaluator's pairs.

    Args:
        gt: ground-truth table with ``mask``.
        dt: detection table with ``mask``.
        image_keep: ``(I,)`` bool, the evaluated images.
        cat_key: ``(K,)`` int64, the evaluated categories (>= 0).
        gt_pos: ``(P,)`` int64 position of each pair's ground truth among the selected
            ground-truth rows (those of evaluated images and categories, table order).
        dt_pos: ``(P,)`` int64 position of each pair's detection among the selected
            detection rows.
        gt_crowd: ``(P,)`` bool crowd flag of each pair's ground truth.

    Returns:
        ``(P,)`` float64 IoU.

    Raises:
        ValueError: a table without masks.
    """
    if gt.mask is None or dt.mask is None:
        which = "gt" if gt.mask is None else "dt"
        raise ValueError(
            f"Expected `{which}` to carry masks for iou_type='segm', but its table has none; "
            "load it with iou_type='segm' (segmentations are read only then)"
        )
    gt_rows = torch.nonzero(image_keep[gt.image] & (cat_key[gt.category] >= 0)).reshape(-1)
    dt_rows = torch.nonzero(image_keep[dt.image] & (cat_key[dt.category] >= 0)).reshape(-1)
    return rle_iou_pairs(dt.mask, gt.mask, dt_rows[dt_pos], gt_rows[gt_pos], gt_crowd)
