#!/usr/bin/env python
"""COCO mask (segm) evaluation: assay against its peers, same data, same process.

The data is the coco_val2014_100 reference set of ../shared/data (real COCO val2014
ground truth for 100 images: polygons, multi-ring polygons and crowd RLE; 734
compressed-RLE results) replicated to ``--images`` images: copy ``k`` adds
``k * offset`` to every image and annotation id, so the copies are independent images
with identical content. Nothing is downloaded; the files are read in place.

Every peer is timed over its whole pipeline from the in-memory COCO dicts: loading
them into its own objects (polygon rasterisation, RLE decoding), evaluate, accumulate,
summarize. Inputs are copied before every run (peers mutate them), outside the timed
region. Each peer first runs once, untimed, on the 100-image set; a time is then the
best of ``--repeat`` runs. Every peer's 12 stats are compared with assay's.

Rows: ``assay`` (``assay.evaluate_coco(gt, dt, "segm")`` on the CPU), ``assay-cuda``
when CUDA is available, ``faster-coco-eval`` (``COCOeval_faster``), ``hotcoco``
(``COCOeval(..., "segm")``; hotcoco has a segm mode), and ``pycocotools`` (slow: only
when named in ``--peers``).

Usage::

    python benchmarks/bench_coco_segm.py                      # 5,000 images
    python benchmarks/bench_coco_segm.py --images 300 --repeat 1
    python benchmarks/bench_coco_segm.py --peers assay hotcoco pycocotools --json out.json
    python benchmarks/bench_coco_segm.py --peers assay hotcoco --repeat 15 --interleave
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import io
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import assay
import numpy as np
import torch
from provenance import device_name, git_commit
from rounds import interleaved_rounds, paired_lines

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ASSAY_SHARED_DATA", REPO.parent / "shared" / "data"))
GT_FILE = "coco_val2014_100/instances_val2014_100.json"
DT_FILE = "coco_val2014_100/instances_val2014_fakesegm100_results.json"
PEERS = ("assay", "assay-cuda", "faster-coco-eval", "hotcoco", "pycocotools")
DEFAULT_PEERS = ("assay", "assay-cuda", "faster-coco-eval", "hotcoco")

Coco = tuple[dict[str, Any], list[dict[str, Any]]]


# ----------------------------------------------------------------------------- data


def load_base(data_dir: Path) -> Coco:
    gt = json.loads((data_dir / GT_FILE).read_text())
    dt = json.loads((data_dir / DT_FILE).read_text())
    return gt, dt


def replicate(gt: dict[str, Any], dt: list[dict[str, Any]], images: int) -> Coco:
    """The base set copied to ``images`` images (ids offset per copy, content shared)."""
    base_images = sorted(gt["images"], key=lambda im: im["id"])
    copies = -(-images // len(base_images))
    img_off = max(im["id"] for im in base_images) + 1
    ann_off = max(a["id"] for a in gt["annotations"]) + 1
    out_images, out_anns, out_dt = [], [], []
    for k in range(copies):
        keep = base_images[: images - k * len(base_images)]
        kept = {im["id"] for im in keep}
        out_images += [{**im, "id": im["id"] + k * img_off} for im in keep]
        out_anns += [
            {**a, "id": a["id"] + k * ann_off, "image_id": a["image_id"] + k * img_off}
            for a in gt["annotations"]
            if a["image_id"] in kept
        ]
        out_dt += [
            {**d, "image_id": d["image_id"] + k * img_off} for d in dt if d["image_id"] in kept
        ]
    return {**gt, "images": out_images, "annotations": out_anns}, out_dt


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like dicts and lists (what copy.deepcopy gives, faster)."""
    if type(value) is list:
        return [_copy(v) if type(v) in (list, dict) else v for v in value]
    if type(value) is dict:
        return {k: _copy(v) if type(v) in (list, dict) else v for k, v in value.items()}
    return value


def fresh(coco: Coco) -> Coco:
    was = gc.isenabled()
    gc.disable()
    try:
        return _copy(coco[0]), _copy(coco[1])
    finally:
        if was:
            gc.enable()


# ---------------------------------------------------------------------------- peers


@dataclass
class Peer:
    name: str
    run: Callable[[Coco], np.ndarray]
    version: str


def _silent() -> contextlib.AbstractContextManager[Any]:
    return contextlib.redirect_stdout(io.StringIO())


def _assay(device: str) -> Peer:
    def run(coco: Coco) -> np.ndarray:
        stats = assay.evaluate_coco(coco[0], coco[1], "segm", device=device).stats
        if device == "cuda":
            torch.cuda.synchronize()
        return np.asarray(stats, dtype=np.float64)

    return Peer("assay" if device == "cpu" else "assay-cuda", run, assay.__version__)


def _faster_coco_eval() -> Peer:
    from faster_coco_eval import COCO, COCOeval_faster

    def quiet(*_: Any, **__: Any) -> None:
        return None

    def run(coco: Coco) -> np.ndarray:
        with _silent():
            coco_gt = COCO(coco[0], print_function=quiet)
            coco_dt = coco_gt.loadRes(coco[1])
            ev = COCOeval_faster(coco_gt, coco_dt, "segm", print_function=quiet)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats, dtype=np.float64)[:12]

    return Peer("faster-coco-eval", run, importlib.metadata.version("faster-coco-eval"))


def _hotcoco() -> Peer:
    import hotcoco

    def run(coco: Coco) -> np.ndarray:
        with _silent():
            coco_gt = hotcoco.COCO(coco[0])
            coco_dt = coco_gt.load_res(coco[1])
            ev = hotcoco.COCOeval(coco_gt, coco_dt, "segm")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats, dtype=np.float64)[:12]

    return Peer("hotcoco", run, importlib.metadata.version("hotcoco"))


def _pycocotools() -> Peer:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def run(coco: Coco) -> np.ndarray:
        with _silent():
            coco_gt = COCO()
            coco_gt.dataset = coco[0]
            coco_gt.createIndex()
            coco_dt = coco_gt.loadRes(coco[1])
            ev = COCOeval(coco_gt, coco_dt, "segm")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats, dtype=np.float64)

    return Peer("pycocotools", run, importlib.metadata.version("pycocotools"))


def make_peer(name: str) -> Peer:
    factories: dict[str, Callable[[], Peer]] = {
        "assay": lambda: _assay("cpu"),
        "assay-cuda": lambda: _assay("cuda"),
        "faster-coco-eval": _faster_coco_eval,
        "hotcoco": _hotcoco,
        "pycocotools": _pycocotools,
    }
    return factories[name]()


# --------------------------------------------------------------------------- timing


@dataclass
class Row:
    peer: str
    version: str = ""
    status: str = "ok"
    seconds: float | None = None
    all_seconds: list[float] = field(default_factory=list)
    stats: list[float] | None = None
    max_diff_vs_assay: float | None = None


def time_peer(peer: Peer, base: Coco, data: Coco, repeat: int) -> tuple[list[float], np.ndarray]:
    peer.run(fresh(base))  # warm-up: lazy imports, thread pools, CUDA context
    times, stats = [], np.empty(0)
    for _ in range(repeat):
        state = fresh(data)
        gc.collect()
        t0 = time.perf_counter()
        stats = peer.run(state)
        times.append(time.perf_counter() - t0)
        del state
    return times, stats


def render(rows: list[Row], header: list[str]) -> str:
    base = next((r.seconds for r in rows if r.peer == "assay" and r.seconds), None)
    head = ("peer", "version", "seconds", "x assay", "max|d| stats vs assay", "status")
    lines: list[tuple[str, ...]] = [head]
    for r in rows:
        ratio = r.seconds / base if r.seconds is not None and base else None
        lines.append(
            (
                r.peer,
                r.version,
                "-" if r.seconds is None else f"{r.seconds:.3f}",
                "-" if ratio is None else f"{ratio:.2f}",
                "-" if r.max_diff_vs_assay is None else f"{r.max_diff_vs_assay:.1e}",
                r.status,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [*header, ""]
    for i, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    out += ["", "x assay: peer seconds / assay (CPU) seconds; > 1 means assay is faster."]
    return "\n".join(out)


def _numba_line() -> str:
    """Which loops assay's CPU mask kernels run here (C, numba, torch), numba's version."""
    from assay.kernels import _compiled

    try:
        version = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        version = "not installed"
    return f"{_compiled.which()} (numba {version})"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=5000, help="number of images (default 5000)")
    p.add_argument("--repeat", type=int, default=3, help="best of N runs per peer (default 3)")
    p.add_argument(
        "--peers",
        nargs="+",
        default=list(DEFAULT_PEERS),
        choices=PEERS,
        metavar="PEER",
        help=f"rows to time (default: {' '.join(DEFAULT_PEERS)})",
    )
    p.add_argument("--threads", type=int, help="torch.set_num_threads for assay")
    p.add_argument("--data", type=Path, default=DATA, help=f"shared data folder ({DATA})")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    p.add_argument("--tolerance", type=float, default=1e-6, help="stats agreement (1e-6)")
    p.add_argument(
        "--interleave",
        action="store_true",
        help="run the peers in turns (one run each per round, order rotating) and also "
        "print each peer's median and the median of its per-round ratio to assay: on a "
        "noisy machine the paired ratio is steadier than a ratio of two bests",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    base = load_base(args.data)
    t0 = time.perf_counter()
    data = replicate(*base, args.images)
    build_seconds = time.perf_counter() - t0
    gt, dt = data
    crowd = sum(a.get("iscrowd", 0) for a in gt["annotations"])
    polygons = sum(isinstance(a["segmentation"], list) for a in gt["annotations"])
    header = [
        "COCO segm evaluation, whole pipeline from in-memory COCO dicts (best of repeats)",
        f"command: python {' '.join(sys.argv) if argv is None else ' '.join(argv)}",
        f"data: coco_val2014_100 replicated to {len(gt['images'])} images: "
        f"{len(gt['annotations'])} GT ({polygons} polygons, {crowd} crowd RLE), {len(dt)} "
        f"compressed-RLE results, {len(gt['categories'])} categories; built in "
        f"{build_seconds:.2f} s",
        f"torch {torch.__version__} | device "
        f"{device_name('cuda' if cuda else 'cpu')} | CPUs "
        f"{os.cpu_count()} (torch threads {torch.get_num_threads()}) | git {git_commit()}",
        f"CPU mask loops: {_numba_line()}",
        f"load average before: {[round(x, 2) for x in os.getloadavg()]}",
    ]
    rows: list[Row] = []
    if args.interleave:
        return _main_interleaved(args, rows, header, base, data)
    for name in [p for p in PEERS if p in args.peers]:
        row = Row(name)
        rows.append(row)
        if name == "assay-cuda" and not cuda:
            row.status = "skipped: no CUDA"
            continue
        try:
            peer = make_peer(name)
            row.version = peer.version
        except ImportError as exc:
            row.status = f"skipped: {exc}"
            continue
        print(f"{name}: timing {args.repeat} run(s) ...", file=sys.stderr, flush=True)
        try:
            times, stats = time_peer(peer, base, data, args.repeat)
        except Exception as exc:  # a peer's failure is a row, not a crash
            row.status = f"failed: {type(exc).__name__}: {exc}"
            continue
        row.all_seconds = times
        row.seconds = min(times)
        row.stats = [float(x) for x in stats]
        print(f"{name}: {row.seconds:.3f} s", file=sys.stderr, flush=True)
    return _report(args, rows, header)


def _main_interleaved(
    args: argparse.Namespace, rows: list[Row], header: list[str], base: Coco, data: Coco
) -> int:
    peers: list[Peer] = []
    for name in [p for p in PEERS if p in args.peers]:
        row = Row(name)
        rows.append(row)
        if name == "assay-cuda" and not torch.cuda.is_available():
            row.status = "skipped: no CUDA"
            continue
        try:
            peers.append(make_peer(name))
            row.version = peers[-1].version
        except ImportError as exc:
            row.status = f"skipped: {exc}"
    print(f"{len(peers)} peers, {args.repeat} interleaved rounds ...", file=sys.stderr, flush=True)
    for peer in peers:
        peer.run(fresh(base))  # warm-up
    times, stats = interleaved_rounds(
        {peer.name: (lambda: fresh(data), peer.run) for peer in peers}, args.repeat
    )
    for row in rows:
        if row.peer in times:
            row.all_seconds = times[row.peer]
            row.seconds = min(times[row.peer])
            row.stats = [float(x) for x in stats[row.peer]]
    header[0] = header[0].replace("(best of repeats)", "(best of interleaved rounds)")
    return _report(args, rows, header)


def _report(args: argparse.Namespace, rows: list[Row], header: list[str]) -> int:
    reference = next((r.stats for r in rows if r.peer == "assay" and r.stats), None)
    for row in rows:
        if row.stats is not None and reference is not None:
            row.max_diff_vs_assay = float(np.max(np.abs(np.subtract(row.stats, reference))))
            if row.max_diff_vs_assay > args.tolerance and row.status == "ok":
                row.status = f"MISMATCH > {args.tolerance:g}"
    header.append(f"load average after: {[round(x, 2) for x in os.getloadavg()]}")
    print(render(rows, header))
    if args.interleave:
        print("\n".join(paired_lines({r.peer: r.all_seconds for r in rows}, ["assay"])))
    if args.json:
        args.json.write_text(
            json.dumps({"header": header, "rows": [asdict(r) for r in rows]}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
