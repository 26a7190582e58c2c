"""Environment switches of the optional compiled paths.

``ASSAY_COMPILED``, ``ASSAY_NATIVE`` and ``ASSAY_NUMBA`` (:mod:`._compiled`),
``ASSAY_TRITON`` (:mod:`._triton`).
"""

from __future__ import annotations

import os

__all__ = ["OFF", "switch", "switched_off"]

OFF = ("0", "false", "off", "no")  # values of a switch that turn its path off


def switch(variable: str) -> str:
    """The variable's value, stripped and lower-cased; ``"1"`` (on) when unset.

    Example:
        >>> switch("ASSAY_UNSET_EXAMPLE_SWITCH")
        '1'
    """
    return os.environ.get(variable, "1").strip().lower()


def switched_off(variable: str) -> bool:
    """Whether ``variable`` is ``0``, ``false``, ``off`` or ``no`` (any case).

    Example:
        >>> switched_off("ASSAY_UNSET_EXAMPLE_SWITCH")
        False
    """
    return switch(variable) in OFF
