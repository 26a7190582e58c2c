"""Running sums over contiguous segments of a flat column."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["segment_cumsum"]


def segment_cumsum(step: Tensor, seg_first: Tensor, segment: Tensor) -> Tensor:
    """Running sum of ``step`` that restarts at each segment.

    Args:
        step: ``(N,)`` values; the elements of one segment are contiguous.
        seg_first: ``(S,)`` int64 position of each segment's first element (any valid
            position for an empty segment, which no element reads).
        segment: ``(N,)`` int64 segment of each element (nondecreasing).

    Returns:
        ``(N,)`` inclusive running sum of ``step`` within each element's segment.

    Example:
        >>> import torch
        >>> segment_cumsum(torch.tensor([1, 2, 3, 4, 5]), torch.tensor([0, 2, 2]),
        ...                torch.tensor([0, 0, 2, 2, 2]))
        tensor([ 1,  3,  3,  7, 12])
    """
    total = torch.cumsum(step, 0)
    if step.shape[0] == 0:
        return total
    before = (total - step).index_select(0, seg_first)  # sum before each segment
    return total - before.index_select(0, segment)
