"""Columnar detection tables: one row per annotation, ids already dense indexes.

Formats (COCO JSON, arrays, training-loop dicts) turn their input into these tables
once, at the edge; evaluators hand whole columns to kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from ..kernels.masks import Rle

__all__ = ["Catalog", "DetectionTable", "GroundTruthTable"]


@dataclass(frozen=True)
class Catalog:
    """Id <-> dense index maps shared by a ground-truth table and its detections.

    Attributes:
        image_ids: ``(I,)`` int64 image ids, ascending; image index ``i`` is
            ``image_ids[i]``.
        category_ids: ``(K,)`` int64 category ids, ascending.
        category_names: name of each category, same order.
        image_hw: ``(I, 2)`` int64 (height, width); 0 where the source has none.
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
            image_hw=np.zeros((num_images, 2), dtype=np.int64),
        )


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
