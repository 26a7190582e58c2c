"""The C loops of the RLE mask kernels (``kernels/_native/masks.c``) against numba's.

Every function of :mod:`assay.kernels._native_kernels` runs next to its namesake in
:mod:`assay.kernels._numba_kernels` on the same seeded inputs (each call on its own
copies of every array) and must leave every array bit for bit as numba's does: the
results (floats compared as bytes), the untouched items outside ``[lo, hi)`` (outputs
start filled with a sentinel) and the inputs. Ranges: the whole batch, a part of it
and an empty one. Inputs are the hard cases of ``test_masks_numba.py``: empty and
0-pixel masks, masks of fewer than two runs or without a set pixel, non-canonical runs
(zero counts), counts above 2**31, rleIou's early stop, runs of unequal totals and
negative runs (the unchecked core), crowd pairs, pairs of different sizes; polygons
outside the image, degenerate, with half-pixel, integer and on-rounding-boundary
vertices, multi-ring groups; valid and invalid compressed strings (values of more than
12 characters, counts of 2**32 and more, random characters). The public functions
through both loops are tested in ``test_masks_numba.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from assay.kernels._native import library
from oracles import (
    MASK_KINDS,
    ZOO_EXTRAS,
    hard_ring,
    mask_zoo,
    random_runs,
    rle_string,
    zoo_mask,
)

if library("_native_masks") is None:
    pytest.skip("the C mask loops are not built", allow_module_level=True)
pytest.importorskip("numba")

from assay.kernels import _native_kernels as C
from assay.kernels import _numba_kernels as N

_SENTINEL = -0x5A5A5A5A5A5A5A5B  # int64 fill of outputs (a NaN's bits for float64)


def _filled(shape: int | tuple[int, ...], dtype: Any = np.int64) -> np.ndarray:
    out = np.empty(shape, dtype=dtype)
    out.view(np.uint8)[:] = 0xA5
    return out


def _same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape, what
    bits_a, bits_b = a.reshape(-1).view(np.uint8), b.reshape(-1).view(np.uint8)
    if not np.array_equal(bits_a, bits_b):
        item = a.itemsize * int(np.prod(a.shape[1:]))
        rows = np.unique(np.flatnonzero(bits_a != bits_b) // max(item, 1))[:5]
        raise AssertionError(f"{what}: C != numba at rows {rows}: {a[rows]} vs {b[rows]}")


def _both(name: str, *args: Any, scratch: Sequence[int] = ()) -> list[Any]:
    """``name(*args)`` in C and in numba on copies; every array but ``scratch`` must end
    equal. Returns numba's copies of the arguments."""
    ours = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    theirs = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    getattr(C, name)(*ours)
    getattr(N, name)(*theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if isinstance(a, np.ndarray) and i not in scratch:
            _same(a, b, f"{name} argument {i}")
    return theirs


def _ranges(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """None, a part not touching either end (when there is one), then the whole batch."""
    lo = int(rng.integers(1, max(n // 3, 1) + 1)) if n > 2 else 0
    hi = int(rng.integers(max(lo, 2 * n // 3), n)) if n > 2 else n
    return [(n // 2, n // 2), (lo, hi), (0, n)]


def _offsets(lengths: Sequence[int] | np.ndarray) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.asarray(lengths, dtype=np.int64), out=out[1:])
    return out


# ---------------------------------------------------------------------- mask inputs


SIZES = [(1, 1), (1, 7), (7, 1), (3, 4), (4, 3), (5, 5), (2, 9), (9, 13), (40, 30), (64, 48)]


def _mask(rng: np.random.Generator, kind: str, h: int, w: int) -> list[int]:
    return zoo_mask(rng, kind, h, w, cuts=40)


def _zoo(rng: np.random.Generator, num: int) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """``num`` masks of every kind and size, plus 0-pixel masks and counts above 2**31."""
    big = [([3 * 10**9, 5, 49 * 10**8 - 3 * 10**9 - 5], (70_000, 70_000))]  # counts > 2**31
    return mask_zoo(rng, num, SIZES, cuts=40, extras=[*ZOO_EXTRAS, *big])


def _pack(counts: list[list[int]], hw: list[tuple[int, int]]) -> list[np.ndarray]:
    """``(counts, offsets, height, width)`` int64 arrays."""
    flat = np.array([c for cs in counts for c in cs], dtype=np.int64)
    return [
        flat,
        _offsets([len(c) for c in counts]),
        np.array([h for h, _ in hw], dtype=np.int64).reshape(-1),
        np.array([w for _, w in hw], dtype=np.int64).reshape(-1),
    ]


def _boxes(rle: list[np.ndarray]) -> np.ndarray:
    out = np.empty((rle[2].shape[0], 4))
    N.box_range(*rle, 0, rle[2].shape[0], out)
    return out


# ------------------------------------------------------------------ boxes, areas, copies


def test_box_area_and_copy_equal_numba() -> None:
    rng = np.random.default_rng(0)
    counts, hw = _zoo(rng, 800)
    # runs of unequal totals and negative runs (the unchecked core's invalid masks)
    counts += [[*random_runs(rng, 20, 12), int(rng.integers(-5, 6))] for _ in range(50)]
    counts += [[int(rng.integers(-25, 0)), *random_runs(rng, 30, 12)] for _ in range(50)]
    counts += [[3, -2, 4, 5, -1, 6], [0, -4, 8], [-3, 5], [-3, 5], [-5, 2, 1, 3], [4, -9, 0, 7]]
    hw += [(4, 5)] * 50 + [(5, 6)] * 50 + [(3, 5), (2, 2), (1, 2), (2, 2), (3, 3), (4, 3)]
    rle = _pack(counts, hw)
    n = len(counts)
    boxes = np.empty((0, 4))
    for lo, hi in _ranges(rng, n):
        boxes = _both("box_range", *rle, lo, hi, _filled((n, 4), np.float64))[-1]
        _both("area_range", *rle[:2], lo, hi, _filled(n))
    # the hard cases occurred: wrap-around widths, zero boxes, full-height boxes
    assert (boxes[:, 2] > 2**31).any() and (boxes == 0).all(1).any()
    assert (boxes[:, 3] == rle[2]).any() and (rle[0] > 2**31).any()
    # copies of ragged ranges (empty ones too), into a larger array
    lengths = np.diff(rle[1])
    order = rng.permutation(n)
    out_offsets = _offsets(lengths[order])[:-1] + 3
    for lo, hi in _ranges(rng, n):
        out = _filled(int(lengths.sum()) + 5)
        _both("copy_ranges", rle[0], rle[1][:-1][order], lengths[order], out_offsets, lo, hi, out)


# ---------------------------------------------------------------------------- IoU


def _iou_case(
    rng: np.random.Generator, dt: list[np.ndarray], gt: list[np.ndarray], num: int
) -> list[Any]:
    pd = rng.integers(0, dt[2].shape[0], num)
    pg = rng.integers(0, gt[2].shape[0], num)
    crowd = rng.random(num) < 0.3
    return [*dt, _boxes(dt), *gt, _boxes(gt), pd, pg, crowd]


def _iou_both(rng: np.random.Generator, args: list[Any]) -> np.ndarray:
    num = args[10].shape[0]
    out = np.empty(0)
    for lo, hi in _ranges(rng, num):
        out = _both("iou_pairs_range", *args, lo, hi, _filled(num, np.float64))[-1]
    return out


def test_iou_pairs_equal_numba() -> None:
    rng = np.random.default_rng(1)
    dt, gt = _pack(*_zoo(rng, 300)), _pack(*_zoo(rng, 250))
    out = _iou_both(rng, _iou_case(rng, dt, gt, 200_000))
    # every branch: different sizes (-1), no overlap (0), partial, equal
    assert (out == -1).any() and (out == 0).any() and (out == 1).any()
    assert ((out > 0) & (out < 1)).sum() > 1000


def test_iou_pairs_early_stop_unequal_totals_and_negative_runs_equal_numba() -> None:
    """Zero-length runs at one position on both sides (rleIou's early stop), runs that
    do not add up to h * w (maskApi would loop forever), negative runs."""
    rng = np.random.default_rng(2)
    sizes = [(1, 1), (1, 2), (2, 2), (2, 3), (3, 1)]

    def masks(num: int) -> list[np.ndarray]:
        hw = [sizes[int(i)] for i in rng.integers(0, len(sizes), num)]
        counts = [random_runs(rng, h * w) for h, w in hw]
        for i in range(0, num, 7):  # unequal totals
            counts[i] = [*counts[i], int(rng.integers(1, 4))]
        for i in range(3, num, 11):  # negative runs (still adding up)
            counts[i] = [*counts[i], -2, 0, 2] if len(counts[i]) % 2 else [0, 5, -5, *counts[i]]
        return _pack(counts, hw)

    dt, gt = masks(400), masks(300)
    out = _iou_both(rng, _iou_case(rng, dt, gt, 60_000))
    assert ((out > 0) & (out < 1)).any() and (out == 1).any() and (out == -1).any()
    assert np.isfinite(out).all()


# ------------------------------------------------------------------------- polygons


_ring = hard_ring


def _rings(rng: np.random.Generator, num: int) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    rings, hw = [], []
    for i in range(num):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        if i % 50 == 0:
            h, w = (1, w) if i % 100 == 0 else (h, 1)
        rings.append(_ring(rng, h, w, i % 10))
        hw.append((h, w))
    for pts, size in [  # no vertex, one, two; 0-pixel images; a large image; far outside
        (np.zeros((0, 2)), (5, 6)),
        (np.array([[2.0, 2.0]]), (5, 6)),
        (np.array([[0.2, 0.7], [4.6, 3.3]]), (5, 6)),
        (np.array([[1.0, 1.0], [3.0, 1.0], [3.0, 3.0]]), (0, 5)),
        (np.array([[1.0, 1.0], [3.0, 1.0], [3.0, 3.0]]), (5, 0)),
        (np.array([[1.0, 1.0], [3.0, 1.0], [3.0, 3.0]]), (0, 0)),
        (np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]), (10, 10)),
        (rng.uniform(0, 2000, (50, 2)), (1500, 1700)),
        (np.array([[-500.0, 2.0], [9.0, 3.5], [4.0, 900.0], [3000.5, -2000.0]]), (10, 12)),
        (np.array([[-4e8, -4e8], [4e8, 3.0], [2.0, 4e8]]), (7, 9)),
        (np.array([[1.0, 1.0], [8.3, 2.0], [4.0, 7.5], [0.5, 6.0]]), (-4, 9)),  # refused
        (np.array([[1.0, 1.0], [8.3, 2.0], [4.0, 7.5]]), (6, -2)),  # by the callers
    ]:
        pos = int(rng.integers(0, len(rings) + 1))
        rings.insert(pos, pts)
        hw.insert(pos, size)
    return rings, hw


def _poly_args(rings: list[np.ndarray], hw: list[tuple[int, int]]) -> list[np.ndarray]:
    """``(xy, ring_offsets, height, width)``."""
    xy = np.ascontiguousarray(np.concatenate([r.reshape(-1, 2) for r in rings]), np.float64)
    return [xy, _offsets([len(r) for r in rings]), *_pack([[]] * len(hw), hw)[2:]]


def _rasterised(rng: np.random.Generator, args: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Both loops' ``polygon_bound_range`` and ``polygon_range`` over every range;
    returns numba's ``(cap, counts buffer, num_counts)``."""
    xy, ro, h, w = args
    num = h.shape[0]
    for lo, hi in _ranges(rng, num):
        _both("polygon_bound_range", xy, ro, w, lo, hi, _filled(num), _filled(num))
    bound, span = np.empty(num, np.int64), np.empty(num, np.int64)
    N.polygon_bound_range(xy, ro, w, 0, num, bound, span)
    cap = _offsets(bound)
    size, hist = int(bound.max()), int(span.max()) + 1
    res: list[Any] = []
    for lo, hi in _ranges(rng, num):
        scratch = [_filled(size), _filled(size), _filled(hist)]
        res = _both(
            "polygon_range",
            *args[:4],
            lo,
            hi,
            cap,
            _filled(int(cap[-1])),
            _filled(num),
            *scratch,
            scratch=(9, 10, 11),
        )
    return cap, res[7], res[8]


def test_polygons_equal_numba() -> None:
    rng = np.random.default_rng(4)
    rings, hw = _rings(rng, 3000)
    num_counts = _rasterised(rng, _poly_args(rings, hw))[2]
    assert (num_counts > 10).sum() > 300 and (num_counts == 1).any()  # the cases occurred


# ---------------------------------------------------------------------------- union


def _union_args(rle: list[np.ndarray], members: list[int]) -> list[Any]:
    """``union_range``'s arguments for groups of ``members`` consecutive masks each (as
    ``_compiled._union`` builds them); the group's size is its first mask's."""
    c, o, h, w = rle
    member_offsets = _offsets(members)
    first = member_offsets[:-1]
    runs = np.diff(o)
    group_runs = np.add.reduceat(runs, first) if len(members) else np.zeros(0, np.int64)
    cap = _offsets(group_runs + 2)
    total = (h * w)[first]
    return [
        c,
        o[:-1].copy(),
        o[1:].copy(),
        total,
        first.copy(),
        member_offsets[1:].copy(),
        cap,
        int(group_runs.max()) + 2 if len(members) else 1,
    ]


def _union_both(rng: np.random.Generator, args: list[Any]) -> np.ndarray:
    c, rs, re, total, ms, me, cap, size = args
    k = total.shape[0]
    res: list[Any] = []
    for lo, hi in _ranges(rng, k):
        res = _both(
            "union_range",
            c,
            rs,
            re,
            total,
            ms,
            me,
            lo,
            hi,
            cap,
            _filled(int(cap[-1])),
            _filled(k),
            _filled(size),
            _filled(size),
            scratch=(11, 12),
        )
    return np.asarray(res[10])


def test_union_of_masks_equals_numba() -> None:
    """Groups of 2-8 masks of one size, and groups of 40-300 masks (many sorted runs
    to merge, equal starts across masks: masks repeated)."""
    rng = np.random.default_rng(6)
    counts, hw, members = [], [], []
    for g in range(400):
        num = int(rng.integers(2, 9)) if g % 50 else int(rng.integers(40, 300))
        h, w = SIZES[int(rng.integers(len(SIZES)))]
        kinds = (MASK_KINDS[int(rng.integers(len(MASK_KINDS)))] for _ in range(num))
        group = [_mask(rng, kind, h, w) for kind in kinds]
        if g % 3 == 0:  # repeated masks: equal starts
            group = [group[int(i)] for i in rng.integers(0, max(num // 2, 1), num)]
        counts += group
        hw += [(h, w)] * num
        members.append(num)
    num_out = _union_both(rng, _union_args(_pack(counts, hw), members))
    assert (num_out > 20).sum() > 10 and (num_out == 1).any()


def test_union_of_invalid_runs_equals_numba() -> None:
    """Negative runs (starts out of order within a mask, negative ends) and unequal
    totals: the C sort is stable, so even here it gives numba's mergesort order."""
    rng = np.random.default_rng(7)
    counts, hw, members = [], [], []
    for _ in range(300):
        num = int(rng.integers(2, 7))
        for _ in range(num):
            c = random_runs(rng, 30, 12)
            at = rng.integers(0, len(c), int(rng.integers(0, 3)))
            for i in at:
                c[int(i)] = int(rng.integers(-12, 3))
            counts.append(c)
            hw.append((5, 6))
        members.append(num)
    _union_both(rng, _union_args(_pack(counts, hw), members))


def test_union_of_multi_ring_polygon_groups_equals_numba() -> None:
    """COCO's annToRLE: each annotation's rings rasterised, then united."""
    rng = np.random.default_rng(8)
    rings, hw, members = [], [], []
    for _ in range(500):
        h, w = (int(v) for v in rng.integers(1, 80, 2))
        num = int(rng.integers(2, 5))
        rings += [_ring(rng, h, w, int(k)) for k in rng.integers(0, 10, num)]
        hw += [(h, w)] * num
        members.append(num)
    args = _poly_args(rings, hw)
    cap, buf, num_counts = _rasterised(rng, args)
    c = np.empty(int(num_counts.sum()), np.int64)
    o = _offsets(num_counts)
    N.copy_ranges(buf, cap[:-1].copy(), num_counts, o, 0, num_counts.shape[0], c)
    num_out = _union_both(rng, _union_args([c, o, args[2], args[3]], members))
    assert (num_out > 3).sum() > 100


# -------------------------------------------------------------------------- strings


def _to_string(counts: Sequence[int]) -> bytes:
    return rle_string(counts).encode()


BAD_STRINGS = [
    b"5 2",  # a character below '0'
    b"5p",  # above 'o'
    b"52~3",
    b"52203P",  # ends inside a value (continuation bit)
    b"5" + b"o" * 12 + b"0",  # a value of 13 characters
    b"0" + b"o" * 13,  # ... and one that also ends inside a value
    b"1" + b"_" * 11 + b"0",  # 12 characters, continuation and sign bits
    b"O",  # -1: a negative first count
    b"5@",  # a negative second count
    b"5\xff2",  # a byte outside ASCII
    _to_string([3, 2**32, 1]),  # a count of 2**32
    _to_string([3, 2**32 - 10, 5, 2**32 + 1]),  # 2**32 + 1 through a small difference
    _to_string([1, 2, 3, 4, 0, -1]),  # negative through a difference
    _to_string([2**59, 2**59, 2**59, 2**59, 2**59 + 2**58] * 4),  # sums past 2**63
]


def _strings(rng: np.random.Generator) -> list[bytes]:
    counts, _ = _zoo(rng, 300)
    strings = [_to_string(c) for c in counts]
    strings += [_to_string(rng.integers(0, 2**k, 9).tolist()) for k in range(1, 64, 3)]
    strings += [_to_string([0, 2**32 - 1, 5]), b"", b""]
    strings += BAD_STRINGS * 3
    for _ in range(400):  # random characters: long values, huge sums, bad bytes
        n = int(rng.integers(0, 40))
        pool = (48, 112) if rng.random() < 0.8 else (0, 256)
        strings.append(bytes(rng.integers(*pool, n).astype(np.uint8).tolist()))
    for _ in range(100):  # valid characters, a final value that ends
        n = int(rng.integers(1, 30))
        body = rng.integers(48, 112, n)
        body[-1] = rng.integers(48, 80)
        strings.append(bytes(body.astype(np.uint8).tolist()))
    return [strings[int(i)] for i in rng.permutation(len(strings))]


def test_strings_equal_numba() -> None:
    rng = np.random.default_rng(9)
    strings = _strings(rng)
    n = len(strings)
    buf = np.frombuffer(b"".join(strings), dtype=np.uint8).copy()
    ends = np.cumsum([len(s) for s in strings], dtype=np.int64)
    for lo, hi in _ranges(rng, n):
        _both("string_runs_range", buf, ends, lo, hi, _filled(n), _filled(n, np.bool_))
    runs, bad = np.empty(n, np.int64), np.empty(n, np.bool_)
    N.string_runs_range(buf, ends, 0, n, runs, bad)
    offsets = _offsets(runs)
    last = np.empty(0, np.bool_)
    for lo, hi in _ranges(rng, n):
        last = _both(
            "decode_strings_range", buf, ends, offsets, lo, hi, _filled(int(offsets[-1])), bad
        )[-1]
    # every kind occurred: bad characters, bad values, good strings
    assert bad.sum() > 100 and (last & ~bad).sum() > 100 and (~last).sum() > 300


# --------------------------------------------------------------------------- guards


def test_pointer_refuses_wrong_dtypes_and_strided_arrays() -> None:
    counts, offsets = np.array([1, 2, 3], np.int64), np.array([0, 3], np.int64)
    out = np.zeros(1, np.int64)
    with pytest.raises(TypeError, match="C-contiguous int64 array for the C loop, but got int32"):
        C.area_range(counts.astype(np.int32), offsets, 0, 1, out)
    with pytest.raises(TypeError, match=r"but got int64 \(not contiguous\)"):
        C.area_range(np.arange(6)[::2], offsets, 0, 1, out)
    boxes = np.zeros((1, 4))
    with pytest.raises(TypeError, match="float64 array for the C loop, but got float32"):
        C.box_range(counts, offsets, offsets[1:], offsets[1:], 0, 1, boxes.astype(np.float32))
    strings, ends = np.frombuffer(b"52203", np.uint8), np.array([5], np.int64)
    with pytest.raises(TypeError, match="bool array for the C loop, but got uint8"):
        C.string_runs_range(strings, ends, 0, 1, out, np.zeros(1, np.uint8))
    with pytest.raises(TypeError, match="uint8 array for the C loop, but got int8"):
        C.string_runs_range(strings.view(np.int8), ends, 0, 1, out, np.zeros(1, np.bool_))
    C.area_range(counts, offsets, 0, 1, out)
    assert out.tolist() == [2]
