"""Bad input to the matching and ranking kernels: a clear error, never a silent answer.

Each row of the tables gives one public kernel an argument that used to pass silently
(a wrong order, uninitialised memory, a wrapped key) or fail deep inside torch, and
names the exception and the words of the message. Metadata (types, dtypes, shapes,
devices) is checked on every device; values only on CPU tensors: ``meta`` tensors
stand in for a device whose values must not be read. Valid edge cases that must keep
passing (values pycocotools accepts, ignored entries, other integer widths) are
tested against the plain int64 answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from assay.kernels import matching as matching_module
from assay.kernels import ranking as ranking_module
from assay.kernels.matching import (
    GreedyMatches,
    coco_greedy_match,
    coco_greedy_match_rounds,
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

F64, I64, B = torch.float64, torch.int64, torch.bool
Case = tuple[str, dict[str, Any], type[Exception], str]
ARGS = ("label", "change", "exc", "match")


def _ids(cases: list[Case]) -> list[str]:
    return [c[0] for c in cases]


def _t(values: Any, dtype: torch.dtype | None = None, device: str = "cpu") -> torch.Tensor:
    return torch.tensor(values, dtype=dtype, device=device)


def _raises(
    fn: Callable[..., Any], kwargs: dict[str, Any], exc: type[Exception], match: str
) -> None:
    with pytest.raises(exc, match=match) as info:
        fn(**kwargs)
    assert str(info.value).startswith("Expected `"), str(info.value)


# --------------------------------------------------------------------------- rank_within_groups

RANK = {"group": _t([7, 3, 7, 3, 7]), "order": _t([3, 1, 4, 0, 2])}
RANK_CASES: list[Case] = [
    ("group float", {"group": _t([7.0, 3, 7, 3, 7])}, TypeError, "`group`.*integer"),
    ("group 2-D", {"group": _t([[7, 3, 7, 3, 7]])}, ValueError, "`group`.*shape 1-D"),
    ("order float", {"order": _t([3.0, 1, 4, 0, 2])}, TypeError, "`order`.*integer"),
    ("order short", {"order": _t([3, 1, 4])}, ValueError, "`order`.*one index per element"),
    ("order repeats", {"order": _t([3, 1, 4, 0, 0])}, ValueError,
     "`order`.*permutation.*order\\[3\\]"),
    ("order out of range", {"order": _t([3, 1, 4, 0, 5])}, ValueError,
     "`order`.*\\[0, 5\\).*order\\[4\\]"),
    ("order negative", {"order": _t([3, 1, 4, 0, -1])}, ValueError, "`order`.*\\[0, 5\\)"),
    ("order not by group", {"order": _t([0, 1, 2, 3, 4])}, ValueError,
     "`group\\[order\\]`.*ascending.*3 after 7"),
    ("sorted_group not group[order]", {"sorted_group": _t([3, 3, 7, 7, 8])}, ValueError,
     "`sorted_group`.*group\\[order\\].*sorted_group\\[4\\]"),
    ("sorted_group short", {"sorted_group": _t([3, 3, 7])}, ValueError,
     "`sorted_group`.*one group"),
    ("sorted_group float", {"sorted_group": _t([3.0, 3, 7, 7, 7])}, TypeError,
     "`sorted_group`.*integer"),
    ("order on another device", {"order": _t([3, 1, 4, 0, 2], device="meta")}, ValueError,
     "`order`.*device.*meta"),
]


@pytest.mark.parametrize(ARGS, RANK_CASES, ids=_ids(RANK_CASES))
def test_rank_within_groups_bad_input(label: str, change: dict[str, Any], exc: type[Exception],
                                      match: str) -> None:
    _raises(rank_within_groups, {**RANK, **change}, exc, match)


def test_rank_within_groups_valid_edges() -> None:
    want = rank_within_groups(**RANK)
    assert want.tolist() == [1, 1, 2, 0, 0]
    for dtype in (torch.int32, torch.int16, torch.uint8):  # any integer width
        got = rank_within_groups(RANK["group"].to(dtype), RANK["order"].to(dtype))
        assert torch.equal(got, want)
    given = _t([3, 3, 7, 7, 7], torch.uint8)
    assert torch.equal(rank_within_groups(**RANK, sorted_group=given), want)
    # Device values are not read: a non-permutation on `meta` gets through the checks.
    out = rank_within_groups(_t([7, 3, 7], device="meta"), _t([0, 0, 0], device="meta"))
    assert out.shape == (3,) and out.device.type == "meta"


# --------------------------------------------------------------------------- group_pairs

PAIRS = {"dt_group": _t([1, 0, 2]), "gt_group": _t([0, 0, 1])}
PAIR_CASES: list[Case] = [
    ("gt_group unsorted", {"gt_group": _t([1, 0, 0])}, ValueError,
     "`gt_group`.*ascending.*gt_group\\[1\\]"),
    ("gt_group unsorted, dense", {"gt_group": _t([1, 0, 0]), "num_groups": 3}, ValueError,
     "`gt_group`.*ascending"),
    ("dt_group >= num_groups", {"dt_group": _t([1, 0, 3]), "num_groups": 3}, ValueError,
     "`dt_group`.*\\[0, 3\\).*dt_group\\[2\\]"),
    ("gt_group >= num_groups", {"gt_group": _t([0, 0, 5]), "num_groups": 3}, ValueError,
     "`gt_group`.*\\[0, 3\\).*gt_group\\[2\\]"),
    ("negative dt_group, dense", {"dt_group": _t([1, 0, -1]), "num_groups": 3}, ValueError,
     "`dt_group`.*\\[0, 3\\)"),
    ("dt_group float", {"dt_group": _t([1.0, 0, 2])}, TypeError, "`dt_group`.*integer"),
    ("gt_group float, dense", {"gt_group": _t([0.0, 0, 1]), "num_groups": 3}, TypeError,
     "`gt_group`.*integer"),
    ("dt_group 2-D", {"dt_group": _t([[1, 0, 2]])}, ValueError, "`dt_group`.*shape"),
    ("num_groups float", {"num_groups": 3.0}, TypeError, "`num_groups`.*int"),
    ("num_groups negative", {"num_groups": -1}, ValueError, "`num_groups`.*>= 0"),
    ("gt_group on another device", {"gt_group": _t([0, 0, 1], device="meta")}, ValueError,
     "`gt_group`.*device"),
]


@pytest.mark.parametrize(ARGS, PAIR_CASES, ids=_ids(PAIR_CASES))
def test_group_pairs_bad_input(label: str, change: dict[str, Any], exc: type[Exception],
                               match: str) -> None:
    _raises(group_pairs, {**PAIRS, **change}, exc, match)


def test_group_pairs_valid_edges() -> None:
    want = group_pairs(**PAIRS)
    assert [t.tolist() for t in want] == [[0, 1, 1], [2, 0, 1]]
    for num_groups in (None, 3):
        # Mixed and narrow integer widths give the int64 pairs.
        for dt_dtype, gt_dtype in ((torch.int32, I64), (torch.int16, torch.uint8)):
            got = group_pairs(PAIRS["dt_group"].to(dt_dtype), PAIRS["gt_group"].to(gt_dtype),
                              num_groups)
            assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
    # Without num_groups any keys work (binary search), negative ones too.
    got = group_pairs(_t([-5, 0, -5]), _t([-5, 0]))
    assert [t.tolist() for t in got] == [[0, 1, 2], [0, 1, 0]]
    # Device values are not read: the checks pass an unsorted `meta` gt_group.
    unsorted = _t([1, 0], device="meta")
    assert matching_module._check_pair_groups(_t([0], device="meta"), unsorted, 3) == 3


# --------------------------------------------------------------------------- greedy matching

MATCH = {
    "pair_dt": _t([0, 1]), "pair_gt": _t([0, 0]), "pair_iou": _t([0.8, 0.9], F64),
    "dt_rank": _t([0, 1]), "gt_crowd": _t([False]), "gt_ignore": _t([[False]]),
    "iou_thresholds": _t([0.5, 0.85], F64),
}
MATCH_CASES: list[Case] = [
    ("pair_gt out of range", {"pair_gt": _t([0, 1])}, ValueError,
     "`pair_gt`.*\\[0, 1\\).*pair_gt\\[1\\]"),
    ("pair_gt negative", {"pair_gt": _t([0, -1])}, ValueError, "`pair_gt`.*\\[0, 1\\)"),
    ("pair_dt out of range", {"pair_dt": _t([0, 2])}, ValueError,
     "`pair_dt`.*\\[0, 2\\).*pair_dt\\[1\\]"),
    ("pair_gt short", {"pair_gt": _t([0])}, ValueError, "`pair_gt`.*one ground truth per pair"),
    ("pair_iou short", {"pair_iou": _t([0.8], F64)}, ValueError, "`pair_iou`.*one IoU per pair"),
    ("gt_crowd longer than gt_ignore", {"gt_crowd": _t([False, True])}, ValueError,
     "`gt_ignore`.*column per ground truth"),
    ("gt_ignore 1-D", {"gt_ignore": _t([False])}, ValueError, "`gt_ignore`.*shape \\(A, G\\)"),
    ("gt_crowd int", {"gt_crowd": _t([0])}, TypeError, "`gt_crowd`.*bool"),
    ("gt_ignore int", {"gt_ignore": _t([[0]])}, TypeError, "`gt_ignore`.*bool"),
    ("pair_dt float", {"pair_dt": _t([0.0, 1.0])}, TypeError, "`pair_dt`.*integer"),
    ("pair_iou int", {"pair_iou": _t([1, 1])}, TypeError, "`pair_iou`.*floating"),
    ("dt_rank float", {"dt_rank": _t([0.0, 1.0])}, TypeError, "`dt_rank`.*integer"),
    ("no threshold", {"iou_thresholds": _t([], F64)}, ValueError, "`iou_thresholds`.*non-empty"),
    ("threshold above 1", {"iou_thresholds": _t([0.5, 1.5], F64)}, ValueError,
     "`iou_thresholds`.*\\[0, 1\\].*1.5.*iou_thresholds\\[1\\]"),
    ("threshold negative", {"iou_thresholds": _t([-0.1], F64)}, ValueError, "`iou_thresholds`"),
    ("threshold NaN", {"iou_thresholds": _t([math.nan], F64)}, ValueError, "`iou_thresholds`.*nan"),
    ("IoU NaN", {"pair_iou": _t([math.nan, 0.9], F64)}, ValueError,
     "`pair_iou`.*nan.*pair_iou\\[0\\]"),
    ("IoU far above 1", {"pair_iou": _t([0.8, 2.5], F64)}, ValueError, "`pair_iou`.*2.5"),
    ("negative rank of a candidate", {"dt_rank": _t([-1, 0])}, ValueError,
     "`dt_rank`.*>= 0.*dt_rank\\[0\\]"),
    ("dt_rank on another device", {"dt_rank": _t([0, 1], device="meta")}, ValueError,
     "`dt_rank`.*device"),
    # both detections took ground truth 0 (gt_index [[0, 0]]) before
    ("two candidates of one ground truth share a rank", {"dt_rank": _t([0, 0])}, ValueError,
     "`dt_rank` to hold distinct ranks.*detections 0 and 1.*ground truth 0.*rank 0"),
]
MATCHERS = [coco_greedy_match, coco_greedy_match_rounds]


@pytest.mark.parametrize("matcher", MATCHERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(ARGS, MATCH_CASES, ids=_ids(MATCH_CASES))
def test_greedy_match_bad_input(matcher: Callable[..., GreedyMatches], label: str,
                                change: dict[str, Any], exc: type[Exception], match: str) -> None:
    _raises(matcher, {**MATCH, **change}, exc, match)


@pytest.mark.parametrize("matcher", MATCHERS, ids=lambda f: f.__name__)
def test_greedy_match_valid_edges(matcher: Callable[..., GreedyMatches]) -> None:
    want = matcher(**MATCH)
    assert want.gt_index[:, 0].tolist() == [[0, -1], [-1, 0]]

    def same(**change: Any) -> bool:
        got = matcher(**{**MATCH, **change})
        return all(torch.equal(a, b) for a, b in zip(got, want, strict=True))

    # A detection whose pairs all stay below the smallest threshold (streaming marks them
    # -1) may have any rank: it is never read.
    extra = {"pair_dt": _t([0, 1, 2]), "pair_gt": _t([0, 0, 0]),
             "pair_iou": _t([0.8, 0.9, -1.0], F64), "dt_rank": _t([0, 1, -1])}
    assert same(**extra)
    assert same(pair_dt=MATCH["pair_dt"].int(), pair_gt=MATCH["pair_gt"].to(torch.int16),
                dt_rank=MATCH["dt_rank"].to(torch.uint8))
    # IoUs reach 1 + 2**-52 by rounding (pycocotools' formula does): accepted.
    got = matcher(**{**MATCH, "pair_iou": _t([0.8, 1 + 2**-52], F64)})
    assert got.gt_index[:, 0].tolist() == [[0, -1], [-1, 0]]
    # One rank shared by detections that never compete for a ground truth (another
    # ground truth, or a pair below every threshold) is harmless: accepted.
    two = {"pair_dt": _t([0, 1]), "pair_gt": _t([0, 1]), "dt_rank": _t([0, 0]),
           "gt_crowd": _t([False, False]), "gt_ignore": _t([[False, False]])}
    assert matcher(**{**MATCH, **two}).gt_index[:, 0].tolist() == [[0, 1], [-1, 1]]
    assert same(pair_iou=_t([0.8, 0.1], F64), dt_rank=_t([0, 0])) is False
    assert matcher(**{**MATCH, "pair_iou": _t([0.8, 0.1], F64), "dt_rank": _t([0, 0])})
    # Thresholds 0 and 1 are in range.
    assert matcher(**{**MATCH, "iou_thresholds": _t([0.0, 1.0], F64)}).gt_index.shape == (2, 1, 2)


def test_greedy_match_checks_do_not_read_device_values() -> None:
    meta = {k: v.to("meta") for k, v in MATCH.items()}
    meta["pair_gt"] = _t([0, 7], device="meta")  # out of range, unread
    matching_module._check_match_args(**meta)


# --------------------------------------------------------------------------- detection orders

ORDER = {"score": _t([0.5, 0.9, 0.5, 0.5], F64), "image": _t([1, 0, 0, 0]),
         "category": _t([0, 0, 1, 0]), "num_categories": 2}
ORDER_CASES: list[Case] = [
    ("category >= num_categories", {"category": _t([0, 0, 2, 0])}, ValueError,
     "`category`.*\\[0, 2\\).*category\\[2\\]"),
    ("category negative", {"category": _t([0, 0, -1, 0])}, ValueError, "`category`.*\\[0, 2\\)"),
    ("image >= num_images (a wrapped key)", {"image": _t([256, 0, 0, 0]), "num_images": 2},
     ValueError, "`image`.*\\[0, 2\\).*256.*image\\[0\\]"),
    ("image negative, num_images given", {"image": _t([-1, 0, 0, 0]), "num_images": 2},
     ValueError, "`image`.*\\[0, 2\\)"),
    ("image float", {"image": _t([1.5, 0, 0, 0])}, TypeError, "`image`.*integer"),
    ("category float", {"category": _t([0.0, 0, 1, 0])}, TypeError, "`category`.*integer"),
    ("score int", {"score": _t([1, 2, 1, 1])}, TypeError, "`score`.*floating"),
    ("image short", {"image": _t([1, 0, 0])}, ValueError, "`image`.*one image per score"),
    ("category short", {"category": _t([0, 0])}, ValueError, "`category`.*one category per score"),
    ("num_categories float", {"num_categories": 2.0}, TypeError, "`num_categories`.*int"),
    ("num_categories zero", {"num_categories": 0}, ValueError, "`category`.*\\[0, 0\\)"),
    ("num_images negative", {"num_images": -1}, ValueError, "`num_images`.*>= 0"),
    ("NaN score", {"score": _t([0.5, math.nan, 0.5, 0.5], F64)}, ValueError,
     "`score`.*NaN.*score\\[1\\]"),
    ("image on another device", {"image": _t([1, 0, 0, 0], device="meta")}, ValueError,
     "`image`.*device"),
]


@pytest.mark.parametrize("fn", [detection_order, detection_group_orders], ids=lambda f: f.__name__)
@pytest.mark.parametrize(ARGS, ORDER_CASES, ids=_ids(ORDER_CASES))
def test_detection_orders_bad_input(fn: Callable[..., Any], label: str, change: dict[str, Any],
                                    exc: type[Exception], match: str) -> None:
    _raises(fn, {**ORDER, **change}, exc, match)


def test_detection_group_orders_by_category_must_be_bool() -> None:
    _raises(detection_group_orders, {**ORDER, "by_category": 1}, TypeError, "`by_category`.*bool")


def test_detection_orders_valid_edges() -> None:
    want = detection_order(**ORDER)
    assert want.tolist() == [1, 3, 2, 0]
    assert torch.equal(detection_order(**ORDER, num_images=2), want)
    # Other integer widths: the same order (the (image, category) key is formed in int64).
    narrow = {**ORDER, "image": _t([200, 0, 0, 0], torch.uint8),
              "category": _t([0, 0, 1, 0], torch.uint8)}
    wide = {**narrow, "image": narrow["image"].long(), "category": narrow["category"].long()}
    assert torch.equal(detection_order(**narrow), detection_order(**wide))
    assert torch.equal(detection_order(**narrow), _t([1, 3, 2, 0]))
    # Without num_images any image index orders as itself (no narrowed key to wrap).
    assert detection_order(**{**ORDER, "image": _t([256, 0, 0, 0])}).tolist() == [1, 3, 2, 0]
    # Device values are not read: a category out of range on `meta` gets through.
    meta = {k: (v.to("meta") if isinstance(v, torch.Tensor) else v) for k, v in ORDER.items()}
    meta["category"] = _t([0, 0, 5, 0], device="meta")
    assert detection_order(**meta).device.type == "meta"


# --------------------------------------------------------------------------- accumulation layout

LAYOUT = {"score_order": _t([0, 1, 2]), "segment": _t([1, 0, 0])}
LAYOUT_CASES: list[Case] = [
    ("segment >= num_segments", {"segment": _t([1, 0, 3]), "num_segments": 2}, ValueError,
     "`segment`.*\\[0, 2\\).*segment\\[2\\]"),
    ("segment 300 (a wrapped uint8 key)", {"segment": _t([1, 0, 300]), "num_segments": 2},
     ValueError, "`segment`.*300"),
    ("negative segment, num_segments given", {"segment": _t([1, 0, -1]), "num_segments": 2},
     ValueError, "`segment`.*\\[0, 2\\)"),
    ("score_order short", {"score_order": _t([0, 1])}, ValueError, "`score_order`.*one index"),
    ("score_order out of range", {"score_order": _t([0, 1, 3])}, ValueError,
     "`score_order`.*\\[0, 3\\)"),
    ("score_order repeats", {"score_order": _t([0, 1, 1])}, ValueError,
     "`score_order`.*permutation"),
    ("segment float", {"segment": _t([1.5, 0, 0])}, TypeError, "`segment`.*integer"),
    ("score_order float", {"score_order": _t([0.0, 1, 2])}, TypeError, "`score_order`.*integer"),
    ("num_segments float", {"num_segments": 2.0}, TypeError, "`num_segments`.*int"),
    ("segment on another device", {"segment": _t([1, 0, 0], device="meta")}, ValueError,
     "`segment`.*device"),
]


@pytest.mark.parametrize("fn", [accumulation_layout, accumulation_order], ids=lambda f: f.__name__)
@pytest.mark.parametrize(ARGS, LAYOUT_CASES, ids=_ids(LAYOUT_CASES))
def test_accumulation_layout_bad_input(fn: Callable[..., Any], label: str, change: dict[str, Any],
                                       exc: type[Exception], match: str) -> None:
    _raises(fn, {**LAYOUT, **change}, exc, match)


def test_accumulation_layout_valid_edges() -> None:
    order, segments = accumulation_layout(**LAYOUT, num_segments=2)
    assert (order.tolist(), segments.tolist()) == ([1, 2, 0], [0, 0, 1])
    got = accumulation_layout(LAYOUT["score_order"].to(torch.int16), LAYOUT["segment"].int(), 2)
    assert torch.equal(got[0], order) and torch.equal(got[1], segments)
    # Device values are not read: a non-permutation on `meta` gets through.
    out = accumulation_order(_t([0, 0, 0], device="meta"), _t([1, 0, 0], device="meta"))
    assert out.device.type == "meta"


# --------------------------------------------------------------------------- coco_accumulate

ACC = {
    "dt_segment": _t([0, 0]), "dt_rank": _t([0, 1]), "dt_score": _t([0.9, 0.8], F64),
    "dt_outside": torch.zeros(1, 2, dtype=B), "matches": GreedyMatches(_t([0]), _t([[[0]]])),
    "gt_ignore": torch.zeros(1, 1, dtype=B), "gt_id_nonzero": _t([True]),
    "num_counted": _t([[1]]), "max_dets": [1, 10], "rec_thresholds": [0.0, 0.5, 1.0],
}
ACC_CASES: list[Case] = [
    ("max_dets 0", {"max_dets": [0, 10]}, ValueError, "`max_dets\\[0\\]`.*>= 1"),
    ("max_dets negative", {"max_dets": [1, -10]}, ValueError, "`max_dets\\[1\\]`.*>= 1"),
    ("max_dets float", {"max_dets": [1.5, 10]}, TypeError, "`max_dets\\[0\\]`.*int"),
    ("max_dets empty", {"max_dets": []}, ValueError, "`max_dets`.*non-empty"),
    ("max_dets a string", {"max_dets": "1, 10"}, TypeError, "`max_dets`.*sequence"),
    ("max_dets a number", {"max_dets": 100}, TypeError, "`max_dets`.*sequence"),
    ("dt_segment >= K", {"dt_segment": _t([0, 1])}, ValueError,
     "`dt_segment`.*\\[0, 1\\).*dt_segment\\[1\\]"),
    ("dt_segment negative", {"dt_segment": _t([-1, 0])}, ValueError, "`dt_segment`.*\\[0, 1\\)"),
    ("dt_segment not ascending", {"dt_segment": _t([1, 0]), "num_counted": _t([[1], [1]])},
     ValueError, "`dt_segment`.*ascending"),
    ("dt_score rising in a category", {"dt_score": _t([0.8, 0.9], F64)}, ValueError,
     "`dt_score`.*descending.*dt_score\\[1\\]"),
    ("dt_score NaN", {"dt_score": _t([math.nan, 0.8], F64)}, ValueError, "`dt_score`.*nan"),
    ("dt_score short", {"dt_score": _t([0.9], F64)}, ValueError, "`dt_score`.*one per detection"),
    ("dt_score int", {"dt_score": _t([9, 8])}, TypeError, "`dt_score`.*floating"),
    ("dt_rank past max(max_dets)", {"dt_rank": _t([0, 10])}, ValueError, "`dt_rank`.*\\[0, 10\\)"),
    ("dt_rank negative", {"dt_rank": _t([0, -1])}, ValueError, "`dt_rank`.*\\[0, 10\\)"),
    ("dt_outside other D", {"dt_outside": torch.zeros(1, 3, dtype=B)}, ValueError,
     "`dt_outside`.*column per detection"),
    ("dt_outside int", {"dt_outside": torch.zeros(1, 2, dtype=I64)}, TypeError,
     "`dt_outside`.*bool"),
    ("det_index out of range", {"matches": GreedyMatches(_t([5]), _t([[[0]]]))}, ValueError,
     "`matches.det_index`.*\\[0, 2\\)"),
    ("det_index not increasing", {"matches": GreedyMatches(_t([1, 0]), _t([[[0, -1]]]))},
     ValueError, "`matches.det_index`.*strictly increasing"),
    ("det_index repeated", {"matches": GreedyMatches(_t([0, 0]), _t([[[0, -1]]]))},
     ValueError, "`matches.det_index`.*strictly increasing"),
    ("gt_index out of range", {"matches": GreedyMatches(_t([0]), _t([[[4]]]))}, ValueError,
     "`matches.gt_index`.*\\[-1, 1\\)"),
    ("gt_index below -1", {"matches": GreedyMatches(_t([0]), _t([[[-2]]]))}, ValueError,
     "`matches.gt_index`.*\\[-1, 1\\)"),
    ("gt_index 2-D", {"matches": GreedyMatches(_t([0]), _t([[0]]))}, ValueError,
     "`matches.gt_index`.*\\(T, A, S\\)"),
    ("gt_index other A", {"matches": GreedyMatches(_t([0]), _t([[[0], [0]]]))}, ValueError,
     "`matches.gt_index`.*row per area range"),
    ("matches a list", {"matches": [_t([0])]}, TypeError, "`matches`.*GreedyMatches"),
    ("gt_ignore other A", {"gt_ignore": torch.zeros(2, 1, dtype=B)}, ValueError,
     "`gt_ignore`.*row per area range"),
    ("gt_id_nonzero other G", {"gt_id_nonzero": _t([True, True])}, ValueError,
     "`gt_id_nonzero`.*one flag per column"),
    ("num_counted other A", {"num_counted": _t([[1, 1]])}, ValueError,
     "`num_counted`.*column per area"),
    ("num_counted negative", {"num_counted": _t([[-1]])}, ValueError,
     "`num_counted`.*\\[0, inf\\)"),
    ("num_counted float", {"num_counted": _t([[1.0]])}, TypeError, "`num_counted`.*integer"),
    ("recall threshold above 1", {"rec_thresholds": [0.0, 2.0]}, ValueError,
     "`rec_thresholds`.*\\[0, 1\\].*rec_thresholds\\[1\\]"),
    ("recall threshold negative", {"rec_thresholds": [-0.5]}, ValueError, "`rec_thresholds`"),
    ("recall threshold NaN", {"rec_thresholds": _t([0.0, math.nan], F64)}, ValueError,
     "`rec_thresholds`.*nan"),
    ("recall threshold a string", {"rec_thresholds": [0.0, "0.5"]}, TypeError, "`rec_thresholds`"),
    ("recall thresholds 2-D", {"rec_thresholds": _t([[0.0, 0.5]], F64)}, ValueError,
     "`rec_thresholds`.*shape"),
    ("recall thresholds 2-D array", {"rec_thresholds": [[0.0, 0.5]]}, TypeError,
     "`rec_thresholds`.*floats"),
    ("dt_rank on another device", {"dt_rank": _t([0, 1], device="meta")}, ValueError,
     "`dt_rank`.*device"),
]


@pytest.mark.parametrize(ARGS, ACC_CASES, ids=_ids(ACC_CASES))
def test_coco_accumulate_bad_input(label: str, change: dict[str, Any], exc: type[Exception],
                                   match: str) -> None:
    _raises(coco_accumulate, {**ACC, **change}, exc, match)


def test_coco_accumulate_valid_edges() -> None:
    want = coco_accumulate(**ACC)
    # pycocotools sorts maxDets and accepts any order: the columns follow the order given.
    flipped = coco_accumulate(**{**ACC, "max_dets": [10, 1]})
    for a, b in zip(flipped, want, strict=True):
        assert torch.equal(a, b.flip(-1))
    # No recall threshold (pycocotools: R = 0): empty precision / scores, the same recall.
    empty = coco_accumulate(**{**ACC, "rec_thresholds": []})
    assert empty.precision.shape == (1, 0, 1, 1, 2) and empty.scores.shape == (1, 0, 1, 1, 2)
    assert torch.equal(empty.recall, want.recall)
    # A tensor of thresholds, numpy scalars and other integer widths: the same arrays.
    import numpy as np

    narrow = coco_accumulate(**{
        **ACC, "dt_segment": _t([0, 0], torch.uint8), "dt_rank": _t([0, 1], torch.int32),
        "num_counted": _t([[1]], torch.int16),
        "matches": GreedyMatches(_t([0], torch.int32), _t([[[0]]], torch.int32)),
        "max_dets": [np.int64(1), 10], "rec_thresholds": _t([0.0, 0.5, 1.0], F64),
    })
    arrays = coco_accumulate(**{**ACC, "max_dets": _t([1, 10]),
                                "rec_thresholds": np.array([0.0, 0.5, 1.0])})
    for got in (narrow, arrays):
        for a, b in zip(got, want, strict=True):
            assert torch.equal(a, b)
    # Device values are not read: out-of-range values on `meta` pass the checks.
    meta = {k: (v.to("meta") if isinstance(v, torch.Tensor) else v) for k, v in ACC.items()}
    meta["matches"] = GreedyMatches(_t([9], device="meta"), _t([[[9]]], device="meta"))
    meta["num_counted"] = _t([[-1]], device="meta")
    assert ranking_module._check_accumulate_args(**meta) == ([1, 10], [0.0, 0.5, 1.0])
