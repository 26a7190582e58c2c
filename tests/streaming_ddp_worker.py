"""Worker of tests/test_streaming_ddp_metrics.py: one gloo rank on the CPU.

It lives in its own module (not in the test file) so that the processes started by
``torch.multiprocessing.spawn`` can import it by name (tests/ is on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

WORLD_SIZE = 2
NUM_CLASSES = 5
IGNORE = 255


def semantic_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(preds, target) label-map batches of different sizes; class 4 never appears."""
    g = torch.Generator().manual_seed(11)
    out = []
    for n in (3, 1, 2, 4):
        target = torch.randint(0, 4, (n, 6, 7), generator=g)
        target[:, 0, :2] = IGNORE
        noise = torch.randint(0, 4, (n, 6, 7), generator=g)
        preds = torch.where(torch.rand(n, 6, 7, generator=g) < 0.6, target, noise)
        preds[preds == IGNORE] = 0
        out.append((preds, target))
    return out


def classification_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(scores (N, C) probabilities, target (N,)) batches of different sizes, with ties."""
    g = torch.Generator().manual_seed(12)
    out = []
    for n in (7, 1, 5, 11):
        target = torch.randint(0, NUM_CLASSES, (n,), generator=g)
        logits = torch.randn(n, NUM_CLASSES, generator=g) + 1.5 * torch.nn.functional.one_hot(
            target, NUM_CLASSES
        )
        scores = (logits.softmax(1) * 8).round() / 8  # coarse: many tied scores
        target[0] = IGNORE if n == 11 else target[0]
        out.append((scores, target))
    return out


def make_metrics() -> dict[str, Any]:
    """The metrics under test, by name (a fresh set per split)."""
    from assay import MulticlassMetrics, MulticlassRankingMetrics, SemanticSegmentationMetrics

    return {
        "semantic": SemanticSegmentationMetrics(NUM_CLASSES, ignore_index=IGNORE),
        "multiclass_macro": MulticlassMetrics(NUM_CLASSES, ignore_index=IGNORE),
        "multiclass_none": MulticlassMetrics(NUM_CLASSES, average="none", ignore_index=IGNORE),
        "ranking_macro": MulticlassRankingMetrics(NUM_CLASSES, ignore_index=IGNORE),
        "ranking_none": MulticlassRankingMetrics(NUM_CLASSES, average=None, ignore_index=IGNORE),
    }


def feed(metrics: dict[str, Any], batches: list[int]) -> None:
    """Update every metric with the batches of the given indexes."""
    seg, cls = semantic_batches(), classification_batches()
    for i in batches:
        metrics["semantic"].update(*seg[i])
        for name in ("multiclass_macro", "multiclass_none", "ranking_macro", "ranking_none"):
            metrics[name].update(*cls[i])


# Which batches each rank gets, per split: uneven sizes, and a rank with no data.
SPLITS: dict[str, tuple[list[int], list[int]]] = {
    "uneven": ([1], [0, 2, 3]),
    "rank1_empty": ([0, 1, 2, 3], []),
    "rank0_empty": ([], [3, 2, 1, 0]),
}


def run(rank: int, port: int, out_dir: str) -> None:
    """Entry point of one rank: compute every metric of every split, save the results."""
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE
    )
    try:
        results: dict[str, Any] = {}
        for split, per_rank in SPLITS.items():
            metrics = make_metrics()
            feed(metrics, per_rank[rank])
            local_confmat = metrics["semantic"].confmat.clone()
            for name, metric in metrics.items():
                results[f"{split}/{name}"] = metric.compute()
            results[f"{split}/semantic_result"] = metrics["semantic"].result().to_dict()
            # compute() syncs a copy: the local state is back afterwards
            results[f"{split}/local_restored"] = bool(
                torch.equal(metrics["semantic"].confmat, local_confmat)
            )
        torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()
