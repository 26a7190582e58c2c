"""The C loops built at install (``kernels/_native/*.c``), opened with ``ctypes``.

``setup.py`` builds three optional extensions: ``_native_masks`` (the RLE mask loops of
:mod:`._numba_kernels`), ``_native_frames`` (the per-frame box scores of
:mod:`._numba_frame_kernels`, plus C-only loops: entropy's frames, ``top_k``'s
candidate pass) and ``_native_ranking`` (C only: ``coco_accumulate``'s walk,
:mod:`._native_ranking_kernels`). Each holds plain C functions, with the numba
functions' arguments where there are some: pointers to C-contiguous NumPy arrays,
then int64 scalars. Each is a loop over one range of items, called without the GIL,
one range per thread (:mod:`._compiled` splits the work). They give the torch paths'
numbers, and numba's where numba has the loop (tests compare them).

Opening a library costs about a millisecond, against 0.6-0.9 s to import numba and load
its cached code, so the C loops take every batch from the warm minimums.

A library is used when it imports, ``ASSAY_NATIVE`` is not ``0`` (or ``false``,
``off``, ``no``) and its ABI number equals :data:`ABI` (a library left from other
sources, e.g. a build in place before a checkout, is ignored: rebuild with ``pip
install -e .``). Otherwise :func:`library` returns ``None`` and the numba or torch
paths run.
"""

from __future__ import annotations

import ctypes
import importlib
import warnings
from typing import Any

import numpy as np

from ._env import switched_off

__all__ = ["ABI", "bind", "check_span", "library", "pointer"]

ABI = 4  # kernels/_native/abi.h's ASSAY_NATIVE_ABI
_libraries: dict[str, ctypes.CDLL | None] = {}

# argument kinds of bind(): a pointer to an array, an int64 (bools as 0 / 1), a double
P, I64, F64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double


def library(name: str) -> ctypes.CDLL | None:
    """The C library ``name`` (``"_native_masks"``, ``"_native_frames"``, ...), or None.

    ``name``: an extension of ``setup.py`` (also ``"_native_ranking"``). None when
    ``ASSAY_NATIVE`` is off (checked on every call), the extension was not built or
    does not load, or it was built from sources of another ABI.

    Example:
        >>> lib = library("_native_masks")
        >>> lib is None or lib.assay_native_abi() == ABI
        True
    """
    if switched_off("ASSAY_NATIVE"):
        return None
    if name not in _libraries:
        _libraries[name] = _open(name)
    return _libraries[name]


def _open(name: str) -> ctypes.CDLL | None:
    """Opens the library; None, with a warning when one is there but cannot be used."""
    try:
        path = importlib.import_module(f".{name}", __package__).__file__
    except ImportError:  # not built (no compiler, or a failed build): numba / torch
        return None
    try:  # optional: any failure -> the numba or torch paths, said once
        lib = ctypes.CDLL(path)
        abi = bind(lib, "assay_native_abi", returns=I64)()
    except Exception as error:  # pragma: no cover - depends on the build
        _refused(name, f"it does not load ({error})")
        return None
    if abi != ABI:
        _refused(name, f"it was built from other sources (ABI {abi}, this package's {ABI})")
        return None
    return lib


def _refused(name: str, why: str) -> None:
    warnings.warn(
        f"assay: the C loops {name} are not used: {why}; the numba or torch paths run "
        f"instead. Rebuild with `pip install -e .` (or reinstall assay).",
        RuntimeWarning,
        stacklevel=4,
    )


def bind(lib: ctypes.CDLL, name: str, *args: Any, returns: Any = None) -> Any:
    """``lib``'s function ``name`` with argument types ``args`` (``P``, ``I64``, ``F64``).

    ``returns``: its result type (``I64``), or ``None`` for a function that returns
    nothing.
    """
    fn = getattr(lib, name)
    fn.argtypes = list(args)
    fn.restype = returns
    return fn


def check_span(lo: int, hi: int, n: int) -> None:
    """A loop's range of items ``[lo, hi)`` must lie in ``[0, n)`` (the C loops trust it).

    Raises:
        ValueError: otherwise, naming both.
    """
    if not 0 <= lo <= hi <= n:
        raise ValueError(f"Expected 0 <= lo <= hi <= {n}, but got [{lo}, {hi})")


def pointer(a: np.ndarray, dtype: type | np.dtype[Any]) -> int:
    """Address of ``a``'s data, after checking what the C loop will read there.

    The loops read raw memory: a wrong dtype or a strided view would be read as
    something else, so both are refused here (a bug in the caller, never user input).
    """
    if a.dtype != dtype or not a.flags.c_contiguous:
        raise TypeError(
            f"Expected a C-contiguous {np.dtype(dtype)} array for the C loop, but got "
            f"{a.dtype}{'' if a.flags.c_contiguous else ' (not contiguous)'}"
        )
    return int(a.ctypes.data)
