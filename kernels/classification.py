"""Classification kernels: confusion matrices, P/R/F1, accuracy, ROC/PR curves, calibration.

Names and arguments follow ``torchmetrics.functional``; the numbers follow
scikit-learn, metric for metric:

- precision, recall and F1 are ``precision_recall_fscore_support`` with
  ``zero_division=0``; ``macro`` averages the classes that occur in ``target`` or in
  the predictions (what scikit-learn does without a ``labels`` argument, and what
  torchmetrics does), ``weighted`` weights by support, ``micro`` pools the counts;
- ``multiclass_accuracy`` is ``accuracy_score`` (``top_k=1``, argmax: ties go to the
  lower class index) or ``top_k_accuracy_score`` (``top_k > 1``: ties go to the
  higher class index, as scikit-learn's stable argsort reversed does);
- ROC AUC and average precision are ``roc_auc_score`` / ``average_precision_score``
  one-vs-rest per class, with scikit-learn's distinct-threshold tie handling (tied
  scores form one point of the curve). A class without positives (or, for ROC AUC,
  without negatives) has ROC AUC ``nan``; average precision is then ``0.0`` as
  scikit-learn >= 1.3 returns. ``macro`` / ``weighted`` skip ``nan`` classes (as
  torchmetrics does; scikit-learn's multiclass ``roc_auc_score`` returns ``nan``);
- calibration bins are ``sklearn.calibration.calibration_curve(strategy="uniform")``
  bins: ``np.linspace(0, 1, n_bins + 1)``, closed on the right (a confidence equal to
  an inner edge falls in the lower bin; 1.0 falls in the last bin).

Every function is a pure tensor function: CUDA or CPU from the same code, output on
the input's device, no host synchronisation. Ranking metrics sort each column of the
``(N, C)`` scores once, by order-preserving integer keys, in blocks of columns of
about 2**18 elements (one column when ``N`` is larger) so that the sort works in cache,
and count in int64, so ROC AUC is the exact rational ``U / (P * N)`` in float64.
Ranking metrics never look at score values beyond their order, so probabilities,
logits or any other scores work; calibration needs probabilities.

Each public function checks its arguments once, on entry, and names the first
offending item. Types, dtypes, shapes, lengths and devices are checked on every
device. Values are checked on CPU tensors only, one vectorised pass each (2-4 ms per
10 M scores on one core, under 1% of the ranking kernels): class indexes (``target``, ``(N,)``
integer ``preds``, any integer width) in ``[0, num_classes)``; multilabel targets and
integer predictions 0 or 1; no NaN score (scikit-learn refuses NaN too; ``+-inf`` is a
valid score); calibration's top-1 scores in [0, 1]. Bool class indexes are refused
(scikit-learn and torchmetrics read them as classes 0 and 1; a bool tensor is more
often a mask, and ``.long()`` says classes). Device values are not read (that would
synchronise): there the contract stands, and a class outside ``[0, num_classes)``
counts in the wrong cell or fails in torch's gather.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from ._checks import (
    check_binary,
    check_dtype,
    check_int,
    check_no_nan,
    check_range,
    check_same_device,
    check_size,
    check_tensor,
    first_item,
    reads_values,
)
from ._keys import descending_key
from ._nonzero import flat_nonzero, static_nonzero_runs_on

__all__ = [
    "AVERAGES",
    "Average",
    "PrecisionRecallCurve",
    "ReliabilityBins",
    "RocCurve",
    "ValorLitePairs",
    "multiclass_accuracy",
    "multiclass_auroc",
    "multiclass_average_precision",
    "multiclass_calibration_error",
    "multiclass_confusion_matrix",
    "multiclass_f1_score",
    "multiclass_precision",
    "multiclass_precision_recall_curve",
    "multiclass_recall",
    "multiclass_reliability_bins",
    "multiclass_roc",
    "multilabel_auroc",
    "multilabel_average_precision",
    "multilabel_confusion_matrix",
    "multilabel_f1_score",
    "multilabel_precision",
    "multilabel_precision_recall_curve",
    "multilabel_recall",
    "multilabel_roc",
    "valor_lite_counts",
    "valor_lite_pairs",
    "valor_lite_rocauc",
]

Average = Literal["micro", "macro", "weighted", "none"]
AVERAGES: tuple[str, ...] = ("micro", "macro", "weighted", "none")
_NORMS: tuple[str, ...] = ("l1", "l2", "max")
_BLOCK = 1 << 18  # elements (classes x samples) ranked at once: the sort stays in cache


class RocCurve(NamedTuple):
    """Per-class ROC curves, padded to a common length.

    Attributes:
        fpr: ``(C, N + 1)`` float64 false-positive rate, ascending.
        tpr: ``(C, N + 1)`` float64 true-positive rate.
        thresholds: ``(C, N + 1)`` decreasing thresholds, ``+inf`` first (scikit-learn
            >= 1.3), in the dtype of the scores.
        lengths: ``(C,)`` int64 number of real points of each curve; the entries past
            ``lengths[c]`` repeat the last point, so the area of a padded row equals
            the area of the real curve.
    """

    fpr: Tensor
    tpr: Tensor
    thresholds: Tensor
    lengths: Tensor


class PrecisionRecallCurve(NamedTuple):
    """Per-class precision-recall curves in scikit-learn's layout, padded.

    Attributes:
        precision: ``(C, N + 1)`` float64, by increasing threshold, ending with 1.
        recall: ``(C, N + 1)`` float64, decreasing, ending with 0.
        thresholds: ``(C, N)`` increasing thresholds in the dtype of the scores; a
            curve of ``lengths[c]`` points has ``lengths[c] - 1`` thresholds.
        lengths: ``(C,)`` int64 number of real points of each curve; entries past it
            repeat the last point (thresholds repeat the last real threshold).
    """

    precision: Tensor
    recall: Tensor
    thresholds: Tensor
    lengths: Tensor


class ReliabilityBins(NamedTuple):
    """Reliability-diagram bins of the top-1 confidence.

    Attributes:
        edges: ``(B + 1,)`` float64 ``np.linspace(0, 1, B + 1)``.
        confidence: ``(B,)`` float64 mean confidence per bin (0 for an empty bin).
        accuracy: ``(B,)`` float64 fraction of correct top-1 predictions per bin
            (0 for an empty bin).
        counts: ``(B,)`` int64 samples per bin.
    """

    edges: Tensor
    confidence: Tensor
    accuracy: Tensor
    counts: Tensor


# ---------------------------------------------------------------------------- checks


def _check_class_dtype(name: str, x: Tensor, label: str | None = None) -> None:
    """``x`` holds class indexes: an integer dtype (bool, float and complex refused)."""
    if x.dtype == torch.bool or x.is_floating_point() or x.is_complex():
        hint = "; a bool tensor is a mask: pass .long() for classes 0 and 1"
        raise TypeError(
            f"Expected {label or f'`{name}`'} to hold integer class indexes, but got dtype "
            f"{x.dtype}{hint if x.dtype == torch.bool else ''}"
        )


def _check_classes(name: str, x: Tensor, num: int, what: str = "class indexes") -> None:
    """CPU integer ``x`` must lie in ``[0, num)``: one ``aminmax`` pass (any width)."""
    check_range(name, x, 0, num, what)


def _check_indicator_dtype(
    name: str, x: Tensor, what: str = "0/1 indicators (bool, integer or float)"
) -> None:
    if x.is_complex():
        raise TypeError(f"Expected `{name}` to hold {what}, but got dtype {x.dtype}")


def _check_average(average: str | None, allowed: tuple[str, ...]) -> str:
    avg = "none" if average is None else average
    if avg not in allowed:
        raise ValueError(f"Expected `average` to be one of {allowed}, but got {average!r}")
    return avg


def _check_length(preds: Tensor, target: Tensor) -> None:
    if preds.shape[0] != target.shape[0]:
        raise ValueError(
            f"Expected `preds` and `target` to have the same length, but got {preds.shape[0]} "
            f"and {target.shape[0]}"
        )


def _multiclass_inputs(preds: Tensor, target: Tensor, num_classes: int) -> tuple[Tensor, int]:
    """Check the arguments; return ``(N,)`` int64 predicted labels (argmax of scores) and C.

    Metadata always; on the CPU also the values: ``target`` and ``(N,)`` ``preds`` in
    ``[0, C)``, no NaN in ``(N, C)`` ``preds``.
    """
    c = check_int("num_classes", num_classes, minimum=1)
    check_tensor("preds", preds, (1, 2), "(N,) or (N, num_classes)")
    check_tensor("target", target, 1, "(N,)")
    check_same_device(preds=preds, target=target)
    _check_class_dtype("target", target)
    _check_length(preds, target)
    if preds.ndim == 2:
        if preds.shape[1] != c:
            raise ValueError(
                f"Expected `preds` to have shape (N, num_classes={c}), but got {tuple(preds.shape)}"
            )
        if not preds.is_floating_point():
            raise TypeError(
                f"Expected `preds` of shape (N, C) to hold float scores, but got dtype "
                f"{preds.dtype}"
            )
        _check_classes("target", target, c)
        if not reads_values(preds) or not preds.shape[0]:
            return preds.argmax(dim=1), c
        # CPU: max(dim=1) gives the argmax (the first maximal index, documented for both)
        # and the row maxima, NaN where a row holds a NaN: the NaN check reads N values
        top, pred = preds.max(dim=1)
        if bool(torch.isnan(top.amax())):
            check_no_nan("preds", preds)
        return pred, c
    _check_class_dtype("preds", preds, "`preds` of shape (N,)")
    _check_classes("target", target, c)
    _check_classes("preds", preds, c)
    return preds.long(), c


def _scores_inputs(preds: Tensor, target: Tensor, num: int, name: str, multilabel: bool) -> int:
    """Check the metadata of ``(N, C)`` scores and their targets; return ``C``."""
    c = check_int(name, num, minimum=1)
    check_tensor("preds", preds, 2, f"(N, {name})")
    check_tensor("target", target, 2 if multilabel else 1, f"(N, {name})" if multilabel else "(N,)")
    check_same_device(preds=preds, target=target)
    if not preds.is_floating_point():
        raise TypeError(f"Expected `preds` to hold float scores, but got dtype {preds.dtype}")
    if preds.shape[1] != c:
        raise ValueError(
            f"Expected `preds` to have shape (N, {name}={c}), but got {tuple(preds.shape)}"
        )
    if multilabel:
        if target.shape != preds.shape:
            raise ValueError(
                f"Expected `target` to have the shape of `preds` {tuple(preds.shape)}, but got "
                f"{tuple(target.shape)}"
            )
        _check_indicator_dtype("target", target)
    else:
        _check_class_dtype("target", target)
        _check_length(preds, target)
    return c


def _scores_values(preds: Tensor, target: Tensor, num: int, multilabel: bool) -> None:
    """CPU value checks of :func:`_scores_inputs`'s arguments: targets, no NaN score."""
    if multilabel:
        check_binary("target", target, "0/1 indicators")
    else:
        _check_classes("target", target, num)
    check_no_nan("preds", preds)


def _multilabel_inputs(
    preds: Tensor, target: Tensor, num_labels: int, threshold: float
) -> tuple[Tensor, Tensor, int]:
    """Check the arguments and return ``(N, L)`` bool predictions and targets, and ``L``."""
    n = check_int("num_labels", num_labels, minimum=1)
    check_tensor("preds", preds, 2, "(N, num_labels)")
    check_tensor("target", target, 2, "(N, num_labels)")
    check_same_device(preds=preds, target=target)
    if preds.shape != target.shape or preds.shape[1] != n:
        raise ValueError(
            f"Expected `preds` and `target` to have shape (N, num_labels={n}), but got "
            f"{tuple(preds.shape)} and {tuple(target.shape)}"
        )
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(
            f"Expected `threshold` to be a float in [0, 1], but got {type(threshold).__name__}"
        )
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"Expected `threshold` to be a float in [0, 1], but got {threshold!r}")
    _check_indicator_dtype("target", target)
    _check_indicator_dtype("preds", preds, "float scores or 0/1 predictions")
    check_binary("target", target, "0/1 indicators")
    if preds.is_floating_point():
        check_no_nan("preds", preds)
        return preds > threshold, target != 0, n
    check_binary("preds", preds, "0/1 indicators")
    return preds != 0, target != 0, n


# ------------------------------------------------------------- confusion and P/R/F1


def multiclass_confusion_matrix(preds: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """Confusion matrix, rows = true class, columns = predicted class.

    Same layout as ``sklearn.metrics.confusion_matrix(target, pred, labels=range(C))``.

    Args:
        preds: ``(N,)`` int predicted classes, or ``(N, C)`` float scores (argmax; ties
            go to the lower class index).
        target: ``(N,)`` int true classes in ``[0, num_classes)``.
        num_classes: ``C``.

    Returns:
        ``(C, C)`` int64 counts.

    Raises:
        TypeError: a non-tensor, ``target`` or ``(N,)`` ``preds`` not integer (bool
            refused), ``(N, C)`` ``preds`` not floating, ``num_classes`` not an int.
        ValueError: wrong shapes, lengths or devices; on the CPU, a class outside
            ``[0, num_classes)`` or a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> multiclass_confusion_matrix(torch.tensor([0, 2, 1, 1]), torch.tensor([0, 1, 1, 2]), 3)
        tensor([[1, 0, 0],
                [0, 1, 1],
                [0, 1, 0]])
    """
    pred, c = _multiclass_inputs(preds, target, num_classes)
    return _confusion(pred, target, c)


def _confusion(pred: Tensor, target: Tensor, c: int) -> Tensor:
    """``(C, C)`` counts of ``(N,)`` labels ``pred`` (int64) against ``target`` (unchecked)."""
    idx = target.long() * c + pred
    return _count(idx, c * c).reshape(c, c)


def multilabel_confusion_matrix(
    preds: Tensor, target: Tensor, num_labels: int, threshold: float = 0.5
) -> Tensor:
    """One 2x2 confusion matrix per label, ``[[tn, fp], [fn, tp]]``.

    Same layout as ``sklearn.metrics.multilabel_confusion_matrix``.

    Args:
        preds: ``(N, L)`` float scores (positive when ``> threshold``) or 0/1 int/bool
            predictions.
        target: ``(N, L)`` 0/1 indicators (bool, integer or float).
        num_labels: ``L``.
        threshold: decision threshold for float ``preds``.

    Returns:
        ``(L, 2, 2)`` int64.

    Raises:
        TypeError: a non-tensor, a complex dtype, ``num_labels`` or ``threshold`` not a
            number.
        ValueError: wrong shapes or devices, ``threshold`` outside [0, 1]; on the
            CPU, a ``target`` (or integer ``preds``) other than 0/1 or a NaN score (device
            values are not read).

    Example:
        >>> import torch
        >>> preds = torch.tensor([[0.9, 0.2], [0.4, 0.7]])
        >>> multilabel_confusion_matrix(preds, torch.tensor([[1, 1], [0, 1]]), 2)
        tensor([[[1, 0],
                 [0, 1]],
        <BLANKLINE>
                [[0, 0],
                 [1, 1]]])
    """
    p, t, n = _multilabel_inputs(preds, target, num_labels, threshold)
    tp, fp, fn, tn = _multilabel_stats(p, t)
    return torch.stack((tn, fp, fn, tp), dim=1).reshape(n, 2, 2)


def _multilabel_stats(p: Tensor, t: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    tp = (p & t).sum(0)
    fp = (p & ~t).sum(0)
    fn = (~p & t).sum(0)
    tn = (~p & ~t).sum(0)
    return tp, fp, fn, tn


def _count(index: Tensor, size: int, where: Tensor | None = None) -> Tensor:
    """``bincount`` into a fixed ``size`` (counting only ``where``), without a host sync."""
    index = index.reshape(-1)
    ones = torch.ones_like(index) if where is None else where.reshape(-1).long()
    return torch.zeros(size, dtype=torch.int64, device=index.device).index_add_(0, index, ones)


def _divide(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` in float64, 0 where ``den == 0`` (scikit-learn's zero_division=0)."""
    num, den = num.double(), den.double()
    return torch.where(den > 0, num / torch.where(den > 0, den, 1.0), 0.0)


def _reduce_prf(
    tp: Tensor, fp: Tensor, fn: Tensor, kind: str, average: str, present: Tensor
) -> Tensor:
    """Precision (``kind="p"``), recall (``"r"``) or F1 (``"f"``), reduced by ``average``."""
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    if kind == "p":
        score = _divide(tp, tp + fp)
    elif kind == "r":
        score = _divide(tp, tp + fn)
    else:
        score = _divide(2 * tp, 2 * tp + fp + fn)
    if average in ("micro", "none"):
        return score
    weights = present.double() if average == "macro" else (tp + fn).double()
    return _divide((score * weights).sum(), weights.sum())


def _multiclass_prf(
    preds: Tensor, target: Tensor, num_classes: int, average: str | None, kind: str
) -> Tensor:
    avg = _check_average(average, AVERAGES)
    pred, c = _multiclass_inputs(preds, target, num_classes)
    cm = _confusion(pred, target, c)
    tp = cm.diagonal()
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    return _reduce_prf(tp, fp, fn, kind, avg, present=(tp + fp + fn) > 0)


def _multilabel_prf(
    preds: Tensor, target: Tensor, num_labels: int, threshold: float, average: str | None, kind: str
) -> Tensor:
    avg = _check_average(average, AVERAGES)
    p, t, _ = _multilabel_inputs(preds, target, num_labels, threshold)
    tp, fp, fn, _ = _multilabel_stats(p, t)
    return _reduce_prf(tp, fp, fn, kind, avg, present=torch.ones_like(tp, dtype=torch.bool))


def multiclass_precision(
    preds: Tensor, target: Tensor, num_classes: int, average: Average | None = "macro"
) -> Tensor:
    """Precision ``tp / (tp + fp)``, 0 where nothing was predicted.

    ``sklearn.metrics.precision_score(target, pred, average=..., zero_division=0)``;
    ``average="none"`` is ``labels=range(C), average=None``.

    Args:
        preds: ``(N,)`` int predicted classes or ``(N, C)`` float scores (argmax).
        target: ``(N,)`` int true classes.
        num_classes: ``C``.
        average: ``"macro"`` (classes in ``target`` or predictions), ``"micro"``,
            ``"weighted"`` (by support) or ``"none"`` / ``None`` (per class).

    Returns:
        float64 scalar, or ``(C,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, ``target`` or ``(N,)`` ``preds`` not integer (bool
            refused), ``(N, C)`` ``preds`` not floating, ``num_classes`` not an int.
        ValueError: wrong shapes, lengths or devices, ``average``; on the CPU, a class outside
            ``[0, num_classes)`` or a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> preds, target = torch.tensor([0, 2, 1, 1]), torch.tensor([0, 1, 1, 2])
        >>> multiclass_precision(preds, target, 3, average="none")
        tensor([1.0000, 0.5000, 0.0000], dtype=torch.float64)
        >>> multiclass_precision(preds, target, 3)
        tensor(0.5000, dtype=torch.float64)
    """
    return _multiclass_prf(preds, target, num_classes, average, "p")


def multiclass_recall(
    preds: Tensor, target: Tensor, num_classes: int, average: Average | None = "macro"
) -> Tensor:
    """Recall ``tp / (tp + fn)``, 0 for a class without support.

    ``sklearn.metrics.recall_score(target, pred, average=..., zero_division=0)``.

    Args:
        preds: ``(N,)`` int predicted classes or ``(N, C)`` float scores (argmax).
        target: ``(N,)`` int true classes.
        num_classes: ``C``.
        average: ``"macro"``, ``"micro"``, ``"weighted"`` or ``"none"`` / ``None``.

    Returns:
        float64 scalar, or ``(C,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, ``target`` or ``(N,)`` ``preds`` not integer (bool
            refused), ``(N, C)`` ``preds`` not floating, ``num_classes`` not an int.
        ValueError: wrong shapes, lengths or devices, ``average``; on the CPU, a class outside
            ``[0, num_classes)`` or a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> multiclass_recall(torch.tensor([0, 2, 1, 1]), torch.tensor([0, 1, 1, 2]), 3,
        ...                   average="none")
        tensor([1.0000, 0.5000, 0.0000], dtype=torch.float64)
    """
    return _multiclass_prf(preds, target, num_classes, average, "r")


def multiclass_f1_score(
    preds: Tensor, target: Tensor, num_classes: int, average: Average | None = "macro"
) -> Tensor:
    """F1 ``2 tp / (2 tp + fp + fn)``, 0 where that is 0 / 0.

    ``sklearn.metrics.f1_score(target, pred, average=..., zero_division=0)``; the
    macro average is the mean of per-class F1, not the F1 of macro P and R.

    Args:
        preds: ``(N,)`` int predicted classes or ``(N, C)`` float scores (argmax).
        target: ``(N,)`` int true classes.
        num_classes: ``C``.
        average: ``"macro"``, ``"micro"``, ``"weighted"`` or ``"none"`` / ``None``.

    Returns:
        float64 scalar, or ``(C,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, ``target`` or ``(N,)`` ``preds`` not integer (bool
            refused), ``(N, C)`` ``preds`` not floating, ``num_classes`` not an int.
        ValueError: wrong shapes, lengths or devices, ``average``; on the CPU, a class outside
            ``[0, num_classes)`` or a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> multiclass_f1_score(torch.tensor([0, 2, 1, 1]), torch.tensor([0, 1, 1, 2]), 3)
        tensor(0.5000, dtype=torch.float64)
    """
    return _multiclass_prf(preds, target, num_classes, average, "f")


def multilabel_precision(
    preds: Tensor,
    target: Tensor,
    num_labels: int,
    threshold: float = 0.5,
    average: Average | None = "macro",
) -> Tensor:
    """Per-label precision of a multilabel problem, reduced like scikit-learn.

    ``sklearn.metrics.precision_score(target, pred, average=..., zero_division=0)``
    on indicator matrices; ``macro`` averages every label.

    Args:
        preds: ``(N, L)`` float scores (``> threshold``) or 0/1 int/bool predictions.
        target: ``(N, L)`` 0/1 indicators.
        num_labels: ``L``.
        threshold: decision threshold for float ``preds``.
        average: ``"macro"``, ``"micro"``, ``"weighted"`` or ``"none"`` / ``None``.

    Returns:
        float64 scalar, or ``(L,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, a complex dtype, ``num_labels`` or ``threshold`` not a
            number.
        ValueError: wrong shapes or devices, ``threshold`` outside [0, 1], ``average``; on the
            CPU, a ``target`` (or integer ``preds``) other than 0/1 or a NaN score (device
            values are not read).

    Example:
        >>> import torch
        >>> preds = torch.tensor([[0.9, 0.8], [0.4, 0.7]])
        >>> multilabel_precision(preds, torch.tensor([[1, 0], [0, 1]]), 2, average="none")
        tensor([1.0000, 0.5000], dtype=torch.float64)
    """
    return _multilabel_prf(preds, target, num_labels, threshold, average, "p")


def multilabel_recall(
    preds: Tensor,
    target: Tensor,
    num_labels: int,
    threshold: float = 0.5,
    average: Average | None = "macro",
) -> Tensor:
    """Per-label recall of a multilabel problem (``recall_score`` on indicators).

    Args:
        preds: ``(N, L)`` float scores (``> threshold``) or 0/1 int/bool predictions.
        target: ``(N, L)`` 0/1 indicators.
        num_labels: ``L``.
        threshold: decision threshold for float ``preds``.
        average: ``"macro"``, ``"micro"``, ``"weighted"`` or ``"none"`` / ``None``.

    Returns:
        float64 scalar, or ``(L,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, a complex dtype, ``num_labels`` or ``threshold`` not a
            number.
        ValueError: wrong shapes or devices, ``threshold`` outside [0, 1], ``average``; on the
            CPU, a ``target`` (or integer ``preds``) other than 0/1 or a NaN score (device
            values are not read).

    Example:
        >>> import torch
        >>> preds = torch.tensor([[0.9, 0.8], [0.4, 0.7]])
        >>> multilabel_recall(preds, torch.tensor([[1, 0], [1, 1]]), 2, average="micro")
        tensor(0.6667, dtype=torch.float64)
    """
    return _multilabel_prf(preds, target, num_labels, threshold, average, "r")


def multilabel_f1_score(
    preds: Tensor,
    target: Tensor,
    num_labels: int,
    threshold: float = 0.5,
    average: Average | None = "macro",
) -> Tensor:
    """Per-label F1 of a multilabel problem (``f1_score`` on indicators).

    Args:
        preds: ``(N, L)`` float scores (``> threshold``) or 0/1 int/bool predictions.
        target: ``(N, L)`` 0/1 indicators.
        num_labels: ``L``.
        threshold: decision threshold for float ``preds``.
        average: ``"macro"``, ``"micro"``, ``"weighted"`` or ``"none"`` / ``None``.

    Returns:
        float64 scalar, or ``(L,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, a complex dtype, ``num_labels`` or ``threshold`` not a
            number.
        ValueError: wrong shapes or devices, ``threshold`` outside [0, 1], ``average``; on the
            CPU, a ``target`` (or integer ``preds``) other than 0/1 or a NaN score (device
            values are not read).

    Example:
        >>> import torch
        >>> preds = torch.tensor([[0.9, 0.8], [0.4, 0.7]])
        >>> multilabel_f1_score(preds, torch.tensor([[1, 0], [1, 1]]), 2)
        tensor(0.6667, dtype=torch.float64)
    """
    return _multilabel_prf(preds, target, num_labels, threshold, average, "f")


def multiclass_accuracy(
    preds: Tensor,
    target: Tensor,
    num_classes: int,
    average: Average | None = "micro",
    top_k: int = 1,
) -> Tensor:
    """Accuracy, or top-k accuracy, of multiclass predictions.

    ``top_k=1``: ``micro`` is ``sklearn.metrics.accuracy_score`` (argmax of scores,
    ties to the lower class index); the other averages are the recall's
    (``macro`` accuracy is torchmetrics' and ``recall_score(average="macro")``).
    ``top_k > 1``: ``sklearn.metrics.top_k_accuracy_score`` exactly, including its
    tie rule (among equal scores the higher class index ranks first): a sample is a
    hit when fewer than ``k`` classes rank before its true class. Only ``micro`` and
    ``none`` (hit rate per true class, 0 without support) are defined there.
    ``top_k >= C`` makes every sample a hit: scikit-learn's value (it warns; torchmetrics
    refuses ``top_k > C``), kept because a fixed list of ``k`` meets keys of few classes.

    Args:
        preds: ``(N,)`` int predicted classes or ``(N, C)`` float scores; ``top_k > 1``
            needs scores.
        target: ``(N,)`` int true classes.
        num_classes: ``C``.
        average: ``"micro"`` (default, the fraction of hits), ``"macro"``,
            ``"weighted"`` or ``"none"`` / ``None``.
        top_k: ``k`` >= 1.

    Returns:
        float64 scalar, or ``(C,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, ``target`` or ``(N,)`` ``preds`` not integer (bool
            refused), ``(N, C)`` ``preds`` not floating, ``num_classes`` or ``top_k`` not an
            int.
        ValueError: wrong shapes, lengths or devices, ``average``, ``top_k < 1``, ``(N,)``
            ``preds`` with ``top_k > 1``; on the CPU, a class outside ``[0, num_classes)``
            or a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> scores = torch.tensor([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])
        >>> target = torch.tensor([0, 1, 2])
        >>> multiclass_accuracy(scores, target, 3)
        tensor(0.3333, dtype=torch.float64)
        >>> multiclass_accuracy(scores, target, 3, top_k=2)
        tensor(1., dtype=torch.float64)
    """
    avg = _check_average(average, AVERAGES)
    k = check_int("top_k", top_k, minimum=1)
    if k == 1:
        if avg != "micro":
            return _multiclass_prf(preds, target, num_classes, avg, "r")
        pred, _ = _multiclass_inputs(preds, target, num_classes)
        return _divide((pred == target).sum(), torch.tensor(target.shape[0], device=pred.device))
    if avg not in ("micro", "none"):
        raise ValueError(
            f"Expected `average` to be 'micro' or 'none' when top_k > 1, but got {average!r}"
        )
    if isinstance(preds, Tensor) and preds.ndim == 1:
        raise ValueError(
            f"Expected `preds` to be (N, num_classes) scores when top_k > 1, but got shape "
            f"{tuple(preds.shape)}"
        )
    c = _scores_inputs(preds, target, num_classes, "num_classes", multilabel=False)
    _scores_values(preds, target, c, multilabel=False)
    t = target.long()
    true_score = preds.gather(1, t[:, None])
    classes = torch.arange(c, device=preds.device)
    before = (preds > true_score) | ((preds == true_score) & (classes[None, :] > t[:, None]))
    hits = before.sum(1) < k
    if avg == "micro":
        return _divide(hits.sum(), torch.tensor(t.shape[0], device=preds.device))
    per_class = _count(t, c, hits)
    return _divide(per_class, _count(t, c))


# ------------------------------------------------------------------------- ranking


def _sort_rows(scores: Tensor) -> tuple[Tensor, Tensor]:
    """Rank each row of ``scores`` ``(B, N)`` by decreasing score.

    Returns ``keys`` ``(B * N,)``, non-decreasing over the flattened block: equal keys
    are tied scores of one row, and every row's keys lie above the previous row's;
    and ``order`` ``(B * N,)`` int64, the flat index in ``scores`` of each ranked
    element. float32 (and half) scores sort order-preserving int32 keys (one row) or
    int64 keys ``row | key`` (several rows), float64 scores int64 keys, each with one
    1-D sort (torch's radix sort on the CPU); several float64 rows sort per row and
    number the groups of ties. Ties stay ties, so this is exactly a sort by score.
    """
    b, n = scores.shape
    dev = scores.device
    x = scores.float() if scores.dtype in (torch.float16, torch.bfloat16) else scores
    if x.dtype == torch.float32:
        key = descending_key(x)
        if b > 1:  # the row above the key (shifted to [0, 2^32))
            key = key + ((torch.arange(b, device=dev) << 32) + 2**31)[:, None]
        return torch.sort(key.view(-1))
    key = descending_key(x)
    if b == 1:
        return torch.sort(key.view(-1))
    skey, order = torch.sort(key, dim=1)
    starts = torch.ones_like(skey, dtype=torch.bool)
    torch.ne(skey[:, 1:], skey[:, :-1], out=starts[:, 1:])
    order += (torch.arange(b, device=dev) * n)[:, None]
    return starts.view(-1).cumsum(0), order.view(-1)


def _positives(target: Tensor, lo: int, hi: int, multilabel: bool) -> Tensor:
    """``(hi - lo, N)`` bool: sample i is a positive of column lo + r.

    ``target`` is ``(C, N)`` indicators (multilabel, columns first) or ``(N,)`` classes.
    """
    if multilabel:
        return target[lo:hi] != 0
    if hi - lo == 1:
        return (target == lo)[None, :]
    classes = torch.arange(lo, hi, dtype=target.dtype, device=target.device)[:, None]
    return target[None, :] == classes


def _blocks(num_rows: int, num_cols: int) -> list[tuple[int, int]]:
    step = max(1, _BLOCK // max(num_cols, 1))
    return [(lo, min(lo + step, num_rows)) for lo in range(0, num_rows, step)]


def _columns_first(scores: Tensor, target: Tensor, multilabel: bool) -> tuple[Tensor, Tensor]:
    """``(C, N)`` scores (one copy: a block's rows are contiguous) and the targets.

    Class indexes are narrowed to the smallest integer type that holds ``C - 1``, so
    that comparing them with a class reads less memory.
    """
    if multilabel:
        return scores.T.contiguous(), target.T.contiguous()
    c = scores.shape[1]
    small = torch.int8 if c <= 128 else torch.int16 if c <= 2**15 else torch.int32
    return scores.T.contiguous(), target.to(small)


def _auc_ap(scores: Tensor, positive: Tensor, metric: str, terms: Tensor) -> tuple[Tensor, Tensor]:
    """ROC AUC (``metric="auc"``) or average precision, and positives, per row.

    ``scores`` ``(B, N)``, ``positive`` ``(B, N)`` bool; ``terms`` is float64 zeros of
    at least ``B * N + 1`` elements (a workspace, zeros again on return). Only the
    positives are visited after the sort: a positive ranked in the group of ties
    ``[lo, hi)`` of its row beats ``N - hi`` samples and ties ``hi - lo - 1``, so
    (Mann-Whitney, ties 1/2) ``2U = sum over positives of (2N - 1 - lo - hi) - P(P - 1)``,
    exact in int64, and ROC AUC is ``2U / (2 P (N - P))`` in float64. Average
    precision is ``sum over groups of dtp * tp / hi`` (``tp`` positives ranked before
    ``hi``) placed at the groups' ends in the ``(B, N)`` layout, summed per row, over
    ``P``.
    """
    b, n = scores.shape
    m = b * n
    dev = scores.device
    keys, order = _sort_rows(scores)
    ranked_pos = positive.reshape(-1).index_select(0, order)
    pos = positive.sum(1)
    if dev.type == "cpu" or not static_nonzero_runs_on(dev):
        # flat ranks of the positives, ascending (devices without nonzero_static:
        # torch.nonzero, which reads its size on the host)
        at = flat_nonzero(ranked_pos)
        valid, last = None, at
    else:  # static size, no host sync: the padding (rank m) is masked
        at = torch.nonzero_static(ranked_pos, size=m, fill_value=m).view(-1)
        valid, last = at < m, at.clamp(max=m - 1)
    key = keys.index_select(0, last)
    lo = torch.searchsorted(keys, key)  # first flat rank of the positive's group
    hi = torch.searchsorted(keys, key, right=True)  # one past its last
    rows = last // n if b > 1 else torch.zeros_like(at)
    base = rows * n  # flat rank of the row's first element
    if metric == "auc":
        beats = 2 * (n + base) - 1 - lo - hi
        if valid is not None:
            beats = torch.where(valid, beats, 0)
        two_u = torch.zeros(b, dtype=torch.int64, device=dev).index_add_(0, rows, beats)
        two_u -= pos * (pos - 1)
        return two_u.double() / (2 * pos * (n - pos)).double(), pos  # 0/0 = nan w/o P or N
    tp_end = torch.searchsorted(at, hi)  # positives ranked before hi (flat)
    dtp = tp_end - torch.searchsorted(at, lo)
    tp = tp_end - torch.searchsorted(at, base)
    term = dtp.double() * (tp.double() / (hi - base).double())
    end = hi - 1 if valid is None else torch.where(valid, hi - 1, m)  # padding: slot m
    # the positives of one group write the same term at the group's end
    terms.index_put_((end,), term)
    ap_sum = terms[:m].view(b, n).sum(1)
    terms.index_fill_(0, end, 0.0)
    return torch.where(pos > 0, ap_sum / pos.clamp(min=1).double(), 0.0), pos


def _ranking_rows(
    scores: Tensor, target: Tensor, multilabel: bool, metric: str
) -> tuple[Tensor, Tensor]:
    """Per-column ROC AUC or AP (``metric``) and positives for ``scores`` ``(N, C)``."""
    n, c = scores.shape
    dev = scores.device
    if n == 0:
        fill = float("nan") if metric == "auc" else 0.0
        return (
            torch.full((c,), fill, dtype=torch.float64, device=dev),
            torch.zeros(c, dtype=torch.int64, device=dev),
        )
    st, tt = _columns_first(scores, target, multilabel)
    blocks = _blocks(c, n)
    size = 1 if metric == "auc" else (blocks[0][1] - blocks[0][0]) * n + 1
    terms = torch.zeros(size, dtype=torch.float64, device=dev)
    values, poss = [], []
    for lo, hi in blocks:
        value, pos = _auc_ap(st[lo:hi], _positives(tt, lo, hi, multilabel), metric, terms)
        values.append(value)
        poss.append(pos)
    return torch.cat(values), torch.cat(poss)


def _reduce_ranking(values: Tensor, support: Tensor, average: str) -> Tensor:
    if average == "none":
        return values
    ok = ~torch.isnan(values)
    weights = ok.double() if average == "macro" else torch.where(ok, support.double(), 0.0)
    total = torch.where(ok, values, 0.0)
    return (total * weights).sum() / weights.sum()  # nan when no class is defined


def _micro_scores(preds: Tensor, target: Tensor, multilabel: bool) -> tuple[Tensor, Tensor]:
    if multilabel:
        return preds.reshape(-1, 1), target.reshape(-1, 1)
    onehot = target.long()[:, None] == torch.arange(preds.shape[1], device=preds.device)[None]
    return preds.reshape(-1, 1), onehot.reshape(-1, 1)


def _auroc_ap(
    preds: Tensor,
    target: Tensor,
    num: int,
    average: str | None,
    name: str,
    multilabel: bool,
    metric: str,
) -> Tensor:
    avg = _check_average(average, ("macro", "weighted", "micro", "none"))
    c = _scores_inputs(preds, target, num, name, multilabel)
    _scores_values(preds, target, c, multilabel)
    if avg == "micro":
        s, t = _micro_scores(preds, target, multilabel)
        return _ranking_rows(s, t, True, metric)[0][0]
    values, pos = _ranking_rows(preds, target, multilabel, metric)
    return _reduce_ranking(values, pos, avg)


def multiclass_auroc(
    preds: Tensor,
    target: Tensor,
    num_classes: int,
    average: Literal["macro", "weighted", "micro", "none"] | None = "macro",
) -> Tensor:
    """One-vs-rest ROC AUC per class, with scikit-learn's tie handling.

    Per class it equals ``roc_auc_score(target == c, preds[:, c])``: tied scores form
    one point of the curve (the trapezoid through it counts a tied positive/negative
    pair as 1/2). Computed as the exact rational ``U / (P * N)`` (int64 counts, one
    float64 division), so it can differ from scikit-learn's float trapezoid sum in the
    last bits only. ``nan`` for a class without positives or without negatives.

    Args:
        preds: ``(N, C)`` float scores (probabilities, logits, anything ordered).
        target: ``(N,)`` int true classes.
        num_classes: ``C``.
        average: ``"macro"`` (mean over classes whose AUC is defined; equals
            ``roc_auc_score(..., multi_class="ovr")`` when all are), ``"weighted"``
            (by support, defined classes), ``"micro"`` (one ROC over the flattened
            one-hot targets) or ``"none"`` / ``None``.

    Returns:
        float64 scalar, or ``(C,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, ``preds`` not floating, ``target`` not integer (bool refused),
            ``num_classes`` not an int.
        ValueError: wrong shapes or devices, ``average``; on the CPU, a ``target`` outside ``[0,
            num_classes)`` or a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> scores = torch.tensor([[0.6, 0.4], [0.5, 0.5], [0.5, 0.5], [0.2, 0.8]])
        >>> multiclass_auroc(scores, torch.tensor([0, 0, 1, 1]), 2, average="none")
        tensor([0.8750, 0.8750], dtype=torch.float64)
    """
    return _auroc_ap(preds, target, num_classes, average, "num_classes", False, "auc")


def multiclass_average_precision(
    preds: Tensor,
    target: Tensor,
    num_classes: int,
    average: Literal["macro", "weighted", "micro", "none"] | None = "macro",
) -> Tensor:
    """One-vs-rest average precision per class (scikit-learn's step integral).

    Per class it equals ``average_precision_score(target == c, preds[:, c])``:
    ``sum_k (R_k - R_{k-1}) P_k`` over distinct thresholds. A class without positives
    gets 0.0 (scikit-learn >= 1.3 does the same, with a warning).

    Args:
        preds: ``(N, C)`` float scores.
        target: ``(N,)`` int true classes.
        num_classes: ``C``.
        average: ``"macro"``, ``"weighted"`` (by support), ``"micro"`` (flattened
            one-hot) or ``"none"`` / ``None``.

    Returns:
        float64 scalar, or ``(C,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, ``preds`` not floating, ``target`` not integer (bool refused),
            ``num_classes`` not an int.
        ValueError: wrong shapes or devices, ``average``; on the CPU, a ``target`` outside ``[0,
            num_classes)`` or a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> scores = torch.tensor([[0.6, 0.4], [0.5, 0.5], [0.5, 0.5], [0.2, 0.8]])
        >>> multiclass_average_precision(scores, torch.tensor([0, 0, 1, 1]), 2)
        tensor(0.8333, dtype=torch.float64)
    """
    return _auroc_ap(preds, target, num_classes, average, "num_classes", False, "ap")


def multilabel_auroc(
    preds: Tensor,
    target: Tensor,
    num_labels: int,
    average: Literal["macro", "weighted", "micro", "none"] | None = "macro",
) -> Tensor:
    """ROC AUC per label of a multilabel problem (``roc_auc_score`` on indicators).

    Args:
        preds: ``(N, L)`` float scores.
        target: ``(N, L)`` 0/1 indicators (bool, integer or float).
        num_labels: ``L``.
        average: ``"macro"`` (defined labels), ``"weighted"``, ``"micro"`` or
            ``"none"`` / ``None``.

    Returns:
        float64 scalar, or ``(L,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, ``preds`` not floating, a complex ``target``,
            ``num_labels`` not an int.
        ValueError: wrong shapes or devices, ``average``; on the CPU, a ``target`` other than 0/1 or
            a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> preds = torch.tensor([[0.9, 0.1], [0.3, 0.8], [0.6, 0.4]])
        >>> multilabel_auroc(preds, torch.tensor([[1, 0], [0, 1], [0, 1]]), 2, average="none")
        tensor([1., 1.], dtype=torch.float64)
    """
    return _auroc_ap(preds, target, num_labels, average, "num_labels", True, "auc")


def multilabel_average_precision(
    preds: Tensor,
    target: Tensor,
    num_labels: int,
    average: Literal["macro", "weighted", "micro", "none"] | None = "macro",
) -> Tensor:
    """Average precision per label (``average_precision_score`` on indicators).

    Args:
        preds: ``(N, L)`` float scores.
        target: ``(N, L)`` 0/1 indicators (bool, integer or float).
        num_labels: ``L``.
        average: ``"macro"``, ``"weighted"``, ``"micro"`` or ``"none"`` / ``None``.

    Returns:
        float64 scalar, or ``(L,)`` for ``"none"``.

    Raises:
        TypeError: a non-tensor, ``preds`` not floating, a complex ``target``,
            ``num_labels`` not an int.
        ValueError: wrong shapes or devices, ``average``; on the CPU, a ``target`` other than 0/1 or
            a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> preds = torch.tensor([[0.9, 0.1], [0.3, 0.8], [0.6, 0.4]])
        >>> multilabel_average_precision(preds, torch.tensor([[1, 0], [0, 1], [1, 1]]), 2)
        tensor(1., dtype=torch.float64)
    """
    return _auroc_ap(preds, target, num_labels, average, "num_labels", True, "ap")


def _empty_roc(c: int, dtype: torch.dtype, dev: torch.device) -> RocCurve:
    nan = torch.full((c, 1), float("nan"), dtype=torch.float64, device=dev)
    thr = torch.full((c, 1), float("inf"), dtype=dtype, device=dev)
    return RocCurve(nan, nan.clone(), thr, torch.ones(c, dtype=torch.int64, device=dev))


def _empty_pr(c: int, dtype: torch.dtype, dev: torch.device) -> PrecisionRecallCurve:
    one = torch.ones((c, 1), dtype=torch.float64, device=dev)
    return PrecisionRecallCurve(
        one,
        torch.zeros_like(one),
        torch.zeros((c, 0), dtype=dtype, device=dev),
        torch.ones(c, dtype=torch.int64, device=dev),
    )


class _Ends(NamedTuple):
    """A ranked block's groups of tied scores, one entry per group (at its last element).

    The entries run row by row, within a row by decreasing score. On the CPU there are
    ``K`` entries, one per group; elsewhere ``K = B * N`` (no host sync for the count):
    the entries past the real ones repeat the block's last group.
    """

    rows: Tensor  # (K,) int64 row of the group
    ranked: Tensor  # (K,) int64 samples of the row ranked at or above the group
    tps: Tensor  # (K,) int64 positives of the row ranked at or above the group
    pos: Tensor  # (B,) int64 positives per row
    groups: Tensor  # (B,) int64 groups per row
    scores: Tensor  # (K,) the group's score (``-0.0`` as ``+0.0``), in the scores' dtype


def _rank(scores: Tensor, positive: Tensor) -> _Ends:
    """Groups of ties of each row of ``scores`` ``(B, N)`` ranked by decreasing score."""
    b, n = scores.shape
    m = b * n
    dev = scores.device
    keys, order = _sort_rows(scores)
    tps = positive.reshape(-1).index_select(0, order).cumsum(0)  # over the flat block
    ends = torch.empty(m, dtype=torch.bool, device=dev)
    torch.ne(keys[1:], keys[:-1], out=ends[:-1])  # rows end where their keys do
    ends[-1] = True
    groups = ends.view(b, n).sum(1)
    if dev.type == "cpu" or not static_nonzero_runs_on(dev):
        flat = flat_nonzero(ends)  # devices without nonzero_static: a host read
    else:  # static size, no host sync: the padding repeats the last group end
        flat = torch.nonzero_static(ends, size=m, fill_value=m - 1).view(-1)
    k = flat.shape[0]
    pos = tps.view(b, n)[:, -1].diff(prepend=tps.new_zeros(1))
    tp = tps.index_select(0, flat)
    ranked = flat + 1
    if b == 1:
        rows = torch.zeros(k, dtype=torch.int64, device=dev)
    else:
        reps = groups.clone()
        reps[-1] += k - groups.sum()  # the padding belongs to the last row
        rows = torch.repeat_interleave(torch.arange(b, device=dev), reps, output_size=k)
        tp -= (torch.cumsum(pos, 0) - pos).index_select(0, rows)
        ranked -= rows * n
    at = order.index_select(0, flat)
    group_scores = scores.reshape(-1).index_select(0, at) + 0.0  # -0.0 -> +0.0
    return _Ends(rows, ranked, tp, pos, groups, group_scores)


def _curve_blocks(
    scores: Tensor, target: Tensor, multilabel: bool
) -> Iterator[tuple[int, int, _Ends]]:
    n, c = scores.shape
    st, tt = _columns_first(scores, target, multilabel)
    for lo, hi in _blocks(c, n):
        yield lo, hi, _rank(st[lo:hi], _positives(tt, lo, hi, multilabel))


def _roc(preds: Tensor, target: Tensor, multilabel: bool) -> RocCurve:
    n, c = preds.shape
    dev = preds.device
    if n == 0:
        return _empty_roc(c, preds.dtype, dev)
    out = RocCurve(
        torch.empty(c, n + 1, dtype=torch.float64, device=dev),
        torch.empty(c, n + 1, dtype=torch.float64, device=dev),
        torch.empty(c, n + 1, dtype=preds.dtype, device=dev),
        torch.empty(c, dtype=torch.int64, device=dev),
    )
    for lo, hi, e in _curve_blocks(preds, target, multilabel):
        b, k = hi - lo, e.rows.shape[0]
        pos, neg = e.pos.double(), (n - e.pos).double()
        # point 0 of row r is its origin (entry k + r), point j its group j - 1, padded
        start = torch.cumsum(e.groups, 0) - e.groups
        j = torch.arange(-1, n, device=dev)[None, :]
        idx = start[:, None] + torch.minimum(j, (e.groups - 1)[:, None])
        idx[:, 0] = torch.arange(k, k + b, device=dev)
        idx = idx.view(-1)
        zeros = torch.zeros(b, dtype=torch.float64, device=dev)
        fpr = torch.cat(((e.ranked - e.tps).double() / neg.index_select(0, e.rows), zeros / neg))
        tpr = torch.cat((e.tps.double() / pos.index_select(0, e.rows), zeros / pos))
        inf = torch.full((b,), float("inf"), dtype=preds.dtype, device=dev)
        thr = torch.cat((e.scores, inf))
        torch.index_select(fpr, 0, idx, out=out.fpr[lo:hi].view(-1))
        torch.index_select(tpr, 0, idx, out=out.tpr[lo:hi].view(-1))
        torch.index_select(thr, 0, idx, out=out.thresholds[lo:hi].view(-1))
        out.lengths[lo:hi] = e.groups + 1
    return out


def _pr(preds: Tensor, target: Tensor, multilabel: bool) -> PrecisionRecallCurve:
    n, c = preds.shape
    dev = preds.device
    if n == 0:
        return _empty_pr(c, preds.dtype, dev)
    out = PrecisionRecallCurve(
        torch.empty(c, n + 1, dtype=torch.float64, device=dev),
        torch.empty(c, n + 1, dtype=torch.float64, device=dev),
        torch.empty(c, n, dtype=preds.dtype, device=dev),
        torch.empty(c, dtype=torch.int64, device=dev),
    )
    for lo, hi, e in _curve_blocks(preds, target, multilabel):
        k = e.rows.shape[0]
        # by increasing threshold: point j of row r is its group K_r - 1 - j, then the
        # final point (precision 1, recall 0), entry k, repeated as padding
        start = torch.cumsum(e.groups, 0) - e.groups
        j = torch.arange(n + 1, device=dev)[None, :]
        top = (start + e.groups - 1)[:, None]
        idx = top - torch.minimum(j, (e.groups - 1)[:, None])
        torch.index_select(e.scores, 0, idx[:, :n].reshape(-1), out=out.thresholds[lo:hi].view(-1))
        idx = torch.where(j < e.groups[:, None], idx, k).view(-1)
        pos = e.pos.index_select(0, e.rows)
        one = torch.ones(1, dtype=torch.float64, device=dev)
        prec = torch.cat((e.tps.double() / e.ranked.double(), one))
        rec = torch.where(pos > 0, e.tps.double() / pos.clamp(min=1).double(), 1.0)
        rec = torch.cat((rec, one.new_zeros(1)))
        torch.index_select(prec, 0, idx, out=out.precision[lo:hi].view(-1))
        torch.index_select(rec, 0, idx, out=out.recall[lo:hi].view(-1))
        out.lengths[lo:hi] = e.groups + 1
    return out


def multiclass_roc(preds: Tensor, target: Tensor, num_classes: int) -> RocCurve:
    """One-vs-rest ROC curve per class, all classes from one sort per column.

    Row ``c`` holds ``roc_curve(target == c, preds[:, c], drop_intermediate=False)``:
    a point per distinct score plus the origin at threshold ``+inf``; rates are
    ``nan`` where the class has no positives (tpr) or no negatives (fpr), as in
    scikit-learn.

    Args:
        preds: ``(N, C)`` float scores.
        target: ``(N,)`` int true classes.
        num_classes: ``C``.

    Returns:
        :class:`RocCurve`, padded to ``N + 1`` points; ``lengths`` gives the real ones.

    Raises:
        TypeError: a non-tensor, ``preds`` not floating, ``target`` not integer (bool refused),
            ``num_classes`` not an int.
        ValueError: wrong shapes or devices; on the CPU, a ``target`` outside ``[0, num_classes)``
            or a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> scores = torch.tensor([[0.6, 0.4], [0.5, 0.5], [0.2, 0.8]])
        >>> roc = multiclass_roc(scores, torch.tensor([0, 1, 1]), 2)
        >>> roc.fpr[0], roc.tpr[0], roc.lengths
        (tensor([0.0000, 0.0000, 0.5000, 1.0000], dtype=torch.float64),
         tensor([0., 1., 1., 1.], dtype=torch.float64), tensor([4, 4]))
    """
    c = _scores_inputs(preds, target, num_classes, "num_classes", multilabel=False)
    _scores_values(preds, target, c, multilabel=False)
    return _roc(preds, target, multilabel=False)


def multilabel_roc(preds: Tensor, target: Tensor, num_labels: int) -> RocCurve:
    """ROC curve per label of a multilabel problem (see :func:`multiclass_roc`).

    Args:
        preds: ``(N, L)`` float scores.
        target: ``(N, L)`` 0/1 indicators (bool, integer or float).
        num_labels: ``L``.

    Returns:
        :class:`RocCurve`, padded to ``N + 1`` points.

    Raises:
        TypeError: a non-tensor, ``preds`` not floating, a complex ``target``,
            ``num_labels`` not an int.
        ValueError: wrong shapes or devices; on the CPU, a ``target`` other than 0/1 or a NaN score
            (device values are not read).

    Example:
        >>> import torch
        >>> roc = multilabel_roc(torch.tensor([[0.9], [0.2]]), torch.tensor([[1], [0]]), 1)
        >>> roc.fpr, roc.tpr
        (tensor([[0., 0., 1.]], dtype=torch.float64), tensor([[0., 1., 1.]], dtype=torch.float64))
    """
    c = _scores_inputs(preds, target, num_labels, "num_labels", multilabel=True)
    _scores_values(preds, target, c, multilabel=True)
    return _roc(preds, target, multilabel=True)


def multiclass_precision_recall_curve(
    preds: Tensor, target: Tensor, num_classes: int
) -> PrecisionRecallCurve:
    """One-vs-rest precision-recall curve per class, in scikit-learn's layout.

    Row ``c`` holds ``precision_recall_curve(target == c, preds[:, c])``: points by
    increasing threshold, then the final point (precision 1, recall 0). A class
    without positives has recall 1 everywhere (scikit-learn's convention).

    Args:
        preds: ``(N, C)`` float scores.
        target: ``(N,)`` int true classes.
        num_classes: ``C``.

    Returns:
        :class:`PrecisionRecallCurve`, padded to ``N + 1`` points.

    Raises:
        TypeError: a non-tensor, ``preds`` not floating, ``target`` not integer (bool refused),
            ``num_classes`` not an int.
        ValueError: wrong shapes or devices; on the CPU, a ``target`` outside ``[0, num_classes)``
            or a NaN score (device values are not read).

    Example:
        >>> import torch
        >>> scores = torch.tensor([[0.6, 0.4], [0.5, 0.5], [0.2, 0.8]])
        >>> pr = multiclass_precision_recall_curve(scores, torch.tensor([0, 1, 1]), 2)
        >>> pr.precision[0], pr.recall[0], pr.thresholds[0]
        (tensor([0.3333, 0.5000, 1.0000, 1.0000], dtype=torch.float64),
         tensor([1., 1., 1., 0.], dtype=torch.float64), tensor([0.2000, 0.5000, 0.6000]))
    """
    c = _scores_inputs(preds, target, num_classes, "num_classes", multilabel=False)
    _scores_values(preds, target, c, multilabel=False)
    return _pr(preds, target, multilabel=False)


def multilabel_precision_recall_curve(
    preds: Tensor, target: Tensor, num_labels: int
) -> PrecisionRecallCurve:
    """Precision-recall curve per label (see :func:`multiclass_precision_recall_curve`).

    Args:
        preds: ``(N, L)`` float scores.
        target: ``(N, L)`` 0/1 indicators (bool, integer or float).
        num_labels: ``L``.

    Returns:
        :class:`PrecisionRecallCurve`, padded to ``N + 1`` points.

    Raises:
        TypeError: a non-tensor, ``preds`` not floating, a complex ``target``,
            ``num_labels`` not an int.
        ValueError: wrong shapes or devices; on the CPU, a ``target`` other than 0/1 or a NaN score
            (device values are not read).

    Example:
        >>> import torch
        >>> pr = multilabel_precision_recall_curve(torch.tensor([[0.9], [0.2]]),
        ...                                        torch.tensor([[1], [0]]), 1)
        >>> pr.precision, pr.recall
        (tensor([[0.5000, 1.0000, 1.0000]], dtype=torch.float64),
         tensor([[1., 1., 0.]], dtype=torch.float64))
    """
    c = _scores_inputs(preds, target, num_labels, "num_labels", multilabel=True)
    _scores_values(preds, target, c, multilabel=True)
    return _pr(preds, target, multilabel=True)


# --------------------------------------------------------------------- calibration


def multiclass_reliability_bins(
    preds: Tensor, target: Tensor, num_classes: int, n_bins: int = 15
) -> ReliabilityBins:
    """Bin the top-1 confidence and count how often the top-1 class is right.

    The bins are ``sklearn.calibration.calibration_curve(correct, confidence,
    n_bins=n_bins, strategy="uniform")``'s: edges ``np.linspace(0, 1, n_bins + 1)``,
    each bin closed on the right (``np.searchsorted(edges[1:-1], confidence)``).
    scikit-learn returns only non-empty bins; here every bin is returned with its
    count. Confidences are compared in float64.

    Args:
        preds: ``(N, C)`` probabilities (top-1 = argmax, ties to the lower index).
        target: ``(N,)`` int true classes.
        num_classes: ``C``.
        n_bins: number of equal-width bins ``B``.

    Returns:
        :class:`ReliabilityBins`.

    Raises:
        TypeError: a non-tensor, ``preds`` not floating, ``target`` not integer (bool
            refused), ``num_classes`` or ``n_bins`` not an int.
        ValueError: wrong shapes or devices; on the CPU, a ``target`` outside
            ``[0, num_classes)`` or a top-1 score outside [0, 1] or NaN (device values are
            not read).

    Example:
        >>> import torch
        >>> scores = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
        >>> bins = multiclass_reliability_bins(scores, torch.tensor([0, 1, 1]), 2, n_bins=2)
        >>> bins.counts, bins.confidence, bins.accuracy
        (tensor([0, 3]), tensor([0.0000, 0.8000], dtype=torch.float64),
         tensor([0.0000, 0.6667], dtype=torch.float64))
    """
    b = _reliability_inputs(preds, target, num_classes, n_bins)
    return _reliability_bins(preds, target, b, check=True)


def _reliability_inputs(preds: Tensor, target: Tensor, num_classes: int, n_bins: int) -> int:
    """Check the arguments of the calibration functions but the scores' values; return B."""
    b = check_int("n_bins", n_bins, minimum=1)
    c = _scores_inputs(preds, target, num_classes, "num_classes", multilabel=False)
    _check_classes("target", target, c)
    return b


def _check_confidence(preds: Tensor, top: Tensor) -> None:
    """CPU top-1 confidences ``top`` ``(N,)`` must lie in [0, 1].

    ``top`` is NaN where the row of ``preds`` holds one; one pass over ``N`` values, not
    ``N * C``: only the top-1 confidences enter the bins.
    """
    if not reads_values(top) or not top.numel():
        return
    lo, hi = torch.aminmax(top)
    if bool(lo >= 0) and bool(hi <= 1):  # False for NaN
        return
    check_no_nan("preds", preds)
    i, _ = first_item("preds", (top < 0) | (top > 1))
    raise ValueError(
        f"Expected `preds` to be probabilities (top-1 scores in [0, 1]), but got {top[i].item()} "
        f"(first offending item: preds[{i}, {int(preds[i].argmax())}])"
    )


def _reliability_bins(preds: Tensor, target: Tensor, n_bins: int, check: bool) -> ReliabilityBins:
    """The bins of checked arguments; ``check``: check the top-1 confidences (CPU)."""
    dev = preds.device
    top = preds.max(dim=1).values
    if check:
        _check_confidence(preds, top)
    conf = top.double()
    pred = preds.argmax(dim=1)
    correct = (pred == target.long()).double()
    edges = torch.as_tensor(np.linspace(0.0, 1.0, n_bins + 1), device=dev)
    idx = torch.bucketize(conf, edges[1:-1].contiguous(), right=False)
    count = _count(idx, n_bins)
    sums = torch.zeros(n_bins, dtype=torch.float64, device=dev).index_add_(0, idx, conf)
    hits = torch.zeros(n_bins, dtype=torch.float64, device=dev).index_add_(0, idx, correct)
    return ReliabilityBins(edges, _divide(sums, count), _divide(hits, count), count)


def multiclass_calibration_error(
    preds: Tensor,
    target: Tensor,
    num_classes: int,
    n_bins: int = 15,
    norm: Literal["l1", "l2", "max"] = "l1",
) -> Tensor:
    """Expected (``l1``), root-mean-square (``l2``) or maximum calibration error.

    ``l1`` is ``sum_b (n_b / N) |acc_b - conf_b|`` over the bins of
    :func:`multiclass_reliability_bins`, i.e. computed from scikit-learn's
    ``calibration_curve`` bins. torchmetrics uses the same formula but bins
    ``[lo, hi)`` with an extra bin for confidence exactly 1.0, so the two differ
    only when a confidence sits exactly on a bin edge (1.0 included).

    Args:
        preds: ``(N, C)`` probabilities.
        target: ``(N,)`` int true classes.
        num_classes: ``C``.
        n_bins: number of equal-width bins.
        norm: ``"l1"`` (ECE), ``"l2"`` (``sqrt(sum_b w_b d_b^2)``) or ``"max"`` (MCE).

    Returns:
        float64 scalar (0 for empty input).

    Raises:
        TypeError: a non-tensor, ``preds`` not floating, ``target`` not integer (bool
            refused), ``num_classes`` or ``n_bins`` not an int.
        ValueError: wrong shapes or devices, ``norm``; on the CPU, a ``target`` outside
            ``[0, num_classes)`` or a top-1 score outside [0, 1] or NaN (device values are
            not read).

    Example:
        >>> import torch
        >>> scores = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
        >>> multiclass_calibration_error(scores, torch.tensor([0, 1, 1]), 2, n_bins=2)
        tensor(0.1333, dtype=torch.float64)
    """
    if norm not in _NORMS:
        raise ValueError(f"Expected `norm` to be one of {_NORMS}, but got {norm!r}")
    b = _reliability_inputs(preds, target, num_classes, n_bins)
    bins = _reliability_bins(preds, target, b, check=True)
    gap = (bins.accuracy - bins.confidence).abs()
    weight = _divide(bins.counts, bins.counts.sum())
    if norm == "l1":
        return (gap * weight).sum()
    if norm == "l2":
        return ((gap * gap) * weight).sum().sqrt()
    return torch.where(bins.counts > 0, gap, 0.0).max()


# ------------------------------------------------------------ valor-lite protocol
#
# valor-lite scores classification from (datum, ground-truth label, predicted label,
# score) rows, one per prediction; a datum's "winner" is its first highest-scored
# prediction. These kernels reproduce valor_lite.classification 0.39's computation
# (computation.py) row for row, all score thresholds at once.


class ValorLitePairs(NamedTuple):
    """Per-threshold masks of valor-lite's ``compute_pair_classifications``.

    Attributes:
        matched: ``(T, R)`` bool, the row counts in the confusion matrix at threshold
            ``t`` (true positive when its labels agree, misclassification otherwise).
        unmatched: ``(T, D)`` bool, the datum has no matched row ("unmatched ground
            truth").
    """

    matched: Tensor
    unmatched: Tensor


def _valor_rows(rows: Mapping[str, tuple[object, str]], thresholds: object | None) -> int:
    """Check the metadata of valor-lite's ``(R,)`` row tensors and ``(T,)`` thresholds.

    ``rows`` maps each argument's name to (what arrived, dtype kind). Checks 1-D, dtypes,
    one length, one device; returns ``R``.
    """
    named: dict[str, Tensor] = {}
    for name, (x, kind) in rows.items():
        named[name] = check_tensor(name, x, 1, "(R,)")
        check_dtype(name, named[name], kind)
    first_name, first = next(iter(named.items()))
    for name, x in named.items():
        check_size(name, x, first.shape[0], f"one entry per row of `{first_name}`")
    if thresholds is not None:
        named["thresholds"] = check_tensor("thresholds", thresholds, 1, "(T,)")
        check_dtype("thresholds", named["thresholds"], "floating")
    check_same_device(**named)
    return int(first.shape[0])


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Expected `{name}` to be a bool, but got {type(value).__name__}")
    return bool(value)


def _any_per_datum(mask: Tensor, datum: Tensor, num_datums: int) -> Tensor:
    """``(T, R)`` row mask -> ``(T, D)``: does any row of the datum satisfy it."""
    num_t = mask.shape[0]
    idx = torch.arange(num_t, device=mask.device)[:, None] * num_datums + datum[None, :]
    return _count(idx, num_t * num_datums, mask).reshape(num_t, num_datums) > 0


def valor_lite_counts(
    datum: Tensor,
    target: Tensor,
    pred: Tensor,
    score: Tensor,
    winner: Tensor,
    thresholds: Tensor,
    num_datums: int,
    num_labels: int,
    hardmax: bool,
) -> Tensor:
    """valor-lite's TP/FP/FN/TN counts per score threshold and label.

    A row is positive at threshold ``t`` when its score is not ``np.isclose`` to 0
    (``|s| > 1e-8``), ``score >= t`` and, with ``hardmax``, it is the datum's winner.
    TP / FP count positive rows whose label does / does not equal the ground truth,
    by predicted label. FN counts, by ground-truth label, datums with a
    non-positive matching row or a positive non-matching one. TN counts non-positive
    non-matching rows by predicted label. (A datum whose ground-truth label is not
    among its predictions is an FN only when it also has a positive wrong row.)

    Args:
        datum: ``(R,)`` int64 datum index of each row, in ``[0, num_datums)``.
        target: ``(R,)`` int64 ground-truth label of the row's datum.
        pred: ``(R,)`` int64 predicted label; no (datum, label) twice.
        score: ``(R,)`` float64.
        winner: ``(R,)`` bool, the row is its datum's first highest score.
        thresholds: ``(T,)`` float64 score thresholds.
        num_datums: ``D``.
        num_labels: ``L``.
        hardmax: only winners can be positive.

    Returns:
        ``(T, L, 4)`` int64 ``tp, fp, fn, tn``.

    Raises:
        TypeError: a non-tensor; ``datum`` / ``target`` / ``pred`` not integer, ``score`` /
            ``thresholds`` not floating, ``winner`` not bool; ``num_datums`` /
            ``num_labels`` not an int, ``hardmax`` not a bool.
        ValueError: not 1-D, rows of different lengths, several devices; on the CPU, a
            ``datum``, ``target`` or ``pred`` out of range, or a NaN score or threshold
            (device values are not read). The rows' structure (one ``target`` per datum,
            no (datum, label) twice, ``winner`` the datum's first highest score) is the
            caller's (the evaluator builds it) and is not checked.

    Example:
        >>> import torch
        >>> datum, target = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 1])
        >>> pred, score = torch.tensor([0, 1, 0, 1]), torch.tensor([0.9, 0.1, 0.6, 0.4])
        >>> winner = torch.tensor([True, False, True, False])
        >>> valor_lite_counts(datum, target, pred, score.double(), winner,
        ...                   torch.tensor([0.5]), 2, 2, True)[0]
        tensor([[1, 1, 0, 0],
                [0, 0, 1, 1]])
    """
    rows = {"datum": (datum, "integer"), "target": (target, "integer"), "pred": (pred, "integer")}
    _valor_rows({**rows, "score": (score, "floating"), "winner": (winner, "bool")}, thresholds)
    num_datums = check_int("num_datums", num_datums)
    num_labels = check_int("num_labels", num_labels)
    hardmax = _check_flag("hardmax", hardmax)
    _check_classes("datum", datum, num_datums, "datum indexes")
    _check_classes("target", target, num_labels, "label indexes")
    _check_classes("pred", pred, num_labels, "label indexes")
    check_no_nan("score", score)
    check_no_nan("thresholds", thresholds)
    return _valor_lite_counts(
        datum.long(),
        target.long(),
        pred.long(),
        score,
        winner,
        thresholds,
        num_datums,
        num_labels,
        hardmax,
    )


def _valor_lite_counts(
    datum: Tensor,
    target: Tensor,
    pred: Tensor,
    score: Tensor,
    winner: Tensor,
    thresholds: Tensor,
    num_datums: int,
    num_labels: int,
    hardmax: bool,
) -> Tensor:
    """:func:`valor_lite_counts` of checked arguments (int64 indexes)."""
    dev = score.device
    num_t = thresholds.shape[0]
    match = target == pred
    positive = (score.abs() > 1e-8)[None, :] & (score[None, :] >= thresholds[:, None])
    if hardmax:
        positive = positive & winner[None, :]
    offset = (torch.arange(num_t, device=dev) * num_labels)[:, None]
    lab = pred[None, :] + offset
    size = num_t * num_labels

    def count(mask: Tensor, labels: Tensor) -> Tensor:
        return _count(labels, size, mask).reshape(num_t, num_labels)

    tp = count(match[None, :] & positive, lab)
    fp = count(~match[None, :] & positive, lab)
    tn = count(~match[None, :] & ~positive, lab)
    fn_rows = (match[None, :] & ~positive) | (~match[None, :] & positive)
    fn_datum = _any_per_datum(fn_rows, datum, num_datums)
    datum_target = torch.zeros(num_datums, dtype=torch.int64, device=dev)
    datum_target[datum] = target
    fn = count(fn_datum, datum_target[None, :] + offset)
    return torch.stack((tp, fp, fn, tn), dim=2)


def valor_lite_pairs(
    datum: Tensor,
    score: Tensor,
    winner: Tensor,
    thresholds: Tensor,
    num_datums: int,
    hardmax: bool,
) -> ValorLitePairs:
    """Rows that valor-lite's confusion matrix counts at each score threshold.

    As ``compute_pair_classifications``: a row is matched when ``score > 1e-9``,
    ``score`` is at least *every threshold so far* (valor-lite narrows one mask over
    the list, so thresholds act as their running maximum) and, with ``hardmax``, it
    is the datum's winner.

    Args:
        datum: ``(R,)`` int64 datum index of each row.
        score: ``(R,)`` float64.
        winner: ``(R,)`` bool.
        thresholds: ``(T,)`` float64, in the caller's order.
        num_datums: ``D``.
        hardmax: only winners can match.

    Returns:
        :class:`ValorLitePairs`.

    Raises:
        TypeError: a non-tensor; ``datum`` not integer, ``score`` / ``thresholds`` not
            floating, ``winner`` not bool; ``num_datums`` not an int, ``hardmax`` not a
            bool.
        ValueError: not 1-D, rows of different lengths, several devices; on the CPU, a
            ``datum`` out of range, or a NaN score or threshold (device values are not
            read). ``winner`` (the datum's first highest score) is the caller's and is not
            checked.

    Example:
        >>> import torch
        >>> score = torch.tensor([0.7, 0.3, 0.4]).double()
        >>> pairs = valor_lite_pairs(torch.tensor([0, 0, 1]), score,
        ...                          torch.tensor([True, False, True]),
        ...                          torch.tensor([0.5, 0.2]).double(), 2, True)
        >>> pairs.matched, pairs.unmatched
        (tensor([[ True, False, False],
                [ True, False, False]]), tensor([[False,  True],
                [False,  True]]))
    """
    rows = {"datum": (datum, "integer"), "score": (score, "floating"), "winner": (winner, "bool")}
    _valor_rows(rows, thresholds)
    num_datums = check_int("num_datums", num_datums)
    hardmax = _check_flag("hardmax", hardmax)
    _check_classes("datum", datum, num_datums, "datum indexes")
    check_no_nan("score", score)
    check_no_nan("thresholds", thresholds)
    return _valor_lite_pairs(datum.long(), score, winner, thresholds, num_datums, hardmax)


def _valor_lite_pairs(
    datum: Tensor,
    score: Tensor,
    winner: Tensor,
    thresholds: Tensor,
    num_datums: int,
    hardmax: bool,
) -> ValorLitePairs:
    """:func:`valor_lite_pairs` of checked arguments (int64 ``datum``)."""
    effective = thresholds.cummax(0).values
    matched = (score > 1e-9)[None, :] & (score[None, :] >= effective[:, None])
    if hardmax:
        matched = matched & winner[None, :]
    hit = _any_per_datum(matched, datum, num_datums)
    return ValorLitePairs(matched, ~hit)


def valor_lite_rocauc(
    target: Tensor, pred: Tensor, score: Tensor, num_datums_per_label: Tensor, num_labels: int
) -> Tensor:
    """valor-lite's ROC AUC per predicted label.

    Per label, its rows sorted by decreasing score give a curve with a point at the
    end of each group of equal scores, preceded by the origin unless the top score is
    0; ``fpr = fp / (rows of the label - datums whose ground truth is the label)``
    (valor-lite's negative count, computed in uint64: it wraps around when
    negative, as valor-lite's does) and ``tpr = tp / datums of the label``; the AUC is
    the trapezoid over the points (0 for a label with fewer than two points).

    Args:
        target: ``(R,)`` int64 ground-truth label of each row's datum.
        pred: ``(R,)`` int64 predicted label.
        score: ``(R,)`` float64.
        num_datums_per_label: ``(L,)`` int64 datums per ground-truth label.
        num_labels: ``L``.

    Returns:
        ``(L,)`` float64.

    Raises:
        TypeError: a non-tensor; ``target`` / ``pred`` / ``num_datums_per_label`` not
            integer, ``score`` not floating; ``num_labels`` not an int.
        ValueError: not 1-D, rows of different lengths, not ``num_labels`` counts, several
            devices; on the CPU, a ``target`` or ``pred`` out of range, a negative count or
            a NaN score (device values are not read). That the counts match the rows is
            the caller's (the evaluator builds them) and is not checked.

    Example:
        >>> import torch
        >>> target, pred = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1])
        >>> score = torch.tensor([0.9, 0.1, 0.6, 0.4]).double()
        >>> valor_lite_rocauc(target, pred, score, torch.tensor([1, 1]), 2)
        tensor([1., 1.], dtype=torch.float64)
    """
    rows = {"target": (target, "integer"), "pred": (pred, "integer"), "score": (score, "floating")}
    _valor_rows(rows, None)
    num_labels = check_int("num_labels", num_labels)
    per_label = check_tensor("num_datums_per_label", num_datums_per_label, 1, "(L,)")
    check_dtype("num_datums_per_label", per_label, "integer")
    check_size("num_datums_per_label", per_label, num_labels, "one count per label")
    check_same_device(score=score, num_datums_per_label=per_label)
    _check_classes("target", target, num_labels, "label indexes")
    _check_classes("pred", pred, num_labels, "label indexes")
    check_no_nan("score", score)
    check_range("num_datums_per_label", per_label, 0, None, "counts")
    return _valor_lite_rocauc(target.long(), pred.long(), score, per_label.long(), num_labels)


def _valor_lite_rocauc(
    target: Tensor, pred: Tensor, score: Tensor, num_datums_per_label: Tensor, num_labels: int
) -> Tensor:
    """:func:`valor_lite_rocauc` of checked arguments (int64 indexes and counts)."""
    dev = score.device
    r = score.shape[0]
    auc = torch.zeros(num_labels, dtype=torch.float64, device=dev)
    if r == 0:
        return auc
    by_score = torch.sort(score, descending=True, stable=True).indices
    order = by_score[torch.sort(pred[by_score], stable=True).indices]
    p, s, m = pred[order], score[order], (target == pred)[order]
    rows_per_label = _count(p, num_labels)
    neg = rows_per_label - num_datums_per_label
    neg_f = torch.where(neg >= 0, neg.double(), neg.double() + 2.0**64)  # uint64 wrap-around
    pos_f = num_datums_per_label.double()
    idx = torch.arange(r, device=dev)
    new_seg = torch.ones(r, dtype=torch.bool, device=dev)
    new_seg[1:] = p[1:] != p[:-1]
    seg_start = torch.where(new_seg, idx, 0).cummax(0).values
    cum_tp = m.long().cumsum(0)
    cum_fp = (~m).long().cumsum(0)
    base_tp = (cum_tp - m.long())[seg_start]
    base_fp = (cum_fp - (~m).long())[seg_start]
    tp = cum_tp - base_tp
    fp = cum_fp - base_fp
    ends = torch.ones(r, dtype=torch.bool, device=dev)
    ends[:-1] = (p[1:] != p[:-1]) | (s[1:] != s[:-1])
    prev_end = torch.where(ends, idx, -1).cummax(0).values
    prev_end = torch.cat((torch.full((1,), -1, dtype=torch.int64, device=dev), prev_end[:-1]))
    has_prev = prev_end >= seg_start
    origin = s[seg_start] != 0
    q = prev_end.clamp(min=0)
    prev_tp = torch.where(has_prev, tp[q], 0)
    prev_fp = torch.where(has_prev, fp[q], 0)
    valid = ends & (has_prev | origin)

    def rate(count: Tensor, total: Tensor) -> Tensor:
        tot = total[p]
        return torch.where(tot > 0, count.double() / torch.where(tot > 0, tot, 1.0), 0.0)

    x, y = rate(fp, neg_f), rate(tp, pos_f)
    x0, y0 = rate(prev_fp, neg_f), rate(prev_tp, pos_f)
    area = torch.where(valid, (x - x0) * (y + y0) / 2.0, 0.0)
    return auc.index_add_(0, p, area)
