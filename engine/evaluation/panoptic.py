"""Panoptic quality (PQ, SQ, RQ) from panoptic label maps, COCO panopticapi conventions.

Two input forms, both batched ``(N, H, W)``:

* **segment-id maps** (COCO panoptic PNGs decoded with ``rgb2id``): ``target`` and
  ``preds`` hold a segment id per pixel, 0 being void, and ``target_segments[i]`` /
  ``pred_segments[i]`` list image ``i``'s segments as COCO ``segments_info`` records
  ``{"id", "category_id", "iscrowd"}`` (``iscrowd`` optional, target only). ``(N, H,
  W)`` or more spatial dims; a 2-D map is refused by name (one image's ``(H, W)``
  would read as ``H`` images: pass ``target[None]``).
* **category / instance maps** (torchmetrics' layout): ``(N, H, W, 2)`` holding
  ``(category_id, instance_id)`` per pixel (any ``(N, ..., 2)`` with a spatial dim,
  as torchmetrics takes); a segment is one (category, instance)
  pair, the instance id of a stuff category is ignored (one segment per stuff
  category and image), and a category outside ``things | stuffs`` is void.

Protocols (``protocol=``):

``"coco"`` (default)
    panopticapi's ``pq_compute``: IoU > 0.5 with the predicted segment's pixels on
    void left out of the union; crowd target segments never match and absorb
    predictions of their category; an unmatched prediction more than half on void +
    crowd is ignored; classes without TP, FP or FN are left out of the averages.
``"torchmetrics"``
    torchmetrics' ``PanopticQuality``: also leaves out of the union the target
    segment's pixels *predicted* void, does not count as FN a target segment more
    than half predicted void, has no crowd, and divides in float32 as it does.
``"torchmetrics-modified"``
    torchmetrics' ``ModifiedPanopticQuality`` (PQ-dagger): stuff classes score the
    summed IoU of all overlapping same-class pairs over the number of target segments.

Stages: ``_panoptic_validate_args``, ``_panoptic_format`` (ids -> per-image local
segment indexes and segment tables, checked), ``_panoptic_update`` (two kernel calls:
intersections, then per-category TP / FP / FN / IoU sums) and ``_panoptic_compute``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor

from ...kernels.segmentation import (
    PANOPTIC_PROTOCOLS,
    PanopticCounts,
    PanopticProtocol,
    _panoptic_counts,
    _panoptic_intersections,
    panoptic_averages,
    panoptic_scores,
)
from ..device import resolve_device
from ._label_maps import first_index, integer_tensor, same_shape

__all__ = [
    "PANOPTIC_PROTOCOLS",
    "PanopticAccumulator",
    "PanopticGroup",
    "PanopticProtocol",
    "PanopticResult",
    "evaluate_panoptic",
]

Segments = Sequence[Sequence[Mapping[str, Any]]]
_PIXELS_PER_CHUNK = 1 << 24


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else x


class PanopticGroup(BaseModel):
    """Averages over one group of categories (all, things or stuff).

    Attributes:
        pq: mean panoptic quality over the group's categories with a TP, FP or FN
            (NaN when there is none; panopticapi divides by zero there).
        sq: mean segmentation quality.
        rq: mean recognition quality.
        n: number of categories averaged.
    """

    model_config = ConfigDict(frozen=True)

    pq: float
    sq: float
    rq: float
    n: int


class PanopticResult(BaseModel):
    """Panoptic quality overall, for things, for stuff and per category.

    Attributes:
        protocol: ``"coco"``, ``"torchmetrics"`` or ``"torchmetrics-modified"``.
        category_ids: ``(K,)`` category ids in ascending order.
        category_names: ``(K,)`` names.
        is_thing: ``(K,)`` True for things.
        overall: :class:`PanopticGroup` over all categories (panopticapi's "All").
        things: over thing categories.
        stuff: over stuff categories.
        pq: ``(K,)`` per-category PQ (0 where the category has no TP, FP or FN).
        sq: ``(K,)`` per-category SQ (0 without TP).
        rq: ``(K,)`` per-category RQ.
        valid: ``(K,)`` bool, the categories that enter the averages.
        tp: ``(K,)`` int64 matched segment pairs.
        fp: ``(K,)`` int64.
        fn: ``(K,)`` int64.
        iou_sum: ``(K,)`` float64 summed IoU of the matches.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    protocol: PanopticProtocol
    category_ids: tuple[int, ...]
    category_names: tuple[str, ...]
    is_thing: tuple[bool, ...]
    overall: PanopticGroup
    things: PanopticGroup
    stuff: PanopticGroup
    pq: np.ndarray
    sq: np.ndarray
    rq: np.ndarray
    valid: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    iou_sum: np.ndarray

    def per_class(self) -> list[dict[str, Any]]:
        """One record per category: id, name, isthing, pq, sq, rq, tp, fp, fn, valid."""
        return [
            {
                "category_id": cid,
                "name": self.category_names[k],
                "isthing": self.is_thing[k],
                "pq": float(self.pq[k]),
                "sq": float(self.sq[k]),
                "rq": float(self.rq[k]),
                "tp": int(self.tp[k]),
                "fp": int(self.fp[k]),
                "fn": int(self.fn[k]),
                "valid": bool(self.valid[k]),
            }
            for k, cid in enumerate(self.category_ids)
        ]

    def summary(self) -> str:
        """Panopticapi's printed table (values x 100)."""
        lines = [f"{'':10s}|    PQ     SQ     RQ     N", "-" * 38]
        for name, g in (("All", self.overall), ("Things", self.things), ("Stuff", self.stuff)):
            lines.append(
                f"{name:10s}| {100 * g.pq:5.1f}  {100 * g.sq:5.1f}  {100 * g.rq:5.1f} {g.n:5d}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form for JSON, panopticapi-like (NaN becomes ``None``)."""

        def group(g: PanopticGroup) -> dict[str, Any]:
            return {
                "pq": _nan_to_none(g.pq),
                "sq": _nan_to_none(g.sq),
                "rq": _nan_to_none(g.rq),
                "n": g.n,
            }

        return {
            "protocol": self.protocol,
            "All": group(self.overall),
            "Things": group(self.things),
            "Stuff": group(self.stuff),
            "per_class": self.per_class(),
        }


# ------------------------------------------------------------------------- stages


class _Categories(NamedTuple):
    ids: tuple[int, ...]
    names: tuple[str, ...]
    is_thing: tuple[bool, ...]


def _id_set(name: str, values: Any) -> set[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Collection):
        raise TypeError(
            f"Expected `{name}` to be a collection of int category ids, "
            f"but got {type(values).__name__}"
        )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"Expected `{name}` to hold int category ids, but got {v!r}")
    return {int(v) for v in values}


def _panoptic_validate_args(
    things: Any,
    stuffs: Any,
    protocol: Any,
    category_names: Mapping[int, str] | None,
) -> tuple[_Categories, PanopticProtocol]:
    """Check the arguments; return the sorted categories and the protocol."""
    th, st = _id_set("things", things), _id_set("stuffs", stuffs)
    if th & st:
        raise ValueError(
            f"Expected `things` and `stuffs` to be disjoint, but got {sorted(th & st)} in both"
        )
    if not th | st:
        raise ValueError("Expected `things` or `stuffs` to be non-empty, but got both empty")
    if protocol not in PANOPTIC_PROTOCOLS:
        raise ValueError(
            f"Expected `protocol` to be one of {PANOPTIC_PROTOCOLS}, but got {protocol!r}"
        )
    ids = tuple(sorted(th | st))
    names = category_names or {}
    if not isinstance(names, Mapping):
        raise TypeError(
            f"Expected `category_names` to be a mapping id -> str, but got {type(names).__name__}"
        )
    return _Categories(
        ids=ids,
        names=tuple(str(names.get(i, i)) for i in ids),
        is_thing=tuple(i in th for i in ids),
    ), protocol


class _Formatted(NamedTuple):
    target: Tensor  # (N, P) local segment index, 0 = void
    preds: Tensor
    target_category: Tensor  # (N, G) dense category index, -1 padding
    target_crowd: Tensor  # (N, G) bool
    pred_category: Tensor  # (N, D)
    pred_listed: Tensor  # (N, D) bool: a listed segment (must have pixels)


def _from_pairs(
    name: str, x: Tensor, cat_ids: Tensor, is_stuff: Tensor, allow_unknown: bool, offset: int
) -> tuple[Tensor, Tensor]:
    """``(N, ..., 2)`` (category, instance) maps -> local index map and (N, G) categories."""
    n = x.shape[0]
    k = cat_ids.shape[0]
    flat = x.flatten(1, -2).to(torch.int64)  # (N, P, 2)
    cat, inst = flat[..., 0].contiguous(), flat[..., 1]
    pos = torch.searchsorted(cat_ids, cat).clamp(max=k - 1)
    known = cat_ids[pos] == cat
    if not allow_unknown and not bool(known.all()):
        where = first_index(~known.reshape(x.shape[:-1]))
        raise ValueError(
            f"Expected `{name}` categories in things | stuffs {cat_ids.tolist()}, "
            f"but got {int(x[where][0])} at index {_shift(where, offset)} "
            "(pass allow_unknown_preds_category=True to treat them as void)"
        )
    cidx = torch.where(known, pos, torch.full_like(pos, k))
    thing = known & ~is_stuff[pos]
    inst = torch.where(thing, inst, torch.zeros_like(inst))
    if inst.numel():
        lo = int(inst.min())
        span = int(inst.max()) - lo + 1
    else:
        lo, span = 0, 1
    if n * (k + 1) * span < 2**62:
        key = (torch.arange(n, device=x.device)[:, None] * (k + 1) + cidx) * span + (inst - lo)
        uniq, inverse = torch.unique(key, sorted=True, return_inverse=True)
        seg_image = uniq // ((k + 1) * span)
        seg_cat = (uniq // span) % (k + 1)
    else:  # instance ids too spread for one int64 key
        rows = torch.stack(
            (torch.arange(n, device=x.device)[:, None].expand_as(cidx), cidx, inst), -1
        ).reshape(-1, 3)
        uniq_rows, inverse = torch.unique(rows, dim=0, sorted=True, return_inverse=True)
        # contiguous: searchsorted warns about a strided boundary tensor
        seg_image, seg_cat = uniq_rows[:, 0].contiguous(), uniq_rows[:, 1].contiguous()
    # Void (index k) sorts last inside an image: non-void segments are 1..G_n.
    starts = torch.searchsorted(seg_image, torch.arange(n, device=x.device))
    local = torch.arange(seg_image.shape[0], device=x.device) - starts[seg_image] + 1
    nonvoid = seg_cat < k
    local = torch.where(nonvoid, local, torch.zeros_like(local))
    per_image = torch.bincount(seg_image[nonvoid], minlength=n)
    g = int(per_image.max()) if n else 0
    table = torch.full((n, g), -1, dtype=torch.int64, device=x.device)
    table[seg_image[nonvoid], local[nonvoid] - 1] = seg_cat[nonvoid]
    return local[inverse].reshape(flat.shape[:2]), table


def _segment_records(
    name: str,
    segments: Any,
    n: int,
    cat_index: Mapping[int, int],
    allow_unknown: bool,
    crowd_allowed: bool,
    offset: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Flatten per-image segment records: image, id, position, category index, crowd."""
    if isinstance(segments, (str, bytes, Mapping)) or not isinstance(segments, Sequence):
        raise TypeError(
            f"Expected `{name}` to be a sequence (one per image) of segment-record lists, "
            f"but got {type(segments).__name__}"
        )
    if len(segments) != n:
        raise ValueError(
            f"Expected `{name}` to have one entry per image ({n}), but got {len(segments)}"
        )
    image, ids, position, category, crowd = [], [], [], [], []
    g = 0
    for i, records in enumerate(segments):
        if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Sequence):
            raise TypeError(
                f"Expected `{name}[{i + offset}]` to be a list of segment records, "
                f"but got {type(records).__name__}"
            )
        g = max(g, len(records))
        seen: set[int] = set()
        for j, rec in enumerate(records):
            where = f"{name}[{i + offset}][{j}]"
            if not isinstance(rec, Mapping) or "id" not in rec or "category_id" not in rec:
                raise TypeError(
                    f"Expected `{where}` to be a mapping with 'id' and 'category_id', "
                    f"but got {rec!r}"
                )
            sid, cid = rec["id"], rec["category_id"]
            for key, v in (("id", sid), ("category_id", cid)):
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                    raise TypeError(f"Expected `{where}['{key}']` to be an int, but got {v!r}")
            if sid <= 0:
                raise ValueError(f"Expected `{where}['id']` to be > 0 (0 is void), but got {sid}")
            if sid in seen:
                raise ValueError(
                    f"Expected unique segment ids in `{name}[{i + offset}]`, but got {sid} twice"
                )
            seen.add(int(sid))
            is_crowd = rec.get("iscrowd", 0)
            if is_crowd not in (0, 1) or isinstance(is_crowd, float):
                raise ValueError(
                    f"Expected `{where}['iscrowd']` to be 0 or 1, but got {is_crowd!r}"
                )
            if is_crowd and not crowd_allowed:
                raise ValueError(
                    f"Expected no crowd segment with this protocol (torchmetrics has no crowd), "
                    f"but got `{where}` with iscrowd=1"
                )
            k = cat_index.get(int(cid), -1)
            if k < 0 and not allow_unknown:
                hint = " (pass allow_unknown_preds_category=True to treat it as void)"
                raise ValueError(
                    f"Expected `{where}['category_id']` in things | stuffs {sorted(cat_index)}, "
                    f"but got {cid}{hint if name == 'pred_segments' else ''}"
                )
            image.append(i)
            ids.append(int(sid))
            position.append(j)
            category.append(k)
            crowd.append(bool(is_crowd))
    return (
        np.asarray(image, dtype=np.int64),
        np.asarray(ids, dtype=np.int64),
        np.asarray(position, dtype=np.int64),
        np.asarray(category, dtype=np.int64),
        np.asarray(crowd, dtype=bool),
        g,
    )


def _from_ids(
    name: str,
    ids: Tensor,
    segments: Any,
    cat_index: Mapping[int, int],
    allow_unknown: bool,
    crowd_allowed: bool,
    offset: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Segment-id maps + records -> local index map, (N, G) categories and crowd flags."""
    n = ids.shape[0]
    dev = ids.device
    seg_name = "target_segments" if name == "target" else "pred_segments"
    image, sid, position, category, crowd, g = _segment_records(
        seg_name, segments, n, cat_index, allow_unknown, crowd_allowed, offset
    )
    flat = ids.flatten(1).to(torch.int64)  # (N, P)
    void = flat == 0
    r = sid.shape[0]
    span = int(max(int(flat.max()) if flat.numel() else 0, int(sid.max()) if r else 0)) + 1
    # Unknown-category predictions (allowed) become void: their local index is 0.
    local_of_record = torch.as_tensor(np.where(category >= 0, position + 1, 0), device=dev)
    if r:
        keys = torch.as_tensor(image * span + sid, device=dev)
        order = torch.argsort(keys)
        sorted_keys = keys[order]
        pixel_key = torch.arange(n, device=dev)[:, None] * span + flat
        at = torch.searchsorted(sorted_keys, pixel_key).clamp(max=r - 1)
        # a negative id's key is another image's (image * span - k): never found
        found = (sorted_keys[at] == pixel_key) & (flat > 0)
        local = torch.where(void, torch.zeros_like(flat), local_of_record[order[at]])
    else:
        found = torch.zeros_like(void)
        local = torch.zeros_like(flat)
    missing = ~found & ~void
    if bool(missing.any()):
        where = first_index(missing.reshape(ids.shape))
        raise ValueError(
            f"Expected every nonzero id of `{name}` to be listed in `{seg_name}`, "
            f"but got id {int(ids[where])} at index {_shift(where, offset)}"
        )
    table = torch.full((n, g), -1, dtype=torch.int64, device=dev)
    crowd_table = torch.zeros((n, g), dtype=torch.bool, device=dev)
    if r:
        img_t = torch.as_tensor(image, device=dev)
        pos_t = torch.as_tensor(position, device=dev)
        table[img_t, pos_t] = torch.as_tensor(category, device=dev)
        crowd_table[img_t, pos_t] = torch.as_tensor(crowd, device=dev)
    return local, table, crowd_table


def _shift(index: tuple[int, ...], offset: int) -> tuple[int, ...]:
    """An index inside a chunk of images -> the index in the whole input."""
    return (index[0] + offset, *index[1:])


def _check_batched_ids(t: Tensor) -> None:
    """Segment-id maps must be batched: ``(N, H, W)`` (or more spatial dims), never 2-D.

    A single image's ``(H, W)`` map would read as ``H`` images of width ``W`` and fail
    later on the segments' count (or, with one list per row, score the rows as images).
    """
    if t.ndim >= 3:
        return
    expected = "Expected `target` to be (N, H, W) segment-id maps (a batch of images), but got"
    if t.ndim < 2:
        raise ValueError(f"{expected} shape {tuple(t.shape)}")
    h, w = t.shape
    raise ValueError(
        f"{expected} a 2-D map of shape {(h, w)} (it would be read as {h} images of width "
        f"{w}); for one image pass `target[None]` (or `target.unsqueeze(0)`) and its segments "
        "as a one-entry list"
    )


def _panoptic_format(
    target: Any,
    preds: Any,
    target_segments: Any,
    pred_segments: Any,
    categories: _Categories,
    protocol: PanopticProtocol,
    allow_unknown_preds_category: bool,
    device: torch.device,
    offset: int = 0,
) -> _Formatted:
    """Check and convert one batch to local segment indexes and segment tables."""
    t = integer_tensor("target", target)
    p = integer_tensor("preds", preds)
    same_shape(t, p)
    t, p = t.to(device), p.to(device)
    cat_ids = torch.tensor(categories.ids, dtype=torch.int64, device=device)
    if target_segments is None and pred_segments is None:
        if t.ndim < 3 or t.shape[-1] != 2:
            raise ValueError(
                "Expected `target` to be (N, H, W, 2) (category, instance) maps when no "
                f"segments are given, but got shape {tuple(t.shape)}"
            )
        is_stuff = ~torch.tensor(categories.is_thing, dtype=torch.bool, device=device)
        tl, tcat = _from_pairs("target", t, cat_ids, is_stuff, True, offset)
        pl, pcat = _from_pairs("preds", p, cat_ids, is_stuff, allow_unknown_preds_category, offset)
        return _Formatted(tl, pl, tcat, torch.zeros_like(tcat, dtype=torch.bool), pcat, pcat >= 0)
    if target_segments is None or pred_segments is None:
        missing = "target_segments" if target_segments is None else "pred_segments"
        raise ValueError(f"Expected `{missing}` too when segment records are given, but got None")
    _check_batched_ids(t)
    cat_index = {c: k for k, c in enumerate(categories.ids)}
    tl, tcat, tcrowd = _from_ids(
        "target", t, target_segments, cat_index, False, protocol == "coco", offset
    )
    pl, pcat, _ = _from_ids(
        "preds", p, pred_segments, cat_index, allow_unknown_preds_category, True, offset
    )
    return _Formatted(tl, pl, tcat, tcrowd, pcat, pcat >= 0)


def _panoptic_update(
    batch: _Formatted,
    num_categories: int,
    protocol: PanopticProtocol,
    modified: Tensor,
    offset: int = 0,
) -> PanopticCounts:
    """One formatted batch -> per-category tallies (two kernel calls)."""
    inter = _panoptic_intersections(
        batch.target, batch.preds, batch.target_category.shape[1], batch.pred_category.shape[1]
    )
    empty = batch.pred_listed & (inter[:, :, 1:].sum(1) == 0)
    if bool(empty.any()):  # panopticapi raises KeyError here too
        n, d = (int(v) for v in torch.nonzero(empty)[0])
        raise ValueError(
            "Expected every segment in `pred_segments` to cover at least one pixel, "
            f"but got `pred_segments[{n + offset}][{d}]` with none"
        )
    return _panoptic_counts(
        inter,
        batch.target_category,
        batch.target_crowd,
        batch.pred_category,
        num_categories,
        protocol,
        modified,
    )


def _panoptic_compute(
    counts: PanopticCounts, categories: _Categories, protocol: PanopticProtocol
) -> PanopticResult:
    """Tallies -> :class:`PanopticResult`."""
    counts = PanopticCounts(*(c.detach().cpu() for c in counts))
    scores = panoptic_scores(counts, protocol)
    means, n = panoptic_averages(
        scores,
        torch.tensor(categories.is_thing, dtype=torch.bool),
        float32_rq=protocol != "coco",
    )
    groups = [
        PanopticGroup(
            pq=float(means[i, 0]), sq=float(means[i, 1]), rq=float(means[i, 2]), n=int(n[i])
        )
        for i in range(3)
    ]
    return PanopticResult(
        protocol=protocol,
        category_ids=categories.ids,
        category_names=categories.names,
        is_thing=categories.is_thing,
        overall=groups[0],
        things=groups[1],
        stuff=groups[2],
        pq=scores.pq.numpy(),
        sq=scores.sq.numpy(),
        rq=scores.rq.numpy(),
        valid=scores.valid.numpy(),
        tp=counts.tp.numpy(),
        fp=counts.fp.numpy(),
        fn=counts.fn.numpy(),
        iou_sum=counts.iou_sum.numpy(),
    )


# ------------------------------------------------------------------------- public


class PanopticAccumulator:
    """Streaming panoptic quality: ``update`` batch by batch, then ``compute``.

    The state is four ``(K,)`` tensors (IoU sum, TP, FP, FN per category) that sum
    across batches, accumulators (:meth:`merge`) and ranks (:meth:`sync`).

    Args:
        things: thing category ids.
        stuffs: stuff category ids.
        protocol: ``"coco"``, ``"torchmetrics"`` or ``"torchmetrics-modified"``.
        allow_unknown_preds_category: treat predicted segments of a category outside
            ``things | stuffs`` as void instead of raising.
        category_names: optional ``{category_id: name}``.
        device: where counting happens (default CPU).

    Example:
        >>> import torch
        >>> acc = PanopticAccumulator(things={1}, stuffs={2})
        >>> target = torch.tensor([[[1, 1, 2, 2]]])
        >>> preds = torch.tensor([[[1, 1, 1, 2]]])
        >>> segments = [[{"id": 1, "category_id": 1}, {"id": 2, "category_id": 2}]]
        >>> acc.update(target, preds, segments, segments)
        >>> r = acc.compute()
        >>> r.tp, r.fp, r.fn, round(r.overall.pq, 4)
        (array([1, 0]), array([0, 1]), array([0, 1]), 0.3333)
    """

    def __init__(
        self,
        things: Collection[int],
        stuffs: Collection[int],
        *,
        protocol: PanopticProtocol = "coco",
        allow_unknown_preds_category: bool = False,
        category_names: Mapping[int, str] | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        self.categories, self.protocol = _panoptic_validate_args(
            things, stuffs, protocol, category_names
        )
        self.allow_unknown_preds_category = bool(allow_unknown_preds_category)
        self.device = resolve_device(device)
        k = len(self.categories.ids)
        self._modified = ~torch.tensor(self.categories.is_thing, device=self.device)
        self.iou_sum = torch.zeros(k, dtype=torch.float64, device=self.device)
        self.tp = torch.zeros(k, dtype=torch.int64, device=self.device)
        self.fp = torch.zeros(k, dtype=torch.int64, device=self.device)
        self.fn = torch.zeros(k, dtype=torch.int64, device=self.device)

    def update(
        self,
        target: Tensor | np.ndarray,
        preds: Tensor | np.ndarray,
        target_segments: Segments | None = None,
        pred_segments: Segments | None = None,
    ) -> None:
        """Add a batch: segment-id maps with their records, or (category, instance) maps."""
        batch = _panoptic_format(
            target,
            preds,
            target_segments,
            pred_segments,
            self.categories,
            self.protocol,
            self.allow_unknown_preds_category,
            self.device,
        )
        counts = _panoptic_update(batch, len(self.categories.ids), self.protocol, self._modified)
        self.iou_sum += counts.iou_sum
        self.tp += counts.tp
        self.fp += counts.fp
        self.fn += counts.fn

    def merge(self, other: PanopticAccumulator) -> None:
        """Add another accumulator's tallies (same categories and protocol)."""
        if not isinstance(other, PanopticAccumulator):
            raise TypeError(
                f"Expected `other` to be a PanopticAccumulator, but got {type(other).__name__}"
            )
        mine = (self.categories, self.protocol)
        theirs = (other.categories, other.protocol)
        if mine != theirs:
            raise ValueError(
                f"Expected `other` to have this accumulator's categories and protocol {mine}, "
                f"but got {theirs}"
            )
        for name in ("iou_sum", "tp", "fp", "fn"):
            getattr(self, name).add_(getattr(other, name).to(self.device))

    def sync(self, group: Any = None) -> None:
        """Sum the state over the ranks of ``torch.distributed`` (no-op when not initialised)."""
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            for t in (self.iou_sum, self.tp, self.fp, self.fn):
                dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)

    def reset(self) -> None:
        """Forget every update."""
        for t in (self.iou_sum, self.tp, self.fp, self.fn):
            t.zero_()

    def compute(self) -> PanopticResult:
        """The result over every image seen since construction or :meth:`reset`."""
        counts = PanopticCounts(self.iou_sum, self.tp, self.fp, self.fn)
        return _panoptic_compute(counts, self.categories, self.protocol)


def evaluate_panoptic(
    target: Tensor | np.ndarray,
    preds: Tensor | np.ndarray,
    target_segments: Segments | None = None,
    pred_segments: Segments | None = None,
    *,
    things: Collection[int],
    stuffs: Collection[int],
    protocol: PanopticProtocol = "coco",
    allow_unknown_preds_category: bool = False,
    category_names: Mapping[int, str] | None = None,
    device: torch.device | str | None = None,
) -> PanopticResult:
    """Panoptic quality of a set of images, COCO panopticapi conventions by default.

    Args:
        target: ``(N, H, W)`` segment-id maps (0 = void) with ``target_segments``, or
            ``(N, H, W, 2)`` (category_id, instance_id) maps without. One image's
            ``(H, W)`` map is refused (it would read as ``H`` images): pass
            ``target[None]`` and one-entry segment lists.
        preds: the same layout as ``target``.
        target_segments: per image, COCO ``segments_info`` records ``{"id",
            "category_id", "iscrowd"}``; the order decides which crowd segment of a
            category absorbs predictions (the last, as in panopticapi).
        pred_segments: per image, ``{"id", "category_id"}`` records.
        things: thing category ids.
        stuffs: stuff category ids.
        protocol: ``"coco"``, ``"torchmetrics"`` or ``"torchmetrics-modified"``.
        allow_unknown_preds_category: predicted categories outside ``things | stuffs``
            become void instead of raising. In ``(N, H, W, 2)`` target maps such
            categories are always void (torchmetrics' ``PanopticQuality`` maps them so);
            with segment records an unknown target category is an error.
        category_names: optional ``{category_id: name}``.
        device: ``None`` (the input's), ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Returns:
        :class:`PanopticResult`.

    Raises:
        TypeError: a non-integer map or malformed segment record.
        ValueError: mismatched shapes, a 2-D segment-id map (not a batch), an id in a
            map that no record lists, a listed prediction without pixels, an unknown
            category, crowd under a torchmetrics protocol (messages name the first
            offending item).

    Example:
        >>> import torch
        >>> # 1x6 image: person (thing 1) at columns 0-2, sky (stuff 2) at 3-5.
        >>> target = torch.tensor([[[1, 1, 1, 2, 2, 2]]])
        >>> preds = torch.tensor([[[5, 5, 6, 6, 6, 6]]])  # person too small, sky too big
        >>> r = evaluate_panoptic(
        ...     target, preds,
        ...     [[{"id": 1, "category_id": 1}, {"id": 2, "category_id": 2}]],
        ...     [[{"id": 5, "category_id": 1}, {"id": 6, "category_id": 2}]],
        ...     things={1}, stuffs={2})
        >>> r.pq  # person IoU 2/3, sky IoU 3/4: both matched
        array([0.66666667, 0.75      ])
        >>> r.overall.pq, r.things.n, r.stuff.n
        (0.7083333333333333, 1, 1)
    """
    acc = PanopticAccumulator(
        things,
        stuffs,
        protocol=protocol,
        allow_unknown_preds_category=allow_unknown_preds_category,
        category_names=category_names,
        device=resolve_device(device, target.device if isinstance(target, Tensor) else None),
    )
    n = int(target.shape[0]) if isinstance(target, (Tensor, np.ndarray)) and target.ndim else 0
    pixels = 1
    if n:
        shape = tuple(target.shape[1:-1] if target_segments is None else target.shape[1:])
        pixels = max(1, math.prod(shape))
    step = max(1, _PIXELS_PER_CHUNK // pixels)
    # Chunks of images bound the (images, G + 1, D + 1) intersection tables.
    for start in range(0, max(n, 1), step):
        stop = start + step
        batch = _panoptic_format(
            target[start:stop] if n else target,
            preds[start:stop] if n else preds,
            None if target_segments is None else target_segments[start:stop],
            None if pred_segments is None else pred_segments[start:stop],
            acc.categories,
            acc.protocol,
            acc.allow_unknown_preds_category,
            acc.device,
            start,
        )
        counts = _panoptic_update(
            batch, len(acc.categories.ids), acc.protocol, acc._modified, start
        )
        for name, value in zip(("iou_sum", "tp", "fp", "fn"), counts, strict=True):
            getattr(acc, name).add_(value)
    return acc.compute()
