"""The C loop of ``binary_frame_scores`` (``kernels/_native/frames.c``) against numba's.

Every function of :mod:`assay.kernels._native_frame_kernels` runs next to its namesake
in :mod:`assay.kernels._numba_frame_kernels` on the same inputs, for every reduction,
dtype and ``normalize``, at every SIMD level the CPU has (portable, AVX2, AVX-512):
``min`` / ``max`` equal numba's bit for bit (compared with ``==``: ``-0.0 == 0.0``,
the sign of a zero is left to the order of the reduction), ``mean`` / ``sum`` to
rounding (float64: rtol 1e-12; float32: the float64 total rounded once, so equal or 1
ulp apart). Scores: random, and tie-heavy ones (0, -0.0, 1, 1/2 and its neighbours,
subnormals, 1/4, 3/4, 1 - eps). Frames: fixed lengths around the vector widths (1 to
100, the last frames clipped to the scores), ragged lengths 0-40 and up to 100,
empty frames, starts and lengths that overrun the scores or are negative (clipped),
and ranges ``[lo, hi)`` that leave frames untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from assay.kernels._native import library

if library("_native_frames") is None:
    pytest.skip("the C frame-score loops are not built", allow_module_level=True)
pytest.importorskip("numba")

from assay.kernels import _native_frame_kernels as C
from assay.kernels import _numba_frame_kernels as N

FUNCTIONS = ["margin_frames", "least_frames", "ratio_frames", "probability_frames"]
MIN, MAX, MEAN, SUM = 0, 1, 2, 3
DTYPES = [np.float32, np.float64]
_SENTINEL = 12345.0  # outputs start with it: frames outside [lo, hi) keep it



def _tie_heavy(n: int, dtype: Any, rng: np.random.Generator) -> np.ndarray:
    half = dtype(0.5)
    tiny = np.finfo(dtype).smallest_subnormal
    values = np.array(
        [
            0.0,
            -0.0,
            1.0,
            half,
            np.nextafter(half, dtype(0)),
            np.nextafter(half, dtype(1)),
            np.nextafter(np.nextafter(half, dtype(0)), dtype(0)),
            tiny,
            2 * tiny,
            np.finfo(dtype).smallest_normal,
            np.nextafter(dtype(1), dtype(0)),
            np.finfo(dtype).eps,
            0.25,
            0.75,
        ],
        dtype=dtype,
    )
    return values[rng.integers(0, values.size, n)]


def _scores(n: int, dtype: Any, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.random(n).astype(dtype)
    s = _tie_heavy(n, dtype, rng)
    if kind == "mixed":  # ties among random scores
        s = np.where(rng.random(n) < 0.5, s, rng.random(n).astype(dtype))
    return np.ascontiguousarray(s, dtype=dtype)


def _run(
    fn: Callable[..., None],
    s: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    length: int,
    reduction: int,
    normalize: bool,
    empty: float,
    lo: int,
    hi: int,
    frames: int,
) -> np.ndarray:
    out = np.full(frames, _SENTINEL, dtype=s.dtype)
    fn(s.copy(), starts.copy(), lengths.copy(), length, reduction, normalize, empty, lo, hi, out)
    return out


def _check(got: np.ndarray, ref: np.ndarray, reduction: int, what: str) -> None:
    assert got.dtype == ref.dtype and got.shape == ref.shape, what
    nan = np.isnan(ref)
    np.testing.assert_array_equal(np.isnan(got), nan, err_msg=what)
    g, r = got[~nan], ref[~nan]
    if reduction in (MIN, MAX):
        bad = np.flatnonzero(g != r)  # == : -0.0 equals 0.0
        assert bad.size == 0, f"{what}: {g[bad[:5]]!r} != numba's {r[bad[:5]]!r}"
    elif got.dtype == np.float64:
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=0, err_msg=what)
    else:  # one rounding of two float64 totals equal to rounding: at most 1 ulp apart
        ulps = np.abs(g.astype(np.float64) - r) / np.spacing(np.abs(r)).astype(np.float64)
        assert (ulps <= 1).all(), f"{what}: {ulps.max()} ulp from numba's"


def _compare(
    name: str,
    s: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    length: int,
    frames: int,
    what: str,
    ranges: list[tuple[int, int]] | None = None,
) -> None:
    """Every reduction, ``normalize`` and range: C's ``out`` against numba's."""
    c_fn, n_fn = getattr(C, name), getattr(N, name)
    for lo, hi in ranges or [(0, frames), (frames // 3, frames - frames // 4), (1, 1)]:
        for reduction in (MIN, MAX, MEAN, SUM):
            for normalize in (False, True):
                for empty in (np.nan, -1.0, 0.1):  # 0.1: rounded to float32 by both
                    args = (s, starts, lengths, length, reduction, normalize, empty, lo, hi)
                    got = _run(c_fn, *args, frames)
                    ref = _run(n_fn, *args, frames)
                    label = f"{what} red={reduction} norm={normalize} [{lo}, {hi}) {empty}"
                    _check(got, ref, reduction, label)


_NONE = np.zeros(0, dtype=np.int64)
FIXED_LENGTHS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 20, 24, 31, 32, 33, 40, 48, 64, 100]


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["random", "ties", "mixed"])
def test_fixed_length_frames_match_numba(simd_level: int, name: str, dtype: Any, kind: str) -> None:
    s = _scores(2003, dtype, kind, 1)
    for length in FIXED_LENGTHS:
        frames = s.shape[0] // length  # numba's loop does not clip fixed-length frames
        _compare(name, s, _NONE, _NONE, length, frames, f"{kind} L={length}")


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["random", "ties", "mixed"])
def test_ragged_frames_match_numba(simd_level: int, name: str, dtype: Any, kind: str) -> None:
    rng = np.random.default_rng(2)
    for top in (40, 100):
        lengths = rng.integers(0, top + 1, 300).astype(np.int64)
        lengths[rng.random(lengths.size) < 0.1] = 0
        starts = np.zeros_like(lengths)
        np.cumsum(lengths[:-1], out=starts[1:])
        s = _scores(int(lengths.sum()), dtype, kind, 3)
        _compare(name, s, starts, lengths, 0, lengths.size, f"{kind} 0-{top}")


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_clipped_and_unordered_frames_match_numba(simd_level: int, name: str, dtype: Any) -> None:
    """Starts anywhere (overlapping, out of order, negative, past the end), lengths that
    overrun the scores or are negative: both loops clip each frame to the scores."""
    rng = np.random.default_rng(4)
    n = 517
    s = _scores(n, dtype, "mixed", 5)
    starts = rng.integers(-40, n + 40, 400).astype(np.int64)
    lengths = rng.integers(-5, 80, 400).astype(np.int64)
    starts[:4] = [n - 3, n - 20, 0, n]  # the array's last boxes, an empty tail
    lengths[:4] = [40, 10**6, n + 1, 5]
    _compare(name, s, starts, lengths, 0, starts.size, "clipped")
    # whole array in one frame, and every box its own frame
    one, ones = np.zeros(1, np.int64), np.ones(n, np.int64)
    _compare(name, s, one, np.array([n], np.int64), 0, 1, "one frame", [(0, 1)])
    _compare(name, s, np.arange(n, dtype=np.int64), ones, 0, n, "single boxes")


def _np_reference(s: np.ndarray, name: str, reduction: int, frame: slice) -> float:
    x = s[frame].astype(np.float64)
    q = 1.0 - x
    box = {
        "margin_frames": np.abs(2 * x - 1),
        "least_frames": np.minimum(x, q),
        "ratio_frames": np.minimum(x, q) / np.maximum(x, q),
        "probability_frames": x,
    }[name]
    return float([box.min, box.max, box.mean, box.sum][reduction]())


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_fixed_length_frames_past_the_scores_are_clipped(
    simd_level: int, name: str, dtype: Any
) -> None:
    """Fixed-length frames beyond the scores (numba's loop would read past them): the
    last one is partial, the ones after it empty; earlier frames are numba's."""
    s = _scores(103, dtype, "random", 6)
    for length in (1, 7, 16, 20, 40):
        frames = s.shape[0] // length + 3
        for reduction in (MIN, MAX, MEAN, SUM):
            out = _run(
                getattr(C, name), s, _NONE, _NONE, length, reduction, False, -7.0, 0, frames, frames
            )
            whole = s.shape[0] // length
            ref = _run(
                getattr(N, name), s, _NONE, _NONE, length, reduction, False, -7.0, 0, whole, frames
            )
            _check(out[:whole], ref[:whole], reduction, f"L={length}")
            tail = slice(whole * length, s.shape[0])
            if tail.start < tail.stop:
                expected = _np_reference(s, name, reduction, tail)
                np.testing.assert_allclose(out[whole], expected, rtol=1e-6)
                rest = out[whole + 1 :]
            else:
                rest = out[whole:]
            assert (rest == dtype(-7.0)).all()


def test_frame_loops_mirror_numba_module() -> None:
    """Exactly numba's entry points, each with its argument names."""
    assert sorted(C.__all__) == sorted(N.__all__) == sorted(FUNCTIONS)
    for name in FUNCTIONS:
        c_params = list(inspect.signature(getattr(C, name)).parameters)
        n_params = list(inspect.signature(getattr(N, name).py_func).parameters)
        assert c_params == n_params, name


def test_frame_loops_refuse_other_dtypes() -> None:
    out = np.empty(1, dtype=np.float16)
    with pytest.raises(TypeError, match="float32 or float64"):
        C.margin_frames(np.zeros(2, np.float16), _NONE, _NONE, 2, MIN, False, 0.0, 0, 1, out)
    with pytest.raises(TypeError, match="C-contiguous float32"):
        s = np.zeros(4, np.float32)
        C.margin_frames(s, _NONE, _NONE, 2, MIN, False, 0.0, 0, 1, np.empty(2, np.float64))
