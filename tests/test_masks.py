"""Mask kernels against pycocotools.mask, exactly, on CPU and CUDA.

Every expected value comes from pycocotools 2.0.x (``maskApi.c``): ``encode``,
``decode``, ``area``, ``toBbox``, ``merge``, ``iou`` and ``frPyObjects``. Masks are
named hard cases (empty, full, touching the border, a single pixel, one row / column,
checkerboards) plus seeded random ones; polygons include multi-ring shapes, vertices
outside the image, negative and fractional coordinates, duplicate vertices, collinear
and self-intersecting rings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from assay.kernels import (
    Rle,
    RleStringError,
    mask_iou,
    rle_area,
    rle_cat,
    rle_decode,
    rle_encode,
    rle_from_boxes,
    rle_from_polygons,
    rle_from_strings,
    rle_iou,
    rle_iou_pairs,
    rle_merge,
    rle_select,
    rle_to_box,
    rle_to_strings,
)

M = pytest.importorskip("pycocotools.mask")


# --------------------------------------------------------------------------- helpers


def _masks_case(name: str, rng: np.random.Generator) -> np.ndarray:
    """(N, H, W) bool masks of one named kind."""
    if name == "empty":
        return np.zeros((3, 7, 5), dtype=bool)
    if name == "full":
        return np.ones((2, 4, 9), dtype=bool)
    if name == "single_pixel":
        m = np.zeros((4, 6, 6), dtype=bool)
        m[0, 0, 0] = m[1, 5, 5] = m[2, 0, 5] = m[3, 5, 0] = True
        return m
    if name == "border":
        m = np.zeros((4, 8, 11), dtype=bool)
        m[0, 0, :] = True
        m[1, :, -1] = True
        m[2, -1, :] = True
        m[3, :, 0] = True
        return m
    if name == "one_row":
        return rng.random((5, 1, 17)) < 0.5
    if name == "one_column":
        return rng.random((5, 17, 1)) < 0.5
    if name == "checkerboard":
        yy, xx = np.mgrid[:9, :10]
        return np.stack([(yy + xx) % 2 == 0, (yy + xx) % 2 == 1])
    if name == "blobs":
        h, w = 40, 53
        m = np.zeros((6, h, w), dtype=bool)
        for i in range(6):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            m[i, y0 : y0 + rng.integers(1, h), x0 : x0 + rng.integers(1, w)] = True
        return m
    if name == "random_dense":
        return rng.random((5, 13, 19)) < 0.8
    if name == "random_sparse":
        return rng.random((5, 23, 11)) < 0.05
    raise KeyError(name)


MASK_CASES = [
    "empty",
    "full",
    "single_pixel",
    "border",
    "one_row",
    "one_column",
    "checkerboard",
    "blobs",
    "random_dense",
    "random_sparse",
]


def _coco(masks: np.ndarray) -> list[dict[str, Any]]:
    """pycocotools' compressed RLEs of (N, H, W) masks."""
    return list(M.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8))))


def _rle(masks: np.ndarray, device: str) -> Rle:
    return rle_encode(torch.from_numpy(masks).to(device))


def _from_coco(objs: list[dict[str, Any]], device: str) -> Rle:
    """assay's Rle of pycocotools RLE dicts (decoding their strings)."""
    return rle_from_strings(
        [o["counts"] for o in objs],
        [o["size"][0] for o in objs],
        [o["size"][1] for o in objs],
        device=device,
    )


def _area(objs: list[dict[str, Any]]) -> np.ndarray:
    # pycocotools' area() of more than 255 masks overflows with numpy 2: one at a time
    return np.array([M.area(o) for o in objs], dtype=np.int64)


def _random_polygon(rng: np.random.Generator, h: int, w: int, regime: int) -> list[float]:
    k = int(rng.integers(3, 14))
    span = max(h, w)
    if regime == 0:  # fractional, partly outside the image
        pts = rng.uniform(-0.3 * span, 1.3 * span, (k, 2))
    elif regime == 1:  # integer vertices
        pts = rng.integers(-3, span + 3, (k, 2)).astype(np.float64)
    elif regime == 2:  # half-pixel vertices (C's .5 rounding)
        pts = np.round(rng.uniform(-5, span + 5, (k, 2)) * 2) / 2
    elif regime == 3:  # COCO-like 2-decimal coordinates inside the image
        pts = np.round(rng.uniform(0, 1, (k, 2)) * [w, h], 2)
    else:  # duplicate consecutive vertices
        pts = rng.uniform(0, span, (k, 2))
        pts = np.repeat(pts, 2, axis=0)
    return [float(v) for v in pts.reshape(-1)]


def _polygons_tensors(
    rings: list[list[float]], hw: list[tuple[int, int]], device: str
) -> tuple[torch.Tensor, ...]:
    pts = torch.tensor([v for r in rings for v in r], dtype=torch.float64, device=device)
    offsets = torch.tensor([0, *np.cumsum([len(r) // 2 for r in rings])], device=device)
    h = torch.tensor([a for a, _ in hw], device=device)
    w = torch.tensor([b for _, b in hw], device=device)
    return pts.reshape(-1, 2), offsets, h, w


# ------------------------------------------------------------------ encode / decode


@pytest.mark.parametrize("case", MASK_CASES)
def test_encode_equals_pycocotools(case: str, device: str) -> None:
    masks = _masks_case(case, np.random.default_rng(0))
    rle = _rle(masks, device)
    assert rle.counts.device.type == device
    assert rle_to_strings(rle) == [o["counts"] for o in _coco(masks)]
    assert rle.height.tolist() == [masks.shape[1]] * len(masks)
    assert rle.width.tolist() == [masks.shape[2]] * len(masks)


@pytest.mark.parametrize("case", MASK_CASES)
def test_decode_equals_pycocotools(case: str, device: str) -> None:
    masks = _masks_case(case, np.random.default_rng(1))
    objs = _coco(masks)
    ours = rle_decode(_from_coco(objs, device))
    assert ours.device.type == device
    theirs = M.decode(objs).transpose(2, 0, 1).astype(bool)
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs)


@pytest.mark.parametrize("case", MASK_CASES)
def test_area_and_box_equal_pycocotools(case: str, device: str) -> None:
    masks = _masks_case(case, np.random.default_rng(2))
    objs = _coco(masks)
    rle = _from_coco(objs, device)
    np.testing.assert_array_equal(rle_area(rle).cpu().numpy(), _area(objs))
    box = rle_to_box(rle)
    assert box.dtype == torch.float64
    np.testing.assert_array_equal(box.cpu().numpy(), M.toBbox(objs))


def test_random_masks_roundtrip_many_sizes(device: str) -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        masks = rng.random((int(rng.integers(1, 5)), h, w)) < rng.random()
        objs = _coco(masks)
        rle = _rle(masks, device)
        assert rle_to_strings(rle) == [o["counts"] for o in objs]
        np.testing.assert_array_equal(rle_decode(rle).cpu().numpy(), masks)
        np.testing.assert_array_equal(rle_area(rle).cpu().numpy(), _area(objs))
        np.testing.assert_array_equal(rle_to_box(rle).cpu().numpy(), M.toBbox(objs))


@pytest.mark.parametrize(
    "counts",
    [
        [5, 0, 4],  # two runs, no set pixel: pycocotools' unsigned wrap-around box
        [2, 0, 3, 2, 2],  # a zero-length ones run in the middle
        [0, 9],  # full
        [9],  # one run: empty, box [0, 0, 0, 0]
        [3, 3, 0, 3],  # a zero-length zeros run joining two ones runs
        [1, 1, 1, 1, 1, 1, 1, 1, 1],
    ],
)
def test_noncanonical_runs_like_pycocotools(counts: list[int], device: str) -> None:
    obj = M.frPyObjects({"counts": counts, "size": [3, 3]}, 3, 3)
    rle = Rle(
        torch.tensor(counts, device=device),
        torch.tensor([0, len(counts)], device=device),
        torch.tensor([3], device=device),
        torch.tensor([3], device=device),
    )
    assert rle_to_strings(rle) == [obj["counts"]]
    np.testing.assert_array_equal(rle_to_box(rle).cpu().numpy(), M.toBbox([obj]))
    np.testing.assert_array_equal(rle_area(rle).cpu().numpy(), _area([obj]))
    np.testing.assert_array_equal(rle_decode(rle)[0].cpu().numpy(), M.decode(obj).astype(bool))
    merged = M.merge([obj])  # a single mask comes back unchanged
    assert rle_to_strings(rle_merge(rle)) == [merged["counts"]]


def _counts_rle(masks: list[list[int]], h: int, w: int, device: str) -> Rle:
    flat = [c for counts in masks for c in counts]
    offsets = np.concatenate(([0], np.cumsum([len(c) for c in masks])))
    return Rle(
        torch.tensor(flat, dtype=torch.int64, device=device),
        torch.tensor(offsets, device=device),
        torch.full((len(masks),), h, device=device),
        torch.full((len(masks),), w, device=device),
    )


def _random_counts(rng: np.random.Generator, pixels: int) -> list[int]:
    """Run lengths of ``pixels`` pixels cut at random points: zero-length runs anywhere."""
    cuts = np.sort(rng.integers(0, pixels + 1, int(rng.integers(0, 8))))
    return np.diff(np.concatenate(([0], cuts, [pixels]))).tolist()


def test_iou_of_noncanonical_runs_stops_like_pycocotools(device: str) -> None:
    """pycocotools' merge loop stops where both masks load a zero-length run at once.

    A set pixel written as [0, 0, 0, 1] has IoU 0 with itself there; random count
    lists with zero-length runs on both sides (crowd or not) must give pycocotools'
    matrix entry for entry, and canonical masks are unaffected.
    """
    same = [0, 0, 0, 1]
    ours = rle_iou(_counts_rle([same], 1, 1, device), _counts_rle([same], 1, 1, device))
    assert ours.item() == 0.0
    rng = np.random.default_rng(11)
    early = 0
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 6, 2))

        dt = [_random_counts(rng, h * w) for _ in range(int(rng.integers(1, 5)))]
        gt = [_random_counts(rng, h * w) for _ in range(int(rng.integers(1, 5)))]
        crowd = rng.random(len(gt)) < 0.3
        theirs = M.iou(
            [M.frPyObjects({"counts": c, "size": [h, w]}, h, w) for c in dt],
            [M.frPyObjects({"counts": c, "size": [h, w]}, h, w) for c in gt],
            crowd.astype(np.uint8),
        )
        full = rle_iou(
            _counts_rle(dt, h, w, device),
            _counts_rle(gt, h, w, device),
            torch.tensor(crowd, device=device),
        )
        np.testing.assert_array_equal(full.cpu().numpy(), np.asarray(theirs).reshape(full.shape))
        canonical = rle_iou(
            rle_encode(rle_decode(_counts_rle(dt, h, w, device))),
            rle_encode(rle_decode(_counts_rle(gt, h, w, device))),
            torch.tensor(crowd, device=device),
        )
        early += int((canonical != full).sum())
    assert early > 20  # the quirk occurred, and changed the result


def test_decode_rejects_mixed_sizes_and_bad_sums(device: str) -> None:
    a = _rle(np.ones((1, 2, 3), dtype=bool), device)
    b = _rle(np.ones((1, 3, 2), dtype=bool), device)
    with pytest.raises(ValueError, match="share one size"):
        rle_decode(rle_cat([a, b]))
    bad = Rle(
        torch.tensor([1, 2], device=device),
        torch.tensor([0, 2], device=device),
        torch.tensor([2], device=device),
        torch.tensor([2], device=device),
    )
    with pytest.raises(ValueError, match="sum to height \\* width = 4"):
        rle_decode(bad)


# ------------------------------------------------------------------------- strings


def test_strings_roundtrip_large_counts(device: str) -> None:
    """Values of 1 to 7 characters, negative differences, counts near 2**31."""
    rng = np.random.default_rng(4)
    runs = [rng.integers(1, 2**k, 9).tolist() for k in range(1, 31, 2)]
    objs = []
    for counts in runs:
        total = int(sum(counts))
        objs.append(M.frPyObjects({"counts": counts, "size": [total, 1]}, total, 1))
    rle = _from_coco(objs, device)
    assert rle.counts.tolist() == [c for counts in runs for c in counts]
    assert rle_to_strings(rle) == [o["counts"] for o in objs]
    # str and bytes inputs decode alike
    as_str = rle_from_strings([o["counts"].decode() for o in objs], rle.height, rle.width)
    assert torch.equal(as_str.counts.cpu(), rle.counts.cpu())


@pytest.mark.parametrize(
    ("strings", "index"),
    [
        (["52203", "5 2"], 1),  # a character outside '0'..'o'
        (["52203", "5p"], 1),
        (["52203", "52203P"], 1),  # ends inside a value ('P' has the continuation bit)
        (["52203", "ça"], 1),  # not ASCII
        (["0" + "o" * 13], 0),  # a value of more than 12 characters
        (["5@"], 0),  # "@" = 16 with the sign bit: a negative second count
        (["O", "!"], 0),  # a negative count before a bad character: the first counts
        (["52203", "O", "ça"], 1),  # ... and before a non-ASCII string
        (["52203", "52203P", "O"], 1),  # a later negative count does not
    ],
)
def test_invalid_strings_raise_naming_the_string(strings: list[str], index: int) -> None:
    with pytest.raises(RleStringError, match=f"strings\\[{index}\\]") as info:
        rle_from_strings(strings, [4] * len(strings), [4] * len(strings))
    assert info.value.index == index


def test_strings_reject_other_types() -> None:
    with pytest.raises(TypeError, match="strings\\[1\\]"):
        rle_from_strings(["52203", 5], [4, 4], [4, 4])  # type: ignore[list-item]


# ---------------------------------------------------------------------------- merge


@pytest.mark.parametrize("intersect", [False, True])
def test_merge_equals_pycocotools(intersect: bool, device: str) -> None:
    rng = np.random.default_rng(5)
    for _ in range(25):
        h, w = (int(v) for v in rng.integers(1, 25, 2))
        n = int(rng.integers(1, 6))
        masks = rng.random((n, h, w)) < rng.uniform(0.2, 0.9)
        if rng.random() < 0.3:
            masks[0] = False
        objs = _coco(masks)
        ours = rle_merge(_from_coco(objs, device), intersect=intersect)
        assert rle_to_strings(ours) == [M.merge(objs, intersect=int(intersect))["counts"]]
        assert ours.height.tolist() == [h] and ours.width.tolist() == [w]


def test_merge_in_groups(device: str) -> None:
    rng = np.random.default_rng(6)
    masks = rng.random((9, 12, 10)) < 0.3
    groups = np.array([2, 0, 2, 2, 4, 0, 1, 4, 4])
    objs = _coco(masks)
    ours = rle_merge(_from_coco(objs, device), torch.tensor(groups, device=device), 6)
    strings = rle_to_strings(ours)
    for g in range(5):
        members = [objs[i] for i in np.flatnonzero(groups == g)]
        assert strings[g] == M.merge(members)["counts"], g
    # an empty group: pycocotools' merge of nothing, size 0 x 0 and no runs
    assert strings[5] == b"" and ours.height[5] == 0 and ours.width[5] == 0


def test_merge_of_different_sizes_is_empty_like_pycocotools(device: str) -> None:
    objs = _coco(np.ones((1, 2, 3), dtype=bool)) + _coco(np.ones((1, 3, 2), dtype=bool))
    theirs = M.merge(objs)
    ours = rle_merge(_from_coco(objs, device))
    assert rle_to_strings(ours) == [theirs["counts"]]
    assert [int(ours.height[0]), int(ours.width[0])] == list(theirs["size"])


# ------------------------------------------------------------------------------ IoU


def _iou_scene(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gt = _masks_case("blobs", rng)[:, :h, :w]
    dt = np.concatenate(
        [
            gt[:3] ^ (rng.random((3, h, w)) < 0.05),
            rng.random((4, h, w)) < 0.2,
            np.zeros((1, h, w), dtype=bool),
        ]
    )
    gt = np.concatenate([gt, np.zeros((1, h, w), dtype=bool), np.ones((1, h, w), dtype=bool)])
    return dt, gt


def test_iou_equals_pycocotools_with_crowd(device: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(6):
        dt, gt = _iou_scene(rng, 37, 51)
        crowd = rng.random(len(gt)) < 0.4
        d_objs, g_objs = _coco(dt), _coco(gt)
        theirs = M.iou(d_objs, g_objs, crowd.astype(np.uint8))
        ours = rle_iou(
            _from_coco(d_objs, device),
            _from_coco(g_objs, device),
            torch.tensor(crowd, device=device),
        )
        assert ours.dtype == torch.float64 and ours.device.type == device
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs)
        dense = mask_iou(
            torch.from_numpy(dt).to(device),
            torch.from_numpy(gt).to(device),
            torch.tensor(crowd, device=device),
        )
        np.testing.assert_array_equal(dense.cpu().numpy(), theirs)


def test_iou_pairs_equal_pycocotools_entries(device: str) -> None:
    rng = np.random.default_rng(8)
    dt, gt = _iou_scene(rng, 30, 30)
    crowd = np.arange(len(gt)) % 3 == 0
    d_objs, g_objs = _coco(dt), _coco(gt)
    theirs = M.iou(d_objs, g_objs, crowd.astype(np.uint8))
    pd = rng.integers(0, len(dt), 50)
    pg = rng.integers(0, len(gt), 50)
    ours = rle_iou_pairs(
        _from_coco(d_objs, device),
        _from_coco(g_objs, device),
        torch.tensor(pd, device=device),
        torch.tensor(pg, device=device),
        torch.tensor(crowd[pg], device=device),
    )
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs[pd, pg])


def test_iou_of_different_sizes_is_minus_one_like_pycocotools(device: str) -> None:
    a = _coco(np.ones((1, 4, 4), dtype=bool))
    b = _coco(np.ones((1, 5, 4), dtype=bool)) + _coco(np.zeros((1, 4, 4), dtype=bool))
    theirs = M.iou(a, b, [0, 0])
    ours = rle_iou(_from_coco(a, device), _from_coco(b, device))
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs)
    assert ours[0, 0] == -1


def test_iou_on_real_coco_masks(device: str, shared_data: Any) -> None:
    """The 734 compressed RLE results of coco_val2014_100 against each other, per image."""
    import json

    dt = json.loads(
        (shared_data / "coco_val2014_100/instances_val2014_fakesegm100_results.json").read_text()
    )
    objs = [d["segmentation"] for d in dt]
    rle = _from_coco(objs, device)
    np.testing.assert_array_equal(rle_area(rle).cpu().numpy(), _area(objs))
    np.testing.assert_array_equal(rle_to_box(rle).cpu().numpy(), M.toBbox(objs))
    assert rle_to_strings(rle) == [o["counts"].encode() for o in objs]
    images = np.array([d["image_id"] for d in dt])
    for image in np.unique(images)[:30]:
        idx = np.flatnonzero(images == image)
        crowd = (idx % 4 == 0).astype(np.uint8)
        theirs = M.iou([objs[i] for i in idx], [objs[i] for i in idx], crowd)
        sub = rle_select(rle, torch.tensor(idx, device=device))
        ours = rle_iou(sub, sub, torch.tensor(crowd, device=device).bool())
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs)


def test_mask_iou_large_masks_exact(device: str) -> None:
    rng = np.random.default_rng(9)
    m = np.zeros((3, 600, 700), dtype=bool)
    m[0, 10:590, 5:690] = True
    m[1, 300:, 350:] = True
    m[2] = rng.random((600, 700)) < 0.5
    theirs = M.iou(_coco(m), _coco(m), [0, 1, 0])
    t = torch.from_numpy(m).to(device)
    np.testing.assert_array_equal(mask_iou(t, t, torch.tensor([0, 1, 0])).cpu().numpy(), theirs)


def test_mask_iou_checks_shapes() -> None:
    with pytest.raises(ValueError, match="same \\(H, W\\)"):
        mask_iou(torch.zeros(1, 2, 3), torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match="shape \\(N, H, W\\)"):
        mask_iou(torch.zeros(2, 3), torch.zeros(1, 2, 3))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        mask_iou(np.zeros((1, 2, 3)), torch.zeros(1, 2, 3))  # type: ignore[arg-type]


# ------------------------------------------------------------------------- polygons


@pytest.mark.parametrize("regime", [0, 1, 2, 3, 4])
def test_polygon_rings_equal_frpyobjects(regime: int, device: str) -> None:
    rng = np.random.default_rng(10 + regime)
    rings, hw, expected = [], [], []
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        ring = _random_polygon(rng, h, w, regime)
        rings.append(ring)
        hw.append((h, w))
        expected.append(M.frPyObjects([ring], h, w)[0]["counts"])
    rle = rle_from_polygons(*_polygons_tensors(rings, hw, device))
    assert rle.counts.device.type == device
    got = rle_to_strings(rle)
    bad = [i for i in range(len(rings)) if got[i] != expected[i]]
    assert not bad, (len(bad), rings[bad[0]], hw[bad[0]], got[bad[0]], expected[bad[0]])


@pytest.mark.parametrize(
    "ring",
    [
        [0, 0, 10, 0, 10, 10, 0, 10],  # the whole 10 x 10 image, border on the edges
        [-50, -50, 60, -50, 60, 60, -50, 60],  # far larger than the image
        [2, 2, 2, 2, 2, 2],  # one point three times
        [1, 1, 5, 5, 9, 9],  # collinear
        [0, 0, 9, 9, 9, 0, 0, 9],  # self-intersecting bow tie
        [20, 20, 30, 20, 30, 30],  # entirely outside
        [-3.7, 4.2, 4.9, -2.6, 12.2, 7.5, 3.3, 13.1],  # negative coordinates (C truncation)
        [0.5, 0.5, 9.5, 0.5, 9.5, 9.5, 0.5, 9.5],
        [4.4999, 0.0, 4.5001, 9.9, 4.5, 5.0],  # a thin sliver around a column centre
    ],
)
def test_polygon_hard_cases(ring: list[float], device: str) -> None:
    expected = M.frPyObjects([ring], 10, 10)[0]["counts"]
    rle = rle_from_polygons(*_polygons_tensors([ring], [(10, 10)], device))
    assert rle_to_strings(rle) == [expected]


def test_polygon_large_image_and_long_edges(device: str) -> None:
    rng = np.random.default_rng(11)
    rings = [list(rng.uniform(0, 2000, 2 * int(rng.integers(3, 60)))) for _ in range(40)]
    expected = [M.frPyObjects([r], 1500, 1700)[0]["counts"] for r in rings]
    rle = rle_from_polygons(*_polygons_tensors(rings, [(1500, 1700)] * 40, device))
    assert rle_to_strings(rle) == expected


def test_multi_ring_polygons_merge_like_ann_to_rle(device: str) -> None:
    """COCO.annToRLE: merge(frPyObjects(rings, h, w)) per annotation."""
    rng = np.random.default_rng(12)
    anns = [
        [
            _random_polygon(rng, 40, 60, int(rng.integers(0, 4)))
            for _ in range(int(rng.integers(1, 5)))
        ]
        for _ in range(60)
    ]
    rings = [r for a in anns for r in a]
    groups = torch.tensor([i for i, a in enumerate(anns) for _ in a], device=device)
    rle = rle_merge(
        rle_from_polygons(*_polygons_tensors(rings, [(40, 60)] * len(rings), device)),
        groups,
        len(anns),
    )
    expected = [M.merge(M.frPyObjects(a, 40, 60))["counts"] for a in anns]
    assert rle_to_strings(rle) == expected


def test_boxes_equal_frpyobjects(device: str) -> None:
    rng = np.random.default_rng(13)
    boxes = np.concatenate([rng.uniform(-5, 40, (100, 2)), rng.uniform(0, 30, (100, 2))], 1)
    boxes[:5, 2:] = 0  # empty boxes
    expected = [o["counts"] for o in M.frPyObjects(boxes, 30, 35)]
    n = len(boxes)
    rle = rle_from_boxes(
        torch.tensor(boxes, device=device),
        torch.full((n,), 30, device=device),
        torch.full((n,), 35, device=device),
    )
    assert rle_to_strings(rle) == expected


# ------------------------------------------------------------------- empty / shapes


EMPTY_CASES: dict[str, Callable[[str], Any]] = {
    "encode": lambda d: rle_encode(torch.zeros(0, 3, 4, dtype=torch.bool, device=d)).counts,
    "encode_zero_size": lambda d: rle_encode(torch.zeros(2, 0, 4, dtype=torch.bool, device=d)),
    "decode": lambda d: rle_decode(rle_encode(torch.zeros(0, 3, 4, dtype=torch.bool, device=d))),
    "area": lambda d: rle_area(rle_encode(torch.zeros(0, 3, 4, dtype=torch.bool, device=d))),
    "box": lambda d: rle_to_box(rle_encode(torch.zeros(0, 3, 4, dtype=torch.bool, device=d))),
    "strings": lambda d: rle_to_strings(rle_encode(torch.zeros(0, 3, 4, device=d))),
    "from_strings": lambda d: rle_from_strings([], [], [], device=d),
    "iou": lambda d: rle_iou(
        rle_encode(torch.zeros(0, 3, 4, device=d)), rle_encode(torch.ones(2, 3, 4, device=d))
    ),
    "iou_pairs": lambda d: rle_iou_pairs(
        rle_encode(torch.ones(1, 3, 4, device=d)),
        rle_encode(torch.ones(2, 3, 4, device=d)),
        torch.zeros(0, dtype=torch.int64, device=d),
        torch.zeros(0, dtype=torch.int64, device=d),
    ),
    "mask_iou": lambda d: mask_iou(torch.zeros(0, 3, 4, device=d), torch.ones(2, 3, 4, device=d)),
    "polygons": lambda d: rle_from_polygons(
        torch.zeros(0, 2, dtype=torch.float64, device=d),
        torch.zeros(1, dtype=torch.int64, device=d),
        torch.zeros(0, dtype=torch.int64, device=d),
        torch.zeros(0, dtype=torch.int64, device=d),
    ),
    "select": lambda d: rle_select(
        rle_encode(torch.ones(2, 3, 4, device=d)), torch.zeros(0, dtype=torch.int64, device=d)
    ),
}


@pytest.mark.parametrize("case", sorted(EMPTY_CASES))
def test_empty_inputs(case: str, device: str) -> None:
    out = EMPTY_CASES[case](device)
    if case == "encode":
        assert out.shape == (0,)
    elif case == "encode_zero_size":  # pycocotools encodes a 0-pixel mask as counts [0]
        assert out.counts.tolist() == [0, 0] and out.offsets.tolist() == [0, 1, 2]
    elif case == "decode":
        assert out.shape == (0, 0, 0) and out.dtype == torch.bool
    elif case == "area":
        assert out.shape == (0,) and out.dtype == torch.int64
    elif case == "box":
        assert out.shape == (0, 4) and out.dtype == torch.float64
    elif case == "strings":
        assert out == []
    elif case in ("from_strings", "polygons", "select"):
        assert out.num_masks == 0 and out.counts.shape == (0,) and out.offsets.tolist() == [0]
    elif case == "iou":
        assert out.shape == (0, 2) and out.dtype == torch.float64
    elif case == "iou_pairs":
        assert out.shape == (0,) and out.dtype == torch.float64
    elif case == "mask_iou":
        assert out.shape == (0, 2) and out.dtype == torch.float64


def test_cat_and_select(device: str) -> None:
    rng = np.random.default_rng(14)
    a, b = rng.random((3, 5, 6)) < 0.5, rng.random((2, 5, 6)) < 0.5
    both = rle_cat([_rle(a, device), _rle(b, device)])
    np.testing.assert_array_equal(rle_decode(both).cpu().numpy(), np.concatenate([a, b]))
    pick = rle_select(both, torch.tensor([4, 0, 0], device=device))
    np.testing.assert_array_equal(rle_decode(pick).cpu().numpy(), np.stack([b[1], a[0], a[0]]))
    keep = rle_select(both, torch.tensor([True, False, False, True, False], device=device))
    np.testing.assert_array_equal(rle_decode(keep).cpu().numpy(), np.stack([a[0], b[0]]))


@pytest.mark.parametrize(
    ("index", "error", "pattern"),
    [
        (torch.tensor([1, 5]), ValueError, r"indexes in \[0, 3\), but got 5 \(first offending "
         r"item: index\[1\]\)"),
        (torch.tensor([-1]), ValueError, r"in \[0, 3\), but got -1 \(first offending item: "
         r"index\[0\]\)"),
        (torch.tensor([1.5]), TypeError, r"integer or bool tensor, but got torch.float32"),
        (torch.tensor([[0]]), ValueError, r"of shape \(K,\), but got \(1, 1\)"),
        (torch.tensor([True, False]), ValueError, r"one flag per mask \(3\), but got 2 flags"),
        ([0, 1], TypeError, r"`index` to be a tensor, but got list"),
    ],
)
def test_select_bad_index(index: Any, error: type[Exception], pattern: str) -> None:
    rle = _rle(np.ones((3, 2, 2), dtype=bool), "cpu")
    with pytest.raises(error, match=pattern):
        rle_select(rle, index)


def test_rle_to_moves_every_tensor(device: str) -> None:
    rle = _rle(np.ones((1, 2, 2), dtype=bool), "cpu").to(device)
    assert {t.device.type for t in rle} == {device}
    assert rle.to(device) is rle


def test_wrong_types_raise() -> None:
    with pytest.raises(TypeError, match="Expected `rle` to be an Rle"):
        rle_area((torch.zeros(1),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape \\(N, H, W\\)"):
        rle_encode(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="shape \\(P, 2\\)"):
        rle_from_polygons(
            torch.zeros(6), torch.tensor([0, 3]), torch.tensor([4]), torch.tensor([4])
        )
