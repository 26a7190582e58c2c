"""Mask kernels: COCO run-length encoding (RLE), bit-compatible with pycocotools' maskApi.

A batch of binary masks is held as one ragged tensor, :class:`Rle`: the run lengths of
every mask concatenated into ``counts``, ``offsets`` marking where each mask's runs
start, and each mask's ``height`` / ``width``. As in pycocotools the pixels are read in
column-major order (down the first column, then the next) and runs alternate zeros /
ones, starting with zeros (a mask whose first pixel is set starts with a 0 count).

Every function works on whole batches at once, CUDA or CPU from the same code, output
on the input's device. Ragged outputs need their size on the host: each function reads
a constant number of scalars for that (never one per mask). Empty inputs give empty
outputs of the right shape.

What each function reproduces (``maskApi.c`` of pycocotools 2.0.x):

- :func:`rle_encode` / :func:`rle_decode`: ``rleEncode`` / ``rleDecode``.
- :func:`rle_area`: ``rleArea`` (sum of the ones runs).
- :func:`rle_to_box`: ``rleToBbox`` (``xywh``; zero-length runs skipped; a run that
  crosses a column spans the full height), including its unsigned wrap-around for
  masks with two or more runs but no set pixel.
- :func:`rle_merge`: ``rleMerge``, union or intersection (canonical runs; pycocotools
  returns a single mask unchanged, and so does this).
- :func:`rle_iou` / :func:`rle_iou_pairs`: ``rleIou``: the bounding boxes of the
  masks are compared first (``bbIou``); pairs whose boxes overlap get
  ``intersection / union`` from the run lengths, in integers, divided as float64;
  for a crowd ground truth the union is the detection's area; masks of different
  sizes whose boxes overlap give -1. Its run-merging loop stops early where both masks
  reach zero-length runs at the same position (possible only with non-canonical runs,
  e.g. uncompressed RLE written by other tools); that is reproduced too.
- :func:`rle_from_polygons` / :func:`rle_from_boxes`: ``rleFrPoly`` / ``rleFrBbox``.
  The polygon is upsampled by 5 with C's truncating ``(int)`` casts; only the points
  where the boundary crosses a pixel column's centre line survive, so here they are
  computed directly per edge (the same double-precision expressions as the C code,
  without enumerating the upsampled points) and the mask is the parity of those
  boundary points.
- :func:`rle_to_strings` / :func:`rle_from_strings`: ``rleToString`` /
  ``rleFrString``: 5 bits per character (ASCII 48-111), bit 5 = more characters,
  the last character's bit 4 = sign, counts after the third stored as differences
  from the count two before.

On the CPU, large batches run compiled loops instead (:mod:`._compiled`: C loops
built at install, else numba's with ``pip install "assay[numba]"``): :func:`rle_to_box`,
:func:`rle_area`, :func:`rle_iou_pairs` / :func:`rle_iou`, :func:`rle_from_polygons`,
the union of :func:`rle_merge`, the decoding of :func:`rle_from_strings`,
:func:`rle_select` and :func:`rle_cat` with an ``index`` give the same results bit for
bit; ``ASSAY_COMPILED=0`` turns them off (``ASSAY_NATIVE=0`` / ``ASSAY_NUMBA=0`` one
kind).

Bad input gets a ``TypeError`` / ``ValueError`` naming the argument. An :class:`Rle`'s
metadata (four int64 tensors, consistent shapes, one device) is checked on every
device; on CPU tensors also its values: the offsets must slice the counts, and the
functions that read the runs (area, box, decode, merge, IoU, strings) refuse negative
sizes or runs and masks whose runs do not add up to ``height * width`` (one pass over
the counts, about 1-2 ms per million runs). :func:`rle_select` and :func:`rle_cat`
copy the runs unread. Device values are not read (no host sync): there the documented
contract stands. Callers that validated their masks at the edge can skip the pass with
the unchecked core ``_rle_iou_pairs``.

:func:`mask_iou` is the dense formulation for training loops: intersections of
``(N, H, W)`` and ``(M, H, W)`` boolean masks as one matrix product on the device,
exact (integer-valued float32 sums stay exact below 2**24 pixels; float64 above), and
equal to :func:`rle_iou` on the encoded masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from . import _compiled
from ._checks import (
    check_binary,
    check_dtype,
    check_int,
    check_range,
    check_same_device,
    check_size,
    check_tensor,
    reads_values,
)
from ._nonzero import flat_nonzero
from ._segments import segment_cumsum
from .boxes import _check_boxes, _check_crowd

__all__ = [
    "Rle",
    "RleStringError",
    "mask_iou",
    "rle_area",
    "rle_cat",
    "rle_compiled_loops",
    "rle_decode",
    "rle_encode",
    "rle_from_boxes",
    "rle_from_polygons",
    "rle_from_strings",
    "rle_iou",
    "rle_iou_pairs",
    "rle_merge",
    "rle_select",
    "rle_to_box",
    "rle_to_strings",
]

_I64 = torch.int64
# image sizes (height * width) up to this: pixel positions and run sums fit int64
_MAX_PIXELS = 2**62
_F64 = torch.float64
_KEY_SHIFT = 33  # (mask, position) sort keys: positions are < 2**32 (uint32 in maskApi)
_MAX_COUNT = 1 << 32  # run lengths are uint32 in maskApi
_MAX_CHARS = 12  # characters of one encoded value (int64 holds 12 * 5 bits)
_MAX_COORD = (2**31 - 1) / 5  # polygon coordinates: maskApi's (int)(5 * v + .5)
# On the CPU, batches are cut into blocks of about this many runs (pairs): every pass
# then stays in cache and below the allocator's mmap threshold, so the cost per run
# does not grow with the batch (a fresh, page-faulted buffer per temporary does).
# On other devices a batch is one block.
_CPU_BLOCK_RUNS = 1 << 18
_CPU_BLOCK_PAIRS = 1 << 14


class Rle(NamedTuple):
    """A batch of COCO run-length encoded masks, as one ragged tensor.

    Attributes:
        counts: ``(C,)`` int64 run lengths of all masks, concatenated; runs alternate
            zeros / ones starting with zeros, pixels in column-major order.
        offsets: ``(N + 1,)`` int64; mask ``i``'s runs are
            ``counts[offsets[i]:offsets[i + 1]]``.
        height: ``(N,)`` int64 mask heights.
        width: ``(N,)`` int64 mask widths.

    Example:
        >>> import torch
        >>> rle = rle_encode(torch.tensor([[[0, 1], [0, 1]]], dtype=torch.bool))
        >>> rle.counts.tolist(), rle.offsets.tolist(), rle.num_masks
        ([2, 2], [0, 2], 1)
    """

    counts: Tensor
    offsets: Tensor
    height: Tensor
    width: Tensor

    @property
    def num_masks(self) -> int:
        """Number of masks ``N``."""
        return int(self.height.shape[0])

    @property
    def device(self) -> torch.device:
        """Device of the tensors."""
        return self.counts.device

    @property
    def lengths(self) -> Tensor:
        """``(N,)`` int64 number of runs of each mask."""
        return self.offsets[1:] - self.offsets[:-1]

    def to(self, device: torch.device | str) -> Rle:
        """The same masks on ``device`` (``self`` when already there)."""
        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is None:  # "cuda" is the current CUDA device
            dev = torch.device("cuda", torch.cuda.current_device())
        if self.counts.device == dev:
            return self
        return Rle(*(t.to(dev) for t in self))


class RleStringError(ValueError):
    """A string that is not a valid COCO compressed RLE; ``index`` is its position."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


# ----------------------------------------------------------------------------- helpers


_RLE_FIELDS = ("counts", "offsets", "height", "width")


def _check_rle(name: str, rle: object, runs: bool) -> Rle:
    """``rle`` itself, after checking it: its metadata always, its values on the CPU.

    Metadata (every device): four int64 tensors on one device, ``(C,)`` counts,
    ``(N + 1,)`` offsets, ``(N,)`` heights and widths. CPU values: the offsets slice
    the counts (nondecreasing from 0 to ``len(counts)``; other offsets make the ragged
    expansions read out of bounds) and, with ``runs`` (the functions that read the
    runs), every height, width and run length is ``>= 0`` and each mask's runs add up
    to its ``height * width`` (one pass over the counts). Device values are not read
    (no host sync).
    """
    if not isinstance(rle, Rle):
        raise TypeError(f"Expected `{name}` to be an Rle, but got {type(rle).__name__}")
    for field, t in zip(_RLE_FIELDS, rle, strict=True):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"Expected `{name}.{field}` to be a torch.Tensor, but got {type(t).__name__}"
            )
        if t.dtype != _I64:
            raise TypeError(f"Expected `{name}.{field}` to be an int64 tensor, but got {t.dtype}")
    counts, offsets = rle.counts, rle.offsets
    n = rle.height.shape[0] if rle.height.ndim == 1 else -1
    shapes = (tuple(counts.shape), tuple(offsets.shape), tuple(rle.height.shape))
    if counts.ndim != 1 or n < 0 or offsets.shape != (n + 1,) or rle.width.shape != (n,):
        raise ValueError(
            f"Expected `{name}` to have 1-D counts, (N + 1,) offsets and (N,) height and "
            f"width, but got shapes {shapes[0]}, {shapes[1]}, {shapes[2]}, "
            f"{tuple(rle.width.shape)}"
        )
    check_same_device(**{f"{name}.{f}": t for f, t in zip(_RLE_FIELDS, rle, strict=True)})
    if not reads_values(counts):
        return rle
    _check_offsets(
        f"{name}.offsets",
        offsets,
        counts.shape[0],
        "len(counts)",
        "mask i's runs are counts[offsets[i]:offsets[i + 1]]",
    )
    if runs:
        _check_runs(name, rle)
    return rle


def _check_offsets(name: str, offsets: Tensor, total: int, of: str, meaning: str) -> None:
    """CPU ``(K + 1,)`` offsets must rise (nondecreasing) from 0 to ``total``.

    ``of`` names ``total`` in the message (``"len(counts)"``), ``meaning`` says what
    the offsets slice. Device offsets are not read.
    """
    if not reads_values(offsets):
        return
    o = offsets.numpy()
    steps = np.diff(o)
    if o[0] == 0 and o[-1] == total and not (steps < 0).any():
        return
    wrong = (o < 0) | (o > total)
    wrong[1:] |= steps < 0
    wrong[0] |= o[0] != 0
    wrong[-1] |= o[-1] != total
    bad = int(np.flatnonzero(wrong)[0])
    raise ValueError(
        f"Expected `{name}` to rise from 0 to {of} = {total} ({meaning}), but got "
        f"{int(o[bad])} (first offending item: {name}[{bad}])"
    )


def _run_sums(rle: Rle) -> np.ndarray:
    """Each mask's sum of run lengths (int64; 0 for a mask without runs).

    ``rle`` is on the CPU, its offsets slice its counts.

    Example:
        >>> t = torch.tensor
        >>> _run_sums(Rle(t([2, 3, 4]), t([0, 2, 2, 3]), t([1, 0, 2]), t([5, 0, 2])))
        array([5, 0, 4])
    """
    c, o = rle.counts.numpy(), rle.offsets.numpy()
    sums = np.zeros(rle.num_masks, dtype=np.int64)
    runs = np.flatnonzero(o[1:] > o[:-1])  # reduceat reads one value at an empty mask
    if runs.size:
        sums[runs] = np.add.reduceat(c, o[runs])
    return sums


def _check_runs(name: str, rle: Rle) -> None:
    """CPU ``rle`` (offsets checked): sizes and runs ``>= 0``, runs adding up to ``h * w``.

    One ``aminmax`` pass and one segment sum over the counts (about 1-2 ms per million runs).
    """
    check_range(f"{name}.height", rle.height, 0, None, "mask heights")
    check_range(f"{name}.width", rle.width, 0, None, "mask widths")
    check_range(f"{name}.counts", rle.counts, 0, None, "run lengths")
    n = rle.num_masks
    if not n:
        return
    h, w = rle.height.numpy(), rle.width.numpy()
    _check_pixels(name, h, w, "mask")
    counts, o = rle.counts.numpy(), rle.offsets.numpy()
    if counts.size and int(counts.max()) * int(np.diff(o).max()) >= 2**63:
        # sums that could wrap in int64 (and would then pass): refused when past h * w
        total = np.add.reduceat(counts.astype(np.float64), np.minimum(o[:-1], counts.size - 1))
        total[o[:-1] == o[1:]] = 0.0
        over = total >= 2.0**62
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise ValueError(
                f"Expected `{name}` run lengths to sum to height * width = {int(h[i] * w[i])}, "
                f"but they sum to about {total[i]:.3e} (first offending item: mask {i}, "
                f"{name}.counts[{int(o[i])}:{int(o[i + 1])}])"
            )
    sums = _run_sums(rle)
    want = h * w
    wrong = sums != want
    if not wrong.any():
        return
    i = int(np.flatnonzero(wrong)[0])
    raise ValueError(
        f"Expected `{name}` run lengths to sum to height * width = {int(want[i])}, but got "
        f"{int(sums[i])} (first offending item: mask {i}, {name}.counts[{int(o[i])}:"
        f"{int(o[i + 1])}])"
    )


def _check_pixels(name: str, height: np.ndarray, width: np.ndarray, per: str) -> None:
    """``height * width`` below ``2**62`` (``_MAX_PIXELS``): positions fit int64 sums.

    Larger images have no pycocotools counterpart (maskApi's run lengths are 32-bit),
    and their positions and run sums would wrap in int64.
    """
    big = height.astype(np.float64) * width.astype(np.float64) >= float(_MAX_PIXELS)
    if big.any():
        i = int(np.flatnonzero(big)[0])
        raise ValueError(
            f"Expected `{name}` images of height * width < 2**62, but got {int(height[i])} x "
            f"{int(width[i])} (first offending item: {per} {i})"
        )


def _check_masks(name: str, masks: object) -> Tensor:
    """``(N, H, W)`` masks as bool: bool as they are, integers nonzero = set, floats 0 / 1.

    Floating-point masks must hold 0 or 1 (checked on the CPU, one pass: a soft mask of
    probabilities is refused rather than set wherever it is nonzero); on a device their
    values are not read and nonzero is set.
    """
    m = check_tensor(name, masks, 3, "(N, H, W)")
    if m.dtype == torch.bool:
        return m
    if m.is_complex():
        raise TypeError(
            f"Expected `{name}` to be a bool, integer or 0/1 float tensor, but got {m.dtype}"
        )
    if m.is_floating_point():
        check_binary(name, m, f"0 / 1 values (threshold soft masks first, e.g. {name} > 0.5)")
    nonzero = m != 0
    return nonzero


def _empty_rle(device: torch.device) -> Rle:
    z = torch.zeros(0, dtype=_I64, device=device)
    return Rle(z, torch.zeros(1, dtype=_I64, device=device), z, z)


def _exclusive_cumsum(x: Tensor) -> Tensor:
    """``(N + 1,)``: 0 then the running sum of ``x``."""
    out = torch.zeros(x.shape[0] + 1, dtype=_I64, device=x.device)
    torch.cumsum(x, 0, out=out[1:])
    return out


def _expand(lengths: Tensor, total: int) -> tuple[Tensor, Tensor]:
    """For ragged rows of ``lengths`` (summing to ``total``): row and index in row."""
    row = torch.repeat_interleave(
        torch.arange(lengths.shape[0], device=lengths.device), lengths, output_size=total
    )
    start = _exclusive_cumsum(lengths)[:-1]
    return row, torch.arange(total, device=lengths.device) - start.index_select(0, row)


def _mask_blocks(rle: Rle) -> list[tuple[int, int]]:
    """Consecutive mask ranges ``[lo, hi)`` of about ``_CPU_BLOCK_RUNS`` runs (CPU).

    One range on other devices (no host read); on the CPU the offsets are host memory.
    """
    n = rle.num_masks
    if rle.device.type != "cpu" or rle.counts.shape[0] <= _CPU_BLOCK_RUNS:
        return [(0, n)]
    offsets = rle.offsets.numpy()
    cuts = np.searchsorted(offsets, np.arange(0, int(offsets[-1]), _CPU_BLOCK_RUNS), "right") - 1
    bounds = np.unique(np.concatenate(([0], cuts.clip(0, n), [n]))).tolist()
    return list(pairwise(bounds))


def _mask_slice(rle: Rle, lo: int, hi: int) -> Rle:
    """Masks ``lo`` to ``hi - 1`` (views of ``rle``'s tensors but the offsets)."""
    start = rle.offsets[lo]
    return Rle(
        rle.counts[int(start) : int(rle.offsets[hi])],
        rle.offsets[lo : hi + 1] - start,
        rle.height[lo:hi],
        rle.width[lo:hi],
    )


def _runs(rle: Rle) -> tuple[Tensor, Tensor, Tensor]:
    """Per run: mask index ``(C,)``, index within the mask, end position in the mask."""
    seg, local = _expand(rle.lengths, rle.counts.shape[0])
    first = rle.offsets[:-1].clamp(max=max(rle.counts.shape[0] - 1, 0))
    return seg, local, segment_cumsum(rle.counts, first, seg)


class _Ones(NamedTuple):
    """The non-empty ones runs of every mask, in order (``R`` runs)."""

    seg: Tensor  # (R,) mask of each run
    start: Tensor  # (R,) first pixel
    end: Tensor  # (R,) one past the last pixel
    offsets: Tensor  # (N + 1,) runs of mask i: [offsets[i], offsets[i + 1])
    before: Tensor  # (R,) set pixels of the mask before this run
    area: Tensor  # (N,) set pixels of each mask


def _ones_runs(rle: Rle) -> tuple[Tensor, Tensor, Tensor]:
    """The non-empty ones runs in order: mask ``(R,)``, end ``(R,)``, length ``(R,)``."""
    seg, local, end = _runs(rle)
    keep = flat_nonzero(((local & 1) == 1) & (rle.counts > 0))
    return (
        seg.index_select(0, keep),
        end.index_select(0, keep),
        rle.counts.index_select(0, keep),
    )


def _ones(rle: Rle) -> _Ones:
    seg, end, length = _ones_runs(rle)
    n = rle.num_masks
    per_mask = torch.zeros(n, dtype=_I64, device=rle.device).index_add_(
        0, seg, torch.ones_like(seg)
    )
    offsets = _exclusive_cumsum(per_mask)
    first = offsets[:-1].clamp(max=max(seg.shape[0] - 1, 0))
    before = segment_cumsum(length, first, seg) - length
    area = torch.zeros(n, dtype=_I64, device=rle.device).index_add_(0, seg, length)
    return _Ones(seg, end - length, end, offsets, before, area)


def _box(seg: Tensor, start: Tensor, end: Tensor, rle: Rle) -> Tensor:
    """``rleToBbox`` from the ones runs (mask, first pixel, end): ``(N, 4)`` float64 ``xywh``."""
    n, dev = rle.num_masks, rle.device
    hs = rle.height.index_select(0, seg).clamp(min=1)
    last = end - 1
    x0 = torch.div(start, hs, rounding_mode="floor")
    x1 = torch.div(last, hs, rounding_mode="floor")
    y0, y1 = start - x0 * hs, last - x1 * hs  # positions are >= 0: the remainders
    cross = x0 < x1  # a run that crosses a column spans the full height
    xs = rle.width.clone().scatter_reduce_(0, seg, x0, "amin")
    xe = torch.zeros(n, dtype=_I64, device=dev).scatter_reduce_(0, seg, x1, "amax")
    ys = rle.height.clone().scatter_reduce_(0, seg, torch.where(cross, 0, y0), "amin")
    ye = torch.zeros(n, dtype=_I64, device=dev).scatter_reduce_(
        0, seg, torch.where(cross, hs - 1, y1), "amax"
    )
    wrap = 1 << 32  # maskApi's uint arithmetic for masks without a set pixel
    box = torch.stack((xs, ys, (xe - xs + 1) % wrap, (ye - ys + 1) % wrap), dim=1)
    return torch.where((rle.lengths >= 2)[:, None], box, 0).to(_F64)


def _from_toggles(
    seg: Tensor, pos: Tensor, num: int, length: Tensor, height: Tensor, width: Tensor
) -> Rle:
    """Canonical RLE of masks given their toggle positions.

    Args:
        seg: ``(T,)`` int64 mask of each toggle, ascending.
        pos: ``(T,)`` int64 position of each toggle, ascending within a mask, distinct,
            in ``[0, length)``: the pixel there differs from the one before it (the
            pixel before position 0 counts as unset).
        num: number of masks ``N``.
        length: ``(N,)`` int64 pixels per mask.
        height: ``(N,)`` int64.
        width: ``(N,)`` int64.

    Returns:
        ``Rle`` with ``T + N`` counts: ``[p0, p1 - p0, ..., length - p_last]``.
    """
    dev = pos.device
    num_t = (
        torch.bincount(seg, minlength=num)
        if seg.numel()
        else torch.zeros(num, dtype=_I64, device=dev)
    )
    t_off = _exclusive_cumsum(num_t)
    offsets = t_off + torch.arange(num + 1, device=dev)
    total = pos.shape[0] + num
    counts = torch.empty(total, dtype=_I64, device=dev)
    idx = torch.arange(pos.shape[0], device=dev)
    prev = torch.cat((pos.new_zeros(1), pos[:-1])) if pos.numel() else pos
    prev = torch.where(idx == t_off.index_select(0, seg), 0, prev)
    counts[idx + seg] = pos - prev
    if pos.numel():
        last = torch.where(num_t > 0, pos[(t_off[1:] - 1).clamp(min=0)], 0)
    else:
        last = torch.zeros(num, dtype=_I64, device=dev)
    counts[offsets[1:] - 1] = length - last
    return Rle(counts, offsets, height, width)


def _parity_toggles(key: Tensor) -> tuple[Tensor, Tensor]:
    """Sorted (mask, position) of boundary points that occur an odd number of times."""
    key = torch.sort(key).values
    uniq, mult = torch.unique_consecutive(key, return_counts=True)
    uniq = uniq[mult % 2 == 1]
    return uniq >> _KEY_SHIFT, uniq & ((1 << _KEY_SHIFT) - 1)


# ------------------------------------------------------------------------ construction


def rle_cat(rles: Sequence[Rle], index: Tensor | None = None) -> Rle:
    """Concatenate batches of masks.

    Args:
        rles: batches on one device.
        index: ``(K,)`` integer masks of the concatenation to keep, in that order, or
            an ``(N,)`` bool mask (what :func:`rle_select` of the concatenation gives,
            without building it first; checked as there); ``None``: all of them.

    Returns:
        One ``Rle`` holding the masks of ``rles[0]``, then ``rles[1]``, ... (those at
        ``index``).

    Raises:
        TypeError: ``rles`` not a sequence of :class:`Rle` (one ``Rle`` on its own
            included), fields that are not int64 tensors, or an ``index`` that is not an
            integer or bool tensor.
        ValueError: batches of malformed shapes or on different devices, or ``index``
            not ``(K,)`` (``(N,)`` for bool). On CPU tensors also: offsets that do not
            slice the counts, and an index outside ``[0, N)``. The run lengths are not
            read (concatenating copies them as they are).

    Example:
        >>> import torch
        >>> a = rle_encode(torch.ones(1, 2, 2, dtype=torch.bool))
        >>> rle_cat([a, a]).offsets.tolist()
        [0, 2, 4]
    """
    if isinstance(rles, (Rle, str, bytes)) or not isinstance(rles, Sequence):
        got = "one Rle (wrap it in a list)" if isinstance(rles, Rle) else type(rles).__name__
        raise TypeError(f"Expected `rles` to be a sequence of Rle batches, but got {got}")
    for i, r in enumerate(rles):
        _check_rle(f"rles[{i}]", r, runs=False)
    check_same_device(**{f"rles[{i}]": r.counts for i, r in enumerate(rles)})
    if index is not None:
        _check_index("index", index, sum(r.num_masks for r in rles))
        if index.dtype == torch.bool:
            index = flat_nonzero(index)
        if not rles:
            return _empty_rle(torch.device("cpu"))
        index = index.to(device=rles[0].device, dtype=_I64)
    return _cat(rles, index)


def _cat(rles: Sequence[Rle], index: Tensor | None = None) -> Rle:
    """:func:`rle_cat` of checked batches; ``index``: int64 on their device, or ``None``."""
    if not rles:
        return _empty_rle(torch.device("cpu"))
    if index is not None:
        total = sum(int(r.counts.shape[0]) for r in rles)
        if _compiled.available(*(r.counts for r in rles), size=total):
            compiled = _compiled.select(rles, index)
            if compiled is not None:
                return Rle(*compiled)
        return _select(_cat(rles), index)
    shift = torch.cumsum(torch.tensor([0] + [int(r.counts.shape[0]) for r in rles[:-1]]), 0)
    offsets = [rles[0].offsets[:1]] + [
        r.offsets[1:] + int(s) for r, s in zip(rles, shift.tolist(), strict=True)
    ]
    return Rle(
        torch.cat([r.counts for r in rles]),
        torch.cat(offsets),
        torch.cat([r.height for r in rles]),
        torch.cat([r.width for r in rles]),
    )


def rle_compiled_loops(num_masks: int | None = None) -> bool:
    """Whether CPU batches run the compiled loops here (C, or numba's: ``assay[numba]``).

    Args:
        num_masks: ``None``: whether the loops may run here at all (the C loops are
            built, or numba is installed and no import of its loops failed;
            ``ASSAY_COMPILED`` is not ``0``), without loading numba's. A
            number of masks: whether a job over that many takes them: always with the
            C loops; numba's are loaded in this process already, or the job is big
            enough to pay for loading them (0.6-0.9 s; from ``2**14`` masks), in which
            case this call loads them. Callers that cut work into cache-sized blocks for the torch
            paths can skip that then: the compiled loops make one pass per mask
            whatever the batch size.

    Example:
        >>> isinstance(rle_compiled_loops(), bool)
        True
    """
    if num_masks is None:
        return _compiled.installed()
    return _compiled.available(size=num_masks, minimum=0, cold=_compiled.MIN_MASKS_COLD)


def _check_index(name: str, index: object, n: int) -> None:
    """A ``(K,)`` integer index into ``n`` masks, or an ``(n,)`` bool mask.

    The values are checked where that is free (CPU tensors): a device index is not read
    (no host sync), and one out of range fails in torch's gather there.
    """
    if not isinstance(index, Tensor):
        raise TypeError(f"Expected `{name}` to be a tensor, but got {type(index).__name__}")
    if index.ndim != 1:
        raise ValueError(f"Expected `{name}` of shape (K,), but got {tuple(index.shape)}")
    if index.dtype == torch.bool:
        if index.shape[0] != n:
            raise ValueError(
                f"Expected `{name}` as a bool mask to hold one flag per mask ({n}), but got "
                f"{index.shape[0]} flags"
            )
        return
    if index.is_floating_point() or index.is_complex():
        raise TypeError(f"Expected `{name}` to be an integer or bool tensor, but got {index.dtype}")
    check_range(name, index, 0, n, "mask indexes")


def rle_select(rle: Rle, index: Tensor) -> Rle:
    """Masks ``rle[index]`` (a gather along the mask axis; repeats allowed).

    Args:
        rle: ``N`` masks.
        index: ``(K,)`` integer mask indexes in ``[0, N)``, or a ``(N,)`` bool mask.

    Returns:
        ``Rle`` of ``K`` masks.

    Raises:
        TypeError: ``rle`` not an :class:`Rle` of int64 tensors, or ``index`` not an
            integer or bool tensor.
        ValueError: ``rle`` of malformed shapes or devices, ``index`` not 1-D, a bool
            mask not of length ``N``, or (CPU tensors) an index outside ``[0, N)`` or
            offsets that do not slice the counts. The run lengths are not read (they
            are copied as they are).

    Example:
        >>> import torch
        >>> rle = rle_encode(torch.tensor([[[1]], [[0]]], dtype=torch.bool))
        >>> rle_select(rle, torch.tensor([1, 1, 0])).counts.tolist()
        [1, 1, 0, 1]
    """
    _check_rle("rle", rle, runs=False)
    _check_index("index", index, rle.height.shape[0])
    if index.dtype == torch.bool:
        index = flat_nonzero(index)
    return _select(rle, index.to(device=rle.device, dtype=_I64))


def _select(rle: Rle, index: Tensor) -> Rle:
    """:func:`rle_select` of a checked ``rle`` and int64 ``index`` on its device."""
    if _compiled.available(rle.counts, size=rle.counts.shape[0]):
        compiled = _compiled.select([rle], index)
        if compiled is not None:
            return Rle(*compiled)
    lengths = rle.lengths.index_select(0, index)
    offsets = _exclusive_cumsum(lengths)
    total = int(offsets[-1])
    row, local = _expand(lengths, total)
    counts = rle.counts.index_select(
        0, rle.offsets.index_select(0, index).index_select(0, row) + local
    )
    return Rle(counts, offsets, rle.height.index_select(0, index), rle.width.index_select(0, index))


def rle_encode(masks: Tensor) -> Rle:
    """Run-length encode binary masks, like ``pycocotools.mask.encode``.

    Args:
        masks: ``(N, H, W)`` bool masks; integer masks count nonzero as set (as
            pycocotools' uint8 masks, e.g. 0 / 255; pycocotools also starts a new run
            where two nonzero values differ, which binarising here does not);
            floating-point masks must hold 0 / 1 (soft masks: threshold them first).

    Returns:
        ``Rle`` of ``N`` masks on the same device.

    Raises:
        TypeError: ``masks`` not a tensor, or complex.
        ValueError: ``masks`` not 3-D, or (CPU tensors) a floating-point value other
            than 0 or 1 (device values are not read: nonzero is set there).

    Example:
        >>> import torch
        >>> m = torch.tensor([[[0, 1, 1], [0, 1, 0]]], dtype=torch.bool)  # 2 x 3
        >>> rle_encode(m).counts.tolist()  # column-major: 0 0 | 1 1 | 1 0
        [2, 3, 1]
    """
    masks = _check_masks("masks", masks)
    n, h, w = masks.shape
    dev = masks.device
    length = h * w
    flat = masks.transpose(1, 2).reshape(n, length)
    change = flat.clone()
    change[:, 1:] ^= flat[:, :-1]
    where = torch.nonzero(change)
    full = torch.full((n,), length, dtype=_I64, device=dev)
    return _from_toggles(
        where[:, 0], where[:, 1], n, full, torch.full_like(full, h), torch.full_like(full, w)
    )


def rle_decode(rle: Rle) -> Tensor:
    """Decode masks of one size, like ``pycocotools.mask.decode``.

    Args:
        rle: ``N`` masks, all of the same height and width, each with run lengths
            summing to ``height * width``.

    Returns:
        ``(N, H, W)`` bool masks (``(0, 0, 0)`` for no masks).

    Raises:
        TypeError: ``rle`` not an :class:`Rle` of int64 tensors.
        ValueError: masks of different sizes, run lengths that do not add up to
            ``height * width`` (on every device: decoding reads the sizes anyway), and
            as every function that reads the runs: malformed shapes or devices, and on
            CPU tensors offsets that do not slice the counts, negative sizes or runs.

    Example:
        >>> import torch
        >>> rle = rle_encode(torch.tensor([[[0, 1, 1], [0, 1, 0]]], dtype=torch.bool))
        >>> rle_decode(rle).int().tolist()
        [[[0, 1, 1], [0, 1, 0]]]
    """
    _check_rle("rle", rle, runs=True)
    n = rle.num_masks
    if n == 0:
        return torch.zeros((0, 0, 0), dtype=torch.bool, device=rle.device)
    seg, local, _ = _runs(rle)
    sums = torch.zeros(n, dtype=_I64, device=rle.device).index_add_(0, seg, rle.counts)
    bad = (sums != rle.height * rle.width).sum()
    h_lo, h_hi, w_lo, w_hi, num_bad = torch.stack(
        (rle.height.min(), rle.height.max(), rle.width.min(), rle.width.max(), bad)
    ).tolist()
    if h_lo != h_hi or w_lo != w_hi:
        raise ValueError(
            "Expected `rle` masks to share one size, but got heights in "
            f"[{h_lo}, {h_hi}] and widths in [{w_lo}, {w_hi}]"
        )
    if num_bad:
        raise ValueError(
            f"Expected `rle` run lengths to sum to height * width = {h_lo * w_lo}, but "
            f"{num_bad} of {n} masks do not"
        )
    values = (local & 1).bool()
    flat = torch.repeat_interleave(values, rle.counts, output_size=n * h_lo * w_lo)
    return flat.reshape(n, w_lo, h_lo).transpose(1, 2).contiguous()


# ------------------------------------------------------------------------- properties


def rle_area(rle: Rle) -> Tensor:
    """Number of set pixels of each mask, like ``pycocotools.mask.area``.

    Args:
        rle: ``N`` masks.

    Returns:
        ``(N,)`` int64 areas.

    Raises:
        TypeError: ``rle`` not an :class:`Rle` of int64 tensors.
        ValueError: fields of malformed shapes or on different devices; on CPU tensors
            also offsets that do not slice the counts, a negative height, width or run
            length, or a mask whose runs do not add up to its ``height * width`` (the
            first is named). Device values are not read.

    Example:
        >>> import torch
        >>> rle_area(rle_encode(torch.tensor([[[0, 1, 1], [0, 1, 0]]], dtype=torch.bool)))
        tensor([3])
    """
    return _area(_check_rle("rle", rle, runs=True))


def _area(rle: Rle) -> Tensor:
    """:func:`rle_area` of a checked ``rle``."""
    if _compiled.available(rle.counts, size=rle.counts.shape[0]):
        return _compiled.areas(rle)
    blocks = _mask_blocks(rle)
    if len(blocks) > 1:
        return torch.cat([_area(_mask_slice(rle, lo, hi)) for lo, hi in blocks])
    seg, local = _expand(rle.lengths, rle.counts.shape[0])
    area = torch.zeros(rle.num_masks, dtype=_I64, device=rle.device)
    return area.index_add_(0, seg, rle.counts * (local & 1))


def rle_to_box(rle: Rle) -> Tensor:
    """Bounding box of each mask, like ``pycocotools.mask.toBbox``.

    Args:
        rle: ``N`` masks.

    Returns:
        ``(N, 4)`` float64 ``xywh``; ``[0, 0, 0, 0]`` for a mask of fewer than two
        runs. A mask with two or more runs but no set pixel gets pycocotools' unsigned
        wrap-around ``[w, h, 2**32 - w + 1, 2**32 - h + 1]``.

    Raises:
        TypeError: ``rle`` not an :class:`Rle` of int64 tensors.
        ValueError: fields of malformed shapes or on different devices; on CPU tensors
            also offsets that do not slice the counts, a negative height, width or run
            length, or a mask whose runs do not add up to its ``height * width`` (the
            first is named). Device values are not read.

    Example:
        >>> import torch
        >>> m = torch.zeros(1, 4, 5, dtype=torch.bool)
        >>> m[0, 1:3, 2:5] = True
        >>> rle_to_box(rle_encode(m))
        tensor([[2., 1., 3., 2.]], dtype=torch.float64)
    """
    return _to_box(_check_rle("rle", rle, runs=True))


def _to_box(rle: Rle) -> Tensor:
    """:func:`rle_to_box` of a checked ``rle``."""
    if _compiled.available(rle.counts, size=rle.counts.shape[0]):
        return _compiled.boxes(rle)
    blocks = _mask_blocks(rle)
    if len(blocks) > 1:
        return torch.cat([_to_box(_mask_slice(rle, lo, hi)) for lo, hi in blocks])
    seg, end, length = _ones_runs(rle)
    return _box(seg, end - length, end, rle)


# --------------------------------------------------------------------------- set ops


def rle_merge(
    rle: Rle,
    groups: Tensor | None = None,
    num_groups: int | None = None,
    intersect: bool = False,
) -> Rle:
    """Union (or intersection) of masks, like ``pycocotools.mask.merge``, per group.

    Args:
        rle: ``N`` masks.
        groups: ``(N,)`` int64 group of each mask in ``[0, num_groups)``; ``None``
            merges all masks into one (pycocotools' call).
        num_groups: number of groups ``K`` (default: ``groups.max() + 1``).
        intersect: intersection instead of union.

    Returns:
        ``Rle`` of ``K`` masks. A group of one mask is that mask unchanged; a group
        without masks, or of masks of different sizes, is pycocotools' empty RLE
        (size 0 x 0, no runs). Otherwise the runs are canonical (no zero-length run
        but a leading one), which is what pycocotools returns for canonical inputs
        (every encoder here and in pycocotools produces canonical runs).

    Raises:
        TypeError: ``rle`` not an :class:`Rle` of int64 tensors, ``groups`` not an
            integer tensor, ``num_groups`` not an int, ``intersect`` not a bool.
        ValueError: ``groups`` not ``(N,)`` or outside ``[0, num_groups)`` (read on
            every device: the number of groups is needed on the host anyway), a
            negative ``num_groups``, ``num_groups`` without ``groups``; and as every
            function that reads the runs: malformed shapes or devices, and on CPU
            tensors offsets that do not slice the counts, negative sizes or runs, or
            runs that do not add up to ``height * width``.

    Example:
        >>> import torch
        >>> m = torch.zeros(3, 2, 2, dtype=torch.bool)
        >>> m[0, 0, 0] = m[1, 1, 1] = m[2, 0, 1] = True
        >>> rle = rle_merge(rle_encode(m), torch.tensor([0, 0, 1]))
        >>> rle_decode(rle).int().tolist()
        [[[1, 0], [0, 1]], [[0, 1], [0, 0]]]
    """
    _check_rle("rle", rle, runs=True)
    if not isinstance(intersect, bool):
        raise TypeError(f"Expected `intersect` to be a bool, but got {type(intersect).__name__}")
    n, dev = rle.num_masks, rle.device
    if groups is None:
        if num_groups is not None:
            raise ValueError(
                f"Expected `num_groups` only with `groups`, but got num_groups={num_groups!r} "
                "and groups=None"
            )
        groups = torch.zeros(n, dtype=_I64, device=dev)
        num_groups = 1
    groups, k = _check_groups(groups, n, num_groups, dev, "mask")
    return _merge(rle, groups, k, intersect)


def _merge(rle: Rle, groups: Tensor, k: int, intersect: bool = False) -> Rle:
    """:func:`rle_merge` of a checked ``rle`` and int64 ``groups`` in ``[0, k)``."""
    n, dev = rle.num_masks, rle.device
    if not intersect and _compiled.available(rle.counts, groups, size=rle.counts.shape[0]):
        merged = _compiled.union(*rle, groups, k)
        if merged is not None:
            return Rle(*merged)
    members = torch.bincount(groups, minlength=k) if n else torch.zeros(k, dtype=_I64, device=dev)
    big = torch.iinfo(torch.int64).max
    h_min = torch.full((k,), big, dtype=_I64, device=dev).scatter_reduce_(
        0, groups, rle.height, "amin"
    )
    h_max = torch.full((k,), -1, dtype=_I64, device=dev).scatter_reduce_(
        0, groups, rle.height, "amax"
    )
    w_min = torch.full((k,), big, dtype=_I64, device=dev).scatter_reduce_(
        0, groups, rle.width, "amin"
    )
    w_max = torch.full((k,), -1, dtype=_I64, device=dev).scatter_reduce_(
        0, groups, rle.width, "amax"
    )
    valid = (members > 0) & (h_min == h_max) & (w_min == w_max)
    height = torch.where(valid, h_max, 0)
    width = torch.where(valid, w_max, 0)

    # Coverage: +1 where a ones run starts, -1 where it ends, per group; the state at a
    # position is the coverage after every event there (every +1 has its -1, so one
    # global cumulative sum serves all groups).
    # Only groups of two or more masks need it.
    members_of = flat_nonzero(((members > 1) & valid)[groups])
    ones = _ones(_select(rle, members_of))
    g = groups.index_select(0, members_of).index_select(0, ones.seg)
    starts, ends = ones.start, ones.end
    key = torch.cat(((g << _KEY_SHIFT) | starts, (g << _KEY_SHIFT) | ends))
    delta = torch.cat((torch.ones_like(starts), -torch.ones_like(ends)))
    order = torch.sort(key, stable=True).indices
    key, cover = key.index_select(0, order), torch.cumsum(delta.index_select(0, order), 0)
    last = torch.ones_like(key, dtype=torch.bool)
    last[:-1] = key[1:] != key[:-1]
    key, cover = key[last], cover[last]
    kg = key >> _KEY_SHIFT
    state = cover == members.index_select(0, kg) if intersect else cover > 0
    prev = torch.zeros_like(state)
    prev[1:] = state[:-1] & (kg[1:] == kg[:-1])
    pos = key & ((1 << _KEY_SHIFT) - 1)
    length = height * width
    toggle = (state != prev) & (pos < length.index_select(0, kg))
    merged = _from_toggles(kg[toggle], pos[toggle], k, length, height, width)

    # Groups of one mask: that mask as it is; invalid groups: no runs at all.
    single = members == 1
    first = torch.full((k,), n, dtype=_I64, device=dev).scatter_reduce_(
        0, groups, torch.arange(n, device=dev), "amin"
    )
    pick = torch.where(single, first + k, torch.arange(k, device=dev))
    both = _cat([merged, rle])
    out = _select(both, pick)
    if bool((~valid).any()):
        keep = valid[_expand(out.lengths, out.counts.shape[0])[0]]
        lengths = torch.where(valid, out.lengths, 0)
        out = Rle(out.counts[keep], _exclusive_cumsum(lengths), out.height, out.width)
    return Rle(out.counts, out.offsets, height, width)


def _check_groups(
    groups: object, n: int, num_groups: object, device: torch.device, per: str
) -> tuple[Tensor, int]:
    """``groups`` as int64 on ``device`` and the number of groups (host reads).

    ``(n,)`` integer groups (one per ``per``: ``"mask"``, ``"ring"``) in
    ``[0, num_groups)``; the range is read on every device (one or two scalars: the
    number of groups is needed on the host).
    """
    g = check_tensor("groups", groups, 1, "(N,)")
    check_dtype("groups", g, "integer")
    check_size("groups", g, n, f"one group per {per}")
    k = None if num_groups is None else check_int("num_groups", num_groups)
    groups = g.to(device=device, dtype=_I64)
    if k is None:
        k = int(groups.max()) + 1 if n else 0
    if n and (int(groups.min()) < 0 or int(groups.max()) >= k):
        bad = int(flat_nonzero((groups < 0) | (groups >= k))[0])
        raise ValueError(
            f"Expected `groups` to be in [0, {k}), but got {int(groups[bad])} (first "
            f"offending item: groups[{bad}])"
        )
    return groups, k


def _intersections(ones: _Ones, a: Tensor, b: Tensor) -> Tensor:
    """``|mask a[p] & mask b[p]|`` for pairs of equal-size masks (indexes into ``ones``).

    The ones runs of ``a[p]`` that can meet ``b[p]`` (those between ``b[p]``'s first and
    last set pixel) are looked up in ``b[p]``'s runs: with ``F(x)`` the set pixels of
    ``b[p]`` before position ``x``, a run ``[s, e)`` meets ``F(e) - F(s)`` of them.
    """
    dev = a.device
    if a.numel() == 0:
        return torch.zeros(0, dtype=_I64, device=dev)
    num_runs = ones.seg.shape[0]
    if num_runs == 0:
        return torch.zeros(a.shape[0], dtype=_I64, device=dev)
    key_start = (ones.seg << _KEY_SHIFT) | ones.start
    key_end = (ones.seg << _KEY_SHIFT) | ones.end
    b_first, b_last = ones.offsets[b], ones.offsets[b + 1] - 1
    empty_b = b_last < b_first
    lo_pos = ones.start[b_first.clamp(max=num_runs - 1)]
    hi_pos = ones.end[b_last.clamp(min=0)]
    lo = torch.searchsorted(key_end, (a << _KEY_SHIFT) | lo_pos, right=True)
    hi = torch.searchsorted(key_start, (a << _KEY_SHIFT) | hi_pos)
    count = torch.where(empty_b, 0, (hi - lo).clamp(min=0))
    pair, i = _expand(count, int(count.sum()))
    run = lo.index_select(0, pair) + i
    bq = b.index_select(0, pair)
    x = torch.cat((ones.end.index_select(0, run), ones.start.index_select(0, run)))
    bb = torch.cat((bq, bq))
    j = torch.searchsorted(key_start, (bb << _KEY_SHIFT) | x) - 1
    jc = j.clamp(min=0)
    base = ones.before - ones.start
    f = torch.where(
        j >= ones.offsets.index_select(0, bb),
        base.index_select(0, jc) + torch.minimum(x, ones.end.index_select(0, jc)),
        0,
    )
    q = run.shape[0]
    out = torch.zeros(a.shape[0], dtype=_I64, device=dev)
    return out.index_add_(0, pair, f[:q] - f[q:])


def rle_iou_pairs(
    dt: Rle, gt: Rle, pair_dt: Tensor, pair_gt: Tensor, gt_crowd: Tensor | None = None
) -> Tensor:
    """COCO mask IoU of aligned pairs ``(dt[pair_dt[p]], gt[pair_gt[p]])``.

    Bit-identical to the matching entry of ``pycocotools.mask.iou(dt, gt, iscrowd)``.

    Args:
        dt: ``D`` detection masks.
        gt: ``G`` ground-truth masks.
        pair_dt: ``(P,)`` integer detection indexes.
        pair_gt: ``(P,)`` integer ground-truth indexes.
        gt_crowd: ``(P,)`` bool (or integer / floating-point 0 / 1), whether the pair's
            ground truth is a crowd region (then the union is the detection's area);
            ``None``: no crowd.

    Returns:
        ``(P,)`` float64 IoU; -1 for masks of different sizes whose boxes overlap.

    Raises:
        TypeError: ``dt`` / ``gt`` not an :class:`Rle` of int64 tensors, pair indexes
            that are not integer tensors, complex crowd flags.
        ValueError: pair indexes or crowd flags that are not 1-D of one length, a pair
            index outside its batch (read on every device: the torch path would read
            a ground truth for a detection index past ``D``), ``dt`` and ``gt`` on two
            devices; and as every function that reads the runs: malformed shapes or
            devices, and on CPU tensors offsets that do not slice the counts, negative
            sizes or runs, runs that do not add up to ``height * width`` (pycocotools'
            merge loop never ends on some such pairs), and crowd flags other than 0 or 1
            (NaN included; device flags are not read: nonzero is crowd).

    Example:
        >>> import torch
        >>> m = torch.zeros(2, 4, 4, dtype=torch.bool)
        >>> m[0, :2, :2] = True   # 4 pixels
        >>> m[1, :2, :] = True    # 8 pixels, covering the first
        >>> rle = rle_encode(m)
        >>> i = torch.tensor([0, 0])
        >>> rle_iou_pairs(rle, rle, i, torch.tensor([1, 0]), torch.tensor([False, True]))
        tensor([0.5000, 1.0000], dtype=torch.float64)
    """
    dev = _check_rle_pair(dt, gt)
    named = [("pair_dt", pair_dt), ("pair_gt", pair_gt)]
    for name, t in named + ([] if gt_crowd is None else [("gt_crowd", gt_crowd)]):
        if not isinstance(t, Tensor):
            raise TypeError(f"Expected `{name}` to be a torch.Tensor, but got {type(t).__name__}")
    given = [pair_dt, pair_gt] + ([] if gt_crowd is None else [gt_crowd])
    if pair_dt.ndim != 1 or any(t.shape != pair_dt.shape for t in given):
        raise ValueError(
            "Expected `pair_dt`, `pair_gt` and `gt_crowd` to be 1-D of one length P, but got "
            f"shapes {', '.join(str(tuple(t.shape)) for t in given)}"
        )
    for name, t in named:
        check_dtype(name, t, "integer")
    num = pair_dt.shape[0]
    crowd = (
        torch.zeros(num, dtype=torch.bool, device=dev)
        if gt_crowd is None
        else _check_crowd("gt_crowd", gt_crowd, num, "one crowd flag per pair", "(P,)").to(dev)
    )
    pair_dt = pair_dt.to(device=dev, dtype=_I64)
    pair_gt = pair_gt.to(device=dev, dtype=_I64)
    if num:
        _check_pair_index("pair_dt", pair_dt, dt.num_masks)
        _check_pair_index("pair_gt", pair_gt, gt.num_masks)
    return _rle_iou_pairs(dt, gt, pair_dt, pair_gt, crowd)


def _check_rle_pair(dt: object, gt: object) -> torch.device:
    """Both batches checked with their runs (CPU), on one device; that device."""
    dev, other = _check_rle("dt", dt, runs=True).device, _check_rle("gt", gt, runs=True).device
    if other != dev:
        raise ValueError(
            f"Expected `dt` and `gt` on the same device, but got {dev} and {other}; move "
            "both with .to(device)"
        )
    return dev


def _rle_iou_pairs(dt: Rle, gt: Rle, pair_dt: Tensor, pair_gt: Tensor, crowd: Tensor) -> Tensor:
    """:func:`rle_iou_pairs` without checks: its unchecked core.

    For callers that validated their masks at the edge (the run check reads every
    count): ``dt`` / ``gt`` well-formed :class:`Rle` s on one device, ``pair_dt`` /
    ``pair_gt`` ``(P,)`` int64 indexes within the batches and ``crowd`` ``(P,)`` bool,
    all on that device. Nothing is checked here: other input reads out of bounds.
    """
    num, dev = pair_dt.shape[0], dt.device
    if num == 0:
        return torch.zeros(0, dtype=_F64, device=dev)
    if _compiled.available(
        dt.counts, gt.counts, size=num, minimum=_compiled.MIN_PAIRS, cold=_compiled.MIN_PAIRS_COLD
    ):
        return _compiled.iou_pairs(dt, gt, pair_dt, pair_gt, crowd)
    if dev.type != "cpu" or num <= _CPU_BLOCK_PAIRS:
        return _iou_pairs(dt, gt, pair_dt, pair_gt, crowd)
    # CPU: blocks of pairs that share their masks (sorted by ground truth), each with
    # only its own masks' runs.
    order = torch.sort(pair_gt * dt.num_masks + pair_dt).indices
    out = torch.empty(num, dtype=_F64)
    for lo in range(0, num, _CPU_BLOCK_PAIRS):
        sel = order[lo : lo + _CPU_BLOCK_PAIRS]
        d_ids, d_inv = torch.unique(pair_dt[sel], return_inverse=True)
        g_ids, g_inv = torch.unique(pair_gt[sel], return_inverse=True)
        out[sel] = _iou_pairs(_select(dt, d_ids), _select(gt, g_ids), d_inv, g_inv, crowd[sel])
    return out


def _check_pair_index(name: str, index: Tensor, num: int) -> None:
    """Pair indexes within ``[0, num)`` (two host reads).

    The torch path concatenates the batches, where a detection index past ``D`` would
    read a ground truth; the compiled path reads raw memory.
    """
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= num):
        bad = int(flat_nonzero((index < 0) | (index >= num))[0])
        raise ValueError(
            f"Expected `{name}` to hold mask indexes in [0, {num}), but got "
            f"{int(index[bad])} (first offending item: {name}[{bad}])"
        )


def _iou_pairs(dt: Rle, gt: Rle, pair_dt: Tensor, pair_gt: Tensor, crowd: Tensor) -> Tensor:
    """:func:`rle_iou_pairs` of one block (checked, aligned inputs, ``P > 0``)."""
    dev, num = dt.device, pair_dt.shape[0]
    # Both batches' ones runs in one table: masks 0..D-1 the detections, D.. the truths.
    d_num = dt.num_masks
    both = _cat([dt, gt])
    ones = _ones(both)
    box = _box(ones.seg, ones.start, ones.end, both)
    gi = pair_gt + d_num
    bd, bg = box.index_select(0, pair_dt), box.index_select(0, gi)
    w = torch.minimum(bd[:, 2] + bd[:, 0], bg[:, 2] + bg[:, 0]) - torch.maximum(bd[:, 0], bg[:, 0])
    h = torch.minimum(bd[:, 3] + bd[:, 1], bg[:, 3] + bg[:, 1]) - torch.maximum(bd[:, 1], bg[:, 1])
    overlap = (w > 0) & (h > 0)
    same = (both.height.index_select(0, pair_dt) == both.height.index_select(0, gi)) & (
        both.width.index_select(0, pair_dt) == both.width.index_select(0, gi)
    )
    todo = flat_nonzero(overlap & same)
    d, g = pair_dt.index_select(0, todo), gi.index_select(0, todo)
    # Look the runs of the mask with fewer runs up in the other one.
    runs = ones.offsets[1:] - ones.offsets[:-1]
    d_side = runs.index_select(0, d) <= runs.index_select(0, g)
    inter = _intersections(ones, torch.where(d_side, d, g), torch.where(d_side, g, d))
    area_d, area_g = ones.area.index_select(0, d), ones.area.index_select(0, g)
    union = area_d + area_g - inter
    stops = _merge_stops(both, d, g)
    if stops is not None:  # pycocotools stops merging early: count up to there only
        early, stop = stops
        cut = _truncated(
            both, torch.cat((d.index_select(0, early), g.index_select(0, early))), stop.repeat(2)
        )
        cut_ones = _ones(cut)
        num_early = early.shape[0]
        first = torch.arange(num_early, device=dev)
        cut_inter = _intersections(cut_ones, first, first + num_early)
        inter[early] = cut_inter
        union[early] = cut_ones.area[:num_early] + cut_ones.area[num_early:] - cut_inter
    union = torch.where(crowd.index_select(0, todo), area_d, union)
    value = torch.where(inter > 0, inter.to(_F64) / union.clamp(min=1).to(_F64), 0.0)
    out = torch.zeros(num, dtype=_F64, device=dev)
    out[todo] = value
    return torch.where(overlap & ~same, -1.0, out)


def _merge_stops(rle: Rle, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor] | None:
    """Pairs ``(a[p], b[p])`` whose intersection pycocotools' ``rleIou`` stops early.

    Its merge loop (``maskApi.c``) takes a mask's next count when its current one is
    used up, one count per mask per step, and stops once both current counts are 0.
    With zero-length runs after the first count (non-canonical runs, which no encoder
    writes but uncompressed RLE may hold) that happens before the end when both masks
    finish a run at the same position (or both start with a 0 count) and both next
    counts are 0: pixels from that position on count in neither the intersection nor
    the union. Canonical masks never stop early.

    Returns:
        ``(pairs (Q,), stop positions (Q,))`` for the pairs that stop before their
        masks' end, or ``None`` when none does (one host read; more when a mask has
        zero-length runs).
    """
    counts = rle.counts
    if counts.shape[0] < 2:
        return None
    inner_zero = counts == 0  # zero-length runs, but a mask's leading count
    starts = rle.offsets[:-1]
    inner_zero.index_fill_(0, starts[starts < counts.shape[0]], False)
    if not bool(inner_zero.any()):
        return None
    seg, local, end = _runs(rle)
    zero_next = torch.zeros_like(inner_zero)
    zero_next[:-1] = inner_zero[1:]
    # Positions where a mask finishes a run (or its leading count) and the next is 0:
    # distinct per mask, so the keys are unique and ascending.
    hit = flat_nonzero(zero_next & ((local == 0) | (counts > 0)))
    hit_seg, hit_end = seg.index_select(0, hit), end.index_select(0, hit)
    key = (hit_seg << _KEY_SHIFT) | hit_end
    per_mask = torch.bincount(hit_seg, minlength=rle.num_masks)
    cand = flat_nonzero((per_mask.index_select(0, a) > 0) & (per_mask.index_select(0, b) > 0))
    if cand.numel() == 0:
        return None
    ca, cb = a.index_select(0, cand), b.index_select(0, cand)
    count = per_mask.index_select(0, ca)
    pair, j = _expand(count, int(count.sum()))
    pos = hit_end.index_select(0, _exclusive_cumsum(per_mask).index_select(0, ca)[pair] + j)
    query = (cb.index_select(0, pair) << _KEY_SHIFT) | pos
    at = torch.searchsorted(key, query).clamp(max=key.shape[0] - 1)
    never = torch.iinfo(torch.int64).max
    stop = torch.full((cand.shape[0],), never, dtype=_I64, device=counts.device)
    stop.scatter_reduce_(0, pair, torch.where(key.index_select(0, at) == query, pos, never), "amin")
    length = rle.height.index_select(0, ca) * rle.width.index_select(0, ca)
    early = flat_nonzero(stop < length)
    return cand.index_select(0, early), stop.index_select(0, early)


def _truncated(rle: Rle, masks: Tensor, stop: Tensor) -> Rle:
    """Masks ``masks`` of ``rle`` with every pixel from position ``stop`` on unset."""
    num = masks.shape[0]
    sel = _select(rle, masks)
    dev = stop.device
    head = Rle(  # set up to stop, then unset: counts [0, stop, length - stop]
        torch.stack((torch.zeros_like(stop), stop, sel.height * sel.width - stop), 1).reshape(-1),
        torch.arange(0, 3 * num + 1, 3, device=dev),
        sel.height,
        sel.width,
    )
    group = torch.arange(num, device=dev).repeat(2)
    return _merge(_cat([sel, head]), group, num, intersect=True)


def rle_iou(dt: Rle, gt: Rle, gt_crowd: Tensor | None = None) -> Tensor:
    """COCO mask IoU matrix, bit-identical to ``pycocotools.mask.iou(dt, gt, iscrowd)``.

    Args:
        dt: ``D`` detection masks.
        gt: ``G`` ground-truth masks.
        gt_crowd: ``(G,)`` bool (or integer / floating-point 0 / 1) crowd flags;
            ``None`` means no crowd.

    Returns:
        ``(D, G)`` float64.

    Raises:
        TypeError: ``dt`` / ``gt`` not an :class:`Rle` of int64 tensors, or crowd flags
            that are not a bool, integer or floating-point tensor.
        ValueError: crowd flags not ``(G,)``, ``dt`` and ``gt`` on two devices; and as
            every function that reads the runs: malformed shapes or devices, and on CPU
            tensors offsets that do not slice the counts, negative sizes or runs, runs
            that do not add up to ``height * width``, and crowd flags other than 0 or 1
            (NaN included; device flags are not read: nonzero is crowd).

    Example:
        >>> import torch
        >>> m = torch.zeros(2, 4, 4, dtype=torch.bool)
        >>> m[0, :2, :2] = True
        >>> m[1, :2, :] = True
        >>> rle = rle_encode(m)
        >>> rle_iou(rle, rle, torch.tensor([False, True]))
        tensor([[1.0000, 1.0000],
                [0.5000, 1.0000]], dtype=torch.float64)
    """
    dev = _check_rle_pair(dt, gt)
    d, g = dt.num_masks, gt.num_masks
    crowd = (
        torch.zeros(g, dtype=torch.bool, device=dev)
        if gt_crowd is None
        else _check_crowd("gt_crowd", gt_crowd, g, "one flag per gt mask", "(G,)").to(dev)
    )
    pd = torch.arange(d, device=dev).repeat_interleave(g)
    pg = torch.arange(g, device=dev).repeat(d)
    return _rle_iou_pairs(dt, gt, pd, pg, crowd.index_select(0, pg)).reshape(d, g)


def mask_iou(masks1: Tensor, masks2: Tensor, iscrowd: Tensor | None = None) -> Tensor:
    """COCO IoU of dense masks as one matrix product on the device (training loops).

    Equal to :func:`rle_iou` of the encoded masks (``masks1`` the detections,
    ``masks2`` the ground truths), bit for bit.

    Args:
        masks1: ``(N, H, W)`` bool masks (integer: nonzero is set; floating-point:
            0 / 1, as :func:`rle_encode`).
        masks2: ``(M, H, W)`` masks as ``masks1``, same ``H, W`` and device.
        iscrowd: ``(M,)`` bool (or integer / floating-point 0 / 1); for a crowd mask the
            union is ``masks1``'s area.

    Returns:
        ``(N, M)`` float64; 0 where the intersection is empty.

    Raises:
        TypeError: masks or flags that are not tensors, complex masks or flags.
        ValueError: masks not 3-D, of two sizes or on two devices, flags not ``(M,)``;
            on CPU tensors also floating-point mask values other than 0 / 1 and flags
            other than 0 / 1, NaN included (device values are not read: nonzero counts
            there).

    Example:
        >>> import torch
        >>> m = torch.zeros(2, 4, 4, dtype=torch.bool)
        >>> m[0, :2, :2] = True
        >>> m[1, :2, :] = True
        >>> mask_iou(m, m)
        tensor([[1.0000, 0.5000],
                [0.5000, 1.0000]], dtype=torch.float64)
    """
    a, b = _check_masks("masks1", masks1), _check_masks("masks2", masks2)
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"Expected `masks1` and `masks2` to have the same (H, W), but got "
            f"{tuple(a.shape[1:])} and {tuple(b.shape[1:])}"
        )
    if a.device != b.device:
        raise ValueError(
            f"Expected `masks1` and `masks2` on the same device, but got {a.device} and "
            f"{b.device}; move both with .to(device)"
        )
    n, m = a.shape[0], b.shape[0]
    crowd = None
    if iscrowd is not None:
        crowd = _check_crowd("iscrowd", iscrowd, m, "one flag per mask of `masks2`", "(M,)")
        crowd = crowd.to(a.device)
    pixels = a.shape[1] * a.shape[2]
    fa, fb = a.reshape(n, pixels), b.reshape(m, pixels)
    # Sums of 0/1 products are integers: exact in float32 below 2**24, else float64.
    dtype = torch.float32 if pixels < (1 << 24) else _F64
    inter = torch.round(fa.to(dtype) @ fb.to(dtype).T).to(_I64)
    area1, area2 = fa.sum(1, dtype=_I64), fb.sum(1, dtype=_I64)
    union = area1[:, None] + area2[None, :] - inter
    if crowd is not None:
        union = torch.where(crowd[None, :], area1[:, None], union)
    return torch.where(inter > 0, inter.to(_F64) / union.clamp(min=1).to(_F64), 0.0)


# ---------------------------------------------------------------------------- polygons


def _shallow_crossings(
    x0: Tensor, y0: Tensor, y1: Tensor, dx: Tensor, n_lo: Tensor, count: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Column crossings of edges with ``dx >= dy`` (after ``rleFrPoly``'s flip).

    The upsampled points are ``u = x0 + t``, ``v(t) = (int)(y0 + s*t + .5)`` with
    ``s = (y1 - y0) / dx``; column ``n`` is crossed between ``t`` and ``t + 1`` where
    ``u = 5n + 2``, at ``min(v(t), v(t + 1))``.

    Returns:
        ``(column, yd, edge)`` per crossing; ``edge`` indexes the given edges.
    """
    edge, j = _expand(count, int(count.sum()))
    col = n_lo.index_select(0, edge) + j
    ex0, ey0 = x0.index_select(0, edge), y0.index_select(0, edge).to(_F64)
    s = (y1.index_select(0, edge) - y0.index_select(0, edge)).to(_F64) / dx.index_select(
        0, edge
    ).to(_F64)
    t = (5 * col + 2 - ex0).to(_F64)
    v0 = torch.trunc((ey0 + s * t) + 0.5)
    v1 = torch.trunc((ey0 + s * (t + 1.0)) + 0.5)
    return col, torch.minimum(v0, v1).to(_I64), edge


def _steep_crossings(
    x0: Tensor, x1: Tensor, y0: Tensor, dy: Tensor, n_lo: Tensor, count: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Column crossings of edges with ``dx < dy`` (after ``rleFrPoly``'s flip).

    The upsampled points are ``v = y0 + t``, ``u(t) = (int)(x0 + s*t + .5)`` with
    ``s = (x1 - x0) / dy``; column ``n`` is crossed at the last ``t`` on the near side
    of ``5n + 2 | 5n + 3``, at ``v = y0 + t``. That ``t`` is estimated by division and
    settled with the exact C expression on a window around the estimate.

    Returns:
        ``(column, yd, edge)`` per crossing; ``edge`` indexes the given edges.
    """
    edge, j = _expand(count, int(count.sum()))
    col = n_lo.index_select(0, edge) + j
    target = 5 * col + 2
    ex0, ex1, e_dy = x0.index_select(0, edge), x1.index_select(0, edge), dy.index_select(0, edge)
    fx0 = ex0.to(_F64)
    s = (ex1 - ex0).to(_F64) / e_dy.to(_F64)
    rising = ex1 > ex0
    est = torch.floor(((target.to(_F64) + 0.5 - fx0) / s).clamp(-1.0, 2.0**52)).to(_I64)
    top = e_dy - 1
    last_t = torch.zeros_like(est)
    for off in range(-2, 3):
        t = torch.minimum((est + off).clamp(min=0), top)
        u = torch.trunc((fx0 + s * t.to(_F64)) + 0.5).to(_I64)
        near = torch.where(rising, u <= target, u > target)
        last_t = torch.where(near, torch.maximum(last_t, t), last_t)
    return col, y0.index_select(0, edge) + last_t, edge


def rle_from_polygons(
    points: Tensor,
    ring_offsets: Tensor,
    height: Tensor,
    width: Tensor,
    groups: Tensor | None = None,
    num_groups: int | None = None,
) -> Rle:
    """Rasterise polygons like pycocotools' ``frPoly`` (``frPyObjects`` of a polygon).

    Each ring is rasterised on its own; a COCO annotation with several rings is the
    :func:`rle_merge` union of them (as ``COCO.annToRLE`` does), which ``groups``
    gives in the same call.

    Args:
        points: ``(P, 2)`` float64 ``(x, y)`` vertices of all rings, concatenated.
        ring_offsets: ``(R + 1,)`` int64; ring ``r`` is
            ``points[ring_offsets[r]:ring_offsets[r + 1]]`` (closed implicitly).
        height: ``(R,)`` int64 image height of each ring.
        width: ``(R,)`` int64 image width of each ring.
        groups: ``(R,)`` int64 group of each ring in ``[0, num_groups)``: return one
            mask per group, the union of its rings (``rle_merge(rle, groups,
            num_groups)`` of the rings); ``None``: one mask per ring.
        num_groups: number of groups ``K`` (default: ``groups.max() + 1``).

    Returns:
        ``Rle`` of ``R`` masks (``K`` with ``groups``).

    Raises:
        TypeError: an argument that is not a tensor, bool or complex ``points``,
            ``ring_offsets`` / ``height`` / ``width`` / ``groups`` that are not integer
            tensors, ``num_groups`` not an int.
        ValueError: shapes other than the above (``height``, ``width``, ``groups``:
            one per ring), ``num_groups`` without ``groups``, a vertex that is not
            finite or beyond maskApi's C ints (``|v| >= (2**31 - 1) / 5``), a negative
            height or width, ``groups`` outside ``[0, num_groups)`` (these three read on
            every device); on CPU tensors also ``ring_offsets`` that do not rise from 0
            to ``P`` (device offsets are not read).

    Example:
        >>> import torch
        >>> pts = torch.tensor([[1.0, 1.0], [4.0, 1.0], [4.0, 3.0], [1.0, 3.0]],
        ...                    dtype=torch.float64)
        >>> rle = rle_from_polygons(pts, torch.tensor([0, 4]), torch.tensor([5]),
        ...                         torch.tensor([6]))
        >>> rle_decode(rle)[0].int().tolist()
        [[0, 0, 0, 0, 0, 0],
         [0, 1, 1, 1, 0, 0],
         [0, 1, 1, 1, 0, 0],
         [0, 0, 0, 0, 0, 0],
         [0, 0, 0, 0, 0, 0]]
    """
    if not isinstance(points, Tensor):
        raise TypeError(f"Expected `points` to be a torch.Tensor, but got {type(points).__name__}")
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"Expected `points` to have shape (P, 2), but got {tuple(points.shape)}")
    _check_real("points", points)
    offsets = check_tensor("ring_offsets", ring_offsets, 1, "(R + 1,)")
    check_dtype("ring_offsets", offsets, "integer")
    if offsets.shape[0] == 0:
        raise ValueError("Expected `ring_offsets` to have shape (R + 1,) (0 first), but got (0,)")
    dev, num_rings = points.device, offsets.shape[0] - 1
    height, width = _check_image_sizes(height, width, num_rings, "ring", dev)
    offsets = offsets.to(device=dev, dtype=_I64)
    _check_offsets(
        "ring_offsets",
        offsets,
        points.shape[0],
        "len(points)",
        "ring r's points are points[ring_offsets[r]:ring_offsets[r + 1]]",
    )
    k = None
    if groups is not None:
        groups, k = _check_groups(groups, num_rings, num_groups, dev, "ring")
    elif num_groups is not None:
        raise ValueError(
            f"Expected `num_groups` only with `groups`, but got num_groups={num_groups!r} "
            "and groups=None"
        )
    _check_coords("points", points, points, 1, "to be finite and within")
    return _polygons(points, offsets, height, width, groups, k)


def _check_real(name: str, x: Tensor) -> None:
    """A floating-point or integer tensor (bool and complex refused)."""
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(
            f"Expected `{name}` to be a floating-point or integer tensor, but got {x.dtype}"
        )


def _check_image_sizes(
    height: object, width: object, n: int, per: str, device: torch.device
) -> tuple[Tensor, Tensor]:
    """``(n,)`` integer image heights and widths ``>= 0`` as int64 on ``device``.

    The sign is read on every device (one host read, as the vertices' range).
    """
    sizes = []
    for name, t in (("height", height), ("width", width)):
        x = check_tensor(name, t, 1, "(R,)" if per == "ring" else "(N,)")
        check_dtype(name, x, "integer")
        check_size(name, x, n, f"one image {name} per {per}")
        sizes.append(x.to(device=device, dtype=_I64))
    h, w = sizes
    sized = (h >= 0) & (w >= 0)
    if n and not bool(sized.all()):
        bad = int(flat_nonzero(~sized)[0])
        raise ValueError(
            f"Expected `height` and `width` to be >= 0, but got {int(h[bad])} x "
            f"{int(w[bad])} (first offending item: {per} {bad})"
        )
    big = h.double() * w.double() >= float(_MAX_PIXELS)
    if n and bool(big.any()):
        bad = int(flat_nonzero(big)[0])
        raise ValueError(
            f"Expected `height` and `width` with height * width < 2**62, but got "
            f"{int(h[bad])} x {int(w[bad])} (first offending item: {per} {bad})"
        )
    return h, w


def _check_coords(name: str, points: Tensor, rows: Tensor, per: int, what: str) -> None:
    """Vertices finite and within maskApi's C ints (one host read, on every device).

    maskApi's int arithmetic: ``5 * v + .5`` must fit an int (``|v| < 2**31 / 5``);
    beyond it (or not finite) pycocotools has no defined answer. ``rows[i]`` is the
    item named for vertex ``i * per`` (``per`` vertices per item).
    """
    inside = (points.abs() < _MAX_COORD).all(1)
    if points.shape[0] == 0 or bool(inside.all()):
        return
    bad = int(flat_nonzero(~inside)[0]) // per
    raise ValueError(
        f"Expected `{name}` {what} +-{_MAX_COORD:,.0f} (pycocotools scales them by 5 into a "
        f"C int), but got {rows[bad].tolist()} (first offending item: {name}[{bad}])"
    )


def _polygons(
    points: Tensor,
    ring_offsets: Tensor,
    height: Tensor,
    width: Tensor,
    groups: Tensor | None,
    num_groups: int | None,
) -> Rle:
    """:func:`rle_from_polygons` of checked inputs (int64 offsets, sizes and groups)."""
    dev = points.device
    num_rings = ring_offsets.shape[0] - 1
    if num_rings == 0:
        empty = _empty_rle(dev)
        return empty if groups is None else _merge(empty, groups, num_groups or 0)
    if _compiled.available(
        points,
        size=points.shape[0],
        minimum=_compiled.MIN_VERTICES,
        cold=_compiled.MIN_VERTICES_COLD,
    ):
        compiled = _compiled.polygons(points, ring_offsets, height, width, groups, num_groups or 0)
        if compiled is not None:
            return Rle(*compiled)
    rings = _rasterise(points, ring_offsets, height, width)
    return rings if groups is None else _merge(rings, groups, num_groups or 0)


def _rasterise(points: Tensor, ring_offsets: Tensor, height: Tensor, width: Tensor) -> Rle:
    """:func:`rle_from_polygons` of every ring, torch path (checked inputs, ``R > 0``)."""
    dev = points.device
    num_rings = ring_offsets.shape[0] - 1
    num_points = points.shape[0]
    length = height * width

    # (int)(scale * xy + .5) with C's truncation toward zero.
    xy = torch.trunc(5.0 * points.to(_F64) + 0.5).to(_I64)
    k = ring_offsets[1:] - ring_offsets[:-1]
    ring, local = _expand(k, num_points)
    nxt = torch.where(
        local + 1 < k.index_select(0, ring),
        torch.arange(num_points, device=dev) + 1,
        ring_offsets[:-1].index_select(0, ring),
    )
    xs, ys = xy[:, 0], xy[:, 1]
    xe, ye = xs.index_select(0, nxt), ys.index_select(0, nxt)
    dx, dy = (xe - xs).abs(), (ye - ys).abs()
    shallow = dx >= dy
    flip = (shallow & (xs > xe)) | (~shallow & (ys > ye))
    x0, x1 = torch.where(flip, xe, xs), torch.where(flip, xs, xe)
    y0, y1 = torch.where(flip, ye, ys), torch.where(flip, ys, ye)

    # A boundary point survives where the upsampled boundary steps between u = 5n+2
    # and u = 5n+3 (column n's centre line); n in [0, width - 1].
    lo, hi = torch.minimum(x0, x1), torch.maximum(x0, x1)
    n_lo = torch.div(lo - 2 + 4, 5, rounding_mode="floor").clamp(min=0)
    n_hi = torch.minimum(
        torch.div(hi - 3, 5, rounding_mode="floor"), width.index_select(0, ring) - 1
    )
    per_edge = (n_hi - n_lo + 1).clamp(min=0)
    sh = flat_nonzero(shallow & (per_edge > 0))
    st = flat_nonzero(~shallow & (per_edge > 0))
    col_sh, yd_sh, e_sh = _shallow_crossings(
        x0.index_select(0, sh),
        y0.index_select(0, sh),
        y1.index_select(0, sh),
        dx.index_select(0, sh),
        n_lo.index_select(0, sh),
        per_edge.index_select(0, sh),
    )
    col_st, yd_st, e_st = _steep_crossings(
        x0.index_select(0, st),
        x1.index_select(0, st),
        y0.index_select(0, st),
        dy.index_select(0, st),
        n_lo.index_select(0, st),
        per_edge.index_select(0, st),
    )
    col = torch.cat((col_sh, col_st))
    edge = torch.cat((sh.index_select(0, e_sh), st.index_select(0, e_st)))
    yd = torch.cat((yd_sh, yd_st)).to(_F64)
    yd = (yd + 0.5) / 5.0 - 0.5
    e_ring = ring.index_select(0, edge)
    h_f = height.index_select(0, e_ring).to(_F64)
    yd = torch.where(yd < 0, 0.0, torch.where(yd > h_f, h_f, yd))
    pos = col * height.index_select(0, e_ring) + torch.ceil(yd).to(_I64)
    seg, pos = _parity_toggles((e_ring << _KEY_SHIFT) | pos)
    keep = flat_nonzero(pos < length.index_select(0, seg))
    return _from_toggles(
        seg.index_select(0, keep), pos.index_select(0, keep), num_rings, length, height, width
    )


def rle_from_boxes(boxes: Tensor, height: Tensor, width: Tensor) -> Rle:
    """Rasterise ``xywh`` boxes like pycocotools' ``frBbox`` (a 4-corner polygon each).

    Args:
        boxes: ``(N, 4)`` float64 ``xywh``.
        height: ``(N,)`` int64 image heights.
        width: ``(N,)`` int64 image widths.

    Returns:
        ``Rle`` of ``N`` masks.

    Raises:
        TypeError: ``boxes`` not a tensor, or bool / complex; ``height`` / ``width``
            not integer tensors.
        ValueError: ``boxes`` not ``(N, 4)``, ``height`` / ``width`` not ``(N,)`` or
            negative, or a corner that is not finite or beyond maskApi's C ints (both
            read on every device).

    Example:
        >>> import torch
        >>> rle = rle_from_boxes(torch.tensor([[1.0, 0.0, 2.0, 2.0]], dtype=torch.float64),
        ...                      torch.tensor([3]), torch.tensor([4]))
        >>> rle_decode(rle)[0].int().tolist()
        [[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    b = _check_boxes("boxes", boxes)
    height, width = _check_image_sizes(height, width, b.shape[0], "box", b.device)
    b = b.to(_F64)
    xs, ys = b[:, 0], b[:, 1]
    xe, ye = xs + b[:, 2], ys + b[:, 3]
    pts = torch.stack((xs, ys, xs, ye, xe, ye, xe, ys), dim=1).reshape(-1, 2)
    _check_coords("boxes", pts, b, 4, "to have finite corners (x + w, y + h included) within")
    offsets = torch.arange(0, 4 * b.shape[0] + 1, 4, device=b.device)
    return _polygons(pts, offsets, height, width, None, None)


# ----------------------------------------------------------------------------- strings


def rle_to_strings(rle: Rle) -> list[bytes]:
    """Compressed RLE strings, like the ``counts`` of ``pycocotools.mask.encode``.

    Args:
        rle: ``N`` masks.

    Returns:
        ``N`` ASCII byte strings (pycocotools' ``counts``; ``.decode()`` for JSON).

    Raises:
        TypeError: ``rle`` not an :class:`Rle` of int64 tensors.
        ValueError: fields of malformed shapes or on different devices; on CPU tensors
            also offsets that do not slice the counts, a negative height, width or run
            length, or a mask whose runs do not add up to its ``height * width`` (the
            first is named). Device values are not read.

    Example:
        >>> import torch
        >>> m = torch.zeros(1, 4, 4, dtype=torch.bool)
        >>> m[0, 1:3, 1:3] = True
        >>> rle_to_strings(rle_encode(m))
        [b'52203']
    """
    _check_rle("rle", rle, runs=True)
    n = rle.num_masks
    if rle.counts.numel() == 0:
        return [b""] * n
    seg, local, _ = _runs(rle)
    idx = torch.arange(rle.counts.shape[0], device=rle.device)
    x = torch.where(local > 2, rle.counts - rle.counts[(idx - 2).clamp(min=0)], rle.counts)
    mag = torch.where(x >= 0, x, -x - 1)
    chars = torch.ones_like(x)
    for t in range(1, _MAX_CHARS + 1):
        chars += (mag >= (1 << (5 * t - 1))).to(_I64)
    value, i = _expand(chars, int(chars.sum()))
    chunk = (x.index_select(0, value) >> (5 * i)) & 0x1F
    code = (chunk | torch.where(i < chars.index_select(0, value) - 1, 0x20, 0)) + 48
    buf = code.to(torch.uint8).cpu().numpy().tobytes()
    per_mask = torch.zeros(n, dtype=_I64, device=rle.device).index_add_(0, seg, chars)
    ends = torch.cumsum(per_mask, 0).cpu().tolist()
    return [buf[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def _join_strings(strings: Sequence[str | bytes]) -> tuple[np.ndarray, np.ndarray, int]:
    """One byte buffer of all strings, their lengths, and the first non-ASCII one or -1."""
    types = set(map(type, strings))
    if types <= {str}:
        joined = "".join(strings)  # type: ignore[arg-type]
        lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
        try:
            raw = joined.encode("ascii")
        except UnicodeEncodeError:
            bad = next(i for i, s in enumerate(strings) if not str(s).isascii())
            return np.zeros(0, np.uint8), lengths, bad
    elif types <= {bytes}:
        raw = b"".join(strings)  # type: ignore[arg-type]
        lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    elif types <= {str, bytes}:
        return _join_strings([s if isinstance(s, bytes) else s.encode("utf-8") for s in strings])
    else:
        bad = next(i for i, s in enumerate(strings) if not isinstance(s, (str, bytes)))
        raise TypeError(
            f"Expected `strings[{bad}]` to be a str or bytes, but got {type(strings[bad]).__name__}"
        )
    return np.frombuffer(raw, dtype=np.uint8), lengths, -1


def _decode_strings(buf: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Decode concatenated compressed RLE strings (the vectorised ``rleFrString``).

    Args:
        buf: ``(B,)`` uint8, the strings concatenated.
        lengths: ``(N,)`` int64 length of each string.

    Returns:
        ``(counts (C,) int64, runs per string (N,) int64, first bad string or -1)``.
        A string is bad when it holds a character outside ``'0'..'o'``, ends inside
        a value, has a value of more than 12 characters or a count outside
        ``[0, 2**32)``; the index is the first bad string of any kind. When one is
        bad the counts are unspecified.
    """
    n = lengths.shape[0]
    ends = np.cumsum(lengths)
    c = buf - np.uint8(48)  # uint8: characters below '0' wrap to >= 208
    bad_char = np.flatnonzero(c > 63)
    term = (c & 0x20) == 0
    last = ends[lengths > 0] - 1
    open_end = last[~term[last]]  # a string that ends inside a value
    if bad_char.size or open_end.size:
        first = min(
            int(bad_char[0]) if bad_char.size else buf.size,
            int(open_end[0]) if open_end.size else buf.size,
        )
        bad = _owner(ends, first)
        if bad > 0:  # an earlier string may hold a bad value: decode those before it
            earlier = _decode_strings(buf[: ends[bad - 1]], lengths[:bad])[2]
            bad = earlier if earlier >= 0 else bad
        return np.zeros(0, np.int64), np.zeros(n, np.int64), bad
    term_idx = np.flatnonzero(term)
    num_values = term_idx.shape[0]
    if num_values == 0:
        return np.zeros(0, np.int64), np.zeros(n, np.int64), -1
    vstart = np.empty(num_values, dtype=np.int64)
    vstart[0] = 0
    vstart[1:] = term_idx[:-1] + 1
    nchar = term_idx - vstart + 1
    # The values' characters, one position at a time (most values have 1 or 2).
    x = (c[vstart] & 0x1F).astype(np.int64)
    idx = np.flatnonzero(nchar > 1)
    k = 1
    while idx.size and k < _MAX_CHARS:
        x[idx] |= (c[vstart[idx] + k] & 0x1F).astype(np.int64) << (5 * k)
        k += 1
        idx = idx[nchar[idx] > k]
    # The last character's bit 4 is the sign: sign-extend from bit 5 * nchar - 1.
    shift = 64 - 5 * np.minimum(nchar, _MAX_CHARS)
    x = (x << shift) >> shift
    # Values per string from where the strings end among the terminators.
    runs = np.diff(np.searchsorted(term_idx, ends), prepend=0)
    voff = np.concatenate(([0], np.cumsum(runs)[:-1]))
    j = np.arange(num_values) - np.repeat(voff, runs)
    # count[j] = x[j] + count[j - 2] for j > 2 (count[j] = x[j] below): a running sum
    # along each parity chain. With every string's x[0] left out, both chains of all
    # strings are two strided running sums; a string's odd chain starts after the
    # running sum at its index -1, its even chain after the one at its index 0.
    y = np.where(j >= 1, x, 0)
    g = np.empty(num_values, dtype=np.int64)
    np.cumsum(y[0::2], out=g[0::2])
    np.cumsum(y[1::2], out=g[1::2])
    padded = np.concatenate(([0], g))  # padded[v + 1] = g[v]
    odd_base = np.repeat(padded[voff], runs)  # g[voff - 1], 0 before the first value
    even_base = np.repeat(padded[np.minimum(voff + 1, num_values)], runs)
    counts = np.where(j >= 1, g - np.where(j & 1 == 1, odd_base, even_base), x)
    bad_value = (nchar > _MAX_CHARS) | (counts < 0) | (counts >= _MAX_COUNT)
    if bad_value.any():
        first_bad = np.flatnonzero(bad_value)[0]
        return counts, runs, int(np.searchsorted(np.cumsum(runs), first_bad, side="right"))
    return counts, runs, -1


def _owner(ends: np.ndarray, position: int) -> int:
    """The string holding byte ``position`` of the joined buffer."""
    return int(np.searchsorted(ends, position, side="right"))


def rle_from_strings(
    strings: Sequence[str | bytes],
    height: Tensor | Sequence[int] | np.ndarray,
    width: Tensor | Sequence[int] | np.ndarray,
    device: torch.device | str | None = None,
) -> Rle:
    """Decode compressed RLE strings (pycocotools' ``counts``) into an :class:`Rle`.

    The strings are joined into one byte buffer and decoded with numpy in one pass.

    Args:
        strings: ``N`` strings (``str`` or ``bytes``).
        height: ``(N,)`` mask heights (pycocotools' ``size[0]``).
        width: ``(N,)`` mask widths (``size[1]``).
        device: where the result lives (default: CPU).

    Returns:
        ``Rle`` of ``N`` masks.

    Raises:
        RleStringError: (a ValueError) a string that is not a valid compressed RLE:
            a character outside ``'0'..'o'``, a string that ends inside a value, a
            count outside ``[0, 2**32)``; its ``index`` is the first such string.
        TypeError: ``strings`` not a sequence, an item that is neither ``str`` nor
            ``bytes``, heights or widths that are not integers.
        ValueError: heights or widths not ``(N,)``, or negative (CPU tensors and
            sequences; device tensors are not read).

    The run lengths are decoded as written: whether they add up to ``height * width``
    is checked by the functions that read them (as pycocotools' ``frString``, which
    does not check either).

    Example:
        >>> rle = rle_from_strings(["52203"], [4], [4])
        >>> rle.counts.tolist(), int(rle_area(rle)[0])
        ([5, 2, 2, 2, 5], 4)
    """
    if isinstance(strings, (str, bytes)) or not isinstance(strings, Sequence):
        raise TypeError(
            f"Expected `strings` to be a sequence of str or bytes, but got {type(strings).__name__}"
        )
    dev = torch.device(device) if device is not None else torch.device("cpu")
    h = _check_string_sizes("height", height, len(strings), dev)
    w = _check_string_sizes("width", width, len(strings), dev)
    buf, lengths, bad = _join_strings(strings)
    counts, runs = np.zeros(0, np.int64), np.zeros(len(strings), np.int64)
    if bad < 0:
        decode = _compiled.decode_strings if _compiled.available(size=buf.size) else _decode_strings
        counts, runs, bad = decode(buf, lengths)
    elif bad > 0:  # a non-ASCII string: an earlier string may be bad too
        earlier = _decode_strings(*_join_strings(strings[:bad])[:2])[2]
        bad = earlier if earlier >= 0 else bad
    if bad >= 0:
        raise RleStringError(
            f"Expected `strings[{bad}]` to be a COCO compressed RLE string, but got "
            f"{strings[bad]!r}",
            bad,
        )
    offsets = np.concatenate(([0], np.cumsum(runs))).astype(np.int64)
    return Rle(torch.from_numpy(counts).to(dev), torch.from_numpy(offsets).to(dev), h, w)


def _check_string_sizes(name: str, sizes: object, n: int, device: torch.device) -> Tensor:
    """``(n,)`` integer sizes ``>= 0`` (a tensor, array or sequence) as int64 on ``device``."""
    if isinstance(sizes, Tensor):
        t = check_tensor(name, sizes, 1, "(N,)")
        check_dtype(name, t, "integer")
    else:
        a = np.asarray(sizes)
        if a.ndim != 1:
            raise ValueError(f"Expected `{name}` to have shape (N,), but got {a.shape}")
        if a.size and a.dtype.kind not in "iu":
            raise TypeError(f"Expected `{name}` to hold ints, but got dtype {a.dtype}")
        t = torch.from_numpy(a.astype(np.int64))
    check_size(name, t, n, f"one mask {name} per string")
    check_range(name, t, 0, None, f"mask {name}s")
    return t.to(device=device, dtype=_I64)
