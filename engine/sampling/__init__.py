"""Active-learning sampling: CVAL-compatible requests, strategies, pipelines, similarity search.

``run_sampling(request, embeddings=...)`` scores the request's frames
(:func:`score_frames`) and selects them (:func:`select`); the request is a
:class:`SamplingRequest` (detection, CVAL's ``DetectionSamplingOnPremise``), a
:class:`ClassificationSamplingRequest`, or a dict of the same fields.

Example:
    >>> from assay.engine.sampling import run_sampling
    >>> result = run_sampling({
    ...     "num_of_samples": 2, "selection_strategy": "least", "sort_strategy": "descending",
    ...     "bbox_selection_policy": "max",
    ...     "frames": [{"frame_id": "a", "predictions": [{"score": 0.95}]},
    ...                {"frame_id": "b", "predictions": [{"score": 0.55}, {"score": 0.9}]},
    ...                {"frame_id": "c"}]})
    >>> result.frame_ids, [round(s, 2) for s in result.scores]
    (('c', 'b'), [1.0, 0.9])
"""

from __future__ import annotations

from .embeddings import EmbeddingLookup
from .readers import read_embeddings, read_ids, read_predictions, read_request
from .request import (
    ASSAY_STRATEGIES,
    BBOX_SELECTION_POLICIES,
    CVAL_STRATEGIES,
    DIVERSITY_STRATEGIES,
    SCORE_STRATEGIES,
    SELECTION_STRATEGIES,
    SORT_STRATEGIES,
    STAGE_MODES,
    UNCERTAINTY_STRATEGIES,
    BBoxPrediction,
    ClassificationFrame,
    ClassificationSamplingRequest,
    DetectionFrame,
    SamplingRequest,
    SamplingStage,
    StageSpec,
    parse_request,
)
from .result import SamplingResult
from .scoring import FrameScores, random_keys, score_frames
from .selection import run_sampling, select
from .similarity import CollectionResult, collect_similar
from .table import PROBABILITY_SUM_TOLERANCE, PredictionTable

__all__ = [
    "ASSAY_STRATEGIES",
    "BBOX_SELECTION_POLICIES",
    "BBoxPrediction",
    "CVAL_STRATEGIES",
    "ClassificationFrame",
    "ClassificationSamplingRequest",
    "CollectionResult",
    "DIVERSITY_STRATEGIES",
    "DetectionFrame",
    "EmbeddingLookup",
    "FrameScores",
    "PROBABILITY_SUM_TOLERANCE",
    "PredictionTable",
    "SCORE_STRATEGIES",
    "SELECTION_STRATEGIES",
    "SORT_STRATEGIES",
    "STAGE_MODES",
    "SamplingRequest",
    "SamplingResult",
    "SamplingStage",
    "StageSpec",
    "UNCERTAINTY_STRATEGIES",
    "collect_similar",
    "parse_request",
    "random_keys",
    "read_embeddings",
    "read_ids",
    "read_predictions",
    "read_request",
    "run_sampling",
    "score_frames",
    "select",
]
