"""The C loop of the binary entropy's frame means / sums (``entropy_frames``, frames.c).

``assay.kernels._native_frame_kernels.entropy_frames`` (float32 scores only) against a
float64 NumPy reference of the eager kernel's per-box formula,
``-(p log max(p, tiny) + (1 - p) log1p(-p))``, reduced per frame in float64, and
against the eager ``binary_frame_scores(..., "entropy", ...)`` (``ASSAY_COMPILED=0``),
both to rtol 2e-6 of the float32 output; at every SIMD level the CPU has (portable,
AVX2 with FMA, AVX-512). Scores: random ones, and 0, 1, 1/2 and its neighbours,
subnormals, values near 0 and 1 (1e-30, 1 - 2^-24). Frames: fixed lengths around the
vector widths, ragged ones (given starts and running starts), empty frames (they get
``empty``), frames clipped to the scores, partial ranges ``[lo, hi)``. The vector
logarithm itself is measured in float32 ulps over a dense sweep of float32 inputs.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
import pytest
import torch
from assay.kernels._native import library
from torch import Tensor

if library("_native_frames") is None:
    pytest.skip("the C frame-score loops are not built", allow_module_level=True)

from assay.kernels import _native_frame_kernels as C
from assay.kernels import binary_frame_scores

_LIB: Any = library("_native_frames")
if not hasattr(_LIB, "entropy_frames_f32"):  # pragma: no cover - a stale build
    pytest.skip("the C library predates entropy_frames", allow_module_level=True)

MIN, MAX, MEAN, SUM = 0, 1, 2, 3
_REDUCTIONS = {MIN: "min", MAX: "max", MEAN: "mean", SUM: "sum"}
_SENTINEL = 12345.0  # outputs start with it: frames outside [lo, hi) keep it
_TINY = float(np.finfo(np.float32).tiny)
_RTOL = 2e-6
_NONE = np.zeros(0, dtype=np.int64)

_LIB.frames_entropy_log.restype = None
_LIB.frames_entropy_log.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]


def _special() -> np.ndarray:
    f32 = np.float32
    half, one, zero = f32(0.5), f32(1), f32(0)
    sub = np.finfo(f32).smallest_subnormal
    return np.array(
        [
            0.0,
            1.0,
            0.5,
            np.nextafter(half, zero),
            np.nextafter(half, one),
            sub,
            3 * sub,
            f32(1e-40),
            _TINY,
            np.nextafter(f32(_TINY), one),
            1e-30,
            1e-10,
            2.0**-24,
            2.0**-25,
            1 - 2.0**-24,
            1 - 2.0**-23,
            np.nextafter(one, zero),
            0.25,
            0.75,
            0.2928932,  # around the vector loop's split of 1 - p at 1 - sqrt(1/2)
            0.29289323,
            0.2928933,
            0.7071067,
            0.70710677,
        ],
        dtype=f32,
    )


def _scores(n: int, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    random = rng.random(n, dtype=np.float32)
    if kind == "random":
        return random
    special = _special()[rng.integers(0, _special().size, n)]
    if kind == "special":
        return special
    return np.where(rng.random(n) < 0.5, special, random).astype(np.float32)


def _box_entropy(s: np.ndarray) -> np.ndarray:
    """The eager formula in float64: ``-(p log max(p, tiny) + (1 - p) log1p(-p))``."""
    p = s.astype(np.float64)
    q = 1 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        q_log_q = np.where(q > 0, q * np.log1p(-p), 0.0)  # p = 1: 0 log 0 = 0
    return -(p * np.log(np.maximum(p, _TINY)) + q_log_q)


def _reference(
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
    """Frame by frame in float64 (clipped as the C loop clips), then float32."""
    h = _box_entropy(s)
    if normalize:
        h = h / np.log(2.0)
    out = np.full(frames, _SENTINEL, dtype=np.float64)
    n = s.shape[0]
    at = int(starts[0]) if length < 0 else 0
    for f in range(lo, hi):
        if length > 0:
            first, k = min(f * length, n), length
        elif length < 0:
            first, k = at, int(lengths[f])
            at += k
        else:
            first, k = int(starts[f]), int(lengths[f])
        first = min(max(first, 0), n)
        k = min(max(k, 0), n - first)
        if k == 0:
            out[f] = empty
            continue
        box = h[first : first + k]
        out[f] = [box.min, box.max, box.mean, box.sum][reduction]()
    return out


def _run(
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
    out = np.full(frames, _SENTINEL, dtype=np.float32)
    C.entropy_frames(s, starts, lengths, length, reduction, normalize, empty, lo, hi, out)
    return out


def _close(got: np.ndarray, ref: np.ndarray, what: str) -> None:
    """float32 ``got`` equal to ``ref`` to rtol 2e-6 (and to float32's subnormal spacing)."""
    assert got.dtype == np.float32, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=what)
    ok = ~np.isnan(ref)
    np.testing.assert_allclose(
        got[ok].astype(np.float64),
        ref[ok],
        rtol=_RTOL,
        atol=float(np.finfo(np.float32).smallest_subnormal),
        err_msg=what,
    )


def _compare(
    s: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    length: int,
    frames: int,
    what: str,
    ranges: list[tuple[int, int]] | None = None,
) -> None:
    """Every reduction, ``normalize``, ``empty`` and range against the reference."""
    for lo, hi in ranges or [(0, frames), (frames // 3, frames - frames // 4), (1, 1)]:
        for reduction in (MEAN, SUM, MIN, MAX):
            for normalize in (False, True):
                for empty in (np.nan, -1.0):
                    args = (s, starts, lengths, length, reduction, normalize, empty, lo, hi)
                    label = f"{what} red={reduction} norm={normalize} [{lo}, {hi}) {empty}"
                    _close(_run(*args, frames), _reference(*args, frames), label)


FIXED_LENGTHS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 20, 31, 32, 33, 40, 64]


@pytest.mark.parametrize("kind", ["random", "special", "mixed"])
def test_fixed_length_frames_match_float64(simd_level: int, kind: str) -> None:
    s = _scores(1001, kind, 1)
    for length in FIXED_LENGTHS:
        frames = -(-s.shape[0] // length) + 2  # the last one partial, two past the scores
        _compare(s, _NONE, _NONE, length, frames, f"{kind} L={length}")


@pytest.mark.parametrize("kind", ["random", "special", "mixed"])
def test_ragged_frames_match_float64(simd_level: int, kind: str) -> None:
    rng = np.random.default_rng(2)
    for top in (40, 100):
        lengths = rng.integers(0, top + 1, 150).astype(np.int64)
        lengths[rng.random(lengths.size) < 0.1] = 0
        starts = np.zeros_like(lengths)
        np.cumsum(lengths[:-1], out=starts[1:])
        s = _scores(int(lengths.sum()), kind, 3)
        _compare(s, starts, lengths, 0, lengths.size, f"{kind} 0-{top}")
        # running starts: starts[0] is frame lo's first box
        frames = lengths.size
        for lo, hi in [(0, frames), (frames // 3, frames - frames // 4), (5, 5)]:
            first = starts[lo : lo + 1] if lo < frames else np.zeros(1, np.int64)
            for reduction in (MEAN, SUM):
                for normalize in (False, True):
                    args = (s, first, lengths, -1, reduction, normalize, -2.0, lo, hi)
                    _close(_run(*args, frames), _reference(*args, frames), f"running {kind}")


def test_clipped_frames_match_float64(simd_level: int) -> None:
    """Starts anywhere (negative, past the end), lengths overrunning the scores or
    negative: every frame is clipped to the scores, frames left empty get ``empty``."""
    rng = np.random.default_rng(4)
    n = 517
    s = _scores(n, "mixed", 5)
    starts = rng.integers(-40, n + 40, 200).astype(np.int64)
    lengths = rng.integers(-5, 80, 200).astype(np.int64)
    starts[:4] = [n - 3, n - 20, 0, n]
    lengths[:4] = [40, 10**6, n + 1, 5]
    _compare(s, starts, lengths, 0, starts.size, "clipped")


def test_long_frames_and_runs_match_float64(simd_level: int) -> None:
    """Frames longer than the vector loop's run of 1024 boxes (each summed alone), runs
    of short frames that fill it exactly or overflow it, and given starts that jump
    (runs broken, frames repeated)."""
    s = _scores(9000, "mixed", 10)
    for length in (1023, 1024, 1025, 3000, 512, 341):
        frames = -(-s.shape[0] // length)
        _compare(s, _NONE, _NONE, length, frames, f"long L={length}", [(0, frames)])
    lengths = np.array([5, 3000, 0, 1019, 5, 1, 1024, 1025, 2, 0, 700, 324, 1], np.int64)
    starts = np.zeros_like(lengths)
    np.cumsum(lengths[:-1], out=starts[1:])
    _compare(s, starts, lengths, 0, lengths.size, "long ragged", [(0, lengths.size), (2, 9)])
    jumps = starts[::-1].copy()  # the same frames, backwards: no two adjacent
    _compare(s, jumps, lengths[::-1].copy(), 0, lengths.size, "jumps", [(0, lengths.size)])
    repeated = np.zeros(6, np.int64)  # the same frame six times: never one run
    _compare(s, repeated, np.full(6, 40, np.int64), 0, 6, "repeated", [(0, 6)])


def test_special_values_box_by_box(simd_level: int) -> None:
    """One box per frame: 0 and 1 give 0 exactly, 1/2 gives log 2 (1 normalized), and
    every special value its float64 entropy to about an ulp."""
    s = _special()
    ones = np.ones(s.size, np.int64)
    starts = np.arange(s.size, dtype=np.int64)
    for normalize in (False, True):
        for reduction in (MEAN, SUM):
            got = _run(s, starts, ones, 0, reduction, normalize, np.nan, 0, s.size, s.size)
            ref = _box_entropy(s) / (np.log(2.0) if normalize else 1.0)
            _close(got, ref, f"boxes norm={normalize}")
            assert got[0] == 0 and got[1] == 0
            assert got[2] == np.float32(1.0 if normalize else np.log(2.0))
    # a frame of zeros and ones only: 0; an empty frame: `empty`
    out = _run(np.array([0, 1, 1, 0], np.float32), _NONE, _NONE, 2, MEAN, True, 7.0, 0, 3, 3)
    assert out.tolist() == [0.0, 0.0, 7.0]


def test_per_box_entropy_within_an_ulp(simd_level: int) -> None:
    """Each box's entropy (one-box frames, the float64 value rounded once to float32)
    within 1 float32 ulp of the float64 formula, over random and special scores and a
    sweep of scores from the smallest normal to 1/2 and from 1/2 to 1."""
    rng = np.random.default_rng(6)
    sweep = np.geomspace(_TINY, 0.5, 200_000).astype(np.float32)
    s = np.concatenate([rng.random(200_000, dtype=np.float32), _special(), sweep, 1 - sweep])
    s = s.astype(np.float32)
    out = _run(s, _NONE, _NONE, 1, SUM, False, np.nan, 0, s.size, s.size)
    ref = _box_entropy(s)
    spacing = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    ulps = np.abs(out.astype(np.float64) - ref) / spacing
    print(f"entropy per box (SIMD level {simd_level}): max {ulps.max():.3f} float32 ulp")
    assert ulps.max() <= 1.0


def test_vector_log_accuracy(simd_level: int) -> None:
    """The entropy loops' logarithm (before any rounding to float32) over 10 M float32
    inputs from the smallest normal to 1: within one float32 ulp of log."""
    x = np.geomspace(_TINY, 1.0, 10_000_000).astype(np.float32)
    x = np.concatenate([x, np.nextafter(x, np.float32(2)), np.float32([1.0, 2.0, 3.0, 1e30])])
    got = np.empty(x.size, np.float64)
    _LIB.frames_entropy_log(x.ctypes.data, x.size, got.ctypes.data)
    ref = np.log(x.astype(np.float64))
    spacing = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    spacing[ref == 0] = float(np.finfo(np.float32).smallest_subnormal)
    ulps = np.abs(got - ref) / spacing
    worst = int(ulps.argmax())
    print(f"vector log (SIMD level {simd_level}): max {ulps[worst]:.3f} float32 ulp at "
          f"{x[worst]!r}")
    assert ulps.max() <= 1.0


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("normalize", [False, True])
def test_equal_to_eager_kernel(
    simd_level: int, reduction: str, normalize: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The eager ``binary_frame_scores`` (torch's float32 logs, ``ASSAY_COMPILED=0``)
    to rtol 2e-6, dense and ragged, random and special scores."""
    monkeypatch.setenv("ASSAY_COMPILED", "0")
    rng = np.random.default_rng(7)
    red = {"mean": MEAN, "sum": SUM}[reduction]
    # special scores mixed among random ones (a frame of subnormal scores alone has an
    # entropy below float32's normal range: compared to absolute rounding)
    for kind in ("random", "mixed"):
        s = _scores(20 * 500, kind, 8)
        eager = binary_frame_scores(
            torch.from_numpy(s), 20, "entropy", reduction, normalize=normalize
        )
        got = _run(s, _NONE, _NONE, 20, red, normalize, np.nan, 0, 500, 500)
        _close(got, eager.numpy().astype(np.float64), f"dense {kind}")
        lengths = rng.integers(0, 41, 400).astype(np.int64)
        s = _scores(int(lengths.sum()), kind, 9)
        eager = binary_frame_scores(
            torch.from_numpy(s),
            torch.from_numpy(lengths),
            "entropy",
            reduction,
            normalize=normalize,
            empty=-3.0,
        )
        starts = np.zeros_like(lengths)
        np.cumsum(lengths[:-1], out=starts[1:])
        got = _run(s, starts, lengths, 0, red, normalize, -3.0, 0, lengths.size, lengths.size)
        _close(got, eager.numpy().astype(np.float64), f"ragged {kind}")


@pytest.mark.parametrize("reduction", ["min", "max"])
def test_extremes_through_binary_frame_scores(
    simd_level: int, reduction: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``binary_frame_scores`` entropy ``min`` / ``max`` take the C loop in one pass (the
    frame's least-confidence extreme, then one vector entropy per frame): the eager
    reduce-first path's numbers (``ASSAY_COMPILED=0``) to rtol 2e-6, dense and ragged
    (empty frames get ``empty``), with and without ``normalize``; frames of certain
    boxes score 0 exactly."""
    from assay.kernels import _compiled

    rng = np.random.default_rng(11)
    lengths = rng.integers(0, 41, 3000).astype(np.int64)
    lengths[rng.random(lengths.size) < 0.1] = 0
    cases = [
        (_scores(20 * 5000, "mixed", 12), 20),
        (_scores(int(lengths.sum()), "mixed", 13), torch.from_numpy(lengths)),
        (np.array([0, 1, 1, 0, 1, 0.5], np.float32), 2),
    ]
    monkeypatch.setattr(_compiled, "MIN_BOXES", 0)
    calls: list[str] = []
    c_loop = _compiled.frame_scores
    monkeypatch.setattr(_compiled, "frame_scores",
                        lambda *a: calls.append(a[2]) or c_loop(*a))
    for s, frames in cases:
        for normalize in (False, True):
            for empty in (np.nan, -1.0):
                args = (frames, "entropy", reduction)
                calls.clear()
                monkeypatch.delenv("ASSAY_COMPILED", raising=False)
                got = binary_frame_scores(torch.from_numpy(s), *args, normalize=normalize,
                                          empty=empty)
                assert calls == ["entropy"]
                monkeypatch.setenv("ASSAY_COMPILED", "0")
                eager = binary_frame_scores(torch.from_numpy(s), *args, normalize=normalize,
                                            empty=empty)
                assert got.dtype == torch.float32
                # the eager path computes in float32, whose subnormal products (entropies
                # of subnormal scores) round to absolute steps of 1.4e-45 each
                np.testing.assert_allclose(got.numpy(), eager.numpy(), rtol=_RTOL, atol=1e-44,
                                           err_msg=f"{reduction} norm={normalize} {empty}")
                if isinstance(frames, Tensor):
                    assert (got[frames == 0].isnan().all() if np.isnan(empty)
                            else (got[frames == 0] == empty).all())
    monkeypatch.delenv("ASSAY_COMPILED")
    calls.clear()
    last = binary_frame_scores(torch.from_numpy(cases[2][0]), 2, "entropy", reduction)
    assert calls == ["entropy"] and last[:2].tolist() == [0.0, 0.0]
    # a NaN score stays NaN where the reduction keeps it; never the `empty` value
    s = np.full(64, 0.25, np.float32)
    s[15] = np.nan  # the last box of the first frame: kept by the vector levels
    out = binary_frame_scores(torch.from_numpy(s), torch.tensor([16, 0, 48]), "entropy",
                              reduction, empty=-1.0).tolist()
    assert out[1] == -1.0 and -1.0 not in (out[0], out[2]) and out[2] == pytest.approx(0.5623,
                                                                                        abs=1e-4)


def test_extremes_across_blocks_and_ranges(simd_level: int) -> None:
    """Entropy min / max over 10,000 frames, in ranges that start and end on and beside
    the loop's 4,096-frame blocks: fixed-length frames, given starts and running starts
    (whose position carries from block to block), against the float64 reference."""
    rng = np.random.default_rng(14)
    lengths = rng.integers(0, 9, 10_000).astype(np.int64)
    s = _scores(int(lengths.sum()), "mixed", 15)
    starts = np.zeros_like(lengths)
    np.cumsum(lengths[:-1], out=starts[1:])
    for lo, hi in [(0, 10_000), (4095, 8193), (4096, 8192), (1, 4097), (8191, 10_000)]:
        for reduction in (MIN, MAX):
            for normalize in (False, True):
                args = (lengths, 0, reduction, normalize, -1.0, lo, hi)
                label = f"[{lo}, {hi}) red={reduction} norm={normalize}"
                ref = _reference(s, starts, *args, 10_000)
                _close(_run(s, starts, *args, 10_000), ref, "given " + label)
                running = starts[lo : lo + 1]  # frame lo's first box
                _close(_run(s, running, *args[:1], -1, *args[2:], 10_000), ref, "running " + label)
                dense = _scores(3 * 10_000, "random", 16)
                _close(_run(dense, _NONE, _NONE, 3, *args[2:], 10_000),
                       _reference(dense, _NONE, _NONE, 3, *args[2:], 10_000), "dense " + label)


def test_entropy_refuses_other_dtypes() -> None:
    s = np.zeros(4, np.float64)
    with pytest.raises(TypeError, match="float32 scores for the C entropy loop"):
        C.entropy_frames(s, _NONE, _NONE, 2, MEAN, False, 0.0, 0, 2, np.empty(2, np.float64))
    with pytest.raises(TypeError, match="C-contiguous float32"):
        s32 = np.zeros(4, np.float32)
        C.entropy_frames(s32, _NONE, _NONE, 2, MEAN, False, 0.0, 0, 2, np.empty(2, np.float64))
