"""Row gathers: ``index_select`` along dim 0, through a 1-D view where that is faster.

On the CPU, a gather along a random permutation costs several elementwise passes (each
element a cache miss). For rows of up to 16 bytes ``index_select`` of a 2-D tensor is
up to 3x slower than the 1-D kernel gathering the same bytes (575k random rows of 16
bytes: ~6.7 ms against ~2.6 ms on the reference machine), so :func:`take_rows` views
each such row as one element and gathers those: the same bytes, bit for bit. Wider
rows go to ``index_select`` itself, which copies them faster than any split into
16-byte pieces (32-byte rows: 1.3 against 4.3 ms in order, 10 against 16 ms at random).

Both gathers sit on the COCO evaluator's hot path (1.6M pair rows, 500k detections), so
their checks cost nothing on valid input: metadata always; an index out of range is
named once torch's own CPU bounds check has failed (a pass of its own would add about
1% to ``take_rows`` and 2% to ``take_packed``); ``take_packed``'s column values, which
torch cannot check, take one ``aminmax`` per packed CPU column (about 6% of
``take_packed``; ``_take_packed`` is the unchecked core for callers that validate).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._checks import (
    as_ordered,
    check_dtype,
    check_int,
    check_range,
    check_same_device,
    check_size,
    check_tensor,
    reads_values,
)
from ._nonzero import flat_nonzero

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
        index: ``(M,)`` int64 (or int32) row indexes into ``x``, in ``[0, N)``.

    Returns:
        ``(M, ...)`` tensor: the rows of ``x`` at ``index``, same dtype and device.

    Raises:
        TypeError: ``x`` or ``index`` not a tensor, ``index`` not integer.
        ValueError: ``x`` 0-d, ``index`` not 1-D or on another device; on the CPU, an
            index outside ``[0, N)`` (named once ``index_select``'s own bounds check has
            failed: valid input pays nothing). Device indexes are not read: out of range,
            they trip a device-side assert.

    Example:
        >>> import torch
        >>> flags = torch.tensor([[1, 2], [3, 4], [5, 6]])
        >>> take_rows(flags, torch.tensor([2, 0]))
        tensor([[5, 6],
                [1, 2]])
        >>> take_rows(torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64)).shape
        torch.Size([0, 4])
    """
    check_tensor("x", x, x.ndim if isinstance(x, Tensor) and x.ndim else 1, "(N, ...)")
    index = _check_index(index)
    check_same_device(index=index, x=x)
    try:
        return _take_rows(x, index)
    except IndexError as error:  # index_select's CPU bounds check failed
        failure = error
    check_range("index", index, 0, x.shape[0], "row indexes")  # name the index
    raise failure


def _check_index(index: object) -> Tensor:
    """``(M,)`` integer ``index``, as int32 / int64 (what the gathers take)."""
    checked = check_tensor("index", index, 1, "(M,)")
    check_dtype("index", checked, "integer")
    if checked.dtype not in (torch.int32, torch.int64):
        return checked.long()
    return checked


def _take_rows(x: Tensor, index: Tensor) -> Tensor:
    """:func:`take_rows` of arguments already checked."""
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
    passes). When the bounds need more than 63 bits together, or there is one column,
    every column is gathered on its own and the bounds do not matter. Only the rows
    ``index`` gathers need to lie within bounds (a packed value outside would spill
    into the next column): rows that are never gathered may hold anything.

    Args:
        columns: a list or tuple of ``(N,)`` integer or bool tensors, all on
            ``index``'s device.
        bounds: a list or tuple of, for each column, an exclusive upper bound of its
            values, an ``int`` (``>= 0``; a bound beyond a column's dtype is fine).
        index: ``(M,)`` int64 (or int32) indexes into the columns, in ``[0, N)``.

    Returns:
        The ``(M,)`` gathered columns, each in its own dtype.

    Raises:
        TypeError: ``columns`` or ``bounds`` not a list or tuple; a column or ``index``
            not an integer (or bool) tensor; a bound not an int (tensors included).
        ValueError: not one bound per column, a negative bound; columns or ``index``
            not 1-D, columns of different lengths, on another device; on the CPU, an
            index outside ``[0, N)`` (named once the gather's own bounds check has
            failed) and, when the columns are packed, a gathered value outside
            ``[0, bound)`` (one ``aminmax`` per column; only when a column fails it are
            its gathered rows read). Device values are not read.

    Example:
        >>> import torch
        >>> rank, flag = torch.tensor([3, 0, 7]), torch.tensor([True, False, True])
        >>> take_packed([rank, flag], [8, 2], torch.tensor([2, 2, 1]))
        [tensor([7, 7, 0]), tensor([ True,  True, False])]
    """
    _check_sequence("columns", columns, "tensors")
    _check_sequence("bounds", bounds, "ints")
    if len(columns) != len(bounds):
        raise ValueError(
            f"Expected `bounds` to hold one bound per column of `columns` ({len(columns)}), "
            f"but got {len(bounds)}"
        )
    limits = [check_int(f"bounds[{i}]", bound) for i, bound in enumerate(bounds)]
    index = _check_index(index)
    for i, column in enumerate(columns):
        name = f"columns[{i}]"
        check_tensor(name, column, 1, "(N,)")
        check_dtype(name, column, "integer or bool")
        check_size(name, column, columns[0].shape[0], "as many values as `columns[0]`")
        check_same_device(index=index, **{name: column})
    try:
        if _packs(limits) and reads_values(index):
            for i, (column, limit) in enumerate(zip(columns, limits, strict=True)):
                _check_gathered_values(f"columns[{i}]", column, limit, index)
        return _take_packed(columns, limits, index)
    except IndexError as error:  # the gather's CPU bounds check failed
        failure = error
    check_range("index", index, 0, columns[0].shape[0], "row indexes")  # name the index
    raise failure


def _widths(bounds: Sequence[int]) -> list[int]:
    """Bits of each column's values: those of ``bound - 1``."""
    return [max(int(bound) - 1, 0).bit_length() for bound in bounds]


def _packs(bounds: Sequence[int]) -> bool:
    """Whether :func:`take_packed` packs columns of these bounds into one int64."""
    return len(bounds) >= 2 and sum(_widths(bounds)) <= 63


def _check_sequence(name: str, items: object, of: str) -> None:
    """``items`` must be a list or tuple (what :func:`take_packed` takes, one per column)."""
    if not isinstance(items, (list, tuple)):
        raise TypeError(
            f"Expected `{name}` to be a list or tuple of {of}, but got {type(items).__name__}"
        )


def _check_gathered_values(name: str, column: Tensor, bound: int, index: Tensor) -> None:
    """CPU ``column`` at ``index`` must lie in ``[0, bound)``.

    One ``aminmax`` over the whole column, its extremes compared as Python ints (a
    bound beyond a narrow dtype, e.g. 256 for uint8, would wrap as a tensor scalar);
    only when that fails are the gathered rows looked at (rows never gathered may hold
    anything, e.g. the COCO ranks cut by maxDets), through a bool mask of the rows out
    of bounds: a byte per row, which gathers in cache, where gathering the column
    itself would cost as much again as the packed gather.
    """
    if not column.shape[0]:
        return
    values = as_ordered(column)  # bool as 0 / 1; uint16-64, which torch cannot compare, as int64
    lo, hi = (int(v) for v in torch.aminmax(values))
    if lo >= 0 and hi < bound:
        return
    bad = values < 0
    if bound <= torch.iinfo(values.dtype).max:  # else no value reaches it (nor wraps)
        bad |= values >= bound
    hits = bad.index_select(0, index)
    if not bool(hits.any()):
        return
    first = int(flat_nonzero(hits)[0])
    row = int(index[first])
    raise ValueError(
        f"Expected `{name}` to hold values in [0, {bound}) at the rows `index` gathers, but "
        f"got {column[row].item()} (first offending item: {name}[{row}], gathered by "
        f"index[{first}])"
    )


def _take_packed(columns: Sequence[Tensor], bounds: Sequence[int], index: Tensor) -> list[Tensor]:
    """:func:`take_packed` of arguments already checked."""
    widths = _widths(bounds)
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
