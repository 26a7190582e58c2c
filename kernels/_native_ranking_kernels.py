"""The C loops of ``coco_accumulate`` (``kernels/_native/ranking.c``).

Two passes over ranges of items (NumPy arrays in, outputs written in place), calling
the C library ``_native_ranking`` of :mod:`._native`; :func:`._compiled.accumulate`
splits them over threads. Importing this module raises ImportError when the library
is not available (not built, or ``ASSAY_NATIVE`` off).

Every array goes through :func:`._native.pointer`, which refuses a wrong dtype or a
non-contiguous array (the C loops read raw memory); bool arrays are passed as their
``uint8`` bytes. Indexes out of range are skipped by the loops (wrong numbers for
inconsistent input, never a read outside an array); the arguments' shapes are the
caller's to get right.
"""

from __future__ import annotations

import numpy as np

from ._native import I64, P, bind, check_span, library, pointer

__all__ = ["accumulate_range", "plain_counts_range"]

_lib = library("_native_ranking")
if _lib is None:
    raise ImportError("the C ranking loops are not built, or ASSAY_NATIVE is off")

_i8, _f8, _u1 = np.int64, np.float64, np.uint8

try:
    # (seg, rank, outside, D, A, det_index, S, limit, M, lo, hi, rel)
    _plain = bind(_lib, "coco_plain_counts_range", P, P, P, I64, I64, P, I64, P, I64, I64, I64, P)
    _accumulate = bind(
        _lib,
        "coco_accumulate_range",
        *(P, P, P, P, I64),  # seg, rank, score, outside, D
        *(P, P, I64, I64, I64),  # det_index, gt_index, S, T, A
        *(P, P, I64),  # gt_ignore, gt_real, G
        *(P, I64, P, I64),  # counted, K, limit, M
        *(P, P, I64, P, I64),  # rec, rec_pos, R, rel, max_n
        *(I64, I64, P, P),  # lo, hi, scratch_i, scratch_f
        *(P, P, P),  # precision, recall, scores
    )
except AttributeError as error:  # a library built from older sources
    raise ImportError(f"the C ranking loops are incomplete: {error}") from error


def _expect(name: str, a: np.ndarray, shape: tuple[int, ...]) -> None:
    """``a`` must have ``shape`` (the loops index it by the other arrays' sizes)."""
    if a.shape != shape:
        raise ValueError(f"Expected `{name}` of shape {shape} for the C loop, but got {a.shape}")


def _bytes(a: np.ndarray) -> int:
    """Pointer to a bool or uint8 array's bytes (0 / 1)."""
    return pointer(a.view(_u1) if a.dtype == np.bool_ else a, _u1)


def plain_counts_range(
    seg: np.ndarray,
    rank: np.ndarray,
    outside: np.ndarray,
    det_index: np.ndarray,
    limit: np.ndarray,
    lo: int,
    hi: int,
    rel: np.ndarray,
) -> None:
    """``rel[s, a, m]`` for candidates ``lo <= s < hi``: detections counted when unmatched.

    The detections of ``det_index[s]``'s category segment up to it (inclusive) that
    lie inside area range ``a`` (``outside[a]`` false) with ``rank < limit[m]``.

    Args:
        seg: ``(D,)`` int64 ascending category of each detection (accumulation order).
        rank: ``(D,)`` int64 rank in its (image, category) group.
        outside: ``(A, D)`` bool.
        det_index: ``(S,)`` int64 candidate positions, strictly ascending.
        limit: ``(M,)`` int64 rank limits.
        lo: first candidate.
        hi: end of the candidates.
        rel: ``(S, A, M)`` int64 output.

    Raises:
        TypeError: an array not C-contiguous of its dtype.
        ValueError: ``outside`` or ``rel`` of another shape, or ``lo`` / ``hi`` outside
            the candidates.
    """
    num_det, num_cand = seg.shape[0], det_index.shape[0]
    _expect("rank", rank, (num_det,))
    _expect("outside", outside, (outside.shape[0], num_det))
    _expect("rel", rel, (num_cand, outside.shape[0], limit.shape[0]))
    check_span(lo, hi, num_cand)
    _plain(
        pointer(seg, _i8),
        pointer(rank, _i8),
        _bytes(outside),
        seg.shape[0],
        outside.shape[0],
        pointer(det_index, _i8),
        det_index.shape[0],
        pointer(limit, _i8),
        limit.shape[0],
        lo,
        hi,
        pointer(rel, _i8),
    )


def accumulate_range(
    seg: np.ndarray,
    rank: np.ndarray,
    score: np.ndarray,
    outside: np.ndarray,
    det_index: np.ndarray,
    gt_index: np.ndarray,
    gt_ignore: np.ndarray,
    gt_real: np.ndarray,
    counted: np.ndarray,
    limit: np.ndarray,
    rec: np.ndarray,
    rec_pos: np.ndarray,
    rel: np.ndarray,
    lo: int,
    hi: int,
    precision: np.ndarray,
    recall: np.ndarray,
    scores: np.ndarray,
) -> None:
    """Accumulation items ``lo <= item < hi``, ``(k, a) = divmod(item, A)``, in place.

    Args:
        seg: ``(D,)`` int64 ascending category of each detection (accumulation order).
        rank: ``(D,)`` int64 rank in its (image, category) group.
        score: ``(D,)`` float64 scores.
        outside: ``(A, D)`` bool.
        det_index: ``(S,)`` int64 candidate positions, strictly ascending.
        gt_index: ``(T, A, S)`` int64 matched ground truth or -1.
        gt_ignore: ``(A, G)`` bool.
        gt_real: ``(G,)`` bool; false: a ground truth with id 0 (its match counts as none).
        counted: ``(K, A)`` int64 non-ignored ground truths.
        limit: ``(M,)`` int64 rank limits (column ``m`` takes ``rank < limit[m]``).
        rec: ``(R,)`` float64 recall thresholds, ascending.
        rec_pos: ``(R,)`` int64 position in ``rec`` of the caller's threshold ``i``.
        rel: ``(S, A, M)`` int64 from :func:`plain_counts_range`.
        lo: first item.
        hi: end of the items.
        precision: ``(T, R, K, A, M)`` float64 output.
        recall: ``(T, K, A, M)`` float64 output.
        scores: ``(T, R, K, A, M)`` float64 output.

    Raises:
        TypeError: an array not C-contiguous of its dtype.
        ValueError: an array whose shape disagrees with the others, or ``lo`` / ``hi``
            outside the items.
    """
    num_det, num_cand = seg.shape[0], det_index.shape[0]
    num_thr, num_area = gt_index.shape[0], gt_index.shape[1]
    num_max, num_rec, num_cat = limit.shape[0], rec.shape[0], counted.shape[0]
    num_gt = gt_real.shape[0]
    for name, a, shape in (
        ("rank", rank, (num_det,)),
        ("score", score, (num_det,)),
        ("outside", outside, (num_area, num_det)),
        ("gt_index", gt_index, (num_thr, num_area, num_cand)),
        ("gt_ignore", gt_ignore, (num_area, num_gt)),
        ("counted", counted, (num_cat, num_area)),
        ("rec_pos", rec_pos, (num_rec,)),
        ("rel", rel, (num_cand, num_area, num_max)),
        ("precision", precision, (num_thr, num_rec, num_cat, num_area, num_max)),
        ("recall", recall, (num_thr, num_cat, num_area, num_max)),
        ("scores", scores, (num_thr, num_rec, num_cat, num_area, num_max)),
    ):
        _expect(name, a, shape)
    check_span(lo, hi, num_cat * num_area)
    max_n = int(counted.max()) if counted.size else 0
    num_tm, blocks = num_thr * num_max, num_rec + 1
    scratch_i = np.empty(
        blocks + max_n + 1 + 2 * num_tm + 2 * num_tm * blocks + num_cand, dtype=_i8
    )
    scratch_f = np.empty(num_tm * (blocks + num_rec), dtype=_f8)
    _accumulate(
        pointer(seg, _i8),
        pointer(rank, _i8),
        pointer(score, _f8),
        _bytes(outside),
        seg.shape[0],
        pointer(det_index, _i8),
        pointer(gt_index, _i8),
        det_index.shape[0],
        num_thr,
        num_area,
        _bytes(gt_ignore),
        _bytes(gt_real),
        gt_real.shape[0],
        pointer(counted, _i8),
        counted.shape[0],
        pointer(limit, _i8),
        num_max,
        pointer(rec, _f8),
        pointer(rec_pos, _i8),
        num_rec,
        pointer(rel, _i8),
        max_n,
        lo,
        hi,
        pointer(scratch_i, _i8),
        pointer(scratch_f, _f8),
        pointer(precision, _f8),
        pointer(recall, _f8),
        pointer(scores, _f8),
    )
