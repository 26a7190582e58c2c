"""Optional one-pass Triton paths for CUDA tensors, with the eager torch paths as fallback.

Eager torch makes one pass over memory per operation: a semantic confusion matrix is
a key pass, a histogram pass and two range checks; a per-frame uncertainty score is
a few elementwise passes and a reduction. The kernels in :mod:`._triton_kernels` do
each job in one read of the inputs. They run when every tensor is on CUDA, Triton
imports, and the environment variable ``ASSAY_TRITON`` is not ``0``; otherwise
callers take their eager paths (CPU always does). Results match the eager paths
exactly for counts, and to rounding for float scores (a different summation order).
Triton is imported on the first CUDA call only: CPU work never pays for it.

``ASSAY_TRITON=interpret`` with ``TRITON_INTERPRET=1`` (set before Triton is
imported) runs the same kernels through Triton's interpreter on CPU tensors: slow, for
tests on machines without a GPU (see the root ``conftest.py``).
"""

from __future__ import annotations

import contextlib
import warnings
from types import ModuleType
from typing import Any

import torch
from torch import Tensor

from ._env import OFF, switch

_loaded: list[ModuleType | None] = []  # the kernels module once imported (None: no Triton)
_failed: list[str] = []  # a launch failed (no compiler, unsupported GPU, ...): eager from then on

__all__ = [
    "available",
    "binary_frame_scores",
    "histogram_fits",
    "pair_histogram",
    "update_nearest",
]

# C*C + 2 above this: eager (H100, 131M int64 pixel pairs: 512 bins 1.0 ms, 2048 bins
# 4.6 ms, 4096 bins 10 ms, against 2.7 ms eager)
_MAX_HISTOGRAM_BINS = 512
# launch shapes (module constants so that benchmarks can sweep them)
# (H100 sweeps, session 8: docs/performance.md)
HIST_BLOCK, HIST_WARPS, HIST_PROGRAMS_PER_SM = 2048, 4, 16
DENSE_BLOCK_F, DENSE_WARPS = 32, 4
RAGGED_BLOCK_F, RAGGED_BLOCK_B, RAGGED_WARPS = 32, 8, 2
NEAREST_BLOCK_N, NEAREST_WARPS = 32, 4


def _kernels() -> ModuleType | None:
    if not _loaded:
        try:  # optional: absent on CPU-only installs; any import failure -> eager paths
            from . import _triton_kernels
        except Exception:  # pragma: no cover - depends on the install
            _loaded.append(None)
        else:
            _loaded.append(_triton_kernels)
    return _loaded[0]


def available(*tensors: Tensor) -> bool:
    """Whether the Triton path runs for ``tensors``: all on CUDA and Triton importable.

    ``ASSAY_TRITON=0`` (or ``false``, ``off``, ``no``) turns it off;
    ``ASSAY_TRITON=interpret`` runs it on CPU tensors too, through Triton's interpreter
    (``TRITON_INTERPRET=1`` before Triton's import). After a launch failed (no C
    compiler for Triton's launcher, a GPU Triton does not support, ...) it stays off
    for the process, with one warning.
    """
    mode = switch("ASSAY_TRITON")
    if mode in OFF or _failed:
        return False
    if mode == "interpret":
        return _kernels() is not None and _interpreting()
    return all(t.is_cuda for t in tensors) and _kernels() is not None


def _interpreting() -> bool:
    import triton

    return bool(triton.knobs.runtime.interpret)


def _launch(name: str, grid: tuple[int], device: torch.device, *args: Any, **kwargs: Any) -> bool:
    """Launch kernel ``name`` on ``device``; False (eager from then on) if it fails.

    The launch runs with ``device`` current: Triton launches on the current CUDA device.
    """
    module = _kernels()
    assert module is not None  # callers checked available()
    on_device = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    try:
        with on_device:
            getattr(module, name)[grid](*args, **kwargs)
    except Exception as exc:  # compile or launch failure: the eager path still works
        _failed.append(name)
        warnings.warn(
            f"assay: the Triton kernel {name} failed ({exc!r}); using the eager torch path "
            "from now on (set ASSAY_TRITON=0 to skip Triton)",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


def _programs(device: torch.device, per_sm: int) -> int:
    if device.type != "cuda":
        return 4
    return per_sm * torch.cuda.get_device_properties(device).multi_processor_count


def histogram_fits(num_classes: int) -> bool:
    """Whether :func:`pair_histogram` takes ``num_classes`` (its bins stay in registers)."""
    return num_classes * num_classes + 2 <= _MAX_HISTOGRAM_BINS


def pair_histogram(
    target: Tensor,
    preds: Tensor,
    num_classes: int,
    ignore_index: int | None,
) -> tuple[Tensor, Tensor] | None:
    """``(C, C)`` int64 pair counts and the number of bad pixels, in one read of both maps.

    A pixel is bad when it is not ignored and its target or prediction lies outside
    ``[0, C)``; bad pixels are not counted. Callers check :func:`histogram_fits` first.

    Returns:
        ``(counts, bad)``: ``counts`` ``(C, C)`` int64, ``bad`` a 0-d int64 tensor, both
        on the input's device (reading ``bad`` is the caller's one synchronisation);
        ``None`` if the kernel could not run (callers take their eager path).
    """
    c = num_classes
    t = target.reshape(-1)
    p = preds.reshape(-1)
    if not t.is_contiguous():
        t = t.contiguous()
    if not p.is_contiguous():
        p = p.contiguous()
    n = t.numel()
    nb = _next_power_of_2(c * c + 2)
    out = torch.zeros(nb, dtype=torch.int64, device=t.device)
    block = HIST_BLOCK
    programs = max(1, min(-(-n // block), _programs(t.device, HIST_PROGRAMS_PER_SM)))
    programs = max(programs, -(-n // (1 << 30)))  # per-program int32 counts cannot overflow
    step = programs * block
    if n and not _launch(
        "pair_histogram_kernel",
        (programs,),
        t.device,
        t,
        p,
        out,
        n,
        step,
        -(-n // step),
        0 if ignore_index is None else ignore_index,
        C=c,
        NB=nb,
        HAS_IGNORE=ignore_index is not None,
        BLOCK=block,
        num_warps=HIST_WARPS,
    ):
        return None
    return out[: c * c].view(c, c), out[c * c + 1]


def _next_power_of_2(n: int) -> int:
    """Smallest power of two ``>= n`` (Triton blocks are powers of two)."""
    return 1 << max(n - 1, 0).bit_length()


_SCORES = {"entropy": 0, "margin": 1, "least_confidence": 2, "ratio": 3, "probability": 4}
_REDUCTIONS = {"min": 0, "max": 1, "sum": 2, "mean": 3}


def binary_frame_scores(
    scores: Tensor,
    lengths: Tensor | int,
    score: str,
    reduction: str,
    *,
    normalize: bool,
    empty: float,
) -> Tensor | None:
    """Per-frame reduction of per-box binary scores in one read of the scores.

    See :func:`assay.kernels.frame_scores.binary_frame_scores`, which validates first.
    ``None`` if the kernel could not run (the caller takes its eager path).
    """
    s = scores if scores.is_contiguous() else scores.contiguous()
    if isinstance(lengths, int):
        num_frames, boxes = s.shape[0] // lengths, lengths
        starts = length_t = s  # unused pointers
        block_f, block_b, warps = (
            DENSE_BLOCK_F,
            min(_next_power_of_2(lengths), 64),
            DENSE_WARPS,
        )
    else:
        num_frames, boxes = lengths.shape[0], 0
        length_t = lengths.to(torch.int64).contiguous()
        starts = torch.cumsum(length_t, 0) - length_t
        block_f, block_b, warps = RAGGED_BLOCK_F, RAGGED_BLOCK_B, RAGGED_WARPS
    out = torch.empty(num_frames, dtype=s.dtype, device=s.device)
    if num_frames == 0:
        return out
    grid = (-(-num_frames // block_f),)
    launched = _launch(
        "binary_frame_scores_kernel",
        grid,
        s.device,
        s,
        starts,
        length_t,
        out,
        torch.full((1,), empty, dtype=s.dtype, device=s.device),
        num_frames,
        s.shape[0],
        SCORE=_SCORES[score],
        REDUCE=_REDUCTIONS[reduction],
        NORMALIZE=normalize,
        BOXES=boxes,
        BLOCK_F=block_f,
        BLOCK_B=block_b,
        num_warps=warps,
    )
    return out if launched else None


def update_nearest(dist: Tensor, x: Tensor, center: Tensor) -> bool:
    """``dist = min(dist, |x - center|)`` in place, one read of ``x`` (k-center greedy).

    ``x`` ``(N, D)`` float32 / float64 with contiguous rows, ``center`` ``(1, D)`` or
    ``(D,)``, ``dist`` ``(N,)`` contiguous, all of one dtype. Returns False (``dist``
    untouched) when the kernel could not run; the caller takes its eager path.
    """
    n, d = x.shape
    if n == 0:
        return True
    c = center.reshape(-1).contiguous()
    return _launch(
        "nearest_update_kernel",
        (-(-n // NEAREST_BLOCK_N),),
        x.device,
        x,
        c,
        dist,
        n,
        d,
        x.stride(0),
        FP32=x.dtype == torch.float32,
        BLOCK_N=NEAREST_BLOCK_N,
        BLOCK_D=min(_next_power_of_2(d), 128),
        num_warps=NEAREST_WARPS,
    )
