"""Shared fixtures: reference data location, devices, the pycocotools oracle."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from oracles import NUMBA_MASK_MINIMUMS, run_pycocotools
from triton_interpreter import interpreter_ready

_REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ASSAY_SHARED_DATA", _REPO.parent / "shared" / "data"))
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Every kernel test runs on CPU and, where present, CUDA."""
    return str(request.param)


@pytest.fixture(params=["torch", "compiled"])
def mask_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The RLE mask kernels' CPU paths: eager torch (``ASSAY_NUMBA=0``), or the numba
    loops for every batch size (skipped without numba)."""
    if request.param == "torch":
        monkeypatch.setenv("ASSAY_NUMBA", "0")
        return "torch"
    pytest.importorskip("numba")
    from assay.kernels import _numba

    monkeypatch.setenv("ASSAY_NUMBA", "1")
    for name in NUMBA_MASK_MINIMUMS:
        monkeypatch.setattr(_numba, name, 0)
    return "compiled"


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
