"""``assay.MulticlassMetrics`` / ``assay.MulticlassRankingMetrics`` against the kernels,
``evaluate_classification``, scikit-learn and torchmetrics' own classes.

Hard cases: a class never in the targets, a class never predicted, tied scores, one
sample, empty batches, ignore_index, float64 scores that tie in float32, logits
(order-only ranking), NaN scores. Where torchmetrics and scikit-learn disagree (a
class without positives: ROC AUC 0 vs NaN, AP NaN vs 0) the metrics follow
scikit-learn and the tests say so.
"""

from __future__ import annotations

import math
import pickle
import warnings

import assay
import numpy as np
import pytest
import torch
from assay.engine.streaming import MulticlassMetrics, MulticlassRankingMetrics
from assay.kernels.classification import (
    multiclass_accuracy,
    multiclass_auroc,
    multiclass_average_precision,
    multiclass_f1_score,
    multiclass_precision,
    multiclass_recall,
)

skm = pytest.importorskip("sklearn.metrics")
tmc = pytest.importorskip("torchmetrics.classification")

C = 5
IGNORE = -100
AVERAGES = ["micro", "macro", "weighted", "none"]
RANKING_AVERAGES = ["macro", "weighted", "micro", "none"]
KERNELS = {
    "accuracy": multiclass_accuracy,
    "precision": multiclass_precision,
    "recall": multiclass_recall,
    "f1": multiclass_f1_score,
}


def _batches(
    seed: int,
    sizes: tuple[int, ...] = (17, 1, 9, 30),
    absent: int | None = None,
    coarse: bool = True,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(probabilities (N, C) float32, target (N,)) batches; coarse scores tie often."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in sizes:
        hi = C if absent is None else absent
        target = torch.randint(0, hi, (n,), generator=g)
        logits = torch.randn(n, C, generator=g) + 1.2 * torch.nn.functional.one_hot(target, C)
        probs = logits.softmax(1)
        if coarse:
            probs = (probs * 10).round() / 10
        out.append((probs, target))
    return out


def _all(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.cat([p for p, _ in batches]), torch.cat([t for _, t in batches])


def _fed(metric: MulticlassMetrics | MulticlassRankingMetrics, batches: list) -> dict:
    for p, t in batches:
        metric.update(p, t)
    return metric.compute()


def _flat(values: dict[str, torch.Tensor], average: str) -> dict[str, torch.Tensor]:
    """Kernel outputs in the metric's key layout."""
    if average != "none":
        return values
    return {f"{k}/{c}": v[c] for k, v in values.items() for c in range(v.shape[0])}


def _assert_equal(got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert list(got) == list(expected)
    for key in expected:
        g, e = got[key], expected[key]
        assert g.ndim == 0 and g.dtype == torch.float64, key
        x, y = float(g), float(e)
        assert (math.isnan(x) and math.isnan(y)) or x == y, (key, x, y)


# ------------------------------------------------------------ MulticlassMetrics


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("labels", [False, True], ids=["scores", "labels"])
def test_thresholded_equal_the_kernels(device: str, average: str, labels: bool) -> None:
    batches = [(p.argmax(1) if labels else p, t) for p, t in _batches(0, absent=4)]
    batches = [(p.to(device), t.to(device)) for p, t in batches]
    got = _fed(MulticlassMetrics(C, average=average).to(device), batches)  # type: ignore[arg-type]
    preds, target = _all(batches)
    expected = {k: f(preds, target, C, average=average) for k, f in KERNELS.items()}
    _assert_equal(got, _flat(expected, average))
    assert all(v.device == preds.device for v in got.values())


@pytest.mark.parametrize("average", AVERAGES)
def test_thresholded_equal_sklearn_and_torchmetrics(average: str) -> None:
    batches = _batches(1, absent=4)  # class 4 never a target, and rarely predicted
    got = _fed(MulticlassMetrics(C, average=average), batches)  # type: ignore[arg-type]
    preds, target = _all(batches)
    y, yhat = target.numpy(), preds.argmax(1).numpy()
    sk_avg = None if average == "none" else average
    sk = {
        "precision": skm.precision_score(y, yhat, average=sk_avg, labels=range(C) if
                                         average == "none" else None, zero_division=0),
        "recall": skm.recall_score(y, yhat, average=sk_avg, labels=range(C) if
                                   average == "none" else None, zero_division=0),
        "f1": skm.f1_score(y, yhat, average=sk_avg, labels=range(C) if
                           average == "none" else None, zero_division=0),
    }
    tm = {
        "accuracy": tmc.MulticlassAccuracy(C, average=average),
        "precision": tmc.MulticlassPrecision(C, average=average),
        "recall": tmc.MulticlassRecall(C, average=average),
        "f1": tmc.MulticlassF1Score(C, average=average),
    }
    for key, m in tm.items():
        for p, t in batches:
            m.update(p, t)
        ref = m.compute()
        ours = (torch.stack([got[f"{key}/{c}"] for c in range(C)]) if average == "none"
                else got[key])
        torch.testing.assert_close(ours.float(), ref, rtol=1e-6, atol=1e-7)
        if key in sk:
            np.testing.assert_allclose(ours.numpy(), sk[key], rtol=1e-12, atol=0)
    if average == "micro":
        assert float(got["accuracy"]) == skm.accuracy_score(y, yhat)


def test_thresholded_ignore_index_equals_filtered_data() -> None:
    batches = _batches(2)
    masked = []
    for p, t in batches:
        t = t.clone()
        t[::3] = IGNORE
        masked.append((p, t))
    got = _fed(MulticlassMetrics(C, ignore_index=IGNORE), masked)
    preds, target = _all(masked)
    keep = target != IGNORE
    expected = {k: f(preds[keep], target[keep], C, average="macro") for k, f in KERNELS.items()}
    _assert_equal(got, expected)
    tm = tmc.MulticlassF1Score(C, ignore_index=IGNORE)
    torch.testing.assert_close(got["f1"].float(), tm(preds, target), rtol=1e-6, atol=1e-7)
    # predictions at ignored samples are never read, out of range or not
    labels = torch.where(target == IGNORE, 99, preds.argmax(1))
    again = MulticlassMetrics(C, ignore_index=IGNORE)
    again.update(labels, target)
    _assert_equal(again.compute(), got)


def test_thresholded_equals_evaluate_classification() -> None:
    batches = _batches(3, coarse=False)
    preds, target = _all(batches)
    probs = preds.double() / preds.double().sum(1, keepdim=True)
    names = ["car", "bus", "bike", "tram", "van"]
    n = target.shape[0]
    gt = {"datum_uid": [str(i) for i in range(n)], "key": ["k"] * n,
          "value": [names[int(c)] for c in target]}
    pd = {"datum_uid": [str(i) for i in range(n)], "key": ["k"] * n, "scores": probs.tolist()}
    offline = assay.evaluate_classification(gt, pd, labels={"k": names})
    assert isinstance(offline, assay.ClassificationResult)
    k = offline["k"]
    for average in ("macro", "micro", "weighted"):
        m = MulticlassMetrics(C, average=average, class_names=names)  # type: ignore[arg-type]
        got = _fed(m, [(probs[:40], target[:40]), (probs[40:], target[40:])])
        for key in ("precision", "recall", "f1"):
            assert float(got[key]) == pytest.approx(getattr(getattr(k, key), average), abs=1e-15)
    assert float(got["accuracy"]) == pytest.approx(k.accuracy, abs=1e-15)
    per = _fed(MulticlassMetrics(C, average="none", class_names=names), [(probs, target)])
    for v in k.per_value:
        assert float(per[f"precision/{v.value}"]) == v.precision
        assert float(per[f"recall/{v.value}"]) == v.recall
        assert float(per[f"f1/{v.value}"]) == v.f1
    assert m.confmat.tolist() == [list(r) for r in k.confusion_matrix]


def test_thresholded_empty_and_one_sample() -> None:
    m = MulticlassMetrics(C, average="micro")
    m.update(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long))
    assert {k: float(v) for k, v in m.compute().items()} == dict.fromkeys(KERNELS, 0.0)
    one = MulticlassMetrics(C)(torch.tensor([2]), torch.tensor([2]))
    assert {k: float(v) for k, v in one.items()} == dict.fromkeys(KERNELS, 1.0)


# ----------------------------------------------------- MulticlassRankingMetrics


@pytest.mark.parametrize("average", RANKING_AVERAGES)
def test_ranking_equal_the_kernels_with_ties(device: str, average: str) -> None:
    batches = [(p.to(device), t.to(device)) for p, t in _batches(4, absent=4)]
    metric = MulticlassRankingMetrics(C, average=average).to(device)  # type: ignore[arg-type]
    got = _fed(metric, batches)
    preds, target = _all(batches)
    expected = {
        "auroc": multiclass_auroc(preds, target, C, average=average),  # type: ignore[arg-type]
        "average_precision": multiclass_average_precision(
            preds, target, C, average=average  # type: ignore[arg-type]
        ),
    }
    _assert_equal(got, _flat(expected, average))
    if average == "none":  # class 4 has no positive: AUROC NaN, AP 0 (scikit-learn's)
        assert math.isnan(float(got["auroc/4"])) and float(got["average_precision/4"]) == 0.0


def test_ranking_order_and_batching_do_not_matter() -> None:
    batches = _batches(5)
    a = _fed(MulticlassRankingMetrics(C, average=None), batches)
    b = _fed(MulticlassRankingMetrics(C, average=None), [_all(batches[::-1])])
    _assert_equal(a, b)


@pytest.mark.parametrize("average", ["macro", "weighted", "none"])
def test_ranking_equal_sklearn_and_torchmetrics(average: str) -> None:
    batches = _batches(6)  # every class has positives: the tools agree
    got = _fed(MulticlassRankingMetrics(C, average=average), batches)  # type: ignore[arg-type]
    preds, target = _all(batches)
    y, s = target.numpy(), preds.double().numpy()
    per_auc = [skm.roc_auc_score(y == c, s[:, c]) for c in range(C)]
    per_ap = [skm.average_precision_score(y == c, s[:, c]) for c in range(C)]
    tm_avg = None if average == "none" else average
    refs = {
        "auroc": (per_auc, tmc.MulticlassAUROC(C, average=tm_avg, thresholds=None)),
        "average_precision": (
            per_ap, tmc.MulticlassAveragePrecision(C, average=tm_avg, thresholds=None)
        ),
    }
    support = np.bincount(y, minlength=C)
    for key, (per, tm) in refs.items():
        for p, t in batches:
            tm.update(p, t)
        if average == "none":
            ours = torch.stack([got[f"{key}/{c}"] for c in range(C)])
            sk = np.asarray(per)
        else:
            ours = got[key]
            sk = np.average(per, weights=support if average == "weighted" else None)
        np.testing.assert_allclose(ours.numpy(), sk, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(ours.float(), tm.compute(), rtol=1e-5, atol=1e-6)


def test_ranking_micro_equals_sklearn_on_one_hot() -> None:
    preds, target = _all(_batches(7))
    got = MulticlassRankingMetrics(C, average="micro")(preds, target)
    onehot = np.eye(C)[target.numpy()].ravel()
    flat = preds.double().numpy().ravel()
    assert float(got["auroc"]) == pytest.approx(skm.roc_auc_score(onehot, flat), rel=1e-12)
    assert float(got["average_precision"]) == pytest.approx(
        skm.average_precision_score(onehot, flat), rel=1e-12
    )


def test_ranking_absent_class_differs_from_torchmetrics_as_documented() -> None:
    preds, target = _all(_batches(8, absent=4))
    got = MulticlassRankingMetrics(C, average=None)(preds, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm_auc = tmc.MulticlassAUROC(C, average=None, thresholds=None)(preds, target)
        tm_ap = tmc.MulticlassAveragePrecision(C, average=None, thresholds=None)(preds, target)
    assert math.isnan(float(got["auroc/4"])) and float(tm_auc[4]) == 0.0
    assert float(got["average_precision/4"]) == 0.0 and math.isnan(float(tm_ap[4]))
    for c in range(4):
        assert float(got[f"auroc/{c}"]) == pytest.approx(float(tm_auc[c]), rel=1e-5)


def test_ranking_equals_evaluate_classification_float64() -> None:
    preds, target = _all(_batches(9, coarse=False))
    probs = preds.double() / preds.double().sum(1, keepdim=True)
    names = [f"c{i}" for i in range(C)]
    n = target.shape[0]
    gt = {"datum_uid": [str(i) for i in range(n)], "key": ["k"] * n,
          "value": [names[int(c)] for c in target]}
    pd = {"datum_uid": [str(i) for i in range(n)], "key": ["k"] * n, "scores": probs.tolist()}
    offline = assay.evaluate_classification(gt, pd, labels={"k": names})
    assert isinstance(offline, assay.ClassificationResult)
    k = offline["k"]
    for average in ("macro", "micro", "weighted"):
        m = MulticlassRankingMetrics(C, average=average, score_dtype=torch.float64)  # type: ignore[arg-type]
        got = _fed(m, [(probs[:7], target[:7]), (probs[7:], target[7:])])
        # per class: equal; averages: the kernels' torch reduction vs the evaluator's
        # numpy mean, which may differ in the last bit
        assert float(got["auroc"]) == pytest.approx(getattr(k.roc_auc, average), rel=1e-15)
        assert float(got["average_precision"]) == pytest.approx(
            getattr(k.average_precision, average), rel=1e-15
        )
    per = MulticlassRankingMetrics(C, average=None, class_names=names, score_dtype=torch.float64)
    out = per(probs, target)
    for v in k.per_value:
        assert float(out[f"auroc/{v.value}"]) == v.roc_auc
        assert float(out[f"average_precision/{v.value}"]) == v.average_precision


def test_score_dtype_float64_keeps_ties_apart() -> None:
    # 0.5 and 0.5 + 1e-12 are one float32 value: a tie in float32, an order in float64
    preds = torch.tensor([[0.5, 0.5], [0.5 + 1e-12, 0.5 - 1e-12]], dtype=torch.float64)
    target = torch.tensor([0, 1])
    exact = multiclass_auroc(preds, target, 2, average="none")
    f64 = MulticlassRankingMetrics(2, average=None, score_dtype=torch.float64)(preds, target)
    f32 = MulticlassRankingMetrics(2, average=None)(preds, target)
    assert float(f64["auroc/0"]) == float(exact[0]) == 0.0
    assert float(f32["auroc/0"]) == 0.5  # tied in float32
    m = MulticlassRankingMetrics(2)
    m.set_dtype(torch.float64)  # floating states follow, integer targets stay int64
    assert m.score_dtype == torch.float64
    m.update(preds, target)
    assert m.scores[-1].dtype == torch.float64 and all(t.dtype == torch.int64 for t in m.target)


def test_ranking_logits_use_the_order_only() -> None:
    g = torch.Generator().manual_seed(10)
    logits = torch.randn(50, C, generator=g) * 3
    target = torch.randint(0, C, (50,), generator=g)
    got = MulticlassRankingMetrics(C, average=None)(logits, target)
    per_auc = [skm.roc_auc_score(target.numpy() == c, logits[:, c].numpy()) for c in range(C)]
    np.testing.assert_allclose([float(got[f"auroc/{c}"]) for c in range(C)], per_auc, rtol=1e-12)


def test_ranking_ignore_index() -> None:
    preds, target = _all(_batches(11))
    t = target.clone()
    t[1::4] = IGNORE
    got = _fed(MulticlassRankingMetrics(C, ignore_index=IGNORE), [(preds[:20], t[:20]),
                                                                  (preds[20:], t[20:])])
    keep = t != IGNORE
    assert float(got["auroc"]) == float(multiclass_auroc(preds[keep], t[keep], C))
    assert float(got["average_precision"]) == float(
        multiclass_average_precision(preds[keep], t[keep], C)
    )
    tm = tmc.MulticlassAUROC(C, thresholds=None, ignore_index=IGNORE)(preds, t)
    torch.testing.assert_close(got["auroc"].float(), tm, rtol=1e-5, atol=1e-6)


def test_ranking_no_data() -> None:
    m = MulticlassRankingMetrics(C)
    m.update(torch.zeros(0, C), torch.zeros(0, dtype=torch.long))
    out = m.compute()
    assert math.isnan(float(out["auroc"])) and float(out["average_precision"]) == 0.0


# ----------------------------------------------------------- torchmetrics machinery


@pytest.mark.parametrize("cls", [MulticlassMetrics, MulticlassRankingMetrics])
def test_reset_forward_state_dict_pickle(cls: type) -> None:
    batches = _batches(12)
    metric = cls(C, average="none")
    metric.persistent(True)
    for p, t in batches:
        step = metric(p, t)  # forward: this batch's values, and accumulates
        _assert_equal(step, cls(C, average="none")(p, t))
    preds, target = _all(batches)
    whole = cls(C, average="none")(preds, target)
    _assert_equal(metric.compute(), whole)
    restored = cls(C, average="none")
    restored.load_state_dict(metric.state_dict())
    with warnings.catch_warnings():  # torchmetrics: "compute before update" (count not saved)
        warnings.simplefilter("ignore")
        _assert_equal(restored.compute(), whole)
    _assert_equal(pickle.loads(pickle.dumps(metric)).compute(), whole)
    metric.reset()
    metric.update(*batches[0])
    _assert_equal(metric.compute(), cls(C, average="none")(*batches[0]))


def test_ranking_state_is_flat_typed_tensors(device: str) -> None:
    metric = MulticlassRankingMetrics(C).to(device)
    # an empty typed placeholder: a rank without data still gathers (0, C) / (0,) tensors
    assert [tuple(s.shape) for s in metric.scores] == [(0, C)]
    assert metric.target[0].dtype == torch.int64
    p, t = _batches(13)[0]
    metric.update(p.to(device), t.to(device))
    assert all(s.device.type == device for s in [*metric.scores, *metric.target])
    metric.reset()
    assert [tuple(s.shape) for s in metric.scores] == [(0, C)]


def test_thresholded_state_is_one_confusion_matrix(device: str) -> None:
    metric = MulticlassMetrics(C).to(device)
    assert metric.confmat.shape == (C, C) and metric.confmat.dtype == torch.int64
    metric.set_dtype(torch.float64)
    assert metric.confmat.dtype == torch.int64


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("cls", [MulticlassMetrics, MulticlassRankingMetrics])
def test_bad_arguments(cls: type) -> None:
    with pytest.raises(ValueError, match=r"Expected `num_classes` to be an int >= 1, but got 0"):
        cls(0)
    with pytest.raises(ValueError, match=r"Expected `average` to be one of .* or None, but got "
                                         r"'samples'"):
        cls(3, average="samples")
    with pytest.raises(TypeError, match=r"Expected `ignore_index` to be an int, but got float"):
        cls(3, ignore_index=1.5)
    with pytest.raises(ValueError, match=r"Expected `class_names` to be num_classes=3 unique"):
        cls(3, class_names=["a", "a", "b"])
    with pytest.raises(TypeError, match=r"Expected `class_names` to be a sequence of str"):
        cls(3, class_names="abc")


def test_bad_score_dtype() -> None:
    with pytest.raises(TypeError, match=r"Expected `score_dtype` to be a floating torch.dtype, "
                                        r"but got torch.int64"):
        MulticlassRankingMetrics(3, score_dtype=torch.int64)


@pytest.mark.parametrize(
    ("preds", "target", "error", "match"),
    [
        (torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), ValueError,
         r"Expected `preds` to have shape \(N, num_classes=5\), but got \(4, 3\)"),
        (torch.zeros(4, 5), torch.zeros(3, dtype=torch.long), ValueError,
         r"Expected `preds` and `target` to have the same length, but got 4 and 3"),
        (torch.zeros(4, 5), torch.zeros(4, 1, dtype=torch.long), ValueError,
         r"Expected `target` to have shape \(N,\), but got \(4, 1\)"),
        (torch.zeros(4, 5), torch.zeros(4), TypeError,
         r"Expected `target` to hold integer class indexes, but got dtype torch.float32"),
        (torch.zeros(4, 5), [0, 1, 2, 3], TypeError,
         r"Expected `target` to be a torch.Tensor or numpy array, but got list"),
        (torch.tensor([[0.1, 0.2, float("nan"), 0.3, 0.4]]), torch.zeros(1, dtype=torch.long),
         ValueError, r"Expected `preds` to hold no NaN, but got NaN at index \(0, 2\)"),
        (torch.zeros(2, 5), torch.tensor([0, 5]), ValueError,
         r"Expected `target` values in \[0, 5\), but got 5 at index \(1,\)"),
    ],
)
@pytest.mark.parametrize("cls", [MulticlassMetrics, MulticlassRankingMetrics])
def test_bad_input(
    cls: type, preds: torch.Tensor, target: torch.Tensor, error: type[Exception], match: str
) -> None:
    metric = cls(C)
    with pytest.raises(error, match=match):
        metric.update(preds, target)
    if cls is MulticlassMetrics:
        assert int(metric.confmat.sum()) == 0
    else:
        assert sum(s.shape[0] for s in metric.scores) == 0


def test_thresholded_bad_labels() -> None:
    metric = MulticlassMetrics(C, ignore_index=IGNORE)
    with pytest.raises(ValueError, match=r"Expected `preds` values in \[0, 5\), but got 7 at "
                                         r"index \(2,\)"):
        metric.update(torch.tensor([0, 1, 7]), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"Expected `target` values in \[0, 5\) or ignore_index "
                                         r"-100, but got -1 at index \(0,\)"):
        metric.update(torch.tensor([0]), torch.tensor([-1]))
    with pytest.raises(TypeError, match=r"Expected \(N,\) `preds` to hold integer class indexes, "
                                        r"but got dtype torch.float32; pass \(N, num_classes\)"):
        metric.update(torch.tensor([0.0, 1.0]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"Expected `preds` to have shape \(N,\) or \(N, "
                                         r"num_classes=5\), but got \(1, 2, 5\)"):
        metric.update(torch.zeros(1, 2, 5), torch.tensor([0]))


@pytest.mark.parametrize("device_path", [False, True], ids=["cpu", "device_emulated"])
@pytest.mark.parametrize("ignore", [None, IGNORE, 2])
def test_thresholded_validate_args_false_drops_out_of_range_classes(
    monkeypatch: pytest.MonkeyPatch, device_path: bool, ignore: int | None
) -> None:
    # device_emulated: the kernel takes its device branch on the CPU (no value read)
    if device_path:
        from assay.kernels import segmentation

        monkeypatch.setattr(segmentation, "reads_values", lambda *xs: False)
    g = torch.Generator().manual_seed(5)
    metric = MulticlassMetrics(C, ignore_index=ignore, validate_args=False)
    want = np.zeros((C, C), np.int64)
    for dtype in (torch.int64, torch.int32, torch.int8):
        target = torch.randint(-3, 2 * C, (60,), generator=g)
        preds = torch.randint(-2, C + 2, (60,), generator=g)
        target[:5] = IGNORE
        target, preds = target.to(dtype), preds.to(dtype)
        metric.update(preds, target)
        for t, p in zip(target.tolist(), preds.tolist(), strict=True):
            if t != ignore and 0 <= t < C and 0 <= p < C:
                want[t, p] += 1
    np.testing.assert_array_equal(metric.confmat.numpy(), want)
    assert 0 < int(metric.confmat.sum()) < 180


def test_ranking_rejects_label_preds() -> None:
    with pytest.raises(ValueError, match=r"Expected `preds` to have shape \(N, num_classes=5\)"):
        MulticlassRankingMetrics(C).update(torch.tensor([0, 1]), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match=r"Expected `preds` to hold float scores, but got dtype "
                                        r"torch.int64"):
        MulticlassRankingMetrics(C).update(torch.zeros(2, C, dtype=torch.long), torch.arange(2))


@pytest.mark.parametrize("cls", [MulticlassMetrics, MulticlassRankingMetrics])
def test_device_mismatch_says_the_fix(cls: type) -> None:
    metric = cls(C)
    meta = torch.zeros(2, C, device="meta")
    with pytest.raises(ValueError, match=r"Expected `preds` on the metric's device cpu, but got "
                                         rf"meta; move the metric .*`metric = {cls.__name__}"
                                         r"\(\.\.\.\)\.to\(device\)`.*`preds\.to\(metric\.device\)`"):
        metric.update(meta, torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"Expected `target` on the metric's device cpu"):
        metric.update(torch.zeros(2, C), torch.zeros(2, dtype=torch.long, device="meta"))


def test_numpy_inputs() -> None:
    p, t = _batches(14)[0]
    a = MulticlassRankingMetrics(C)(p.numpy(), t.numpy())
    _assert_equal(a, MulticlassRankingMetrics(C)(p, t))
    b = MulticlassMetrics(C)(p.argmax(1).numpy().astype(np.int32), t.numpy())
    _assert_equal(b, MulticlassMetrics(C)(p, t))


def test_unsigned_labels_widen_and_uint64_past_int64_is_named() -> None:
    m = MulticlassMetrics(3, average="micro")
    u16, u64 = torch.uint16, torch.uint64
    m.update(torch.tensor([0, 1, 2], dtype=u16), torch.tensor([0, 2, 2], dtype=u64))
    assert float(m.compute()["accuracy"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"`target` to hold labels below 2\*\*63, but got "
                                         r"9223372036854775809 at index \(1,\)"):
        m.update(torch.tensor([0, 1]), torch.tensor([0, 2**63 + 1], dtype=torch.uint64))
    with pytest.raises(ValueError, match=r"`preds` to hold labels below 2\*\*63"):
        m.update(torch.tensor([0, 2**63], dtype=torch.uint64), torch.tensor([0, 1]))
