"""Compiled (numba) CPU loops of the RLE mask kernels; imported by :mod:`._compiled` only.

Each function is the per-mask (or per-pair) loop that ``maskApi.c`` runs, over one
range ``[lo, hi)`` of its items, writing into arrays the caller allocated: the caller
splits the items over threads (the functions release the GIL). Every function gives
what the eager torch path of :mod:`.masks` gives, bit for bit (tests compare them on
random and degenerate inputs); that path is the reference, pycocotools' behaviour is
documented there.

All arrays are int64 / float64 / uint8 numpy arrays, C-contiguous. mypy skips this
module (``pyproject.toml``): its bodies are numba's typed loops, not Python's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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

_WRAP = 1 << 32  # maskApi's uint arithmetic
_MAX_CHARS = 12
_MAX_COUNT = 1 << 32


@njit(cache=True, nogil=True)
def _box_of(counts, lo, hi, h, w, out):
    """``rleToBbox`` of one mask from its non-empty ones runs (as ``masks._box``)."""
    if hi - lo < 2:
        out[0] = 0.0
        out[1] = 0.0
        out[2] = 0.0
        out[3] = 0.0
        return
    hh = max(h, 1)
    xs, ys, xe, ye = w, h, 0, 0
    pos = 0
    for j in range(lo, hi):
        c = counts[j]
        if (j - lo) & 1 and c > 0:
            last = pos + c - 1
            x0 = pos // hh
            x1 = last // hh
            if x0 < x1:  # a run that crosses a column spans the full height
                y0, y1 = 0, hh - 1
            else:
                y0, y1 = pos - x0 * hh, last - x1 * hh
            xs = min(xs, x0)
            xe = max(xe, x1)
            ys = min(ys, y0)
            ye = max(ye, y1)
        pos += c
    out[0] = xs
    out[1] = ys
    out[2] = (xe - xs + 1) % _WRAP
    out[3] = (ye - ys + 1) % _WRAP


@njit(cache=True, nogil=True)
def box_range(counts, offsets, height, width, lo, hi, out):
    """``out[i]`` = ``xywh`` box of mask ``i`` for ``i`` in ``[lo, hi)``."""
    for i in range(lo, hi):
        _box_of(counts, offsets[i], offsets[i + 1], height[i], width[i], out[i])


@njit(cache=True, nogil=True)
def copy_ranges(src, starts, lengths, out_offsets, lo, hi, out):
    """``out[out_offsets[i]:][:lengths[i]] = src[starts[i]:][:lengths[i]]``, i in [lo, hi)."""
    for i in range(lo, hi):
        o, s = out_offsets[i], starts[i]
        for j in range(lengths[i]):
            out[o + j] = src[s + j]


@njit(cache=True, nogil=True)
def area_range(counts, offsets, lo, hi, out):
    """``out[i]`` = set pixels of mask ``i`` (sum of its odd-indexed counts)."""
    for i in range(lo, hi):
        a = 0
        for j in range(offsets[i] + 1, offsets[i + 1], 2):
            a += counts[j]
        out[i] = a


@njit(cache=True, nogil=True)
def iou_pairs_range(
    dc, do, dh, dw, dbox, gc, go, gh, gw, gbox, pair_dt, pair_gt, crowd, lo, hi, out
):
    """``rleIou`` of pairs ``[lo, hi)``: box test, size test, then the merge loop."""
    for p in range(lo, hi):
        d = pair_dt[p]
        g = pair_gt[p]
        out[p] = 0.0
        bd = dbox[d]
        bg = gbox[g]
        w = min(bd[2] + bd[0], bg[2] + bg[0]) - max(bd[0], bg[0])
        if w <= 0:
            continue
        h = min(bd[3] + bd[1], bg[3] + bg[1]) - max(bd[1], bg[1])
        if h <= 0:
            continue
        if dh[d] != gh[g] or dw[d] != gw[g]:
            out[p] = -1.0
            continue
        a0, ka = do[d], do[d + 1] - do[d]
        b0, kb = go[g], go[g + 1] - go[g]
        ca = dc[a0] if ka > 0 else 0
        cb = gc[b0] if kb > 0 else 0
        a, b = 1, 1
        va, vb = False, False
        inter, union, ct = 0, 0, 1
        while ct > 0:  # maskApi's loop, early stop included
            c = min(ca, cb)
            if va or vb:
                union += c
                if va and vb:
                    inter += c
            ct = 0
            ca -= c
            moved = False
            if ca == 0 and a < ka:
                ca = dc[a0 + a]
                a += 1
                va = not va
                moved = True
            ct += ca
            cb -= c
            if cb == 0 and b < kb:
                cb = gc[b0 + b]
                b += 1
                vb = not vb
                moved = True
            ct += cb
            if c == 0 and not moved:  # runs of unequal totals (not a valid pair): maskApi
                break  # would loop forever here
        if inter == 0:
            continue
        if crowd[p]:  # the detection's area: its (non-empty) ones runs, as the torch path
            union = 0
            for j in range(a0 + 1, a0 + ka, 2):
                union += max(dc[j], 0)
        out[p] = inter / max(union, 1)  # as the torch path (only invalid runs reach 0)


@njit(cache=True, nogil=True)
def _scaled(v):
    """``(int)(5 * v + .5)``: C's truncation toward zero."""
    return np.int64(5.0 * v + 0.5)


@njit(cache=True, nogil=True)
def _edge(xy, s, k, j):
    """Edge ``j`` of the ring at ``s`` (``k`` vertices) in ``rleFrPoly``'s flipped frame.

    Returns ``(x0, x1, y0, y1, dx, dy, n_lo, n_hi)``: the columns ``n_lo..n_hi``
    (before the image-width cut) are those whose centre line ``u = 5n+2 | 5n+3`` the
    upsampled edge crosses.
    """
    nj = s + j + 1 if j + 1 < k else s
    xs, ys = _scaled(xy[s + j, 0]), _scaled(xy[s + j, 1])
    xe, ye = _scaled(xy[nj, 0]), _scaled(xy[nj, 1])
    dx, dy = abs(xe - xs), abs(ys - ye)
    if (dx >= dy and xs > xe) or (dx < dy and ys > ye):
        xs, xe = xe, xs
        ys, ye = ye, ys
    lo, hi = min(xs, xe), max(xs, xe)
    n_lo = max((lo + 2) // 5, 0)  # ceil((lo - 2) / 5)
    n_hi = (hi - 3) // 5
    return xs, xe, ys, ye, dx, dy, n_lo, n_hi


@njit(cache=True, nogil=True)
def polygon_bound_range(xy, ring_offsets, width, lo, hi, out, span):
    """Room for each ring's counts and the width of its counting sort.

    ``out[r]``: the number of column crossings of ring ``r``, plus one; ``span[r]``:
    the number of columns from its first crossed column to its last.
    """
    for r in range(lo, hi):
        s, k = ring_offsets[r], ring_offsets[r + 1] - ring_offsets[r]
        total = 1
        first, last = width[r], -1
        for j in range(k):
            n_lo, n_hi = _edge(xy, s, k, j)[6:]
            n_hi = min(n_hi, width[r] - 1)
            if n_hi >= n_lo:
                total += n_hi - n_lo + 1
                first = min(first, n_lo)
                last = max(last, n_hi)
        out[r] = total
        span[r] = max(last - first + 1, 0)


@njit(cache=True, nogil=True)
def polygon_range(
    xy, ring_offsets, height, width, lo, hi, cap_offsets, counts, num_counts, cols, tmp, hist
):
    """``rleFrPoly`` of rings ``[lo, hi)`` into ``counts[cap_offsets[r]:]``.

    The boundary points that survive ``rleFrPoly``'s downsampling are where the
    upsampled boundary crosses a column's centre line; they are computed per column
    (as ``masks._shallow_crossings`` / ``_steep_crossings`` do, the same double
    expressions) instead of walking every upsampled point; consecutive points of
    two edges (the shared vertex) never survive. Then maskApi's sort (here by column,
    then within the column), differences and folding of repeated points.
    ``num_counts[r]`` gets the number of counts. ``cols`` / ``tmp`` are scratch of at
    least a ring's crossings, ``hist`` of at least a ring's column span plus one.
    """
    for r in range(lo, hi):
        s, k = ring_offsets[r], ring_offsets[r + 1] - ring_offsets[r]
        h, w = height[r], width[r]
        base = cap_offsets[r]
        m = 0
        n_min, n_max = w, -1
        for j in range(k):
            x0, x1, y0, y1, dx, dy, n_lo, n_hi = _edge(xy, s, k, j)
            n_hi = min(n_hi, w - 1)
            for n in range(n_lo, n_hi + 1):
                target = 5 * n + 2
                if dx >= dy:  # u = x0 + t: the pair (t, t + 1) with u = 5n + 2
                    sl = (y1 - y0) / dx
                    t = float(target - x0)
                    v0 = np.trunc((y0 + sl * t) + 0.5)
                    v1 = np.trunc((y0 + sl * (t + 1.0)) + 0.5)
                    yv = min(v0, v1)
                else:  # v = y0 + t: the last t on the near side of the centre line
                    sl = (x1 - x0) / dy
                    est_f = (target + 0.5 - x0) / sl
                    est = np.int64(np.floor(min(max(est_f, -1.0), 2.0**52)))
                    last_t = 0
                    rising = x1 > x0
                    for off in range(-2, 3):
                        t_i = min(max(est + off, 0), dy - 1)
                        u = np.int64(np.trunc((x0 + sl * t_i) + 0.5))
                        near = (u <= target) == rising  # rising: u <= target, else u > target
                        last_t = max(last_t, t_i * near)  # branch-free
                    yv = float(y0 + last_t)
                yd = (yv + 0.5) / 5.0 - 0.5
                if yd < 0:
                    yd = 0.0
                elif yd > h:
                    yd = float(h)
                tmp[m] = n * h + np.int64(np.ceil(yd))
                cols[m] = n
                m += 1
                n_min = min(n_min, n)
                n_max = max(n_max, n)
        # Sort by column (counting), then within each column (a few points each).
        span = n_max - n_min + 1 if m else 0
        for c in range(span + 1):
            hist[c] = 0
        for i in range(m):
            hist[cols[i] - n_min + 1] += 1
        for c in range(span):
            hist[c + 1] += hist[c]
        for i in range(m):
            c = cols[i] - n_min
            counts[base + hist[c]] = tmp[i]
            hist[c] += 1
        for i in range(1, m):  # insertion sort: in order across columns already
            v = counts[base + i]
            q = i - 1
            while q >= 0 and counts[base + q] > v:
                counts[base + q + 1] = counts[base + q]
                q -= 1
            counts[base + q + 1] = v
        counts[base + m] = h * w
        m += 1
        # maskApi: differences, a zero difference folded with the next (toggle parity).
        prev = counts[base]
        out_m = 1
        j = 1
        while j < m:
            cur = counts[base + j]
            if cur > prev:
                counts[base + out_m] = cur - prev
                out_m += 1
                j += 1
                prev = cur
            else:
                j += 1
                if j < m:
                    nxt = counts[base + j]
                    counts[base + out_m - 1] += nxt - cur
                    j += 1
                    prev = nxt
        num_counts[r] = out_m


@njit(cache=True, nogil=True)
def union_range(
    counts,
    run_start,
    run_end,
    length,
    member_start,
    member_end,
    lo,
    hi,
    cap_offsets,
    out,
    num_out,
    starts,
    ends,
):
    """Union of the masks of groups ``[lo, hi)`` (groups of 2+ masks of one size).

    Mask ``i``'s runs are ``counts[run_start[i]:run_end[i]]``; group ``q``'s masks are
    ``member_start[q]:member_end[q]``; the union is written canonically (a leading count, then
    toggles below ``length[q]``, then the rest) into ``out[cap_offsets[q]:]``, its
    number of counts into ``num_out[q]``. ``starts`` / ``ends`` are scratch of at
    least the largest number of ones runs of a group in the range.
    """
    for q in range(lo, hi):
        n = 0
        for i in range(member_start[q], member_end[q]):
            pos = 0
            for j in range(run_start[i], run_end[i]):
                c = counts[j]
                if (j - run_start[i]) & 1 and c > 0:
                    starts[n] = pos
                    ends[n] = pos + c
                    n += 1
                pos += c
        order = np.argsort(starts[:n], kind="mergesort")
        base = cap_offsets[q]
        total = length[q]
        m = 0
        last = 0  # position of the last toggle written (0: none yet)
        cur_s, cur_e = -1, -1
        for oi in range(n + 1):
            if oi < n:
                s0, e0 = starts[order[oi]], ends[order[oi]]
                if cur_e >= 0 and s0 <= cur_e:  # touches or overlaps: extend
                    cur_e = max(cur_e, e0)
                    continue
            if cur_e >= 0 and cur_s < total:  # close the interval: toggles at its ends
                out[base + m] = cur_s - last
                m += 1
                last = cur_s
                if cur_e < total:
                    out[base + m] = cur_e - last
                    m += 1
                    last = cur_e
            if oi < n:
                cur_s, cur_e = s0, e0
        out[base + m] = total - last
        m += 1
        num_out[q] = m


@njit(cache=True, nogil=True)
def string_runs_range(buf, ends, lo, hi, runs, bad):
    """Per string ``[lo, hi)``: number of values and whether its characters are bad.

    A string is bad when a character lies outside ``'0'..'o'`` or it ends inside a
    value (its last character has the continuation bit).
    """
    for i in range(lo, hi):
        s = ends[i - 1] if i > 0 else 0
        e = ends[i]
        n = 0
        b = False
        for p in range(s, e):
            c = np.int64(buf[p]) - 48
            if c < 0 or c > 63:
                b = True
            elif (c & 0x20) == 0:
                n += 1
        if e > s and ((np.int64(buf[e - 1]) - 48) & 0x20) != 0:
            b = True
        runs[i] = n
        bad[i] = b


@njit(cache=True, nogil=True)
def decode_strings_range(buf, ends, offsets, lo, hi, counts, bad):
    """``rleFrString`` of strings ``[lo, hi)`` (good characters) into ``counts``.

    ``bad[i]`` is set for a value of more than 12 characters or a count outside
    ``[0, 2**32)``.
    """
    for i in range(lo, hi):
        if bad[i]:
            continue
        s = ends[i - 1] if i > 0 else 0
        p = s
        e = ends[i]
        m = 0
        o = offsets[i]
        while p < e:
            x = np.int64(0)
            k = 0
            more = True
            while more:
                c = np.int64(buf[p]) - 48
                if k < _MAX_CHARS:
                    x |= (c & 0x1F) << (5 * k)
                more = (c & 0x20) != 0
                p += 1
                k += 1
                if not more and (c & 0x10) and k <= _MAX_CHARS:
                    x |= np.int64(-1) << (5 * k)
            if k > _MAX_CHARS:
                bad[i] = True
            if m > 2:
                x += counts[o + m - 2]
            if x < 0 or x >= _MAX_COUNT:
                bad[i] = True
            counts[o + m] = x
            m += 1
