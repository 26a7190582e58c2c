"""Independent implementations that assay is checked against (test-only)."""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["assert_matches_cocoeval", "run_pycocotools"]


def run_pycocotools(
    gt: Mapping[str, Any],
    dt: list[dict[str, Any]] | np.ndarray,
    iou_type: str = "bbox",
    params: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate with pycocotools (silenced; inputs deep-copied since it mutates them).

    Returns:
        The ``COCOeval`` object after evaluate / accumulate / summarize.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(dict(gt))
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(dt) if not isinstance(dt, np.ndarray) else dt)
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        for key, value in (params or {}).items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def assert_matches_cocoeval(result: Any, ev: Any, atol: float = 1e-12) -> None:
    """assay's CocoResult equals pycocotools' stats and full arrays."""
    np.testing.assert_allclose(result.stats, ev.stats, rtol=0, atol=atol)
    for key in ("precision", "recall", "scores"):
        ours, theirs = getattr(result, key), ev.eval[key]
        assert ours.shape == theirs.shape, (key, ours.shape, theirs.shape)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol, err_msg=key)
