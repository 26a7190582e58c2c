/* The SIMD level of the frame-score library's loops (frames.c, select.c): 2 AVX-512
 * (F and VL), 1 AVX2, 0 portable; what the CPU has, capped by frames_simd_level (tests
 * run every level). Defined in frames.c. */
#ifndef ASSAY_NATIVE_SIMD_H
#define ASSAY_NATIVE_SIMD_H

#include <stdint.h>

#if defined(__GNUC__)
__attribute__((visibility("hidden")))
#endif
int64_t assay_simd_level(void);

#endif
