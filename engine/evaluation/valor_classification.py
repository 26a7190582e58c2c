"""valor-lite's classification protocol, metric for metric (valor-lite 0.39).

valor-lite scores every prediction row (a predicted value with its score) of a datum
against the datum's single ground-truth value, at user-given score thresholds, with
or without a hardmax (only the datum's first highest-scored value may count). Its
definitions differ from scikit-learn's on purpose; they are reproduced exactly here,
quirks included (see ``docs/classification.md``):

- a row counts as positive when ``score >= threshold`` and ``score`` is not
  ``np.isclose`` to 0 (``|s| <= 1e-8`` never counts) for Counts / Precision / Recall /
  F1 / Accuracy, but ``score > 1e-9`` for the confusion matrices and examples;
- the confusion matrices and examples narrow one mask over the threshold list, so a
  threshold lower than an earlier one acts as the earlier one;
- FN counts datums with a wrong positive row or a non-positive right row; a datum whose
  ground-truth value is not among its predictions is an FN only when it also has a
  positive wrong row; TN counts non-positive wrong rows;
- Accuracy is the sum of TP over labels divided by the number of datums;
- ROC AUC ranks the rows predicting a label, with ``fpr = fp / (rows predicting the
  label - datums of the label)`` (uint64 arithmetic, wrapping when negative), the
  origin only when the top score is not 0, and mROCAUC averages every label, 0 for a
  label never predicted.

Metric names, parameters and layout are valor-lite's: ``Metric(type, value,
parameters)`` records with ``to_dict()``, grouped by type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from ...kernels.classification import valor_lite_counts, valor_lite_pairs, valor_lite_rocauc
from ..formats.classification import LabelKeyTable

__all__ = ["VALOR_METRIC_TYPES", "ValorLiteEvaluator", "ValorMetric", "check_hardmax"]

VALOR_METRIC_TYPES: tuple[str, ...] = (
    "Counts",
    "ROCAUC",
    "mROCAUC",
    "Precision",
    "Recall",
    "Accuracy",
    "F1",
    "ConfusionMatrix",
    "Examples",
    "ConfusionMatrixWithExamples",
)


class ValorMetric(BaseModel):
    """One valor-lite metric record.

    Attributes:
        type: the metric type (``"Precision"``, ``"ConfusionMatrix"``, ...).
        value: a number or, for counts, matrices and examples, a dict.
        parameters: ``score_threshold``, ``hardmax`` and ``label`` where they apply.
    """

    model_config = ConfigDict(frozen=True)

    type: str
    value: float | int | dict[str, Any]
    parameters: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """valor-lite's ``Metric.to_dict()`` layout: type, value, parameters."""
        return {"type": self.type, "value": self.value, "parameters": dict(self.parameters)}


def check_score_thresholds(score_thresholds: Sequence[float]) -> list[float]:
    """Validate valor-lite score thresholds (non-empty, finite numbers).

    Example:
        >>> check_score_thresholds([0.25, 0.75])
        [0.25, 0.75]
    """
    if isinstance(score_thresholds, (str, bytes)) or not isinstance(score_thresholds, Sequence):
        raise TypeError(
            f"Expected `score_thresholds` to be a sequence of numbers, but got {score_thresholds!r}"
        )
    values = list(score_thresholds)
    ok = all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in values
    )
    if not values or not ok:
        raise ValueError(
            f"Expected `score_thresholds` to be a non-empty sequence of finite numbers, but got "
            f"{values}"
        )
    return [float(v) for v in values]


def check_hardmax(hardmax: object) -> bool:
    """``hardmax`` as a bool (NumPy bools too); a string or number is refused, not truthy.

    Example:
        >>> check_hardmax(False)
        False
        >>> check_hardmax("false")
        Traceback (most recent call last):
        ...
        TypeError: Expected `hardmax` to be a bool, but got 'false' (str)
    """
    if not isinstance(hardmax, (bool, np.bool_)):
        raise TypeError(
            f"Expected `hardmax` to be a bool, but got {hardmax!r} ({type(hardmax).__name__})"
        )
    return bool(hardmax)


class ValorLiteEvaluator:
    """valor-lite's ``Evaluator`` for one label key, computed with assay's kernels.

    Built once from a :class:`LabelKeyTable`; each ``compute_*`` method mirrors the
    valor-lite method of the same name and returns the same records.

    Args:
        table: one key's ground truths and predictions (hard labels score 1.0).
        device: where the kernels run.

    Example:
        >>> from assay.engine.formats.classification import load_classification
        >>> t = load_classification(
        ...     {"datum_uid": ["a", "b"], "value": ["cat", "dog"]},
        ...     {"datum_uid": ["a", "a", "b", "b"], "value": ["cat", "dog", "cat", "dog"],
        ...      "score": [0.9, 0.1, 0.7, 0.3]}).keys[0]
        >>> ev = ValorLiteEvaluator(t)
        >>> [m.value for m in ev.compute_precision_recall([0.5])["Accuracy"]]
        [0.5]
    """

    def __init__(self, table: LabelKeyTable, device: torch.device | str | None = None) -> None:
        if not isinstance(table, LabelKeyTable):
            raise TypeError(
                "Expected `table` to be a LabelKeyTable (one of "
                "assay.engine.formats.classification.load_classification(...).keys), but got "
                f"{type(table).__name__}"
            )
        self.table = table
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        score = np.where(np.isnan(table.pd_score), 1.0, table.pd_score)
        d = table.pd_datum
        n_datums = len(table.datum_uids)
        best = np.full(n_datums, -np.inf)
        np.maximum.at(best, d, score)
        is_max = score == best[d]
        _, first = np.unique(d[is_max], return_index=True)
        winner = np.zeros(d.size, dtype=bool)
        winner[np.flatnonzero(is_max)[first]] = True
        self._score = score
        self._winner = winner
        self._target_rows = table.target[d]
        # valor-lite's label order: values seen as ground truth, then predicted-only ones
        seen_gt = np.zeros(len(table.values), dtype=bool)
        seen_gt[table.target] = True
        self.label_order: tuple[int, ...] = tuple(
            int(i) for i in np.concatenate([np.flatnonzero(seen_gt), np.flatnonzero(~seen_gt)])
        )
        dev = self.device
        self._t_datum = torch.as_tensor(d, device=dev)
        self._t_target = torch.as_tensor(self._target_rows, device=dev)
        self._t_pred = torch.as_tensor(table.pd_value, device=dev)
        self._t_score = torch.as_tensor(score, dtype=torch.float64, device=dev)
        self._t_winner = torch.as_tensor(winner, device=dev)

    @property
    def info(self) -> dict[str, int]:
        """valor-lite's ``EvaluatorInfo`` counts: rows, datums and labels."""
        return {
            "number_of_rows": int(self.table.pd_datum.size),
            "number_of_datums": len(self.table.datum_uids),
            "number_of_labels": len(self.table.values),
        }

    def _label(self, i: int) -> str:
        return self.table.values[i]

    def _thresholds(self, score_thresholds: Sequence[float]) -> torch.Tensor:
        values = check_score_thresholds(score_thresholds)
        return torch.as_tensor(values, dtype=torch.float64, device=self.device)

    def compute_precision_recall(
        self, score_thresholds: Sequence[float] = (0.0,), hardmax: bool = True
    ) -> dict[str, list[ValorMetric]]:
        """Counts, Precision, Recall, F1 per label and threshold; Accuracy per threshold."""
        thresholds = check_score_thresholds(score_thresholds)
        hardmax = check_hardmax(hardmax)
        n_labels = len(self.table.values)
        n_datums = len(self.table.datum_uids)
        counts = (
            valor_lite_counts(
                self._t_datum,
                self._t_target,
                self._t_pred,
                self._t_score,
                self._t_winner,
                self._thresholds(thresholds),
                n_datums,
                n_labels,
                bool(hardmax),
            )
            .cpu()
            .numpy()
        )
        tp, fp, fn = (counts[:, :, i].astype(np.float64) for i in range(3))
        precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
        recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
        f1 = np.divide(
            2 * precision * recall,
            precision + recall,
            out=np.zeros_like(tp),
            where=(precision + recall) > 1e-9,
        )
        accuracy = counts[:, :, 0].sum(axis=1) / n_datums if n_datums else np.zeros(len(thresholds))
        out: dict[str, list[ValorMetric]] = {
            "Accuracy": [
                ValorMetric(
                    type="Accuracy",
                    value=float(accuracy[t]),
                    parameters={"score_threshold": thr, "hardmax": hardmax},
                )
                for t, thr in enumerate(thresholds)
            ],
            "Counts": [],
            "Precision": [],
            "Recall": [],
            "F1": [],
        }
        for i in self.label_order:
            for t, thr in enumerate(thresholds):
                params = {"score_threshold": thr, "hardmax": hardmax, "label": self._label(i)}
                c = counts[t, i]
                out["Counts"].append(
                    ValorMetric(
                        type="Counts",
                        value={"tp": int(c[0]), "fp": int(c[1]), "fn": int(c[2]), "tn": int(c[3])},
                        parameters=params,
                    )
                )
                out["Precision"].append(
                    ValorMetric(type="Precision", value=float(precision[t, i]), parameters=params)
                )
                out["Recall"].append(
                    ValorMetric(type="Recall", value=float(recall[t, i]), parameters=params)
                )
                out["F1"].append(ValorMetric(type="F1", value=float(f1[t, i]), parameters=params))
        return out

    def compute_rocauc(self) -> dict[str, list[ValorMetric]]:
        """ROCAUC per label and mROCAUC (the mean over every label)."""
        n_labels = len(self.table.values)
        per_label = torch.as_tensor(
            np.bincount(self.table.target, minlength=n_labels), device=self.device
        )
        auc = (
            valor_lite_rocauc(self._t_target, self._t_pred, self._t_score, per_label, n_labels)
            .cpu()
            .numpy()
        )
        mean = float(auc.mean()) if n_labels else float("nan")
        return {
            "ROCAUC": [
                ValorMetric(
                    type="ROCAUC", value=float(auc[i]), parameters={"label": self._label(i)}
                )
                for i in self.label_order
            ],
            "mROCAUC": [ValorMetric(type="mROCAUC", value=mean, parameters={})],
        }

    def _pairs(self, score_thresholds: Sequence[float], hardmax: bool) -> tuple[np.ndarray, ...]:
        pairs = valor_lite_pairs(
            self._t_datum,
            self._t_score,
            self._t_winner,
            self._thresholds(score_thresholds),
            len(self.table.datum_uids),
            bool(hardmax),
        )
        return pairs.matched.cpu().numpy(), pairs.unmatched.cpu().numpy()

    def compute_confusion_matrix(
        self, score_thresholds: Sequence[float] = (0.0,), hardmax: bool = True
    ) -> list[ValorMetric]:
        """ConfusionMatrix per threshold: counts[gt][pd] and unmatched ground truths."""
        thresholds = check_score_thresholds(score_thresholds)
        hardmax = check_hardmax(hardmax)
        matched, unmatched = self._pairs(thresholds, hardmax)
        n = len(self.table.values)
        g, p = self._target_rows, self.table.pd_value
        names = [self._label(i) for i in self.label_order]
        out = []
        for t, thr in enumerate(thresholds):
            cm = np.bincount(g[matched[t]] * n + p[matched[t]], minlength=n * n).reshape(n, n)
            ugt = np.bincount(self.table.target[unmatched[t]], minlength=n)
            out.append(
                ValorMetric(
                    type="ConfusionMatrix",
                    value={
                        "confusion_matrix": {
                            names[a]: {
                                names[b]: int(cm[i, j]) for b, j in enumerate(self.label_order)
                            }
                            for a, i in enumerate(self.label_order)
                        },
                        "unmatched_ground_truths": {
                            names[a]: int(ugt[i]) for a, i in enumerate(self.label_order)
                        },
                    },
                    parameters={"score_threshold": thr, "hardmax": hardmax},
                )
            )
        return out

    def compute_confusion_matrix_with_examples(
        self, score_thresholds: Sequence[float] = (0.0,), hardmax: bool = True
    ) -> list[ValorMetric]:
        """ConfusionMatrixWithExamples: counts with ``{datum_id, score}`` examples."""
        thresholds = check_score_thresholds(score_thresholds)
        hardmax = check_hardmax(hardmax)
        matched, unmatched = self._pairs(thresholds, hardmax)
        uids = self.table.datum_uids
        order = self.label_order
        out = []
        for t, thr in enumerate(thresholds):
            cm: dict[str, dict[str, dict[str, Any]]] = {
                self._label(i): {self._label(j): {"count": 0, "examples": []} for j in order}
                for i in order
            }
            ugt: dict[str, dict[str, Any]] = {
                self._label(i): {"count": 0, "examples": []} for i in order
            }
            rows = np.flatnonzero(matched[t])
            # valor-lite lists examples by (datum, ground truth, prediction) index
            rows = rows[
                np.lexsort(
                    (self.table.pd_value[rows], self._target_rows[rows], self.table.pd_datum[rows])
                )
            ]
            for r in rows.tolist():
                cell = cm[self._label(int(self._target_rows[r]))][
                    self._label(int(self.table.pd_value[r]))
                ]
                cell["count"] += 1
                cell["examples"].append(
                    {"datum_id": uids[self.table.pd_datum[r]], "score": float(self._score[r])}
                )
            for d in np.flatnonzero(unmatched[t]).tolist():
                entry = ugt[self._label(int(self.table.target[d]))]
                entry["count"] += 1
                entry["examples"].append({"datum_id": uids[d]})
            out.append(
                ValorMetric(
                    type="ConfusionMatrixWithExamples",
                    value={"confusion_matrix": cm, "unmatched_ground_truths": ugt},
                    parameters={"score_threshold": thr, "hardmax": hardmax},
                )
            )
        return out

    def compute_examples(
        self,
        score_thresholds: Sequence[float] = (0.0,),
        hardmax: bool = True,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ValorMetric]:
        """Examples per datum and threshold: true-positive, false-positive, false-negative labels.

        Datums are paged by their index (ground-truth order) with ``offset`` and
        ``limit``, as valor-lite pages by ``datum_id``.
        """
        thresholds = check_score_thresholds(score_thresholds)
        hardmax = check_hardmax(hardmax)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"Expected `offset` to be an int >= 0, but got {offset!r}")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ValueError(f"Expected `limit` to be None or an int >= 0, but got {limit!r}")
        matched, unmatched = self._pairs(thresholds, hardmax)
        n_datums = len(self.table.datum_uids)
        stop = n_datums if limit is None else min(n_datums, offset + limit)
        d = self.table.pd_datum
        start_rows = np.searchsorted(d, np.arange(n_datums + 1))
        match = self._target_rows == self.table.pd_value
        out = []
        for datum in range(offset, stop):
            lo, hi = start_rows[datum], start_rows[datum + 1]
            g = int(self.table.target[datum])
            for t, thr in enumerate(thresholds):
                m = matched[t, lo:hi]
                tp_vals = sorted({g} if (m & match[lo:hi]).any() else set())
                fp_vals = sorted(set(self.table.pd_value[lo:hi][m & ~match[lo:hi]].tolist()))
                fn = (m & ~match[lo:hi]).any() or bool(unmatched[t, datum])
                tp = [self._label(v) for v in tp_vals]
                out.append(
                    ValorMetric(
                        type="Examples",
                        value={
                            "datum_id": self.table.datum_uids[datum],
                            "true_positives": tp,
                            "false_positives": [
                                self._label(v) for v in fp_vals if self._label(v) not in tp
                            ],
                            "false_negatives": (
                                [self._label(g)] if fn and self._label(g) not in tp else []
                            ),
                        },
                        parameters={"score_threshold": thr, "hardmax": hardmax},
                    )
                )
        return out
