"""Semantic segmentation: pixel confusion, IoU / Dice / accuracy, two named protocols.

The evaluator is torchmetrics-shaped: ``_semantic_validate_args`` checks the
arguments, ``_semantic_format`` turns label maps into tensors of checked type and
shape on the compute device, ``_semantic_update`` counts a batch into a ``(C, C)``
confusion delta with one ``bincount`` pass that also checks the label values
(:func:`~assay.kernels.segmentation.pixel_pair_counts`), and ``_semantic_compute``
turns the confusion matrix into a :class:`SemanticResult`. :func:`evaluate_semantic` runs them
once; :class:`SemanticAccumulator` keeps the confusion matrix between batches.

Protocols (``protocol=``), which differ only in how a class without pixels counts:

``"standard"``
    mmsegmentation's ``IoUMetric`` and torchmetrics' / scikit-learn's macro averages:
    a ratio with a zero denominator is NaN and every mean skips NaN. A class absent
    from both target and preds has IoU / Dice NaN and does not enter mIoU; a class
    never predicted has precision NaN; a class without target pixels has recall NaN.
``"valor-lite"``
    valor-lite's semantic-segmentation metrics (``Precision``, ``Recall``, ``F1``,
    ``Accuracy``, ``IOU``, ``mIOU``, ``ConfusionMatrix``): class 0 is background and
    has no metric of its own but its pixels count in every denominator; a zero
    denominator gives 0, and mIoU averages over *every* foreground class, absent ones
    counting 0.

Pixels whose target is ``ignore_index`` are left out of every count in both
protocols (valor-lite itself has no ignore value: the result equals valor-lite's on
the label maps with those pixels cropped out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor

from ...kernels.segmentation import (
    _pixel_confusion_matrix,
    _pixel_confusion_matrix_with_invalid,
    _pixel_pair_counts,
    fused_confusion_available,
    semantic_scores,
    valor_lite_semantic_scores,
)
from ..device import resolve_device
from ._label_maps import check_int, check_label_values, first_index, integer_tensor, same_shape

__all__ = [
    "SEMANTIC_PROTOCOLS",
    "SemanticAccumulator",
    "SemanticProtocol",
    "SemanticResult",
    "evaluate_semantic",
]

SemanticProtocol = Literal["standard", "valor-lite"]
SEMANTIC_PROTOCOLS: tuple[str, ...] = ("standard", "valor-lite")


def _plain(value: Any) -> Any:
    """Numpy arrays / floats -> lists / floats, NaN -> None (JSON has no NaN)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return [_plain(v) for v in value.tolist()] if value.ndim else _plain(float(value))
        return value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class SemanticResult(BaseModel):
    """Semantic-segmentation scores over every evaluated pixel.

    Per-class arrays are indexed by class (``C`` entries). Under ``"valor-lite"``
    entry 0 (background) of the per-class arrays is NaN and ``mean_dice``,
    ``mean_class_accuracy`` and ``frequency_weighted_iou`` are ``None`` (not part of
    valor-lite's set); ``iou_matrix`` and the unmatched ratios are set (``K = C - 1``
    foreground classes). :meth:`valor_lite_metrics` gives valor-lite's own layout.

    Attributes:
        protocol: ``"standard"`` or ``"valor-lite"``.
        num_classes: ``C``.
        ignore_index: the ignored target value, if any.
        class_names: ``C`` names (``"0"``, ``"1"``, ... unless given).
        confusion_matrix: ``(C, C)`` int64 pixel counts, row = target, column = prediction.
        iou: ``(C,)`` per-class IoU.
        dice: ``(C,)`` per-class Dice = F1 (valor-lite: ``2PR / (P + R)``).
        precision: ``(C,)``.
        recall: ``(C,)`` (= per-class accuracy).
        miou: mean IoU under the protocol's rule.
        mean_dice: mean Dice (``"standard"``).
        pixel_accuracy: correct / counted pixels (valor-lite's ``Accuracy``).
        mean_class_accuracy: mean recall (``"standard"``).
        frequency_weighted_iou: IoU weighted by target pixels per class (``"standard"``).
        iou_matrix: ``(K, K)`` valor-lite's pairwise IoU between target class i and
            predicted class j (its ``ConfusionMatrix``).
        unmatched_prediction_ratio: ``(K,)`` valor-lite: share of predicted pixels on
            background.
        unmatched_ground_truth_ratio: ``(K,)`` valor-lite: share of target pixels
            predicted background.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    protocol: SemanticProtocol
    num_classes: int
    ignore_index: int | None
    class_names: tuple[str, ...]
    confusion_matrix: np.ndarray
    iou: np.ndarray
    dice: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    miou: float
    mean_dice: float | None
    pixel_accuracy: float
    mean_class_accuracy: float | None
    frequency_weighted_iou: float | None
    iou_matrix: np.ndarray | None = None
    unmatched_prediction_ratio: np.ndarray | None = None
    unmatched_ground_truth_ratio: np.ndarray | None = None

    @property
    def f1(self) -> np.ndarray:
        """Per-class F1, the same numbers as ``dice``."""
        return self.dice

    def per_class(self) -> list[dict[str, Any]]:
        """One record per class: name, iou, dice, precision, recall, target pixels."""
        support = self.confusion_matrix.sum(1)
        return [
            {
                "class": c,
                "name": self.class_names[c],
                "iou": float(self.iou[c]),
                "dice": float(self.dice[c]),
                "precision": float(self.precision[c]),
                "recall": float(self.recall[c]),
                "support": int(support[c]),
            }
            for c in range(self.num_classes)
        ]

    def valor_lite_metrics(self) -> dict[str, list[dict[str, Any]]]:
        """valor-lite's output, ``{type: [metric.to_dict(), ...]}``, in its order and names.

        Raises:
            ValueError: the result was not computed with ``protocol="valor-lite"``.
        """
        iou_m, up = self.iou_matrix, self.unmatched_prediction_ratio
        ug = self.unmatched_ground_truth_ratio
        if self.protocol != "valor-lite" or iou_m is None or up is None or ug is None:
            raise ValueError(
                "Expected a result computed with protocol='valor-lite', "
                f"but got protocol={self.protocol!r}"
            )
        names = self.class_names[1:]
        k = len(names)
        out: dict[str, list[dict[str, Any]]] = {
            "Accuracy": [{"type": "Accuracy", "value": self.pixel_accuracy, "parameters": {}}],
            "ConfusionMatrix": [
                {
                    "type": "ConfusionMatrix",
                    "value": {
                        "confusion_matrix": {
                            names[i]: {names[j]: {"iou": float(iou_m[i, j])} for j in range(k)}
                            for i in range(k)
                        },
                        "unmatched_predictions": {
                            names[j]: {"ratio": float(up[j])} for j in range(k)
                        },
                        "unmatched_ground_truths": {
                            names[i]: {"ratio": float(ug[i])} for i in range(k)
                        },
                    },
                    "parameters": {},
                }
            ],
            "mIOU": [{"type": "mIOU", "value": self.miou, "parameters": {}}],
        }
        rows: tuple[tuple[str, np.ndarray], ...] = (
            ("Precision", self.precision),
            ("Recall", self.recall),
            ("F1", self.dice),
            ("IOU", self.iou),
        )
        # per-label types only where there is a label: valor-lite leaves them out for a
        # background-only label set
        for c, name in enumerate(names, start=1):
            for metric, values in rows:
                out.setdefault(metric, []).append(
                    {"type": metric, "value": float(values[c]), "parameters": {"label": name}}
                )
        return out

    def summary(self) -> str:
        """A per-class table and the means, as text."""
        lines = [f"{'class':<20} {'IoU':>7} {'Dice':>7} {'Prec':>7} {'Recall':>7} {'pixels':>12}"]
        for row in self.per_class():
            lines.append(
                f"{row['name'][:20]:<20} {row['iou']:7.4f} {row['dice']:7.4f} "
                f"{row['precision']:7.4f} {row['recall']:7.4f} {row['support']:12d}"
            )
        lines.append(f"mIoU {self.miou:.4f}  pixel accuracy {self.pixel_accuracy:.4f}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form for JSON (NaN becomes ``None``)."""
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "num_classes": self.num_classes,
            "ignore_index": self.ignore_index,
            "class_names": list(self.class_names),
            "confusion_matrix": self.confusion_matrix.tolist(),
            "iou": _plain(self.iou),
            "miou": _plain(self.miou),
            "dice": _plain(self.dice),
            "f1": _plain(self.dice),
            "mean_dice": _plain(self.mean_dice),
            "precision": _plain(self.precision),
            "recall": _plain(self.recall),
            "pixel_accuracy": _plain(self.pixel_accuracy),
            "mean_class_accuracy": _plain(self.mean_class_accuracy),
            "frequency_weighted_iou": _plain(self.frequency_weighted_iou),
        }
        if self.protocol == "valor-lite":
            out["iou_matrix"] = _plain(self.iou_matrix)
            out["unmatched_prediction_ratio"] = _plain(self.unmatched_prediction_ratio)
            out["unmatched_ground_truth_ratio"] = _plain(self.unmatched_ground_truth_ratio)
        return out


# ------------------------------------------------------------------------- stages


def _semantic_validate_args(
    num_classes: Any,
    ignore_index: Any,
    protocol: Any,
    class_names: Sequence[str] | None,
) -> tuple[int, int | None, SemanticProtocol, tuple[str, ...]]:
    """Check the arguments; return them normalised."""
    c = check_int("num_classes", num_classes, minimum=1)
    ig = None if ignore_index is None else check_int("ignore_index", ignore_index)
    if protocol not in SEMANTIC_PROTOCOLS:
        raise ValueError(
            f"Expected `protocol` to be one of {SEMANTIC_PROTOCOLS}, but got {protocol!r}"
        )
    if class_names is None:
        names = tuple(str(i) for i in range(c))
    else:
        if isinstance(class_names, str) or not isinstance(class_names, Sequence):
            raise TypeError(
                "Expected `class_names` to be a sequence of str, "
                f"but got {type(class_names).__name__}"
            )
        names = tuple(class_names)
        for i, name in enumerate(names):
            if not isinstance(name, str):
                raise TypeError(
                    f"Expected `class_names` to hold str, but got {name!r} at position {i}"
                )
        if len(names) != c:
            raise ValueError(
                f"Expected `class_names` to have num_classes={c} entries, but got {len(names)}"
            )
        if len(set(names)) != c:
            raise ValueError(f"Expected `class_names` to be unique, but got {list(names)}")
    return c, ig, protocol, names


def _fits(dtype: torch.dtype, value: int) -> bool:
    info = torch.iinfo(dtype)
    return info.min <= value <= info.max


def _check_values(
    target: Tensor, preds: Tensor, num_classes: int, ignore_index: int | None
) -> None:
    """ValueError naming the first pixel whose label is out of range (host sync)."""
    if target.numel() == 0:
        return
    lo, hi = torch.aminmax(target)
    if int(lo) < 0 or int(hi) >= num_classes:
        check_label_values(target, "target", num_classes, ignore_index)
    lo, hi = torch.aminmax(preds)
    if int(lo) < 0 or int(hi) >= num_classes:
        bad = (preds < 0) | (preds >= num_classes)
        if ignore_index is not None:
            bad &= target != ignore_index  # a prediction on an ignored pixel is never read
        if bool(bad.any()):
            where = first_index(bad)
            raise ValueError(
                f"Expected `preds` values in [0, {num_classes}), "
                f"but got {int(preds[where])} at index {where}"
            )


def _semantic_format(
    target: Any,
    preds: Any,
    ignore_index: int | None,
    device: torch.device | str | None,
) -> tuple[Tensor, Tensor]:
    """Check label maps (type, dtype, shape) and put them on the compute device.

    Returns:
        ``(target, preds)`` as ``(N, H, W)`` integer tensors (an ``(H, W)`` map is one
        image) on one device; ``target`` widened to int64 when ``ignore_index`` does
        not fit its dtype.
    """
    t = integer_tensor("target", target)
    p = integer_tensor("preds", preds)
    if t.ndim not in (2, 3):
        raise ValueError(
            f"Expected `target` to be label maps of shape (N, H, W) or (H, W), "
            f"but got shape {tuple(t.shape)}"
        )
    same_shape(t, p)
    if device is None and t.device != p.device:
        raise ValueError(
            f"Expected `preds` on the device of `target` ({t.device}), but got {p.device}; "
            "move both to one device or pass device="
        )
    dev = resolve_device(device, t.device)
    t, p = t.to(dev), p.to(dev)
    if t.ndim == 2:
        t, p = t[None], p[None]
    if ignore_index is not None and not _fits(t.dtype, ignore_index):
        t = t.to(torch.int64)
    return t, p


_MAX_PAIR_BINS = 1 << 22


def _semantic_update(
    target: Tensor, preds: Tensor, num_classes: int, ignore_index: int | None
) -> Tensor:
    """One batch -> its ``(C, C)`` int64 confusion delta, label values checked.

    Common case (every target value in ``[0, T)`` for a small ``T``, every prediction
    in ``[0, C)``): one :func:`pixel_pair_counts` pass counts the ``(T, C)`` pairs,
    ignore value included, and the check reads only the rows of values ``>= C``. Else
    (negative values, predictions out of range, huge ignore values) the pixels are
    checked first, then counted with :func:`pixel_confusion_matrix`. On CUDA with
    Triton one fused pass counts the valid pixels and the invalid ones; only a nonzero
    invalid count leads to the check. The error message names the first offending
    pixel either way.
    """
    c = num_classes
    if fused_confusion_available(target, preds, c, ignore_index):  # CUDA+Triton: one read
        counts, invalid = _pixel_confusion_matrix_with_invalid(target, preds, c, ignore_index)
        if not bool(invalid):
            return counts
        _check_values(target, preds, c, ignore_index)  # raises, naming the first pixel
    if target.numel():
        lo_t, hi_t = (int(v) for v in torch.aminmax(target))
        lo_p, hi_p = (int(v) for v in torch.aminmax(preds))
        rows = hi_t + 1
        if lo_t >= 0 and lo_p >= 0 and hi_p < c and rows * c <= _MAX_PAIR_BINS:
            counts = _pixel_pair_counts(target, preds, max(rows, c), c)
            if ignore_index is not None and 0 <= ignore_index < counts.shape[0]:
                counts[ignore_index] = 0
            if rows <= c or not bool(counts[c:].any()):
                return counts[:c]
    _check_values(target, preds, c, ignore_index)
    return _pixel_confusion_matrix(target, preds, c, ignore_index)


def _semantic_compute(
    confusion: Tensor,
    protocol: SemanticProtocol,
    ignore_index: int | None,
    class_names: tuple[str, ...],
) -> SemanticResult:
    """Confusion matrix -> :class:`SemanticResult` under ``protocol``."""
    c = confusion.shape[0]
    cm = confusion.detach().cpu()
    common: dict[str, Any] = {
        "protocol": protocol,
        "num_classes": c,
        "ignore_index": ignore_index,
        "class_names": class_names,
        "confusion_matrix": cm.numpy().astype(np.int64),
    }
    if protocol == "standard":
        s = semantic_scores(cm)
        return SemanticResult(
            **common,
            iou=s.iou.numpy(),
            dice=s.dice.numpy(),
            precision=s.precision.numpy(),
            recall=s.recall.numpy(),
            miou=float(s.miou),
            mean_dice=float(s.mean_dice),
            pixel_accuracy=float(s.pixel_accuracy),
            mean_class_accuracy=float(s.mean_class_accuracy),
            frequency_weighted_iou=float(s.frequency_weighted_iou),
        )
    v = valor_lite_semantic_scores(cm)

    def with_background(x: Tensor) -> np.ndarray:
        return np.concatenate(([np.nan], x.numpy()))

    return SemanticResult(
        **common,
        iou=with_background(v.iou),
        dice=with_background(v.f1),
        precision=with_background(v.precision),
        recall=with_background(v.recall),
        miou=float(v.miou),
        mean_dice=None,
        pixel_accuracy=float(v.accuracy),
        mean_class_accuracy=None,
        frequency_weighted_iou=None,
        iou_matrix=v.iou_matrix.numpy(),
        unmatched_prediction_ratio=v.unmatched_prediction_ratio.numpy(),
        unmatched_ground_truth_ratio=v.unmatched_ground_truth_ratio.numpy(),
    )


# ------------------------------------------------------------------------- public


def evaluate_semantic(
    target: Tensor | np.ndarray,
    preds: Tensor | np.ndarray,
    num_classes: int,
    ignore_index: int | None = None,
    *,
    protocol: SemanticProtocol = "standard",
    class_names: Sequence[str] | None = None,
    device: torch.device | str | None = None,
) -> SemanticResult:
    """Evaluate semantic segmentation label maps.

    Args:
        target: ``(N, H, W)`` or ``(H, W)`` integer ground-truth classes in
            ``[0, num_classes)`` or ``ignore_index`` (torch tensor or numpy array).
        preds: predicted classes, same shape (an ``argmax`` over logits).
        num_classes: ``C``.
        ignore_index: target value whose pixels are not evaluated (e.g. 255).
        protocol: ``"standard"`` (absent classes NaN, left out of means) or
            ``"valor-lite"`` (class 0 is background, absent classes 0 and counted).
        class_names: ``C`` names, used in tables and valor-lite's output.
        device: where to count: ``None`` (the input's), ``"cpu"``, ``"cuda"``, ``"auto"``.

    Returns:
        :class:`SemanticResult`.

    Raises:
        TypeError: a non-integer label map or argument.
        ValueError: mismatched shapes, or a label outside ``[0, num_classes)`` that is
            not ``ignore_index`` (the message names the first such pixel).

    Example:
        >>> import numpy as np
        >>> target = np.array([[0, 0, 1, 1], [0, 1, 1, 255]])
        >>> preds = np.array([[0, 1, 1, 1], [0, 1, 0, 0]])
        >>> r = evaluate_semantic(target, preds, num_classes=3, ignore_index=255)
        >>> r.confusion_matrix
        array([[2, 1, 0],
               [1, 3, 0],
               [0, 0, 0]])
        >>> r.iou, round(r.miou, 4), round(r.pixel_accuracy, 4)
        (array([0.5, 0.6, nan]), 0.55, 0.7143)
        >>> evaluate_semantic(target, preds, 3, 255, protocol="valor-lite").iou
        array([nan, 0.6, 0. ])
    """
    c, ig, proto, names = _semantic_validate_args(num_classes, ignore_index, protocol, class_names)
    t, p = _semantic_format(target, preds, ig, device)
    return _semantic_compute(_semantic_update(t, p, c, ig), proto, ig, names)


class SemanticAccumulator:
    """Streaming semantic segmentation: ``update`` batch by batch, then ``compute``.

    The whole state is the ``(C, C)`` int64 ``confusion_matrix``: it sums across
    batches, across accumulators (:meth:`merge`) and across ranks (:meth:`sync`, one
    ``all_reduce``), and ``compute`` after any of these equals :func:`evaluate_semantic`
    on all the label maps at once.

    Args:
        num_classes: ``C``.
        ignore_index: target value whose pixels are not evaluated.
        protocol: ``"standard"`` or ``"valor-lite"``.
        class_names: ``C`` names.
        device: where the state lives and counting happens (default CPU).

    Example:
        >>> import torch
        >>> acc = SemanticAccumulator(num_classes=2)
        >>> acc.update(torch.tensor([[0, 1], [1, 1]]), torch.tensor([[0, 1], [0, 1]]))
        >>> acc.update(torch.tensor([[1, 0]]), torch.tensor([[1, 0]]))
        >>> acc.confusion_matrix
        tensor([[2, 0],
                [1, 3]])
        >>> acc.compute().iou
        array([0.66666667, 0.75      ])
    """

    def __init__(
        self,
        num_classes: int,
        ignore_index: int | None = None,
        *,
        protocol: SemanticProtocol = "standard",
        class_names: Sequence[str] | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        c, ig, proto, names = _semantic_validate_args(
            num_classes, ignore_index, protocol, class_names
        )
        self.num_classes = c
        self.ignore_index = ig
        self.protocol: SemanticProtocol = proto
        self.class_names = names
        self.device = resolve_device(device)
        self.confusion_matrix = torch.zeros(c, c, dtype=torch.int64, device=self.device)

    def update(self, target: Tensor | np.ndarray, preds: Tensor | np.ndarray) -> None:
        """Add one batch of label maps (``(N, H, W)`` or ``(H, W)``)."""
        t, p = _semantic_format(target, preds, self.ignore_index, self.device)
        self.confusion_matrix += _semantic_update(t, p, self.num_classes, self.ignore_index)

    def merge(self, other: SemanticAccumulator) -> None:
        """Add another accumulator's counts (same classes, ignore_index and protocol)."""
        if not isinstance(other, SemanticAccumulator):
            raise TypeError(
                f"Expected `other` to be a SemanticAccumulator, but got {type(other).__name__}"
            )
        mine = (self.num_classes, self.ignore_index, self.protocol, self.class_names)
        theirs = (other.num_classes, other.ignore_index, other.protocol, other.class_names)
        if mine != theirs:
            raise ValueError(
                "Expected `other` to have this accumulator's (num_classes, ignore_index, "
                f"protocol, class_names) {mine}, but got {theirs}"
            )
        self.confusion_matrix += other.confusion_matrix.to(self.device)

    def sync(self, group: Any = None) -> None:
        """Sum the state over the ranks of ``torch.distributed`` (no-op when not initialised)."""
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self.confusion_matrix, op=dist.ReduceOp.SUM, group=group)

    def reset(self) -> None:
        """Forget every update."""
        self.confusion_matrix.zero_()

    def compute(self) -> SemanticResult:
        """The result over every pixel seen since construction or :meth:`reset`."""
        return _semantic_compute(
            self.confusion_matrix, self.protocol, self.ignore_index, self.class_names
        )
