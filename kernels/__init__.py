"""Pure batched tensor kernels (CUDA or CPU, no I/O, no state).

Example:
    >>> import torch
    >>> from assay.kernels import box_convert
    >>> box_convert(torch.tensor([[1.0, 2.0, 3.0, 4.0]]), "xywh", "xyxy")
    tensor([[1., 2., 4., 6.]])
"""

from __future__ import annotations

from .boxes import (
    BOX_FORMATS,
    BoxFormat,
    box_area,
    box_convert,
    box_iou,
    coco_box_iou,
    coco_box_iou_pairs,
)
from .matching import GreedyMatches, coco_greedy_match, group_pairs, rank_within_groups
from .ranking import CocoAccumulation, accumulation_order, coco_accumulate, detection_order

__all__ = [
    "BOX_FORMATS",
    "BoxFormat",
    "CocoAccumulation",
    "accumulation_order",
    "GreedyMatches",
    "box_area",
    "box_convert",
    "box_iou",
    "coco_accumulate",
    "coco_box_iou",
    "coco_box_iou_pairs",
    "coco_greedy_match",
    "detection_order",
    "group_pairs",
    "rank_within_groups",
]
