"""The C loop of ``binary_frame_scores`` (``kernels/_native/frames.c``).

The same functions, arguments and results as :mod:`._numba_frame_kernels` (NumPy
arrays in, ``out`` written in place), calling the C library of :mod:`._native`.
Importing this module raises ImportError when the library is not available, as
importing :mod:`._numba_frame_kernels` does without numba.

Each function takes float32 or float64 scores ``s`` (C has one loop per dtype, picked
here) and an ``out`` of the same dtype (:func:`entropy_frames`: float32 only, and only
C's: numba has no entropy loop); ``starts`` / ``lengths`` are int64 (unused,
any length, for fixed-length frames). ``min`` / ``max`` give numba's numbers exactly
(up to the sign of a zero), ``mean`` / ``sum`` equal them to rounding (both add in
float64, in other orders). Every array goes through :func:`._native.pointer` (dtype
and contiguity); the C loop clips each frame to the scores, so inconsistent lengths
give wrong frames, never a read outside ``s``. ``lo`` / ``hi`` must lie within
``out`` (and, for frames of varying lengths, within ``starts`` / ``lengths``), as
for numba's loop.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ._native import F64, I64, P, bind, check_span, library, pointer

# numba's entry points (kernels/_numba.py's dispatcher takes either module); the C-only
# entropy_frames is not among them
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
    _LOOPS["entropy", np.dtype(np.float32)] = bind(_lib, "entropy_frames_f32", *_ARGS)
    # top_k's candidate pass: (x, lo, hi, bound, descending, idx, cap) -> count
    _AT_LEAST = {
        np.dtype(dtype): bind(
            _lib, f"at_least_{suffix}", P, I64, I64, F64, I64, P, I64, returns=I64
        )
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
        kinds = "float32" if name == "entropy" else "float32 or float64"
        raise TypeError(f"Expected {kinds} scores for the C {name} loop, but got {s.dtype}")
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


class FrameLoop(Protocol):
    """The entry points' signature: numba's (``_numba_frame_kernels``) entry points'."""

    def __call__(
        self,
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
    ) -> None: ...


def _entry(name: str, doc: str) -> FrameLoop:
    """The entry point of score ``name``: ``_call(name, ...)``, documented by ``doc``."""

    def loop(
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
        _call(name, s, starts, lengths, length, reduction, normalize, empty, lo, hi, out)

    loop.__name__ = loop.__qualname__ = f"{name}_frames"
    loop.__doc__ = doc
    return loop


margin_frames = _entry(
    "margin", """``out[f]``, ``lo <= f < hi``: the ``reduction`` of the frame's ``|2 s - 1|``."""
)
least_frames = _entry(
    "least", """``out[f]``: the ``reduction`` of ``min(s, 1 - s)`` (times 2 if ``normalize``)."""
)
ratio_frames = _entry(
    "ratio", """``out[f]``: the ``reduction`` of ``min(s, q) / max(s, q)``, ``q = 1 - s``."""
)
probability_frames = _entry(
    "probability", """``out[f]``: the ``reduction`` of the scores ``s`` themselves."""
)
entropy_frames = _entry(
    "entropy",
    """``out[f]``: the ``reduction`` of the binary entropies ``-(s log s + q log q)``.

    ``q = 1 - s``, natural logs (divided by ``log 2`` when ``normalize``), the eager
    kernel's formula (:func:`~.uncertainty.entropy` with ``multilabel=True``: ``0 log
    0 = 0``, a subnormal ``s`` takes ``log`` of the smallest normal float32). float32
    scores only (the C loop's vector logarithm is float32's); other dtypes raise
    TypeError. ``mean`` / ``sum`` (the vectorised loop: each box's entropy within
    about one float32 ulp, added in float64) equal the eager kernel's to rounding;
    ``min`` / ``max`` reduce first (``binary_frame_scores``' ``reduce_first``): the
    frame's extreme ``min(s, 1 - s)``, then its one entropy, equal to the per-box
    extreme to rounding.

    Raises:
        TypeError: ``s`` or ``out`` not float32 (or not C-contiguous), or ``starts`` /
            ``lengths`` not int64.
    """,
)


def at_least(
    x: np.ndarray, bound: float, descending: bool, lo: int, hi: int, idx: np.ndarray
) -> int:
    """Positions ``i`` in ``[lo, hi)`` of ``x[i] >= bound`` (``<=`` unless ``descending``).

    Written ascending to ``idx`` (int64) as far as it holds them; returns how many
    there are (more than ``idx.shape[0]``: only counted past it). NaN scores are never
    taken. C only (numba has no such loop): top_k's candidate pass.

    Raises:
        TypeError: ``x`` neither float32 nor float64, or ``x`` / ``idx`` not
            C-contiguous of their dtypes.
        ValueError: ``[lo, hi)`` not inside ``x``.
    """
    loop: Any = _AT_LEAST.get(x.dtype)
    if loop is None:
        raise TypeError(
            f"Expected float32 or float64 scores for the C at_least loop, but got {x.dtype}"
        )
    check_span(lo, hi, x.shape[0])
    return int(
        loop(
            pointer(x, x.dtype),
            lo,
            hi,
            float(bound),
            int(bool(descending)),
            pointer(idx, _i8),
            idx.shape[0],
        )
    )
