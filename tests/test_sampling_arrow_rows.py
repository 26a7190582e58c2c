"""The Arrow loader of the boxes layout (one row per prediction) in every row order.

``PredictionTable.from_arrow`` finds frames as runs of equal ids when each frame's rows
are adjacent, skips the sort when the runs come in id order, and falls back to hashing
the ids otherwise; ``from_box_records`` (dicts, a separate code path) is the reference.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from assay.engine.sampling import PredictionTable, run_sampling

FIELDS = ("frame_id", "category_id", "score")


def _rows(seed: int, n: int = 40) -> list[dict[str, Any]]:
    """Rows grouped by frame, frames in ascending id order, some frames without boxes."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for f in range(n):
        k = int(rng.integers(0, 5))
        if k == 0:
            rows.append({"frame_id": f"f{f:03d}", "category_id": None, "score": None})
        for _ in range(k):
            rows.append(
                {
                    "frame_id": f"f{f:03d}",
                    "category_id": int(rng.integers(0, 7)),
                    "score": float(rng.choice([0.0, 0.25, 0.5, 0.5, 0.75, 1.0, rng.random()])),
                }
            )
    return rows


def _orders(rows: list[dict[str, Any]], seed: int) -> dict[str, list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    frames: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        frames.setdefault(r["frame_id"], []).append(r)
    ids = list(frames)
    shuffled_ids = [ids[i] for i in rng.permutation(len(ids))]
    split = [r for fid in ids for r in frames[fid]]
    # one frame's rows in two runs: the run ids repeat, so frames are hashed
    two = next(fid for fid in ids if len(frames[fid]) >= 2)
    split = [r for r in split if not (r["frame_id"] == two and r is frames[two][0])]
    split.append(frames[two][0])
    return {
        "grouped, ascending": rows,
        "grouped, shuffled frames": [r for fid in shuffled_ids for r in frames[fid]],
        "interleaved": [rows[i] for i in rng.permutation(len(rows))],
        "one frame in two runs": split,
        "descending": rows[::-1],
    }


def _arrow(rows: list[dict[str, Any]], chunks: int = 1) -> pa.Table:
    table = pa.table({k: [r[k] for r in rows] for k in FIELDS})
    if chunks == 1:
        return table
    cuts = np.linspace(0, len(rows), chunks + 1).astype(int)
    return pa.concat_tables([table.slice(a, b - a) for a, b in itertools.pairwise(cuts)])


def _assert_same(t: PredictionTable, ref: PredictionTable, rows: list[dict[str, Any]]) -> None:
    assert t.layout == ref.layout == "boxes"
    # by hand: frames sorted by id, a box per row with a prediction, in row order
    ids = sorted({r["frame_id"] for r in rows})
    boxes = [i for i, r in enumerate(rows) if r["score"] is not None]
    assert t.frame_ids.tolist() == ids
    assert t.box_frame.tolist() == [ids.index(rows[i]["frame_id"]) for i in boxes]
    assert t.box_position.tolist() == boxes
    first = {}
    for i, r in enumerate(rows):
        first.setdefault(r["frame_id"], i)
    assert t.frame_position.tolist() == [first[f] for f in ids]
    np.testing.assert_array_equal(t.frame_ids, ref.frame_ids)
    np.testing.assert_array_equal(t.frame_position, ref.frame_position)
    np.testing.assert_array_equal(t.box_frame, ref.box_frame)
    np.testing.assert_array_equal(t.box_position, ref.box_position)
    np.testing.assert_array_equal(t.score, ref.score)
    assert t.category_id is not None and ref.category_id is not None
    assert t.category_id.tolist() == ref.category_id.tolist()
    assert t.to_frames() == ref.to_frames()


ORDERS = ["grouped, ascending", "grouped, shuffled frames", "interleaved",
          "one frame in two runs", "descending"]


@pytest.mark.parametrize("chunks", [1, 3])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_row_order_matches_the_dict_loader(seed: int, order: str, chunks: int) -> None:
    rows = _orders(_rows(seed), seed)[order]
    ref = PredictionTable.from_box_records(rows)
    _assert_same(PredictionTable.from_arrow(_arrow(rows, chunks)), ref, rows)


@pytest.mark.parametrize(
    ("order", "branch"),
    [
        ("grouped, ascending", "runs in id order"),
        ("grouped, shuffled frames", "hashed runs"),
        ("interleaved", "hashed rows"),
    ],
)
def test_each_order_takes_its_grouping_branch(
    order: str, branch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.engine.sampling import _arrow_frames as T

    seen: list[str] = []
    ascending, take = T.ascending, T.take_sorted

    def spy_ascending(ids: pa.Array) -> bool:
        result = ascending(ids)
        seen.append("ascending" if result else "not ascending")
        return result

    def spy_take(arr: Any, rows: np.ndarray) -> pa.Array:
        seen.append("take")
        return take(arr, rows)

    monkeypatch.setattr(T, "ascending", spy_ascending)
    monkeypatch.setattr(T, "take_sorted", spy_take)
    rows = _orders(_rows(0, n=200), 0)[order]
    T.frames_of_rows(_arrow(rows).column("frame_id"))
    assert seen == {
        "runs in id order": ["take", "ascending"],
        "hashed runs": ["take", "not ascending"],
        "hashed rows": ["not ascending"],
    }[branch]


def test_duplicate_frame_runs_are_one_frame() -> None:
    rows = [
        {"frame_id": "b", "category_id": 1, "score": 0.1},
        {"frame_id": "a", "category_id": 1, "score": 0.2},
        {"frame_id": "b", "category_id": 2, "score": 0.3},
    ]
    t = PredictionTable.from_arrow(_arrow(rows))
    assert t.frame_ids.tolist() == ["a", "b"]
    assert t.box_frame.tolist() == [1, 0, 1] and t.frame_position.tolist() == [1, 0]
    assert t.boxes_per_frame().tolist() == [1, 2]


def test_integer_category_ids_stay_integers() -> None:
    table = pa.table({"frame_id": ["a", "a", "b"], "score": [0.1, 0.2, 0.3],
                      "category_id": pa.array([3, 5, 7], pa.int32())})
    t = PredictionTable.from_arrow(table)
    assert t.category_id is not None and t.category_id.dtype == np.int64
    cats = [p["category_id"] for f in t.to_frames() for p in f["predictions"]]
    assert cats == [3, 5, 7] and all(type(c) is int for c in cats)
    # nulls, strings and ids beyond int64 keep Python values
    for col in (pa.array([3, None, 7]), pa.array(["x", "y", None]),
                pa.array([1, 2, 2**64 - 1], pa.uint64())):
        t = PredictionTable.from_arrow(table.set_column(2, "category_id", col))
        assert t.category_id is not None and t.category_id.dtype == object
        assert t.category_id.tolist() == col.to_pylist()


@pytest.mark.parametrize("col", [pa.array([1.0, 2.0, 3.0]), pa.array([True, False, True])])
def test_category_ids_of_another_type_are_refused(col: pa.Array) -> None:
    table = pa.table({"frame_id": ["a", "a", "b"], "score": [0.1, 0.2, 0.3], "category_id": col})
    with pytest.raises(TypeError, match=rf"ints or strs, but got {col.type} .*rows\[0\]") as err:
        PredictionTable.from_arrow(table)
    assert ("'Int64'" in str(err.value)) == pa.types.is_floating(col.type)


def test_scores_are_read_without_a_copy_or_a_warning() -> None:
    table = pa.table({"frame_id": ["a", "a", "b", "c"], "score": [0.1, 0.6, 0.5, 0.9]})
    t = PredictionTable.from_arrow(table)
    assert not t.score.flags.writeable  # a view of the Arrow column, not a copy
    assert t.score.ctypes.data == table.column("score").chunk(0).buffers()[1].address
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for strategy in ("margin", "entropy", "least", "ratio", "probability"):
            result = run_sampling(
                {"num_of_samples": 2, "selection_strategy": strategy, "frames": t}
            )
            assert len(result.frame_ids) == 2
    np.testing.assert_array_equal(table.column("score").to_numpy(), [0.1, 0.6, 0.5, 0.9])


def test_rows_without_predictions_in_a_run() -> None:
    rows = [
        {"frame_id": "a", "category_id": None, "score": None},
        {"frame_id": "b", "category_id": 2, "score": 0.4},
        {"frame_id": "b", "category_id": None, "score": None},
        {"frame_id": "c", "category_id": None, "score": None},
    ]
    t = PredictionTable.from_arrow(_arrow(rows))
    _assert_same(t, PredictionTable.from_box_records(rows), rows)
    assert t.boxes_per_frame().tolist() == [0, 1, 0]


def test_frames_whose_predictions_column_has_no_type() -> None:
    """No frame has predictions, so pyarrow types the column null: frames without boxes."""
    table = pa.Table.from_pylist([{"frame_id": "a", "predictions": None},
                                  {"frame_id": "b", "predictions": None}])
    assert pa.types.is_null(table.schema.field("predictions").type)
    t = PredictionTable.from_arrow(table)
    assert (t.layout, t.frame_ids.tolist(), t.boxes_per_frame().tolist()) == (
        "frames", ["a", "b"], [0, 0])
    out = run_sampling({"num_of_samples": 1, "selection_strategy": "margin", "frames": table})
    assert out.frame_ids == ("a",)  # both fake predictions tie: the smaller id
    typeless = pa.Table.from_pylist([{"frame_id": "a", "prediction": None}])
    with pytest.raises(ValueError, match=r"`frames\[0\]\.prediction` to be an object"):
        PredictionTable.from_arrow(typeless)


def test_classification_frames_as_an_arrow_table() -> None:
    rows = [{"frame_id": "a", "prediction": {"probabilities": [0.5, 0.5]}},
            {"frame_id": "b", "prediction": {"probabilities": [0.9, 0.1]}}]
    request = {"num_of_samples": 2, "selection_strategy": "margin"}
    from_list = run_sampling({**request, "frames": rows})
    from_table = run_sampling({**request, "frames": pa.Table.from_pylist(rows)})
    assert from_table.frame_ids == from_list.frame_ids == ("a", "b")
    np.testing.assert_array_equal(from_table.scores, from_list.scores)
