"""Sampling from files at millions of boxes: loading the pool, then scoring and ranking.

A boxes-layout table (one row per prediction: ``frame_id``, ``score``, ``category_id``)
of ``--frames`` frames x ``--boxes`` boxes, in one of three row orders:

- ``sorted``: each frame's rows together, frames in id order (the usual export);
- ``grouped``: each frame's rows together, frames shuffled;
- ``interleaved``: rows shuffled (frames have to be found by hashing the ids).

``--source`` picks where the pool comes from: ``memory`` (``PredictionTable.from_arrow``
on an in-memory table), ``parquet`` or ``jsonl`` (``read_predictions`` on a file written
first, the read included; the JSON lines are written by pandas). Then ``assay.sample``
runs on the loaded table (margin / min, top 1,000). Load times are the first run and the
best of ``--repeat`` (a fresh process pays its page faults in the first); the sampling
time is the best of ``--repeat``; "load / sample" is the ratio of the two bests.

    python benchmarks/bench_sampling_loader.py
    python benchmarks/bench_sampling_loader.py --source parquet --orders sorted grouped
    python benchmarks/bench_sampling_loader.py --source jsonl --frames 200000
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import assay
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from assay.engine.sampling import PredictionTable
from assay.engine.sampling.readers import read_predictions
from provenance import cpu_model, device_name, git_commit

ORDERS = ("sorted", "grouped", "interleaved")
SOURCES = ("memory", "parquet", "jsonl")


def make_table(frames: int, boxes: int, order: str, seed: int) -> pa.Table:
    """``frames`` x ``boxes`` prediction rows in row order ``order``."""
    rng = np.random.default_rng(seed)
    ids = pa.array(np.char.add("frame_", np.char.zfill(np.arange(frames).astype(str), 8)))
    frame_of_row = np.repeat(np.arange(frames), boxes)
    if order == "grouped":
        frame_of_row = np.repeat(rng.permutation(frames), boxes)
    elif order == "interleaved":
        frame_of_row = frame_of_row[rng.permutation(frame_of_row.shape[0])]
    n = frame_of_row.shape[0]
    return pa.table(
        {
            "frame_id": ids.take(pa.array(frame_of_row)),
            "score": rng.random(n).round(4),
            "category_id": rng.integers(0, 80, n),
        }
    )


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(first, best) seconds of ``repeat`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times[0], min(times), out


def _loader(table: pa.Table, source: str, tmp: Path) -> Callable[[], PredictionTable]:
    if source == "memory":
        return functools.partial(PredictionTable.from_arrow, table)
    path = tmp / f"boxes.{'parquet' if source == 'parquet' else 'jsonl'}"
    if source == "parquet":
        pq.write_table(table, path)
    else:
        table.to_pandas().to_json(path, orient="records", lines=True, double_precision=15)
    return functools.partial(read_predictions, path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=1_000_000)
    p.add_argument("--boxes", type=int, default=20, help="boxes per frame (default 20)")
    p.add_argument("--orders", nargs="*", default=list(ORDERS), choices=ORDERS)
    p.add_argument("--source", default="memory", choices=SOURCES)
    p.add_argument("--device", default="cpu", help="where assay.sample runs (default cpu)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the rows as JSON")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"commit {git_commit()}, {cpu_model()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), sample on {device_name(args.device)}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    rows_total = args.frames * args.boxes
    print(f"{args.frames:,} frames x {args.boxes} boxes = {rows_total:,} rows, from {args.source}")
    header = ("order", "load first s", "load best s", "sample best s", "load / sample")
    print(f"{header[0]:<12} {header[1]:>12} {header[2]:>11} {header[3]:>13} {header[4]:>13}")
    results = []
    for order in args.orders:
        table = make_table(args.frames, args.boxes, order, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            load = _loader(table, args.source, Path(tmp))
            del table
            first, best, loaded = _best(load, args.repeat)
        request = {
            "num_of_samples": 1000,
            "selection_strategy": "margin",
            "bbox_selection_policy": "min",
            "frames": loaded,
        }
        sample = functools.partial(assay.sample, request, device=args.device)
        _, sample_best, _ = _best(sample, args.repeat)
        ratio = best / sample_best
        print(f"{order:<12} {first:>12.3f} {best:>11.3f} {sample_best:>13.3f} {ratio:>13.1f}")
        results.append(
            {"order": order, "load_first_s": first, "load_best_s": best, "sample_s": sample_best}
        )
    if args.json:
        meta = {"commit": git_commit(), "source": args.source, "frames": args.frames}
        args.json.write_text(json.dumps({**meta, "rows": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
