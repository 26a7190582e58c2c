"""Bad input to the uncertainty, gather and diversity kernels: one clear error each.

Metadata cases (types, dtypes, shapes, ints, devices) run on every device; value cases
(ranges, duplicates, NaN) on the CPU, the only place the kernels read values. Devices
are exercised without a GPU through ``meta`` tensors, which carry a device but no data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from assay.kernels import (
    bald,
    binary_distribution,
    binary_frame_scores,
    entropy,
    k_center_greedy,
    kmeans_plus_plus,
    least_confidence,
    margin,
    min_sq_distances,
    ratio,
    segment_reduce,
    segment_reduce_contiguous,
    take_packed,
    take_rows,
    top_k,
    variation_ratio,
)
from assay.kernels import uncertainty as U

NAN = math.nan
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Case = tuple[str, Callable[[str], Any], type[Exception], str]


def T(data: Any, device: str = "cpu", **kw: Any) -> torch.Tensor:
    return torch.tensor(data, device=device, **kw)


P = [[0.2, 0.8], [0.5, 0.5]]  # (2, 2) probabilities
V = [0.2, 0.9, 0.4, 0.5]  # four values
PTS = [[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [5.0, 0.0]]  # four 2-D points

# ------------------------------------------------------------- metadata, every device

META: list[Case] = [
    # class scores: floating (..., C), enough classes, weights (C,)
    ("entropy list", lambda d: entropy([[0.5, 0.5]]), TypeError, r"`x` to be a torch.Tensor"),  # type: ignore[arg-type]
    ("entropy int", lambda d: entropy(T([[0, 1]], d)), TypeError,
     r"`x` to be a floating-point tensor, but got dtype torch.int64"),
    ("entropy 0-d", lambda d: entropy(T(0.5, d)), ValueError,
     r"`x` to have shape \(\.\.\., C\), but got \(\)"),
    ("entropy normalize C=1", lambda d: entropy(T([[1.0]], d), normalize=True), ValueError,
     r"`x` to hold C >= 2 classes in its last dim with normalize=True, but got shape \(1, 1\)"),
    ("entropy normalize C=0 multilabel",
     lambda d: entropy(torch.zeros(2, 0, device=d), multilabel=True, normalize=True),
     ValueError, r"C >= 1 classes in its last dim with normalize=True"),
    ("entropy weights long", lambda d: entropy(T(P, d), weights=T([1.0, 1, 1], d)), ValueError,
     r"`weights` to hold one weight per class \(2\), but got shape \(3,\)"),
    ("entropy weights one", lambda d: entropy(T(P, d), weights=T([2.0], d)), ValueError,
     r"`weights` to hold one weight per class \(2\), but got shape \(1,\)"),
    ("entropy weights int", lambda d: entropy(T(P, d), weights=T([1, 2], d)), TypeError,
     r"`weights` to be a floating-point tensor"),
    ("entropy weights 2-D", lambda d: entropy(T(P, d), weights=T([[1.0, 2]], d)), ValueError,
     r"`weights` to have shape \(C,\), but got \(1, 2\)"),
    ("entropy weights device", lambda d: entropy(T(P, d), weights=torch.ones(2, device="meta")),
     ValueError, r"`weights` on the device of `x`"),
    ("margin int", lambda d: margin(T([[0, 1]], d)), TypeError, r"`x` to be a floating-point"),
    ("margin C=0", lambda d: margin(torch.zeros(2, 0, device=d)), ValueError,
     r"`x` to hold C >= 1 classes in its last dim, but got shape \(2, 0\)"),
    ("margin C=0 multilabel", lambda d: margin(torch.zeros(2, 0, device=d), multilabel=True),
     ValueError, r"C >= 1 classes"),
    ("least C=0 logits", lambda d: least_confidence(torch.zeros(2, 0, device=d), from_logits=True),
     ValueError, r"C >= 1 classes"),
    ("least normalize C=1", lambda d: least_confidence(T([[1.0]], d), normalize=True),
     ValueError, r"C >= 2 classes in its last dim with normalize=True"),
    ("ratio C=0", lambda d: ratio(torch.zeros(3, 0, device=d)), ValueError, r"C >= 1 classes"),
    ("ratio bool", lambda d: ratio(T([[True, False]], d)), TypeError,
     r"`x` to be a floating-point tensor, but got dtype torch.bool"),
    # MC samples: floating (S, ..., C), S >= 1
    ("bald 1-D", lambda d: bald(T([0.2, 0.8], d)), ValueError,
     r"`samples` to have shape \(S, \.\.\., C\), but got \(2,\)"),
    ("bald S=0", lambda d: bald(torch.zeros(0, 2, 3, device=d)), ValueError,
     r"`samples` to hold S >= 1 draws in its first dim, but got shape \(0, 2, 3\)"),
    ("bald int", lambda d: bald(T([[[0, 1]]], d)), TypeError, r"`samples` to be a floating"),
    ("variation_ratio 1-D", lambda d: variation_ratio(T([0.2, 0.8], d)), ValueError,
     r"`samples` to have shape \(S, \.\.\., C\)"),
    ("variation_ratio S=0", lambda d: variation_ratio(torch.zeros(0, 3, device=d)), ValueError,
     r"S >= 1 draws"),
    ("variation_ratio C=0", lambda d: variation_ratio(torch.zeros(2, 3, 0, device=d)), ValueError,
     r"`samples` to hold C >= 1 classes"),
    ("binary_distribution int", lambda d: binary_distribution(T([0, 1], d)), TypeError,
     r"`scores` to be a floating-point tensor"),
    # segment reductions
    ("segment_reduce float segments", lambda d: segment_reduce(T(V, d), T([0.0, 1, 1, 2], d), 3,
     "max"), TypeError, r"`segments` to be an integer tensor, but got dtype torch.float32"),
    ("segment_reduce bool segments", lambda d: segment_reduce(
        T(V, d), T([True, False, True, True], d), 3, "mean"), TypeError,
     r"`segments` to be an integer tensor, but got dtype torch.bool"),
    ("segment_reduce 2-D segments", lambda d: segment_reduce(
        T(V, d), T([[0, 1], [1, 2]], d), 3, "max"), ValueError,
     r"`segments` to have shape \(N,\), but got \(2, 2\)"),
    ("segment_reduce 2-D values", lambda d: segment_reduce(
        T(V, d).view(2, 2), T([0, 1, 1, 2], d), 3, "sum"), ValueError,
     r"`values` to have shape \(N,\), but got \(2, 2\)"),
    ("segment_reduce short segments", lambda d: segment_reduce(T(V, d), T([0, 1, 1], d), 3,
     "max"), ValueError, r"`segments` to hold one segment per value \(4\), but got shape \(3,\)"),
    ("segment_reduce long segments", lambda d: segment_reduce(T(V, d), T([0, 1, 1, 2, 2], d), 3,
     "mean"), ValueError, r"one segment per value \(4\), but got shape \(5,\)"),
    ("segment_reduce num_segments < 0", lambda d: segment_reduce(T(V, d), T([0, 1, 1, 2], d), -1,
     "max"), ValueError, r"`num_segments` to be an int >= 0, but got -1"),
    ("segment_reduce num_segments float", lambda d: segment_reduce(
        T(V, d), T([0, 1, 1, 2], d), 3.0, "sum"), TypeError,  # type: ignore[arg-type]
     r"`num_segments` to be an int, but got float 3.0"),
    ("segment_reduce int values", lambda d: segment_reduce(T([1, 2, 3, 4], d), T([0, 1, 1, 2], d),
     3, "mean"), TypeError, r"`values` to be a floating-point tensor, but got dtype torch.int64"),
    ("segment_reduce devices", lambda d: segment_reduce(
        T(V, d), torch.zeros(4, dtype=torch.int64, device="meta"), 3, "max"), ValueError,
     r"`segments` on the device of `values`"),
    ("contiguous int values", lambda d: segment_reduce_contiguous(T([1, 2, 3, 4], d), T([2, 2], d),
     "max"), TypeError, r"`values` to be a floating-point tensor"),
    ("contiguous int values, int length", lambda d: segment_reduce_contiguous(
        T([1, 2, 3, 4], d), 2, "mean"), TypeError, r"`values` to be a floating-point tensor"),
    ("contiguous 2-D values", lambda d: segment_reduce_contiguous(T(V, d).view(2, 2), T([1, 1], d),
     "max"), ValueError, r"`values` to have shape \(N,\), but got \(2, 2\)"),
    ("contiguous 2-D values, int length", lambda d: segment_reduce_contiguous(
        T(V, d).view(2, 2), 2, "sum"), ValueError, r"`values` to have shape \(N,\)"),
    ("contiguous NumPy float length", lambda d: segment_reduce_contiguous(
        T(V, d), np.float64(2.0), "sum"), TypeError,  # type: ignore[arg-type]
     r"`lengths` to be an int or an integer tensor, but got float64"),
    ("contiguous 0-D lengths", lambda d: segment_reduce_contiguous(T(V, d), T(4, d), "sum"),
     ValueError, r"`lengths` to have shape \(S,\), but got \(\)"),
    ("contiguous NumPy length 3", lambda d: segment_reduce_contiguous(
        T(V, d), np.int64(3), "sum"), ValueError,  # type: ignore[arg-type]
     r"`lengths` to be an int >= 1 dividing the 4 values, but got 3"),
    ("contiguous devices", lambda d: segment_reduce_contiguous(
        T(V, d), torch.zeros(2, dtype=torch.int64, device="meta"), "max"), ValueError,
     r"`lengths` on the device of `values`"),
    # top_k
    ("top_k k float", lambda d: top_k(T(V, d), 2.5), TypeError,  # type: ignore[arg-type]
     r"`k` to be an int, but got float 2.5"),
    ("top_k k bool", lambda d: top_k(T(V, d), True), TypeError, r"`k` to be an int, but got bool"),
    # a tensor k: a raw TypeError (float), taken as its value (one entry), a host sync (device)
    ("top_k k float tensor", lambda d: top_k(T(V, d), T(2.0, d)), TypeError,  # type: ignore[arg-type]
     r"^Expected `k` to be an int, but got a 0-D torch.float32 Tensor; pass int\(k\)$"),
    ("top_k k 1-D tensor", lambda d: top_k(T(V, d), T([2], d)), TypeError,  # type: ignore[arg-type]
     r"`k` to be an int, but got a 1-D torch.int64 Tensor"),
    ("top_k k 0-D tensor", lambda d: top_k(T(V, d), T(2, d)), TypeError,  # type: ignore[arg-type]
     r"`k` to be an int, but got a 0-D torch.int64 Tensor"),
    ("k_center k tensor", lambda d: k_center_greedy(T(PTS, d), T(2, d)), TypeError,  # type: ignore[arg-type]
     r"`k` to be an int, but got a 0-D torch.int64 Tensor"),
    ("segment_reduce num_segments tensor", lambda d: segment_reduce(
        T(V, d), T([0, 1, 1, 2], d), T(3, d), "sum"), TypeError,  # type: ignore[arg-type]
     r"`num_segments` to be an int, but got a 0-D torch.int64 Tensor"),
    ("top_k k < 0", lambda d: top_k(T(V, d), -1), ValueError, r"`k` to be an int >= 0, but got -1"),
    ("top_k 2-D", lambda d: top_k(T(V, d).view(1, 4), 2), ValueError,
     r"`scores` to have shape \(N,\), but got \(1, 4\)"),
    ("top_k bool scores", lambda d: top_k(T([True, False, True], d), 2), TypeError,
     r"`scores` to be a float or integer tensor, but got dtype torch.bool"),
    ("top_k tiebreak short", lambda d: top_k(T(V, d), 3, tiebreak=T([0, 1, 2], d)), ValueError,
     r"`tiebreak` to hold one rank per score \(4\), but got shape \(3,\)"),
    ("top_k tiebreak float", lambda d: top_k(T(V, d), 3, tiebreak=T([3.0, 0, 2, 1], d)),
     TypeError, r"`tiebreak` to be an integer tensor, but got dtype torch.float32"),
    ("top_k tiebreak 2-D", lambda d: top_k(T(V, d), 3, tiebreak=T([[3, 0, 2, 1]], d)),
     ValueError, r"`tiebreak` to have shape \(N,\)"),
    ("top_k tiebreak device", lambda d: top_k(
        T(V, d), 3, tiebreak=torch.zeros(4, dtype=torch.int64, device="meta")), ValueError,
     r"`tiebreak` on the device of `scores`"),
    # gathers
    ("take_rows 0-d x", lambda d: take_rows(T(1.0, d), T([0], d)), ValueError,
     r"`x` to have shape \(N, \.\.\.\), but got \(\)"),
    ("take_rows float index", lambda d: take_rows(torch.zeros(6, 2, device=d), T([1.0], d)),
     TypeError, r"`index` to be an integer tensor, but got dtype torch.float32"),
    ("take_rows bool index", lambda d: take_rows(torch.zeros(3, 2, device=d),
     T([True, False, True], d)), TypeError, r"`index` to be an integer tensor"),
    ("take_rows 2-D index", lambda d: take_rows(torch.zeros(6, 2, device=d), T([[1, 2]], d)),
     ValueError, r"`index` to have shape \(M,\), but got \(1, 2\)"),
    ("take_rows devices", lambda d: take_rows(torch.zeros(6, 2, device=d),
     torch.zeros(1, dtype=torch.int64, device="meta")), ValueError,
     r"`x` on the device of `index`"),
    ("take_packed float column", lambda d: take_packed([T([1.5, 2.0, 3.0], d), T([1, 0, 1], d)],
     [8, 2], T([0], d)), TypeError, r"`columns\[0\]` to be an integer or bool tensor"),
    ("take_packed columns of two lengths", lambda d: take_packed([T([3, 0, 7], d), T([1, 0], d)],
     [8, 2], T([0], d)), ValueError,
     r"`columns\[1\]` to hold as many values as `columns\[0\]` \(3\), but got shape \(2,\)"),
    ("take_packed 2-D column", lambda d: take_packed([T([[3, 0, 7]], d), T([1, 0, 1], d)],
     [8, 2], T([0], d)), ValueError, r"`columns\[0\]` to have shape \(N,\)"),
    ("take_packed float bound", lambda d: take_packed([T([3, 0, 7], d), T([1, 0, 1], d)],
     [8.0, 2], T([0], d)), TypeError, r"`bounds\[0\]` to be an int, but got float 8.0"),
    ("take_packed negative bound", lambda d: take_packed([T([3, 0, 7], d), T([1, 0, 1], d)],
     [8, -2], T([0], d)), ValueError, r"`bounds\[1\]` to be an int >= 0, but got -2"),
    ("take_packed float index", lambda d: take_packed([T([3, 0, 7], d)], [8], T([0.0], d)),
     TypeError, r"`index` to be an integer tensor"),
    ("take_packed None columns", lambda d: take_packed(None, [8], T([0], d)), TypeError,  # type: ignore[arg-type]
     r"`columns` to be a list or tuple of tensors, but got NoneType"),  # was len()'s TypeError
    ("take_packed one tensor as columns", lambda d: take_packed(T([[3, 0, 7]], d), [8],  # type: ignore[arg-type]
     T([0], d)), TypeError, r"`columns` to be a list or tuple of tensors, but got Tensor"),
    ("take_packed None bounds", lambda d: take_packed([T([3, 0, 7], d)], None, T([0], d)),  # type: ignore[arg-type]
     TypeError, r"`bounds` to be a list or tuple of ints, but got NoneType"),
    ("take_packed a bound short", lambda d: take_packed([T([3, 0, 7], d), T([1, 0, 1], d)], [8],
     T([0], d)), ValueError,
     r"^Expected `bounds` to hold one bound per column of `columns` \(2\), but got 1$"),
    ("take_packed tensor bound", lambda d: take_packed([T([3, 0, 7], d), T([1, 0, 1], d)],
     [T(8, d), 2], T([0], d)), TypeError,  # type: ignore[list-item]
     r"`bounds\[0\]` to be an int, but got a 0-D torch.int64 Tensor; pass int\(bounds\[0\]\)"),
    ("take_packed devices", lambda d: take_packed([T([3, 0, 7], d), T([1, 0, 1], d)], [8, 2],
     torch.zeros(1, dtype=torch.int64, device="meta")), ValueError,
     r"`columns\[0\]` on the device of `index`"),
    # diversity
    ("k_center 1-D x", lambda d: k_center_greedy(T(PTS, d)[:, 0], 2), ValueError,
     r"`x` to have shape \(N, D\), but got \(4,\)"),
    ("k_center int x", lambda d: k_center_greedy(T(PTS, d).long(), 2), TypeError,
     r"`x` to be a floating-point tensor, but got dtype torch.int64"),
    ("k_center k float", lambda d: k_center_greedy(T(PTS, d), 2.5), TypeError,  # type: ignore[arg-type]
     r"`k` to be an int, but got float 2.5"),
    ("k_center k < 0", lambda d: k_center_greedy(T(PTS, d), -1), ValueError,
     r"`k` to be an int >= 0, but got -1"),
    ("k_center first float", lambda d: k_center_greedy(T(PTS, d), 2, first=1.5), TypeError,  # type: ignore[arg-type]
     r"`first` to be an int, but got float 1.5"),
    ("k_center first too large", lambda d: k_center_greedy(T(PTS, d), 2, first=4), ValueError,
     r"`first` to be a row of `x` in \[0, 4\), but got 4"),
    ("k_center first < 0", lambda d: k_center_greedy(T(PTS, d), 2, first=-1), ValueError,
     r"`first` to be an int >= 0, but got -1"),
    ("k_center initial float", lambda d: k_center_greedy(T(PTS, d), 2, initial=T([2.0], d)),
     TypeError, r"`initial` to be an integer tensor, but got dtype torch.float32"),
    ("k_center initial mask", lambda d: k_center_greedy(
        T(PTS, d), 2, initial=T([False, False, True, False], d)), TypeError,
     r"`initial` to be an integer tensor of row indexes, but got dtype torch.bool "
     r"\(for a mask, pass mask.nonzero\(\).view\(-1\)\)"),
    ("k_center initial 2-D", lambda d: k_center_greedy(T(PTS, d), 2, initial=T([[2]], d)),
     ValueError, r"`initial` to have shape \(L,\), but got \(1, 1\)"),
    ("k_center initial device", lambda d: k_center_greedy(
        T(PTS, d), 2, initial=torch.zeros(1, dtype=torch.int64, device="meta")), ValueError,
     r"`initial` on the device of `x`"),
    ("k_center chunk_size 0", lambda d: k_center_greedy(T(PTS, d), 2, chunk_size=0), ValueError,
     r"`chunk_size` to be an int >= 1, but got 0"),
    ("kmeans++ 1-D x", lambda d: kmeans_plus_plus(T(PTS, d)[:, 0], 2), ValueError,
     r"`x` to have shape \(N, D\)"),
    ("kmeans++ int x", lambda d: kmeans_plus_plus(T(PTS, d).long(), 2), TypeError,
     r"`x` to be a floating-point tensor"),
    ("kmeans++ k float", lambda d: kmeans_plus_plus(T(PTS, d), 2.5), TypeError,  # type: ignore[arg-type]
     r"`k` to be an int, but got float 2.5"),
    ("kmeans++ k < 0", lambda d: kmeans_plus_plus(T(PTS, d), -2), ValueError,
     r"`k` to be an int >= 0, but got -2"),
    ("kmeans++ generator type", lambda d: kmeans_plus_plus(T(PTS, d), 2, generator=0),  # type: ignore[arg-type]
     TypeError, r"`generator` to be a torch.Generator, but got int"),
    ("kmeans++ generator device", lambda d: kmeans_plus_plus(
        torch.zeros(4, 2, device="meta"), 2, generator=torch.Generator()), ValueError,
     r"`generator` on the device of `x` \(meta\), but got cpu"),
    ("kmeans++ chunk_size float", lambda d: kmeans_plus_plus(T(PTS, d), 2, chunk_size=1.5),  # type: ignore[arg-type]
     TypeError, r"`chunk_size` to be an int"),
    ("min_sq D mismatch", lambda d: min_sq_distances(T(PTS, d), T([[0.0, 0, 0]], d)), ValueError,
     r"`centers` to hold one coordinate per dimension of `x` \(2\), but got shape \(1, 3\)"),
    ("min_sq dtypes", lambda d: min_sq_distances(T(PTS, d), T([[0.0, 0]], d).double()),
     TypeError, r"`centers` to have the dtype of `x` \(torch.float32\), but got torch.float64"),
    ("min_sq 1-D", lambda d: min_sq_distances(T(PTS, d)[:, 0], T([0.0], d)), ValueError,
     r"`x` to have shape \(N, D\), but got \(4,\)"),
    ("min_sq int", lambda d: min_sq_distances(T(PTS, d).long(), T([[0, 0]], d)), TypeError,
     r"`x` to be a floating-point tensor"),
    ("min_sq 1-D centers", lambda d: min_sq_distances(T(PTS, d), T([0.0, 0.0], d)), ValueError,
     r"`centers` to have shape \(M, D\), but got \(2,\)"),
    ("min_sq devices", lambda d: min_sq_distances(T(PTS, d), torch.zeros(1, 2, device="meta")),
     ValueError, r"`centers` on the device of `x`"),
    ("min_sq chunk_size < 1", lambda d: min_sq_distances(T(PTS, d), T([[0.0, 0]], d),
     chunk_size=-3), ValueError, r"`chunk_size` to be an int >= 1, but got -3"),
]


@pytest.mark.parametrize(("label", "call", "error", "match"), META, ids=[c[0] for c in META])
def test_metadata_errors(
    label: str, call: Callable[[str], Any], error: type[Exception], match: str, device: str
) -> None:
    with pytest.raises(error, match=match):
        call(device)


# ------------------------------------------------------------------ values, the CPU


def _reductions(segments: list[int], num: int, match: str) -> list[Case]:
    return [
        (f"segment_reduce {red} segments {segments}",
         lambda d, red=red: segment_reduce(T(V), T(segments), num, red), ValueError, match)
        for red in U.REDUCTIONS
    ]


VALUES: list[Case] = [
    ("contiguous lengths < 0", lambda d: segment_reduce_contiguous(T(V), T([6, -2]), "sum"),
     ValueError, r"^Expected `lengths` to hold segment lengths in \[0, inf\), but got -2 "
     r"\(first offending item: lengths\[1\]\)$"),
    ("binary_distribution > 1", lambda d: binary_distribution(T([0.5, 1.5])), ValueError,
     r"`scores` to hold values in \[0, 1\], but got 1.5 \(first offending item: scores\[1\]\)"),
    ("binary_distribution < 0, 2-D", lambda d: binary_distribution(T([[0.5, 0.1], [-0.1, 1.0]])),
     ValueError, r"but got -0.1\d* \(first offending item: scores\[1, 0\]\)"),
    ("binary_distribution NaN", lambda d: binary_distribution(T([0.5, NAN])), ValueError,
     r"but got nan \(first offending item: scores\[1\]\)"),
    *_reductions([0, -1, 1, 2], 3,
                 r"`segments` to hold segment indexes in \[0, 3\), but got -1 "
                 r"\(first offending item: segments\[1\]\)"),
    *_reductions([0, 1, 1, 3], 3,
                 r"in \[0, 3\), but got 3 \(first offending item: segments\[3\]\)"),
    *_reductions([0, 1, 1, 2], 0,
                 r"in \[0, 0\), but got 0 \(first offending item: segments\[0\]\)"),
    ("top_k NaN", lambda d: top_k(T([0.5, NAN, 0.2]), 2), ValueError,
     r"`scores` to hold no NaN, but got nan \(first offending item: scores\[1\]\)"),
    ("top_k NaN ascending", lambda d: top_k(T([0.5, 0.1, NAN, NAN]), 1, descending=False),
     ValueError, r"first offending item: scores\[2\]"),
    ("top_k NaN with tiebreak", lambda d: top_k(T([NAN, 0.1]), 1, tiebreak=T([1, 0])),
     ValueError, r"`scores` to hold no NaN"),
    ("top_k rank MIN", lambda d: top_k(T([5.0, 3, 3]), 2, tiebreak=T([0, INT64_MIN, INT64_MIN])),
     ValueError, r"`tiebreak` to hold ranks in \[-9223372036854775807, 9223372036854775807\), "
     r"but got -9223372036854775808 \(first offending item: tiebreak\[1\]\)"),
    ("top_k rank MAX", lambda d: top_k(T([5.0, 3, 1]), 2, tiebreak=T([0, INT64_MAX, 1])),
     ValueError, r"but got 9223372036854775807 \(first offending item: tiebreak\[1\]\)"),
    ("take_rows index = N", lambda d: take_rows(torch.zeros(6, 2), T([0, 6])), ValueError,
     r"`index` to hold row indexes in \[0, 6\), but got 6 \(first offending item: index\[1\]\)"),
    ("take_rows index < 0", lambda d: take_rows(torch.zeros(6, 2), T([-1])), ValueError,
     r"in \[0, 6\), but got -1 \(first offending item: index\[0\]\)"),
    ("take_rows wide rows", lambda d: take_rows(torch.zeros(6, 9), T([2, 9])), ValueError,
     r"in \[0, 6\), but got 9"),
    ("take_rows 1-D x", lambda d: take_rows(torch.zeros(6), T([7])), ValueError,
     r"in \[0, 6\), but got 7"),
    ("take_packed index = N", lambda d: take_packed([T([3, 0, 7]), T([True, False, True])],
     [8, 2], T([3])), ValueError, r"`index` to hold row indexes in \[0, 3\), but got 3"),
    ("take_packed index < 0, one column", lambda d: take_packed([T([3, 0, 7])], [8], T([-1])),
     ValueError, r"`index` to hold row indexes in \[0, 3\), but got -1"),
    ("take_packed index < 0, 70 bits", lambda d: take_packed([T([3, 0, 7]), T([1, 2, 3])],
     [2**40, 2**30], T([-4])), ValueError, r"but got -4 \(first offending item: index\[0\]\)"),
    ("take_packed value >= bound", lambda d: take_packed([T([3, 0, 7]), T([True, False, True])],
     [4, 2], T([0, 2])), ValueError,
     r"`columns\[0\]` to hold values in \[0, 4\) at the rows `index` gathers, but got 7 "
     r"\(first offending item: columns\[0\]\[2\], gathered by index\[1\]\)"),
    ("take_packed value < 0", lambda d: take_packed([T([-1, 0, 1]), T([1, 0, 1])], [8, 2],
     T([0])), ValueError, r"`columns\[0\]` to hold values in \[0, 8\) .* but got -1"),
    ("take_packed bool over bound 1", lambda d: take_packed([T([3, 0, 7]), T([True, False, True])],
     [8, 1], T([1, 2])), ValueError, r"`columns\[1\]` to hold values in \[0, 1\) .* but got True"),
    ("take_packed bound 0", lambda d: take_packed([T([3, 0, 7]), T([1, 0, 1])], [0, 2], T([1])),
     ValueError, r"`columns\[0\]` to hold values in \[0, 0\)"),
    ("take_packed both bad: index first", lambda d: take_packed([T([3, 0, 7]), T([1, 0, 1])],
     [4, 2], T([2, 5])), ValueError, r"`index` to hold row indexes in \[0, 3\), but got 5"),
    ("k_center initial repeated", lambda d: k_center_greedy(T(PTS), 4, initial=T([1, 2, 2])),
     ValueError, r"`initial` to hold distinct indexes, but got 2 more than once "
     r"\(first offending item: initial\[1\]\)"),
    ("k_center initial too large", lambda d: k_center_greedy(T(PTS), 2, initial=T([0, 9])),
     ValueError, r"`initial` to hold row indexes of `x` in \[0, 4\), but got 9 "
     r"\(first offending item: initial\[1\]\)"),
    ("k_center initial < 0", lambda d: k_center_greedy(T(PTS), 2, initial=T([-1])), ValueError,
     r"in \[0, 4\), but got -1"),
]


@pytest.mark.parametrize(("label", "call", "error", "match"), VALUES, ids=[c[0] for c in VALUES])
def test_cpu_value_errors(
    label: str, call: Callable[[str], Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match) as caught:
        call("cpu")
    # named from the arguments, not raised while torch's own error was being handled
    assert caught.value.__context__ is None and caught.value.__cause__ is None


# ----------------------------------------------------------- NaN / inf in embeddings


def _with(value: float, row: int, col: int, n: int = 40, d: int = 3) -> torch.Tensor:
    x = torch.arange(n * d, dtype=torch.float64).view(n, d).sin()
    x[row, col] = value
    return x


@pytest.mark.parametrize("value", [NAN, math.inf, -math.inf])
@pytest.mark.parametrize(
    ("row", "kwargs"),
    [
        (7, {"k": 1}),  # met by the first update only: its distance in the running minimum
        (7, {"k": 5}),
        (0, {"k": 1}),  # the first pick itself: every other distance is NaN / inf
        (0, {"k": 3, "first": 5}),
        (7, {"k": 2, "initial": torch.tensor([3, 9])}),
        (7, {"k": 2, "initial": torch.tensor([7])}),  # a labeled row
        (7, {"k": 2, "initial": torch.arange(10, 50 - 10)}),  # > 32 centers: expanded form
    ],
)
def test_k_center_names_a_non_finite_entry(value: float, row: int, kwargs: dict[str, Any]) -> None:
    x = _with(value, row, 1)
    with pytest.raises(ValueError, match=rf"`x` to hold finite values, but got {value} "
                       rf"\(first offending item: x\[{row}, 1\]\)") as caught:
        k_center_greedy(x, **kwargs)
    assert caught.value.__context__ is None


@pytest.mark.parametrize("value", [NAN, math.inf])
@pytest.mark.parametrize("row", [0, 13])
def test_kmeans_plus_plus_names_a_non_finite_entry(value: float, row: int) -> None:
    x = _with(value, row, 2)
    with pytest.raises(ValueError, match=rf"but got {value} \(first offending item: "
                       rf"x\[{row}, 2\]\)") as caught:
        kmeans_plus_plus(x, 4, generator=torch.Generator().manual_seed(3))
    assert caught.value.__context__ is None


def test_top_k_names_nan_on_the_blocked_and_sampled_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """The NaN check runs before any path: the sampled cut would drop NaN silently."""
    monkeypatch.setattr(U, "_TOPK_SAMPLED_MIN", 256)
    monkeypatch.setattr(U, "_TOPK_SAMPLE_STRIDE", 8)
    monkeypatch.setattr(U, "_TOPK_BLOCK", 64)
    s = torch.rand(4099, generator=torch.Generator().manual_seed(0))
    s[[1001, 3000]] = NAN
    for k in (1, 10, 700):
        for descending in (True, False):
            with pytest.raises(ValueError, match=r"first offending item: scores\[1001\]"):
                top_k(s, k, descending=descending)


# --------------------------------------------------------- valid input still passes


def test_limits_of_the_checks_keep_valid_input_working() -> None:
    """Input at the edges of what is checked gives the unchecked results, bit for bit."""
    v = T([0.2, 0.9, 0.4, 0.5, 0.7])
    seg = T([2, 0, 2, 0, 1])
    for red in U.REDUCTIONS:
        want = segment_reduce(v, seg, 4, red)
        for dtype in (torch.int32, torch.int16, torch.uint8):  # any integer width
            assert torch.equal(segment_reduce(v, seg.to(dtype), 4, red).isnan(), want.isnan())
            np.testing.assert_array_equal(segment_reduce(v, seg.to(dtype), 4, red), want)
    x = torch.arange(12.0).view(6, 2)
    for dtype in (torch.int32, torch.int16, torch.uint8):
        assert torch.equal(take_rows(x, T([5, 0, 5], dtype=dtype)), x[[5, 0, 5]])
    scores = T([0.5, 0.9, 0.5, 0.1, 0.5])
    assert top_k(scores, 3, tiebreak=T([4, 0, 3, 1, 2], dtype=torch.int32)).tolist() == [1, 4, 2]
    assert top_k(scores, 0).shape == (0,) and top_k(T([]), 3).shape == (0,)
    assert top_k(T([3, 1, 2]), 2).tolist() == [0, 2]  # int scores: no NaN to look for
    # a rank at a limit that no pick depends on changes nothing (not read: no extra pass)
    assert top_k(T([5.0, 3, 3]), 2, tiebreak=T([INT64_MAX, 1, 0])).tolist() == [0, 2]
    # rows never gathered may hold anything (the COCO ranks cut by maxDets)
    rank, image = T([0, 250, 3, 99]), T([4, 1, 4, 0])
    got = take_packed([rank, image], [100, 5], T([3, 0, 2]))
    assert [t.tolist() for t in got] == [[99, 0, 3], [0, 4, 4]]
    # gathered one by one (70 bits, or one column), the bounds do not matter
    got = take_packed([rank, image], [2**40, 2**30], T([1]))
    assert [t.tolist() for t in got] == [[250], [1]]
    assert take_packed([rank], [3], T([1]))[0].tolist() == [250]
    assert take_packed([], [], T([0])) == []
    # empty inputs: nothing to read
    assert take_packed([rank[:0], image[:0]], [0, 0], T([], dtype=torch.int64))[0].shape == (0,)
    assert binary_distribution(torch.empty(0)).shape == (0, 2)
    assert segment_reduce(torch.empty(0), T([], dtype=torch.int64), 0, "max").shape == (0,)
    pts = T(PTS)
    res = k_center_greedy(pts, 4, initial=T([2], dtype=torch.int32))
    assert res.indices.tolist() == [0, 3, 1]
    assert k_center_greedy(pts, 0, first=3).indices.shape == (0,)
    assert k_center_greedy(torch.empty(0, 2), 3).indices.shape == (0,)
    # entropy and bald keep their empty sums without classes
    assert entropy(torch.zeros(3, 0)).tolist() == [0.0, 0.0, 0.0]
    assert bald(torch.zeros(2, 3, 0), from_logits=True).tolist() == [0.0, 0.0, 0.0]
    # one label is a distribution with multilabel, also normalised
    assert entropy(T([[0.5]]), multilabel=True, normalize=True).tolist() == [1.0]
    assert least_confidence(T([[0.5]]), multilabel=True, normalize=True).tolist() == [1.0]


NARROW = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.uint16, torch.uint32,
          torch.bool]


@pytest.mark.parametrize("dtype", NARROW, ids=[str(t) for t in NARROW])
def test_take_packed_takes_narrow_columns_with_bounds_beyond_their_dtype(
    dtype: torch.dtype, device: str
) -> None:
    """A bound past a narrow column's dtype (256 for uint8) wrapped when compared as a
    tensor scalar, so valid columns were refused; uint16 / uint32 columns had no
    aminmax (a raw NotImplementedError). Both gathered as index_select."""
    high = 1 if dtype == torch.bool else torch.iinfo(dtype).max
    column = T([0, high // 2, high], device).to(dtype)
    flags = T([1, 0, 1], device)
    index = T([2, 0, 1, 2], device)
    want = column.long().index_select(0, index)  # uint16 / uint32 have no index_select
    for bound in (high + 1, high + 2, 2 ** (high.bit_length() + 5), 2**40):
        got = take_packed([column, flags], [bound, 2], index)
        assert got[0].dtype == dtype
        assert torch.equal(got[0].long(), want)
        assert torch.equal(got[1], flags.index_select(0, index))
    if device == "cpu":  # values are read on the CPU: a gathered value at the bound is named
        with pytest.raises(ValueError, match=rf"`columns\[0\]` to hold values in \[0, {high}\) "
                           r".*\(first offending item: columns\[0\]\[2\], gathered by "
                           r"index\[0\]\)"):
            take_packed([column, flags], [high, 2], index)


def test_take_packed_reviewer_repro() -> None:
    got = take_packed([T([0, 200, 255], dtype=torch.uint8), T([1, 0, 1])], [256, 2], T([2, 0]))
    assert got[0].dtype == torch.uint8 and got[0].tolist() == [255, 0]
    assert got[1].tolist() == [1, 1]
    # a negative int8 value outside [0, bound) is still named with a bound past the dtype
    with pytest.raises(ValueError, match=r"in \[0, 1000\) .* but got -1 "
                       r"\(first offending item: columns\[0\]\[1\], gathered by index\[1\]\)"):
        take_packed([T([0, -1, 5], dtype=torch.int8), T([1, 0, 1])], [1000, 2], T([2, 1]))


def test_numpy_integer_lengths_are_ints(device: str) -> None:
    """A NumPy integer length was refused ("but got int64"); it is the int's result."""
    v = T(V, device)
    for length in (np.int64(2), np.int32(2), np.uint8(2)):
        for red in U.REDUCTIONS:
            want = segment_reduce_contiguous(v, 2, red)
            assert torch.equal(segment_reduce_contiguous(v, length, red), want)  # type: ignore[arg-type]
    scores = T([0.5, 0.9, 1.0, 0.25], device)
    want = binary_frame_scores(scores, 2, "margin", "min")
    assert torch.equal(binary_frame_scores(scores, np.int64(2), "margin", "min"), want)  # type: ignore[arg-type]


def test_unsigned_lengths_tensors_torch_cannot_reduce(device: str) -> None:
    """uint16 lengths had no min() for the check (a raw NotImplementedError)."""
    v = T(V, device)
    lengths = T([2, 0, 2], device)
    want = segment_reduce_contiguous(v, lengths, "max")
    got = segment_reduce_contiguous(v, lengths.to(torch.uint16), "max")
    assert torch.equal(got.isnan(), want.isnan())
    assert torch.equal(got.nan_to_num(), want.nan_to_num())
    if device == "cpu":
        with pytest.raises(ValueError, match=r"`lengths` to add up to the 4 values, but they add "
                           r"up to 5"):
            segment_reduce_contiguous(v, T([2, 1, 2], dtype=torch.uint16), "max")
