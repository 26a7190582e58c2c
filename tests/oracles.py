"""Independent implementations that assay is checked against (test-only)."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "array_sha256",
    "assert_matches_cocoeval",
    "first_diverging_cell",
    "load_json",
    "run_pycocotools",
]


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


def load_json(root: Path, rel: str) -> Any:
    """A JSON file of the reference data, read in place."""
    return json.loads((root / rel).read_text())


def array_sha256(arr: np.ndarray) -> str:
    """The recipe of expected.json's ``sha256_c_order``: C-order little-endian float64 bytes."""
    return hashlib.sha256(np.ascontiguousarray(arr, dtype="<f8").tobytes()).hexdigest()


def first_diverging_cell(ours: np.ndarray, theirs: np.ndarray, atol: float) -> str | None:
    """``ours vs theirs`` at the first cell (C order) that differs, else None."""
    bad = np.argwhere(~np.isclose(ours, theirs, rtol=0, atol=atol))
    if not len(bad):
        return None
    idx = tuple(int(i) for i in bad[0])
    return (
        f"{len(bad)} cells differ; first {list(idx)}: "
        f"assay {float(ours[idx])!r} vs pycocotools {float(theirs[idx])!r}"
    )
