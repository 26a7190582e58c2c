"""Bad input to the mask and box kernels: one clear error each, never a silent answer.

Metadata cases (types, dtypes, shapes, devices) run on every device, and on ``meta``
tensors (a device without data: the checks must not read values there). Value cases
(runs adding up to ``height * width``, signs, offsets, 0/1 flags and masks) run on the
CPU, the only place the kernels read values. Accepted variants (integer and float 0/1
crowd flags, 0/255 integer masks, 0/1 float masks, boxes of two dtypes) are checked
against pycocotools.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from assay.kernels import (
    Rle,
    box_area,
    box_convert,
    box_iou,
    coco_box_iou,
    coco_box_iou_pairs,
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
from assay.kernels import masks as K

M = pytest.importorskip("pycocotools.mask")

NAN = math.nan
Case = tuple[str, Callable[[str], Any], type[Exception], str]


def T(data: Any, device: str = "cpu", **kw: Any) -> torch.Tensor:
    return torch.tensor(data, device=device, **kw)


def R(counts: list[int], offsets: list[int], h: list[int], w: list[int], d: str = "cpu") -> Rle:
    return Rle(T(counts, d), T(offsets, d), T(h, d), T(w, d))


def MASKS(d: str = "cpu") -> torch.Tensor:
    """Three 2 x 2 masks: one pixel each."""
    m = torch.zeros(3, 2, 2, dtype=torch.bool, device=d)
    m[0, 0, 0] = m[1, 1, 1] = m[2, 0, 1] = True
    return m


def GOOD(d: str = "cpu") -> Rle:
    return rle_encode(MASKS(d))


PTS = [[1.0, 1.0], [4.0, 1.0], [4.0, 3.0], [1.0, 3.0]]  # one 4-point ring
BOX = [[0.0, 0.0, 2.0, 2.0]]
XYWH = [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]]

# --------------------------------------------------------- metadata, every device

META: list[Case] = [
    # Rle fields: int64 tensors of consistent shapes on one device
    ("rle float counts", lambda d: rle_area(GOOD(d)._replace(counts=GOOD(d).counts.float())),
     TypeError, r"`rle.counts` to be an int64 tensor, but got torch.float32"),
    ("rle float offsets", lambda d: rle_area(GOOD(d)._replace(offsets=GOOD(d).offsets.float())),
     TypeError, r"`rle.offsets` to be an int64 tensor"),
    ("rle int32 height", lambda d: rle_to_box(GOOD(d)._replace(height=GOOD(d).height.int())),
     TypeError, r"`rle.height` to be an int64 tensor, but got torch.int32"),
    ("rle list width", lambda d: rle_select(GOOD(d)._replace(width=[2, 2, 2]), T([0], d)),
     TypeError, r"`rle.width` to be a torch.Tensor, but got list"),
    ("rle fields on two devices",
     lambda d: rle_area(GOOD(d)._replace(height=torch.ones(3, dtype=torch.int64, device="meta"))),
     ValueError, r"`rle.height` on the device of `rle.counts`"),
    ("iou dt float counts", lambda d: rle_iou(GOOD(d)._replace(counts=GOOD(d).counts.float()),
                                              GOOD(d)), TypeError, r"`dt.counts` to be an int64"),
    ("iou_pairs gt int32 offsets",
     lambda d: rle_iou_pairs(GOOD(d), GOOD(d)._replace(offsets=GOOD(d).offsets.int()),
                             T([0], d), T([0], d)), TypeError, r"`gt.offsets` to be an int64"),
    ("cat one Rle", lambda d: rle_cat(GOOD(d)), TypeError,  # type: ignore[arg-type]
     r"`rles` to be a sequence of Rle batches, but got one Rle"),
    ("cat batches on two devices",
     lambda d: rle_cat([GOOD(d), K._empty_rle(torch.device("meta"))]), ValueError,
     r"`rles\[1\]` on the device of `rles\[0\]`"),
    # crowd flags: (G,) / (P,) / (M,) bool, integer or floating-point, never complex
    ("rle_iou crowd short", lambda d: rle_iou(GOOD(d), GOOD(d), T([True], d)), ValueError,
     r"`gt_crowd` to hold one flag per gt mask \(3\), but got shape \(1,\)"),
    ("rle_iou crowd long", lambda d: rle_iou(GOOD(d), GOOD(d), T([True] * 5, d)), ValueError,
     r"`gt_crowd` to hold one flag per gt mask \(3\), but got shape \(5,\)"),
    ("rle_iou crowd 2-D", lambda d: rle_iou(GOOD(d), GOOD(d), T([[True] * 3], d)), ValueError,
     r"`gt_crowd` to have shape \(G,\), but got \(1, 3\)"),
    ("rle_iou crowd complex", lambda d: rle_iou(GOOD(d), GOOD(d), T([0j, 1, 0], d)), TypeError,
     r"`gt_crowd` to be a bool, integer or 0/1 float tensor, but got dtype torch.complex64"),
    ("iou_pairs float index", lambda d: rle_iou_pairs(GOOD(d), GOOD(d), T([0.5, 1.7], d),
                                                      T([0, 1], d)), TypeError,
     r"`pair_dt` to be an integer tensor, but got dtype torch.float32"),
    ("iou_pairs bool index", lambda d: rle_iou_pairs(GOOD(d), GOOD(d), T([0, 1], d),
                                                     T([True, False], d)), TypeError,
     r"`pair_gt` to be an integer tensor, but got dtype torch.bool"),
    ("iou_pairs list index", lambda d: rle_iou_pairs(GOOD(d), GOOD(d), [0], T([0], d)),  # type: ignore[arg-type]
     TypeError, r"`pair_dt` to be a torch.Tensor, but got list"),
    ("iou_pairs crowd complex", lambda d: rle_iou_pairs(GOOD(d), GOOD(d), T([0], d), T([0], d),
                                                        T([1j], d)), TypeError,
     r"`gt_crowd` to be a bool, integer or 0/1 float tensor"),
    ("mask_iou crowd short", lambda d: mask_iou(MASKS(d), MASKS(d), T([True], d)), ValueError,
     r"`iscrowd` to hold one flag per mask of `masks2` \(3\), but got shape \(1,\)"),
    ("mask_iou crowd long", lambda d: mask_iou(MASKS(d), MASKS(d), T([True] * 5, d)),
     ValueError, r"`iscrowd` to hold one flag per mask of `masks2` \(3\), but got shape \(5,\)"),
    ("mask_iou crowd 2-D", lambda d: mask_iou(MASKS(d), MASKS(d), T([[True] * 3], d)),
     ValueError, r"`iscrowd` to have shape \(M,\), but got \(1, 3\)"),
    ("mask_iou crowd complex", lambda d: mask_iou(MASKS(d), MASKS(d), T([0j, 1, 0], d)),
     TypeError, r"`iscrowd` to be a bool, integer or 0/1 float tensor"),
    ("mask_iou complex", lambda d: mask_iou(MASKS(d).to(torch.complex64), MASKS(d)), TypeError,
     r"`masks1` to be a bool, integer or 0/1 float tensor, but got torch.complex64"),
    ("coco_box_iou crowd short", lambda d: coco_box_iou(T(BOX, d), T(XYWH, d), T([True], d)),
     ValueError, r"`gt_crowd` to hold one flag per gt box \(2\), but got shape \(1,\)"),
    ("coco_box_iou crowd long",
     lambda d: coco_box_iou(T(BOX, d), T(XYWH, d), T([True, False, False], d)), ValueError,
     r"`gt_crowd` to hold one flag per gt box \(2\), but got shape \(3,\)"),
    ("coco_box_iou crowd 2-D",
     lambda d: coco_box_iou(T(BOX, d), T(XYWH, d), T([[True, False]], d)), ValueError,
     r"`gt_crowd` to have shape \(G,\), but got \(1, 2\)"),
    ("coco_box_iou crowd complex",
     lambda d: coco_box_iou(T(BOX, d), T(XYWH, d), T([1j, 0j], d)), TypeError,
     r"`gt_crowd` to be a bool, integer or 0/1 float tensor"),
    ("coco_box_iou crowd device",
     lambda d: coco_box_iou(T(BOX, d), T(XYWH, d), torch.zeros(2, dtype=torch.bool,
                                                               device="meta")),
     ValueError, r"`gt_crowd` on the device of `dt`"),
    ("pairs gt rows", lambda d: coco_box_iou_pairs(T(BOX, d), T(XYWH, d), T([False, False], d)),
     ValueError, r"`gt` to hold one box per pair, as `dt` \(1\), but got shape \(2, 4\)"),
    ("pairs crowd short",
     lambda d: coco_box_iou_pairs(T(XYWH, d), T(XYWH, d), T([True], d)), ValueError,
     r"`gt_crowd` to hold one crowd flag per pair \(2\), but got shape \(1,\)"),
    ("pairs crowd long",
     lambda d: coco_box_iou_pairs(T(BOX, d), T(BOX, d), T([True, True], d)), ValueError,
     r"`gt_crowd` to hold one crowd flag per pair \(1\), but got shape \(2,\)"),
    ("pairs crowd complex", lambda d: coco_box_iou_pairs(T(BOX, d), T(BOX, d), T([1j], d)),
     TypeError, r"`gt_crowd` to be a bool, integer or 0/1 float tensor"),
    ("pairs crowd none", lambda d: coco_box_iou_pairs(T(BOX, d), T(BOX, d), None),  # type: ignore[arg-type]
     TypeError, r"`gt_crowd` to be a torch.Tensor, but got NoneType"),
    ("pairs 3 columns", lambda d: coco_box_iou_pairs(T([[0.0, 0, 1]], d), T([[0.0, 0, 1]], d),
                                                     T([True], d)), ValueError,
     r"`dt` to have shape \(N, 4\), but got \(1, 3\)"),
    ("pairs 1-D", lambda d: coco_box_iou_pairs(T(BOX[0], d), T(BOX[0], d), T(True, d)),
     ValueError, r"`dt` to have shape \(N, 4\), but got \(4,\)"),
    ("pairs devices", lambda d: coco_box_iou_pairs(T(BOX, d), torch.zeros(1, 4, device="meta"),
                                                   T([True], d)), ValueError,
     r"`gt` on the device of `dt`"),
    ("box_iou names boxes2", lambda d: box_iou(T(BOX, d), T([[0.0, 0, 1]], d)), ValueError,
     r"`boxes2` to have shape \(N, 4\), but got \(1, 3\)"),
    ("box_iou names fmt", lambda d: box_iou(T(BOX, d), T(BOX, d), "xyzz"),  # type: ignore[arg-type]
     ValueError, r"`fmt` to be one of \('xyxy', 'xywh', 'cxcywh'\), but got 'xyzz'"),
    ("box_iou devices", lambda d: box_iou(T(BOX, d), torch.zeros(1, 4, device="meta")),
     ValueError, r"`boxes2` on the device of `boxes1`"),
    ("box_area bool", lambda d: box_area(T([[True, True, True, True]], d)), TypeError,
     r"`boxes` to be a floating-point or integer tensor, but got dtype torch.bool"),
    ("box_convert complex", lambda d: box_convert(torch.zeros(1, 4, dtype=torch.complex64,
                                                              device=d), "xyxy", "xywh"),
     TypeError, r"`boxes` to be a floating-point or integer tensor"),
    # merge: groups (N,) integer, num_groups an int >= 0 and only with groups
    ("merge groups bool", lambda d: rle_merge(GOOD(d), T([True, False, True], d)), TypeError,
     r"`groups` to be an integer tensor, but got dtype torch.bool"),
    ("merge groups float", lambda d: rle_merge(GOOD(d), T([0.0, 0, 1], d)), TypeError,
     r"`groups` to be an integer tensor, but got dtype torch.float32"),
    ("merge groups short", lambda d: rle_merge(GOOD(d), T([0, 0], d), 2), ValueError,
     r"`groups` to hold one group per mask \(3\), but got shape \(2,\)"),
    ("merge groups 2-D", lambda d: rle_merge(GOOD(d), T([[0, 0, 1]], d), 2), ValueError,
     r"`groups` to have shape \(N,\), but got \(1, 3\)"),
    ("merge num_groups float", lambda d: rle_merge(GOOD(d), T([0, 0, 1], d), 2.0),  # type: ignore[arg-type]
     TypeError, r"`num_groups` to be an int, but got float 2.0"),
    ("merge num_groups negative", lambda d: rle_merge(GOOD(d), T([0, 0, 1], d), -1), ValueError,
     r"`num_groups` to be an int >= 0, but got -1"),
    ("merge num_groups alone", lambda d: rle_merge(GOOD(d), None, 3), ValueError,
     r"`num_groups` only with `groups`, but got num_groups=3 and groups=None"),
    ("merge intersect not bool", lambda d: rle_merge(GOOD(d), intersect=T(True, d)),  # type: ignore[arg-type]
     TypeError, r"`intersect` to be a bool, but got Tensor"),
    # polygons: integer (R + 1,) offsets, (R,) integer sizes and groups
    ("poly offsets float", lambda d: rle_from_polygons(T(PTS, d), T([0.0, 4], d), T([5], d),
                                                       T([5], d)), TypeError,
     r"`ring_offsets` to be an integer tensor, but got dtype torch.float32"),
    ("poly offsets list", lambda d: rle_from_polygons(T(PTS, d), [0, 4], T([5], d), T([5], d)),  # type: ignore[arg-type]
     TypeError, r"`ring_offsets` to be a torch.Tensor, but got list"),
    ("poly offsets 2-D", lambda d: rle_from_polygons(T(PTS, d), T([[0, 4]], d), T([5], d),
                                                     T([5], d)), ValueError,
     r"`ring_offsets` to have shape \(R \+ 1,\), but got \(1, 2\)"),
    ("poly offsets empty", lambda d: rle_from_polygons(T(PTS, d), T([], d, dtype=torch.int64),
                                                       T([5], d), T([5], d)), ValueError,
     r"`ring_offsets` to have shape \(R \+ 1,\) \(0 first\), but got \(0,\)"),
    ("poly height short", lambda d: rle_from_polygons(T(PTS, d), T([0, 2, 4], d), T([5], d),
                                                      T([5, 5], d)), ValueError,
     r"`height` to hold one image height per ring \(2\), but got shape \(1,\)"),
    ("poly width long", lambda d: rle_from_polygons(T(PTS, d), T([0, 4], d), T([5], d),
                                                    T([5, 5], d)), ValueError,
     r"`width` to hold one image width per ring \(1\), but got shape \(2,\)"),
    ("poly height float", lambda d: rle_from_polygons(T(PTS, d), T([0, 4], d), T([5.5], d),
                                                      T([5], d)), TypeError,
     r"`height` to be an integer tensor, but got dtype torch.float32"),
    ("poly points bool", lambda d: rle_from_polygons(T(PTS, d) > 2, T([0, 4], d), T([5], d),
                                                     T([5], d)), TypeError,
     r"`points` to be a floating-point or integer tensor, but got torch.bool"),
    ("poly groups long", lambda d: rle_from_polygons(T(PTS, d), T([0, 4], d), T([5], d),
                                                     T([5], d), T([0, 0], d)), ValueError,
     r"`groups` to hold one group per ring \(1\), but got shape \(2,\)"),
    ("poly num_groups alone", lambda d: rle_from_polygons(T(PTS, d), T([0, 4], d), T([5], d),
                                                          T([5], d), None, 2), ValueError,
     r"`num_groups` only with `groups`"),
    ("boxes list", lambda d: rle_from_boxes(BOX, T([2], d), T([2], d)),  # type: ignore[arg-type]
     TypeError, r"`boxes` to be a torch.Tensor, but got list"),
    ("boxes 3 columns", lambda d: rle_from_boxes(T([[0.0, 0, 1]], d), T([2], d), T([2], d)),
     ValueError, r"`boxes` to have shape \(N, 4\), but got \(1, 3\)"),
    ("boxes height short", lambda d: rle_from_boxes(T(BOX * 2, d), T([2], d), T([2, 2], d)),
     ValueError, r"`height` to hold one image height per box \(2\), but got shape \(1,\)"),
    ("boxes height float", lambda d: rle_from_boxes(T(BOX, d), T([2.5], d), T([2], d)),
     TypeError, r"`height` to be an integer tensor"),
    # strings: (N,) integer sizes
    ("strings height short", lambda d: rle_from_strings([b"04", b"04"], [2], [2, 2], d),
     ValueError, r"`height` to hold one mask height per string \(2\), but got shape \(1,\)"),
    ("strings width 2-D", lambda d: rle_from_strings([b"04"], [2], [[2]], d), ValueError,
     r"`width` to have shape \(N,\), but got \(1, 1\)"),
    ("strings height float list", lambda d: rle_from_strings([b"04"], [2.5], [2], d),
     TypeError, r"`height` to hold ints, but got dtype float64"),
    ("strings height float tensor", lambda d: rle_from_strings([b"04"], T([2.0]), [2], d),
     TypeError, r"`height` to be an integer tensor"),
    ("strings one str", lambda d: rle_from_strings("04", [2], [2], d), TypeError,  # type: ignore[arg-type]
     r"`strings` to be a sequence of str or bytes, but got str"),
]


@pytest.mark.parametrize(("label", "call", "error", "pattern"), META, ids=[c[0] for c in META])
def test_metadata_errors(device: str, label: str, call: Callable[[str], Any],
                         error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        call(device)


# ----------------------------------------------------------------- values, CPU only

SUM3 = R([0, 1, 3, 3, 1, 2, 1, 1], [0, 3, 5, 8], [2, 2, 2], [2, 2, 2])  # a valid batch
SHORT = R([0, 1, 3, 1, 1, 2, 1, 1], [0, 3, 5, 8], [2, 2, 2], [2, 2, 2])  # mask 1 sums to 2
SUMS_MSG = r"run lengths to sum to height \* width = 4, but got 2 \(first offending item: mask 1"
NEG = R([0, 5, -1, 1, 1, 2, 1, 1], [0, 3, 6, 8], [2, 2, 2], [2, 2, 1])  # adds up, a -1 run
NEG_MSG = r"`rle.counts` to hold run lengths in \[0, inf\), but got -1 \(first offending item"
NEG_HW = R([0, 1, 3], [0, 3], [-2], [-2])  # (-2) * (-2) = 4 = the runs' sum
OFFSETS = "to rise from 0 to len(counts) = 8 (mask i's runs are counts[offsets[i]:offsets[i + 1]])"

VALUES: list[Case] = [
    # runs adding up to height * width, read by every function that reads the runs
    ("area sums", lambda d: rle_area(SHORT), ValueError, r"`rle` " + SUMS_MSG),
    ("to_box sums", lambda d: rle_to_box(SHORT), ValueError, SUMS_MSG + r", rle.counts\[3:5\]"),
    ("to_strings sums", lambda d: rle_to_strings(SHORT), ValueError, SUMS_MSG),
    ("decode sums", lambda d: rle_decode(SHORT), ValueError, SUMS_MSG),
    ("merge sums", lambda d: rle_merge(SHORT), ValueError, SUMS_MSG),
    ("iou dt sums", lambda d: rle_iou(SHORT, SUM3), ValueError, r"`dt` " + SUMS_MSG),
    ("iou gt sums", lambda d: rle_iou(SUM3, SHORT), ValueError, r"`gt` " + SUMS_MSG),
    ("iou_pairs gt sums", lambda d: rle_iou_pairs(SUM3, SHORT, T([0]), T([0])), ValueError,
     r"`gt` " + SUMS_MSG),
    ("sums too big", lambda d: rle_area(R([0, 5], [0, 2], [2], [2])), ValueError,
     r"sum to height \* width = 4, but got 5 \(first offending item: mask 0, rle.counts\[0:2\]"),
    ("no runs for a 2 x 2 mask", lambda d: rle_area(R([4], [0, 0, 1], [2, 2], [2, 2])),
     ValueError, r"sum to height \* width = 4, but got 0 \(first offending item: mask 0"),
    ("negative run", lambda d: rle_area(NEG), ValueError, NEG_MSG + r": rle.counts\[2\]\)"),
    ("negative run iou", lambda d: rle_iou(NEG, NEG), ValueError, r"`dt.counts` to hold run"),
    ("negative height", lambda d: rle_to_box(NEG_HW), ValueError,
     r"`rle.height` to hold mask heights in \[0, inf\), but got -2 \(first offending item: "
     r"rle.height\[0\]\)"),
    ("negative width", lambda d: rle_area(R([0], [0, 1], [0], [-3])), ValueError,
     r"`rle.width` to hold mask widths in \[0, inf\), but got -3"),
    # offsets slicing the counts: every function, the copying ones included
    ("offsets not from 0", lambda d: rle_area(SUM3._replace(offsets=T([1, 3, 5, 8]))),
     ValueError, r"`rle.offsets` " + re.escape(OFFSETS) + r", but got 1 \(first offending item: "
     r"rle.offsets\[0\]\)"),
    ("offsets past the counts", lambda d: rle_select(SUM3._replace(offsets=T([0, 9, 5, 8])),
                                                     T([0])), ValueError,
     r"`rle.offsets` to rise from 0 to len\(counts\) = 8 .*but got 9 \(first offending item: "
     r"rle.offsets\[1\]\)"),
    ("offsets falling", lambda d: rle_cat([SUM3._replace(offsets=T([0, 5, 3, 8]))]), ValueError,
     r"`rles\[0\].offsets` to rise .*but got 3 \(first offending item: rles\[0\].offsets\[2\]\)"),
    ("offsets short of the end", lambda d: rle_to_strings(SUM3._replace(offsets=T([0, 3, 5, 7]))),
     ValueError, r"but got 7 \(first offending item: rle.offsets\[3\]\)"),
    # crowd flags: integers and floats must be 0 or 1 (NaN is neither)
    ("rle_iou crowd 0.5", lambda d: rle_iou(GOOD(), GOOD(), T([0.0, 0.5, 1.0])), ValueError,
     r"`gt_crowd` to hold crowd flags 0 or 1, but got 0.5 \(first offending item: "
     r"gt_crowd\[1\]\)"),
    ("rle_iou crowd NaN", lambda d: rle_iou(GOOD(), GOOD(), T([0.0, 1.0, NAN])), ValueError,
     r"`gt_crowd` to hold crowd flags 0 or 1, but got nan \(first offending item: "
     r"gt_crowd\[2\]\)"),
    ("iou_pairs crowd 2.0", lambda d: rle_iou_pairs(GOOD(), GOOD(), T([0]), T([0]), T([2.0])),
     ValueError, r"`gt_crowd` to hold crowd flags 0 or 1, but got 2.0"),
    ("mask_iou crowd -1.0", lambda d: mask_iou(MASKS(), MASKS(), T([-1.0, 0, 0])), ValueError,
     r"`iscrowd` to hold crowd flags 0 or 1, but got -1.0 \(first offending item: "
     r"iscrowd\[0\]\)"),
    ("coco_box_iou crowd NaN", lambda d: coco_box_iou(T(BOX), T(XYWH), T([0.0, NAN])),
     ValueError, r"`gt_crowd` to hold crowd flags 0 or 1, but got nan \(first offending item: "
     r"gt_crowd\[1\]\)"),
    ("pairs crowd 0.5", lambda d: coco_box_iou_pairs(T(BOX), T(BOX), T([0.5], dtype=torch.float64)),
     ValueError, r"`gt_crowd` to hold crowd flags 0 or 1, but got 0.5"),
    ("rle_iou crowd 2", lambda d: rle_iou(GOOD(), GOOD(), T([0, 2, 0])), ValueError,
     r"`gt_crowd` to hold crowd flags 0 or 1, but got 2 \(first offending item: "
     r"gt_crowd\[1\]\)"),
    ("rle_iou crowd -1", lambda d: rle_iou(GOOD(), GOOD(), T([0, 0, -1])), ValueError,
     r"but got -1 \(first offending item: gt_crowd\[2\]\)"),
    ("iou_pairs crowd 2", lambda d: rle_iou_pairs(GOOD(), GOOD(), T([0]), T([0]), T([2])),
     ValueError, r"`gt_crowd` to hold crowd flags 0 or 1, but got 2"),
    ("mask_iou crowd 2", lambda d: mask_iou(MASKS(), MASKS(), T([2, 0, 0])), ValueError,
     r"`iscrowd` to hold crowd flags 0 or 1, but got 2 \(first offending item: "
     r"iscrowd\[0\]\)"),
    ("coco_box_iou crowd 2", lambda d: coco_box_iou(T(BOX), T(XYWH), T([0, 2])), ValueError,
     r"`gt_crowd` to hold crowd flags 0 or 1, but got 2 \(first offending item: "
     r"gt_crowd\[1\]\)"),
    ("pairs crowd 2", lambda d: coco_box_iou_pairs(T(BOX), T(BOX), T([2])), ValueError,
     r"`gt_crowd` to hold crowd flags 0 or 1, but got 2"),
    # float masks: 0 / 1 only (soft masks must be thresholded)
    ("encode soft mask", lambda d: rle_encode(MASKS().float() * 0.5), ValueError,
     r"`masks` to hold 0 / 1 values \(threshold soft masks first, e.g. masks > 0.5\), but got "
     r"0.5 \(first offending item: masks\[0, 0, 0\]\)"),
    ("encode NaN mask", lambda d: rle_encode(T([[[0.0, NAN]]])), ValueError,
     r"but got nan \(first offending item: masks\[0, 0, 1\]\)"),
    ("mask_iou soft masks2", lambda d: mask_iou(MASKS(), MASKS().double() * 0.3), ValueError,
     r"`masks2` to hold 0 / 1 values"),
    # polygons: ring offsets slicing the points, sizes >= 0, finite vertices
    ("poly offsets beyond P", lambda d: rle_from_polygons(T(PTS), T([0, 6]), T([5]), T([5])),
     ValueError, r"`ring_offsets` to rise from 0 to len\(points\) = 4 \(ring r's points are "
     r"points\[ring_offsets\[r\]:ring_offsets\[r \+ 1\]\]\), but got 6 \(first offending item: "
     r"ring_offsets\[1\]\)"),
    ("poly offsets falling", lambda d: rle_from_polygons(T(PTS), T([0, 3, 2, 4]), T([5, 5, 5]),
                                                         T([5, 5, 5])), ValueError,
     r"but got 2 \(first offending item: ring_offsets\[2\]\)"),
    ("poly offsets not from 0", lambda d: rle_from_polygons(T(PTS), T([1, 4]), T([5]), T([5])),
     ValueError, r"but got 1 \(first offending item: ring_offsets\[0\]\)"),
    ("poly offsets short of P", lambda d: rle_from_polygons(T(PTS), T([0, 3]), T([5]), T([5])),
     ValueError, r"but got 3 \(first offending item: ring_offsets\[1\]\)"),
    ("poly points left over", lambda d: rle_from_polygons(T(PTS), T([0]), T([], dtype=torch.int64),
                                                          T([], dtype=torch.int64)),
     ValueError, r"`ring_offsets` to rise from 0 to len\(points\) = 4"),
    ("boxes negative height", lambda d: rle_from_boxes(T(BOX * 2), T([2, -2]), T([2, 2])),
     ValueError, r"but got -2 x 2 \(first offending item: box 1\)"),
    ("boxes NaN", lambda d: rle_from_boxes(T([*BOX, [0.0, NAN, 1, 1]]), T([2, 2]), T([2, 2])),
     ValueError, r"`boxes` to have finite corners \(x \+ w, y \+ h included\) within "
     r"\+-429,496,729 .*but got \[0.0, nan, 1.0, 1.0\] \(first offending item: boxes\[1\]\)"),
    ("boxes corner beyond C ints", lambda d: rle_from_boxes(T([[4e8, 0, 4e8, 1]]), T([2]), T([2])),
     ValueError, r"first offending item: boxes\[0\]"),
    ("strings negative height", lambda d: rle_from_strings([b"04"], [-2], [-2]), ValueError,
     r"`height` to hold mask heights in \[0, inf\), but got -2 \(first offending item: "
     r"height\[0\]\)"),
    ("strings negative width tensor", lambda d: rle_from_strings([b"04"], T([2]), T([-2])),
     ValueError, r"`width` to hold mask widths in \[0, inf\)"),
]


@pytest.mark.parametrize(("label", "call", "error", "pattern"), VALUES,
                         ids=[c[0] for c in VALUES])
def test_value_errors_on_cpu(mask_path: str, label: str, call: Callable[[str], Any],
                             error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        call("cpu")


def test_device_values_are_not_read() -> None:
    """On a device the run check reads nothing (``meta`` tensors have no data): malformed
    runs pass the check there, where the documented contract stands."""
    bad = Rle(*(t.to("meta") for t in SHORT))
    assert K._check_rle("rle", bad, runs=True) is bad
    neg = Rle(*(t.to("meta") for t in NEG))
    assert K._check_rle("rle", neg, runs=True) is neg
    offsets = Rle(*(t.to("meta") for t in SUM3._replace(offsets=T([1, 3, 5, 8]))))
    assert K._check_rle("rle", offsets, runs=False) is offsets
    flags = T([0, 2, 0], "meta")
    assert K._check_crowd("gt_crowd", flags, 3, "one flag per gt mask", "(G,)").dtype == torch.bool
    soft = T([0.0, 0.5, NAN], "meta")
    assert K._check_crowd("gt_crowd", soft, 3, "one flag per gt mask", "(G,)").dtype == torch.bool


def test_copying_functions_take_runs_as_they_are() -> None:
    """rle_select / rle_cat copy the runs without reading them (only the offsets, which
    they slice by, are checked); the functions that read the runs refuse them."""
    picked = rle_select(SHORT, T([1, 1]))
    assert picked.counts.tolist() == [1, 1, 1, 1] and picked.offsets.tolist() == [0, 2, 4]
    both = rle_cat([SHORT, SUM3])
    assert both.counts.tolist() == SHORT.counts.tolist() + SUM3.counts.tolist()
    with pytest.raises(ValueError, match=r"`rle` run lengths to sum to height \* width = 4"):
        rle_area(picked)


# ---------------------------------------------------- accepted variants, same numbers


def _coco(m: np.ndarray) -> list[dict[str, Any]]:
    return M.encode(np.asfortranarray(m.transpose(1, 2, 0).astype(np.uint8)))


def test_integer_and_float_crowd_flags_equal_bool_and_pycocotools(device: str) -> None:
    """bool, integer and floating-point 0 / 1 flags give pycocotools' numbers (floats
    worked through ``.to(bool)`` before the argument checks, and were refused by them)."""
    rng = np.random.default_rng(0)
    m = rng.random((5, 6, 7)) < 0.4
    dt, gt = m[:3], m[3:]
    flags = [0, 1]
    theirs = np.asarray(M.iou(_coco(dt), _coco(gt), flags))
    dense_dt, dense_gt = torch.from_numpy(dt).to(device), torch.from_numpy(gt).to(device)
    rle_dt, rle_gt = rle_encode(dense_dt), rle_encode(dense_gt)
    for dtype in (torch.bool, torch.uint8, torch.int32, torch.int64, torch.float32,
                  torch.float64):
        crowd = T(flags, device).to(dtype)
        np.testing.assert_array_equal(rle_iou(rle_dt, rle_gt, crowd).cpu().numpy(), theirs)
        np.testing.assert_array_equal(mask_iou(dense_dt, dense_gt, crowd).cpu().numpy(), theirs)
        pd, pg = T([0, 1, 2, 2], device), T([1, 1, 0, 1], device)
        pairs = rle_iou_pairs(rle_dt, rle_gt, pd, pg, crowd[pg])
        np.testing.assert_array_equal(pairs.cpu().numpy(),
                                      theirs[pd.cpu().numpy(), pg.cpu().numpy()])
    boxes_dt = rng.uniform(0, 10, (4, 4))
    boxes_gt = rng.uniform(0, 10, (3, 4))
    box_flags = [1, 0, 1]
    theirs = np.asarray(M.iou(boxes_dt.tolist(), boxes_gt.tolist(), box_flags))
    bd, bg = torch.from_numpy(boxes_dt).to(device), torch.from_numpy(boxes_gt).to(device)
    for dtype in (torch.bool, torch.uint8, torch.int64, torch.float16, torch.float32):
        crowd = T(box_flags, device).to(dtype)
        np.testing.assert_array_equal(coco_box_iou(bd, bg, crowd).cpu().numpy(), theirs)
        pd, pg = T([0, 3, 2], device), T([2, 0, 1], device)
        pairs = coco_box_iou_pairs(bd[pd], bg[pg], crowd[pg])
        np.testing.assert_array_equal(pairs.cpu().numpy(),
                                      theirs[pd.cpu().numpy(), pg.cpu().numpy()])


MIXED = [
    (torch.float32, torch.int64),
    (torch.int64, torch.float32),
    (torch.float64, torch.int32),
    (torch.float32, torch.float64),
    (torch.float64, torch.float32),
    (torch.uint8, torch.int16),  # areas of 16 x 16 and more wrapped in uint8
]


@pytest.mark.parametrize(("dtype1", "dtype2"), MIXED, ids=[f"{a}-{b}" for a, b in MIXED])
def test_boxes_of_two_dtypes_compute_in_the_promoted_dtype(
    dtype1: torch.dtype, dtype2: torch.dtype, device: str
) -> None:
    """Float and integer boxes together gave a raw torch error ("result type Float can't
    be cast to the desired output type Long"); float32 with float64 rounded the union to
    float32; uint8 with int16 wrapped the uint8 boxes' areas. Both inputs now go to their
    promoted dtype first: the numbers of the same boxes given in that dtype, and
    pycocotools' for float64."""
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0, 30, (5, 4)), rng.uniform(0, 30, (3, 4))
    a[:, 2:] += 16  # w * h >= 256
    b[:, 2:] += 16
    if not (dtype1.is_floating_point and dtype2.is_floating_point):
        a, b = a.round(), b.round()  # what integer boxes can hold
    one, two = torch.from_numpy(a).to(device, dtype1), torch.from_numpy(b).to(device, dtype2)
    both = torch.promote_types(dtype1, dtype2)
    want_dtype = both if both.is_floating_point else torch.get_default_dtype()
    crowd = T([True, False, True], device)
    pd, pg = T([0, 4, 2], device), T([2, 0, 1], device)
    calls: list[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = [
        lambda x, y: box_iou(x, y),
        lambda x, y: box_iou(x, y, "cxcywh"),
        lambda x, y: coco_box_iou(x, y, crowd),
        lambda x, y: coco_box_iou_pairs(x[pd], y[pg], crowd[pg]),
    ]
    for call in calls:
        got = call(one, two)
        want = call(one.to(both), two.to(both))
        assert got.dtype == want.dtype == want_dtype
        assert torch.equal(got, want)
    if both == torch.float64:
        theirs = np.asarray(M.iou(one.double().cpu().tolist(), two.double().cpu().tolist(),
                                  [1, 0, 1]))
        np.testing.assert_array_equal(coco_box_iou(one, two, crowd).cpu().numpy(), theirs)
    # one dtype: as before (integer boxes give the default float dtype)
    same = torch.from_numpy(a).to(device, dtype2)
    assert coco_box_iou(same, same).dtype == (
        dtype2 if dtype2.is_floating_point else torch.get_default_dtype()
    )


def test_integer_and_float_masks_encode_as_pycocotools(device: str) -> None:
    """uint8 0 / 255 masks (as read from image files): nonzero is set, as pycocotools'
    encode of the same uint8 array; float 0 / 1 masks are the bool masks."""
    rng = np.random.default_rng(1)
    m = rng.random((3, 5, 4)) < 0.5
    theirs = _coco(m * 255)
    as_255 = torch.from_numpy(m.astype(np.uint8) * 255).to(device)
    assert rle_to_strings(rle_encode(as_255).to("cpu")) == [o["counts"] for o in theirs]
    as_float = torch.from_numpy(m.astype(np.float32)).to(device)
    reference = rle_encode(torch.from_numpy(m).to(device))
    for x, y in zip(rle_encode(as_float), reference, strict=True):
        assert torch.equal(x, y)
    dense = torch.from_numpy(m).to(device)
    np.testing.assert_array_equal(mask_iou(as_float, as_255).cpu().numpy(),
                                  mask_iou(dense, dense).cpu().numpy())


def test_empty_inputs_keep_their_shapes(device: str) -> None:
    z = torch.zeros(0, dtype=torch.int64, device=device)
    empty = Rle(z, torch.zeros(1, dtype=torch.int64, device=device), z, z)
    assert rle_area(empty).shape == (0,)
    assert rle_iou(empty, GOOD(device), T([0, 1, 0], device)).shape == (0, 3)
    assert rle_iou_pairs(GOOD(device), GOOD(device), z, z, z.bool()).shape == (0,)
    assert rle_from_strings([], [], [], device).num_masks == 0
    pts = torch.zeros(0, 2, dtype=torch.float64, device=device)
    assert rle_from_polygons(pts, T([0], device), z, z).num_masks == 0
    assert rle_from_polygons(pts, T([0], device), z, z, z, 2).num_masks == 2
    assert rle_from_boxes(torch.zeros(0, 4, device=device), z, z).num_masks == 0
    no_boxes = torch.zeros(0, 4, dtype=torch.float64, device=device)
    assert coco_box_iou_pairs(no_boxes, no_boxes, z).shape == (0,)
    assert coco_box_iou(no_boxes, torch.zeros(2, 4, dtype=torch.float64, device=device),
                        T([0, 1], device)).shape == (0, 2)
    assert mask_iou(torch.zeros(0, 2, 2, device=device), MASKS(device).float(),
                    T([0, 0, 1], device)).shape == (0, 3)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int16, torch.int32])
def test_integer_boxes_compute_in_int64(dtype):
    """Areas past the dtype (20 x 20 = 400 in uint8) wrapped before; torchvision upcasts."""
    a = torch.tensor([[0, 0, 20, 20]], dtype=dtype)
    b = torch.tensor([[0, 0, 20, 10]], dtype=dtype)
    assert box_iou(a, b).tolist() == [[0.5]]
    assert coco_box_iou(a, b).tolist() == [[0.5]]
    assert coco_box_iou_pairs(a, b, torch.tensor([False])).tolist() == [0.5]
    big = torch.tensor([[0, 0, 50000, 50000]], dtype=torch.int32)  # area 2.5e9 > 2**31
    if dtype == torch.int32:
        assert box_iou(big, big, "xywh").tolist() == [[1.0]]
