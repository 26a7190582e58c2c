"""Sampling over Parquet shards on a local Ray cluster equals in-process ``assay.sample``.

The pool is written in shuffled frame order over several shards, so cross-shard ties and
the driver's merge of the blocks' candidates are exercised; every case compares the whole
result (frame ids, scores, stages, pool size, note, parameters) with the in-process run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import assay
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from assay.engine.distributed import (
    candidate_depths,
    ray_sampling,
    sample_parquet,
    score_parquet,
    to_frames_layout,
    write_prediction_shards,
)
from assay.engine.sampling import PredictionTable, SamplingRequest


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    saved = (context.enable_progress_bars, context.use_datasource_v2)
    context.enable_progress_bars = False
    # Ray 2.5x's default Parquet reader (V2) starts a file-listing stage per execution:
    # ~10 s each on a 2-core machine against ~0.3 s for V1. Both read the same rows.
    context.use_datasource_v2 = False
    yield ray
    context.enable_progress_bars, context.use_datasource_v2 = saved
    ray.shutdown()


def _pool(num_frames: int = 90, seed: int = 0) -> list[dict[str, Any]]:
    """Detection frames, 0-4 boxes, scores on a 0.1 grid (ties), probabilities on some."""
    rng = np.random.default_rng(seed)
    frames = []
    for f in range(num_frames):
        preds = []
        for b in range(int(rng.integers(0, 5))):
            pred: dict[str, Any] = {
                "category_id": int(rng.integers(1, 4)),
                "score": float(rng.integers(0, 11)) / 10,
                "embedding_id": f"f{f:03d}-b{b}",
            }
            if f % 4 == 0:
                pred["probabilities"] = rng.dirichlet(np.ones(3)).tolist()
            preds.append(pred)
        frames.append({"frame_id": f"f{f:03d}", "predictions": preds})
    order = rng.permutation(num_frames)  # shards hold frames out of id order
    return [frames[i] for i in order]


def _embeddings(frames: list[dict[str, Any]], dim: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    ids = [p["embedding_id"] for fr in frames for p in fr["predictions"]]
    ids += [fr["frame_id"] for fr in frames]  # used by frames without boxes, and labeled_ids
    return {i: rng.normal(size=dim).astype(np.float32) for i in sorted(ids)}


@pytest.fixture(scope="module")
def pool() -> list[dict[str, Any]]:
    return _pool()


@pytest.fixture(scope="module")
def embeddings(pool: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    return _embeddings(pool)


@pytest.fixture(scope="module")
def shards(pool: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_prediction_shards(pool, tmp_path_factory.mktemp("shards"), num_shards=4)


REQUESTS: dict[str, dict[str, Any]] = {
    "entropy-max": {"num_of_samples": 7, "selection_strategy": "entropy",
                    "bbox_selection_policy": "max"},
    "margin-min": {"num_of_samples": 6, "selection_strategy": "margin",
                   "bbox_selection_policy": "min"},
    "least-mean-ascending": {"num_of_samples": 5, "selection_strategy": "least",
                             "bbox_selection_policy": "mean", "sort_strategy": "ascending"},
    "ratio-sum": {"num_of_samples": 4, "selection_strategy": "ratio",
                  "bbox_selection_policy": "sum"},
    "probability": {"num_of_samples": 8, "selection_strategy": "probability"},
    "random": {"num_of_samples": 5, "selection_strategy": "random", "seed": 3},
    "pick-then-pick-labeled": {
        "num_of_samples": 6,
        "labeled_ids": ["f004", "f017", "not-in-pool"],
        "stages": [{"strategy": "margin", "mode": "pick", "num_of_samples": 2},
                   {"strategy": "entropy"}],
    },
    "entropy-then-coreset": {
        "num_of_samples": 5,
        "stages": [{"strategy": "entropy", "num_of_samples": 15}, {"strategy": "coreset"}],
    },
    "margin-then-clustering": {
        "num_of_samples": 4,
        "stages": [{"strategy": "margin", "factor": 3}, {"strategy": "clustering"}],
    },
    "coreset-whole-pool-labeled": {"num_of_samples": 4, "selection_strategy": "coreset",
                                   "labeled_ids": ["f001", "f050"]},
    "truncated": {
        "num_of_samples": 6,
        "stages": [{"strategy": "least", "num_of_samples": 3}, {"strategy": "random"}],
    },
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_same_selection_as_in_process(
    ray_cluster: Any,
    pool: list[dict[str, Any]],
    shards: list[Path],
    embeddings: dict[str, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    request = REQUESTS[name]
    expected = assay.sample({**request, "frames": pool}, embeddings=embeddings)
    seen: list[int] = []
    real_select = ray_sampling.select

    def spy(req: Any, fs: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(fs.num_frames)
        return real_select(req, fs, *args, **kwargs)

    monkeypatch.setattr(ray_sampling, "select", spy)
    result = sample_parquet(shards, request, embeddings=embeddings)
    assert result == expected
    assert len(result) == min(request["num_of_samples"], len(expected))
    # Only the candidates reach the driver, never the whole pool of 90 frames.
    depths, whole = candidate_depths(
        SamplingRequest(**request, frames=[]).stage_specs(), request["num_of_samples"]
    )
    if whole:  # a diversity stage over the whole pool needs it all on the driver
        assert seen[0] == len(pool)
    else:
        assert seen[0] <= sum(k for _, k in depths) + len(request.get("labeled_ids", []))


def test_ties_across_shards_go_to_the_smaller_frame_id(
    ray_cluster: Any, tmp_path: Path
) -> None:
    # Every frame has the same score: the picks are the smallest ids, from every shard.
    frames = [{"frame_id": f"t{i:02d}", "predictions": [{"score": 0.7}]} for i in range(30)]
    rng = np.random.default_rng(5)
    shuffled = [frames[i] for i in rng.permutation(len(frames))]
    paths = write_prediction_shards(shuffled, tmp_path, num_shards=5)
    request = {"num_of_samples": 7, "selection_strategy": "margin"}
    reports: list[tuple[float, str]] = []
    result = sample_parquet(paths, request, progress=lambda f, m: reports.append((f, m)))
    assert result.frame_ids == tuple(f"t{i:02d}" for i in range(7))
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert reports[0][1].startswith("scoring") and reports[-1][1] == "selected"
    assert result == assay.sample({**request, "frames": shuffled})


def test_pool_size_when_no_frame_is_asked_for(ray_cluster: Any, tmp_path: Path) -> None:
    """Found by fuzzing: with num_of_samples 0 no block kept a row to carry its pool count."""
    frames = [{"frame_id": f"f{i}", "predictions": [{"score": i / 10}]} for i in range(1, 7)]
    paths = write_prediction_shards(frames, tmp_path, num_shards=3)
    for extra in ({}, {"labeled_ids": ["f1"]}):
        request = {"num_of_samples": 0, "selection_strategy": "margin", **extra}
        expected = assay.sample({**request, "frames": frames})
        result = sample_parquet(paths, request)
        assert result.pool_size == expected.pool_size and result.frame_ids == ()
        assert result == expected


def test_embeddings_from_parquet_and_a_classification_pool(
    ray_cluster: Any,
    pool: list[dict[str, Any]],
    shards: list[Path],
    embeddings: dict[str, np.ndarray],
    tmp_path: Path,
) -> None:
    emb_path = tmp_path / "emb.parquet"
    pq.write_table(
        pa.table({"id": list(embeddings),
                  "embedding": [v.tolist() for v in embeddings.values()]}),
        emb_path,
    )
    request = REQUESTS["entropy-then-coreset"]
    expected = assay.sample({**request, "frames": pool}, embeddings=embeddings)
    assert sample_parquet(shards, request, embeddings=str(emb_path)) == expected

    rng = np.random.default_rng(2)
    frames = [
        {"frame_id": f"c{i:02d}", "prediction": {"probabilities": rng.dirichlet([1, 1, 1, 1])
                                                 .round(2).tolist()}}
        for i in range(25)
    ]
    for fr in frames:  # rounding broke the sums: put the rest on the last class
        p = fr["prediction"]["probabilities"]
        p[-1] = round(1.0 - sum(p[:-1]), 10)
    paths = write_prediction_shards(frames, tmp_path / "cls", 3, task="classification")
    request = {"num_of_samples": 4, "selection_strategy": "entropy",
               "probs_weights": [1.0, 2.0, 1.0, 0.5]}
    assert sample_parquet(paths, request) == assay.sample({**request, "frames": frames})


def test_score_parquet_gives_every_frames_scores(
    ray_cluster: Any, pool: list[dict[str, Any]], shards: list[Path]
) -> None:
    request = {"num_of_samples": 1, "selection_strategy": "least", "bbox_selection_policy": "max"}
    rows = score_parquet(shards, request).take_all()
    got = {r["frame_id"]: r["score_0"] for r in rows}
    expected = assay.engine.sampling.score_frames({**request, "frames": pool})
    assert got == dict(zip(expected.frame_ids.tolist(), expected.scores[:, 0].tolist(),
                           strict=True))


def test_bad_frames_and_duplicates_are_named(
    ray_cluster: Any, tmp_path: Path
) -> None:
    frames = [{"frame_id": f"b{i}", "predictions": [{"probabilities": [0.5, 0.5]}]}
              for i in range(6)]
    frames[4]["predictions"][0]["probabilities"] = [0.5, 0.7]
    paths = write_prediction_shards(frames, tmp_path / "bad", 2)
    request = {"num_of_samples": 2, "selection_strategy": "entropy"}
    with pytest.raises(ValueError) as info:
        sample_parquet(paths, request)
    message = str(info.value)
    # C's message (position in the block), then where the block is and which frame that is
    assert message.startswith("Expected `probabilities` to sum to 1 (within 0.001), but got a ")
    assert re.search(r"\(in the shard block whose first frame_id is 'b\d'; "
                     r"frames\[\d\] there is frame_id 'b4'\)$", message), message

    dup = [{"frame_id": "d1", "predictions": [{"score": 0.5}]}]
    paths = [*write_prediction_shards(dup, tmp_path / "d1", 1),
             *write_prediction_shards(dup, tmp_path / "d2", 1, prefix="other")]
    with pytest.raises(ValueError, match="Expected every frame_id to be in one shard only, but "
                                         "got frame_id 'd1' twice"):
        sample_parquet(paths, {"num_of_samples": 1, "selection_strategy": "margin"})


def test_shards_with_one_row_per_box_are_refused_with_the_fix(
    ray_cluster: Any, tmp_path: Path
) -> None:
    path = tmp_path / "boxes.parquet"
    pq.write_table(pa.table({"frame_id": ["a", "a", "b"], "score": [0.1, 0.2, None]}), path)
    with pytest.raises(ValueError, match=r"Expected shards with one row per frame .* convert "
                                         r"them with assay\.engine\.distributed\.to_frames_layout"):
        sample_parquet(path, {"num_of_samples": 1, "selection_strategy": "margin"})
    with pytest.raises(ValueError, match="Expected a request without frames"):
        sample_parquet(path, {"num_of_samples": 1, "selection_strategy": "margin",
                              "frames": [{"frame_id": "x"}]})


# ------------------------------------------------------------- without a Ray cluster


def test_missing_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        ray_sampling, "_ray_import_error", lambda: "ModuleNotFoundError: No module named 'ray'"
    )
    assert ray_sampling.ray_available() is False
    with pytest.raises(ImportError, match=r'install it with `pip install "assay\[ray\]"`'):
        sample_parquet("shards/", {"num_of_samples": 1, "selection_strategy": "margin"})
    with pytest.raises(ImportError, match="No module named 'ray'"):
        score_parquet("shards/", {"num_of_samples": 1, "selection_strategy": "margin"})


def test_frames_layout_reads_like_the_box_layout(tmp_path: Path) -> None:
    boxes = pa.table({
        "frame_id": ["b", "a", "b", "c", "a"],
        "score": [0.2, 0.9, None, None, 0.4],
        "embedding_id": ["e1", "e2", None, None, "e3"],
        "probabilities": [[0.2, 0.8], None, None, None, [0.5, 0.5]],
    })
    frames = to_frames_layout(boxes)
    assert frames.column_names == ["frame_id", "predictions"]
    assert [len(p) for p in frames.column("predictions").to_pylist()] == [1, 2, 0]  # b, a, c
    by_box = PredictionTable.from_arrow(boxes)
    by_frame = PredictionTable.from_arrow(frames)
    assert by_frame.frame_ids.tolist() == by_box.frame_ids.tolist() == ["a", "b", "c"]
    assert by_frame.box_frame.tolist() == by_box.box_frame.tolist()
    np.testing.assert_array_equal(by_frame.score, by_box.score)
    request = {"num_of_samples": 3, "selection_strategy": "entropy"}
    assert assay.sample({**request, "frames": frames}) == assay.sample(
        {**request, "frames": boxes}
    )
    paths = write_prediction_shards(boxes, tmp_path, num_shards=5)
    assert len(paths) == 3  # at most one file per frame
    assert json.loads(json.dumps(pq.read_table(paths[2]).to_pylist())) == [
        {"frame_id": "c", "predictions": []}
    ]
    with pytest.raises(ValueError, match="Expected `num_shards` to be an int >= 1"):
        write_prediction_shards(boxes, tmp_path, num_shards=0)


@pytest.mark.parametrize(
    "ids",
    [
        ["a", "a", "b", "c", "c", "c"],
        ["c", "c", "a", "b", "b", "d"],
        ["c", "a", "c", "b", "a", "c"],
    ],
    ids=["runs in id order", "runs", "interleaved"],
)
def test_frames_layout_keeps_every_box_in_any_row_order(ids: list[str]) -> None:
    scores = [0.1, 0.2, None, 0.4, 0.5, 0.6]
    boxes = pa.table({"frame_id": ids, "score": scores})
    frames = to_frames_layout(boxes)
    want: dict[str, list[float]] = {}
    for fid, s in zip(ids, scores, strict=True):
        want.setdefault(fid, [])
        if s is not None:
            want[fid].append(s)
    got = {f: [p["score"] for p in preds] for f, preds in zip(
        frames.column("frame_id").to_pylist(), frames.column("predictions").to_pylist(),
        strict=True)}
    assert got == want  # frames in first-appearance order, boxes in row order
    assert list(got) == list(want)
    by_box, by_frame = PredictionTable.from_arrow(boxes), PredictionTable.from_arrow(frames)
    assert by_frame.frame_ids.tolist() == by_box.frame_ids.tolist()
    np.testing.assert_array_equal(
        by_frame.score[np.lexsort((by_frame.box_position, by_frame.box_frame))],
        by_box.score[np.lexsort((by_box.box_position, by_box.box_frame))],
    )


def test_candidate_depths_follow_the_pipeline() -> None:
    def depths(n: int, stages: list[dict[str, Any]]) -> tuple[list[tuple[int, int]], bool]:
        req = SamplingRequest(num_of_samples=n, stages=stages, frames=[])
        return candidate_depths(req.stage_specs(), n)

    assert depths(5, [{"strategy": "entropy"}]) == ([(0, 5)], False)
    assert depths(5, [{"strategy": "coreset"}]) == ([], True)
    assert depths(4, [{"strategy": "margin", "factor": 2.5}, {"strategy": "coreset"}]) == (
        [(0, 10)], False)
    assert depths(6, [{"strategy": "margin", "mode": "pick", "num_of_samples": 2},
                      {"strategy": "least", "mode": "pick", "num_of_samples": 1},
                      {"strategy": "entropy"}]) == ([(0, 2), (1, 3), (2, 6)], False)
    assert depths(3, [{"strategy": "random", "mode": "pick", "num_of_samples": 1},
                      {"strategy": "hierarchical"}]) == ([(0, 1)], True)
