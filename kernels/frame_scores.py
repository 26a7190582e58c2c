"""Per-frame uncertainty of detections with one score per box, in one call.

CVAL's detection sampling scores each box's two-class distribution ``(s, 1 - s)``
and reduces the boxes of a frame with its ``bbox_selection_policy``. With the boxes
stored frame after frame, :func:`binary_frame_scores` does both: on CUDA with Triton
one kernel reads each box score once and writes one value per frame; elsewhere the
eager kernels of :mod:`.uncertainty` are composed (per-box score, then
:func:`~.uncertainty.segment_reduce_contiguous`), with the same results to rounding.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from . import _triton
from .uncertainty import (
    Reduction,
    entropy,
    least_confidence,
    margin,
    ratio,
    segment_reduce_contiguous,
)

__all__ = ["BINARY_SCORES", "BinaryScore", "binary_frame_scores"]

BinaryScore = Literal["entropy", "margin", "least_confidence", "ratio", "probability"]
BINARY_SCORES: tuple[str, ...] = ("entropy", "margin", "least_confidence", "ratio", "probability")
_REDUCTIONS = ("min", "max", "mean", "sum")


def _box_scores(scores: Tensor, score: str, normalize: bool) -> Tensor:
    one = scores[:, None]
    if score == "entropy":
        return entropy(one, multilabel=True, normalize=normalize)
    if score == "margin":
        return margin(one, multilabel=True)
    if score == "least_confidence":
        return least_confidence(one, multilabel=True, normalize=normalize)
    if score == "ratio":
        return ratio(one, multilabel=True)
    return scores


def binary_frame_scores(
    scores: Tensor,
    lengths: Tensor | int,
    score: BinaryScore,
    reduction: Reduction,
    *,
    normalize: bool = False,
    empty: float = math.nan,
) -> Tensor:
    """Score every box's ``(s, 1 - s)`` and reduce each frame's boxes, in one pass.

    Per box, of ``p = (s, 1 - s)``: ``entropy`` (nats; ``/ log 2`` with
    ``normalize``), ``margin`` ``|2s - 1|``, ``least_confidence`` ``min(s, 1 - s)``
    (``x 2`` with ``normalize``), ``ratio`` ``min / max``, or ``probability`` (``s``
    itself); the same numbers as :func:`~.uncertainty.entropy` and the others with
    ``multilabel=True`` on ``s[:, None]``. Then ``reduction`` over each frame.

    Args:
        scores: ``(N,)`` float box scores in ``[0, 1]``, frame after frame, no NaN.
        lengths: ``(F,)`` int boxes per frame (summing to ``N``; 0 allowed), or an
            ``int L >= 1`` when every frame has ``L`` boxes.
        score: one of ``BINARY_SCORES``.
        reduction: ``"min"``, ``"max"``, ``"mean"`` or ``"sum"`` (CVAL's
            ``bbox_selection_policy``).
        normalize: scale ``entropy`` and ``least_confidence`` so ``s = 1/2`` scores 1.
        empty: the value of a frame without boxes (default ``nan``).

    Returns:
        ``(F,)`` per-frame scores in the dtype of ``scores``, on its device.

    Raises:
        ValueError: an unknown ``score`` or ``reduction``, or an ``int`` length that
            does not divide ``N``.

    Example:
        >>> import torch
        >>> s = torch.tensor([0.5, 0.9, 1.0, 0.25])
        >>> binary_frame_scores(s, torch.tensor([2, 0, 2]), "margin", "min")
        tensor([0.0000,    nan, 0.5000])
        >>> binary_frame_scores(s, 2, "entropy", "max", normalize=True)
        tensor([1.0000, 0.8113])
    """
    if score not in BINARY_SCORES:
        raise ValueError(f"Expected `score` to be one of {list(BINARY_SCORES)}, but got {score!r}")
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"Expected `reduction` to be one of {list(_REDUCTIONS)}, but got {reduction!r}"
        )
    if isinstance(lengths, int) and (lengths < 1 or scores.shape[0] % lengths):
        raise ValueError(
            f"Expected `lengths` to be an int >= 1 dividing the {scores.shape[0]} scores, "
            f"but got {lengths}"
        )
    tensors = (scores,) if isinstance(lengths, int) else (scores, lengths)
    fused = scores.dtype in (torch.float32, torch.float64) and _triton.available(*tensors)
    if fused:
        return _triton.binary_frame_scores(
            scores, lengths, score, reduction, normalize=normalize, empty=empty
        )
    return segment_reduce_contiguous(
        _box_scores(scores, score, normalize), lengths, reduction, empty=empty
    )
