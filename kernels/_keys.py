"""Integer sort keys: scores as order-preserving integers, ranges in the narrowest dtype."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["compact_descending_key", "descending_key", "narrow_key"]

# Non-negative ranges each dtype holds, narrowest first. On the CPU torch's stable sort
# of integers is a radix sort whose cost follows the key's width: 500k keys take about
# 1.9 ms as uint8, 2.8 ms as int16, 3.7 ms as int32 and 8 ms as int64.
_NARROW = ((1 << 8, torch.uint8), (1 << 15, torch.int16), (1 << 31, torch.int32))
# compact_descending_key: decimal places it tries, and how many leading values pick them.
_MAX_PLACES = 6
_SAMPLE = 4096


def narrow_key(key: Tensor, bound: int | None) -> Tensor:
    """``key`` in the narrowest integer dtype holding ``[0, bound)``, for sorting.

    Args:
        key: integer tensor whose values all lie in ``[0, bound)``.
        bound: exclusive upper bound of the values, or ``None`` when unknown (``key``
            is returned as it is).

    Returns:
        ``key`` converted (same values, same order), or ``key`` itself when no
        narrower dtype holds the range.

    Example:
        >>> import torch
        >>> narrow_key(torch.tensor([3, 0, 200]), 256).dtype
        torch.uint8
        >>> narrow_key(torch.tensor([3, 0, 200]), None).dtype
        torch.int64
    """
    if bound is None:
        return key
    for limit, dtype in _NARROW:
        if bound <= limit:
            return key if key.dtype == dtype else key.to(dtype)
    return key


def descending_key(values: Tensor) -> Tensor:
    """Integer key of float ``values``: ascending key = descending value.

    float32 values give int32 keys, float64 values int64 keys (so a 1-D integer sort,
    torch's radix sort on the CPU, ranks them). ``-0.0`` and ``+0.0`` both get 0;
    other values keep their order, so equal keys are exactly equal values. NaN is not
    ordered (callers reject it first). Integer ops only, in place on one new tensor.

    Args:
        values: float32 or float64 tensor.

    Returns:
        int32 or int64 tensor of ``values``' shape.

    Example:
        >>> import torch
        >>> key = descending_key(torch.tensor([0.5, -1.0, 2.0, -0.0, 0.0]))
        >>> torch.sort(key, stable=True).indices.tolist()
        [2, 0, 3, 4, 1]
        >>> bool(key[3] == key[4])
        True
    """
    bits = values.view(torch.int32 if values.dtype == torch.float32 else torch.int64)
    shift = bits.element_size() * 8 - 1
    key = bits >> shift  # -1 for a negative float, else 0
    key &= (1 << shift) - 1
    key ^= bits  # order-preserving: increasing key = increasing value, -0.0 -> -1
    key.bitwise_not_()  # decreasing value; +0.0 -> -1, -0.0 -> 0
    key -= key >> shift  # negative keys up by one: +0.0 -> 0
    return key


def compact_descending_key(values: Tensor) -> tuple[Tensor, int] | None:
    """A small-range integer key of float ``values``: ascending key = descending value.

    :func:`descending_key` spans its whole integer dtype. This key lies in
    ``[0, span)``, ``span`` about the number of values the data's precision allows
    between its extremes, so it packs with other keys into one narrower radix sort.
    Two kinds of data have one:

    - decimals of a few places, as scores written with ``round(s, 3)`` are: every
      value is the float64 nearest ``n / 10**p`` with ``|n| < 2**53``. The places
      ``p <= 6`` are the fewest that the first 4,096 values need; if a later value
      needs more, the decimal key is not tried further;
    - float32 values (a model's output).

    Otherwise the result is ``None`` (also for NaN). Equal keys are exactly equal
    values (``-0.0`` equal to ``0.0``).

    Deciding reads values back (host reads, 1-3 ms per 500k values here), so only CPU
    tensors get a key; any other device gets ``None`` (callers keep their
    synchronisation-free path there).

    Args:
        values: float tensor of any shape.

    Returns:
        ``(key, span)``: int64 key of ``values``' shape with ``0 <= key < span``, or
        ``None``.

    Example:
        >>> import torch
        >>> key, span = compact_descending_key(torch.tensor([0.5, 0.25, 0.75, 0.5, 0.0],
        ...                                                  dtype=torch.float64))
        >>> key.tolist(), span
        ([25, 50, 0, 25, 75], 76)
        >>> compact_descending_key(torch.tensor([0.1], dtype=torch.float64) / 3) is None
        True
    """
    if values.device.type != "cpu" or values.numel() == 0 or not values.is_floating_point():
        return None
    flat = values.to(torch.float64)
    sample = flat.reshape(-1)[:_SAMPLE]
    for places in range(_MAX_PLACES + 1):
        # n is a function of the value, so equal values share it. Once every value
        # equals n / 10**p (10**p is exact; one rounding, which is monotone), a larger
        # n never gives a smaller value: n ranks the values exactly.
        scale = float(10**places)
        if not bool(((sample * scale).round() / scale == sample).all()):
            continue
        count = (flat * scale).round_()
        if bool((count / scale == flat).all()):
            lo, hi = (float(v) for v in torch.aminmax(count))
            if max(-lo, hi) < 2**53:  # exact int64 (keeps infinities out)
                return int(hi) - count.to(torch.int64), int(hi) - int(lo) + 1
        break
    single = flat.to(torch.float32)
    if not bool((single.to(torch.float64) == flat).all()):  # NaN fails here too
        return None
    key = descending_key(single).to(torch.int64)
    lo, hi = (int(v) for v in torch.aminmax(key))
    return key.sub_(lo), hi - lo + 1
