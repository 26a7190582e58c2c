"""Bad classification input: each error names the field and the first offending record."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from assay import ClassificationFormatError, evaluate_classification
from assay.engine.formats.classification import load_classification


def _gt(**over: Any) -> dict[str, Any]:
    base = {"datum_uid": ["a", "b", "c"], "key": ["k"] * 3, "value": ["x", "y", "x"]}
    base.update(over)
    return base


def _pd(**over: Any) -> dict[str, Any]:
    base = {
        "datum_uid": ["a", "b", "c"],
        "key": ["k"] * 3,
        "values": [["x", "y"], ["x", "y"], ["y", "x"]],
        "scores": [[0.7, 0.3], [0.4, 0.6], [0.5, 0.5]],
    }
    base.update(over)
    return base


def _long(**over: Any) -> dict[str, Any]:
    base = {
        "datum_uid": ["a", "a", "b", "b"],
        "key": ["k"] * 4,
        "value": ["x", "y", "x", "y"],
        "score": [0.7, 0.3, 0.4, 0.6],
    }
    base.update(over)
    return base


GT2 = {"datum_uid": ["a", "b"], "key": ["k", "k"], "value": ["x", "y"]}


CASES: list[tuple[str, Any, Any, dict[str, Any], type[Exception], str]] = [
    # mismatched lengths
    (
        "gt_lengths",
        _gt(value=["x", "y"]),
        _pd(),
        {},
        ClassificationFormatError,
        "Expected the columns of `groundtruths` to have the same length, but got lengths "
        "{'datum_uid': 3, 'key': 3, 'value': 2}",
    ),
    (
        "pd_lengths",
        _gt(),
        _pd(scores=[[0.7, 0.3]]),
        {},
        ClassificationFormatError,
        "columns of `predictions` to have the same length",
    ),
    (
        "list_lengths",
        _gt(),
        _pd(scores=[[0.7, 0.3], [0.4, 0.6], [1.0]]),
        {},
        ClassificationFormatError,
        "Expected `predictions[2].scores` to have one score per value (2), but got 1",
    ),
    # labels outside the declared set
    (
        "gt_undeclared",
        _gt(value=["x", "z", "x"]),
        _pd(),
        {"labels": {"k": ["x", "y"]}},
        ClassificationFormatError,
        "Expected `groundtruths[1].value` to be one of the declared labels of key 'k' ['x', 'y'], "
        "but got 'z'",
    ),
    (
        "pd_undeclared",
        _gt(),
        _pd(values=[["x", "y"], ["x", "w"], ["y", "x"]]),
        {"labels": {"k": ["x", "y"]}},
        ClassificationFormatError,
        "Expected `predictions[1].values` to be among the declared labels of key 'k' ['x', 'y'], "
        "but got 'w'",
    ),
    (
        "labels_unknown_key",
        _gt(),
        _pd(),
        {"labels": {"q": ["x"]}},
        ClassificationFormatError,
        "Expected every key of `labels` to occur in `groundtruths`, but 'q' does not",
    ),
    (
        "labels_not_unique",
        _gt(),
        _pd(),
        {"labels": {"k": ["x", "x"]}},
        ValueError,
        "Expected `labels['k']` to be a non-empty sequence of unique values",
    ),
    # scores outside [0, 1] where probabilities are required
    (
        "score_above_one_sklearn",
        GT2,
        _long(score=[0.7, 0.3, 1.5, -0.5]),
        {},
        ValueError,
        "Expected `predictions[2].score` to be a probability in [0, 1] (protocol 'sklearn'), but "
        "got 1.5 for value 'x' of datum_uid 'b' key 'k'",
    ),
    (
        "score_negative_valor",
        GT2,
        _long(score=[0.7, -0.3, 0.4, 0.6]),
        {"protocol": "valor-lite"},
        ValueError,
        "Expected `predictions[1].score` to be a probability in [0, 1] (protocol 'valor-lite')",
    ),
    # vectors that do not sum to 1 where the protocol requires it
    (
        "not_summing_to_one",
        _gt(),
        _pd(scores=[[0.7, 0.3], [0.4, 0.9], [0.5, 0.5]]),
        {},
        ValueError,
        "Expected the scores of each datum to sum to 1 (protocol 'sklearn': "
        "roc_auc_score(multi_class='ovr') and calibration need probabilities; use "
        "protocol='valor-lite' for unnormalised scores), but datum_uid 'b' key 'k' sums to 1.3",
    ),
    (
        "incomplete_vector",
        _gt(),
        _pd(values=[["x", "y"], ["x"], ["y", "x"]], scores=[[0.7, 0.3], [1.0], [0.5, 0.5]]),
        {},
        ValueError,
        "Expected a score for every value of key 'k' ['x', 'y'] (protocol 'sklearn' needs full "
        "probability vectors), but datum_uid 'b' has no score for ['y']",
    ),
    (
        "mixed_hard_and_scored",
        GT2,
        _long(score=[0.7, 0.3, None, None]),
        {},
        ValueError,
        "Expected the predictions of key 'k' to be all hard labels or all scored (protocol "
        "'sklearn'), but `predictions[2]` has no score",
    ),
    (
        "two_hard_labels",
        GT2,
        {"datum_uid": ["a", "a", "b"], "key": ["k"] * 3, "value": ["x", "y", "y"]},
        {},
        ValueError,
        "Expected one hard label per datum for key 'k' (protocol 'sklearn'), but datum_uid 'a' "
        "has 2",
    ),
    # duplicate datum uids
    (
        "duplicate_gt_uid",
        _gt(datum_uid=["a", "b", "a"]),
        _pd(datum_uid=["a", "b", "b"]),
        {},
        ClassificationFormatError,
        "Expected one ground truth per (datum_uid, key), but `groundtruths[2]` repeats datum_uid "
        "'a' key 'k' of `groundtruths[0]`",
    ),
    (
        "duplicate_prediction",
        GT2,
        _long(value=["x", "y", "y", "y"]),
        {},
        ClassificationFormatError,
        "Expected each value at most once per (datum_uid, key) in `predictions`, but "
        "`predictions[3]` repeats value 'y' for datum_uid 'b' key 'k' (first in `predictions[2]`)",
    ),
    (
        "duplicate_in_list",
        _gt(),
        _pd(values=[["x", "y"], ["y", "y"], ["y", "x"]]),
        {},
        ClassificationFormatError,
        "`predictions[1]` repeats value 'y' for datum_uid 'b'",
    ),
    # missing pairs
    (
        "prediction_without_gt",
        _gt(),
        _pd(datum_uid=["a", "b", "d"]),
        {},
        ClassificationFormatError,
        "Expected every prediction to have a ground truth for its datum and key, but "
        "`predictions[2]` (datum_uid 'd', key 'k') has none",
    ),
    (
        "prediction_other_key",
        _gt(),
        _pd(key=["k", "k", "q"]),
        {},
        ClassificationFormatError,
        "`predictions[2]` (datum_uid 'c', key 'q') has none",
    ),
    (
        "gt_without_prediction",
        _gt(),
        {
            "datum_uid": ["a", "b"],
            "key": ["k"] * 2,
            "values": [["x"], ["y"]],
            "scores": [[1.0], [1.0]],
        },
        {},
        ClassificationFormatError,
        "Expected every ground truth to have at least one prediction, but `groundtruths[2]` "
        "(datum_uid 'c', key 'k') has none",
    ),
    # columns and types
    (  # found by fuzzing: a misspelt score column was ignored (the rows became hard labels)
        "unknown_score_column",
        _gt(),
        {"datum_uid": ["a", "b", "c"], "key": ["k"] * 3, "value": ["x", "y", "y"],
         "confidence": [0.7, 0.6, 0.8]},
        {},
        ClassificationFormatError,
        "Expected the columns of `predictions` in the long layout (one 'value' per row) to be "
        "among 'datum_uid', 'key', 'value', 'score', but got unknown column 'confidence'",
    ),
    (
        "value_beside_values",
        _gt(),
        _pd(value=["x", "y", "y"]),
        {},
        ClassificationFormatError,
        "in the valor-lite layout ('values' and 'scores' lists) to be among 'datum_uid', 'key', "
        "'values', 'scores', but got unknown column 'value'",
    ),
    (
        "unknown_groundtruth_column",
        _gt(label=["x", "y", "x"]),
        _pd(),
        {},
        ClassificationFormatError,
        "Expected the columns of `groundtruths` to be among 'datum_uid', 'key', 'value', but "
        "got unknown column 'label'",
    ),
    (
        "missing_value_column",
        {"datum_uid": ["a"], "label": ["x"]},
        _pd(),
        {},
        ClassificationFormatError,
        "Expected `groundtruths` to have a column 'value', but it has ['datum_uid', 'label']",
    ),
    (
        "no_prediction_layout",
        _gt(),
        {"datum_uid": ["a"], "label": ["x"]},
        {},
        ClassificationFormatError,
        "Expected `predictions` to have a column 'value' (one row per predicted value), 'values' "
        "and 'scores' (lists), or 'scores' (dense)",
    ),
    (
        "value_not_str",
        _gt(value=["x", 3, "x"]),
        _pd(),
        {},
        TypeError,
        "Expected column `groundtruths.value` to hold values of one type, but "
        "`groundtruths[1].value` is 3 (int)",
    ),
    (
        "int_values",
        _gt(value=[1, 2, 1]),
        _pd(),
        {},
        TypeError,
        "Expected `groundtruths[0].value` to be a string, but got 1 (int)",
    ),
    (
        "uid_float",
        _gt(datum_uid=[1.5, 2.5, 3.5]),
        _pd(),
        {},
        TypeError,
        "Expected `groundtruths[0].datum_uid` to be a string or an int, but got 1.5 (float)",
    ),
    (
        "score_str",
        GT2,
        _long(score=["0.7", "0.3", "0.4", "0.6"]),
        {},
        TypeError,
        "Expected `predictions[0].score` to be a number, but got '0.7' (str)",
    ),
    (
        "score_nan",
        GT2,
        _long(score=[0.7, float("nan"), 0.4, 0.6]),
        {},
        ClassificationFormatError,
        "Expected `predictions[1].score` to be a finite number",
    ),
    (
        "list_score_inf",
        _gt(),
        _pd(scores=[[0.7, 0.3], [0.4, 0.6], [float("inf"), 0.5]]),
        {},
        ClassificationFormatError,
        "Expected `predictions[2].scores` to be a list of finite numbers, but it holds inf at "
        "position 0",
    ),
    (
        "list_value_int",
        _gt(),
        _pd(values=[["x", "y"], ["x", 5], ["y", "x"]]),
        {},
        TypeError,
        "`predictions.values` to hold values of one type",
    ),
    (
        "dense_undeclared",
        _gt(),
        {"datum_uid": ["a", "b", "c"], "key": ["k"] * 3, "scores": [[0.5, 0.5]] * 3},
        {},
        ClassificationFormatError,
        "Expected `labels['k']` to be declared: dense `scores` vectors are aligned with the "
        "declared values of their key",
    ),
    (
        "dense_wrong_length",
        _gt(),
        {"datum_uid": ["a", "b", "c"], "key": ["k"] * 3, "scores": [[0.5, 0.5], [1.0], [0.5, 0.5]]},
        {"labels": {"k": ["x", "y"]}},
        ClassificationFormatError,
        "Expected `predictions[1].scores` to have one score per declared value of key 'k' (2), "
        "but got 1",
    ),
    (
        "records_not_dicts",
        [["a", "k", "x"]],
        _pd(),
        {},
        TypeError,
        "Expected `groundtruths[0]` to be an object (dict), but got list",
    ),
    (
        "record_missing_key",
        [{"datum_uid": "a", "value": "x"}, {"datum_uid": "b"}],
        _pd(),
        {},
        ClassificationFormatError,
        "Expected `groundtruths[1]` to have key 'value' like the other records, but it has keys "
        "['datum_uid']",
    ),
    (
        "not_a_table",
        42,
        _pd(),
        {},
        TypeError,
        "Expected `groundtruths` to be a path, a pyarrow.Table, a mapping of columns or a list of "
        "records, but got int",
    ),
    # arguments
    (
        "bad_protocol",
        _gt(),
        _pd(),
        {"protocol": "coco"},
        ValueError,
        "Expected `protocol` to be one of ('sklearn', 'valor-lite'), but got 'coco'",
    ),
    ("bad_top_k", _gt(), _pd(), {"top_k": [0]}, ValueError, "Expected `top_k`"),
    ("int_top_k", _gt(), _pd(), {"top_k": 1}, ValueError, "`top_k` to be a non-empty sequence"),
    (
        "valor_option_with_sklearn",
        _gt(),
        _pd(),
        {"score_thresholds": [0.9]},
        ValueError,
        "Expected `score_thresholds` only with protocol='valor-lite'",
    ),
    ("hardmax_with_sklearn", _gt(), _pd(), {"hardmax": False}, ValueError, "`hardmax` only"),
    ("metrics_with_sklearn", _gt(), _pd(), {"metrics": ["foo"]}, ValueError, "`metrics` only"),
    ("bad_n_bins", _gt(), _pd(), {"n_bins": 0}, ValueError, "Expected `n_bins`"),
    (
        "bad_metrics",
        _gt(),
        _pd(),
        {"protocol": "valor-lite", "metrics": ["AP"]},
        ValueError,
        "Expected `metrics` to be valor-lite metric types",
    ),
    (
        "bad_thresholds",
        _gt(),
        _pd(),
        {"protocol": "valor-lite", "score_thresholds": [0.5, None]},
        ValueError,
        "Expected `score_thresholds` to be a non-empty sequence of finite numbers",
    ),
    ("bad_device", _gt(), _pd(), {"device": "tpu"}, ValueError, "Expected `device`"),
    (  # a string was iterated into its letters
        "metrics_str",
        _gt(),
        _pd(),
        {"protocol": "valor-lite", "metrics": "Counts"},
        TypeError,
        "Expected `metrics` to be a sequence of valor-lite metric types, but got the str "
        "'Counts'; pass ['Counts']",
    ),
    (  # any truthy value was taken as True
        "hardmax_str",
        _gt(),
        _pd(),
        {"protocol": "valor-lite", "hardmax": "false"},
        TypeError,
        "Expected `hardmax` to be a bool, but got 'false' (str)",
    ),
]


@pytest.mark.parametrize(
    ("name", "gt", "pd", "kwargs", "error", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_names_the_offender(
    name: str, gt: Any, pd: Any, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        evaluate_classification(gt, pd, **kwargs)


def test_unnormalised_scores_are_fine_in_valor_lite() -> None:
    pd = _pd(scores=[[0.7, 0.3], [0.4, 0.9], [0.5, 0.5]])
    result = evaluate_classification(_gt(), pd, protocol="valor-lite")
    assert result.info["k"]["number_of_datums"] == 3


def test_numpy_and_tensor_columns() -> None:
    import torch

    gt = {"datum_uid": np.array(["a", "b"]), "key": ["k", "k"], "value": np.array(["x", "y"])}
    pd = _long(score=torch.tensor([0.7, 0.3, 0.4, 0.6], dtype=torch.float64))
    assert evaluate_classification(gt, pd)["k"].accuracy == 1.0


def test_uids_keep_their_type() -> None:
    # 1 and "1" are different datums: no silent coercion
    gt = {"datum_uid": [1, 2], "key": ["k", "k"], "value": ["x", "y"]}
    pd = {"datum_uid": ["1", "2"], "key": ["k", "k"], "value": ["x", "y"]}
    with pytest.raises(
        ClassificationFormatError,
        match=re.escape("`predictions[0]` (datum_uid '1', key 'k') has none"),
    ):
        evaluate_classification(gt, pd)
    assert evaluate_classification(gt, {**pd, "datum_uid": [1, 2]})["k"].accuracy == 1.0


@pytest.mark.parametrize(
    ("filename", "content", "error", "message"),
    [
        (
            "gt.jsonl",
            '{"datum_uid": "a", "value": "x"}\n{"datum_uid": "b", "value": \n',
            ClassificationFormatError,
            "but line 2 of",
        ),
        (
            "gt.csv",
            "datum_uid,value\n",
            ClassificationFormatError,
            "Expected `groundtruths` to "
            "be a JSON lines (.jsonl, .ndjson, .json) or Parquet (.parquet, .pq) file",
        ),
        (
            "gt.parquet",
            "not parquet",
            ClassificationFormatError,
            "Expected `groundtruths` to be a Parquet file",
        ),
        ("gt.json", "[{", ClassificationFormatError, "Expected `groundtruths` to be valid JSON"),
    ],
)
def test_bad_files(
    tmp_path: Path, filename: str, content: str, error: type[Exception], message: str
) -> None:
    path = tmp_path / filename
    path.write_text(content)
    with pytest.raises(error, match=re.escape(message)):
        evaluate_classification(path, _pd())


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="Expected `predictions` to be an existing file"):
        evaluate_classification(_gt(), tmp_path / "nope.jsonl")


def test_records_without_the_optional_key_have_the_default_one() -> None:
    """Found by fuzzing: a record that left out `key` read as an explicit null (an error)
    when other records had one; an explicit null is still an error."""
    gt = [{"datum_uid": "a", "key": "class", "value": "cat"}, {"datum_uid": "b", "value": "dog"}]
    pd = [{"datum_uid": "a", "value": "cat"}, {"datum_uid": "b", "key": "class", "value": "dog"}]
    tables = load_classification(gt, pd)
    assert [t.key for t in tables.keys] == ["class"]
    assert tables.keys[0].target.tolist() == [0, 1]
    gt[1]["key"] = None
    with pytest.raises(TypeError, match=r"`groundtruths\[1\]\.key` to be a string, but got None"):
        load_classification(gt, pd)


def test_valor_evaluator_checks_its_table_and_hardmax() -> None:
    from assay import ValorLiteEvaluator

    with pytest.raises(TypeError, match=r"Expected `table` to be a LabelKeyTable .* but got dict"):
        ValorLiteEvaluator(_gt())  # type: ignore[arg-type]
    ev = ValorLiteEvaluator(load_classification(_gt(), _pd()).keys[0])
    for method in (ev.compute_precision_recall, ev.compute_confusion_matrix,
                   ev.compute_confusion_matrix_with_examples, ev.compute_examples):
        with pytest.raises(TypeError, match=r"`hardmax` to be a bool, but got 0 \(int\)"):
            method([0.5], 0)
    assert ev.compute_confusion_matrix([0.5], np.bool_(False))[0].parameters["hardmax"] is False
