"""Stages of the streaming COCO metric: a batch -> flat state rows; the state -> results.

:func:`update_rows` matches one batch on its device with the offline pipeline's
kernels (``rank_within_groups`` and ``group_pairs``, ``coco_box_iou_pairs`` or the
dense mask overlap, and :func:`~assay.kernels.matching.coco_greedy_match_rounds`, the
same matches as ``coco_greedy_match`` in a few vectorised rounds), and keeps per
detection only what pycocotools' ``accumulate`` reads: score, label, rank inside its
(image, category) group, and a few bit words (area-range flags and, per IoU threshold
and area range, "matched a counted ground truth" / "matched an ignored one"). Per
ground truth it keeps the label and the area-range ignore bits. Rows are appended in
update order, each image's detections in input order: that is the image order
pycocotools breaks score ties with, so no image index is stored.

:func:`compute_results` lays the detections out in pycocotools' accumulation order
(a stable sort by descending score, then by class) and hands them to
:func:`~assay.kernels.ranking.coco_accumulate`, standing in two pseudo ground truths
(one counted, one ignored in every area range) for the matched ones: that is all
``accumulate`` needs to know about a match. The numbers are therefore the offline
evaluator's, bit for bit.

Conventions are torchmetrics' (``backend="pycocotools"``), so that the metric is a
drop-in: image ids in update order, annotation ids from 1, categories = the sorted
labels seen in predictions or targets, ground-truth area = the ``area`` given (when
> 0), else the box area (``bbox``) or the mask area (``segm``, and both types of a
``("bbox", "segm")`` metric); for ``iou_type="segm"`` alone, images without any
ground-truth mask are not evaluated (torchmetrics leaves them out of the COCO
dataset), and a metric that saw no image (``segm``: no predicted or no ground-truth
mask) gives -1 everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from ...kernels._bits import bits_to_rows, rows_to_bits
from ...kernels._keys import descending_key
from ...kernels._nonzero import flat_nonzero
from ...kernels.boxes import coco_box_iou_pairs
from ...kernels.gather import take_rows
from ...kernels.matching import (
    GreedyMatches,
    _coco_greedy_match_rounds,
    _group_pairs,
    _rank_within_groups,
)
from ...kernels.ranking import CocoAccumulation, _accumulation_layout, _coco_accumulate
from ..evaluation.params import CocoParams
from ..evaluation.result import _mean_valid, _select, summarize
from ._detection_input import DetectionBatch

__all__ = [
    "SIZE_COLUMNS",
    "MapConfig",
    "compute_results",
    "constants",
    "state_specs",
    "update_rows",
]

# The kernels are called through their unchecked cores (``_name``): the batch is checked at
# the input stage and every other argument is built here; the kernels' CPU value checks
# (permutations, ranges, order) would add a few % to update and compute.

_F64, _I64, _I32 = torch.float64, torch.int64, torch.int32
# Per-update counts: images, detections, ground truths, images with a detection,
# images with a ground truth (then, with extended_summary, IoU pairs per iou type).
SIZE_COLUMNS = 5
_STAT_KEYS = (
    "map",
    "map_50",
    "map_75",
    "map_small",
    "map_medium",
    "map_large",
    "mar_{0}",
    "mar_{1}",
    "mar_{2}",
    "mar_small",
    "mar_medium",
    "mar_large",
)
# Masks are compared as float matrices in chunks of at most this many elements.
_MASK_CHUNK = 1 << 25


@dataclass(frozen=True)
class MapConfig:
    """The metric's options, normalised (see ``MeanAveragePrecision``)."""

    iou_types: tuple[str, ...]
    box_format: str
    iou_thresholds: tuple[float, ...]
    rec_thresholds: tuple[float, ...]
    max_dets: tuple[int, ...]
    class_metrics: bool
    extended_summary: bool
    average: str

    @cached_property
    def params(self) -> CocoParams:
        """Pycocotools' parameters (default area ranges, as torchmetrics)."""
        return CocoParams(
            iouThrs=self.iou_thresholds, recThrs=self.rec_thresholds, maxDets=self.max_dets
        )

    @cached_property
    def modes(self) -> tuple[str, ...]:
        """Matchings kept per detection: the average's, plus per class for micro."""
        if self.average == "macro":
            return ("macro",)
        return ("micro", "macro") if self.class_metrics else ("micro",)

    @cached_property
    def num_areas(self) -> int:
        """Area ranges (pycocotools' four)."""
        return len(self.params.areaRng)

    @cached_property
    def num_bits(self) -> int:
        """Flag bits per detection: A area flags, then 2 x T x A match flags."""
        return self.num_areas * (1 + 2 * len(self.iou_thresholds))

    @cached_property
    def num_words(self) -> int:
        """int64 words per detection for the flag bits."""
        return math.ceil(self.num_bits / 64)

    @property
    def segm_only(self) -> bool:
        """``iou_type="segm"`` alone (images without ground truth are left out)."""
        return self.iou_types == ("segm",)


def state_specs(cfg: MapConfig) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Every ``cat`` state: name -> (trailing shape, dtype). All grow by rows.

    Example:
        >>> cfg = MapConfig(("bbox",), "xyxy", (0.5, 0.75), (0.0, 1.0), (1, 10, 100),
        ...                 False, False, "macro")
        >>> sorted(state_specs(cfg))  # doctest: +NORMALIZE_WHITESPACE
        ['det_flags_bbox_macro', 'det_label', 'det_rank_macro', 'det_score', 'gt_ignore',
         'gt_label', 'sizes']
    """
    pairs = len(cfg.iou_types) if cfg.extended_summary else 0
    specs: dict[str, tuple[tuple[int, ...], torch.dtype]] = {
        "sizes": ((SIZE_COLUMNS + pairs,), _I64),
        "det_score": ((), _F64),
        "det_label": ((), _I64),
        "gt_label": ((), _I64),
        "gt_ignore": ((), torch.uint8),
    }
    for mode in cfg.modes:
        specs[f"det_rank_{mode}"] = ((), _I32)
        for iou_type in cfg.iou_types:
            specs[f"det_flags_{iou_type}_{mode}"] = ((cfg.num_words,), _I64)
    if cfg.extended_summary:
        specs["gt_image"] = ((), _I32)
        for iou_type in cfg.iou_types:
            specs[f"pair_iou_{iou_type}"] = ((), _F64)
            specs[f"pair_image_{iou_type}"] = ((), _I32)
            specs[f"pair_label_{iou_type}"] = ((), _I64)
            specs[f"pair_row_{iou_type}"] = ((), _I32)
            specs[f"pair_col_{iou_type}"] = ((), _I32)
    return specs


# ------------------------------------------------------------------------------ update


def _check_values(batch: DetectionBatch) -> None:
    """Raise for the value checks the input stage left pending (one host read)."""
    nonfinite, crowd = batch.bad.tolist()
    if nonfinite:
        for side, key, values, image in (
            ("preds", "scores", batch.dt_score[:, None], batch.dt_image),
            ("preds", "boxes", batch.dt_box, batch.dt_image),
            ("target", "boxes", batch.gt_box, batch.gt_image),
            ("target", "area", batch.gt_area[:, None], batch.gt_image),
        ):
            if values is None:
                continue
            bad = torch.nonzero(~torch.isfinite(values).all(1))
            if bad.shape[0]:
                row = int(bad[0, 0])
                raise ValueError(
                    f"Expected `{side}[i]['{key}']` to be finite, but got "
                    f"{values[row].tolist()} (first offending item: "
                    f"{side}[{int(image[row])}]['{key}'])"
                )
    if crowd:
        raw = batch.gt_iscrowd
        row = int(torch.nonzero((raw != 0) & (raw != 1))[0, 0])
        raise ValueError(
            f"Expected `target[i]['iscrowd']` to be 0 or 1, but got {raw[row].item()} (first "
            f"offending item: target[{int(batch.gt_image[row])}]['iscrowd'])"
        )


class _Constants(NamedTuple):
    """Per-configuration tensors, made once per device.

    Attributes:
        lo: ``(A, 1)`` float64 lower bound of each area range.
        hi: ``(A, 1)`` float64 upper bound.
        thr: ``(T,)`` float64 IoU thresholds, clipped as pycocotools does.
        area_row: ``(T * A, 1)`` int64 area range of each (threshold, area) row.
        word: ``(2 * T * A,)`` int64 word of each match flag.
        shift: ``(2 * T * A, 1)`` int64 bit of each match flag inside its word.
    """

    lo: Tensor
    hi: Tensor
    thr: Tensor
    area_row: Tensor
    word: Tensor
    shift: Tensor


def constants(cfg: MapConfig, device: torch.device) -> _Constants:
    """The configuration's constant tensors on ``device`` (the metric keeps them)."""
    params = cfg.params
    num_area, ta = cfg.num_areas, cfg.num_areas * len(params.iouThrs)
    position = num_area + torch.arange(2 * ta, device=device)
    return _Constants(
        lo=torch.tensor([r[0] for r in params.areaRng], dtype=_F64, device=device)[:, None],
        hi=torch.tensor([r[1] for r in params.areaRng], dtype=_F64, device=device)[:, None],
        thr=torch.tensor([min(t, 1 - 1e-10) for t in params.iouThrs], dtype=_F64, device=device),
        area_row=(torch.arange(ta, device=device) % num_area)[:, None],
        word=torch.div(position, 64, rounding_mode="floor"),
        shift=(position % 64)[:, None],
    )


def _group_keys(image: Tensor, label: Tensor, mode: str) -> Tensor:
    """Group of each row: the image (``micro``) or (image, label) in one int64 (``macro``).

    Labels enter modulo 2**32 (int32 class ids; ``compute`` checks the range).
    """
    return image if mode == "micro" else (image << 32) | (label & 0xFFFF_FFFF)


def _ranks(batch: DetectionBatch, cfg: MapConfig, groups: dict[str, Tensor]) -> dict[str, Tensor]:
    """Rank of each detection in its group by descending score (ties: input order).

    For ``segm`` alone, detections of images without ground truth get -1 (not
    evaluated).
    """
    image = batch.dt_image
    by_score = torch.sort(batch.dt_score, descending=True, stable=True).indices
    ranks = {}
    for mode in cfg.modes:
        group = groups[mode]
        by_group = by_score.index_select(
            0, torch.sort(group.index_select(0, by_score), stable=True).indices
        )
        ranks[mode] = _rank_within_groups(group, by_group, None)
    if cfg.segm_only and image.shape[0]:
        no_truth = torch.tensor([g == 0 for g in batch.gt_counts], device=image.device)
        dropped = no_truth.index_select(0, image)
        ranks = {m: torch.where(dropped, -1, r) for m, r in ranks.items()}
    return ranks


class _Pairs:
    """Every (detection, ground truth) pair of the same group, by detection then truth.

    Attributes:
        dt: ``(P,)`` detection row.
        gt: ``(P,)`` ground-truth row (annotation order inside a group).
        column: ``(P,)`` position of the ground truth inside its group.
    """

    def __init__(self, batch: DetectionBatch, mode: str, dt_key: Tensor) -> None:
        gt_key = _group_keys(batch.gt_image, batch.gt_label, mode)
        if mode == "micro":  # ground truths are already grouped by image
            self.dt, self.gt = _group_pairs(dt_key, gt_key, None)
            sorted_key, order = gt_key, None
        else:
            order = torch.sort(gt_key, stable=True).indices
            sorted_key = gt_key.index_select(0, order)
            self.dt, gt_sorted = _group_pairs(dt_key, sorted_key, None)  # host read: pair count
            self.gt = order.index_select(0, gt_sorted)
        self._sorted_key, self._order = sorted_key, order

    def columns(self) -> Tensor:
        """``(P,)`` position of each pair's ground truth inside its group."""
        n = self._sorted_key.shape[0]
        position = _rank_within_groups(
            self._sorted_key, torch.arange(n, device=self._sorted_key.device), None
        )
        if self._order is None:
            return position.index_select(0, self.gt)
        in_sorted = torch.empty_like(position).index_copy_(
            0, self._order, torch.arange(n, device=position.device)
        )
        return position.index_select(0, in_sorted.index_select(0, self.gt))


class _MaskOverlaps(NamedTuple):
    """Mask areas and every same-image intersection of one batch (see :func:`_mask_overlaps`).

    Attributes:
        dt_area: ``(D,)`` int64 pixels of each detection mask.
        gt_area: ``(G,)`` int64 pixels of each ground-truth mask.
        inter: flat int64 intersections: image ``i``'s ``(D_i, G_i)`` block starts at
            ``table[0, i]`` with row stride ``table[1, i]``.
        table: ``(4, B)`` int64: block start, row stride, first detection row, first
            ground-truth row of each image.
    """

    dt_area: Tensor
    gt_area: Tensor
    inter: Tensor
    table: Tensor

    def pairs(self, image: Tensor, pair_dt: Tensor, pair_gt: Tensor) -> Tensor:
        """``(P,)`` intersection of each (detection, ground truth) pair of one image."""
        t = self.table.index_select(1, image)
        return self.inter.index_select(0, t[0] + (pair_dt - t[2]) * t[1] + (pair_gt - t[3]))


def _mask_overlaps(batch: DetectionBatch) -> _MaskOverlaps:
    """Mask areas and the intersection of every same-image pair, from the dense masks.

    Images of one size are padded to a common mask count and compared with one
    batched matrix product per chunk (exact: sums of 0/1 products are integers,
    float32 below 2**24 pixels, float64 above), as :func:`~assay.kernels.masks.mask_iou`.
    """
    assert batch.dt_masks is not None and batch.gt_masks is not None  # checked by the caller
    device = batch.dt_image.device
    d_counts, g_counts = batch.dt_counts, batch.gt_counts
    # exclusive sums: as many starts as images, none for an empty batch
    dt_start = np.cumsum(d_counts, dtype=np.int64) - np.asarray(d_counts, dtype=np.int64)
    gt_start = np.cumsum(g_counts, dtype=np.int64) - np.asarray(g_counts, dtype=np.int64)
    by_size: dict[tuple[int, int], list[int]] = {}
    for i, (dm, gm) in enumerate(zip(batch.dt_masks, batch.gt_masks, strict=True)):
        if d_counts[i] or g_counts[i]:
            shape = dm.shape[1:] if d_counts[i] else gm.shape[1:]
            by_size.setdefault((int(shape[0]), int(shape[1])), []).append(i)
    num_images = len(d_counts)
    inter_base = np.zeros(num_images, dtype=np.int64)
    inter_stride = np.zeros(num_images, dtype=np.int64)
    dt_src: list[np.ndarray] = []
    dt_dst: list[np.ndarray] = []
    gt_src: list[np.ndarray] = []
    gt_dst: list[np.ndarray] = []
    inter_parts: list[Tensor] = []
    dt_area_parts: list[Tensor] = []
    gt_area_parts: list[Tensor] = []
    inter_offset = dt_offset = gt_offset = 0
    for (h, w), images in by_size.items():
        pixels = h * w
        ftype = torch.float32 if pixels < (1 << 24) else _F64
        most = max(max(d_counts[i] for i in images) + max(g_counts[i] for i in images), 1)
        per_chunk = max(1, _MASK_CHUNK // (most * max(pixels, 1)))
        for lo in range(0, len(images), per_chunk):  # chunks bound the float copies
            chunk = images[lo : lo + per_chunk]
            dt = _padded(batch.dt_masks, chunk, pixels, ftype)
            gt = _padded(batch.gt_masks, chunk, pixels, ftype)
            dmax, gmax = dt.shape[1], gt.shape[1]
            inter_parts.append(torch.bmm(dt, gt.transpose(1, 2)).round().to(_I64).reshape(-1))
            dt_area_parts.append(dt.sum(2).to(_I64).reshape(-1))
            gt_area_parts.append(gt.sum(2).to(_I64).reshape(-1))
            ci = np.asarray(chunk, dtype=np.int64)
            slot = np.arange(len(chunk), dtype=np.int64)
            inter_base[ci] = inter_offset + slot * dmax * gmax
            inter_stride[ci] = gmax
            for counts, start, base, src, dst, width in (
                (d_counts, dt_start, dt_offset, dt_src, dt_dst, dmax),
                (g_counts, gt_start, gt_offset, gt_src, gt_dst, gmax),
            ):
                n = np.asarray([counts[i] for i in chunk], dtype=np.int64)
                within = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
                src.append(base + np.repeat(slot * width, n) + within)
                dst.append(np.repeat(start[ci], n) + within)
            inter_offset += len(chunk) * dmax * gmax
            dt_offset += len(chunk) * dmax
            gt_offset += len(chunk) * gmax

    def gather(parts: list[Tensor], src: list[np.ndarray], dst: list[np.ndarray], n: int) -> Tensor:
        out = torch.zeros(n, dtype=_I64, device=device)
        if parts:
            s = torch.from_numpy(np.concatenate(src)).to(device)
            t = torch.from_numpy(np.concatenate(dst)).to(device)
            out.index_copy_(0, t, torch.cat(parts).index_select(0, s))
        return out

    table = np.stack((inter_base, inter_stride, dt_start, gt_start))
    return _MaskOverlaps(
        dt_area=gather(dt_area_parts, dt_src, dt_dst, batch.dt_image.shape[0]),
        gt_area=gather(gt_area_parts, gt_src, gt_dst, batch.gt_image.shape[0]),
        inter=torch.cat(inter_parts) if inter_parts else torch.zeros(0, dtype=_I64, device=device),
        table=torch.from_numpy(table).to(device),
    )


def _padded(masks: list[Tensor], chunk: list[int], pixels: int, ftype: torch.dtype) -> Tensor:
    """``(len(chunk), max rows, pixels)`` float 0/1 masks of the chunk's images."""
    rows = [masks[i].reshape(masks[i].shape[0], pixels) for i in chunk]
    padded = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)
    return (padded if padded.dtype == torch.bool else padded != 0).to(ftype)


def _pack_flags(
    outside: Tensor, matches: GreedyMatches, gt_ignore: Tensor, num_words: int, c: _Constants
) -> Tensor:
    """Bit words per detection: area flags, then counted / ignored match per (t, a).

    Bit ``a``: the detection's area is outside range ``a``. Bit ``A + t * A + a``: it
    matched a ground truth counted in range ``a`` at threshold ``t``; bit
    ``A + T * A + t * A + a``: it matched one ignored there.
    """
    num_area, num_det = outside.shape
    device = outside.device
    flags = torch.zeros((num_det, num_words), dtype=_I64, device=device)
    flags[:, 0] = rows_to_bits(outside)
    num_thr, _, num_cand = matches.gt_index.shape
    if num_cand == 0:
        return flags
    ta = num_thr * num_area
    gt_index = matches.gt_index.reshape(ta, num_cand)
    flat = c.area_row * gt_ignore.shape[1] + gt_index.clamp(min=0)
    ignored = gt_ignore.reshape(-1).index_select(0, flat.reshape(-1)).view(ta, num_cand)
    matched = gt_index >= 0
    bits = torch.cat((matched & ~ignored, matched & ignored)).long()  # (2TA, S)
    packed = torch.zeros((num_words, num_cand), dtype=_I64, device=device)
    packed.index_add_(0, c.word, bits << c.shift)  # distinct bits: sum == or
    return flags.index_add_(0, matches.det_index, packed.t())


def update_rows(batch: DetectionBatch, cfg: MapConfig, c: _Constants) -> dict[str, Tensor]:
    """Match one batch and return the rows it adds to every state.

    Host reads: the pending value checks; per matching (``macro`` / ``micro``) the
    pair count; per (iou type, matching) the candidate count, the candidate
    detections and one flag per matching round
    (:func:`~assay.kernels.matching.coco_greedy_match_rounds`); with
    ``extended_summary`` one more (the kept pairs).

    Args:
        batch: the checked input.
        cfg: the metric's options.
        c: :func:`constants` of ``cfg`` on the batch's device.

    Returns:
        State name -> rows to append (see :func:`state_specs`).
    """
    _check_values(batch)
    device = batch.dt_image.device
    lo, hi = c.lo, c.hi
    max_det = cfg.max_dets[-1]
    groups = {m: _group_keys(batch.dt_image, batch.dt_label, m) for m in cfg.modes}
    ranks = _ranks(batch, cfg, groups)
    crowd = batch.gt_crowd
    masks = _mask_overlaps(batch) if "segm" in cfg.iou_types else None

    dt_area: dict[str, Tensor] = {}
    if masks is not None:  # segm, and the ground-truth area of ("bbox", "segm")
        dt_area["segm"] = masks.dt_area.to(_F64)
        gt_default_area = masks.gt_area.to(_F64)
    if batch.dt_box is not None and batch.gt_box is not None:
        dt_area["bbox"] = batch.dt_box[:, 2] * batch.dt_box[:, 3]
        if masks is None:
            gt_default_area = batch.gt_box[:, 2] * batch.gt_box[:, 3]
    gt_area = torch.where(batch.gt_area > 0, batch.gt_area, gt_default_area)
    gt_ignore = crowd[None, :] | (gt_area[None, :] < lo) | (gt_area[None, :] > hi)  # (A, G)

    rows: dict[str, Tensor] = {
        "det_score": batch.dt_score,
        "det_label": batch.dt_label,
        "gt_label": batch.gt_label,
        "gt_ignore": rows_to_bits(gt_ignore).to(torch.uint8),
    }
    pair_counts: list[int] = []
    for mode in cfg.modes:
        rank = ranks[mode]
        rows[f"det_rank_{mode}"] = rank.to(_I32)
        pairs = _Pairs(batch, mode, groups[mode])
        candidate = ((rank >= 0) & (rank < max_det)).index_select(0, pairs.dt)
        pair_crowd = crowd.index_select(0, pairs.gt)
        keep = None
        if cfg.extended_summary and mode == cfg.average:
            keep = flat_nonzero(candidate)  # host read
            kept_dt = pairs.dt.index_select(0, keep)
            rows["gt_image"] = batch.gt_image.to(_I32)
        for iou_type in cfg.iou_types:
            if iou_type == "segm":
                assert masks is not None
                inter = masks.pairs(batch.dt_image.index_select(0, pairs.dt), pairs.dt, pairs.gt)
                a_d = masks.dt_area.index_select(0, pairs.dt)
                a_g = masks.gt_area.index_select(0, pairs.gt)
                union = torch.where(pair_crowd, a_d, a_d + a_g - inter)
                iou = torch.where(inter > 0, inter.to(_F64) / union.clamp(min=1).to(_F64), 0.0)
            else:
                assert batch.dt_box is not None and batch.gt_box is not None
                iou = coco_box_iou_pairs(
                    batch.dt_box.index_select(0, pairs.dt),
                    batch.gt_box.index_select(0, pairs.gt),
                    pair_crowd,
                )
            matches = _coco_greedy_match_rounds(
                pairs.dt, pairs.gt, torch.where(candidate, iou, -1.0), rank, crowd, gt_ignore, c.thr
            )
            outside = (dt_area[iou_type][None, :] < lo) | (dt_area[iou_type][None, :] > hi)
            rows[f"det_flags_{iou_type}_{mode}"] = _pack_flags(
                outside, matches, gt_ignore, cfg.num_words, c
            )
            if keep is not None:
                rows[f"pair_iou_{iou_type}"] = iou.index_select(0, keep)
                rows[f"pair_image_{iou_type}"] = batch.dt_image.index_select(0, kept_dt).to(_I32)
                rows[f"pair_label_{iou_type}"] = (
                    batch.dt_label.index_select(0, kept_dt)
                    if mode == "macro"
                    else torch.zeros_like(kept_dt)
                )
                rows[f"pair_row_{iou_type}"] = rank.index_select(0, kept_dt).to(_I32)
                rows[f"pair_col_{iou_type}"] = pairs.columns().index_select(0, keep).to(_I32)
                pair_counts.append(int(keep.shape[0]))
    d, g = batch.dt_counts, batch.gt_counts
    sizes = [
        batch.num_images,
        sum(d),
        sum(g),
        sum(1 for n in d if n),
        sum(1 for n in g if n),
        *pair_counts,
    ]
    rows["sizes"] = torch.tensor([sizes], dtype=_I64).to(device, non_blocking=True)
    return rows


# ----------------------------------------------------------------------------- compute


def _unpack_flags(flags: Tensor, num_thr: int, num_area: int) -> tuple[Tensor, GreedyMatches]:
    """Area flags ``(A, D)`` and matches against the two pseudo ground truths.

    Pseudo ground truth 0 is counted in every area range, 1 is ignored in every one.
    Single bits are read from the words' bytes (little-endian: byte ``b`` of a word
    holds its bits ``8b .. 8b + 7``), which keeps the temporaries small.
    """
    device = flags.device
    num_det, num_words = flags.shape
    ta = num_thr * num_area
    byte = flags.view(torch.uint8).view(num_det, 8 * num_words)
    outside = bits_to_rows(byte[:, 0], num_area)  # area flags: bits 0..A-1 (A <= 8)
    # Detections with any match flag (bits A .. A + 2TA - 1).
    position = num_area + torch.arange(2 * ta, device=device)
    word = torch.div(position, 64, rounding_mode="floor")
    mask = torch.zeros(num_words, dtype=torch.int64, device=device)
    mask.index_add_(0, word, torch.ones_like(position) << (position % 64))
    det_index = flat_nonzero(((flags & mask) != 0).any(1))
    sel = take_rows(byte, det_index)  # (S, 8 W)
    bit_in_byte = torch.arange(8, device=device, dtype=torch.uint8)
    bits = ((sel[:, :, None] >> bit_in_byte) & 1).view(sel.shape[0], 64 * num_words)  # bit p
    counted = bits[:, num_area : num_area + ta]
    ignored = bits[:, num_area + ta : num_area + 2 * ta]
    # -1: no match, 0: the counted pseudo ground truth, 1: the ignored one.
    gt_index = (counted + 2 * ignored).t().contiguous().long() - 1  # (TA, S)
    return outside, GreedyMatches(det_index, gt_index.view(num_thr, num_area, sel.shape[0]))


class _Labels(NamedTuple):
    """The classes seen and a label -> class index map (dense table or binary search)."""

    classes: Tensor
    low: int
    table: Tensor | None

    def lookup(self, label: Tensor) -> Tensor:
        """Class index of each label (all labels are among ``classes``)."""
        if self.table is None:
            return torch.searchsorted(self.classes, label)
        return self.table.index_select(0, label - self.low)


def _labels(det_label: Tensor, gt_label: Tensor) -> _Labels:
    """Sorted unique labels of predictions and targets (torchmetrics' ``classes``)."""
    device = det_label.device
    both = torch.cat((det_label, gt_label))
    if both.shape[0] == 0:
        return _Labels(both, 0, None)
    low, high = torch.aminmax(both)
    low_v, high_v = int(low), int(high)  # host read
    if not (low_v >= -(2**31) and high_v < 2**31):
        raise ValueError(
            "Expected `labels` to be int32 class ids, but got values in "
            f"[{low_v}, {high_v}] (first offending item: {low_v if low_v < -(2**31) else high_v})"
        )
    span = high_v - low_v + 1
    if span > 4 * both.shape[0] + 4096:  # sparse ids: sort-based
        return _Labels(torch.unique(both, sorted=True), low_v, None)
    present = torch.bincount(both - low_v, minlength=span) > 0
    classes = flat_nonzero(present) + low_v
    table = torch.cumsum(present.long(), 0) - 1
    return _Labels(classes, low_v, table.to(device))


def _accumulate(
    states: Mapping[str, Tensor], labels: _Labels, cfg: MapConfig, iou_type: str, mode: str
) -> CocoAccumulation:
    """Pycocotools' ``accumulate`` arrays for one iou type and one matching.

    The rows are in global image order (update by update, rank by rank after a sync),
    each image's detections in input order: a stable sort by descending score, then a
    stable sort by class, is pycocotools' accumulation order (ties: image, then rank).
    """
    params = cfg.params
    num_thr, num_area = len(params.iouThrs), len(params.areaRng)
    rank = states[f"det_rank_{mode}"]
    score = states["det_score"]
    device = score.device
    flags = states[f"det_flags_{iou_type}_{mode}"]
    det_label = states["det_label"]
    valid = (rank >= 0) & (rank < params.maxDets[-1])
    keep = flat_nonzero(valid)
    if keep.shape[0] != score.shape[0]:  # detections past maxDets, or not evaluated
        rank, score, det_label = (t.index_select(0, keep) for t in (rank, score, det_label))
        flags = take_rows(flags, keep)
    gt_label = states["gt_label"]
    if mode == "macro":
        num_cat = labels.classes.shape[0]
        category, gt_category = labels.lookup(det_label), labels.lookup(gt_label)
    else:
        num_cat = 1
        category, gt_category = torch.zeros_like(det_label), torch.zeros_like(gt_label)
    # Descending score as an order-preserving integer key (radix sort on the CPU; the
    # same key as detection_order), then the classes: accumulation order.
    by_score = torch.sort(descending_key(score), stable=True).indices
    layout = _accumulation_layout(by_score, category, num_cat)[0]
    category, rank, score = (t.index_select(0, layout) for t in (category, rank, score))
    flags = take_rows(flags, layout)
    outside, matches = _unpack_flags(flags, num_thr, num_area)
    counted = ~bits_to_rows(states["gt_ignore"], num_area)
    counted_cat = torch.where(counted, gt_category[None, :], num_cat)  # ignored -> sink
    num_counted = torch.zeros((num_area, num_cat + 1), dtype=_I64, device=device)
    num_counted.scatter_add_(1, counted_cat, torch.ones_like(counted_cat))
    return _coco_accumulate(
        dt_segment=category,
        dt_rank=rank.long(),
        dt_score=score,
        dt_outside=outside,
        matches=matches,
        gt_ignore=torch.tensor([[False, True]] * num_area, device=device),
        gt_id_nonzero=torch.ones(2, dtype=torch.bool, device=device),
        num_counted=num_counted[:, :num_cat].t(),
        max_dets=list(params.maxDets),
        rec_thresholds=params.recThrs,
    )


def _per_class(
    precision: np.ndarray, recall: np.ndarray, params: CocoParams
) -> tuple[list[float], list[float]]:
    """``stats[0]`` and ``stats[8]`` of a pycocotools run restricted to each category."""
    m = params.maxDets
    maps, mars = [], []
    for k in range(precision.shape[2]):
        p = _select(precision[:, :, k : k + 1], params, True, None, "all", 100)
        r = _select(recall[:, k : k + 1], params, False, None, "all", m[2] if len(m) > 2 else -1)
        maps.append(_mean_valid(p))
        mars.append(_mean_valid(r))
    return maps, mars


def _ious(
    states: Mapping[str, Tensor],
    sizes: Tensor,
    image_offset: Tensor,
    gt_image: Tensor | None,
    classes: Tensor,
    cfg: MapConfig,
    iou_type: str,
    column: int,
) -> dict[tuple[int, int], Any]:
    """Torchmetrics' ``ious``: every (image, category) -> ``(D, G)`` IoU, or ``[]``."""
    device = sizes.device
    total_images = int(sizes[:, 0].sum())
    if cfg.segm_only:
        assert gt_image is not None
        image_ids = torch.unique(gt_image).tolist()
    else:
        image_ids = list(range(total_images))
    cat_ids = classes.tolist() if cfg.average == "macro" else [0]
    out: dict[tuple[int, int], Any] = {(i, c): [] for i in image_ids for c in cat_ids}
    counts = sizes[:, column]
    update = torch.arange(sizes.shape[0], device=device).repeat_interleave(counts)
    image = image_offset.index_select(0, update) + states[f"pair_image_{iou_type}"].long()
    label = states[f"pair_label_{iou_type}"]
    row = states[f"pair_row_{iou_type}"].long()
    col = states[f"pair_col_{iou_type}"].long()
    value = states[f"pair_iou_{iou_type}"].to(torch.float32)
    if value.shape[0] == 0:
        return out
    # Sort by (image, label, row, col): each group's pairs are its full D x G grid.
    order = torch.arange(value.shape[0], device=device)
    for key in (col, row, label, image):
        order = order.index_select(0, torch.sort(key.index_select(0, order), stable=True).indices)
    image, label, row, col, value = (
        t.index_select(0, order) for t in (image, label, row, col, value)
    )
    new = torch.ones_like(image, dtype=torch.bool)
    new[1:] = (image[1:] != image[:-1]) | (label[1:] != label[:-1])
    starts = flat_nonzero(new)
    ends = torch.cat((starts[1:], starts.new_tensor([image.shape[0]])))
    info = (
        torch.stack(
            (
                image.index_select(0, starts),
                label.index_select(0, starts),
                starts,
                ends,
                row.index_select(0, ends - 1) + 1,
                col.index_select(0, ends - 1) + 1,
            )
        )
        .t()
        .tolist()
    )
    for img, lab, s, e, n_rows, n_cols in info:
        out[(img, lab)] = value[s:e].reshape(n_rows, n_cols)
    return out


def _stat_tensors(
    stats: Any, prefix: str, max_dets: tuple[int, ...], device: torch.device
) -> dict[str, Tensor]:
    return {
        prefix + key.format(*max_dets): torch.tensor(float(v), dtype=_F64, device=device)
        for key, v in zip(_STAT_KEYS, stats, strict=True)
    }


def compute_results(states: Mapping[str, Tensor], cfg: MapConfig) -> dict[str, Any]:
    """Torchmetrics' output dict (float64 values) from the whole state.

    Args:
        states: every state as one tensor (see :func:`state_specs`).
        cfg: the metric's options.

    Returns:
        ``map``, ``map_50``, ... ``mar_large``, ``map_per_class``,
        ``mar_{max}_per_class`` (prefixed ``bbox_`` / ``segm_`` for both types),
        ``classes``; with ``extended_summary`` also ``ious``, ``precision``,
        ``recall`` and ``scores``.
    """
    sizes = states["sizes"]
    device = sizes.device
    params = cfg.params
    # Global image order: update by update (ranks in order after a sync).
    image_offset = torch.cumsum(sizes[:, 0], 0) - sizes[:, 0]
    labels = _labels(states["det_label"], states["gt_label"])
    classes = labels.classes
    gt_image = None
    if cfg.extended_summary:
        num_gt = states["gt_label"].shape[0]
        gt_update = torch.arange(sizes.shape[0], device=device).repeat_interleave(
            sizes[:, 2], output_size=num_gt
        )
        gt_image = image_offset.index_select(0, gt_update) + states["gt_image"].long()
    totals = sizes.sum(0).tolist() if sizes.shape[0] else [0] * sizes.shape[1]
    result: dict[str, Any] = {}
    for j, iou_type in enumerate(cfg.iou_types):
        prefix = "" if len(cfg.iou_types) == 1 else f"{iou_type}_"
        empty = (totals[3] == 0 or totals[4] == 0) if cfg.segm_only else totals[0] == 0
        if empty:
            result.update(_stat_tensors([-1.0] * 12, prefix, params.maxDets, device))
            continue
        acc = _accumulate(states, labels, cfg, iou_type, cfg.average)
        precision, recall = acc.precision.cpu().numpy(), acc.recall.cpu().numpy()
        stats, _ = summarize(precision, recall, params)
        result.update(_stat_tensors(stats, prefix, params.maxDets, device))
        if cfg.extended_summary:
            result[f"{prefix}ious"] = _ious(
                states, sizes, image_offset, gt_image, classes, cfg, iou_type, SIZE_COLUMNS + j
            )
            result[f"{prefix}precision"] = acc.precision
            result[f"{prefix}recall"] = acc.recall
            result[f"{prefix}scores"] = acc.scores
        if cfg.class_metrics:
            if cfg.average != "macro":
                macro = _accumulate(states, labels, cfg, iou_type, "macro")
                precision, recall = macro.precision.cpu().numpy(), macro.recall.cpu().numpy()
            maps, mars = _per_class(precision, recall, params)
            map_per_class = torch.tensor(maps, dtype=_F64, device=device)
            mar_per_class = torch.tensor(mars, dtype=_F64, device=device)
        else:
            map_per_class = torch.tensor([-1.0], dtype=_F64, device=device)
            mar_per_class = torch.tensor([-1.0], dtype=_F64, device=device)
        result[f"{prefix}map_per_class"] = map_per_class
        result[f"{prefix}mar_{params.maxDets[-1]}_per_class"] = mar_per_class
    result["classes"] = classes.to(_I32)
    return result
