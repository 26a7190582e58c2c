"""The C loop of ``binary_frame_scores`` (``kernels/_native/frames.c``).

The same functions, arguments and results as :mod:`._numba_frame_kernels` (NumPy
arrays in, ``out`` written in place), calling the C library of :mod:`._native`.
Importing this module raises ImportError when the library is not available, as
importing :mod:`._numba_frame_kernels` does without numba.

Each function takes float32 or float64 scores ``s`` (C has one loop per dtype, picked
here) and an ``out`` of the same dtype; ``starts`` / ``lengths`` are int64 (unused,
any length, for fixed-length frames). ``min`` / ``max`` give numba's numbers exactly
(up to the sign of a zero), ``mean`` / ``sum`` equal them to rounding (both add in
float64, in other orders). Every array goes through :func:`._native.pointer` (dtype
and contiguity); the C loop clips each frame to the scores, so inconsistent lengths
give wrong frames, never a read outside ``s``. ``lo`` / ``hi`` must lie within
``out`` (and, for frames of varying lengths, within ``starts`` / ``lengths``), as
for numba's loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._native import F64, I64, P, bind, library, pointer

__all__ = [
    "least_frames",
    "margin_frames",
    "probability_frames",
    "ratio_frames",
]

_lib = library("_native_frames")
if _lib is None:
    raise ImportError("the C frame-score loops are not built, or ASSAY_NATIVE is off")

_i8 = np.int64
# (s, n, starts, lengths, length, reduction, normalize, empty, lo, hi, out)
_ARGS = (P, I64, P, P, I64, I64, I64, F64, I64, I64, P)
try:
    _LOOPS = {
        (name, np.dtype(dtype)): bind(_lib, f"{name}_frames_{suffix}", *_ARGS)
        for name in ("margin", "least", "ratio", "probability")
        for dtype, suffix in ((np.float32, "f32"), (np.float64, "f64"))
    }
except AttributeError as error:  # a library built from older sources
    raise ImportError(f"the C frame-score loops are incomplete: {error}") from error


def _call(
    name: str,
    s: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    length: int,
    reduction: int,
    normalize: bool,
    empty: float,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    loop: Any = _LOOPS.get((name, s.dtype))
    if loop is None:
        raise TypeError(f"Expected float32 or float64 scores for the C loop, but got {s.dtype}")
    loop(
        pointer(s, s.dtype),
        s.shape[0],
        pointer(starts, _i8),
        pointer(lengths, _i8),
        length,
        reduction,
        int(bool(normalize)),
        float(empty),
        lo,
        hi,
        pointer(out, s.dtype),
    )


def margin_frames(
    s: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    length: int,
    reduction: int,
    normalize: bool,
    empty: float,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """``out[f]``, ``lo <= f < hi``: the ``reduction`` of the frame's ``|2 s - 1|``."""
    _call("margin", s, starts, lengths, length, reduction, normalize, empty, lo, hi, out)


def least_frames(
    s: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    length: int,
    reduction: int,
    normalize: bool,
    empty: float,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """``out[f]``: the ``reduction`` of ``min(s, 1 - s)`` (times 2 if ``normalize``)."""
    _call("least", s, starts, lengths, length, reduction, normalize, empty, lo, hi, out)


def ratio_frames(
    s: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    length: int,
    reduction: int,
    normalize: bool,
    empty: float,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """``out[f]``: the ``reduction`` of ``min(s, q) / max(s, q)``, ``q = 1 - s``."""
    _call("ratio", s, starts, lengths, length, reduction, normalize, empty, lo, hi, out)


def probability_frames(
    s: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    length: int,
    reduction: int,
    normalize: bool,
    empty: float,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """``out[f]``: the ``reduction`` of the scores ``s`` themselves."""
    _call("probability", s, starts, lengths, length, reduction, normalize, empty, lo, hi, out)
