"""Optional C loops of the CPU kernels (``kernels/_native/*.c``), built at install.

Everything else is declared in ``pyproject.toml``. The extensions are optional: where
no C compiler or Python headers are found, the install goes on without them and the
kernels take their numba or torch paths (``assay.kernels._native``). They hold plain
C functions called through ``ctypes`` (no Python objects cross the boundary); each
file also defines an empty module init so that the import system can find it.
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup

# Strict IEEE arithmetic: no contraction into fused multiply-adds, no reassociation.
# The loops must give the torch paths' numbers bit for bit (maskApi's rounding).
_STRICT = [] if sys.platform == "win32" else ["-O3", "-std=c11", "-ffp-contract=off"]
# The frame-score loops also let `#pragma omp simd` vectorise their reductions (only
# there; -fopenmp-simd needs no OpenMP runtime).
_SIMD = [] if sys.platform == "win32" else [*_STRICT, "-fopenmp-simd"]

setup(
    ext_modules=[
        Extension(
            "assay.kernels._native_masks",
            ["kernels/_native/masks.c"],
            depends=["kernels/_native/abi.h"],
            extra_compile_args=_STRICT,
            optional=True,
        ),
        Extension(
            "assay.kernels._native_frames",
            ["kernels/_native/frames.c"],
            depends=["kernels/_native/abi.h"],
            extra_compile_args=_SIMD,
            optional=True,
        ),
    ]
)
