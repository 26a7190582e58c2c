"""The compiled CPU loops (C, numba) of ``binary_frame_scores`` against NumPy and eager.

The loop runs for big CPU calls when the C loops are built or numba imports
(``kernels/_compiled.py``); each is tested in turn. Here its
minimums are set to 0 so that small inputs take it, and a spy checks it was taken.
``min`` / ``max`` of the scores that need no rounding (margin, least confidence, the
score itself) equal the eager path's (bit for bit but for the sign of a zero, which
the eager ``amin`` itself leaves to its summation order); the rest agree to rounding.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
import pytest
import torch
from assay.kernels import _compiled as NB
from assay.kernels import _native, binary_frame_scores
from oracles import (
    FRAME_LENGTHS,
    box_scores_with_edges,
    check_frames,
    np_frame_scores,
    use_cpu_path,
)

COMPILED = ["margin", "least_confidence", "ratio", "probability"]  # entropy: see below
REDUCTIONS = ["min", "max", "mean", "sum"]


class _Spy:
    def __init__(self) -> None:
        self.calls = 0


@pytest.fixture(params=["native", "numba"])
def spy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> _Spy:
    """The C loop or numba's, minimums 0, and a count of the compiled loop's calls."""
    use_cpu_path(request.param, monkeypatch)
    if request.param == "native" and _native.library("_native_frames") is None:
        pytest.skip("the C loops are not built")
    for name in ("MIN_BOXES", "MIN_BOXES_COLD", "MIN_DENSE_BOXES_COLD"):
        monkeypatch.setattr(NB, name, 0)
    calls = _Spy()
    compiled = NB.frame_scores

    def counted(*args: Any) -> torch.Tensor:
        calls.calls += 1
        return compiled(*args)

    monkeypatch.setattr(NB, "frame_scores", counted)
    return calls


def _eager(monkeypatch: pytest.MonkeyPatch, fn: Any) -> torch.Tensor:
    with monkeypatch.context() as m:
        m.setenv("ASSAY_COMPILED", "0")
        return fn()


@pytest.mark.parametrize("score", COMPILED)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_frame_scores_match_reference_and_eager(
    spy: _Spy, monkeypatch: pytest.MonkeyPatch, score: Any, reduction: Any, dtype: torch.dtype
) -> None:
    s = box_scores_with_edges(sum(FRAME_LENGTHS), dtype, 7)
    lengths = torch.tensor(FRAME_LENGTHS)
    exact = reduction in ("min", "max")
    for normalize in (False, True):
        out = binary_frame_scores(s, lengths, score, reduction, normalize=normalize)
        check_frames(out, s, FRAME_LENGTHS, score, reduction, normalize)
        ref = _eager(
            monkeypatch,
            lambda n=normalize: binary_frame_scores(s, lengths, score, reduction, normalize=n),
        )
        if exact:
            torch.testing.assert_close(out, ref, rtol=0, atol=0, equal_nan=True)
    dense = s[:280]
    out = binary_frame_scores(dense, 20, score, reduction, empty=-1.0)
    check_frames(out, dense, [20] * 14, score, reduction, False)
    # dense margin other than min keeps its cdist form with numba (faster than numba's
    # scalar loop), not with the vectorised C loop
    loop = score != "margin" or reduction == "min" or NB.which(masks=False) == "c"
    if exact and loop:
        ref = _eager(monkeypatch, lambda: binary_frame_scores(dense, 20, score, reduction))
        torch.testing.assert_close(out, ref, rtol=0, atol=0, equal_nan=True)
    assert spy.calls == 2 + loop


def test_compiled_frame_scores_many_frames_over_threads(
    spy: _Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enough frames for every thread of the pool; results independent of the split."""
    g = torch.Generator().manual_seed(3)
    lengths = torch.randint(0, 41, (20_011,), generator=g)
    lengths[:50] = 0  # empty frames at the start and the end of ranges
    lengths[-50:] = 0
    s = torch.rand(int(lengths.sum()), generator=g, dtype=torch.float32)
    ref = np_frame_scores(s.double().numpy(), lengths.tolist(), "margin", "min", False)
    for threads in (1, 2, 3):
        with monkeypatch.context() as m:
            m.setattr(torch, "get_num_threads", lambda t=threads: t)
            out = binary_frame_scores(s, lengths, "margin", "min")
        np.testing.assert_allclose(out.double().numpy(), ref, rtol=0, atol=0)
    assert spy.calls == 3


def test_compiled_frame_scores_edges(spy: _Spy) -> None:
    s = torch.rand(50, dtype=torch.float64)
    no_frames = torch.zeros(0, dtype=torch.long)
    assert binary_frame_scores(s[:0], no_frames, "margin", "min").shape == (0,)
    none = binary_frame_scores(s[:0], torch.zeros(3, dtype=torch.long), "ratio", "mean", empty=-2.0)
    assert none.tolist() == [-2.0, -2.0, -2.0]
    # the empty value is written in the scores' dtype (0.1 is not a float32)
    s32 = s.float()
    tenth = binary_frame_scores(s32[:2], torch.tensor([0, 2, 0]), "margin", "max", empty=0.1)
    assert tenth[0].item() == torch.tensor(0.1, dtype=torch.float32).item()
    assert tenth.dtype == torch.float32
    # int32 lengths and a strided scores view
    view = s[::2]
    out = binary_frame_scores(view, torch.tensor([5, 0, 20], dtype=torch.int32), "probability",
                              "sum")
    check_frames(out, view, [5, 0, 20], "probability", "sum", False)
    # lengths past the scores (a caller's error, not checked) read nothing beyond them
    out = NB.frame_scores(s[:5], torch.tensor([3, 9, 4]), "probability", "sum", False, math.nan)
    assert out[:2].tolist() == pytest.approx([float(s[:3].sum()), float(s[3:5].sum())])
    assert math.isnan(out[2].item())
    out = NB.frame_scores(s[:5], torch.tensor([-4, 2]), "probability", "max", False, math.nan)
    assert math.isnan(out[0].item()) and out[1].item() == float(s[:2].max())
    assert spy.calls == 6  # four through binary_frame_scores, two direct


def test_entropy_reduces_through_the_loop_and_autograd_stays_eager(spy: _Spy) -> None:
    """Entropy ``min`` / ``max`` reduce least confidence in the loop (then one entropy per
    frame); ``mean`` / ``sum`` and autograd stay eager."""
    s = box_scores_with_edges(sum(FRAME_LENGTHS), torch.float64, 9)
    lengths = torch.tensor(FRAME_LENGTHS)
    for reduction in ("mean", "sum"):
        out = binary_frame_scores(s, lengths, "entropy", reduction)
        check_frames(out, s, FRAME_LENGTHS, "entropy", reduction, False)
    assert spy.calls == 0
    for reduction in ("min", "max"):
        out = binary_frame_scores(s, lengths, "entropy", reduction, empty=-1.0)
        check_frames(out.where(lengths > 0, math.nan), s, FRAME_LENGTHS, "entropy", reduction,
                     False)
        assert (out[lengths == 0] == -1.0).all()
    assert spy.calls == 2
    g = s.clone().requires_grad_(True)
    binary_frame_scores(g, lengths, "margin", "sum").nansum().backward()
    assert g.grad is not None  # the eager path, differentiable
    torch.testing.assert_close(g.grad, 2 * torch.sign(2 * s - 1))  # d|2s - 1| / ds
    h = s.clone().requires_grad_(True)
    binary_frame_scores(h, lengths, "entropy", "max").nansum().backward()
    assert h.grad is not None
    assert spy.calls == 2


def test_compiled_frame_scores_follow_the_switch_and_the_minimums(
    spy: _Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = torch.rand(400, dtype=torch.float64)
    lengths = torch.full((20,), 20)
    monkeypatch.setenv("ASSAY_COMPILED", "off")
    binary_frame_scores(s, lengths, "margin", "min")
    assert spy.calls == 0
    monkeypatch.setenv("ASSAY_COMPILED", "1")
    pytest.importorskip("numba")  # numba's loading rules (the C loop needs no load)
    monkeypatch.setenv("ASSAY_NATIVE", "0")
    monkeypatch.setenv("ASSAY_NUMBA", "off")
    binary_frame_scores(s, lengths, "margin", "min")
    assert spy.calls == 0
    monkeypatch.setenv("ASSAY_NUMBA", "1")
    monkeypatch.setattr(NB, "_loaded", {})  # a process that has not loaded the loop
    monkeypatch.setattr(NB, "MIN_BOXES_COLD", 401)
    monkeypatch.setattr(NB, "MIN_DENSE_BOXES_COLD", 400)
    binary_frame_scores(s, lengths, "margin", "min")  # ragged: under its cold minimum
    assert spy.calls == 0 and "_numba_frame_kernels" not in NB._loaded
    binary_frame_scores(s, 20, "margin", "min")  # dense: at its own
    assert spy.calls == 1 and NB._loaded["_numba_frame_kernels"] is not None
    monkeypatch.setattr(NB, "MIN_BOXES", 401)
    binary_frame_scores(s, lengths, "margin", "min")  # loaded: the warm minimum applies
    assert spy.calls == 1
    monkeypatch.setattr(NB, "MIN_BOXES", 400)
    binary_frame_scores(s, lengths, "margin", "min")
    assert spy.calls == 2


@pytest.mark.parametrize("module", ["_native_frame_kernels", "_numba_frame_kernels"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_running_starts_equal_explicit_starts(module: str, dtype: Any) -> None:
    """``length < 0``: each frame starts where the one before ended, from ``starts[0]``
    for frame ``lo`` (the dispatcher's ranges need no (F,) array of starts); the same
    frames, clipped the same way, as explicit starts."""
    if module == "_native_frame_kernels" and _native.library("_native_frames") is None:
        pytest.skip("the C loops are not built")
    if module == "_numba_frame_kernels":
        pytest.importorskip("numba")
    k = importlib.import_module(f"assay.kernels.{module}")
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 41, 3_001).astype(np.int64)
    lengths[100:120] = 0
    s = rng.random(int(lengths.sum()) - 7).astype(dtype)  # the last frames overrun
    starts = np.zeros_like(lengths)
    np.cumsum(lengths[:-1], out=starts[1:])
    for name in ("margin_frames", "least_frames", "ratio_frames", "probability_frames"):
        loop = getattr(k, name)
        for reduction in range(4):
            want = np.full(lengths.shape[0], -7.0, dtype=dtype)
            got = want.copy()
            loop(s, starts, lengths, 0, reduction, True, -1.0, 0, lengths.shape[0], want)
            for lo, hi in ((0, 1_000), (1_000, 1_001), (1_001, 3_001)):
                first = starts[lo : lo + 1].copy()
                loop(s, first, lengths, -1, reduction, True, -1.0, lo, hi, got)
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_entropy_means_take_the_c_loop_for_float32_only(
    spy: _Spy, monkeypatch: pytest.MonkeyPatch, reduction: Any
) -> None:
    """Entropy's frame means / sums: the C loop's vector logarithm for float32 (equal to
    the eager path to rounding); float64, and numba (scalar logs), stay eager."""
    lengths = torch.tensor(FRAME_LENGTHS)
    s = box_scores_with_edges(sum(FRAME_LENGTHS), torch.float32, 11)
    out = binary_frame_scores(s, lengths, "entropy", reduction, normalize=True)
    ref = _eager(monkeypatch, lambda: binary_frame_scores(s, lengths, "entropy", reduction,
                                                          normalize=True))
    torch.testing.assert_close(out, ref, rtol=2e-6, atol=1e-30, equal_nan=True)
    c_loop = NB.which(masks=False) == "c"
    assert spy.calls == int(c_loop)
    binary_frame_scores(s.double(), lengths, "entropy", reduction)
    assert spy.calls == int(c_loop)
