"""Parity on the reference data in ../shared/data (bbox only).

Every number here comes from someone else: the values a source project publishes
(faster-coco-eval's and torchmetrics' tests, cocoapi's result printout), the values
derived with pycocotools 2.0.11 in each ``expected.json``, or pycocotools run live on
the same files. Files are read in place from the ``shared_data`` fixture.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import assay
import numpy as np
import pytest
import torch
from assay.kernels import coco_box_iou
from oracles import (
    array_sha256,
    assert_matches_cocoeval,
    first_diverging_cell,
    load_json,
    run_pycocotools,
)

pytest.importorskip("pycocotools")

EXACT = 1e-12  # live pycocotools and pycocotools-derived values
PUBLISHED = 1e-10  # faster-coco-eval's assertAlmostEqual(places=10)
THREE_DECIMALS = 5e-4 + 1e-12  # values printed with 3 decimals

# expected.json's stat_keys -> CocoResult.stats_named keys (same order as stats)
STAT_KEYS = {
    "AP": "AP", "AP50": "AP50", "AP75": "AP75",
    "AP_small": "APs", "AP_medium": "APm", "AP_large": "APl",
    "AR1": "AR1", "AR10": "AR10", "AR100": "AR100",
    "AR_small": "ARs", "AR_medium": "ARm", "AR_large": "ARl",
}
# faster-coco-eval's stats_as_dict names for the same 12 stats
FASTER_COCO_EVAL_KEYS = {
    "AP_all": "AP", "AP_50": "AP50", "AP_75": "AP75",
    "AP_small": "APs", "AP_medium": "APm", "AP_large": "APl",
    "AR_all": "AR1", "AR_second": "AR10", "AR_third": "AR100",
    "AR_small": "ARs", "AR_medium": "ARm", "AR_large": "ARl",
}
VAL2014 = "coco_val2014_100"
VAL2014_GT = f"{VAL2014}/instances_val2014_100.json"
VAL2014_DT = f"{VAL2014}/instances_val2014_fakebbox100_results.json"
COCO4IMG = "torchmetrics_coco4img"
DETECTRON2 = "detectron2_val2017_139"
IGNORE_GT = "faster_coco_eval_small/gt_ignore_test.json"
IGNORE_DT = "faster_coco_eval_small/dt_ignore_test.json"
IGNORE_MIN_SCORE = 0.1  # the published call: loadRes(dt, min_score=0.1)
SMALL_CASES = (
    "torchmetrics_issue_1184_fp_only_classes",
    "torchmetrics_issue_1774_gt_in_second_image",
    "torchmetrics_issue_1774_gt_in_first_image",
    "torchmetrics_issue_1908_xyxy",
    "torchmetrics_issue_1908_xywh_as_given",
    "torchmetrics_max_dets_1_10_1000",
)


# --------------------------------------------------------------------------- helpers


def _expected(shared_data: Path, folder: str) -> dict[str, Any]:
    return dict(load_json(shared_data, f"{folder}/expected.json"))


def _small_case(shared_data: Path, case_id: str) -> dict[str, Any]:
    cases = {c["id"]: c for c in load_json(shared_data, "torchmetrics_small_cases.json")["cases"]}
    return dict(cases[case_id])


def _pycocotools_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """pycocotools needs thresholds as numpy arrays (it calls np.where on them)."""
    return {
        key: np.asarray(value, dtype=np.float64) if key in ("iouThrs", "recThrs") else value
        for key, value in (params or {}).items()
    }


@functools.cache
def _pycocotools_on_files(gt_path: str, dt_path: str) -> Any:
    """Live pycocotools on two JSON files, once per session (results are only read)."""
    gt = json.loads(Path(gt_path).read_text())
    dt = json.loads(Path(dt_path).read_text())
    return run_pycocotools(gt, dt, "bbox")


def _cast_ignore_test(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[Any, Any]:
    """The README's preprocessing: string image ids cast to int, detections score >= 0.1."""
    gt = copy.deepcopy(gt)
    for image in gt["images"]:
        image["id"] = int(image["id"])
    for ann in gt["annotations"]:
        ann["image_id"] = int(ann["image_id"])
    return gt, [d for d in dt if d["score"] >= IGNORE_MIN_SCORE]


def _pycocotools_per_category(ev: Any) -> dict[int, dict[str, float]]:
    """AP / AP50 / AP75 / AR100 per category at area all, from pycocotools' own arrays.

    Means over the cells > -1, -1 when none (as ``COCOeval.summarize`` does).
    """
    p = ev.params
    m = list(p.maxDets).index(100)
    a = list(p.areaRngLbl).index("all")
    thrs = np.asarray(p.iouThrs)

    def mean(s: np.ndarray) -> float:
        return float(np.mean(s[s > -1])) if (s > -1).any() else -1.0

    out = {}
    for k, cid in enumerate(p.catIds):
        prec = ev.eval["precision"][:, :, k, a, m]
        out[int(cid)] = {
            "AP": mean(prec),
            "AP50": mean(prec[thrs == 0.5]),
            "AP75": mean(prec[thrs == 0.75]),
            "AR100": mean(ev.eval["recall"][:, k, a, m]),
        }
    return out


def _assert_per_category(
    result: assay.CocoResult, expected: dict[Any, dict[str, float]], atol: float
) -> None:
    got = {c.category_id: c for c in result.per_category()}
    assert sorted(got) == sorted(int(cid) for cid in expected)
    for cid, want in expected.items():
        c = got[int(cid)]
        ours = {"AP": c.ap, "AP50": c.ap50, "AP75": c.ap75, "AR100": c.ar}
        for key, value in want.items():
            assert ours[key] == pytest.approx(value, rel=0, abs=atol), (cid, key, ours[key], value)


def _assert_stats(result: assay.CocoResult, expected: dict[str, float], keys: dict[str, str],
                  atol: float) -> None:
    named = result.stats_named
    assert set(expected) == set(keys), sorted(expected)
    ours = np.array([named[keys[k]] for k in expected])
    np.testing.assert_allclose(ours, list(expected.values()), rtol=0, atol=atol,
                               err_msg=str(list(expected)))


def _dense_inputs(
    gt: dict[str, Any], dt: list[dict[str, Any]], box_format: str = "xywh",
    as_tensors_on: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any], assay.Catalog]:
    """COCO dicts -> evaluate_detections' mappings and catalog (dense sorted-id indexes)."""
    image_ids = np.array(sorted(int(im["id"]) for im in gt["images"]), dtype=np.int64)
    cats = sorted(gt["categories"], key=lambda c: int(c["id"]))
    category_ids = np.array([int(c["id"]) for c in cats], dtype=np.int64)
    image_index = {int(i): n for n, i in enumerate(image_ids)}
    category_index = {int(c): n for n, c in enumerate(category_ids)}

    def boxes(records: list[dict[str, Any]]) -> np.ndarray:
        xywh = np.array([r["bbox"] for r in records], dtype=np.float64).reshape(-1, 4)
        x, y, w, h = xywh.T
        if box_format == "xyxy":
            return np.stack([x, y, x + w, y + h], axis=1)
        if box_format == "cxcywh":
            return np.stack([x + w / 2, y + h / 2, w, h], axis=1)
        return xywh

    anns = gt["annotations"]
    gt_map: dict[str, Any] = {
        "image": np.array([image_index[a["image_id"]] for a in anns], dtype=np.int64),
        "category": np.array([category_index[a["category_id"]] for a in anns], dtype=np.int64),
        "boxes": boxes(anns),
        "area": np.array([a["area"] for a in anns], dtype=np.float64),
        "iscrowd": np.array([a.get("iscrowd", 0) for a in anns], dtype=np.int64),
        "id": np.array([a["id"] for a in anns], dtype=np.int64),
    }
    dt_map: dict[str, Any] = {
        "image": np.array([image_index[d["image_id"]] for d in dt], dtype=np.int64),
        "category": np.array([category_index[d["category_id"]] for d in dt], dtype=np.int64),
        "boxes": boxes(dt),
        "scores": np.array([d["score"] for d in dt], dtype=np.float64),
    }
    if as_tensors_on is not None:
        gt_map = {k: torch.as_tensor(v, device=as_tensors_on) for k, v in gt_map.items()}
        dt_map = {k: torch.as_tensor(v, device=as_tensors_on) for k, v in dt_map.items()}
    catalog = assay.Catalog(
        image_ids=image_ids,
        category_ids=category_ids,
        category_names=tuple(str(c["name"]) for c in cats),
    )
    return gt_map, dt_map, catalog


# ------------------------------------------------------------- coco_val2014_100 (bbox)


@pytest.fixture
def val2014(shared_data: Path) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    """GT dict, detections list and live pycocotools COCOeval for coco_val2014_100 bbox."""
    ev = _pycocotools_on_files(str(shared_data / VAL2014_GT), str(shared_data / VAL2014_DT))
    return load_json(shared_data, VAL2014_GT), load_json(shared_data, VAL2014_DT), ev


def test_val2014_stats_equal_published(shared_data: Path, device: str) -> None:
    result = assay.evaluate_coco(shared_data / VAL2014_GT, shared_data / VAL2014_DT,
                                 device=device)
    published = _expected(shared_data, VAL2014)["published"]
    np.testing.assert_allclose(result.stats, published["faster_coco_eval_test"]["bbox"],
                               rtol=0, atol=PUBLISHED)
    np.testing.assert_allclose(result.stats, published["cocoapi_val2014_fake_eval_res_txt"]["bbox"],
                               rtol=0, atol=THREE_DECIMALS)


def test_val2014_matches_live_pycocotools(val2014: Any, shared_data: Path, device: str) -> None:
    gt, dt, ev = val2014
    result = assay.evaluate_coco(gt, dt, device=device)
    assert_matches_cocoeval(result, ev, atol=EXACT)
    derived = _expected(shared_data, VAL2014)["derived"]["bbox"]["pycocotools_stats"]
    _assert_stats(result, derived, STAT_KEYS, EXACT)
    assert result.category_ids == tuple(int(c) for c in ev.params.catIds)


def test_val2014_per_category_equals_expected(val2014: Any, shared_data: Path,
                                              device: str) -> None:
    gt, dt, ev = val2014
    result = assay.evaluate_coco(gt, dt, device=device)
    expected = _expected(shared_data, VAL2014)["derived"]["bbox"]
    per_cat = expected["pycocotools_per_category_area_all_maxdet100"]
    assert len(per_cat) == 80
    _assert_per_category(result, per_cat, EXACT)
    _assert_per_category(result, _pycocotools_per_category(ev), EXACT)
    names = {int(c["id"]): c["name"] for c in gt["categories"]}
    assert [c.name for c in result.per_category()] == [names[k] for k in result.category_ids]
    # 10 categories have no GT among the first 100 images: pycocotools' -1 sentinel
    assert sum(c.ap == -1 for c in result.per_category()) == 10


@pytest.mark.parametrize("key", ["precision", "recall", "scores"])
def test_val2014_arrays_hash_like_pycocotools(val2014: Any, shared_data: Path, device: str,
                                              key: str) -> None:
    gt, dt, ev = val2014
    digest = _expected(shared_data, VAL2014)["derived"]["bbox"]["pycocotools_array_digests"][key]
    if array_sha256(ev.eval[key]) != digest["sha256_c_order"]:
        pytest.skip(f"live pycocotools' {key} does not hash to expected.json's digest here")
    ours = getattr(assay.evaluate_coco(gt, dt, device=device), key)
    assert list(ours.shape) == digest["shape"]
    assert ours.dtype == np.dtype(digest["dtype"])
    assert array_sha256(ours) == digest["sha256_c_order"], first_diverging_cell(
        ours, ev.eval[key], atol=0.0
    )


def test_val2014_precision_slice_equals_file(shared_data: Path, device: str) -> None:
    ref = load_json(shared_data, f"{VAL2014}/pycocotools_precision_all_100_bbox.json")
    result = assay.evaluate_coco(shared_data / VAL2014_GT, shared_data / VAL2014_DT,
                                 device=device)
    assert list(result.params.iouThrs) == ref["iouThrs"]
    assert list(result.params.recThrs) == ref["recThrs"]
    assert list(result.category_ids) == ref["catIds"]
    a = result.params.areaRngLbl.index("all")
    m = result.params.maxDets.index(100)
    ours = result.precision[:, :, :, a, m]
    theirs = np.array(ref["precision"], dtype=np.float64)
    assert ours.shape == theirs.shape == (10, 101, 80)
    cell = first_diverging_cell(ours, theirs, atol=EXACT)
    assert cell is None, cell


@pytest.mark.parametrize("inputs", ["numpy", "tensors"])
def test_val2014_tensor_path_matches_pycocotools(val2014: Any, shared_data: Path, device: str,
                                                 inputs: str) -> None:
    gt, dt, ev = val2014
    gt_map, dt_map, catalog = _dense_inputs(
        gt, dt, as_tensors_on=device if inputs == "tensors" else None
    )
    result = assay.evaluate_detections(gt_map, dt_map, catalog=catalog, device=device)
    assert_matches_cocoeval(result, ev, atol=EXACT)
    for key in ("precision", "recall", "scores"):
        cell = first_diverging_cell(getattr(result, key), ev.eval[key], atol=0.0)
        assert cell is None, (key, cell)
    expected = _expected(shared_data, VAL2014)
    np.testing.assert_allclose(result.stats, expected["published"]["faster_coco_eval_test"]["bbox"],
                               rtol=0, atol=PUBLISHED)
    assert result.category_ids == tuple(int(c) for c in ev.params.catIds)
    _assert_per_category(
        result, expected["derived"]["bbox"]["pycocotools_per_category_area_all_maxdet100"], EXACT
    )


def test_val2014_tensor_path_with_counts_only(val2014: Any, device: str) -> None:
    """Without a catalog the K axis is 0..num_categories-1; the numbers stay pycocotools'."""
    gt, dt, ev = val2014
    gt_map, dt_map, catalog = _dense_inputs(gt, dt)
    result = assay.evaluate_detections(
        gt_map, dt_map, num_images=len(catalog.image_ids),
        num_categories=len(catalog.category_ids), device=device,
    )
    assert_matches_cocoeval(result, ev, atol=EXACT)
    assert result.category_ids == tuple(range(len(catalog.category_ids)))


# ------------------------------------------------------------------ torchmetrics_coco4img


def test_coco4img_stats(shared_data: Path, device: str) -> None:
    gt = load_json(shared_data, f"{COCO4IMG}/gt.json")
    dt = load_json(shared_data, f"{COCO4IMG}/dt.json")
    result = assay.evaluate_coco(gt, dt, device=device)
    expected = _expected(shared_data, COCO4IMG)
    published = expected["published"]["values"]
    stat_names = ["map", "map_50", "map_75", "map_small", "map_medium", "map_large",
                  "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large"]
    np.testing.assert_allclose(result.stats, [published[k][0] for k in stat_names],
                               rtol=0, atol=THREE_DECIMALS)
    _assert_stats(result, expected["derived"]["pycocotools_stats"], STAT_KEYS, EXACT)
    assert_matches_cocoeval(result, run_pycocotools(gt, dt), atol=EXACT)


def test_coco4img_per_class_including_minus_one(shared_data: Path, device: str) -> None:
    gt = load_json(shared_data, f"{COCO4IMG}/gt.json")
    dt = load_json(shared_data, f"{COCO4IMG}/dt.json")
    result = assay.evaluate_coco(gt, dt, device=device)
    expected = _expected(shared_data, COCO4IMG)
    _assert_per_category(result, expected["derived"]["pycocotools_per_category"], EXACT)
    _assert_per_category(result, _pycocotools_per_category(run_pycocotools(gt, dt)), EXACT)
    published = expected["published"]["values"]
    per_cat = result.per_category()
    assert [c.category_id for c in per_cat] == [0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose([c.ap for c in per_cat], published["map_per_class"],
                               rtol=0, atol=THREE_DECIMALS)
    np.testing.assert_allclose([c.ar for c in per_cat], published["mar_100_per_class"],
                               rtol=0, atol=THREE_DECIMALS)
    # class 3 has a prediction but no GT: -1 everywhere, exactly
    assert (per_cat[3].ap, per_cat[3].ap50, per_cat[3].ap75, per_cat[3].ar) == (-1, -1, -1, -1)
    assert (result.precision[:, :, 3] == -1).all()
    assert (result.recall[:, 3] == -1).all()


# --------------------------------------------------------------- torchmetrics_small_cases


def test_small_cases_all_covered(shared_data: Path) -> None:
    cases = load_json(shared_data, "torchmetrics_small_cases.json")["cases"]
    assert tuple(c["id"] for c in cases) == SMALL_CASES


@pytest.mark.parametrize("case_id", SMALL_CASES)
def test_small_case_matches_pycocotools(shared_data: Path, device: str, case_id: str) -> None:
    """Each case's recorded pycocotools values, its published (non-legacy) values, live arrays.

    ``published_legacy_torchmetrics`` holds the numbers old torchmetrics got *wrong*; they
    are the lesson of each case, not a target.
    """
    case = _small_case(shared_data, case_id)
    gt, dt, params = case["gt"], case["dt"], case.get("params")
    result = assay.evaluate_coco(gt, dt, device=device, params=params)
    assert_matches_cocoeval(result, run_pycocotools(gt, dt, params=_pycocotools_params(params)),
                            atol=EXACT)

    def iou() -> float:
        (d,), (g,) = dt, gt["annotations"]
        box = torch.tensor([d["bbox"]], dtype=torch.float64, device=device)
        gt_box = torch.tensor([g["bbox"]], dtype=torch.float64, device=device)
        return float(coco_box_iou(box, gt_box)[0, 0])

    def default_max_dets_result() -> assay.CocoResult:
        return assay.evaluate_coco(gt, dt, device=device)

    pycocotools_values = {
        "map": lambda: result.stats[0],
        "map_50": lambda: result.stats[1],
        "iou": iou,
        "map_with_maxDets_1_10_1000": lambda: result.stats[0],
        "map_with_default_maxDets": lambda: default_max_dets_result().stats[0],
    }
    for key, value in case["pycocotools"].items():
        assert pycocotools_values[key]() == pytest.approx(value, rel=0, abs=EXACT), key

    published = case.get("published", {})
    if "map" in published:
        assert result.stats[0] == pytest.approx(published["map"], rel=0, abs=EXACT)
    if "iou_rounded_3" in published:
        assert iou() == pytest.approx(published["iou_rounded_3"], rel=0, abs=THREE_DECIMALS)
    if "faster_coco_eval_map" in published:
        # faster-coco-eval reports AP at the last maxDets (1000); per_category uses it too
        (cat,) = result.per_category()
        assert cat.max_dets == 1000
        assert cat.ap == pytest.approx(published["faster_coco_eval_map"], rel=0, abs=EXACT)
    if "pycocotools_map_is_not" in published:
        assert result.stats[0] != pytest.approx(published["pycocotools_map_is_not"])
    assert set(published) <= {"map", "iou_rounded_3", "faster_coco_eval_map",
                              "pycocotools_map_is_not"}


@pytest.mark.parametrize("box_format", ["xywh", "xyxy", "cxcywh"])
@pytest.mark.parametrize("case_id", SMALL_CASES)
def test_small_case_tensor_path_box_formats(shared_data: Path, device: str, case_id: str,
                                            box_format: str) -> None:
    """The same cases through evaluate_detections, boxes converted from COCO xywh by hand.

    All boxes here are integers or halves, so every format converts back exactly.
    """
    case = _small_case(shared_data, case_id)
    gt, dt, params = case["gt"], case["dt"], case.get("params")
    gt_map, dt_map, catalog = _dense_inputs(gt, dt, box_format=box_format)
    result = assay.evaluate_detections(gt_map, dt_map, catalog=catalog, box_format=box_format,
                                       params=params, device=device)
    ev = run_pycocotools(gt, dt, params=_pycocotools_params(params))
    assert_matches_cocoeval(result, ev, atol=EXACT)
    for key in ("map", "map_with_maxDets_1_10_1000"):
        if key in case["pycocotools"]:
            assert result.stats[0] == pytest.approx(case["pycocotools"][key], rel=0, abs=EXACT)


# ------------------------------------------------------------------ detectron2_val2017_139


def test_detectron2_bbox(shared_data: Path, device: str) -> None:
    gt = load_json(shared_data, f"{DETECTRON2}/gt.json")
    dt = load_json(shared_data, f"{DETECTRON2}/dt.json")
    result = assay.evaluate_coco(gt, dt, device=device)
    derived = _expected(shared_data, DETECTRON2)["derived"]["bbox"]["pycocotools_stats"]
    _assert_stats(result, derived, STAT_KEYS, EXACT)
    assert_matches_cocoeval(result, run_pycocotools(gt, dt), atol=EXACT)


@pytest.mark.parametrize(
    "params",
    [
        {"useCats": 0},
        {"iouThrs": [0.5, 0.75]},
        {"recThrs": [0.0, 0.5, 1.0]},
        {"areaRng": [[0, 1e10]], "areaRngLbl": ["all"]},
        {"catIds": [1]},
        {"imgIds": [139]},
    ],
    ids=["useCats0", "iouThrs", "recThrs", "areaRng_all_only", "catIds", "imgIds"],
)
def test_detectron2_bbox_param_variants(shared_data: Path, device: str,
                                        params: dict[str, Any]) -> None:
    """Some of the variants detectron2's own test runs on this data, vs live pycocotools."""
    gt = load_json(shared_data, f"{DETECTRON2}/gt.json")
    dt = load_json(shared_data, f"{DETECTRON2}/dt.json")
    result = assay.evaluate_coco(gt, dt, device=device, params=params)
    assert_matches_cocoeval(result, run_pycocotools(gt, dt, params=_pycocotools_params(params)),
                            atol=EXACT)


# ------------------------------------------------------ faster_coco_eval_small ignore_test


@pytest.mark.parametrize("as_path", [True, False], ids=["path", "dict"])
def test_ignore_test_uncast_string_id_raises(shared_data: Path, as_path: bool) -> None:
    """pycocotools silently drops the GT whose image id is '2299'; assay must not."""
    gt: Any = shared_data / IGNORE_GT if as_path else load_json(shared_data, IGNORE_GT)
    dt: Any = shared_data / IGNORE_DT if as_path else load_json(shared_data, IGNORE_DT)
    with pytest.raises(TypeError, match=r"^Expected `images\[0\]\.id` to be an int, "
                                        r"but got '2299' \(str\)$"):
        assay.evaluate_coco(gt, dt)


def test_ignore_test_string_annotation_image_id_raises(shared_data: Path) -> None:
    gt = load_json(shared_data, IGNORE_GT)
    gt["images"][0]["id"] = int(gt["images"][0]["id"])  # the annotation keeps its '2299'
    with pytest.raises(TypeError, match=r"^Expected `annotations\[0\]\.image_id` to be an int, "
                                        r"but got '2299' \(str\)$"):
        assay.evaluate_coco(gt, load_json(shared_data, IGNORE_DT))


def test_ignore_test_cast_equals_published(shared_data: Path, device: str) -> None:
    gt, dt = _cast_ignore_test(load_json(shared_data, IGNORE_GT), load_json(shared_data, IGNORE_DT))
    assert len(gt["annotations"]) == 14 and len(dt) == 36
    result = assay.evaluate_coco(gt, dt, device=device)
    expected = _expected(shared_data, "faster_coco_eval_small")["ignore_test"]
    published = dict(expected["published"]["stats_as_dict"])
    ar50, ar75 = published.pop("AR_50"), published.pop("AR_75")
    _assert_stats(result, published, FASTER_COCO_EVAL_KEYS, EXACT)
    _assert_stats(result, expected["pycocotools_reproduction"]["stats"], STAT_KEYS, EXACT)
    # faster-coco-eval's extras: recall at IoU .50 / .75, area all, maxDets 100
    thrs = np.asarray(result.params.iouThrs)
    a, m = result.params.areaRngLbl.index("all"), result.params.maxDets.index(100)
    assert result.recall[thrs == 0.5, 0, a, m] == pytest.approx([ar50], rel=0, abs=EXACT)
    assert result.recall[thrs == 0.75, 0, a, m] == pytest.approx([ar75], rel=0, abs=EXACT)
    assert_matches_cocoeval(result, run_pycocotools(gt, dt), atol=EXACT)


def test_ignore_test_iou_matrix(shared_data: Path, device: str) -> None:
    """The published 36x14 matrix: rows = detections (score >= 0.1) by descending score
    (stable), columns = GT in file order with the crowd region last (IoU = inter / det area).
    """
    gt, dt = _cast_ignore_test(load_json(shared_data, IGNORE_GT), load_json(shared_data, IGNORE_DT))
    spec = _expected(shared_data, "faster_coco_eval_small")["ignore_test"]["published"][
        "ious_image2299_cat1"]
    expected = np.array(spec["values"], dtype=np.float64)
    assert list(expected.shape) == spec["shape"] == [36, 14]
    order = np.argsort([-d["score"] for d in dt], kind="mergesort")
    dt_xywh = torch.tensor([dt[i]["bbox"] for i in order], dtype=torch.float64, device=device)
    anns = gt["annotations"]
    assert [a["iscrowd"] for a in anns] == [0] * 13 + [1]
    gt_xywh = torch.tensor([a["bbox"] for a in anns], dtype=torch.float64, device=device)
    gt_crowd = torch.tensor([bool(a["iscrowd"]) for a in anns], device=device)
    ious = coco_box_iou(dt_xywh, gt_xywh, gt_crowd)
    assert ious.device.type == torch.device(device).type
    ours = ious.cpu().numpy()
    # the same layout as pycocotools' own computeIoU for (image 2299, category 1)
    np.testing.assert_array_equal(run_pycocotools(gt, dt).ious[(2299, 1)], expected)
    np.testing.assert_array_equal(ours, expected)
