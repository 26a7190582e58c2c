"""Evaluators: COCO detection protocol over columnar tables."""

from __future__ import annotations

from .classification import (
    CLASSIFICATION_PROTOCOLS,
    Averages,
    ClassificationProtocol,
    ClassificationResult,
    LabelKeyMetrics,
    ReliabilityTable,
    ValorClassificationResult,
    ValueMetrics,
    evaluate_classification,
)
from .coco import evaluate_detection_tables
from .panoptic import PanopticAccumulator, PanopticGroup, PanopticResult, evaluate_panoptic
from .params import CocoParams, IouType
from .result import STAT_NAMES, CategoryMetrics, CocoResult, StatLine, summarize
from .semantic import SemanticAccumulator, SemanticResult, evaluate_semantic
from .valor_classification import ValorLiteEvaluator, ValorMetric

__all__ = [
    "Averages",
    "CLASSIFICATION_PROTOCOLS",
    "CategoryMetrics",
    "ClassificationProtocol",
    "ClassificationResult",
    "CocoParams",
    "CocoResult",
    "IouType",
    "LabelKeyMetrics",
    "PanopticAccumulator",
    "PanopticGroup",
    "PanopticResult",
    "ReliabilityTable",
    "STAT_NAMES",
    "SemanticAccumulator",
    "SemanticResult",
    "StatLine",
    "ValorClassificationResult",
    "ValorLiteEvaluator",
    "ValorMetric",
    "ValueMetrics",
    "evaluate_classification",
    "evaluate_detection_tables",
    "evaluate_panoptic",
    "evaluate_semantic",
    "summarize",
]
