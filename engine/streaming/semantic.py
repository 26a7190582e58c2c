"""Semantic segmentation as a ``torchmetrics.Metric``: one ``(C, C)`` state, synced by sum.

:class:`SemanticSegmentationMetrics` is the training-loop face of
:func:`~assay.engine.evaluation.evaluate_semantic`: ``update(preds, target)`` counts a
batch of label maps into a ``(C, C)`` int64 pixel confusion matrix (the whole state:
``C * C * 8`` bytes whatever the number of images), torch.distributed sums it across
ranks (one ``all_reduce``-sized gather), and ``compute()`` returns a flat dict of 0-d
float64 tensors, ready for ``LightningModule.log_dict``, equal to
``evaluate_semantic`` on every label map seen. :meth:`SemanticSegmentationMetrics.result`
gives the full :class:`~assay.engine.evaluation.SemanticResult` (per-class table,
confusion matrix, ``to_dict()``) from the same synced state.

Keys of ``compute()`` (``protocol="standard"``; NaN where a class is absent, see
:mod:`assay.engine.evaluation.semantic`):

``miou``, ``mean_dice``, ``pixel_accuracy``, ``mean_class_accuracy``,
``frequency_weighted_iou``, and with ``per_class=True`` (default)
``iou/<class>``, ``dice/<class>``, ``precision/<class>``, ``recall/<class>`` for
each class name. Under ``protocol="valor-lite"``: ``miou``, ``pixel_accuracy`` and
the per-class keys of the foreground classes (``dice`` is valor-lite's F1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ...kernels.segmentation import _pixel_confusion_matrix_dropping_invalid
from ..evaluation._label_maps import first_index
from ..evaluation.semantic import (
    SemanticProtocol,
    SemanticResult,
    _semantic_compute,
    _semantic_format,
    _semantic_update,
    _semantic_validate_args,
)
from ._metric_base import StreamingMetric, as_tensor

__all__ = ["SemanticSegmentationMetrics"]

_PER_CLASS = ("iou", "dice", "precision", "recall")


def _label_maps(preds: Tensor, target: Tensor, num_classes: int, validate: bool) -> Tensor:
    """Integer predicted classes: ``preds`` as given, or the argmax of scores over classes.

    Scores are ``(N, C, H, W)`` for ``(N, H, W)`` targets, or ``(C, H, W)`` for one
    ``(H, W)`` map; ties go to the lower class index. ``max(dim)`` gives the indexes
    of ``argmax`` (the first maximum) and the maxima, which hold a NaN wherever the
    scores over classes do (it propagates): with ``validate`` one ``amax`` of those
    ``C`` times fewer values and a host read refuse it; only then is the full mask
    built, to name the first NaN.
    """
    if not preds.is_floating_point() or target.ndim not in (2, 3):
        return preds
    if preds.ndim != target.ndim + 1:
        raise TypeError(
            "Expected `preds` to be integer label maps of the shape of `target` or float "
            f"scores with a class axis, (N, C, H, W) or (C, H, W), but got dtype {preds.dtype} "
            f"and shape {tuple(preds.shape)} for `target` of shape {tuple(target.shape)}"
        )
    axis = 1 if target.ndim == 3 else 0
    expected = (*target.shape[:axis], num_classes, *target.shape[axis:])
    if tuple(preds.shape) != expected:
        layout = "(N, C, H, W)" if axis == 1 else "(C, H, W)"
        raise ValueError(
            f"Expected `preds` scores to have shape {layout} = {expected} for `target` of "
            f"shape {tuple(target.shape)} and num_classes={num_classes}, "
            f"but got {tuple(preds.shape)}"
        )
    values, labels = preds.max(dim=axis)
    if validate and values.numel() and bool(torch.isnan(values.amax())):
        raise ValueError(
            "Expected `preds` scores to hold no NaN, but got NaN at index "
            f"{first_index(torch.isnan(preds))}"
        )
    return labels


def _semantic_log_dict(
    result: SemanticResult, per_class: bool, device: torch.device
) -> dict[str, Tensor]:
    """A :class:`SemanticResult` as ``{name: 0-d float64 tensor}`` on ``device``."""
    names: list[str] = []
    values: list[float | np.ndarray] = []
    for key in (
        "miou",
        "mean_dice",
        "pixel_accuracy",
        "mean_class_accuracy",
        "frequency_weighted_iou",
    ):
        value = getattr(result, key)
        if value is not None:
            names.append(key)
            values.append(value)
    if per_class:
        first = 1 if result.protocol == "valor-lite" else 0  # valor-lite: no background row
        for key in _PER_CLASS:
            per = getattr(result, key)
            names.extend(f"{key}/{name}" for name in result.class_names[first:])
            values.append(per[first:])
    flat = np.concatenate([np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in values])
    tensors = torch.from_numpy(flat).to(device).unbind(0)
    return dict(zip(names, tensors, strict=True))


class SemanticSegmentationMetrics(StreamingMetric):
    """mIoU, Dice, pixel and class accuracy, frequency-weighted IoU, in a training loop.

    A ``torchmetrics.Metric``: ``update`` per batch, ``compute`` at the end of the
    epoch, ``reset`` before the next; ``.to(device)``, ``state_dict()`` (after
    ``persistent(True)``), ``forward`` and torch.distributed sync work as for any
    torchmetrics metric. The state is one ``(C, C)`` int64 confusion matrix
    (``confmat``, rows = target class, columns = predicted class) summed across ranks,
    so every rank's ``compute()`` gives the numbers of
    :func:`~assay.engine.evaluation.evaluate_semantic` over all ranks' pixels.

    One state for what takes several torchmetrics objects: ``MulticlassJaccardIndex``
    (``miou``; torchmetrics' ``segmentation.MeanIoU`` averages per image instead),
    ``MulticlassAccuracy`` with ``average="micro"`` / ``"macro"`` (``pixel_accuracy``
    / ``mean_class_accuracy``) and per-class Dice. The numbers are torchmetrics'
    except in two cases, where assay follows its documented rules (docs/concepts.md):
    an ``ignore_index`` inside ``[0, C)`` stays a class of the means (IoU 0 where it
    is predicted on counted pixels, as in mmsegmentation; torchmetrics drops it from
    ``miou``), and a class predicted but absent from the target has recall NaN, left
    out of ``mean_class_accuracy`` (torchmetrics counts it as 0).

    Args:
        num_classes: ``C``.
        ignore_index: target value whose pixels are not counted (e.g. 255).
        protocol: ``"standard"`` (absent classes NaN, left out of the means) or
            ``"valor-lite"`` (class 0 is background; see
            :mod:`assay.engine.evaluation.semantic`).
        class_names: ``C`` names used in the per-class keys (default ``"0"``, ``"1"``, ...).
        per_class: add ``iou/<class>``, ``dice/<class>``, ``precision/<class>`` and
            ``recall/<class>`` to ``compute()``'s dict.
        validate_args: check label values (one host read of the batch's min and max, as
            torchmetrics' ``validate_args``) and float scores for NaN (one more, of the
            per-pixel maxima); with ``False`` a pixel whose target or
            prediction lies outside ``[0, num_classes)`` (target not ``ignore_index``)
            is dropped, not counted, and raises nothing.
        **kwargs: ``torchmetrics.Metric`` options (``sync_on_compute``,
            ``dist_sync_fn``, ``process_group``, ...).

    Example:
        >>> import torch
        >>> metric = SemanticSegmentationMetrics(num_classes=3, ignore_index=255)
        >>> target = torch.tensor([[[0, 0, 1, 1], [0, 1, 1, 255]]])
        >>> metric.update(torch.tensor([[[0, 1, 1, 1], [0, 1, 0, 0]]]), target)
        >>> out = metric.compute()
        >>> out["miou"], out["iou/2"]
        (tensor(0.5500, dtype=torch.float64), tensor(nan, dtype=torch.float64))
        >>> logits = torch.zeros(1, 3, 2, 4)
        >>> logits[:, 1] = 1.0  # predicts class 1 everywhere
        >>> metric.update(logits, target)
        >>> metric.confmat
        tensor([[2, 4, 0],
                [1, 7, 0],
                [0, 0, 0]])
        >>> metric.reset()
    """

    confmat: Tensor

    def __init__(
        self,
        num_classes: int,
        ignore_index: int | None = None,
        *,
        protocol: SemanticProtocol = "standard",
        class_names: Sequence[str] | None = None,
        per_class: bool = True,
        validate_args: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        c, ig, proto, names = _semantic_validate_args(
            num_classes, ignore_index, protocol, class_names
        )
        self.num_classes = c
        self.ignore_index = ig
        self.protocol: SemanticProtocol = proto
        self.class_names = names
        self.per_class = bool(per_class)
        self.validate_args = bool(validate_args)
        self.add_state(
            "confmat", default=torch.zeros(c, c, dtype=torch.int64), dist_reduce_fx="sum"
        )

    def update(self, preds: Tensor | np.ndarray, target: Tensor | np.ndarray) -> None:
        """Count one batch.

        Args:
            preds: ``(N, H, W)`` integer predicted classes, or ``(N, C, H, W)`` float
                scores / logits (argmax over ``C``); ``(H, W)`` / ``(C, H, W)`` for one
                image. On the metric's device (numpy arrays are moved there).
            target: ``(N, H, W)`` or ``(H, W)`` integer classes in ``[0, C)`` or
                ``ignore_index``.

        Raises:
            TypeError: not a tensor / array, or float target.
            ValueError: shapes that do not match, a tensor on another device than the
                metric, or (``validate_args``) a label outside ``[0, C)`` that is not
                ``ignore_index`` or a NaN score (the first such pixel is named).
        """
        p = as_tensor("preds", preds, self.device)
        t = as_tensor("target", target, self.device)
        self._check_device("preds", p)
        self._check_device("target", t)
        p = _label_maps(p, t, self.num_classes, self.validate_args)
        t, p = _semantic_format(t, p, self.ignore_index, None)
        if self.validate_args:
            delta = _semantic_update(t, p, self.num_classes, self.ignore_index)
        else:  # out-of-range labels are dropped, not counted
            delta = _pixel_confusion_matrix_dropping_invalid(
                t, p, self.num_classes, self.ignore_index
            )
        self.confmat += delta

    def compute(self) -> dict[str, Tensor]:
        """The scores over every pixel since the last ``reset``, all ranks together.

        Returns:
            ``{name: 0-d float64 tensor}`` on the metric's device (keys in the module
            docstring), equal to :func:`~assay.engine.evaluation.evaluate_semantic`'s.
        """
        return _semantic_log_dict(self._result(), self.per_class, self.device)

    def result(self) -> SemanticResult:
        """The full :class:`~assay.engine.evaluation.SemanticResult`, synced like ``compute``."""
        with self.sync_context(
            dist_sync_fn=self.dist_sync_fn,
            should_sync=self.sync_on_compute and not self._is_synced,
            should_unsync=True,
        ):
            return self._result()

    def _result(self) -> SemanticResult:
        return _semantic_compute(self.confmat, self.protocol, self.ignore_index, self.class_names)
