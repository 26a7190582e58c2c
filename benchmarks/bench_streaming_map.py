#!/usr/bin/env python
"""Streaming mAP in a training loop: assay vs torchmetrics, and hotcoco offline.

Same generated data (seeded, never downloaded), same process.
``assay.engine.synthetic.make_coco_detection`` makes a COCO-val-sized set (5,000
images, ~37k ground truths incl. crowd regions, 80 classes, ~100 detections per image,
scores with 3 decimals); it is cut into per-image torchvision-style dicts (``xywh``
float64 boxes, ``scores``, ``labels`` = category ids; targets with ``iscrowd`` and
``area``), images in ascending id order, and fed in batches of ``--batch`` images:

- **assay**: ``assay.MeanAveragePrecision(box_format="xywh")``: total ``update()`` time
  over all batches, then ``compute()``.
- **torchmetrics**: ``torchmetrics.detection.MeanAveragePrecision(box_format="xywh",
  backend="faster_coco_eval")``, same batches. torchvision cannot be imported on
  these machines (CPU torch; its wheels are CUDA builds), so torchmetrics runs with
  the test-only stand-in ``tests/torchvision_shim.py`` (``box_convert`` with
  torchvision's arithmetic; for ``xywh`` input it is a copy). The output says so.
- **hotcoco**: its offline ``COCOeval`` (load, evaluate, accumulate, summarize) from
  the COCO dicts of the same data, as in ``benchmarks/bench_coco_detection.py``.

All three get pycocotools' thresholds (``CocoParams()``'s float64 ``linspace``)
explicitly: the two metrics' own defaults are torchmetrics' float32 ``linspace`` values,
which hotcoco does not use. Every tool's 12 stats are compared with assay's (and
torchmetrics' float32 values with assay's rounded to float32). A time is the best of
``--repeat`` runs (torchmetrics: ``--tm-repeat``); assay and hotcoco runs alternate, and
the ratio of each alternating pair is printed too (on a shared machine the load changes
between runs). Also printed: assay's state size in bytes per detection.

Usage::

    python benchmarks/bench_streaming_map.py                  # 5,000 images, batches of 32
    python benchmarks/bench_streaming_map.py --images 500 --no-torchmetrics
    python benchmarks/bench_streaming_map.py --device cuda --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from assay import CocoParams, MeanAveragePrecision
from assay.engine.synthetic import make_coco_detection
from provenance import device_name, git_commit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

Batch = tuple[list[dict[str, torch.Tensor]], list[dict[str, torch.Tensor]]]


def make_batches(
    num_images: int, batch: int, seed: int, device: str
) -> tuple[list[Batch], dict[str, Any], list[dict[str, Any]]]:
    """Per-image dicts in batches, and the same data as COCO dicts (for hotcoco)."""
    gt, dt = make_coco_detection(num_images=num_images, seed=seed)
    image_ids = sorted(im["id"] for im in gt["images"])
    position = {image_id: i for i, image_id in enumerate(image_ids)}
    anns: list[list[dict[str, Any]]] = [[] for _ in image_ids]
    dets: list[list[dict[str, Any]]] = [[] for _ in image_ids]
    for a in gt["annotations"]:
        anns[position[a["image_id"]]].append(a)
    for d in dt:
        dets[position[d["image_id"]]].append(d)

    def tensor(rows: list[Any], dtype: torch.dtype, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.tensor(rows, dtype=dtype).reshape(shape).to(device)

    preds, target = [], []
    for a, d in zip(anns, dets, strict=True):
        preds.append(
            {
                "boxes": tensor([x["bbox"] for x in d], torch.float64, (-1, 4)),
                "scores": tensor([x["score"] for x in d], torch.float64, (-1,)),
                "labels": tensor([x["category_id"] for x in d], torch.int64, (-1,)),
            }
        )
        target.append(
            {
                "boxes": tensor([x["bbox"] for x in a], torch.float64, (-1, 4)),
                "labels": tensor([x["category_id"] for x in a], torch.int64, (-1,)),
                "iscrowd": tensor([x["iscrowd"] for x in a], torch.int64, (-1,)),
                "area": tensor([x["area"] for x in a], torch.float64, (-1,)),
            }
        )
    batches = [
        (preds[i : i + batch], target[i : i + batch]) for i in range(0, len(preds), batch)
    ]
    return batches, gt, dt


@contextlib.contextmanager
def _silent() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


STAT_KEYS = (
    "map",
    "map_50",
    "map_75",
    "map_small",
    "map_medium",
    "map_large",
    "mar_1",
    "mar_10",
    "mar_100",
    "mar_small",
    "mar_medium",
    "mar_large",
)


# pycocotools' thresholds (float64 linspace), given to both metrics explicitly: their
# own defaults are torchmetrics' float32 linspace values, which hotcoco does not use.
THRESHOLDS = {
    "iou_thresholds": list(CocoParams().iouThrs),
    "rec_thresholds": list(CocoParams().recThrs),
}


def run_metric(
    make: Callable[[], Any], batches: list[Batch], sync: Callable[[], None]
) -> dict[str, Any]:
    metric = make()
    with _silent():
        t0 = time.perf_counter()
        for preds, target in batches:
            metric.update(preds, target)
        sync()
        t1 = time.perf_counter()
        out = metric.compute()
        sync()
        t2 = time.perf_counter()
    stats = np.array([float(out[k]) for k in STAT_KEYS])
    return {"update": t1 - t0, "compute": t2 - t1, "stats": stats, "metric": metric}


def run_hotcoco(gt: dict[str, Any], dt: list[dict[str, Any]]) -> dict[str, Any]:
    import hotcoco

    gt_copy, dt_copy = copy.deepcopy(gt), copy.deepcopy(dt)
    with _silent():
        t0 = time.perf_counter()
        coco_gt = hotcoco.COCO(gt_copy)
        coco_dt = coco_gt.load_res(dt_copy)
        ev = hotcoco.COCOeval(coco_gt, coco_dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        t1 = time.perf_counter()
    return {"total": t1 - t0, "stats": np.asarray(ev.stats, dtype=np.float64)[:12]}


def state_bytes(metric: Any) -> tuple[int, int, int]:
    """(bytes of all states, detections, ground truths) of an assay metric."""
    total = 0
    for name in metric._defaults:
        value = getattr(metric, name)
        parts = value if isinstance(value, list) else [value]
        total += sum(t.numel() * t.element_size() for t in parts)
    dets = sum(t.shape[0] for t in metric.det_score)
    gts = sum(t.shape[0] for t in metric.gt_label)
    return total, dets, gts


def best(runs: list[dict[str, Any]], key: str) -> float:
    return min(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tm-repeat", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-torchmetrics", action="store_true")
    parser.add_argument("--no-hotcoco", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, device {device_name(dev)}, threads {threads}")
    print(f"cpus {os.cpu_count()}, commit {git_commit()}, load {os.getloadavg()[0]:.2f}")
    batches, gt, dt = make_batches(args.images, args.batch, args.seed, args.device)
    num_dt = sum(p["scores"].shape[0] for b in batches for p in b[0])
    num_gt = sum(t["labels"].shape[0] for b in batches for t in b[1])
    print(
        f"data: {args.images} images in {len(batches)} batches of {args.batch}, {num_gt} ground "
        f"truths, {num_dt} detections, 80 classes (seed {args.seed})"
    )

    # Warm-up (untimed): one-time start-up costs of every path.
    warm = batches[:2]
    def make_assay() -> Any:
        return MeanAveragePrecision(box_format="xywh", **THRESHOLDS).to(dev)

    run_metric(make_assay, warm, sync)
    # assay and hotcoco alternate, so that both see the same load on a shared machine.
    assay_runs: list[dict[str, Any]] = []
    hot_runs: list[dict[str, Any]] = []
    if not args.no_hotcoco:
        run_hotcoco(*make_coco_detection(num_images=10, seed=1))
    for _ in range(args.repeat):
        assay_runs.append(run_metric(make_assay, batches, sync))
        if not args.no_hotcoco:
            hot_runs.append(run_hotcoco(gt, dt))
    result: dict[str, Any] = {
        "torch": torch.__version__,
        "device": device_name(dev),
        "commit": git_commit(),
        "images": args.images,
        "batch": args.batch,
        "detections": num_dt,
        "ground_truths": num_gt,
        "assay": {
            "update": [r["update"] for r in assay_runs],
            "compute": [r["compute"] for r in assay_runs],
        },
    }
    reference = assay_runs[0]["stats"]
    size, dets, gts = state_bytes(assay_runs[0]["metric"])
    rows = [("assay", best(assay_runs, "update"), best(assay_runs, "compute"), 0.0)]
    if not args.no_torchmetrics:
        from torchvision_shim import torchmetrics_map

        print("torchmetrics runs with tests/torchvision_shim.py (torchvision cannot be imported)")
        with torchmetrics_map() as tm_map:

            def make_tm() -> Any:
                return tm_map(box_format="xywh", backend="faster_coco_eval", **THRESHOLDS)

            run_metric(make_tm, warm, sync)
            tm_runs = [run_metric(make_tm, batches, sync) for _ in range(args.tm_repeat)]
        tm_diff = float(
            np.abs(tm_runs[0]["stats"] - reference.astype(np.float32).astype(np.float64)).max()
        )
        rows.append(("torchmetrics", best(tm_runs, "update"), best(tm_runs, "compute"), tm_diff))
        result["torchmetrics"] = {
            "update": [r["update"] for r in tm_runs],
            "compute": [r["compute"] for r in tm_runs],
            "max_abs_diff_float32": tm_diff,
        }
    hot = None
    if not args.no_hotcoco:
        hot = best(hot_runs, "total")
        hot_diff = float(np.abs(hot_runs[0]["stats"] - reference).max())
        result["hotcoco"] = {"total": [r["total"] for r in hot_runs], "max_abs_diff": hot_diff}
        # assay / hotcoco per alternating pair (each pair ran under the same load)
        result["pair_ratios"] = [
            (a["update"] + a["compute"]) / h["total"]
            for a, h in zip(assay_runs, hot_runs, strict=True)
        ]

    print()
    print(f"{'tool':<14}{'update (s)':>12}{'compute (s)':>13}{'total (s)':>11}  max |stats diff|")
    for name, up, comp, diff in rows:
        print(f"{name:<14}{up:>12.3f}{comp:>13.3f}{up + comp:>11.3f}  {diff:.1e}")
    if hot is not None:
        diff = result["hotcoco"]["max_abs_diff"]
        print(f"{'hotcoco':<14}{'':>12}{'':>13}{hot:>11.3f}  {diff:.1e}")
    a_up, a_comp = rows[0][1], rows[0][2]
    print()
    if len(rows) > 1:
        print(f"compute(): torchmetrics / assay = {rows[1][2] / a_comp:.1f}x")
        ratio = (rows[1][1] + rows[1][2]) / (a_up + a_comp)
        print(f"update+compute: torchmetrics / assay = {ratio:.1f}x")
    if hot is not None:
        ratio = (a_up + a_comp) / hot
        print(f"assay update+compute / hotcoco offline = {ratio:.2f} (best of each)")
        pairs = ", ".join(f"{r:.2f}" for r in result["pair_ratios"])
        print(f"  per alternating run: {pairs}")
    print(
        f"assay per batch: update {1e3 * a_up / len(batches):.2f} ms; state {size / 1e6:.1f} MB = "
        f"{size / max(dets, 1):.1f} bytes per detection incl. {gts} ground-truth rows "
        f"({dets} detections)"
    )
    result["state_bytes"] = size
    result["load_after"] = os.getloadavg()[0]
    print(f"load {result['load_after']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
