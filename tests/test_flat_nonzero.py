"""flat_nonzero: NumPy's nonzero on the CPU, torch's elsewhere, the same positions."""

from __future__ import annotations

import pytest
import torch
from assay.kernels._nonzero import flat_nonzero


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
