"""Kernel unit tests on CPU and CUDA, each against pycocotools or a slow reference."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import assay
import assay.kernels.boxes as boxes_module
import assay.kernels.ranking as ranking_module
import numpy as np
import pytest
import torch
from assay.kernels._keys import compact_descending_key
from assay.kernels.boxes import (
    box_area,
    box_convert,
    box_iou,
    coco_box_iou,
    coco_box_iou_pairs,
)
from assay.kernels.matching import (
    GreedyMatches,
    coco_greedy_match,
    group_pairs,
    rank_within_groups,
)
from assay.kernels.ranking import (
    accumulation_layout,
    accumulation_order,
    coco_accumulate,
    detection_group_orders,
    detection_order,
)

FORMATS = ("xyxy", "xywh", "cxcywh")
F64 = torch.float64
I64 = torch.int64
EPS = float(np.spacing(1))


def _t(values: Any, device: str, dtype: torch.dtype = F64) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values), dtype=dtype, device=device)


def _assert_on(
    tensor: torch.Tensor, device: str, dtype: torch.dtype, shape: tuple[int, ...]
) -> None:
    assert tensor.device.type == torch.device(device).type
    assert tensor.dtype == dtype
    assert tuple(tensor.shape) == shape


def _xywh(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    """Random xywh boxes: on an integer grid (shared edges, containment, zero sizes,
    duplicates), on a 0.1 grid (rounding), or arbitrary floats."""
    if kind == "grid":
        xy = rng.integers(0, 12, size=(n, 2)).astype(np.float64)
        wh = rng.integers(0, 8, size=(n, 2)).astype(np.float64)
    elif kind == "fine":
        xy = 0.1 * rng.integers(0, 120, size=(n, 2))
        wh = 0.1 * rng.integers(0, 80, size=(n, 2))
    else:
        xy = rng.uniform(-50, 150, size=(n, 2))
        wh = rng.uniform(0, 80, size=(n, 2)) * (rng.random((n, 2)) > 0.05)
    return np.concatenate([xy, wh], axis=1)


def _np_convert(boxes: np.ndarray, in_fmt: str, out_fmt: str) -> np.ndarray:
    """Textbook conversions, via xyxy."""
    if in_fmt == out_fmt:
        return boxes.copy()
    a, b, c, d = boxes.T
    if in_fmt == "xyxy":
        x1, y1, x2, y2 = a, b, c, d
    elif in_fmt == "xywh":
        x1, y1, x2, y2 = a, b, a + c, b + d
    else:
        x1, y1, x2, y2 = a - c / 2, b - d / 2, a + c / 2, b + d / 2
    if out_fmt == "xyxy":
        return np.stack([x1, y1, x2, y2], 1)
    if out_fmt == "xywh":
        return np.stack([x1, y1, x2 - x1, y2 - y1], 1)
    return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], 1)


# --------------------------------------------------------------------------- boxes


@pytest.mark.parametrize("in_fmt", FORMATS)
@pytest.mark.parametrize("out_fmt", FORMATS)
def test_box_convert_matches_reference_and_round_trips(
    in_fmt: str, out_fmt: str, device: str
) -> None:
    rng = np.random.default_rng(0)
    # Dyadic coordinates: every conversion is exact, so round trips are exact too.
    exact = 0.25 * rng.integers(0, 400, size=(64, 4))
    exact[:, 2:] = 0.25 * rng.integers(0, 200, size=(64, 2))
    src = _np_convert(exact, "xywh", in_fmt)
    out = box_convert(_t(src, device), in_fmt, out_fmt)
    _assert_on(out, device, F64, (64, 4))
    np.testing.assert_array_equal(out.cpu().numpy(), _np_convert(src, in_fmt, out_fmt))
    back = box_convert(out, out_fmt, in_fmt)
    np.testing.assert_array_equal(back.cpu().numpy(), src)
    # Arbitrary floats, float64 and float32: the round trip is exact up to rounding.
    floats = _np_convert(_xywh(rng, 64, "float"), "xywh", in_fmt)
    for dtype, tol in ((F64, 1e-12), (torch.float32, 1e-4)):
        boxes = _t(floats, device, dtype)
        out = box_convert(boxes, in_fmt, out_fmt)
        _assert_on(out, device, dtype, (64, 4))
        ref = _np_convert(floats, in_fmt, out_fmt)
        np.testing.assert_allclose(out.cpu().double().numpy(), ref, rtol=tol, atol=tol * 100)
        back = box_convert(out, out_fmt, in_fmt).cpu().double().numpy()
        np.testing.assert_allclose(back, boxes.cpu().double().numpy(), rtol=tol, atol=tol * 100)


@pytest.mark.parametrize("fmt", FORMATS)
def test_box_area(fmt: str, device: str) -> None:
    rng = np.random.default_rng(1)
    xywh = _xywh(rng, 100, "float")
    boxes = _np_convert(xywh, "xywh", fmt)
    out = box_area(_t(boxes, device), fmt)
    _assert_on(out, device, F64, (100,))
    if fmt == "xyxy":
        ref = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    else:
        ref = boxes[:, 2] * boxes[:, 3]  # w * h, exactly as COCO's loadRes
    np.testing.assert_array_equal(out.cpu().numpy(), ref)


@pytest.mark.parametrize("kind", ["grid", "fine", "float"])
@pytest.mark.parametrize("seed", range(3))
def test_coco_box_iou_is_bit_identical_to_pycocotools(kind: str, seed: int, device: str) -> None:
    mask = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(seed)
    dt = _xywh(rng, 40, kind)
    gt = _xywh(rng, 30, kind)
    gt[:5] = dt[:5]  # identical boxes
    crowd = (rng.random(30) < 0.3).astype(np.uint8)
    theirs = mask.iou(dt.tolist(), gt.tolist(), crowd.tolist())
    ours = coco_box_iou(_t(dt, device), _t(gt, device), _t(crowd, device, torch.bool))
    _assert_on(ours, device, F64, (40, 30))
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs)
    # Without crowd flags (None means no crowd), and the aligned-pairs form.
    theirs_plain = mask.iou(dt.tolist(), gt.tolist(), [0] * 30)
    np.testing.assert_array_equal(coco_box_iou(_t(dt, device), _t(gt, device)).cpu().numpy(),
                                  theirs_plain)
    d_idx, g_idx = rng.integers(0, 40, 200), rng.integers(0, 30, 200)
    pairs = coco_box_iou_pairs(_t(dt[d_idx], device), _t(gt[g_idx], device),
                               _t(crowd[g_idx], device, torch.bool))
    _assert_on(pairs, device, F64, (200,))
    np.testing.assert_array_equal(pairs.cpu().numpy(), theirs[d_idx, g_idx])


def test_coco_box_iou_pairs_in_blocks_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CPU path works in blocks of pairs (one pass on CUDA): blocks that do not divide
    # P give the same bits, in the dtype one pass gives (float32 with float64: float64).
    rng = np.random.default_rng(3)
    dt, gt = _t(_xywh(rng, 101, "grid"), "cpu"), _t(_xywh(rng, 101, "grid"), "cpu")
    crowd = _t(rng.random(101) < 0.3, "cpu", torch.bool)
    for dt_in in (dt, dt.float()):
        whole = coco_box_iou_pairs(dt_in, gt, crowd)
        with monkeypatch.context() as patch:
            patch.setattr(boxes_module, "_CPU_PAIR_BLOCK", 16)
            blocked = coco_box_iou_pairs(dt_in, gt, crowd)
        _assert_on(blocked, "cpu", F64, (101,))
        assert torch.equal(blocked, whole)


def test_coco_box_iou_of_integer_boxes_and_non_finite_pairs(device: str) -> None:
    # Integer boxes divide into torch's default float dtype, as a plain division would.
    dt = torch.tensor([[0, 0, 10, 10], [0, 0, 4, 4]], device=device)
    gt = torch.tensor([[5, 0, 10, 10], [10, 10, 2, 2]], device=device)
    got = coco_box_iou(dt, gt)
    want = coco_box_iou(dt.double(), gt.double()).to(torch.get_default_dtype())
    assert got.dtype == torch.get_default_dtype()
    assert torch.equal(got, want)
    # A pair whose overlap cannot be decided (NaN; inputs are validated upstream) is 0.
    nan = torch.tensor([[0.0, float("nan"), 1.0, 1.0]], dtype=torch.float64, device=device)
    one = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64, device=device)
    assert coco_box_iou_pairs(nan, one, torch.tensor([False], device=device)).tolist() == [0.0]


def test_coco_box_iou_hand_cases(device: str) -> None:
    mask = pytest.importorskip("pycocotools.mask")
    gt = [[0, 0, 10, 10], [0, 0, 100, 100], [5, 5, 0, 10], [10, 0, 10, 10]]
    dt = [[0, 0, 10, 5], [5, 0, 10, 10], [10, 10, 5, 5], [0.1, 0.2, 9.7, 9.9], [5, 5, 0, 0],
          [0, 0, 10, 10]]
    crowd = [0, 1, 0, 1]
    ours = coco_box_iou(_t(dt, device), _t(gt, device), _t(crowd, device, torch.bool))
    np.testing.assert_array_equal(ours.cpu().numpy(), mask.iou(dt, gt, crowd))
    assert ours[0, 0].item() == 0.5  # 50 / 100
    assert ours[1, 1].item() == 1.0  # crowd: intersection over the detection's area
    assert ours[2, 0].item() == 0.0  # corners touch: no overlap


def _ref_box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Textbook xyxy IoU; an empty union gives 0."""
    out = np.zeros((len(a), len(b)))
    for i, (ax1, ay1, ax2, ay2) in enumerate(a):
        for j, (bx1, by1, bx2, by2) in enumerate(b):
            iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
            ih = max(0.0, min(ay2, by2) - max(ay1, by1))
            inter = iw * ih
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["grid", "float"])
def test_box_iou_matches_reference(fmt: str, kind: str, device: str) -> None:
    rng = np.random.default_rng(3)
    a, b = _xywh(rng, 25, kind), _xywh(rng, 20, kind)
    b[:3] = a[:3]
    ref = _ref_box_iou(_np_convert(a, "xywh", "xyxy"), _np_convert(b, "xywh", "xyxy"))
    ours = box_iou(_t(_np_convert(a, "xywh", fmt), device), _t(_np_convert(b, "xywh", fmt), device),
                   fmt)
    _assert_on(ours, device, F64, (25, 20))
    if kind == "grid":
        np.testing.assert_array_equal(ours.cpu().numpy(), ref)  # small integers: exact
    else:
        np.testing.assert_allclose(ours.cpu().numpy(), ref, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- empty inputs


def test_box_kernels_on_empty_inputs(device: str) -> None:
    empty = torch.zeros((0, 4), dtype=F64, device=device)
    some = _t([[0, 0, 2, 2], [1, 1, 3, 3]], device)
    for in_fmt in FORMATS:
        for out_fmt in FORMATS:
            _assert_on(box_convert(empty, in_fmt, out_fmt), device, F64, (0, 4))
        _assert_on(box_area(empty, in_fmt), device, F64, (0,))
        _assert_on(box_iou(empty, some, in_fmt), device, F64, (0, 2))
        _assert_on(box_iou(some, empty, in_fmt), device, F64, (2, 0))
        _assert_on(box_iou(empty, empty, in_fmt), device, F64, (0, 0))
    no_crowd = torch.zeros(0, dtype=torch.bool, device=device)
    _assert_on(coco_box_iou(empty, some, torch.zeros(2, dtype=torch.bool, device=device)),
               device, F64, (0, 2))
    _assert_on(coco_box_iou(some, empty, no_crowd), device, F64, (2, 0))
    _assert_on(coco_box_iou(some, empty), device, F64, (2, 0))
    _assert_on(coco_box_iou(empty, empty, no_crowd), device, F64, (0, 0))
    _assert_on(coco_box_iou_pairs(empty, empty, no_crowd), device, F64, (0,))
    f32 = torch.zeros((0, 4), dtype=torch.float32, device=device)
    _assert_on(box_convert(f32, "xyxy", "cxcywh"), device, torch.float32, (0, 4))
    _assert_on(box_area(f32, "xyxy"), device, torch.float32, (0,))


def test_grouping_kernels_on_empty_inputs(device: str) -> None:
    none = torch.zeros(0, dtype=I64, device=device)
    _assert_on(rank_within_groups(none, none), device, I64, (0,))
    groups = _t([0, 0, 3], device, I64)
    for num_groups in (None, 8):
        for dt_group, gt_group in ((none, groups), (groups, none), (none, none),
                                   (_t([1, 2, 5], device, I64), groups)):  # no shared group
            pair_dt, pair_gt = group_pairs(dt_group, gt_group, num_groups)
            _assert_on(pair_dt, device, I64, (0,))
            _assert_on(pair_gt, device, I64, (0,))
    _assert_on(detection_order(torch.zeros(0, dtype=F64, device=device), none, none, 3),
               device, I64, (0,))
    _assert_on(accumulation_order(none, none), device, I64, (0,))
    for out in accumulation_layout(none, none):
        _assert_on(out, device, I64, (0,))


@pytest.mark.parametrize(("num_dt", "num_gt"), [(0, 0), (3, 0), (0, 2), (3, 2)])
def test_greedy_match_without_pairs(num_dt: int, num_gt: int, device: str) -> None:
    thr = _t([0.5, 0.75], device)
    for iou in ([], [0.2, 0.49]):  # no pairs at all, or none reaching the smallest threshold
        if iou and not (num_dt and num_gt):
            continue
        m = coco_greedy_match(
            pair_dt=_t([0, 2][: len(iou)], device, I64),
            pair_gt=_t([1, 0][: len(iou)], device, I64),
            pair_iou=_t(iou, device),
            dt_rank=_t(list(range(num_dt)), device, I64),
            gt_crowd=torch.zeros(num_gt, dtype=torch.bool, device=device),
            gt_ignore=torch.zeros((3, num_gt), dtype=torch.bool, device=device),
            iou_thresholds=thr,
        )
        _assert_on(m.det_index, device, I64, (0,))
        _assert_on(m.gt_index, device, I64, (2, 3, 0))


def test_accumulate_without_detections(device: str) -> None:
    # Category 0 has 2 counted GTs and no detection: pycocotools gives precision, recall
    # and scores 0 (nd == 0). Category 1 has no counted GT: -1 everywhere.
    acc = coco_accumulate(
        dt_segment=torch.zeros(0, dtype=I64, device=device),
        dt_rank=torch.zeros(0, dtype=I64, device=device),
        dt_score=torch.zeros(0, dtype=F64, device=device),
        dt_outside=torch.zeros((2, 0), dtype=torch.bool, device=device),
        matches=GreedyMatches(torch.zeros(0, dtype=I64, device=device),
                              torch.zeros((3, 2, 0), dtype=I64, device=device)),
        gt_ignore=_t([[False, False, True], [True, False, True]], device, torch.bool),
        gt_id_nonzero=torch.ones(3, dtype=torch.bool, device=device),
        num_counted=_t([[2, 1], [0, 0]], device, I64),
        max_dets=[1, 10, 100],
        rec_thresholds=_t(np.linspace(0, 1, 11), device),
    )
    _assert_on(acc.precision, device, F64, (3, 11, 2, 2, 3))
    _assert_on(acc.scores, device, F64, (3, 11, 2, 2, 3))
    _assert_on(acc.recall, device, F64, (3, 2, 2, 3))
    for arr in (acc.precision, acc.scores):
        assert (arr[:, :, 0] == 0).all() and (arr[:, :, 1] == -1).all()
    assert (acc.recall[:, 0] == 0).all() and (acc.recall[:, 1] == -1).all()


# --------------------------------------------------------------------------- grouping


def _ref_rank(group: np.ndarray, order: np.ndarray) -> np.ndarray:
    rank = np.zeros(len(group), dtype=np.int64)
    seen: dict[int, int] = {}
    for i in order:
        rank[i] = seen.get(int(group[i]), 0)
        seen[int(group[i])] = rank[i] + 1
    return rank


@pytest.mark.parametrize("seed", range(5))
def test_rank_within_groups_matches_reference(seed: int, device: str) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    group = 7 * rng.integers(0, int(rng.integers(1, 20)), n)  # keys with gaps
    order = np.lexsort((rng.permutation(n), group))  # by group, random order inside
    ours = rank_within_groups(_t(group, device, I64), _t(order, device, I64))
    _assert_on(ours, device, I64, (n,))
    np.testing.assert_array_equal(ours.cpu().numpy(), _ref_rank(group, order))
    # The sorted groups handed in (any integer dtype) instead of gathered: same ranks.
    given = rank_within_groups(
        _t(group, device, I64), _t(order, device, I64), _t(group[order], device, torch.int32)
    )
    assert torch.equal(given, ours)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("dense", [False, True])
def test_group_pairs_matches_reference(seed: int, dense: bool, device: str) -> None:
    rng = np.random.default_rng(seed)
    num_groups = int(rng.integers(1, 30))
    dt_group = rng.integers(0, num_groups, int(rng.integers(0, 60)))
    gt_group = np.sort(rng.integers(0, num_groups, int(rng.integers(0, 40))))
    pair_dt, pair_gt = group_pairs(_t(dt_group, device, I64), _t(gt_group, device, I64),
                                   num_groups if dense else None)
    ref = [(d, g) for d in range(len(dt_group)) for g in range(len(gt_group))
           if dt_group[d] == gt_group[g]]
    _assert_on(pair_dt, device, I64, (len(ref),))
    _assert_on(pair_gt, device, I64, (len(ref),))
    assert list(zip(pair_dt.tolist(), pair_gt.tolist(), strict=True)) == ref


@pytest.mark.parametrize("seed", range(5))
def test_detection_and_accumulation_order_match_reference(seed: int, device: str) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    score = np.round(rng.random(n), 1)  # many ties
    image = rng.integers(0, 6, n)
    category = rng.integers(0, 4, n)
    order = detection_order(_t(score, device), _t(image, device, I64), _t(category, device, I64), 4)
    ref = sorted(range(n), key=lambda i: (-score[i], image[i], category[i], i))
    _assert_on(order, device, I64, (n,))
    assert order.tolist() == ref
    layout = accumulation_order(order, _t(category, device, I64))
    position = {d: p for p, d in enumerate(ref)}
    assert layout.tolist() == sorted(range(n), key=lambda i: (category[i], position[i]))
    same, segments = accumulation_layout(order, _t(category, device, I64), 4)
    _assert_on(segments, device, I64, (n,))
    assert torch.equal(same, layout)
    assert segments.tolist() == category[layout.cpu().numpy()].tolist()


def _scores(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Scores of one kind, with ties: decimals of a few places, float32 values, or
    arbitrary float64 (no compact key)."""
    if kind.startswith("places"):
        places = int(kind[-1])
        values = np.round(rng.uniform(-2, 2, n) * rng.choice([1, 0.01], n), places)
        return np.where(rng.random(n) < 0.05, -0.0, values)
    if kind == "float32":
        return np.round(rng.random(n), 2).astype(np.float32).astype(np.float64)
    if kind == "float32-extremes":
        values = rng.choice(np.array([np.inf, -np.inf, 1e30, -0.0, 0.0, 3.5], np.float32), n)
        return values.astype(np.float64)
    return np.round(rng.random(n), 2) / 3  # float64 only


COMPACT_KINDS = ["places0", "places1", "places3", "places6", "float32", "float32-extremes"]


@pytest.mark.parametrize("kind", [*COMPACT_KINDS, "float64"])
@pytest.mark.parametrize("seed", range(3))
def test_compact_descending_key_ranks_like_the_values(kind: str, seed: int) -> None:
    score = _scores(kind, np.random.default_rng(seed), 5000)
    compact = compact_descending_key(torch.as_tensor(score))
    if kind == "float64":
        assert compact is None
        return
    assert compact is not None
    _assert_ranks(compact, score)


def _assert_ranks(compact: tuple[torch.Tensor, int], score: np.ndarray) -> None:
    """The key spans [0, span); ascending key = descending value; equal keys = equal
    values (-0.0 == 0.0)."""
    key, span = compact
    assert key.dtype == I64
    assert int(key.min()) == 0
    assert int(key.max()) == span - 1
    order = np.argsort(-score, kind="stable")
    assert torch.sort(key, stable=True).indices.tolist() == order.tolist()
    sorted_key, sorted_score = key.numpy()[order], score[order]
    assert ((np.diff(sorted_key) == 0) == (sorted_score[1:] == sorted_score[:-1])).all()


def test_compact_descending_key_declines() -> None:
    f64 = torch.tensor([0.5, 0.25], dtype=F64)
    assert compact_descending_key(torch.tensor([0.5, float("nan")], dtype=F64)) is None
    assert compact_descending_key(torch.tensor([1e17, 3.0], dtype=F64)) is None  # n >= 2**53
    assert compact_descending_key(torch.zeros(0, dtype=F64)) is None
    assert compact_descending_key(torch.tensor([1, 2])) is None  # integers
    # The leading values pick the places; every value is checked at them. A later value
    # that needs more places sends the data to the float32 key (0.125), or to None
    # (0.16: not a float32 value), never to a key of too few places.
    for tail, float32 in (([0.125, 0.25], True), ([0.16, 0.2], False), ([0.25, 0.2], False)):
        score = np.array([0.5] * 5000 + tail)
        compact = compact_descending_key(torch.as_tensor(score))
        if float32:
            assert compact is not None
            _assert_ranks(compact, score)
        else:
            assert compact is None
    if torch.cuda.is_available():  # deciding reads values back: CPU only
        assert compact_descending_key(f64.cuda()) is None


@pytest.mark.parametrize("kind", [*COMPACT_KINDS, "float64"])
@pytest.mark.parametrize("by_category", [True, False])
@pytest.mark.parametrize("num_images", [None, 7])
def test_detection_group_orders_match_reference(
    kind: str, by_category: bool, num_images: int | None, device: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng([*COMPACT_KINDS, "float64"].index(kind))
    n = 3000
    score = _scores(kind, rng, n)
    image = rng.integers(0, 7, n)
    category = rng.integers(0, 5, n)
    group = image * 5 + category if by_category else image
    keys: list[bool] = []  # whether a compact key came back (the two-sort path)

    def spy(values: torch.Tensor) -> tuple[torch.Tensor, int] | None:
        compact = compact_descending_key(values)
        keys.append(compact is not None)
        return compact

    monkeypatch.setattr(ranking_module, "compact_descending_key", spy)
    order, by_group, sorted_group = detection_group_orders(
        _t(score, device), _t(image, device, I64), _t(category, device, I64), 5,
        num_images=num_images, by_category=by_category,
    )
    two_sorts = device == "cpu" and kind != "float64" and by_category and num_images is not None
    assert keys == ([two_sorts] if by_category and num_images is not None else [])
    ref = sorted(range(n), key=lambda i: (-score[i], image[i], category[i], i))
    position = {d: p for p, d in enumerate(ref)}
    _assert_on(order, device, I64, (n,))
    _assert_on(by_group, device, I64, (n,))
    assert order.tolist() == ref
    assert by_group.tolist() == sorted(range(n), key=lambda i: (group[i], position[i]))
    assert sorted_group.tolist() == group[by_group.cpu().numpy()].tolist()
    assert torch.equal(order, detection_order(
        _t(score, device), _t(image, device, I64), _t(category, device, I64), 5
    ))


def test_detection_group_orders_of_int32_indexes() -> None:
    # The packed (group, score) key is int64 whatever the index dtype: 3,000 groups x
    # a float32 score span of ~2**30 overflows int32.
    rng = np.random.default_rng(0)
    score = torch.as_tensor(rng.random(2000).astype(np.float32))
    image = torch.as_tensor(rng.integers(0, 1000, 2000), dtype=torch.int32)
    category = torch.as_tensor(rng.integers(0, 3, 2000), dtype=torch.int32)
    got = detection_group_orders(score, image, category, 3, num_images=1000)
    want = detection_group_orders(score, image.long(), category.long(), 3, num_images=1000)
    for a, b in zip(got, want, strict=True):
        assert torch.equal(a.long(), b.long())
    assert bool((got[2][1:] >= got[2][:-1]).all())


def test_detection_group_orders_on_empty_inputs(device: str) -> None:
    none = torch.zeros(0, dtype=I64, device=device)
    for num_images in (None, 3):
        outputs = detection_group_orders(
            torch.zeros(0, dtype=F64, device=device), none, none, 3, num_images=num_images
        )
        for out in outputs[:2]:
            _assert_on(out, device, I64, (0,))
        assert outputs[2].shape == (0,)


# --------------------------------------------------------------------------- greedy matching


def _ref_greedy(
    groups: list[tuple[list[int], list[int]]],
    iou: dict[tuple[int, int], float],
    dt_rank: np.ndarray,
    gt_crowd: np.ndarray,
    gt_ignore: np.ndarray,
    iou_thrs: list[float],
    num_dt: int,
) -> np.ndarray:
    """pycocotools' ``evaluateImg`` loop, transcribed, one (group, area range) at a time."""
    out = np.full((len(iou_thrs), gt_ignore.shape[0], num_dt), -1, dtype=np.int64)
    for gts, dets in groups:
        dt_sorted = sorted(dets, key=lambda d: dt_rank[d])
        for a in range(gt_ignore.shape[0]):
            ignore = [int(gt_ignore[a, g]) for g in gts]
            gtind = np.argsort(ignore, kind="mergesort")  # ignored ground truths last
            gt = [gts[i] for i in gtind]
            gt_ig = [ignore[i] for i in gtind]
            for tind, t in enumerate(iou_thrs):
                gtm = [0] * len(gt)
                for d in dt_sorted:
                    best = min([t, 1 - 1e-10])
                    m = -1
                    for gind, g in enumerate(gt):
                        # if this gt already matched, and not a crowd, continue
                        if gtm[gind] > 0 and not gt_crowd[g]:
                            continue
                        # if dt matched to reg gt, and on ignore gt, stop
                        if m > -1 and gt_ig[m] == 0 and gt_ig[gind] == 1:
                            break
                        # continue to next gt unless better match made
                        if iou.get((d, g), 0.0) < best:
                            continue
                        best = iou.get((d, g), 0.0)
                        m = gind
                    if m == -1:
                        continue
                    gtm[m] = 1
                    out[tind, a, d] = gt[m]
    return out


# IoU values that sit on, just below and just above pycocotools' default thresholds.
_THRS = np.linspace(0.5, 0.95, 10)
_IOU_VALUES = np.unique(np.concatenate([
    [0.0, 0.1, 0.3, 0.5, 0.55, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0, 11 / 20, 1 - 1e-10],
    _THRS, np.nextafter(_THRS, 0), np.nextafter(_THRS, 1),
]))


def _random_groups(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    num_groups = int(rng.integers(1, 9))
    sizes = [(int(rng.integers(0, 6)), int(rng.integers(0, 9))) for _ in range(num_groups)]
    num_gt = sum(g for g, _ in sizes)
    num_dt = sum(d for _, d in sizes)
    det_ids = rng.permutation(num_dt)  # a group's detections are spread over the index
    groups, g0, d0 = [], 0, 0
    dt_rank = np.zeros(num_dt, dtype=np.int64)
    for g, d in sizes:
        dets = [int(x) for x in det_ids[d0:d0 + d]]
        dt_rank[dets] = rng.permutation(d)
        groups.append((list(range(g0, g0 + g)), dets))
        g0, d0 = g0 + g, d0 + d
    gt_crowd = rng.random(num_gt) < 0.25
    gt_ignore = np.stack([gt_crowd | (rng.random(num_gt) < p) for p in (0.0, 0.3, 0.7)])
    iou = {}
    for gts, dets in groups:
        for d in dets:
            for gt in gts:
                iou[d, gt] = 0.0 if rng.random() < 0.3 else float(rng.choice(_IOU_VALUES))
    thrs = [list(_THRS), [0.5], [0.1, 0.3, 0.99], [0.75, 0.5, 1.0], [0.0, 0.5]][seed % 5]
    return dict(groups=groups, iou=iou, dt_rank=dt_rank, gt_crowd=gt_crowd, gt_ignore=gt_ignore,
                thrs=thrs, num_dt=num_dt, rng=rng)


@pytest.mark.parametrize("pair_order", ["by_detection", "shuffled"])
@pytest.mark.parametrize("seed", range(40))
def test_coco_greedy_match_matches_evaluate_img(seed: int, pair_order: str, device: str) -> None:
    s = _random_groups(seed)
    pairs = [(d, g, v) for (d, g), v in sorted(s["iou"].items())]
    if pair_order == "shuffled":
        pairs = [pairs[i] for i in s["rng"].permutation(len(pairs))]
    clipped = [min(t, 1 - 1e-10) for t in s["thrs"]]
    m = coco_greedy_match(
        pair_dt=_t([p[0] for p in pairs], device, I64),
        pair_gt=_t([p[1] for p in pairs], device, I64),
        pair_iou=_t([p[2] for p in pairs], device),
        dt_rank=_t(s["dt_rank"], device, I64),
        gt_crowd=_t(s["gt_crowd"], device, torch.bool),
        gt_ignore=_t(s["gt_ignore"], device, torch.bool),
        iou_thresholds=_t(clipped, device),
    )
    ref = _ref_greedy(s["groups"], s["iou"], s["dt_rank"], s["gt_crowd"], s["gt_ignore"],
                      s["thrs"], s["num_dt"])
    candidates = sorted({d for d, _, v in pairs if v >= min(clipped)})
    num_thr, num_area = len(s["thrs"]), s["gt_ignore"].shape[0]
    _assert_on(m.det_index, device, I64, (len(candidates),))
    _assert_on(m.gt_index, device, I64, (num_thr, num_area, len(candidates)))
    assert m.det_index.tolist() == candidates
    others = np.setdiff1d(np.arange(s["num_dt"]), candidates)
    assert (ref[:, :, others] == -1).all()
    np.testing.assert_array_equal(m.gt_index.cpu().numpy(), ref[:, :, candidates])


def test_coco_greedy_match_hand_cases(device: str) -> None:
    # One group: GTs 0 (regular), 1 (regular), 2 (crowd). Detections by rank: 0, 1, 2, 3.
    #   det 0: IoU 0.6 with GT 0 and 0.6 with GT 1   -> equal IoU: the later GT (1) wins
    #   det 1: IoU 0.9 with GT 1 (taken), 0.7 with the crowd -> absorbed by the crowd
    #   det 2: IoU 0.55 with GT 0                      -> GT 0
    #   det 3: IoU 0.8 with the crowd                  -> the crowd again
    # Area range 1 ignores GT 1: det 0 prefers the non-ignored GT 0 despite the tie.
    pairs = [(0, 0, 0.6), (0, 1, 0.6), (1, 1, 0.9), (1, 2, 0.7), (2, 0, 0.55), (3, 2, 0.8)]
    m = coco_greedy_match(
        pair_dt=_t([p[0] for p in pairs], device, I64),
        pair_gt=_t([p[1] for p in pairs], device, I64),
        pair_iou=_t([p[2] for p in pairs], device),
        dt_rank=_t([0, 1, 2, 3], device, I64),
        gt_crowd=_t([False, False, True], device, torch.bool),
        gt_ignore=_t([[False, False, True], [False, True, True]], device, torch.bool),
        iou_thresholds=_t([0.5], device),
    )
    assert m.det_index.tolist() == [0, 1, 2, 3]
    assert m.gt_index[0].tolist() == [[1, 2, 0, 2], [0, 1, -1, 2]]


# --------------------------------------------------------------------------- accumulation

# A hand-worked scene (valor-lite style). One image, one category, IoU thresholds 0.5 and
# 0.75, one area range, maxDets [1, 10], recall thresholds [0, .25, .5, .75, 1]:
#
#     g0 [0,0,10,10]      g1 [20,0,10,10]      g2 [40,0,10,10]          d1 [100,100,5,5]
#     +--------+          +--------+           +--------+               +--+
#     |d0 .9   |          |d2 .7   |           |        |               +--+  (.8, nothing)
#     |d3 .6   |          |        |           | missed |
#     +--------+          +--------+           +--------+
#
#   d0 score .9, [0,0,10,8]: IoU .8 with g0 -> TP at .5 and .75
#   d1 score .8, far away               -> FP
#   d2 score .7, [20,0,10,6]: IoU .6 with g1 -> TP at .5, FP at .75
#   d3 score .6, [0,0,10,9]: IoU .9 with g0, already taken by d0 -> FP
#
# At 0.5: TP FP TP FP -> tp 1 1 2 2, fp 0 1 1 2, recall 1/3 1/3 2/3 2/3,
#   precision 1 .5 .667 .5 -> interpolated 1 .667 .667 .5.
#   recall thr 0 and .25 -> first detection with recall >= r is d0: precision 1, score .9
#   recall thr .5 -> d2: precision 2/3, score .7; .75 and 1 never reached -> 0.
#   Final recall 2/3. With maxDets 1 only d0 counts: precision 1 up to recall .25, recall 1/3.
# At 0.75: TP FP FP FP -> precision 1 up to recall thr .25, 0 beyond; recall 1/3.
# pycocotools divides by (tp + fp + eps), so "1" is 1 / (1 + eps) and 2/3 is 2 / (3 + eps).
_P1, _P23 = 1 / (1 + EPS), 2 / (3 + EPS)
HAND_PRECISION = np.array([  # [T, R, M]
    [[_P1, _P1], [_P1, _P1], [0, _P23], [0, 0], [0, 0]],
    [[_P1, _P1], [_P1, _P1], [0, 0], [0, 0], [0, 0]],
])
HAND_SCORES = np.array([
    [[0.9, 0.9], [0.9, 0.9], [0, 0.7], [0, 0], [0, 0]],
    [[0.9, 0.9], [0.9, 0.9], [0, 0], [0, 0], [0, 0]],
])
HAND_RECALL = np.array([[1 / 3, 2 / 3], [1 / 3, 1 / 3]])  # [T, M]
HAND_REC_THRS = [0.0, 0.25, 0.5, 0.75, 1.0]


def test_coco_accumulate_hand_worked(device: str) -> None:
    acc = coco_accumulate(
        dt_segment=_t([0, 0, 0, 0], device, I64),
        dt_rank=_t([0, 1, 2, 3], device, I64),
        dt_score=_t([0.9, 0.8, 0.7, 0.6], device),
        dt_outside=torch.zeros((1, 4), dtype=torch.bool, device=device),
        # d1 reaches no ground truth; d0, d2, d3 do at 0.5.
        matches=GreedyMatches(_t([0, 2, 3], device, I64),
                              _t([[[0, 1, -1]], [[0, -1, -1]]], device, I64)),
        gt_ignore=torch.zeros((1, 3), dtype=torch.bool, device=device),
        gt_id_nonzero=torch.ones(3, dtype=torch.bool, device=device),
        num_counted=_t([[3]], device, I64),
        max_dets=[1, 10],
        rec_thresholds=_t(HAND_REC_THRS, device),
    )
    _assert_on(acc.precision, device, F64, (2, 5, 1, 1, 2))
    _assert_on(acc.recall, device, F64, (2, 1, 1, 2))
    np.testing.assert_allclose(acc.precision[:, :, 0, 0].cpu().numpy(), HAND_PRECISION,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(acc.scores[:, :, 0, 0].cpu().numpy(), HAND_SCORES, rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(acc.recall[:, 0, 0].cpu().numpy(), HAND_RECALL, rtol=0,
                               atol=1e-12)


def test_hand_worked_scene_end_to_end(device: str) -> None:
    """The same scene as boxes: pycocotools and assay both give the hand-worked numbers."""
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = {
        "images": [{"id": 1}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [
            {"id": i + 1, "image_id": 1, "category_id": 1, "bbox": box, "area": 100.0,
             "iscrowd": 0}
            for i, box in enumerate([[0, 0, 10, 10], [20, 0, 10, 10], [40, 0, 10, 10]])
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": box, "score": score}
        for box, score in [([0, 0, 10, 8], 0.9), ([100, 100, 5, 5], 0.8),
                           ([20, 0, 10, 6], 0.7), ([0, 0, 10, 9], 0.6)]
    ]
    params = {"iouThrs": [0.5, 0.75], "recThrs": HAND_REC_THRS, "maxDets": [1, 10],
              "areaRng": [[0, 1e10]], "areaRngLbl": ["all"]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes([dict(d) for d in dt]), "bbox")
        for key, value in params.items():
            setattr(ev.params, key, np.asarray(value) if key.endswith("Thrs") else value)
        ev.evaluate()
        ev.accumulate()
    result = assay.evaluate_coco(gt, dt, device=device, params=params)
    for precision, scores, recall in (
        (ev.eval["precision"], ev.eval["scores"], ev.eval["recall"]),
        (result.precision, result.scores, result.recall),
    ):
        np.testing.assert_allclose(precision[:, :, 0, 0], HAND_PRECISION, rtol=0, atol=1e-12)
        np.testing.assert_allclose(scores[:, :, 0, 0], HAND_SCORES, rtol=0, atol=1e-12)
        np.testing.assert_allclose(recall[:, 0, 0], HAND_RECALL, rtol=0, atol=1e-12)


# ------------------------------------------------------- accumulation building blocks


@pytest.mark.parametrize("width", [0, 1, 2, 3, 64, 101, 130])
def test_suffix_max_is_the_reversed_cummax(device: str, width: int) -> None:
    import assay.kernels.ranking as ranking

    g = torch.Generator().manual_seed(width)
    x = torch.randint(-3, 4, (3, 2, 5, width), generator=g).to(device, torch.float64) / 4
    want = x.flip(-1).cummax(-1).values.flip(-1) if width else x.clone()
    got = ranking._suffix_max_(x.clone(), torch.full_like(x, float("nan")))
    assert torch.equal(got, want)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
def test_row_cumsum_into_a_reused_buffer(device: str, dtype: torch.dtype) -> None:
    import assay.kernels.ranking as ranking

    g = torch.Generator().manual_seed(5)
    out = torch.full((4, 1001), -7, dtype=dtype, device=device)
    for share in (0.0, 0.3, 1.0):
        flags = (torch.rand(4, 1001, generator=g) < share).to(device)
        got = ranking._row_cumsum(flags, out)
        assert got is out and got.dtype == dtype
        assert torch.equal(got, torch.cumsum(flags, 1).to(dtype))
