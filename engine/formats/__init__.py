"""Input formats -> columnar tables."""

from __future__ import annotations

from .classification import (
    ClassificationFormatError,
    ClassificationTables,
    LabelKeyTable,
    load_classification,
)
from .coco import CocoFormatError, load_coco_ground_truth, load_coco_results, read_json

__all__ = [
    "ClassificationFormatError",
    "ClassificationTables",
    "CocoFormatError",
    "LabelKeyTable",
    "load_classification",
    "load_coco_ground_truth",
    "load_coco_results",
    "read_json",
]
