"""Device selection shared by evaluators and the CLI."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["DEVICE_CHOICES", "DEVICE_TYPES", "check_tensor_device", "resolve_device"]

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")
DEVICE_TYPES: tuple[str, ...] = ("cpu", "cuda")  # the device types assay computes on


def check_tensor_device(t: Tensor, name: str) -> None:
    """Raise unless the input tensor ``t`` lies on a device type assay computes on.

    Raises:
        ValueError: ``t`` on another device type (``meta``, ``mps``...), named as
            ``name``.

    Example:
        >>> check_tensor_device(torch.zeros(2, device="meta"), "boxes")
        Traceback (most recent call last):
        ...
        ValueError: Expected `boxes` on a cpu or cuda device, but got meta
    """
    if t.device.type not in DEVICE_TYPES:
        raise ValueError(f"Expected `{name}` on a cpu or cuda device, but got {t.device.type}")


def resolve_device(
    device: torch.device | str | None, default: torch.device | None = None
) -> torch.device:
    """Turn a user's device argument into a ``torch.device``.

    Args:
        device: ``None`` (use ``default``, else CPU), ``"auto"`` (CUDA when available),
            ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device`` of those types.
        default: the device of the input data, used when ``device`` is ``None``.

    Returns:
        The device to compute on.

    Raises:
        ValueError: an unknown device string, a device type other than cpu / cuda
            (also for ``default``: inputs on ``meta`` or ``mps``), or CUDA asked for
            where none is present.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device(None)
        device(type='cpu')
    """
    if device is None:
        if default is not None and default.type not in DEVICE_TYPES:
            raise ValueError(f"Expected the inputs on a cpu or cuda device, but got {default}")
        return default if default is not None else torch.device("cpu")
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"Expected `device` to be one of {DEVICE_CHOICES} or a torch.device, but got {device!r}"
        ) from None
    if dev.type not in DEVICE_TYPES:
        raise ValueError(
            "Expected `device` to be a cpu or cuda device ('auto', 'cpu', 'cuda', 'cuda:N' or "
            f"a torch.device of those types), but got {device!r}"
        )
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"Expected `device` to be available, but got {device!r} and torch.cuda.is_available() "
            "is False; pass device='cpu' or 'auto'"
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"Expected `device` to be one of the {torch.cuda.device_count()} CUDA devices, "
            f"but got {device!r}"
        )
    return dev
