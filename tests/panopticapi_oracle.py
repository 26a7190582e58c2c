"""COCO panopticapi's PQ, transcribed for tests (no PNG round trip).

cocodataset/panopticapi ``panopticapi/evaluation.py``: ``pq_compute_single_core``
(the per-image loop) and ``PQStat.pq_average``, kept line for line with the PNG
decoding replaced by id maps handed in directly. The only other change: a segment's
ground-truth ``area`` is its pixel count (in COCO's JSON it is exactly that). It is
a slow, independent reference: plain Python dictionaries, ``np.unique`` and loops.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

OFFSET = 256 * 256 * 256
VOID = 0


class PQStatCat:
    def __init__(self) -> None:
        self.iou = 0.0
        self.tp = 0
        self.fp = 0
        self.fn = 0


class PQStat:
    def __init__(self) -> None:
        self.pq_per_cat: defaultdict[int, PQStatCat] = defaultdict(PQStatCat)

    def pq_average(
        self, categories: dict[int, dict[str, Any]], isthing: bool | None
    ) -> tuple[dict[str, float], dict[int, dict[str, float]]]:
        pq, sq, rq, n = 0.0, 0.0, 0.0, 0
        per_class_results = {}
        for label, label_info in categories.items():
            if isthing is not None:
                cat_isthing = label_info["isthing"] == 1
                if isthing != cat_isthing:
                    continue
            iou = self.pq_per_cat[label].iou
            tp = self.pq_per_cat[label].tp
            fp = self.pq_per_cat[label].fp
            fn = self.pq_per_cat[label].fn
            if tp + fp + fn == 0:
                per_class_results[label] = {"pq": 0.0, "sq": 0.0, "rq": 0.0}
                continue
            n += 1
            pq_class = iou / (tp + 0.5 * fp + 0.5 * fn)
            sq_class = iou / tp if tp != 0 else 0
            rq_class = tp / (tp + 0.5 * fp + 0.5 * fn)
            per_class_results[label] = {"pq": pq_class, "sq": sq_class, "rq": rq_class}
            pq += pq_class
            sq += sq_class
            rq += rq_class
        if n == 0:  # panopticapi raises ZeroDivisionError here
            return {"pq": float("nan"), "sq": float("nan"), "rq": float("nan"), "n": 0}, (
                per_class_results
            )
        return {"pq": pq / n, "sq": sq / n, "rq": rq / n, "n": n}, per_class_results


def pq_single_image(
    pq_stat: PQStat,
    pan_gt: np.ndarray,
    pan_pred: np.ndarray,
    gt_segments_info: list[dict[str, Any]],
    pred_segments_info: list[dict[str, Any]],
    categories: dict[int, dict[str, Any]],
) -> None:
    gt_segms = {el["id"]: dict(el) for el in gt_segments_info}
    pred_segms = {el["id"]: dict(el) for el in pred_segments_info}
    for el in gt_segms.values():  # the JSON's area = the segment's pixel count
        el.setdefault("iscrowd", 0)
        el["area"] = int((pan_gt == el["id"]).sum())

    # predicted segments area calculation + prediction sanity checks
    pred_labels_set = {el["id"] for el in pred_segments_info}
    labels, labels_cnt = np.unique(pan_pred, return_counts=True)
    for label, label_cnt in zip(labels, labels_cnt, strict=True):
        if label not in pred_segms:
            if label == VOID:
                continue
            raise KeyError(f"segment with ID {label} is presented in PNG and not in JSON.")
        pred_segms[label]["area"] = label_cnt
        pred_labels_set.remove(label)
        if pred_segms[label]["category_id"] not in categories:
            raise KeyError(f"segment with ID {label} has unknown category_id")
    if len(pred_labels_set) != 0:
        raise KeyError(f"segments {pred_labels_set} presented in JSON and not in PNG")

    # confusion matrix calculation
    pan_gt_pred = pan_gt.astype(np.uint64) * OFFSET + pan_pred.astype(np.uint64)
    gt_pred_map = {}
    labels, labels_cnt = np.unique(pan_gt_pred, return_counts=True)
    for label, intersection in zip(labels, labels_cnt, strict=True):
        gt_id = label // OFFSET
        pred_id = label % OFFSET
        gt_pred_map[(int(gt_id), int(pred_id))] = intersection

    # count all matched pairs
    gt_matched = set()
    pred_matched = set()
    for label_tuple, intersection in gt_pred_map.items():
        gt_label, pred_label = label_tuple
        if gt_label not in gt_segms:
            continue
        if pred_label not in pred_segms:
            continue
        if gt_segms[gt_label]["iscrowd"] == 1:
            continue
        if gt_segms[gt_label]["category_id"] != pred_segms[pred_label]["category_id"]:
            continue

        union = (
            pred_segms[pred_label]["area"]
            + gt_segms[gt_label]["area"]
            - intersection
            - gt_pred_map.get((VOID, pred_label), 0)
        )
        iou = intersection / union
        if iou > 0.5:
            pq_stat.pq_per_cat[gt_segms[gt_label]["category_id"]].tp += 1
            pq_stat.pq_per_cat[gt_segms[gt_label]["category_id"]].iou += iou
            gt_matched.add(gt_label)
            pred_matched.add(pred_label)

    # count false negatives
    crowd_labels_dict = {}
    for gt_label, gt_info in gt_segms.items():
        if gt_label in gt_matched:
            continue
        # crowd segments are ignored
        if gt_info["iscrowd"] == 1:
            crowd_labels_dict[gt_info["category_id"]] = gt_label
            continue
        pq_stat.pq_per_cat[gt_info["category_id"]].fn += 1

    # count false positives
    for pred_label, pred_info in pred_segms.items():
        if pred_label in pred_matched:
            continue
        # intersection of the segment with VOID
        intersection = gt_pred_map.get((VOID, pred_label), 0)
        # plus intersection with corresponding CROWD region if it exists
        if pred_info["category_id"] in crowd_labels_dict:
            intersection += gt_pred_map.get(
                (crowd_labels_dict[pred_info["category_id"]], pred_label), 0
            )
        # predicted segment is ignored if more than half of the segment correspond to VOID and
        # CROWD regions
        if intersection / pred_info["area"] > 0.5:
            continue
        pq_stat.pq_per_cat[pred_info["category_id"]].fp += 1


def panopticapi_pq(
    gt_maps: np.ndarray,
    pred_maps: np.ndarray,
    gt_segments: list[list[dict[str, Any]]],
    pred_segments: list[list[dict[str, Any]]],
    categories: dict[int, dict[str, Any]],
) -> tuple[dict[str, dict[str, float]], dict[int, dict[str, float]], PQStat]:
    """panopticapi's ``pq_compute`` results ``{"All", "Things", "Stuff"}`` and per class."""
    pq_stat = PQStat()
    for gt, pred, gs, ps in zip(gt_maps, pred_maps, gt_segments, pred_segments, strict=True):
        pq_single_image(pq_stat, gt, pred, gs, ps, categories)
    results: dict[str, dict[str, float]] = {}
    per_class: dict[int, dict[str, float]] = {}
    for name, isthing in (("All", None), ("Things", True), ("Stuff", False)):
        results[name], classes = pq_stat.pq_average(categories, isthing)
        if name == "All":
            per_class = classes
    return results, per_class, pq_stat
