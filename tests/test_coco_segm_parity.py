"""COCO mask evaluation (``iou_type="segm"``) against pycocotools and published values.

Expected numbers come from someone else: the values published for the reference data
in ../shared/data (faster-coco-eval's tests, cocoapi's result printout), the values
derived there with pycocotools 2.0.11, and pycocotools run live on the same inputs.
Randomized scenes mix every segmentation form COCO allows (polygons with several
rings, uncompressed RLE crowd regions, compressed RLE), between the ground truth and
the results both ways, with empty masks, full masks and masks touching the border.
Bad inputs must raise a clear error naming the record.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

import assay
import numpy as np
import pytest
from assay.engine import evaluate_detection_tables, load_coco_ground_truth, load_coco_results
from oracles import (
    array_sha256,
    assert_matches_cocoeval,
    first_diverging_cell,
    load_json,
    run_pycocotools,
)

M = pytest.importorskip("pycocotools.mask")

# Every test on both CPU paths of the mask kernels: eager torch, and the compiled (numba)
# loops for every batch size (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("mask_path")

EXACT = 1e-12
PUBLISHED = 1e-10  # faster-coco-eval's assertAlmostEqual(places=10)
THREE_DECIMALS = 5e-4 + 1e-12
VAL2014 = "coco_val2014_100"
VAL2014_GT = f"{VAL2014}/instances_val2014_100.json"
VAL2014_DT = f"{VAL2014}/instances_val2014_fakesegm100_results.json"
DETECTRON2 = "detectron2_val2017_139"
SMALL = "faster_coco_eval_small"
STAT_KEYS = [
    "AP",
    "AP50",
    "AP75",
    "AP_small",
    "AP_medium",
    "AP_large",
    "AR1",
    "AR10",
    "AR100",
    "AR_small",
    "AR_medium",
    "AR_large",
]
FASTER_KEYS = [
    "AP_all",
    "AP_50",
    "AP_75",
    "AP_small",
    "AP_medium",
    "AP_large",
    "AR_all",
    "AR_second",
    "AR_third",
    "AR_small",
    "AR_medium",
    "AR_large",
]


@functools.cache
def _live(gt_path: str, dt_path: str) -> Any:
    """Live pycocotools segm evaluation of two files, once per session."""
    return run_pycocotools(
        json.loads(Path(gt_path).read_text()), json.loads(Path(dt_path).read_text()), "segm"
    )


def _ours(result: assay.CocoResult, keys: list[str] = STAT_KEYS) -> dict[str, float]:
    return dict(zip(keys, (float(v) for v in result.stats), strict=True))


# ----------------------------------------------------------------- coco_val2014_100


def test_val2014_segm_stats_equal_published(shared_data: Path, device: str) -> None:
    result = assay.evaluate_coco(
        shared_data / VAL2014_GT, shared_data / VAL2014_DT, "segm", device=device
    )
    assert result.iou_type == "segm"
    published = load_json(shared_data, f"{VAL2014}/expected.json")["published"]
    np.testing.assert_allclose(
        result.stats, published["faster_coco_eval_test"]["segm"], rtol=0, atol=PUBLISHED
    )
    np.testing.assert_allclose(
        result.stats,
        published["cocoapi_val2014_fake_eval_res_txt"]["segm"],
        rtol=0,
        atol=THREE_DECIMALS,
    )


def test_val2014_segm_matches_live_pycocotools(shared_data: Path, device: str) -> None:
    ev = _live(str(shared_data / VAL2014_GT), str(shared_data / VAL2014_DT))
    result = assay.evaluate_coco(
        load_json(shared_data, VAL2014_GT),
        load_json(shared_data, VAL2014_DT),
        "segm",
        device=device,
    )
    assert_matches_cocoeval(result, ev, atol=EXACT)
    derived = load_json(shared_data, f"{VAL2014}/expected.json")["derived"]["segm"]
    want = derived["pycocotools_stats"]
    np.testing.assert_allclose(result.stats, [want[k] for k in STAT_KEYS], rtol=0, atol=EXACT)
    per_cat = derived["pycocotools_per_category_area_all_maxdet100"]
    got = {c.category_id: c for c in result.per_category()}
    assert sorted(got) == sorted(int(k) for k in per_cat)
    for cid, values in per_cat.items():
        c = got[int(cid)]
        ours = {"AP": c.ap, "AP50": c.ap50, "AP75": c.ap75, "AR100": c.ar}
        for key, value in values.items():
            assert ours[key] == pytest.approx(value, rel=0, abs=EXACT), (cid, key)


@pytest.mark.parametrize("key", ["precision", "recall", "scores"])
def test_val2014_segm_arrays_hash_like_pycocotools(
    shared_data: Path, device: str, key: str
) -> None:
    digest = load_json(shared_data, f"{VAL2014}/expected.json")["derived"]["segm"][
        "pycocotools_array_digests"
    ][key]
    ours = getattr(
        assay.evaluate_coco(
            shared_data / VAL2014_GT, shared_data / VAL2014_DT, "segm", device=device
        ),
        key,
    )
    assert list(ours.shape) == digest["shape"]
    assert ours.dtype == np.dtype(digest["dtype"])
    ev = _live(str(shared_data / VAL2014_GT), str(shared_data / VAL2014_DT))
    assert array_sha256(ours) == digest["sha256_c_order"], first_diverging_cell(
        ours, ev.eval[key], atol=0.0
    )


def test_val2014_segm_precision_slice_equals_file(shared_data: Path, device: str) -> None:
    ref = load_json(shared_data, f"{VAL2014}/pycocotools_precision_all_100_segm.json")
    result = assay.evaluate_coco(
        shared_data / VAL2014_GT, shared_data / VAL2014_DT, "segm", device=device
    )
    assert list(result.category_ids) == ref["catIds"]
    a = result.params.areaRngLbl.index("all")
    m = result.params.maxDets.index(100)
    ours = result.precision[:, :, :, a, m]
    theirs = np.array(ref["precision"], dtype=np.float64)
    assert ours.shape == theirs.shape == (10, 101, 80)
    cell = first_diverging_cell(ours, theirs, atol=EXACT)
    assert cell is None, cell


@pytest.mark.parametrize(
    "params",
    [
        {"useCats": 0},
        {"imgIds": "every_third"},
        {"catIds": [1, 3, 18, 44, 62]},
        {"imgIds": "every_third", "catIds": [1, 18, 62], "maxDets": [1, 5, 20]},
    ],
    ids=["useCats0", "imgIds", "catIds", "imgIds+catIds+maxDets"],
)
def test_val2014_segm_params_match_live_pycocotools(
    shared_data: Path, device: str, params: dict[str, Any]
) -> None:
    """Selected images / categories: the mask pairs map back to the right table rows."""
    gt, dt = load_json(shared_data, VAL2014_GT), load_json(shared_data, VAL2014_DT)
    params = dict(params)
    if params.get("imgIds") == "every_third":
        params["imgIds"] = sorted(im["id"] for im in gt["images"])[::3]
    ev = run_pycocotools(gt, dt, "segm", params=params)
    result = assay.evaluate_coco(gt, dt, "segm", device=device, params=params)
    assert_matches_cocoeval(result, ev, atol=EXACT)


def test_val2014_segm_from_pycocotools_objects(shared_data: Path, device: str) -> None:
    """COCO objects (results through loadRes, which writes each result's area) work too."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(shared_data / VAL2014_GT))
        coco_dt = coco_gt.loadRes(str(shared_data / VAL2014_DT))
    result = assay.evaluate_coco(coco_gt, coco_dt, "segm", device=device)
    ev = _live(str(shared_data / VAL2014_GT), str(shared_data / VAL2014_DT))
    assert_matches_cocoeval(result, ev, atol=EXACT)


# --------------------------------------------------------------- detectron2_val2017_139


def test_detectron2_segm(shared_data: Path, device: str) -> None:
    """Polygon GT, RLE results that carry a bbox: loadRes' bbox branch (area = w * h)."""
    gt, dt = (
        load_json(shared_data, f"{DETECTRON2}/gt.json"),
        load_json(shared_data, f"{DETECTRON2}/dt.json"),
    )
    result = assay.evaluate_coco(gt, dt, "segm", device=device)
    want = load_json(shared_data, f"{DETECTRON2}/expected.json")["derived"]["segm"][
        "pycocotools_stats"
    ]
    np.testing.assert_allclose(result.stats, [want[k] for k in STAT_KEYS], rtol=0, atol=EXACT)
    assert_matches_cocoeval(result, run_pycocotools(gt, dt, "segm"), atol=EXACT)


# --------------------------------------------------------- faster_coco_eval_small polygons


def test_small_polygons_published(shared_data: Path, device: str) -> None:
    """The published call: results turned into RLE with pycocotools, bbox dropped."""
    gt = load_json(shared_data, f"{SMALL}/gt_dataset.json")
    dt = load_json(shared_data, f"{SMALL}/dt_dataset.json")
    sizes = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
    converted = []
    for d in dt:
        h, w = sizes[d["image_id"]]
        rle = M.merge(M.frPyObjects(d["segmentation"], h, w))
        rle["counts"] = rle["counts"].decode()
        converted.append(
            {k: v for k, v in d.items() if k not in ("bbox", "area")} | {"segmentation": rle}
        )
    result = assay.evaluate_coco(gt, converted, "segm", device=device)
    expected = load_json(shared_data, f"{SMALL}/expected.json")["segm_polygons"]
    published = expected["published"]["stats_as_dict"]
    np.testing.assert_allclose(
        result.stats, [published[k] for k in FASTER_KEYS], rtol=0, atol=PUBLISHED
    )
    reproduced = expected["pycocotools_reproduction"]["stats"]
    np.testing.assert_allclose(result.stats, [reproduced[k] for k in STAT_KEYS], rtol=0, atol=EXACT)
    assert_matches_cocoeval(result, run_pycocotools(gt, converted, "segm"), atol=EXACT)


def test_small_polygons_as_files_match_live(shared_data: Path, device: str) -> None:
    """Polygon results with a bbox, as in the files: loadRes' bbox branch."""
    gt = load_json(shared_data, f"{SMALL}/gt_dataset.json")
    dt = load_json(shared_data, f"{SMALL}/dt_dataset.json")
    result = assay.evaluate_coco(gt, dt, "segm", device=device)
    assert_matches_cocoeval(result, run_pycocotools(gt, dt, "segm"), atol=EXACT)


# --------------------------------------------------------------------- random scenes


def _rle_dict(mask: np.ndarray, compressed: bool = True) -> dict[str, Any]:
    obj = M.encode(np.asfortranarray(mask.astype(np.uint8)))
    if compressed:
        return {"size": [int(v) for v in obj["size"]], "counts": obj["counts"].decode()}
    flat = mask.T.reshape(-1)  # column-major runs, starting with zeros
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    edges = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(edges).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"size": [int(v) for v in mask.shape], "counts": counts}


def _blob(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    kind = rng.integers(0, 6)
    if kind == 0:  # empty
        return m
    if kind == 1:  # full
        m[:] = True
        return m
    if kind == 2:  # touching a border
        side = rng.integers(0, 4)
        d = int(rng.integers(1, max(2, min(h, w) // 2)))
        if side == 0:
            m[:d, :] = True
        elif side == 1:
            m[-d:, :] = True
        elif side == 2:
            m[:, :d] = True
        else:
            m[:, -d:] = True
        return m
    y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
    m[y0 : y0 + int(rng.integers(1, h + 1)), x0 : x0 + int(rng.integers(1, w + 1))] = True
    if kind == 4:
        m ^= rng.random((h, w)) < 0.05
    return m


def _polygon(rng: np.random.Generator, h: int, w: int) -> list[list[float]]:
    rings = []
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = rng.uniform(-0.1 * w, 1.1 * w), rng.uniform(-0.1 * h, 1.1 * h)
        k = int(rng.integers(3, 12))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = rng.uniform(1, 0.6 * max(h, w), k)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
        rings.append([round(float(v), 2) for v in pts.reshape(-1)])
    return rings


def _segm_scene(seed: int, gt_forms: str, dt_forms: str, dt_bbox: bool) -> tuple[Any, Any]:
    """A COCO GT dict and results list with masks in the given forms.

    ``gt_forms`` / ``dt_forms``: letters drawn per annotation, ``p`` polygon, ``r``
    compressed RLE, ``u`` uncompressed RLE. Results with a bbox take loadRes' bbox
    branch (area = bbox w * h); without one, the segm branch (area = mask area).
    """
    rng = np.random.default_rng(seed)
    images = []
    for i in range(int(rng.integers(6, 14))):
        h, w = (int(v) for v in rng.integers(12, 140, 2))
        images.append({"id": int(3 * i + 1 + rng.integers(0, 3)), "height": h, "width": w})
    cats = [{"id": c, "name": f"c{c}"} for c in (2, 5, 9)]
    anns, dets = [], []
    for im in images:
        h, w = im["height"], im["width"]
        masks = []
        for _ in range(int(rng.integers(0, 7))):
            form = gt_forms[int(rng.integers(0, len(gt_forms)))]
            crowd = int(rng.random() < 0.15)
            if form == "p" and not crowd:
                seg: Any = _polygon(rng, h, w)
                mask_rle = M.merge(M.frPyObjects(seg, h, w))
            else:
                mask = _blob(rng, h, w)
                seg = _rle_dict(mask, compressed=form == "r" and not crowd)
                mask_rle = M.encode(np.asfortranarray(mask.astype(np.uint8)))
            area = float(M.area(mask_rle)) if rng.random() < 0.8 else float(rng.uniform(0, 2e4))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": im["id"],
                    "category_id": int(rng.choice([2, 5, 9])),
                    "iscrowd": crowd,
                    "segmentation": seg,
                    "area": area,
                    "bbox": [float(v) for v in M.toBbox(mask_rle)],
                }
            )
            masks.append((M.decode(mask_rle).astype(bool), anns[-1]["category_id"]))
        for _ in range(int(rng.integers(0, 12))):
            form = dt_forms[int(rng.integers(0, len(dt_forms)))]
            if masks and rng.random() < 0.6:
                base, cat = masks[int(rng.integers(0, len(masks)))]
                mask = base.copy()
                shift = int(rng.integers(-3, 4))
                mask = np.roll(mask, shift, axis=int(rng.integers(0, 2)))
                mask ^= rng.random((h, w)) < rng.uniform(0, 0.1)
            else:
                mask, cat = _blob(rng, h, w), int(rng.choice([2, 5, 9]))
            if form == "p":
                seg = _polygon(rng, h, w)
                mask_rle = M.merge(M.frPyObjects(seg, h, w))
            else:
                seg = _rle_dict(mask, compressed=form == "r")
                mask_rle = M.encode(np.asfortranarray(mask.astype(np.uint8)))
            det = {
                "image_id": im["id"],
                "category_id": cat,
                "segmentation": seg,
                "score": round(float(rng.random()), 2),
            }
            if dt_bbox:
                det["bbox"] = [float(v) for v in M.toBbox(mask_rle)]
            dets.append(det)
    gt = {"images": images, "categories": cats, "annotations": anns}
    return gt, dets


SCENES = {
    # GT polygons + crowd RLE, results compressed RLE without bbox (segm branch)
    "gt_poly_dt_rle": ("pu", "r", False),
    # GT RLE (compressed and uncompressed), results polygons with bbox (bbox branch)
    "gt_rle_dt_poly": ("ru", "p", True),
    # everything mixed, results with bbox
    "mixed_with_bbox": ("pru", "pru", True),
    # everything mixed in the GT, results compressed RLE without bbox
    "mixed_gt_dt_rle": ("pru", "r", False),
}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scene", sorted(SCENES))
def test_random_scenes_match_pycocotools(scene: str, seed: int, device: str) -> None:
    gt, dt = _segm_scene(100 * seed + sorted(SCENES).index(scene), *SCENES[scene])
    ev = run_pycocotools(gt, dt, "segm")
    result = assay.evaluate_coco(gt, dt, "segm", device=device)
    assert_matches_cocoeval(result, ev, atol=EXACT)


@pytest.mark.parametrize(
    "params", [{"useCats": 0}, {"maxDets": [1, 3, 5]}, {"catIds": [5, 9]}, {"imgIds": "odd"}]
)
def test_random_scene_params_match_pycocotools(params: dict[str, Any], device: str) -> None:
    gt, dt = _segm_scene(7, "pru", "r", False)
    params = dict(params)
    if params.get("imgIds") == "odd":
        params["imgIds"] = [im["id"] for im in gt["images"]][1::2]
    ev = run_pycocotools(gt, dt, "segm", params=params)
    result = assay.evaluate_coco(gt, dt, "segm", device=device, params=params)
    assert_matches_cocoeval(result, ev, atol=EXACT)


def test_results_area_follows_loadres(device: str) -> None:
    """Results with a bbox: area = bbox w * h; without: the mask's area (loadRes)."""
    gt, dt = _segm_scene(11, "p", "r", True)
    catalog, _ = load_coco_ground_truth(gt, "segm")
    with_box = load_coco_results(dt, catalog, "segm")
    np.testing.assert_array_equal(with_box.area.numpy(), [d["bbox"][2] * d["bbox"][3] for d in dt])
    no_box = [{k: v for k, v in d.items() if k != "bbox"} for d in dt]
    without = load_coco_results(no_box, catalog, "segm")
    segs = [
        {"size": d["segmentation"]["size"], "counts": d["segmentation"]["counts"].encode()}
        for d in dt
    ]
    np.testing.assert_array_equal(without.area.numpy(), [float(M.area(s)) for s in segs])
    np.testing.assert_array_equal(without.box.numpy(), M.toBbox(segs))
    for table in (with_box, no_box):
        ev = run_pycocotools(gt, dt if table is with_box else no_box, "segm")
        result = assay.evaluate_coco(gt, dt if table is with_box else no_box, "segm", device=device)
        assert_matches_cocoeval(result, ev, atol=EXACT)


def test_bbox_tables_carry_no_masks(shared_data: Path) -> None:
    catalog, gt = load_coco_ground_truth(shared_data / VAL2014_GT)
    dt = load_coco_results(
        shared_data / f"{VAL2014}/instances_val2014_fakebbox100_results.json", catalog
    )
    assert gt.mask is None and dt.mask is None
    with pytest.raises(ValueError, match="Expected `gt` to carry masks for iou_type='segm'"):
        evaluate_detection_tables(gt, dt, catalog, iou_type="segm")


def test_cli_segm_json(shared_data: Path) -> None:
    pytest.importorskip("typer")
    from assay.cli import app
    from typer.testing import CliRunner

    out = CliRunner().invoke(
        app,
        [
            "evaluate",
            "coco",
            str(shared_data / VAL2014_GT),
            str(shared_data / VAL2014_DT),
            "--iou-type",
            "segm",
            "--json",
            "--device",
            "cpu",
        ],
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert payload["iou_type"] == "segm"
    ev = _live(str(shared_data / VAL2014_GT), str(shared_data / VAL2014_DT))
    np.testing.assert_allclose(payload["stats"], ev.stats, rtol=0, atol=EXACT)


# ------------------------------------------------------------------------- bad input


def _small() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    square = [[2.0, 2.0, 8.0, 2.0, 8.0, 8.0, 2.0, 8.0]]
    gt = {
        "images": [{"id": 1, "height": 10, "width": 12}, {"id": 2, "height": 6, "width": 5}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": square,
                "area": 36.0,
                "bbox": [2.0, 2.0, 6.0, 6.0],
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 2,
                "category_id": 1,
                "area": 30.0,
                "iscrowd": 1,
                "segmentation": {"size": [6, 5], "counts": [0, 30]},
                "bbox": [0.0, 0.0, 5.0, 6.0],
            },
        ],
    }
    dt = [
        {
            "image_id": 1,
            "category_id": 1,
            "score": 0.9,
            "segmentation": {"size": [10, 12], "counts": "=640000000i1"},
        },
        {
            "image_id": 2,
            "category_id": 1,
            "score": 0.8,
            "segmentation": {"size": [6, 5], "counts": "7420005"},
        },
    ]
    return gt, dt


def _set(path: str, value: Any) -> Any:
    def mutate(gt: dict[str, Any], dt: list[dict[str, Any]]) -> None:
        root: Any = {"gt": gt, "dt": dt}
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        for k in keys[:-1]:
            root = root[k]
        if value is _DELETE:
            del root[keys[-1]]
        else:
            root[keys[-1]] = value

    return mutate


_DELETE = object()


def _both(*mutations: Any) -> Any:
    def mutate(gt: dict[str, Any], dt: list[dict[str, Any]]) -> None:
        for m in mutations:
            m(gt, dt)

    return mutate


BAD_CASES = [
    (
        "gt-no-segmentation",
        _set("gt.annotations.1.segmentation", _DELETE),
        ValueError,
        "Expected `annotations[1]` to have key 'segmentation' (iou_type='segm' evaluates masks)",
    ),
    (
        "dt-no-segmentation",
        _set("dt.0.segmentation", _DELETE),
        ValueError,
        "Expected `dt[0]` to have key 'segmentation'",
    ),
    (
        "polygon-4-numbers",
        _set("gt.annotations.0.segmentation", [[1, 1, 5, 5]]),
        ValueError,
        "Expected `annotations[0].segmentation[0]` to be a polygon of at least 3 points",
    ),
    (
        "polygon-odd",
        _set("gt.annotations.0.segmentation", [[1, 1, 5, 5, 1, 5], [1, 2, 3, 4, 5, 6, 7]]),
        ValueError,
        "`annotations[0].segmentation[1]` to be a polygon of at least 3 points",
    ),
    (
        "polygon-empty",
        _set("gt.annotations.0.segmentation", []),
        ValueError,
        "Expected `annotations[0].segmentation` to hold at least one polygon, but got []",
    ),
    (
        "polygon-ring-number",
        _set("gt.annotations.0.segmentation", [5]),
        TypeError,
        "Expected `annotations[0].segmentation[0]` to be a polygon [x1, y1, x2, y2, ...]",
    ),
    (
        "polygon-string-coordinate",
        _set("gt.annotations.0.segmentation", [[1, 1, 5, "5", 1, 5]]),
        TypeError,
        "Expected `annotations[0].segmentation[0]` to hold numbers, but got '5'",
    ),
    (
        "polygon-nan",
        _set("gt.annotations.0.segmentation", [[1, 1, 5, float("nan"), 1, 5]]),
        ValueError,
        "`annotations[0].segmentation[0]` to hold finite numbers",
    ),
    (
        "polygon-no-image-size",
        _set("gt.images.0.height", _DELETE),
        ValueError,
        "Expected `images[0]` (id 1) to have a positive 'height' and 'width' (the polygons "
        "of `annotations[0].segmentation`",
    ),

    (
        "dt-polygon-no-image-size",
        _both(_set("gt.images.1.width", _DELETE), _set("dt.1.segmentation", [[0, 0, 3, 0, 3, 3]])),
        ValueError,
        "Expected the ground truth's image with id 2 to have a positive 'height' and 'width'",
    ),
    # audit 17: an image of height or width 0 rasterised GT polygons into an empty mask
    # silently (a result polygon there was refused) and let any RLE size through
    (
        "polygon-image-height-0",
        _set("gt.images.0.height", 0),
        ValueError,
        "Expected `images[0]` (id 1) to have a positive 'height' and 'width' (the polygons "
        "of `annotations[0].segmentation` are rasterised at the image size), but it has "
        "height 0 and width 12",
    ),
    (
        "dt-polygon-image-width-0",
        _both(
            _set("gt.images.1.width", 0),
            _set("gt.annotations.1.segmentation", {"size": [6, 0], "counts": [0]}),
            _set("dt.1.segmentation", [[0, 0, 3, 0, 3, 3]]),
        ),
        ValueError,
        "Expected the ground truth's image with id 2 to have a positive 'height' and 'width' "
        "(the polygons of `dt[1].segmentation` are rasterised at the image size), but it has "
        "height 6 and width 0",
    ),
    (
        "dt-rle-size-differs-from-0",
        _both(
            _set("gt.images.1.width", 0),
            _set("gt.annotations.1.segmentation", {"size": [6, 0], "counts": [0]}),
        ),
        ValueError,
        "Expected `dt[1].segmentation.size` to be the [height, width] of the ground truth's "
        "image with id 2, [6, 0], but got [6, 5]",
    ),
    (
        "gt-rle-size-differs-from-0",
        _set("gt.images.1.height", 0),
        ValueError,
        "Expected `annotations[1].segmentation.size` to be the [height, width] of `images[1]` "
        "(id 2), [0, 5], but got [6, 5]",
    ),
    (
        "segmentation-string",
        _set("gt.annotations.1.segmentation", "abc"),
        TypeError,
        "Expected `annotations[1].segmentation` to be polygons",
    ),
    (
        "gt-rle-size-differs",
        _set("gt.annotations.1.segmentation.size", [5, 6]),
        ValueError,
        "Expected `annotations[1].segmentation.size` to be the [height, width] of `images[1]` "
        "(id 2), [6, 5], but got [5, 6]",
    ),
    (
        "dt-rle-size-differs",
        _set("dt.0.segmentation.size", [12, 10]),
        ValueError,
        "Expected `dt[0].segmentation.size` to be the [height, width] of the ground truth's "
        "image with id 1, [10, 12], but got [12, 10]",
    ),
    (
        "rle-size-not-pair",
        _set("dt.0.segmentation.size", [10]),
        TypeError,
        "Expected `dt[0].segmentation.size` to be [height, width] (2 ints), but got [10]",
    ),
    (
        "rle-no-counts",
        _set("dt.1.segmentation.counts", _DELETE),
        ValueError,
        "Expected `dt[1].segmentation` to have key 'counts'",
    ),
    (
        "rle-invalid-string",
        _set("dt.1.segmentation.counts", "0>{"),
        ValueError,
        "Expected `dt[1].segmentation.counts` to be a COCO compressed RLE string",
    ),
    (
        "rle-truncated-string",
        _set("dt.1.segmentation.counts", "0>P"),
        ValueError,
        "`dt[1].segmentation.counts` to be a COCO compressed RLE string",
    ),
    (
        "rle-string-sum",
        _set("dt.1.segmentation.counts", "0m0"),
        ValueError,
        "Expected the run lengths of `dt[1].segmentation.counts` to sum to height * width = 30, "
        "but they sum to 29",
    ),
    (
        "rle-list-sum",
        _set("gt.annotations.1.segmentation.counts", [0, 29]),
        ValueError,
        "Expected the run lengths of `annotations[1].segmentation.counts` to sum to height * "
        "width = 30, but they sum to 29",
    ),
    (
        "rle-list-negative",
        _set("gt.annotations.1.segmentation.counts", [31, -1]),
        ValueError,
        "`annotations[1].segmentation.counts` to hold run lengths in [0, 2**32)",
    ),
    (
        "rle-list-float",
        _set("gt.annotations.1.segmentation.counts", [0, 30.0]),
        TypeError,
        "Expected `annotations[1].segmentation.counts` to hold ints, but got 30.0",
    ),
    (
        "rle-counts-number",
        _set("gt.annotations.1.segmentation.counts", 30),
        TypeError,
        "`annotations[1].segmentation.counts` to be a compressed RLE string or a list of run "
        "lengths",
    ),
    (
        "image-height-string",
        _set("gt.images.1.height", "6"),
        TypeError,
        "Expected `images[1].height` to be an int, but got '6'",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "exc", "message"), [pytest.param(m, e, s, id=n) for n, m, e, s in BAD_CASES]
)
def test_bad_segm_input(mutate: Any, exc: type[Exception], message: str) -> None:
    gt, dt = _small()
    assay.evaluate_coco(copy.deepcopy(gt), copy.deepcopy(dt), "segm")  # the base case is valid
    mutate(gt, dt)
    with pytest.raises(exc, match=re.escape(message)):
        assay.evaluate_coco(gt, dt, "segm")


def test_small_case_matches_pycocotools(device: str) -> None:
    gt, dt = _small()
    assert_matches_cocoeval(
        assay.evaluate_coco(gt, dt, "segm", device=device),
        run_pycocotools(gt, dt, "segm"),
        atol=EXACT,
    )


def test_image_of_size_0_with_masks_of_size_0() -> None:
    """An image declared 0 wide is valid with RLEs of that size (empty masks) and with no
    polygon; the numbers are pycocotools'."""
    from pycocotools import mask as mask_utils

    gt, dt = _small()
    gt["images"][1]["width"] = 0
    gt["annotations"][1]["segmentation"] = {"size": [6, 0], "counts": [0]}
    dt[1]["segmentation"] = {"size": [6, 0], "counts": [0]}
    result = assay.evaluate_coco(copy.deepcopy(gt), copy.deepcopy(dt), "segm")
    dt[1]["segmentation"] = mask_utils.frPyObjects(dt[1]["segmentation"], 6, 0)  # loadRes: str
    assert_matches_cocoeval(result, run_pycocotools(gt, dt, "segm"), atol=EXACT)


def test_rle_given_as_any_mapping() -> None:
    """An RLE may be any Mapping (read-only proxies here), not only a dict."""
    gt, dt = _segm_scene(3, "pru", "r", False)
    want = assay.evaluate_coco(gt, dt, "segm").stats
    proxy_gt = copy.deepcopy(gt)
    for ann in proxy_gt["annotations"]:
        if isinstance(ann["segmentation"], dict):
            ann["segmentation"] = MappingProxyType(ann["segmentation"])
    proxy_dt = [{**d, "segmentation": MappingProxyType(d["segmentation"])} for d in dt]
    np.testing.assert_array_equal(assay.evaluate_coco(proxy_gt, proxy_dt, "segm").stats, want)


def test_noncanonical_runs_stop_merging_like_pycocotools(device: str) -> None:
    """Uncompressed RLE with zero-length runs on both sides: pycocotools' IoU stops early."""
    gt = {
        "images": [{"id": 1, "height": 2, "width": 2}, {"id": 2, "height": 3, "width": 2}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 4.0,
             "bbox": [0, 0, 2, 2], "segmentation": {"size": [2, 2], "counts": [0, 0, 0, 4]}},
            {"id": 2, "image_id": 2, "category_id": 1, "iscrowd": 0, "area": 4.0,
             "bbox": [0, 0, 2, 3], "segmentation": {"size": [3, 2], "counts": [1, 2, 0, 0, 2, 1]}},
        ],
    }
    # results are compressed strings (loadRes' rule); frPyObjects keeps the zero runs
    dt = [
        {"image_id": image, "category_id": 1, "score": score,
         "segmentation": {"size": size, "counts": M.frPyObjects(
             {"size": size, "counts": counts}, *size)["counts"].decode()}}
        for image, score, size, counts in (
            (1, 0.9, [2, 2], [0, 0, 0, 4]),
            (2, 0.8, [3, 2], [1, 2, 0, 0, 3]),
            (2, 0.7, [3, 2], [1, 4, 1]),
        )
    ]
    result = assay.evaluate_coco(gt, dt, "segm", device=device)
    assert_matches_cocoeval(result, run_pycocotools(gt, dt, "segm"), atol=EXACT)


def test_segm_needs_result_dicts() -> None:
    gt, _ = _small()
    with pytest.raises(
        ValueError,
        match=re.escape("Expected `dt` for iou_type='segm' to be result dicts with 'segmentation'"),
    ):
        assay.evaluate_coco(gt, np.array([[1, 0, 0, 2, 2, 0.5, 1]]), "segm")


def test_bbox_path_ignores_bad_segmentations() -> None:
    """Segmentations are read only for iou_type='segm': bbox evaluation is unchanged."""
    gt, dt = _small()
    gt["annotations"][0]["segmentation"] = [[1, 2]]
    for d, box in zip(dt, ([2.0, 2.0, 6.0, 6.0], [0.0, 0.0, 5.0, 6.0]), strict=True):
        d["bbox"] = box
    result = assay.evaluate_coco(gt, dt)
    assert result.iou_type == "bbox"
