"""Label-map input checks shared by the semantic and panoptic evaluators."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "check_int",
    "check_label_values",
    "first_index",
    "integer_tensor",
    "same_shape",
    "widen_unsigned",
]

_WIDEN = {torch.uint16: torch.int32, torch.uint32: torch.int64, torch.uint64: torch.int64}


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """An ``int`` (not bool), at least ``minimum``; TypeError / ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Expected `{name}` to be an int, but got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"Expected `{name}` to be an int >= {minimum}, but got {value}")
    return int(value)


def integer_tensor(name: str, x: Any) -> Tensor:
    """A torch tensor or numpy array of integers as a tensor (no copy where possible).

    Bool and floating dtypes are rejected: a label map holds class or segment ids.
    Unsigned dtypes wider than 8 bits are widened (torch supports few ops on them).
    """
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "iu":
            raise TypeError(
                f"Expected `{name}` to hold integer labels, "
                f"but got a numpy array of dtype {x.dtype}"
            )
        x = torch.from_numpy(np.ascontiguousarray(x))
    elif not isinstance(x, Tensor):
        raise TypeError(
            f"Expected `{name}` to be a torch.Tensor or numpy array, but got {type(x).__name__}"
        )
    if x.dtype == torch.bool or x.is_floating_point() or x.is_complex():
        raise TypeError(f"Expected `{name}` to hold integer labels, but got dtype {x.dtype}")
    return widen_unsigned(name, x)


def widen_unsigned(name: str, x: Tensor) -> Tensor:
    """uint16 / uint32 / uint64 labels in a signed dtype torch computes with; else ``x``.

    A uint64 value past int64's range would wrap to a negative label (reported with
    the wrong value, or equal to a negative ``ignore_index``): ValueError naming it.
    """
    if x.dtype not in _WIDEN:
        return x
    out = x.to(_WIDEN[x.dtype])
    if x.dtype == torch.uint64 and out.numel():
        wrapped = out < 0
        if bool(wrapped.any()):
            where = first_index(wrapped)
            raise ValueError(
                f"Expected `{name}` to hold labels below 2**63, but got "
                f"{int(out[where]) + 2**64} at index {where}"
            )
    return out


def same_shape(target: Tensor, preds: Tensor) -> None:
    """ValueError unless ``preds`` has ``target``'s shape."""
    if target.shape != preds.shape:
        raise ValueError(
            f"Expected `preds` to have the shape of `target` {tuple(target.shape)}, "
            f"but got {tuple(preds.shape)}"
        )


def first_index(bad: Tensor) -> tuple[int, ...]:
    """Index (C order) of the first True of a non-empty mask (error path only)."""
    flat = int(torch.nonzero(bad.reshape(-1))[0, 0])
    return tuple(int(i) for i in np.unravel_index(flat, tuple(bad.shape)))


def check_label_values(
    labels: Tensor, name: str, num_classes: int, ignore_index: int | None
) -> None:
    """ValueError naming the first label outside ``[0, num_classes)`` that is not ``ignore_index``.

    One host read (``any``), plus the error path's; callers may skip it when a cheaper
    range check (``aminmax``) already shows every label in range.
    """
    bad = (labels < 0) | (labels >= num_classes)
    if ignore_index is not None:
        bad &= labels != ignore_index
    if bool(bad.any()):
        where = first_index(bad)
        extra = "" if ignore_index is None else f" or ignore_index {ignore_index}"
        raise ValueError(
            f"Expected `{name}` values in [0, {num_classes}){extra}, "
            f"but got {int(labels[where])} at index {where}"
        )
