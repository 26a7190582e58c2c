"""The C loop of ``top_k``'s candidate pass (``at_least``, kernels/_native/select.c).

``_native_frame_kernels.at_least`` against NumPy's ``flatnonzero`` of the same
comparison, at every SIMD level the CPU has (portable, AVX2 bit masks): float32 and
float64, both directions, ties at the bound, NaN (never taken), infinities and signed
zeros, lengths around the 64-score blocks, partial ranges and a buffer too small (the
count goes on, the buffer holds the first positions and nothing past it). Then
``_compiled.at_least`` (ranges on threads, crowded ranges scanned again, the ``most``
cut) and ``top_k`` itself, C against the torch path, on inputs long enough to take the
candidate pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from assay.kernels._native import library

if library("_native_frames") is None:
    pytest.skip("the C frame-score loops are not built", allow_module_level=True)

from assay.kernels import _compiled, top_k
from assay.kernels import _native_frame_kernels as C
from assay.kernels import uncertainty as U

_SENTINEL = -7


def _reference(x: np.ndarray, lo: int, hi: int, bound: float, descending: bool) -> np.ndarray:
    part = x[lo:hi]
    b = x.dtype.type(bound)
    return lo + np.flatnonzero(part >= b if descending else part <= b)


def _scores(n: int, dtype: type, seed: int) -> np.ndarray:
    """Random scores with ties (a coarse grid), NaN, infinities and signed zeros."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=n), 1).astype(dtype)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype=dtype)
    where = rng.random(n) < 0.05
    x[where] = rng.choice(special, size=int(where.sum()))
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_at_least_matches_numpy(simd_level: int, dtype: type) -> None:
    for n in (0, 1, 63, 64, 65, 127, 128, 1000, 4099):
        x = _scores(n, dtype, n)
        bounds = [0.0, -0.0, np.inf, -np.inf, 1.3, -2.0, *x[: min(n, 5)].tolist()]
        for lo, hi in ((0, n), (n // 3, n - n // 5), (min(7, n), min(7, n))):
            for bound in bounds:
                for descending in (True, False):
                    ref = _reference(x, lo, hi, bound, descending)
                    idx = np.full(n + 1, _SENTINEL, dtype=np.int64)
                    count = C.at_least(x, bound, descending, lo, hi, idx)
                    assert count == ref.size, (n, lo, hi, bound, descending)
                    np.testing.assert_array_equal(idx[:count], ref)
                    assert (idx[count:] == _SENTINEL).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_at_least_counts_past_a_full_buffer(simd_level: int, dtype: type) -> None:
    """More positions than the buffer holds: all counted, the first ones written, no
    write past the buffer (it is a view of a larger array whose tail must stay)."""
    x = _scores(3000, dtype, 3)
    ref = _reference(x, 0, 3000, 0.0, True)
    for cap in (0, 1, 63, 64, 65, ref.size - 1, ref.size):
        whole = np.full(cap + 100, _SENTINEL, dtype=np.int64)
        count = C.at_least(x, 0.0, True, 0, 3000, whole[:cap])
        assert count == ref.size
        np.testing.assert_array_equal(whole[:cap], ref[:cap])
        assert (whole[cap:] == _SENTINEL).all()


def test_at_least_refuses_bad_arrays() -> None:
    idx = np.empty(4, np.int64)
    with pytest.raises(TypeError, match="float32 or float64 scores for the C at_least loop"):
        C.at_least(np.zeros(4, np.int32), 0.0, True, 0, 4, idx)
    with pytest.raises(TypeError, match="C-contiguous int64"):
        C.at_least(np.zeros(4, np.float32), 0.0, True, 0, 4, np.empty(4, np.int32))
    with pytest.raises(TypeError, match="not contiguous"):
        C.at_least(np.zeros(8, np.float32)[::2], 0.0, True, 0, 4, idx)
    with pytest.raises(ValueError, match=r"0 <= lo <= hi <= 4, but got \[2, 5\)"):
        C.at_least(np.zeros(4, np.float32), 0.0, True, 2, 5, idx)


@pytest.mark.parametrize("descending", [True, False])
def test_compiled_at_least_over_threads(simd_level: int, descending: bool) -> None:
    """Ranges on threads give the ascending positions; a range holding more than its
    share (sorted scores: all in one range) is scanned again; more than ``most`` in
    all: None."""
    rng = np.random.default_rng(4)
    x = rng.random(100_003).astype(np.float32)
    for scores in (x, np.sort(x), np.sort(x)[::-1].copy()):
        t = torch.from_numpy(scores)
        bound = float(np.quantile(scores, 0.9 if descending else 0.1))
        ref = _reference(scores, 0, scores.size, bound, descending)
        got = _compiled.at_least(t, bound, descending, expected=64, most=scores.size // 2)
        assert got is not None and got.dtype == torch.int64
        np.testing.assert_array_equal(got.numpy(), ref)
        assert _compiled.at_least(t, bound, descending, expected=64, most=ref.size - 1) is None
    empty = _compiled.at_least(torch.zeros(0), 0.0, descending, 1, 0)
    assert empty is not None and empty.shape == (0,)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("descending", [True, False])
def test_top_k_candidates_c_equal_torch(
    dtype: torch.dtype, descending: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``top_k`` on inputs past ``_TOPK_SAMPLED_MIN`` (the candidate pass runs): the C
    pass and the torch one (``ASSAY_NATIVE=0``) give the same picks, with ties at the
    k-th value and a sorted input (the candidates crowd one thread's range)."""
    g = torch.Generator().manual_seed(5)
    n = U._TOPK_SAMPLED_MIN + 12_345
    tied = torch.randint(0, 5000, (n,), generator=g).to(dtype)
    spread = torch.rand(n, generator=g, dtype=dtype)
    constant = torch.full((n,), 0.5, dtype=dtype)  # the sample misreads it: no cut
    results: list[Any] = []
    c_pass = _compiled.at_least
    monkeypatch.setattr(_compiled, "at_least", lambda *a: results.append(c_pass(*a)) or results[-1])
    for s in (tied, spread, spread.sort().values, constant):
        for k in (1, 1000, 5000):
            results.clear()
            got = top_k(s, k, descending=descending)
            assert len(results) == 1  # the C pass ran, once
            assert (results[0] is None) == (s is constant)
            monkeypatch.setenv("ASSAY_NATIVE", "0")
            assert not _compiled.at_least_available(s)
            ref = top_k(s, k, descending=descending)
            monkeypatch.delenv("ASSAY_NATIVE")
            assert torch.equal(got, ref) and results == [results[0]]
