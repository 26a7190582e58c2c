"""assay: exact, GPU-accelerated metrics for computer-vision models.

Example:
    >>> import assay
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "dog"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 20, 20], "area": 400, "iscrowd": 0}]}
    >>> result = assay.evaluate_coco(gt, [{"image_id": 1, "category_id": 1,
    ...                                    "bbox": [0, 0, 20, 20], "score": 0.5}])
    >>> result.stats[0]  # pycocotools' tp / (tp + fp + eps): a perfect AP is 1 - 2**-52
    np.float64(0.9999999999999998)
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from .engine.evaluation import (
    CategoryMetrics,
    ClassificationResult,
    CocoParams,
    CocoResult,
    PanopticAccumulator,
    PanopticResult,
    SemanticAccumulator,
    SemanticResult,
    ValorClassificationResult,
    ValorLiteEvaluator,
    evaluate_classification,
    evaluate_panoptic,
    evaluate_semantic,
)
from .engine.formats import CocoFormatError
from .engine.formats.classification import ClassificationFormatError
from .engine.jobs import JobCancelledError, JobExecutor, JobFailedError
from .engine.sampling import (
    ClassificationSamplingRequest,
    SamplingRequest,
    SamplingResult,
    SamplingStage,
)
from .engine.tables import Catalog, DetectionTable, GroundTruthTable
from .evaluate import evaluate_coco, evaluate_detections
from .jobs import SamplingJob, submit_sampling
from .sampling import sample

if _typing.TYPE_CHECKING:
    from .engine.streaming import (
        MeanAveragePrecision,
        MulticlassMetrics,
        MulticlassRankingMetrics,
        SemanticSegmentationMetrics,
    )

__version__ = "0.1.0"

# The streaming metrics subclass torchmetrics.Metric, and importing torchmetrics takes
# about 2 s (it pulls in scipy.signal and matplotlib): they load on first use, so that
# `import assay` and the CLI do not pay for them.
_LAZY = {
    "MeanAveragePrecision": ".engine.streaming",
    "MulticlassMetrics": ".engine.streaming",
    "MulticlassRankingMetrics": ".engine.streaming",
    "SemanticSegmentationMetrics": ".engine.streaming",
}


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})

__all__ = [
    "Catalog",
    "CategoryMetrics",
    "ClassificationFormatError",
    "ClassificationResult",
    "ClassificationSamplingRequest",
    "CocoFormatError",
    "CocoParams",
    "CocoResult",
    "DetectionTable",
    "GroundTruthTable",
    "JobCancelledError",
    "JobExecutor",
    "JobFailedError",
    "MeanAveragePrecision",
    "MulticlassMetrics",
    "MulticlassRankingMetrics",
    "PanopticAccumulator",
    "PanopticResult",
    "SamplingJob",
    "SamplingRequest",
    "SamplingResult",
    "SamplingStage",
    "SemanticAccumulator",
    "SemanticResult",
    "SemanticSegmentationMetrics",
    "ValorClassificationResult",
    "ValorLiteEvaluator",
    "__version__",
    "evaluate_classification",
    "evaluate_coco",
    "evaluate_detections",
    "evaluate_panoptic",
    "evaluate_semantic",
    "sample",
    "submit_sampling",
]
