"""Input formats -> columnar tables."""

from __future__ import annotations

from .coco import CocoFormatError, load_coco_ground_truth, load_coco_results, read_json

__all__ = ["CocoFormatError", "load_coco_ground_truth", "load_coco_results", "read_json"]
