#!/usr/bin/env python
"""COCO bbox evaluation: assay against its peers, same data, same process.

The data is generated (``assay.engine.synthetic.make_coco_detection``, seeded), never
downloaded: by default COCO-val-sized, 5,000 images, ~37k ground truths, ~500k
detections, 80 categories. Every peer is timed on the same in-memory COCO dicts,
over its whole pipeline: loading the dicts into its own objects, evaluate,
accumulate, summarize. Inputs are deep-copied before every run (peers mutate them:
``loadRes`` adds ``area``/``id``/``segmentation``, faster-coco-eval adds ``ignore``),
outside the timed region. Each peer first runs once, untimed, on a tiny dataset
(one-time initialisation is not what is compared); a time is then the best of
``--repeat`` runs.

Rows:

- ``assay-dicts``: ``assay.evaluate_coco(gt, dt)`` from the dicts;
- ``assay-tensors``: ``assay.evaluate_detections`` on prebuilt tensor tables
  (``coco_to_tables``, not timed): the evaluation alone; ``assay-tensors-cuda`` (and
  ``assay-dicts-cuda``) when CUDA is available, with the tables already on the GPU;
- ``pycocotools``, ``faster-coco-eval``, ``hotcoco``, ``ultrafast-pycocotools``.

Every peer's 12 stats are compared with assay's (and with pycocotools' when it ran);
peak memory is measured per peer in a fresh subprocess (this script re-invoked with
``--only PEER --measure-memory``): the peak RSS (VmHWM) during the run minus the RSS
just before it, after the data was generated and copied (the high-water mark is reset
through ``/proc/self/clear_refs`` so that earlier peaks do not hide it, after
``malloc_trim`` so that freed heap pages are not silently reused, and after a warm-up
run on a tiny dataset so that one-time initialisation is not counted).

Usage::

    python benchmarks/bench_coco_detection.py                    # everything, ~3 min
    python benchmarks/bench_coco_detection.py --peers assay-dicts assay-tensors hotcoco
    python benchmarks/bench_coco_detection.py --images 500 --no-memory --json out.json
    python benchmarks/bench_coco_detection.py --peers assay-tensors hotcoco --no-memory \
        --repeat 15 --interleave      # paired per-round ratios, steadier on a busy VM
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib.metadata
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import assay
import numpy as np
import torch
from assay.engine.evaluation import STAT_NAMES
from assay.engine.synthetic import coco_to_tables, make_coco_detection
from provenance import cpu_model, device_name, git_commit
from rounds import interleaved_rounds, paired_lines

REPO = Path(__file__).resolve().parents[1]
PEERS = (
    "assay-dicts",
    "assay-tensors",
    "pycocotools",
    "faster-coco-eval",
    "hotcoco",
    "ultrafast-pycocotools",
)
CUDA_ROWS = ("assay-dicts-cuda", "assay-tensors-cuda")
ALL_ROWS = PEERS + CUDA_ROWS
MEMORY_MARK = "MEMORY-JSON "


# ----------------------------------------------------------------------------- data


Tables = tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], int, int]


@dataclass
class Data:
    """The generated dataset, and its tensor tables (built on first use)."""

    gt: dict[str, Any]
    dt: list[dict[str, Any]]
    seconds: float
    _tables: dict[str, Tables] = field(default_factory=dict)

    def tables(self, device: str) -> Tables:
        if device not in self._tables:
            if "cpu" not in self._tables:
                self._tables["cpu"] = coco_to_tables(self.gt, self.dt)
            gt_map, dt_map, ni, nk = self._tables["cpu"]
            self._tables[device] = (
                {k: v.to(device) for k, v in gt_map.items()},
                {k: v.to(device) for k, v in dt_map.items()},
                ni,
                nk,
            )
        return self._tables[device]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _copy_value(value: Any) -> Any:
    if type(value) is list:
        return [_copy_value(v) if type(v) in (list, dict) else v for v in value]
    if type(value) is dict:
        return {k: _copy_value(v) if type(v) in (list, dict) else v for k, v in value.items()}
    return value


def fresh_copy(
    gt: dict[str, Any], dt: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A deep copy of JSON-like dicts and lists (what copy.deepcopy gives, ~10x faster)."""
    with gc_paused():
        return _copy_value(gt), _copy_value(dt)


def generate(args: argparse.Namespace) -> Data:
    t0 = time.perf_counter()
    gt, dt = make_coco_detection(
        num_images=args.images,
        num_categories=args.categories,
        gt_per_image=args.gt_per_image,
        dets_per_image=args.dets_per_image,
        seed=args.seed,
    )
    return Data(gt, dt, time.perf_counter() - t0)


# ---------------------------------------------------------------------------- peers


@dataclass
class Peer:
    """How to time one row: ``prepare`` (untimed) builds the inputs, ``run`` is timed."""

    name: str
    prepare: Callable[[Data], Any]
    run: Callable[[Any], np.ndarray]
    version: Callable[[], str]
    cuda: bool = False


def _silent() -> contextlib.AbstractContextManager[Any]:
    return contextlib.redirect_stdout(io.StringIO())


def _dist_version(dist: str) -> Callable[[], str]:
    return lambda: importlib.metadata.version(dist)


def _assay_version() -> str:
    return str(assay.__version__)


def _sync_if(cuda: bool) -> None:
    if cuda:
        torch.cuda.synchronize()


def _assay_dicts(device: str) -> Peer:
    def run(state: Any) -> np.ndarray:
        gt, dt = state
        stats = assay.evaluate_coco(gt, dt, device=device).stats
        _sync_if(device == "cuda")
        return np.asarray(stats, dtype=np.float64)

    name = "assay-dicts" + ("-cuda" if device == "cuda" else "")
    return Peer(name, lambda d: fresh_copy(d.gt, d.dt), run, _assay_version, device == "cuda")


def _assay_tensors(device: str) -> Peer:
    def prepare(data: Data) -> Any:
        tables = data.tables(device)
        _sync_if(device == "cuda")
        return tables

    def run(state: Any) -> np.ndarray:
        gt_map, dt_map, ni, nk = state
        result = assay.evaluate_detections(
            gt_map, dt_map, num_images=ni, num_categories=nk, box_format="xywh"
        )
        _sync_if(device == "cuda")
        return np.asarray(result.stats, dtype=np.float64)

    name = "assay-tensors" + ("-cuda" if device == "cuda" else "")
    return Peer(name, prepare, run, _assay_version, device == "cuda")


def _pycocotools() -> Peer:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def run(state: Any) -> np.ndarray:
        gt, dt = state
        with _silent():
            coco_gt = COCO()  # COCO(path) only; a dict goes in like this
            coco_gt.dataset = gt
            coco_gt.createIndex()
            coco_dt = coco_gt.loadRes(dt)
            ev = COCOeval(coco_gt, coco_dt, "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats, dtype=np.float64)

    return Peer("pycocotools", lambda d: fresh_copy(d.gt, d.dt), run, _dist_version("pycocotools"))


def _faster_coco_eval() -> Peer:
    from faster_coco_eval import COCO, COCOeval_faster

    def quiet(*_: Any, **__: Any) -> None:
        return None

    def run(state: Any) -> np.ndarray:
        gt, dt = state
        with _silent():
            coco_gt = COCO(gt, print_function=quiet)
            coco_dt = coco_gt.loadRes(dt)
            ev = COCOeval_faster(coco_gt, coco_dt, "bbox", print_function=quiet)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats, dtype=np.float64)[:12]

    return Peer(
        "faster-coco-eval", lambda d: fresh_copy(d.gt, d.dt), run, _dist_version("faster-coco-eval")
    )


def _hotcoco() -> Peer:
    import hotcoco

    def run(state: Any) -> np.ndarray:
        gt, dt = state
        with _silent():
            coco_gt = hotcoco.COCO(gt)
            coco_dt = coco_gt.load_res(dt)
            ev = hotcoco.COCOeval(coco_gt, coco_dt, "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats, dtype=np.float64)

    return Peer("hotcoco", lambda d: fresh_copy(d.gt, d.dt), run, _dist_version("hotcoco"))


def _ultrafast() -> Peer:
    import ultrafast_pycocotools as ufc

    def quiet(_: str) -> None:
        return None

    def run(state: Any) -> np.ndarray:
        gt, dt = state
        with _silent():
            coco_gt = ufc.COCO(gt, verbose=False)
            coco_dt = coco_gt.loadRes(dt)
            ev = ufc.COCOeval(coco_gt, coco_dt, "bbox", print_function=quiet)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats, dtype=np.float64)

    return Peer(
        "ultrafast-pycocotools",
        lambda d: fresh_copy(d.gt, d.dt),
        run,
        _dist_version("ultrafast-pycocotools"),
    )


def make_peer(name: str) -> Peer:
    """The row's runner; raises ImportError when the peer is not installed."""
    factories: dict[str, Callable[[], Peer]] = {
        "assay-dicts": lambda: _assay_dicts("cpu"),
        "assay-tensors": lambda: _assay_tensors("cpu"),
        "assay-dicts-cuda": lambda: _assay_dicts("cuda"),
        "assay-tensors-cuda": lambda: _assay_tensors("cuda"),
        "pycocotools": _pycocotools,
        "faster-coco-eval": _faster_coco_eval,
        "hotcoco": _hotcoco,
        "ultrafast-pycocotools": _ultrafast,
    }
    return factories[name]()


# --------------------------------------------------------------------------- timing


@dataclass
class Row:
    """One line of the table (and of the JSON output)."""

    peer: str
    version: str = ""
    status: str = "ok"  # ok | skipped: ... | failed: ...
    seconds: float | None = None
    all_seconds: list[float] = field(default_factory=list)
    stats: list[float] | None = None
    max_diff_vs_assay: float | None = None
    max_diff_vs_pycocotools: float | None = None
    peak_rss_mb: float | None = None
    peak_gpu_mb: float | None = None
    memory_note: str = ""


def warm_up(peer: Peer) -> None:
    """One untimed run on a tiny dataset: one-time costs (lazy imports, thread pools,
    CUDA context) are then counted neither in a timing nor in a peak-memory figure."""
    tiny_gt, tiny_dt = make_coco_detection(num_images=10, dets_per_image=10, seed=1)
    peer.run(peer.prepare(Data(tiny_gt, tiny_dt, 0.0)))


def time_peer(peer: Peer, data: Data, repeat: int) -> tuple[list[float], np.ndarray]:
    warm_up(peer)
    times: list[float] = []
    stats = np.empty(0)
    for _ in range(repeat):
        state = peer.prepare(data)
        gc.collect()
        t0 = time.perf_counter()
        stats = peer.run(state)
        times.append(time.perf_counter() - t0)
        del state
        gc.collect()
    return times, stats


def time_rounds(peers: dict[str, Peer], rows: list[Row], data: Data, repeat: int) -> None:
    """Time ``peers`` in interleaved rounds (``rounds.interleaved_rounds``) into ``rows``."""
    print(f"{len(peers)} peers: {repeat} interleaved rounds ...", file=sys.stderr, flush=True)
    by = {row.peer: row for row in rows}
    for name, peer in list(peers.items()):
        try:
            warm_up(peer)
        except Exception as exc:  # a peer's failure is a row, not a crash
            by[name].status = f"failed: {type(exc).__name__}: {exc}"
            del peers[name]
    try:
        times, stats = interleaved_rounds(
            {name: (lambda p=peer: p.prepare(data), peer.run) for name, peer in peers.items()},
            repeat,
        )
    except Exception as exc:  # one run failing spoils the pairing of the rounds: all fail
        for name in peers:
            by[name].status = f"failed in the rounds: {type(exc).__name__}: {exc}"
        return
    for row in rows:
        if row.peer in peers:
            row.all_seconds = times[row.peer]
            row.seconds = min(times[row.peer])
            row.stats = [float(x) for x in stats[row.peer]]


def _peak_rss_kb() -> int:
    """This process's peak RSS in kB: VmHWM, which ``clear_refs`` resets.

    Not ``ru_maxrss``: after fork + exec it starts at the parent's peak (Linux keeps
    the larger of the two), so a child of a big parent would report the parent.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # kB on Linux


def _release_free_memory() -> None:
    """Hand memory the allocator holds but no longer uses back to the OS (glibc).

    Without it a peer's allocations reuse heap pages freed by data generation, which
    are still resident, and its peak RSS looks smaller than it is.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def measure_memory(name: str, data: Data) -> dict[str, Any]:
    """Peak RSS of one run of ``name`` over what the process held before it (child side)."""
    peer = make_peer(name)
    warm_up(peer)
    state = peer.prepare(data)
    if peer.cuda:
        torch.cuda.reset_peak_memory_stats()
    _release_free_memory()
    reset = _reset_peak()
    before = _peak_rss_kb()
    peer.run(state)
    after = _peak_rss_kb()
    out: dict[str, Any] = {
        "peer": name,
        "peak_rss_mb": (after - before) / 1024,
        "baseline_rss_mb": before / 1024,
        "method": "VmHWM after malloc_trim + clear_refs" if reset else "peak RSS, not reset",
    }
    if peer.cuda:
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def memory_in_subprocess(name: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--only",
        name,
        "--measure-memory",
        "--images",
        str(args.images),
        "--categories",
        str(args.categories),
        "--gt-per-image",
        str(args.gt_per_image),
        "--dets-per-image",
        str(args.dets_per_image),
        "--seed",
        str(args.seed),
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MEMORY_MARK):
            return dict(json.loads(line[len(MEMORY_MARK) :]))
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"peer": name, "error": f"exit {proc.returncode}: {tail[0]}"}


# ------------------------------------------------------------------------ reporting


def _ram_gb() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    return None


def environment(cuda: bool) -> dict[str, Any]:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count() or 0
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "assay": assay.__version__,
        "device": device_name("cuda" if cuda else "cpu"),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "torch_threads": torch.get_num_threads(),
        "ram_gb": _ram_gb(),
        "git_commit": git_commit(),
        "platform": platform.platform(),
    }


def _fmt(x: float | None, spec: str, missing: str = "-") -> str:
    return missing if x is None else format(x, spec)


def render(rows: list[Row], env: dict[str, Any], data: dict[str, Any], command: str) -> str:
    by = {r.peer: r for r in rows}
    base_d = by.get("assay-dicts")
    base_t = by.get("assay-tensors")
    sd = base_d.seconds if base_d else None
    st = base_t.seconds if base_t else None
    head = (
        "peer",
        "version",
        "seconds",
        "x assay-dicts",
        "x assay-tensors",
        "peak RSS MB",
        "max|d| vs assay",
        "max|d| vs pycocotools",
        "status",
    )
    lines = [head]
    for r in rows:
        ratio_d = r.seconds / sd if r.seconds is not None and sd else None
        ratio_t = r.seconds / st if r.seconds is not None and st else None
        mem = _fmt(r.peak_rss_mb, ".0f")
        if r.peak_gpu_mb is not None:
            mem += f" (GPU {r.peak_gpu_mb:.0f})"
        lines.append(
            (
                r.peer,
                r.version,
                _fmt(r.seconds, ".3f"),
                _fmt(ratio_d, ".2f"),
                _fmt(ratio_t, ".2f"),
                mem,
                _fmt(r.max_diff_vs_assay, ".1e"),
                _fmt(r.max_diff_vs_pycocotools, ".1e"),
                r.status,
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    out = [
        "COCO bbox evaluation, whole pipeline from in-memory COCO dicts (best of "
        + ("interleaved rounds)" if "--interleave" in command.split() else "repeats)"),
        f"command: {command}",
        (
            f"data: {data['images']} images, {data['gt']} GT ({data['crowd']} crowd), "
            f"{data['dets']} detections (max {data['max_dets_per_image']}/image), "
            f"{data['categories']} categories, seed {data['seed']}; generated in "
            f"{data['generate_seconds']:.2f} s"
        ),
        (
            f"torch {env['torch']} | device {env['device']} | CPUs {env['cpu_count']} "
            f"(affinity {env['cpu_affinity']}, torch threads {env['torch_threads']}) | "
            f"RAM {env['ram_gb']} GB | git {env['git_commit']}"
        ),
        (f"load average before/after: {env.get('loadavg_before')} / {env.get('loadavg_after')}"),
        "",
    ]
    for i, line in enumerate(lines):
        out.append("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    out.append("")
    out.append(
        "x assay-*: peer seconds / assay seconds (> 1: assay is faster). Peak RSS: "
        "in a fresh process, run minus baseline after data generation."
    )
    return "\n".join(out)


def _max_diff(a: list[float] | None, b: list[float] | None) -> float | None:
    if a is None or b is None:
        return None
    diff = np.abs(np.asarray(a) - np.asarray(b))
    return float(np.max(np.where(np.isnan(diff), np.inf, diff)))  # NaN counts as a mismatch


# ------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=5000, help="number of images (default 5000)")
    p.add_argument("--categories", type=int, default=80, help="number of categories (default 80)")
    p.add_argument("--gt-per-image", type=float, default=7.3, help="mean GT per image (7.3)")
    p.add_argument(
        "--dets-per-image", type=float, default=100, help="detections per image (default 100)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--peers",
        nargs="+",
        default=list(PEERS),
        choices=PEERS,
        metavar="PEER",
        help=f"rows to time (default all): {' '.join(PEERS)}",
    )
    p.add_argument("--repeat", type=int, default=3, help="best of N runs per peer (default 3)")
    p.add_argument(
        "--pycocotools-repeat", type=int, default=1, help="runs for pycocotools (default 1)"
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: add CUDA rows for assay when CUDA is available; cpu: none; cuda: require them",
    )
    p.add_argument(
        "--threads", type=int, help="torch.set_num_threads for assay (default: torch's own)"
    )
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--tolerance", type=float, default=1e-6, help="stats agreement (1e-6)")
    p.add_argument(
        "--interleave",
        action="store_true",
        help="run the peers in turns (one run each per round, order rotating; "
        "pycocotools runs --pycocotools-repeat times before them) and also print each "
        "peer's median and the median of its per-round ratio to the assay rows: on a "
        "noisy machine the paired ratio is steadier than a ratio of two bests",
    )
    p.add_argument("--only", choices=ALL_ROWS, help=argparse.SUPPRESS)
    p.add_argument("--measure-memory", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.measure_memory:
        if not args.only:
            raise SystemExit("--measure-memory needs --only PEER")
        data = generate(args)
        try:
            result = measure_memory(args.only, data)
        except ImportError as exc:
            result = {"peer": args.only, "error": f"ImportError: {exc}"}
        print(MEMORY_MARK + json.dumps(result), flush=True)
        return 0

    cuda = torch.cuda.is_available()
    if args.device == "cuda" and not cuda:
        raise SystemExit("--device cuda: torch.cuda.is_available() is False")
    use_cuda = cuda and args.device != "cpu"
    names = [args.only] if args.only else [p for p in PEERS if p in args.peers]
    if use_cuda and not args.only:  # the CUDA rows follow the CPU rows of assay
        cuda_rows = [n for n in CUDA_ROWS if n.removesuffix("-cuda") in names]
        last_assay = max((i for i, n in enumerate(names) if n.startswith("assay")), default=-1)
        names[last_assay + 1 : last_assay + 1] = cuda_rows
    command = " ".join(["python", *sys.argv]) if argv is None else " ".join(argv)

    env = environment(use_cuda)
    env["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
    data = generate(args)
    per_image = np.bincount(np.fromiter((d["image_id"] for d in data.dt), np.int64))
    data_info = {
        "images": len(data.gt["images"]),
        "gt": len(data.gt["annotations"]),
        "crowd": sum(a["iscrowd"] for a in data.gt["annotations"]),
        "dets": len(data.dt),
        "max_dets_per_image": int(per_image.max()) if per_image.size else 0,
        "categories": len(data.gt["categories"]),
        "seed": args.seed,
        "generate_seconds": data.seconds,
    }
    print(
        f"generated {data_info['images']} images, {data_info['gt']} GT, {data_info['dets']} "
        f"detections in {data.seconds:.2f} s",
        file=sys.stderr,
    )

    rows: list[Row] = []
    rounds: dict[str, Peer] = {}
    for name in names:
        row = Row(name)
        rows.append(row)
        try:
            peer = make_peer(name)
            row.version = peer.version()
        except ImportError as exc:
            row.status = f"skipped: {exc}"
            print(f"{name}: skipped ({exc})", file=sys.stderr)
            continue
        if args.interleave and name != "pycocotools":
            rounds[name] = peer
            continue
        repeat = args.pycocotools_repeat if name == "pycocotools" else args.repeat
        print(f"{name}: timing, {repeat} run(s) ...", file=sys.stderr, flush=True)
        try:
            times, stats = time_peer(peer, data, repeat)
        except Exception as exc:  # a peer's failure is a row, not a crash
            row.status = f"failed: {type(exc).__name__}: {exc}"
            print(f"{name}: {row.status}", file=sys.stderr)
            continue
        row.all_seconds = times
        row.seconds = min(times)
        row.stats = [float(x) for x in stats]
        print(f"{name}: {row.seconds:.3f} s (runs {[round(t, 3) for t in times]})", file=sys.stderr)

    if rounds:
        time_rounds(rounds, rows, data, args.repeat)

    by = {r.peer: r for r in rows}
    reference = next(
        (by[n].stats for n in ("assay-dicts", "assay-tensors") if n in by and by[n].stats), None
    )
    pyc = by["pycocotools"].stats if "pycocotools" in by else None
    for row in rows:
        row.max_diff_vs_assay = _max_diff(row.stats, reference)
        row.max_diff_vs_pycocotools = _max_diff(row.stats, pyc)
        worst = max(
            (d for d in (row.max_diff_vs_assay, row.max_diff_vs_pycocotools) if d is not None),
            default=None,
        )
        if row.status == "ok" and worst is not None and worst > args.tolerance:
            row.status = f"MISMATCH > {args.tolerance:g}"

    if not args.no_memory:
        for row in rows:
            if row.status.startswith(("skipped", "failed")):
                continue
            print(f"{row.peer}: measuring peak memory in a subprocess ...", file=sys.stderr)
            mem = memory_in_subprocess(row.peer, args)
            row.peak_rss_mb = mem.get("peak_rss_mb")
            row.peak_gpu_mb = mem.get("peak_gpu_mb")
            row.memory_note = mem.get("error") or mem.get("method", "")
            data_info.setdefault("baseline_rss_mb", {})[row.peer] = mem.get("baseline_rss_mb")

    env["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    sys.stderr.flush()
    print(render(rows, env, data_info, command))
    if reference is not None:
        print(
            "assay stats: "
            + ", ".join(f"{n}={v:.4f}" for n, v in zip(STAT_NAMES, reference, strict=True))
        )
    if args.interleave:
        times = {r.peer: r.all_seconds for r in rows if r.peer in rounds}
        print("\n".join(paired_lines(times, ["assay-tensors", "assay-dicts"])))
    notes = sorted({r.memory_note for r in rows if r.memory_note})
    if notes:
        print("memory: " + "; ".join(notes))
    if args.json:
        payload = {
            "command": command,
            "environment": env,
            "data": data_info,
            "tolerance": args.tolerance,
            "rows": [asdict(r) for r in rows],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
