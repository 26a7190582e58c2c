"""The compiled CPU paths (C, numba) of the RLE mask kernels against the eager torch paths.

The torch paths are the reference (tested bit-identical to pycocotools in
``test_masks.py``). Here every public function that has a compiled path runs twice
on the same seeded inputs, once with the size minimums of :mod:`assay.kernels._compiled`
set to 0 (compiled: the C loops and numba's, each in turn) and once with
``ASSAY_COMPILED=0`` (torch); the results must be
bit-identical. A spy on each ``_compiled`` wrapper checks that the compiled path really
ran (and that the torch run did not touch it). Inputs are the hard cases: empty, full,
border-touching, 1 x N / N x 1 and 0-pixel masks, non-canonical runs, masks of fewer
than two runs or without a set pixel (pycocotools' wrap-around boxes), rleIou's early
stop, pairs of different sizes, crowd pairs, polygons outside the image / degenerate /
on rounding boundaries, invalid compressed strings; pycocotools is checked directly on
the compiled path for IoU, boxes, polygons and merge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import torch
from assay.kernels import (
    Rle,
    RleStringError,
    rle_area,
    rle_cat,
    rle_compiled_loops,
    rle_from_polygons,
    rle_from_strings,
    rle_iou,
    rle_iou_pairs,
    rle_merge,
    rle_select,
    rle_to_box,
    rle_to_strings,
)
from assay.kernels import _compiled as NB
from assay.kernels.masks import _rle_iou_pairs
from oracles import (
    MASK_KINDS,
    canonical_runs,
    hard_ring,
    mask_zoo,
    random_runs,
    rle_string,
    use_cpu_path,
    zoo_mask,
)

M = pytest.importorskip("pycocotools.mask")


# ------------------------------------------------------------------- the two paths


class _Spy:
    """Counts calls of one ``_compiled`` wrapper and how many returned a result."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.calls = 0
        self.hits = 0
        inner = getattr(NB, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            out = inner(*args, **kwargs)
            self.hits += out is not None
            return out

        monkeypatch.setattr(NB, name, wrapper)


class _Paths:
    """Runs a call on the compiled path, then on the torch path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.mp = monkeypatch
        self.spies: dict[str, _Spy] = {}

    def spy(self, name: str) -> _Spy:
        if name not in self.spies:
            self.spies[name] = _Spy(self.mp, name)
        return self.spies[name]

    @contextmanager
    def torch_path(self, name: str) -> Iterator[None]:
        spy = self.spy(name)
        calls = spy.calls
        self.mp.setenv("ASSAY_COMPILED", "0")
        try:
            yield
        finally:
            self.mp.setenv("ASSAY_COMPILED", "1")
        assert spy.calls == calls, f"ASSAY_COMPILED=0 still called _compiled.{name}"

    @contextmanager
    def compiled_path(self, name: str, expect: str = "hit") -> Iterator[None]:
        """``expect``: "hit" (compiled result used), "fallback" (called, gave None),
        "skip" (not called), "any"."""
        spy = self.spy(name)
        calls, hits = spy.calls, spy.hits
        yield
        called, hit = spy.calls > calls, spy.hits > hits
        if expect == "hit":
            assert hit, f"the compiled path of _compiled.{name} was not taken"
        elif expect == "fallback":
            assert called and not hit, f"_compiled.{name} did not fall back (called={called})"
        elif expect == "skip":
            assert not called, f"_compiled.{name} was called"

    def both(self, name: str, fn: Callable[[], Any], expect: str = "hit") -> tuple[Any, Any]:
        with self.compiled_path(name, expect):
            got = fn()
        with self.torch_path(name):
            ref = fn()
        return got, ref

    def both_raise(
        self, name: str, fn: Callable[[], Any], exc: type[Exception], expect: str = "hit"
    ) -> tuple[Any, Any]:
        with self.compiled_path(name, expect), pytest.raises(exc) as got:
            fn()
        with self.torch_path(name), pytest.raises(exc) as ref:
            fn()
        return got.value, ref.value


@pytest.fixture(params=["native", "numba"])
def paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> _Paths:
    """Compiled paths (the C loops, or numba's) for any batch size (minimums 0)."""
    use_cpu_path(request.param, monkeypatch)
    return _Paths(monkeypatch)


@contextmanager
def _threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _same_rle(a: Rle, b: Rle) -> None:
    for name, x, y in zip(Rle._fields, a, b, strict=True):
        assert x.dtype == y.dtype == torch.int64, (name, x.dtype, y.dtype)
        assert x.device.type == y.device.type == "cpu", name
        assert torch.equal(x, y), (name, x, y)


def _same_float(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.dtype == b.dtype == torch.float64 and a.shape == b.shape, (a, b)
    bits_a, bits_b = a.contiguous().view(torch.int64), b.contiguous().view(torch.int64)
    if not torch.equal(bits_a, bits_b):
        bad = torch.nonzero(bits_a != bits_b)[:5].tolist()
        raise AssertionError(f"compiled != torch at {bad}: {a[bits_a != bits_b][:5]} vs "
                             f"{b[bits_a != bits_b][:5]}")


# ---------------------------------------------------------------------- mask inputs


def _pixels(counts: list[int]) -> np.ndarray:
    """Column-major pixels of run lengths."""
    return np.repeat(np.arange(len(counts)) % 2 == 1, counts)


def _recoded(counts: list[list[int]], hw: list[tuple[int, int]]) -> Rle:
    """The same masks with canonical runs."""
    pixels = [_pixels(c).reshape(w, h).T for c, (h, w) in zip(counts, hw, strict=True)]
    return _rle([canonical_runs(m) for m in pixels], hw)


SIZES = [(1, 1), (1, 7), (7, 1), (3, 4), (4, 3), (5, 5), (2, 9), (9, 13)]


def _zoo(rng: np.random.Generator, num: int) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """``num`` masks of every kind and a few sizes, plus 0-pixel and huge masks."""
    return mask_zoo(rng, num, SIZES)


def _rle(counts: list[list[int]], hw: list[tuple[int, int]]) -> Rle:
    flat = [c for cs in counts for c in cs]
    return Rle(
        torch.tensor(flat, dtype=torch.int64),
        torch.tensor(np.concatenate(([0], np.cumsum([len(c) for c in counts]))), dtype=torch.int64),
        torch.tensor([h for h, _ in hw], dtype=torch.int64),
        torch.tensor([w for _, w in hw], dtype=torch.int64),
    )


def _coco_objs(counts: list[list[int]], hw: list[tuple[int, int]]) -> tuple[list[int], list[Any]]:
    """pycocotools RLEs of the masks it can take (pixels > 0, runs > 0): indexes, objects."""
    keep = [i for i, (c, (h, w)) in enumerate(zip(counts, hw, strict=True)) if h * w and c]
    objs = [M.frPyObjects({"counts": counts[i], "size": list(hw[i])}, *hw[i]) for i in keep]
    return keep, objs


# ----------------------------------------------------------------- area / box


def test_area_and_box_equal_torch_and_pycocotools(paths: _Paths) -> None:
    rng = np.random.default_rng(0)
    counts, hw = _zoo(rng, 300)
    rle = _rle(counts, hw)
    got, ref = paths.both("areas", lambda: rle_area(rle))
    assert got.dtype == ref.dtype == torch.int64 and torch.equal(got, ref)
    assert got.tolist() == [sum(c[1::2]) for c in counts]
    got_box, ref_box = paths.both("boxes", lambda: rle_to_box(rle))
    _same_float(got_box, ref_box)
    keep, objs = _coco_objs(counts, hw)
    np.testing.assert_array_equal(got_box[keep].numpy(), M.toBbox(objs))
    # the hard cases occurred: wrap-around boxes, zero boxes, full-height boxes
    assert (got_box[:, 2] > 2**31).any() and (got_box == 0).all(1).any()
    assert (got_box[:, 3] == rle.height.double()).any()


def test_area_and_box_of_empty_batch(paths: _Paths) -> None:
    z = torch.zeros(0, dtype=torch.int64)
    rle = Rle(z, torch.zeros(1, dtype=torch.int64), z, z)
    got, ref = paths.both("areas", lambda: rle_area(rle))
    assert got.shape == ref.shape == (0,) and got.dtype == torch.int64
    got, ref = paths.both("boxes", lambda: rle_to_box(rle))
    assert got.shape == ref.shape == (0, 4)
    _same_float(got, ref)


# ------------------------------------------------------------------------------ IoU


def test_iou_matrix_equals_torch_and_pycocotools(paths: _Paths) -> None:
    rng = np.random.default_rng(1)
    dt_c, dt_hw = _zoo(rng, 70)
    gt_c, gt_hw = _zoo(rng, 53)
    dt, gt = _rle(dt_c, dt_hw), _rle(gt_c, gt_hw)
    crowd = torch.from_numpy(rng.random(gt.num_masks) < 0.3)
    got, ref = paths.both("iou_pairs", lambda: rle_iou(dt, gt, crowd))
    _same_float(got, ref)
    d_keep, d_objs = _coco_objs(dt_c, dt_hw)
    g_keep, g_objs = _coco_objs(gt_c, gt_hw)
    theirs = M.iou(d_objs, g_objs, crowd[g_keep].numpy().astype(np.uint8))
    np.testing.assert_array_equal(got[d_keep][:, g_keep].numpy(), theirs)
    # every branch occurred: different sizes (-1), no box overlap (0), partial, equal
    assert (got == -1).any() and (got == 0).any() and (got == 1).any()
    assert ((got > 0) & (got < 1)).any()
    # crowd changed some values
    no_crowd = rle_iou(dt, gt)
    assert (no_crowd != got)[:, crowd].any()


def test_iou_pairs_random_pairs_and_crowd(paths: _Paths) -> None:
    rng = np.random.default_rng(2)
    dt_c, dt_hw = _zoo(rng, 40)
    gt_c, gt_hw = _zoo(rng, 31)
    dt, gt = _rle(dt_c, dt_hw), _rle(gt_c, gt_hw)
    num = 1001  # not a multiple of any chunking
    pd = torch.from_numpy(rng.integers(0, dt.num_masks, num))
    pg = torch.from_numpy(rng.integers(0, gt.num_masks, num))
    crowd = torch.from_numpy(rng.random(num) < 0.4)
    for c in (crowd, None):
        got, ref = paths.both("iou_pairs", lambda c=c: rle_iou_pairs(dt, gt, pd, pg, c))
        _same_float(got, ref)
    # int32 indexes and a crowd given as ints go through the same conversion
    got, ref = paths.both(
        "iou_pairs", lambda: rle_iou_pairs(dt, gt, pd.int(), pg.int(), crowd.int())
    )
    _same_float(got, ref)


def test_iou_early_stop_like_pycocotools(paths: _Paths) -> None:
    """Zero-length runs at the same position on both sides stop rleIou's merge loop."""
    same = _rle([[0, 0, 0, 1]], [(1, 1)])
    got, ref = paths.both("iou_pairs", lambda: rle_iou(same, same))
    assert got.tolist() == ref.tolist() == [[0.0]]
    rng = np.random.default_rng(3)
    sizes = [(1, 1), (1, 2), (2, 2), (2, 3), (3, 1)]
    dt_hw = [sizes[int(i)] for i in rng.integers(0, len(sizes), 120)]
    gt_hw = [sizes[int(i)] for i in rng.integers(0, len(sizes), 90)]
    dt_c = [random_runs(rng, h * w) for h, w in dt_hw]
    gt_c = [random_runs(rng, h * w) for h, w in gt_hw]
    crowd = torch.from_numpy(rng.random(len(gt_c)) < 0.3)
    dt, gt = _rle(dt_c, dt_hw), _rle(gt_c, gt_hw)
    got, ref = paths.both("iou_pairs", lambda: rle_iou(dt, gt, crowd))
    _same_float(got, ref)
    theirs = M.iou(_coco_objs(dt_c, dt_hw)[1], _coco_objs(gt_c, gt_hw)[1], crowd.numpy())
    np.testing.assert_array_equal(got.numpy(), theirs)
    canonical = rle_iou(_recoded(dt_c, dt_hw), _recoded(gt_c, gt_hw), crowd)
    assert int((canonical != got).sum()) > 20  # the quirk occurred and changed results


@pytest.mark.parametrize("name", ["pair_dt", "pair_gt"])
@pytest.mark.parametrize("bad", [-1, 5])
def test_iou_pairs_out_of_range_index_names_the_argument(
    paths: _Paths, name: str, bad: int
) -> None:
    rle = _rle([[3, 2, 4]] * 5, [(3, 3)] * 5)
    index = {"pair_dt": torch.tensor([0, 1, 2, 3]), "pair_gt": torch.tensor([4, 3, 2, 1])}
    index[name] = index[name].clone()
    index[name][2] = bad
    with paths.compiled_path("iou_pairs", "skip"), pytest.raises(ValueError) as info:
        rle_iou_pairs(rle, rle, index["pair_dt"], index["pair_gt"])
    message = str(info.value)
    assert f"`{name}`" in message and f"{name}[2]" in message and str(bad) in message


@pytest.mark.parametrize("numba_env", ["1", "0"])
def test_iou_pairs_index_past_the_batch_is_refused_on_both_paths(
    paths: _Paths, numba_env: str
) -> None:
    """Index 3 of a 3-mask batch: the torch path concatenates dt and gt, so without
    the check it would silently read ground truth 0."""
    paths.mp.setenv("ASSAY_COMPILED", numba_env)
    rle = _rle([[3, 2, 4]] * 3, [(3, 3)] * 3)
    with pytest.raises(ValueError, match=r"`pair_dt`.*\[0, 3\).*pair_dt\[2\]"):
        rle_iou_pairs(rle, rle, torch.tensor([0, 1, 3]), torch.tensor([0, 0, 0]))


@pytest.mark.parametrize(
    ("pair_dt", "pair_gt", "crowd"),
    [
        ([0, 1, 2], [0, 1], None),  # lengths differ
        ([0, 1], [0, 1], [True]),  # crowd flags shorter than the pairs
        ([[0, 1]], [[0, 1]], None),  # 2-D
    ],
)
@pytest.mark.parametrize("numba_env", ["1", "0"])
def test_iou_pairs_shapes_are_checked_on_both_paths(
    paths: _Paths, numba_env: str, pair_dt: Any, pair_gt: Any, crowd: Any
) -> None:
    paths.mp.setenv("ASSAY_COMPILED", numba_env)
    rle = _rle([[3, 2, 4]] * 3, [(3, 3)] * 3)
    flags = None if crowd is None else torch.tensor(crowd)
    with pytest.raises(ValueError, match=r"`pair_dt`, `pair_gt` and `gt_crowd` to be 1-D"):
        rle_iou_pairs(rle, rle, torch.tensor(pair_dt), torch.tensor(pair_gt), flags)


def test_iou_of_runs_with_unequal_totals_terminates(paths: _Paths) -> None:
    """Runs that do not add up to h * w (not a valid RLE): pycocotools' merge loop never
    ends on such a pair. The public functions refuse them (CPU tensors); the unchecked
    core, for callers that validated their masks at the edge, still stops on them (the
    value is unspecified)."""
    rle = Rle(
        torch.tensor([3, 2, 1, 1, 3, 3, 2, 40, 1, 30]),
        torch.tensor([0, 3, 5, 8, 10]),
        torch.tensor([3, 3, 3, 3]),
        torch.tensor([3, 3, 3, 3]),
    )
    with paths.compiled_path("iou_pairs", "skip"), pytest.raises(
        ValueError, match=r"`dt` run lengths to sum to height \* width = 9, but got 6"
    ):
        rle_iou(rle, rle)
    pd, pg = torch.arange(4).repeat_interleave(4), torch.arange(4).repeat(4)
    with paths.compiled_path("iou_pairs"):
        out = _rle_iou_pairs(rle, rle, pd, pg, torch.zeros(16, dtype=torch.bool))
    assert out.shape == (16,) and bool(out.isfinite().all())


def test_iou_of_empty_batches(paths: _Paths) -> None:
    z = torch.zeros(0, dtype=torch.int64)
    empty = Rle(z, torch.zeros(1, dtype=torch.int64), z, z)
    one = _rle([[3, 2, 4]], [(3, 3)])
    for dt, gt in ((empty, one), (one, empty), (empty, empty)):
        got, ref = paths.both("iou_pairs", lambda dt=dt, gt=gt: rle_iou(dt, gt), expect="any")
        assert got.shape == ref.shape == (dt.num_masks, gt.num_masks)
        _same_float(got, ref)


# ------------------------------------------------------------------------- polygons


_ring = hard_ring


def _poly_tensors(
    rings: list[np.ndarray], hw: list[tuple[int, int]]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    pts = np.concatenate([r.reshape(-1, 2) for r in rings]) if rings else np.zeros((0, 2))
    offsets = np.concatenate(([0], np.cumsum([len(r) for r in rings]))).astype(np.int64)
    return (
        torch.tensor(pts, dtype=torch.float64).reshape(-1, 2),
        torch.from_numpy(offsets),
        torch.tensor([h for h, _ in hw], dtype=torch.int64),
        torch.tensor([w for _, w in hw], dtype=torch.int64),
    )


def test_polygons_equal_torch_on_hard_rings(paths: _Paths) -> None:
    rng = np.random.default_rng(4)
    rings, hw = [], []
    for i in range(600):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        if i % 50 == 0:
            h, w = (1, w) if i % 100 == 0 else (h, 1)
        rings.append(_ring(rng, h, w, i % 10))
        hw.append((h, w))
    # degenerate rings: no vertex, one, two; 0-pixel images; a large image, long edges
    for pts, size in [
        (np.zeros((0, 2)), (5, 6)),
        (np.array([[2.0, 2.0]]), (5, 6)),
        (np.array([[0.2, 0.7], [4.6, 3.3]]), (5, 6)),
        (np.array([[1.0, 1.0], [3.0, 1.0], [3.0, 3.0]]), (0, 5)),
        (np.array([[1.0, 1.0], [3.0, 1.0], [3.0, 3.0]]), (5, 0)),
        (np.array([[1.0, 1.0], [3.0, 1.0], [3.0, 3.0]]), (0, 0)),
        (np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]), (10, 10)),
        (rng.uniform(0, 2000, (50, 2)), (1500, 1700)),
    ]:
        pos = int(rng.integers(0, len(rings) + 1))
        rings.insert(pos, pts)
        hw.insert(pos, size)
    args = _poly_tensors(rings, hw)
    got, ref = paths.both("polygons", lambda: rle_from_polygons(*args))
    _same_rle(got, ref)


def test_polygons_far_outside_equal_torch_and_pycocotools(paths: _Paths) -> None:
    """Vertices far outside the image (whichever path the kernel picks for them)."""
    ring = np.array([[-500.0, 2.0], [9.0, 3.5], [4.0, 900.0], [3000.5, -2000.0]])
    args = _poly_tensors([ring, ring[::-1]], [(10, 12), (10, 12)])
    got, ref = paths.both("polygons", lambda: rle_from_polygons(*args), expect="any")
    _same_rle(got, ref)
    expected = [M.frPyObjects([r.reshape(-1).tolist()], 10, 12)[0]["counts"]
                for r in (ring, ring[::-1])]
    assert rle_to_strings(got) == expected


def _annotations(
    seed: int, num: int, max_size: int
) -> tuple[list[list[np.ndarray]], list[tuple[int, int]], list[np.ndarray], list[tuple[int, int]],
           torch.Tensor]:
    """``num`` annotations of 1-3 rings: per annotation rings and size, then per ring
    the rings, sizes and annotation index."""
    rng = np.random.default_rng(seed)
    anns, sizes = [], []
    for _ in range(num):
        h, w = (int(v) for v in rng.integers(1, max_size, 2))
        kinds = rng.integers(0, 10, int(rng.integers(1, 4)))
        anns.append([_ring(rng, h, w, int(kd)) for kd in kinds])
        sizes.append((h, w))
    rings = [r for a in anns for r in a]
    hw = [s for a, s in zip(anns, sizes, strict=True) for _ in a]
    groups = torch.tensor([i for i, a in enumerate(anns) for _ in a])
    return anns, sizes, rings, hw, groups


def _ann_to_rle(anns: list[list[np.ndarray]], sizes: list[tuple[int, int]]) -> list[Any]:
    """pycocotools' ``COCO.annToRLE`` counts: merge(frPyObjects(rings, h, w))."""
    return [
        M.merge(M.frPyObjects([r.reshape(-1).tolist() for r in a], h, w))["counts"]
        for a, (h, w) in zip(anns, sizes, strict=True)
    ]


def test_polygons_and_merge_equal_pycocotools_ann_to_rle(paths: _Paths) -> None:
    """COCO.annToRLE on the compiled paths: merge(frPyObjects(rings, h, w)) per annotation."""
    anns, sizes, rings, hw, groups = _annotations(5, 160, 60)
    with paths.compiled_path("polygons"), paths.compiled_path("union"):
        ours = rle_merge(rle_from_polygons(*_poly_tensors(rings, hw)), groups, len(anns))
    assert rle_to_strings(ours) == _ann_to_rle(anns, sizes)
    assert ours.height.tolist() == [h for h, _ in sizes]


def test_grouped_polygons_equal_merge_of_rings_and_pycocotools(paths: _Paths) -> None:
    """``rle_from_polygons(..., groups)``: one call, equal to ``rle_merge`` of the rings."""
    anns, sizes, rings, hw, groups = _annotations(15, 120, 50)
    args = _poly_tensors(rings, hw)
    # two trailing groups without rings: pycocotools' empty RLE (0 x 0, no runs)
    got, ref = paths.both(
        "polygons", lambda: rle_from_polygons(*args, groups=groups, num_groups=len(anns) + 2)
    )
    _same_rle(got, ref)
    with paths.torch_path("polygons"), paths.torch_path("union"):
        merged = rle_merge(rle_from_polygons(*args), groups, len(anns) + 2)
    _same_rle(got, merged)
    assert got.height.tolist()[-2:] == [0, 0] and got.lengths.tolist()[-2:] == [0, 0]
    assert rle_to_strings(rle_select(got, torch.arange(len(anns)))) == _ann_to_rle(anns, sizes)


def test_grouped_polygons_unsorted_groups_fall_back(paths: _Paths) -> None:
    rng = np.random.default_rng(16)
    rings = [_ring(rng, 20, 30, k) for k in range(6)]
    args = _poly_tensors(rings, [(20, 30)] * 6)
    groups = torch.tensor([1, 0, 1, 2, 0, 2])
    got, ref = paths.both(
        "polygons", lambda: rle_from_polygons(*args, groups=groups), expect="fallback"
    )
    _same_rle(got, ref)
    assert got.num_masks == 3


@pytest.mark.parametrize("bad", [-1, 3])
def test_grouped_polygons_bad_group_names_it(paths: _Paths, bad: int) -> None:
    rng = np.random.default_rng(17)
    args = _poly_tensors([_ring(rng, 9, 9, k) for k in range(3)], [(9, 9)] * 3)
    with pytest.raises(ValueError, match=r"`groups` to be in \[0, 3\).*groups\[1\]"):
        rle_from_polygons(*args, groups=torch.tensor([0, bad, 2]), num_groups=3)


def test_non_finite_polygon_vertex_is_refused_on_both_paths(paths: _Paths) -> None:
    pts = torch.tensor([[1.0, 1.0], [float("nan"), 3.0], [5.0, 5.0]], dtype=torch.float64)
    for env in ("1", "0"):
        paths.mp.setenv("ASSAY_COMPILED", env)
        with pytest.raises(ValueError, match=r"`points` to be finite.*points\[1\]"):
            rle_from_polygons(pts, torch.tensor([0, 3]), torch.tensor([10]), torch.tensor([12]))


def test_select_equals_torch(paths: _Paths) -> None:
    rng = np.random.default_rng(18)
    counts, hw = _zoo(rng, 60)
    rle = _rle(counts, hw)
    index = torch.from_numpy(rng.integers(0, 60, 200))
    got, ref = paths.both("select", lambda: rle_select(rle, index))
    _same_rle(got, ref)
    got, ref = paths.both("select", lambda: rle_select(rle, torch.zeros(0, dtype=torch.int64)))
    _same_rle(got, ref)
    flags = torch.from_numpy(rng.random(rle.num_masks) < 0.5)
    got, ref = paths.both("select", lambda: rle_select(rle, flags))
    _same_rle(got, ref)


def test_cat_with_index_equals_select_of_cat(paths: _Paths) -> None:
    rng = np.random.default_rng(19)
    parts = [_rle(*_zoo(rng, n)) for n in (7, 0, 30, 12)]
    parts.insert(1, rle_select(parts[0], torch.zeros(0, dtype=torch.int64)))  # no masks
    total = sum(p.num_masks for p in parts)
    index = torch.from_numpy(rng.permutation(total))
    got, ref = paths.both("select", lambda: rle_cat(parts, index))
    _same_rle(got, ref)
    _same_rle(got, rle_select(rle_cat(parts), index))
    repeats = torch.tensor([total - 1, 0, 0, 7, total - 1])
    got, ref = paths.both("select", lambda: rle_cat(parts, repeats))
    _same_rle(got, ref)
    # an index past the concatenation: named, before either path runs
    with pytest.raises(ValueError, match=rf"in \[0, {total}\), but got {total} \(first "
                       r"offending item: index\[1\]\)"):
        rle_cat(parts, torch.tensor([0, total]))


# ---------------------------------------------------------------------------- merge


def _merge_case(rng: np.random.Generator) -> tuple[Rle, list[list[int]], list[int], int]:
    """Masks in groups of 0, 1, 2 and many members, one group of mixed sizes."""
    counts, hw, groups = [], [], []
    num_groups = 60
    for g in range(num_groups):
        members = [0, 1, 2, int(rng.integers(3, 9))][g % 4]
        h, w = SIZES[int(rng.integers(len(SIZES)))]
        for j in range(members):
            kind = MASK_KINDS[int(rng.integers(len(MASK_KINDS)))]
            size = (w, h) if g % 7 == 3 and j == 1 else (h, w)  # mixed sizes: empty 0 x 0
            counts.append(zoo_mask(rng, kind, *size))
            hw.append(size)
            groups.append(g)
    return _rle(counts, hw), counts, groups, num_groups


def test_merge_union_equals_torch(paths: _Paths) -> None:
    rng = np.random.default_rng(6)
    rle, _, groups, k = _merge_case(rng)
    g = torch.tensor(groups)
    got, ref = paths.both("union", lambda: rle_merge(rle, g, k))
    _same_rle(got, ref)
    members = np.bincount(groups, minlength=k)
    assert (got.height[members == 0] == 0).all() and (got.width[members == 0] == 0).all()
    mixed = [q for q in range(k) if q % 7 == 3 and members[q] >= 2]
    assert mixed and (got.height[mixed] == 0).all() and (got.lengths[mixed] == 0).all()
    # unsorted groups: the compiled path declines, the torch path sorts
    perm = torch.from_numpy(rng.permutation(rle.num_masks))
    shuffled = _rle(*_select(rle, perm))
    got_u, ref_u = paths.both(
        "union", lambda: rle_merge(shuffled, g[perm], k), expect="fallback"
    )
    _same_rle(got_u, ref_u)
    _same_rle(got_u, ref)
    # groups=None (pycocotools' call) and trailing empty groups
    got, ref = paths.both("union", lambda: rle_merge(rle, g, k + 3))
    _same_rle(got, ref)
    same_size = _rle(*_select(rle, torch.nonzero(rle.height == 5).flatten()))
    got, ref = paths.both("union", lambda: rle_merge(same_size))
    _same_rle(got, ref)


def _select(rle: Rle, idx: torch.Tensor) -> tuple[list[list[int]], list[tuple[int, int]]]:
    o = rle.offsets.tolist()
    c = rle.counts.tolist()
    counts = [c[o[i] : o[i + 1]] for i in idx.tolist()]
    hw = [(int(rle.height[i]), int(rle.width[i])) for i in idx.tolist()]
    return counts, hw


def test_merge_union_equals_pycocotools(paths: _Paths) -> None:
    rng = np.random.default_rng(7)
    masks, groups = [], []
    for g in range(40):
        h, w = SIZES[int(rng.integers(len(SIZES)))]
        for _ in range([1, 2, 3, 6][g % 4]):
            masks.append((canonical_runs(rng.random((h, w)) < rng.uniform(0.1, 0.9)), (h, w)))
            groups.append(g)
    rle = _rle([m for m, _ in masks], [s for _, s in masks])
    with paths.compiled_path("union"):
        ours = rle_to_strings(rle_merge(rle, torch.tensor(groups), 40))
    objs = _coco_objs([m for m, _ in masks], [s for _, s in masks])[1]
    members = [[o for o, q in zip(objs, groups, strict=True) if q == g] for g in range(40)]
    expected = [M.merge(m)["counts"] for m in members]
    assert ours == expected


def test_merge_of_empty_batch(paths: _Paths) -> None:
    z = torch.zeros(0, dtype=torch.int64)
    empty = Rle(z, torch.zeros(1, dtype=torch.int64), z, z)
    got, ref = paths.both("union", lambda: rle_merge(empty))
    _same_rle(got, ref)
    assert got.num_masks == 1 and got.counts.numel() == 0
    got, ref = paths.both("union", lambda: rle_merge(empty, z, 3))
    _same_rle(got, ref)


# -------------------------------------------------------------------------- strings


def _decode_both(paths: _Paths, strings: list[Any], hw: list[tuple[int, int]]) -> Rle:
    h, w = [a for a, _ in hw], [b for _, b in hw]
    got, ref = paths.both("decode_strings", lambda: rle_from_strings(strings, h, w))
    _same_rle(got, ref)
    return got


def test_valid_strings_equal_torch(paths: _Paths) -> None:
    rng = np.random.default_rng(8)
    counts, hw = _zoo(rng, 200)
    rle = _rle(counts, hw)
    ours = rle_to_strings(rle)
    keep, objs = _coco_objs(counts, hw)
    assert [ours[i] for i in keep] == [o["counts"] for o in objs]
    # large values (1 to 7 characters), negative differences, counts up to 2**32 - 1
    big = [rng.integers(0, 2**k, 9).tolist() for k in range(1, 33, 3)] + [[0, 2**32 - 1, 5]]
    strings = ours + [rle_string(c).encode() for c in big] + [b"", b""]
    sizes = hw + [(1, 1)] * (len(big) + 2)
    got = _decode_both(paths, strings, sizes)
    assert got.counts.tolist() == [c for cs in counts + big for c in cs]
    # as str, and str / bytes mixed
    as_str = _decode_both(paths, [s.decode() for s in strings], sizes)
    _same_rle(as_str, got)
    mixed = [s.decode() if i % 2 else s for i, s in enumerate(strings)]
    _same_rle(_decode_both(paths, mixed, sizes), got)
    # only empty strings, and none
    _decode_both(paths, ["", ""], [(0, 0), (2, 3)])
    assert _decode_both(paths, [], []).num_masks == 0


BAD_STRINGS = [
    "5 2",  # a character below '0'
    "5p",  # above 'o'
    "52~3",
    "52203P",  # ends inside a value (continuation bit)
    "5" + "o" * 12 + "0",  # a value of 13 characters
    "0" + "o" * 13,  # ... and one that also ends inside a value
    "O",  # -1: a negative first count
    "5@",  # a negative second count
    rle_string([3, 2**32, 1]),  # a count of 2**32
    rle_string([3, 2**32 - 10, 5, 2**32 + 1]),  # 2**32 + 1 through a small difference
    rle_string([1, 2, 3, 4, 0, -1]),  # negative through a difference
]


@pytest.mark.parametrize("as_bytes", [False, True])
def test_invalid_strings_raise_at_the_same_index(paths: _Paths, as_bytes: bool) -> None:
    rng = np.random.default_rng(9)
    valid = [s.decode() for s in rle_to_strings(_rle(*_zoo(rng, 20)))]
    for trial in range(40):
        strings = list(valid)
        bad = sorted(rng.choice(len(strings), int(rng.integers(1, 4)), replace=False).tolist())
        for i in bad:
            strings[i] = BAD_STRINGS[(trial + i) % len(BAD_STRINGS)]
        items: list[Any] = [s.encode() for s in strings] if as_bytes else strings
        got, ref = paths.both_raise(
            "decode_strings",
            lambda s=items: rle_from_strings(s, [4] * len(s), [4] * len(s)),
            RleStringError,
        )
        assert got.index == ref.index == bad[0], (strings, got.index, ref.index)
        assert str(got) == str(ref)
    # a byte outside ASCII in bytes
    items = [b"52203", b"5\xff2", b"O"]
    got, ref = paths.both_raise(
        "decode_strings", lambda: rle_from_strings(items, [4] * 3, [4] * 3), RleStringError
    )
    assert got.index == ref.index == 1


def test_non_ascii_string_index_equal(paths: _Paths) -> None:
    for strings, index in ((["52203", "O", "ça"], 1), (["52203", "ça", "O"], 1)):
        got, ref = paths.both_raise(
            "decode_strings",
            lambda s=strings: rle_from_strings(s, [4] * 3, [4] * 3),
            RleStringError,
            expect="any",
        )
        assert got.index == ref.index == index


# ------------------------------------------------------------------ threads / switch


@pytest.mark.parametrize("num", [1, 2, 13, 37])
def test_thread_splitting_gives_equal_results(paths: _Paths, num: int) -> None:
    rng = np.random.default_rng(10 + num)
    counts, hw = _zoo(rng, num)
    counts, hw = counts[:num], hw[:num]
    rle = _rle(counts, hw)
    pd = torch.from_numpy(rng.integers(0, num, 3 * num + 1))
    pg = torch.from_numpy(rng.integers(0, num, 3 * num + 1))
    crowd = torch.from_numpy(rng.random(3 * num + 1) < 0.3)
    rings = [_ring(rng, h, w, i % 10) for i, (h, w) in enumerate(hw)]
    poly = _poly_tensors(rings, hw)
    groups = torch.from_numpy(np.sort(rng.integers(0, max(num // 3, 1), num)))
    strings = rle_to_strings(rle)

    def run_all() -> list[Any]:
        return [
            rle_area(rle),
            rle_to_box(rle),
            rle_iou_pairs(rle, rle, pd, pg, crowd),
            *rle_from_polygons(*poly),
            *rle_merge(rle, groups),
            *rle_from_strings(strings, rle.height, rle.width),
        ]

    names = ["areas", "boxes", "iou_pairs", "polygons", "union", "decode_strings"]
    results = {}
    for threads in (1, 2, 3):
        with _threads(threads):
            spies = [(paths.spy(n), paths.spy(n).hits) for n in names]
            results[threads] = run_all()
            assert all(s.hits > h for s, h in spies), threads
    with paths.torch_path("areas"):
        ref = run_all()
    for threads, out in results.items():
        for a, b in zip(out, ref, strict=True):
            assert a.dtype == b.dtype and torch.equal(a, b), threads


@pytest.mark.parametrize(
    ("value", "taken"),
    [
        (None, True),
        ("1", True),
        ("yes", True),
        ("", True),
        ("0", False),
        (" Off ", False),
        ("FALSE", False),
        ("no", False),
    ],
)
def test_switch_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, taken: bool
) -> None:
    if NB._native("_numba_kernels") is None:
        pytest.importorskip("numba")
    monkeypatch.setattr(NB, "MIN_RUNS", 0)
    monkeypatch.setattr(NB, "MIN_RUNS_COLD", 0)
    if value is None:
        monkeypatch.delenv("ASSAY_COMPILED", raising=False)
    else:
        monkeypatch.setenv("ASSAY_COMPILED", value)
    t = torch.zeros(3, dtype=torch.int64)
    assert NB.available(t, size=0) is taken
    assert NB.available(t, size=5, minimum=6, cold=6) is False
    monkeypatch.setattr(NB, "MIN_RUNS", 10)
    monkeypatch.setattr(NB, "MIN_RUNS_COLD", 10)
    assert NB.available(t, size=9) is False


def test_loading_waits_for_a_batch_worth_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the loops are loaded in the process, only batches over the cold minimums
    take them (and load them); after, the warm minimums apply. A small COCO job then
    never pays numba's ~0.6 s load (numba's loops only: the C loops need no load)."""
    pytest.importorskip("numba")
    monkeypatch.setenv("ASSAY_NATIVE", "0")
    monkeypatch.setenv("ASSAY_NUMBA", "1")
    monkeypatch.setattr(NB, "_loaded", {})  # a process that has not loaded them yet
    t = torch.zeros(3, dtype=torch.int64)
    assert not NB.available(t, size=NB.MIN_RUNS)  # warm size, cold process
    assert not NB.available(t, size=NB.MIN_PAIRS_COLD - 1, cold=NB.MIN_PAIRS_COLD)
    assert not rle_compiled_loops(NB.MIN_MASKS_COLD - 1)
    assert "_numba_kernels" not in NB._loaded  # nothing loaded by asking
    assert NB.available(t, size=NB.MIN_VERTICES_COLD, cold=NB.MIN_VERTICES_COLD)
    assert NB._loaded["_numba_kernels"] is not None  # the first big batch loaded them
    assert NB.available(t, size=NB.MIN_RUNS)  # now warm
    assert not NB.available(t, size=NB.MIN_RUNS - 1)
    assert rle_compiled_loops(1) and rle_compiled_loops()
    monkeypatch.setattr(NB, "_loaded", {})
    assert rle_compiled_loops() and NB.installed()  # asking without a size loads nothing
    assert NB._loaded == {}
    assert rle_compiled_loops(NB.MIN_MASKS_COLD)  # a big COCO job loads them
    assert NB._loaded["_numba_kernels"] is not None
    monkeypatch.setattr(NB, "_loaded", {"_numba_kernels": None})  # their import failed
    assert not NB.installed() and not rle_compiled_loops()
    monkeypatch.setattr(NB, "_loaded", {})
    monkeypatch.setenv("ASSAY_NUMBA", "off")
    assert not NB.installed() and not rle_compiled_loops()


def test_preload_makes_the_warm_minimums_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("numba")
    monkeypatch.setenv("ASSAY_NATIVE", "0")
    monkeypatch.setenv("ASSAY_NUMBA", "1")
    monkeypatch.setattr(NB, "_loaded", {})
    t = torch.zeros(3, dtype=torch.int64)
    assert NB.preload(frames=False)
    assert set(NB._loaded) == {"_numba_kernels"}
    assert NB.available(t, size=NB.MIN_RUNS)  # warm without a big batch first
    assert NB.preload() and NB._loaded["_numba_frame_kernels"] is not None
    monkeypatch.setattr(NB, "_loaded", {})
    monkeypatch.setenv("ASSAY_NUMBA", "0")
    assert not NB.preload() and NB._loaded == {}  # switched off: nothing loads


def test_c_loops_take_batches_from_the_warm_minimums_without_numba(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The C loops open in about a millisecond: no cold minimums, and numba is never
    imported for them; ``ASSAY_NATIVE=0`` hands the batches back to numba's rules."""
    if NB._native("_numba_kernels") is None:
        pytest.skip("the C loops are not built")
    monkeypatch.setenv("ASSAY_NUMBA", "1")
    monkeypatch.setattr(NB, "_loaded", {})
    t = torch.zeros(3, dtype=torch.int64)
    assert NB.available(t, size=NB.MIN_RUNS) and NB.installed() and NB.preload()
    assert not NB.available(t, size=NB.MIN_RUNS - 1)
    assert rle_compiled_loops(1)
    assert "_numba_kernels" not in NB._loaded and "_numba_frame_kernels" not in NB._loaded
    monkeypatch.setenv("ASSAY_NATIVE", "0")
    assert not NB.available(t, size=NB.MIN_RUNS)  # numba, cold: the cold minimum
    monkeypatch.setenv("ASSAY_NUMBA", "0")
    assert not NB.installed() and not NB.preload()
    monkeypatch.setenv("ASSAY_NATIVE", "1")
    assert NB.installed() and NB.available(t, size=NB.MIN_RUNS)  # C alone
    monkeypatch.setenv("ASSAY_COMPILED", "0")
    assert not NB.installed() and not NB.available(t, size=NB.MIN_RUNS)


# ------------------------------------------------------------- review follow-ups


def test_cat_with_bool_index_equals_torch(paths: _Paths) -> None:
    a = Rle(torch.tensor([1, 3]), torch.tensor([0, 2]), torch.tensor([2]), torch.tensor([2]))
    b = Rle(torch.tensor([4]), torch.tensor([0, 1]), torch.tensor([2]), torch.tensor([2]))
    flags = torch.tensor([False, True])
    got, ref = paths.both("select", lambda: rle_cat([a, b], flags))
    _same_rle(got, ref)
    assert got.counts.tolist() == [4]


def test_crowd_iou_of_negative_runs_equals_torch(paths: _Paths) -> None:
    """Invalid runs (negative counts that still add up to h * w): refused by the public
    function (CPU tensors); the unchecked core divides by zero on neither path."""
    d = Rle(torch.tensor([0, 5, 0, -5, 4]), torch.tensor([0, 5]), torch.tensor([2]),
            torch.tensor([2]))
    g = Rle(torch.tensor([0, 4]), torch.tensor([0, 2]), torch.tensor([2]), torch.tensor([2]))
    pair = torch.tensor([0])
    crowd = torch.tensor([True])
    with pytest.raises(ValueError, match=r"`dt.counts` to hold run lengths in \[0, inf\), "
                       r"but got -5 \(first offending item: dt.counts\[3\]\)"):
        rle_iou_pairs(d, g, pair, pair, crowd)
    got, ref = paths.both("iou_pairs", lambda: _rle_iou_pairs(d, g, pair, pair, crowd))
    _same_float(got, ref)


@pytest.mark.parametrize("numba_env", ["1", "0"])
def test_offsets_that_do_not_slice_the_runs_are_refused(paths: _Paths, numba_env: str) -> None:
    paths.mp.setenv("ASSAY_COMPILED", numba_env)
    rle = Rle(torch.tensor([1, 2, 3, 4]), torch.tensor([0, 5, 2]), torch.tensor([2, 2]),
              torch.tensor([2, 2]))
    for call in (
        lambda: rle_select(rle, torch.tensor([0, 1])),
        lambda: rle_merge(rle),
        lambda: rle_area(rle),
        lambda: rle_to_box(rle),
    ):
        with pytest.raises(ValueError, match=r"`rle.offsets` to rise from 0 to len\(counts\) = 4"):
            call()
    short = Rle(torch.tensor([4]), torch.tensor([0, 1]), torch.tensor([2, 2]), torch.tensor([2]))
    with pytest.raises(ValueError, match="1-D counts, \\(N \\+ 1,\\) offsets"):
        rle_area(short)


@pytest.mark.parametrize("numba_env", ["1", "0"])
def test_polygon_coordinates_beyond_maskapi_ints_are_refused(
    paths: _Paths, numba_env: str
) -> None:
    paths.mp.setenv("ASSAY_COMPILED", numba_env)
    pts = torch.tensor([[1.0, 1.0], [5e8, 3.0], [5.0, 5.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"within \+-429,496,729.*points\[1\]"):
        rle_from_polygons(pts, torch.tensor([0, 3]), torch.tensor([10]), torch.tensor([12]))
    with pytest.raises(ValueError, match=r"`height` and `width` to be >= 0.*ring 0"):
        rle_from_polygons(pts[[0, 2]], torch.tensor([0, 2]), torch.tensor([10]),
                          torch.tensor([-2]))


def test_polygon_in_a_huge_image_equals_torch(paths: _Paths) -> None:
    """The counting sort is as wide as the ring, not the image."""
    pts = torch.tensor([[1.0, 1.0], [40.0, 3.0], [5.0, 30.0]], dtype=torch.float64)
    args = (pts, torch.tensor([0, 3]), torch.tensor([50]), torch.tensor([10**13]))
    got, ref = paths.both("polygons", lambda: rle_from_polygons(*args))
    _same_rle(got, ref)


def test_one_pool_and_work_after_shutdown(paths: _Paths) -> None:
    """One thread pool (resized with torch's thread count); a pool that takes no more
    work (interpreter shutdown) leaves the ranges to the calling thread."""
    rng = np.random.default_rng(20)
    rle = _rle(*_zoo(rng, 40))
    ref = rle_to_box(rle)
    with _threads(3):
        rle_to_box(rle)
    with _threads(2):
        _same_float(rle_to_box(rle), ref)
        assert len(NB._pool) == 1 and NB._pool[0][0] == 2
        NB._pool[0][1].shutdown(wait=True)
        _same_float(rle_to_box(rle), ref)
    NB._pool.clear()


@pytest.mark.parametrize("numba_env", ["1", "0"])
def test_sizes_and_run_sums_that_wrap_int64_are_refused(paths: _Paths, numba_env: str) -> None:
    """Images of 2**62 pixels or more, and run lengths whose int64 sum wraps back to
    h * w, are refused by name on every path (they used to reach the loops, which then
    disagreed with each other and with the torch path)."""
    paths.mp.setenv("ASSAY_COMPILED", numba_env)
    ring = torch.tensor([[1.0, 1.0], [5.0, 1.0], [5.0, 5.0], [1.0, 5.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"height \* width < 2\*\*62.*2305843009213693952 x 2"):
        rle_from_polygons(ring, torch.tensor([0, 4]), torch.tensor([2**61]), torch.tensor([2]))
    big = 2**62
    wrapped = _rle([[big, big, big, big + 6]], [(2, 3)])  # sums to 6 in int64
    for call in (rle_area, rle_to_box, rle_merge):
        with pytest.raises(ValueError, match=r"`rle` run lengths to sum to height \* width = 6"):
            call(wrapped)
    huge = _rle([[0, 4]], [(2**31, 2**31)])
    with pytest.raises(ValueError, match=r"`rle` images of height \* width < 2\*\*62"):
        rle_area(huge)
    fine = _rle([[3, 2**40 - 3]], [(2**20, 2**20)])  # big, valid
    assert int(rle_area(fine)[0]) == 2**40 - 3
