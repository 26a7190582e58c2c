"""Per-frame uncertainty of detections with one score per box, in one call.

CVAL's detection sampling scores each box's two-class distribution ``(s, 1 - s)``
and reduces the boxes of a frame with its ``bbox_selection_policy``. With the boxes
stored frame after frame, :func:`binary_frame_scores` does both: on CUDA with Triton
one kernel reads each box score once and writes one value per frame; on the CPU, for
big calls, one compiled loop does the same (C when built at install, else numba's:
:mod:`._compiled`; entropy's float32 frames only in C, with a vectorised
logarithm);
elsewhere the eager kernels of :mod:`.uncertainty` are composed (per-box score, then
:func:`~.uncertainty.segment_reduce_contiguous`), with the same results to rounding.
Off Triton, entropy's ``min`` / ``max`` reduce first: the frame's extreme box by least
confidence, then one entropy per frame instead of two logarithms per box (float32 on
the CPU: both in the C loop).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from . import _compiled, _triton
from ._checks import check_same_device, check_tensor
from .uncertainty import (
    Reduction,
    _check_lengths,
    _check_reduction,
    _segment_reduce_contiguous,
    entropy,
    least_confidence,
    margin,
    ratio,
)

__all__ = ["BINARY_SCORES", "BinaryScore", "binary_frame_scores"]

BinaryScore = Literal["entropy", "margin", "least_confidence", "ratio", "probability"]
BINARY_SCORES: tuple[str, ...] = ("entropy", "margin", "least_confidence", "ratio", "probability")
_CPU_CHUNK_BOXES = 1 << 19  # boxes per chunk on the CPU (2 MB of float32 scores)
_CPU_CHUNK_FRAMES = 1 << 16  # frame values per chunk of a per-frame entropy on the CPU
# cdist adds a row one value after another: beyond this many boxes per frame a float32
# sum drifts from torch.sum's (pairwise) by more than rounding (L = 1000: 1.4e-6)
_CDIST_MAX_LENGTH = 64


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
    reduce_first: bool = True,
) -> Tensor:
    """Score every box's ``(s, 1 - s)`` and reduce each frame's boxes, in one pass.

    Per box, of ``p = (s, 1 - s)``: ``entropy`` (nats; ``/ log 2`` with
    ``normalize``), ``margin`` ``|2s - 1|``, ``least_confidence`` ``min(s, 1 - s)``
    (``x 2`` with ``normalize``), ``ratio`` ``min / max``, or ``probability`` (``s``
    itself); the same numbers as :func:`~.uncertainty.entropy` and the others with
    ``multilabel=True`` on ``s[:, None]``. Then ``reduction`` over each frame. Entropy's
    ``min`` / ``max`` off Triton (``reduce_first``): the entropy of the frame's extreme
    box, found without a logarithm, equal to the per-box extreme to rounding.

    Args:
        scores: ``(N,)`` float box scores in ``[0, 1]``, frame after frame, no NaN.
        lengths: ``(F,)`` int boxes per frame (summing to ``N``; 0 allowed), or an
            ``int L >= 1`` (Python or NumPy) when every frame has ``L`` boxes.
        score: one of ``BINARY_SCORES``.
        reduction: ``"min"``, ``"max"``, ``"mean"`` or ``"sum"`` (CVAL's
            ``bbox_selection_policy``).
        normalize: scale ``entropy`` and ``least_confidence`` so ``s = 1/2`` scores 1.
        empty: the value of a frame without boxes (default ``nan``).
        reduce_first: entropy ``min`` / ``max`` find the extreme box by least confidence
            and take one entropy per frame (4-5x faster on the CPU). ``False``: every
            box's entropy, then the reduction, bit for bit the eager per-box kernels'
            numbers on the CPU (where frames must score the same bits whatever path
            their pool takes).

    Returns:
        ``(F,)`` per-frame scores in the dtype of ``scores``, on its device.

    Raises:
        ValueError: an unknown ``score`` or ``reduction``, ``scores`` or ``lengths``
            not 1-D, an ``int`` length that does not divide ``N``, or CPU lengths that
            are negative or do not add up to ``N``.
        TypeError: ``scores`` not floating point, ``lengths`` neither an int nor an
            integer tensor.

    Not checked (a check would synchronise; kernels trust their callers): scores in
    ``[0, 1]`` without NaN, and on devices lengths ``>= 0`` summing to ``N`` (CPU
    lengths are checked). Outside these the Triton and eager paths may differ (e.g.
    ``min`` / ``max`` skip a NaN in Triton); the Triton kernel never reads outside
    ``scores``.

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
    _check_reduction(reduction)
    lengths = _check_shapes(scores, lengths)
    return _binary_frame_scores(scores, lengths, score, reduction, normalize, empty, reduce_first)


def _binary_frame_scores(
    scores: Tensor,
    lengths: Tensor | int,
    score: str,
    reduction: Reduction,
    normalize: bool,
    empty: float,
    reduce_first: bool,
) -> Tensor:
    """:func:`binary_frame_scores` of arguments already checked."""
    if isinstance(lengths, Tensor) and lengths.dtype not in (torch.int32, torch.int64):
        lengths = lengths.long()  # torch.segment_reduce takes int32 / int64 lengths
    tensors = (scores,) if isinstance(lengths, int) else (scores, lengths)
    fused = scores.dtype in (torch.float32, torch.float64) and _triton.available(*tensors)
    if fused:
        out = _triton.binary_frame_scores(
            scores, lengths, score, reduction, normalize=normalize, empty=empty
        )
        if out is not None:
            return out
    on_cpu = scores.device.type == "cpu"
    c_loop = (
        on_cpu
        and _compiled.which(masks=False) == "c"
        and _compiled.frame_scores_available(
            *tensors, size=scores.shape[0], dense=isinstance(lengths, int)
        )
    )
    if (
        reduce_first
        and score == "entropy"
        and reduction in ("min", "max")
        and not scores.requires_grad
    ):
        if c_loop and scores.dtype == torch.float32:  # the same, in one pass
            return _compiled.frame_scores(scores, lengths, score, reduction, normalize, empty)
        return _entropy_of_extreme_boxes(scores, lengths, reduction, normalize, empty)
    if not on_cpu:
        return _segment_reduce_contiguous(
            _box_scores(scores, score, normalize), lengths, reduction, empty
        )
    plain = scores.dtype in (torch.float32, torch.float64) and not scores.requires_grad
    by_cdist = (  # dense margin sums, means and maxima: one cdist pass
        plain
        and isinstance(lengths, int)
        and lengths <= _CDIST_MAX_LENGTH
        and score == "margin"
        and reduction != "min"
        and scores.is_contiguous()
    )
    if (
        plain
        # entropy: numba's scalar logs are slower than torch's; the C loop has vector
        # ones for float32 means / sums (min / max reduce first, above)
        and (
            score != "entropy"
            or (c_loop and scores.dtype == torch.float32 and reduction in ("mean", "sum"))
        )
        # cdist beats numba's scalar loop, not the vectorised C one
        and (not by_cdist or c_loop)
        and _compiled.frame_scores_available(
            *tensors, size=scores.shape[0], dense=isinstance(lengths, int)
        )
    ):
        return _compiled.frame_scores(scores, lengths, score, reduction, normalize, empty)
    if by_cdist:
        assert isinstance(lengths, int)
        return _cpu_margin_rows(scores.view(-1, lengths), reduction)
    return _cpu_chunked(scores, lengths, score, reduction, normalize, empty)


def _entropy_of_extreme_boxes(
    scores: Tensor, lengths: Tensor | int, reduction: Reduction, normalize: bool, empty: float
) -> Tensor:
    """``entropy`` ``min`` / ``max`` of each frame: one entropy per frame, not per box.

    Binary entropy falls as ``d = |s - 1/2|`` grows, and ``u = min(s, 1 - s)`` is
    ``1/2 - d`` exactly (``s`` itself below 1/2; ``1 - s`` is exact from 1/2 to 1,
    Sterbenz). So the frame's most (least) uncertain box is the one of largest
    (smallest) ``u``; its ``least_confidence`` reduction gives that ``u``, which is the
    box's ``s`` or ``1 - s``, of the same entropy (the two formulas agree to rounding;
    ``u`` is the side of full relative precision). The per-box path computes two
    logarithms per box; this one reduces first (10 M frames x 20 float32 boxes on 2
    threads: 0.13 s instead of 0.6-0.85 s). The result equals the per-box path's to
    rounding, not bit for bit: that path's rounding may rank two nearly equal boxes the
    other way.
    """
    u = _binary_frame_scores(
        scores,
        lengths,
        "least_confidence",
        reduction,
        normalize=False,
        empty=math.nan,
        reduce_first=True,
    )
    if u.device.type != "cpu":
        out = entropy(u[:, None], multilabel=True, normalize=normalize)
    else:  # in cache-sized chunks: its temporaries stay in cache (1.5x faster at 10 M)
        out = torch.empty_like(u)
        for i in range(0, u.shape[0], _CPU_CHUNK_FRAMES):
            part = u[i : i + _CPU_CHUNK_FRAMES, None]
            out[i : i + _CPU_CHUNK_FRAMES] = entropy(part, multilabel=True, normalize=normalize)
    if isinstance(lengths, Tensor) and not math.isnan(empty):
        out.masked_fill_(lengths == 0, empty)  # the reduction wrote nan there
    return out


def _cpu_margin_rows(rows: Tensor, reduction: str) -> Tensor:
    """CPU: ``margin`` summed, averaged or maximised over each row of ``(F, L)`` scores.

    ``|2s - 1| = 2 |s - 1/2|`` (both one rounding of the same exact value), so a
    frame's sum is twice the L1 distance of its row to ``(1/2, ..., 1/2)`` and its
    max twice the L-infinity distance. ``torch.cdist`` computes either in one pass
    with no per-box temporary: 10M x 20 float32 on 2 threads, 0.066 s against
    0.14 s for per-box scores then a row reduction in cache-sized chunks. The max is
    the same number; the sum and mean add in another order (rounding only). Taken
    for contiguous scores without autograd (its output is scaled in place) and rows
    of at most ``_CDIST_MAX_LENGTH`` (cdist sums a row sequentially; a strided input
    would be copied whole first).
    """
    half = rows.new_full((1, rows.shape[1]), 0.5)
    p = math.inf if reduction == "max" else 1.0
    out = torch.cdist(rows, half, p=p).squeeze(1)
    # 2 d / L in one rounding: L / 2 is exact
    return out.div_(rows.shape[1] / 2) if reduction == "mean" else out.mul_(2)


def _check_shapes(scores: Tensor, lengths: Tensor | int) -> Tensor | int:
    """Checks ``scores`` and ``lengths``; returns ``lengths`` (a NumPy integer as ``int``)."""
    if not isinstance(scores, Tensor) or not scores.is_floating_point():
        what = scores.dtype if isinstance(scores, Tensor) else type(scores).__name__
        raise TypeError(f"Expected `scores` to be a floating-point tensor, but got {what}")
    check_tensor("scores", scores, 1, "(N,)")
    lengths = _check_lengths(lengths, scores.shape[0], "scores")
    if isinstance(lengths, Tensor):
        check_same_device(scores=scores, lengths=lengths)
    return lengths


def _cpu_chunked(
    scores: Tensor,
    lengths: Tensor | int,
    score: str,
    reduction: Reduction,
    normalize: bool,
    empty: float,
) -> Tensor:
    """The eager kernels over chunks of about ``_CPU_CHUNK_BOXES`` boxes (whole frames).

    Each chunk's per-box scores stay in cache for the reduction: 2-4x faster than one
    pass per step over everything (whose temporaries are fresh, page-faulted memory).
    The chunk boundaries are read on the host, which costs nothing on the CPU.
    """
    if isinstance(lengths, int):
        num_frames = scores.shape[0] // lengths
        step = max(_CPU_CHUNK_BOXES // lengths, 1)
        frames = [*range(0, num_frames, step), num_frames]
        boxes = [f * lengths for f in frames]
    else:
        num_frames = lengths.shape[0]
        ends = torch.cumsum(lengths, 0)
        total = int(ends[-1]) if num_frames else 0
        marks = torch.arange(_CPU_CHUNK_BOXES, max(total, _CPU_CHUNK_BOXES), _CPU_CHUNK_BOXES)
        cuts = torch.searchsorted(ends, marks)
        frames = sorted({0, num_frames, *cuts.clamp(max=num_frames).tolist()})
        starts = torch.cat((ends.new_zeros(1), ends)).index_select(0, torch.tensor(frames))
        boxes = starts.tolist()
    out = torch.empty(num_frames, dtype=scores.dtype)
    for f0, f1, b0, b1 in zip(frames[:-1], frames[1:], boxes[:-1], boxes[1:], strict=True):
        part = lengths if isinstance(lengths, int) else lengths[f0:f1]
        out[f0:f1] = _segment_reduce_contiguous(
            _box_scores(scores[b0:b1], score, normalize), part, reduction, empty
        )
    return out
