"""Seeded, COCO-val-like detection data: ground truth and a detector's results.

Used by the benchmarks (peers are timed on the same in-memory dicts) and by
``assay demo``. Nothing is downloaded: every dataset is a pure function of its
arguments and ``seed``, generated with whole-array numpy operations (COCO-val size,
5,000 images and 500k detections, takes well under two seconds).

What makes it look like COCO val2017 and a real detector's output:

- image ids are random, unsorted 6-digit-range ints; images are 640 pixels on
  the long side;
- category ids are COCO's 80 (``1..90`` with gaps, with names and
  supercategories), extended past 90 with more gaps when more are asked for; the
  category frequencies are skewed (``person`` is the most common);
- ground-truth counts per image are over-dispersed (some images have none, some
  dozens), box sizes are log-uniform so that small, medium and large objects all
  occur, ``area`` is a fraction of the box area (a segmentation's area, as in
  COCO), a few areas sit exactly on the area-range bounds, and about
  ``crowd_fraction`` of boxes are crowd regions;
- most ground truths get one jittered, high-scoring detection, some get
  duplicates, some a confused category; false positives (near objects and on
  background, in present and absent categories) fill each image up to about
  ``dets_per_image`` (some images get more than that, some fewer); scores have 3
  decimals, so ties are common; results are grouped by image in dataset order.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["COCO_CATEGORIES", "coco_to_tables", "make_coco_detection", "make_sampling_pool"]

# COCO 2017's 80 detection categories: (id, name, supercategory).
COCO_CATEGORIES: tuple[tuple[int, str, str], ...] = (
    (1, "person", "person"),
    (2, "bicycle", "vehicle"),
    (3, "car", "vehicle"),
    (4, "motorcycle", "vehicle"),
    (5, "airplane", "vehicle"),
    (6, "bus", "vehicle"),
    (7, "train", "vehicle"),
    (8, "truck", "vehicle"),
    (9, "boat", "vehicle"),
    (10, "traffic light", "outdoor"),
    (11, "fire hydrant", "outdoor"),
    (13, "stop sign", "outdoor"),
    (14, "parking meter", "outdoor"),
    (15, "bench", "outdoor"),
    (16, "bird", "animal"),
    (17, "cat", "animal"),
    (18, "dog", "animal"),
    (19, "horse", "animal"),
    (20, "sheep", "animal"),
    (21, "cow", "animal"),
    (22, "elephant", "animal"),
    (23, "bear", "animal"),
    (24, "zebra", "animal"),
    (25, "giraffe", "animal"),
    (27, "backpack", "accessory"),
    (28, "umbrella", "accessory"),
    (31, "handbag", "accessory"),
    (32, "tie", "accessory"),
    (33, "suitcase", "accessory"),
    (34, "frisbee", "sports"),
    (35, "skis", "sports"),
    (36, "snowboard", "sports"),
    (37, "sports ball", "sports"),
    (38, "kite", "sports"),
    (39, "baseball bat", "sports"),
    (40, "baseball glove", "sports"),
    (41, "skateboard", "sports"),
    (42, "surfboard", "sports"),
    (43, "tennis racket", "sports"),
    (44, "bottle", "kitchen"),
    (46, "wine glass", "kitchen"),
    (47, "cup", "kitchen"),
    (48, "fork", "kitchen"),
    (49, "knife", "kitchen"),
    (50, "spoon", "kitchen"),
    (51, "bowl", "kitchen"),
    (52, "banana", "food"),
    (53, "apple", "food"),
    (54, "sandwich", "food"),
    (55, "orange", "food"),
    (56, "broccoli", "food"),
    (57, "carrot", "food"),
    (58, "hot dog", "food"),
    (59, "pizza", "food"),
    (60, "donut", "food"),
    (61, "cake", "food"),
    (62, "chair", "furniture"),
    (63, "couch", "furniture"),
    (64, "potted plant", "furniture"),
    (65, "bed", "furniture"),
    (67, "dining table", "furniture"),
    (70, "toilet", "furniture"),
    (72, "tv", "electronic"),
    (73, "laptop", "electronic"),
    (74, "mouse", "electronic"),
    (75, "remote", "electronic"),
    (76, "keyboard", "electronic"),
    (77, "cell phone", "electronic"),
    (78, "microwave", "appliance"),
    (79, "oven", "appliance"),
    (80, "toaster", "appliance"),
    (81, "sink", "appliance"),
    (82, "refrigerator", "appliance"),
    (84, "book", "indoor"),
    (85, "clock", "indoor"),
    (86, "vase", "indoor"),
    (87, "scissors", "indoor"),
    (88, "teddy bear", "indoor"),
    (89, "hair drier", "indoor"),
    (90, "toothbrush", "indoor"),
)

# Tunables of the generator (fractions are per ground truth or per detection).
_MISS_RATE = 0.12  # ground truths the detector finds no box for
_DUPLICATE_P = 0.6  # geometric p: boxes per found ground truth (mean 1 / p)
_CONFUSED_RATE = 0.06  # found ground truths whose first box has another category
_ON_BOUND_RATE = 0.003  # ground-truth areas set exactly to 32**2 or 96**2
_SQRT_AREA_RANGE = (8.0, 300.0)  # log-uniform sqrt(box area), in pixels
_LONG_SIDE = 640


def _check(ok: bool, name: str, expected: str, value: object) -> None:
    if not ok:
        raise ValueError(f"Expected `{name}` to be {expected}, but got {value!r}")


def _categories(num_categories: int) -> list[dict[str, Any]]:
    """COCO's categories, extended past id 90 with gaps when more are asked for."""
    cats = [
        {"id": cid, "name": name, "supercategory": sup}
        for cid, name, sup in COCO_CATEGORIES[:num_categories]
    ]
    for k in range(max(num_categories - len(COCO_CATEGORIES), 0)):
        cid = 91 + k + k // 2  # 91, 92, 94, 95, 97, ...: gaps as in COCO
        cats.append({"id": cid, "name": f"class_{cid}", "supercategory": "other"})
    return cats


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic containers.

    Creating 500k result dicts otherwise triggers a collection every few hundred
    allocations, which doubles the time; none of them can be part of a cycle.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _segment_starts(counts: np.ndarray) -> np.ndarray:
    """Start offset of each run when runs of ``counts`` rows are laid end to end."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def _pick_in_image(
    rng: np.random.Generator, image: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """For each row's image, a random ground-truth row of that image (image must have one)."""
    offset: np.ndarray = (rng.random(len(image)) * counts[image]).astype(np.int64)
    picked: np.ndarray = starts[image] + offset
    return picked


def _jitter(rng: np.random.Generator, boxes: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Shift and rescale ``(N, 4)`` xywh boxes by noise relative to their size."""
    n = len(boxes)
    wh = boxes[:, 2:]
    new_wh = wh * np.exp(rng.normal(0.0, 1.0, (n, 2)) * sigma[:, None])
    centre = boxes[:, :2] + wh / 2 + wh * rng.normal(0.0, 1.0, (n, 2)) * sigma[:, None]
    return np.concatenate((centre - new_wh / 2, new_wh), axis=1)


def _clip(boxes: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Clip xywh boxes to their image (``size``: (N, 2) width, height), 2 decimals.

    Boxes keep at least one pixel of width and height; COCO's boxes have 2 decimals.
    """
    lo = np.clip(boxes[:, :2], 0.0, size - 1.0)
    hi = np.clip(boxes[:, :2] + boxes[:, 2:], lo + 1.0, size)
    return np.round(np.concatenate((lo, hi - lo), axis=1), 2)


def _random_boxes(rng: np.random.Generator, size: np.ndarray) -> np.ndarray:
    """Boxes with log-uniform sqrt(area) and log-normal aspect ratio, inside ``size``."""
    n = len(size)
    lo, hi = np.log(_SQRT_AREA_RANGE[0]), np.log(_SQRT_AREA_RANGE[1])
    side = np.exp(rng.uniform(lo, hi, n))
    aspect = np.exp(rng.normal(0.0, 0.5, n))
    wh = np.stack((side * np.sqrt(aspect), side / np.sqrt(aspect)), axis=1)
    wh = np.minimum(wh, size - 1.0)
    xy = rng.random((n, 2)) * (size - wh)
    return np.round(np.concatenate((xy, wh), axis=1), 2)


def make_coco_detection(
    num_images: int = 5000,
    num_categories: int = 80,
    gt_per_image: float = 7.3,
    dets_per_image: float = 100,
    seed: int = 0,
    crowd_fraction: float = 0.01,
    *,
    miss_rate: float = _MISS_RATE,
    with_segmentation: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A COCO-val-like ground truth and a detector's results for it, as in-memory dicts.

    The defaults match COCO val2017 bbox evaluation in size: 5,000 images, about
    36.7k ground truths, 80 categories (COCO's ids and names) and about 500k
    detections.

    Args:
        num_images: number of images (>= 1).
        num_categories: number of categories (>= 1); the first 80 are COCO's.
        gt_per_image: mean ground truths per image (>= 0).
        dets_per_image: about how many detections each image gets (>= 0); most
            images get exactly ``round(dets_per_image)`` unless they have many
            objects, a tenth get fewer (down to half), a tenth up to 1.5x as many.
        seed: seed of the ``numpy.random.Generator``; same arguments, same data.
        crowd_fraction: fraction of ground truths that are crowd regions, in [0, 1].
        miss_rate: fraction of non-crowd ground truths the detector misses, in [0, 1].
        with_segmentation: give every ground truth a box-shaped ``segmentation``
            polygon (COCO files have one; bbox evaluation does not read it).

    Returns:
        ``(gt, dt)``: ``gt`` is a COCO instances dict (``info``, ``images`` with
        ``id``/``width``/``height``/``file_name``, ``categories`` with
        ``id``/``name``/``supercategory``, ``annotations`` with
        ``id``/``image_id``/``category_id``/``bbox`` (xywh)/``area``/``iscrowd``);
        ``dt`` is a COCO results list of ``image_id``/``category_id``/``bbox``/``score``.

    Raises:
        ValueError: an argument out of range.

    Example:
        >>> gt, dt = make_coco_detection(num_images=20, dets_per_image=10, seed=1)
        >>> len(gt["images"]), len(gt["categories"]), gt["categories"][11]["id"]
        (20, 80, 13)
        >>> sorted(dt[0])
        ['bbox', 'category_id', 'image_id', 'score']
        >>> make_coco_detection(num_images=20, seed=1)[1] == make_coco_detection(20, seed=1)[1]
        True
    """
    _check(
        isinstance(num_images, (int, np.integer)) and num_images >= 1,
        "num_images",
        "an int >= 1",
        num_images,
    )
    _check(
        isinstance(num_categories, (int, np.integer)) and num_categories >= 1,
        "num_categories",
        "an int >= 1",
        num_categories,
    )
    _check(gt_per_image >= 0, "gt_per_image", ">= 0", gt_per_image)
    _check(dets_per_image >= 0, "dets_per_image", ">= 0", dets_per_image)
    _check(0 <= crowd_fraction <= 1, "crowd_fraction", "in [0, 1]", crowd_fraction)
    _check(0 <= miss_rate <= 1, "miss_rate", "in [0, 1]", miss_rate)
    rng = np.random.default_rng(seed)
    num_images, num_categories = int(num_images), int(num_categories)

    # Images: random unique ids in COCO's range, unsorted; 640 on the long side.
    image_ids = rng.choice(600_000, size=num_images, replace=False) + 1
    short = rng.integers(320, _LONG_SIDE + 1, num_images)
    landscape = rng.random(num_images) < 0.75
    width = np.where(landscape, _LONG_SIDE, short)
    height = np.where(landscape, short, _LONG_SIDE)
    size_img = np.stack((width, height), axis=1).astype(np.float64)

    categories = _categories(num_categories)
    cat_ids = np.array([c["id"] for c in categories], dtype=np.int64)
    # Skewed frequencies: category 0 (person) most common, the rest Zipf-like in a
    # seeded order.
    weight = 1.0 / np.arange(1, num_categories + 1)
    weight[1:] = rng.permutation(weight[1:])
    weight /= weight.sum()

    # Ground truths: over-dispersed counts per image (gamma-Poisson, shape 1.5).
    if gt_per_image > 0:
        n_gt = rng.poisson(rng.gamma(1.5, gt_per_image / 1.5, num_images))
    else:
        n_gt = np.zeros(num_images, dtype=np.int64)
    n_gt = n_gt.astype(np.int64)
    gt_img = np.repeat(np.arange(num_images), n_gt)
    num_gt = len(gt_img)
    gt_start = _segment_starts(n_gt)
    # Objects of one image cluster in a few categories: 40% take the image's own.
    image_cat = rng.choice(num_categories, size=num_images, p=weight)
    gt_cat = np.where(
        rng.random(num_gt) < 0.4,
        image_cat[gt_img],
        rng.choice(num_categories, size=num_gt, p=weight),
    )
    gt_box = _random_boxes(rng, size_img[gt_img])
    crowd = rng.random(num_gt) < crowd_fraction
    # Crowd regions are big: scale them up (then clip to the image).
    gt_box[crowd, 2:] *= 3.0
    gt_box = _clip(gt_box, size_img[gt_img])
    # A segmentation covers part of its box; a few areas sit exactly on the bounds.
    gt_area = np.round(gt_box[:, 2] * gt_box[:, 3] * rng.uniform(0.45, 0.95, num_gt), 3)
    on_bound = rng.random(num_gt) < _ON_BOUND_RATE
    gt_area[on_bound] = np.where(rng.random(int(on_bound.sum())) < 0.5, 32.0**2, 96.0**2)
    # Annotation ids: ascending with gaps, never 0 (a COCO id 0 can never match).
    ann_ids = np.cumsum(rng.integers(1, 40, num_gt)) + 900_000

    # Detections of found ground truths: geometric count, first box best.
    found = (rng.random(num_gt) >= miss_rate) & ~crowd
    per_gt = np.where(found, rng.geometric(_DUPLICATE_P, num_gt), 0)
    src = np.repeat(np.arange(num_gt), per_gt)
    first = np.ones(len(src), dtype=bool)
    first[1:] = src[1:] != src[:-1]
    # Localisation noise grows for small objects; duplicates are looser.
    sqrt_area = np.sqrt(gt_box[src, 2] * gt_box[src, 3])
    sigma = (0.03 + 0.08 * rng.random(len(src))) * (1.0 + 12.0 / np.maximum(sqrt_area, 1.0))
    sigma = np.where(first, sigma, sigma * 2.0)
    tp_box = _jitter(rng, gt_box[src], sigma)
    tp_cat = gt_cat[src].copy()
    confused = first & (rng.random(len(src)) < _CONFUSED_RATE)
    tp_cat[confused] = rng.choice(num_categories, size=int(confused.sum()), p=weight)
    tp_score = np.where(
        first & ~confused, rng.beta(5.0, 1.6, len(src)), rng.beta(2.0, 4.0, len(src))
    )
    tp_img = gt_img[src]

    # False positives fill each image up to its target count.
    dets_per_image = float(dets_per_image)
    kind = rng.random(num_images)
    target = np.where(
        kind < 0.1,
        rng.uniform(0.5, 1.0, num_images) * dets_per_image,
        np.where(kind < 0.2, rng.uniform(1.0, 1.5, num_images) * dets_per_image, dets_per_image),
    )
    target = np.round(target).astype(np.int64)
    n_tp = np.bincount(tp_img, minlength=num_images)
    n_fp = np.maximum(target - n_tp, 0)
    fp_img = np.repeat(np.arange(num_images), n_fp)
    num_fp = len(fp_img)
    # Half near an object of the image (poorly localised), half anywhere.
    near = (rng.random(num_fp) < 0.5) & (n_gt[fp_img] > 0)
    fp_box = _random_boxes(rng, size_img[fp_img])
    near_gt = _pick_in_image(rng, fp_img[near], gt_start, n_gt)
    fp_box[near] = _jitter(rng, gt_box[near_gt], rng.uniform(0.25, 0.6, len(near_gt)))
    fp_cat = rng.choice(num_categories, size=num_fp, p=weight)
    same_cat = rng.random(len(near_gt)) < 0.5
    fp_cat[np.flatnonzero(near)[same_cat]] = gt_cat[near_gt[same_cat]]
    fp_score = rng.beta(1.2, 6.0, num_fp)

    dt_img = np.concatenate((tp_img, fp_img))
    dt_box = _clip(np.concatenate((tp_box, fp_box)), size_img[dt_img])
    dt_cat = np.concatenate((tp_cat, fp_cat))
    raw_score = np.concatenate((tp_score, fp_score))
    # Grouped by image in dataset order, each image's boxes by descending raw score
    # (a detector's output order), then rounded to 3 decimals: ties are common.
    order = np.lexsort((-raw_score, dt_img))
    dt_img, dt_box, dt_cat = dt_img[order], dt_box[order], dt_cat[order]
    dt_score = np.maximum(np.round(raw_score[order], 3), 0.001)

    with _gc_paused():
        return _to_dicts(
            seed,
            image_ids,
            width,
            height,
            categories,
            cat_ids,
            ann_ids,
            gt_img,
            gt_cat,
            gt_box,
            gt_area,
            crowd,
            dt_img,
            dt_cat,
            dt_box,
            dt_score,
            with_segmentation,
        )


def _to_dicts(
    seed: int,
    image_ids: np.ndarray,
    width: np.ndarray,
    height: np.ndarray,
    categories: list[dict[str, Any]],
    cat_ids: np.ndarray,
    ann_ids: np.ndarray,
    gt_img: np.ndarray,
    gt_cat: np.ndarray,
    gt_box: np.ndarray,
    gt_area: np.ndarray,
    crowd: np.ndarray,
    dt_img: np.ndarray,
    dt_cat: np.ndarray,
    dt_box: np.ndarray,
    dt_score: np.ndarray,
    with_segmentation: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The generated columns as a COCO instances dict and a COCO results list."""
    gt_dict: dict[str, Any] = {
        "info": {"description": f"assay synthetic COCO-like detection data (seed {seed})"},
        "images": [
            {"id": i, "width": w, "height": h, "file_name": f"{i:012d}.jpg"}
            for i, w, h in zip(image_ids.tolist(), width.tolist(), height.tolist(), strict=True)
        ],
        "categories": categories,
        "annotations": [
            {"id": a, "image_id": i, "category_id": c, "bbox": b, "area": ar, "iscrowd": z}
            for a, i, c, b, ar, z in zip(
                ann_ids.tolist(),
                image_ids[gt_img].tolist(),
                cat_ids[gt_cat].tolist(),
                gt_box.tolist(),
                gt_area.tolist(),
                crowd.astype(np.int64).tolist(),
                strict=True,
            )
        ],
    }
    if with_segmentation:
        for ann in gt_dict["annotations"]:
            x, y, w, h = ann["bbox"]
            ann["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    dt_list = [
        {"image_id": i, "category_id": c, "bbox": b, "score": s}
        for i, c, b, s in zip(
            image_ids[dt_img].tolist(),
            cat_ids[dt_cat].tolist(),
            dt_box.tolist(),
            dt_score.tolist(),
            strict=True,
        )
    ]
    return gt_dict, dt_list


def _ids_to_index(ids: np.ndarray, known: np.ndarray, what: str) -> np.ndarray:
    """Dense index of each id in the sorted array ``known``; unknown ids are an error."""
    index = np.searchsorted(known, ids)
    bad = index >= len(known)
    bad[~bad] = known[index[~bad]] != ids[~bad]
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Expected every {what} id to be in the ground truth, but got {int(ids[i])} (row {i})"
        )
    return index


def coco_to_tables(
    gt: dict[str, Any], dt: list[dict[str, Any]]
) -> tuple[dict[str, Tensor], dict[str, Tensor], int, int]:
    """Turn COCO dicts into the tensor mappings :func:`assay.evaluate_detections` takes.

    Image and category indexes are dense, in ascending id order (so ties across
    images break as in pycocotools); boxes stay ``xywh``.

    Args:
        gt: COCO instances dict (``images``, ``categories``, ``annotations``).
        dt: COCO results list (``image_id``, ``category_id``, ``bbox``, ``score``).

    Returns:
        ``(gt_map, dt_map, num_images, num_categories)``: ``gt_map`` has ``image``,
        ``category`` (G,) int64, ``boxes`` (G, 4) float64 xywh, ``area`` (G,)
        float64, ``iscrowd`` (G,) int64 and ``id`` (G,) int64; ``dt_map`` has
        ``image``, ``category`` (D,) int64, ``boxes`` (D, 4) float64 xywh and
        ``scores`` (D,) float64.

    Raises:
        ValueError: a result or annotation whose image or category id is not in
            ``gt``.

    Example:
        >>> gt, dt = make_coco_detection(num_images=3, num_categories=2, dets_per_image=4)
        >>> gt_map, dt_map, num_images, num_categories = coco_to_tables(gt, dt)
        >>> num_images, num_categories, tuple(dt_map["boxes"].shape) == (len(dt), 4)
        (3, 2, True)
    """
    image_ids = np.sort(np.array([im["id"] for im in gt["images"]], dtype=np.int64))
    cat_ids = np.sort(np.array([c["id"] for c in gt["categories"]], dtype=np.int64))
    anns = gt["annotations"]

    def ints(records: list[dict[str, Any]], key: str) -> np.ndarray:
        return np.fromiter((r[key] for r in records), dtype=np.int64, count=len(records))

    def floats(records: list[dict[str, Any]], key: str) -> np.ndarray:
        return np.fromiter((r[key] for r in records), dtype=np.float64, count=len(records))

    def boxes(records: list[dict[str, Any]]) -> np.ndarray:
        return np.array([r["bbox"] for r in records], dtype=np.float64).reshape(-1, 4)

    gt_map = {
        "image": torch.from_numpy(_ids_to_index(ints(anns, "image_id"), image_ids, "image")),
        "category": torch.from_numpy(_ids_to_index(ints(anns, "category_id"), cat_ids, "category")),
        "boxes": torch.from_numpy(boxes(anns)),
        "area": torch.from_numpy(floats(anns, "area")),
        "iscrowd": torch.from_numpy(
            np.fromiter((a.get("iscrowd", 0) for a in anns), dtype=np.int64, count=len(anns))
        ),
        "id": torch.from_numpy(ints(anns, "id")),
    }
    dt_map = {
        "image": torch.from_numpy(_ids_to_index(ints(dt, "image_id"), image_ids, "image")),
        "category": torch.from_numpy(_ids_to_index(ints(dt, "category_id"), cat_ids, "category")),
        "boxes": torch.from_numpy(boxes(dt)),
        "scores": torch.from_numpy(floats(dt, "score")),
    }
    return gt_map, dt_map, len(image_ids), len(cat_ids)


def make_sampling_pool(
    num_frames: int = 1000,
    *,
    num_classes: int = 10,
    dim: int = 32,
    num_clusters: int = 8,
    boxes_per_frame: float = 4.0,
    empty_fraction: float = 0.05,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], tuple[list[str], np.ndarray]]:
    """A seeded pool of unlabeled frames for sampling: detector predictions and embeddings.

    Frames (CVAL's on-premise request layout) have ids ``"frame_000123"`` in shuffled
    order and an over-dispersed number of boxes (about ``empty_fraction`` have none).
    Each box has a skewed ``category_id`` and a 3-decimal ``score`` (ties occur) drawn
    from a mix of confident and uncertain detections; frames near a cluster boundary
    of the embedding space get more uncertain boxes. Every frame has an embedding
    (stored under its frame id) from a mixture of ``num_clusters`` Gaussians.

    Args:
        num_frames: frames in the pool.
        num_classes: categories ``0..num_classes-1``.
        dim: embedding dimension.
        num_clusters: Gaussian clusters of the embeddings.
        boxes_per_frame: mean boxes of a frame with boxes.
        empty_fraction: fraction of frames without boxes.
        seed: everything is a pure function of the arguments.

    Returns:
        ``(frames, (ids, vectors))``: frame dicts ``{"frame_id", "predictions"}``, and
        the frame ids with their ``(num_frames, dim)`` float32 embeddings.

    Example:
        >>> frames, (ids, vectors) = make_sampling_pool(20, dim=4, seed=1)
        >>> len(frames), vectors.shape, frames[0]["frame_id"] in ids
        (20, (20, 4), True)
    """
    _check(num_frames >= 0, "num_frames", "an int >= 0", num_frames)
    _check(dim >= 1 and num_clusters >= 1 and num_classes >= 1, "dim", "positive sizes", dim)
    rng = np.random.default_rng(seed)
    numbers = rng.permutation(num_frames)
    ids = [f"frame_{n:06d}" for n in numbers.tolist()]
    centers = rng.normal(scale=4.0, size=(num_clusters, dim))
    cluster = rng.integers(0, num_clusters, size=num_frames)
    # a second cluster pulls some frames towards a boundary: those get uncertain boxes
    other = rng.integers(0, num_clusters, size=num_frames)
    mix = rng.beta(0.5, 3.0, size=num_frames)
    vectors = (
        (1 - mix)[:, None] * centers[cluster]
        + mix[:, None] * centers[other]
        + rng.normal(size=(num_frames, dim))
    ).astype(np.float32)
    counts = 1 + rng.negative_binomial(2, 2 / (1 + boxes_per_frame), size=num_frames)
    counts[rng.random(num_frames) < empty_fraction] = 0
    total = int(counts.sum())
    owner = np.repeat(np.arange(num_frames), counts)
    uncertain = rng.random(total) < 0.15 + 1.5 * mix[owner]
    scores = np.where(uncertain, rng.beta(2.0, 2.0, size=total), rng.beta(9.0, 1.2, size=total))
    scores = np.clip(np.round(scores, 3), 0.001, 0.999)
    weights = 1.0 / np.arange(1, num_classes + 1)
    categories = rng.choice(num_classes, size=total, p=weights / weights.sum())
    starts = np.concatenate([[0], np.cumsum(counts)])
    score_list = scores.tolist()
    cat_list = categories.tolist()
    frames = [
        {
            "frame_id": ids[f],
            "predictions": [
                {"category_id": cat_list[b], "score": score_list[b]}
                for b in range(int(starts[f]), int(starts[f + 1]))
            ],
        }
        for f in range(num_frames)
    ]
    return frames, (ids, vectors)
