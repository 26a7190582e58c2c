"""Streaming metrics for training loops: ``torchmetrics.Metric`` subclasses.

Every state is a fixed-size tensor summed across ranks or a flat ``cat`` tensor, so
torch.distributed sync is a plain reduction or gather (see docs/streaming.md).
"""

from __future__ import annotations

from .classification import MulticlassMetrics, MulticlassRankingMetrics
from .detection import MeanAveragePrecision
from .semantic import SemanticSegmentationMetrics

__all__ = [
    "MeanAveragePrecision",
    "MulticlassMetrics",
    "MulticlassRankingMetrics",
    "SemanticSegmentationMetrics",
]
