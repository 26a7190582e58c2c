"""Sampling requests: CVAL's documented fields and values are accepted, anything else rejected.

CVAL's on-premise sampling (cval-lib: cval_lib/models/detection.py,
cval_lib/models/classification.py, docs/2_Sampling_for_the_detection_task_(on-premise).md):
num_of_samples, selection_strategy (margin, least, ratio, entropy, probability,
clustering, hierarchical), bbox_selection_policy (min, max, mean, sum), sort_strategy
(ascending, descending), num_of_clusters (-1 default), use_null_detections (default
true), probs_weights, dataset_id, frames with predictions (category_id, score,
embedding_id, probabilities).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from assay.engine.sampling import (
    BBOX_SELECTION_POLICIES,
    CVAL_STRATEGIES,
    SELECTION_STRATEGIES,
    SORT_STRATEGIES,
    BBoxPrediction,
    ClassificationFrame,
    ClassificationSamplingRequest,
    DetectionFrame,
    SamplingRequest,
    parse_request,
)

FRAMES = [
    {"frame_id": "9f1c", "predictions": [{"category_id": 1, "score": 0.8, "embedding_id": "e1"}]},
    {"frame_id": "a3b2", "predictions": [{"category_id": "cat", "score": 0.3,
                                          "probabilities": [0.2, 0.7, 0.1]}]},
    {"frame_id": "0000"},  # no predictions: CVAL's fake prediction
    {"frame_id": "77ee", "predictions": None},
    {"frame_id": "b0b0", "predictions": []},
]
CLS_FRAMES = [
    {"frame_id": "x", "prediction": {"category_id": 2, "score": 0.6, "embedding_id": "e",
                                     "probabilities": [0.4, 0.6]}},
    {"frame_id": "y", "prediction": {"probabilities": [0.5, 0.5]}},
]


def _det(**fields: Any) -> dict[str, Any]:
    return {"num_of_samples": 2, "selection_strategy": "margin", "frames": FRAMES, **fields}


def test_the_documented_values() -> None:
    assert CVAL_STRATEGIES == (
        "margin", "least", "ratio", "entropy", "probability", "clustering", "hierarchical",
    )
    assert BBOX_SELECTION_POLICIES == ("min", "max", "mean", "sum")
    assert SORT_STRATEGIES == ("ascending", "descending")


@pytest.mark.parametrize(
    ("strategy", "policy", "sort"),
    list(itertools.product(CVAL_STRATEGIES, BBOX_SELECTION_POLICIES, SORT_STRATEGIES)),
)
def test_every_cval_detection_combination_is_accepted(
    strategy: str, policy: str, sort: str
) -> None:
    body = {
        "num_of_samples": 3,
        "dataset_id": "ds-1",
        "num_of_clusters": -1,
        "use_null_detections": True,
        "bbox_selection_policy": policy,
        "selection_strategy": strategy,
        "sort_strategy": sort,
        "frames": FRAMES,
        "probs_weights": [1.0, 0.5, 2.0],
    }
    req = parse_request(body)
    assert isinstance(req, SamplingRequest)
    spec = req.stage_specs()[0]
    got = (spec.strategy, spec.bbox_selection_policy, spec.sort_strategy)
    assert got == (strategy, policy, sort)
    assert req.num_of_samples == 3 and req.dataset_id == "ds-1" and req.probs_weights == [1, 0.5, 2]
    assert req.frames.frame_ids.tolist() == ["0000", "77ee", "9f1c", "a3b2", "b0b0"]
    assert req.frames.boxes_per_frame().tolist() == [0, 0, 1, 1, 0]


@pytest.mark.parametrize("strategy", CVAL_STRATEGIES)
def test_cval_classification_request_is_accepted(strategy: str) -> None:
    body = {
        "num_of_samples": 1,
        "num_of_clusters": 2,
        "selection_strategy": strategy,
        "dataset_id": None,
        "probs_weights": [1.0, 1.0],
        "sort_strategy": "descending",
        "frames": CLS_FRAMES,
    }
    req = parse_request(body)
    assert isinstance(req, ClassificationSamplingRequest) and req.task == "classification"
    assert req.num_of_clusters == 2 and req.frames.num_boxes == 2


def test_optional_fields_and_defaults() -> None:
    req = parse_request({"num_of_samples": 0, "selection_strategy": "entropy", "frames": []})
    assert req.num_of_clusters == -1 and req.sort_strategy is None
    assert isinstance(req, SamplingRequest) and req.use_null_detections is True
    assert req.bbox_selection_policy is None and req.probs_weights is None and req.seed == 0


def test_assay_strategies_and_fields() -> None:
    for strategy in SELECTION_STRATEGIES:
        parse_request(_det(selection_strategy=strategy))
    req = parse_request(
        _det(
            selection_strategy=None,
            stages=[
                {"strategy": "entropy", "factor": 5, "bbox_selection_policy": "mean"},
                {"strategy": "random", "mode": "pick", "num_of_samples": 1},
                {"strategy": "coreset", "sort_strategy": "ascending", "num_of_clusters": 3},
            ],
            seed=3,
            labeled_ids=["a", "b"],
            from_logits=False,
        )
    )
    specs = req.stage_specs()
    assert [s.mode for s in specs] == ["narrow", "pick", "pick"]
    assert specs[0].bbox_selection_policy == "mean" and specs[0].factor == 5
    assert specs[2].num_of_clusters == 3 and specs[2].sort_strategy == "ascending"


def test_typed_frames_are_accepted() -> None:
    frames = [DetectionFrame(frame_id="f", predictions=[BBoxPrediction(score=0.3)])]
    req = SamplingRequest(num_of_samples=1, selection_strategy="least", frames=frames)
    assert req.frames.num_boxes == 1
    cls = [ClassificationFrame(frame_id="g", prediction=BBoxPrediction(probabilities=[0.1, 0.9]))]
    cls_req = ClassificationSamplingRequest(
        num_of_samples=1, selection_strategy="least", frames=cls
    )
    assert cls_req.frames.task == "classification"


def test_round_trip_through_to_dict() -> None:
    req = parse_request(_det(bbox_selection_policy="sum", seed=4))
    again = parse_request(req.to_dict())
    assert again.to_dict() == req.to_dict()
    assert again.frames.to_frames() == req.frames.to_frames()


# ---------------------------------------------------------------------- rejected


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("selection_strategy", "uncertainty", SELECTION_STRATEGIES),
        ("selection_strategy", "Margin", SELECTION_STRATEGIES),
        ("bbox_selection_policy", "median", BBOX_SELECTION_POLICIES),
        ("sort_strategy", "max", SORT_STRATEGIES),  # an old cval-lib value, not documented
    ],
)
def test_unknown_values_list_the_valid_ones(field: str, value: str, valid: tuple[str, ...]) -> None:
    with pytest.raises(ValueError) as err:
        parse_request(_det(**{field: value}))
    msg = str(err.value)
    assert f"`request.{field}`" in msg and repr(value) in msg
    assert ", ".join(repr(v) for v in valid) in msg


@pytest.mark.parametrize(
    ("stage", "field"),
    [({"strategy": "entropi"}, "strategy"), ({"strategy": "entropy", "mode": "keep"}, "mode"),
     ({"strategy": "entropy", "sort_strategy": "up"}, "sort_strategy")],
)
def test_unknown_stage_values_list_the_valid_ones(stage: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=rf"`stage\.{field}` to be one of '") :
        parse_request(_det(selection_strategy=None, stages=[stage]))


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (_det(num_of_sample=3), "request.num_of_sample"),
        (_det(frames=[{"frame_id": "a", "prediction": {"score": 0.5}, "predictions": []}]),
         "frames[0].prediction"),
        (_det(frames=[{"frame_id": "a", "predictions": [{"score": 0.5}, {"scores": 0.2}]}]),
         "frames[0].predictions[1].scores"),
        (_det(selection_strategy=None, stages=[{"strategy": "entropy", "n": 2}]), "stage.n"),
        ({**_det(), "frames": CLS_FRAMES, "bbox_selection_policy": "min"},
         "request.bbox_selection_policy"),
    ],
)
def test_unknown_fields_are_rejected(body: dict[str, Any], where: str) -> None:
    with pytest.raises(ValueError, match="unknown field") as err:
        parse_request(body)
    assert where in str(err.value)
    assert "among" in str(err.value)  # the valid fields are listed


def test_classification_request_rejects_detection_only_fields() -> None:
    for field, value in (("bbox_selection_policy", "max"), ("use_null_detections", False)):
        with pytest.raises(ValueError, match=field):
            ClassificationSamplingRequest.model_validate(
                {"num_of_samples": 1, "selection_strategy": "margin", "frames": CLS_FRAMES,
                 field: value}
            )


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"num_of_samples": -1}, "num_of_samples"),
        ({"num_of_samples": True}, "num_of_samples"),
        ({"num_of_samples": 2.5}, "num_of_samples"),
        ({"num_of_clusters": 0}, "num_of_clusters"),
        ({"num_of_clusters": -2}, "num_of_clusters"),
        ({"use_null_detections": "yes"}, "use_null_detections"),
        ({"probs_weights": [1.0, -1.0]}, r"probs_weights\[1\]"),
        ({"probs_weights": [1.0, float("nan")]}, r"probs_weights\[1\]"),
        ({"seed": -1}, rf"`request.seed` to be an int in \[0, {2**64 - 1}\], but got -1"),
        ({"seed": 2**64}, rf"`request.seed` to be an int in \[0, {2**64 - 1}\], but got {2**64}"),
        ({"seed": True}, "seed"),
        ({"selection_strategy": None}, "exactly one of"),
        ({"stages": [{"strategy": "entropy"}]}, "exactly one of"),
    ],
)
def test_bad_option_values(fields: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_request(_det(**fields))


@pytest.mark.parametrize(
    ("stages", "match"),
    [
        ([], "non-empty"),
        ([{"strategy": "entropy"}, {"strategy": "coreset", "mode": "narrow"}], "last stage"),
        ([{"strategy": "entropy", "mode": "pick", "factor": 2}, {"strategy": "random"}], "factor"),
        ([{"strategy": "entropy", "mode": "pick", "num_of_samples": 3}], "add up"),
        ([{"strategy": "entropy", "mode": "pick", "num_of_samples": 1},
          {"strategy": "random", "num_of_samples": 2}], "add up"),
    ],
)
def test_inconsistent_pipelines(stages: list[dict[str, Any]], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_request(_det(selection_strategy=None, stages=stages))


DIRECT_BAD = [
    {"num_of_samples": -1},
    {"num_of_samples": 2.5},
    {"num_of_clusters": 0},
    {"use_null_detections": "yes"},
    {"probs_weights": [1.0, -1.0]},
    {"seed": 2**64},
    {"selection_strategy": "uncertainty"},
    {"bbox_selection_policy": "median"},
    {"selection_strategy": None},
    {"num_of_sample": 3},
    {"selection_strategy": None, "stages": [{"strategy": "entropy", "mode": "pick",
                                             "num_of_samples": 3}]},
    {"selection_strategy": None, "stages": [{"strategy": "entropi"}]},
    {"frames": [{"frame_id": "a", "predictions": [{"score": 0.5}, {"scores": 0.2}]}]},
]


@pytest.mark.parametrize("fields", DIRECT_BAD, ids=lambda f: ",".join(f))
def test_direct_construction_gives_the_one_line_message(fields: dict[str, Any]) -> None:
    """Audit: SamplingRequest(...) with a bad field raised pydantic's multi-line
    ValidationError, where parse_request / assay.sample give one line."""
    body = _det(**fields)
    with pytest.raises(ValueError) as parsed:
        parse_request(body)
    with pytest.raises(ValueError) as direct:
        SamplingRequest(**body)
    assert type(direct.value) is ValueError  # not pydantic's ValidationError
    assert str(direct.value) == str(parsed.value) and "\n" not in str(direct.value)
    # missing required fields too
    with pytest.raises(ValueError, match=r"^Expected `request.frames` to be the pool of frames"):
        SamplingRequest(num_of_samples=1, selection_strategy="entropy")


def test_direct_classification_construction_gives_the_one_line_message() -> None:
    body = {"num_of_samples": 1, "selection_strategy": "margin", "frames": CLS_FRAMES,
            "use_null_detections": False}
    with pytest.raises(ValueError) as parsed:
        parse_request(body)
    with pytest.raises(ValueError) as direct:
        ClassificationSamplingRequest(**body)
    assert type(direct.value) is ValueError and str(direct.value) == str(parsed.value)
    assert "use_null_detections" in str(direct.value)
    ok = ClassificationSamplingRequest(num_of_samples=1, selection_strategy="margin",
                                       frames=CLS_FRAMES)
    assert ok.to_dict() == parse_request({"num_of_samples": 1, "selection_strategy": "margin",
                                          "frames": CLS_FRAMES}).to_dict()


def test_every_64_bit_seed_is_accepted() -> None:
    """Review: seeds were capped at 2**31 - 1 for FAISS, refusing requests (and saved
    indexes) that worked before; FAISS now gets ``seed % 2**31`` and the rest the seed."""
    for seed in (2**31 - 1, 2**31, 2**32 - 1, 2**64 - 1):
        assert parse_request(_det(seed=seed)).seed == seed


def test_a_missing_required_field_is_named_without_the_request() -> None:
    """Audit: the message quoted the whole request, PredictionTable repr and all (622
    characters over several lines for a pool of 2000 frames)."""
    frames = [{"frame_id": f"f{i}", "predictions": [{"score": 0.5}]} for i in range(2000)]
    with pytest.raises(ValueError) as err:
        parse_request({"selection_strategy": "entropy", "frames": frames})
    assert str(err.value) == (
        "Expected `request.num_of_samples` to be an int >= 0 (the number of frames to "
        "select), but it is missing"
    )
    with pytest.raises(ValueError) as err:
        parse_request({"num_of_samples": 1, "selection_strategy": "entropy"})
    assert str(err.value) == (
        "Expected `request.frames` to be the pool of frames (a list of frames, a "
        "pyarrow.Table or a PredictionTable), but it is missing"
    )
    with pytest.raises(ValueError, match=r"^Expected `request.stages\[1\].strategy` to be one "
                       r"of 'margin', .*, but it is missing$"):
        parse_request(_det(selection_strategy=None,
                           stages=[{"strategy": "entropy"}, {"mode": "pick"}]))


def test_long_inputs_are_cut_in_messages() -> None:
    with pytest.raises(ValueError) as err:
        parse_request(_det(stages=["x" * 1000], selection_strategy=None))
    assert len(str(err.value)) < 400 and "..." in str(err.value)


def test_not_a_request() -> None:
    with pytest.raises(TypeError, match="Expected `request`"):
        parse_request(["num_of_samples", 1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Expected `frames`"):
        parse_request(_det(frames="frames.jsonl"))


def test_the_examples_in_docs_sampling_md_run() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "sampling.md").read_text()
    # the self-contained examples: those that assign the result of assay.sample(...)
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
              if re.search(r"=\s*assay\.sample\(", b)]
    assert len(blocks) >= 2
    for block in blocks:
        namespace: dict[str, Any] = {}
        exec(compile(block, "docs/sampling.md", "exec"), namespace)
    first: dict[str, Any] = {}
    exec(compile(blocks[0], "docs/sampling.md", "exec"), first)
    assert first["result"].frame_ids == ("img4", "img2")
    assert first["result"].scores[0] == 1.0
