"""Root pytest configuration.

The source folders map onto one package (sdk/ -> assay, engine/ -> assay.engine,
kernels/ -> assay.kernels), so a path-derived module name such as
``engine.evaluation.coco`` is wrong. ``--doctest-modules`` collection is wrapped here
so that each module's doctests run on the installed module (``assay.engine...``).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from _pytest.doctest import DoctestModule

_ROOT = Path(__file__).resolve().parent

# Triton's and numba's kernels have no doctests, and importing them needs Triton /
# numba (optional).
collect_ignore = [
    "kernels/_triton_kernels.py",
    "kernels/_numba_kernels.py",
    "kernels/_numba_frame_kernels.py",
]

if not torch.cuda.is_available():
    # Triton (if installed) runs its kernels through its interpreter here, so the
    # Triton paths are tested without a GPU (tests/triton_interpreter.py). This must
    # precede Triton's import, hence the root conftest. Nothing runs them unless
    # ASSAY_TRITON=interpret (the tests' ``triton_device`` fixture sets it).
    os.environ.setdefault("TRITON_INTERPRET", "1")
_PACKAGES = {"sdk": "assay", "engine": "assay.engine", "kernels": "assay.kernels"}


def installed_module_name(path: Path) -> str | None:
    """``assay.*`` name of a source file under sdk/, engine/ or kernels/, else None."""
    try:
        rel = path.resolve().relative_to(_ROOT)
    except ValueError:
        return None
    if len(rel.parts) < 2 or rel.parts[0] not in _PACKAGES or rel.suffix != ".py":
        return None
    parts = [_PACKAGES[rel.parts[0]], *rel.parts[1:-1]]
    if rel.stem != "__init__":
        parts.append(rel.stem)
    return ".".join(parts)


class InstalledDoctestModule(DoctestModule):
    """Doctests of a source file, run on the module imported under its package name."""

    def _getobj(self) -> ModuleType:
        name = installed_module_name(self.path)
        assert name is not None
        return importlib.import_module(name)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    """Run the doctests of sdk/, engine/ and kernels/ on the installed modules."""
    collected = yield
    if installed_module_name(file_path) is None:
        return collected
    return [
        InstalledDoctestModule.from_parent(parent, path=file_path)
        if type(c) is DoctestModule
        else c
        for c in collected
    ]


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect sdk/, engine/, kernels/ as plain folders (a `Package` would import `sdk`)."""
    try:
        rel = path.resolve().relative_to(_ROOT)
    except ValueError:
        return None
    if rel.parts and rel.parts[0] in _PACKAGES:
        return pytest.Dir.from_parent(parent, path=path)
    return None
