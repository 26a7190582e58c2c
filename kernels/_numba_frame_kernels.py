"""Compiled (numba) CPU loop of ``binary_frame_scores``; imported by :mod:`._numba` only.

One walk over each frame's box scores: the per-box score of ``(s, 1 - s)`` (margin,
least confidence, ratio or the score itself; entropy stays eager, where torch
vectorises its two logarithms) and the frame's reduction in registers, one value
written per frame, over one range ``[lo, hi)`` of frames (the caller splits the frames
over threads; the loop releases the GIL). The eager path (per-box scores, then a
segment reduction) is the reference; this loop computes each box's score in float64
and adds in float64, so its results equal the eager ones to rounding (``min`` /
``max`` of ``margin``, ``least_confidence`` and ``probability`` exactly, up to the
sign of a zero, which the eager ``amin`` leaves to its order too).

Frames are read as ``[starts[f], starts[f] + lengths[f])`` clipped to the scores, so
lengths that do not add up (which the kernel does not check) give wrong frames, never
a read outside the array. mypy skips this module (``pyproject.toml``).
"""

from __future__ import annotations

import math

from numba import njit

__all__ = [
    "least_frames",
    "margin_frames",
    "probability_frames",
    "ratio_frames",
]

# per-box scores, and the reduction codes the entry points take
MARGIN, LEAST, RATIO, PROBABILITY = 0, 1, 2, 3
MIN, MAX, MEAN, SUM = 0, 1, 2, 3


@njit(cache=True, nogil=True, inline="always")
def _box(s, score, normalize):
    """One box's score of ``(s, 1 - s)``, in float64 (as the eager multilabel kernels)."""
    q = 1.0 - s
    if score == MARGIN:
        return abs(2.0 * s - 1.0)
    if score == LEAST:
        u = min(s, q)
        return 2.0 * u if normalize else u
    if score == RATIO:
        return min(s, q) / max(s, q)
    return s


@njit(cache=True, nogil=True, inline="always")
def _frames(score, scores, starts, lengths, length, reduction, normalize, empty, lo, hi, out):
    """``out[f]`` for frames ``lo <= f < hi``: the ``reduction`` of their boxes' scores.

    ``length > 0``: every frame holds ``length`` boxes (``starts`` / ``lengths`` unused);
    else frame ``f`` holds ``lengths[f]`` boxes from ``starts[f]``. A frame without boxes
    gets ``empty``. Inlined into one function per ``score``, so that each inner loop is
    compiled for one score (4-5x faster than branching per box).
    """
    n = scores.shape[0]
    for f in range(lo, hi):
        if length > 0:
            first = f * length
            last = first + length
        else:
            first = min(max(starts[f], 0), n)
            last = min(first + max(lengths[f], 0), n)
        if last <= first:
            out[f] = empty
            continue
        if reduction == MIN:
            acc = math.inf
            for b in range(first, last):
                acc = min(acc, _box(float(scores[b]), score, normalize))
        elif reduction == MAX:
            acc = -math.inf
            for b in range(first, last):
                acc = max(acc, _box(float(scores[b]), score, normalize))
        else:
            acc = 0.0
            for b in range(first, last):
                acc += _box(float(scores[b]), score, normalize)
            if reduction == MEAN:
                acc /= last - first
        out[f] = acc


# the per-score entry points; arguments as _frames' after ``score``
_FLAGS = {"nnan", "nsz", "reassoc", "contract"}  # scores are not NaN (callers validate)


@njit(cache=True, nogil=True, fastmath=_FLAGS)
def margin_frames(s, starts, lengths, length, reduction, normalize, empty, lo, hi, out):
    _frames(MARGIN, s, starts, lengths, length, reduction, normalize, empty, lo, hi, out)


@njit(cache=True, nogil=True, fastmath=_FLAGS)
def least_frames(s, starts, lengths, length, reduction, normalize, empty, lo, hi, out):
    _frames(LEAST, s, starts, lengths, length, reduction, normalize, empty, lo, hi, out)


@njit(cache=True, nogil=True, fastmath=_FLAGS)
def ratio_frames(s, starts, lengths, length, reduction, normalize, empty, lo, hi, out):
    _frames(RATIO, s, starts, lengths, length, reduction, normalize, empty, lo, hi, out)


@njit(cache=True, nogil=True, fastmath=_FLAGS)
def probability_frames(s, starts, lengths, length, reduction, normalize, empty, lo, hi, out):
    _frames(PROBABILITY, s, starts, lengths, length, reduction, normalize, empty, lo, hi, out)
