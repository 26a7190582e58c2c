"""Multiclass classification as ``torchmetrics.Metric`` objects with reducible states.

Two metrics, one per kind of state:

:class:`MulticlassMetrics`
    accuracy, precision, recall and F1 from one ``(C, C)`` int64 confusion matrix
    (``C * C * 8`` bytes whatever the number of samples), summed across ranks. The
    numbers are the kernels' (:func:`~assay.kernels.classification.multiclass_precision`
    ...), i.e. scikit-learn's with ``zero_division=0`` and torchmetrics'
    ``MulticlassAccuracy`` / ``MulticlassPrecision`` / ``MulticlassRecall`` /
    ``MulticlassF1Score`` with the same ``average``.
:class:`MulticlassRankingMetrics`
    one-vs-rest ROC AUC and average precision, which need every score: the state is
    two flat ``cat`` tensors, the ``(N, C)`` scores in ``score_dtype`` (float32 by
    default: ``4 * C`` bytes per sample) and the ``(N,)`` int64 targets (8 bytes per
    sample), gathered across ranks. The numbers are
    :func:`~assay.kernels.classification.multiclass_auroc` /
    :func:`~assay.kernels.classification.multiclass_average_precision`'s, i.e.
    scikit-learn's ``roc_auc_score`` / ``average_precision_score`` per class.

``compute()`` returns a flat dict of 0-d float64 tensors on the metric's device, ready
for ``LightningModule.log_dict``: ``accuracy``, ``precision``, ``recall``, ``f1``
(resp. ``auroc``, ``average_precision``) reduced by ``average``; with
``average="none"`` one key per class instead, ``<metric>/<class name>``.

Differences from torchmetrics, all where scikit-learn and torchmetrics disagree:
ranking metrics use the scores as given (torchmetrics applies a softmax to scores
outside [0, 1], which changes the per-class order of logits: pass probabilities to
compare); a class without positive samples has ROC AUC NaN, left out of the macro and
weighted averages (torchmetrics: 0, averaged in) and average precision 0, averaged in
(torchmetrics: NaN, left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
import torch
from torch import Tensor

from ...kernels.classification import (
    AVERAGES,
    Average,
    _divide,
    _reduce_prf,
    multiclass_auroc,
    multiclass_average_precision,
)
from ...kernels.segmentation import _pixel_confusion_matrix_dropping_invalid
from ..evaluation._label_maps import check_int, check_label_values, first_index, widen_unsigned
from ..evaluation.semantic import _semantic_update
from ._metric_base import StreamingMetric, as_tensor, cat_state

__all__ = ["MulticlassMetrics", "MulticlassRankingMetrics"]

RankingAverage = Literal["macro", "weighted", "micro", "none"]
_RANKING_AVERAGES: tuple[str, ...] = ("macro", "weighted", "micro", "none")


def _check_args(
    num_classes: Any,
    average: Any,
    allowed: tuple[str, ...],
    ignore_index: Any,
    class_names: Sequence[str] | None,
) -> tuple[int, str, int | None, tuple[str, ...]]:
    c = check_int("num_classes", num_classes, minimum=1)
    avg = "none" if average is None else average
    if avg not in allowed:
        raise ValueError(f"Expected `average` to be one of {allowed} or None, but got {average!r}")
    ig = None if ignore_index is None else check_int("ignore_index", ignore_index)
    if class_names is None:
        return c, avg, ig, tuple(str(i) for i in range(c))
    if isinstance(class_names, str) or not isinstance(class_names, Sequence):
        raise TypeError(
            f"Expected `class_names` to be a sequence of str, but got {type(class_names).__name__}"
        )
    names = tuple(class_names)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise TypeError(f"Expected `class_names` to hold str, but got {bad[0]!r}")
    if len(names) != c or len(set(names)) != c:
        raise ValueError(
            f"Expected `class_names` to be num_classes={c} unique names, but got {list(names)}"
        )
    return c, avg, ig, names


def _targets(target: Tensor) -> Tensor:
    """``(N,)`` int64 class indexes (type and shape checked)."""
    if target.dtype == torch.bool or target.is_floating_point() or target.is_complex():
        raise TypeError(
            f"Expected `target` to hold integer class indexes, but got dtype {target.dtype}"
        )
    if target.ndim != 1:
        raise ValueError(f"Expected `target` to have shape (N,), but got {tuple(target.shape)}")
    return widen_unsigned("target", target).long()


def _check_length(preds: Tensor, target: Tensor) -> None:
    if preds.shape[0] != target.shape[0]:
        raise ValueError(
            f"Expected `preds` and `target` to have the same length, but got {preds.shape[0]} "
            f"and {target.shape[0]}"
        )


def _check_scores(preds: Tensor, num_classes: int, validate: bool) -> None:
    """``preds`` is ``(N, C)`` float scores; with ``validate``, without NaN (host read)."""
    if preds.ndim != 2 or preds.shape[1] != num_classes:
        raise ValueError(
            f"Expected `preds` to have shape (N, num_classes={num_classes}), "
            f"but got {tuple(preds.shape)}"
        )
    if not preds.is_floating_point():
        raise TypeError(f"Expected `preds` to hold float scores, but got dtype {preds.dtype}")
    if validate:
        nan = torch.isnan(preds)
        if bool(nan.any()):
            raise ValueError(
                f"Expected `preds` to hold no NaN, but got NaN at index {first_index(nan)}"
            )


def _per_key(values: dict[str, Tensor], average: str, names: tuple[str, ...]) -> dict[str, Tensor]:
    """0-d tensors, or with ``average="none"`` one ``<metric>/<class>`` key per class."""
    if average != "none":
        return values
    return {
        f"{key}/{n}": v
        for key, per in values.items()
        for n, v in zip(names, per.unbind(0), strict=True)
    }


class MulticlassMetrics(StreamingMetric):
    """Accuracy, precision, recall and F1 of a multiclass classifier, in a training loop.

    A ``torchmetrics.Metric`` whose state is one ``(C, C)`` int64 confusion matrix
    (``confmat``; rows = target, columns = predicted class) summed across ranks: one
    object instead of torchmetrics' ``MulticlassAccuracy``, ``MulticlassPrecision``,
    ``MulticlassRecall`` and ``MulticlassF1Score``, with their arguments and numbers
    (scikit-learn's, ``zero_division=0``). ``macro`` averages the classes that occur in
    the targets or predictions; ``accuracy`` with ``average="micro"`` is the fraction
    of correct samples, with the other averages the recall's (as torchmetrics).

    Args:
        num_classes: ``C``.
        average: ``"macro"`` (default, as torchmetrics), ``"micro"``, ``"weighted"``
            (by support) or ``"none"`` / ``None`` (one key per class).
        ignore_index: target value whose samples are not counted.
        class_names: ``C`` names for the per-class keys (default ``"0"``, ``"1"``, ...).
        validate_args: check label values (a host read per batch, as torchmetrics'
            ``validate_args``); with ``False`` a sample whose target or predicted class
            lies outside ``[0, num_classes)`` (target not ``ignore_index``) is dropped,
            not counted, and raises nothing.
        **kwargs: ``torchmetrics.Metric`` options.

    Example:
        >>> import torch
        >>> metric = MulticlassMetrics(num_classes=3)
        >>> metric.update(torch.tensor([0, 2, 1, 1]), torch.tensor([0, 1, 1, 2]))
        >>> scores = torch.tensor([[0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
        >>> metric.update(scores, torch.tensor([1, 2]))  # argmax of the scores
        >>> {k: round(float(v), 4) for k, v in metric.compute().items()}
        {'accuracy': 0.7222, 'precision': 0.7222, 'recall': 0.7222, 'f1': 0.7222}
    """

    confmat: Tensor

    def __init__(
        self,
        num_classes: int,
        average: Average | None = "macro",
        ignore_index: int | None = None,
        *,
        class_names: Sequence[str] | None = None,
        validate_args: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        c, avg, ig, names = _check_args(num_classes, average, AVERAGES, ignore_index, class_names)
        self.num_classes = c
        self.average = avg
        self.ignore_index = ig
        self.class_names = names
        self.validate_args = bool(validate_args)
        self.add_state(
            "confmat", default=torch.zeros(c, c, dtype=torch.int64), dist_reduce_fx="sum"
        )

    def update(self, preds: Tensor | np.ndarray, target: Tensor | np.ndarray) -> None:
        """Count one batch.

        Args:
            preds: ``(N,)`` integer predicted classes, or ``(N, C)`` float scores /
                logits (argmax; ties to the lower class index).
            target: ``(N,)`` integer classes in ``[0, C)`` or ``ignore_index``.

        Raises:
            TypeError: not a tensor / array, or the wrong dtype.
            ValueError: wrong shapes, a tensor on another device than the metric, or
                (``validate_args``) a class outside ``[0, C)`` (the first one is named).
        """
        p = as_tensor("preds", preds, self.device)
        t = as_tensor("target", target, self.device)
        self._check_device("preds", p)
        self._check_device("target", t)
        t = _targets(t)
        c = self.num_classes
        if p.ndim == 2:
            _check_scores(p, c, self.validate_args)
            p = p.argmax(dim=1)
        elif p.ndim != 1:
            raise ValueError(
                f"Expected `preds` to have shape (N,) or (N, num_classes={c}), "
                f"but got {tuple(p.shape)}"
            )
        elif p.dtype == torch.bool or p.is_floating_point() or p.is_complex():
            raise TypeError(
                f"Expected (N,) `preds` to hold integer class indexes, but got dtype {p.dtype}; "
                "pass (N, num_classes) scores for argmax"
            )
        else:
            p = widen_unsigned("preds", p)
        _check_length(p, t)
        if self.validate_args:  # counts and checks the values in one pass
            delta = _semantic_update(t, p, c, self.ignore_index)
        else:  # out-of-range classes are dropped, not counted
            delta = _pixel_confusion_matrix_dropping_invalid(t, p, c, self.ignore_index)
        self.confmat += delta

    def compute(self) -> dict[str, Tensor]:
        """Accuracy, precision, recall, F1 over every sample since ``reset``, all ranks.

        Returns:
            ``{"accuracy", "precision", "recall", "f1"}`` 0-d float64 tensors, or with
            ``average="none"`` ``"<metric>/<class>"`` keys.
        """
        cm = self.confmat
        tp = cm.diagonal()
        fp = cm.sum(0) - tp
        fn = cm.sum(1) - tp
        present = (tp + fp + fn) > 0
        avg = self.average

        def score(kind: str) -> Tensor:  # the kernels' reduction, on the summed counts
            return _reduce_prf(tp, fp, fn, kind, avg, present)

        recall = score("r")
        accuracy = _divide(tp.sum(), cm.sum()) if avg == "micro" else recall
        values = {
            "accuracy": accuracy,
            "precision": score("p"),
            "recall": recall,
            "f1": score("f"),
        }
        return _per_key(values, avg, self.class_names)


class MulticlassRankingMetrics(StreamingMetric):
    """One-vs-rest ROC AUC and average precision of a multiclass classifier.

    A ``torchmetrics.Metric`` for torchmetrics' ``MulticlassAUROC`` and
    ``MulticlassAveragePrecision`` (``thresholds=None``, the exact ones) in one object.
    The state is the scores and targets as flat ``cat`` tensors (``scores`` ``(N, C)``
    in ``score_dtype``, ``target`` ``(N,)`` int64), gathered across ranks; a rank
    without samples takes part with empty tensors. Ranking uses the order of the
    scores only: probabilities, logits or any other scores work.

    Args:
        num_classes: ``C``.
        average: ``"macro"`` (classes with a defined value), ``"weighted"`` (by
            support), ``"micro"`` (one curve over the flattened one-hot targets) or
            ``"none"`` / ``None`` (one key per class).
        ignore_index: target value whose samples are left out.
        class_names: ``C`` names for the per-class keys.
        score_dtype: dtype the scores are kept in: float32 (default; exact for
            float32, float16 and bfloat16 network outputs, ``4 * C`` bytes per sample)
            or float64 (exact for float64 scores too, ``8 * C`` bytes).
        validate_args: check target values and NaN scores (a host read per batch).
        **kwargs: ``torchmetrics.Metric`` options.

    Example:
        >>> import torch
        >>> metric = MulticlassRankingMetrics(num_classes=2)
        >>> metric.update(torch.tensor([[0.6, 0.4], [0.5, 0.5]]), torch.tensor([0, 0]))
        >>> metric.update(torch.tensor([[0.5, 0.5], [0.2, 0.8]]), torch.tensor([1, 1]))
        >>> metric.compute()
        {'auroc': tensor(0.8750, dtype=torch.float64),
         'average_precision': tensor(0.8333, dtype=torch.float64)}
    """

    scores: list[Tensor] | Tensor
    target: list[Tensor] | Tensor

    def __init__(
        self,
        num_classes: int,
        average: RankingAverage | None = "macro",
        ignore_index: int | None = None,
        *,
        class_names: Sequence[str] | None = None,
        score_dtype: torch.dtype = torch.float32,
        validate_args: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        c, avg, ig, names = _check_args(
            num_classes, average, _RANKING_AVERAGES, ignore_index, class_names
        )
        self.num_classes = c
        self.average = avg
        self.ignore_index = ig
        self.class_names = names
        self.validate_args = bool(validate_args)
        if not (isinstance(score_dtype, torch.dtype) and score_dtype.is_floating_point):
            raise TypeError(
                f"Expected `score_dtype` to be a floating torch.dtype, but got {score_dtype!r}"
            )
        self._add_cat_state("scores", (c,), score_dtype)
        self._add_cat_state("target", (), torch.int64)

    @property
    def score_dtype(self) -> torch.dtype:
        """The dtype in which scores are kept."""
        return self._cat_specs["scores"][1]

    def update(self, preds: Tensor | np.ndarray, target: Tensor | np.ndarray) -> None:
        """Keep one batch's scores and targets.

        Args:
            preds: ``(N, C)`` float scores (probabilities or logits).
            target: ``(N,)`` integer classes in ``[0, C)`` or ``ignore_index``.

        Raises:
            TypeError: not a tensor / array, or the wrong dtype.
            ValueError: wrong shapes, a tensor on another device than the metric, or
                (``validate_args``) a target outside ``[0, C)`` or a NaN score.
        """
        p = as_tensor("preds", preds, self.device)
        t = as_tensor("target", target, self.device)
        self._check_device("preds", p)
        self._check_device("target", t)
        t = _targets(t)
        _check_scores(p, self.num_classes, self.validate_args)
        _check_length(p, t)
        if self.validate_args:
            check_label_values(t, "target", self.num_classes, self.ignore_index)
        cast(list[Tensor], self.scores).append(p.detach().to(self.score_dtype))
        cast(list[Tensor], self.target).append(t)

    def compute(self) -> dict[str, Tensor]:
        """ROC AUC and average precision over every sample since ``reset``, all ranks.

        Returns:
            ``{"auroc", "average_precision"}`` 0-d float64 tensors, or with
            ``average="none"`` ``"<metric>/<class>"`` keys.
        """
        scores = cat_state(self.scores)
        target = cat_state(self.target)
        if self.ignore_index is not None:
            keep = target != self.ignore_index
            scores, target = scores[keep], target[keep]
        c, avg = self.num_classes, cast(RankingAverage, self.average)
        values = {
            "auroc": multiclass_auroc(scores, target, c, average=avg),
            "average_precision": multiclass_average_precision(scores, target, c, average=avg),
        }
        return _per_key(values, avg, self.class_names)
