"""Streaming segmentation and classification metrics under torch.distributed (2 gloo ranks).

Two CPU processes (``torch.multiprocessing.spawn``, a free TCP port) feed the metrics
of tests/streaming_ddp_worker.py with batches split unevenly across ranks, including
a rank that sees no batch at all (its ``cat`` states are empty typed tensors that
still take part in the gather); every rank's synced ``compute()`` must equal the
single-process result on all the batches, and the local state must be restored
after ``compute()``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import streaming_ddp_worker as worker
import torch
import torch.distributed as dist
from ddp_launch import spawn_ranks

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed gloo"
)


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return spawn_ranks(worker.run, tmp_path_factory.mktemp("ddp"), worker.WORLD_SIZE)


@pytest.fixture(scope="module")
def single_process() -> dict[str, Any]:
    metrics = worker.make_metrics()
    worker.feed(metrics, [0, 1, 2, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out: dict[str, Any] = {name: m.compute() for name, m in metrics.items()}
    out["semantic_result"] = metrics["semantic"].result().to_dict()
    return out


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    for key in a:
        x, y = float(a[key]), float(b[key])
        assert (math.isnan(x) and math.isnan(y)) or x == y, (key, x, y)


@pytest.mark.parametrize("split", list(worker.SPLITS))
@pytest.mark.parametrize(
    "name", ["semantic", "multiclass_macro", "multiclass_none", "ranking_macro", "ranking_none"]
)
def test_synced_compute_equals_single_process(
    rank_results: list[dict[str, Any]], single_process: dict[str, Any], split: str, name: str
) -> None:
    for rank in range(worker.WORLD_SIZE):
        _same(rank_results[rank][f"{split}/{name}"], single_process[name])


@pytest.mark.parametrize("split", list(worker.SPLITS))
def test_synced_result_and_local_state(
    rank_results: list[dict[str, Any]], single_process: dict[str, Any], split: str
) -> None:
    for rank in range(worker.WORLD_SIZE):
        got = rank_results[rank][f"{split}/semantic_result"]
        assert got == single_process["semantic_result"]  # NaN -> None in to_dict
        assert rank_results[rank][f"{split}/local_restored"]


def test_the_splits_cover_every_batch_once() -> None:
    # the oracle above feeds batches 0..3 once: each split must do the same
    for first, second in worker.SPLITS.values():
        assert sorted(first + second) == [0, 1, 2, 3]
    assert any(not part for split in worker.SPLITS.values() for part in split)


def test_single_process_sees_absent_classes_and_ties(single_process: dict[str, Any]) -> None:
    # the data exercise the hard cases: class 4 absent in segmentation, NaN IoU
    assert math.isnan(float(single_process["semantic"]["iou/4"]))
    assert 0.0 < float(single_process["ranking_macro"]["auroc"]) < 1.0
