"""assay's engine: formats, columnar tables, evaluators."""

from __future__ import annotations

from .device import DEVICE_CHOICES, resolve_device
from .evaluation import CocoParams, CocoResult, evaluate_detection_tables
from .formats import CocoFormatError, load_coco_ground_truth, load_coco_results
from .tables import Catalog, DetectionTable, GroundTruthTable

__all__ = [
    "Catalog",
    "CocoFormatError",
    "CocoParams",
    "CocoResult",
    "DEVICE_CHOICES",
    "DetectionTable",
    "GroundTruthTable",
    "evaluate_detection_tables",
    "load_coco_ground_truth",
    "load_coco_results",
    "resolve_device",
]
