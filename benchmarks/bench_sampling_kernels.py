#!/usr/bin/env python
"""Sampling kernels: box scoring + per-frame aggregation + top-k, and core-set selection.

Three parts, one process, generated data (seeded, never downloaded):

(a) **Memory copy bandwidth** of this machine: ``torch`` ``copy_`` of a 1 GiB float32
    buffer (all intra-op threads) and ``numpy.copyto`` (one thread); GB/s count the
    read and the write. The larger is the reference for (b).

(b) **Uncertainty pipeline** for ``--frames`` frames (default 10,000,000) of box
    scores, CVAL-style: each box score ``s`` is the distribution ``(s, 1 - s)``; a
    per-box score (binary entropy, or margin ``|2s - 1|``), a per-frame reduction
    (CVAL's ``bbox_selection_policy``) and the top ``--top`` (1,000) frames, ties by
    frame index. Three frame layouts:

    - ``dense``: every frame has ``--boxes`` (20) boxes, stored frame after frame
      (``segment_reduce_contiguous(u, 20, ...)``: a reshape and a reduction);
    - ``ragged``: 0 to ``2 * boxes`` boxes per frame (mean ``boxes``), stored frame
      after frame (``segment_reduce_contiguous(u, lengths)``); a frame without boxes
      gets ``nan`` and ranks last here (the engine applies CVAL's rule instead);
    - ``unsorted``: the ragged boxes in random order with a frame id per box
      (``segment_reduce(u, frame_ids, ...)``: scatter / index_add).

    Each layout runs up to four ways: ``whole`` (each kernel over the whole array),
    ``chunked`` (the same kernels over chunks of ``--chunk-frames`` frames, so that
    the temporaries stay in cache; what a batch-wise engine does) and
    ``reduce-first`` (``min``/``max`` policies only, no per-box logarithm: margin is
    ``2 |s - 1/2|``, so reduce ``|s - 1/2|`` and double; the largest box entropy is
    that of the frame's largest score below 1/2 or smallest score from 1/2 up, so
    reduce those two per frame and take two entropies per frame) and ``fused``
    (``binary_frame_scores``: score and reduction in one Triton kernel on CUDA; on
    the CPU one compiled loop (extra numba) where it is loaded or the call pays for
    loading it, ``--numba-loaded`` loads it first; the eager kernels elsewhere;
    contiguous layouts only). All ways must return the same
    frames (checked bit for bit; ``same`` column; ``fused`` up to rounding: frames
    whose scores differ in the last bits may swap at the k-th value). Effective GB/s
    = bytes of input read (4 B per box score, plus 8 B per frame of lengths, or 8 B
    per box of frame ids) / seconds; the bar (issue 5) is a quarter of the copy
    bandwidth.

(d) **Top-k alone** (``--parts topk``): ``top_k`` of ``--frames`` float32 scores
    (uniform, 3 decimals with ties, ascending) in both directions: as called (long
    CPU inputs first cut to the candidates at least as good as a sample's k-th best),
    with that cut disabled (the two-stage ``topk`` over everything), and plain
    ``torch.topk(sorted=True)`` for reference (ties unordered). Both ``top_k`` rows
    must return the same indices (``same`` column).

(c) **Core-set** selection of ``--coreset-k`` (1,000) from ``--coreset-n``
    (1,000,000) x ``--dim`` (128) float32 embeddings: ``k_center_greedy`` against
    scikit-activeml's ``CoreSet`` and DISTIL's ``CoreSet.furthest_first``. Both peers
    cost one pass over the data per pick (DISTIL's pass is a Python loop over all
    points), so at full size they run ``--peer-picks`` picks and their time for
    ``k`` picks is *extrapolated* linearly in picks (labelled as such; scikit-activeml
    also keeps a ``(k, N)`` float64 utility matrix, 8 GB at full size). The picks of
    the peers' partial runs are compared with ours.

Usage::

    python benchmarks/bench_sampling_kernels.py                  # full size (~24 GB RAM box)
    python benchmarks/bench_sampling_kernels.py --frames 100000 --coreset-n 20000
    python benchmarks/bench_sampling_kernels.py --parts pipeline --layouts dense
    python benchmarks/bench_sampling_kernels.py --threads 1      # on a busy machine
    python benchmarks/bench_sampling_kernels.py --parts topk
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from assay import kernels as K
from provenance import device_name, git_commit

# ------------------------------------------------------------------------ helpers


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


def _compiled_which() -> str:
    """Which CPU frame-score loop runs here: "c", "numba" or "torch" (loads nothing)."""
    from assay.kernels import _compiled

    return _compiled.which(masks=False)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------- (a) copy bandwidth


def copy_bandwidth(gib: float, repeat: int, device: str) -> dict[str, float]:
    """GB/s (1e9 bytes, read + write) of a buffer copy: torch (all threads) and numpy."""
    n = int(gib * (1 << 30)) // 4
    src = torch.ones(n, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)  # touch the pages
    t, _ = _time(lambda: dst.copy_(src), repeat, device)
    out = {"torch_copy_gbps": 2 * src.numel() * 4 / t / 1e9}
    if device == "cpu":
        a, b = src.numpy(), dst.numpy()
        t, _ = _time(lambda: np.copyto(b, a), repeat, device)
        out["numpy_copy_gbps"] = 2 * a.nbytes / t / 1e9
    return out


# ------------------------------------------------------------------ (b) pipeline


@dataclass
class Frames:
    layout: str
    scores: torch.Tensor  # (num_boxes,) float32
    num_frames: int
    boxes: int  # dense: boxes per frame
    lengths: torch.Tensor | None = None  # ragged: (F,) int64
    frame_ids: torch.Tensor | None = None  # unsorted: (num_boxes,) int64

    def input_bytes(self) -> int:
        extra = 0
        if self.lengths is not None:
            extra = self.lengths.numel() * 8
        if self.frame_ids is not None:
            extra = self.frame_ids.numel() * 8
        return self.scores.numel() * 4 + extra


def make_frames(layout: str, frames: int, boxes: int, seed: int, device: str) -> Frames:
    g = torch.Generator().manual_seed(seed)
    if layout == "dense":
        scores = torch.rand(frames * boxes, generator=g)
        return Frames(layout, scores.to(device), frames, boxes)
    lengths = torch.randint(0, 2 * boxes + 1, (frames,), generator=g)
    scores = torch.rand(int(lengths.sum()), generator=g)
    if layout == "ragged":
        return Frames(layout, scores.to(device), frames, boxes, lengths=lengths.to(device))
    ids = torch.repeat_interleave(torch.arange(frames), lengths)
    perm = torch.randperm(ids.numel(), generator=g)
    ids = ids.index_select(0, perm)
    scores = scores.index_select(0, perm)
    del perm
    return Frames(layout, scores.to(device), frames, boxes, frame_ids=ids.to(device))


# strategy -> (per-box score, policy, descending: most uncertain first)
STRATEGIES: dict[str, tuple[str, str, bool]] = {
    "entropy/max": ("entropy", "max", True),
    "entropy/mean": ("entropy", "mean", True),
    "margin/min": ("margin", "min", False),
    "margin/mean": ("margin", "mean", False),
}


def box_score(kind: str, s: torch.Tensor) -> torch.Tensor:
    """Per-box score of the two-class distribution (s, 1 - s): one Bernoulli label."""
    one = s.unsqueeze(-1)
    if kind == "entropy":
        return K.entropy(one, multilabel=True)
    return K.margin(one, multilabel=True)


def split_sides(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lo, hi)``: ``s`` where ``s < 1/2`` (else < 0) and ``s`` where ``s >= 1/2`` (else > 1).

    Float arithmetic only (``f = min(floor(2s), 1)``; ``lo = s - 2f``, ``hi = s + 2(1 - f)``):
    exact for the kept values, and several times faster on the CPU than a comparison
    plus ``masked_fill``/``where``.
    """
    f = (s * 2).floor_().clamp_(max=1)
    lo = torch.add(s, f, alpha=-2)
    hi = torch.add(s, f.neg_().add_(1), alpha=2)
    return lo, hi


def entropy_of_sides(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Per-frame max box entropy from the box scores nearest 1/2 on each side.

    Binary entropy increases on [0, 1/2] and decreases on [1/2, 1], so the frame's
    largest box entropy is that of ``lo`` (its largest score < 1/2) or of ``hi`` (its
    smallest score >= 1/2), computed from those very box scores: the per-box maximum.
    ``lo < 0`` or ``hi > 1`` (or nan, a frame without boxes) means no box on that side.
    """
    glo = box_score("entropy", lo.clamp(0, 1)).masked_fill_(~(lo >= 0), -np.inf)
    ghi = box_score("entropy", hi.clamp(0, 1)).masked_fill_(~(hi <= 1), -np.inf)
    return torch.maximum(glo, ghi)


def _reduce(f: Frames, values: torch.Tensor, policy: str, lengths: torch.Tensor | None,
            ids: torch.Tensor | None, num: int) -> torch.Tensor:
    if f.layout == "dense":
        return K.segment_reduce_contiguous(values, f.boxes, policy)
    if f.layout == "ragged":
        assert lengths is not None
        return K.segment_reduce_contiguous(values, lengths, policy)
    assert ids is not None
    return K.segment_reduce(values, ids, num, policy)


def run_whole(f: Frames, strategy: str, top: int) -> torch.Tensor:
    kind, policy, desc = STRATEGIES[strategy]
    per_frame = _reduce(f, box_score(kind, f.scores), policy, f.lengths, f.frame_ids,
                        f.num_frames)
    per_frame = per_frame.nan_to_num(nan=-np.inf if desc else np.inf)  # no boxes: last
    return K.top_k(per_frame, top, descending=desc)


def frame_scores_fused(f: Frames, strategy: str) -> torch.Tensor:
    """Per-frame scores from ``binary_frame_scores`` (one Triton pass on CUDA)."""
    kind, policy, _ = STRATEGIES[strategy]
    lengths = f.boxes if f.layout == "dense" else f.lengths
    assert lengths is not None  # contiguous layouts only
    return K.binary_frame_scores(f.scores, lengths, kind, policy)  # type: ignore[arg-type]


def run_fused(f: Frames, strategy: str, top: int) -> torch.Tensor:
    desc = STRATEGIES[strategy][2]
    per_frame = frame_scores_fused(f, strategy).nan_to_num_(nan=-np.inf if desc else np.inf)
    return K.top_k(per_frame, top, descending=desc)


def same_up_to_rounding(f: Frames, strategy: str, picks: torch.Tensor,
                        reference: torch.Tensor) -> bool:
    """Whether ``picks`` are a top-k as good as ``reference``'s, up to float rounding.

    The fused kernel sums and takes logarithms in another order than the eager kernels,
    so frames whose scores differ in the last bits can swap places at the k-th value:
    compare the sorted per-frame scores of both picks (eager scores, rtol 1e-5).
    """
    kind, policy, _ = STRATEGIES[strategy]
    eager = _reduce(f, box_score(kind, f.scores), policy, f.lengths, f.frame_ids, f.num_frames)
    a = eager.index_select(0, picks).sort().values
    b = eager.index_select(0, reference).sort().values
    return bool(torch.allclose(a, b, rtol=1e-5, atol=0, equal_nan=True))


def _chunks(f: Frames, chunk_frames: int) -> list[tuple[int, int, int, int]]:
    """(frame start, frame end, box start, box end) per chunk; one host read of offsets."""
    starts = [*range(0, f.num_frames, chunk_frames), f.num_frames]
    if f.layout == "dense":
        box = [s * f.boxes for s in starts]
    else:
        assert f.lengths is not None
        offsets = torch.cumsum(f.lengths, 0)
        idx = torch.tensor(starts[1:], device=offsets.device) - 1
        box = [0, *offsets.index_select(0, idx).tolist()]
    return [(starts[i], starts[i + 1], box[i], box[i + 1]) for i in range(len(starts) - 1)]


def run_chunked(f: Frames, strategy: str, top: int, chunk_frames: int,
                reduce_first: bool) -> torch.Tensor:
    kind, policy, desc = STRATEGIES[strategy]
    if reduce_first:  # entropy/max, margin/min or margin/max
        assert (kind, policy) in (("entropy", "max"), ("margin", "min"), ("margin", "max"))
    if f.layout == "unsorted":  # frame ids anywhere: chunks of boxes, partial reductions
        return _run_unsorted_chunked(f, kind, policy, desc, top, chunk_frames * f.boxes,
                                     reduce_first)
    per_frame = torch.empty(f.num_frames, dtype=f.scores.dtype, device=f.scores.device)
    for f0, f1, b0, b1 in _chunks(f, chunk_frames):
        s = f.scores[b0:b1]
        lengths = None if f.lengths is None else f.lengths[f0:f1]
        num = f1 - f0
        if not reduce_first:
            per_frame[f0:f1] = _reduce(f, box_score(kind, s), policy, lengths, None, num)
        elif kind == "margin":  # margin = 2 |s - 1/2| exactly: reduce |s - 1/2|, then double
            d = (s - 0.5).abs_()
            per_frame[f0:f1] = _reduce(f, d, policy, lengths, None, num).mul_(2)
        else:
            lo, hi = split_sides(s)
            per_frame[f0:f1] = entropy_of_sides(
                _reduce(f, lo, "max", lengths, None, num), _reduce(f, hi, "min", lengths, None, num)
            )
    per_frame = per_frame.nan_to_num_(nan=-np.inf if desc else np.inf)
    return K.top_k(per_frame, top, descending=desc)


def _run_unsorted_chunked(f: Frames, kind: str, policy: str, desc: bool, top: int,
                          chunk_boxes: int, reduce_first: bool) -> torch.Tensor:
    """Partial sums / extremes per box chunk, combined: sum and count, or min / max."""
    assert f.frame_ids is not None
    n, num = f.scores.numel(), f.num_frames
    like = {"dtype": f.scores.dtype, "device": f.scores.device}
    if reduce_first and kind == "entropy":
        lo = torch.full((num,), -np.inf, **like)
        hi = torch.full((num,), np.inf, **like)
        for b0 in range(0, n, chunk_boxes):
            s, ids = f.scores[b0:b0 + chunk_boxes], f.frame_ids[b0:b0 + chunk_boxes]
            lo_s, hi_s = split_sides(s)
            lo.scatter_reduce_(0, ids, lo_s, "amax")
            hi.scatter_reduce_(0, ids, hi_s, "amin")
        per_frame = entropy_of_sides(lo, hi)
        return K.top_k(per_frame, top, descending=desc)
    total = torch.zeros(num, **like)
    if policy in ("min", "max"):
        total.fill_(np.inf if policy == "min" else -np.inf)
    for b0 in range(0, n, chunk_boxes):
        s, ids = f.scores[b0:b0 + chunk_boxes], f.frame_ids[b0:b0 + chunk_boxes]
        v = (s - 0.5).abs_() if reduce_first else box_score(kind, s)
        if policy in ("min", "max"):
            total.scatter_reduce_(0, ids, v, "amin" if policy == "min" else "amax")
        else:
            total.index_add_(0, ids, v)
    if reduce_first:
        total.mul_(2)
    counts = torch.bincount(f.frame_ids, minlength=num)
    if policy == "mean":
        total = total / counts.clamp_min(1)
    per_frame = total.masked_fill_(counts == 0, -np.inf if desc else np.inf)
    return K.top_k(per_frame, top, descending=desc)


@dataclass
class PipelineRow:
    layout: str
    strategy: str
    way: str
    seconds: float
    gbps: float
    fraction_of_copy: float
    same: bool


def bench_pipeline(args: argparse.Namespace, copy_gbps: float) -> list[PipelineRow]:
    rows: list[PipelineRow] = []
    for layout in args.layouts:
        rows += _bench_layout(args, layout, copy_gbps)  # the layout's data is freed after
    return rows


def _bench_layout(args: argparse.Namespace, layout: str, copy_gbps: float) -> list[PipelineRow]:
    _log(f"  generating {layout} frames ...")
    f = make_frames(layout, args.frames, args.boxes, args.seed, args.device)
    _log(f"  {layout}: {f.scores.numel():,} boxes, {f.input_bytes() / 1e9:.2f} GB of input")
    rows: list[PipelineRow] = []
    for strategy in args.strategies:
        ways: dict[str, Callable[[], torch.Tensor]] = {
            "whole": lambda st=strategy: run_whole(f, st, args.top),
            "chunked": lambda st=strategy: run_chunked(f, st, args.top, args.chunk_frames, False),
        }
        if layout != "unsorted":
            ways["fused"] = lambda st=strategy: run_fused(f, st, args.top)
        if STRATEGIES[strategy][1] in ("min", "max"):
            ways["reduce-first"] = lambda st=strategy: run_chunked(
                f, st, args.top, args.chunk_frames, True
            )
        reference: torch.Tensor | None = None
        for way in args.ways:
            if way not in ways:
                continue
            if way == "whole" and layout == "unsorted" and not args.unsorted_whole:
                continue
            seconds, picks = _time(ways[way], args.repeat, args.device)
            same = True
            if reference is None:
                reference = picks
            elif way == "fused":
                same = bool(torch.equal(picks, reference)) or same_up_to_rounding(
                    f, strategy, picks, reference
                )
            else:
                same = bool(torch.equal(picks, reference))
            gbps = f.input_bytes() / seconds / 1e9
            row = PipelineRow(layout, strategy, way, seconds, gbps, gbps / copy_gbps, same)
            rows.append(row)
            _log(f"    {layout:8} {strategy:13} {way:12} {seconds:7.3f} s "
                 f"{gbps:6.2f} GB/s ({row.fraction_of_copy:.2f} of copy) same={same}")
    return rows


# -------------------------------------------------------------------- (c) core-set


@dataclass
class CoresetRow:
    peer: str
    picks_run: int
    seconds_run: float
    seconds_for_k: float
    extrapolated: bool
    ratio_vs_assay: float | None = None
    picks_agree: str = ""


def bench_coreset(args: argparse.Namespace) -> list[CoresetRow]:
    n, d, k = args.coreset_n, args.dim, args.coreset_k
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(n, d, generator=g)
    xd = x.to(args.device)
    _log(f"  core-set: {n:,} x {d} float32, k = {k}")
    K.k_center_greedy(xd[:2000], 10)  # warm-up
    t_ours, res = _time(lambda: K.k_center_greedy(xd, k), 1, args.device)
    ours = res.indices.cpu().numpy()
    rows = [CoresetRow("assay k_center_greedy", k, t_ours, t_ours, False, 1.0)]
    _log(f"    assay: {t_ours:.2f} s")
    xn = x.numpy()
    picks = min(args.peer_picks, k)
    if "skactiveml" in args.peers:
        try:
            from skactiveml.pool import CoreSet as SkCoreSet
        except Exception as exc:
            _log(f"    scikit-activeml unavailable: {exc}")
        else:
            y = np.full(n, np.nan)
            y[0] = 0  # one labeled point: farthest-first from it (ours: initial=[0])
            qs = SkCoreSet(random_state=0)
            qs.query(xn[:2000], y[:2000], batch_size=2)  # warm-up
            t, theirs = _time(lambda: qs.query(xn, y, batch_size=picks), 1, "cpu")
            mine = K.k_center_greedy(xd, picks, initial=torch.tensor([0], device=args.device))
            agree = int((np.asarray(theirs) == mine.indices.cpu().numpy()).sum())
            t_k = t / picks * k
            rows.append(CoresetRow("scikit-activeml CoreSet", picks, t, t_k, picks < k,
                                   t_k / t_ours, f"{agree}/{picks}"))
            _log(f"    scikit-activeml: {t:.2f} s for {picks} picks")
    if "distil" in args.peers:
        try:
            from distil.active_learning_strategies.core_set import CoreSet as DistilCoreSet
        except Exception as exc:
            _log(f"    DISTIL unavailable: {exc}")
        else:
            dpicks = min(args.distil_picks, k)
            empty = np.empty((0, d), dtype=np.float32)
            DistilCoreSet.furthest_first(None, xn[:2000], empty, 2)  # warm-up
            t, theirs = _time(
                lambda: DistilCoreSet.furthest_first(None, xn, empty, dpicks), 1, "cpu")
            agree = int((np.asarray(theirs) == ours[:dpicks]).sum())
            t_k = t / dpicks * k
            rows.append(CoresetRow("DISTIL CoreSet.furthest_first", dpicks, t, t_k, dpicks < k,
                                   t_k / t_ours, f"{agree}/{dpicks}"))
            _log(f"    DISTIL: {t:.2f} s for {dpicks} picks")
    return rows


@dataclass
class TopKRow:
    data: str
    order: str
    way: str
    ms: float
    same: bool


def bench_top_k(args: argparse.Namespace) -> list[TopKRow]:
    """``top_k`` with and without the CPU candidate cut, and ``torch.topk``."""
    from assay.kernels import uncertainty

    g = torch.Generator().manual_seed(args.seed)
    n, k = args.frames, args.top
    u = torch.rand(n, generator=g)
    inputs = {
        "uniform": u,
        "3 decimals": torch.round(u * 1000) / 1000,
        "ascending": torch.arange(n, dtype=torch.float32),
    }
    rows = []
    cut_min = uncertainty._TOPK_SAMPLED_MIN
    for name, x in inputs.items():
        x = x.to(args.device)
        for desc in (True, False):
            order = "descending" if desc else "ascending"
            ours = partial(K.top_k, x, k, descending=desc)
            t_cut, picks = _time(ours, args.repeat, args.device)
            uncertainty._TOPK_SAMPLED_MIN = 1 << 62  # the two-stage path over everything
            try:
                t_all, picks_all = _time(ours, args.repeat, args.device)
            finally:
                uncertainty._TOPK_SAMPLED_MIN = cut_min
            plain = partial(torch.topk, x, k, largest=desc, sorted=True)
            t_torch, _ = _time(plain, args.repeat, args.device)
            same = bool(torch.equal(picks, picks_all))
            rows += [
                TopKRow(name, order, "top_k", t_cut * 1e3, same),
                TopKRow(name, order, "top_k, no cut", t_all * 1e3, same),
                TopKRow(name, order, "torch.topk", t_torch * 1e3, True),
            ]
            _log(f"  top-k {name} {order}: {t_cut * 1e3:.1f} / {t_all * 1e3:.1f} / "
                 f"{t_torch * 1e3:.1f} ms")
    return rows


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="*", default=["bandwidth", "pipeline", "coreset"])
    parser.add_argument("--frames", type=int, default=10_000_000)
    parser.add_argument("--boxes", type=int, default=20, help="boxes per frame (mean if ragged)")
    parser.add_argument("--top", type=int, default=1000)
    parser.add_argument("--layouts", nargs="*", default=["dense", "ragged", "unsorted"])
    parser.add_argument("--strategies", nargs="*", default=list(STRATEGIES))
    parser.add_argument("--ways", nargs="*",
                        default=["whole", "chunked", "reduce-first", "fused"])
    parser.add_argument("--chunk-frames", type=int, default=1 << 15)
    parser.add_argument("--unsorted-whole", action="store_true",
                        help="also run the unchunked unsorted way (slow: scatter over 200M)")
    parser.add_argument("--coreset-n", type=int, default=1_000_000)
    parser.add_argument("--coreset-k", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--peers", nargs="*", default=["skactiveml", "distil"])
    parser.add_argument("--peer-picks", type=int, default=20,
                        help="scikit-activeml picks at full size (time extrapolated to k)")
    parser.add_argument("--distil-picks", type=int, default=5,
                        help="DISTIL picks at full size (time extrapolated to k)")
    parser.add_argument("--copy-gib", type=float, default=1.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--numba-loaded", action="store_true",
                        help="load the CPU frame-score loop before timing, as a process that "
                             "has used it would have (numba's: else it loads only for calls "
                             "big enough to pay for the load, 2**28 boxes, 2**30 in "
                             "fixed-length frames; the C loop needs no load)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.numba_loaded:
        from assay.kernels import _compiled

        if not _compiled.preload(masks=False):
            parser.error("--numba-loaded: no compiled loop can run here (no C build, numba "
                         "not installed or broken, or switched off; pip install 'assay[numba]')")
    unknown = [s for s in args.strategies if s not in STRATEGIES]
    if unknown:
        parser.error(f"unknown strategies {unknown}; choose from {list(STRATEGIES)}")

    env = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "device": device_name(args.device),
        "threads": torch.get_num_threads(),
        "git_commit": git_commit(),
        "numba_loop_loaded_first": args.numba_loaded,
        "cpu_frame_loop": _compiled_which(),
    }
    print(f"sampling kernels | torch {env['torch']} | {env['device']} | "
          f"{env['threads']} threads | git {env['git_commit']} | CPU frame loop "
          f"{env['cpu_frame_loop']}, "
          f"{'loaded first' if args.numba_loaded else 'loaded when a call pays for it'}")
    result: dict[str, Any] = {"env": env, "args": {k: str(v) for k, v in vars(args).items()}}

    copy_gbps = float("nan")
    if "bandwidth" in args.parts or "pipeline" in args.parts:
        bw = copy_bandwidth(args.copy_gib, 5, args.device)
        copy_gbps = max(bw.values())
        result["bandwidth"] = bw
        print("\n(a) memory copy bandwidth, GB/s counting read + write, "
              f"{args.copy_gib:g} GiB buffer, best of 5")
        for name, v in bw.items():
            print(f"  {name:<18} {v:7.1f}")
        print(f"  reference          {copy_gbps:7.1f}   (bar for (b): >= {copy_gbps / 4:.1f})")

    if "pipeline" in args.parts:
        print(f"\n(b) score + per-frame reduce + top-{args.top}: {args.frames:,} frames x "
              f"{args.boxes} boxes float32, chunks of {args.chunk_frames:,} frames, "
              f"best of {args.repeat}")
        rows = bench_pipeline(args, copy_gbps)
        result["pipeline"] = [asdict(r) for r in rows]
        header = (f"  {'layout':<9}{'strategy':<14}{'way':<13}{'seconds':>8}{'GB/s':>8}"
                  f"{'x copy':>8}  same")
        print(header)
        print("  " + "-" * (len(header) - 2))
        for r in rows:
            print(f"  {r.layout:<9}{r.strategy:<14}{r.way:<13}{r.seconds:8.3f}{r.gbps:8.2f}"
                  f"{r.fraction_of_copy:8.2f}  {'yes' if r.same else 'NO'}")

    if "topk" in args.parts:
        print(f"\n(d) top-{args.top} of {args.frames:,} float32 scores, best of {args.repeat}")
        trows = bench_top_k(args)
        result["topk"] = [asdict(r) for r in trows]
        print(f"  {'data':<12}{'order':<12}{'way':<15}{'ms':>9}  same")
        for r in trows:
            print(f"  {r.data:<12}{r.order:<12}{r.way:<15}{r.ms:9.1f}  {'yes' if r.same else 'NO'}")

    if "coreset" in args.parts:
        print(f"\n(c) core-set: {args.coreset_k} of {args.coreset_n:,} x {args.dim} float32")
        crow = bench_coreset(args)
        result["coreset"] = [asdict(r) for r in crow]
        print(f"  {'peer':<32}{'picks run':>10}{'s (run)':>10}{'s for k':>10}{'peer/assay':>11}"
              f"  picks agree")
        for r in crow:
            mark = " (extrapolated)" if r.extrapolated else ""
            ratio = "" if r.ratio_vs_assay is None else f"{r.ratio_vs_assay:.1f}"
            print(f"  {r.peer:<32}{r.picks_run:>10}{r.seconds_run:>10.2f}{r.seconds_for_k:>10.1f}"
                  f"{ratio:>11}  {r.picks_agree}{mark}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
