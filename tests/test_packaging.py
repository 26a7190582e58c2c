"""The distribution ships every subpackage, and public names are curated."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"sdk": "assay", "engine": "assay.engine", "kernels": "assay.kernels"}


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _packages_on_disk() -> set[str]:
    found = set()
    for folder, package in FOLDERS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([package, *rel.parts]))
    return found


def test_every_subpackage_is_listed_in_pyproject() -> None:
    # An editable install hides a missing entry; a wheel does not.
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    assert listed == _packages_on_disk()


def test_package_dir_maps_the_three_layers() -> None:
    assert _pyproject()["tool"]["setuptools"]["package-dir"] == {v: k for k, v in FOLDERS.items()}


def test_no_layer_is_installed_under_its_folder_name() -> None:
    # PyPI already has `kernels` and `sdk`: only `assay.*` may be distributed.
    for name in _pyproject()["tool"]["setuptools"]["packages"]:
        assert name == "assay" or name.startswith("assay.")


def _public_modules() -> list[str]:
    """Every public module, walked from each layer's own folder.

    In an editable install ``assay.__path__`` is sdk/ alone, so a walk from it never
    reaches ``assay.engine`` / ``assay.kernels``; each layer is walked on its own.
    """
    names = {"assay", "assay.engine", "assay.kernels"}
    for package in map(importlib.import_module, ("assay", "assay.engine", "assay.kernels")):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.add(info.name)
    return sorted(names)


def test_public_modules_reach_every_layer() -> None:
    names = _public_modules()
    assert {"assay.engine.evaluation.coco", "assay.kernels.segmentation"} <= set(names)
    assert not any("._" in name for name in names)


@pytest.mark.parametrize("name", _public_modules())
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert list(exported) == sorted(exported), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported)
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr!r}"


def test_imports_point_down_only() -> None:
    # kernels import nothing of ours above them; engine never imports the sdk.
    for path in (REPO / "kernels").rglob("*.py"):
        text = path.read_text()
        assert "from ..engine" not in text and "assay.engine" not in text, path
        assert "from .. import" not in text, path
    for path in (REPO / "engine").rglob("*.py"):
        text = path.read_text()
        assert "from ...evaluate" not in text and "from ... import" not in text, path
        assert "import assay\n" not in text, path


def test_torchvision_is_never_imported_unguarded() -> None:
    for folder in FOLDERS:
        for path in (REPO / folder).rglob("*.py"):
            for line in path.read_text().splitlines():
                if line.startswith(("import torchvision", "from torchvision")):
                    pytest.fail(f"{path}: module-level torchvision import")


def test_py_typed_marker_ships() -> None:
    assert (REPO / "sdk" / "py.typed").exists()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["assay"]


def test_import_assay_leaves_torchmetrics_and_faiss_unloaded() -> None:
    # the streaming metrics (torchmetrics subclasses, ~2 s to import) and faiss (~0.2 s)
    # load on first use
    code = (
        "import sys, numpy as np, assay, assay.cli\n"
        "assert 'torchmetrics' not in sys.modules, 'torchmetrics imported'\n"
        "assert 'faiss' not in sys.modules, 'faiss imported'\n"
        "assay.MeanAveragePrecision\n"
        "assert 'torchmetrics' in sys.modules\n"
        "index = assay.engine.index.EmbeddingIndex(2)\n"
        "index.add(['a'], np.ones((1, 2), np.float32))\n"
        "index.search(np.ones((1, 2), np.float32), 1)\n"
        "assert 'faiss' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
