"""The loader of the C loops (``assay.kernels._native``) and the choice of loops."""

from __future__ import annotations

import numpy as np
import pytest
from assay.kernels import _compiled, _native

BUILT = _native.library("_native_masks") is not None


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that has opened no library yet."""
    monkeypatch.setattr(_native, "_libraries", {})
    monkeypatch.delenv("ASSAY_NATIVE", raising=False)


@pytest.mark.skipif(not BUILT, reason="the C loops are not built")
def test_a_library_of_another_abi_is_not_used(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build left from other sources (a stale in-place build) is ignored: the numba or
    torch paths run instead of a C function called with the wrong arguments."""
    monkeypatch.setattr(_native, "ABI", _native.ABI + 1)
    with pytest.warns(RuntimeWarning, match="built from other sources.*Rebuild"):
        assert _native.library("_native_masks") is None
    monkeypatch.setattr(_native, "_libraries", {})
    monkeypatch.setattr(_native, "ABI", _native.ABI - 1)
    assert _native.library("_native_masks") is not None


@pytest.mark.parametrize("value", ["0", "off", "False", " no "])
def test_the_switch_is_read_on_every_call(
    fresh: None, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    first = _native.library("_native_masks")
    monkeypatch.setenv("ASSAY_NATIVE", value)
    assert _native.library("_native_masks") is None
    assert _compiled.which() != "c"
    monkeypatch.setenv("ASSAY_NATIVE", "1")
    assert _native.library("_native_masks") is first


def test_a_missing_library_is_none(fresh: None) -> None:
    assert _native.library("_native_nothing") is None


def test_which_follows_the_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_COMPILED", "0")
    assert _compiled.which() == "torch" and _compiled.which(masks=False) == "torch"
    monkeypatch.setenv("ASSAY_COMPILED", "1")
    monkeypatch.setenv("ASSAY_NATIVE", "1")
    assert (_compiled.which() == "c") is BUILT
    monkeypatch.setenv("ASSAY_NATIVE", "0")
    monkeypatch.setenv("ASSAY_NUMBA", "0")
    assert _compiled.which() == "torch"


@pytest.mark.parametrize(
    ("array", "what"),
    [
        (np.zeros(3, dtype=np.int32), "int32"),
        (np.zeros(6, dtype=np.int64)[::2], "not contiguous"),
        (np.zeros(3, dtype=np.float64), "float64"),
    ],
)
def test_pointer_refuses_what_the_loop_would_misread(array: np.ndarray, what: str) -> None:
    with pytest.raises(TypeError, match=f"C-contiguous int64 array.*{what}"):
        _native.pointer(array, np.int64)
    assert _native.pointer(np.zeros(2, dtype=np.int64), np.int64) > 0
