"""flat_nonzero: NumPy's nonzero on the CPU, torch's elsewhere, the same positions; where
nonzero_static runs."""

from __future__ import annotations

import pytest
import torch
from assay.kernels._nonzero import _release_at_least, flat_nonzero, static_nonzero_runs_on


@pytest.mark.parametrize("dtype", [torch.bool, torch.uint8, torch.int8, torch.int32, torch.int64,
                                   torch.float32, torch.bfloat16])
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 1000, 4099])
def test_flat_nonzero_matches_torch(device: str, dtype: torch.dtype, n: int) -> None:
    g = torch.Generator().manual_seed(n)
    for density in (0.0, 0.01, 0.3, 1.0):
        values = (torch.rand(n, generator=g) < density).to(dtype)
        if dtype not in (torch.bool, torch.uint8):
            values = values * -3  # negative and wider values count as set
        mask = values.to(device)
        out = flat_nonzero(mask)
        expected = torch.nonzero(mask).view(-1)
        assert out.dtype == torch.int64 and out.device == mask.device
        assert torch.equal(out, expected)
        strided = mask[::3]  # a view that is not contiguous
        assert torch.equal(flat_nonzero(strided), torch.nonzero(strided).view(-1))


def test_flat_nonzero_result_is_its_own(device: str) -> None:
    mask = torch.tensor([True, False, True], device=device)
    out = flat_nonzero(mask)
    out.add_(10)  # the result owns its memory: the mask is untouched
    assert out.tolist() == [10, 12] and mask.tolist() == [True, False, True]


def test_flat_nonzero_refuses_other_shapes(device: str) -> None:
    for shape in ((), (2, 3)):
        with pytest.raises(ValueError, match=r"Expected a 1-D mask, but got shape"):
            flat_nonzero(torch.ones(shape, dtype=torch.bool, device=device))


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.6.0", True),
        ("2.6.1", True),
        ("2.10.0", True),
        ("2.13.0+cpu", True),
        ("3.0.0", True),
        ("2.6+cu124", True),
        ("2.5.1", False),
        ("2.6.0a0+git1234", False),  # a pre-release of 2.6 may predate its CUDA kernel
        ("2.6.0.dev20241001", False),
        ("2.6.0rc1", False),
        ("garbage", False),
    ],
)
def test_release_at_least_reads_torch_versions(version: str, expected: bool) -> None:
    """``nonzero_static`` runs on CUDA from torch 2.6: the gate's version parse."""
    assert _release_at_least(version, (2, 6, 0)) is expected


def test_static_nonzero_runs_on_devices() -> None:
    assert static_nonzero_runs_on(torch.device("cpu"))
    assert not static_nonzero_runs_on(torch.device("meta"))  # nor MPS, XPU, ...
    cuda = _release_at_least(torch.__version__, (2, 6, 0))
    assert static_nonzero_runs_on(torch.device("cuda")) is cuda
