#!/usr/bin/env python
"""Classification metrics: assay's kernels against scikit-learn and torchmetrics.

Same generated data (seeded, never downloaded), same process: ``N`` samples x ``C``
classes of float32 probabilities (softmax of logits that favour the true class, so
AUCs are informative), int64 targets, and for the multilabel rows an ``(N, C)``
indicator matrix. Every metric is timed for each library over its public call
(torchmetrics with ``thresholds=None``, its exact mode; ``validate_args=False``), on
the same device for assay and torchmetrics, numpy on the CPU for scikit-learn. A time
is the best of ``--repeat`` runs after one untimed warm-up on a small slice. Each row
also prints the largest absolute difference between assay's and scikit-learn's numbers.

Usage::

    python benchmarks/bench_classification.py                       # 1,000,000 x 100
    python benchmarks/bench_classification.py --samples 20000 --classes 20
    python benchmarks/bench_classification.py --metrics auroc average_precision --device cuda
    python benchmarks/bench_classification.py --decimals 2          # many tied scores
    python benchmarks/bench_classification.py --threads 1           # on a busy machine

On a CPU shared with other jobs, torch's OpenMP threads can stall each other (seen
here: 0.02 s with 1 thread, 0.8 s with 2 for the same call); ``--threads 1`` then gives
stable numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from assay import kernels as K
from provenance import device_name, git_commit

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Data:
    preds: torch.Tensor  # (N, C) float32 probabilities, on the device
    target: torch.Tensor  # (N,) int64
    multilabel: torch.Tensor  # (N, C) int64 indicators
    s: np.ndarray  # CPU copies for scikit-learn
    t: np.ndarray
    y: np.ndarray


@dataclass
class Row:
    metric: str
    assay: float | None = None
    sklearn: float | None = None
    torchmetrics: float | None = None
    max_abs_diff_vs_sklearn: float | None = None


def generate(n: int, c: int, decimals: int | None, seed: int, device: str) -> Data:
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, c, (n,), generator=g)
    logits = torch.randn(n, c, generator=g)
    logits[torch.arange(n), target] += 1.5
    preds = torch.softmax(logits, dim=1)
    if decimals is not None:
        preds = torch.round(preds, decimals=decimals)
    preds = preds.float()
    y = (torch.rand(n, c, generator=g) < preds * 2).long()
    return Data(
        preds.to(device),
        target.to(device),
        y.to(device),
        preds.numpy(),
        target.numpy(),
        y.numpy(),
    )


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _time(fn: Callable[[], Any], repeat: int, device: str) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        _sync(device)
        start = time.perf_counter()
        out = fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best, out


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    if isinstance(x, (list, tuple)):
        return np.concatenate([_np(v).ravel() for v in x])
    return np.asarray(x, dtype=np.float64)


def _diff(a: Any, b: Any) -> float:
    a, b = _np(a).ravel(), _np(b).ravel()
    if a.shape != b.shape:
        return float("nan")
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.abs(a - b)
    return float(np.max(np.where(both_nan, 0.0, d))) if d.size else 0.0


def metrics(d: Data, c: int) -> dict[str, dict[str, Callable[[Data], Any]]]:
    """name -> {library: fn(data) -> numbers comparable across libraries}."""
    from sklearn import metrics as skm
    from sklearn.calibration import calibration_curve
    from torchmetrics.functional import classification as tmf

    labels = list(range(c))
    kw = {"validate_args": False}

    def sk_pred(x: Data) -> np.ndarray:
        return x.s.argmax(axis=1)

    def sk_ece(x: Data) -> float:
        conf = x.s.max(axis=1).astype(np.float64)
        correct = (x.s.argmax(axis=1) == x.t).astype(int)
        pt, pp = calibration_curve(correct, conf, n_bins=15)
        counts = np.bincount(np.searchsorted(np.linspace(0, 1, 16)[1:-1], conf), minlength=15)
        return float(np.sum(counts[counts > 0] / len(conf) * np.abs(pt - pp)))

    def sk_roc(x: Data) -> list[np.ndarray]:
        out = []
        for k in labels:
            fpr, tpr, _ = skm.roc_curve(x.t == k, x.s[:, k], drop_intermediate=False)
            out += [fpr, tpr]
        return out

    def sk_pr(x: Data) -> list[np.ndarray]:
        out = []
        for k in labels:
            p, r, _ = skm.precision_recall_curve(x.t == k, x.s[:, k])
            out += [p, r]
        return out

    def assay_roc(x: Data) -> list[np.ndarray]:
        roc = K.multiclass_roc(x.preds, x.target, c)
        fpr, tpr, n = _np(roc.fpr), _np(roc.tpr), roc.lengths.cpu().numpy()
        out = []
        for k in labels:
            out += [fpr[k, : n[k]], tpr[k, : n[k]]]
        return out

    def assay_pr(x: Data) -> list[np.ndarray]:
        pr = K.multiclass_precision_recall_curve(x.preds, x.target, c)
        p, r, n = _np(pr.precision), _np(pr.recall), pr.lengths.cpu().numpy()
        out = []
        for k in labels:
            out += [p[k, : n[k]], r[k, : n[k]]]
        return out

    def tm_curve(fn: Callable[..., Any]) -> Callable[[Data], list[Any]]:
        def run(x: Data) -> list[Any]:
            a, b, _ = fn(x.preds, x.target, c, thresholds=None, **kw)
            return [v for pair in zip(a, b, strict=True) for v in pair]

        return run

    return {
        "confusion_matrix": {
            "assay": lambda x: K.multiclass_confusion_matrix(x.preds, x.target, c),
            "sklearn": lambda x: skm.confusion_matrix(x.t, sk_pred(x), labels=labels),
            "torchmetrics": lambda x: tmf.multiclass_confusion_matrix(x.preds, x.target, c, **kw),
        },
        "precision_recall_f1_macro": {
            "assay": lambda x: [
                K.multiclass_precision(x.preds, x.target, c),
                K.multiclass_recall(x.preds, x.target, c),
                K.multiclass_f1_score(x.preds, x.target, c),
            ],
            "sklearn": lambda x: list(
                skm.precision_recall_fscore_support(
                    x.t, sk_pred(x), average="macro", zero_division=0
                )[:3]
            ),
            "torchmetrics": lambda x: [
                tmf.multiclass_precision(x.preds, x.target, c, **kw),
                tmf.multiclass_recall(x.preds, x.target, c, **kw),
                tmf.multiclass_f1_score(x.preds, x.target, c, **kw),
            ],
        },
        "accuracy": {
            "assay": lambda x: K.multiclass_accuracy(x.preds, x.target, c),
            "sklearn": lambda x: skm.accuracy_score(x.t, sk_pred(x)),
            "torchmetrics": lambda x: tmf.multiclass_accuracy(
                x.preds, x.target, c, average="micro", **kw
            ),
        },
        "top5_accuracy": {
            "assay": lambda x: K.multiclass_accuracy(x.preds, x.target, c, top_k=min(5, c)),
            "sklearn": lambda x: skm.top_k_accuracy_score(x.t, x.s, k=min(5, c), labels=labels),
            "torchmetrics": lambda x: tmf.multiclass_accuracy(
                x.preds, x.target, c, average="micro", top_k=min(5, c), **kw
            ),
        },
        "auroc_per_class": {
            "assay": lambda x: K.multiclass_auroc(x.preds, x.target, c, average="none"),
            "sklearn": lambda x: skm.roc_auc_score(
                np.eye(c, dtype=np.int8)[x.t], x.s, average=None
            ),
            "torchmetrics": lambda x: tmf.multiclass_auroc(
                x.preds, x.target, c, average="none", thresholds=None, **kw
            ),
        },
        "average_precision_per_class": {
            "assay": lambda x: K.multiclass_average_precision(x.preds, x.target, c, average="none"),
            "sklearn": lambda x: skm.average_precision_score(
                np.eye(c, dtype=np.int8)[x.t], x.s, average=None
            ),
            "torchmetrics": lambda x: tmf.multiclass_average_precision(
                x.preds, x.target, c, average="none", thresholds=None, **kw
            ),
        },
        "roc_curve": {
            "assay": assay_roc,
            "sklearn": sk_roc,
            "torchmetrics": tm_curve(tmf.multiclass_roc),
        },
        "precision_recall_curve": {
            "assay": assay_pr,
            "sklearn": sk_pr,
            "torchmetrics": tm_curve(tmf.multiclass_precision_recall_curve),
        },
        "calibration_error": {
            "assay": lambda x: K.multiclass_calibration_error(x.preds, x.target, c),
            "sklearn": sk_ece,
            "torchmetrics": lambda x: tmf.multiclass_calibration_error(
                x.preds, x.target, c, n_bins=15, **kw
            ),
        },
        "multilabel_f1_macro": {
            "assay": lambda x: K.multilabel_f1_score(x.preds, x.multilabel, c),
            "sklearn": lambda x: skm.f1_score(
                x.y, (x.s > 0.5).astype(np.int8), average="macro", zero_division=0
            ),
            "torchmetrics": lambda x: tmf.multilabel_f1_score(x.preds, x.multilabel, c, **kw),
        },
        "multilabel_auroc_per_label": {
            "assay": lambda x: K.multilabel_auroc(x.preds, x.multilabel, c, average="none"),
            "sklearn": lambda x: skm.roc_auc_score(x.y, x.s, average=None),
            "torchmetrics": lambda x: tmf.multilabel_auroc(
                x.preds, x.multilabel, c, average="none", thresholds=None, **kw
            ),
        },
    }


def _slice(d: Data, n: int) -> Data:
    return Data(d.preds[:n], d.target[:n], d.multilabel[:n], d.s[:n], d.t[:n], d.y[:n])


def _fmt(x: float | None, spec: str = "8.3f") -> str:
    return " " * (len(format(0.0, spec))) if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--decimals", type=int, default=None, help="round scores (ties)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--metrics", nargs="*", default=None, help="subset of metric names")
    parser.add_argument("--peers", nargs="*", default=["assay", "sklearn", "torchmetrics"])
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    n, c = args.samples, args.classes
    data = generate(n, c, args.decimals, args.seed, args.device)
    table = metrics(data, c)
    names = args.metrics or list(table)
    unknown = [m for m in names if m not in table]
    if unknown:
        parser.error(f"unknown metrics {unknown}; choose from {list(table)}")
    env = {
        "torch": torch.__version__,
        "device": device_name(args.device),
        "threads": torch.get_num_threads(),
        "git_commit": git_commit(),
        "samples": n,
        "classes": c,
        "decimals": args.decimals,
    }
    print(
        f"classification metrics, {n:,} samples x {c} classes float32"
        + (f", scores rounded to {args.decimals} decimals" if args.decimals is not None else "")
        + f" | torch {env['torch']} | {env['device']} | {env['threads']} threads | "
        f"git {env['git_commit']}"
    )
    small = _slice(data, min(n, 2000))
    rows = []
    for name in names:
        row = Row(metric=name)
        outputs = {}
        for peer in args.peers:
            fn = table[name][peer]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(small)  # warm-up, untimed
                seconds, out = _time(lambda fn=fn: fn(data), args.repeat, args.device)
            setattr(row, peer, seconds)
            outputs[peer] = out
            print(f"  {name} / {peer}: {seconds:.3f} s", file=sys.stderr, flush=True)
        if "assay" in outputs and "sklearn" in outputs:
            row.max_abs_diff_vs_sklearn = _diff(outputs["assay"], outputs["sklearn"])
        rows.append(row)
    header = (
        f"{'metric':<30} {'assay s':>8} {'sklearn s':>9} {'tm s':>8} "
        f"{'sk/assay':>8} {'tm/assay':>8} {'|assay-sk|':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        sk_ratio = r.sklearn / r.assay if r.sklearn and r.assay else None
        tm_ratio = r.torchmetrics / r.assay if r.torchmetrics and r.assay else None
        diff = "" if r.max_abs_diff_vs_sklearn is None else f"{r.max_abs_diff_vs_sklearn:.1e}"
        print(
            f"{r.metric:<30} {_fmt(r.assay)} {_fmt(r.sklearn, '9.3f')} {_fmt(r.torchmetrics)} "
            f"{_fmt(sk_ratio, '8.1f')} {_fmt(tm_ratio, '8.1f')} {diff:>10}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps({"env": env, "rows": [asdict(r) for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
