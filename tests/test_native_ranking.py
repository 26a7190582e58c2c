"""The C loop of ``coco_accumulate`` (kernels/_native/ranking.c) against the torch path.

The torch path (``ASSAY_COMPILED=0``) is pycocotools' number for number (the parity
tests); the C loop must give its precision / recall / scores bit for bit
(``torch.equal``): on the accumulation inputs of real evaluations (the pycocotools
parity scenes, the streaming metric's scenes) and on random inputs built to hit the
hard cases (crowd / ignored ground truths, ids 0, detections outside the area
ranges, categories without ground truth or without detections, empty inputs, score
ties, unsorted maxDets and recall thresholds, ranks past 100).
"""

from __future__ import annotations

import warnings
from typing import Any

import assay
import assay.engine.evaluation.coco as coco_engine
import assay.engine.streaming._detection_stages as stages
import numpy as np
import pytest
import torch
from assay.kernels import _compiled, _native
from assay.kernels.matching import GreedyMatches
from assay.kernels.ranking import CocoAccumulation, _coco_accumulate, coco_accumulate
from detection_scenes import make_scene

BUILT = _native.library("_native_ranking") is not None
pytestmark = pytest.mark.skipif(not BUILT, reason="the C ranking loops are not built")
REC_THRS = np.linspace(0.0, 1.00, 101)


def _both(monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any]) -> CocoAccumulation:
    """The C result of ``_coco_accumulate(**kwargs)``, after checking it equals torch's."""
    monkeypatch.setenv("ASSAY_COMPILED", "0")
    assert not _compiled.accumulate_available(kwargs["dt_score"])
    ref = _coco_accumulate(**kwargs)
    monkeypatch.setenv("ASSAY_COMPILED", "1")
    monkeypatch.setenv("ASSAY_NATIVE", "1")
    assert _compiled.accumulate_available(kwargs["dt_score"])
    got = _coco_accumulate(**kwargs)
    for name in ("precision", "recall", "scores"):
        a, b = getattr(ref, name), getattr(got, name)
        assert a.shape == b.shape and a.dtype == b.dtype == torch.float64, name
        if not torch.equal(a, b):
            bad = (a != b).nonzero()
            where = tuple(bad[0].tolist())
            raise AssertionError(
                f"{name}: {bad.shape[0]} cells differ, first {list(where)}: "
                f"torch {a[where].item()!r}, C {b[where].item()!r}"
            )
    return got


def _recorded(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[dict[str, Any]]:
    """Records the arguments of every ``module._coco_accumulate`` call (torch path)."""
    calls: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> CocoAccumulation:
        calls.append(kwargs)
        return _coco_accumulate(**kwargs)

    monkeypatch.setattr(module, "_coco_accumulate", record)
    monkeypatch.setenv("ASSAY_COMPILED", "0")
    return calls


# ------------------------------------------------------------------ real evaluations


def _parity_cases() -> list[Any]:
    pytest.importorskip("pycocotools")
    from test_coco_random_parity import CASES

    return [
        pytest.param(name, seed, id=f"{name}-seed{seed}")
        for name, (_, seeds) in CASES.items()
        for seed in seeds[:1]
    ]


try:
    PARITY_CASES = _parity_cases()
except pytest.skip.Exception:  # no pycocotools: the scene builder needs it
    PARITY_CASES = []


@pytest.mark.parametrize(("name", "seed"), PARITY_CASES)
def test_equals_torch_on_parity_scenes(
    monkeypatch: pytest.MonkeyPatch, name: str, seed: int
) -> None:
    """Every named hard case of the pycocotools parity tests (crowds, ids 0, ties,
    area bounds, unsorted maxDets / thresholds, > 100 detections per image...)."""
    from test_coco_random_parity import CASES

    gt, dt, params = CASES[name][0](seed)
    calls = _recorded(monkeypatch, coco_engine)
    assay.evaluate_coco(gt, dt, "bbox", device="cpu", params=params)
    assert len(calls) == 1
    _both(monkeypatch, calls[0])


@pytest.mark.parametrize(
    "scene",
    [
        {"crowd": 0.3, "given_area": True},
        {"coarse_scores": True, "empty_images": True},
        {"many_dets": True, "crowd": 0.2},
    ],
)
@pytest.mark.parametrize("average", ["macro", "micro"])
def test_equals_torch_on_streaming_scenes(
    monkeypatch: pytest.MonkeyPatch, scene: dict[str, Any], average: str
) -> None:
    preds, target = make_scene(3, images=24, **scene)
    calls = _recorded(monkeypatch, stages)
    metric = assay.MeanAveragePrecision(average=average)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric.update(preds, target)
        metric.compute()
    assert calls
    for kwargs in calls:
        _both(monkeypatch, kwargs)


# ------------------------------------------------------------------ random inputs


def _random_inputs(
    seed: int,
    num_cat: int = 4,
    num_img: int = 12,
    num_area: int = 3,
    num_thr: int = 4,
    max_dets: tuple[int, ...] = (1, 10, 100),
    rec_thresholds: Any = REC_THRS,
    dets: tuple[int, int] = (0, 30),
    gts: tuple[int, int] = (0, 8),
) -> dict[str, Any]:
    """Consistent accumulation inputs: per (image, category) groups of detections and
    ground truths, matches inside a group (a counted ground truth matched at most once
    per (threshold, area)), crowd-like ignored ground truths matched any number of
    times, ids 0, coarse scores (ties), area ranges that leave detections outside."""
    rng = np.random.default_rng(seed)
    top = max(max_dets)
    dt_cat, dt_img, dt_score, dt_rank, gt_cat, gt_img = [], [], [], [], [], []
    cats_with_gt = rng.random(num_cat) < 0.75
    cats_with_dt = rng.random(num_cat) < 0.8
    for img in range(num_img):
        for cat in range(num_cat):
            ng = int(rng.integers(*gts)) if cats_with_gt[cat] else 0
            nd = min(int(rng.integers(*dets)) if cats_with_dt[cat] else 0, top)
            gt_cat += [cat] * ng
            gt_img += [img] * ng
            score = np.sort(rng.integers(1, 6, nd) / 5 if seed % 2 else rng.random(nd))[::-1]
            dt_cat += [cat] * nd
            dt_img += [img] * nd
            dt_score += score.tolist()
            dt_rank += list(range(nd))
    num_det, num_gt = len(dt_cat), len(gt_cat)
    cat, img = np.array(dt_cat, np.int64), np.array(dt_img, np.int64)
    score, rank = np.array(dt_score, np.float64), np.array(dt_rank, np.int64)
    # accumulation order: category, descending score, image, rank
    order = np.lexsort((rank, img, -score, cat))
    cat, img, score, rank = cat[order], img[order], score[order], rank[order]
    gcat, gimg = np.array(gt_cat, np.int64), np.array(gt_img, np.int64)
    outside = rng.random((num_area, num_det)) < 0.25
    outside[0] = False  # an "all" range
    gt_ignore = rng.random((num_area, num_gt)) < 0.3
    gt_ignore[0] = rng.random(num_gt) < 0.1  # crowds: ignored in every area range
    gt_ignore |= gt_ignore[0]
    gt_id_nonzero = rng.random(num_gt) > 0.1
    cand = np.flatnonzero(rng.random(num_det) < 0.7)
    gt_index = np.full((num_thr, num_area, cand.shape[0]), -1, np.int64)
    for t in range(num_thr):
        for a in range(num_area):
            taken = np.zeros(num_gt, bool)
            for s, d in enumerate(cand):
                if rng.random() < 0.2 + 0.15 * t:
                    continue
                same = np.flatnonzero((gcat == cat[d]) & (gimg == img[d]))
                free = same[~taken[same] | gt_ignore[0, same]]
                if free.size:
                    g = int(rng.choice(free))
                    gt_index[t, a, s] = g
                    taken[g] = not gt_ignore[0, g]
    counted = np.zeros((num_cat, num_area), np.int64)
    for a in range(num_area):
        np.add.at(counted[:, a], gcat[~gt_ignore[a]], 1)
    return {
        "dt_segment": torch.from_numpy(cat),
        "dt_rank": torch.from_numpy(rank),
        "dt_score": torch.from_numpy(score),
        "dt_outside": torch.from_numpy(outside),
        "matches": GreedyMatches(torch.from_numpy(cand), torch.from_numpy(gt_index)),
        "gt_ignore": torch.from_numpy(gt_ignore),
        "gt_id_nonzero": torch.from_numpy(gt_id_nonzero),
        "num_counted": torch.from_numpy(counted),
        "max_dets": list(max_dets),
        "rec_thresholds": rec_thresholds,
    }


@pytest.mark.parametrize("seed", range(12))
def test_equals_torch_on_random_inputs(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    kwargs = _random_inputs(seed)
    acc = _both(monkeypatch, kwargs)
    counted = kwargs["num_counted"]
    assert (acc.recall[:, counted == 0] == -1).all()
    assert (acc.precision[:, :, counted == 0] == -1).all()
    # the public entry point (checks first) takes the same loop
    public = coco_accumulate(**kwargs)
    assert torch.equal(public.precision, acc.precision)


@pytest.mark.parametrize(
    "case",
    [
        {"max_dets": (10, 1, 100)},  # unsorted maxDets
        {"max_dets": (3,)},
        {"max_dets": (1, 5, 300), "dets": (80, 160)},  # ranks past 100
        {"max_dets": (2, 200, 20), "dets": (100, 200), "num_img": 3},
        {"rec_thresholds": [0.5, 0.0, 1.0, 0.25]},  # unsorted: pycocotools stops early
        {"rec_thresholds": [0.3, 0.3, 0.1, 0.9, 0.0]},  # duplicates
        {"rec_thresholds": torch.tensor([1.0, 0.0])},
        {"rec_thresholds": [1 / 3, 2 / 3, 1.0, 0.1 + 0.2], "gts": (1, 4)},  # exact fractions
        {"rec_thresholds": []},
        {"num_thr": 1, "num_area": 1},
        {"num_thr": 70},  # more thresholds than one 64-bit mask
        {"gts": (20, 40), "dets": (0, 6)},  # recall never reaches the high thresholds
        {"gts": (0, 1)},  # mostly categories without ground truth
        {"dets": (0, 1)},  # mostly categories without detections
        {"num_cat": 1, "num_img": 40},
    ],
)
@pytest.mark.parametrize("seed", range(3))
def test_equals_torch_on_hard_cases(
    monkeypatch: pytest.MonkeyPatch, case: dict[str, Any], seed: int
) -> None:
    _both(monkeypatch, _random_inputs(100 + seed, **case))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_narrow_scores_through_the_public_entry(
    monkeypatch: pytest.MonkeyPatch, dtype: torch.dtype
) -> None:
    """Scores of any float dtype (NumPy has no bfloat16) give the torch path's arrays."""
    kwargs = _random_inputs(7)
    kwargs["dt_score"] = kwargs["dt_score"].to(dtype)
    acc = _both(monkeypatch, kwargs)
    public = coco_accumulate(**kwargs)
    assert torch.equal(public.scores, acc.scores)


def test_max_dets_beyond_int64(monkeypatch: pytest.MonkeyPatch) -> None:
    """maxDets values past int64 (every rank is below them): both paths give what a
    maxDets of 10**6 gives (the torch path compared ranks with a wrapped 2**63)."""
    for max_dets in ([1, 10, 2**63], [2**63, 2**64], [2**70, 5]):
        kwargs = _random_inputs(8)
        kwargs["max_dets"] = max_dets
        got = _both(monkeypatch, kwargs)
        kwargs["max_dets"] = [min(m, 10**6) for m in max_dets]
        assert torch.equal(got.precision, _both(monkeypatch, kwargs).precision)


def _empty(num_det: int, num_gt: int, num_cat: int) -> dict[str, Any]:
    num_thr, num_area = 2, 3
    return {
        "dt_segment": torch.zeros(num_det, dtype=torch.int64),
        "dt_rank": torch.arange(num_det, dtype=torch.int64),
        "dt_score": torch.linspace(1, 0, num_det, dtype=torch.float64),
        "dt_outside": torch.zeros((num_area, num_det), dtype=torch.bool),
        "matches": GreedyMatches(
            torch.zeros(0, dtype=torch.int64),
            torch.zeros((num_thr, num_area, 0), dtype=torch.int64),
        ),
        "gt_ignore": torch.zeros((num_area, num_gt), dtype=torch.bool),
        "gt_id_nonzero": torch.ones(num_gt, dtype=torch.bool),
        "num_counted": torch.full((num_cat, num_area), num_gt, dtype=torch.int64),
        "max_dets": [1, 10, 100],
        "rec_thresholds": REC_THRS,
    }


@pytest.mark.parametrize(
    ("num_det", "num_gt", "num_cat"), [(0, 0, 0), (0, 0, 2), (0, 3, 1), (5, 0, 1), (5, 2, 1)]
)
def test_equals_torch_on_empty_inputs(
    monkeypatch: pytest.MonkeyPatch, num_det: int, num_gt: int, num_cat: int
) -> None:
    acc = _both(monkeypatch, _empty(num_det, num_gt, num_cat))
    assert acc.precision.shape == (2, 101, num_cat, 3, 3)
    assert acc.recall.shape == (2, num_cat, 3, 3)


def test_the_switches_take_the_torch_path(monkeypatch: pytest.MonkeyPatch) -> None:
    t = torch.zeros(1)
    monkeypatch.setenv("ASSAY_NATIVE", "0")
    assert not _compiled.accumulate_available(t)
    monkeypatch.setenv("ASSAY_NATIVE", "1")
    monkeypatch.setenv("ASSAY_COMPILED", "off")
    assert not _compiled.accumulate_available(t)
    monkeypatch.setenv("ASSAY_COMPILED", "1")
    assert _compiled.accumulate_available(t)
    assert not _compiled.accumulate_available(t.to("meta"))


def test_the_loops_refuse_what_they_would_misread() -> None:
    from assay.kernels import _native_ranking_kernels as k

    seg = np.zeros(3, np.int64)
    rel = np.zeros((2, 1, 1), np.int64)
    with pytest.raises(TypeError, match="C-contiguous int64"):
        k.plain_counts_range(
            seg.astype(np.int32), seg, np.zeros((1, 3), bool), np.arange(2), np.ones(1, np.int64),
            0, 2, rel,
        )  # fmt: skip
    with pytest.raises(ValueError, match="`rel` of shape"):
        k.plain_counts_range(
            seg, seg, np.zeros((1, 3), bool), np.arange(2), np.ones(1, np.int64), 0, 2, rel[:1]
        )
    with pytest.raises(ValueError, match="lo <= hi"):
        k.plain_counts_range(
            seg, seg, np.zeros((1, 3), bool), np.arange(2), np.ones(1, np.int64), 0, 3, rel
        )
