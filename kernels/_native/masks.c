/* C loops of the RLE mask kernels: kernels/_numba_kernels.py's functions, same
 * arguments (pointers to C-contiguous int64 / float64 / uint8 arrays, then int64
 * scalars), same results bit for bit. Each runs over one range [lo, hi) of its items
 * and is called without the GIL (ctypes), one range per thread.
 *
 * numba's semantics, kept here: `//` and `%` on int64 are Python's floor division and
 * modulo (floordiv64 / floormod64, never C's truncating `/` and `%`); `a / b` on int64
 * is a double division of the two converted values; np.int64(x) of a double truncates
 * (a C cast); min(a, b) is `b < a ? b : a` and max(a, b) `b > a ? b : a`; int64
 * arithmetic wraps (uint64 in the string decoding, whose values can overflow; elsewhere
 * the callers' checks keep sizes below 2**62 pixels and run sums from wrapping, and the
 * build adds -fwrapv). The
 * file is compiled with -ffp-contract=off: no fused multiply-adds, every double
 * expression rounds as numba's does. numpy bool_ arrays are one byte: uint8_t. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"

#define WRAP ((int64_t)1 << 32) /* maskApi's uint arithmetic */
#define MAX_CHARS 12
#define MAX_COUNT ((int64_t)1 << 32)

static inline double minf64(double a, double b) { return b < a ? b : a; }
static inline double maxf64(double a, double b) { return b > a ? b : a; }

/* rleToBbox of one mask from its non-empty ones runs (as masks._box). */
static void box_of(const int64_t *counts, int64_t lo, int64_t hi, int64_t h, int64_t w,
                   double *out) {
    if (hi - lo < 2) {
        out[0] = 0.0;
        out[1] = 0.0;
        out[2] = 0.0;
        out[3] = 0.0;
        return;
    }
    int64_t hh = max64(h, 1);
    int64_t xs = w, ys = h, xe = 0, ye = 0;
    int64_t pos = 0;
    for (int64_t j = lo; j < hi; j++) {
        int64_t c = counts[j];
        if (((j - lo) & 1) && c > 0) {
            int64_t last = pos + c - 1;
            int64_t x0 = floordiv64(pos, hh);
            int64_t x1 = floordiv64(last, hh);
            int64_t y0, y1;
            if (x0 < x1) { /* a run that crosses a column spans the full height */
                y0 = 0;
                y1 = hh - 1;
            } else {
                y0 = pos - x0 * hh;
                y1 = last - x1 * hh;
            }
            xs = min64(xs, x0);
            xe = max64(xe, x1);
            ys = min64(ys, y0);
            ye = max64(ye, y1);
        }
        pos += c;
    }
    out[0] = (double)xs;
    out[1] = (double)ys;
    out[2] = (double)floormod64(xe - xs + 1, WRAP); /* no ones run: 2**32 + 1 - w */
    out[3] = (double)floormod64(ye - ys + 1, WRAP);
}

/* out[i] (a row of 4 doubles) = xywh box of mask i for i in [lo, hi). */
ASSAY_EXPORT void box_range(const int64_t *counts, const int64_t *offsets, const int64_t *height,
                            const int64_t *width, int64_t lo, int64_t hi, double *out) {
    for (int64_t i = lo; i < hi; i++)
        box_of(counts, offsets[i], offsets[i + 1], height[i], width[i], out + 4 * i);
}

/* out[out_offsets[i]:][:lengths[i]] = src[starts[i]:][:lengths[i]], i in [lo, hi). */
ASSAY_EXPORT void copy_ranges(const int64_t *src, const int64_t *starts, const int64_t *lengths,
                              const int64_t *out_offsets, int64_t lo, int64_t hi, int64_t *out) {
    for (int64_t i = lo; i < hi; i++) {
        const int64_t o = out_offsets[i], s = starts[i], n = lengths[i];
        for (int64_t j = 0; j < n; j++) out[o + j] = src[s + j];
    }
}

/* out[i] = set pixels of mask i (sum of its odd-indexed counts). */
ASSAY_EXPORT void area_range(const int64_t *counts, const int64_t *offsets, int64_t lo,
                             int64_t hi, int64_t *out) {
    for (int64_t i = lo; i < hi; i++) {
        int64_t a = 0;
        for (int64_t j = offsets[i] + 1; j < offsets[i + 1]; j += 2) a += counts[j];
        out[i] = a;
    }
}

/* rleIou of pairs [lo, hi): box test, size test, then maskApi's merge loop (its early
 * stop included; runs of unequal totals stop where maskApi would loop forever). */
ASSAY_EXPORT void iou_pairs_range(const int64_t *dc, const int64_t *d_off, const int64_t *dh,
                                  const int64_t *dw, const double *dbox, const int64_t *gc,
                                  const int64_t *g_off, const int64_t *gh, const int64_t *gw,
                                  const double *gbox, const int64_t *pair_dt,
                                  const int64_t *pair_gt, const uint8_t *crowd, int64_t lo,
                                  int64_t hi, double *out) {
    for (int64_t p = lo; p < hi; p++) {
        const int64_t d = pair_dt[p], g = pair_gt[p];
        out[p] = 0.0;
        const double *bd = dbox + 4 * d, *bg = gbox + 4 * g;
        double w = minf64(bd[2] + bd[0], bg[2] + bg[0]) - maxf64(bd[0], bg[0]);
        if (w <= 0) continue;
        double h = minf64(bd[3] + bd[1], bg[3] + bg[1]) - maxf64(bd[1], bg[1]);
        if (h <= 0) continue;
        if (dh[d] != gh[g] || dw[d] != gw[g]) {
            out[p] = -1.0;
            continue;
        }
        const int64_t a0 = d_off[d], ka = d_off[d + 1] - d_off[d];
        const int64_t b0 = g_off[g], kb = g_off[g + 1] - g_off[g];
        int64_t ca = ka > 0 ? dc[a0] : 0;
        int64_t cb = kb > 0 ? gc[b0] : 0;
        int64_t a = 1, b = 1;
        int va = 0, vb = 0;
        int64_t inter = 0, uni = 0, ct = 1;
        while (ct > 0) {
            int64_t c = min64(ca, cb);
            if (va || vb) {
                uni += c;
                if (va && vb) inter += c;
            }
            ct = 0;
            ca -= c;
            int moved = 0;
            if (ca == 0 && a < ka) {
                ca = dc[a0 + a];
                a++;
                va = !va;
                moved = 1;
            }
            ct += ca;
            cb -= c;
            if (cb == 0 && b < kb) {
                cb = gc[b0 + b];
                b++;
                vb = !vb;
                moved = 1;
            }
            ct += cb;
            if (c == 0 && !moved) break; /* unequal totals: maskApi would loop forever */
        }
        if (inter == 0) continue;
        if (crowd[p]) { /* the detection's area: its (non-empty) ones runs */
            uni = 0;
            for (int64_t j = a0 + 1; j < a0 + ka; j += 2) uni += max64(dc[j], 0);
        }
        out[p] = (double)inter / (double)max64(uni, 1);
    }
}

/* (int)(5 * v + .5): C's truncation toward zero, as np.int64 of the double. */
static inline int64_t scaled(double v) { return (int64_t)(5.0 * v + 0.5); }

typedef struct {
    int64_t x0, x1, y0, y1, dx, dy, n_lo, n_hi;
} Edge;

/* Edge j of the ring at s (k vertices) in rleFrPoly's flipped frame; the columns
 * n_lo..n_hi (before the image-width cut) are those whose centre line u = 5n+2 | 5n+3
 * the upsampled edge crosses. */
static inline Edge edge_of(const double *xy, int64_t s, int64_t k, int64_t j) {
    const int64_t nj = j + 1 < k ? s + j + 1 : s;
    const int64_t xs = scaled(xy[2 * (s + j)]), ys = scaled(xy[2 * (s + j) + 1]);
    const int64_t xe = scaled(xy[2 * nj]), ye = scaled(xy[2 * nj + 1]);
    const int64_t dx = xe >= xs ? xe - xs : xs - xe;
    const int64_t dy = ys >= ye ? ys - ye : ye - ys;
    /* (dx >= dy and xs > xe) or (dx < dy and ys > ye): swap the ends (selects, not
     * branches: the orientation of consecutive edges is unpredictable) */
    const int swap = dx >= dy ? xs > xe : ys > ye;
    const int64_t lo = min64(xs, xe), hi = max64(xs, xe);
    Edge e = {swap ? xe : xs, swap ? xs : xe, swap ? ye : ys, swap ? ys : ye, dx, dy,
              max64(floordiv64(lo + 2, 5), 0), floordiv64(hi - 3, 5)};
    return e; /* n_lo = ceil((lo - 2) / 5) */
}

/* np.int64(np.floor(x)) and np.int64(np.ceil(x)), exactly, without a libm call (plain
 * x86-64 has no rounding instruction): a cast truncates toward zero, then one step
 * down / up where that was not the floor / ceiling. For |x| < 2**62 (the callers'
 * range: beyond 2**52 every double is an integer, and the cast of one is exact);
 * other values (never passed) take libm's. */
static inline int64_t floor_i64(double x) {
    if (!(fabs(x) < 0x1p62)) return (int64_t)floor(x);
    const int64_t i = (int64_t)x;
    return i - ((double)i > x);
}
static inline int64_t ceil_i64(double x) {
    if (!(fabs(x) < 0x1p62)) return (int64_t)ceil(x);
    const int64_t i = (int64_t)x;
    return i + ((double)i < x);
}

/* Room for each ring's counts (out[r]: its column crossings plus one) and the width of
 * its counting sort (span[r]: columns from its first crossed column to its last). */
ASSAY_EXPORT void polygon_bound_range(const double *xy, const int64_t *ring_offsets,
                                      const int64_t *width, int64_t lo, int64_t hi, int64_t *out,
                                      int64_t *span) {
    for (int64_t r = lo; r < hi; r++) {
        const int64_t s = ring_offsets[r], k = ring_offsets[r + 1] - ring_offsets[r];
        int64_t total = 1, first = width[r], last = -1;
        for (int64_t j = 0; j < k; j++) {
            const Edge e = edge_of(xy, s, k, j);
            const int64_t n_hi = min64(e.n_hi, width[r] - 1);
            if (n_hi >= e.n_lo) {
                total += n_hi - e.n_lo + 1;
                first = min64(first, e.n_lo);
                last = max64(last, n_hi);
            }
        }
        out[r] = total;
        span[r] = max64(last - first + 1, 0);
    }
}

/* The row of the boundary point of a shallow edge (dx >= dy) in the column of centre
 * line target = 5n + 2: u = x0 + t, the pair (t, t + 1) with u = target. sl = (y1 - y0)
 * / dx, the same for every column of the edge. */
static inline double shallow_row(const Edge *e, double sl, int64_t target) {
    const double t = (double)(target - e->x0);
    const double v0 = trunc(((double)e->y0 + sl * t) + 0.5);
    const double v1 = trunc(((double)e->y0 + sl * (t + 1.0)) + 0.5);
    return minf64(v0, v1);
}

/* The same for a steep edge (dx < dy), sl = (x1 - x0) / dy: v = y0 + t, the last t on
 * the near side of the centre line (rising: u <= target, else u > target) among the
 * five t around the estimate of the crossing (numba: the largest t_i * near of the
 * five, 0 when none is near). The t_i do not decrease with off, so the first near one
 * from the top is that largest: usually off = 0, after the two beyond the crossing. */
static inline double steep_row(const Edge *e, double sl, int64_t target) {
    const double est_f = (((double)target + 0.5) - (double)e->x0) / sl;
    const int64_t est = floor_i64(minf64(maxf64(est_f, -1.0), 4503599627370496.0));
    const int rising = e->x1 > e->x0;
    int64_t last_t = 0;
    for (int64_t off = 2; off >= -2; off--) {
        const int64_t t_i = min64(max64(est + off, 0), e->dy - 1);
        const int64_t u = (int64_t)(((double)e->x0 + sl * (double)t_i) + 0.5); /* trunc */
        if ((u <= target) == rising) {
            last_t = t_i; /* in [0, dy - 1] */
            break;
        }
    }
    return (double)(e->y0 + last_t);
}

/* Point of column n at row yv (an integer): n * h + ceil(yd), yd = (yv + 0.5) / 5.0 -
 * 0.5 cut to [0, h], as numba computes it. Without the division: the exact value of yd
 * is (yv - 2) / 5, either an integer N (then yv + 0.5 = 5N + 2.5, and the division and
 * the subtraction are exact) or at least 0.2 away from every integer, far beyond the
 * rounding of the two steps for |yv| < 2**40; so yd < 0, yd > h and ceil(yd) are those
 * of the exact value: yv < 2, yv - 2 > 5h and floor((yv + 2) / 5). Other values (never
 * passed: vertices are within +-2**31 / 5) take numba's expression. */
static inline int64_t point_of(double yv, int64_t n, int64_t h) {
    if (fabs(yv) < 0x1p40 && h < ((int64_t)1 << 40)) {
        const int64_t y = (int64_t)yv;
        const int64_t c = y < 2 ? 0 : y - 2 > 5 * h ? h : floordiv64(y + 2, 5);
        return n * h + c;
    }
    double yd = (yv + 0.5) / 5.0 - 0.5;
    if (yd < 0)
        yd = 0.0;
    else if (yd > (double)h)
        yd = (double)h;
    return n * h + ceil_i64(yd);
}

/* Sorts v[a:b] in place (an insertion sort: a few values, or nearly in order). */
static void insertion_sort(int64_t *v, int64_t a, int64_t b) {
    for (int64_t i = a + 1; i < b; i++) {
        const int64_t x = v[i];
        int64_t q = i - 1;
        while (q >= a && v[q] > x) {
            v[q + 1] = v[q];
            q--;
        }
        v[q + 1] = x;
    }
}

/* rleFrPoly of rings [lo, hi) into counts[cap_offsets[r]:], num_counts[r] = its
 * number of counts: the boundary points that survive the downsampling, one per
 * crossed column centre line, sorted (by column, then within the column), then
 * maskApi's differences and folding of repeated points. cols / tmp: scratch of at
 * least a ring's crossings, hist of at least a ring's column span plus one. */
ASSAY_EXPORT void polygon_range(const double *xy, const int64_t *ring_offsets,
                                const int64_t *height, const int64_t *width, int64_t lo,
                                int64_t hi, const int64_t *cap_offsets, int64_t *counts,
                                int64_t *num_counts, int64_t *cols, int64_t *tmp, int64_t *hist) {
    for (int64_t r = lo; r < hi; r++) {
        const int64_t s = ring_offsets[r], k = ring_offsets[r + 1] - ring_offsets[r];
        const int64_t h = height[r], w = width[r];
        int64_t *const out = counts + cap_offsets[r];
        int64_t m = 0, n_min = w, n_max = -1;
        for (int64_t j = 0; j < k; j++) {
            const Edge e = edge_of(xy, s, k, j);
            const int64_t n_hi = min64(e.n_hi, w - 1);
            if (n_hi < e.n_lo) continue;
            n_min = min64(n_min, e.n_lo);
            n_max = max64(n_max, n_hi);
            if (e.dx >= e.dy) { /* the edge's slope once (numba's loop recomputes it) */
                const double sl = (double)(e.y1 - e.y0) / (double)e.dx;
                for (int64_t n = e.n_lo; n <= n_hi; n++, m++) {
                    tmp[m] = point_of(shallow_row(&e, sl, 5 * n + 2), n, h);
                    cols[m] = n;
                }
            } else {
                const double sl = (double)(e.x1 - e.x0) / (double)e.dy;
                for (int64_t n = e.n_lo; n <= n_hi; n++, m++) {
                    tmp[m] = point_of(steep_row(&e, sl, 5 * n + 2), n, h);
                    cols[m] = n;
                }
            }
        }
        /* Sort by column (counting), then within each column (a few points each). */
        const int64_t span = m ? n_max - n_min + 1 : 0;
        for (int64_t c = 0; c < span + 1; c++) hist[c] = 0;
        for (int64_t i = 0; i < m; i++) hist[cols[i] - n_min + 1] += 1;
        for (int64_t c = 0; c < span; c++) hist[c + 1] += hist[c];
        for (int64_t i = 0; i < m; i++) {
            const int64_t c = cols[i] - n_min;
            out[hist[c]] = tmp[i];
            hist[c] += 1;
        }
        /* Within each column [hist[c - 1], hist[c]): with h >= 0 column n's points are
         * in [n * h, n * h + h], so sorted columns are a sorted whole (numba's insertion
         * sort over all points gives the same values). Two points (the usual column of a
         * ring): a compare-exchange without a branch; more: an insertion sort. */
        if (h < 0) { /* never passed (sizes are checked): numba's sort of all points */
            insertion_sort(out, 0, m);
        } else {
            for (int64_t c = 0, a = 0; c < span; c++) {
                const int64_t b = hist[c];
                if (b - a == 2) {
                    const int64_t x = out[a], y = out[a + 1];
                    out[a] = min64(x, y);
                    out[a + 1] = max64(x, y);
                } else {
                    insertion_sort(out, a, b);
                }
                a = b;
            }
        }
        out[m] = h * w;
        m++;
        /* maskApi: differences, a zero difference folded with the next (toggle parity). */
        int64_t prev = out[0], out_m = 1, j = 1;
        while (j < m) {
            const int64_t cur = out[j];
            if (cur > prev) {
                out[out_m] = cur - prev;
                out_m++;
                j++;
                prev = cur;
            } else {
                j++;
                if (j < m) {
                    const int64_t nxt = out[j];
                    out[out_m - 1] += nxt - cur;
                    j++;
                    prev = nxt;
                }
            }
        }
        num_counts[r] = out_m;
    }
}

/* Merges s[a:mid] and s[mid:end] (with their e) into ds / de, the left one first on
 * equal starts (stable). */
static void merge_runs(const int64_t *s, const int64_t *e, int64_t a, int64_t mid, int64_t end,
                       int64_t *ds, int64_t *de) {
    int64_t i = a, j = mid, o = a;
    while (i < mid && j < end) {
        if (s[j] < s[i]) {
            ds[o] = s[j];
            de[o++] = e[j++];
        } else {
            ds[o] = s[i];
            de[o++] = e[i++];
        }
    }
    while (i < mid) {
        ds[o] = s[i];
        de[o++] = e[i++];
    }
    while (j < end) {
        ds[o] = s[j];
        de[o++] = e[j++];
    }
}

/* End of the nondecreasing run of s that starts at a (< n). */
static inline int64_t ascending_end(const int64_t *s, int64_t a, int64_t n) {
    int64_t i = a + 1;
    while (i < n && s[i - 1] <= s[i]) i++;
    return i;
}

/* Sorts the pairs (s[i], e[i]) by s, stably: the order of np.argsort(s,
 * kind="mergesort"). A natural merge sort (each mask's ones runs are already in order,
 * so a group of k masks takes about log2(k) passes) through *buf, a scratch of 2 * n
 * int64 grown here (*cap: its size); without memory, an insertion sort (also stable). */
static void sort_by_start(int64_t *s, int64_t *e, int64_t n, int64_t **buf, int64_t *cap) {
    if (n < 2 || ascending_end(s, 0, n) == n) return;
    if (*cap < 2 * n) {
        int64_t *grown = realloc(*buf, sizeof(int64_t) * (size_t)(2 * n));
        if (grown != NULL) {
            *buf = grown;
            *cap = 2 * n;
        }
    }
    if (*cap < 2 * n) { /* no memory: in place, quadratic, same order */
        for (int64_t i = 1; i < n; i++) {
            const int64_t vs = s[i], ve = e[i];
            int64_t q = i - 1;
            while (q >= 0 && s[q] > vs) {
                s[q + 1] = s[q];
                e[q + 1] = e[q];
                q--;
            }
            s[q + 1] = vs;
            e[q + 1] = ve;
        }
        return;
    }
    int64_t *ss = s, *se = e, *ds = *buf, *de = *buf + n;
    for (;;) {
        int64_t runs = 0;
        for (int64_t a = 0; a < n; runs++) {
            const int64_t mid = ascending_end(ss, a, n);
            const int64_t end = mid < n ? ascending_end(ss, mid, n) : n;
            merge_runs(ss, se, a, mid, end, ds, de);
            a = end;
        }
        int64_t *t = ss;
        ss = ds;
        ds = t;
        t = se;
        se = de;
        de = t;
        if (runs == 1) break;
    }
    if (ss != s) {
        memcpy(s, ss, sizeof(int64_t) * (size_t)n);
        memcpy(e, se, sizeof(int64_t) * (size_t)n);
    }
}

/* Union of the masks of groups [lo, hi) (groups of 2+ masks of one size): mask i's
 * runs are counts[run_start[i]:run_end[i]], group q's masks member_start[q] to
 * member_end[q]; the union is written canonically (a leading count, then toggles below
 * length[q], then the rest) into out[cap_offsets[q]:], its number of counts into
 * num_out[q]. starts / ends: scratch of at least the largest number of ones runs of a
 * group in the range (left sorted by start). Any order of equal starts gives the same
 * union (starts >= 0 and ends > starts for the checked runs: an interval of a start
 * equal to the current one's always extends it, whichever comes first); the sort is
 * stable anyway, so even other runs give numba's result. */
ASSAY_EXPORT void union_range(const int64_t *counts, const int64_t *run_start,
                              const int64_t *run_end, const int64_t *length,
                              const int64_t *member_start, const int64_t *member_end,
                              int64_t lo, int64_t hi, const int64_t *cap_offsets, int64_t *out,
                              int64_t *num_out, int64_t *starts, int64_t *ends) {
    int64_t *buf = NULL, cap = 0;
    for (int64_t q = lo; q < hi; q++) {
        int64_t n = 0;
        for (int64_t i = member_start[q]; i < member_end[q]; i++) {
            int64_t pos = 0;
            for (int64_t j = run_start[i]; j < run_end[i]; j++) {
                const int64_t c = counts[j];
                if (((j - run_start[i]) & 1) && c > 0) {
                    starts[n] = pos;
                    ends[n] = pos + c;
                    n++;
                }
                pos += c;
            }
        }
        sort_by_start(starts, ends, n, &buf, &cap);
        int64_t *const o = out + cap_offsets[q];
        const int64_t total = length[q];
        int64_t m = 0, last = 0; /* last: position of the last toggle written (0: none) */
        int64_t cur_s = -1, cur_e = -1;
        for (int64_t oi = 0; oi < n + 1; oi++) {
            int64_t s0 = 0, e0 = 0;
            if (oi < n) {
                s0 = starts[oi];
                e0 = ends[oi];
                if (cur_e >= 0 && s0 <= cur_e) { /* touches or overlaps: extend */
                    cur_e = max64(cur_e, e0);
                    continue;
                }
            }
            if (cur_e >= 0 && cur_s < total) { /* close the interval: toggles at its ends */
                o[m++] = cur_s - last;
                last = cur_s;
                if (cur_e < total) {
                    o[m++] = cur_e - last;
                    last = cur_e;
                }
            }
            if (oi < n) {
                cur_s = s0;
                cur_e = e0;
            }
        }
        o[m++] = total - last;
        num_out[q] = m;
    }
    free(buf);
}

/* Per string [lo, hi): its number of values (runs[i]) and whether its characters are
 * bad (bad[i]: one outside '0'..'o', or the last one continues a value). */
ASSAY_EXPORT void string_runs_range(const uint8_t *buf, const int64_t *ends, int64_t lo,
                                    int64_t hi, int64_t *runs, uint8_t *bad) {
    for (int64_t i = lo; i < hi; i++) {
        const int64_t s = i > 0 ? ends[i - 1] : 0, e = ends[i];
        int64_t n = 0;
        uint8_t b = 0;
        for (int64_t p = s; p < e; p++) { /* without branches: vectorised */
            const uint8_t c = (uint8_t)(buf[p] - 48); /* wraps below '0': > 63 */
            const uint8_t good = c <= 63;
            b |= (uint8_t)!good;
            n += good & ((c & 0x20) == 0); /* a value ends here */
        }
        if (e > s && (((int64_t)buf[e - 1] - 48) & 0x20) != 0) b = 1;
        runs[i] = n;
        bad[i] = b;
    }
}

/* rleFrString of strings [lo, hi) (those not bad yet: good characters) into
 * counts[offsets[i]:]; bad[i] is set for a value of more than 12 characters or a count
 * outside [0, 2**32). Values and sums are built in uint64: numba's int64 wraps, and the
 * sign extension shifts -1 left. */
ASSAY_EXPORT void decode_strings_range(const uint8_t *buf, const int64_t *ends,
                                       const int64_t *offsets, int64_t lo, int64_t hi,
                                       int64_t *counts, uint8_t *bad) {
    for (int64_t i = lo; i < hi; i++) {
        if (bad[i]) continue;
        int64_t p = i > 0 ? ends[i - 1] : 0;
        const int64_t e = ends[i], o = offsets[i];
        int64_t m = 0;
        while (p < e) {
            uint64_t x = 0;
            int64_t k = 0;
            int more = 1;
            while (more) {
                const int64_t c = (int64_t)buf[p] - 48;
                if (k < MAX_CHARS) x |= (uint64_t)(c & 0x1F) << (5 * k);
                more = (c & 0x20) != 0;
                p++;
                k++;
                if (!more && (c & 0x10) && k <= MAX_CHARS) x |= UINT64_MAX << (5 * k);
            }
            if (k > MAX_CHARS) bad[i] = 1;
            if (m > 2) x += (uint64_t)counts[o + m - 2];
            const int64_t v = (int64_t)x;
            if (v < 0 || v >= MAX_COUNT) bad[i] = 1;
            counts[o + m] = v;
            m++;
        }
    }
}

ASSAY_MODULE(_native_masks)
