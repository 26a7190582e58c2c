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
from .engine.tables import Catalog, DetectionTable, GroundTruthTable
from .evaluate import evaluate_coco, evaluate_detections

__version__ = "0.1.0"

__all__ = [
    "Catalog",
    "CategoryMetrics",
    "ClassificationFormatError",
    "ClassificationResult",
    "CocoFormatError",
    "CocoParams",
    "CocoResult",
    "DetectionTable",
    "GroundTruthTable",
    "PanopticAccumulator",
    "PanopticResult",
    "SemanticAccumulator",
    "SemanticResult",
    "ValorClassificationResult",
    "ValorLiteEvaluator",
    "__version__",
    "evaluate_classification",
    "evaluate_coco",
    "evaluate_detections",
    "evaluate_panoptic",
    "evaluate_semantic",
]
