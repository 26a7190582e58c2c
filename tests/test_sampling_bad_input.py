"""Bad sampling input: one-line errors that name the field and the first offending item."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from assay.engine.index import EmbeddingIndex
from assay.engine.sampling import PredictionTable, parse_request, run_sampling


def _req(frames: Any, **fields: Any) -> dict[str, Any]:
    return {"num_of_samples": 2, "selection_strategy": "entropy", "frames": frames, **fields}


def _frames(*preds: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"frame_id": f"f{i}", "predictions": p} for i, p in enumerate(preds)]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -0.1, 1.5])
def test_scores_outside_zero_one(bad: float) -> None:
    frames = _frames([{"score": 0.5}], [{"score": 0.2}, {"score": bad}])
    with pytest.raises(ValueError, match=r"`score` to be a finite number in \[0, 1\]") as err:
        run_sampling(_req(frames))
    assert "frames[1].predictions[1].score" in str(err.value)
    table = pa.table({"frame_id": ["a", "b", "b"], "score": [0.5, 0.2, bad]})
    with pytest.raises(ValueError, match=r"rows\[2\]\.score") as err:
        PredictionTable.from_arrow(table)
    assert f"but got {bad!r} (" in str(err.value)  # the value as given, not a NumPy repr


def test_score_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match=r"frames\[0\]\.predictions\[0\]\.score"):
        run_sampling(_req(_frames([{"score": "0.5"}])))
    with pytest.raises(TypeError, match=r"frames\[1\]\.predictions\[0\]\.score"):
        run_sampling(_req(_frames([{"score": 0.5}], [{"score": True}])))


def test_probabilities_that_do_not_sum_to_one() -> None:
    frames = _frames([{"probabilities": [0.5, 0.5]}], [{"probabilities": [0.5, 0.6]}])
    with pytest.raises(ValueError, match="sum to 1") as err:
        run_sampling(_req(frames))
    msg = str(err.value)
    assert "frames[1].predictions[0].probabilities" in msg and "1.1" in msg and "from_logits" in msg
    # logits are not probabilities: no sum check
    run_sampling(_req(frames, from_logits=True))
    # within the documented tolerance is fine
    run_sampling(_req(_frames([{"probabilities": [0.5, 0.5 + 5e-4]}])))


def test_boxes_layout_names_the_first_row_not_the_first_frame() -> None:
    """Rows of a frame need not be adjacent: the first bad row is named, whatever its frame."""
    rows = [
        {"frame_id": "A", "probabilities": [0.5, 0.5]},
        {"frame_id": "B", "probabilities": [0.5, 0.6]},
        {"frame_id": "A", "probabilities": [0.5, 0.7]},
    ]
    table = pa.Table.from_pylist(rows)
    for frames in (PredictionTable.from_records(rows), PredictionTable.from_arrow(table)):
        with pytest.raises(ValueError, match=r"sum of 1\.1 .*rows\[1\]\.probabilities"):
            run_sampling(_req(frames))
    rows = [{"frame_id": "A", "score": 0.5}, {"frame_id": "B", "category_id": 1},
            {"frame_id": "A", "category_id": 2}]
    with pytest.raises(ValueError, match=r"`score` or `probabilities`.*rows\[1\]\)"):
        run_sampling(_req(PredictionTable.from_records(rows)))


def test_classification_frames_after_a_frame_without_its_prediction() -> None:
    frames = [{"frame_id": "a"}, {"frame_id": "b", "prediction": {"probabilities": [0.5, 0.5]}}]
    with pytest.raises(ValueError, match=r"`frames\[0\]\.prediction` to be an object"):
        parse_request(_req(frames))


def test_negative_and_non_finite_probabilities() -> None:
    with pytest.raises(ValueError, match=r">= 0.*frames\[0\]\.predictions\[1\]"):
        run_sampling(_req(_frames([{"score": 0.3}, {"probabilities": [1.2, -0.2]}])))
    with pytest.raises(ValueError, match=r"finite.*frames\[0\]\.predictions\[0\]\.probabilities"):
        run_sampling(_req(_frames([{"probabilities": [math.nan, 1.0]}])))


def test_probabilities_of_different_lengths() -> None:
    frames = _frames([{"probabilities": [0.5, 0.5]}], [{"probabilities": [0.2, 0.3, 0.5]}])
    with pytest.raises(ValueError, match=r"same for every prediction.*frames\[1\]\.predictions"):
        run_sampling(_req(frames))
    table = pa.Table.from_pylist(frames)
    with pytest.raises(ValueError, match=r"frames\[1\]\.predictions\[0\]\.probabilities"):
        PredictionTable.from_arrow(table)
    with pytest.raises(ValueError, match="at least 2 classes"):
        run_sampling(_req(_frames([{"probabilities": [1.0]}])))


def test_probs_weights_of_the_wrong_length_or_strategy() -> None:
    frames = _frames([{"probabilities": [0.2, 0.3, 0.5]}])
    with pytest.raises(ValueError, match=r"one weight per class \(3\), but got 2"):
        run_sampling(_req(frames, probs_weights=[1.0, 2.0]))
    with pytest.raises(ValueError, match="only with the entropy strategy"):
        run_sampling(_req(frames, selection_strategy="margin", probs_weights=[1.0, 1.0, 1.0]))


def test_prediction_without_what_the_strategy_needs() -> None:
    frames = _frames([{"score": 0.5}], [{"category_id": 3, "embedding_id": "e"}])
    with pytest.raises(ValueError, match=r"`score` or `probabilities`.*frames\[1\]\.predictions"):
        run_sampling(_req(frames))
    with pytest.raises(ValueError, match=r"mc_probabilities.*frames\[0\]\.predictions\[0\]"):
        run_sampling(_req(frames, selection_strategy="bald"))


def test_frame_without_predictions_when_null_detections_are_off() -> None:
    frames = _frames([{"score": 0.5}], None, [])
    with pytest.raises(ValueError, match=r"frames\[1\] \(frame_id 'f1'\)"):
        run_sampling(_req(frames, use_null_detections=False))


def test_duplicate_frame_ids() -> None:
    frames = [{"frame_id": "a"}, {"frame_id": "b"}, {"frame_id": "a"}]
    with pytest.raises(ValueError, match=r"unique, but got 'a' twice.*frames\[2\]"):
        run_sampling(_req(frames))


def test_bad_frame_ids_and_frames() -> None:
    with pytest.raises(TypeError, match=r"frames\[1\]\.frame_id"):
        run_sampling(_req([{"frame_id": "a"}, {"frame_id": 1.5}]))
    with pytest.raises(TypeError, match=r"`frames\[0\]` to be an object"):
        run_sampling(_req(["a"]))
    with pytest.raises(TypeError, match=r"frames\[0\]\.predictions` to be a list"):
        run_sampling(_req([{"frame_id": "a", "predictions": {"score": 0.4}}]))
    with pytest.raises(ValueError, match=r"frames\[0\]\.prediction` to be an object"):
        run_sampling({"num_of_samples": 1, "selection_strategy": "margin",
                      "frames": [{"frame_id": "a", "prediction": None}]})


def test_ids_that_are_not_utf8_text_are_named() -> None:
    """Audit: a lone surrogate (os.fsdecode of a file name that is not UTF-8) was a raw
    UnicodeEncodeError from pyarrow, naming neither the field nor the item."""
    bad = os.fsdecode(b"img_\xe9.jpg")  # 'img_\udce9.jpg'
    shown = r"'img_\\udce9.jpg'"
    with pytest.raises(ValueError, match=rf"`frame_id` to be valid UTF-8 text, but got {shown}"
                       r".*frames\[1\]\.frame_id"):
        run_sampling(_req([{"frame_id": "a"}, {"frame_id": bad}]))
    rows = [{"frame_id": "a", "score": 0.5}, {"frame_id": "b", "score": 0.5},
            {"frame_id": bad, "score": 0.5}]
    with pytest.raises(ValueError, match=r"`frame_id` to be valid UTF-8.*rows\[2\]\.frame_id"):
        PredictionTable.from_box_records(rows)
    with pytest.raises(ValueError, match=r"`request.labeled_ids` to be valid.*labeled_ids\[1\]"):
        run_sampling(_req(_frames([{"score": 0.5}]), labeled_ids=["x", bad]))
    frames = [{"frame_id": "a", "predictions": [{"score": 0.5, "embedding_id": "e"},
                                                {"score": 0.5, "embedding_id": bad}]}]
    with pytest.raises(ValueError, match=r"`embedding_id` to be valid UTF-8.*"
                       r"frames\[0\]\.predictions\[1\]\.embedding_id"):
        run_sampling(_coreset(frames=frames), embeddings={"e": [1.0], bad: [2.0]})
    with pytest.raises(ValueError, match=r"`embedding ids` to be valid UTF-8.*ids\[5\]"):
        run_sampling(_coreset(), embeddings={**{f"e{i}": [1.0] for i in range(5)}, bad: [2.0]})
    # the index refuses the same ids (it used to store them)
    with pytest.raises(ValueError, match=r"`ids` to be valid UTF-8.*ids\[0\]"):
        EmbeddingIndex(1).add([bad], np.ones((1, 1)))


# ---------------------------------------------------------------------- embeddings

POOL = [{"frame_id": f"f{i}", "predictions": [{"score": 0.1 * i, "embedding_id": f"e{i}"}]}
        for i in range(5)]


def _coreset(**fields: Any) -> dict[str, Any]:
    return {"num_of_samples": 2, "selection_strategy": "coreset", "frames": POOL, **fields}


def test_missing_embeddings() -> None:
    with pytest.raises(ValueError, match="Expected `embeddings` for strategy 'coreset'"):
        run_sampling(_coreset())


def test_embedding_id_that_does_not_exist() -> None:
    emb = {f"e{i}": [float(i), 0.0] for i in range(5) if i != 3}
    with pytest.raises(ValueError, match=r"'e3', which is not there.*frame 'f3'"):
        run_sampling(_coreset(), embeddings=emb)
    bare = [{"frame_id": "g", "predictions": [{"score": 0.3}]}, *POOL]
    with pytest.raises(ValueError, match=r"'g'.*no prediction with an embedding_id"):
        run_sampling({**_coreset(), "frames": bare}, embeddings={f"e{i}": [1.0] for i in range(5)})


def test_labeled_id_without_an_embedding() -> None:
    emb = {f"e{i}": [float(i), 0.0] for i in range(5)}
    with pytest.raises(ValueError, match=r"labeled_ids.*'L9'.*labeled_ids\[1\]"):
        run_sampling(_coreset(labeled_ids=["e0", "L9"]), embeddings=emb)


def test_a_labeled_frame_without_an_embedding_is_named_as_a_labeled_id() -> None:
    """Review: a labeled frame of the request without an embedding was reported as an
    `embedding_id` problem, without saying it is a labeled id (or which one)."""
    frames = [{"frame_id": "a", "predictions": [{"score": 0.9}]},
              {"frame_id": "b", "predictions": [{"score": 0.4}]},
              {"frame_id": "c", "predictions": [{"score": 0.6}]}]
    emb = {"b": [1.0, 0.0], "c": [9.0, 0.0]}
    for labeled, i in ((["a"], 0), (["b", "a"], 1)):
        with pytest.raises(ValueError) as err:
            run_sampling({**_coreset(), "frames": frames, "labeled_ids": labeled}, embeddings=emb)
        assert str(err.value) == (
            "Expected `labeled_ids` to name an embedding in `embeddings`, but got 'a', which is "
            f"not there (first offending item: labeled_ids[{i}] = frame 'a', which has no "
            "prediction with an embedding_id)"
        )
    # a labeled frame whose predictions have embedding ids: the id at fault is theirs
    frames[0]["predictions"] = [{"score": 0.9, "embedding_id": "a0"}]
    with pytest.raises(ValueError) as err:
        run_sampling({**_coreset(), "frames": frames, "labeled_ids": ["c", "a"]}, embeddings=emb)
    assert str(err.value) == (
        "Expected `embedding_id` to name an embedding in `embeddings`, but got 'a0', which is "
        "not there (first offending item: a prediction of labeled_ids[1] = frame 'a')"
    )


def test_embeddings_of_the_wrong_dimension() -> None:
    emb: dict[str, Any] = {f"e{i}": [float(i), 0.0] for i in range(5)}
    emb["e2"] = [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match=r"dimension 2, but got shape \(3,\).*embeddings\['e2'\]"):
        run_sampling(_coreset(), embeddings=emb)
    ids = [f"e{i}" for i in range(5)]
    with pytest.raises(ValueError, match=r"2-D \(N, D\)"):
        run_sampling(_coreset(), embeddings=(ids, np.zeros(5)))
    with pytest.raises(ValueError, match="4 ids for 5 rows"):
        run_sampling(_coreset(), embeddings=(ids[:4], np.zeros((5, 2))))
    with pytest.raises(ValueError, match=r"finite.*'e1'"):
        run_sampling(_coreset(), embeddings=(ids, np.array([[0, 0], [np.nan, 1]] + [[1, 1]] * 3)))
    with pytest.raises(ValueError, match="unique, but got 'e1' twice"):
        run_sampling(_coreset(), embeddings=(["e0", "e1", "e1", "e3", "e4"], np.zeros((5, 2))))
    with pytest.raises(TypeError, match="Expected `embeddings`"):
        run_sampling(_coreset(), embeddings=np.zeros((5, 2)))
    # zero-width vectors: faiss' k-means dies of a floating-point exception on them
    for strategy in ("coreset", "clustering", "hierarchical"):
        with pytest.raises(ValueError, match="dimension at least 1, but got dimension 0"):
            run_sampling(
                _coreset(selection_strategy=strategy), embeddings=(ids, np.zeros((5, 0)))
            )
    with pytest.raises(ValueError, match="dimension at least 1"):
        run_sampling(_coreset(), embeddings={i: np.zeros(0) for i in ids})


def test_embedding_index_input() -> None:
    index = EmbeddingIndex(2)
    index.add([f"e{i}" for i in range(5)], np.arange(10, dtype=np.float32).reshape(5, 2))
    result = run_sampling(_coreset(), embeddings=index)
    assert len(result) == 2
    index.remove(["e4"])
    with pytest.raises(ValueError, match="'e4', which is not there"):
        run_sampling(_coreset(), embeddings=index)


def test_unknown_request_field_and_strategy_in_one_line() -> None:
    with pytest.raises(ValueError) as err:
        parse_request({**_coreset(), "use_null_detection": True})
    assert "\n" not in str(err.value) and "'use_null_detections'" in str(err.value)


def test_progress_that_is_not_callable() -> None:
    with pytest.raises(TypeError, match="`progress` to be None or a callable"):
        run_sampling(_coreset(selection_strategy="margin"), progress=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [1.5, [1], True])
def test_category_id_of_the_wrong_type(bad: Any) -> None:
    frames = [{"frame_id": "a", "predictions": [{"category_id": bad, "score": 0.5}]}]
    where = r"`frames\[0\]\.predictions\[0\]\.category_id`"
    with pytest.raises(TypeError, match=where + " to be an int or str"):
        run_sampling({"num_of_samples": 1, "selection_strategy": "margin", "frames": frames})
