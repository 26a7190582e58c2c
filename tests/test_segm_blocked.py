"""The CPU block paths of the mask kernels and the segmentation loader.

On the CPU, segmentations are parsed in blocks of ``_SEGM_BLOCK`` records and the mask
kernels work on ranges of about ``_CPU_BLOCK_RUNS`` runs / ``_CPU_BLOCK_PAIRS`` pairs, so
that temporaries stay in cache. Real data only crosses those sizes at thousands of
images; here they are shrunk so the blocked code runs on the reference data, and the
result must still equal pycocotools cell for cell.
"""

from __future__ import annotations

import json
from pathlib import Path

import assay
import assay.engine.formats.coco as coco_format
import assay.kernels.masks as masks
import numpy as np
import pytest
import torch
from oracles import assert_matches_cocoeval, run_pycocotools


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_COMPILED", "0")  # the torch paths' blocks (compiled: one pass)
    monkeypatch.setattr(masks, "_CPU_BLOCK_RUNS", 64)
    monkeypatch.setattr(masks, "_CPU_BLOCK_PAIRS", 7)
    monkeypatch.setattr(coco_format, "_SEGM_BLOCK", 5)


def test_blocked_segm_equals_pycocotools(shared_data: Path, tiny_blocks: None) -> None:
    d = shared_data / "coco_val2014_100"
    gt = json.loads((d / "instances_val2014_100.json").read_text())
    dt = json.loads((d / "instances_val2014_fakesegm100_results.json").read_text())
    result = assay.evaluate_coco(gt, dt, "segm", device="cpu")
    assert_matches_cocoeval(result, run_pycocotools(gt, dt, "segm"))


def test_blocked_kernels_equal_unblocked(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = shared_data / "coco_val2014_100"
    gt = json.loads((d / "instances_val2014_100.json").read_text())
    _, table = coco_format.load_coco_ground_truth(gt, iou_type="segm")
    rle = table.mask
    assert rle is not None
    area, box = masks.rle_area(rle), masks.rle_to_box(rle)
    n = len(table)
    pair_dt = np.repeat(np.arange(n), 3)
    pair_gt = (pair_dt + np.tile([0, 1, 5], n)) % n  # self, neighbours: overlaps and misses
    pd, pg = torch.from_numpy(pair_dt), torch.from_numpy(pair_gt)
    crowd = table.iscrowd.index_select(0, pg)  # per pair
    iou = masks.rle_iou_pairs(rle, rle, pd, pg, crowd)
    monkeypatch.setattr(masks, "_CPU_BLOCK_RUNS", 64)
    monkeypatch.setattr(masks, "_CPU_BLOCK_PAIRS", 7)
    assert torch.equal(masks.rle_area(rle), area)
    assert torch.equal(masks.rle_to_box(rle), box)
    assert torch.equal(masks.rle_iou_pairs(rle, rle, pd, pg, crowd), iou)


def test_loader_blocks_follow_the_compiled_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader reads records in blocks for the torch paths, and all at once when the
    compiled loops run: loaded already, or worth loading for this many masks."""
    pytest.importorskip("numba")
    from assay.kernels import _compiled

    monkeypatch.setenv("ASSAY_NATIVE", "0")  # numba's loading rules (the C loops need no load)
    monkeypatch.setenv("ASSAY_NUMBA", "1")
    monkeypatch.setattr(coco_format, "_SEGM_BLOCK", 4)
    monkeypatch.setattr(_compiled, "MIN_MASKS_COLD", 10)
    calls: list[int] = []
    polygon_masks = coco_format._polygon_masks

    def counted(segs: list, *args: object) -> object:
        calls.append(len(segs))
        return polygon_masks(segs, *args)

    monkeypatch.setattr(coco_format, "_polygon_masks", counted)
    square = [[1.0, 1.0, 5.0, 1.0, 5.0, 5.0, 1.0, 5.0]]

    def load(n: int) -> None:
        calls.clear()
        records = [{"segmentation": square} for _ in range(n)]
        image = np.zeros(n, dtype=np.int64)
        sizes = np.array([[8, 8]], dtype=np.int64)
        rle = coco_format._segmentation_column(records, "dt", image, sizes, str)
        assert rle.num_masks == n and torch.equal(masks.rle_area(rle), torch.full((n,), 16))

    monkeypatch.setattr(_compiled, "_loaded", {})  # cold: the loops are not loaded
    load(9)  # under the cold minimum: blocks of 4
    assert calls == [4, 4, 1] and "_numba_kernels" not in _compiled._loaded
    load(10)  # at it: all at once, and the loops are loaded
    assert calls == [10] and _compiled._loaded["_numba_kernels"] is not None
    load(9)  # warm: all at once
    assert calls == [9]
    monkeypatch.setenv("ASSAY_NUMBA", "0")
    load(9)
    assert calls == [4, 4, 1]
    monkeypatch.setenv("ASSAY_NATIVE", "1")  # the C loops, when built: all at once
    load(9)
    assert calls == ([9] if _compiled._native("_numba_kernels") is not None else [4, 4, 1])
