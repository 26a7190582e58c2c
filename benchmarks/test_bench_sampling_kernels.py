"""pytest-benchmark smoke suite for the sampling kernels (small, generated data).

Run the timings with ``pytest benchmarks/test_bench_sampling_kernels.py
--benchmark-enable``; in the normal test run each benchmark runs once, as a smoke test.
Nothing here asserts anything about time: only that every way of computing the same
selection gives the same frames. The full-size comparison (10M frames, core-set of
1M x 128 against scikit-activeml and DISTIL) is ``benchmarks/bench_sampling_kernels.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from assay import kernels as K
from bench_sampling_kernels import STRATEGIES, make_frames, run_chunked, run_whole

FRAMES = 20_000
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", ["dense", "ragged", "unsorted"])
def test_bench_frame_scores_top_k(benchmark: Any, device: str, layout: str) -> None:
    frames = make_frames(layout, FRAMES, 20, seed=0, device=device)
    benchmark.extra_info.update(frames=FRAMES, boxes=frames.scores.numel(), device=device)
    picks = benchmark(run_chunked, frames, "entropy/max", 100, 4096, True)
    assert picks.shape == (100,)
    for strategy in STRATEGIES:
        whole = run_whole(frames, strategy, 100)
        assert torch.equal(run_chunked(frames, strategy, 100, 4096, False), whole)


@pytest.mark.parametrize("device", DEVICES)
def test_bench_k_center_greedy(benchmark: Any, device: str) -> None:
    x = torch.randn(5_000, 32, generator=torch.Generator().manual_seed(0)).to(device)
    res = benchmark(K.k_center_greedy, x, 50)
    assert res.indices.unique().numel() == 50
    assert bool((res.radii[2:] <= res.radii[1:-1]).all())
