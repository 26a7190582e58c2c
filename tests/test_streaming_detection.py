"""``assay.MeanAveragePrecision`` against torchmetrics' and against assay's offline evaluator.

The oracle is torchmetrics' ``MeanAveragePrecision(backend="pycocotools")`` on identical
inputs: every output key must be equal, values after rounding assay's float64 to
torchmetrics' float32 (``torch.equal``), ``classes`` exactly, and with
``extended_summary`` the ``precision`` / ``recall`` / ``scores`` arrays and every
``ious`` entry exactly.

torchvision cannot be installed on these machines (CPU torch; its wheels are CUDA
builds) and torchmetrics refuses to run without it: the tests run torchmetrics through
``tests/torchvision_shim.py``, a stand-in ``torchvision.ops.box_convert`` written after
torchvision's own arithmetic, put into ``sys.modules`` (and torchmetrics'
``_TORCHVISION_AVAILABLE`` flag patched) only inside each test, by a context manager.

Scenes come from ``tests/detection_scenes.py`` (seeded) with named hard cases: crowd
regions, given areas (0 and exactly on the area bounds), tied scores within and across
images, images without detections / ground truth, classes only in predictions, more
than 100 detections per image; configurations: class metrics, micro average, custom
thresholds, extended summary; box formats; bbox, segm and both. assay is fed in
uneven batches, torchmetrics in one. Also: many small batches equal one batch (bit for
bit), packed input equals lists, equality with ``assay.evaluate_detections`` /
``evaluate_coco`` (1e-12), the round-based matcher equals the rank-step matcher, bad
input, reset / state_dict / ``.to`` / ``forward``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import assay
import numpy as np
import pytest
import torch
from assay.kernels.matching import (
    coco_greedy_match,
    coco_greedy_match_rounds,
    group_pairs,
    rank_within_groups,
)
from detection_scenes import CLASSES, PRED_ONLY, Scene, make_scene, to_format
from torch import Tensor
from torchvision_shim import torchmetrics_map

pytest.importorskip("pycocotools")

CASES: dict[str, dict[str, Any]] = {
    "basic": {},
    "crowd_and_area": {"crowd": 0.3, "given_area": True},
    "ties": {"coarse_scores": True},
    "empty_images": {"empty_images": True},
    "many_detections": {"many_dets": True, "images": 6},
}
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "class_metrics": {"class_metrics": True},
    "micro": {"average": "micro"},
    "micro_class_metrics": {"average": "micro", "class_metrics": True},
    "custom_thresholds": {
        "iou_thresholds": [0.3, 0.55, 0.75, 0.9],
        "rec_thresholds": [0.0, 0.2, 0.5, 0.9, 1.0],
        "max_detection_thresholds": [1, 5, 20],
        "class_metrics": True,
    },
    "extended": {"extended_summary": True, "class_metrics": True},
}
SPLIT = (3, 1, 2)  # assay's batches: 3 images, 1, 2, then the rest


@pytest.fixture
def tm_map() -> Iterator[Any]:
    with torchmetrics_map() as cls:
        yield cls


def _empty_pred() -> dict[str, Tensor]:
    return {"boxes": torch.zeros((0, 4)), "scores": torch.zeros(0), "labels": _no_labels()}


def _empty_truth() -> dict[str, Tensor]:
    return {"boxes": torch.zeros((0, 4)), "labels": _no_labels()}


def _no_labels() -> Tensor:
    return torch.zeros(0, dtype=torch.long)


def _batches(scene: Scene, sizes: tuple[int, ...] = SPLIT) -> Iterator[Scene]:
    preds, target = scene
    start = 0
    for n in (*sizes, len(preds)):
        if start < len(preds):
            yield preds[start : start + n], target[start : start + n]
        start += n


def _ours(scene: Scene, sizes: tuple[int, ...] = SPLIT, **kwargs: Any) -> dict[str, Any]:
    metric = assay.MeanAveragePrecision(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for preds, target in _batches(scene, sizes):
            metric.update(preds, target)
        return dict(metric.compute())


def _theirs(tm_map: Any, scene: Scene, **kwargs: Any) -> dict[str, Any]:
    metric = tm_map(backend="pycocotools", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric.update(*scene)
        return dict(metric.compute())


def assert_same_as_torchmetrics(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert sorted(ours) == sorted(theirs)
    for key, want in theirs.items():
        got = ours[key]
        if key.endswith("ious"):
            assert list(got) == list(want), key
            for cell, value in want.items():
                if isinstance(value, list):
                    assert got[cell] == [], (key, cell)
                else:
                    assert torch.equal(got[cell], value), (key, cell, got[cell], value)
        elif key == "classes":
            assert got.dtype == torch.int32 and torch.equal(got, want), (got, want)
        elif key.endswith(("precision", "recall", "scores")):
            assert got.dtype == torch.float64 and torch.equal(got, want), key
        else:
            assert got.dtype == torch.float64, key
            assert got.shape == want.shape and torch.equal(got.float(), want), (key, got, want)


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Bit-identical outputs of two assay runs."""
    assert list(a) == list(b)
    for key in a:
        if key.endswith("ious"):
            assert list(a[key]) == list(b[key])
            for cell in a[key]:
                x, y = a[key][cell], b[key][cell]
                assert (x == [] and y == []) or torch.equal(x, y), (key, cell)
        else:
            assert torch.equal(a[key], b[key]), (key, a[key], b[key])


# ----------------------------------------------------------------- parity, torchmetrics


# Every configuration on the cases with the most structure; every case on the two
# configurations that exercise the most code (all keys; per-class with micro).
BBOX_RUNS = [(case, config) for case in ("crowd_and_area", "empty_images") for config in CONFIGS]
BBOX_RUNS += [
    (case, config)
    for case in CASES
    if case not in ("crowd_and_area", "empty_images")
    for config in ("extended", "micro_class_metrics")
]


@pytest.mark.parametrize(("case", "config"), BBOX_RUNS)
def test_bbox_equals_torchmetrics(tm_map: Any, case: str, config: str) -> None:
    scene = make_scene(7 + len(case), **CASES[case])
    assert_same_as_torchmetrics(
        _ours(scene, **CONFIGS[config]), _theirs(tm_map, scene, **CONFIGS[config])
    )


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_box_formats_equal_torchmetrics(tm_map: Any, fmt: str, dtype: torch.dtype) -> None:
    # cxcywh goes through xyxy in torchvision: the width is recomputed, in the input dtype.
    preds, target = to_format(make_scene(3, crowd=0.2), fmt)
    scene = (
        [{**p, "boxes": p["boxes"].to(dtype)} for p in preds],
        [{**t, "boxes": t["boxes"].to(dtype)} for t in target],
    )
    kwargs = {"box_format": fmt, "class_metrics": True}
    assert_same_as_torchmetrics(_ours(scene, **kwargs), _theirs(tm_map, scene, **kwargs))


SEGM_CASES = ("basic", "crowd_and_area", "empty_images")
SEGM_CONFIGS = ("default", "class_metrics", "micro", "extended")


@pytest.mark.parametrize("config", SEGM_CONFIGS)
@pytest.mark.parametrize("case", SEGM_CASES)
def test_segm_equals_torchmetrics(tm_map: Any, case: str, config: str) -> None:
    # empty_images: for "segm" alone torchmetrics leaves images without a ground-truth
    # mask out of the evaluation (their detections never count); assay follows.
    scene = make_scene(11 + len(case), masks=True, **CASES[case])
    kwargs = {"iou_type": "segm", **CONFIGS[config]}
    assert_same_as_torchmetrics(_ours(scene, **kwargs), _theirs(tm_map, scene, **kwargs))


@pytest.mark.parametrize("config", ["default", "class_metrics", "extended", "micro"])
def test_bbox_and_segm_equal_torchmetrics(tm_map: Any, config: str) -> None:
    # Both types: every key prefixed; the ground-truth area is the mask area for both.
    scene = make_scene(5, masks=True, crowd=0.2, empty_images=True)
    kwargs = {"iou_type": ("bbox", "segm"), **CONFIGS[config]}
    assert_same_as_torchmetrics(_ours(scene, **kwargs), _theirs(tm_map, scene, **kwargs))


def test_micro_class_metrics_with_both_types_stays_micro(tm_map: Any) -> None:
    # Documented deviation: torchmetrics 1.9 returns macro segm_ values for this one
    # combination; assay's stay micro (equal to the run without class metrics).
    scene = make_scene(5, masks=True, crowd=0.2)
    both: dict[str, Any] = {"iou_type": ["bbox", "segm"], "average": "micro"}
    ours = _ours(scene, class_metrics=True, **both)
    plain = _ours(scene, **both)
    theirs = _theirs(tm_map, scene, class_metrics=True, **both)
    macro = _theirs(tm_map, scene, iou_type=("bbox", "segm"))
    for key in ("map", "map_50", "mar_100", "map_small"):
        assert torch.equal(ours[f"segm_{key}"], plain[f"segm_{key}"])
        assert torch.equal(theirs[f"segm_{key}"], macro[f"segm_{key}"])
        assert torch.equal(ours[f"bbox_{key}"].float(), theirs[f"bbox_{key}"])
    assert not torch.equal(ours["segm_map"].float(), theirs["segm_map"])


def test_nothing_seen_equals_torchmetrics(tm_map: Any) -> None:
    # No update at all, and updates whose images hold nothing: -1 everywhere, and
    # torchmetrics leaves out the per-class keys when it saw no image.
    assert_same_as_torchmetrics(_ours(([], [])), _theirs(tm_map, ([], [])))
    empty, truth = _empty_pred(), _empty_truth()
    scene = ([empty] * 3, [truth] * 3)
    for kwargs in ({}, {"class_metrics": True}, {"iou_type": "segm"}):
        if kwargs.get("iou_type") == "segm":
            m = torch.zeros((0, 5, 5), dtype=torch.bool)
            scene = ([{**empty, "masks": m}] * 3, [{**truth, "masks": m}] * 3)
        assert_same_as_torchmetrics(_ours(scene, **kwargs), _theirs(tm_map, scene, **kwargs))


def test_only_predictions_equals_torchmetrics(tm_map: Any) -> None:
    preds, _ = make_scene(2)
    scene = (preds, [_empty_truth()] * len(preds))
    for kwargs in ({}, {"class_metrics": True}, {"average": "micro"}):
        assert_same_as_torchmetrics(_ours(scene, **kwargs), _theirs(tm_map, scene, **kwargs))


def test_many_detections_warns_like_torchmetrics() -> None:
    preds, target = make_scene(1, many_dets=True, images=3)
    metric = assay.MeanAveragePrecision()
    with pytest.warns(UserWarning, match="more than 100 detections"):
        metric.update(preds, target)
    metric.warn_on_many_detections = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metric.update(preds, target)


# ------------------------------------------------------------- batching and input forms


@pytest.mark.parametrize(
    "kwargs",
    [
        {"class_metrics": True, "extended_summary": True},
        {"average": "micro", "class_metrics": True},
        {"iou_type": ("bbox", "segm"), "extended_summary": True},
    ],
)
def test_many_small_batches_equal_one_batch(kwargs: dict[str, Any]) -> None:
    scene = make_scene(21, images=12, masks=True, crowd=0.2, coarse_scores=True, empty_images=True)
    one = _ours(scene, sizes=(12,), **kwargs)
    _same(_ours(scene, sizes=(1,) * 12, **kwargs), one)
    _same(_ours(scene, sizes=(5, 2, 4), **kwargs), one)


def _packed(items: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    out = {key: torch.cat([d[key] for d in items]) for key in items[0] if key != "masks"}
    out["batch"] = torch.cat(
        [torch.full((d["labels"].shape[0],), i, dtype=torch.long) for i, d in enumerate(items)]
    )
    return out


def test_packed_input_equals_lists() -> None:
    preds, target = make_scene(4, images=8, crowd=0.2, given_area=True, empty_images=True)
    want = _ours((preds, target), sizes=(8,), class_metrics=True)
    p, t = _packed(preds), _packed(target)
    # rows of one image need not be contiguous: shuffle them (their order inside an
    # image is kept, as ties are broken by it)
    metric = assay.MeanAveragePrecision(class_metrics=True)
    metric.update(p, t, num_images=len(preds))
    _same(dict(metric.compute()), want)
    order = torch.sort(torch.remainder(p["batch"] * 7, 8), stable=True).indices
    shuffled = {k: v[order] for k, v in p.items()}
    metric = assay.MeanAveragePrecision(class_metrics=True)
    metric.update(shuffled, t, num_images=len(preds))
    _same(dict(metric.compute()), want)


def test_packed_input_counts_trailing_empty_images() -> None:
    preds, target = make_scene(6, images=4)
    want = _ours(([*preds, _empty_pred()], [*target, _empty_truth()]), sizes=(5,))
    metric = assay.MeanAveragePrecision()
    metric.update(_packed(preds), _packed(target), num_images=5)
    _same(dict(metric.compute()), want)


# ---------------------------------------------------- equality with the offline evaluator


def _tables(scene: Scene, classes: list[int]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """The scene (xywh float64 boxes) as evaluate_detections' columns."""
    preds, target = scene
    index = {c: k for k, c in enumerate(classes)}

    def column(items: list[dict[str, Tensor]], key: str) -> Tensor:
        return torch.cat([d[key] for d in items])

    def image(items: list[dict[str, Tensor]]) -> Tensor:
        return torch.cat([torch.full((len(d["labels"]),), i) for i, d in enumerate(items)])

    def category(items: list[dict[str, Tensor]]) -> Tensor:
        return torch.tensor([index[int(v)] for v in column(items, "labels")], dtype=torch.long)

    gt_boxes = column(target, "boxes")
    area = column(target, "area")
    gt = {
        "image": image(target),
        "category": category(target),
        "boxes": gt_boxes,
        "area": torch.where(area > 0, area, gt_boxes[:, 2] * gt_boxes[:, 3]),
        "iscrowd": column(target, "iscrowd"),
    }
    dt = {
        "image": image(preds),
        "category": category(preds),
        "boxes": column(preds, "boxes"),
        "scores": column(preds, "scores"),
    }
    return gt, dt


@pytest.mark.parametrize("average", ["macro", "micro"])
def test_equals_evaluate_detections(average: str) -> None:
    preds, target = to_format(
        make_scene(9, images=14, crowd=0.2, given_area=True, coarse_scores=True, empty_images=True),
        "xywh",
    )
    scene = (
        [{**p, "boxes": p["boxes"].double(), "scores": p["scores"].double()} for p in preds],
        [{**t, "boxes": t["boxes"].double(), "area": t["area"].double()} for t in target],
    )
    kwargs: dict[str, Any] = {"box_format": "xywh", "extended_summary": True, "average": average}
    ours = _ours(scene, class_metrics=True, **kwargs)
    classes = ours["classes"].tolist()
    gt, dt = _tables(scene, classes)
    if average == "micro":
        gt["category"].zero_()
        dt["category"].zero_()
    metric = assay.MeanAveragePrecision(**kwargs)
    params = assay.CocoParams(
        iouThrs=metric.iou_thresholds,
        recThrs=metric.rec_thresholds,
        maxDets=metric.max_detection_thresholds,
    )
    result = assay.evaluate_detections(
        gt,
        dt,
        num_images=len(preds),
        num_categories=len(classes) if average == "macro" else 1,
        params=params,
    )
    names = ("map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_1",
             "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large")  # fmt: skip
    got = np.array([float(ours[k]) for k in names])
    np.testing.assert_allclose(got, result.stats, rtol=0, atol=1e-12)
    for key in ("precision", "recall", "scores"):
        np.testing.assert_allclose(ours[key].numpy(), getattr(result, key), rtol=0, atol=1e-12)
    if average == "macro":
        per = result.per_category()
        np.testing.assert_allclose(ours["map_per_class"], [c.ap for c in per], atol=1e-12)
        np.testing.assert_allclose(ours["mar_100_per_class"], [c.ar for c in per], atol=1e-12)


def test_segm_equals_evaluate_coco() -> None:
    from pycocotools import mask as mask_utils

    preds, target = make_scene(13, images=8, max_gt=5, masks=True, crowd=0.2)
    keep = [i for i, t in enumerate(target) if len(t["labels"])]  # segm: images with truth
    preds, target = [preds[i] for i in keep], [target[i] for i in keep]
    ours = _ours((preds, target), iou_type="segm", extended_summary=True)
    classes = ours["classes"].tolist()

    def rle(m: Tensor) -> dict[str, Any]:
        return mask_utils.encode(np.asfortranarray(m.numpy().astype(np.uint8)))

    gt: dict[str, Any] = {"images": [], "categories": [{"id": c} for c in classes]}
    gt["annotations"] = []
    dt: list[dict[str, Any]] = []
    for i, (p, t) in enumerate(zip(preds, target, strict=True)):
        gt["images"].append({"id": i})
        for m, c, z in zip(t["masks"], t["labels"], t["iscrowd"], strict=True):
            r = rle(m)
            area = float(mask_utils.area(r))
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i,
                                      "category_id": int(c), "segmentation": r, "area": area,
                                      "iscrowd": int(z), "bbox": [0, 0, 1, 1]})  # fmt: skip
        for m, c, s in zip(p["masks"], p["labels"], p["scores"], strict=True):
            dt.append(
                {"image_id": i, "category_id": int(c), "segmentation": rle(m), "score": float(s)}
            )
    metric = assay.MeanAveragePrecision()
    params = {"iouThrs": metric.iou_thresholds, "recThrs": metric.rec_thresholds}
    result = assay.evaluate_coco(gt, dt, iou_type="segm", params=params)
    got = [float(ours[k]) for k in ("map", "map_50", "map_75", "map_small", "map_medium")]
    np.testing.assert_allclose(got, result.stats[:5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["precision"].numpy(), result.precision, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------- the matcher


def _random_matching(seed: int) -> tuple[Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    def draw(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi, (1,), generator=g))

    ni, nk, ng, nd = draw(1, 5), draw(1, 4), draw(0, 25), draw(0, 50)
    gt_group = torch.sort(torch.randint(0, ni * nk, (ng,), generator=g)).values
    # coarse boxes: many equal IoUs; small images: many overlaps
    gt_box = torch.randint(0, 6, (ng, 4), generator=g).double()
    gt_box[:, 2:] += 1
    dt_box = torch.randint(0, 6, (nd, 4), generator=g).double()
    dt_box[:, 2:] += 1
    dt_group = torch.randint(0, ni * nk, (nd,), generator=g)
    score = torch.randint(0, 3, (nd,), generator=g).double()
    crowd = torch.rand(ng, generator=g) < 0.2
    area = gt_box[:, 2] * gt_box[:, 3]
    lo = torch.tensor([0.0, 0.0, 6.0, 16.0], dtype=torch.float64)[:, None]
    hi = torch.tensor([1e10, 6.0, 16.0, 1e10], dtype=torch.float64)[:, None]
    ignore = crowd[None] | (area[None] < lo) | (area[None] > hi)
    order = torch.sort(score, descending=True, stable=True).indices
    by_group = order[torch.sort(dt_group[order], stable=True).indices]
    rank = rank_within_groups(dt_group, by_group)
    pair_dt, pair_gt = group_pairs(dt_group, gt_group)
    iou = assay.kernels.coco_box_iou_pairs(dt_box[pair_dt], gt_box[pair_gt], crowd[pair_gt])
    thr = torch.tensor([0.1, 0.3, 0.5, 0.7, 1 - 1e-10], dtype=torch.float64)
    return pair_dt, pair_gt, iou, rank, crowd, ignore, thr


def test_round_matcher_equals_rank_step_matcher(device: str) -> None:
    for seed in range(60):
        args = tuple(t.to(device) for t in _random_matching(seed))
        want, got = coco_greedy_match(*args), coco_greedy_match_rounds(*args)
        assert torch.equal(got.det_index, want.det_index), seed
        assert torch.equal(got.gt_index, want.gt_index), seed
        assert got.gt_index.device.type == device


def test_round_matcher_falls_back_past_its_key_width(monkeypatch: pytest.MonkeyPatch) -> None:
    # More ground truths than the rounds' key can index: the rank-step matcher answers.
    import assay.kernels.matching as matching

    monkeypatch.setattr(matching, "_GT_MASK", 3)
    for seed in range(10):
        args = _random_matching(seed)
        want, got = coco_greedy_match(*args), coco_greedy_match_rounds(*args)
        assert torch.equal(got.gt_index, want.gt_index), seed


def test_round_matcher_empty(device: str) -> None:
    e = torch.zeros(0, dtype=torch.long, device=device)
    m = coco_greedy_match_rounds(
        e, e, e.double(), e, torch.zeros(0, dtype=torch.bool, device=device),
        torch.zeros((4, 0), dtype=torch.bool, device=device),
        torch.tensor([0.5, 0.75], dtype=torch.float64, device=device),
    )  # fmt: skip
    assert m.det_index.shape == (0,) and m.gt_index.shape == (2, 4, 0)


# ------------------------------------------------------------------ the Metric contract


def test_reset_state_dict_to_and_forward() -> None:
    scene = make_scene(8, crowd=0.2)
    want = _ours(scene, class_metrics=True)
    metric = assay.MeanAveragePrecision(class_metrics=True).to("cpu")
    metric.update(*make_scene(99))
    metric.reset()
    for preds, target in _batches(scene):
        metric.update(preds, target)
    _same(dict(metric.compute()), want)
    # state_dict round trip (states are persistent on request, as in torchmetrics)
    metric.persistent(True)
    restored = assay.MeanAveragePrecision(class_metrics=True)
    restored.persistent(True)
    restored.load_state_dict(metric.state_dict())
    with warnings.catch_warnings():  # torchmetrics: "compute called before update"
        warnings.simplefilter("ignore")
        _same(dict(restored.compute()), want)
    # forward: the batch's own value, and the batch joins the state
    fresh = assay.MeanAveragePrecision(class_metrics=True)
    batches = list(_batches(scene))
    first = fresh(*batches[0])
    _same(dict(first), _ours(batches[0], sizes=(len(batches[0][0]),), class_metrics=True))
    for preds, target in batches[1:]:
        fresh(preds, target)
    _same(dict(fresh.compute()), want)


def test_state_bytes_per_detection() -> None:
    # docs: 36 bytes per detection, 9 per ground truth, with the defaults
    metric = assay.MeanAveragePrecision()
    metric.update(*make_scene(3))
    rows = {name: getattr(metric, name)[-1] for name in metric._defaults}
    def row_bytes(prefix: str) -> int:
        return sum(t[0].numel() * t.element_size() for n, t in rows.items() if n.startswith(prefix))

    det, gt = row_bytes("det_"), row_bytes("gt_")
    assert (det, gt) == (36, 9)


def test_compute_on_cpu_and_log_dict_values() -> None:
    metric = assay.MeanAveragePrecision(compute_on_cpu=True)
    metric.update(*make_scene(4))
    out = metric.compute()
    assert all(v.ndim == 0 for k, v in out.items() if k.startswith(("map", "mar")))
    preds, target = make_scene(4)
    seen = {int(v) for d in (*preds, *target) for v in d["labels"]}
    assert out["classes"].tolist() == sorted(seen) and seen <= {*CLASSES, PRED_ONLY}


# --------------------------------------------------------------------------- bad input


def _one() -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    box, label = torch.tensor([[0.0, 0, 10, 10]]), torch.tensor([1])
    p = {"boxes": box, "scores": torch.tensor([0.9]), "labels": label}
    t = {"boxes": box.clone(), "labels": label.clone()}
    return p, t


def _set(side: str, **values: Any) -> Any:
    def edit(p: dict[str, Any], t: dict[str, Any]) -> None:
        (p if side == "p" else t).update(values)

    return edit


def _drop(side: str, key: str) -> Any:
    def edit(p: dict[str, Any], t: dict[str, Any]) -> None:
        (p if side == "p" else t).pop(key)

    return edit


NAN, INF = float("nan"), float("inf")
BAD_DICTS = {
    "missing_scores": (_drop("p", "scores"), ValueError, r"`preds\[1\]` to have key 'scores'"),
    "missing_labels": (_drop("t", "labels"), ValueError, r"`target\[1\]` to have key 'labels'"),
    "boxes_n5": (
        _set("p", boxes=torch.zeros((1, 5))),
        ValueError,
        r"`preds\[1\]\['boxes'\]` to have shape \(N, 4\)",
    ),
    "scores_length": (
        _set("p", scores=torch.tensor([0.5, 0.4])),
        ValueError,
        r"`preds\[1\]\['scores'\]` to have shape \(1,\)",
    ),
    "boxes_rows": (
        _set("t", boxes=torch.zeros((2, 4))),
        ValueError,
        r"`target\[1\]\['boxes'\]` to have 1 rows",
    ),
    "float_labels": (
        _set("p", labels=torch.tensor([1.0])),
        TypeError,
        r"`preds\[1\]\['labels'\]` to hold integer",
    ),
    "int_scores": (
        _set("p", scores=torch.tensor([1])),
        TypeError,
        r"`preds\[1\]\['scores'\]` to be a floating",
    ),
    "list_scores": (
        _set("p", scores=[0.5]),
        TypeError,
        r"`preds\[1\]\['scores'\]` to be a torch.Tensor",
    ),
    "iscrowd_length": (
        _set("t", iscrowd=torch.tensor([0, 1])),
        ValueError,
        r"`target\[1\]\['iscrowd'\]` to have shape \(1,\)",
    ),
    "nan_score": (
        _set("p", scores=torch.tensor([NAN])),
        ValueError,
        r"`preds\[i\]\['scores'\]` to be finite.*preds\[1\]",
    ),
    "inf_box": (
        _set("t", boxes=torch.tensor([[0.0, 0, INF, 1]])),
        ValueError,
        r"`target\[i\]\['boxes'\]` to be finite.*target\[1\]",
    ),
    "nan_area": (
        _set("t", area=torch.tensor([NAN])),
        ValueError,
        r"`target\[i\]\['area'\]` to be finite, but got \[nan\].*target\[1\]",
    ),
    "iscrowd_2": (
        _set("t", iscrowd=torch.tensor([2])),
        ValueError,
        r"`target\[i\]\['iscrowd'\]` to be 0 or 1, but got 2.*target\[1\]",
    ),
    # a misspelt optional key was dropped without a word (here: the crowd flag)
    "misspelt_iscrowd": (
        _set("t", is_crowd=torch.tensor([1])),
        ValueError,
        r"keys of `target\[1\]` to be spelt as the metric reads them \(area, boxes, iscrowd, "
        r"labels, masks\), but got 'is_crowd' \(first offending item: "
        r"target\[1\]\['is_crowd'\]\); did you mean 'iscrowd'\?",
    ),
    "misspelt_score": (
        _set("p", score=torch.tensor([0.5])),
        ValueError,
        r"keys of `preds\[1\]` .*but got 'score' .*did you mean 'scores'\?",
    ),
}


def test_extra_keys_are_accepted_unless_misspelt() -> None:
    """Keys torchvision's, DETR's and VOC's targets carry beside the read ones are ignored
    (as torchmetrics does); a key close to a read one is refused."""
    p, t = _one()
    extra_p = {**p, "keypoints": torch.zeros(1, 17, 3), "keypoints_scores": torch.zeros(1, 17)}
    extra_t = {**t, "image_id": 7, "id": [1], "bbox": [[0, 0, 10, 10]], "category_id": [1],
               "masks": torch.ones(1, 4, 4, dtype=torch.bool), "segmentation": [[]],
               "orig_size": torch.tensor([480, 640]), "size": torch.tensor([800, 1066]),
               "difficult": torch.tensor([0]), 3: "a non-str key"}
    plain, extra = assay.MeanAveragePrecision(), assay.MeanAveragePrecision()
    plain.update([p], [t])
    extra.update([extra_p], [extra_t])
    assert plain.compute()["map"] == extra.compute()["map"]
    packed = assay.MeanAveragePrecision()
    batch = torch.tensor([0])
    packed.update({**p, "batch": batch, "image_id": 3}, {**t, "batch": batch})
    assert packed.compute()["map"] == plain.compute()["map"]
    with pytest.raises(ValueError, match=r"keys of `target` .*\(area, boxes, iscrowd, labels, "
                                         r"masks, batch\), but got 'crowd' .*'iscrowd'\?"):
        packed.update({**p, "batch": batch}, {**t, "batch": batch, "crowd": batch})
    with pytest.raises(ValueError, match=r"but got 'batches' .*did you mean 'batch'\?"):
        packed.update({**p, "batch": batch, "batches": batch}, {**t, "batch": batch})


@pytest.mark.parametrize(("edit", "error", "match"), BAD_DICTS.values(), ids=list(BAD_DICTS))
def test_bad_dicts(edit: Any, error: type[Exception], match: str) -> None:
    (p0, t0), (p1, t1) = _one(), _one()
    edit(p1, t1)
    with pytest.raises(error, match=match):
        assay.MeanAveragePrecision().update([p0, p1], [t0, t1])


def test_bad_containers() -> None:
    p, t = _one()
    metric = assay.MeanAveragePrecision()
    with pytest.raises(ValueError, match="same length"):
        metric.update([p, p], [t])
    with pytest.raises(TypeError, match="to be a list of dicts"):
        metric.update(p["boxes"], t["boxes"])
    with pytest.raises(TypeError, match=r"`preds\[0\]` to be a dict"):
        metric.update([[1, 2]], [t])
    with pytest.raises(TypeError, match="same form"):
        metric.update([p], t)


def test_device_mismatch_names_the_fix() -> None:
    p, t = _one()
    p = {**p, "boxes": p["boxes"].to("meta")}
    match = r"`preds\[0\]\['boxes'\]` on the metric's device cpu.*\.to\(device\)"
    with pytest.raises(ValueError, match=match):
        assay.MeanAveragePrecision().update([p], [t])


def test_bad_masks() -> None:
    p, t = _one()
    m = torch.zeros((1, 6, 6), dtype=torch.bool)
    wide, two = torch.zeros((1, 6, 7), dtype=torch.bool), torch.zeros((2, 6, 6), dtype=torch.bool)
    metric = assay.MeanAveragePrecision(iou_type="segm")
    with pytest.raises(ValueError, match=r"same \(H, W\), but got \(6, 6\) and \(6, 7\)"):
        metric.update([{**p, "masks": m}], [{**t, "masks": wide}])
    with pytest.raises(ValueError, match=r"`target\[0\]\['masks'\]` to have shape \(1, H, W\)"):
        metric.update([{**p, "masks": m}], [{**t, "masks": two}])
    with pytest.raises(TypeError, match=r"`preds\[0\]\['masks'\]` to be a bool"):
        metric.update([{**p, "masks": m.float()}], [{**t, "masks": m}])
    with pytest.raises(ValueError, match=r"`preds\[0\]` to have key 'masks'"):
        metric.update([p], [{**t, "masks": m}])


def test_bad_packed() -> None:
    p, t = _one()
    metric = assay.MeanAveragePrecision()
    with pytest.raises(ValueError, match=r"`preds` to have key 'batch'"):
        metric.update(p, {**t, "batch": torch.tensor([0])})
    with pytest.raises(ValueError, match=r"`target\['batch'\]` to hold image indexes in \[0, 1\)"):
        metric.update({**p, "batch": torch.tensor([0])}, {**t, "batch": torch.tensor([3])}, 1)
    # an index far beyond the rows (an image id, say) would size per-image tables by it
    far = {**p, "batch": torch.tensor([10**9])}
    with pytest.raises(ValueError, match=r"largest is 1000000000 for 2 rows; pass num_images"):
        metric.update(far, {**t, "batch": torch.tensor([0])})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"box_format": "xyz"}, "`box_format`"),
        ({"iou_type": "keypoints"}, "`iou_type`"),
        ({"iou_thresholds": (0.5,)}, "`iou_thresholds` to be None or a list"),
        ({"iou_thresholds": [0.5, 1.5]}, r"in \[0, 1\].*1.5"),
        ({"rec_thresholds": ["a"]}, "`rec_thresholds`"),
        ({"max_detection_thresholds": [1, 10]}, "list of 3 positive ints"),
        ({"class_metrics": 1}, "`class_metrics` to be a bool"),
        ({"average": "weighted"}, "`average`"),
        ({"backend": "hotcoco"}, "`backend`"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        assay.MeanAveragePrecision(**kwargs)


def test_torchmetrics_defaults_are_kept() -> None:
    # torchmetrics' thresholds are float32 linspace values (not pycocotools' float64 ones)
    ours, theirs = assay.MeanAveragePrecision(), None
    with torchmetrics_map() as cls:
        theirs = cls()
    assert ours.iou_thresholds == theirs.iou_thresholds
    assert ours.rec_thresholds == theirs.rec_thresholds
    assert ours.max_detection_thresholds == theirs.max_detection_thresholds


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_an_empty_batch(iou_type: str) -> None:
    """Found by fuzzing: segm crashed on a batch of no images (bbox did not)."""
    metric = assay.MeanAveragePrecision(iou_type=iou_type)
    metric.update([], [])
    assert float(metric.compute()["map"]) == -1.0
