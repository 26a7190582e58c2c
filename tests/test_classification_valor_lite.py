"""valor-lite protocol: the 53 classification cases of valor_lite_cases.json, and
randomized parity against the valor-lite library itself (when installed).

Comparison follows the file's ``conventions``: metric lists are unordered sets keyed
by (type, parameters) (Examples also by datum_id), confusion-matrix literals drop
zero-count cells, and floats were asserted with exact equality in the source tests
(here: within 1e-12, and the count of bit-exact values is checked too).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from assay.engine.evaluation import ValorLiteEvaluator, evaluate_classification
from assay.engine.formats.classification import load_classification

from conftest import SHARED_DATA

CASE_FILE = SHARED_DATA / "valor_lite_cases.json"


def _cases() -> list[dict[str, Any]]:
    if not CASE_FILE.is_file():
        return []
    data = json.loads(CASE_FILE.read_text())
    return [c for c in data["cases"] if c["task"] == "classification"]


CASES = _cases()


def _columns(datums: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    gt = {"datum_uid": [d["uid"] for d in datums], "value": [d["groundtruth"] for d in datums]}
    pd = {
        "datum_uid": [d["uid"] for d in datums],
        "values": [d["predictions"] for d in datums],
        "scores": [d["scores"] for d in datums],
    }
    return gt, pd


def _drop_zeros(value: Any) -> Any:
    """Drop zero-count confusion cells and unmatched entries, as the source tests do."""
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        if isinstance(v, dict) and "count" in v and v["count"] == 0:
            continue
        if (
            isinstance(v, int)
            and not isinstance(v, bool)
            and v == 0
            and k not in ("tp", "fp", "fn", "tn")
        ):
            continue
        v = _drop_zeros(v)
        if (
            isinstance(v, dict)
            and not v
            and k not in ("confusion_matrix", "unmatched_ground_truths")
        ):
            continue
        out[k] = v
    return out


def _key(m: dict[str, Any]) -> str:
    datum = m["value"].get("datum_id") if isinstance(m["value"], dict) else None
    return json.dumps([m["type"], m["parameters"], datum], sort_keys=True)


def _equal(got: Any, want: Any, exact: list[bool]) -> bool:
    if isinstance(want, float) or isinstance(got, float):
        exact.append(got == want)
        return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=0, abs_tol=1e-12)
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(_equal(got[k], want[k], exact) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_equal(g, w, exact) for g, w in zip(got, want, strict=True))
        )
    return bool(got == want)


def _as_dicts(result: Any) -> dict[str, list[dict[str, Any]]]:
    if isinstance(result, dict):
        return {getattr(t, "value", t): [m.to_dict() for m in ms] for t, ms in result.items()}
    out: dict[str, list[dict[str, Any]]] = {}
    for m in result:
        out.setdefault(m.type, []).append(m.to_dict())
    return out


def _compare(
    got: dict[str, list[dict[str, Any]]],
    expected: dict[str, list[dict[str, Any]]],
    drop_zeros: bool,
) -> list[bool]:
    exact: list[bool] = []
    for mtype, want_list in expected.items():
        assert mtype in got, f"missing metric type {mtype}"
        got_map = {_key(m): m for m in got[mtype]}
        want_map = {_key(m): m for m in want_list}
        assert got_map.keys() == want_map.keys(), mtype
        for k, want in want_map.items():
            g, w = got_map[k]["value"], want["value"]
            if drop_zeros:
                g, w = _drop_zeros(g), _drop_zeros(w)
            assert _equal(g, w, exact), (mtype, k, g, w)
    return exact


@pytest.mark.skipif(not CASES, reason=f"reference data not found at {CASE_FILE}")
def test_the_case_file_has_53_classification_cases() -> None:
    assert len(CASES) == 53
    assert sum(len(c["calls"]) for c in CASES) == 53


@pytest.mark.parametrize("case", CASES, ids=[c["id"].split("::")[-1] for c in CASES])
def test_valor_lite_case(case: dict[str, Any]) -> None:
    gt, pd = _columns(case["datums"])
    table = load_classification(gt, pd).keys[0]
    ev = ValorLiteEvaluator(table)
    info = ev.info
    for name, value in case["expected_info"].items():
        assert info[name] == value, name
    for call in case["calls"]:
        method = getattr(ev, call["method"])
        if "expected_error" in call:
            with pytest.raises(ValueError):
                method(**call["args"])
            continue
        got = _as_dicts(method(**call["args"]))
        drop = call["method"].startswith("compute_confusion_matrix")
        exact = _compare(got, call["expected"], drop_zeros=drop)
        # nearly every float is bit-identical; the rest differ in the last bits only
        assert sum(exact) >= len(exact) - 2, exact


@pytest.mark.parametrize("case", CASES[:10], ids=[c["id"].split("::")[-1] for c in CASES[:10]])
def test_valor_lite_case_through_evaluate_classification(case: dict[str, Any]) -> None:
    gt, pd = _columns(case["datums"])
    for call in case["calls"]:
        if call["method"] not in ("compute_precision_recall", "compute_rocauc"):
            continue
        kwargs = {k: v for k, v in call["args"].items() if k in ("score_thresholds", "hardmax")}
        result = evaluate_classification(gt, pd, protocol="valor-lite", **kwargs)
        metrics = result.metrics["class"]
        got = {t: [m.to_dict() for m in ms] for t, ms in metrics.items()}
        _compare(got, call["expected"], drop_zeros=False)
        assert result.to_dict()["metrics"]["class"].keys() == metrics.keys()


@pytest.mark.parametrize("thresholds", [[], ()])
def test_empty_score_thresholds_raise(thresholds: list[float]) -> None:
    # valor-lite: "At least one score threshold must be passed."
    gt, pd = _columns(
        CASES[0]["datums"]
        if CASES
        else [{"uid": "a", "groundtruth": "x", "predictions": ["x"], "scores": [1.0]}]
    )
    ev = ValorLiteEvaluator(load_classification(gt, pd).keys[0])
    for method in (
        "compute_precision_recall",
        "compute_confusion_matrix",
        "compute_examples",
        "compute_confusion_matrix_with_examples",
    ):
        with pytest.raises(ValueError, match="score_thresholds"):
            getattr(ev, method)(score_thresholds=thresholds)
    with pytest.raises(ValueError, match="score_thresholds"):
        evaluate_classification(gt, pd, protocol="valor-lite", score_thresholds=thresholds)


# ------------------------------------------------------------ randomized vs valor-lite


def _random_datums(rng: np.random.Generator, n: int, labels: list[str]) -> list[dict[str, Any]]:
    datums = []
    for i in range(n):
        k = int(rng.integers(1, len(labels) + 1))
        preds = list(rng.choice(labels, size=k, replace=False))
        scores = np.round(rng.random(k), 1)  # ties, zeros and ones
        if rng.random() < 0.5:
            scores = scores / max(scores.sum(), 1e-9)
        if rng.random() < 0.1:
            scores[:] = 0.0
        gt = str(rng.choice(labels[:-1]))  # the last label is never a ground truth
        datums.append(
            {
                "uid": f"uid{i}",
                "groundtruth": gt,
                "predictions": [str(p) for p in preds],
                "scores": [float(min(max(s, 0.0), 1.0)) for s in scores],
            }
        )
    return datums


@pytest.mark.parametrize("seed", range(8))
def test_random_parity_with_valor_lite(seed: int) -> None:
    cls = pytest.importorskip("valor_lite.classification")
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c", "d", "e"][: 2 + seed % 4]
    datums = _random_datums(rng, 25 + 10 * seed, labels)
    loader = cls.Loader.in_memory()
    loader.add_data(
        [
            cls.Classification(
                uid=d["uid"],
                groundtruth=d["groundtruth"],
                predictions=d["predictions"],
                scores=d["scores"],
            )
            for d in datums
        ]
    )
    ref = loader.finalize()
    ev = ValorLiteEvaluator(load_classification(*_columns(datums)).keys[0])
    assert ev.info["number_of_labels"] == ref.info.number_of_labels
    assert ev.info["number_of_datums"] == ref.info.number_of_datums
    thresholds = [[0.0], [0.25, 0.5, 0.75], [0.6, 0.3, 0.0, 1.0]][seed % 3]
    for hardmax in (True, False):
        args = {"score_thresholds": thresholds, "hardmax": hardmax}
        for method in (
            "compute_precision_recall",
            "compute_confusion_matrix",
            "compute_confusion_matrix_with_examples",
            "compute_examples",
        ):
            want = _as_dicts(getattr(ref, method)(**args))
            got = _as_dicts(getattr(ev, method)(**args))
            assert got.keys() == want.keys(), method
            _compare(got, want, drop_zeros=False)
        paged = _as_dicts(ev.compute_examples(**args, limit=4, offset=3))
        _compare(
            paged, _as_dicts(ref.compute_examples(**args, limit=4, offset=3)), drop_zeros=False
        )
    _compare(_as_dicts(ev.compute_rocauc()), _as_dicts(ref.compute_rocauc()), drop_zeros=False)


def test_valor_lite_result_layout_and_table(tmp_path: Path) -> None:
    datums = _random_datums(np.random.default_rng(1), 12, ["x", "y", "z"])
    gt, pd = _columns(datums)
    result = evaluate_classification(
        gt,
        pd,
        protocol="valor-lite",
        score_thresholds=[0.5],
        metrics=["Counts", "Accuracy", "ConfusionMatrix", "Examples"],
    )
    by_type = result.metrics["class"]
    assert list(by_type) == ["Counts", "Accuracy", "ConfusionMatrix", "Examples"]
    assert len(by_type["Examples"]) == 12
    table = result.table()
    assert set(table.column("type").to_pylist()) == {
        "Counts.tp",
        "Counts.fp",
        "Counts.fn",
        "Counts.tn",
        "Accuracy",
    }
    json.dumps(result.to_dict())
    assert "Accuracy" in result.summary()
