"""The C loops of the RLE mask kernels (``kernels/_native/masks.c``).

The same functions, arguments and results as :mod:`._numba_kernels` (NumPy arrays
in, written in place), calling the C library of :mod:`._native`. Importing this module
raises ImportError when the library is not available, as importing
:mod:`._numba_kernels` does without numba.

Every array goes through :func:`._native.pointer`, which refuses a wrong dtype or a
non-contiguous array (the C loops read raw memory); the structure (offsets that slice
the runs, indexes in range, scratch large enough) is the caller's to check, as for
numba's loops. Scratch arrays (``polygon_range``'s ``cols`` / ``tmp`` / ``hist``,
``union_range``'s ``starts`` / ``ends``) are passed in the same way; their contents
afterwards are unspecified.
"""

from __future__ import annotations

import numpy as np

from ._native import I64, P, bind, library, pointer

__all__ = [
    "area_range",
    "box_range",
    "copy_ranges",
    "decode_strings_range",
    "iou_pairs_range",
    "polygon_bound_range",
    "polygon_range",
    "string_runs_range",
    "union_range",
]

_lib = library("_native_masks")
if _lib is None:
    raise ImportError("the C mask loops are not built, or ASSAY_NATIVE is off")

_i8, _f8, _u1, _b1 = np.int64, np.float64, np.uint8, np.bool_

_box_range = bind(_lib, "box_range", P, P, P, P, I64, I64, P)
_copy_ranges = bind(_lib, "copy_ranges", P, P, P, P, I64, I64, P)
_area_range = bind(_lib, "area_range", P, P, I64, I64, P)
_iou_pairs_range = bind(_lib, "iou_pairs_range", *[P] * 13, I64, I64, P)
_polygon_bound_range = bind(_lib, "polygon_bound_range", P, P, P, I64, I64, P, P)
_polygon_range = bind(_lib, "polygon_range", P, P, P, P, I64, I64, *[P] * 6)
_union_range = bind(_lib, "union_range", *[P] * 6, I64, I64, *[P] * 5)
_string_runs_range = bind(_lib, "string_runs_range", P, P, I64, I64, P, P)
_decode_strings_range = bind(_lib, "decode_strings_range", P, P, P, I64, I64, P, P)


def _i64s(*arrays: np.ndarray) -> list[int]:
    return [pointer(a, _i8) for a in arrays]


def box_range(
    counts: np.ndarray,
    offsets: np.ndarray,
    height: np.ndarray,
    width: np.ndarray,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """``out[i]`` = ``xywh`` box of mask ``i`` for ``i`` in ``[lo, hi)`` (``out``: (N, 4))."""
    _box_range(*_i64s(counts, offsets, height, width), lo, hi, pointer(out, _f8))


def copy_ranges(
    src: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    out_offsets: np.ndarray,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """``out[out_offsets[i]:][:lengths[i]] = src[starts[i]:][:lengths[i]]``, i in [lo, hi)."""
    _copy_ranges(*_i64s(src, starts, lengths, out_offsets), lo, hi, pointer(out, _i8))


def area_range(counts: np.ndarray, offsets: np.ndarray, lo: int, hi: int, out: np.ndarray) -> None:
    """``out[i]`` = set pixels of mask ``i`` (sum of its odd-indexed counts)."""
    _area_range(pointer(counts, _i8), pointer(offsets, _i8), lo, hi, pointer(out, _i8))


def iou_pairs_range(
    dc: np.ndarray,
    do: np.ndarray,
    dh: np.ndarray,
    dw: np.ndarray,
    dbox: np.ndarray,
    gc: np.ndarray,
    go: np.ndarray,
    gh: np.ndarray,
    gw: np.ndarray,
    gbox: np.ndarray,
    pair_dt: np.ndarray,
    pair_gt: np.ndarray,
    crowd: np.ndarray,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """``rleIou`` of pairs ``[lo, hi)``: box test, size test, then the merge loop.

    ``dbox`` / ``gbox``: (N, 4) float64 boxes of :func:`box_range`; ``crowd``: bool.
    """
    _iou_pairs_range(
        *_i64s(dc, do, dh, dw),
        pointer(dbox, _f8),
        *_i64s(gc, go, gh, gw),
        pointer(gbox, _f8),
        *_i64s(pair_dt, pair_gt),
        pointer(crowd, _b1),
        lo,
        hi,
        pointer(out, _f8),
    )


def polygon_bound_range(
    xy: np.ndarray,
    ring_offsets: np.ndarray,
    width: np.ndarray,
    lo: int,
    hi: int,
    out: np.ndarray,
    span: np.ndarray,
) -> None:
    """Room for each ring's counts and the width of its counting sort.

    ``out[r]``: the number of column crossings of ring ``r``, plus one; ``span[r]``:
    the number of columns from its first crossed column to its last. ``xy``: (P, 2)
    float64 vertices.
    """
    _polygon_bound_range(pointer(xy, _f8), *_i64s(ring_offsets, width), lo, hi, *_i64s(out, span))


def polygon_range(
    xy: np.ndarray,
    ring_offsets: np.ndarray,
    height: np.ndarray,
    width: np.ndarray,
    lo: int,
    hi: int,
    cap_offsets: np.ndarray,
    counts: np.ndarray,
    num_counts: np.ndarray,
    cols: np.ndarray,
    tmp: np.ndarray,
    hist: np.ndarray,
) -> None:
    """``rleFrPoly`` of rings ``[lo, hi)`` into ``counts[cap_offsets[r]:]``.

    ``num_counts[r]`` gets the number of counts. ``cols`` / ``tmp`` are scratch of at
    least a ring's crossings, ``hist`` of at least a ring's column span plus one (the
    bounds of :func:`polygon_bound_range`).
    """
    _polygon_range(
        pointer(xy, _f8),
        *_i64s(ring_offsets, height, width),
        lo,
        hi,
        *_i64s(cap_offsets, counts, num_counts, cols, tmp, hist),
    )


def union_range(
    counts: np.ndarray,
    run_start: np.ndarray,
    run_end: np.ndarray,
    length: np.ndarray,
    member_start: np.ndarray,
    member_end: np.ndarray,
    lo: int,
    hi: int,
    cap_offsets: np.ndarray,
    out: np.ndarray,
    num_out: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
) -> None:
    """Union of the masks of groups ``[lo, hi)`` (groups of 2+ masks of one size).

    Mask ``i``'s runs are ``counts[run_start[i]:run_end[i]]``; group ``q``'s masks are
    ``member_start[q]:member_end[q]``; the union is written canonically into
    ``out[cap_offsets[q]:]``, its number of counts into ``num_out[q]``. ``starts`` /
    ``ends`` are scratch of at least the largest number of ones runs of a group in the
    range (sorted there by a stable sort in C, numba's ``argsort(kind="mergesort")``).
    """
    _union_range(
        *_i64s(counts, run_start, run_end, length, member_start, member_end),
        lo,
        hi,
        *_i64s(cap_offsets, out, num_out, starts, ends),
    )


def string_runs_range(
    buf: np.ndarray, ends: np.ndarray, lo: int, hi: int, runs: np.ndarray, bad: np.ndarray
) -> None:
    """Per string ``[lo, hi)``: number of values and whether its characters are bad.

    ``buf``: uint8 characters of the strings, ending at ``ends``; ``bad``: bool.
    """
    _string_runs_range(
        pointer(buf, _u1), pointer(ends, _i8), lo, hi, pointer(runs, _i8), pointer(bad, _b1)
    )


def decode_strings_range(
    buf: np.ndarray,
    ends: np.ndarray,
    offsets: np.ndarray,
    lo: int,
    hi: int,
    counts: np.ndarray,
    bad: np.ndarray,
) -> None:
    """``rleFrString`` of strings ``[lo, hi)`` (good characters) into ``counts``.

    ``bad[i]`` is set for a value of more than 12 characters or a count outside
    ``[0, 2**32)``.
    """
    _decode_strings_range(
        pointer(buf, _u1), *_i64s(ends, offsets), lo, hi, pointer(counts, _i8), pointer(bad, _b1)
    )
