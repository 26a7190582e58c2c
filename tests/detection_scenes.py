"""Seeded detection scenes as torchvision-style per-image dicts (test-only).

Used by tests/test_streaming_detection.py and the DDP worker. Every scene is a pure
function of its arguments: ground truths with non-contiguous class ids, detections
that are jittered copies of them (duplicates included), confusions into other
classes (and classes that no ground truth has), background false positives, and
named hard cases switched on by arguments: crowd regions, given areas (some 0, some
exactly on the small / medium / large bounds), coarse scores (ties within and across
images), images without detections or without ground truth, and images with more
detections than maxDets.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["CLASSES", "PRED_ONLY", "Scene", "make_scene", "to_format"]

Scene = tuple[list[dict[str, Tensor]], list[dict[str, Tensor]]]
CLASSES = (1, 3, 7, 20)
PRED_ONLY = 99  # a class only predictions use


def _masks(boxes: Tensor, height: int, width: int, g: torch.Generator) -> Tensor:
    """Box-shaped masks (boxes halved to the mask's scale) with a few holes."""
    n = boxes.shape[0]
    yy = torch.arange(height)[None, :, None]
    xx = torch.arange(width)[None, None, :]
    b = (boxes / 2).floor().long()
    inside = (
        (xx >= b[:, 0, None, None])
        & (xx < b[:, 2, None, None])
        & (yy >= b[:, 1, None, None])
        & (yy < b[:, 3, None, None])
    )
    holes = torch.rand((n, height, width), generator=g) < 0.08
    return inside & ~holes


def make_scene(
    seed: int,
    *,
    images: int = 10,
    max_gt: int = 6,
    max_dets: int = 14,
    crowd: float = 0.0,
    given_area: bool = False,
    coarse_scores: bool = False,
    empty_images: bool = False,
    many_dets: bool = False,
    masks: bool = False,
) -> Scene:
    """``(preds, target)`` lists of per-image dicts; boxes ``xyxy`` float32.

    Args:
        seed: seed of the generator.
        images: number of images.
        max_gt: most ground truths per image.
        max_dets: most detections per image (before ``many_dets``).
        crowd: fraction of crowd ground truths (``iscrowd`` is given when > 0).
        given_area: give ``area`` (random, some 0, some on the area-range bounds).
        coarse_scores: scores from {0.25, 0.5, 0.75, 1.0} (ties everywhere).
        empty_images: some images without detections, some without ground truth,
            some with neither.
        many_dets: some images get 120-180 detections (past maxDets 100).
        masks: add ``masks`` (image sizes vary between images).
    """
    g = torch.Generator().manual_seed(seed)

    def randint(lo: int, hi: int, shape: tuple[int, ...] = ()) -> Tensor:
        return torch.randint(lo, hi, shape, generator=g)

    classes = torch.tensor(CLASSES)
    preds: list[dict[str, Tensor]] = []
    target: list[dict[str, Tensor]] = []
    for i in range(images):
        ng = int(randint(0, max_gt + 1))
        nd = int(randint(0, max_dets + 1))
        if empty_images and i % 4 == 1:
            nd = 0
        if empty_images and i % 4 == 2:
            ng = 0
        if empty_images and i % 5 == 3:
            ng = nd = 0
        if many_dets and i % 3 == 0:
            nd = int(randint(120, 181))
        xy = torch.rand((ng, 2), generator=g) * 70
        wh = 2 + torch.rand((ng, 2), generator=g) * 40
        gt_boxes = torch.cat((xy, xy + wh), 1)
        gt_labels = classes[randint(0, len(CLASSES), (ng,))]
        src = randint(0, max(ng, 1), (nd,))
        if ng:
            jitter = (torch.rand((nd, 4), generator=g) - 0.5) * 8
            dt_boxes = gt_boxes[src] + jitter
            dt_labels = gt_labels[src].clone()
        else:
            dt_boxes = torch.zeros((nd, 4))
            dt_labels = classes[randint(0, len(CLASSES), (nd,))]
        # background false positives and confused classes (incl. a prediction-only one)
        background = torch.rand(nd, generator=g) < 0.25
        xy = torch.rand((nd, 2), generator=g) * 70
        dt_boxes[background] = torch.cat((xy, xy + 3 + torch.rand((nd, 2), generator=g) * 30), 1)[
            background
        ]
        confused = torch.rand(nd, generator=g) < 0.15
        other = torch.cat((classes, torch.tensor([PRED_ONLY])))[randint(0, len(CLASSES) + 1, (nd,))]
        dt_labels = torch.where(confused, other, dt_labels)
        dt_boxes[:, 2:] = torch.maximum(dt_boxes[:, 2:], dt_boxes[:, :2] + 0.5)
        scores = (
            randint(1, 5, (nd,)).float() / 4 if coarse_scores else torch.rand(nd, generator=g)
        )
        p: dict[str, Tensor] = {"boxes": dt_boxes.float(), "scores": scores, "labels": dt_labels}
        t: dict[str, Any] = {"boxes": gt_boxes.float(), "labels": gt_labels}
        if crowd:
            t["iscrowd"] = (torch.rand(ng, generator=g) < crowd).long()
        if given_area:
            area = torch.rand(ng, generator=g) * 120**2
            pick = randint(0, 5, (ng,))
            area = torch.where(pick == 0, 0.0, area)  # 0: the box / mask area is used
            area = torch.where(pick == 1, float(32**2), area)
            area = torch.where(pick == 2, float(96**2), area)
            t["area"] = area
        if masks:
            height, width = 40 + 4 * (i % 3), 48
            p["masks"] = _masks(p["boxes"], height, width, g)
            t["masks"] = _masks(t["boxes"], height, width, g)
        preds.append(p)
        target.append(t)
    return preds, target


def to_format(scene: Scene, fmt: str) -> Scene:
    """The scene with boxes in ``fmt`` (from ``xyxy``, with torchvision's arithmetic)."""
    from torchvision_shim import box_convert

    def convert(items: list[dict[str, Tensor]]) -> list[dict[str, Tensor]]:
        return [{**d, "boxes": box_convert(d["boxes"], "xyxy", fmt)} for d in items]

    return convert(scene[0]), convert(scene[1])
