"""Optional compiled CPU loops: RLE mask kernels, per-frame box scores.

The torch paths are the fallback and the reference.

The mask kernels of :mod:`.masks` are batched torch code: every step is a pass over
all runs of all masks, 10-30 passes per kernel at 20-40 ns per run on the CPU. The
loops of pycocotools' ``maskApi.c`` (one walk over a mask's runs) cost about 1-2 ns
per run once compiled. They exist twice, with the same functions and arguments:

- in C (``kernels/_native/masks.c``, :mod:`._native_kernels`), built at install as an
  optional extension (``setup.py``) and opened with ``ctypes`` in about a millisecond;
- in numba (:mod:`._numba_kernels`, extra ``numba``), compiled on first use and
  cached on disk; importing numba and loading that code costs 0.6-0.9 s per process.

The C loops are taken when built, else numba's. Both run over ranges of the masks on
``torch.get_num_threads()`` threads (they release the GIL) and give the torch paths'
results bit for bit (tests compare the three).

Switches (environment variables; ``0``, ``false``, ``off`` or ``no`` turn one off):
``ASSAY_COMPILED`` all compiled loops (torch paths only), ``ASSAY_NATIVE`` the C loops,
``ASSAY_NUMBA`` numba's.

They run for CPU tensors, for batches big enough to pay for them: from
:data:`MIN_RUNS` runs (:data:`MIN_PAIRS` pairs, :data:`MIN_VERTICES` vertices), where
the thread pool starts to pay. numba's loops, until loaded in the process, are taken
only when the time they save is of the order of their load (rules of thumb, where the
costlier kernels break even: :data:`MIN_RUNS_COLD` runs or string bytes,
:data:`MIN_PAIRS_COLD` IoU pairs, :data:`MIN_VERTICES_COLD` polygon vertices; the
COCO loader asks with its number of masks, :data:`MIN_MASKS_COLD`). So without the C
loops a small evaluation does not load numba (``coco_val2014_100``, 1,573 masks: 0.15
s, against 0.9-1.1 s with the load), and a big one loads it once (5,000 images: 1.2-1.3
s for the first evaluation in a process, ~0.6 s after). :func:`installed` says whether
compiled loops can run without loading them. CUDA tensors always take the torch
paths. Tests set the minimums to 0 to run these paths on small inputs.

Like :mod:`._triton` for CUDA, this is the same job in one pass; the torch paths stay
the reference (pycocotools parity is tested on all of them).

:func:`frame_scores` is the CPU's one pass of
:func:`.frame_scores.binary_frame_scores` (C: :mod:`._native_frame_kernels`, numba:
:mod:`._numba_frame_kernels`): each box's score and its frame's reduction in
registers, where the eager path writes and reads per-box temporaries. Taken from
:data:`MIN_BOXES` boxes; numba's, before it is loaded, from :data:`MIN_BOXES_COLD`
boxes in frames of varying lengths (fixed-length frames: :data:`MIN_DENSE_BOXES_COLD`).

:func:`accumulate` is the CPU's :func:`.ranking.coco_accumulate` in C only
(:mod:`._native_ranking_kernels`; numba has no such loop): the walk of pycocotools'
``accumulate`` over each category's matched detections, one (category, area range)
per item, where the torch path makes some forty passes over every match
event and (threshold, area, category, recall threshold) cell per maxDets.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ._env import switched_off

__all__ = [
    "MIN_BOXES",
    "MIN_BOXES_COLD",
    "MIN_DENSE_BOXES_COLD",
    "MIN_MASKS_COLD",
    "MIN_PAIRS",
    "MIN_PAIRS_COLD",
    "MIN_RUNS",
    "MIN_RUNS_COLD",
    "MIN_VERTICES",
    "MIN_VERTICES_COLD",
    "accumulate",
    "accumulate_available",
    "areas",
    "at_least",
    "at_least_available",
    "available",
    "boxes",
    "decode_strings",
    "frame_scores",
    "frame_scores_available",
    "installed",
    "iou_pairs",
    "polygons",
    "preload",
    "select",
    "union",
    "which",
]

# once the loops are loaded in the process: batches from these sizes take them
MIN_RUNS = 1 << 16  # runs (or string bytes) of a batch
MIN_PAIRS = 1 << 12  # pairs of an IoU batch
MIN_VERTICES = 1 << 12  # polygon vertices of a batch (each costs ~5 boundary points per pixel)
MIN_BOXES = 1 << 16  # boxes of a frame-score call
# before: batches where the time saved is of the order of the load (0.6-0.9 s); the
# compiled loops save most of the torch path's time, whose per-item costs on the 2-vCPU
# reference machine (docs/performance.md) set these (rules of thumb: the costlier
# kernels break even there, the cheapest, mask areas, only past 2**27 runs)
MIN_RUNS_COLD = 1 << 26  # mask areas 8 ns per run, boxes 23: 0.5-1.5 s
MIN_PAIRS_COLD = 1 << 18  # IoU 3.3 us per pair (190 runs per mask): 0.9 s
MIN_VERTICES_COLD = 1 << 20  # rasterising 830 ns per vertex: 0.9 s
MIN_MASKS_COLD = 1 << 14  # masks the COCO loader reads, ~45 us each over all stages: 0.7 s
MIN_BOXES_COLD = 1 << 28  # boxes in frames of varying lengths, 1-3.5 ns saved: 0.3-0.9 s
MIN_DENSE_BOXES_COLD = 1 << 30  # boxes in fixed-length frames, ~0.5 ns saved: 0.5 s
_CHUNKS_PER_THREAD = 4  # ranges per thread: uneven masks still share the work
_loaded: dict[str, ModuleType | None] = {}
_FRAME_LOOPS = {  # entropy: the C loop only (float32; numba's scalar logs lose to torch)
    "entropy": "entropy_frames",
    "margin": "margin_frames",
    "least_confidence": "least_frames",
    "ratio": "ratio_frames",
    "probability": "probability_frames",
}
_FRAME_REDUCTIONS = ("min", "max", "mean", "sum")
# the C loops standing for each numba module
_NATIVE = {"_numba_kernels": "_native_kernels", "_numba_frame_kernels": "_native_frame_kernels"}


def _module(name: str) -> ModuleType | None:
    """The loop module ``name`` of this package, or None if it cannot import."""
    if name not in _loaded:
        try:  # optional: any import failure -> the next path
            _loaded[name] = importlib.import_module(f".{name}", __package__)
        except Exception:  # pragma: no cover - depends on the install
            _loaded[name] = None
    return _loaded[name]


def _native(name: str) -> ModuleType | None:
    """The C loops standing for numba module ``name``, when built and switched on."""
    if switched_off("ASSAY_NATIVE"):
        return None
    return _module(_NATIVE[name])


def _loops(name: str) -> ModuleType | None:
    """The loops of numba module ``name``: the C ones when built, else numba's (loads it)."""
    native = _native(name)
    if native is not None:
        return native
    return None if switched_off("ASSAY_NUMBA") else _module(name)


def _numba_installed() -> bool:
    """Whether numba may run: switched on, installed, and no earlier import of its loops failed."""
    if switched_off("ASSAY_NUMBA"):
        return False
    if any(_loaded.get(name, False) is None for name in _NATIVE):
        return False
    return importlib.util.find_spec("numba") is not None


def installed() -> bool:
    """Whether compiled loops may run here, without loading numba's.

    ``ASSAY_COMPILED`` is not off, and either the C loops are built (and
    ``ASSAY_NATIVE`` is not off), or numba is installed, ``ASSAY_NUMBA`` is not off and
    no earlier import of its loops failed in this process. numba's import is tried only
    when a batch loads them; if it fails then, the torch paths run and this says False
    from then on (unless the C loops are there).
    """
    return which() != "torch"


def preload(*, masks: bool = True, frames: bool = True) -> bool:
    """Load the compiled loops now, as a process that has used them would have.

    Afterwards every batch takes the loops from the warm minimums (``MIN_RUNS``...)
    rather than the cold ones. For benchmarks, and for services that want numba's
    one-time load (0.6-0.9 s) at start-up rather than in their first large request.
    The C loops need no preloading (they open in about a millisecond).

    Args:
        masks: load the mask loops (RLE, polygons, IoU).
        frames: load the per-frame score loops.

    Returns:
        Whether every kind asked for is ready (``False``: neither the C loops nor numba
        can run, or ``ASSAY_COMPILED`` off; the torch paths run).
    """
    if not _enabled(()):
        return False
    names = [n for n, want in (("_numba_kernels", masks), ("_numba_frame_kernels", frames)) if want]
    return all(_loops(name) is not None for name in names)


def which(*, masks: bool = True) -> str:
    """Which loops CPU batches take here: ``"c"``, ``"numba"`` or ``"torch"``.

    For the mask loops (``masks``) or the frame-score loop; numba is not loaded by
    asking (``"numba"``: installed and switched on, loaded when a batch pays for it).

    Example:
        >>> which() in ("c", "numba", "torch")
        True
    """
    name = "_numba_kernels" if masks else "_numba_frame_kernels"
    if not _enabled(()):
        return "torch"
    if _native(name) is not None:
        return "c"
    return "numba" if _numba_installed() else "torch"


def _enabled(tensors: Sequence[Tensor]) -> bool:
    """``ASSAY_COMPILED`` is not off and every tensor is on the CPU."""
    if switched_off("ASSAY_COMPILED"):
        return False
    return all(t.device.type == "cpu" for t in tensors)


def _takes(name: str, size: int, warm: int, cold: int) -> bool:
    """Whether a batch of ``size`` takes the loops of numba module ``name``.

    ``size >= warm`` for the C loops and for numba's once loaded in this process,
    ``size >= cold`` before; a batch that qualifies loads numba's (``False`` if its
    import fails).
    """
    if _native(name) is not None:
        return size >= warm
    if switched_off("ASSAY_NUMBA"):
        return False
    need = warm if _loaded.get(name) is not None else cold
    return size >= need and _module(name) is not None


def _mask_loops() -> ModuleType:
    """The compiled mask loops; callers asked :func:`available` first."""
    k = _loops("_numba_kernels")
    if k is None:  # pragma: no cover - available() said yes
        raise RuntimeError("the compiled mask loops are not available (no C build, no numba)")
    return k


def available(
    *tensors: Tensor, size: int, minimum: int | None = None, cold: int | None = None
) -> bool:
    """Whether the compiled mask loops run for a batch of ``size`` (CPU tensors).

    ``size >= minimum`` for the C loops and numba's once loaded in this process,
    ``size >= cold`` before (the first such batch loads numba's). ``minimum`` defaults
    to :data:`MIN_RUNS`, ``cold`` to :data:`MIN_RUNS_COLD` (read at call time, so
    tests can lower them).
    """
    if not _enabled(tensors):
        return False
    warm = MIN_RUNS if minimum is None else minimum
    return _takes("_numba_kernels", size, warm, MIN_RUNS_COLD if cold is None else cold)


def _np(t: Tensor, dtype: Any = np.int64) -> np.ndarray:
    return np.ascontiguousarray(t.detach().numpy(), dtype=dtype)


def _ranges(n: int, chunks: int) -> list[tuple[int, int]]:
    bounds = np.linspace(0, n, min(chunks, max(n, 1)) + 1).astype(np.int64).tolist()
    return [(lo, hi) for lo, hi in pairwise(bounds) if hi > lo]


_pool: list[tuple[int, ThreadPoolExecutor]] = []  # at most one; dropped in a forked child


def _forget_pool() -> None:
    _pool.clear()  # a child process has none of the parent's threads


os.register_at_fork(after_in_child=_forget_pool)


def _executor(threads: int) -> ThreadPoolExecutor:
    """The pool of ``threads`` workers (a pool of another size is shut down)."""
    if _pool and _pool[0][0] != threads:
        _pool.pop()[1].shutdown(wait=False)
    if not _pool:
        _pool.append(
            (threads, ThreadPoolExecutor(max_workers=threads, thread_name_prefix="assay-rle"))
        )
    return _pool[0][1]


def _work_ranges(n: int) -> list[tuple[int, int]]:
    """The ranges :func:`_run` splits ``[0, n)`` into: one per thread, several each."""
    threads = max(1, torch.get_num_threads())
    if threads == 1 or n < 2:
        return [(0, n)] if n else []
    return _ranges(n, threads * _CHUNKS_PER_THREAD)


def _run(
    fn: Callable[[int, int], None], n: int, ranges: list[tuple[int, int]] | None = None
) -> None:
    """``fn(lo, hi)`` over ranges covering ``[0, n)``, on torch's number of threads.

    ``ranges``: :func:`_work_ranges` (``n``) when the caller needed them first. Ranges
    the pool cannot take (interpreter shutdown: a thread that outlives the main one) run
    on the calling thread; one thread in torch: one range, here.
    """
    threads = max(1, torch.get_num_threads())
    ranges = _work_ranges(n) if ranges is None else ranges
    if threads == 1 or len(ranges) < 2:
        for lo, hi in ranges:
            fn(lo, hi)
        return
    futures = []
    for lo, hi in ranges:
        try:
            futures.append(_executor(threads).submit(fn, lo, hi))
        except RuntimeError:  # "cannot schedule new futures after (interpreter) shutdown"
            fn(lo, hi)
    for future in futures:
        future.result()


def _copy_ranges(
    k: ModuleType,
    src: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    out_offsets: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out[out_offsets[i]:][:lengths[i]] = src[starts[i]:][:lengths[i]]`` for every ``i``."""
    _run(lambda lo, hi: k.copy_ranges(src, starts, lengths, out_offsets, lo, hi, out), len(starts))


def _ragged_take(
    k: ModuleType, src: np.ndarray, starts: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """``concat(src[starts[i]:starts[i] + lengths[i]])``."""
    offsets = _offsets(lengths)
    out = np.empty(int(offsets[-1]), dtype=src.dtype)
    _copy_ranges(k, src, starts, lengths, offsets, out)
    return out


def select(
    rles: Sequence[Sequence[Tensor]], index: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor] | None:
    """Masks ``index`` of the concatenation of ``rles``, copied once: the four ``Rle`` fields.

    As ``masks.rle_select`` of ``masks.rle_cat``. ``None`` when an index is out of
    range (the torch path reports it).
    """
    k = _mask_loops()
    arrays = [_rle(r) for r in rles]
    sizes = np.array([a[2].shape[0] for a in arrays], dtype=np.int64)
    first = _offsets(sizes)
    i = _np(index)
    if i.ndim != 1 or (i.size and (i.min() < 0 or i.max() >= first[-1])):
        return None
    part = np.searchsorted(first, i, side="right") - 1
    local = i - first[part]
    lengths = np.empty(i.shape[0], dtype=np.int64)
    starts = np.empty(i.shape[0], dtype=np.int64)
    h = np.empty(i.shape[0], dtype=np.int64)
    w = np.empty(i.shape[0], dtype=np.int64)
    picks = [np.flatnonzero(part == p) for p in range(len(arrays))]  # a few batches
    for sel, (_, o, ph, pw) in zip(picks, arrays, strict=True):
        at = local[sel]
        lengths[sel] = o[at + 1] - o[at]
        starts[sel] = o[at]
        h[sel], w[sel] = ph[at], pw[at]
    offsets = _offsets(lengths)
    out = np.empty(int(offsets[-1]), dtype=np.int64)
    for sel, (c, *_) in zip(picks, arrays, strict=True):
        _copy_ranges(k, c, starts[sel], lengths[sel], offsets[sel], out)
    return (
        torch.from_numpy(out),
        torch.from_numpy(offsets),
        torch.from_numpy(h),
        torch.from_numpy(w),
    )


def _offsets(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _rle(rle: Sequence[Tensor]) -> list[np.ndarray]:
    """``(counts, offsets, height, width)`` as int64 arrays.

    The loops read raw memory: callers pass only masks whose structure
    ``masks._check_rle`` checked (offsets slicing the counts, ``(N,)`` sizes).
    """
    return [_np(t) for t in rle]


def _boxes(k: ModuleType, rle: list[np.ndarray]) -> np.ndarray:
    c, o, h, w = rle
    out = np.empty((h.shape[0], 4), dtype=np.float64)
    _run(lambda lo, hi: k.box_range(c, o, h, w, lo, hi, out), h.shape[0])
    return out


def boxes(rle: Sequence[Tensor]) -> Tensor:
    """``rleToBbox`` of every mask: ``(N, 4)`` float64 ``xywh`` (as ``masks.rle_to_box``)."""
    return torch.from_numpy(_boxes(_mask_loops(), _rle(rle)))


def areas(rle: Sequence[Tensor]) -> Tensor:
    """Set pixels of every mask: ``(N,)`` int64 (as ``masks.rle_area``)."""
    k = _mask_loops()
    c, o = _rle(rle)[:2]
    out = np.empty(o.shape[0] - 1, dtype=np.int64)
    _run(lambda lo, hi: k.area_range(c, o, lo, hi, out), out.shape[0])
    return torch.from_numpy(out)


def iou_pairs(
    dt: Sequence[Tensor],
    gt: Sequence[Tensor],
    pair_dt: Tensor,
    pair_gt: Tensor,
    crowd: Tensor,
) -> Tensor:
    """``rleIou`` of aligned pairs (as ``masks.rle_iou_pairs``).

    ``dt`` / ``gt`` are ``(counts, offsets, height, width)``; the caller checked the
    pair indexes.
    """
    k, d, g = _mask_loops(), _rle(dt), _rle(gt)
    d_box, g_box = _boxes(k, d), _boxes(k, g)
    pd, pg = _np(pair_dt), _np(pair_gt)
    cr = _np(crowd, np.bool_)
    out = np.empty(pd.shape[0], dtype=np.float64)

    def work(lo: int, hi: int) -> None:
        k.iou_pairs_range(*d, d_box, *g, g_box, pd, pg, cr, lo, hi, out)

    _run(work, pd.shape[0])
    return torch.from_numpy(out)


def polygons(
    points: Tensor,
    ring_offsets: Tensor,
    height: Tensor,
    width: Tensor,
    groups: Tensor | None = None,
    num_groups: int = 0,
) -> tuple[Tensor, Tensor, Tensor, Tensor] | None:
    """``rleFrPoly`` of every ring (as ``masks.rle_from_polygons``).

    Returns the four ``Rle`` fields of the rings, or with ``groups`` (ascending) of
    the union of each group's rings. Each ring's counts are written into
    room for its crossings plus one, counted first, and united from there. ``None``
    when the groups are not ascending (the torch path sorts them).
    """
    k = _mask_loops()
    g = None if groups is None else _np(groups)
    if g is not None and g.size and (np.diff(g) < 0).any():
        return None
    xy = _np(points, np.float64)
    ro = _np(ring_offsets)
    h, w = _np(height), _np(width)
    num = h.shape[0]
    bound = np.empty(num, dtype=np.int64)
    span = np.empty(num, dtype=np.int64)
    _run(lambda lo, hi: k.polygon_bound_range(xy, ro, w, lo, hi, bound, span), num)
    cap = _offsets(bound)
    buf = np.empty(int(cap[-1]), dtype=np.int64)
    written = np.empty(num, dtype=np.int64)

    def work(lo: int, hi: int) -> None:
        size = int(bound[lo:hi].max())
        cols, tmp = np.empty(size, np.int64), np.empty(size, np.int64)
        hist = np.empty(int(span[lo:hi].max()) + 2, np.int64)
        k.polygon_range(xy, ro, h, w, lo, hi, cap, buf, written, cols, tmp, hist)

    _run(work, num)
    if g is not None:
        return _union(k, buf, np.ascontiguousarray(cap[:-1]), written, h, w, g, num_groups)
    counts = _ragged_take(k, buf, cap[:-1], written)
    return (
        torch.from_numpy(counts),
        torch.from_numpy(_offsets(written)),
        torch.from_numpy(h),
        torch.from_numpy(w),
    )


def union(
    counts: Tensor, offsets: Tensor, height: Tensor, width: Tensor, groups: Tensor, num_groups: int
) -> tuple[Tensor, Tensor, Tensor, Tensor] | None:
    """Union of the masks of each group (as ``masks.rle_merge``): the four ``Rle`` fields.

    ``None`` when the groups are not in ascending order (the caller then takes the
    torch path, which sorts); ``masks._check_groups`` checked their shape and range.
    """
    c, o, h, w = _rle((counts, offsets, height, width))
    g = _np(groups)
    if g.size and (np.diff(g) < 0).any():
        return None
    return _union(_mask_loops(), c, o[:-1], o[1:] - o[:-1], h, w, g, num_groups)


def _union(
    k: ModuleType,
    c: np.ndarray,
    run_start: np.ndarray,
    run_len: np.ndarray,
    h: np.ndarray,
    w: np.ndarray,
    g: np.ndarray,
    num_groups: int,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """:func:`union` of masks ``c[run_start[i]:][:run_len[i]]`` in ascending groups ``g``."""
    n = h.shape[0]
    members = np.bincount(g, minlength=num_groups)[:num_groups]
    member_offsets = _offsets(members)
    first = np.minimum(member_offsets[:-1], max(n - 1, 0))
    h_first, w_first = (h[first], w[first]) if n else (np.zeros_like(first),) * 2
    odd = ((h != h_first[g]) | (w != w_first[g])) if n else np.zeros(0, bool)
    mixed = np.bincount(g, weights=odd, minlength=num_groups)[:num_groups] > 0
    valid = (members > 0) & ~mixed
    out_h, out_w = np.where(valid, h_first, 0), np.where(valid, w_first, 0)
    multi = np.flatnonzero(valid & (members > 1))
    single = np.flatnonzero(valid & (members == 1))
    # Merged groups: written into room for their total runs + 2 each.
    group_runs = np.bincount(g, weights=run_len, minlength=num_groups)[:num_groups]
    cap_len = group_runs.astype(np.int64)[multi] + 2
    cap = _offsets(cap_len)
    buf = np.empty(int(cap[-1]), dtype=np.int64)
    merged_len = np.empty(multi.shape[0], dtype=np.int64)
    m_start = np.ascontiguousarray(member_offsets[multi])
    m_end = np.ascontiguousarray(member_offsets[multi + 1])
    total = np.ascontiguousarray((out_h * out_w)[multi], dtype=np.int64)
    run_end = run_start + run_len

    def work(lo: int, hi: int) -> None:
        size = int(cap_len[lo:hi].max())
        starts, ends = np.empty(size, np.int64), np.empty(size, np.int64)
        k.union_range(
            c, run_start, run_end, total, m_start, m_end, lo, hi, cap, buf, merged_len, starts, ends
        )

    _run(work, multi.shape[0])
    # Every group's counts: merged, the single member's own, or none.
    out_len = np.zeros(num_groups, dtype=np.int64)
    out_len[multi] = merged_len
    out_len[single] = run_len[first[single]]
    out_offsets = _offsets(out_len)
    out = np.empty(int(out_offsets[-1]), dtype=np.int64)
    _copy_ranges(k, buf, cap[:-1], merged_len, out_offsets[multi], out)
    _copy_ranges(k, c, run_start[first[single]], out_len[single], out_offsets[single], out)
    return (
        torch.from_numpy(out),
        torch.from_numpy(out_offsets),
        torch.from_numpy(out_h.astype(np.int64)),
        torch.from_numpy(out_w.astype(np.int64)),
    )


def decode_strings(buf: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``rleFrString`` of concatenated strings (as ``masks._decode_strings``)."""
    k = _mask_loops()
    n = lengths.shape[0]
    ends = np.cumsum(lengths, dtype=np.int64)
    runs = np.empty(n, dtype=np.int64)
    bad = np.empty(n, dtype=np.bool_)
    data = np.ascontiguousarray(buf, dtype=np.uint8)
    _run(lambda lo, hi: k.string_runs_range(data, ends, lo, hi, runs, bad), n)
    offsets = _offsets(runs)
    counts = np.empty(int(offsets[-1]), dtype=np.int64)
    _run(lambda lo, hi: k.decode_strings_range(data, ends, offsets, lo, hi, counts, bad), n)
    first_bad = np.flatnonzero(bad)
    return counts, runs, int(first_bad[0]) if first_bad.size else -1


def frame_scores_available(*tensors: Tensor, size: int, dense: bool) -> bool:
    """Whether :func:`frame_scores` runs for a call over ``size`` boxes (CPU tensors).

    From :data:`MIN_BOXES` boxes for the C loop and numba's once loaded in this
    process; numba's before, from :data:`MIN_BOXES_COLD` (:data:`MIN_DENSE_BOXES_COLD`
    for ``dense``, fixed-length frames), where the time saved is of the order of the
    load.
    """
    if not _enabled(tensors):
        return False
    cold = MIN_DENSE_BOXES_COLD if dense else MIN_BOXES_COLD
    return _takes("_numba_frame_kernels", size, MIN_BOXES, cold)


def frame_scores(
    scores: Tensor,
    lengths: Tensor | int,
    score: str,
    reduction: str,
    normalize: bool,
    empty: float,
) -> Tensor:
    """``binary_frame_scores`` of float32 / float64 CPU ``scores`` in one compiled pass.

    The caller checked the arguments (as ``binary_frame_scores`` does) and asked
    :func:`frame_scores_available`. Lengths are not checked against the scores (the
    loop clips each frame to them); the result is in the dtype of ``scores``.
    """
    k = _loops("_numba_frame_kernels")
    assert k is not None  # callers asked frame_scores_available()
    s = scores.detach().contiguous().numpy()
    loop = getattr(k, _FRAME_LOOPS[score])
    args = (_FRAME_REDUCTIONS.index(reduction), normalize, float(empty))
    if isinstance(lengths, int):
        num_frames = s.shape[0] // lengths
        out = np.empty(num_frames, dtype=s.dtype)
        none = np.zeros(1, dtype=np.int64)
        _run(lambda lo, hi: loop(s, none, none, lengths, *args, lo, hi, out), num_frames)
        return torch.from_numpy(out)
    # Frames of varying lengths with running starts (length -1): each range gets its
    # first box, the sum of the lengths before it, instead of an (F,) array of starts
    # (a cumsum of 10 M lengths costs about as much as scoring their boxes).
    counts = _np(lengths)
    num_frames = counts.shape[0]
    out = np.empty(num_frames, dtype=s.dtype)
    ranges = _work_ranges(num_frames)
    first = np.zeros(len(ranges), dtype=np.int64)
    if len(ranges) > 1:
        sums = np.add.reduceat(counts, [lo for lo, _ in ranges])  # the last runs to the end
        np.cumsum(sums[:-1], out=first[1:])
    at = {lo: first[i : i + 1] for i, (lo, _) in enumerate(ranges)}
    _run(lambda lo, hi: loop(s, at[lo], counts, -1, *args, lo, hi, out), num_frames, ranges)
    return torch.from_numpy(out)


def at_least_available(scores: Tensor) -> bool:
    """Whether :func:`at_least` runs for ``scores``: float32 / float64 on the CPU, C loops built."""
    return (
        _enabled((scores,))
        and scores.dtype in (torch.float32, torch.float64)
        and _native("_numba_frame_kernels") is not None
    )


def at_least(
    scores: Tensor, bound: float, descending: bool, expected: int, most: int
) -> Tensor | None:
    """Ascending int64 positions of ``scores >= bound`` (``<=`` unless ``descending``).

    One C pass over ``scores`` (1-D), a range per thread, each listing its positions
    into a buffer of ``expected / ranges + expected / 4`` (room for an uneven share;
    only written pages are touched) and counting those past it. If there are more
    than ``most`` in all: ``None``, without listing the rest. Otherwise the ranges
    whose positions overflowed their buffer are scanned again (on the threads) into
    exact ones. The caller asked :func:`at_least_available`.
    """
    k = _native("_numba_frame_kernels")
    assert k is not None  # callers asked at_least_available()
    x = scores.detach().contiguous().numpy()
    ranges = _work_ranges(x.shape[0])
    if not ranges:
        return torch.empty(0, dtype=torch.int64)
    cap = max(expected // max(len(ranges), 1), 1) + expected // 4
    parts = [np.empty(min(cap, hi - lo), dtype=np.int64) for lo, hi in ranges]
    counts = [0] * len(ranges)

    def scan(i: int) -> None:
        lo, hi = ranges[i]
        counts[i] = k.at_least(x, bound, descending, lo, hi, parts[i])

    index = {lo: i for i, (lo, _) in enumerate(ranges)}
    _run(lambda lo, hi: scan(index[lo]), x.shape[0], ranges)
    if sum(counts) > most:
        return None
    crowded = [r for i, r in enumerate(ranges) if counts[i] > parts[i].shape[0]]
    for lo, _ in crowded:  # positions crowded into these ranges: once more, listing all
        parts[index[lo]] = np.empty(counts[index[lo]], dtype=np.int64)
    if crowded:
        _run(lambda lo, hi: scan(index[lo]), x.shape[0], crowded)
    return torch.from_numpy(np.concatenate([p[:c] for p, c in zip(parts, counts, strict=True)]))


def _ranking_loops() -> ModuleType | None:
    """The C accumulation loops, when built and ``ASSAY_NATIVE`` is not off."""
    if switched_off("ASSAY_NATIVE"):
        return None
    return _module("_native_ranking_kernels")


def accumulate_available(*tensors: Tensor, detections: int = 0) -> bool:
    """Whether :func:`accumulate` runs: CPU ``tensors``, ``ASSAY_COMPILED`` on, C loops built.

    At any size from 0 (the C walk beats the torch path's fixed costs on small
    evaluations too) below ``2**31`` ``detections`` (the loop compares precisions as
    products of two counts in int64).
    """
    return detections < 2**31 and _enabled(tensors) and _ranking_loops() is not None


def accumulate(
    dt_segment: Tensor,
    dt_rank: Tensor,
    dt_score: Tensor,
    dt_outside: Tensor,
    det_index: Tensor,
    gt_index: Tensor,
    gt_ignore: Tensor,
    gt_id_nonzero: Tensor,
    num_counted: Tensor,
    max_dets: Sequence[int],
    rec_thresholds: Sequence[float],
) -> tuple[Tensor, Tensor, Tensor]:
    """``_coco_accumulate`` of CPU tensors in C: ``(precision, recall, scores)``.

    The arguments of :func:`.ranking.coco_accumulate` (``matches`` as ``det_index`` /
    ``gt_index``; ``max_dets`` and ``rec_thresholds`` as host values), which the caller
    checked; the numbers are the torch path's bit for bit. Two passes, each a range of
    items per thread: the detections counted when unmatched up to each matching
    candidate (per area range and maxDets), then one item per (category, area range).
    The caller asked :func:`accumulate_available`.
    """
    k = _ranking_loops()
    assert k is not None  # callers asked accumulate_available()
    seg, rank, det, gti = (_np(t) for t in (dt_segment, dt_rank, det_index, gt_index))
    score = _np(dt_score.detach().to(torch.float64), np.float64)  # NumPy has no bfloat16
    outside, ignore, real = (_np(t, np.bool_) for t in (dt_outside, gt_ignore, gt_id_nonzero))
    counted = _np(num_counted)
    top = max(max_dets)
    # Column m counts ranks below maxDets[m]; the largest takes every detection (the
    # caller cut them to it), as the torch path does.
    never = int(np.iinfo(np.int64).max)  # above every rank (ints beyond int64 too)
    limit = np.array([m if m < min(top, never) else never for m in max_dets], dtype=np.int64)
    num_rec = len(rec_thresholds)
    order = sorted(range(num_rec), key=rec_thresholds.__getitem__)  # stable
    rec = np.array([rec_thresholds[i] for i in order], dtype=np.float64)
    rec_pos = np.empty(num_rec, dtype=np.int64)
    rec_pos[order] = np.arange(num_rec, dtype=np.int64)
    num_thr, num_area, num_cand = gti.shape
    num_cat, num_max = counted.shape[0], limit.shape[0]
    rel = np.empty((num_cand, num_area, num_max), dtype=np.int64)
    _run(lambda lo, hi: k.plain_counts_range(seg, rank, outside, det, limit, lo, hi, rel), num_cand)
    shape = (num_thr, num_rec, num_cat, num_area, num_max)
    precision, scores = np.empty(shape), np.empty(shape)
    recall = np.empty((num_thr, num_cat, num_area, num_max))

    def work(lo: int, hi: int) -> None:
        k.accumulate_range(
            seg, rank, score, outside, det, gti, ignore, real, counted, limit, rec, rec_pos,
            rel, lo, hi, precision, recall, scores,
        )  # fmt: skip

    _run(work, num_cat * num_area)
    return torch.from_numpy(precision), torch.from_numpy(recall), torch.from_numpy(scores)
