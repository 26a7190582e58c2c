"""Triton's interpreter on CPU tensors, for the Triton-path tests on machines without a GPU.

``TRITON_INTERPRET=1`` must be set before Triton is imported (the root ``conftest.py``
does so when no GPU is present); then every ``@triton.jit`` kernel is interpreted on
NumPy views of CPU tensors, so the kernels' indexing, masks and reductions are tested
in CI. One shim: Triton 3.6's interpreter converts loop bounds with ``int(array)``,
which NumPy >= 2.4 refuses for its one-element arrays; the shim reads the element
(Triton 3.9 no longer needs it; it changes nothing there).
"""

from __future__ import annotations

import os


def interpreter_ready() -> bool:
    """Whether Triton imports in interpreter mode here (shim applied); False: skip."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        return False
    try:
        import triton.runtime.interpreter as interpreter
    except Exception:  # not installed, or a broken install
        return False
    patch = interpreter._patch_lang_tensor
    if getattr(patch, "_assay_shim", False):
        return True

    def patched(tensor: object, scope: object) -> None:
        patch(tensor, scope)
        if hasattr(scope, "set_attr"):  # Triton >= 3.6 (pyproject's floor)
            scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))

    patched._assay_shim = True  # type: ignore[attr-defined]
    interpreter._patch_lang_tensor = patched
    return True
