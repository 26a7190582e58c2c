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
    monkeypatch.setenv("ASSAY_NUMBA", "0")  # the blocks are the torch paths' (numba: one pass)
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
