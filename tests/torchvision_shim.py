"""Test-only stand-in for ``torchvision.ops.box_convert``, so torchmetrics' mAP can run here.

torchmetrics' ``MeanAveragePrecision`` refuses to start without torchvision
(``_TORCHVISION_AVAILABLE``) and calls ``torchvision.ops.box_convert`` on every box
tensor; torchvision cannot be installed next to the CPU torch of these machines (its
wheels are CUDA builds). :func:`torchmetrics_map` installs a minimal ``torchvision``
package with ``ops.box_convert`` only, written after torchvision's own
``ops/boxes.py`` / ``ops/_box_convert.py`` (every conversion goes through ``xyxy``,
with the same expressions), patches the flag, and hands back torchmetrics' class. It is
used by the parity tests and by ``benchmarks/bench_streaming_map.py``; nothing in
assay imports it.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor

__all__ = ["box_convert", "torchmetrics_map"]


def _cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)


def _xyxy_to_cxcywh(boxes: Tensor) -> Tensor:
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def _xywh_to_xyxy(boxes: Tensor) -> Tensor:
    x, y, w, h = boxes.unbind(-1)
    return torch.stack([x, y, x + w, y + h], dim=-1)


def _xyxy_to_xywh(boxes: Tensor) -> Tensor:
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack((x1, y1, x2 - x1, y2 - y1), dim=-1)


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """torchvision's ``box_convert`` for the three axis-aligned formats."""
    if in_fmt == out_fmt:
        return boxes.clone()
    to_xyxy = {"xywh": _xywh_to_xyxy, "cxcywh": _cxcywh_to_xyxy, "xyxy": lambda b: b}
    from_xyxy = {"xywh": _xyxy_to_xywh, "cxcywh": _xyxy_to_cxcywh, "xyxy": lambda b: b}
    return from_xyxy[out_fmt](to_xyxy[in_fmt](boxes))


@contextmanager
def torchmetrics_map() -> Iterator[Any]:
    """torchmetrics' ``MeanAveragePrecision`` class, runnable without torchvision.

    Inside the block ``sys.modules`` holds the stand-in ``torchvision`` (and
    ``torchvision.ops``) and torchmetrics' availability flag is True; both are put
    back on exit.
    """
    import torchmetrics.detection.mean_ap as mean_ap

    package = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    ops.box_convert = box_convert  # type: ignore[attr-defined]
    package.ops = ops  # type: ignore[attr-defined]
    saved = {name: sys.modules.get(name) for name in ("torchvision", "torchvision.ops")}
    flag = mean_ap._TORCHVISION_AVAILABLE
    sys.modules["torchvision"], sys.modules["torchvision.ops"] = package, ops
    mean_ap._TORCHVISION_AVAILABLE = True
    try:
        yield mean_ap.MeanAveragePrecision
    finally:
        mean_ap._TORCHVISION_AVAILABLE = flag
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
