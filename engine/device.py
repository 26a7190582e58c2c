"""Device selection shared by evaluators and the CLI."""

from __future__ import annotations

import torch

__all__ = ["DEVICE_CHOICES", "resolve_device"]

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def resolve_device(
    device: torch.device | str | None, default: torch.device | None = None
) -> torch.device:
    """Turn a user's device argument into a ``torch.device``.

    Args:
        device: ``None`` (use ``default``, else CPU), ``"auto"`` (CUDA when available),
            ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``.
        default: the device of the input data, used when ``device`` is ``None``.

    Returns:
        The device to compute on.

    Raises:
        ValueError: an unknown device string, or CUDA asked for where none is present.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device(None)
        device(type='cpu')
    """
    if device is None:
        return default if default is not None else torch.device("cpu")
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"Expected `device` to be one of {DEVICE_CHOICES} or a torch.device, but got {device!r}"
        ) from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(
            f"Expected `device` to be one of {DEVICE_CHOICES} or a torch.device, but got {device!r}"
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
