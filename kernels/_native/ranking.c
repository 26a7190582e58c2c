/* COCO precision / recall accumulation (kernels/ranking.py's coco_accumulate), in C.
 *
 * pycocotools' COCOeval.accumulate for every (IoU threshold t, category k, area range
 * a, maxDets m) at once, number for number as the torch path of
 * kernels/ranking.py's _coco_accumulate (and so pycocotools). Two passes, each over a
 * range of items so that kernels/_compiled.py can give one range to each thread:
 *
 * - coco_plain_counts_range: for each matching candidate s (matches.det_index[s], a
 *   detection position d in accumulation order) and area range a, the detections of
 *   d's category segment up to d (inclusive) that count when unmatched: inside area
 *   range a and of rank below maxDets[m], for every m. rel is (S, A, M).
 * - coco_accumulate_range: for each item (k, a) = (item / A, item % A), every IoU
 *   threshold t and maxDets m: walks the category's candidates matched at (t, a) in
 *   accumulation order, keeping the TP count and the change of the counted
 *   detections against unmatched ones. The true positive with count c enters the
 *   recall block of the last (sorted) threshold whose count c_r <= c; each block keeps
 *   its best precision as an exact (tp, fp + tp) pair (see better()); a running
 *   maximum from the right over the blocks gives the interpolated precision,
 *   pycocotools' float64 tp / (fp + tp + eps) of the best pair; the score of the true
 *   positive whose count is c_r is the threshold's score (c_r = 0: the category's
 *   first detection). Thresholds are written in the caller's order, and as
 *   pycocotools stop at the first one recall never reaches (zeros from there on).
 *
 * Every pointer is a C-contiguous array (checked by kernels/_native_ranking_kernels.py);
 * indexes out of range are skipped (wrong numbers for inconsistent input, never a
 * read outside the arrays).
 */
#include "abi.h"

#include <math.h>

#define COCO_EPS 2.220446049250313e-16 /* np.spacing(1) */

/* First position of seg[0 .. n) (ascending) holding k or more. */
static int64_t lower_bound64(const int64_t *seg, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (seg[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The category of candidate s (-1 for a detection index out of range). */
static inline int64_t cand_cat(const int64_t *seg, int64_t D, const int64_t *det_index,
                               int64_t s) {
    const int64_t d = det_index[s];
    return (d >= 0 && d < D) ? seg[d] : -1;
}

/* First candidate of [0, S) whose category is k or more (candidates ascend by category). */
static int64_t cand_lower_bound(const int64_t *seg, int64_t D, const int64_t *det_index,
                                int64_t S, int64_t k) {
    int64_t lo = 0, hi = S;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (cand_cat(seg, D, det_index, mid) < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* rel[(s * A + a) * M + m] for candidates lo <= s < hi: the detections of d's category
 * segment at positions <= d = det_index[s] inside area a (outside[a * D + i] == 0) with
 * rank[i] < limit[m]. */
ASSAY_EXPORT void coco_plain_counts_range(const int64_t *seg, const int64_t *rank,
                                          const uint8_t *outside, int64_t D, int64_t A,
                                          const int64_t *det_index, int64_t S,
                                          const int64_t *limit, int64_t M, int64_t lo,
                                          int64_t hi, int64_t *rel) {
    if (lo < 0) lo = 0;
    if (hi > S) hi = S;
    for (int64_t a = 0; a < A; a++) {
        const uint8_t *out = outside + a * D;
        int64_t cur = -1, prev = -1; /* category and candidate counted up to */
        int64_t p = 0;               /* next detection position to count */
        for (int64_t s = lo; s < hi; s++) {
            int64_t *row = rel + (s * A + a) * M;
            const int64_t d = det_index[s];
            if (d < 0 || d >= D) {
                for (int64_t m = 0; m < M; m++) row[m] = 0;
                continue;
            }
            const int64_t k = seg[d];
            const int that_segment = prev >= 0 && k == cur && p <= d + 1;
            if (!that_segment) {
                p = lower_bound64(seg, D, k);
                if (p > d) p = d; /* segments not ascending: count d alone */
            }
            for (int64_t m0 = 0; m0 < M; m0 += 4) { /* four columns per pass, in registers */
                const int64_t mm = min64(4, M - m0);
                int64_t lim[4], cnt[4] = {0, 0, 0, 0};
                for (int64_t j = 0; j < 4; j++) lim[j] = j < mm ? limit[m0 + j] : INT64_MIN;
                for (int64_t i = p; i <= d; i++) {
                    const int64_t ok = out[i] == 0, r = rank[i];
                    for (int64_t j = 0; j < 4; j++) cnt[j] += ok & (r < lim[j]);
                }
                for (int64_t j = 0; j < mm; j++) {
                    const int64_t m = m0 + j;
                    row[m] = (that_segment ? rel[(prev * A + a) * M + m] : 0) + cnt[j];
                }
            }
            cur = k;
            prev = s;
            p = d + 1;
        }
    }
}

/* Whether precision c / N beats cb / Nb, as pycocotools' float64 c / (fp + c + eps)
 * with fp = N - c. fp + c + eps rounds to N from N = 2 on (eps is half an ulp there,
 * or less, and ties go to the even N), to 1 + eps at N = 1 (c = 1: precision 1 - eps,
 * below every c / c, above every other c / N for N < 2**51). As rounding keeps order,
 * the float64 maximum is the rounded exact maximum: compared exactly in integers
 * (counts below 2**31, as the caller ensures), with 1 / 1 losing its tie to c / c. */
static inline int better(int64_t c, int64_t N, int64_t cb, int64_t Nb) {
    const int64_t lhs = c * Nb, rhs = cb * N;
    return lhs > rhs || (lhs == rhs && Nb == 1 && N != 1);
}

/* pycocotools' float64 precision tp / (fp + tp + eps) of c true positives among N
 * counted detections. */
static inline double coco_precision(int64_t c, int64_t N) {
    return (double)c / (((double)(N - c) + (double)c) + COCO_EPS);
}

/* Smallest count c in [0, n] with c / n >= r in float64 (pycocotools' searchsorted of
 * the recall tp / npig, side 'left'), n >= 1. */
static int64_t threshold_count(double r, int64_t n) {
    const double nn = (double)n;
    double x = ceil(r * nn);
    int64_t c = x > 0.0 ? (x >= nn ? n : (int64_t)x) : 0; /* NaN: 0, no undefined cast */
    while (c > 0 && (double)(c - 1) / nn >= r) c--;
    while (c < n && (double)c / nn < r) c++;
    return c;
}

/* Items lo <= item < hi of (k, a) = (item / A, item % A), every threshold t and
 * maxDets m; see the file's comment.
 *
 * seg, rank, score: (D,) accumulation-order category, rank in its (image, category)
 * group and score; outside: (A, D) 0 / 1; det_index: (S,) candidate positions
 * (strictly ascending); gt_index: (T, A, S) matched ground truth or -1; gt_ignore:
 * (A, G) 0 / 1; gt_real: (G,) 0 / 1 (0: a ground truth with id 0, recorded as no
 * match); counted: (K, A) non-ignored ground truths, at most max_n; limit: (M,) rank
 * limits (a detection counts in column m when rank < limit[m]); rec: (R,) thresholds
 * sorted ascending; rec_pos: (R,) position in rec of the caller's threshold i; rel:
 * (S, A, M) from coco_plain_counts_range; scratch_i: (R + 1 + max_n + 1 + 2 T M + 2 T M
 * (R + 1) + S,) int64; scratch_f: (T M (2 R + 1),) float64. Writes precision / scores (T,
 * R, K, A, M) and recall (T, K, A, M).
 */
ASSAY_EXPORT void coco_accumulate_range(
    const int64_t *seg, const int64_t *rank, const double *score, const uint8_t *outside,
    int64_t D, const int64_t *det_index, const int64_t *gt_index, int64_t S, int64_t T,
    int64_t A, const uint8_t *gt_ignore, const uint8_t *gt_real, int64_t G,
    const int64_t *counted, int64_t K, const int64_t *limit, int64_t M, const double *rec,
    const int64_t *rec_pos, int64_t R, const int64_t *rel, int64_t max_n, int64_t lo,
    int64_t hi, int64_t *scratch_i, double *scratch_f, double *precision, double *recall,
    double *scores) {
    const int64_t TM = T * M, B = R + 1; /* threshold blocks, after a sink slot 0 */
    /* The block of threshold r is slot r + 1: the TP that brings the count to c lands
     * in the slot of the last threshold whose count c_r <= c (slot 0: none, a sink
     * that nothing reads, as are the slots of non-TP updates below). */
    int64_t *cr = scratch_i;              /* (R + 1,) -1, then each threshold's count */
    int64_t *slot_of = cr + B;            /* (max_n + 1,) block slot of each TP count */
    int64_t *tp = slot_of + max_n + 1;    /* (T, M) true positives so far */
    int64_t *shift = tp + TM;             /* (T, M) counted minus counted-when-unmatched */
    int64_t *best_c = shift + TM;         /* (T, M, B) best precision per block, */
    int64_t *best_n = best_c + TM * B;    /* as TP count / counted detections */
    int64_t *events = best_n + TM * B;    /* (S,) candidates matched at one (t, a) */
    double *at = scratch_f;               /* (T, M, B) score of the TP whose count is c_r */
    double *env = scratch_f + TM * B;     /* (T, M, R) interpolated precision */
    if (lo < 0) lo = 0;
    if (hi > K * A) hi = K * A;
    cr[0] = -1;
    for (int64_t item = lo; item < hi; item++) {
        const int64_t k = item / A, a = item % A;
        const int64_t n = counted[k * A + a];
        if (n <= 0 || n > max_n) { /* no counted ground truth: -1, as pycocotools */
            for (int64_t t = 0; t < T; t++) {
                for (int64_t m = 0; m < M; m++) recall[((t * K + k) * A + a) * M + m] = -1.0;
                for (int64_t i = 0; i < R; i++) {
                    const int64_t o = (((t * R + i) * K + k) * A + a) * M;
                    for (int64_t m = 0; m < M; m++) precision[o + m] = scores[o + m] = -1.0;
                }
            }
            continue;
        }
        const int64_t c_lo = cand_lower_bound(seg, D, det_index, S, k);
        const int64_t c_hi = cand_lower_bound(seg, D, det_index, S, k + 1);
        const int64_t start = lower_bound64(seg, D, k);
        const double first = (start < D && seg[start] == k) ? score[start] : 0.0;
        for (int64_t r = 0; r < R; r++) cr[r + 1] = threshold_count(rec[r], n);
        for (int64_t c = 0, r = 0; c <= n; c++) { /* cr ascends with rec */
            while (r < R && cr[r + 1] <= c) r++;
            slot_of[c] = r; /* the last threshold with c_r <= c, plus one */
        }
        for (int64_t tm = 0; tm < TM; tm++) {
            tp[tm] = shift[tm] = 0;
            for (int64_t b = 0; b < B; b++) {
                best_c[tm * B + b] = 0;
                best_n[tm * B + b] = 1;
            }
            /* thresholds of count 0: the first detection; the others are written when
             * recall reaches them, and read only then */
            at[tm * B + slot_of[0]] = first;
        }
        const uint8_t *out = outside + a * D;
        const uint8_t *ign = gt_ignore + a * G;
        for (int64_t t = 0; t < T; t++) {
            const int64_t *gti = gt_index + (t * A + a) * S;
            /* The candidates that matched at (t, a), listed without a branch. */
            int64_t ne = 0;
            for (int64_t s = c_lo; s < c_hi; s++) {
                const int64_t g = gti[s];
                events[ne] = s;
                ne += (g >= 0) & (g < G);
            }
            /* maxDets columns four at a time, their counts in registers */
            for (int64_t m0 = 0; m0 < M; m0 += 4) {
                const int64_t mm = min64(4, M - m0);
                int64_t lim[4], ntp[4] = {0, 0, 0, 0}, sh[4] = {0, 0, 0, 0};
                for (int64_t j = 0; j < 4; j++) lim[j] = j < mm ? limit[m0 + j] : INT64_MIN;
                int64_t *bc = best_c + (t * M + m0) * B, *bn = best_n + (t * M + m0) * B;
                double *sat = at + (t * M + m0) * B;
                for (int64_t e = 0; e < ne; e++) {
                    const int64_t s = events[e];
                    const int64_t d = det_index[s];
                    if (d < 0 || d >= D) continue;
                    const int64_t g = gti[s];
                    const int64_t inside = out[d] == 0;
                    const int64_t real = gt_real[g] != 0;
                    /* pycocotools: dtIg = gtIg[m] for a match; an unmatched detection
                     * outside the area range is ignored; a match to id 0 is recorded as
                     * no match. */
                    const int64_t counts = !((ign[g] != 0) | (!real & !inside));
                    const int64_t is_tp = real & counts;
                    const int64_t delta = counts - inside;
                    const int64_t rk = rank[d];
                    const int64_t *base = rel + (s * A + a) * M + m0;
                    for (int64_t j = 0; j < 4; j++) {
                        const int64_t in = rk < lim[j];
                        sh[j] += delta & -in;
                        if (!(is_tp & in)) continue;
                        const int64_t c = ++ntp[j];
                        const int64_t N = base[j] + sh[j]; /* fp + tp */
                        const int64_t b = slot_of[c < n ? c : n];
                        const int64_t q = j * B + b;
                        if (better(c, N, bc[q], bn[q])) {
                            bc[q] = c;
                            bn[q] = N;
                        }
                        if (cr[b] == c) sat[q] = score[d];
                    }
                }
                for (int64_t j = 0; j < mm; j++) tp[t * M + m0 + j] = ntp[j];
            }
        }
        for (int64_t t = 0; t < T; t++) {
            for (int64_t m = 0; m < M; m++) {
                const int64_t tm = t * M + m;
                /* Running maximum from the right: a division where it steps up. */
                double *e = env + tm * R;
                int64_t bc = 0, bn = 1;
                double v = 0.0;
                for (int64_t r = R - 1; r >= 0; r--) {
                    const int64_t q = tm * B + r + 1;
                    if (better(best_c[q], best_n[q], bc, bn)) {
                        bc = best_c[q];
                        bn = best_n[q];
                        v = coco_precision(bc, bn);
                    }
                    e[r] = v;
                }
                recall[((t * K + k) * A + a) * M + m] = (double)tp[tm] / (double)n;
                shift[tm] = 1; /* from here: column m still filling */
            }
            /* The caller's threshold order; from the first one recall never reaches
             * (pycocotools' IndexError), zeros. */
            for (int64_t i = 0; i < R; i++) {
                const int64_t o = (((t * R + i) * K + k) * A + a) * M;
                const int64_t p = rec_pos[i];
                const int valid = p >= 0 && p < R;
                for (int64_t m = 0; m < M; m++) {
                    const int64_t tm = t * M + m;
                    if (shift[tm] && (!valid || cr[p + 1] > tp[tm])) shift[tm] = 0;
                    precision[o + m] = shift[tm] ? env[tm * R + p] : 0.0;
                    scores[o + m] = shift[tm] ? at[tm * B + slot_of[cr[p + 1]]] : 0.0;
                }
            }
        }
    }
}

ASSAY_MODULE(_native_ranking)
