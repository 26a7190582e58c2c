"""Mask IoU of the COCO evaluator's (detection, ground truth) pairs (``iou_type="segm"``).

The evaluator keeps, for each of its pairs, the table rows of the detection and the
ground truth (after selecting images / categories, sorting and laying detections out
in accumulation order); :func:`segm_pair_iou` hands those rows' masks to
:func:`~assay.kernels.masks.rle_iou_pairs`: the only difference between ``"bbox"`` and
``"segm"`` evaluation is this IoU.
"""

from __future__ import annotations

from torch import Tensor

from ...kernels.masks import _check_rle, _rle_iou_pairs
from ..tables import DetectionTable, GroundTruthTable

__all__ = ["segm_pair_iou"]


def segm_pair_iou(
    gt: GroundTruthTable,
    dt: DetectionTable,
    pair_gt_row: Tensor,
    pair_dt_row: Tensor,
    pair_crowd: Tensor,
) -> Tensor:
    """COCO mask IoU (pycocotools' ``maskUtils.iou``) of the evaluator's pairs.

    Args:
        gt: ground-truth table with ``mask``.
        dt: detection table with ``mask``.
        pair_gt_row: ``(P,)`` int64 row of each pair's ground truth in ``gt``.
        pair_dt_row: ``(P,)`` int64 row of each pair's detection in ``dt``.
        pair_crowd: ``(P,)`` bool crowd flag of each pair's ground truth.

    Returns:
        ``(P,)`` float64 IoU.

    Raises:
        ValueError: a table without masks, or with another number of masks than rows.
        TypeError: a table mask that is not an :class:`~assay.kernels.masks.Rle`.

    The masks' offsets are checked (they bound every read); their runs are not (the
    loaders checked that each mask's runs add up to its height * width, and the check
    reads every run: 8-30% of the IoU on COCO-sized data), so the kernel's unchecked
    core computes the IoU.
    """
    if gt.mask is None or dt.mask is None:
        which = "gt" if gt.mask is None else "dt"
        raise ValueError(
            f"Expected `{which}` to carry masks for iou_type='segm', but its table has none; "
            "load it with iou_type='segm' (segmentations are read only then)"
        )
    for which, table in (("gt", gt), ("dt", dt)):
        mask = _check_rle(f"{which}.mask", table.mask, runs=False)
        if mask.num_masks != len(table):
            raise ValueError(
                f"Expected `{which}.mask` to hold one mask per row ({len(table)}), but got "
                f"{mask.num_masks} masks"
            )
    return _rle_iou_pairs(dt.mask, gt.mask, pair_dt_row, pair_gt_row, pair_crowd)
