"""What the segmentation and classification streaming metrics share with torchmetrics.

:class:`StreamingMetric` is a ``torchmetrics.Metric`` with two additions:

- **Typed ``cat`` states.** torchmetrics gathers a list state across ranks with
  ``all_gather`` of padded tensors; on a rank that saw no batch it substitutes a 1-D
  tensor of ``metric.dtype``, which does not match an ``(N, C)`` float state or an
  ``int64`` one on the other ranks (wrong rank of sizes, wrong dtype). Every ``cat``
  state declared with :meth:`StreamingMetric._add_cat_state` instead always holds a
  ``(0, *trailing)`` tensor of its own dtype (added at construction and by
  :meth:`reset`), so that a rank without data takes part in the gather like any other.
- **Integer states stay integer.** ``set_dtype`` casts only the floating-point
  states (torchmetrics' casts every state, counts and class indexes included).
- **A device check** whose message names the field and the fix, modelled on
  torchmetrics' own device-mismatch error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

__all__ = ["StreamingMetric", "as_tensor", "cat_state"]


def as_tensor(name: str, value: Any, device: torch.device) -> Tensor:
    """A tensor as given, or a numpy array as a tensor on ``device``; TypeError otherwise."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value)).to(device)
    raise TypeError(
        f"Expected `{name}` to be a torch.Tensor or numpy array, but got {type(value).__name__}"
    )


def cat_state(value: Tensor | list[Tensor]) -> Tensor:
    """A ``cat`` state as one tensor (a list between syncs, one tensor right after one)."""
    return dim_zero_cat(value)


class StreamingMetric(Metric):
    """Base of assay's segmentation and classification metrics (see the module docstring)."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cat_specs: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}

    def _add_cat_state(self, name: str, trailing: tuple[int, ...], dtype: torch.dtype) -> None:
        """A list state joined by ``cat``, of ``dtype`` rows of shape ``trailing``."""
        self.add_state(name, default=[], dist_reduce_fx="cat")
        self._cat_specs[name] = (trailing, dtype)
        getattr(self, name).append(self._placeholder(name))

    def _placeholder(self, name: str) -> Tensor:
        trailing, dtype = self._cat_specs[name]
        return torch.empty((0, *trailing), dtype=dtype, device=self.device)

    def reset(self) -> None:
        """Forget every update (``cat`` states keep their empty typed placeholder)."""
        super().reset()
        for name in getattr(self, "_cat_specs", {}):
            getattr(self, name).append(self._placeholder(name))

    def set_dtype(self, dst_type: str | torch.dtype) -> Metric:
        """Cast the floating-point states to ``dst_type``; integer states stay as they are.

        torchmetrics' ``set_dtype`` casts every state, so integer counts and class
        indexes would become floats; here they keep their dtype. Floating ``cat``
        states take the new dtype for the rows added afterwards too.
        """
        integer: dict[str, torch.dtype] = {}
        for name, default in self._defaults.items():
            if isinstance(default, Tensor) and not default.is_floating_point():
                integer[name] = default.dtype
        for name, (_, dtype) in self._cat_specs.items():
            if not dtype.is_floating_point:
                integer[name] = dtype
        out = super().set_dtype(dst_type)
        for name, dtype in integer.items():
            value = getattr(self, name)
            if isinstance(value, Tensor):
                setattr(self, name, value.to(dtype))
            else:
                setattr(self, name, [v.to(dtype) for v in value])
            default = self._defaults[name]
            if isinstance(default, Tensor):
                self._defaults[name] = default.to(dtype)
        for name, (trailing, dtype) in self._cat_specs.items():
            if dtype.is_floating_point:
                self._cat_specs[name] = (trailing, self.dtype)
        return out

    def _check_device(self, name: str, x: Tensor) -> None:
        """ValueError naming ``name`` and the fix when ``x`` is not on the metric's device."""
        if x.device != self.device:
            cls = type(self).__name__
            raise ValueError(
                f"Expected `{name}` on the metric's device {self.device}, but got {x.device}; "
                f"move the metric to the input's device: `metric = {cls}(...).to(device)` (in "
                "Lightning, make the metric an attribute of the LightningModule and it moves "
                f"with the model), or move the input with `{name}.to(metric.device)`"
            )
