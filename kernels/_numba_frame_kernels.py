"""Compiled (numba) CPU loop of ``binary_frame_scores``; imported by :mod:`._compiled` only.

One walk over each frame's box scores: the per-box score of ``(s, 1 - s)`` (margin,
least confidence, ratio or the score itself; entropy's ``mean`` / ``sum`` stay eager,
where torch vectorises its two logarithms, and its ``min`` / ``max`` reduce least
confidence here first) and the frame's reduction in registers, one value
written per frame, over one range ``[lo, hi)`` of frames (the caller splits the frames
over threads; the loop releases the GIL). The eager path (per-box scores, then a
segment reduction) is the reference. For ``min`` / ``max`` this loop computes each
box's score in the scores' dtype by the eager kernels' operations, so it gives their
numbers exactly (up to the sign of a zero, which the eager ``amin`` leaves to its order
too); ``mean`` / ``sum`` compute and add in float64, equal to rounding.

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
def _box(s, score, normalize, one, two):
    """One box's score of ``(s, 1 - s)``, in the type of ``s``, ``one`` and ``two``."""
    q = one - s
    if score == MARGIN:
        return abs(two * s - one)
    if score == LEAST:
        u = min(s, q)
        return two * u if normalize else u
    if score == RATIO:
        return min(s, q) / max(s, q)
    return s


@njit(cache=True, nogil=True, inline="always")
def _frames(score, scores, starts, lengths, length, reduction, normalize, empty, lo, hi, out):
    """``out[f]`` for frames ``lo <= f < hi``: the ``reduction`` of their boxes' scores.

    ``length > 0``: every frame holds ``length`` boxes (``starts`` / ``lengths`` unused);
    ``length == 0``: frame ``f`` holds ``lengths[f]`` boxes from ``starts[f]``;
    ``length < 0`` (running starts): ``starts[0]`` is frame ``lo``'s first box and each
    frame starts where the one before ended. A frame without boxes
    gets ``empty``. Inlined into one function per ``score``, so that each inner loop is
    compiled for one score (4-5x faster than branching per box).
    """
    n = scores.shape[0]
    one, two = scores.dtype.type(1.0), scores.dtype.type(2.0)  # min / max: the scores' dtype
    at = starts[0] if length < 0 else 0  # running starts: frame lo's first box
    for f in range(lo, hi):
        if length > 0:
            first = f * length
            last = first + length
        elif length < 0:
            first = min(max(at, 0), n)
            last = min(first + max(lengths[f], 0), n)
            at += lengths[f]
        else:
            first = min(max(starts[f], 0), n)
            last = min(first + max(lengths[f], 0), n)
        if last <= first:
            out[f] = empty
            continue
        if reduction < MEAN:  # MIN or MAX
            # in the scores' dtype, as the eager kernels compute them: the same numbers
            if reduction == MIN:
                acc = scores.dtype.type(math.inf)
                for b in range(first, last):
                    acc = min(acc, _box(scores[b], score, normalize, one, two))
            else:
                acc = scores.dtype.type(-math.inf)
                for b in range(first, last):
                    acc = max(acc, _box(scores[b], score, normalize, one, two))
            out[f] = acc
            continue
        total = 0.0  # sums in float64
        for b in range(first, last):
            total += _box(float(scores[b]), score, normalize, 1.0, 2.0)
        if reduction == MEAN:
            total /= last - first
        out[f] = total


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
