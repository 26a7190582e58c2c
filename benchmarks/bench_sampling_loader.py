"""Sampling from Arrow at millions of boxes: loading the pool, then scoring and ranking.

A boxes-layout table (one row per prediction: ``frame_id``, ``score``, ``category_id``)
of ``--frames`` frames x ``--boxes`` boxes, in one of three row orders:

- ``sorted``: each frame's rows together, frames in id order (the usual export);
- ``grouped``: each frame's rows together, frames shuffled;
- ``interleaved``: rows shuffled (frames have to be found by hashing the ids).

Times ``PredictionTable.from_arrow`` (from an in-memory table, or ``--parquet`` from a
Parquet file written first, read included), then ``assay.sample`` on the loaded table
(margin / min, top 1,000). Best of ``--repeat``; the first run is shown too, since a
fresh process pays its page faults there.

    python benchmarks/bench_sampling_loader.py
    python benchmarks/bench_sampling_loader.py --frames 1000000 --orders sorted --parquet
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import assay
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from assay.engine.sampling import PredictionTable
from assay.engine.sampling.readers import read_predictions
from provenance import cpu_model, git_commit

ORDERS = ("sorted", "grouped", "interleaved")


def make_table(frames: int, boxes: int, order: str, seed: int) -> pa.Table:
    """``frames`` x ``boxes`` prediction rows in row order ``order``."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("frame_", np.char.zfill(np.arange(frames).astype(str), 8))
    frame_of_row = np.repeat(np.arange(frames), boxes)
    if order == "grouped":
        frame_of_row = np.repeat(rng.permutation(frames), boxes)
    elif order == "interleaved":
        frame_of_row = frame_of_row[rng.permutation(frame_of_row.shape[0])]
    n = frame_of_row.shape[0]
    return pa.table(
        {
            "frame_id": pa.array(ids[frame_of_row].astype(object), pa.string()),
            "score": rng.random(n).round(4),
            "category_id": rng.integers(0, 80, n),
        }
    )


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times[0], min(times), out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=1_000_000)
    p.add_argument("--boxes", type=int, default=20, help="boxes per frame (default 20)")
    p.add_argument("--orders", nargs="*", default=list(ORDERS), choices=ORDERS)
    p.add_argument("--parquet", action="store_true", help="load from a Parquet file")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print(f"commit {git_commit()}, {cpu_model()}, {torch.get_num_threads()} torch threads")
    print(f"{args.frames:,} frames x {args.boxes} boxes = {args.frames * args.boxes:,} rows")
    print(f"{'order':<12} {'load first s':>12} {'load best s':>11} {'sample best s':>13}")
    for order in args.orders:
        table = make_table(args.frames, args.boxes, order, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            if args.parquet:
                path = Path(tmp) / "boxes.parquet"
                pq.write_table(table, path)
                del table
                first, best, loaded = _best(functools.partial(read_predictions, path), args.repeat)
            else:
                load = functools.partial(PredictionTable.from_arrow, table)
                first, best, loaded = _best(load, args.repeat)
        request = {
            "num_of_samples": 1000,
            "selection_strategy": "margin",
            "bbox_selection_policy": "min",
            "frames": loaded,
        }
        _, sample_best, _ = _best(functools.partial(assay.sample, request), args.repeat)
        print(f"{order:<12} {first:>12.3f} {best:>11.3f} {sample_best:>13.3f}")


if __name__ == "__main__":
    main()
