"""Independent implementations that assay is checked against (test-only)."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

__all__ = [
    "BIG_MASK",
    "MASK_KINDS",
    "ZOO_EXTRAS",
    "FRAME_LENGTHS",
    "NUMBA_MASK_MINIMUMS",
    "array_sha256",
    "assert_matches_cocoeval",
    "box_scores_with_edges",
    "canonical_runs",
    "check_frames",
    "first_diverging_cell",
    "hard_ring",
    "load_json",
    "mask_zoo",
    "np_box_scores",
    "np_frame_scores",
    "random_runs",
    "rle_string",
    "run_pycocotools",
    "use_cpu_path",
    "zoo_mask",
]


# the batch-size minimums of the compiled mask loops (assay.kernels._compiled): tests set
# them to 0 to run those loops on small inputs
NUMBA_MASK_MINIMUMS = (
    "MIN_RUNS",
    "MIN_PAIRS",
    "MIN_VERTICES",
    "MIN_RUNS_COLD",
    "MIN_PAIRS_COLD",
    "MIN_VERTICES_COLD",
    "MIN_MASKS_COLD",
)


def use_cpu_path(path: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Switch the CPU kernels to ``path``: ``"torch"``, ``"native"`` (the C loops) or
    ``"numba"``, with the compiled loops' minimums at 0; skip when it cannot run."""
    from assay.kernels import _compiled, _native

    monkeypatch.setenv("ASSAY_COMPILED", "0" if path == "torch" else "1")
    monkeypatch.setenv("ASSAY_NATIVE", "1" if path == "native" else "0")
    monkeypatch.setenv("ASSAY_NUMBA", "1" if path == "numba" else "0")
    if path == "native" and _native.library("_native_masks") is None:
        pytest.skip("the C loops are not built (pip install -e . with a C compiler)")
    if path == "numba":
        pytest.importorskip("numba")
    if path != "torch":
        for name in NUMBA_MASK_MINIMUMS:
            monkeypatch.setattr(_compiled, name, 0)
    return path


MASK_KINDS = ["random", "random", "empty", "full", "border", "noncanonical", "unset", "one_run"]
BIG_MASK = 50_000  # 2.5e9 pixels: counts above 2**31 (below 2**32, as in pycocotools)
# 0-pixel and huge masks mask_zoo inserts (counts, (height, width))
ZOO_EXTRAS: list[tuple[list[int], tuple[int, int]]] = [
    ([], (0, 0)),
    ([0], (0, 4)),
    ([0], (3, 0)),
    (
        [10**9, 7, 3 * BIG_MASK, 1, BIG_MASK * BIG_MASK - 10**9 - 8 - 3 * BIG_MASK],
        (BIG_MASK, BIG_MASK),
    ),
    (
        [2 * 10**9, 2 * BIG_MASK, BIG_MASK * BIG_MASK - 2 * 10**9 - 2 * BIG_MASK],
        (BIG_MASK, BIG_MASK),
    ),
]


def canonical_runs(mask: np.ndarray) -> list[int]:
    """pycocotools' run lengths of one (H, W) mask (column-major, zeros first)."""
    flat = mask.T.reshape(-1).astype(np.int8)
    if flat.size == 0:
        return [0]
    cuts = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate(([0], cuts, [flat.size]))).tolist()
    return [0, *runs] if flat[0] else runs


def random_runs(rng: np.random.Generator, pixels: int, cuts: int = 9) -> list[int]:
    """Run lengths cut at up to ``cuts - 1`` random points: zero-length runs anywhere, a
    leading 0 often."""
    at = np.sort(rng.integers(0, pixels + 1, int(rng.integers(0, cuts))))
    counts = np.diff(np.concatenate(([0], at, [pixels]))).tolist()
    return [0, 0, *counts] if rng.random() < 0.2 else counts


def zoo_mask(rng: np.random.Generator, kind: str, h: int, w: int, cuts: int = 9) -> list[int]:
    """Run lengths of one (h, w) mask of a :data:`MASK_KINDS` kind (``cuts``: of the
    non-canonical ones, as :func:`random_runs`)."""
    n = h * w
    if kind == "random":
        return canonical_runs(rng.random((h, w)) < rng.choice([0.05, 0.5, 0.95]))
    if kind in ("empty", "full"):
        return canonical_runs(np.full((h, w), kind == "full"))
    if kind == "border":
        m = np.zeros((h, w), dtype=bool)
        side = int(rng.integers(4))
        if side < 2:
            m[-side, :] = True  # top or bottom row
        else:
            m[:, 2 - side] = True  # left or right column
        return canonical_runs(m)
    if kind == "noncanonical":
        return random_runs(rng, n, cuts)
    if kind == "unset":  # two or more runs but no set pixel: wrap-around boxes
        parts = np.diff(np.concatenate(([0], np.sort(rng.integers(0, n + 1, 2)), [n])))
        k = int(rng.integers(1, 4))
        return [int(v) for p in [*parts[:k].tolist(), int(parts[k:].sum())] for v in (p, 0)][:-1]
    return [n]  # one run: fewer than two runs, box [0, 0, 0, 0]


def mask_zoo(
    rng: np.random.Generator,
    num: int,
    sizes: list[tuple[int, int]],
    cuts: int = 9,
    extras: list[tuple[list[int], tuple[int, int]]] = ZOO_EXTRAS,
) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """``num`` masks of every kind and of ``sizes``, plus ``extras`` at random places."""
    counts, hw = [], []
    for _ in range(num):
        h, w = sizes[int(rng.integers(len(sizes)))]
        counts.append(zoo_mask(rng, MASK_KINDS[int(rng.integers(len(MASK_KINDS)))], h, w, cuts))
        hw.append((h, w))
    for c, s in extras:
        pos = int(rng.integers(0, len(counts) + 1))
        counts.insert(pos, c)
        hw.insert(pos, s)
    return counts, hw


def rle_string(counts: Sequence[int]) -> str:
    """pycocotools' rleToString of any integers (also values it would never write)."""
    out = []
    for j, c in enumerate(counts):
        x = c - counts[j - 2] if j > 2 else c
        while True:
            ch = x & 0x1F
            x >>= 5
            more = x != -1 if ch & 0x10 else x != 0
            out.append(chr(48 + (ch | 0x20 if more else ch)))
            if not more:
                break
    return "".join(out)


def hard_ring(rng: np.random.Generator, h: int, w: int, kind: int) -> np.ndarray:
    """(K, 2) polygon vertices of one of 10 hard kinds (``kind`` 0-9) for rasterising tests:
    outside the image, integer, half-pixel, repeated, collinear, sub-pixel, steep,
    shallow, on ``(int)(5x + .5)``'s rounding boundaries, COCO-like."""
    k = int(rng.integers(3, 12))
    span = max(h, w)
    if kind == 0:  # fractional, partly outside: negative and beyond width / height
        return rng.uniform(-0.5 * span - 2, 1.5 * span + 2, (k, 2))
    if kind == 1:  # integer vertices
        return rng.integers(-3, span + 4, (k, 2)).astype(np.float64)
    if kind == 2:  # x.5 and exactly on pixel centres
        return np.round(rng.uniform(-3, span + 3, (k, 2)) * 2) / 2
    if kind == 3:  # repeated vertices: zero-length edges
        pts = rng.uniform(-1, span + 1, (k, 2))
        return np.repeat(pts, rng.integers(1, 4, k), axis=0)
    if kind == 4:  # collinear
        p, d = rng.uniform(0, span, 2), rng.uniform(-1, 1, 2)
        return p + rng.uniform(-span, span, (k, 1)) * d
    if kind == 5:  # tiny, inside one pixel
        return rng.integers(0, span, 2) + rng.uniform(0.01, 0.99, (k, 2))
    if kind == 6:  # steep edges
        x = rng.uniform(0, span, 1) + rng.uniform(-1.5, 1.5, k)
        return np.stack((x, rng.uniform(-2, span + 2, k)), 1)
    if kind == 7:  # shallow edges
        y = rng.uniform(0, span, 1) + rng.uniform(-1.5, 1.5, k)
        return np.stack((rng.uniform(-2, span + 2, k), y), 1)
    if kind == 8:  # on (int)(5x + .5)'s rounding boundaries, with float noise
        base = (rng.integers(-10, 5 * span + 10, (k, 2)) - 0.5) / 5
        return base + rng.choice([0.0, 1e-12, -1e-12, 1e-9, -1e-9], (k, 2))
    return np.round(rng.uniform(0, 1, (k, 2)) * [w, h], 2)  # COCO-like, 2 decimals


def run_pycocotools(
    gt: Mapping[str, Any],
    dt: list[dict[str, Any]] | np.ndarray,
    iou_type: str = "bbox",
    params: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate with pycocotools (silenced; inputs deep-copied since it mutates them).

    Returns:
        The ``COCOeval`` object after evaluate / accumulate / summarize.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(dict(gt))
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(dt) if not isinstance(dt, np.ndarray) else dt)
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        for key, value in (params or {}).items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def assert_matches_cocoeval(result: Any, ev: Any, atol: float = 1e-12) -> None:
    """assay's CocoResult equals pycocotools' stats and full arrays."""
    np.testing.assert_allclose(result.stats, ev.stats, rtol=0, atol=atol)
    for key in ("precision", "recall", "scores"):
        ours, theirs = getattr(result, key), ev.eval[key]
        assert ours.shape == theirs.shape, (key, ours.shape, theirs.shape)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol, err_msg=key)


def load_json(root: Path, rel: str) -> Any:
    """A JSON file of the reference data, read in place."""
    return json.loads((root / rel).read_text())


def array_sha256(arr: np.ndarray) -> str:
    """The recipe of expected.json's ``sha256_c_order``: C-order little-endian float64 bytes."""
    return hashlib.sha256(np.ascontiguousarray(arr, dtype="<f8").tobytes()).hexdigest()


def first_diverging_cell(ours: np.ndarray, theirs: np.ndarray, atol: float) -> str | None:
    """``ours vs theirs`` at the first cell (C order) that differs, else None."""
    bad = np.argwhere(~np.isclose(ours, theirs, rtol=0, atol=atol))
    if not len(bad):
        return None
    idx = tuple(int(i) for i in bad[0])
    return (
        f"{len(bad)} cells differ; first {list(idx)}: "
        f"assay {float(ours[idx])!r} vs pycocotools {float(theirs[idx])!r}"
    )


# ------------------------------------------------------------ frame scores


def np_box_scores(s: np.ndarray, score: str, normalize: bool) -> np.ndarray:
    """Per-box score of ``(s, 1 - s)`` in float64 (``binary_frame_scores``' reference)."""
    s = s.astype(np.float64)
    q = 1 - s
    if score == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -(np.where(s > 0, s * np.log(s), 0.0) + np.where(q > 0, q * np.log1p(-s), 0.0))
        return h / math.log(2) if normalize else h
    if score == "margin":
        return np.abs(2 * s - 1)
    if score == "least_confidence":
        return np.minimum(s, q) * (2 if normalize else 1)
    if score == "ratio":
        return np.minimum(s, q) / np.maximum(s, q)
    return s


def np_frame_scores(s: np.ndarray, lengths: list[int], score: str, reduction: str,
                    normalize: bool) -> np.ndarray:
    u = np_box_scores(s, score, normalize)
    out, start = [], 0
    for n in lengths:
        v = u[start : start + n]
        start += n
        out.append(np.nan if n == 0 else {"min": np.min, "max": np.max, "sum": np.sum,
                                          "mean": np.mean}[reduction](v))
    return np.array(out)


def box_scores_with_edges(n: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    s = torch.rand(n, generator=g, dtype=torch.float64)
    s[:4] = torch.tensor([0.0, 1.0, 0.5, 1e-30])
    s[4:8] = torch.tensor([1 - 1e-7, 1e-7, 0.25, 0.75])
    return s.to(dtype)


FRAME_LENGTHS = [0, 3, 7, 0, 20, 1, 100, 33, 0, 64, 65, 2]


def check_frames(out: torch.Tensor, s: torch.Tensor, lengths: list[int], score: str,
                 reduction: str, normalize: bool) -> None:
    ref = np_frame_scores(s.double().cpu().numpy(), lengths, score, reduction, normalize)
    rtol = 1e-5 if s.dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(out.double().cpu().numpy(), ref, rtol=rtol, atol=1e-300)
    assert out.dtype == s.dtype and out.shape == (len(lengths),)
