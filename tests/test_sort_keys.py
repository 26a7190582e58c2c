"""narrow_key: same stable sort order in a narrower dtype, at each dtype's edge."""

from __future__ import annotations

import pytest
import torch
from assay.kernels._keys import narrow_key


@pytest.mark.parametrize(
    ("bound", "dtype"),
    [
        (1, torch.uint8),
        (256, torch.uint8),
        (257, torch.int16),
        (1 << 15, torch.int16),
        ((1 << 15) + 1, torch.int32),
        (1 << 31, torch.int32),
        ((1 << 31) + 1, torch.int64),
        (None, torch.int64),
    ],
)
def test_narrow_key_keeps_the_stable_order(
    device: str, bound: int | None, dtype: torch.dtype
) -> None:
    g = torch.Generator().manual_seed(0)
    top = (1 << 40) if bound is None else bound
    # The extremes of the range, many ties, and random values in it.
    key = torch.cat(
        (
            torch.tensor([0, top - 1, top - 1, 0]),
            torch.randint(0, min(top, 7), (500,), generator=g),
            torch.randint(0, top, (500,), generator=g),
        )
    ).to(device)
    narrow = narrow_key(key, bound)
    assert narrow.dtype == dtype
    assert torch.equal(narrow.long(), key)
    expected = torch.sort(key, stable=True).indices
    assert torch.equal(torch.sort(narrow, stable=True).indices, expected)


def test_narrow_key_empty(device: str) -> None:
    key = torch.zeros(0, dtype=torch.int64, device=device)
    assert narrow_key(key, 10).shape == (0,)
    assert narrow_key(key, 10).dtype == torch.uint8
