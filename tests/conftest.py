"""Shared fixtures: reference data location, devices, the pycocotools oracle."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from oracles import run_pycocotools, use_cpu_path
from triton_interpreter import interpreter_ready

_REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ASSAY_SHARED_DATA", _REPO.parent / "shared" / "data"))
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Every kernel test runs on CPU and, where present, CUDA."""
    return str(request.param)


@pytest.fixture(params=["torch", "native", "numba"])
def mask_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The RLE mask kernels' CPU paths: eager torch (``ASSAY_COMPILED=0``), or the C or
    the numba loops for every batch size (skipped where not built / not installed)."""
    return use_cpu_path(request.param, monkeypatch)


_SIMD_LEVELS = ["portable", "avx2", "avx512"]  # the C frame loops' levels (frames.c)


@pytest.fixture(params=range(len(_SIMD_LEVELS)), ids=_SIMD_LEVELS)
def simd_level(request: pytest.FixtureRequest) -> Iterator[int]:
    """Caps the C frame loops' SIMD level (skipped where the CPU lacks it or the loops
    are not built); restores it."""
    import ctypes

    from assay.kernels import _native

    lib = _native.library("_native_frames")
    if lib is None:
        pytest.skip("the C loops are not built")
    cap = lib.frames_simd_level
    cap.restype, cap.argtypes = ctypes.c_int64, [ctypes.c_int64]
    if request.param > cap(-1):  # -1: the CPU's highest level
        pytest.skip(f"the CPU has no {_SIMD_LEVELS[request.param]}")
    assert cap(request.param) == request.param
    yield request.param
    cap(len(_SIMD_LEVELS) - 1)


@pytest.fixture(params=["interpret", "cuda"])
def triton_device(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Triton paths: compiled on CUDA, or interpreted on CPU (skip if neither can run)."""
    if request.param == "cuda":
        if not torch.cuda.is_available():
            pytest.skip("no CUDA device")
        pytest.importorskip("triton")
        monkeypatch.setenv("ASSAY_TRITON", "1")
        return "cuda"
    if not interpreter_ready():
        pytest.skip("Triton's interpreter is not available (no Triton, or a GPU is present)")
    monkeypatch.setenv("ASSAY_TRITON", "interpret")
    return "cpu"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (reference data with published values); skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def pycocotools_eval() -> Callable[..., Any]:
    """The pycocotools oracle as a fixture (skips when pycocotools is not installed)."""
    pytest.importorskip("pycocotools")
    return run_pycocotools


@pytest.fixture
def faiss_one_thread() -> Iterator[None]:
    """Small inputs: FAISS's OpenMP threads only contend on a shared CPU (restored after)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)
