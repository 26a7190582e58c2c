"""Bad input to the classification kernels: one error template, the first offending item named.

Metadata (types, dtypes, shapes, devices) is checked everywhere; values (class ranges, 0/1
indicators, NaN scores, top-1 probabilities) on CPU tensors. Each bad case below used to give
a number, a raw torch error or another message before the kernels checked them (the checks
that were there before are tested in test_classification_kernels.py). Valid edge cases
(narrow integer widths, +-inf scores, float 0/1 indicators, top_k >= C) keep their numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sklearn.metrics as sk
import torch
from assay.kernels import classification as K

torch.manual_seed(0)
P = torch.softmax(torch.randn(6, 3), 1)  # (N, C) probabilities
T = torch.tensor([0, 1, 2, 0, 1, 2])
LAB = torch.tensor([0, 1, 2, 2, 1, 0])  # (N,) predicted classes
Q = torch.rand(4, 3)  # (N, L) multilabel scores
Y = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])


def _with(x: torch.Tensor, index: tuple[int, ...], value: Any) -> torch.Tensor:
    out = x.clone()
    out[index] = value
    return out


T_HIGH = _with(T, (5,), 3)
T_NEG = _with(T, (4,), -1)
P_NAN = _with(P, (2, 1), float("nan"))
Y_TWO = _with(Y, (1, 2), 2)

LABEL_FNS: dict[str, Callable[..., Any]] = {
    "confusion_matrix": K.multiclass_confusion_matrix,
    "precision": K.multiclass_precision,
    "recall": K.multiclass_recall,
    "f1": K.multiclass_f1_score,
    "accuracy": K.multiclass_accuracy,
}
SCORE_FNS: dict[str, Callable[..., Any]] = {
    **LABEL_FNS,
    "accuracy_macro": lambda p, t, c: K.multiclass_accuracy(p, t, c, average="macro"),
    "top2_accuracy": lambda p, t, c: K.multiclass_accuracy(p, t, c, top_k=2),
    "auroc": K.multiclass_auroc,
    "auroc_micro": lambda p, t, c: K.multiclass_auroc(p, t, c, average="micro"),
    "average_precision": K.multiclass_average_precision,
    "roc": K.multiclass_roc,
    "pr_curve": K.multiclass_precision_recall_curve,
    "reliability_bins": K.multiclass_reliability_bins,
    "calibration_error": K.multiclass_calibration_error,
}
MULTILABEL_FNS: dict[str, Callable[..., Any]] = {
    "confusion_matrix": K.multilabel_confusion_matrix,
    "precision": K.multilabel_precision,
    "recall": K.multilabel_recall,
    "f1": K.multilabel_f1_score,
    "auroc": K.multilabel_auroc,
    "average_precision": K.multilabel_average_precision,
    "roc": K.multilabel_roc,
    "pr_curve": K.multilabel_precision_recall_curve,
}
HARD_MULTILABEL = ("confusion_matrix", "precision", "recall", "f1")

# ------------------------------------------------------------------------ multiclass

TARGET_CASES = [
    (
        "target_above",
        T_HIGH,
        ValueError,
        r"Expected `target` to hold class indexes in \[0, 3\), but got 3 "
        r"\(first offending item: target\[5\]\)",
    ),
    ("target_negative", T_NEG, ValueError, r"`target` .* but got -1 \(.*target\[4\]\)"),
    (
        "target_bool",
        T.bool(),
        TypeError,
        r"Expected `target` to hold integer class indexes, but got dtype torch.bool; a bool "
        r"tensor is a mask",
    ),
]


@pytest.mark.parametrize("fn", SCORE_FNS.values(), ids=SCORE_FNS.keys())
@pytest.mark.parametrize(
    ("target", "error", "match"),
    [c[1:] for c in TARGET_CASES],
    ids=[c[0] for c in TARGET_CASES],
)
def test_multiclass_bad_target(
    fn: Callable[..., Any], target: Any, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        fn(P, target, 3)


SCORE_CASES = [
    (
        "nan",
        P_NAN,
        ValueError,
        r"Expected `preds` to hold no NaN, but got nan \(first offending item: preds\[2, 1\]\)",
    ),
    (
        "int_scores",
        (P * 10).long(),
        TypeError,
        r"`preds` .*float scores, but got dtype torch.int64",
    ),
    ("meta_device", P.to("meta"), ValueError, r"`target` on the device of `preds` \(meta\)"),
]


@pytest.mark.parametrize("fn", SCORE_FNS.values(), ids=SCORE_FNS.keys())
@pytest.mark.parametrize(
    ("preds", "error", "match"), [c[1:] for c in SCORE_CASES], ids=[c[0] for c in SCORE_CASES]
)
def test_multiclass_bad_scores(fn: Callable[..., Any], preds: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        fn(preds, T, 3)


LABEL_CASES = [
    (
        "above",
        _with(LAB, (5,), 5),
        ValueError,
        r"Expected `preds` to hold class indexes in \[0, 3\), but got 5 "
        r"\(first offending item: preds\[5\]\)",
    ),
    ("negative", _with(LAB, (1,), -1), ValueError, r"`preds` .* but got -1 \(.*preds\[1\]\)"),
    (
        "bool",
        LAB.bool(),
        TypeError,
        r"Expected `preds` of shape \(N,\) to hold integer class indexes, but got dtype "
        r"torch.bool",
    ),
]


@pytest.mark.parametrize("fn", LABEL_FNS.values(), ids=LABEL_FNS.keys())
@pytest.mark.parametrize(
    ("preds", "error", "match"), [c[1:] for c in LABEL_CASES], ids=[c[0] for c in LABEL_CASES]
)
def test_multiclass_bad_label_preds(
    fn: Callable[..., Any], preds: torch.Tensor, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        fn(preds, T, 3)


@pytest.mark.parametrize("fn", SCORE_FNS.values(), ids=SCORE_FNS.keys())
@pytest.mark.parametrize(
    ("num", "error", "match"),
    [
        (3.0, TypeError, r"Expected `num_classes` to be an int, but got float 3.0"),
        (True, TypeError, r"`num_classes` to be an int, but got bool"),
        (0, ValueError, r"Expected `num_classes` to be an int >= 1, but got 0"),
    ],
)
def test_multiclass_bad_num_classes(
    fn: Callable[..., Any], num: Any, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        fn(P, T, num)


ARGUMENT_CASES: list[tuple[str, Callable[[], Any], type, str]] = [
    ("top_k_zero", lambda: K.multiclass_accuracy(P, T, 3, top_k=0), ValueError, r"`top_k` .* >= 1"),
    (
        "top_k_float",
        lambda: K.multiclass_accuracy(P, T, 3, top_k=1.5),
        TypeError,
        r"`top_k` to be an int",
    ),
    (
        "top_k_labels",
        lambda: K.multiclass_accuracy(LAB, T, 3, top_k=2),
        ValueError,
        r"`preds` to be \(N, num_classes\) scores when top_k > 1, but got shape \(6,\)",
    ),
    (
        "n_bins_float",
        lambda: K.multiclass_reliability_bins(P, T, 3, n_bins=2.5),
        TypeError,
        r"`n_bins`",
    ),
    (
        "calibration_above_one",
        lambda: K.multiclass_calibration_error(_with(P, (3, 2), 2.5), T, 3),
        ValueError,
        r"Expected `preds` to be probabilities \(top-1 scores in \[0, 1\]\), but got 2.5 "
        r"\(first offending item: preds\[3, 2\]\)",
    ),
    (
        "reliability_negative",
        lambda: K.multiclass_reliability_bins(P - 1.0, T, 3),
        ValueError,
        r"`preds` to be probabilities \(top-1 .*\), but got -0.\d+ \(.*preds\[0, ",
    ),
    (
        "reliability_nan",
        lambda: K.multiclass_reliability_bins(P_NAN, T, 3),
        ValueError,
        r"`preds` to hold no NaN, but got nan \(first offending item: preds\[2, 1\]\)",
    ),
    (
        "nan_far_in",  # the first NaN of a larger input, found by one reduction
        lambda: K.multiclass_auroc(
            _with(torch.rand(5000, 7), (4321, 6), float("nan")), torch.zeros(5000).long(), 7
        ),
        ValueError,
        r"preds\[4321, 6\]",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [c[1:] for c in ARGUMENT_CASES],
    ids=[c[0] for c in ARGUMENT_CASES],
)
def test_multiclass_bad_arguments(call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------ multilabel

MULTILABEL_TARGET_CASES = [
    (
        "two",
        Y_TWO,
        r"Expected `target` to hold 0/1 indicators, but got 2 \(first offending item: "
        r"target\[1, 2\]\)",
    ),
    (
        "negative",
        _with(Y, (2, 0), -1),
        r"`target` to hold 0/1 indicators, but got -1 \(.*\[2, 0\]\)",
    ),
    ("half", _with(Y.float(), (3, 1), 0.5), r"`target` to hold 0/1 indicators, but got 0.5"),
    ("nan", _with(Y.double(), (0, 0), float("nan")), r"`target` to hold 0/1 .* nan \(.*\[0, 0\]\)"),
    ("uint8_two", Y_TWO.to(torch.uint8), r"`target` to hold 0/1 indicators, but got 2"),
    ("uint16_two", Y_TWO.to(torch.uint16), r"`target` to hold 0/1 indicators, but got 2"),
]


@pytest.mark.parametrize("fn", MULTILABEL_FNS.values(), ids=MULTILABEL_FNS.keys())
def test_multilabel_uint16_target_counts_as_int64(fn: Callable[..., Any]) -> None:
    """torch has no CPU ``aminmax`` for uint16: its check was a raw NotImplementedError."""
    torch.testing.assert_close(fn(Q, Y.to(torch.uint16), 3), fn(Q, Y, 3))


@pytest.mark.parametrize("fn", MULTILABEL_FNS.values(), ids=MULTILABEL_FNS.keys())
@pytest.mark.parametrize(
    ("target", "match"),
    [c[1:] for c in MULTILABEL_TARGET_CASES],
    ids=[c[0] for c in MULTILABEL_TARGET_CASES],
)
def test_multilabel_bad_target(fn: Callable[..., Any], target: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fn(Q, target, 3)


@pytest.mark.parametrize("fn", MULTILABEL_FNS.values(), ids=MULTILABEL_FNS.keys())
def test_multilabel_nan_scores(fn: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match=r"`preds` to hold no NaN, .*preds\[1, 0\]\)"):
        fn(_with(Q, (1, 0), float("nan")), Y, 3)


@pytest.mark.parametrize("name", HARD_MULTILABEL)
@pytest.mark.parametrize(
    ("preds", "match"),
    [
        (Y * 100, r"Expected `preds` to hold 0/1 indicators, but got 100 \(.*preds\[0, 0\]\)"),
        (_with(Y, (3, 1), -1), r"`preds` to hold 0/1 indicators, but got -1"),
    ],
    ids=["percent", "negative"],
)
def test_multilabel_bad_hard_preds(name: str, preds: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MULTILABEL_FNS[name](preds, Y, 3)


MULTILABEL_ARGUMENT_CASES: list[tuple[str, Callable[[], Any], type, str]] = [
    (
        "threshold_bool",
        lambda: K.multilabel_f1_score(Q, Y, 3, threshold=True),
        TypeError,
        r"`threshold`",
    ),
    (
        "threshold_str",
        lambda: K.multilabel_recall(Q, Y, 3, threshold="0.5"),
        TypeError,
        r"`threshold`",
    ),
    (
        "complex_target",
        lambda: K.multilabel_auroc(Q, Y.to(torch.complex64), 3),
        TypeError,
        r"`target` to hold 0/1",
    ),
    (
        "complex_preds",
        lambda: K.multilabel_f1_score(Q.to(torch.complex64), Y, 3),
        TypeError,
        r"`preds` to hold float scores or 0/1",
    ),
    (
        "num_labels_float",
        lambda: K.multilabel_roc(Q, Y, 3.0),
        TypeError,
        r"`num_labels` to be an int",
    ),
    (
        "meta_device",
        lambda: K.multilabel_recall(Q, Y.to("meta"), 3),
        ValueError,
        r"`target` on the device of `preds`",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [c[1:] for c in MULTILABEL_ARGUMENT_CASES],
    ids=[c[0] for c in MULTILABEL_ARGUMENT_CASES],
)
def test_multilabel_bad_arguments(call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------ valor-lite

DATUM = torch.tensor([0, 0, 1, 1])
VT = torch.tensor([0, 0, 1, 1])
VP = torch.tensor([0, 1, 0, 1])
SCORE = torch.tensor([0.9, 0.1, 0.6, 0.4], dtype=torch.float64)
WIN = torch.tensor([True, False, True, False])
THR = torch.tensor([0.5], dtype=torch.float64)
PER_LABEL = torch.tensor([1, 1])


def _counts(**over: Any) -> Any:
    args = dict(
        datum=DATUM, target=VT, pred=VP, score=SCORE, winner=WIN, thresholds=THR,
        num_datums=2, num_labels=2, hardmax=True,
    )
    args.update(over)
    return K.valor_lite_counts(**args)


def _pairs(**over: Any) -> Any:
    args = dict(datum=DATUM, score=SCORE, winner=WIN, thresholds=THR, num_datums=2, hardmax=True)
    args.update(over)
    return K.valor_lite_pairs(**args)


def _rocauc(**over: Any) -> Any:
    args = dict(target=VT, pred=VP, score=SCORE, num_datums_per_label=PER_LABEL, num_labels=2)
    args.update(over)
    return K.valor_lite_rocauc(**args)


VALOR_CASES: list[tuple[str, Callable[[], Any], type, str]] = [
    (
        "counts_datum_above",
        lambda: _counts(datum=torch.tensor([0, 0, 1, 2])),
        ValueError,
        r"Expected `datum` to hold datum indexes in \[0, 2\), but got 2 \(first offending "
        r"item: datum\[3\]\)",
    ),
    (
        "counts_target_neg",
        lambda: _counts(target=torch.tensor([0, -1, 1, 1])),
        ValueError,
        r"`target` to hold label indexes .*target\[1\]",
    ),
    (
        "counts_pred_above",
        lambda: _counts(pred=torch.tensor([0, 1, 0, 2])),
        ValueError,
        r"`pred` to hold label indexes .*pred\[3\]",
    ),
    (
        "counts_score_nan",
        lambda: _counts(score=_with(SCORE, (2,), float("nan"))),
        ValueError,
        r"`score` to hold no NaN.*score\[2\]",
    ),
    (
        "counts_threshold_nan",
        lambda: _counts(thresholds=THR * float("nan")),
        ValueError,
        r"`thresholds` to hold no NaN",
    ),
    (
        "counts_winner_int",
        lambda: _counts(winner=WIN.long()),
        TypeError,
        r"`winner` to be a bool tensor, but got dtype torch.int64",
    ),
    (
        "counts_datum_float",
        lambda: _counts(datum=DATUM.double()),
        TypeError,
        r"`datum` to be an integer tensor",
    ),
    (
        "counts_score_int",
        lambda: _counts(score=DATUM),
        TypeError,
        r"`score` to be a floating-point tensor",
    ),
    (
        "counts_short",
        lambda: _counts(pred=VP[:3]),
        ValueError,
        r"`pred` to hold one entry per row of `datum` \(4\), but got shape \(3,\)",
    ),
    (
        "counts_thresholds_2d",
        lambda: _counts(thresholds=THR[None]),
        ValueError,
        r"`thresholds` to have shape \(T,\)",
    ),
    (
        "counts_num_datums",
        lambda: _counts(num_datums=-1),
        ValueError,
        r"`num_datums` to be an int >= 0",
    ),
    ("counts_hardmax", lambda: _counts(hardmax="yes"), TypeError, r"`hardmax` to be a bool"),
    (
        "counts_meta",
        lambda: _counts(winner=WIN.to("meta")),
        ValueError,
        r"`winner` on the device of `datum`",
    ),
    (
        "pairs_datum_above",
        lambda: _pairs(num_datums=1),
        ValueError,
        r"`datum` to hold datum indexes in \[0, 1\), but got 1 \(.*datum\[2\]\)",
    ),
    (
        "pairs_score_nan",
        lambda: _pairs(score=_with(SCORE, (0,), float("nan"))),
        ValueError,
        r"`score` to hold no NaN",
    ),
    (
        "pairs_winner",
        lambda: _pairs(winner=WIN.float()),
        TypeError,
        r"`winner` to be a bool tensor",
    ),
    ("pairs_list", lambda: _pairs(datum=[0, 0, 1, 1]), TypeError, r"`datum` to be a torch.Tensor"),
    (
        "rocauc_target_above",
        lambda: _rocauc(target=torch.tensor([0, 0, 1, 5])),
        ValueError,
        r"`target` to hold label indexes in \[0, 2\), but got 5",
    ),
    (
        "rocauc_pred_neg",
        lambda: _rocauc(pred=torch.tensor([-1, 1, 0, 1])),
        ValueError,
        r"`pred` .*pred\[0\]",
    ),
    (
        "rocauc_count_neg",
        lambda: _rocauc(num_datums_per_label=torch.tensor([1, -1])),
        ValueError,
        r"`num_datums_per_label` to hold counts in \[0, inf\), but got -1",
    ),
    (
        "rocauc_count_len",
        lambda: _rocauc(num_datums_per_label=torch.tensor([1, 1, 0])),
        ValueError,
        r"`num_datums_per_label` to hold one count per label \(2\)",
    ),
    (
        "rocauc_count_float",
        lambda: _rocauc(num_datums_per_label=PER_LABEL.double()),
        TypeError,
        r"`num_datums_per_label` to be an integer tensor",
    ),
    (
        "rocauc_score_nan",
        lambda: _rocauc(score=_with(SCORE, (3,), float("nan"))),
        ValueError,
        r"`score` .*score\[3\]",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "match"), [c[1:] for c in VALOR_CASES], ids=[c[0] for c in VALOR_CASES]
)
def test_valor_lite_bad_input(call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------- valid edges keep numbers


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a.dtype == b.dtype and torch.equal(a.nan_to_num(nan=-7.0), b.nan_to_num(nan=-7.0))


@pytest.mark.parametrize("fn", SCORE_FNS.values(), ids=SCORE_FNS.keys())
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32])
def test_narrow_targets_keep_numbers(fn: Callable[..., Any], dtype: torch.dtype) -> None:
    assert _same(fn(P, T.to(dtype), 3), fn(P, T, 3))


@pytest.mark.parametrize(
    ("dtype", "c"), [(torch.uint8, 256), (torch.uint8, 300), (torch.int8, 128), (torch.int8, 200)]
)
def test_class_bound_beyond_the_dtype_does_not_wrap(dtype: torch.dtype, c: int) -> None:
    # a tensor comparison with 300 wraps around in uint8; the check compares Python ints
    n = 64
    scores = torch.rand(n, c, dtype=torch.float64)
    target = torch.arange(n) % min(c, int(torch.iinfo(dtype).max) + 1)
    got = K.multiclass_confusion_matrix(scores, target.to(dtype), c)
    assert torch.equal(got, K.multiclass_confusion_matrix(scores, target, c))
    labels = scores.argmax(1)
    assert torch.equal(
        K.multiclass_recall(labels.to(torch.int16), target.to(dtype), c, average="none"),
        K.multiclass_recall(labels, target, c, average="none"),
    )


def test_infinite_scores_are_valid() -> None:
    logits = torch.log(P)
    logits[0, 2] = -float("inf")
    logits[1, 1] = float("inf")
    s, t = logits.double().numpy(), T.numpy()
    got = K.multiclass_auroc(logits, T, 3, average="none").numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finite = np.nan_to_num(s, posinf=1e300, neginf=-1e300)
        want = [sk.roc_auc_score(t == c, finite[:, c]) for c in range(3)]
    np.testing.assert_allclose(got, want, atol=1e-12)
    want_cm = sk.confusion_matrix(t, s.argmax(1), labels=[0, 1, 2])
    np.testing.assert_array_equal(K.multiclass_confusion_matrix(logits, T, 3).numpy(), want_cm)


@pytest.mark.parametrize("name", MULTILABEL_FNS)
def test_multilabel_indicator_dtypes_keep_numbers(name: str) -> None:
    fn = MULTILABEL_FNS[name]
    want = fn(Q, Y, 3)
    for target in (Y.bool(), Y.float(), Y.double(), Y.to(torch.uint8)):
        assert _same(fn(Q, target, 3), want)


@pytest.mark.parametrize("name", HARD_MULTILABEL)
def test_multilabel_hard_preds_keep_numbers(name: str) -> None:
    fn = MULTILABEL_FNS[name]
    hard = (Q > 0.5).long()
    want = fn(Q, Y, 3)
    for preds in (hard, hard.bool(), hard.to(torch.int8)):
        assert _same(fn(preds, Y, 3), want)


def test_top_k_at_or_above_num_classes_is_sklearn_perfect_score() -> None:
    # scikit-learn warns and returns 1.0; kept because a fixed list of k meets small keys
    for k in (3, 5):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = sk.top_k_accuracy_score(T.numpy(), P.numpy(), k=k, labels=[0, 1, 2])
        assert float(K.multiclass_accuracy(P, T, 3, top_k=k)) == want == 1.0


def test_calibration_reads_only_the_top_1_score() -> None:
    # the bins see only each row's top score; another column's value does not enter them
    shifted = _with(P, (0, int(P[0].argmin())), -0.25)
    want = K.multiclass_reliability_bins(P, T, 3)
    assert _same(K.multiclass_reliability_bins(shifted, T, 3), want)


def test_valor_lite_index_widths_keep_numbers() -> None:
    narrow = {"datum": DATUM.int(), "target": VT.to(torch.uint8), "pred": VP.to(torch.int16)}
    assert torch.equal(_counts(**narrow), _counts())
    assert _same(tuple(_pairs(datum=DATUM.int())), tuple(_pairs()))
    got = _rocauc(target=VT.int(), pred=VP.to(torch.int8), num_datums_per_label=PER_LABEL.int())
    assert torch.equal(got, _rocauc())


def test_valor_lite_empty_rows() -> None:
    e_i, e_f = torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.float64)
    e_b = torch.zeros(0, dtype=torch.bool)
    counts = _counts(datum=e_i, target=e_i, pred=e_i, score=e_f, winner=e_b, num_datums=0)
    assert counts.shape == (1, 2, 4) and not counts.any()
    pairs = _pairs(datum=e_i, score=e_f, winner=e_b, num_datums=0)
    assert pairs.matched.shape == (1, 0) and pairs.unmatched.shape == (1, 0)
    assert _rocauc(target=e_i, pred=e_i, score=e_f).tolist() == [0.0, 0.0]
