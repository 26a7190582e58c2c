#!/usr/bin/env python
"""k-means and embedding search: assay's FAISS layer against FAISS called directly.

Same generated data (seeded, never downloaded), same process:

k-means
    ``N x D`` float32 points from a Gaussian mixture, ``k`` clusters, ``niter``
    iterations, FAISS's default ``max_points_per_centroid=256`` (so FAISS trains on a
    ``256 * k``-point sample: 256,000 points for k=1,000). Rows, each timed on its own:
    ``faiss train`` (``faiss.Kmeans(...).train(x)``) against ``assay train``
    (``assay.engine.index.kmeans(x, k, assign=False)``), and ``faiss train+assign``
    (plus ``km.index.search(x, 1)`` for every point) against ``assay kmeans``
    (``kmeans(x, k)``, which returns the assignment). The centroids must be bit-identical.
    A last row times the one thing assay does besides the FAISS calls, checking and
    converting ``x``, as a percentage of ``faiss train``.
EmbeddingIndex
    ``EmbeddingIndex`` of kind flat, IVF and HNSW (default parameters) over the same
    ``N x D`` mixture, ``Q`` held-out queries from the same mixture, ``top`` neighbours:
    seconds to add (and build: IVF training, HNSW graph), seconds to search, queries per
    second, and recall@top against the flat index (exact). ``faiss IndexFlatL2`` (add +
    search called directly) is the reference for the flat index's overhead.

A time is the best of ``--repeat`` runs. On a CPU shared with other jobs the k-means
runs interleave (faiss, assay, assay, faiss, ...) so that both see the same load, and
each row also gives the process's CPU seconds (``time.process_time``), which waiting
for a busy CPU does not inflate; with ``--threads 1`` that is the work done.

Usage::

    python benchmarks/bench_faiss_kmeans.py                        # 1,000,000 x 128, k=1,000
    python benchmarks/bench_faiss_kmeans.py --points 100000 --k 100 --repeat 3
    python benchmarks/bench_faiss_kmeans.py --skip-index           # k-means only
    python benchmarks/bench_faiss_kmeans.py --skip-kmeans --kinds flat hnsw
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import torch
from assay.engine.index import EmbeddingIndex, kmeans
from assay.engine.index._inputs import as_matrix
from provenance import device_name, git_commit


def mixture(n: int, d: int, centers: int, seed: int) -> np.ndarray:
    """``n x d`` float32 Gaussian mixture: unit noise around ``centers`` random centres."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centers, d)).astype(np.float32) * 2.0
    out = rng.normal(size=(n, d)).astype(np.float32)
    out += c[rng.integers(0, centers, n)]
    return out


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        out = None
        gc.collect()
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of one call."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def bench_kmeans(x: np.ndarray, k: int, niter: int, seed: int, repeat: int) -> list[dict[str, Any]]:
    d = x.shape[1]

    def faiss_train() -> np.ndarray:
        km = faiss.Kmeans(d, k, niter=niter, seed=seed)
        km.train(x)
        return km.centroids

    def faiss_assign() -> np.ndarray:
        km = faiss.Kmeans(d, k, niter=niter, seed=seed)
        km.train(x)
        km.index.search(x, 1)
        return km.centroids

    def assay_train() -> np.ndarray:
        return kmeans(x, k, niter=niter, seed=seed, assign=False).centroids

    def assay_assign() -> np.ndarray:
        return kmeans(x, k, niter=niter, seed=seed).centroids

    pairs = [("train", faiss_train, assay_train), ("train+assign", faiss_assign, assay_assign)]
    rows: list[dict[str, Any]] = []
    wall_train = float("nan")
    for what, peer, ours in pairs:
        wall = {"faiss": float("inf"), "assay": float("inf")}
        cpu = dict(wall)
        centroids: dict[str, np.ndarray] = {}
        for i in range(repeat):  # interleaved, alternating who goes first: same load for both
            for name in ("faiss", "assay") if i % 2 == 0 else ("assay", "faiss"):
                t_wall, t_cpu, centroids[name] = timed(peer if name == "faiss" else ours)
                wall[name] = min(wall[name], t_wall)
                cpu[name] = min(cpu[name], t_cpu)
        if what == "train":
            wall_train = wall["faiss"]
        rows.append(
            {
                "what": what,
                "faiss_s": round(wall["faiss"], 3),
                "assay_s": round(wall["assay"], 3),
                "overhead_pct": round(100.0 * (wall["assay"] / wall["faiss"] - 1.0), 1),
                "faiss_cpu_s": round(cpu["faiss"], 3),
                "assay_cpu_s": round(cpu["assay"], 3),
                "cpu_overhead_pct": round(100.0 * (cpu["assay"] / cpu["faiss"] - 1.0), 1),
                "identical_centroids": bool(np.array_equal(centroids["faiss"], centroids["assay"])),
            }
        )
    # The only work assay adds to the FAISS calls: turning x into a checked float32 array.
    t_check, _ = best_of(lambda: as_matrix(x, "x"), repeat)
    rows.append(
        {
            "what": "assay input check alone",
            "faiss_s": "",
            "assay_s": round(t_check, 3),
            "overhead_pct": round(100.0 * t_check / wall_train, 2),
            "faiss_cpu_s": "",
            "assay_cpu_s": "",
            "cpu_overhead_pct": "",
            "identical_centroids": "",
        }
    )
    return rows


def bench_index(
    x: np.ndarray, q: np.ndarray, top: int, kinds: list[str], repeat: int, direct: bool
) -> list[dict[str, Any]]:
    n, d = x.shape
    ids = [f"frame-{i:07d}" for i in range(n)]
    rows: list[dict[str, Any]] = []
    truth: list[set[str]] | None = None
    if direct:
        flat = faiss.IndexFlatL2(d)
        t_add, _ = best_of(lambda: flat.add(x), 1)
        t_search, _ = best_of(lambda: flat.search(q, top), repeat)
        rows.append(
            {
                "index": "faiss IndexFlatL2 (direct)",
                "add_build_s": round(t_add, 3),
                "search_s": round(t_search, 3),
                "qps": round(len(q) / t_search),
                "recall": 1.0,
            }
        )
        del flat
    for kind in ["flat", *[k for k in kinds if k != "flat"]]:
        index = EmbeddingIndex(d, kind=kind)  # type: ignore[arg-type]

        def add_build(index: EmbeddingIndex = index) -> None:
            index.add(ids, x)
            index.build()

        t_add, _ = best_of(add_build, 1)
        t_search, hit = best_of(lambda index=index: index.search(q, top), repeat)
        found = [set(r) for r in hit.ids]
        if truth is None:
            truth = found
        recall = sum(len(f & t) for f, t in zip(found, truth, strict=True)) / (len(q) * top)
        extra = ""
        if kind == "ivf":
            nlist = index._faiss.nlist
            extra = f" (nlist={nlist}, nprobe={int(np.ceil(np.sqrt(nlist)))})"
        elif kind == "hnsw":
            extra = " (M=32, efConstruction=40, efSearch=64)"
        rows.append(
            {
                "index": f"assay {kind}{extra}",
                "add_build_s": round(t_add, 3),
                "search_s": round(t_search, 3),
                "qps": round(len(q) / t_search),
                "recall": round(recall, 4),
            }
        )
        del index, hit
        gc.collect()
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    cols = list(rows[0])
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(width[c]) for c in cols)]
    lines += ["  ".join(str(r[c]).ljust(width[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--k", type=int, default=1000, help="k-means clusters")
    ap.add_argument("--niter", type=int, default=25)
    ap.add_argument("--centers", type=int, default=1000, help="mixture components")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--top", type=int, default=10, help="neighbours per query")
    ap.add_argument("--kinds", nargs="+", default=["flat", "ivf", "hnsw"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="FAISS OpenMP threads")
    ap.add_argument("--skip-kmeans", action="store_true")
    ap.add_argument("--skip-index", action="store_true")
    ap.add_argument("--no-direct", action="store_true", help="skip faiss IndexFlatL2 direct")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    args = ap.parse_args(argv)
    if args.threads:
        faiss.omp_set_num_threads(args.threads)

    data = mixture(args.points + args.queries, args.dim, args.centers, args.seed)
    x = np.ascontiguousarray(data[: args.points])
    q = np.ascontiguousarray(data[args.points :])
    del data
    info = {
        "commit": git_commit(),
        "device": device_name("cpu"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "faiss": faiss.__version__,
        "faiss_threads": faiss.omp_get_max_threads(),
        "points": args.points,
        "dim": args.dim,
        "command": " ".join(["python", *sys.argv]),
    }
    print(json.dumps(info, indent=1))
    out: dict[str, Any] = {"info": info}
    if not args.skip_kmeans:
        print(
            f"\nk-means: {args.points:,} x {args.dim} float32, k={args.k}, niter={args.niter}, "
            f"max_points_per_centroid=256 (sample {min(args.points, 256 * args.k):,}), "
            f"best of {args.repeat}"
        )
        out["kmeans"] = bench_kmeans(x, args.k, args.niter, args.seed, args.repeat)
        print(table(out["kmeans"]))
    if not args.skip_index:
        print(
            f"\nEmbeddingIndex (l2): {args.points:,} x {args.dim}, {args.queries:,} queries, "
            f"top {args.top}, recall@{args.top} vs flat, search best of {args.repeat}"
        )
        out["index"] = bench_index(x, q, args.top, args.kinds, args.repeat, not args.no_direct)
        print(table(out["index"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
