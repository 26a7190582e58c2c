"""JSON lines through pyarrow's reader, with the record-by-record reader as the reference.

``read_predictions`` / ``read_embeddings`` parse ``.jsonl`` with ``pyarrow.json`` and load
the table with ``from_arrow``; whatever that path cannot read or refuses is read again
record by record, whose rules and error messages are the reference.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from assay.engine.sampling import PredictionTable, readers
from assay.engine.sampling.readers import read_embeddings, read_ids, read_predictions


def _frames(seed: int, n: int = 30) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    frames = []
    for f in rng.permutation(n).tolist():
        preds = []
        for j in range(int(rng.integers(0, 4))):
            p: dict[str, Any] = {"category_id": int(rng.integers(0, 5))}
            if rng.random() < 0.8:
                p["score"] = float(rng.choice([0, 1, 0.5, rng.random()]))
            if rng.random() < 0.5 or "score" not in p:
                p["probabilities"] = rng.dirichlet(np.ones(3)).tolist()
            p["mc_probabilities"] = rng.dirichlet(np.ones(3), size=2).tolist()
            if rng.random() < 0.7:
                p["embedding_id"] = f"e{f}-{j}"
            preds.append(p)
        frame: dict[str, Any] = {"frame_id": f"f{f:03d}"}
        if preds or rng.random() < 0.5:
            frame["predictions"] = preds
        frames.append(frame)
    return frames


def _rows(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for fr in frames:
        preds = fr.get("predictions") or []
        rows.extend({"frame_id": fr["frame_id"], **p} for p in preds)
        if not preds:
            rows.append({"frame_id": fr["frame_id"]})
    return rows


def _write(path: Path, records: list[Any], blank: bool = False) -> Path:
    lines = [json.dumps(r) for r in records]
    if blank:
        lines.insert(len(lines) // 2, "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _assert_same(t: PredictionTable, ref: PredictionTable) -> None:
    assert (t.task, t.layout) == (ref.task, ref.layout)
    for name in ("frame_ids", "frame_position", "box_frame", "box_position", "score"):
        np.testing.assert_array_equal(getattr(t, name), getattr(ref, name), err_msg=name)
    for name in ("probabilities", "mc_probabilities"):
        a, b = getattr(t, name), getattr(ref, name)
        assert (a is None) == (b is None), name
        if a is not None:
            np.testing.assert_array_equal(a, b, err_msg=name)
    for name in ("embedding_id", "category_id"):
        a, b = getattr(t, name), getattr(ref, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.tolist() == b.tolist(), name
    assert t.to_frames() == ref.to_frames()


def _no_python_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any) -> Any:
        raise AssertionError("the record-by-record reader ran")

    monkeypatch.setattr(readers, "read_json_lines", fail)


@pytest.mark.parametrize("layout", ["frames", "boxes"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_arrow_reader_matches_the_record_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str, seed: int
) -> None:
    records = _frames(seed) if layout == "frames" else _rows(_frames(seed))
    path = _write(tmp_path / "p.jsonl", records, blank=seed == 1)
    ref = PredictionTable.from_records(records)
    _no_python_reader(monkeypatch)
    _assert_same(read_predictions(path), ref)


def test_classification_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = [
        {"frame_id": f"f{i}", "prediction": {"probabilities": [0.2, 0.8 - i / 10, i / 10]}}
        for i in range(5)
    ]
    path = _write(tmp_path / "c.jsonl", records)
    ref = PredictionTable.from_records(records)
    with monkeypatch.context() as m:
        _no_python_reader(m)
        _assert_same(read_predictions(path), ref)
    with pytest.raises(ValueError, match="Expected detection frames"):
        read_predictions(path, task="detection")


def test_what_arrow_cannot_read_is_read_record_by_record(tmp_path: Path) -> None:
    # frame ids of two JSON types: pyarrow cannot infer one column type
    records = [
        {"frame_id": 7, "score": 0.5},
        {"frame_id": "a", "score": 0.25},
        {"frame_id": 7, "score": 1},
    ]
    path = _write(tmp_path / "mixed.jsonl", records)
    assert readers._arrow_json_lines(path) is None
    _assert_same(read_predictions(path), PredictionTable.from_records(records))


@pytest.mark.parametrize(
    ("line", "error", "match"),
    [
        ('{"frame_id": "b", "score": 0.5', ValueError, r"line 2 of .* is not valid JSON"),
        ('{"frame_id": "b", "score": NaN}', ValueError, r"finite number in \[0, 1\].*rows\[1\]"),
        ('{"frame_id": "b", "score": true}', TypeError, r"`rows\[1\]\.score`"),
        ('{"frame_id": "b", "score": "0.5"}', TypeError, r"`rows\[1\]\.score`"),
        ('{"frame_id": "b", "score": 1.5}', ValueError, r"rows\[1\]\.score"),
        ('{"frame_id": "b", "scores": 0.5}', ValueError, r"unknown.*'scores'.*rows\[1\]"),
        ('{"frame_id": 1.5, "score": 0.5}', TypeError, r"`rows\[1\]\.frame_id`"),
        ('{"score": 0.5}', TypeError, r"`rows\[1\]\.frame_id`"),
        ("[1, 2]", TypeError, r"`rows\[1\]` to be an object"),
        ('{"frame_id": "b", "score": 12345678901234567890123}', ValueError, r"890123 .*rows\[1\]"),
        ('{"frame_id": "b", "score": 1e400}', ValueError, r"got inf .*rows\[1\]"),
    ],
)
def test_bad_records_are_named_as_before(
    tmp_path: Path, line: str, error: type[Exception], match: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"frame_id": "a", "score": 0.5}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(error, match=match):
        read_predictions(path)


def test_duplicate_keys_keep_the_last_value_as_json_does(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text('{"frame_id": "a", "score": 0.1, "score": 0.9}\n', encoding="utf-8")
    assert read_predictions(path).score.tolist() == [0.9]


def test_embeddings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((6, 4)).astype(np.float32)
    records = [{"id": f"v{i}", "embedding": v.tolist()} for i, v in enumerate(vectors)]
    path = _write(tmp_path / "e.jsonl", records)
    with monkeypatch.context() as m:
        _no_python_reader(m)
        ids, got = read_embeddings(path)
    assert ids == [r["id"] for r in records]
    np.testing.assert_array_equal(got, vectors)
    # integer ids become strings
    int_ids = [{"id": i, "embedding": r["embedding"]} for i, r in enumerate(records)]
    with monkeypatch.context() as m:
        _no_python_reader(m)
        ids, got = read_embeddings(_write(tmp_path / "ints.jsonl", int_ids))
    assert ids == [str(i) for i in range(6)]
    np.testing.assert_array_equal(got, vectors)
    # ids of two JSON types: read record by record, which refuses them
    records[2]["id"] = 2
    with pytest.raises(ValueError, match="records of one shape"):
        read_embeddings(_write(tmp_path / "mixed.jsonl", records))
    records[2]["id"] = "v2"
    # ragged vectors: the record reader's message
    records[3]["embedding"] = [1.0]
    with pytest.raises(ValueError, match="dimension 4, but got 1"):
        read_embeddings(_write(tmp_path / "ragged.jsonl", records))


# apache/arrow#51305 (pyarrow 26): a list's leading null is dropped but still counted;
# the table would shift later rows' values. The full validation sends these files to
# the record reader.
@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ('{"frame_id": "a", "probabilities": [null, 0.5]}\n', ValueError, r"rows\[0\]"),
        (
            '{"frame_id": "a", "probabilities": [null, 0.5]}\n'
            '{"frame_id": "b", "probabilities": [0.3, 0.7]}\n',
            ValueError,
            r"rows\[0\]",
        ),
        ('{"frame_id": "a", "mc_probabilities": [[null, 0.5]]}\n', ValueError, r"rows\[0\]"),
        (
            '{"frame_id": "a", "predictions": [null, {"score": 0.5}]}\n',
            TypeError,
            r"`frames\[0\]\.predictions\[0\]` to be an object",
        ),
    ],
)
def test_leading_nulls_in_lists_are_not_misread(
    tmp_path: Path, text: str, error: type[Exception], match: str
) -> None:
    path = tmp_path / "nulls.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error, match=match):
        read_predictions(path)


def test_a_null_list_is_a_prediction_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a null list (not a null inside one) is fine for Arrow: no fallback, no shift
    _no_python_reader(monkeypatch)
    path = tmp_path / "ok.jsonl"
    path.write_text(
        '{"frame_id": "a", "score": 0.5, "probabilities": null}\n'
        '{"frame_id": "b", "probabilities": [0.3, 0.7]}\n',
        encoding="utf-8",
    )
    t = read_predictions(path)
    np.testing.assert_array_equal(t.probabilities, [[np.nan, np.nan], [0.3, 0.7]])


@pytest.mark.parametrize("key", ["predictions", "prediction"])
def test_a_first_frame_without_predictions_is_still_a_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    """A first record holding only its id says nothing of the layout: the next ones do."""
    pred: Any = [{"score": 0.2}] if key == "predictions" else {"probabilities": [0.2, 0.8]}
    records = [{"frame_id": "b"}, {"frame_id": "a", key: pred}]
    if key == "prediction":  # a classification frame needs its prediction: named
        with pytest.raises(ValueError, match=r"`frames\[0\]\.prediction` to be an object"):
            PredictionTable.from_records(records)
        return
    ref = PredictionTable.from_records(records)
    assert (ref.layout, ref.boxes_per_frame().tolist()) == ("frames", [1, 0])  # by id
    (tmp_path / "p.json").write_text(json.dumps(records), encoding="utf-8")
    _assert_same(read_predictions(tmp_path / "p.json"), ref)
    path = _write(tmp_path / "p.jsonl", records)
    _assert_same(read_predictions(path), ref)
    _no_python_reader(monkeypatch)
    _assert_same(read_predictions(path), ref)  # Arrow reads it alike


def test_a_first_row_without_a_box_keeps_the_boxes_layout(tmp_path: Path) -> None:
    records = [{"frame_id": "b"}, {"frame_id": "a", "score": 0.2}]
    ref = PredictionTable.from_records(records)
    assert (ref.layout, ref.boxes_per_frame().tolist()) == ("boxes", [1, 0])  # by id
    _assert_same(read_predictions(_write(tmp_path / "p.jsonl", records)), ref)
    mixed = [{"frame_id": "b", "score": 0.2}, {"frame_id": "a", "predictions": []}]
    with pytest.raises(ValueError, match=r"unknown field 'predictions'.*rows\[1\]"):
        read_predictions(_write(tmp_path / "m.jsonl", mixed))


def test_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"frame_id": "a", "score": 0.5}\n{"frame_id": "\xff", "score": 0.5}\n')
    with pytest.raises(ValueError, match=r"to be UTF-8 text, but line 2 of"):
        read_predictions(path)


def test_byte_order_mark_is_not_a_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bom.jsonl"
    # ids of two JSON types: the record reader
    path.write_text('\ufeff{"frame_id": 7, "score": 0.5}\n{"frame_id": "x"}\n', encoding="utf-8")
    t = read_predictions(path)
    assert t.frame_ids.tolist() == ["7", "x"] and t.boxes_per_frame().tolist() == [1, 0]
    # one type: pyarrow's reader, which skips the mark too
    path.write_text('\ufeff{"frame_id": "7", "score": 0.5}\n{"frame_id": "x"}\n', encoding="utf-8")
    _no_python_reader(monkeypatch)
    t = read_predictions(path)
    assert t.frame_ids.tolist() == ["7", "x"] and t.boxes_per_frame().tolist() == [1, 0]


@pytest.mark.parametrize(
    ("line", "error", "match"),
    [
        ('{"id": 12345678901234567890, "embedding": [1.0]}', ValueError, "records of one shape"),
        ('{"id": 1.5, "embedding": [1.0]}', TypeError, r"str or int ids, but got double 1\.5"),
    ],
)
def test_embedding_ids_that_are_not_str_or_int64(
    tmp_path: Path, line: str, error: type[Exception], match: str
) -> None:
    path = tmp_path / "ids.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(error, match=match):
        read_embeddings(path)


def test_line_separators_inside_strings_do_not_end_a_line(tmp_path: Path) -> None:
    # JSON allows U+2028 / U+2029 raw inside strings; only \n ends a JSON line
    path = tmp_path / "ls.jsonl"
    rows = [{"frame_id": "a\u2028b", "score": 0.5}, {"frame_id": "c\u2029", "score": 1}]
    path.write_text("\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    assert read_predictions(path).frame_ids.tolist() == ["a\u2028b", "c\u2029"]
    mixed = [{"frame_id": 1, "score": 0.5}, {"frame_id": "c\u2028", "score": 1}]  # record reader
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in mixed), "utf-8")
    assert read_predictions(path).frame_ids.tolist() == ["1", "c\u2028"]


def test_rows_whose_frame_id_is_an_int_in_one_row_and_a_str_in_another(tmp_path: Path) -> None:
    """Found by fuzzing: 7 and "7" were grouped apart, then called a repeated frame id."""
    records = [{"frame_id": 7, "score": 0.5}, {"frame_id": "7", "score": 0.4},
               {"frame_id": "8"}]
    t = PredictionTable.from_records(records)
    assert (t.frame_ids.tolist(), t.boxes_per_frame().tolist()) == (["7", "8"], [2, 0])
    _assert_same(read_predictions(_write(tmp_path / "p.jsonl", records)), t)


def test_id_files_are_split_at_newlines_only(tmp_path: Path) -> None:
    """Found by fuzzing: str.splitlines also split ids at form feeds and U+2028."""
    ids = ["a\u2028b", "c\x0cd", "plain"]
    (tmp_path / "ids.txt").write_text("\r\n".join(ids) + "\n", encoding="utf-8")
    np.save(tmp_path / "e.npy", np.eye(3, dtype=np.float32))
    got, vectors = read_embeddings(tmp_path / "e.npy", ids=tmp_path / "ids.txt")
    assert got == ids and vectors.shape == (3, 3)


# ---------------------------------------------------------------- audit 17 (sampling engine)


def test_json_id_lists_hold_str_or_int_ids_only(tmp_path: Path) -> None:
    """Audit: every item went through str(): null became the id 'None', {"a": 1} the id
    "{'a': 1}", and a later error named an id the file never held."""
    path = tmp_path / "ids.json"
    path.write_text(json.dumps(["a", 7, "b"]))
    assert read_ids(path) == ["a", "7", "b"]  # ints as their decimal string, as frame ids
    for bad, shown in ((None, "None"), (1.5, "1.5"), (True, "True"), ({"a": 1}, "{'a': 1}"),
                       (["a"], "['a']")):
        path.write_text(json.dumps(["a", bad]))
        with pytest.raises(TypeError, match=rf"`--labeled` to be a JSON array of str or int "
                           rf"ids, but got {re.escape(shown)} \(first offending item: "
                           rf".*ids\.json\[1\]\)"):
            read_ids(path, what="--labeled")
    path.write_text(json.dumps({"ids": ["a"]}))
    with pytest.raises(ValueError, match=r"JSON array of str or int ids, but .*' holds dict"):
        read_ids(path)
    path.write_text("[")
    with pytest.raises(ValueError, match=r"valid JSON, but .*ids.json' is not"):
        read_ids(path)
    # the .npy embeddings' ids go through the same reader
    np.save(tmp_path / "e.npy", np.eye(2, dtype=np.float32))
    path.write_text(json.dumps(["a", None]))
    with pytest.raises(TypeError, match=r"`embedding ids` to be a JSON array.*None"):
        read_embeddings(tmp_path / "e.npy", ids=path)


def test_text_id_lists_are_stripped_the_same_way_for_both_options(tmp_path: Path) -> None:
    """Audit: --embedding-ids .txt kept trailing spaces, --labeled .txt stripped them."""
    (tmp_path / "ids.txt").write_text("  a \n\tb\t\n\n   \nc\u2028d\n", encoding="utf-8")
    assert read_ids(tmp_path / "ids.txt") == ["a", "b", "c\u2028d"]
    np.save(tmp_path / "e.npy", np.eye(3, dtype=np.float32))
    got, _ = read_embeddings(tmp_path / "e.npy", ids=tmp_path / "ids.txt")
    assert got == ["a", "b", "c\u2028d"]


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (b"", ValueError, r"array of numbers, but '.*e\.npy' is empty"),
        (np.array([["x", "y"]]), TypeError, r"array of numbers, but '.*e\.npy' holds dtype <U1"),
        (np.array([[True, False]]), TypeError, r"holds dtype bool"),
        (np.array([[1, "x"]], dtype=object), ValueError, r"'.*e\.npy' could not be read: Object"),
        (b"not a npy file", ValueError, r"'.*e\.npy' could not be read"),
    ],
    ids=["empty", "str", "bool", "object", "garbage"],
)
def test_npy_embeddings_that_are_not_numbers_name_the_file(
    tmp_path: Path, content: Any, error: type[Exception], match: str
) -> None:
    """Audit: an empty file was a raw EOFError (the CLI said 'Aborted.'), strings gave
    NumPy's bare 'could not convert string to float'."""
    path = tmp_path / "e.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content, allow_pickle=True)
    (tmp_path / "ids.txt").write_text("a\n")
    with pytest.raises(error, match=match):
        read_embeddings(path, ids=tmp_path / "ids.txt")


def test_an_npz_archive_named_npy_is_refused(tmp_path: Path) -> None:
    with (tmp_path / "e.npy").open("wb") as fh:
        np.savez(fh, x=np.eye(2))
    (tmp_path / "ids.txt").write_text("a\nb\n")
    with pytest.raises(ValueError, match=r"'.*e\.npy' is a \.npz archive"):
        read_embeddings(tmp_path / "e.npy", ids=tmp_path / "ids.txt")
