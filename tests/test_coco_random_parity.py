"""Randomized parity of ``assay.evaluate_coco`` with pycocotools, one named hard case at a time.

Every case builds a COCO ground-truth dict and a results list from a seed, evaluates
both with pycocotools (the oracle) and with assay (on every device of the ``device``
fixture) and requires the 12 stats and the full ``precision`` / ``recall`` / ``scores``
arrays to agree to 1e-12. A failure names the array, the first differing index and
both values.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import assay
import numpy as np
import pytest
import torch
from oracles import assert_matches_cocoeval, run_pycocotools

pytest.importorskip("pycocotools")

Box = Sequence[float]
Scene = tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]

# pycocotools' default thresholds, bit for bit.
IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


# --------------------------------------------------------------------------- generator


class SceneBuilder:
    """Collects images, categories, ground truths and detections; ids are drawn at build."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.images: list[int] = []
        self.categories: list[int] = []
        self.anns: list[dict[str, Any]] = []
        self.dets: list[dict[str, Any]] = []

    def _fresh(self, used: Sequence[int], high: int) -> int:
        taken = set(used)
        while True:
            value = int(self.rng.integers(1, high))
            if value not in taken:
                return value

    def image(self, image_id: int | None = None) -> int:
        image_id = self._fresh(self.images, 5000) if image_id is None else image_id
        self.images.append(image_id)
        return image_id

    def category(self, cat_id: int | None = None) -> int:
        cat_id = self._fresh(self.categories, 500) if cat_id is None else cat_id
        self.categories.append(cat_id)
        return cat_id

    def gt(
        self,
        image_id: int,
        cat_id: int,
        box: Box,
        *,
        area: float | None = None,
        iscrowd: int = 0,
        ann_id: int | None = None,
    ) -> dict[str, Any]:
        bbox = [float(v) for v in box]
        ann = {
            "id": ann_id,
            "image_id": int(image_id),
            "category_id": int(cat_id),
            "bbox": bbox,
            "area": float(bbox[2] * bbox[3] if area is None else area),
            "iscrowd": int(iscrowd),
        }
        self.anns.append(ann)
        return ann

    def dt(self, image_id: int, cat_id: int, box: Box, score: float | None = None) -> None:
        score = float(self.rng.random()) if score is None else float(score)
        self.dets.append({
            "image_id": int(image_id),
            "category_id": int(cat_id),
            "bbox": [float(v) for v in box],
            "score": score,
        })

    def build(self, *, shuffle: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """COCO dicts; annotation ids not given are unique, non-zero and not in list order."""
        explicit = {a["id"] for a in self.anns if a["id"] is not None}
        missing = [a for a in self.anns if a["id"] is None]
        pool = np.setdiff1d(np.arange(1, 10 * len(self.anns) + 100), sorted(explicit))
        for ann, new_id in zip(missing, self.rng.choice(pool, len(missing), replace=False),
                               strict=True):
            ann["id"] = int(new_id)
        anns, dets = list(self.anns), list(self.dets)
        images, cats = list(self.images), list(self.categories)
        if shuffle:
            for seq in (anns, dets, images, cats):
                order = self.rng.permutation(len(seq))
                seq[:] = [seq[i] for i in order]
        gt = {
            "images": [{"id": i, "width": 640, "height": 480} for i in images],
            "categories": [{"id": c, "name": f"cat{c}"} for c in cats],
            "annotations": anns,
        }
        return gt, dets


def _rand_wh(rng: np.random.Generator, grid: float) -> tuple[float, float]:
    """A box size: small, medium, large, or exactly on an area-range boundary."""
    kind = rng.choice(4, p=[0.35, 0.3, 0.2, 0.15])
    if kind == 3:
        side = float(rng.choice([32.0, 96.0]))
        if rng.random() < 0.5:
            return side, side
        w = float(rng.choice([16.0, 8.0, 64.0, 0.5, 31.7, 33.3]))
        return w, side * side / w  # w * h lands on (or rounds next to) the boundary
    lo, hi = ((1, 32), (32, 96), (96, 200))[kind]
    w = grid * int(rng.integers(int(lo / grid), int(hi / grid) + 1))
    h = grid * int(rng.integers(int(lo / grid), int(hi / grid) + 1))
    return w, h


def _jitter(rng: np.random.Generator, box: Box, grid: float, amount: int) -> list[float]:
    x, y, w, h = box
    d = grid * rng.integers(-amount, amount + 1, size=4)
    return [x + d[0], y + d[1], max(0.0, w + d[2]), max(0.0, h + d[3])]


def _score(rng: np.random.Generator, decimals: int | None) -> float:
    s = float(rng.random())
    return s if decimals is None else round(s, decimals)


def fill_random(
    b: SceneBuilder,
    images: Sequence[int],
    cats: Sequence[int],
    *,
    gt_per_group: tuple[int, int] = (0, 4),
    crowd_p: float = 0.1,
    dets_per_gt: tuple[int, int] = (0, 3),
    fp_per_image: tuple[int, int] = (0, 4),
    score_decimals: int | None = None,
    grid: float = 1.0,
    jitter: int = 3,
    area_noise_p: float = 0.1,
    area_edge_p: float = 0.05,
) -> None:
    """Random ground truths with jittered detections and random false positives."""
    rng = b.rng
    pending_gt: list[tuple[Any, ...]] = []
    pending_dt: list[tuple[Any, ...]] = []
    for img in images:
        for cat in cats:
            for _ in range(int(rng.integers(gt_per_group[0], gt_per_group[1] + 1))):
                w, h = _rand_wh(rng, grid)
                box = [grid * int(rng.integers(0, int(400 / grid))),
                       grid * int(rng.integers(0, int(300 / grid))), w, h]
                crowd = int(rng.random() < crowd_p)
                area = w * h
                u = rng.random()
                if u < area_noise_p:
                    area = round(w * h * float(rng.uniform(0.4, 1.0)), 2)
                elif u < area_noise_p + area_edge_p:
                    area = float(rng.choice([0.0, 32.0**2, 96.0**2]))
                pending_gt.append((img, cat, box, area, crowd))
                n_det = int(rng.integers(dets_per_gt[0], dets_per_gt[1] + 1)) + 2 * crowd
                for _ in range(n_det):
                    # mostly its own category; sometimes a confusion with another one
                    dcat = cat if rng.random() < 0.85 else cats[int(rng.integers(len(cats)))]
                    pending_dt.append((img, dcat, _jitter(rng, box, grid, jitter),
                                       _score(rng, score_decimals)))
        for _ in range(int(rng.integers(fp_per_image[0], fp_per_image[1] + 1))):
            w, h = _rand_wh(rng, grid)
            box = [grid * int(rng.integers(0, int(400 / grid))),
                   grid * int(rng.integers(0, int(300 / grid))), w, h]
            pending_dt.append((img, cats[int(rng.integers(len(cats)))], box,
                               _score(rng, score_decimals)))
    for i in rng.permutation(len(pending_gt)):
        img, cat, box, area, crowd = pending_gt[i]
        b.gt(img, cat, box, area=area, iscrowd=crowd)
    for i in rng.permutation(len(pending_dt)):
        img, cat, box, score = pending_dt[i]
        b.dt(img, cat, box, score)


def base_scene(seed: int, n_images: int = 8, n_cats: int = 3, **kw: Any) -> SceneBuilder:
    b = SceneBuilder(seed)
    images = [b.image() for _ in range(n_images)]
    cats = [b.category() for _ in range(n_cats)]
    fill_random(b, images, cats, **kw)
    return b


# --------------------------------------------------------------------------- oracle + check


def _oracle_params(params: dict[str, Any]) -> dict[str, Any]:
    """pycocotools wants numpy thresholds (summarize compares ``iouThr == p.iouThrs``)."""
    out = copy.deepcopy(params)
    for key in ("iouThrs", "recThrs"):
        if key in out:
            out[key] = np.asarray(out[key], dtype=np.float64)
    return out


def cocoeval_arrays(gt: dict[str, Any], dt: list[dict[str, Any]], params: dict[str, Any]) -> Any:
    """pycocotools evaluate + accumulate without summarize (which needs 3 maxDets)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(dt))
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        for key, value in params.items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
    return ev


def _first_difference(ours: np.ndarray, theirs: np.ndarray, atol: float = 1e-12) -> str | None:
    if ours.shape != theirs.shape:
        return f"shape {ours.shape} != {theirs.shape}"
    bad = ~(np.abs(ours - theirs) <= atol)
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    return (f"first differing index {list(idx)}: assay={ours[idx]!r} "
            f"pycocotools={theirs[idx]!r} ({int(bad.sum())} of {bad.size} differ)")


def check_parity(
    gt: dict[str, Any], dt: list[dict[str, Any]], params: dict[str, Any], device: str
) -> Any:
    """assay == pycocotools on stats (when summarize can run) and the three arrays."""
    oracle_params = _oracle_params(params)
    max_dets = params.get("maxDets", [1, 10, 100])
    with_stats = len(max_dets) >= 3
    ev = (run_pycocotools(gt, dt, "bbox", oracle_params) if with_stats
          else cocoeval_arrays(gt, dt, oracle_params))
    result = assay.evaluate_coco(gt, dt, "bbox", device=device, params=params)
    problems = []
    for key in ("precision", "recall", "scores"):
        diff = _first_difference(np.asarray(getattr(result, key)), ev.eval[key])
        if diff:
            problems.append(f"{key}: {diff}")
    if with_stats:
        diff = _first_difference(np.asarray(result.stats), np.asarray(ev.stats))
        if diff:
            problems.append(f"stats: {diff}")
    assert not problems, "assay differs from pycocotools:\n  " + "\n  ".join(problems)
    if with_stats:
        assert_matches_cocoeval(result, ev)
    return ev


# --------------------------------------------------------------------------- named cases

CASES: dict[str, tuple[Callable[[int], Scene], tuple[int, ...]]] = {}


def case(*seeds: int) -> Callable[[Callable[[int], Scene]], Callable[[int], Scene]]:
    def register(fn: Callable[[int], Scene]) -> Callable[[int], Scene]:
        CASES[fn.__name__] = (fn, seeds or (0, 1, 2))
        return fn

    return register


@case()
def crowd(seed: int) -> Scene:
    b = base_scene(seed, crowd_p=0.35)
    cat = b.categories[0]
    # A crowd region with one regular GT beside it.
    img = b.image()
    b.gt(img, cat, [0, 0, 100, 100], area=10000.0, iscrowd=1)
    b.gt(img, cat, [150, 150, 20, 20])
    for k in range(4):  # several detections absorbed by the one crowd
        b.dt(img, cat, [5 + 20 * k, 5, 10, 10])
    b.dt(img, cat, [90, 90, 20, 20])  # crowd IoU 100 / 400 = 0.25: a false positive
    b.dt(img, cat, [80, 0, 40, 10])  # crowd IoU 200 / 400 = 0.5 exactly
    b.dt(img, cat, [150, 150, 20, 20])  # the regular GT
    b.dt(img, cat, [140, 140, 20, 20])  # overlaps only the (taken) regular GT
    # An image whose only GT is a crowd: its detections overlap only the crowd.
    img = b.image()
    b.gt(img, cat, [10, 10, 50, 50], area=2500.0, iscrowd=1)
    for k in range(3):
        b.dt(img, cat, [12 + 10 * k, 12, 8, 8], score=0.5)
    b.dt(img, cat, [55, 55, 20, 20])  # partly in the crowd
    # A detection overlapping a regular GT and a crowd: the regular one is preferred.
    img = b.image()
    b.gt(img, cat, [0, 0, 40, 40], area=1600.0, iscrowd=1)
    b.gt(img, cat, [0, 0, 30, 30])
    b.dt(img, cat, [0, 0, 30, 30])
    b.dt(img, cat, [1, 1, 30, 30])  # the regular GT is taken now: absorbed by the crowd
    gt, dt = b.build()
    assert sum(a["iscrowd"] for a in gt["annotations"]) >= 3
    return gt, dt, {}


@case()
def ignore_field_is_overridden(seed: int) -> Scene:
    # pycocotools sets ignore = iscrowd, whatever an annotation's own "ignore" field says.
    gt, dt = base_scene(seed, crowd_p=0.2).build()
    for k, ann in enumerate(gt["annotations"]):
        if k % 3 == 0:
            ann["ignore"] = 1 - ann["iscrowd"]
    return gt, dt, {}


@case()
def score_ties(seed: int) -> Scene:
    b = base_scene(seed, n_images=10, score_decimals=1, dets_per_gt=(1, 3))
    cat = b.categories[0]
    # Tied scores inside one image (TP and FP interleaved) and across images.
    for _ in range(3):
        img = b.image()
        b.gt(img, cat, [0, 0, 50, 50])
        b.gt(img, cat, [100, 0, 50, 50])
        b.dt(img, cat, [200, 200, 10, 10], score=0.5)  # FP first in input order
        b.dt(img, cat, [0, 0, 50, 50], score=0.5)
        b.dt(img, cat, [100, 0, 50, 50], score=0.5)
        b.dt(img, cat, [0, 0, 50, 50], score=0.5)  # duplicate: FP only if ranked after
    gt, dt = b.build()
    scores = [d["score"] for d in dt]
    assert len(set(scores)) < len(scores) // 2
    return gt, dt, {}


@case()
def score_ties_two_decimals(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=15, score_decimals=2, dets_per_gt=(1, 4),
                        fp_per_image=(2, 8)).build(shuffle=True)
    return gt, dt, {}


@case()
def images_without_gt(seed: int) -> Scene:
    b = base_scene(seed, n_images=5)
    for _ in range(4):
        img = b.image()
        for _ in range(5):
            b.dt(img, b.categories[int(b.rng.integers(len(b.categories)))],
                 [float(b.rng.integers(0, 300)), float(b.rng.integers(0, 300)), 30.0, 40.0])
    gt, dt = b.build(shuffle=True)
    return gt, dt, {}


@case()
def images_without_detections(seed: int) -> Scene:
    b = base_scene(seed, n_images=5)
    for _ in range(4):
        img = b.image()
        for cat in b.categories:
            b.gt(img, cat, [10.0, 10.0, float(b.rng.integers(5, 150)), 50.0])
    gt, dt = b.build(shuffle=True)
    return gt, dt, {}


@case()
def images_with_neither(seed: int) -> Scene:
    b = base_scene(seed, n_images=5)
    for _ in range(5):
        b.image()
    gt, dt = b.build(shuffle=True)
    return gt, dt, {}


@case()
def categories_without_gt(seed: int) -> Scene:
    b = base_scene(seed, n_images=6, n_cats=2)
    extra = [b.category() for _ in range(2)]
    for img in b.images[:4]:
        for cat in extra:  # detections only
            b.dt(img, cat, [float(b.rng.integers(0, 200)), 5.0, 40.0, 40.0])
    gt, dt = b.build(shuffle=True)
    return gt, dt, {}


@case()
def categories_with_neither(seed: int) -> Scene:
    b = base_scene(seed, n_images=6, n_cats=2)
    for _ in range(3):
        b.category()
    gt, dt = b.build(shuffle=True)
    return gt, dt, {}


def _crowded_group(b: SceneBuilder, img: int, cat: int, n_det: int, n_gt: int = 12) -> None:
    """``n_det`` detections in one (image, category); true positives spread over all ranks."""
    gts = []
    for k in range(n_gt):
        box = [float(40 * (k % 8)), float(40 * (k // 8)), 30.0, 30.0]
        b.gt(img, cat, box)
        gts.append(box)
    for _ in range(n_det):
        if b.rng.random() < 0.15:
            box = _jitter(b.rng, gts[int(b.rng.integers(n_gt))], 1.0, 4)
        else:
            box = [float(b.rng.integers(0, 600)), float(b.rng.integers(0, 400)), 20.0, 25.0]
        b.dt(img, cat, box, score=round(float(b.rng.random()), 2))  # ties across rank 100


@case()
def many_dets_per_image_category(seed: int) -> Scene:
    b = base_scene(seed, n_images=4, n_cats=2)
    for _ in range(2):
        _crowded_group(b, b.image(), b.categories[0], int(b.rng.integers(150, 301)))
    gt, dt = b.build()
    return gt, dt, {}


@case()
def many_dets_per_image_spread_over_categories(seed: int) -> Scene:
    # 5 x 40 = 200 detections in one image, fewer than 100 in every (image, category).
    b = base_scene(seed, n_images=3, n_cats=5)
    img = b.image()
    for cat in b.categories:
        _crowded_group(b, img, cat, 40, n_gt=4)
    gt, dt = b.build()
    return gt, dt, {}


@case()
def many_dets_per_image_use_cats_0(seed: int) -> Scene:
    gt, dt, _ = many_dets_per_image_spread_over_categories(seed)
    return gt, dt, {"useCats": 0}


@case()
def area_range_boundaries(seed: int) -> Scene:
    b = base_scene(seed, n_images=4, area_edge_p=0.3)
    cat = b.categories[0]
    img = b.image()
    edges = (0.0, 32.0**2, 96.0**2, 1e5**2)
    for k, side in enumerate((32.0, 96.0)):
        b.gt(img, cat, [0.0, 150.0 * k, side, side])  # area field == w * h == the boundary
        b.dt(img, cat, [0.0, 150.0 * k, side, side])  # det area == the boundary
        b.dt(img, cat, [300.0, 150.0 * k, side, side])  # unmatched det with boundary area
    for k, area in enumerate(edges):  # area field on a boundary, box unrelated
        b.gt(img, cat, [500.0, 100.0 * k, 50.0, 50.0], area=area)
        b.dt(img, cat, [500.0, 100.0 * k, 50.0, 50.0])
    for k, w in enumerate((16.0, 64.0, 0.5, 31.7, 33.3, 95.9, 96.1)):
        for side in (32.0, 96.0):  # det w * h == (or rounds next to) the boundary
            h = side * side / w
            b.dt(img, cat, [700.0 + 10 * k, 0.0, w, h])
            b.gt(img, cat, [700.0 + 10 * k, 0.0, w, h])
    gt, dt = b.build()
    return gt, dt, {}


@case()
def iou_exactly_on_thresholds(seed: int) -> Scene:
    b = base_scene(seed, n_images=3)
    cat = b.categories[0]
    for k in range(10, 21):  # IoU k / 20: 0.5, 0.55, ..., 1.0 (shared height, shared origin)
        img = b.image()
        b.gt(img, cat, [0, 0, 20, 10])
        b.dt(img, cat, [0, 0, k, 10])
        b.gt(img, cat, [100, 0, 200, 10])  # same with a longer box: IoU 10k / 200
        b.dt(img, cat, [100, 0, 10 * k, 10])
    img = b.image()
    b.gt(img, cat, [0, 0, 30, 10])
    b.dt(img, cat, [10, 0, 30, 10])  # shifted: 200 / 400 = 0.5
    b.gt(img, cat, [100, 0, 70, 10])
    b.dt(img, cat, [110, 0, 70, 10])  # shifted: 600 / 800 = 0.75
    b.gt(img, cat, [0, 100, 10, 10])
    b.dt(img, cat, [0.5, 100.5, 10, 10])  # 90.25 / 109.75
    gt, dt = b.build()
    return gt, dt, {}


@case()
def iou_on_threshold_fine_grid(seed: int) -> Scene:
    # Coordinates on a 0.1 grid: sums and products round, IoUs fall next to thresholds.
    gt, dt = base_scene(seed, n_images=12, grid=0.1, jitter=6, dets_per_gt=(1, 4)).build()
    return gt, dt, {}


def _equal_iou_pair(b: SceneBuilder, img: int, cat: int, later_id: int | None = None,
                    areas: tuple[float | None, float | None] = (None, None)) -> None:
    """Two GTs at equal IoU 90 / 110 from the first detection; the later GT must win it.

    The second detection has IoU 90 / 110 with the later GT and 70 / 130 with the earlier
    one: once the first detection has taken the later GT, the second is a TP only up to
    IoU 0.538 (it would be one up to 0.818 if the earlier GT had been taken).
    """
    b.gt(img, cat, [0, 0, 10, 10], area=areas[0])
    b.gt(img, cat, [2, 0, 10, 10], area=areas[1], ann_id=later_id)
    b.dt(img, cat, [1, 0, 10, 10], score=0.9)
    b.dt(img, cat, [3, 0, 10, 10], score=0.8)


@case()
def equal_iou_two_gts(seed: int) -> Scene:
    b = base_scene(seed, n_images=3)
    cat = b.categories[0]
    _equal_iou_pair(b, b.image(), cat)
    _equal_iou_pair(b, b.image(), cat, areas=(5000.0, 500.0))  # differ in area range
    _equal_iou_pair(b, b.image(), cat, areas=(500.0, 5000.0))
    img = b.image()  # identical GT boxes
    for _ in range(3):
        b.gt(img, cat, [50, 50, 40, 40])
    b.dt(img, cat, [50, 50, 40, 40], score=0.7)
    b.dt(img, cat, [52, 50, 40, 40], score=0.6)
    gt, dt = b.build()
    return gt, dt, {}


@case()
def gt_annotation_id_zero(seed: int) -> Scene:
    b = base_scene(seed, n_images=4)
    cat = b.categories[0]
    img = b.image()
    b.gt(img, cat, [0, 0, 40, 40], ann_id=0)  # the top detection matches it
    b.gt(img, cat, [100, 0, 40, 40])
    b.dt(img, cat, [0, 0, 40, 40], score=0.95)
    b.dt(img, cat, [100, 0, 40, 40], score=0.9)
    b.dt(img, cat, [1, 0, 40, 40], score=0.85)  # id 0 is "taken" all the same
    gt, dt = b.build()
    return gt, dt, {}


@case()
def gt_annotation_id_zero_in_tie(seed: int) -> Scene:
    # The id-0 GT is the later of two equal-IoU GTs: the top detection takes it, uncounted.
    b = base_scene(seed, n_images=3)
    _equal_iou_pair(b, b.image(), b.categories[0], later_id=0)
    gt, dt = b.build()
    return gt, dt, {}


@case()
def gt_annotation_id_zero_outside_area(seed: int) -> Scene:
    # A medium GT (area field) with id 0 matched by a small detection: in "small" the GT is
    # ignored, and the match to id 0 reads as "no match", so the small detection is ignored.
    b = base_scene(seed, n_images=3)
    img = b.image()
    b.gt(img, b.categories[0], [0, 0, 30, 30], area=5000.0, ann_id=0)
    b.dt(img, b.categories[0], [0, 0, 30, 30], score=0.99)
    b.dt(img, b.categories[0], [1, 1, 30, 30], score=0.98)
    gt, dt = b.build()
    return gt, dt, {}


@case()
def zero_size_boxes(seed: int) -> Scene:
    b = base_scene(seed, n_images=4)
    cat = b.categories[0]
    img = b.image()
    b.gt(img, cat, [10, 10, 0, 20])  # area 0: counted in "small", never matched
    b.gt(img, cat, [50, 10, 20, 0])
    b.gt(img, cat, [100, 10, 0, 0], area=30.0)
    b.dt(img, cat, [10, 10, 0, 20])
    b.dt(img, cat, [50, 10, 20, 0])
    b.dt(img, cat, [100, 10, 0, 0])
    b.gt(img, cat, [200, 0, 50, 50], iscrowd=1)
    b.dt(img, cat, [210, 10, 0, 10])  # zero-area detection inside a crowd
    b.gt(img, cat, [300, 0, 20, 20])
    b.dt(img, cat, [300, 0, 20, 20])
    b.dt(img, cat, [305, 5, 0, 10])
    gt, dt = b.build()
    return gt, dt, {}


@case()
def use_cats_0(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=10, n_cats=4, crowd_p=0.15).build(shuffle=True)
    return gt, dt, {"useCats": 0}


@case()
def use_cats_0_cat_ids_unsorted(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=10, n_cats=4, score_decimals=1).build()
    cats = [c["id"] for c in gt["categories"]]
    return gt, dt, {"useCats": 0, "catIds": sorted(cats, reverse=True)[:3]}


@case()
def max_dets_1_5_300(seed: int) -> Scene:
    b = base_scene(seed, n_images=4)
    _crowded_group(b, b.image(), b.categories[0], 280)
    gt, dt = b.build()
    return gt, dt, {"maxDets": [1, 5, 300]}


@case()
def max_dets_3(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=8, dets_per_gt=(1, 4), fp_per_image=(2, 6)).build()
    return gt, dt, {"maxDets": [3]}


@case()
def max_dets_two_values(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=8, dets_per_gt=(1, 4)).build()
    return gt, dt, {"maxDets": [2, 100]}


@case()
def max_dets_unsorted(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=8, dets_per_gt=(1, 4)).build()
    return gt, dt, {"maxDets": [100, 1, 10]}


@case()
def custom_area_ranges(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=10, area_edge_p=0.2).build()
    params = {
        "areaRng": [[0, 1e10], [0, 400], [400, 2500], [32**2, 32**2], [2500, 1e10]],
        "areaRngLbl": ["all", "tiny", "mid", "exact1024", "big"],
    }
    return gt, dt, params


@case()
def custom_area_ranges_relabelled(seed: int) -> Scene:
    # "small" and "all" swapped in position; "medium" is a range that overlaps "large".
    gt, dt = base_scene(seed, n_images=10, area_edge_p=0.2).build()
    params = {
        "areaRng": [[0, 32**2], [0, 1e5**2], [500, 1e4], [96**2, 1e5**2]],
        "areaRngLbl": ["small", "all", "medium", "large"],
    }
    return gt, dt, params


@case()
def many_area_ranges(seed: int) -> Scene:
    # More ranges than the evaluator packs as bits of one gather (16): the per-range path.
    gt, dt = base_scene(seed, n_images=8, area_edge_p=0.2).build()
    edges = [0, 100, 400, 900, 32**2, 1600, 2500, 3600, 4900, 6400, 8100, 96**2, 1e4, 2e4]
    ranges = [[0, 1e10]] + [[lo, hi] for lo, hi in itertools.pairwise(edges)]
    ranges += [[32**2, 32**2], [0, 32**2], [96**2, 1e10], [500, 1e4]]
    assert len(ranges) > 16
    return gt, dt, {"areaRng": ranges, "areaRngLbl": [f"r{i}" for i in range(len(ranges))]}


@case()
def iou_thrs_0_1_0_3_0_99(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=10, jitter=8).build()
    return gt, dt, {"iouThrs": [0.1, 0.3, 0.99]}


@case()
def iou_thrs_single(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=10).build()
    return gt, dt, {"iouThrs": [0.5]}


@case()
def iou_thrs_unsorted_with_1(seed: int) -> Scene:
    gt, dt, _ = iou_exactly_on_thresholds(seed)
    return gt, dt, {"iouThrs": [0.75, 0.5, 1.0]}


@case()
def iou_thrs_with_0(seed: int) -> Scene:
    # Threshold 0: every detection with any same-category GT in its image can match.
    gt, dt = base_scene(seed, n_images=8, jitter=20).build()
    return gt, dt, {"iouThrs": [0.0, 0.5]}


@case()
def rec_thrs_coarse(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=10).build()
    return gt, dt, {"recThrs": [0.0, 0.5, 1.0]}


@case()
def rec_thrs_exact_fractions(seed: int) -> Scene:
    # Recall thresholds equal to reachable recalls tp / npig (searchsorted 'left' ties).
    gt, dt = base_scene(seed, n_images=6, gt_per_group=(1, 3)).build()
    fractions = sorted({k / n for n in range(1, 13) for k in range(n + 1)})
    return gt, dt, {"recThrs": fractions}


@case()
def rec_thrs_unsorted(seed: int) -> Scene:
    # pycocotools fills recall thresholds in the given order and stops at the first one
    # that recall never reaches (IndexError), leaving the later ones 0.
    gt, dt = base_scene(seed, n_images=10, dets_per_gt=(1, 3), jitter=1).build()
    thrs = ([0.9, 0.1, 0.5, 0.0, 1.0, 0.3], [0.3, 0.0, 0.6, 0.1, 0.95, 0.2],
            [0.5, 0.2, 0.8, 0.0, 0.4, 0.5])[seed % 3]
    return gt, dt, {"recThrs": thrs}


@case()
def cat_ids_subset(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=10, n_cats=5).build(shuffle=True)
    cats = [c["id"] for c in gt["categories"]]
    return gt, dt, {"catIds": [cats[3], cats[0], cats[2]]}


@case()
def img_ids_subset(seed: int) -> Scene:
    b = base_scene(seed, n_images=12)
    extra = [b.image(), b.image()]  # images with neither GT nor detections
    gt, dt = b.build(shuffle=True)
    chosen = [i for i in b.images if i not in extra][::2] + extra[:1]
    return gt, dt, {"imgIds": chosen[::-1]}


@case()
def cat_and_img_ids_subset(seed: int) -> Scene:
    gt, dt = base_scene(seed, n_images=12, n_cats=4).build(shuffle=True)
    cats = sorted(c["id"] for c in gt["categories"])
    imgs = sorted(i["id"] for i in gt["images"])
    return gt, dt, {"catIds": cats[1:3], "imgIds": imgs[3:9]}


def _mixed(seed: int, n_images: tuple[int, int]) -> Scene:
    rng = np.random.default_rng(10_000 + seed)
    kw: dict[str, Any] = {
        "crowd_p": float(rng.choice([0.0, 0.1, 0.3])),
        "score_decimals": [None, 1, 2, 3][int(rng.integers(4))],
        "grid": float(rng.choice([1.0, 0.5, 0.1])),
        "jitter": int(rng.integers(1, 8)),
        "gt_per_group": (0, int(rng.integers(1, 6))),
        "dets_per_gt": (0, int(rng.integers(1, 4))),
        "fp_per_image": (0, int(rng.integers(0, 8))),
        "area_edge_p": float(rng.choice([0.0, 0.1])),
    }
    b = base_scene(seed, n_images=int(rng.integers(*n_images)),
                   n_cats=int(rng.integers(1, 6)), **kw)
    for _ in range(int(rng.integers(0, 3))):  # empty images / detection-only images
        img = b.image()
        if rng.random() < 0.5:
            b.dt(img, b.categories[0], [5.0, 5.0, 20.0, 20.0])
    if rng.random() < 0.3:
        b.category()  # a category with neither
    if rng.random() < 0.3:
        _crowded_group(b, b.images[0], b.categories[0], int(rng.integers(101, 180)), n_gt=5)
    if rng.random() < 0.4 and b.anns:
        b.anns[int(rng.integers(len(b.anns)))]["id"] = 0
    gt, dt = b.build(shuffle=True)
    params: dict[str, Any] = {}
    cats = [c["id"] for c in gt["categories"]]
    imgs = [i["id"] for i in gt["images"]]
    if rng.random() < 0.25:
        params["useCats"] = 0
    if rng.random() < 0.3:
        params["maxDets"] = [[1, 10, 100], [1, 5, 300], [3], [2, 20, 50]][int(rng.integers(4))]
    if rng.random() < 0.3:
        params["iouThrs"] = [[0.5], [0.1, 0.3, 0.99], [0.75, 0.5], [0.3, 0.5, 0.7, 0.9]][
            int(rng.integers(4))]
    if rng.random() < 0.2:
        params["recThrs"] = [[0.0, 0.5, 1.0], [0.0, 0.25, 0.5, 0.75, 1.0]][int(rng.integers(2))]
    if rng.random() < 0.2:
        params["areaRng"] = [[0, 1e10], [0, 500], [500, 1e10]]
        params["areaRngLbl"] = ["all", "small", "large"]
    if rng.random() < 0.2 and len(cats) > 1:
        params["catIds"] = [int(c) for c in rng.permutation(cats)[: len(cats) - 1]]
    if rng.random() < 0.2:
        params["imgIds"] = [int(i) for i in rng.permutation(imgs)[: max(1, len(imgs) // 2)]]
    return gt, dt, params


@case(*range(20))
def everything_mixed(seed: int) -> Scene:
    return _mixed(seed, (5, 25))


CASE_PARAMS = [
    pytest.param(name, seed, id=f"{name}-seed{seed}")
    for name, (_, seeds) in CASES.items()
    for seed in seeds
]


@pytest.mark.parametrize(("name", "seed"), CASE_PARAMS)
def test_parity_with_pycocotools(name: str, seed: int, device: str) -> None:
    gt, dt, params = CASES[name][0](seed)
    assert dt, "pycocotools' loadRes cannot take an empty result list"
    check_parity(gt, dt, params, device)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_parity_with_pycocotools_larger(seed: int, device: str) -> None:
    gt, dt, params = _mixed(100 + seed, (120, 160))
    check_parity(gt, dt, params, device)


# --------------------------------------------------------------------------- the cases are real


def _per(dt: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], int]:
    counts: dict[tuple[Any, ...], int] = {}
    for d in dt:
        key = tuple(d[k] for k in keys)
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_cases_contain_what_they_name() -> None:
    """Guards against a generator change that quietly removes a hard case."""
    _, dt, _ = many_dets_per_image_category(0)
    assert max(_per(dt, "image_id", "category_id").values()) >= 150

    _, dt, _ = many_dets_per_image_spread_over_categories(0)
    assert max(_per(dt, "image_id").values()) > 100
    assert max(_per(dt, "image_id", "category_id").values()) < 100

    gt, dt, _ = area_range_boundaries(0)
    assert {32.0**2, 96.0**2} <= {a["area"] for a in gt["annotations"]}
    assert {32.0**2, 96.0**2} <= {d["bbox"][2] * d["bbox"][3] for d in dt}

    gt, _, _ = gt_annotation_id_zero(0)
    assert any(a["id"] == 0 for a in gt["annotations"])

    gt, dt, _ = images_with_neither(0)
    used = {a["image_id"] for a in gt["annotations"]} | {d["image_id"] for d in dt}
    assert any(i["id"] not in used for i in gt["images"])

    gt, dt, _ = categories_without_gt(0)
    assert {d["category_id"] for d in dt} - {a["category_id"] for a in gt["annotations"]}

    gt, dt, _ = categories_with_neither(0)
    used = {a["category_id"] for a in gt["annotations"]} | {d["category_id"] for d in dt}
    assert any(c["id"] not in used for c in gt["categories"])


def _tiny(add: Callable[[SceneBuilder, int, int], None]) -> tuple[Any, ...]:
    b = SceneBuilder(0)
    img, cat = b.image(), b.category()
    add(b, img, cat)
    return b.build()


def test_hand_made_scenes_do_what_they_say_on_pycocotools() -> None:
    """The constructions behind the named cases, checked on pycocotools itself."""
    # Equal IoU: the first detection takes the later GT, so at 0.8 the second one is a FP
    # (recall 1 there would mean the earlier GT had won the tie) ...
    gt, dt = _tiny(_equal_iou_pair)
    ev = cocoeval_arrays(gt, dt, {"iouThrs": np.array([0.5, 0.8])})
    assert ev.eval["recall"][:, 0, 0, 2].tolist() == [1.0, 0.5]
    # ... and with the later GT's id 0, the first detection's match does not count.
    gt, dt = _tiny(lambda b, i, c: _equal_iou_pair(b, i, c, later_id=0))
    ev = cocoeval_arrays(gt, dt, {"iouThrs": np.array([0.5, 0.8])})
    assert ev.eval["recall"][:, 0, 0, 2].tolist() == [0.5, 0.0]
    # Crowd: three detections inside one crowd are ignored, not false positives.
    def crowd_only(b: SceneBuilder, img: int, cat: int) -> None:
        b.gt(img, cat, [0, 0, 100, 100], iscrowd=1)
        b.gt(img, cat, [200, 0, 10, 10])
        b.dt(img, cat, [200, 0, 10, 10], score=0.1)
        for k in range(3):
            b.dt(img, cat, [10 * k, 0, 10, 10], score=0.9)

    gt, dt = _tiny(crowd_only)
    ev = cocoeval_arrays(gt, dt, {})
    assert ev.eval["precision"][0, :, 0, 0, 2].min() > 0.99


def test_tables_with_narrow_index_columns_evaluate_the_same() -> None:
    # Tables built by hand may carry int32 / uint8 index columns (the loaders give
    # int64): with more than 8 area ranges the per-range bits must not be truncated to
    # the image column's dtype.
    from assay.engine.evaluation.coco import evaluate_detection_tables
    from assay.engine.evaluation.params import CocoParams
    from assay.engine.formats.coco import load_coco_ground_truth, load_coco_results

    gt, dt = base_scene(4, n_images=8, area_edge_p=0.2).build()
    catalog, g = load_coco_ground_truth(gt)
    d = load_coco_results(dt, catalog)
    edges = [0, 100, 400, 900, 32**2, 1600, 2500, 3600, 4900, 96**2, 1e10]
    ranges = [[0, 1e10]] + [[lo, hi] for lo, hi in itertools.pairwise(edges)]
    params = CocoParams(areaRng=ranges, areaRngLbl=[f"r{i}" for i in range(len(ranges))])
    want = evaluate_detection_tables(g, d, catalog, params)
    for image_dtype, category_dtype in ((torch.int32, torch.int32), (torch.uint8, torch.int64)):
        g2 = dataclasses.replace(
            g, image=g.image.to(image_dtype), category=g.category.to(category_dtype)
        )
        d2 = dataclasses.replace(
            d, image=d.image.to(image_dtype), category=d.category.to(category_dtype)
        )
        got = evaluate_detection_tables(g2, d2, catalog, params)
        np.testing.assert_array_equal(got.precision, want.precision)
        np.testing.assert_array_equal(got.recall, want.recall)
        np.testing.assert_array_equal(got.scores, want.scores)
