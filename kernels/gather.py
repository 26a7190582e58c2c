"""Row gathers: ``index_select`` along dim 0, through a 1-D view where that is faster.

On the CPU, a gather along a random permutation costs several elementwise passes (each
element a cache miss). For rows of up to 16 bytes ``index_select`` of a 2-D tensor is
up to 3x slower than the 1-D kernel gathering the same bytes (575k random rows of 16
bytes: ~6.7 ms against ~2.6 ms on the reference machine), so :func:`take_rows` views
each such row as one element and gathers those: the same bytes, bit for bit. Wider
rows go to ``index_select`` itself, which copies them faster than any split into
16-byte pieces (32-byte rows: 1.3 against 4.3 ms in order, 10 against 16 ms at random).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["take_packed", "take_rows"]

# One element per row of this many bytes.
_ROW_DTYPES = {
    1: torch.uint8,
    2: torch.int16,
    4: torch.int32,
    8: torch.int64,
    16: torch.complex128,
}


def take_rows(x: Tensor, index: Tensor) -> Tensor:
    """``x.index_select(0, index)``, bit for bit, faster for tensors of small rows.

    Args:
        x: ``(N, ...)`` tensor.
        index: ``(M,)`` int64 row indexes into ``x``.

    Returns:
        ``(M, ...)`` tensor: the rows of ``x`` at ``index``, same dtype and device.

    Example:
        >>> import torch
        >>> flags = torch.tensor([[1, 2], [3, 4], [5, 6]])
        >>> take_rows(flags, torch.tensor([2, 0]))
        tensor([[5, 6],
                [1, 2]])
        >>> take_rows(torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64)).shape
        torch.Size([0, 4])
    """
    if x.device.type != "cpu" or x.ndim < 2 or x.numel() == 0 or not x.is_contiguous():
        return x.index_select(0, index)
    rows, shape = x.shape[0], x.shape[1:]
    row_bytes = x[0].numel() * x.element_size()
    if row_bytes not in _ROW_DTYPES:  # wider rows: index_select copies them fastest
        return x.index_select(0, index)
    try:
        row = x.reshape(rows, -1).view(torch.uint8)  # (N, row_bytes)
        taken = row.view(_ROW_DTYPES[row_bytes]).view(rows).index_select(0, index)
    except RuntimeError:  # a view the storage's alignment does not allow
        return x.index_select(0, index)
    return taken.view(torch.uint8).view(x.dtype).view(index.shape[0], *shape)


def take_packed(columns: Sequence[Tensor], bounds: Sequence[int], index: Tensor) -> list[Tensor]:
    """``[c.index_select(0, index) for c in columns]`` for small non-negative integers.

    Columns whose values fit together in 63 bits (``0 <= columns[i] < bounds[i]``) are
    packed into one int64, gathered once and unpacked with shifts and masks: one
    random-access pass instead of one per column (the shifts are cheap sequential
    passes). When the bounds need more than 63 bits together, every column is
    gathered on its own. Values outside their bounds are the caller's error (they
    would spill into the next column).

    Args:
        columns: ``(N,)`` integer or bool tensors, all on one device.
        bounds: for each column, an exclusive upper bound of its values (``>= 1``).
        index: ``(M,)`` int64 indexes into the columns.

    Returns:
        The ``(M,)`` gathered columns, each in its own dtype.

    Example:
        >>> import torch
        >>> rank, flag = torch.tensor([3, 0, 7]), torch.tensor([True, False, True])
        >>> take_packed([rank, flag], [8, 2], torch.tensor([2, 2, 1]))
        [tensor([7, 7, 0]), tensor([ True,  True, False])]
    """
    if len(columns) != len(bounds):
        raise ValueError(
            f"Expected one bound per column ({len(columns)}), but got {len(bounds)} bounds"
        )
    widths = [max(int(bound) - 1, 0).bit_length() for bound in bounds]
    if len(columns) < 2 or sum(widths) > 63:
        return [column.index_select(0, index) for column in columns]
    packed = columns[0].long()
    shift = widths[0]
    for column, width in zip(columns[1:], widths[1:], strict=False):
        packed = packed | (column.long() << shift)
        shift += width
    taken = packed.index_select(0, index)
    out, shift = [], 0
    for column, width in zip(columns, widths, strict=False):
        value = (taken >> shift) & ((1 << width) - 1)
        out.append(value.to(column.dtype))
        shift += width
    return out
