/* C loop of top_k's candidate pass (kernels/uncertainty.py, _sampled_candidates):
 * the positions of the scores at least as good as a bound, in one read of the scores.
 *
 *     int64_t at_least_T(const T *x, int64_t lo, int64_t hi, double bound,
 *                        int64_t descending, int64_t *idx, int64_t cap)
 *
 * For lo <= i < hi in ascending order: the i with x[i] >= bound (descending) or
 * x[i] <= bound (ascending) go to idx[0], idx[1], ... up to cap of them; the return
 * value is how many there are (more than cap: the first cap written, the rest only
 * counted). A NaN is never taken (top_k refuses NaN scores before this). bound is a
 * score of x (a T), passed as a double: exact. Called without the GIL (ctypes), one
 * range per thread.
 *
 * The torch path (a comparison, a count, then flatnonzero) writes and reads an N-byte
 * mask and allocates it fresh. Here, on x86-64 with AVX2 (GCC or Clang, Linux; chosen at
 * run time, simd.h), each block of 64 scores becomes a 64-bit mask of the taken ones
 * (8 vector comparisons), and only its set bits are visited (count trailing zeros): one
 * step per position taken, no branch per score (10 M float32 scores, 64 k taken, 2
 * threads: 1.6 ms). Elsewhere (portable): a vector loop says whether any of the 64 is
 * taken, and only such blocks are scanned again, score by score.
 */
#include "abi.h"
#include "simd.h"

#if defined(__GNUC__)
#define SELECT_SIMD _Pragma("omp simd reduction(| : any)")
#else
#define SELECT_SIMD
#endif

#define SELECT_BLOCK 64

/* the scores after the last whole block of 64, one by one; returns the count */
#define AT_LEAST_TAIL(TAKE)                                                                \
    for (; i < hi; i++)                                                                    \
        if (TAKE(x[i], b)) {                                                               \
            if (count < cap) idx[count] = i;                                               \
            count++;                                                                       \
        }                                                                                  \
    return count;

/* the scan of one range, for one direction (TAKE(v, b): v is taken) */
#define AT_LEAST_RANGE(T, NAME, TAKE)                                                      \
    static int64_t NAME(const T *x, int64_t lo, int64_t hi, T b, int64_t *idx,             \
                        int64_t cap) {                                                     \
        int64_t count = 0, i = lo;                                                         \
        for (; i + SELECT_BLOCK <= hi; i += SELECT_BLOCK) {                                \
            const T *p = x + i;                                                            \
            int any = 0;                                                                   \
            SELECT_SIMD                                                                    \
            for (int j = 0; j < SELECT_BLOCK; j++) any |= TAKE(p[j], b);                   \
            if (!any) continue;                                                            \
            for (int j = 0; j < SELECT_BLOCK; j++)                                         \
                if (TAKE(p[j], b)) {                                                       \
                    if (count < cap) idx[count] = i + j;                                   \
                    count++;                                                               \
                }                                                                          \
        }                                                                                  \
        AT_LEAST_TAIL(TAKE)                                                                \
    }

#define AT_LEAST_HIGH(v, b) ((v) >= (b))
#define AT_LEAST_LOW(v, b) ((v) <= (b))

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define ASSAY_SELECT_X86 1
#include <immintrin.h>
#define SELECT_AVX2 static __attribute__((noinline, target("avx2")))

/* the positions of the set bits of m (scores i + bit) into idx from count; returns the
 * new count (positions past cap only counted: a full buffer, a popcount per block) */
static inline __attribute__((always_inline)) int64_t bits_out(uint64_t m, int64_t i,
                                                              int64_t *idx, int64_t count,
                                                              int64_t cap) {
    if (count >= cap) return count + __builtin_popcountll(m);
    if (count + 64 <= cap) { /* room for all: no test per position */
        for (; m; m &= m - 1) idx[count++] = i + __builtin_ctzll(m);
        return count;
    }
    for (; m; m &= m - 1) {
        if (count < cap) idx[count] = i + __builtin_ctzll(m);
        count++;
    }
    return count;
}

/* 64 scores at p -> one bit each (taken), by 8 / 16 vector comparisons (PRED: _CMP_*,
 * _GE_OQ / _LE_OQ: false for NaN, as the portable comparisons) */
#define MASK64(NAME, T, VT, LOADU, CMP, MOVEMASK, LANES, PRED)                              \
    static inline __attribute__((always_inline, target("avx2"))) uint64_t NAME(             \
        const T *p, VT vb) {                                                                \
        uint64_t m = 0;                                                                     \
        for (int j = 0; j < 64 / (LANES); j++)                                              \
            m |= (uint64_t)(uint32_t)MOVEMASK(CMP(LOADU(p + (LANES) * j), vb, PRED))        \
                 << ((LANES) * j);                                                          \
        return m;                                                                           \
    }
MASK64(ge64_f32, float, __m256, _mm256_loadu_ps, _mm256_cmp_ps, _mm256_movemask_ps, 8, _CMP_GE_OQ)
MASK64(le64_f32, float, __m256, _mm256_loadu_ps, _mm256_cmp_ps, _mm256_movemask_ps, 8, _CMP_LE_OQ)
MASK64(ge64_f64, double, __m256d, _mm256_loadu_pd, _mm256_cmp_pd, _mm256_movemask_pd, 4,
       _CMP_GE_OQ)
MASK64(le64_f64, double, __m256d, _mm256_loadu_pd, _mm256_cmp_pd, _mm256_movemask_pd, 4,
       _CMP_LE_OQ)

#define AT_LEAST_AVX2(T, NAME, SET1, MASK, TAKE)                                            \
    SELECT_AVX2 int64_t NAME(const T *x, int64_t lo, int64_t hi, T b, int64_t *idx,         \
                             int64_t cap) {                                                 \
        int64_t count = 0, i = lo;                                                          \
        for (; i + 64 <= hi; i += 64) {                                                     \
            const uint64_t m = MASK(x + i, SET1(b));                                        \
            if (m) count = bits_out(m, i, idx, count, cap);                                 \
        }                                                                                   \
        AT_LEAST_TAIL(TAKE)                                                                 \
    }
AT_LEAST_AVX2(float, high_avx2_f32, _mm256_set1_ps, ge64_f32, AT_LEAST_HIGH)
AT_LEAST_AVX2(float, low_avx2_f32, _mm256_set1_ps, le64_f32, AT_LEAST_LOW)
AT_LEAST_AVX2(double, high_avx2_f64, _mm256_set1_pd, ge64_f64, AT_LEAST_HIGH)
AT_LEAST_AVX2(double, low_avx2_f64, _mm256_set1_pd, le64_f64, AT_LEAST_LOW)
#define SELECT_AVX2_CALLS(T, SUFFIX)                                                        \
    if (assay_simd_level() >= 1)                                                           \
        return descending ? high_avx2_##SUFFIX(x, lo, hi, (T)bound, idx, cap)              \
                          : low_avx2_##SUFFIX(x, lo, hi, (T)bound, idx, cap);
#else
#define SELECT_AVX2_CALLS(T, SUFFIX)
#endif

#define AT_LEAST(T, SUFFIX)                                                                \
    AT_LEAST_RANGE(T, high_##SUFFIX, AT_LEAST_HIGH)                                        \
    AT_LEAST_RANGE(T, low_##SUFFIX, AT_LEAST_LOW)                                          \
    ASSAY_EXPORT int64_t at_least_##SUFFIX(const T *x, int64_t lo, int64_t hi,             \
                                           double bound, int64_t descending, int64_t *idx, \
                                           int64_t cap) {                                  \
        if (lo >= hi) return 0;                                                            \
        SELECT_AVX2_CALLS(T, SUFFIX)                                                       \
        return descending ? high_##SUFFIX(x, lo, hi, (T)bound, idx, cap)                   \
                          : low_##SUFFIX(x, lo, hi, (T)bound, idx, cap);                   \
    }

AT_LEAST(float, f32)
AT_LEAST(double, f64)
