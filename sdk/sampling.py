"""One call for the common sampling case: ``assay.sample(request, embeddings=...)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .engine.sampling import (
    ClassificationSamplingRequest,
    SamplingRequest,
    SamplingResult,
    run_sampling,
)
from .engine.sampling.embeddings import EmbeddingsLike
from .engine.sampling.scoring import ProgressCallback

__all__ = ["sample"]


def sample(
    request: SamplingRequest | ClassificationSamplingRequest | Mapping[str, Any],
    *,
    embeddings: EmbeddingsLike | None = None,
    device: torch.device | str | None = None,
    progress: ProgressCallback | None = None,
) -> SamplingResult:
    """Select the frames to label next, ranked.

    Args:
        request: a :class:`~assay.engine.sampling.SamplingRequest`, a
            :class:`~assay.engine.sampling.ClassificationSamplingRequest`, or a dict of
            the same fields (a CVAL on-premise request body validates unchanged):
            ``num_of_samples``, ``selection_strategy`` (or ``stages``),
            ``bbox_selection_policy``, ``sort_strategy``, ``frames``, ... See
            ``docs/sampling.md``.
        embeddings: needed by ``coreset``, ``clustering`` and ``hierarchical``: a
            mapping ``id -> vector``, a pair ``(ids, (N, D) array)`` or an
            :class:`~assay.engine.index.EmbeddingIndex`. Ids are the predictions'
            ``embedding_id`` s (a frame's vector is their mean) or, for frames without
            one, the frame ids.
        device: where the kernels run: ``None``/``"cpu"``, ``"cuda"`` or ``"auto"``.
        progress: optional ``progress(fraction, message)`` callback.

    Returns:
        :class:`~assay.engine.sampling.SamplingResult`: ``frame_ids`` best first, their
        ``scores``, the ``stages`` that picked them, ``truncated`` / ``note`` when the
        pool was smaller than ``num_of_samples``.

    Raises:
        ValueError: an invalid request (unknown field, strategy, policy: the message
            lists the valid values), bad scores or probabilities, missing embeddings
            (the first offending item is named).

    Example:
        >>> import assay
        >>> result = assay.sample({
        ...     "num_of_samples": 2,
        ...     "selection_strategy": "margin",
        ...     "bbox_selection_policy": "max",
        ...     "sort_strategy": "descending",
        ...     "frames": [
        ...         {"frame_id": "img1", "predictions": [{"category_id": 1, "score": 0.97}]},
        ...         {"frame_id": "img2", "predictions": [{"category_id": 2, "score": 0.51}]},
        ...         {"frame_id": "img3", "predictions": [{"category_id": 1, "score": 0.70},
        ...                                              {"category_id": 3, "score": 0.40}]},
        ...     ],
        ... })
        >>> result.frame_ids
        ('img2', 'img3')
        >>> [round(s, 2) for s in result.scores]
        [0.98, 0.8]
    """
    return run_sampling(request, embeddings=embeddings, device=device, progress=progress)
