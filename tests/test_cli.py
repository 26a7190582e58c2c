"""The `assay` command: evaluate coco (table and --json) and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("typer")
from assay.cli import app
from oracles import run_pycocotools
from typer.testing import CliRunner

runner = CliRunner()


def _coco100(shared_data: Path) -> tuple[Path, Path]:
    d = shared_data / "coco_val2014_100"
    return d / "instances_val2014_100.json", d / "instances_val2014_fakebbox100_results.json"


def test_evaluate_coco_json_matches_pycocotools(shared_data: Path) -> None:
    gt, dt = _coco100(shared_data)
    out = runner.invoke(app, ["evaluate", "coco", str(gt), str(dt), "--json", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    ev = run_pycocotools(json.loads(gt.read_text()), json.loads(dt.read_text()))
    np.testing.assert_allclose(payload["stats"], ev.stats, rtol=0, atol=1e-12)
    assert list(payload["stats_named"]) == [
        "AP",
        "AP50",
        "AP75",
        "APs",
        "APm",
        "APl",
        "AR1",
        "AR10",
        "AR100",
        "ARs",
        "ARm",
        "ARl",
    ]
    assert len(payload["per_category"]) == 80


def test_evaluate_coco_table_and_max_dets(shared_data: Path) -> None:
    gt, dt = _coco100(shared_data)
    out = runner.invoke(app, ["evaluate", "coco", str(gt), str(dt), "--max-dets", "1,10,1000"])
    assert out.exit_code == 0, out.output
    assert "Average Precision" in out.stdout and "person" in out.stdout
    ev = run_pycocotools(
        json.loads(gt.read_text()), json.loads(dt.read_text()), params={"maxDets": [1, 10, 1000]}
    )
    assert f"{ev.stats[8]:.3f}" in out.stdout  # AR at maxDets 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-dets", "a"], "comma-separated ints"),
        (["--device", "tpu"], "expected one of"),
        (["--iou-type", "keypoints"], "iou_type"),
    ],
)
def test_evaluate_coco_bad_options(shared_data: Path, args: list[str], message: str) -> None:
    gt, dt = _coco100(shared_data)
    out = runner.invoke(app, ["evaluate", "coco", str(gt), str(dt), *args])
    assert out.exit_code != 0
    assert message in (out.output + repr(out.exception))


def test_main_reports_missing_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.cli import main

    monkeypatch.setattr(
        "sys.argv",
        ["assay", "evaluate", "coco", str(tmp_path / "gt.json"), str(tmp_path / "dt.json")],
    )
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert "Expected `gt` to be an existing file" in capsys.readouterr().err


def _tiny_coco(tmp_path: Path, name: str = "cat") -> Path:
    gt = {
        "images": [{"id": 1, "height": 10, "width": 10}],
        "categories": [{"id": 1, "name": name}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "area": 25,
             "iscrowd": 0}
        ],
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    return path


def test_main_keeps_brackets_and_reports_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages quote inputs (brackets included, not read as rich markup); a directory
    given as a file is one line and exit 2, not a traceback."""
    from assay.cli import main

    gt = _tiny_coco(tmp_path)
    bad = tmp_path / "dt.json"
    bad.write_text('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, "x", 5], "score": 0.9}]')
    for dt, expected in (
        (bad, "but got [0, 0, 'x', 5]"),
        (tmp_path, "to be a readable JSON file"),
    ):
        monkeypatch.setattr("sys.argv", ["assay", "evaluate", "coco", str(gt), str(dt)])
        with pytest.raises(SystemExit) as exc:
            main()
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert expected in " ".join(err.split()) and "Traceback" not in err


def test_table_shows_names_with_brackets_as_written(tmp_path: Path) -> None:
    gt = _tiny_coco(tmp_path, name="[red]cat")
    dt = tmp_path / "dt.json"
    dt.write_text('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]')
    out = runner.invoke(app, ["evaluate", "coco", str(gt), str(dt)])
    assert out.exit_code == 0 and "[red]cat" in out.output


def test_max_dets_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by fuzzing: ``--max-dets 0`` printed pydantic's multi-line report and
    ``1,,10`` was read as ``1,10``."""
    from assay.cli import main

    gt = _tiny_coco(tmp_path)
    dt = tmp_path / "dt.json"
    dt.write_text('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]')
    monkeypatch.setattr("sys.argv",
                        ["assay", "evaluate", "coco", str(gt), str(dt), "--max-dets", "0"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`maxDets` to be a non-empty sequence of positive ints" in err
    for bad in ("1,,10", "1,10,", " , "):
        out = runner.invoke(app, ["evaluate", "coco", str(gt), str(dt), "--max-dets", bad])
        assert out.exit_code == 2, bad
        assert "comma-separated ints" in out.output or "at least one value" in out.output


def test_max_dets_beyond_int64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audit 17: a maxDets beyond int64 was a raw OverflowError from torch (45 lines, rc 1)."""
    from assay.cli import main

    gt = _tiny_coco(tmp_path)
    dt = tmp_path / "dt.json"
    dt.write_text('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]')
    huge = "99999999999999999999999"
    monkeypatch.setattr("sys.argv", ["assay", "evaluate", "coco", str(gt), str(dt),
                                     "--max-dets", f"1,10,{huge}"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"`maxDets` to be ints in [1, 2**63 - 1], but got {huge}" in err


def test_main_reports_overflow_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay import cli

    def overflow() -> None:
        raise OverflowError("int too big to convert")

    monkeypatch.setattr(cli, "app", overflow)
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    assert capsys.readouterr().err == "error: int too big to convert\n"


def test_category_table_names_the_area_range_used() -> None:
    """Audit 17: the title said "area all" whatever range per_category() used."""
    import assay
    from assay.cli import _category_table

    gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "cat"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5],
                           "area": 25, "iscrowd": 0}]}
    dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]
    assert _category_table(assay.evaluate_coco(gt, dt), None).title == "Per category (area all)"
    params = {"areaRng": [[0, 1024], [0, 1e10]], "areaRngLbl": ["[b]small", "everything"]}
    table = _category_table(assay.evaluate_coco(gt, dt, params=params), None)
    assert table.title == "Per category (area \\[b]small)"  # escaped for rich markup
