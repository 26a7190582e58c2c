#!/usr/bin/env python
"""Semantic segmentation confusion / IoU: assay against torchmetrics, same process.

The data is generated, never downloaded (seeded): ``--maps`` label maps of
``--size x --size`` pixels with ``--classes`` classes (default 500 maps of 512 x 512,
21 classes: Pascal VOC's shape), blocky targets with ``--ignore-share`` of the pixels
set to ``ignore_index`` 255, and predictions that agree with the target on about 70%
of the pixels. Inputs are built once, outside the timed region, as ``--dtype``
tensors on ``--device``.

Rows (each the best of ``--repeat`` runs, after one untimed warm-up on a tiny input):

- ``assay``: ``assay.evaluate_semantic(target, preds, C, 255)``: input checks (value
  range, shapes), the confusion matrix and every score;
- ``assay-kernel``: ``assay.kernels.segmentation.pixel_confusion_matrix`` alone;
- ``torchmetrics``: ``MulticlassJaccardIndex(C, ignore_index=255, average=None)``
  ``update`` + ``compute`` with its default ``validate_args=True``;
- ``torchmetrics-novalidate``: the same with ``validate_args=False``.

The per-class IoU of every row is compared with assay's (torchmetrics computes in
float32: 1e-6). Ratios are torchmetrics' time over assay's.

Usage::

    python benchmarks/bench_semantic.py                       # 500 x 512 x 512, ~1 GB each
    python benchmarks/bench_semantic.py --maps 50 --repeat 1  # a quick check
    python benchmarks/bench_semantic.py --device cuda --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import assay
import numpy as np
import torch
from assay.kernels.segmentation import pixel_confusion_matrix
from provenance import device_name, git_commit

REPO = Path(__file__).resolve().parents[1]
IGNORE = 255
DTYPES = {"int64": torch.int64, "int32": torch.int32, "uint8": torch.uint8}


def environment(device: torch.device) -> dict[str, Any]:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count() or 0
    torchmetrics_version = None
    with contextlib.suppress(ImportError):
        import torchmetrics

        torchmetrics_version = torchmetrics.__version__
    return {
        "torch": torch.__version__,
        "torchmetrics": torchmetrics_version,
        "assay": assay.__version__,
        "python": platform.python_version(),
        "device": device_name(device),
        "cpu_affinity": affinity,
        "torch_threads": torch.get_num_threads(),
        "git_commit": git_commit(),
    }


def make_maps(
    n: int, size: int, classes: int, ignore_share: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blocky int64 target maps (16 x 16 blocks) and noisy predictions, seeded."""
    g = torch.Generator().manual_seed(seed)
    blocks = (size + 15) // 16
    coarse = torch.randint(0, classes, (n, blocks, blocks), generator=g)
    target = coarse.repeat_interleave(16, 1).repeat_interleave(16, 2)[:, :size, :size]
    noise = torch.randint(0, classes, (n, size, size), generator=g)
    keep = torch.rand((n, size, size), generator=g) < 0.7
    preds = torch.where(keep, target, noise)
    if ignore_share > 0:
        target = torch.where(
            torch.rand((n, size, size), generator=g) < ignore_share,
            torch.full_like(target, IGNORE),
            target,
        )
    return target.contiguous(), preds.contiguous()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_of(fn: Callable[[], Any], repeat: int, device: torch.device) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        _sync(device)
        t0 = time.perf_counter()
        out = fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best, out


def rows(
    target: torch.Tensor, preds: torch.Tensor, classes: int, peers: list[str]
) -> dict[str, Callable[[], np.ndarray]]:
    """Each row: a callable returning the per-class IoU as float64 numpy (NaN as 0)."""
    out: dict[str, Callable[[], np.ndarray]] = {}

    def assay_full() -> np.ndarray:
        r = assay.evaluate_semantic(target, preds, classes, IGNORE)
        return np.nan_to_num(r.iou)

    def assay_kernel() -> np.ndarray:
        cm = pixel_confusion_matrix(target, preds, classes, IGNORE).double()
        tp = cm.diagonal()
        return np.nan_to_num((tp / (cm.sum(0) + cm.sum(1) - tp)).cpu().numpy())

    if "assay" in peers:
        out["assay"] = assay_full
    if "assay-kernel" in peers:
        out["assay-kernel"] = assay_kernel
    try:
        from torchmetrics.classification import MulticlassJaccardIndex
    except ImportError:
        return out

    def tm(validate: bool) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            metric = MulticlassJaccardIndex(
                classes, ignore_index=IGNORE, average=None, validate_args=validate
            ).to(target.device)
            metric.update(preds, target)
            return np.asarray(metric.compute().double().cpu().numpy())

        return run

    if "torchmetrics" in peers:
        out["torchmetrics"] = tm(True)
    if "torchmetrics-novalidate" in peers:
        out["torchmetrics-novalidate"] = tm(False)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--maps", type=int, default=500)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--classes", type=int, default=21)
    p.add_argument("--ignore-share", type=float, default=0.05)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="int64")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--peers",
        nargs="+",
        default=["assay", "assay-kernel", "torchmetrics", "torchmetrics-novalidate"],
    )
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)

    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    env = environment(device)
    t0 = time.perf_counter()
    target, preds = make_maps(args.maps, args.size, args.classes, args.ignore_share, args.seed)
    dtype = DTYPES[args.dtype]
    target, preds = target.to(device=device, dtype=dtype), preds.to(device=device, dtype=dtype)
    generated = time.perf_counter() - t0
    pixels = target.numel()
    print(
        f"{args.maps} maps of {args.size}x{args.size} ({pixels / 1e6:.1f} M pixels, "
        f"{args.dtype}), {args.classes} classes, ignore share {args.ignore_share}; "
        f"generated in {generated:.1f} s"
    )
    print(
        f"torch {env['torch']}, torchmetrics {env['torchmetrics']}, device {env['device']}, "
        f"{env['torch_threads']} threads, git {env['git_commit']}"
    )

    tiny_t, tiny_p = (x[:1, :8, :8].contiguous() for x in (target, preds))
    for fn in rows(tiny_t, tiny_p, args.classes, args.peers).values():
        fn()  # warm-up: imports, allocator, kernels

    results: dict[str, dict[str, Any]] = {}
    reference: np.ndarray | None = None
    for name, fn in rows(target, preds, args.classes, args.peers).items():
        seconds, iou = best_of(fn, args.repeat, device)
        if reference is None:
            reference = iou
        agree = bool(np.allclose(iou, reference, rtol=0, atol=1e-6))
        results[name] = {"seconds": seconds, "iou_agrees": agree}

    base = results.get("assay", next(iter(results.values()), None))
    tm = results.get("torchmetrics")
    print(f"\n{'row':<26} {'seconds':>9} {'Mpix/s':>9} {'tm / row':>9}  IoU agrees")
    for name, r in results.items():
        ratio = tm["seconds"] / r["seconds"] if tm else float("nan")
        r["ratio_torchmetrics_over_row"] = ratio
        print(
            f"{name:<26} {r['seconds']:9.4f} {pixels / 1e6 / r['seconds']:9.1f} "
            f"{ratio:9.2f}  {r['iou_agrees']}"
        )
    if base is not None and tm is not None:
        print(f"\ntorchmetrics / assay = {tm['seconds'] / base['seconds']:.2f}x")
    if args.json is not None:
        payload = {"args": {k: str(v) for k, v in vars(args).items()}, "env": env}
        payload["results"] = results
        args.json.write_text(json.dumps(payload, indent=2))
    return 0 if all(r["iou_agrees"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
