"""Running sums over contiguous segments of a flat column."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["segment_cumsum"]


def segment_cumsum(
    step: Tensor, seg_first: Tensor, segment: Tensor, dtype: torch.dtype | None = None
) -> Tensor:
    """Running sum of ``step`` that restarts at each segment.

    Args:
        step: ``(N,)`` values; the elements of one segment are contiguous.
        seg_first: ``(S,)`` int64 position of each segment's first element (any valid
            position for an empty segment, which no element reads).
        segment: ``(N,)`` int64 segment of each element (nondecreasing).
        dtype: dtype of the sums (``torch.cumsum``'s; e.g. int32 counts straight from
            a bool ``step``, a cheaper scan than converting first).

    Returns:
        ``(N,)`` inclusive running sum of ``step`` within each element's segment.

    Example:
        >>> import torch
        >>> segment_cumsum(torch.tensor([1, 2, 3, 4, 5]), torch.tensor([0, 2, 2]),
        ...                torch.tensor([0, 0, 2, 2, 2]))
        tensor([ 1,  3,  3,  7, 12])
        >>> segment_cumsum(torch.tensor([True, True, False, True]), torch.tensor([0, 2]),
        ...                torch.tensor([0, 0, 1, 1]), dtype=torch.int32)
        tensor([1, 2, 0, 1], dtype=torch.int32)
    """
    total = torch.cumsum(step, 0, dtype=dtype)
    if step.shape[0] == 0:
        return total
    # Sum before each segment: the running sum at its first element minus that element.
    first = step.index_select(0, seg_first).to(total.dtype)
    before = total.index_select(0, seg_first) - first
    return total.sub_(before.index_select(0, segment))
