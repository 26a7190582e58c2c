/* C loops of the per-frame box scores: kernels/_numba_frame_kernels.py's functions.
 *
 * One function per score and dtype (margin / least / ratio / probability, _f32 / _f64),
 * each the numba function's arguments with the number of scores after the first:
 *
 *     NAME_frames_T(const T *s, int64_t n, const int64_t *starts, const int64_t *lengths,
 *                   int64_t length, int64_t reduction, int64_t normalize, double empty,
 *                   int64_t lo, int64_t hi, T *out)
 *
 * out[f] for frames lo <= f < hi: the reduction (MIN / MAX / MEAN / SUM = 0..3) of the
 * scores of the frame's boxes. length > 0: every frame holds `length` boxes (starts /
 * lengths unused); length == 0: frame f holds lengths[f] boxes from starts[f];
 * length < 0 (running starts, no (F,) array of them to build): starts[0] is frame lo's
 * first box, and each frame starts where the one before ended. Frames are
 * clipped to the n scores (never a read outside them); a frame without boxes gets
 * `empty`. Called without the GIL (ctypes), one range of frames per thread.
 *
 * Numbers. MIN / MAX compute each box's score in T by the eager kernels' operations
 * (margin |2s - 1|, least min(s, 1 - s), ratio min(s, q) / max(s, q) with q = 1 - s, or
 * s itself), so the numba loop's numbers exactly (up to the sign of a zero). Least
 * confidence's factor 2 (normalize) multiplies the frame's extreme instead of every
 * box: x -> 2x is exact and non-decreasing, so 2 min(u) = min(2u) and 2 max(u) = max(2u).
 * MEAN / SUM compute each box's score in double from the double of s and add in
 * double, in lanes then across them (numba also reassociates its sum): equal to
 * rounding, never bit for bit.
 *
 * Speed. The numba loop is scalar, and `#pragma omp simd` loops (the portable ones
 * below, GCC's vector loop plus a scalar epilogue and a horizontal reduction per frame)
 * take most of a short frame outside their vectors: 0.7-0.9 ns per box, against 0.13
 * ns to stream a float32 from memory. So on x86-64 (GCC or Clang, Linux) the loops are
 * written with AVX2 and AVX-512 (F, VL) intrinsics, chosen at run time (frames_simd_level):
 * fixed-length frames as whole 256-bit vectors plus one masked vector for their last
 * boxes (a loop whose branches the CPU predicts); frames of varying lengths, with
 * AVX-512, as two masked 512-bit vectors whatever their length (no branch on it to
 * mispredict), then a loop for boxes past the 32nd. Each frame is reduced across lanes
 * once. -ffp-contract=off keeps every operation a separate IEEE one (no fused
 * multiply-add).
 */
#include "abi.h"
#include "simd.h"

#include <float.h>
#include <math.h>

enum { MARGIN, LEAST, RATIO, PROBABILITY };
enum { MIN, MAX, MEAN, SUM };

#if defined(__GNUC__)
#define INLINE static inline __attribute__((always_inline))
#define NOINLINE static __attribute__((noinline))
#define SIMD_PRAGMA(text) _Pragma(text)
#else
#define INLINE static inline
#define NOINLINE static
#define SIMD_PRAGMA(text)
#endif

/* ---- Portable loops (any compiler and CPU) ---- */

#define SCALAR_BOX(T, SUFFIX, ABS)                                                \
    INLINE T box_##SUFFIX(int score, T x, T scale) {                              \
        const T one = 1, two = 2, q = one - x;                                    \
        if (score == MARGIN) return ABS(two * x - one);                           \
        if (score == LEAST) return scale * (x < q ? x : q);                       \
        if (score == RATIO) return (x < q ? x : q) / (x > q ? x : q);             \
        return x;                                                                 \
    }
SCALAR_BOX(float, f32, fabsf)
SCALAR_BOX(double, f64, fabs)

#define PORTABLE_FRAME(T, SUFFIX)                                                        \
    INLINE T frame_##SUFFIX(int score, int red, const T *p, int64_t k, int normalize) {  \
        if (red == MIN || red == MAX) {                                                  \
            T acc = red == MIN ? (T)INFINITY : (T)-INFINITY;                             \
            if (red == MIN) {                                                            \
                SIMD_PRAGMA("omp simd reduction(min : acc)")                             \
                for (int64_t b = 0; b < k; b++) {                                        \
                    T v = box_##SUFFIX(score, p[b], 1);                                  \
                    acc = v < acc ? v : acc;                                             \
                }                                                                        \
            } else {                                                                     \
                SIMD_PRAGMA("omp simd reduction(max : acc)")                             \
                for (int64_t b = 0; b < k; b++) {                                        \
                    T v = box_##SUFFIX(score, p[b], 1);                                  \
                    acc = v > acc ? v : acc;                                             \
                }                                                                        \
            }                                                                            \
            return score == LEAST && normalize ? 2 * acc : acc;                          \
        }                                                                                \
        const double scale = normalize ? 2.0 : 1.0;                                      \
        double total = 0.0;                                                              \
        SIMD_PRAGMA("omp simd reduction(+ : total)")                                     \
        for (int64_t b = 0; b < k; b++) total += box_f64(score, (double)p[b], scale);    \
        return (T)(red == MEAN ? total / (double)k : total);                             \
    }
PORTABLE_FRAME(float, f32)
PORTABLE_FRAME(double, f64)

/* out[f] for frames [lo, hi), each reduced by DENSE (fixed-length frames) or RAGGED
 * (score, red, pointer, boxes, normalize); frames clipped to the n scores. ATTR: the
 * function's attributes. */
#define FRAME_RANGE(ATTR, NAME, T, DENSE, RAGGED)                                          \
    ATTR void NAME(int score, int red, const T *s, int64_t n, const int64_t *starts,       \
                   const int64_t *lengths, int64_t length, int normalize, double empty,    \
                   int64_t lo, int64_t hi, T *out) {                                       \
        const T none = (T)empty;                                                           \
        if (length > 0) {                                                                  \
            int64_t whole = n / length; /* frames [0, whole) lie inside the scores */      \
            if (whole > hi) whole = hi;                                                    \
            for (int64_t f = lo; f < whole; f++)                                           \
                out[f] = DENSE(score, red, s + f * length, length, normalize);             \
            for (int64_t f = max64(lo, whole); f < hi; f++) {                              \
                int64_t first = f > n / length ? n : f * length;                           \
                int64_t k = min64(length, n - first);                                      \
                out[f] = k > 0 ? DENSE(score, red, s + first, k, normalize) : none;        \
            }                                                                              \
            return;                                                                        \
        }                                                                                  \
        if (length < 0) { /* running: starts[0] is frame lo's first box */                 \
            uint64_t at = (uint64_t)starts[0]; /* wraps as NumPy's sums of the lengths */  \
            for (int64_t f = lo; f < hi; f++) {                                            \
                int64_t first = min64(max64((int64_t)at, 0), n);                           \
                int64_t k = min64(max64(lengths[f], 0), n - first);                        \
                out[f] = k > 0 ? RAGGED(score, red, s + first, k, normalize) : none;       \
                at += (uint64_t)lengths[f];                                                \
            }                                                                              \
            return;                                                                        \
        }                                                                                  \
        for (int64_t f = lo; f < hi; f++) {                                                \
            int64_t first = min64(max64(starts[f], 0), n);                                 \
            int64_t k = min64(max64(lengths[f], 0), n - first);                            \
            out[f] = k > 0 ? RAGGED(score, red, s + first, k, normalize) : none;           \
        }                                                                                  \
    }
FRAME_RANGE(INLINE, range_f32, float, frame_f32, frame_f32)
FRAME_RANGE(INLINE, range_f64, double, frame_f64, frame_f64)

/* ---- x86-64: AVX-512 (F, VL) and AVX2 ----
 *
 * Margin is computed as |s - 1/2| and doubled once per frame: 2 s - 1 = 2 (s - 1/2)
 * exactly and doubling is exact, so fl(2 s - 1) = 2 fl(s - 1/2), and doubling commutes
 * with min / max (non-decreasing) and with a sum's roundings (every partial sum
 * doubles exactly): the same numbers for one operation less per vector. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define ASSAY_FRAMES_X86 1
#include <immintrin.h>

#define AVX512 static inline __attribute__((always_inline, target("avx512f,avx512vl")))
#define AVX2 static inline __attribute__((always_inline, target("avx2")))

/* min(a, b) hidden from the optimiser: GCC would otherwise branch on it (a frame of
 * at most 16 boxes skipping its second vector), a mispredicted branch per ragged frame */
static inline int64_t opaque_min(int64_t a, int64_t b) {
    a = a < b ? a : b;
    __asm__("" : "+r"(a));
    return a;
}

/* -- AVX-512: 16 float / 8 double lanes. A frame's first 32 boxes are two (four)
 * masked vectors whatever its length, without a branch (ragged frames' lengths are
 * unpredictable); a longer frame loops over the rest, 16 (8) boxes at a time. -- */

/* lanes [0, r) of 16, r clamped to [0, 16] */
AVX512 __mmask16 mask16(int64_t r) {
    r = r < 0 ? 0 : r > 16 ? 16 : r;
    return (__mmask16)((1u << r) - 1u);
}

AVX512 __m512 box16(int score, __m512 x) { /* margin: halved */
    const __m512 one = _mm512_set1_ps(1.0f), q = _mm512_sub_ps(one, x);
    if (score == MARGIN) return _mm512_abs_ps(_mm512_sub_ps(x, _mm512_set1_ps(0.5f)));
    if (score == LEAST) return _mm512_min_ps(x, q);
    if (score == RATIO) return _mm512_div_ps(_mm512_min_ps(x, q), _mm512_max_ps(x, q));
    return x;
}

AVX512 __m512d box8d(int score, __m512d x) { /* margin: halved */
    const __m512d one = _mm512_set1_pd(1.0), q = _mm512_sub_pd(one, x);
    if (score == MARGIN) return _mm512_abs_pd(_mm512_sub_pd(x, _mm512_set1_pd(0.5)));
    if (score == LEAST) return _mm512_min_pd(x, q);
    if (score == RATIO) return _mm512_div_pd(_mm512_min_pd(x, q), _mm512_max_pd(x, q));
    return x;
}

/* acc, with the boxes [i, i + 16) of the k at p (those that exist) reduced in */
AVX512 __m512 extreme16_part(int score, int red, __m512 acc, const float *p, int64_t k,
                             int64_t i) {
    __mmask16 m = mask16(k - i);
    __m512 v = box16(score, _mm512_maskz_loadu_ps(m, p + opaque_min(i, k)));
    return red == MIN ? _mm512_mask_min_ps(acc, m, acc, v) : _mm512_mask_max_ps(acc, m, acc, v);
}

AVX512 float extreme16(int score, int red, const float *p, int64_t k) {
    const __m512 fill = _mm512_set1_ps(red == MIN ? INFINITY : -INFINITY);
    __m512 a = extreme16_part(score, red, fill, p, k, 0);
    __m512 b = extreme16_part(score, red, fill, p, k, 16);
    for (int64_t i = 32; i < k; i += 16) a = extreme16_part(score, red, a, p, k, i);
    return red == MIN ? _mm512_reduce_min_ps(_mm512_min_ps(a, b))
                      : _mm512_reduce_max_ps(_mm512_max_ps(a, b));
}

AVX512 __m512d extreme8d_part(int score, int red, __m512d acc, const double *p, int64_t k,
                              int64_t i) {
    __mmask8 m = (__mmask8)mask16(k - i < 8 ? k - i : 8);
    __m512d v = box8d(score, _mm512_maskz_loadu_pd(m, p + opaque_min(i, k)));
    return red == MIN ? _mm512_mask_min_pd(acc, m, acc, v) : _mm512_mask_max_pd(acc, m, acc, v);
}

AVX512 double extreme8d(int score, int red, const double *p, int64_t k) {
    const __m512d fill = _mm512_set1_pd(red == MIN ? INFINITY : -INFINITY);
    __m512d a = extreme8d_part(score, red, fill, p, k, 0);
    __m512d b = extreme8d_part(score, red, fill, p, k, 8);
    a = extreme8d_part(score, red, a, p, k, 16);
    b = extreme8d_part(score, red, b, p, k, 24);
    for (int64_t i = 32; i < k; i += 8) a = extreme8d_part(score, red, a, p, k, i);
    return red == MIN ? _mm512_reduce_min_pd(_mm512_min_pd(a, b))
                      : _mm512_reduce_max_pd(_mm512_max_pd(a, b));
}

/* the sums: boxes [i, i + 16) of float32 scores as two vectors of 8 doubles (exact) */
AVX512 void sum16_part(int score, __m512d *a, __m512d *b, const float *p, int64_t k,
                       int64_t i) {
    __mmask16 m = mask16(k - i);
    __m512 v = _mm512_maskz_loadu_ps(m, p + opaque_min(i, k));
    __m512d low = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d high =
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    *a = _mm512_mask_add_pd(*a, (__mmask8)m, *a, box8d(score, low));
    *b = _mm512_mask_add_pd(*b, (__mmask8)(m >> 8), *b, box8d(score, high));
}

AVX512 double sum16(int score, const float *p, int64_t k) {
    __m512d a = _mm512_setzero_pd(), b = _mm512_setzero_pd();
    __m512d c = _mm512_setzero_pd(), d = _mm512_setzero_pd();
    sum16_part(score, &a, &b, p, k, 0);
    sum16_part(score, &c, &d, p, k, 16);
    for (int64_t i = 32; i < k; i += 16) sum16_part(score, &a, &b, p, k, i);
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a, b), _mm512_add_pd(c, d)));
}

AVX512 __m512d sum8d_part(int score, __m512d acc, const double *p, int64_t k, int64_t i) {
    __mmask8 m = (__mmask8)mask16(k - i < 8 ? k - i : 8);
    __m512d v = box8d(score, _mm512_maskz_loadu_pd(m, p + opaque_min(i, k)));
    return _mm512_mask_add_pd(acc, m, acc, v);
}

AVX512 double sum8d(int score, const double *p, int64_t k) {
    __m512d a = sum8d_part(score, _mm512_setzero_pd(), p, k, 0);
    __m512d b = sum8d_part(score, _mm512_setzero_pd(), p, k, 8);
    a = sum8d_part(score, a, p, k, 16);
    b = sum8d_part(score, b, p, k, 24);
    for (int64_t i = 32; i < k; i += 8) a = sum8d_part(score, a, p, k, i);
    return _mm512_reduce_add_pd(_mm512_add_pd(a, b));
}

/* -- 256-bit vectors, 8 float / 4 double lanes: whole vectors, then one masked vector
 * for the frame's last boxes. Its masked load: AVX2's vmaskmov, or AVX-512VL's masked
 * move with AVX-512 (vmaskmov is slow on AMD Zen 4: 0.7 ns per box for frames of 7
 * boxes against 0.22). -- */

/* first r lanes all ones: r = 0..8 at tail32 + 8 - r, r = 0..4 at tail64 + 4 - r */
static const int32_t tail32[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static const int64_t tail64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};

AVX2 __m256 box8(int score, __m256 x) { /* margin: halved */
    const __m256 one = _mm256_set1_ps(1.0f), q = _mm256_sub_ps(one, x);
    if (score == MARGIN)
        return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(x, _mm256_set1_ps(0.5f)));
    if (score == LEAST) return _mm256_min_ps(x, q);
    if (score == RATIO) return _mm256_div_ps(_mm256_min_ps(x, q), _mm256_max_ps(x, q));
    return x;
}

AVX2 __m256d box4d(int score, __m256d x) { /* margin: halved */
    const __m256d one = _mm256_set1_pd(1.0), q = _mm256_sub_pd(one, x);
    if (score == MARGIN)
        return _mm256_andnot_pd(_mm256_set1_pd(-0.0), _mm256_sub_pd(x, _mm256_set1_pd(0.5)));
    if (score == LEAST) return _mm256_min_pd(x, q);
    if (score == RATIO) return _mm256_div_pd(_mm256_min_pd(x, q), _mm256_max_pd(x, q));
    return x;
}

/* The scores of boxes [0, r) at p (0 < r < lanes), `fill` in the other lanes; _sums:
 * r < 4 float32 scores as doubles, 0 in the other lanes. AVX2, then AVX-512VL. */
AVX2 __m256 tail8_avx2(int score, const float *p, int64_t r, __m256 fill) {
    __m256i m = _mm256_loadu_si256((const __m256i *)(tail32 + 8 - r));
    return _mm256_blendv_ps(fill, box8(score, _mm256_maskload_ps(p, m)), _mm256_castsi256_ps(m));
}
AVX2 __m256d tail4d_avx2(int score, const double *p, int64_t r, __m256d fill) {
    __m256i m = _mm256_loadu_si256((const __m256i *)(tail64 + 4 - r));
    return _mm256_blendv_pd(fill, box4d(score, _mm256_maskload_pd(p, m)), _mm256_castsi256_pd(m));
}
AVX2 __m256d tail4f_avx2(int score, const float *p, int64_t r) {
    __m128i m = _mm_loadu_si128((const __m128i *)(tail32 + 8 - r));
    __m256d v = box4d(score, _mm256_cvtps_pd(_mm_maskload_ps(p, m)));
    __m256i lanes = _mm256_loadu_si256((const __m256i *)(tail64 + 4 - r));
    return _mm256_and_pd(v, _mm256_castsi256_pd(lanes));
}
AVX512 __m256 tail8_vl(int score, const float *p, int64_t r, __m256 fill) {
    __mmask8 m = (__mmask8)((1u << r) - 1u);
    return _mm256_mask_blend_ps(m, fill, box8(score, _mm256_maskz_loadu_ps(m, p)));
}
AVX512 __m256d tail4d_vl(int score, const double *p, int64_t r, __m256d fill) {
    __mmask8 m = (__mmask8)((1u << r) - 1u);
    return _mm256_mask_blend_pd(m, fill, box4d(score, _mm256_maskz_loadu_pd(m, p)));
}
AVX512 __m256d tail4f_vl(int score, const float *p, int64_t r) {
    __mmask8 m = (__mmask8)((1u << r) - 1u);
    return _mm256_maskz_mov_pd(m, box4d(score, _mm256_cvtps_pd(_mm_maskz_loadu_ps(m, p))));
}

AVX2 float reduce8(int red, __m256 acc) {
    __m128 h = _mm256_extractf128_ps(acc, 1), l = _mm256_castps256_ps128(acc);
    h = red == MIN ? _mm_min_ps(l, h) : _mm_max_ps(l, h);
    l = _mm_movehl_ps(h, h);
    h = red == MIN ? _mm_min_ps(h, l) : _mm_max_ps(h, l);
    l = _mm_shuffle_ps(h, h, 1);
    h = red == MIN ? _mm_min_ss(h, l) : _mm_max_ss(h, l);
    return _mm_cvtss_f32(h);
}

AVX2 double reduce4d(int red, __m256d acc) {
    __m128d h = _mm256_extractf128_pd(acc, 1), l = _mm256_castpd256_pd128(acc);
    h = red == MIN ? _mm_min_pd(l, h) : _mm_max_pd(l, h);
    l = _mm_unpackhi_pd(h, h);
    h = red == MIN ? _mm_min_sd(h, l) : _mm_max_sd(h, l);
    return _mm_cvtsd_f64(h);
}

AVX2 double add4d(__m256d a) {
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

/* a frame's extreme / sum over 256-bit vectors, its last boxes by TAIL8 / TAIL4D /
 * TAIL4F (SUFFIX: _avx2 or _vl) */
#define VECTORS256(ATTR, SUFFIX)                                                          \
    ATTR float extreme8##SUFFIX(int score, int red, const float *p, int64_t k) {          \
        const __m256 fill = _mm256_set1_ps(red == MIN ? INFINITY : -INFINITY);            \
        __m256 acc = fill;                                                                \
        int64_t i = 0;                                                                    \
        for (; i + 8 <= k; i += 8) {                                                      \
            __m256 v = box8(score, _mm256_loadu_ps(p + i));                               \
            acc = red == MIN ? _mm256_min_ps(acc, v) : _mm256_max_ps(acc, v);             \
        }                                                                                 \
        if (i < k) {                                                                      \
            __m256 v = tail8##SUFFIX(score, p + i, k - i, fill);                          \
            acc = red == MIN ? _mm256_min_ps(acc, v) : _mm256_max_ps(acc, v);             \
        }                                                                                 \
        return reduce8(red, acc);                                                         \
    }                                                                                     \
    ATTR double extreme4d##SUFFIX(int score, int red, const double *p, int64_t k) {       \
        const __m256d fill = _mm256_set1_pd(red == MIN ? INFINITY : -INFINITY);           \
        __m256d acc = fill;                                                               \
        int64_t i = 0;                                                                    \
        for (; i + 4 <= k; i += 4) {                                                      \
            __m256d v = box4d(score, _mm256_loadu_pd(p + i));                             \
            acc = red == MIN ? _mm256_min_pd(acc, v) : _mm256_max_pd(acc, v);             \
        }                                                                                 \
        if (i < k) {                                                                      \
            __m256d v = tail4d##SUFFIX(score, p + i, k - i, fill);                        \
            acc = red == MIN ? _mm256_min_pd(acc, v) : _mm256_max_pd(acc, v);             \
        }                                                                                 \
        return reduce4d(red, acc);                                                        \
    }                                                                                     \
    ATTR double sum8##SUFFIX(int score, const float *p, int64_t k) {                      \
        __m256d a = _mm256_setzero_pd(), b = _mm256_setzero_pd();                         \
        int64_t i = 0;                                                                    \
        for (; i + 8 <= k; i += 8) {                                                      \
            a = _mm256_add_pd(a, box4d(score, _mm256_cvtps_pd(_mm_loadu_ps(p + i))));     \
            b = _mm256_add_pd(b, box4d(score, _mm256_cvtps_pd(_mm_loadu_ps(p + i + 4)))); \
        }                                                                                 \
        if (i + 4 <= k) {                                                                 \
            a = _mm256_add_pd(a, box4d(score, _mm256_cvtps_pd(_mm_loadu_ps(p + i))));     \
            i += 4;                                                                       \
        }                                                                                 \
        if (i < k) b = _mm256_add_pd(b, tail4f##SUFFIX(score, p + i, k - i));             \
        return add4d(_mm256_add_pd(a, b));                                                \
    }                                                                                     \
    ATTR double sum4d##SUFFIX(int score, const double *p, int64_t k) {                    \
        const __m256d zero = _mm256_setzero_pd();                                         \
        __m256d a = zero, b = zero;                                                       \
        int64_t i = 0;                                                                    \
        for (; i + 8 <= k; i += 8) {                                                      \
            a = _mm256_add_pd(a, box4d(score, _mm256_loadu_pd(p + i)));                   \
            b = _mm256_add_pd(b, box4d(score, _mm256_loadu_pd(p + i + 4)));               \
        }                                                                                 \
        if (i + 4 <= k) {                                                                 \
            a = _mm256_add_pd(a, box4d(score, _mm256_loadu_pd(p + i)));                   \
            i += 4;                                                                       \
        }                                                                                 \
        if (i < k) b = _mm256_add_pd(b, tail4d##SUFFIX(score, p + i, k - i, zero));       \
        return add4d(_mm256_add_pd(a, b));                                                \
    }
VECTORS256(AVX2, _avx2)
VECTORS256(AVX512, _vl)

/* one frame's value from its extreme or its sum of (halved, for margin) box scores */
#define SIMD_FRAME(ATTR, NAME, T, EXTREME, SUM)                                      \
    ATTR T NAME(int score, int red, const T *p, int64_t k, int normalize) {          \
        const int twice = score == MARGIN || (score == LEAST && normalize);          \
        if (red == MIN || red == MAX) {                                              \
            T v = EXTREME(score, red, p, k);                                         \
            return twice ? 2 * v : v;                                                \
        }                                                                            \
        double total = SUM(score, p, k);                                             \
        total = twice ? 2 * total : total;                                           \
        return (T)(red == MEAN ? total / (double)k : total);                         \
    }
SIMD_FRAME(AVX512, frame16, float, extreme16, sum16)
SIMD_FRAME(AVX512, frame8d, double, extreme8d, sum8d)
SIMD_FRAME(AVX512, frame8_vl, float, extreme8_vl, sum8_vl)
SIMD_FRAME(AVX512, frame4d_vl, double, extreme4d_vl, sum4d_vl)
SIMD_FRAME(AVX2, frame8_avx2, float, extreme8_avx2, sum8_avx2)
SIMD_FRAME(AVX2, frame4d_avx2, double, extreme4d_avx2, sum4d_avx2)
/* AVX-512: its branch-free 512-bit frames for frames of varying lengths; fixed-length
 * frames (a loop whose branches the CPU predicts) take 256-bit vectors, faster on AMD
 * Zen 4 (whose 512-bit operations take two cycles) when a frame fills only part of its
 * last vector */
FRAME_RANGE(AVX512, range16, float, frame8_vl, frame16)
FRAME_RANGE(AVX512, range8d, double, frame4d_vl, frame8d)
FRAME_RANGE(AVX2, range8, float, frame8_avx2, frame8_avx2)
FRAME_RANGE(AVX2, range4d, double, frame4d_avx2, frame4d_avx2)
#endif

/* ---- Run-time choice: 2 AVX-512 (F and VL), 1 AVX2, 0 portable ---- */

static int64_t level_cap = 2; /* lowered by frames_simd_level (tests) */

int64_t assay_simd_level(void) { /* simd.h: select.c's loops follow it too */
    int64_t level = 0;
#ifdef ASSAY_FRAMES_X86
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) level = 2;
    else if (__builtin_cpu_supports("avx2")) level = 1;
#endif
    return level < level_cap ? level : level_cap;
}

/* The level the loops use (0 portable, 1 AVX2, 2 AVX-512F and VL), after capping it at `cap`
 * when cap >= 0 (tests run every level the CPU has; not for concurrent use). */
ASSAY_EXPORT int64_t frames_simd_level(int64_t cap) {
    if (cap >= 0) level_cap = cap;
    return assay_simd_level();
}

/* ARGS: the arguments of a level's function, as the exported function passes them */
#define ARGS s, n, starts, lengths, length, reduction, nz, empty, lo, hi, out
/* the range functions' arguments after (score, reduction) */
#define ARGS_AFTER_RED s, n, starts, lengths, length, nz, empty, lo, hi, out
#define PARAMS(T)                                                                         \
    const T *s, int64_t n, const int64_t *starts, const int64_t *lengths, int64_t length, \
        int64_t reduction, int nz, double empty, int64_t lo, int64_t hi, T *out

/* NAME: the loop of one level (RANGE) for SCORE, specialised for each reduction (a
 * constant once RANGE is inlined) */
#define LEVEL_FUNCTION(ATTR, NAME, T, RANGE, SCORE)                                      \
    ATTR void NAME(PARAMS(T)) {                                                          \
        if (reduction == MIN) RANGE(SCORE, MIN, ARGS_AFTER_RED);                         \
        else if (reduction == MAX) RANGE(SCORE, MAX, ARGS_AFTER_RED);                    \
        else if (reduction == MEAN) RANGE(SCORE, MEAN, ARGS_AFTER_RED);                  \
        else RANGE(SCORE, SUM, ARGS_AFTER_RED);                                          \
    }

#ifdef ASSAY_FRAMES_X86
#define NOINLINE_AVX512 static __attribute__((noinline, target("avx512f,avx512vl")))
#define NOINLINE_AVX2 static __attribute__((noinline, target("avx2")))
#define SIMD_LEVELS(NAME, T, SCORE, R512, R2)                      \
    LEVEL_FUNCTION(NOINLINE_AVX512, NAME##_avx512, T, R512, SCORE) \
    LEVEL_FUNCTION(NOINLINE_AVX2, NAME##_avx2, T, R2, SCORE)
#define SIMD_CALLS(NAME)                  \
    if (level == 2) {                     \
        NAME##_avx512(ARGS);              \
        return;                           \
    }                                     \
    if (level == 1) {                     \
        NAME##_avx2(ARGS);                \
        return;                           \
    }
#else
#define SIMD_LEVELS(NAME, T, SCORE, R512, R2)
#define SIMD_CALLS(NAME)
#endif

/* the exported function NAME of one score and dtype, over its loops of every level */
#define ENTRY(NAME, T, SCORE, RPORT, R512, R2)                                                   \
    LEVEL_FUNCTION(NOINLINE, NAME##_portable, T, RPORT, SCORE)                                   \
    SIMD_LEVELS(NAME, T, SCORE, R512, R2)                                                        \
    ASSAY_EXPORT void NAME(const T *s, int64_t n, const int64_t *starts,                         \
                           const int64_t *lengths, int64_t length, int64_t reduction,            \
                           int64_t normalize, double empty, int64_t lo, int64_t hi,              \
                           T *out) {                                                             \
        const int nz = normalize != 0;                                                           \
        const int64_t level = assay_simd_level();                                                \
        (void)level;                                                                             \
        SIMD_CALLS(NAME)                                                                         \
        NAME##_portable(ARGS);                                                                   \
    }

ENTRY(margin_frames_f32, float, MARGIN, range_f32, range16, range8)
ENTRY(least_frames_f32, float, LEAST, range_f32, range16, range8)
ENTRY(ratio_frames_f32, float, RATIO, range_f32, range16, range8)
ENTRY(probability_frames_f32, float, PROBABILITY, range_f32, range16, range8)
ENTRY(margin_frames_f64, double, MARGIN, range_f64, range8d, range4d)
ENTRY(least_frames_f64, double, LEAST, range_f64, range8d, range4d)
ENTRY(ratio_frames_f64, double, RATIO, range_f64, range8d, range4d)
ENTRY(probability_frames_f64, double, PROBABILITY, range_f64, range8d, range4d)


/* ---- Binary entropy: entropy_frames_f32 (float32 scores only) ----
 *
 * Per box, the eager kernels' formula (kernels/uncertainty.py, _label_log_probs):
 * H = -(p log max(p, tiny) + q log1p(-p)), q = 1 - p, tiny = FLT_MIN, so p = 0 and
 * p = 1 give 0 (0 log 0 = 0) and a subnormal p takes log(tiny), as there. It is
 * symmetric in p and q, and u = min(p, 1 - p) is exact in float32 (Sterbenz), so every
 * level computes H(u) = -(u L_u + v L_v), v = 1 - u <= 1, 0 <= u <= 1/2, with
 * L_u = log max(u, tiny) and L_v = log(1 - u) = log1p(-u) (q's log exactly, even
 * where 1 - u rounds: u < 2^-24). Scores outside [0, 1] give meaningless numbers
 * (never a read outside the scores).
 *
 * The vector loops (AVX2 with FMA, AVX-512), no libm call per box: L_u = e ln 2 +
 * log1p(f), u's exponent and mantissa split with integer operations so that the
 * mantissa 1 + f lies in [sqrt(1/2), sqrt(2)) (f exact), log1p(f) = f + f^2 (f P(f) -
 * 1/2) with Cephes logf's polynomial P (degree 8) in float32 by fused multiply-adds
 * (within 0.70 float32 ulp of log, measured over 10 M inputs). The second term needs no
 * logarithm: -v L_v = -(1 - u) log1p(-u) = u - u^2 R(u), R a polynomial of degree 8 in
 * float32 (ENTROPY_R*), relative to u, so exact as u -> 0. Then in double: L_u, the
 * products and H = u |L_u| + u - u^2 R(u), added up in double (in lanes, then across
 * them); normalize divides the frame's total by ln 2 (the eager kernel divides each
 * box: equal to rounding). Each box's entropy is within 0.67 float32 ulp of the exact
 * value once rounded to float32 (tests/test_native_entropy_frames.py measures it), so
 * frame means / sums equal the eager ones to rounding.
 *
 * MEAN / SUM: the vector loops (ENTROPY_STREAM: the boxes of adjacent frames as one
 * stream of full vectors, then each frame's sum). MIN / MAX reduce first, at every level
 * (ENTROPY_EXTREMES): H rises with u, so the frame's extreme u (the least-confidence
 * loop, exact) gives its extreme entropy, one H per frame (10 M frames x 20 boxes on 2
 * threads: 0.036 s dense, against 0.060 s for the least-confidence loop then torch's
 * entropy per frame). A frame without boxes gives `empty`; a NaN score gives NaN where
 * the reduction keeps it (which depends on its place and the level: NaN is outside
 * the contract). The portable loop (any CPU, or x86 without FMA) computes H in double
 * by libm's log and log1p. */

#define ENTROPY_LN2 0.6931471805599453094

INLINE double entropy_box_f64(float p) {
    const float u = p < 1.0f - p ? p : 1.0f - p;
    const double ud = (double)u;
    const double lu = log((double)(u > FLT_MIN ? u : FLT_MIN));
    return -(ud * lu + (1.0 - ud) * log1p(-ud));
}

INLINE float entropy_portable(int score, int red, const float *p, int64_t k, int normalize) {
    (void)score;
    if (red == MIN || red == MAX) { /* the entropy of the extreme u (reduced first) */
        const double h = entropy_box_f64(frame_f32(LEAST, red, p, k, 0));
        return (float)(normalize ? h / ENTROPY_LN2 : h);
    }
    double total = 0.0;
    for (int64_t b = 0; b < k; b++) total += entropy_box_f64(p[b]);
    if (normalize) total /= ENTROPY_LN2;
    return (float)(red == MEAN ? total / (double)k : total);
}
FRAME_RANGE(INLINE, entropy_range_portable, float, entropy_portable, entropy_portable)

#ifdef ASSAY_FRAMES_X86
#define ENT512 static inline __attribute__((always_inline, target("avx512f,avx512vl,fma")))
#define ENT2 static inline __attribute__((always_inline, target("avx2,fma")))

/* Cephes logf's polynomial: log1p(f) ~ f + f^2 (f P(f) - 1/2), |f| <= sqrt(2) - 1 */
#define ENTROPY_P0 7.0376836292E-2f
#define ENTROPY_P1 -1.1514610310E-1f
#define ENTROPY_P2 1.1676998740E-1f
#define ENTROPY_P3 -1.2420140846E-1f
#define ENTROPY_P4 1.4249322787E-1f
#define ENTROPY_P5 -1.6668057665E-1f
#define ENTROPY_P6 2.0000714765E-1f
#define ENTROPY_P7 -2.4999993993E-1f
#define ENTROPY_P8 3.3333331174E-1f
#define ENTROPY_SQRT_HALF_BITS 0x3f3504f3 /* float32 sqrt(1/2) */
/* R(u) = sum_{n >= 2} u^(n-2) / (n (n - 1)), so that -(1 - u) log(1 - u) = u - u^2 R(u):
 * its Chebyshev fit of degree 8 on [0, 1/2] (relative error 4e-9 before rounding the
 * coefficients to float32; 0.64 float32 ulp evaluated in float32) */
#define ENTROPY_R0 5.000000000e-01f
#define ENTROPY_R1 1.666661650e-01f
#define ENTROPY_R2 8.335948735e-02f
#define ENTROPY_R3 4.948635772e-02f
#define ENTROPY_R4 3.832169250e-02f
#define ENTROPY_R5 -2.860100707e-03f
#define ENTROPY_R6 9.879070520e-02f
#define ENTROPY_R7 -1.199223548e-01f
#define ENTROPY_R8 1.112195104e-01f

/* VEC: 256 (AVX2) or 512 (AVX-512) bits; PS / SI / PD: the intrinsics' prefixes */
#define ENTROPY_VECTOR(ATTR, W, VPS, VSI, VPD, HPS, HSI, P, LANES)                          \
    ATTR VPS log1p_##W(VPS f) {                                                             \
        VPS y = P##_set1_ps(ENTROPY_P0);                                                    \
        y = P##_fmadd_ps(y, f, P##_set1_ps(ENTROPY_P1));                                    \
        y = P##_fmadd_ps(y, f, P##_set1_ps(ENTROPY_P2));                                    \
        y = P##_fmadd_ps(y, f, P##_set1_ps(ENTROPY_P3));                                    \
        y = P##_fmadd_ps(y, f, P##_set1_ps(ENTROPY_P4));                                    \
        y = P##_fmadd_ps(y, f, P##_set1_ps(ENTROPY_P5));                                    \
        y = P##_fmadd_ps(y, f, P##_set1_ps(ENTROPY_P6));                                    \
        y = P##_fmadd_ps(y, f, P##_set1_ps(ENTROPY_P7));                                    \
        y = P##_fmadd_ps(y, f, P##_set1_ps(ENTROPY_P8));                                    \
        y = P##_fmadd_ps(y, f, P##_set1_ps(-0.5f));                                         \
        return P##_fmadd_ps(y, P##_mul_ps(f, f), f);                                        \
    }                                                                                       \
    /* x (normal, > 0) = 2^e (1 + f), 1 + f in [sqrt(1/2), sqrt(2)) */                      \
    ATTR VPS split_##W(VPS x, VSI *e) {                                                     \
        VSI xi = P##_castps_si##W(x);                                                       \
        *e = P##_srai_epi32(P##_sub_epi32(xi, P##_set1_epi32(ENTROPY_SQRT_HALF_BITS)), 23); \
        VPS m = P##_castsi##W##_ps(P##_sub_epi32(xi, P##_slli_epi32(*e, 23)));              \
        return P##_sub_ps(m, P##_set1_ps(1.0f));                                            \
    }                                                                                       \
    /* the negated entropies of the boxes p (in [0, 1]; 0 gives 0): lanes' halves a, b */   \
    ATTR void entropy_h_##W(VPS p, VPD *a, VPD *b) {                                        \
        const VPS one = P##_set1_ps(1.0f);                                                  \
        VPS u = P##_min_ps(p, P##_sub_ps(one, p));                                          \
        VSI eu;                                                                             \
        VPS lpu = log1p_##W(split_##W(P##_max_ps(u, P##_set1_ps(FLT_MIN)), &eu));           \
        VPS r = P##_set1_ps(ENTROPY_R8);                                                    \
        r = P##_fmadd_ps(r, u, P##_set1_ps(ENTROPY_R7));                                    \
        r = P##_fmadd_ps(r, u, P##_set1_ps(ENTROPY_R6));                                    \
        r = P##_fmadd_ps(r, u, P##_set1_ps(ENTROPY_R5));                                    \
        r = P##_fmadd_ps(r, u, P##_set1_ps(ENTROPY_R4));                                    \
        r = P##_fmadd_ps(r, u, P##_set1_ps(ENTROPY_R3));                                    \
        r = P##_fmadd_ps(r, u, P##_set1_ps(ENTROPY_R2));                                    \
        r = P##_fmadd_ps(r, u, P##_set1_ps(ENTROPY_R1));                                    \
        r = P##_fmadd_ps(r, u, P##_set1_ps(ENTROPY_R0));                                    \
        const VPD ln2 = P##_set1_pd(ENTROPY_LN2);                                           \
        for (int h = 0; h < 2; h++) {                                                       \
            VPD ud = P##_cvtps_pd(ENTROPY_HALF_PS_##W(u, h));                               \
            VPD lu = P##_fmadd_pd(P##_cvtepi32_pd(ENTROPY_HALF_SI_##W(eu, h)), ln2,         \
                                  P##_cvtps_pd(ENTROPY_HALF_PS_##W(lpu, h)));               \
            VPD w = P##_mul_pd(ud, P##_cvtps_pd(ENTROPY_HALF_PS_##W(r, h)));                \
            VPD g = P##_fnmadd_pd(ud, w, ud); /* -(1 - u) log(1 - u) */                     \
            VPD t = P##_fmsub_pd(ud, lu, g);                                                \
            if (h == 0) *a = t;                                                             \
            else *b = t;                                                                    \
        }                                                                                   \
    }                                                                                       \
    /* ... added to a and b */                                                              \
    ATTR void entropy_add_##W(VPS p, VPD *a, VPD *b) {                                      \
        VPD x, y;                                                                           \
        entropy_h_##W(p, &x, &y);                                                           \
        *a = P##_add_pd(*a, x);                                                             \
        *b = P##_add_pd(*b, y);                                                             \
    }

/* AVX2: halves of 256-bit vectors; selections by blendv */
#define ENTROPY_HALF_PS_256(x, h) \
    ((h) == 0 ? _mm256_castps256_ps128(x) : _mm256_extractf128_ps(x, 1))
#define ENTROPY_HALF_SI_256(x, h) \
    ((h) == 0 ? _mm256_castsi256_si128(x) : _mm256_extracti128_si256(x, 1))
ENTROPY_VECTOR(ENT2, 256, __m256, __m256i, __m256d, __m128, __m128i, _mm256, 8)

/* AVX-512: halves of 512-bit vectors; selections by mask */
#define ENTROPY_HALF_PS_512(x, h)                                                   \
    ((h) == 0 ? _mm512_castps512_ps256(x)                                           \
              : _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)))
#define ENTROPY_HALF_SI_512(x, h) \
    ((h) == 0 ? _mm512_castsi512_si256(x) : _mm512_extracti64x4_epi64(x, 1))
ENTROPY_VECTOR(ENT512, 512, __m512, __m512i, __m512d, __m256, __m256i, _mm512, 16)

ENT2 double hadd256(__m256d a) {
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

/* a frame's negated entropy total: whole vectors, then the last boxes by a masked
 * load (0 in the other lanes, whose entropy is 0) */
ENT2 double entropy_total8(const float *p, int64_t k) {
    __m256d a = _mm256_setzero_pd(), b = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) entropy_add_256(_mm256_loadu_ps(p + i), &a, &b);
    if (i < k) {
        __m256i m = _mm256_loadu_si256((const __m256i *)(tail32 + 8 - (k - i)));
        entropy_add_256(_mm256_maskload_ps(p + i, m), &a, &b);
    }
    return hadd256(_mm256_add_pd(a, b));
}

ENT512 double entropy_total16(const float *p, int64_t k) {
    __m512d a = _mm512_setzero_pd(), b = _mm512_setzero_pd();
    for (int64_t i = 0; i < k; i += 16)
        entropy_add_512(_mm512_maskz_loadu_ps(mask16(k - i), p + i), &a, &b);
    return _mm512_reduce_add_pd(_mm512_add_pd(a, b));
}

/* boxes [0, k) at p: their negated entropies into h (k rounded up to whole vectors:
 * h holds ENTROPY_PAD doubles more) */
#define ENTROPY_PAD 16
ENT2 void entropy_boxes8(const float *p, int64_t k, double *h) {
    __m256d a, b;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        entropy_h_256(_mm256_loadu_ps(p + i), &a, &b);
        _mm256_storeu_pd(h + i, a);
        _mm256_storeu_pd(h + i + 4, b);
    }
    if (i < k) {
        __m256i m = _mm256_loadu_si256((const __m256i *)(tail32 + 8 - (k - i)));
        entropy_h_256(_mm256_maskload_ps(p + i, m), &a, &b);
        _mm256_storeu_pd(h + i, a);
        _mm256_storeu_pd(h + i + 4, b);
    }
}

ENT512 void entropy_boxes16(const float *p, int64_t k, double *h) {
    __m512d a, b;
    for (int64_t i = 0; i < k; i += 16) {
        entropy_h_512(_mm512_maskz_loadu_ps(mask16(k - i), p + i), &a, &b);
        _mm512_storeu_pd(h + i, a);
        _mm512_storeu_pd(h + i + 8, b);
    }
}

/* the sum of the k doubles at h */
ENT2 double entropy_sum4(const double *h, int64_t k) {
    __m256d a = _mm256_setzero_pd(), b = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        a = _mm256_add_pd(a, _mm256_loadu_pd(h + i));
        b = _mm256_add_pd(b, _mm256_loadu_pd(h + i + 4));
    }
    if (i + 4 <= k) {
        a = _mm256_add_pd(a, _mm256_loadu_pd(h + i));
        i += 4;
    }
    if (i < k) {
        __m256i m = _mm256_loadu_si256((const __m256i *)(tail64 + 4 - (k - i)));
        b = _mm256_add_pd(b, _mm256_maskload_pd(h + i, m));
    }
    return hadd256(_mm256_add_pd(a, b));
}

ENT512 __mmask8 entropy_mask8(int64_t r) {
    r = r < 0 ? 0 : r > 8 ? 8 : r;
    return (__mmask8)((1u << r) - 1u);
}

ENT512 double entropy_sum8(const double *h, int64_t k) { /* no branch up to k = 32 */
    __m512d a = _mm512_maskz_loadu_pd(entropy_mask8(k), h);
    __m512d b = _mm512_maskz_loadu_pd(entropy_mask8(k - 8), h + opaque_min(8, k));
    __m512d c = _mm512_maskz_loadu_pd(entropy_mask8(k - 16), h + opaque_min(16, k));
    __m512d d = _mm512_maskz_loadu_pd(entropy_mask8(k - 24), h + opaque_min(24, k));
    for (int64_t i = 32; i < k; i += 8)
        a = _mm512_add_pd(a, _mm512_maskz_loadu_pd(entropy_mask8(k - i), h + i));
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a, b), _mm512_add_pd(c, d)));
}

INLINE float entropy_finish(int red, double negated, int64_t k, int normalize) {
    double total = -negated;
    if (normalize) total /= ENTROPY_LN2;
    return (float)(red == MEAN ? total / (double)k : total);
}

/* v[0, k): frames' u = min(s, 1 - s) in [0, 1/2] (+inf: a frame without boxes, a value
 * no score gives) -> their entropies (divided by ln 2 with normalize; `empty` for +inf,
 * NaN for NaN), in place */
ENT512 void entropy_values16(float *v, int64_t k, int normalize, float empty) {
    const __m512d zero = _mm512_setzero_pd(), ln2 = _mm512_set1_pd(ENTROPY_LN2);
    for (int64_t i = 0; i < k; i += 16) {
        const __mmask16 m = mask16(k - i);
        const __m512 u = _mm512_maskz_loadu_ps(m, v + i);
        __m512d a, b;
        entropy_h_512(u, &a, &b);
        a = _mm512_sub_pd(zero, a);
        b = _mm512_sub_pd(zero, b);
        if (normalize) {
            a = _mm512_div_pd(a, ln2);
            b = _mm512_div_pd(b, ln2);
        }
        __m512 h = _mm512_castpd_ps(_mm512_insertf64x4(
            _mm512_castps_pd(_mm512_castps256_ps512(_mm512_cvtpd_ps(a))),
            _mm256_castps_pd(_mm512_cvtpd_ps(b)), 1));
        h = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(u, u, _CMP_UNORD_Q), h, u);
        h = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(u, _mm512_set1_ps(INFINITY), _CMP_EQ_OQ),
                                 h, _mm512_set1_ps(empty));
        _mm512_mask_storeu_ps(v + i, m, h);
    }
}

ENT2 void entropy_values8(float *v, int64_t k, int normalize, float empty) {
    const __m256d zero = _mm256_setzero_pd(), ln2 = _mm256_set1_pd(ENTROPY_LN2);
    for (int64_t i = 0; i < k; i += 8) {
        const __m256i m = _mm256_loadu_si256((const __m256i *)(tail32 + 8 - min64(k - i, 8)));
        const __m256 u = _mm256_maskload_ps(v + i, m);
        __m256d a, b;
        entropy_h_256(u, &a, &b);
        a = _mm256_sub_pd(zero, a);
        b = _mm256_sub_pd(zero, b);
        if (normalize) {
            a = _mm256_div_pd(a, ln2);
            b = _mm256_div_pd(b, ln2);
        }
        __m256 h = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(a)),
                                        _mm256_cvtpd_ps(b), 1);
        h = _mm256_blendv_ps(h, u, _mm256_cmp_ps(u, u, _CMP_UNORD_Q));
        h = _mm256_blendv_ps(h, _mm256_set1_ps(empty),
                             _mm256_cmp_ps(u, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ));
        _mm256_maskstore_ps(v + i, m, h);
    }
}

/* MIN / MAX of frames [lo, hi): binary entropy rises with u = min(s, 1 - s) on [0, 1/2],
 * so a frame's least (most) entropic box is its box of least (most) u, and its entropy
 * is that u's: RANGE (the least-confidence loop of the level, u exact) finds it, VALUES
 * takes one entropy per frame, block by block (in cache). Equal to the per-box extreme
 * to rounding (rounding may rank two nearly equal boxes the other way). */
#define ENTROPY_BLOCK 4096
#define ENTROPY_EXTREMES(ATTR, NAME, RANGE, VALUES)                                           \
    ATTR void NAME(int red, const float *s, int64_t n, const int64_t *starts,                 \
                   const int64_t *lengths, int64_t length, int normalize, double empty,       \
                   int64_t lo, int64_t hi, float *out) {                                      \
        uint64_t at = length < 0 ? (uint64_t)starts[0] : 0; /* running: wraps as there */     \
        for (int64_t f0 = lo; f0 < hi; f0 += ENTROPY_BLOCK) {                                 \
            const int64_t f1 = min64(f0 + ENTROPY_BLOCK, hi);                                 \
            const int64_t first = (int64_t)at;                                                \
            const int64_t *st = length < 0 ? &first : starts;                                 \
            if (red == MIN)                                                                   \
                RANGE(LEAST, MIN, s, n, st, lengths, length, 0, INFINITY, f0, f1, out);       \
            else                                                                              \
                RANGE(LEAST, MAX, s, n, st, lengths, length, 0, INFINITY, f0, f1, out);       \
            VALUES(out + f0, f1 - f0, normalize, (float)empty);                               \
            if (length < 0)                                                                   \
                for (int64_t f = f0; f < f1; f++) at += (uint64_t)lengths[f];                 \
        }                                                                                     \
    }
ENTROPY_EXTREMES(ENT512, entropy_extremes16, range16, entropy_values16)
ENTROPY_EXTREMES(ENT2, entropy_extremes8, range8, entropy_values8)

/* MEAN / SUM of frames [lo, hi) (FRAME_RANGE's frames, clipped alike). The boxes of a
 * run of adjacent frames (fixed-length ones, running starts, or given starts that
 * follow each other), up to ENTROPY_CHUNK boxes, go through BOXES at once, every lane
 * a box (frames of 20 boxes in 16-lane vectors would leave 12 of 32 lanes idle), into a
 * buffer of their entropies; then SUM adds each frame's. A frame of more boxes takes
 * TOTAL alone. MIN / MAX: EXTREMES (reduced first). */
#define ENTROPY_CHUNK 1024
#define ENTROPY_STREAM(ATTR, NAME, BOXES, SUM, TOTAL, EXTREMES)                                \
    ATTR void NAME(int red, const float *s, int64_t n, const int64_t *starts,                  \
                   const int64_t *lengths, int64_t length, int normalize, double empty,        \
                   int64_t lo, int64_t hi, float *out) {                                       \
        if (red == MIN || red == MAX) {                                                        \
            EXTREMES(red, s, n, starts, lengths, length, normalize, empty, lo, hi, out);       \
            return;                                                                            \
        }                                                                                      \
        double h[ENTROPY_CHUNK + ENTROPY_PAD];                                                 \
        int64_t frame[ENTROPY_CHUNK], boxes[ENTROPY_CHUNK];                                    \
        int64_t pending = 0, first_box = 0, chunk = 0; /* the run: [first_box, + chunk) */     \
        uint64_t at = length < 0 ? (uint64_t)starts[0] : 0;                                    \
        for (int64_t f = lo; f <= hi; f++) {                                                   \
            int64_t first = 0, k = 0;                                                          \
            if (f < hi) {                                                                      \
                if (length > 0) {                                                              \
                    first = f > n / length ? n : f * length;                                   \
                    k = min64(length, n - first);                                              \
                } else if (length < 0) {                                                       \
                    first = min64(max64((int64_t)at, 0), n);                                   \
                    k = min64(max64(lengths[f], 0), n - first);                                \
                    at += (uint64_t)lengths[f];                                                \
                } else {                                                                       \
                    first = min64(max64(starts[f], 0), n);                                     \
                    k = min64(max64(lengths[f], 0), n - first);                                \
                }                                                                              \
                if (k <= 0) {                                                                  \
                    out[f] = (float)empty;                                                     \
                    continue;                                                                  \
                }                                                                              \
                if (pending > 0 && first == first_box + chunk && chunk + k <= ENTROPY_CHUNK) { \
                    frame[pending] = f;                                                        \
                    boxes[pending++] = k;                                                      \
                    chunk += k;                                                                \
                    continue;                                                                  \
                }                                                                              \
            }                                                                                  \
            if (pending > 0) { /* the run ends: its entropies, then its frames' sums */        \
                BOXES(s + first_box, chunk, h);                                                \
                for (int64_t j = 0, off = 0; j < pending; off += boxes[j++])                   \
                    out[frame[j]] =                                                            \
                        entropy_finish(red, SUM(h + off, boxes[j]), boxes[j], normalize);      \
                pending = 0;                                                                   \
            }                                                                                  \
            if (f == hi) break;                                                                \
            if (k > ENTROPY_CHUNK) {                                                           \
                out[f] = entropy_finish(red, TOTAL(s + first, k), k, normalize);               \
                continue;                                                                      \
            }                                                                                  \
            frame[0] = f;                                                                      \
            boxes[0] = k;                                                                      \
            pending = 1;                                                                       \
            first_box = first;                                                                 \
            chunk = k;                                                                         \
        }                                                                                      \
    }
ENTROPY_STREAM(ENT2, entropy_stream8, entropy_boxes8, entropy_sum4, entropy_total8,
               entropy_extremes8)
ENTROPY_STREAM(ENT512, entropy_stream16, entropy_boxes16, entropy_sum8, entropy_total16,
               entropy_extremes16)

#define NOINLINE_ENT512 static __attribute__((noinline, target("avx512f,avx512vl,fma")))
#define NOINLINE_ENT2 static __attribute__((noinline, target("avx2,fma")))
NOINLINE_ENT512 void entropy_frames_f32_avx512(PARAMS(float)) {
    entropy_stream16((int)reduction, ARGS_AFTER_RED);
}
NOINLINE_ENT2 void entropy_frames_f32_avx2(PARAMS(float)) {
    entropy_stream8((int)reduction, ARGS_AFTER_RED);
}

NOINLINE_ENT512 void entropy_log_avx512(const float *x, int64_t n, double *out) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = mask16(n - i);
        __m512i e;
        __m512 lp = log1p_512(split_512(_mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), m, x + i), &e));
        for (int h = 0; h < 2; h++) {
            __m512d l = _mm512_fmadd_pd(_mm512_cvtepi32_pd(ENTROPY_HALF_SI_512(e, h)),
                                        _mm512_set1_pd(ENTROPY_LN2),
                                        _mm512_cvtps_pd(ENTROPY_HALF_PS_512(lp, h)));
            _mm512_mask_storeu_pd(out + i + 8 * h, (__mmask8)(m >> (8 * h)), l);
        }
    }
}

NOINLINE_ENT2 void entropy_log_avx2(const float *x, int64_t n, double *out) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i e;
        __m256 lp = log1p_256(split_256(_mm256_loadu_ps(x + i), &e));
        for (int h = 0; h < 2; h++)
            _mm256_storeu_pd(out + i + 4 * h,
                             _mm256_fmadd_pd(_mm256_cvtepi32_pd(ENTROPY_HALF_SI_256(e, h)),
                                             _mm256_set1_pd(ENTROPY_LN2),
                                             _mm256_cvtps_pd(ENTROPY_HALF_PS_256(lp, h))));
    }
    for (; i < n; i++) out[i] = log((double)x[i]);
}
#endif

LEVEL_FUNCTION(NOINLINE, entropy_frames_f32_portable, float, entropy_range_portable, 0)

/* the level of the entropy loops: AVX2 also needs FMA */
static int64_t entropy_level(void) {
    int64_t level = assay_simd_level();
#ifdef ASSAY_FRAMES_X86
    if (level == 1 && !__builtin_cpu_supports("fma")) level = 0;
#endif
    return level;
}

/* out[f], lo <= f < hi: the reduction of the binary entropies (nats; bits with
 * normalize) of the frame's float32 scores; the other entry points' arguments */
ASSAY_EXPORT void entropy_frames_f32(const float *s, int64_t n, const int64_t *starts,
                                     const int64_t *lengths, int64_t length,
                                     int64_t reduction, int64_t normalize, double empty,
                                     int64_t lo, int64_t hi, float *out) {
    const int nz = normalize != 0;
    const int64_t level = entropy_level();
    (void)level;
#ifdef ASSAY_FRAMES_X86
    if (level == 2) {
        entropy_frames_f32_avx512(ARGS);
        return;
    }
    if (level == 1) {
        entropy_frames_f32_avx2(ARGS);
        return;
    }
#endif
    entropy_frames_f32_portable(ARGS);
}

/* Test hook: out[i] = log x[i] (normal positive float32 x) by the entropy loops' vector
 * logarithm at the current level, in double before any rounding to float32 (libm's
 * log at the portable level). */
ASSAY_EXPORT void frames_entropy_log(const float *x, int64_t n, double *out) {
    const int64_t level = entropy_level();
    (void)level;
#ifdef ASSAY_FRAMES_X86
    if (level == 2) {
        entropy_log_avx512(x, n, out);
        return;
    }
    if (level == 1) {
        entropy_log_avx2(x, n, out);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) out[i] = log((double)x[i]);
}

ASSAY_MODULE(_native_frames)
