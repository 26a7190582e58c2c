"""`assay sample PREDICTIONS`: JSON lines and Parquet, both layouts, embeddings, outputs, demo."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("typer")
import assay
from assay.cli import app
from assay.engine.synthetic import make_sampling_pool
from typer.testing import CliRunner

runner = CliRunner()
FRAMES, (IDS, VECTORS) = make_sampling_pool(120, dim=8, seed=4)


def _box_rows(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for fr in frames:
        rows.extend({"frame_id": fr["frame_id"], **p} for p in fr["predictions"])
        if not fr["predictions"]:
            rows.append({"frame_id": fr["frame_id"]})
    return rows


def _write(tmp_path: Path, fmt: str, layout: str) -> Path:
    rows = FRAMES if layout == "frames" else _box_rows(FRAMES)
    if fmt == "parquet":
        path = tmp_path / f"{layout}.parquet"
        if layout == "frames":
            table = pa.Table.from_pylist(rows)
        else:
            cols = ("frame_id", "category_id", "score")
            table = pa.table({k: [r.get(k) for r in rows] for k in cols})
        pq.write_table(table, path)
        return path
    path = tmp_path / f"{layout}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _json(out: Any) -> dict[str, Any]:
    assert out.exit_code == 0, out.output
    payload: dict[str, Any] = json.loads(out.stdout)
    return payload


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
@pytest.mark.parametrize("layout", ["frames", "boxes"])
def test_uncertainty_matches_the_library(tmp_path: Path, fmt: str, layout: str) -> None:
    path = _write(tmp_path, fmt, layout)
    args = ["sample", str(path), "-s", "least", "-n", "12", "--policy", "mean", "--json"]
    payload = _json(runner.invoke(app, args))
    want = assay.sample({"num_of_samples": 12, "selection_strategy": "least",
                         "bbox_selection_policy": "mean", "frames": FRAMES})
    assert payload["frame_ids"] == list(want.frame_ids)
    assert payload["scores"] == list(want.scores)
    assert payload["device"] == "cpu" and payload["strategy"] == "least"


@pytest.mark.parametrize("emb_fmt", ["npy", "parquet", "jsonl"])
def test_pipeline_with_embeddings(tmp_path: Path, emb_fmt: str) -> None:
    preds = _write(tmp_path, "jsonl", "frames")
    extra: list[str] = []
    if emb_fmt == "npy":
        emb = tmp_path / "emb.npy"
        np.save(emb, VECTORS)
        (tmp_path / "ids.txt").write_text("\n".join(IDS) + "\n")
        extra = ["--embedding-ids", str(tmp_path / "ids.txt")]
    elif emb_fmt == "parquet":
        emb = tmp_path / "emb.parquet"
        pq.write_table(pa.table({"id": IDS, "embedding": VECTORS.tolist()}), emb)
    else:
        emb = tmp_path / "emb.jsonl"
        emb.write_text("".join(
            json.dumps({"embedding_id": i, "vector": v}) + "\n"
            for i, v in zip(IDS, VECTORS.tolist(), strict=True)
        ))
    args = ["sample", str(preds), "-s", "entropy", "-s", "coreset", "--factor", "3", "-n", "5",
            "-e", str(emb), *extra, "--json"]
    payload = _json(runner.invoke(app, args))
    want = assay.sample(
        {"num_of_samples": 5, "frames": FRAMES,
         "stages": [{"strategy": "entropy", "factor": 3}, {"strategy": "coreset"}]},
        embeddings=(IDS, VECTORS),
    )
    assert payload["frame_ids"] == list(want.frame_ids)
    assert payload["stages"] == ["coreset"] * 5 and payload["strategy"] == "entropy -> coreset"


def test_outputs_and_table(tmp_path: Path) -> None:
    preds = _write(tmp_path, "jsonl", "boxes")
    want = assay.sample({"num_of_samples": 30, "selection_strategy": "random", "seed": 2,
                         "frames": FRAMES})
    out = runner.invoke(app, ["sample", str(preds), "-s", "random", "-n", "30", "--seed", "2",
                              "-o", str(tmp_path / "r.jsonl"), "--limit", "5"])
    assert out.exit_code == 0, out.output
    assert "first 5 of 30" in out.stdout and want.frame_ids[0] in out.stdout
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["frame_id"] for r in rows] == list(want.frame_ids)
    assert rows[0] == {"rank": 0, "frame_id": want.frame_ids[0], "score": want.scores[0],
                       "stage": "random"}
    out = runner.invoke(app, ["sample", str(preds), "-s", "random", "-n", "30", "--seed", "2",
                              "-o", str(tmp_path / "r.csv")])
    assert out.exit_code == 0, out.output
    with (tmp_path / "r.csv").open() as fh:
        got = list(csv.DictReader(fh))
    assert [r["frame_id"] for r in got] == list(want.frame_ids)
    assert [float(r["score"]) for r in got] == list(want.scores)
    top = 2**64 - 1  # review: every 64-bit seed works again (FAISS gets seed % 2**31)
    payload = _json(runner.invoke(app, ["sample", str(preds), "-s", "random", "-n", "30",
                                        "--seed", str(top), "--json"]))
    want = assay.sample({"num_of_samples": 30, "selection_strategy": "random", "seed": top,
                         "frames": FRAMES})
    assert payload["frame_ids"] == list(want.frame_ids)


def test_cval_request_file(tmp_path: Path) -> None:
    body = {"num_of_samples": 4, "selection_strategy": "margin", "bbox_selection_policy": "min",
            "sort_strategy": "descending", "use_null_detections": True, "frames": FRAMES}
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body))
    payload = _json(runner.invoke(app, ["sample", str(path), "--json"]))
    assert payload["frame_ids"] == list(assay.sample(body).frame_ids)
    # options override the request's fields
    payload = _json(runner.invoke(app, ["sample", str(path), "-n", "2", "--sort", "ascending",
                                        "--json"]))
    assert payload["frame_ids"] == list(
        assay.sample({**body, "num_of_samples": 2, "sort_strategy": "ascending"}).frame_ids
    )


def test_more_samples_than_frames_says_so(tmp_path: Path) -> None:
    preds = _write(tmp_path, "jsonl", "frames")
    out = runner.invoke(app, ["sample", str(preds), "-s", "entropy", "-n", "500", "--limit", "3"])
    assert out.exit_code == 0, out.output
    assert "note: num_of_samples=500" in out.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-s", "entropi", "-n", "3"], "'margin', 'least', 'ratio'"),
        (["-s", "entropy", "-n", "3", "--policy", "median"], "'min', 'max', 'mean', 'sum'"),
        (["-s", "entropy", "-n", "3", "--sort", "up"], "'ascending', 'descending'"),
        (["-s", "coreset", "-n", "3"], "Expected `embeddings`"),
        (["-s", "entropy"], "number of frames"),
        (["-n", "3"], "selection strategy"),
        (["-s", "entropy", "-n", "3", "-o", "out.txt"], ".jsonl, .csv or .json"),
        (["-s", "entropy", "-n", "3", "--limit", "-1"], "`--limit` to be an int >= 0"),
    ],
)
def test_bad_options(tmp_path: Path, extra: list[str], message: str) -> None:
    preds = _write(tmp_path, "jsonl", "frames")
    out = runner.invoke(app, ["sample", str(preds), *extra])
    assert out.exit_code != 0
    assert message in (out.output + repr(out.exception))


def test_main_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"frame_id": "a", "score": 0.4}\n{"frame_id": "b", "score": 1.4}\n')
    monkeypatch.setattr("sys.argv", ["assay", "sample", str(bad), "-s", "margin", "-n", "1"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "rows[1].score" in err
    assert len(err) > 100 and err.count("\n") == 1  # one line, however long (not a TTY)


def _main_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                *args: str) -> str:
    """stderr of `assay sample ARGS` through main(): exit status 2 and one line."""
    from assay.cli import main

    monkeypatch.setattr("sys.argv", ["assay", "sample", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_audit_bad_options_and_files_exit_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audit 17: --factor with one -s was ignored (even 0); null ids became 'None'; an empty
    .npy said 'Aborted.' (exit 1); seed 2**64 printed a traceback (exit 1)."""
    preds = str(_write(tmp_path, "jsonl", "frames"))
    for factor in ("0", "-3", "3"):
        err = _main_error(monkeypatch, capsys, preds, "-s", "entropy", "-n", "1", "--factor",
                          factor)
        assert "`--factor` only with two or more `--strategy`" in err and "got 1" in err
    (tmp_path / "labeled.json").write_text(json.dumps([IDS[0], None]))
    err = _main_error(monkeypatch, capsys, preds, "-s", "margin", "-n", "3", "--labeled",
                      str(tmp_path / "labeled.json"))
    assert "`--labeled` to be a JSON array of str or int ids, but got None" in err
    assert "labeled.json[1]" in err
    np.save(tmp_path / "e.npy", VECTORS)
    (tmp_path / "ids.json").write_text(json.dumps([*IDS[:-1], None]))
    err = _main_error(monkeypatch, capsys, preds, "-s", "coreset", "-n", "3", "-e",
                      str(tmp_path / "e.npy"), "--embedding-ids", str(tmp_path / "ids.json"))
    assert "but got None" in err and f"ids.json[{len(IDS) - 1}]" in err
    (tmp_path / "ids.txt").write_text("\n".join(IDS) + "\n")
    (tmp_path / "empty.npy").write_bytes(b"")
    err = _main_error(monkeypatch, capsys, preds, "-s", "coreset", "-n", "3", "-e",
                      str(tmp_path / "empty.npy"), "--embedding-ids", str(tmp_path / "ids.txt"))
    assert "empty.npy' is empty" in err
    np.save(tmp_path / "str.npy", np.array([["x", "y"]]))
    err = _main_error(monkeypatch, capsys, preds, "-s", "coreset", "-n", "3", "-e",
                      str(tmp_path / "str.npy"), "--embedding-ids", str(tmp_path / "ids.txt"))
    assert "array of numbers" in err and "dtype <U1" in err
    seed = str(2**64)
    err = _main_error(monkeypatch, capsys, preds, "-s", "random", "-n", "2", "--seed", seed)
    assert f"`request.seed` to be an int in [0, {2**64 - 1}], but got {seed}" in err


def test_id_files_of_both_options_are_stripped(tmp_path: Path) -> None:
    """Audit note: --embedding-ids .txt kept trailing spaces while --labeled stripped them."""
    preds = _write(tmp_path, "jsonl", "frames")
    np.save(tmp_path / "e.npy", VECTORS)
    (tmp_path / "ids.txt").write_text("".join(f"  {i}\t \r\n" for i in IDS))
    (tmp_path / "labeled.txt").write_text(f" {IDS[0]} \n\n{IDS[1]}  \n")
    args = ["sample", str(preds), "-s", "coreset", "-n", "4", "-e", str(tmp_path / "e.npy"),
            "--embedding-ids", str(tmp_path / "ids.txt"), "--labeled",
            str(tmp_path / "labeled.txt"), "--json"]
    payload = _json(runner.invoke(app, args))
    want = assay.sample({"num_of_samples": 4, "selection_strategy": "coreset", "frames": FRAMES,
                         "labeled_ids": IDS[:2]}, embeddings=(IDS, VECTORS))
    assert payload["frame_ids"] == list(want.frame_ids)


def test_progress_bar_on_request(tmp_path: Path) -> None:
    preds = _write(tmp_path, "jsonl", "frames")
    out = runner.invoke(app, ["sample", str(preds), "-s", "entropy", "-n", "3", "--progress",
                              "--json"])
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.stdout)["frame_ids"]) == 3


def test_demo_runs_a_sampling(tmp_path: Path) -> None:
    out = runner.invoke(app, ["demo", "--images", "60", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    assert "COCO bbox evaluation" in out.stdout
    assert "Sampling: entropy" in out.stdout and "then core-set" in out.stdout
    assert "coreset" in out.stdout


def test_an_unwritable_output_is_refused_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by fuzzing: the suffix was checked only after the whole sampling run."""
    import assay.cli as cli

    def no_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the sampling ran")

    monkeypatch.setattr(cli, "run_sampling", no_run)
    preds = _write(tmp_path, "jsonl", "frames")
    out = runner.invoke(app, ["sample", str(preds), "-s", "entropy", "-n", "3", "-o", "out.tsv"])
    assert out.exit_code == 2 and ".jsonl, .csv or .json" in out.output
