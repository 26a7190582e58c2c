"""Optional C loops of the CPU kernels (``kernels/_native/*.c``), built at install.

Everything else is declared in ``pyproject.toml``. The extensions are optional: where
no C compiler or Python headers are found, the install goes on without them and the
kernels take their numba or torch paths (``assay.kernels._native``). They hold plain
C functions called through ``ctypes`` (no Python objects cross the boundary); each
file also defines an empty module init so that the import system can find it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# Strict IEEE arithmetic: no contraction into fused multiply-adds, no reassociation.
# The loops must give the torch paths' numbers bit for bit (maskApi's rounding), and
# int64 arithmetic wraps as numba's does (-fwrapv; CPython's own flags usually add it).
_STRICT = [] if sys.platform == "win32" else ["-O3", "-std=c11", "-ffp-contract=off", "-fwrapv"]
# The frame-score loops also let `#pragma omp simd` vectorise their reductions (only
# there; -fopenmp-simd needs no OpenMP runtime).
_SIMD = [] if sys.platform == "win32" else [*_STRICT, "-fopenmp-simd"]


class _BuildFresh(build_ext):
    """Removes an extension's previous in-place library before building it.

    The extensions are optional: a failed build only warns. Without this, a failed
    rebuild after an edit would leave the old library in place, still loaded (its ABI
    number unchanged); now the numba or torch paths run instead, and
    ``assay.kernels._compiled.which()`` says so.
    """

    def build_extension(self, ext: Extension) -> None:
        if self.inplace or getattr(self, "editable_mode", False):
            build_py = self.get_finalized_command("build_py")
            inplace_file, _ = self._get_inplace_equivalent(build_py, ext)
            Path(inplace_file).unlink(missing_ok=True)
        super().build_extension(ext)


setup(
    cmdclass={"build_ext": _BuildFresh},
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
            ["kernels/_native/frames.c", "kernels/_native/select.c"],
            depends=["kernels/_native/abi.h", "kernels/_native/simd.h"],
            extra_compile_args=_SIMD,
            optional=True,
        ),
        Extension(
            "assay.kernels._native_ranking",
            ["kernels/_native/ranking.c"],
            depends=["kernels/_native/abi.h"],
            extra_compile_args=_STRICT,
            optional=True,
        ),
    ],
)
