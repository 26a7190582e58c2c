#!/usr/bin/env python
"""Streaming segmentation / classification metrics: one validation epoch, assay vs torchmetrics.

An epoch is ``update()`` on every batch, then ``compute()``, in one process on one
device. Each assay metric is timed against the torchmetrics objects a user would need
for the same numbers (a ``MetricCollection``, so that torchmetrics' compute groups
share state where they can):

========================  ==========================================================
semantic                  ``SemanticSegmentationMetrics`` vs ``MulticlassJaccardIndex``
                          + ``MulticlassAccuracy`` (micro: pixel accuracy, macro: class
                          accuracy), label maps with ``ignore_index=255``
multiclass                ``MulticlassMetrics`` vs ``MulticlassAccuracy``,
                          ``MulticlassPrecision``, ``MulticlassRecall``, ``MulticlassF1Score``
ranking                   ``MulticlassRankingMetrics`` vs ``MulticlassAUROC`` +
                          ``MulticlassAveragePrecision`` (``thresholds=None``, exact)
========================  ==========================================================

Both sides run with ``validate_args=True`` (the default: label values are checked)
and, in a second row, ``False``. The data are generated (seeded): blocky label maps
with 70 % correct pixels; float32 softmax probabilities favouring the true class. A
time is the best of ``--repeat`` epochs; the largest difference from torchmetrics'
(float32) numbers is printed beside it.

Usage::

    python benchmarks/bench_streaming_metrics.py                 # CPU, 1 thread
    python benchmarks/bench_streaming_metrics.py --device cuda --threads 0
    python benchmarks/bench_streaming_metrics.py --samples 20000 --classes 20 --images 64
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from provenance import device_name, git_commit


@dataclass
class Row:
    metric: str
    validate_args: bool
    assay_update: float
    assay_compute: float
    torchmetrics_update: float
    torchmetrics_compute: float
    max_abs_diff: float

    @property
    def ratio(self) -> float:
        return (self.torchmetrics_update + self.torchmetrics_compute) / (
            self.assay_update + self.assay_compute
        )


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _epoch(
    make: Callable[[], Any], batches: list[tuple[torch.Tensor, torch.Tensor]], device: str
) -> tuple[float, float, dict[str, torch.Tensor]]:
    metric = make().to(device)
    _sync(device)
    start = time.perf_counter()
    for p, t in batches:
        metric.update(p, t)
    _sync(device)
    mid = time.perf_counter()
    out = metric.compute()
    _sync(device)
    return mid - start, time.perf_counter() - mid, out


def _best(
    make: Callable[[], Any], batches: list, device: str, repeat: int
) -> tuple[float, float, dict]:
    _epoch(make, batches[:2], device)  # warm-up
    best_u, best_c, out = float("inf"), float("inf"), {}
    for _ in range(repeat):
        u, c, out = _epoch(make, batches, device)
        best_u, best_c = min(best_u, u), min(best_c, c)
    return best_u, best_c, out


def semantic_batches(images: int, size: int, c: int, batch: int, device: str) -> list:
    g = torch.Generator().manual_seed(0)
    out = []
    for lo in range(0, images, batch):
        n = min(batch, images - lo)
        blocks = torch.randint(0, c, (n, size // 16, size // 16), generator=g)
        target = blocks.repeat_interleave(16, 1).repeat_interleave(16, 2)
        target[:, :8, :] = 255
        noise = torch.randint(0, c, target.shape, generator=g)
        preds = torch.where(torch.rand(target.shape, generator=g) < 0.7, target, noise)
        preds = torch.where(preds == 255, 0, preds)
        out.append((preds.to(device), target.to(device)))
    return out


def classification_batches(samples: int, c: int, batch: int, device: str) -> list:
    g = torch.Generator().manual_seed(1)
    out = []
    for lo in range(0, samples, batch):
        n = min(batch, samples - lo)
        target = torch.randint(0, c, (n,), generator=g)
        logits = torch.randn(n, c, generator=g)
        logits[torch.arange(n), target] += 1.5
        out.append((logits.softmax(1).to(device), target.to(device)))
    return out


def _diff(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor], keys: dict) -> float:
    worst = 0.0
    for k_ours, k_theirs in keys.items():
        a = float(ours[k_ours])
        b = float(theirs[k_theirs])
        worst = max(worst, abs(a - b))
    return worst


def run(args: argparse.Namespace) -> list[Row]:
    import assay
    from torchmetrics import MetricCollection
    from torchmetrics import classification as tmc

    dev, c, k = args.device, args.classes, args.seg_classes
    seg = semantic_batches(args.images, args.size, k, args.seg_batch, dev)
    cls = classification_batches(args.samples, c, args.batch, dev)
    rows = []
    for validate in (True, False):
        v = {"validate_args": validate}
        cases = [
            (
                "semantic",
                seg,
                lambda v=v: assay.SemanticSegmentationMetrics(k, 255, per_class=False, **v),
                lambda v=v: MetricCollection(
                    {
                        "miou": tmc.MulticlassJaccardIndex(k, ignore_index=255, **v),
                        "pixel_accuracy": tmc.MulticlassAccuracy(
                            k, average="micro", ignore_index=255, **v
                        ),
                        "mean_class_accuracy": tmc.MulticlassAccuracy(
                            k, average="macro", ignore_index=255, **v
                        ),
                    }
                ),
                {"miou": "miou", "pixel_accuracy": "pixel_accuracy",
                 "mean_class_accuracy": "mean_class_accuracy"},
            ),
            (
                "multiclass",
                cls,
                lambda v=v: assay.MulticlassMetrics(c, **v),
                lambda v=v: MetricCollection(
                    {
                        "accuracy": tmc.MulticlassAccuracy(c, **v),
                        "precision": tmc.MulticlassPrecision(c, **v),
                        "recall": tmc.MulticlassRecall(c, **v),
                        "f1": tmc.MulticlassF1Score(c, **v),
                    }
                ),
                {"accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "f1"},
            ),
            (
                "ranking",
                cls,
                lambda v=v: assay.MulticlassRankingMetrics(c, **v),
                lambda v=v: MetricCollection(
                    {
                        "auroc": tmc.MulticlassAUROC(c, thresholds=None, **v),
                        "average_precision": tmc.MulticlassAveragePrecision(
                            c, thresholds=None, **v
                        ),
                    }
                ),
                {"auroc": "auroc", "average_precision": "average_precision"},
            ),
        ]
        for name, batches, ours, theirs, keys in cases:
            if args.metrics and name not in args.metrics:
                continue
            au, ac, a_out = _best(ours, batches, dev, args.repeat)
            tu, tc, t_out = _best(theirs, batches, dev, args.repeat)
            rows.append(Row(name, validate, au, ac, tu, tc, _diff(a_out, t_out, keys)))
            print(f"  {name} validate_args={validate}: done", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--images", type=int, default=128, help="label maps per epoch")
    parser.add_argument("--size", type=int, default=256, help="label maps are size x size")
    parser.add_argument("--seg-classes", type=int, default=21)
    parser.add_argument("--seg-batch", type=int, default=8)
    parser.add_argument("--samples", type=int, default=50_000, help="classification samples")
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's)")
    parser.add_argument("--metrics", nargs="*", choices=["semantic", "multiclass", "ranking"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    rows = run(args)
    header = {
        "torch": torch.__version__,
        "device": device_name(args.device),
        "threads": torch.get_num_threads(),
        "commit": git_commit(),
        "semantic": f"{args.images} maps {args.size}x{args.size}, {args.seg_classes} classes, "
        f"batches of {args.seg_batch}",
        "classification": f"{args.samples} x {args.classes}, batches of {args.batch}",
    }
    if args.json:
        print(json.dumps({**header, "rows": [asdict(r) for r in rows]}, indent=2))
        return
    for key, value in header.items():
        print(f"{key}: {value}")
    print(
        f"{'metric':<11} {'validate':>8} {'assay upd':>10} {'assay cmp':>10} "
        f"{'tm upd':>10} {'tm cmp':>10} {'tm/assay':>9} {'max|diff|':>10}"
    )
    for r in rows:
        print(
            f"{r.metric:<11} {r.validate_args!s:>8} {r.assay_update:10.4f} {r.assay_compute:10.4f} "
            f"{r.torchmetrics_update:10.4f} {r.torchmetrics_compute:10.4f} {r.ratio:9.2f} "
            f"{r.max_abs_diff:10.2e}"
        )


if __name__ == "__main__":
    main()
