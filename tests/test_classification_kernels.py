"""Classification kernels vs scikit-learn, on CPU and CUDA, incl. degenerate cases.

Every number is compared with scikit-learn's (ECE with a formula over scikit-learn's
``calibration_curve`` bins, and with torchmetrics where its binning agrees).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from assay import kernels as K
from assay.kernels import classification as kc

sk = pytest.importorskip("sklearn.metrics")
from sklearn.calibration import calibration_curve  # noqa: E402

ATOL = 1e-12


def _dirichlet(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    return rng.dirichlet(np.ones(c), size=n)


def _case_random(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return _dirichlet(rng, 300, 5), rng.integers(0, 5, 300)


def _case_ties(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # scores on a 0.1 grid: many ties inside every column and across columns
    s = np.round(_dirichlet(rng, 400, 4), 1)
    return s, rng.integers(0, 4, 400)


def _case_never_predicted(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = _dirichlet(rng, 200, 4)
    s[:, 2] = s.min(axis=1) * 0.5  # class 2 is never the argmax
    s /= s.sum(axis=1, keepdims=True)
    return s, rng.integers(0, 4, 200)


def _case_absent_from_gt(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = rng.integers(0, 4, 200)
    t[t == 3] = 1  # class 3 never in the ground truth (but it is predicted)
    return _dirichlet(rng, 200, 4), t


def _case_absent_everywhere(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = _dirichlet(rng, 150, 4)
    s[:, 1] = 0.0
    s /= s.sum(axis=1, keepdims=True)
    t = rng.integers(0, 4, 150)
    t[t == 1] = 0
    return s, t


def _case_single_class(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return np.ones((50, 1)), np.zeros(50, dtype=np.int64)


def _case_all_equal(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return np.full((120, 3), 1.0 / 3.0), rng.integers(0, 3, 120)


def _case_extreme(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = rng.integers(0, 3, 250)
    pred = np.where(rng.random(250) < 0.7, t, rng.integers(0, 3, 250))
    s = np.full((250, 3), 1e-12)
    s[np.arange(250), pred] = 1.0 - 2e-12
    s[:40] = np.eye(3)[pred[:40]]  # exact 0 and 1
    return s, t


def _case_two_classes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    p = np.round(rng.random(180), 2)
    return np.stack([1 - p, p], axis=1), (rng.random(180) < p).astype(np.int64)


CASES: dict[str, Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "random": _case_random,
    "ties": _case_ties,
    "class_never_predicted": _case_never_predicted,
    "class_absent_from_gt": _case_absent_from_gt,
    "class_absent_everywhere": _case_absent_everywhere,
    "single_class": _case_single_class,
    "all_equal_scores": _case_all_equal,
    "extreme_probabilities": _case_extreme,
    "two_classes": _case_two_classes,
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(abs(hash(request.param)) % 2**32)
    return CASES[request.param](rng)


@pytest.fixture(params=[torch.float64, torch.float32])
def dtype(request: pytest.FixtureRequest) -> torch.dtype:
    return request.param  # type: ignore[no-any-return]


def _tensors(
    case: tuple[np.ndarray, np.ndarray], device: str, dtype: torch.dtype
) -> tuple[Tensor, Tensor, np.ndarray, np.ndarray]:
    s, t = case
    preds = torch.as_tensor(s, dtype=dtype, device=device)
    # the reference sees exactly the values the kernel sees
    return preds, torch.as_tensor(t, device=device), preds.cpu().numpy(), t


Tensor = torch.Tensor


def _np(x: Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()


def _quiet(fn: Callable[..., float], *args: object, **kwargs: object) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(*args, **kwargs))


# --------------------------------------------------------------- confusion, P/R/F1


def test_confusion_and_prf_match_sklearn(
    case: tuple[np.ndarray, np.ndarray], device: str, dtype: torch.dtype
) -> None:
    preds, target, s, t = _tensors(case, device, dtype)
    c = s.shape[1]
    pred = s.argmax(axis=1)
    cm = K.multiclass_confusion_matrix(preds, target, c)
    assert cm.device.type == device.split(":")[0]
    np.testing.assert_array_equal(_np(cm), sk.confusion_matrix(t, pred, labels=list(range(c))))
    labels = K.multiclass_confusion_matrix(torch.as_tensor(pred, device=device), target, c)
    np.testing.assert_array_equal(_np(labels), _np(cm))
    ref = sk.precision_recall_fscore_support(
        t, pred, labels=list(range(c)), average=None, zero_division=0
    )
    for fn, want in zip(
        (K.multiclass_precision, K.multiclass_recall, K.multiclass_f1_score), ref[:3], strict=True
    ):
        np.testing.assert_allclose(_np(fn(preds, target, c, average="none")), want, atol=ATOL)
        np.testing.assert_allclose(_np(fn(preds, target, c, average=None)), want, atol=ATOL)
    for average in ("macro", "micro", "weighted"):
        for fn, skfn in (
            (K.multiclass_precision, sk.precision_score),
            (K.multiclass_recall, sk.recall_score),
            (K.multiclass_f1_score, sk.f1_score),
        ):
            want = skfn(t, pred, average=average, zero_division=0)
            got = fn(preds, target, c, average=average)  # type: ignore[arg-type]
            assert abs(float(got) - want) <= ATOL, (fn.__name__, average, float(got), want)


def test_accuracy_and_top_k_match_sklearn(
    case: tuple[np.ndarray, np.ndarray], device: str, dtype: torch.dtype
) -> None:
    preds, target, s, t = _tensors(case, device, dtype)
    c = s.shape[1]
    pred = s.argmax(axis=1)
    got = K.multiclass_accuracy(preds, target, c)
    assert abs(float(got) - sk.accuracy_score(t, pred)) <= ATOL
    macro = K.multiclass_accuracy(preds, target, c, average="macro")
    assert abs(float(macro) - sk.recall_score(t, pred, average="macro", zero_division=0)) <= ATOL
    for k in range(2, c + 1):
        if c < 3:
            break
        want = _quiet(sk.top_k_accuracy_score, t, s, k=k, labels=list(range(c)))
        got = K.multiclass_accuracy(preds, target, c, top_k=k)
        assert abs(float(got) - want) <= ATOL, (k, float(got), want)
        per_class = _np(K.multiclass_accuracy(preds, target, c, top_k=k, average="none"))
        for cls in range(c):
            sel = t == cls
            ref = (
                _quiet(sk.top_k_accuracy_score, t[sel], s[sel], k=k, labels=list(range(c)))
                if sel.any()
                else 0.0
            )
            assert abs(per_class[cls] - ref) <= ATOL


def test_top_k_ties_follow_sklearn_not_argmax(device: str) -> None:
    # sklearn's top_k_accuracy_score ranks the higher class index first among ties
    s = np.array([[0.4, 0.4, 0.2], [0.4, 0.4, 0.2], [0.2, 0.4, 0.4]])
    t = np.array([0, 1, 2])
    for k in (2,):
        want = sk.top_k_accuracy_score(t, s, k=k, labels=[0, 1, 2])
        got = K.multiclass_accuracy(
            torch.tensor(s, device=device), torch.tensor(t, device=device), 3, top_k=k
        )
        assert float(got) == want
    # top-1 is accuracy_score on the argmax (ties to the lower index)
    got1 = K.multiclass_accuracy(torch.tensor(s, device=device), torch.tensor(t, device=device), 3)
    assert float(got1) == sk.accuracy_score(t, s.argmax(axis=1))


# ------------------------------------------------------------------------- ranking


def _per_class(fn: Callable[..., float], t: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.array([_quiet(fn, (t == c).astype(int), s[:, c]) for c in range(s.shape[1])])


def test_auroc_and_ap_match_sklearn(
    case: tuple[np.ndarray, np.ndarray], device: str, dtype: torch.dtype
) -> None:
    preds, target, s, t = _tensors(case, device, dtype)
    c = s.shape[1]
    auc_ref = _per_class(sk.roc_auc_score, t, s)
    ap_ref = _per_class(sk.average_precision_score, t, s)
    auc = _np(K.multiclass_auroc(preds, target, c, average="none"))
    ap = _np(K.multiclass_average_precision(preds, target, c, average=None))
    np.testing.assert_allclose(auc, auc_ref, atol=ATOL)  # nan where sklearn is nan
    np.testing.assert_allclose(ap, ap_ref, atol=ATOL)
    support = np.bincount(t, minlength=c)
    ok = ~np.isnan(auc_ref)
    macro = float(K.multiclass_auroc(preds, target, c))
    if ok.any():
        assert abs(macro - auc_ref[ok].mean()) <= ATOL
        weighted = float(K.multiclass_auroc(preds, target, c, average="weighted"))
        assert abs(weighted - np.average(auc_ref[ok], weights=support[ok])) <= ATOL
    else:
        assert np.isnan(macro)
    if ok.all() and c > 2 and np.allclose(1, s.sum(axis=1)):
        for avg in ("macro", "weighted"):
            want = sk.roc_auc_score(t, s, multi_class="ovr", average=avg, labels=list(range(c)))
            got = float(K.multiclass_auroc(preds, target, c, average=avg))  # type: ignore[arg-type]
            assert abs(got - want) <= ATOL
    ap_macro = float(K.multiclass_average_precision(preds, target, c))
    assert abs(ap_macro - ap_ref.mean()) <= ATOL
    ap_w = float(K.multiclass_average_precision(preds, target, c, average="weighted"))
    assert abs(ap_w - np.average(ap_ref, weights=support)) <= ATOL
    onehot = (t[:, None] == np.arange(c)[None]).astype(int)
    micro_auc = _quiet(sk.roc_auc_score, onehot.ravel(), s.ravel())
    got_micro = float(K.multiclass_auroc(preds, target, c, average="micro"))
    np.testing.assert_allclose(got_micro, micro_auc, atol=ATOL)
    micro_ap = _quiet(sk.average_precision_score, onehot.ravel(), s.ravel())
    got_micro_ap = float(K.multiclass_average_precision(preds, target, c, average="micro"))
    assert abs(got_micro_ap - micro_ap) <= ATOL


def test_curves_match_sklearn(
    case: tuple[np.ndarray, np.ndarray], device: str, dtype: torch.dtype
) -> None:
    preds, target, s, t = _tensors(case, device, dtype)
    c = s.shape[1]
    roc = K.multiclass_roc(preds, target, c)
    pr = K.multiclass_precision_recall_curve(preds, target, c)
    assert roc.fpr.shape == (c, s.shape[0] + 1) and pr.thresholds.shape == (c, s.shape[0])
    for cls in range(c):
        y = (t == cls).astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fpr, tpr, thr = sk.roc_curve(y, s[:, cls], drop_intermediate=False)
            prec, rec, pthr = sk.precision_recall_curve(y, s[:, cls])
        n = int(roc.lengths[cls])
        assert n == len(fpr)
        np.testing.assert_allclose(_np(roc.fpr[cls, :n]), fpr, atol=ATOL)
        np.testing.assert_allclose(_np(roc.tpr[cls, :n]), tpr, atol=ATOL)
        np.testing.assert_array_equal(_np(roc.thresholds[cls, :n]), thr)
        # padding repeats the last point
        np.testing.assert_array_equal(_np(roc.fpr[cls, n:]), np.full(s.shape[0] + 1 - n, fpr[-1]))
        m = int(pr.lengths[cls])
        assert m == len(prec)
        np.testing.assert_allclose(_np(pr.precision[cls, :m]), prec, atol=ATOL)
        np.testing.assert_allclose(_np(pr.recall[cls, :m]), rec, atol=ATOL)
        np.testing.assert_array_equal(_np(pr.thresholds[cls, : m - 1]), pthr)


def test_auc_of_padded_roc_rows_is_the_auc(device: str) -> None:
    rng = np.random.default_rng(3)
    s = np.round(rng.random((500, 6)), 2)
    t = rng.integers(0, 6, 500)
    roc = K.multiclass_roc(torch.tensor(s, device=device), torch.tensor(t, device=device), 6)
    area = np.trapezoid(_np(roc.tpr), _np(roc.fpr), axis=1)
    np.testing.assert_allclose(area, _per_class(sk.roc_auc_score, t, s), atol=1e-12)


def test_blocks_over_classes_give_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch, device: str
) -> None:
    rng = np.random.default_rng(5)
    s = np.round(_dirichlet(rng, 97, 11), 2)
    t = rng.integers(0, 11, 97)
    preds, target = torch.tensor(s, device=device), torch.tensor(t, device=device)
    whole = K.multiclass_auroc(preds, target, 11, average="none")
    whole_pr = K.multiclass_precision_recall_curve(preds, target, 11)
    monkeypatch.setattr(kc, "_BLOCK", 200)  # 2 classes per block
    assert len(kc._blocks(11, 97)) == 6
    np.testing.assert_array_equal(
        _np(K.multiclass_auroc(preds, target, 11, average="none")), _np(whole)
    )
    np.testing.assert_allclose(_per_class(sk.roc_auc_score, t, s), _np(whole), atol=ATOL)
    blocked = K.multiclass_precision_recall_curve(preds, target, 11)
    for a, b in zip(blocked, whole_pr, strict=True):
        np.testing.assert_array_equal(_np(a), _np(b))


def test_large_ties_parity(device: str) -> None:
    rng = np.random.default_rng(11)
    s = np.round(rng.random((5000, 7)).astype(np.float32), 3)
    t = rng.integers(0, 7, 5000)
    preds, target = torch.tensor(s, device=device), torch.tensor(t, device=device)
    np.testing.assert_allclose(
        _np(K.multiclass_auroc(preds, target, 7, average=None)),
        _per_class(sk.roc_auc_score, t, s),
        atol=ATOL,
    )
    np.testing.assert_allclose(
        _np(K.multiclass_average_precision(preds, target, 7, average=None)),
        _per_class(sk.average_precision_score, t, s),
        atol=ATOL,
    )


# --------------------------------------------------------------------- calibration


def _sklearn_bins(s: np.ndarray, t: np.ndarray, n_bins: int) -> tuple[np.ndarray, ...]:
    conf = s.max(axis=1).astype(np.float64)
    correct = (s.argmax(axis=1) == t).astype(int)
    prob_true, prob_pred = calibration_curve(correct, conf, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], conf), minlength=n_bins)
    return prob_true, prob_pred, counts


@pytest.mark.parametrize("n_bins", [1, 5, 15])
def test_reliability_bins_and_ece_match_sklearn_bins(
    case: tuple[np.ndarray, np.ndarray], device: str, dtype: torch.dtype, n_bins: int
) -> None:
    preds, target, s, t = _tensors(case, device, dtype)
    c = s.shape[1]
    if len(np.unique(s.argmax(axis=1) == t)) < 2:
        pytest.skip("calibration_curve needs both correct and wrong predictions")
    prob_true, prob_pred, counts = _sklearn_bins(s, t, n_bins)
    bins = K.multiclass_reliability_bins(preds, target, c, n_bins=n_bins)
    np.testing.assert_array_equal(_np(bins.counts), counts)
    nz = counts > 0
    np.testing.assert_allclose(_np(bins.accuracy)[nz], prob_true, atol=ATOL)
    np.testing.assert_allclose(_np(bins.confidence)[nz], prob_pred, atol=ATOL)
    np.testing.assert_array_equal(_np(bins.edges), np.linspace(0, 1, n_bins + 1))
    w = counts[nz] / counts.sum()
    gap = np.abs(prob_true - prob_pred)
    for norm, want in (
        ("l1", np.sum(w * gap)),
        ("l2", np.sqrt(np.sum(w * gap**2))),
        ("max", gap.max()),
    ):
        got = K.multiclass_calibration_error(preds, target, c, n_bins=n_bins, norm=norm)  # type: ignore[arg-type]
        assert abs(float(got) - want) <= ATOL, (norm, float(got), want)


def test_ece_matches_torchmetrics_off_the_bin_edges(device: str) -> None:
    tmf = pytest.importorskip("torchmetrics.functional.classification")
    rng = np.random.default_rng(7)
    s = _dirichlet(rng, 2000, 6)
    t = rng.integers(0, 6, 2000)
    preds, target = torch.tensor(s, device=device), torch.tensor(t, device=device)
    for norm in ("l1", "max"):
        want = tmf.multiclass_calibration_error(preds, target, 6, n_bins=15, norm=norm)
        got = K.multiclass_calibration_error(preds, target, 6, n_bins=15, norm=norm)  # type: ignore[arg-type]
        assert abs(float(got) - float(want)) <= 1e-6  # torchmetrics bins in float32


def test_ece_differs_from_torchmetrics_only_for_confidence_on_an_edge() -> None:
    # confidence exactly 1.0: sklearn's last bin, torchmetrics' extra bin
    s = torch.tensor([[1.0, 0.0], [0.95, 0.05], [0.97, 0.03]], dtype=torch.float64)
    t = torch.tensor([0, 1, 0])
    bins = K.multiclass_reliability_bins(s, t, 2, n_bins=10)
    assert bins.counts.tolist() == [0] * 9 + [3]
    prob_true, prob_pred = calibration_curve(
        np.array([1, 0, 1]), np.array([1.0, 0.95, 0.97]), n_bins=10
    )
    np.testing.assert_allclose(bins.accuracy[-1].item(), prob_true[0])
    np.testing.assert_allclose(bins.confidence[-1].item(), prob_pred[0])


# ---------------------------------------------------------------------- multilabel


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multilabel_matches_sklearn(seed: int, device: str, dtype: torch.dtype) -> None:
    rng = np.random.default_rng(seed)
    n, c = 150, 5
    s = np.round(rng.random((n, c)), 2)
    y = (rng.random((n, c)) < 0.4).astype(np.int64)
    y[:, 3] = 0  # a label with no positives
    y[:, 4] = 1  # a label with no negatives
    s[:, 2] = 0.1  # a label never predicted at threshold 0.5
    preds = torch.as_tensor(s, dtype=dtype, device=device)
    s = preds.cpu().numpy()
    target = torch.as_tensor(y, device=device)
    hard = (s > 0.5).astype(int)
    np.testing.assert_array_equal(
        _np(K.multilabel_confusion_matrix(preds, target, c)),
        sk.multilabel_confusion_matrix(y, hard),
    )
    for fn, skfn in (
        (K.multilabel_precision, sk.precision_score),
        (K.multilabel_recall, sk.recall_score),
        (K.multilabel_f1_score, sk.f1_score),
    ):
        np.testing.assert_allclose(
            _np(fn(preds, target, c, average="none")),
            skfn(y, hard, average=None, zero_division=0),
            atol=ATOL,
        )
        for avg in ("macro", "micro", "weighted"):
            want = skfn(y, hard, average=avg, zero_division=0)
            assert abs(float(fn(preds, target, c, average=avg)) - want) <= ATOL  # type: ignore[arg-type]
    np.testing.assert_allclose(
        _np(K.multilabel_precision(torch.as_tensor(hard, device=device), target, c, average=None)),
        sk.precision_score(y, hard, average=None, zero_division=0),
        atol=ATOL,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auc_ref = sk.roc_auc_score(y, s, average=None)
        ap_ref = sk.average_precision_score(y, s, average=None)
        micro_auc = sk.roc_auc_score(y, s, average="micro")
        micro_ap = sk.average_precision_score(y, s, average="micro")
    np.testing.assert_allclose(
        _np(K.multilabel_auroc(preds, target, c, average=None)), auc_ref, atol=ATOL
    )
    np.testing.assert_allclose(
        _np(K.multilabel_average_precision(preds, target, c, average="none")), ap_ref, atol=ATOL
    )
    ok = ~np.isnan(auc_ref)
    assert abs(float(K.multilabel_auroc(preds, target, c)) - auc_ref[ok].mean()) <= ATOL
    assert abs(float(K.multilabel_auroc(preds, target, c, average="micro")) - micro_auc) <= ATOL
    assert abs(float(K.multilabel_average_precision(preds, target, c)) - ap_ref.mean()) <= ATOL
    got = float(K.multilabel_average_precision(preds, target, c, average="micro"))
    assert abs(got - micro_ap) <= ATOL
    roc = K.multilabel_roc(preds, target, c)
    pr = K.multilabel_precision_recall_curve(preds, target, c)
    for j in range(c):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fpr, tpr, _ = sk.roc_curve(y[:, j], s[:, j], drop_intermediate=False)
            prec, rec, _ = sk.precision_recall_curve(y[:, j], s[:, j])
        np.testing.assert_allclose(_np(roc.fpr[j, : int(roc.lengths[j])]), fpr, atol=ATOL)
        np.testing.assert_allclose(_np(roc.tpr[j, : int(roc.lengths[j])]), tpr, atol=ATOL)
        np.testing.assert_allclose(_np(pr.precision[j, : int(pr.lengths[j])]), prec, atol=ATOL)
        np.testing.assert_allclose(_np(pr.recall[j, : int(pr.lengths[j])]), rec, atol=ATOL)


# ------------------------------------------------------------- empty and arguments


def test_empty_input_gives_right_shapes(device: str) -> None:
    preds = torch.zeros((0, 3), device=device)
    target = torch.zeros(0, dtype=torch.int64, device=device)
    assert K.multiclass_confusion_matrix(preds, target, 3).tolist() == [[0] * 3] * 3
    assert K.multiclass_precision(preds, target, 3, average="none").shape == (3,)
    assert float(K.multiclass_accuracy(preds, target, 3)) == 0.0
    assert torch.isnan(K.multiclass_auroc(preds, target, 3, average="none")).all()
    assert K.multiclass_average_precision(preds, target, 3, average="none").tolist() == [0.0] * 3
    roc = K.multiclass_roc(preds, target, 3)
    assert roc.fpr.shape == (3, 1) and roc.lengths.tolist() == [1, 1, 1]
    pr = K.multiclass_precision_recall_curve(preds, target, 3)
    assert pr.thresholds.shape == (3, 0) and pr.precision.tolist() == [[1.0]] * 3
    assert float(K.multiclass_calibration_error(preds, target, 3)) == 0.0
    assert K.multilabel_confusion_matrix(preds, target[:, None].expand(0, 3), 3).shape == (3, 2, 2)
    assert roc.fpr.device.type == device.split(":")[0]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda p, t: K.multiclass_precision(p, t, 3, average="samples"), ValueError, "`average`"),
        (lambda p, t: K.multiclass_precision(p, t, 0), ValueError, "`num_classes`"),
        (lambda p, t: K.multiclass_precision(p[:, :2], t, 3), ValueError, "num_classes=3"),
        (lambda p, t: K.multiclass_precision(p, t[:2], 3), ValueError, "same length"),
        (lambda p, t: K.multiclass_precision(p, t.double(), 3), TypeError, "integer class"),
        (lambda p, t: K.multiclass_auroc(p.long(), t, 3), TypeError, "float scores"),
        (
            lambda p, t: K.multiclass_accuracy(p, t, 3, top_k=2, average="macro"),
            ValueError,
            "top_k > 1",
        ),
        (lambda p, t: K.multiclass_calibration_error(p, t, 3, norm="l3"), ValueError, "`norm`"),
        (lambda p, t: K.multiclass_roc(p, [0, 1], 3), TypeError, "torch.Tensor"),
        (lambda p, t: K.multilabel_f1_score(p, t, 3), ValueError, "`target` to have shape"),
        (lambda p, t: K.multilabel_f1_score(p, p[:, :2], 3), ValueError, "num_labels=3"),
        (lambda p, t: K.multilabel_f1_score(p, p, 3, threshold=2.0), ValueError, "`threshold`"),
    ],
)
def test_bad_arguments(call: Callable[..., object], error: type, message: str) -> None:
    p = torch.rand(4, 3)
    t = torch.tensor([0, 1, 2, 0])
    with pytest.raises(error, match=message):
        call(p, t)
