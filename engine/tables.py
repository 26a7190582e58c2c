"""Columnar detection tables: one row per annotation, ids already dense indexes.

Formats (COCO JSON, arrays, training-loop dicts) turn their input into these tables
once, at the edge; evaluators hand whole columns to kernels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from ..kernels.masks import Rle

__all__ = ["Catalog", "DetectionTable", "GroundTruthTable"]


@dataclass(frozen=True)
class Catalog:
    """Id <-> dense index maps shared by a ground-truth table and its detections.

    The loaders build valid catalogs; one built by hand is checked with
    :meth:`checked` (:func:`assay.evaluate_detections` does so).

    Attributes:
        image_ids: ``(I,)`` int64 image ids, strictly ascending; image index ``i`` is
            ``image_ids[i]`` (ascending index = ascending id orders tied detections
            across images, as in pycocotools).
        category_ids: ``(K,)`` int64 category ids, strictly ascending.
        category_names: name of each category, same order.
        image_hw: ``(I, 2)`` int64 (height, width); -1 where the source has none
            (``(0, 2)``: no sizes at all). A bbox ground truth (which needs no sizes)
            has them only when every image gives both, else -1 in every row.
    """

    image_ids: np.ndarray
    category_ids: np.ndarray
    category_names: tuple[str, ...]
    image_hw: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

    @classmethod
    def from_counts(cls, num_images: int, num_categories: int) -> Catalog:
        """Catalog whose ids are the dense indexes themselves.

        Example:
            >>> Catalog.from_counts(2, 3).category_names
            ('0', '1', '2')
        """
        return cls(
            image_ids=np.arange(num_images, dtype=np.int64),
            category_ids=np.arange(num_categories, dtype=np.int64),
            category_names=tuple(str(k) for k in range(num_categories)),
            image_hw=np.full((num_images, 2), -1, dtype=np.int64),
        )

    def checked(self, name: str = "catalog") -> Catalog:
        """This catalog, checked, with its arrays as int64 and its names as a tuple.

        Args:
            name: the catalog's name in messages.

        Returns:
            A catalog equal to this one.

        Raises:
            TypeError: ids or sizes that are not integer arrays (numpy, a CPU tensor, a
                list or tuple), names that are not strings.
            ValueError: ids that are not 1-D and strictly ascending (so also
                duplicates), or beyond int64; one name per category id not given;
                ``image_hw`` not of shape ``(I, 2)`` (or ``(0, 2)``).

        Example:
            >>> Catalog(np.array([5, 3]), np.array([1]), ("a",)).checked()
            Traceback (most recent call last):
            ...
            ValueError: Expected `catalog.image_ids` to be strictly ascending, but got 5 before 3 (first offending item: catalog.image_ids[1])
        """  # noqa: E501
        image_ids = _checked_ids(self.image_ids, f"{name}.image_ids")
        category_ids = _checked_ids(self.category_ids, f"{name}.category_ids")
        names = self.category_names
        where = f"`{name}.category_names`"
        if isinstance(names, np.ndarray) and names.ndim == 1:
            names = tuple(str(n) if isinstance(n, np.str_) else n for n in names)
        if not isinstance(names, Sequence) or isinstance(names, (str, bytes)):
            raise TypeError(
                f"Expected {where} to be a sequence of strings, but got {type(names).__name__}"
            )
        bad = next((i for i, n in enumerate(names) if not isinstance(n, str)), None)
        if bad is not None:
            raise TypeError(
                f"Expected {where} to be a sequence of strings, but got {names[bad]!r} "
                f"({type(names[bad]).__name__}) (first offending item: {name}.category_names"
                f"[{bad}])"
            )
        if len(names) != len(category_ids):
            raise ValueError(
                f"Expected {where} to hold one name per category id ({len(category_ids)}), "
                f"but got {len(names)} names"
            )
        hw = _int_array(self.image_hw, f"{name}.image_hw")
        if hw.ndim != 2 or hw.shape[1] != 2 or hw.shape[0] not in (0, len(image_ids)):
            raise ValueError(
                f"Expected `{name}.image_hw` to have shape ({len(image_ids)}, 2) (or (0, 2) for "
                f"no sizes), but got {tuple(hw.shape)}"
            )
        return replace(
            self,
            image_ids=image_ids,
            category_ids=category_ids,
            category_names=tuple(names),
            image_hw=hw,
        )


def _int_array(value: object, name: str) -> np.ndarray:
    """``value`` as int64: a numpy array, a CPU tensor or a list / tuple of ints that fit."""
    if isinstance(value, torch.Tensor):
        if value.device.type != "cpu":
            raise ValueError(f"Expected `{name}` on the CPU, but got {value.device}")
        value = value.numpy()
    elif isinstance(value, (list, tuple)):
        if any(isinstance(v, bool) for v in np.ravel(np.asarray(value, dtype=object))):
            raise TypeError(f"Expected `{name}` to hold ints, but got a bool")
        try:
            value = np.asarray(value)
        except ValueError:  # ragged
            raise ValueError(f"Expected `{name}` to be a rectangular array of ints") from None
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"Expected `{name}` to be a numpy array, tensor or list of ints, but got "
            f"{type(value).__name__}"
        )
    if value.dtype.kind not in "iu":
        raise TypeError(f"Expected `{name}` to hold ints, but got dtype {value.dtype}")
    value = fits_int64(value, name)
    return value if value.dtype == np.int64 else value.astype(np.int64)


def fits_int64(arr: np.ndarray, name: str) -> np.ndarray:
    """``arr``, unless it is uint64 with a value beyond int64 (which would wrap to < 0).

    Example:
        >>> fits_int64(np.array([1, 2**63], dtype=np.uint64), "ids")
        Traceback (most recent call last):
        ...
        ValueError: Expected `ids` to hold values that fit in int64, but got 9223372036854775808 (first offending item: ids[1])
    """  # noqa: E501
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        i = int(np.argmax(arr.reshape(-1) > np.iinfo(np.int64).max))
        raise ValueError(
            f"Expected `{name}` to hold values that fit in int64, but got "
            f"{int(arr.reshape(-1)[i])} (first offending item: {name}[{i}])"
        )
    return arr


def _checked_ids(value: object, name: str) -> np.ndarray:
    """``(N,)`` int64 ids, strictly ascending."""
    ids = _int_array(value, name)
    if ids.ndim != 1:
        raise ValueError(f"Expected `{name}` to have shape (N,), but got {tuple(ids.shape)}")
    not_up = ids[1:] <= ids[:-1]
    if not_up.any():
        i = int(np.flatnonzero(not_up)[0]) + 1
        raise ValueError(
            f"Expected `{name}` to be strictly ascending, but got {int(ids[i - 1])} before "
            f"{int(ids[i])} (first offending item: {name}[{i}])"
        )
    return ids


@dataclass(frozen=True)
class GroundTruthTable:
    """Ground-truth boxes.

    Attributes:
        image: ``(G,)`` int64 image index.
        category: ``(G,)`` int64 category index.
        box: ``(G, 4)`` float64 ``xywh``.
        area: ``(G,)`` float64 annotation area (COCO's ``area`` field; used for area
            ranges).
        iscrowd: ``(G,)`` bool.
        id: ``(G,)`` int64 annotation ids (pycocotools treats id 0 specially).
        mask: the segmentation of each row as run-length encoded masks (``G`` masks,
            row order), or ``None`` for boxes only (``iou_type="bbox"``).
    """

    image: Tensor
    category: Tensor
    box: Tensor
    area: Tensor
    iscrowd: Tensor
    id: Tensor
    mask: Rle | None = None

    def __len__(self) -> int:
        return int(self.image.shape[0])

    def to(self, device: torch.device) -> GroundTruthTable:
        """Copy of the table on ``device`` (the table itself when already there)."""
        if self.image.device == device:
            return self
        image, category, box, area, iscrowd, ids = (t.to(device) for t in self._columns())
        mask = None if self.mask is None else self.mask.to(device)
        return GroundTruthTable(image, category, box, area, iscrowd, ids, mask)

    def _columns(self) -> tuple[Tensor, ...]:
        return (self.image, self.category, self.box, self.area, self.iscrowd, self.id)


@dataclass(frozen=True)
class DetectionTable:
    """Detections (model results).

    Attributes:
        image: ``(D,)`` int64 image index.
        category: ``(D,)`` int64 category index.
        box: ``(D, 4)`` float64 ``xywh``.
        score: ``(D,)`` float64 confidence.
        area: ``(D,)`` float64 area used for area ranges (``w * h`` for boxes; for
            masks what ``COCO.loadRes`` gives, see ``load_coco_results``).
        mask: the segmentation of each row as run-length encoded masks (``D`` masks,
            row order), or ``None`` for boxes only (``iou_type="bbox"``).
    """

    image: Tensor
    category: Tensor
    box: Tensor
    score: Tensor
    area: Tensor
    mask: Rle | None = None

    def __len__(self) -> int:
        return int(self.image.shape[0])

    def to(self, device: torch.device) -> DetectionTable:
        """Copy of the table on ``device`` (the table itself when already there)."""
        if self.image.device == device:
            return self
        image, category, box, score, area = (
            t.to(device) for t in (self.image, self.category, self.box, self.score, self.area)
        )
        mask = None if self.mask is None else self.mask.to(device)
        return DetectionTable(image, category, box, score, area, mask)
