"""Boolean rows as the bits of one integer per column, and back."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["bits_to_rows", "rows_to_bits"]


def rows_to_bits(flags: Tensor) -> Tensor:
    """``(K, N)`` bool flags as ``(N,)`` int64 words: bit ``k`` set where ``flags[k]``.

    Args:
        flags: ``(K, N)`` bool, ``K <= 63``.

    Returns:
        ``(N,)`` int64 (all zeros when ``K == 0``).

    Example:
        >>> import torch
        >>> rows_to_bits(torch.tensor([[True, False, True], [False, False, True]]))
        tensor([1, 0, 3])
    """
    shift = torch.arange(flags.shape[0], device=flags.device)[:, None]
    return (flags.long() << shift).sum(0)  # distinct bits: the sum is their or


def bits_to_rows(bits: Tensor, count: int) -> Tensor:
    """The first ``count`` bits of each integer of ``bits`` as ``(count, N)`` bool rows.

    Args:
        bits: ``(N,)`` integers (any integer dtype wide enough for ``count`` bits).
        count: number of rows ``K``.

    Returns:
        ``(K, N)`` bool, row ``k`` = bit ``k``; the inverse of :func:`rows_to_bits`.

    Example:
        >>> import torch
        >>> bits_to_rows(torch.tensor([1, 0, 3]), 2)
        tensor([[ True, False,  True],
                [False, False,  True]])
    """
    shift = torch.arange(count, device=bits.device, dtype=bits.dtype)[:, None]
    return ((bits[None, :] >> shift) & 1).bool()
