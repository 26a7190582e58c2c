"""Worker of tests/test_streaming_ddp.py: one gloo rank on the CPU running MeanAveragePrecision.

It lives in its own module (not in the test file) so that the processes started by
``torch.multiprocessing.spawn`` can import it by name (tests/ is on ``sys.path``).
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from detection_scenes import Scene, make_scene

WORLD_SIZE = 2

# The images (by position in the scene) each rank sees, as its list of batches, per
# split: uneven shares, and a rank that sees no image at all. Rank 0's images come
# first in the scene, so the synced result must equal one process fed the whole scene.
SPLITS: dict[str, tuple[list[list[int]], list[list[int]]]] = {
    "uneven": ([[0, 1]], [[2, 3, 4], [5], [6, 7, 8]]),
    "rank1_empty": ([[0, 1, 2, 3], [4, 5, 6, 7, 8]], []),
    "rank0_empty": ([], [[0], [1, 2, 3, 4, 5, 6], [7, 8]]),
}
CONFIGS: dict[str, dict[str, Any]] = {
    "bbox": {"class_metrics": True},
    "micro": {"average": "micro", "class_metrics": True},
    "segm": {"iou_type": "segm", "class_metrics": True},
    "both_extended": {"iou_type": ("bbox", "segm"), "extended_summary": True},
}


@cache
def scene() -> Scene:
    """Nine images: crowd regions, given areas, ties, empty images, masks."""
    return make_scene(
        31, images=9, masks=True, crowd=0.25, given_area=True, coarse_scores=True, empty_images=True
    )


def feed(metric: Any, batches: list[list[int]]) -> None:
    """Update ``metric`` with the scene's images, batch by batch."""
    preds, target = scene()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for batch in batches:
            metric.update([preds[i] for i in batch], [target[i] for i in batch])


def run(rank: int, port: int, out_dir: str) -> None:
    """Entry point of one rank: compute every config of every split, save the results."""
    from assay import MeanAveragePrecision

    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE
    )
    try:
        results: dict[str, Any] = {}
        for split, per_rank in SPLITS.items():
            for name, kwargs in CONFIGS.items():
                metric = MeanAveragePrecision(**kwargs)
                feed(metric, per_rank[rank])
                local_rows = sum(t.shape[0] for t in metric.det_score)
                with warnings.catch_warnings():  # a rank without data: "compute before update"
                    warnings.simplefilter("ignore")
                    results[f"{split}/{name}"] = dict(metric.compute())
                # compute() syncs a copy: the local state is back afterwards
                results[f"{split}/{name}/restored"] = isinstance(metric.det_score, list) and (
                    sum(t.shape[0] for t in metric.det_score) == local_rows
                )
        torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()
