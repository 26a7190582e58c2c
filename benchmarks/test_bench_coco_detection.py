"""pytest-benchmark suites for COCO bbox evaluation (small, generated data).

Run the timings with ``pytest benchmarks/ --benchmark-enable``; in the normal test
run (``--benchmark-disable``) each benchmark runs once, as a smoke test. Nothing here
asserts anything about time: only that both paths give the same, sane stats. The
peer comparison at COCO-val size is ``benchmarks/bench_coco_detection.py``.
"""

from __future__ import annotations

from typing import Any

import assay
import numpy as np
import pytest
import torch
from assay.engine.synthetic import coco_to_tables, make_coco_detection

NUM_IMAGES = 500
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def coco_dicts() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gt, dt = make_coco_detection(num_images=NUM_IMAGES, seed=0)
    return gt, dt


@pytest.fixture(scope="module")
def reference_stats(coco_dicts: tuple[dict[str, Any], list[dict[str, Any]]]) -> np.ndarray:
    gt, dt = coco_dicts
    stats: np.ndarray = assay.evaluate_coco(gt, dt).stats
    return stats


@pytest.mark.parametrize("device", DEVICES)
def test_bench_evaluate_coco_from_dicts(
    benchmark: Any,
    coco_dicts: tuple[dict[str, Any], list[dict[str, Any]]],
    device: str,
) -> None:
    gt, dt = coco_dicts
    benchmark.extra_info.update(
        images=NUM_IMAGES, detections=len(dt), torch=torch.__version__, device=device
    )
    result = benchmark(assay.evaluate_coco, gt, dt, device=device)
    assert result.stats.shape == (12,)
    assert np.all((result.stats > 0) & (result.stats < 1))


@pytest.mark.parametrize("device", DEVICES)
def test_bench_evaluate_detections_from_tensors(
    benchmark: Any,
    coco_dicts: tuple[dict[str, Any], list[dict[str, Any]]],
    reference_stats: np.ndarray,
    device: str,
) -> None:
    gt_map, dt_map, num_images, num_categories = coco_to_tables(*coco_dicts)
    gt_map = {k: v.to(device) for k, v in gt_map.items()}
    dt_map = {k: v.to(device) for k, v in dt_map.items()}
    benchmark.extra_info.update(
        images=NUM_IMAGES, detections=len(coco_dicts[1]), torch=torch.__version__, device=device
    )

    def evaluate() -> assay.CocoResult:
        result = assay.evaluate_detections(
            gt_map, dt_map, num_images=num_images, num_categories=num_categories, box_format="xywh"
        )
        if device == "cuda":
            torch.cuda.synchronize()
        return result

    result = benchmark(evaluate)
    np.testing.assert_allclose(result.stats, reference_stats, rtol=0, atol=1e-12)


def test_synthetic_data_has_coco_shape(
    coco_dicts: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    gt, dt = coco_dicts
    area = np.array([a["area"] for a in gt["annotations"]])
    assert (area < 32**2).any() and ((area >= 32**2) & (area < 96**2)).any()
    assert (area >= 96**2).any()
    assert any(a["iscrowd"] for a in gt["annotations"])
    cat_ids = [c["id"] for c in gt["categories"]]
    assert cat_ids != list(range(1, len(cat_ids) + 1))  # COCO's ids have gaps
    per_image = np.unique([d["image_id"] for d in dt], return_counts=True)[1]
    assert per_image.max() > 100  # some images exceed maxDets
    scores = np.array([d["score"] for d in dt])
    assert len(np.unique(scores)) < len(scores)  # 3-decimal ties
