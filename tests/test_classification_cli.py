"""`assay evaluate classification GT PRED`: JSON lines and Parquet, both protocols."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("typer")
from assay.cli import app
from typer.testing import CliRunner

sk = pytest.importorskip("sklearn.metrics")
runner = CliRunner()


def _files(tmp_path: Path, fmt: str) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n, values = 80, ["cat", "dog", "emu"]
    t = rng.integers(0, 3, n)
    s = np.round(rng.dirichlet(np.ones(3), size=n), 2)
    s[:, 2] = 1.0 - s[:, 0] - s[:, 1]
    s = np.clip(s, 0.0, 1.0)
    gt = {
        "datum_uid": [f"d{i}" for i in range(n)],
        "key": ["animal"] * n,
        "value": [values[i] for i in t],
    }
    pd = {
        "datum_uid": gt["datum_uid"],
        "key": ["animal"] * n,
        "values": [values] * n,
        "scores": s.tolist(),
    }
    if fmt == "parquet":
        pq.write_table(pa.table(gt), tmp_path / "gt.parquet")
        pq.write_table(pa.table(pd), tmp_path / "pd.parquet")
        return tmp_path / "gt.parquet", tmp_path / "pd.parquet", t, s
    for name, cols in (("gt", gt), ("pd", pd)):
        with (tmp_path / f"{name}.jsonl").open("w") as fh:
            for row in zip(*cols.values(), strict=True):
                fh.write(json.dumps(dict(zip(cols, row, strict=True))) + "\n")
    return tmp_path / "gt.jsonl", tmp_path / "pd.jsonl", t, s


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_json_output_matches_sklearn(tmp_path: Path, fmt: str) -> None:
    gt, pd, t, s = _files(tmp_path, fmt)
    out = runner.invoke(app, ["evaluate", "classification", str(gt), str(pd), "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    key = payload["keys"]["animal"]
    assert payload["protocol"] == "sklearn" and payload["device"] == "cpu"
    assert key["accuracy"] == pytest.approx(sk.accuracy_score(t, s.argmax(axis=1)), abs=1e-12)
    want = sk.roc_auc_score(t, s, multi_class="ovr")
    assert key["roc_auc"]["macro"] == pytest.approx(want, abs=1e-12)


def test_table_output(tmp_path: Path) -> None:
    gt, pd, _, _ = _files(tmp_path, "jsonl")
    out = runner.invoke(app, ["evaluate", "classification", str(gt), str(pd)])
    assert out.exit_code == 0, out.output
    assert "animal" in out.stdout and "accuracy" in out.stdout


def test_valor_lite_protocol(tmp_path: Path) -> None:
    gt, pd, t, s = _files(tmp_path, "parquet")
    args = [
        "evaluate",
        "classification",
        str(gt),
        str(pd),
        "--protocol",
        "valor-lite",
        "--score-thresholds",
        "0.25,0.5",
        "--json",
    ]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    metrics = payload["metrics"]["animal"]
    assert [m["parameters"]["score_threshold"] for m in metrics["Accuracy"]] == [0.25, 0.5]
    # valor-lite hardmax accuracy: the argmax is right and its score reaches the threshold
    top = s.argmax(axis=1)
    want = np.mean((top == t) & (s.max(axis=1) >= 0.5))
    assert metrics["Accuracy"][1]["value"] == pytest.approx(want, abs=1e-12)
    table = runner.invoke(app, args[:-1])
    assert table.exit_code == 0 and "Counts.tp" in table.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--protocol", "coco"], "Expected `protocol` to be one of"),
        (["--score-thresholds", "a"], "comma-separated numbers"),
        (["--device", "tpu"], "expected one of"),
    ],
)
def test_bad_options(tmp_path: Path, extra: list[str], message: str) -> None:
    gt, pd, _, _ = _files(tmp_path, "jsonl")
    out = runner.invoke(app, ["evaluate", "classification", str(gt), str(pd), *extra])
    assert out.exit_code != 0
    assert message in (out.output + repr(out.exception))


def test_main_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.cli import main

    gt = tmp_path / "one.jsonl"
    gt.write_text('{"datum_uid": "d0", "key": "animal", "value": "cat"}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"datum_uid": "d0", "key": "animal", "value": "cat", "score": 2.0}\n')
    monkeypatch.setattr("sys.argv", ["assay", "evaluate", "classification", str(gt), str(bad)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "predictions[0].score" in err
