/* Shared by the C loops of assay.kernels (the .c files beside this one).
 *
 * ASSAY_NATIVE_ABI must equal kernels/_native.py's ABI: the loader refuses a library
 * built from other sources (a stale build in place after a checkout), so a changed
 * signature can never be called with the old one's arguments. Bump both together
 * whenever a function's arguments change.
 */
#ifndef ASSAY_NATIVE_ABI_H
#define ASSAY_NATIVE_ABI_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define ASSAY_NATIVE_ABI 4

#if defined(_WIN32)
#define ASSAY_EXPORT __declspec(dllexport)
#else
#define ASSAY_EXPORT __attribute__((visibility("default")))
#endif

/* An empty module: the import system finds the library by its module name, then
 * kernels/_native.py opens the same file with ctypes. */
#define ASSAY_MODULE(name)                                                   \
    ASSAY_EXPORT int64_t assay_native_abi(void) { return ASSAY_NATIVE_ABI; } \
    static struct PyModuleDef assay_module_def = {                           \
        PyModuleDef_HEAD_INIT, #name, NULL, -1, NULL, NULL, NULL, NULL, NULL};  \
    PyMODINIT_FUNC PyInit_##name(void) { return PyModule_Create(&assay_module_def); }

/* Python's floor division and modulo of int64 (numba's `//` and `%`). */
static inline int64_t floordiv64(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t floormod64(int64_t a, int64_t b) {
    int64_t r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

#endif
