"""evaluate_classification (protocol "sklearn") with key/value labels vs scikit-learn,
and the same numbers from columns, records, JSON lines and Parquet."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from assay import ClassificationResult, evaluate_classification

sk = pytest.importorskip("sklearn.metrics")
from sklearn.calibration import calibration_curve  # noqa: E402

ATOL = 1e-12
CLASSES = ["car", "truck", "bus", "bike"]


def _dataset(seed: int = 0, n: int = 300) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Three keys: class (dense probability vectors), occluded (hard labels), color
    (valor-style lists with rounded, tied scores; "green" is scored 0, never the truth)."""
    rng = np.random.default_rng(seed)
    uids = [f"img{i}" for i in range(n)]
    cls_t = rng.integers(0, 4, n)
    cls_s = rng.dirichlet(np.ones(4), size=n)
    occ_t = rng.integers(0, 2, n)
    occ_p = np.where(rng.random(n) < 0.8, occ_t, 1 - occ_t)
    col_t = rng.integers(0, 3, n)
    col_s = np.round(rng.dirichlet(np.ones(3), size=n), 1)
    col_s[:, 2] = 1.0 - col_s[:, 0] - col_s[:, 1]
    col_s = np.clip(col_s, 0, 1)
    col_s = np.concatenate([col_s, np.zeros((n, 1))], axis=1)  # "green": declared, score 0
    colors = ["red", "blue", "white", "green"]
    gt = {
        "datum_uid": uids * 3,
        "key": ["class"] * n + ["occluded"] * n + ["color"] * n,
        "value": [CLASSES[i] for i in cls_t]
        + [["no", "yes"][i] for i in occ_t]
        + [colors[i] for i in col_t],  # never "green"
    }
    dense = {"datum_uid": uids, "key": ["class"] * n, "scores": cls_s.tolist()}
    hard = {"datum_uid": uids, "key": ["occluded"] * n, "value": [["no", "yes"][i] for i in occ_p]}
    lists = {
        "datum_uid": uids,
        "key": ["color"] * n,
        "values": [colors] * n,
        "scores": col_s.tolist(),
    }
    ref = {
        "class": (cls_t, cls_s),
        "occluded": (occ_t, np.eye(2)[occ_p]),
        "color": (col_t, col_s),
    }
    return gt, {"dense": dense, "hard": hard, "lists": lists}, ref


def _evaluate_all(seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    gt, preds, ref = _dataset(seed)
    results = {}
    labels = {"class": CLASSES, "color": ["red", "blue", "white", "green"]}
    for name, key in (("dense", "class"), ("hard", "occluded"), ("lists", "color")):
        gt_k = {c: [v for v, k in zip(gt[c], gt["key"], strict=True) if k == key] for c in gt}
        declared = {k: v for k, v in labels.items() if k == key}
        results[key] = evaluate_classification(gt_k, preds[name], labels=declared or None)
    return results, ref


def _check_key(
    result: ClassificationResult,
    key: str,
    t: np.ndarray,
    s: np.ndarray,
    values: list[str],
    order: list[int],
) -> None:
    """``order[i]``: column of value i in the reference scores (or -1: declared, unseen)."""
    k = result[key]
    assert list(k.values) == values
    c = len(values)
    full = np.zeros((len(t), c))
    for i, j in enumerate(order):
        if j >= 0:
            full[:, i] = s[:, j]
    remap = {j: i for i, j in enumerate(order) if j >= 0}
    tt = np.array([remap[x] for x in t])
    pred = full.argmax(axis=1)
    lab = list(range(c))
    np.testing.assert_array_equal(
        np.array(k.confusion_matrix), sk.confusion_matrix(tt, pred, labels=lab)
    )
    assert k.accuracy == pytest.approx(sk.accuracy_score(tt, pred), abs=ATOL)
    p, r, f, sup = sk.precision_recall_fscore_support(tt, pred, labels=lab, zero_division=0)
    for i, v in enumerate(k.per_value):
        assert v.value == values[i]
        assert v.support == sup[i]
        assert (v.precision, v.recall, v.f1) == pytest.approx((p[i], r[i], f[i]), abs=ATOL)
    for name, fn in (
        ("precision", sk.precision_score),
        ("recall", sk.recall_score),
        ("f1", sk.f1_score),
    ):
        for avg in ("macro", "micro", "weighted"):
            want = fn(tt, pred, average=avg, zero_division=0)
            assert getattr(getattr(k, name), avg) == pytest.approx(want, abs=ATOL), (name, avg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auc = np.array([sk.roc_auc_score(tt == i, full[:, i]) for i in range(c)])
        ap = np.array([sk.average_precision_score(tt == i, full[:, i]) for i in range(c)])
    np.testing.assert_allclose([v.roc_auc for v in k.per_value], auc, atol=ATOL)
    np.testing.assert_allclose([v.average_precision for v in k.per_value], ap, atol=ATOL)
    ok = ~np.isnan(auc)
    assert k.roc_auc.macro == pytest.approx(auc[ok].mean(), abs=ATOL)
    assert k.roc_auc.weighted == pytest.approx(np.average(auc[ok], weights=sup[ok]), abs=ATOL)
    assert k.average_precision.macro == pytest.approx(ap.mean(), abs=ATOL)
    if ok.all() and c > 2:
        want = sk.roc_auc_score(tt, full, multi_class="ovr", labels=lab)
        assert k.roc_auc.macro == pytest.approx(want, abs=ATOL)
    onehot = np.eye(c)[tt]
    assert k.roc_auc.micro == pytest.approx(
        sk.roc_auc_score(onehot.ravel(), full.ravel()), abs=ATOL
    )
    for kk, acc in k.top_k_accuracy.items():
        if kk == 1:
            want = sk.accuracy_score(tt, pred)
        elif kk >= c:
            want = 1.0  # sklearn: "will result in a perfect score" (and 2 columns are rejected)
        else:
            want = sk.top_k_accuracy_score(tt, full, k=kk, labels=lab)
        assert acc == pytest.approx(want, abs=ATOL)
    conf = full.max(axis=1)
    correct = (pred == tt).astype(int)
    prob_true, prob_pred = calibration_curve(correct, conf, n_bins=15)
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, 16)[1:-1], conf), minlength=15)
    w = counts[counts > 0] / len(tt)
    assert k.expected_calibration_error == pytest.approx(
        np.sum(w * np.abs(prob_true - prob_pred)), abs=ATOL
    )
    assert list(k.reliability.count) == counts.tolist()


def test_three_keys_three_layouts_match_sklearn() -> None:
    results, ref = _evaluate_all()
    t, s = ref["class"]
    _check_key(results["class"], "class", t, s, CLASSES, [0, 1, 2, 3])
    assert results["class"]["class"].prediction_kind == "scores"
    t, s = ref["occluded"]
    _check_key(results["occluded"], "occluded", t, s, ["no", "yes"], [0, 1])
    assert results["occluded"]["occluded"].prediction_kind == "labels"
    t, s = ref["color"]
    _check_key(results["color"], "color", t, s, ["red", "blue", "white", "green"], [0, 1, 2, 3])
    green = results["color"]["color"].per_value[3]
    assert green.support == 0 and math.isnan(green.roc_auc) and green.average_precision == 0.0


def test_one_call_with_every_key_and_declared_order() -> None:
    gt, preds, ref = _dataset(1)
    # one predictions table in the long layout: one row per (datum, key, value)
    rows: dict[str, list[Any]] = {"datum_uid": [], "key": [], "value": [], "score": []}
    for name in ("dense", "lists"):
        p = preds[name]
        vals = CLASSES if name == "dense" else p["values"][0]
        for uid, key, scores in zip(p["datum_uid"], p["key"], p["scores"], strict=True):
            for v, sc in zip(vals, scores, strict=True):
                rows["datum_uid"].append(uid)
                rows["key"].append(key)
                rows["value"].append(v)
                rows["score"].append(sc)
    gt_2 = {c: [v for v, k in zip(gt[c], gt["key"], strict=True) if k != "occluded"] for c in gt}
    result = evaluate_classification(gt_2, rows, labels={"class": CLASSES})
    assert [k.key for k in result.keys] == ["class", "color"]
    t, s = ref["class"]
    _check_key(result, "class", t, s, CLASSES, [0, 1, 2, 3])
    t, s = ref["color"]
    # no declared labels: the values seen, sorted
    _check_key(result, "color", t, s, ["blue", "green", "red", "white"], [1, 3, 0, 2])


def _write_jsonl(path: Path, columns: dict[str, list[Any]]) -> Path:
    names = list(columns)
    with path.open("w") as fh:
        for row in zip(*(columns[n] for n in names), strict=True):
            fh.write(json.dumps(dict(zip(names, row, strict=True))) + "\n")
    return path


def test_columns_records_jsonl_parquet_give_the_same_result(tmp_path: Path) -> None:
    gt, preds, _ = _dataset(2, n=60)
    gt_c = {c: [v for v, k in zip(gt[c], gt["key"], strict=True) if k == "color"] for c in gt}
    pd_c = preds["lists"]
    want = evaluate_classification(gt_c, pd_c).to_dict()
    records_gt = [dict(zip(gt_c, r, strict=True)) for r in zip(*gt_c.values(), strict=True)]
    records_pd = [dict(zip(pd_c, r, strict=True)) for r in zip(*pd_c.values(), strict=True)]
    assert evaluate_classification(records_gt, records_pd).to_dict() == want
    g = _write_jsonl(tmp_path / "gt.jsonl", gt_c)
    p = _write_jsonl(tmp_path / "pd.jsonl", pd_c)
    assert evaluate_classification(g, p).to_dict() == want
    pq.write_table(pa.table(gt_c), tmp_path / "gt.parquet")
    pq.write_table(pa.table(pd_c), tmp_path / "pd.parquet")
    got = evaluate_classification(tmp_path / "gt.parquet", str(tmp_path / "pd.parquet"))
    assert got.to_dict() == want
    arr = tmp_path / "gt.json"
    arr.write_text(json.dumps(records_gt))
    assert evaluate_classification(arr, pa.table(pd_c)).to_dict() == want


def test_result_is_data() -> None:
    results, _ = _evaluate_all()
    r = results["color"]
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)  # nan became None
    assert '"roc_auc": null' in text
    table = r.table()
    assert table.num_rows == 4 and "average_precision" in table.column_names
    assert r.summary_table().column("key").to_pylist() == ["color"]
    assert "color: 300 datums" in r.summary()
    with pytest.raises(KeyError, match="among"):
        r["nope"]
    with pytest.raises(Exception):  # noqa: B017 - frozen
        r.keys[0].accuracy = 0.0  # type: ignore[misc]


def test_single_datum_single_value_key() -> None:
    r = evaluate_classification(
        {"datum_uid": ["a"], "value": ["x"]}, {"datum_uid": ["a"], "value": ["x"]}
    )
    k = r["class"]
    assert k.accuracy == 1.0 and k.values == ("x",)
    assert math.isnan(k.roc_auc.macro) and k.average_precision.macro == 1.0


def _assert_same_up_to_rounding(a: Any, b: Any, where: str = "result") -> None:
    """Equal structure and values; floats to 1e-12 relative (CUDA sums in another order)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            _assert_same_up_to_rounding(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_up_to_rounding(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        same = math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
        assert same or (math.isnan(a) and math.isnan(b)), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_device_auto_runs() -> None:
    gt, preds, _ = _dataset(3, n=40)
    gt_c = {c: [v for v, k in zip(gt[c], gt["key"], strict=True) if k == "class"] for c in gt}
    a = evaluate_classification(gt_c, preds["dense"], labels={"class": CLASSES}, device="auto")
    b = evaluate_classification(gt_c, preds["dense"], labels={"class": CLASSES}, device="cpu")
    # on a GPU "auto" is CUDA, whose float sums may differ from the CPU's in the last bits
    _assert_same_up_to_rounding(a.to_dict(), b.to_dict())
