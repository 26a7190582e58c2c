"""``MeanAveragePrecision``: COCO mAP / mAR as a streaming ``torchmetrics.Metric``.

A drop-in for ``torchmetrics.detection.MeanAveragePrecision``: same constructor
arguments, same ``update(preds, target)`` input, same output keys and the same values
as its ``backend="pycocotools"`` (which are pycocotools' own), computed without
pycocotools and without torchvision. What differs is where the work happens:

- ``update()`` matches the batch on its device (greedy COCO matching at every IoU
  threshold and area range) and keeps only flat per-detection and per-ground-truth
  rows: no boxes, no masks, no Python object lists. DDP sync is a plain
  ``all_gather`` of those tensors.
- ``compute()`` is pycocotools' ``accumulate`` + ``summarize`` over those rows: the
  offline evaluator's kernels (``assay.evaluate_detections`` gives the same numbers).

State per detection (defaults: 10 IoU thresholds, 4 area ranges, macro average):
score (8 bytes), label (8), rank in its (image, class) group (4) and two int64 flag
words (16): **36 bytes**, whatever the number of ground truths. ``average="micro"``
with ``class_metrics`` adds a second matching (4 + 16 bytes), the second type of
``iou_type=("bbox", "segm")`` 16 bytes per matching; the flags take one word up to 7
IoU thresholds, two up to 15, one more per 8 thresholds beyond. Per ground truth:
label (8) and area-range ignore bits (1), **9 bytes**; per ``update()`` call one row of
counts (40 bytes). Images are not stored:
the rows are kept in update order, which is the image order. With
``extended_summary=True`` every (detection, ground truth) IoU of each (image, class)
group is kept too (28 bytes per pair, plus 4 per ground truth), to rebuild
torchmetrics' ``ious``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor
from torchmetrics.utilities import rank_zero_warn

from ._detection_input import detection_batch
from ._detection_stages import MapConfig, compute_results, constants, state_specs, update_rows
from ._metric_base import StreamingMetric, cat_state

__all__ = ["MeanAveragePrecision"]

_BOX_FORMATS = ("xyxy", "xywh", "cxcywh")
_IOU_TYPES = ("bbox", "segm")
_BACKENDS = ("pycocotools", "faster_coco_eval")

IouTypeArg = Literal["bbox", "segm"] | tuple[Literal["bbox", "segm"], ...]


def _thresholds(name: str, value: Any, default: Sequence[float]) -> tuple[float, ...]:
    if value is None:
        return tuple(default)
    if not isinstance(value, list):
        raise ValueError(f"Expected `{name}` to be None or a list of floats, but got {value!r}")
    if not value:  # torchmetrics: `value or default`
        return tuple(default)
    bad = [v for v in value if isinstance(v, bool) or not isinstance(v, (int, float))]
    bad += [v for v in value if not bad and not 0.0 <= float(v) <= 1.0]
    if bad:
        raise ValueError(
            f"Expected `{name}` to be a list of floats in [0, 1], but got {value!r} (first "
            f"offending item: {bad[0]!r})"
        )
    return tuple(float(v) for v in value)


def _iou_types(value: Any) -> tuple[str, ...]:
    types = (value,) if isinstance(value, str) else value
    if isinstance(types, list):  # torchmetrics iterates whatever it gets
        types = tuple(types)
    if (
        not isinstance(types, tuple)
        or not types
        or any(t not in _IOU_TYPES for t in types)
        or len(set(types)) != len(types)
    ):
        raise ValueError(
            f"Expected `iou_type` to be 'bbox', 'segm' or a tuple of them, but got {value!r}"
        )
    return types


class MeanAveragePrecision(StreamingMetric):
    r"""COCO mean average precision and recall, streamed batch by batch (drop-in).

    Replaces ``torchmetrics.detection.MeanAveragePrecision`` with a one-line import
    change: same arguments, same ``update(preds, target)``, same output keys, and
    pycocotools' numbers (those of torchmetrics' ``backend="pycocotools"``), computed
    without pycocotools and without torchvision. ``update()`` matches each batch on
    the metric's device and keeps flat per-detection rows; ``compute()`` is the
    offline evaluator's accumulation over them (``assay.evaluate_detections`` on the
    same data gives the same numbers).

    Inputs, per ``update(preds, target)``:

    - ``preds``: one dict per image with ``boxes`` ``(N, 4)`` in ``box_format``
      (``bbox``), ``masks`` ``(N, H, W)`` bool (``segm``), ``scores`` ``(N,)`` float
      and ``labels`` ``(N,)`` int.
    - ``target``: one dict per image with ``boxes`` / ``masks``, ``labels`` and,
      optionally, ``iscrowd`` ``(N,)`` (0/1) and ``area`` ``(N,)`` (used for the
      small / medium / large ranges when > 0; else the box or mask area).
    - Or **packed**: ``preds`` and ``target`` each one dict of the whole batch's rows
      with ``batch`` ``(N,)``, the image index of each row (0-based); pass
      ``num_images=`` to count images without any row at the end of the batch (else
      it is the largest index + 1, read from the device).

    Output of ``compute()`` (a flat dict for ``log_dict``): ``map``, ``map_50``,
    ``map_75``, ``map_small``, ``map_medium``, ``map_large``, ``mar_{m1}``,
    ``mar_{m2}``, ``mar_{m3}`` (``max_detection_thresholds``, default 1, 10, 100),
    ``mar_small``, ``mar_medium``, ``mar_large``, ``map_per_class`` and
    ``mar_{m3}_per_class`` (-1 unless ``class_metrics``), ``classes``; with
    ``extended_summary`` also ``ious``, ``precision``, ``recall`` and ``scores``. For
    ``iou_type=("bbox", "segm")`` every key but ``classes`` is prefixed ``bbox_`` /
    ``segm_``. -1 marks an undefined value, as in pycocotools.

    Differences from torchmetrics, all deliberate:

    - values are float64 tensors on the metric's device (torchmetrics: float32 on the
      CPU); the numbers are the same, torchmetrics rounds them to float32.
    - ``backend`` is accepted and ignored: there is no backend to choose.
    - ``average="micro"`` with ``class_metrics`` and ``iou_type=("bbox", "segm")``:
      the ``segm_`` values are micro-averaged; torchmetrics 1.9 returns macro ones
      there (its per-class pass for ``bbox_`` replaces the datasets the ``segm_``
      pass then uses).
    - ``class_metrics`` with ``iou_type=("bbox", "segm")`` and a detection box of
      negative area (``x2 < x1`` or ``y2 < y1``, not both): ``bbox_map_per_class``
      follows pycocotools on the boxes; torchmetrics 1.9's per-class pass rebuilds its
      datasets without setting the box areas again, so its per-class ``bbox_`` values
      use the masks' areas there (and disagree with its own ``bbox_map``).
    - non-finite boxes, scores or areas and ``iscrowd`` values other than 0/1 are errors.
    - a dict key that looks like a misspelling of one the metric reads (``is_crowd``,
      ``score``, ``label``, ``areas``...) is an error: the column would otherwise be
      dropped without a word. Other keys (``image_id``, ``orig_size``, ``keypoints``,
      ``difficult``...) are accepted and not read, as torchmetrics does with every key.
    - ``tm_to_coco`` / ``coco_to_tm`` (JSON export) are not provided.

    The default thresholds are torchmetrics' ``torch.linspace`` values, computed in
    float32 (0.550000011920929, ..., and recall 0.009999999776482582, ...), not
    pycocotools' float64 ones, so ``map`` can differ from ``assay.evaluate_coco`` in the
    last digits; with ``iou_thresholds=list(assay.CocoParams().iouThrs)`` and
    ``rec_thresholds=list(assay.CocoParams().recThrs)`` the numbers are pycocotools'
    defaults' exactly.

    Conventions kept from torchmetrics: images are numbered in update order (ties in
    score across images go to the earlier image), categories are the sorted labels
    seen in predictions or targets, boxes go to ``xywh`` with torchvision's
    arithmetic in their input dtype, for ``iou_type="segm"`` alone images without a
    ground-truth mask are not evaluated, and a metric that saw no image gives -1
    everywhere. Labels must fit in int32 (torchmetrics returns ``classes`` as int32).

    Host reads in ``update()`` (sizes of ragged buffers, no way around them with
    data-dependent pair counts): one for the value checks, then per matching the pair
    count, the candidate count and detections and the count of multi-truth components
    (and, when there are any, their detections and one flag per matching round, one
    or two rounds in practice); never one per image or detection. Packed input adds
    one (the per-image counts). State sizes: see the module docstring (36 bytes per
    detection with the defaults).

    Args:
        box_format: ``"xyxy"`` (default), ``"xywh"`` or ``"cxcywh"``.
        iou_type: ``"bbox"``, ``"segm"`` or ``("bbox", "segm")``.
        iou_thresholds: IoU thresholds (default ``torch.linspace(0.5, 0.95, 10)``,
            torchmetrics' float32 values).
        rec_thresholds: recall thresholds (default ``torch.linspace(0, 1, 101)``).
        max_detection_thresholds: three maxDets values (default ``[1, 10, 100]``).
        class_metrics: also compute ``map_per_class`` / ``mar_{m3}_per_class``.
        extended_summary: also return ``ious``, ``precision``, ``recall``, ``scores``.
        average: ``"macro"`` (per class, then the mean) or ``"micro"`` (all classes as
            one).
        backend: accepted for compatibility (``"pycocotools"`` or
            ``"faster_coco_eval"``) and ignored.
        kwargs: ``torchmetrics.Metric`` options (``dist_sync_on_step``,
            ``process_group``, ``compute_on_cpu``, ...).

    Example:
        >>> import torch
        >>> from assay import MeanAveragePrecision
        >>> preds = [dict(boxes=torch.tensor([[258.0, 41.0, 606.0, 285.0]]),
        ...               scores=torch.tensor([0.536]), labels=torch.tensor([0]))]
        >>> target = [dict(boxes=torch.tensor([[214.0, 41.0, 562.0, 285.0]]),
        ...                labels=torch.tensor([0]))]
        >>> metric = MeanAveragePrecision()
        >>> metric.update(preds, target)
        >>> result = metric.compute()
        >>> round(float(result["map"]), 4), round(float(result["map_50"]), 4)
        (0.6, 1.0)
        >>> float(result["map_50"])  # pycocotools' tp / (tp + fp + eps), in float64
        0.9999999999999999
        >>> result["classes"], result["map_per_class"]  # -1: class_metrics is off
        (tensor(0, dtype=torch.int32), tensor(-1., dtype=torch.float64))
    """

    is_differentiable: bool = False
    higher_is_better: bool = True
    full_state_update: bool = False
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0
    warn_on_many_detections: bool = True
    __jit_unused_properties__: ClassVar[list[str]] = [
        "is_differentiable",
        "higher_is_better",
        "plot_lower_bound",
        "plot_upper_bound",
        "plot_legend_name",
        "metric_state",
        "_update_called",
    ]

    def __init__(
        self,
        box_format: Literal["xyxy", "xywh", "cxcywh"] = "xyxy",
        iou_type: IouTypeArg = "bbox",
        iou_thresholds: list[float] | None = None,
        rec_thresholds: list[float] | None = None,
        max_detection_thresholds: list[int] | None = None,
        class_metrics: bool = False,
        extended_summary: bool = False,
        average: Literal["macro", "micro"] = "macro",
        backend: Literal["pycocotools", "faster_coco_eval"] = "pycocotools",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if box_format not in _BOX_FORMATS:
            raise ValueError(
                f"Expected `box_format` to be one of {_BOX_FORMATS}, but got {box_format!r}"
            )
        iou_types = _iou_types(iou_type)
        # torchmetrics' defaults: float32 linspace values, as Python floats.
        iou_thr = _thresholds(
            "iou_thresholds",
            iou_thresholds,
            torch.linspace(0.5, 0.95, round((0.95 - 0.5) / 0.05) + 1).tolist(),
        )
        rec_thr = _thresholds(
            "rec_thresholds",
            rec_thresholds,
            torch.linspace(0.0, 1.00, round(1.00 / 0.01) + 1).tolist(),
        )
        if max_detection_thresholds is None:
            max_dets = [1, 10, 100]
        elif (
            not isinstance(max_detection_thresholds, list)
            or len(max_detection_thresholds) != 3
            or any(
                isinstance(m, bool) or not isinstance(m, int) or m < 1
                for m in max_detection_thresholds
            )
        ):
            raise ValueError(
                "Expected `max_detection_thresholds` to be None or a list of 3 positive ints, "
                f"but got {max_detection_thresholds!r}"
            )
        else:
            max_dets = sorted(max_detection_thresholds)
        flags = (("class_metrics", class_metrics), ("extended_summary", extended_summary))
        for name, flag in flags:
            if not isinstance(flag, bool):
                raise ValueError(f"Expected `{name}` to be a bool, but got {flag!r}")
        if average not in ("macro", "micro"):
            raise ValueError(f"Expected `average` to be 'macro' or 'micro', but got {average!r}")
        if backend not in _BACKENDS:
            raise ValueError(f"Expected `backend` to be one of {_BACKENDS}, but got {backend!r}")
        # Public attributes as torchmetrics names them.
        self.box_format = box_format
        self.iou_type = iou_types
        self.iou_thresholds = list(iou_thr)
        self.rec_thresholds = list(rec_thr)
        self.max_detection_thresholds = max_dets
        self.class_metrics = class_metrics
        self.extended_summary = extended_summary
        self.average = average
        self.backend = backend
        self._config = MapConfig(
            iou_types=iou_types,
            box_format=box_format,
            iou_thresholds=iou_thr,
            rec_thresholds=rec_thr,
            max_dets=tuple(max_dets),
            class_metrics=class_metrics,
            extended_summary=extended_summary,
            average=average,
        )
        for name, (trailing, dtype) in state_specs(self._config).items():
            self._add_cat_state(name, trailing, dtype)
        self._constants: dict[torch.device, Any] = {}

    def update(
        self,
        preds: Sequence[Mapping[str, Tensor]] | Mapping[str, Tensor],
        target: Sequence[Mapping[str, Tensor]] | Mapping[str, Tensor],
        num_images: int | None = None,
    ) -> None:
        """Match one batch and append its rows to the state.

        Args:
            preds: one dict per image (``boxes``, ``scores``, ``labels``; ``masks``
                for ``segm``), or one packed dict with ``batch``.
            target: one dict per image (``boxes`` / ``masks``, ``labels``, optional
                ``iscrowd`` and ``area``), or one packed dict with ``batch``.
            num_images: images in a packed batch (default: largest ``batch`` + 1).

        Raises:
            TypeError: wrong container or dtype.
            ValueError: missing keys, wrong shapes, mismatched lengths, a tensor on
                another device than the metric, non-finite boxes, scores or areas.
        """
        # Inference mode skips autograd's bookkeeping on each of the ~200 small ops of a
        # batch (about 15% of update() on the CPU); the rows it makes are inference
        # tensors, which the state only ever reads (cat, gather, copy to a device).
        with torch.inference_mode():
            self._update(preds, target, num_images)

    def _update(
        self,
        preds: Sequence[Mapping[str, Tensor]] | Mapping[str, Tensor],
        target: Sequence[Mapping[str, Tensor]] | Mapping[str, Tensor],
        num_images: int | None,
    ) -> None:
        cfg = self._config
        batch = detection_batch(
            preds,
            target,
            cfg.iou_types,
            cfg.box_format,
            self.device,
            self._check_device,
            num_images,
        )
        if self.warn_on_many_detections and any(n > cfg.max_dets[-1] for n in batch.dt_counts):
            rank_zero_warn(
                f"Encountered more than {cfg.max_dets[-1]} detections in a single image. This "
                "means that certain detections with the lowest scores will be ignored, that may "
                "have an undesirable impact on performance. Please consider adjusting the "
                "`max_detection_threshold` to suit your use case. To disable this warning, set "
                "attribute class `warn_on_many_detections=False`, after initializing the metric.",
                UserWarning,
            )
        device = batch.dt_score.device
        if device not in self._constants:
            self._constants[device] = constants(cfg, device)
        for name, rows in update_rows(batch, cfg, self._constants[device]).items():
            getattr(self, name).append(rows)

    def compute(self) -> dict[str, Any]:
        """Pycocotools' stats (and per-class values) over every update so far.

        Returns:
            A flat dict of float64 tensors (``classes``: int32), see the class doc.

        Raises:
            ValueError: a label outside int32.
        """
        states = {name: cat_state(getattr(self, name)) for name in state_specs(self._config)}
        return compute_results(states, self._config)

    def plot(self, val: Any = None, ax: Any = None) -> Any:
        """Plot values from ``compute()`` (torchmetrics' ``Metric._plot``; needs matplotlib).

        Args:
            val: one result or a list of results; ``None`` computes one.
            ax: a matplotlib axis to draw on.

        Returns:
            ``(figure, axis)``.
        """
        return self._plot(val, ax)
