"""take_rows: the same bytes as index_select, whatever the row width, dtype or layout."""

from __future__ import annotations

import pytest
import torch
from assay.kernels import take_packed, take_rows
from assay.kernels._bits import bits_to_rows, rows_to_bits

DTYPES = [
    torch.bool,
    torch.uint8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.float16,
    torch.float32,
    torch.float64,
    torch.complex64,
    torch.complex128,
]
# Row widths that take each path: one element per row (1-16 bytes) and index_select
# itself (wider rows, e.g. 32 or 64 bytes for 8-byte dtypes, or 3 or 5 elements).
SHAPES = [(9,), (9, 1), (9, 2), (9, 3), (9, 4), (9, 5), (9, 8), (9, 16), (9, 2, 2), (9, 0), (0, 4)]


def _random(shape: tuple[int, ...], dtype: torch.dtype, device: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    if dtype == torch.bool:
        return (torch.rand(shape, generator=g) > 0.5).to(device)
    if dtype.is_complex:
        return torch.randn(shape, generator=g, dtype=dtype).to(device)
    size = torch.empty(0, dtype=dtype).element_size()
    raw = torch.randint(0, 256, (*shape, size), generator=g, dtype=torch.uint8)
    return raw.view(dtype).reshape(shape).to(device)  # any bit pattern, NaNs included


def _same_bytes(a: torch.Tensor, b: torch.Tensor) -> bool:
    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and torch.equal(a.contiguous().view(torch.uint8), b.contiguous().view(torch.uint8))
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_take_rows_is_index_select_bit_for_bit(
    shape: tuple[int, ...], dtype: torch.dtype, device: str
) -> None:
    x = _random(shape, dtype, device)
    n = shape[0]
    index = (
        torch.tensor([n - 1, 0, 3, 3, 1, n - 1], device=device)
        if n
        else torch.zeros(0, dtype=torch.int64, device=device)
    )
    got = take_rows(x, index)
    assert got.device == x.device
    assert _same_bytes(got, x.index_select(0, index))  # NaN payloads included


def test_take_rows_on_views_and_empty_index(device: str) -> None:
    base = torch.arange(60, dtype=torch.float64, device=device)
    index = torch.tensor([4, 0, 2], device=device)
    for x in (
        base[1:41].view(10, 4),  # storage offset not a multiple of 16 bytes
        base[2:42].view(10, 4),
        base[1:21].view(10, 2),
        base.view(12, 5)[:, 1:3],  # not contiguous
        base.view(6, 10).t(),
    ):
        assert _same_bytes(take_rows(x, index), x.index_select(0, index))
    empty = take_rows(base.view(15, 4), torch.zeros(0, dtype=torch.int64, device=device))
    assert empty.shape == (0, 4) and empty.dtype == torch.float64


def test_take_rows_names_out_of_range_rows() -> None:
    # CPU only: on CUDA an out-of-range index_select is a device-side assert, which
    # poisons the process's CUDA context for every later test (it cannot be caught).
    x = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r"`index` to hold row indexes in \[0, 3\), but got 3"):
        take_rows(x, torch.tensor([3]))
    with pytest.raises(ValueError, match=r"but got -1 \(first offending item: index\[1\]\)"):
        take_rows(x, torch.tensor([0, -1]))


# ------------------------------------------------------------------------ take_packed


def _columns(n: int, bounds: list[int], device: str) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    cols = []
    for bound in bounds:
        values = torch.randint(0, max(bound, 1), (n,), generator=g)
        cols.append((values > 0) if bound == 2 else values)
    return [c.to(device) for c in cols]


@pytest.mark.parametrize(
    "bounds",
    [
        [100, 5000, 16],  # the evaluator's rank, image, area bits: one packed gather
        [2, 2, 2],  # bool columns
        [1, 7],  # a bound of 1: a zero-width column
        [2**40, 2**22],  # 62 bits: still packed
        [2**40, 2**30],  # 70 bits: one gather per column
        [2**62, 3],
        [9],  # a single column
    ],
)
def test_take_packed_is_index_select(bounds: list[int], device: str) -> None:
    cols = _columns(57, bounds, device)
    index = torch.tensor([56, 0, 3, 3, 17, 40], device=device)
    got = take_packed(cols, bounds, index)
    assert len(got) == len(cols)
    for column, taken in zip(cols, got, strict=True):
        assert taken.dtype == column.dtype and taken.device == column.device
        assert torch.equal(taken, column.index_select(0, index))


def test_take_packed_keeps_the_largest_values_and_int32(device: str) -> None:
    rank = torch.tensor([0, 99, 5], dtype=torch.int32, device=device)
    image = torch.tensor([4999, 0, 4999], device=device)
    index = torch.tensor([1, 0, 2], device=device)
    got = take_packed([rank, image], [100, 5000], index)
    assert got[0].dtype == torch.int32
    assert got[0].tolist() == [99, 0, 5] and got[1].tolist() == [0, 4999, 4999]


def test_take_packed_empty(device: str) -> None:
    cols = _columns(0, [10, 2], device)
    got = take_packed(cols, [10, 2], torch.zeros(0, dtype=torch.int64, device=device))
    assert [t.shape for t in got] == [(0,), (0,)]
    assert got[1].dtype == torch.bool


def test_take_packed_needs_one_bound_per_column() -> None:
    with pytest.raises(
        ValueError, match=r"`bounds` to hold one bound per column of `columns` \(2\), but got 1$"
    ):
        take_packed([torch.zeros(3), torch.zeros(3)], [4], torch.zeros(1, dtype=torch.int64))


@pytest.mark.parametrize("rows", [0, 1, 4, 17])
def test_rows_to_bits_round_trip(rows: int, device: str) -> None:
    g = torch.Generator().manual_seed(rows)
    flags = (torch.rand(rows, 33, generator=g) > 0.5).to(device)
    bits = rows_to_bits(flags)
    assert bits.dtype == torch.int64 and bits.shape == (33,)
    want = torch.zeros(33, dtype=torch.int64, device=device)
    for k in range(rows):
        want |= flags[k].long() << k
    assert torch.equal(bits, want)
    assert torch.equal(bits_to_rows(bits, rows), flags)
    if rows <= 8:  # narrow words, e.g. a uint8 state column
        assert torch.equal(bits_to_rows(bits.to(torch.uint8), rows), flags)
