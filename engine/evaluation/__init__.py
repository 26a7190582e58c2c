"""Evaluators: COCO detection protocol over columnar tables."""

from __future__ import annotations

from .coco import evaluate_detection_tables
from .params import CocoParams, IouType
from .result import STAT_NAMES, CategoryMetrics, CocoResult, summarize

__all__ = [
    "STAT_NAMES",
    "CategoryMetrics",
    "CocoParams",
    "CocoResult",
    "IouType",
    "evaluate_detection_tables",
    "summarize",
]
