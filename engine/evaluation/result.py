"""COCO evaluation results: pycocotools' arrays and stats, as data."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict

from .params import CocoParams, IouType

__all__ = ["CategoryMetrics", "CocoResult", "STAT_NAMES", "StatLine", "summarize"]

STAT_NAMES: tuple[str, ...] = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)
# (is AP, IoU threshold or None, area label, maxDets position or fixed value)
_STAT_SPECS: tuple[tuple[bool, float | None, str, str | int], ...] = (
    (True, None, "all", 100),
    (True, 0.5, "all", "m2"),
    (True, 0.75, "all", "m2"),
    (True, None, "small", "m2"),
    (True, None, "medium", "m2"),
    (True, None, "large", "m2"),
    (False, None, "all", "m0"),
    (False, None, "all", "m1"),
    (False, None, "all", "m2"),
    (False, None, "small", "m2"),
    (False, None, "medium", "m2"),
    (False, None, "large", "m2"),
)
_LINE = " {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"


def _mean_valid(s: np.ndarray) -> float:
    valid = s[s > -1]
    return -1.0 if valid.size == 0 else float(np.mean(valid))


def _select(
    arr: np.ndarray, params: CocoParams, ap: bool, iou: float | None, area: str, max_det: int
) -> np.ndarray:
    """Pycocotools ``_summarize`` slicing (unknown labels / maxDets give an empty slice)."""
    thrs = np.asarray(params.iouThrs, dtype=np.float64)
    aind = [i for i, lbl in enumerate(params.areaRngLbl) if lbl == area]
    mind = [i for i, m in enumerate(params.maxDets) if m == max_det]
    s = arr
    if iou is not None:
        s = s[np.where(iou == thrs)[0]]
    return s[:, :, :, aind, mind] if ap else s[:, :, aind, mind]


class StatLine(NamedTuple):
    """One of the 12 summary stats with the labels pycocotools prints beside it.

    Attributes:
        metric: ``"Average Precision  (AP)"`` or ``"Average Recall     (AR)"``.
        iou: ``"0.50:0.95"`` or a single threshold such as ``"0.50"``.
        area: area range label.
        max_dets: the maxDets value (-1 where ``params.maxDets`` has no such position).
        value: the stat, -1 where undefined.
    """

    metric: str
    iou: str
    area: str
    max_dets: int
    value: float

    @property
    def text(self) -> str:
        """The line exactly as pycocotools' ``summarize()`` prints it."""
        return _LINE.format(self.metric, self.iou, self.area, self.max_dets, self.value)


def summarize(
    precision: np.ndarray, recall: np.ndarray, params: CocoParams
) -> tuple[np.ndarray, list[StatLine]]:
    """The 12 COCO stats and the lines pycocotools prints, from the arrays.

    Follows ``COCOeval.summarize``: stats[0] always uses maxDets=100, the others
    maxDets[0..2]; a stat whose maxDets position does not exist is -1 (pycocotools
    raises IndexError there).

    Args:
        precision: ``(T, R, K, A, M)``.
        recall: ``(T, K, A, M)``.
        params: the evaluation parameters.

    Returns:
        ``(stats, lines)``: 12 floats and a :class:`StatLine` per stat.
    """
    stats = np.full(12, -1.0)
    lines: list[StatLine] = []
    md = params.maxDets
    for i, (ap, iou, area, mspec) in enumerate(_STAT_SPECS):
        if isinstance(mspec, int):
            max_det = mspec
        else:
            pos = int(mspec[1])
            max_det = md[pos] if pos < len(md) else -1
        arr = precision if ap else recall
        value = _mean_valid(_select(arr, params, ap, iou, area, max_det)) if max_det > 0 else -1.0
        stats[i] = value
        iou_str = (
            f"{params.iouThrs[0]:0.2f}:{params.iouThrs[-1]:0.2f}" if iou is None else f"{iou:0.2f}"
        )
        metric = "Average Precision  (AP)" if ap else "Average Recall     (AR)"
        lines.append(StatLine(metric, iou_str, area, max_det, value))
    return stats, lines


class CategoryMetrics(BaseModel):
    """Per-category numbers at one area range (pycocotools' -1 when a category has no GT).

    Attributes:
        category_id: the category's id.
        name: the category's name.
        ap: AP over all IoU thresholds at ``max_dets``.
        ap50: AP at IoU 0.5 (-1 when 0.5 is not a threshold).
        ap75: AP at IoU 0.75 (-1 when 0.75 is not a threshold).
        ar: recall averaged over IoU thresholds at ``max_dets``.
        max_dets: the maxDets value used (100 when evaluated, else the largest).
        area: the label of the area range used (``"all"`` when a range has it, else
            the first range's label).
    """

    model_config = ConfigDict(frozen=True)

    category_id: int
    name: str
    ap: float
    ap50: float
    ap75: float
    ar: float
    max_dets: int
    area: str


class CocoResult(BaseModel):
    """Result of a COCO evaluation, laid out exactly as pycocotools' ``COCOeval.eval``.

    Attributes:
        iou_type: ``"bbox"`` or ``"segm"``.
        params: the parameters used (after pycocotools' normalisation).
        stats: ``(12,)`` the summary stats in pycocotools' order.
        precision: ``(T, R, K, A, M)`` interpolated precision, -1 where undefined.
        recall: ``(T, K, A, M)``.
        scores: ``(T, R, K, A, M)``.
        category_ids: ``(K,)`` ids along the K axis (``[-1]`` when ``useCats`` is off).
        category_names: names along the K axis.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    iou_type: IouType
    params: CocoParams
    stats: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    category_ids: tuple[int, ...]
    category_names: tuple[str, ...]

    @property
    def stats_named(self) -> dict[str, float]:
        """The 12 stats by name: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl."""
        return {name: float(v) for name, v in zip(STAT_NAMES, self.stats, strict=True)}

    def per_category(self) -> list[CategoryMetrics]:
        """AP, AP50, AP75 and AR per category, at area ``all`` and maxDets 100.

        Without a range labelled ``"all"`` (custom ``areaRngLbl``) the first area range
        is used, without 100 in ``maxDets`` the largest value; each row's ``area`` and
        ``max_dets`` say which.
        """
        p = self.params
        m = p.maxDets.index(100) if 100 in p.maxDets else len(p.maxDets) - 1
        a = p.areaRngLbl.index("all") if "all" in p.areaRngLbl else 0
        thrs = np.asarray(p.iouThrs)
        out = []
        for k, (cid, name) in enumerate(zip(self.category_ids, self.category_names, strict=True)):
            prec = self.precision[:, :, k, a, m]
            at = {iou: np.where(thrs == iou)[0] for iou in (0.5, 0.75)}
            out.append(
                CategoryMetrics(
                    category_id=cid,
                    name=name,
                    ap=_mean_valid(prec),
                    ap50=_mean_valid(prec[at[0.5]]),
                    ap75=_mean_valid(prec[at[0.75]]),
                    ar=_mean_valid(self.recall[:, k, a, m]),
                    max_dets=p.maxDets[m],
                    area=p.areaRngLbl[a],
                )
            )
        return out

    def summary(self) -> str:
        """The 12 lines pycocotools' ``summarize()`` prints."""
        return "\n".join(line.text for line in self.summary_lines())

    def summary_lines(self) -> list[StatLine]:
        """The 12 stats with their labels (metric, IoU, area, maxDets), as data."""
        return summarize(self.precision, self.recall, self.params)[1]

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists, floats) for JSON."""
        return {
            "iou_type": self.iou_type,
            "params": self.params.model_dump(),
            "stats": self.stats.tolist(),
            "stats_named": self.stats_named,
            "per_category": [c.model_dump() for c in self.per_category()],
            "category_ids": list(self.category_ids),
            "precision": self.precision.tolist(),
            "recall": self.recall.tolist(),
            "scores": self.scores.tolist(),
        }
