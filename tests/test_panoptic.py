"""Panoptic quality: kernels and ``assay.evaluate_panoptic`` against other tools.

Oracles: a line-for-line transcription of COCO panopticapi's ``pq_compute``
(tests/panopticapi_oracle.py), hotcoco's PanopticEval (when installed), torchmetrics'
PanopticQuality / ModifiedPanopticQuality, and hand-worked scenes. Kernel tests run
on CPU and CUDA.

Hand-worked scene (4 x 6; things 1 person, 2 car; stuff 10 sky; ``.`` = void)::

    target ids                 predicted ids
    1 1 1 3 3 3                7 7 7 7 8 8        1, 4: person   7: person
    1 1 1 3 3 3                7 7 . 8 8 8        3: sky         8: sky
    2 2 . . 4 4                9 9 9 9 6 6        2: car, crowd  9: car
    2 2 . . 4 4                9 9 9 9 6 6                       6: car

    7 ~ 1: inter 5, union 6 + 6 - 5 = 7         -> TP person, IoU 5/7
    8 ~ 3: inter 5, union 5 + 6 - 5 = 6         -> TP sky,    IoU 5/6
    9: 4 px on crowd car 2 + 4 px on void = 8/8 -> ignored (not a FP)
    6: car on person 4, no car crowd under it   -> FP car
    4: unmatched person                         -> FN person;  2 is crowd: not a FN

    person PQ = (5/7) / (1 + 1/2) = 10/21, SQ 5/7, RQ 2/3; car PQ = SQ = RQ = 0
    (one FP); sky PQ = SQ = 5/6, RQ 1.  All = mean of the 3; Things = person, car.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import assay
import numpy as np
import pytest
import torch
from assay.engine.evaluation import PanopticResult
from assay.engine.evaluation import panoptic as panoptic_module
from assay.kernels.segmentation import (
    PanopticCounts,
    panoptic_averages,
    panoptic_counts,
    panoptic_intersections,
    panoptic_scores,
)
from panopticapi_oracle import panopticapi_pq

THINGS = (1, 2, 3)
STUFFS = (10, 11, 12)
CATEGORIES = {c: {"isthing": int(c in THINGS)} for c in sorted(THINGS + STUFFS)}

HAND_TARGET = np.array(
    [[1, 1, 1, 3, 3, 3], [1, 1, 1, 3, 3, 3], [2, 2, 0, 0, 4, 4], [2, 2, 0, 0, 4, 4]]
)
HAND_PREDS = np.array(
    [[7, 7, 7, 7, 8, 8], [7, 7, 0, 8, 8, 8], [9, 9, 9, 9, 6, 6], [9, 9, 9, 9, 6, 6]]
)
HAND_TARGET_SEGMENTS = [
    {"id": 1, "category_id": 1},
    {"id": 3, "category_id": 10},
    {"id": 2, "category_id": 2, "iscrowd": 1},
    {"id": 4, "category_id": 1},
]
HAND_PRED_SEGMENTS = [
    {"id": 7, "category_id": 1},
    {"id": 8, "category_id": 10},
    {"id": 9, "category_id": 2},
    {"id": 6, "category_id": 2},
]


# ------------------------------------------------------------------------- scenes


def _rect(rng: np.random.Generator, h: int, w: int) -> tuple[slice, slice]:
    y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
    dy, dx = int(rng.integers(1, h // 2 + 2)), int(rng.integers(1, w // 2 + 2))
    return slice(y0, min(h, y0 + dy)), slice(x0, min(w, x0 + dx))


def _scene(
    rng: np.random.Generator,
    h: int = 12,
    w: int = 16,
    *,
    crowd: bool = True,
    void: bool = True,
    pred_void: bool = True,
    keep_empty: bool = True,
) -> tuple[np.ndarray, list[dict[str, Any]], np.ndarray, list[dict[str, Any]]]:
    """One image: stuff bands, thing rectangles (some crowd), void patches; predictions
    relabel the target's segments (sometimes with a wrong category), then paint extra
    rectangles and void. One segment per stuff category and image, as in COCO."""
    gt = np.zeros((h, w), np.int64)
    segs: list[dict[str, Any]] = []
    nid = 1
    bands = int(rng.integers(1, 4))
    cuts = sorted(rng.choice(np.arange(1, w), bands - 1, replace=False).tolist())
    edges = [0, *cuts, w]
    stuff_id: dict[int, int] = {}
    for a, b in itertools.pairwise(edges):
        c = int(rng.choice(STUFFS))
        if c not in stuff_id:
            stuff_id[c] = nid
            segs.append({"id": nid, "category_id": c})
            nid += 1
        gt[:, a:b] = stuff_id[c]
    for _ in range(int(rng.integers(0, 6))):
        rec: dict[str, Any] = {"id": nid, "category_id": int(rng.choice(THINGS))}
        if crowd and rng.random() < 0.2:
            rec["iscrowd"] = 1
        segs.append(rec)
        gt[_rect(rng, h, w)] = nid
        nid += 1
    if void:
        for _ in range(int(rng.integers(0, 3))):
            gt[_rect(rng, h, w)] = 0
    present = set(np.unique(gt).tolist())
    # a listed target segment without pixels is a FN for both panopticapi and assay
    segs = [s for s in segs if s["id"] in present or (keep_empty and rng.random() < 0.1)]

    pred = np.zeros_like(gt)
    cat_of: dict[int, int] = {}
    stuff_pred: dict[int, int] = {}
    pid = 100

    def new_id(c: int) -> int:
        nonlocal pid
        if c in STUFFS and c in stuff_pred:
            return stuff_pred[c]
        pid += 1
        cat_of[pid] = c
        if c in STUFFS:
            stuff_pred[c] = pid
        return pid

    for s in segs:
        c = s["category_id"] if rng.random() < 0.8 else int(rng.choice(THINGS + STUFFS))
        pred[gt == s["id"]] = new_id(c)
    for _ in range(int(rng.integers(0, 5))):
        pred[_rect(rng, h, w)] = new_id(int(rng.choice(THINGS + STUFFS)))
    if pred_void and rng.random() < 0.5:
        pred[_rect(rng, h, w)] = 0
    if not pred_void:
        pred[pred == 0] = new_id(STUFFS[0])
    present = set(np.unique(pred).tolist())
    psegs = [{"id": p, "category_id": c} for p, c in cat_of.items() if p in present]
    rng.shuffle(psegs)  # type: ignore[arg-type]
    return gt, segs, pred, psegs


def _batch(
    seed: int, n: int = 4, **kwargs: Any
) -> tuple[np.ndarray, list[Any], np.ndarray, list[Any]]:
    rng = np.random.default_rng(seed)
    scenes = [_scene(rng, **kwargs) for _ in range(n)]
    return (
        np.stack([s[0] for s in scenes]),
        [s[1] for s in scenes],
        np.stack([s[2] for s in scenes]),
        [s[3] for s in scenes],
    )


def _pairs(ids: np.ndarray, segments: list[list[dict[str, Any]]]) -> np.ndarray:
    """Segment-id maps -> torchmetrics' (category, instance) maps; void -> category 0."""
    out = np.zeros((*ids.shape, 2), np.int64)
    for i, segs in enumerate(segments):
        for s in segs:
            m = ids[i] == s["id"]
            out[i][m, 0] = s["category_id"]
            out[i][m, 1] = s["id"]
    return out


def _assert_matches_panopticapi(
    r: PanopticResult, ref: dict[str, Any], per: dict[int, Any]
) -> None:
    for name, group in (("All", r.overall), ("Things", r.things), ("Stuff", r.stuff)):
        assert group.n == ref[name]["n"], name
        for key in ("pq", "sq", "rq"):
            ours, theirs = getattr(group, key), float(ref[name][key])
            if math.isnan(theirs):
                assert math.isnan(ours), (name, key)
            else:
                assert ours == pytest.approx(theirs, rel=0, abs=1e-12), (name, key)
    for k, cid in enumerate(r.category_ids):
        for key in ("pq", "sq", "rq"):
            assert getattr(r, key)[k] == pytest.approx(per[cid][key], rel=0, abs=1e-12), (cid, key)


# ------------------------------------------------------------------------- kernels


def test_intersections_brute_force(device: str) -> None:
    rng = np.random.default_rng(0)
    t = rng.integers(0, 4, (3, 7, 9))
    p = rng.integers(0, 6, (3, 7, 9))
    got = panoptic_intersections(
        torch.as_tensor(t, device=device), torch.as_tensor(p, device=device), 3, 5
    )
    assert got.device.type == torch.device(device).type and got.dtype == torch.int64
    want = np.zeros((3, 4, 6), np.int64)
    for n in range(3):
        for a, b in zip(t[n].ravel(), p[n].ravel(), strict=True):
            want[n, a, b] += 1
    np.testing.assert_array_equal(got.cpu().numpy(), want)


def test_kernels_empty(device: str) -> None:
    e = torch.zeros(0, 4, 4, dtype=torch.int64, device=device)
    inter = panoptic_intersections(e, e, 0, 0)
    assert inter.shape == (0, 1, 1)
    none = torch.zeros(0, 0, dtype=torch.int64, device=device)
    c = panoptic_counts(inter, none, none.bool(), none, 3)
    for v in c:
        assert v.shape == (3,) and v.device.type == torch.device(device).type
        assert float(v.sum()) == 0
    s = panoptic_scores(c)
    means, n = panoptic_averages(s, torch.tensor([True, False, True], device=device))
    assert torch.isnan(means).all() and n.tolist() == [0, 0, 0]


def test_kernels_hand_scene(device: str) -> None:
    # local indexes: target 1 -> 1, 3 -> 2, 2 -> 3, 4 -> 4; preds 7 -> 1, 8 -> 2, 9 -> 3, 6 -> 4
    tl = {0: 0, 1: 1, 3: 2, 2: 3, 4: 4}
    pl = {0: 0, 7: 1, 8: 2, 9: 3, 6: 4}
    t = torch.as_tensor(np.vectorize(tl.get)(HAND_TARGET)[None], device=device)
    p = torch.as_tensor(np.vectorize(pl.get)(HAND_PREDS)[None], device=device)
    inter = panoptic_intersections(t, p, 4, 4)
    cats = torch.tensor([[0, 2, 1, 0]], device=device)  # person, sky, car, person
    crowd = torch.tensor([[False, False, True, False]], device=device)
    pcats = torch.tensor([[0, 2, 1, 1]], device=device)
    c = panoptic_counts(inter, cats, crowd, pcats, 3)
    assert c.tp.tolist() == [1, 0, 1] and c.fp.tolist() == [0, 1, 0] and c.fn.tolist() == [1, 0, 0]
    assert c.iou_sum.tolist() == [5 / 7, 0.0, 5 / 6]
    s = panoptic_scores(c)
    assert s.pq.tolist() == [(5 / 7) / 1.5, 0.0, 5 / 6]


def test_only_the_last_crowd_segment_of_a_category_absorbs(device: str) -> None:
    # Two crowd "car" regions A (listed first) and B (listed last), one car prediction
    # P over all 4 pixels. panopticapi keeps one crowd id per category: the last listed.
    #   target A A A B   P on crowd B: 1/4, not > 1/2 -> FP (A+B would absorb it)
    #   target B B B A   P on crowd B: 3/4 > 1/2     -> ignored
    p = torch.tensor([[[1, 1, 1, 1]]], device=device)
    crowd = torch.tensor([[True, True]], device=device)
    cats = torch.tensor([[0, 0]], device=device)
    pcat = torch.tensor([[0]], device=device)
    for t, fp in (([1, 1, 1, 2], 1), ([2, 2, 2, 1], 0)):
        tt = torch.tensor([[t]], device=device)
        c = panoptic_counts(panoptic_intersections(tt, p, 2, 1), cats, crowd, pcat, 1)
        assert c.fp.tolist() == [fp] and c.fn.tolist() == [0] and c.tp.tolist() == [0]
        _, _, stat = panopticapi_pq(
            np.array([[t]]),
            np.array([[[9, 9, 9, 9]]]),
            [
                [
                    {"id": 1, "category_id": 3, "iscrowd": 1},
                    {"id": 2, "category_id": 3, "iscrowd": 1},
                ]
            ],
            [[{"id": 9, "category_id": 3}]],
            {3: {"isthing": 1}},
        )
        assert stat.pq_per_cat[3].fp == fp


# ------------------------------------------------------------------------- COCO protocol


def test_hand_scene() -> None:
    r = assay.evaluate_panoptic(
        HAND_TARGET[None],
        HAND_PREDS[None],
        [HAND_TARGET_SEGMENTS],
        [HAND_PRED_SEGMENTS],
        things={1, 2},
        stuffs={10},
        category_names={1: "person", 2: "car", 10: "sky"},
    )
    assert r.category_ids == (1, 2, 10) and r.category_names == ("person", "car", "sky")
    assert r.tp.tolist() == [1, 0, 1] and r.fp.tolist() == [0, 1, 0] and r.fn.tolist() == [1, 0, 0]
    assert r.pq.tolist() == [(5 / 7) / 1.5, 0.0, 5 / 6]
    assert r.sq.tolist() == [5 / 7, 0.0, 5 / 6]
    assert r.rq.tolist() == [1 / 1.5, 0.0, 1.0]
    assert r.overall.n == 3 and r.things.n == 2 and r.stuff.n == 1
    assert r.overall.pq == pytest.approx(((5 / 7) / 1.5 + 0 + 5 / 6) / 3, abs=1e-15)
    assert r.things.pq == pytest.approx((5 / 7) / 1.5 / 2, abs=1e-15)
    assert r.stuff.pq == 5 / 6
    ref, per, _ = panopticapi_pq(
        HAND_TARGET[None],
        HAND_PREDS[None],
        [HAND_TARGET_SEGMENTS],
        [HAND_PRED_SEGMENTS],
        {1: {"isthing": 1}, 2: {"isthing": 1}, 10: {"isthing": 0}},
    )
    _assert_matches_panopticapi(r, ref, per)


@pytest.mark.parametrize("seed", range(40))
def test_random_scenes_match_panopticapi(seed: int) -> None:
    gt, gs, pr, ps = _batch(seed)
    r = assay.evaluate_panoptic(gt, pr, gs, ps, things=THINGS, stuffs=STUFFS)
    ref, per, _ = panopticapi_pq(gt, pr, gs, ps, CATEGORIES)
    _assert_matches_panopticapi(r, ref, per)


def test_random_scenes_on_device(device: str) -> None:
    gt, gs, pr, ps = _batch(99, n=6)
    r = assay.evaluate_panoptic(
        torch.as_tensor(gt, device=device),
        torch.as_tensor(pr, device=device),
        gs,
        ps,
        things=THINGS,
        stuffs=STUFFS,
    )
    ref, per, _ = panopticapi_pq(gt, pr, gs, ps, CATEGORIES)
    _assert_matches_panopticapi(r, ref, per)


def test_empty_images_and_no_segments() -> None:
    # image 0: all void, no segments; image 1: a target segment and no prediction;
    # image 2: a prediction on void only (ignored: more than half on void).
    gt = np.zeros((3, 4, 4), np.int64)
    pr = np.zeros((3, 4, 4), np.int64)
    gt[1, :2] = 5
    pr[2, 1:3, 1:3] = 9
    gs = [[], [{"id": 5, "category_id": 1}], []]
    ps: list[list[dict[str, Any]]] = [[], [], [{"id": 9, "category_id": 2}]]
    r = assay.evaluate_panoptic(gt, pr, gs, ps, things=THINGS, stuffs=STUFFS)
    ref, per, _ = panopticapi_pq(gt, pr, gs, ps, CATEGORIES)
    _assert_matches_panopticapi(r, ref, per)
    assert r.fn.tolist() == [1, 0, 0, 0, 0, 0] and int(r.fp.sum()) == 0
    # nothing at all: every average is NaN (panopticapi divides by zero)
    z = assay.evaluate_panoptic(gt[:1], pr[:1], gs[:1], ps[:1], things=THINGS, stuffs=STUFFS)
    assert math.isnan(z.overall.pq) and z.overall.n == 0
    assert z.to_dict()["All"]["pq"] is None
    # zero images
    e = assay.evaluate_panoptic(gt[:0], pr[:0], [], [], things=THINGS, stuffs=STUFFS)
    assert e.overall.n == 0


def test_hotcoco_parity() -> None:
    panoptic = pytest.importorskip("hotcoco.panoptic")
    mask = pytest.importorskip("pycocotools.mask")

    def coco(maps: np.ndarray, segments: list[Any], results: bool) -> dict[str, Any]:
        images, anns = [], []
        for i, (m, segs) in enumerate(zip(maps, segments, strict=True)):
            images.append({"id": i + 1, "height": m.shape[0], "width": m.shape[1]})
            for s in segs:
                binary = np.asfortranarray((m == s["id"]).astype(np.uint8))
                rle = mask.encode(binary)
                rle["counts"] = rle["counts"].decode()
                ann = {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": s["category_id"],
                    "segmentation": rle,
                    "area": int(binary.sum()),
                    "iscrowd": s.get("iscrowd", 0),
                    "bbox": [0, 0, 1, 1],
                }
                if results:
                    ann["score"] = 1.0
                anns.append(ann)
        cats = [{"id": c, "name": str(c), "isthing": int(c in THINGS)} for c in CATEGORIES]
        return {"images": images, "annotations": anns, "categories": cats}

    for seed in range(5):
        gt, gs, pr, ps = _batch(200 + seed)
        ev = panoptic.PanopticEval(coco(gt, gs, False), coco(pr, ps, True))
        ev.evaluate()
        ref = ev.results()
        r = assay.evaluate_panoptic(gt, pr, gs, ps, things=THINGS, stuffs=STUFFS)
        for name, group in (("All", r.overall), ("Things", r.things), ("Stuff", r.stuff)):
            assert group.n == ref[name]["n"]
            for key in ("pq", "sq", "rq"):
                assert getattr(group, key) == pytest.approx(ref[name][key], abs=1e-12)


# ------------------------------------------------------------------------- torchmetrics


def _torchmetrics(
    gt: np.ndarray, pr: np.ndarray, modified: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    det = pytest.importorskip("torchmetrics.detection")
    kwargs: dict[str, Any] = {"allow_unknown_preds_category": True}
    cls = det.ModifiedPanopticQuality if modified else det.PanopticQuality
    overall = cls(set(THINGS), set(STUFFS), **kwargs)
    if modified:  # ModifiedPanopticQuality has no per-class output
        per_class = overall
    else:
        per_class = cls(
            set(THINGS), set(STUFFS), return_per_class=True, return_sq_and_rq=True, **kwargs
        )
    for m in (per_class, overall):
        m.update(torch.as_tensor(pr), torch.as_tensor(gt))
    return per_class.compute(), overall.compute()


@pytest.mark.parametrize("seed", range(25))
def test_torchmetrics_protocol_parity(seed: int) -> None:
    # void in targets and predictions: torchmetrics' own void rules
    gt, gs, pr, ps = _batch(1000 + seed, crowd=False)
    tgt, prd = _pairs(gt, gs), _pairs(pr, ps)
    per_class, overall = _torchmetrics(tgt, prd)
    r = assay.evaluate_panoptic(
        tgt,
        prd,
        things=THINGS,
        stuffs=STUFFS,
        protocol="torchmetrics",
        allow_unknown_preds_category=True,
    )
    # torchmetrics orders things then stuffs, each sorted: here that is sorted ids
    ours = np.stack([r.pq, r.sq, r.rq], 1)
    np.testing.assert_allclose(ours, per_class.double().numpy(), rtol=0, atol=1e-12)
    assert r.overall.pq == pytest.approx(float(overall), abs=1e-12, nan_ok=True)
    det = pytest.importorskip("torchmetrics.detection")
    groups = det.PanopticQuality(
        set(THINGS), set(STUFFS), return_sq_and_rq=True, allow_unknown_preds_category=True
    )
    groups.update(torch.as_tensor(prd), torch.as_tensor(tgt))
    pq, sq, rq = (float(v) for v in groups.compute())
    assert r.overall.pq == pytest.approx(pq, abs=1e-12, nan_ok=True)
    assert r.overall.sq == pytest.approx(sq, abs=1e-12, nan_ok=True)
    # torchmetrics averages its float32 RQ in float32: the same value, to the bit
    assert r.overall.rq == rq or (math.isnan(r.overall.rq) and math.isnan(rq))
    # the same through segment-id maps
    r2 = assay.evaluate_panoptic(
        gt, pr, gs, ps, things=THINGS, stuffs=STUFFS, protocol="torchmetrics"
    )
    np.testing.assert_allclose(np.stack([r2.pq, r2.sq, r2.rq], 1), ours, rtol=0, atol=0)


def test_torchmetrics_rq_mean_with_interleaved_ids() -> None:
    """Things and stuff ids interleaved: torchmetrics sums RQ things first, in float32."""
    det = pytest.importorskip("torchmetrics.detection")
    remap = np.zeros(13, np.int64)
    remap[[*THINGS, *STUFFS]] = [1, 3, 5, 2, 4, 6]
    things, stuffs = (1, 3, 5), (2, 4, 6)
    for seed in range(30):
        gt, gs, pr, ps = _batch(1000 + seed, crowd=False)
        tgt, prd = _pairs(gt, gs), _pairs(pr, ps)
        for t in (tgt, prd):
            t[..., 0] = remap[t[..., 0]]
        m = det.PanopticQuality(
            set(things), set(stuffs), return_sq_and_rq=True, allow_unknown_preds_category=True
        )
        m.update(torch.as_tensor(prd), torch.as_tensor(tgt))
        rq = float(m.compute()[2])
        r = assay.evaluate_panoptic(
            tgt,
            prd,
            things=things,
            stuffs=stuffs,
            protocol="torchmetrics",
            allow_unknown_preds_category=True,
        )
        assert r.overall.rq == rq or (math.isnan(r.overall.rq) and math.isnan(rq)), seed


@pytest.mark.parametrize("seed", range(15))
def test_torchmetrics_modified_parity(seed: int) -> None:
    gt, gs, pr, ps = _batch(2000 + seed, crowd=False)
    tgt, prd = _pairs(gt, gs), _pairs(pr, ps)
    _, overall = _torchmetrics(tgt, prd, modified=True)
    r = assay.evaluate_panoptic(
        tgt,
        prd,
        things=THINGS,
        stuffs=STUFFS,
        protocol="torchmetrics-modified",
        allow_unknown_preds_category=True,
    )
    assert r.overall.pq == pytest.approx(float(overall), abs=1e-12, nan_ok=True)


@pytest.mark.parametrize("seed", range(15))
def test_coco_protocol_equals_torchmetrics_without_void_predictions(seed: int) -> None:
    # Without crowd and with every pixel predicted, panopticapi's and torchmetrics'
    # rules coincide (up to torchmetrics' float32 IoU and RQ).
    # (and without listed target segments that have no pixel: torchmetrics cannot see them)
    gt, gs, pr, ps = _batch(3000 + seed, crowd=False, pred_void=False, keep_empty=False)
    per_class, overall = _torchmetrics(_pairs(gt, gs), _pairs(pr, ps))
    r = assay.evaluate_panoptic(gt, pr, gs, ps, things=THINGS, stuffs=STUFFS)
    np.testing.assert_allclose(
        np.stack([r.pq, r.sq, r.rq], 1), per_class.double().numpy(), rtol=0, atol=1e-6
    )
    assert r.overall.pq == pytest.approx(float(overall), abs=1e-6, nan_ok=True)


def test_void_predictions_split_the_protocols() -> None:
    # 1 x 4: target person 1 1 1 | sky 2      preds: . . person 5 | sky 6
    # COCO: IoU(5, 1) = 1 / (1 + 3 - 1) = 1/3 -> FN + FP.  torchmetrics also drops the
    # two target pixels predicted void from the union: 1 / (1 + 3 - 2 - 1) = 1 -> TP.
    gt = np.array([[[1, 1, 1, 2]]])
    pr = np.array([[[0, 0, 5, 6]]])
    gs = [[{"id": 1, "category_id": 1}, {"id": 2, "category_id": 10}]]
    ps = [[{"id": 5, "category_id": 1}, {"id": 6, "category_id": 10}]]
    coco = assay.evaluate_panoptic(gt, pr, gs, ps, things={1}, stuffs={10})
    tm = assay.evaluate_panoptic(gt, pr, gs, ps, things={1}, stuffs={10}, protocol="torchmetrics")
    assert coco.pq.tolist() == [0.0, 1.0] and coco.fn.tolist() == [1, 0]
    assert tm.pq.tolist() == [1.0, 1.0]
    per_class, _ = _torchmetrics(_pairs(gt, gs), _pairs(pr, ps))
    assert per_class[[0, 3], 0].tolist() == [1.0, 1.0]  # person (thing 1), sky (stuff 10)


# ------------------------------------------------------------------------- streaming


def test_accumulator_and_chunks_equal_one_shot(monkeypatch: pytest.MonkeyPatch) -> None:
    gt, gs, pr, ps = _batch(7, n=7)
    once = assay.evaluate_panoptic(gt, pr, gs, ps, things=THINGS, stuffs=STUFFS)
    acc = assay.PanopticAccumulator(THINGS, STUFFS)
    for i in range(0, 7, 3):
        acc.update(gt[i : i + 3], pr[i : i + 3], gs[i : i + 3], ps[i : i + 3])
    streamed = acc.compute()
    np.testing.assert_array_equal(streamed.tp, once.tp)
    np.testing.assert_allclose(streamed.iou_sum, once.iou_sum, rtol=0, atol=1e-12)
    assert streamed.overall.pq == pytest.approx(once.overall.pq, abs=1e-12)
    other = assay.PanopticAccumulator(THINGS, STUFFS)
    other.update(gt, pr, gs, ps)
    acc.merge(other)
    np.testing.assert_array_equal(acc.compute().tp, 2 * once.tp)
    acc.reset()
    assert int(acc.tp.sum()) == 0
    with pytest.raises(ValueError, match="`other`"):
        acc.merge(assay.PanopticAccumulator(THINGS, STUFFS, protocol="torchmetrics"))
    # chunked evaluate_panoptic (one image per chunk): same numbers, errors name the image
    monkeypatch.setattr(panoptic_module, "_PIXELS_PER_CHUNK", 1)
    chunked = assay.evaluate_panoptic(gt, pr, gs, ps, things=THINGS, stuffs=STUFFS)
    np.testing.assert_array_equal(chunked.tp, once.tp)
    np.testing.assert_array_equal(chunked.fp, once.fp)
    assert chunked.overall.pq == pytest.approx(once.overall.pq, abs=1e-12)
    bad = pr.copy()
    bad[5, 0, 0] = 77
    with pytest.raises(ValueError, match=r"but got id 77 at index \(5, 0, 0\)"):
        assay.evaluate_panoptic(gt, bad, gs, ps, things=THINGS, stuffs=STUFFS)


def test_result_to_dict_and_summary() -> None:
    r = assay.evaluate_panoptic(
        HAND_TARGET[None],
        HAND_PREDS[None],
        [HAND_TARGET_SEGMENTS],
        [HAND_PRED_SEGMENTS],
        things={1, 2},
        stuffs={10},
    )
    d = r.to_dict()
    assert set(d) == {"protocol", "All", "Things", "Stuff", "per_class"}
    assert d["All"]["n"] == 3 and d["per_class"][1]["fp"] == 1
    assert "All" in r.summary() and "Things" in r.summary()


# ------------------------------------------------------------------------- bad input


def _hand(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "target": HAND_TARGET[None].copy(),
        "preds": HAND_PREDS[None].copy(),
        "target_segments": [list(HAND_TARGET_SEGMENTS)],
        "pred_segments": [list(HAND_PRED_SEGMENTS)],
        "things": {1, 2},
        "stuffs": {10},
    }
    args.update(changes)
    return args


def _with(arr: np.ndarray, index: tuple[int, ...], value: int) -> np.ndarray:
    out = arr.copy()
    out[index] = value
    return out


@pytest.mark.parametrize(
    ("changes", "error", "pattern"),
    [
        (
            {"preds": _with(HAND_PREDS[None], (0, 1, 2), 42)},
            ValueError,
            r"Expected every nonzero id of `preds` to be listed in `pred_segments`, "
            r"but got id 42 at index \(0, 1, 2\)",
        ),
        (
            {"target": _with(HAND_TARGET[None], (0, 3, 5), 8)},
            ValueError,
            r"`target` to be listed in `target_segments`, but got id 8 at index \(0, 3, 5\)",
        ),
        (
            {"pred_segments": [[*HAND_PRED_SEGMENTS, {"id": 55, "category_id": 1}]]},
            ValueError,
            r"Expected every segment in `pred_segments` to cover at least one pixel, "
            r"but got `pred_segments\[0\]\[4\]` with none",
        ),
        (
            {"pred_segments": [[{"id": 7, "category_id": 99}, *HAND_PRED_SEGMENTS[1:]]]},
            ValueError,
            r"Expected `pred_segments\[0\]\[0\]\['category_id'\]` in things \| stuffs "
            r"\[1, 2, 10\], but got 99 \(pass allow_unknown_preds_category=True",
        ),
        (
            {"target_segments": [[{"id": 1, "category_id": 7}, *HAND_TARGET_SEGMENTS[1:]]]},
            ValueError,
            r"Expected `target_segments\[0\]\[0\]\['category_id'\]` in things \| stuffs",
        ),
        (
            {"pred_segments": [[*HAND_PRED_SEGMENTS, {"id": 7, "category_id": 1}]]},
            ValueError,
            r"Expected unique segment ids in `pred_segments\[0\]`, but got 7 twice",
        ),
        (
            {"target_segments": [[{"id": 0, "category_id": 1}]]},
            ValueError,
            r"Expected `target_segments\[0\]\[0\]\['id'\]` to be > 0 \(0 is void\), but got 0",
        ),
        (
            {"target_segments": [[{"id": 1, "category_id": "1"}]]},
            TypeError,
            r"Expected `target_segments\[0\]\[0\]\['category_id'\]` to be an int, but got '1'",
        ),
        (
            {"target_segments": [[{"id": 1}]]},
            TypeError,
            r"Expected `target_segments\[0\]\[0\]` to be a mapping with 'id' and 'category_id'",
        ),
        (
            {"target_segments": [[{"id": 1, "category_id": 1, "iscrowd": 2}]]},
            ValueError,
            r"Expected `target_segments\[0\]\[0\]\['iscrowd'\]` to be 0 or 1, but got 2",
        ),
        (
            {"protocol": "torchmetrics"},
            ValueError,
            r"Expected no crowd segment with this protocol .* but got `target_segments\[0\]\[2\]`",
        ),
        (
            {"target_segments": [], "pred_segments": []},
            ValueError,
            r"Expected `target_segments` to have one entry per image \(1\), but got 0",
        ),
        (
            {"pred_segments": None},
            ValueError,
            r"Expected `pred_segments` too when segment records are given, but got None",
        ),
        (
            {"preds": HAND_PREDS[None, :, :5]},
            ValueError,
            r"Expected `preds` to have the shape of `target` \(1, 4, 6\), but got \(1, 4, 5\)",
        ),
        (
            {"preds": HAND_PREDS[None].astype(np.float64)},
            TypeError,
            r"Expected `preds` to hold integer labels, but got a numpy array of dtype float64",
        ),
        (
            {"target_segments": None, "pred_segments": None},
            ValueError,
            r"Expected `target` to be \(N, H, W, 2\) \(category, instance\) maps",
        ),
        (
            {"things": {1, 2}, "stuffs": {2, 10}},
            ValueError,
            r"Expected `things` and `stuffs` to be disjoint, but got \[2\] in both",
        ),
        ({"things": set(), "stuffs": set()}, ValueError, r"Expected `things` or `stuffs`"),
        (
            {"things": [1, "2"]},
            TypeError,
            r"Expected `things` to hold int category ids, but got '2'",
        ),
        (
            {"protocol": "cityscapes"},
            ValueError,
            r"Expected `protocol` to be one of \('coco', 'torchmetrics', "
            r"'torchmetrics-modified'\), but got 'cityscapes'",
        ),
    ],
)
def test_bad_input(changes: dict[str, Any], error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        assay.evaluate_panoptic(**_hand(**changes))


@pytest.mark.parametrize("torch_input", [False, True])
def test_a_single_2d_segment_id_map_is_refused_by_name(torch_input: bool) -> None:
    """Audit: one image's (H, W) map was read as H images of width W, and the error that
    followed ('one entry per image (4), but got 1') did not say why."""
    def as_input(a: np.ndarray) -> Any:
        return torch.as_tensor(a) if torch_input else a

    pattern = (
        r"Expected `target` to be \(N, H, W\) segment-id maps \(a batch of images\), but got "
        r"a 2-D map of shape \(4, 6\) \(it would be read as 4 images of width 6\); for one "
        r"image pass `target\[None\]` \(or `target.unsqueeze\(0\)`\) and its segments as a "
        r"one-entry list"
    )
    args = _hand(target=as_input(HAND_TARGET), preds=as_input(HAND_PREDS))
    with pytest.raises(ValueError, match=pattern):
        assay.evaluate_panoptic(**args)
    acc = assay.PanopticAccumulator(things={1, 2}, stuffs={10})
    with pytest.raises(ValueError, match=pattern):
        acc.update(as_input(HAND_TARGET), as_input(HAND_PREDS),
                   args["target_segments"], args["pred_segments"])
    # also when the segments happen to have one entry per row
    rows = HAND_TARGET.shape[0]
    with pytest.raises(ValueError, match=pattern):
        assay.evaluate_panoptic(**_hand(
            target=as_input(HAND_TARGET), preds=as_input(HAND_PREDS),
            target_segments=[list(HAND_TARGET_SEGMENTS)] * rows,
            pred_segments=[list(HAND_PRED_SEGMENTS)] * rows,
        ))
    with pytest.raises(ValueError, match=r"\(N, H, W\) segment-id maps .* got shape \(6,\)"):
        assay.evaluate_panoptic(**_hand(target=HAND_TARGET[0], preds=HAND_PREDS[0]))
    # as the message says: the same numbers as the batch of one
    one = assay.evaluate_panoptic(**_hand(target=as_input(HAND_TARGET)[None],
                                          preds=as_input(HAND_PREDS)[None]))
    assert one.tp.tolist() == assay.evaluate_panoptic(**_hand()).tp.tolist()


@pytest.mark.parametrize("name", ["target", "preds"])
def test_negative_ids_in_a_later_image_are_not_listed(name: str) -> None:
    """A negative id's pixel key (image * span + id) is an earlier image's key: it was
    found there, and scored (IoU 0.25 counted as a match with IoU 1)."""
    segs = [[{"id": 5, "category_id": 1}], [{"id": 2, "category_id": 2}]]
    maps = {
        "target": np.array([[[5, 5, 5, 5]], [[2, 2, 2, 2]]]),
        "preds": np.array([[[5, 5, 5, 5]], [[2, 2, 2, 2]]]),
    }
    maps[name][1, 0, :3] = -1
    seg_name = "target_segments" if name == "target" else "pred_segments"
    with pytest.raises(
        ValueError,
        match=rf"nonzero id of `{name}` to be listed in `{seg_name}`, but got id -1 at "
        r"index \(1, 0, 0\)",
    ):
        assay.evaluate_panoptic(
            maps["target"], maps["preds"], segs, segs, things={1}, stuffs={2}
        )


def test_unknown_categories_in_pair_maps() -> None:
    tgt = np.array([[[[1, 1], [10, 0], [7, 0]]]])  # target: unknown 7 is void
    prd = np.array([[[[1, 1], [10, 0], [7, 3]]]])
    with pytest.raises(
        ValueError,
        match=r"Expected `preds` categories in things \| stuffs "
        r"\[1, 10\], but got 7 at index \(0, 0, 2\)",
    ):
        assay.evaluate_panoptic(tgt, prd, things={1}, stuffs={10})
    r = assay.evaluate_panoptic(
        tgt, prd, things={1}, stuffs={10}, allow_unknown_preds_category=True
    )
    assert r.tp.tolist() == [1, 1] and int(r.fp.sum()) == 0
    # allowed unknown categories in segment records become void too
    r2 = assay.evaluate_panoptic(
        np.array([[[1, 2]]]),
        np.array([[[1, 3]]]),
        [[{"id": 1, "category_id": 1}, {"id": 2, "category_id": 10}]],
        [[{"id": 1, "category_id": 1}, {"id": 3, "category_id": 99}]],
        things={1},
        stuffs={10},
        allow_unknown_preds_category=True,
    )
    assert r2.tp.tolist() == [1, 0] and r2.fn.tolist() == [0, 1] and int(r2.fp.sum()) == 0


def test_counts_are_reducible_like_torchmetrics_state() -> None:
    # PanopticCounts from two halves sum to the whole (what sync / merge rely on).
    gt, gs, pr, ps = _batch(11, n=4)
    whole = assay.evaluate_panoptic(gt, pr, gs, ps, things=THINGS, stuffs=STUFFS)
    halves = [
        assay.evaluate_panoptic(gt[s], pr[s], gs[s], ps[s], things=THINGS, stuffs=STUFFS)
        for s in (slice(0, 2), slice(2, 4))
    ]
    summed = PanopticCounts(
        *(
            torch.as_tensor(getattr(halves[0], k) + getattr(halves[1], k))
            for k in ("iou_sum", "tp", "fp", "fn")
        )
    )
    np.testing.assert_allclose(panoptic_scores(summed).pq.numpy(), whole.pq, rtol=0, atol=1e-12)


def test_accumulators_merge_only_their_own_kind() -> None:
    with pytest.raises(TypeError, match="`other` to be a PanopticAccumulator, but got int"):
        assay.PanopticAccumulator(THINGS, STUFFS).merge(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`other` to be a SemanticAccumulator, but got int"):
        assay.SemanticAccumulator(3).merge(5)  # type: ignore[arg-type]


def test_instance_ids_too_spread_for_one_key_warn_nothing() -> None:
    """The fallback of pair maps (ids spread past one int64 key): torch's searchsorted
    warned about a strided boundary tensor."""
    t = np.array([[[[1, -(2**61)], [1, 2**61]], [[2, 0], [2, 0]]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = assay.evaluate_panoptic(t, t.copy(), things={1}, stuffs={2}, protocol="torchmetrics")
    assert r.tp.tolist() == [2, 1] and r.overall.pq == 1.0
