"""Input checks shared by the index and clustering modules: arrays and string ids at the edge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__: list[str] = []

#: The largest seed the sampling engine accepts (an unsigned 64-bit int: the hash of
#: ``random`` takes all 64 bits; FAISS, which takes a C ``int``, gets :func:`faiss_seed`).
MAX_SEED = 2**64 - 1


def load_npy(path: Path, expected: str) -> np.ndarray:
    """The one array of a ``.npy`` file, else ValueError: ``expected`` + what is wrong.

    ``expected`` opens the message (``"Expected the .npy embeddings to be ..., but"``);
    an empty file, an unreadable one (object arrays included: no pickles) and a
    ``.npz`` archive under a ``.npy`` name are each named with ``path``.
    """
    try:
        array = np.load(path, allow_pickle=False)
    except EOFError:
        raise ValueError(f"{expected} {str(path)!r} is empty") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{expected} {str(path)!r} could not be read: {exc}") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise ValueError(f"{expected} {str(path)!r} is a .npz archive")
    return array


def as_matrix(x: Any, name: str, *, dim: int | None = None) -> np.ndarray:
    """``(N, D)`` float32 C-contiguous numpy array on the CPU, checked finite.

    A torch tensor on any device is detached and copied to the CPU; a float32
    C-contiguous numpy array is used as is (no copy). Other real dtypes are cast.
    """
    if isinstance(x, torch.Tensor):
        if x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"Expected `{name}` to hold real numbers, but got dtype {x.dtype}")
        arr = x.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()
    elif isinstance(x, np.ndarray):
        if x.dtype.kind not in "fiu":
            raise TypeError(f"Expected `{name}` to hold real numbers, but got dtype {x.dtype}")
        arr = np.ascontiguousarray(x, dtype=np.float32)
    else:
        raise TypeError(
            f"Expected `{name}` to be a torch.Tensor or numpy array, but got {type(x).__name__}"
        )
    if arr.ndim != 2:
        raise ValueError(f"Expected `{name}` to be 2-D (N, D), but got shape {tuple(arr.shape)}")
    if arr.shape[1] == 0:
        raise ValueError(
            f"Expected `{name}` to have vectors of dimension at least 1, but got shape "
            f"{tuple(arr.shape)}"
        )
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(
            f"Expected `{name}` to have dimension {dim}, but got shape {tuple(arr.shape)}"
        )
    check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise naming the first row that holds NaN or inf."""
    if arr.size and not np.isfinite(arr).all():
        row = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(
            f"Expected `{name}` to be finite, but got a NaN or inf "
            f"(first offending item: row {row}: {arr[row][:8].tolist()})"
        )


def as_ids(ids: Any, name: str) -> list[str]:
    """A list of str from a sequence of str, rejecting a bare str and non-str items."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, (Sequence, np.ndarray)):
        raise TypeError(f"Expected `{name}` to be a sequence of str, but got {type(ids).__name__}")
    out = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)  # np.str_ -> str
    for i, item in enumerate(out):
        if not isinstance(item, str):
            raise TypeError(
                f"Expected `{name}` to hold str ids, but got {type(item).__name__} "
                f"(first offending item: {name}[{i}] = {item!r})"
            )
    check_utf8(out, name, lambda i: f"{name}[{i}]")
    return out


def first_non_utf8(ids: Sequence[str]) -> int | None:
    r"""Position of the first str that UTF-8 cannot encode (a lone surrogate), else None.

    A lone surrogate is what ``os.fsdecode`` makes of a file name that is not UTF-8;
    Arrow, JSON and FAISS files cannot hold it.

    Example:
        >>> first_non_utf8(["a", "b\udce9"]), first_non_utf8(["a"])
        (1, None)
    """
    try:
        "".join(ids).encode("utf-8")
    except UnicodeEncodeError:
        for i, item in enumerate(ids):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return i
    return None


def check_utf8(ids: Sequence[str], field: str, where: Callable[[int], str]) -> None:
    """Raise naming the first id that is not valid UTF-8 text (``where(i)`` names item ``i``)."""
    i = first_non_utf8(ids)
    if i is not None:
        raise ValueError(
            f"Expected `{field}` to be valid UTF-8 text, but got {ids[i]!r}, which holds a lone "
            f"surrogate (first offending item: {where(i)})"
        )


def first_duplicate(ids: list[str]) -> str | None:
    """The first id that occurs a second time, else None."""
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            return item
        seen.add(item)
    return None


def check_int(value: Any, name: str, *, minimum: int, maximum: int | None = None) -> int:
    """An int >= minimum (and <= maximum when given; bool rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Expected `{name}` to be an int, but got {type(value).__name__}")
    if maximum is not None and not minimum <= value <= maximum:
        raise ValueError(
            f"Expected `{name}` to be an int in [{minimum}, {maximum}], but got {value}"
        )
    if value < minimum:
        raise ValueError(f"Expected `{name}` to be an int >= {minimum}, but got {value}")
    return int(value)


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed: an int in ``[0, MAX_SEED]`` (``[0, 2**64 - 1]``)."""
    return check_int(value, name, minimum=0, maximum=MAX_SEED)


def faiss_seed(seed: int) -> int:
    """The seed FAISS gets for ``seed``: ``seed % 2**31`` (it takes a C ``int``).

    Seeds below ``2**31`` pass unchanged; ``seed`` and ``seed + 2**31`` give FAISS the
    same seed.

    Example:
        >>> faiss_seed(7), faiss_seed(2**31 + 7), faiss_seed(2**64 - 1)
        (7, 7, 2147483647)
    """
    return seed % 2**31
