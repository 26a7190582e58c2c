"""Classification evaluation with key/value labels: scikit-learn's or valor-lite's terms.

``evaluate_classification`` evaluates every label key of the ground truth as its own
multiclass problem, in one of two named protocols:

``protocol="sklearn"`` (default)
    Per key: confusion matrix; precision, recall, F1 per value and macro / micro /
    weighted; accuracy and top-k accuracy; one-vs-rest ROC AUC and average precision
    per value and averaged; expected and maximum calibration error with reliability
    bins. Each number is scikit-learn's (see :mod:`assay.kernels.classification`).
    Predictions are hard labels (one value per datum, no score) or full probability
    vectors (a score in [0, 1] for every value of the key, summing to 1 as
    ``roc_auc_score(multi_class="ovr")`` requires). Hard labels are scored as one-hot
    vectors.
``protocol="valor-lite"``
    valor-lite's score-threshold metrics (Counts, Precision, Recall, F1, Accuracy,
    ROCAUC, mROCAUC, ConfusionMatrix and, on request, Examples and
    ConfusionMatrixWithExamples), with its names, parameters and layout, per key.
    Predictions may be any subset of values with scores in [0, 1]; a hard label
    scores 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import torch
from pydantic import BaseModel, ConfigDict

from ...kernels.classification import (
    multiclass_accuracy,
    multiclass_auroc,
    multiclass_average_precision,
    multiclass_confusion_matrix,
    multiclass_reliability_bins,
)
from ..device import resolve_device
from ..formats.classification import ClassificationTables, LabelKeyTable, load_classification
from .valor_classification import (
    VALOR_METRIC_TYPES,
    ValorLiteEvaluator,
    ValorMetric,
    check_hardmax,
    check_score_thresholds,
)

__all__ = [
    "Averages",
    "CLASSIFICATION_PROTOCOLS",
    "ClassificationProtocol",
    "ClassificationResult",
    "LabelKeyMetrics",
    "ReliabilityTable",
    "ValorClassificationResult",
    "ValueMetrics",
    "evaluate_classification",
]

ClassificationProtocol = Literal["sklearn", "valor-lite"]
CLASSIFICATION_PROTOCOLS: tuple[str, ...] = ("sklearn", "valor-lite")
_VALOR_DEFAULT_TYPES = (
    "Counts",
    "Precision",
    "Recall",
    "F1",
    "Accuracy",
    "ROCAUC",
    "mROCAUC",
    "ConfusionMatrix",
)


def _clean(value: Any) -> Any:
    """JSON-safe copy: nan -> None, tuples -> lists, numpy scalars -> Python."""
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


class Averages(BaseModel):
    """A metric averaged over the values of a key.

    Attributes:
        macro: unweighted mean (see each metric for which values take part).
        micro: from pooled counts (for ROC AUC / AP: one curve over one-hot targets).
        weighted: mean weighted by support.
    """

    model_config = ConfigDict(frozen=True)

    macro: float
    micro: float
    weighted: float


class ValueMetrics(BaseModel):
    """Numbers of one value of a key (one-vs-rest).

    Attributes:
        value: the label value.
        support: datums whose ground truth is the value.
        predicted: datums predicted as the value (top-1).
        tp: true positives; fp, fn, tn likewise.
        precision: ``tp / (tp + fp)``, 0 when nothing was predicted.
        recall: ``tp / (tp + fn)``, 0 without support.
        f1: ``2 tp / (2 tp + fp + fn)``, 0 when that is 0 / 0.
        roc_auc: one-vs-rest ROC AUC, ``nan`` without support or without negatives.
        average_precision: one-vs-rest AP, 0 without support (scikit-learn's value).
    """

    model_config = ConfigDict(frozen=True)

    value: str
    support: int
    predicted: int
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float
    recall: float
    f1: float
    roc_auc: float
    average_precision: float


class ReliabilityTable(BaseModel):
    """Reliability-diagram bins (scikit-learn's ``calibration_curve`` uniform bins).

    Attributes:
        edges: ``n_bins + 1`` bin edges, ``np.linspace(0, 1, n_bins + 1)``.
        confidence: mean top-1 confidence per bin (0 when empty).
        accuracy: fraction of correct top-1 predictions per bin (0 when empty).
        count: datums per bin.
    """

    model_config = ConfigDict(frozen=True)

    edges: tuple[float, ...]
    confidence: tuple[float, ...]
    accuracy: tuple[float, ...]
    count: tuple[int, ...]


class LabelKeyMetrics(BaseModel):
    """scikit-learn-protocol metrics of one label key.

    Attributes:
        key: the label key.
        values: the key's values, in the order of every per-value axis.
        num_datums: datums with a ground truth for the key.
        prediction_kind: ``"scores"`` (probability vectors) or ``"labels"`` (hard
            labels, scored one-hot).
        accuracy: ``accuracy_score`` of the top-1 (argmax) prediction.
        top_k_accuracy: ``top_k_accuracy_score`` per requested ``k``.
        precision: macro (values in the ground truth or predicted), micro, weighted.
        recall: same averages.
        f1: same averages.
        roc_auc: macro (values with a defined AUC), micro, weighted.
        average_precision: macro (all values), micro, weighted.
        expected_calibration_error: ECE (l1) over the reliability bins.
        max_calibration_error: MCE over the non-empty bins.
        reliability: the bins.
        confusion_matrix: rows = ground truth, columns = top-1 prediction.
        per_value: one :class:`ValueMetrics` per value.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    values: tuple[str, ...]
    num_datums: int
    prediction_kind: Literal["scores", "labels"]
    accuracy: float
    top_k_accuracy: dict[int, float]
    precision: Averages
    recall: Averages
    f1: Averages
    roc_auc: Averages
    average_precision: Averages
    expected_calibration_error: float
    max_calibration_error: float
    reliability: ReliabilityTable
    confusion_matrix: tuple[tuple[int, ...], ...]
    per_value: tuple[ValueMetrics, ...]


class ClassificationResult(BaseModel):
    """Result of ``evaluate_classification(protocol="sklearn")``.

    Attributes:
        protocol: ``"sklearn"``.
        keys: one :class:`LabelKeyMetrics` per label key, in ground-truth order.
    """

    model_config = ConfigDict(frozen=True)

    protocol: Literal["sklearn"] = "sklearn"
    keys: tuple[LabelKeyMetrics, ...]

    def __getitem__(self, key: str) -> LabelKeyMetrics:
        for k in self.keys:
            if k.key == key:
                return k
        raise KeyError(f"Expected a label key among {[k.key for k in self.keys]}, but got {key!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form for JSON (``nan`` becomes ``None``)."""
        return {
            "protocol": self.protocol,
            "keys": {k.key: _clean(k.model_dump()) for k in self.keys},
        }

    def table(self) -> pa.Table:
        """One row per (key, value): support, counts, P/R/F1, ROC AUC, AP."""
        rows = [{"key": k.key, **v.model_dump()} for k in self.keys for v in k.per_value]
        if not rows:
            return pa.table({"key": pa.array([], pa.string())})
        return pa.Table.from_pylist(rows)

    def summary_table(self) -> pa.Table:
        """One row per key: accuracy and the macro averages."""
        return pa.Table.from_pylist(
            [
                {
                    "key": k.key,
                    "datums": k.num_datums,
                    "values": len(k.values),
                    "accuracy": k.accuracy,
                    "precision_macro": k.precision.macro,
                    "recall_macro": k.recall.macro,
                    "f1_macro": k.f1.macro,
                    "roc_auc_macro": k.roc_auc.macro,
                    "average_precision_macro": k.average_precision.macro,
                    "ece": k.expected_calibration_error,
                }
                for k in self.keys
            ]
        )

    def summary(self) -> str:
        """A short text table per key."""
        lines = []
        for k in self.keys:
            lines.append(
                f"{k.key}: {k.num_datums} datums, {len(k.values)} values, accuracy "
                f"{k.accuracy:.4f}, macro F1 {k.f1.macro:.4f}, macro ROC AUC "
                f"{k.roc_auc.macro:.4f}, macro AP {k.average_precision.macro:.4f}, "
                f"ECE {k.expected_calibration_error:.4f}"
            )
            for v in k.per_value:
                lines.append(
                    f"  {v.value:<20} support {v.support:>7}  P {v.precision:.4f}  "
                    f"R {v.recall:.4f}  F1 {v.f1:.4f}  AUC {v.roc_auc:.4f}  "
                    f"AP {v.average_precision:.4f}"
                )
        return "\n".join(lines)


class ValorClassificationResult(BaseModel):
    """Result of ``evaluate_classification(protocol="valor-lite")``.

    Attributes:
        protocol: ``"valor-lite"``.
        score_thresholds: the thresholds, in the caller's order.
        hardmax: whether only each datum's top value could count.
        metrics: per key, valor-lite's metrics grouped by type.
        info: per key, valor-lite's evaluator counts (rows, datums, labels).
    """

    model_config = ConfigDict(frozen=True)

    protocol: Literal["valor-lite"] = "valor-lite"
    score_thresholds: tuple[float, ...]
    hardmax: bool
    metrics: dict[str, dict[str, list[ValorMetric]]]
    info: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form: per key, per type, a list of valor-lite metric dicts."""
        return {
            "protocol": self.protocol,
            "score_thresholds": list(self.score_thresholds),
            "hardmax": self.hardmax,
            "info": self.info,
            "metrics": {
                key: {t: [_clean(m.to_dict()) for m in ms] for t, ms in by_type.items()}
                for key, by_type in self.metrics.items()
            },
        }

    def table(self) -> pa.Table:
        """Scalar metrics as rows: key, type, label, score_threshold, value."""
        rows = []
        for key, by_type in self.metrics.items():
            for t, ms in by_type.items():
                for m in ms:
                    if isinstance(m.value, dict):
                        if t != "Counts":
                            continue
                        for name, count in m.value.items():
                            rows.append(self._row(key, f"Counts.{name}", m, float(count)))
                    else:
                        rows.append(self._row(key, t, m, float(m.value)))
        if not rows:
            return pa.table({"key": pa.array([], pa.string())})
        return pa.Table.from_pylist(rows)

    @staticmethod
    def _row(key: str, t: str, m: ValorMetric, value: float) -> dict[str, Any]:
        return {
            "key": key,
            "type": t,
            "label": m.parameters.get("label"),
            "score_threshold": m.parameters.get("score_threshold"),
            "value": value,
        }

    def summary(self) -> str:
        """Accuracy per threshold and mROCAUC per key."""
        lines = []
        for key, by_type in self.metrics.items():
            acc = ", ".join(
                f"{m.parameters['score_threshold']}: {m.value:.4f}"
                for m in by_type.get("Accuracy", [])
            )
            auc = by_type.get("mROCAUC", [])
            lines.append(
                f"{key}: Accuracy by score threshold {{{acc}}}"
                + (f", mROCAUC {auc[0].value:.4f}" if auc else "")
            )
        return "\n".join(lines)


# ----------------------------------------------------------------- sklearn protocol


def _check_unit_interval(t: LabelKeyTable, protocol: str) -> None:
    s = t.pd_score
    bad = ~np.isnan(s) & ((s < 0.0) | (s > 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Expected `predictions[{int(t.pd_record[i])}].score` to be a probability in [0, 1] "
            f"(protocol {protocol!r}), but got {float(s[i])!r} for value "
            f"{t.values[t.pd_value[i]]!r} of datum_uid {t.datum_uids[t.pd_datum[i]]!r} "
            f"key {t.key!r}"
        )


def _sklearn_matrix(
    t: LabelKeyTable, declared: tuple[str, ...] | None
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, bool]:
    """``(values, target (D,), scores (D, C), scored)`` in the key's value order."""
    values = declared if declared is not None else tuple(sorted(t.values))
    index = {v: i for i, v in enumerate(values)}
    remap = np.asarray([index[v] for v in t.values], dtype=np.int64)
    target = remap[t.target]
    pv = remap[t.pd_value]
    n, c = len(t.datum_uids), len(values)
    has_score = ~np.isnan(t.pd_score)
    if has_score.any() and not has_score.all():
        i = int(np.flatnonzero(~has_score if has_score[0] else has_score)[0])
        raise ValueError(
            f"Expected the predictions of key {t.key!r} to be all hard labels or all scored "
            f"(protocol 'sklearn'), but `predictions[{int(t.pd_record[i])}]` "
            f"{'has no score' if has_score[0] else 'has a score'} unlike "
            f"`predictions[{int(t.pd_record[0])}]`"
        )
    per_datum = np.bincount(t.pd_datum, minlength=n)
    if not has_score.any():
        if (per_datum != 1).any():
            d = int(np.flatnonzero(per_datum != 1)[0])
            raise ValueError(
                f"Expected one hard label per datum for key {t.key!r} (protocol 'sklearn'), but "
                f"datum_uid {t.datum_uids[d]!r} has {int(per_datum[d])} predicted values without "
                "scores"
            )
        scores = np.zeros((n, c))
        scores[t.pd_datum, pv] = 1.0
        return values, target, scores, False
    _check_unit_interval(t, "sklearn")
    if (per_datum != c).any():
        d = int(np.flatnonzero(per_datum != c)[0])
        present = set(pv[t.pd_datum == d].tolist())
        missing = [values[v] for v in range(c) if v not in present]
        raise ValueError(
            f"Expected a score for every value of key {t.key!r} {list(values)} (protocol "
            f"'sklearn' needs full probability vectors), but datum_uid {t.datum_uids[d]!r} has "
            f"no score for {missing}"
        )
    scores = np.zeros((n, c))
    scores[t.pd_datum, pv] = t.pd_score
    sums = scores.sum(axis=1)
    bad = ~(np.abs(1.0 - sums) <= 1e-8 + 1e-5 * np.abs(sums))  # np.allclose(1, sums)
    if bad.any():
        d = int(np.flatnonzero(bad)[0])
        first = int(t.pd_record[np.flatnonzero(t.pd_datum == d)[0]])
        raise ValueError(
            f"Expected the scores of each datum to sum to 1 (protocol 'sklearn': "
            f"roc_auc_score(multi_class='ovr') and calibration need probabilities; use "
            f"protocol='valor-lite' for unnormalised scores), but datum_uid "
            f"{t.datum_uids[d]!r} key {t.key!r} sums to {float(sums[d])!r} (`predictions[{first}]`)"
        )
    return values, target, scores, True


def _sklearn_key(
    t: LabelKeyTable,
    declared: tuple[str, ...] | None,
    top_k: Sequence[int],
    n_bins: int,
    device: torch.device,
) -> LabelKeyMetrics:
    values, target_np, scores_np, scored = _sklearn_matrix(t, declared)
    c = len(values)
    preds = torch.as_tensor(scores_np, dtype=torch.float64, device=device)
    target = torch.as_tensor(target_np, device=device)
    cm = multiclass_confusion_matrix(preds, target, c).cpu().numpy()
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = cm.sum() - tp - fp - fn
    support = tp + fn

    def div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        out: np.ndarray = np.divide(a, b, out=np.zeros_like(a), where=b > 0)
        return out

    present = (tp + fp + fn) > 0

    def averages(per: np.ndarray, micro: float) -> Averages:
        n_present = present.sum()
        return Averages(
            macro=float(per[present].sum() / n_present) if n_present else 0.0,
            micro=float(micro),
            weighted=float((per * support).sum() / support.sum()) if support.sum() else 0.0,
        )

    precision, recall = div(tp, tp + fp), div(tp, tp + fn)
    f1 = div(2 * tp, 2 * tp + fp + fn)
    acc = float(tp.sum() / len(target_np)) if len(target_np) else 0.0
    auc = multiclass_auroc(preds, target, c, average="none").cpu().numpy()
    ap = multiclass_average_precision(preds, target, c, average="none").cpu().numpy()
    ok = ~np.isnan(auc)

    def ranking(per: np.ndarray, macro_mask: np.ndarray, micro: float) -> Averages:
        w = np.where(macro_mask, support, 0)
        return Averages(
            macro=float(per[macro_mask].mean()) if macro_mask.any() else float("nan"),
            micro=micro,
            weighted=float((np.where(macro_mask, per, 0) * w).sum() / w.sum())
            if w.sum()
            else float("nan"),
        )

    auc_micro = float(multiclass_auroc(preds, target, c, average="micro"))
    ap_micro = float(multiclass_average_precision(preds, target, c, average="micro"))
    bins = multiclass_reliability_bins(preds, target, c, n_bins=n_bins)
    count = bins.counts.cpu().numpy()
    conf, hit = bins.confidence.cpu().numpy(), bins.accuracy.cpu().numpy()
    gap = np.abs(hit - conf)
    ece = float((gap * count).sum() / count.sum()) if count.sum() else 0.0
    mce = float(gap[count > 0].max()) if (count > 0).any() else 0.0
    topk = {int(k): float(multiclass_accuracy(preds, target, c, top_k=int(k))) for k in top_k}
    per_value = tuple(
        ValueMetrics(
            value=values[i],
            support=int(support[i]),
            predicted=int(tp[i] + fp[i]),
            tp=int(tp[i]),
            fp=int(fp[i]),
            fn=int(fn[i]),
            tn=int(tn[i]),
            precision=float(precision[i]),
            recall=float(recall[i]),
            f1=float(f1[i]),
            roc_auc=float(auc[i]),
            average_precision=float(ap[i]),
        )
        for i in range(c)
    )
    return LabelKeyMetrics(
        key=t.key,
        values=values,
        num_datums=len(target_np),
        prediction_kind="scores" if scored else "labels",
        accuracy=acc,
        top_k_accuracy=topk,
        precision=averages(precision, acc),
        recall=averages(recall, acc),
        f1=averages(f1, acc),
        roc_auc=ranking(auc, ok, auc_micro),
        average_precision=ranking(ap, np.ones(c, dtype=bool), ap_micro),
        expected_calibration_error=ece,
        max_calibration_error=mce,
        reliability=ReliabilityTable(
            edges=tuple(float(x) for x in bins.edges.cpu().numpy()),
            confidence=tuple(float(x) for x in conf),
            accuracy=tuple(float(x) for x in hit),
            count=tuple(int(x) for x in count),
        ),
        confusion_matrix=tuple(tuple(int(x) for x in row) for row in cm),
        per_value=per_value,
    )


# --------------------------------------------------------------------------- entry


def _valor_key(
    t: LabelKeyTable,
    thresholds: list[float],
    hardmax: bool,
    types: tuple[str, ...],
    device: torch.device,
) -> tuple[dict[str, list[ValorMetric]], dict[str, int]]:
    _check_unit_interval(t, "valor-lite")
    ev = ValorLiteEvaluator(t, device=device)
    out: dict[str, list[ValorMetric]] = {}
    if {"Counts", "Precision", "Recall", "F1", "Accuracy"} & set(types):
        out.update(ev.compute_precision_recall(thresholds, hardmax))
    if {"ROCAUC", "mROCAUC"} & set(types):
        out.update(ev.compute_rocauc())
    if "ConfusionMatrix" in types:
        out["ConfusionMatrix"] = ev.compute_confusion_matrix(thresholds, hardmax)
    if "ConfusionMatrixWithExamples" in types:
        out["ConfusionMatrixWithExamples"] = ev.compute_confusion_matrix_with_examples(
            thresholds, hardmax
        )
    if "Examples" in types:
        out["Examples"] = ev.compute_examples(thresholds, hardmax)
    return {k: out[k] for k in VALOR_METRIC_TYPES if k in out and k in types}, ev.info


def evaluate_classification(
    groundtruths: Any,
    predictions: Any,
    *,
    protocol: ClassificationProtocol = "sklearn",
    labels: Mapping[str, Sequence[str]] | None = None,
    top_k: Sequence[int] = (1, 5),
    n_bins: int = 15,
    score_thresholds: Sequence[float] = (0.0,),
    hardmax: bool = True,
    metrics: Sequence[str] | None = None,
    device: torch.device | str | None = None,
) -> ClassificationResult | ValorClassificationResult:
    """Evaluate classifications with key/value labels, per label key.

    Args:
        groundtruths: ``datum_uid``, ``key`` (optional), ``value`` columns: a path
            (JSON lines or Parquet), a ``pyarrow.Table``, a mapping of columns or a
            list of records.
        predictions: ``datum_uid``, ``key`` and either ``value`` (+ ``score``),
            ``values`` + ``scores`` lists, or dense ``scores`` over ``labels[key]``.
        protocol: ``"sklearn"`` or ``"valor-lite"`` (see the module docstring).
        labels: declared values per key; values outside are an error. In the
            sklearn protocol they fix the value order and may include values absent
            from the data; otherwise the values seen, sorted, are used.
        top_k: k values of the top-k accuracy (sklearn protocol).
        n_bins: reliability / calibration bins (sklearn protocol).
        score_thresholds: valor-lite score thresholds.
        hardmax: valor-lite hardmax.
        metrics: valor-lite metric types to compute; default all but ``Examples`` and
            ``ConfusionMatrixWithExamples`` (one record per datum).
        device: where the kernels run (``None``: CPU, ``"auto"``: CUDA when present).

    Returns:
        :class:`ClassificationResult` or :class:`ValorClassificationResult`.

    Raises:
        ValueError: bad arguments or values (see :func:`load_classification`), a score
            outside [0, 1], incomplete or non-normalised score vectors (sklearn).
        TypeError: a value of the wrong type.

    Example:
        >>> gt = {"datum_uid": ["a", "b", "c"], "key": ["animal"] * 3,
        ...       "value": ["cat", "dog", "dog"]}
        >>> pd = {"datum_uid": ["a", "b", "c"], "key": ["animal"] * 3,
        ...       "values": [["cat", "dog"]] * 3, "scores": [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]}
        >>> r = evaluate_classification(gt, pd)
        >>> r["animal"].accuracy, r["animal"].roc_auc.macro
        (0.6666666666666666, 1.0)
        >>> v = evaluate_classification(gt, pd, protocol="valor-lite", score_thresholds=[0.5])
        >>> [m.value for m in v.metrics["animal"]["Accuracy"]]
        [0.6666666666666666]
    """
    if protocol not in CLASSIFICATION_PROTOCOLS:
        raise ValueError(
            f"Expected `protocol` to be one of {CLASSIFICATION_PROTOCOLS}, but got {protocol!r}"
        )
    dev = resolve_device(device)
    tables: ClassificationTables = load_classification(groundtruths, predictions, labels)
    if protocol == "sklearn":
        valor_only = (  # (option, value, given): silently ignored, they would seem to work
            ("metrics", metrics, metrics is not None),
            (
                "score_thresholds",
                score_thresholds,
                not isinstance(score_thresholds, Sequence) or list(score_thresholds) != [0.0],
            ),
            ("hardmax", hardmax, hardmax is not True),
        )
        for option, value, given in valor_only:
            if given:
                raise ValueError(
                    f"Expected `{option}` only with protocol='valor-lite' (the sklearn "
                    f"protocol has no such option), but got {value!r}"
                )
        if isinstance(top_k, int) or not isinstance(top_k, Sequence):
            raise ValueError(
                f"Expected `top_k` to be a non-empty sequence of ints >= 1, but got {top_k!r}"
            )
        ks = list(top_k)
        if not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in ks):
            raise ValueError(
                f"Expected `top_k` to be a non-empty sequence of ints >= 1, but got {ks}"
            )
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
            raise ValueError(f"Expected `n_bins` to be an int >= 1, but got {n_bins!r}")
        return ClassificationResult(
            keys=tuple(
                _sklearn_key(t, tables.declared.get(t.key), ks, n_bins, dev) for t in tables.keys
            )
        )
    thresholds = check_score_thresholds(score_thresholds)
    hardmax = check_hardmax(hardmax)
    if isinstance(metrics, (str, bytes)):
        raise TypeError(
            f"Expected `metrics` to be a sequence of valor-lite metric types, but got the "
            f"{type(metrics).__name__} {metrics!r}; pass [{metrics!r}]"
        )
    types = tuple(_VALOR_DEFAULT_TYPES if metrics is None else metrics)
    unknown = [m for m in types if m not in VALOR_METRIC_TYPES]
    if unknown or not types:
        raise ValueError(
            f"Expected `metrics` to be valor-lite metric types among {list(VALOR_METRIC_TYPES)}, "
            f"but got {list(types)}"
        )
    per_key: dict[str, dict[str, list[ValorMetric]]] = {}
    info: dict[str, dict[str, int]] = {}
    for t in tables.keys:
        per_key[t.key], info[t.key] = _valor_key(t, thresholds, hardmax, types, dev)
    return ValorClassificationResult(
        score_thresholds=tuple(thresholds), hardmax=hardmax, metrics=per_key, info=info
    )
