"""``assay.MeanAveragePrecision`` under torch.distributed: 2 gloo ranks on the CPU.

Two processes (``torch.multiprocessing.spawn``, a free TCP port) feed the metric with
the images of one scene (tests/streaming_ddp_detection_worker.py) split unevenly
across ranks, including a rank that sees no image at all (its ``cat`` states are
empty typed tensors that still take part in the gather). Every rank's synced
``compute()`` must equal, key for key and bit for bit, one process that sees the same
images in rank order: bbox with class metrics, micro average with class metrics, segm,
and both types with the extended summary (``ious``, ``precision``, ...). After
``compute()`` each rank's local state is back.
"""

from __future__ import annotations

from typing import Any

import assay
import pytest
import streaming_ddp_detection_worker as worker
import torch
import torch.distributed as dist
from ddp_launch import spawn_ranks

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed gloo"
)


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return spawn_ranks(worker.run, tmp_path_factory.mktemp("ddp_map"), worker.WORLD_SIZE)


@pytest.fixture(scope="module")
def single_process() -> dict[str, Any]:
    out = {}
    for name, kwargs in worker.CONFIGS.items():
        metric = assay.MeanAveragePrecision(**kwargs)
        worker.feed(metric, [list(range(9))])
        out[name] = dict(metric.compute())
    return out


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert list(a) == list(b)
    for key in a:
        if key.endswith("ious"):
            assert list(a[key]) == list(b[key]), key
            for cell in a[key]:
                x, y = a[key][cell], b[key][cell]
                assert (isinstance(x, list) and x == y) or torch.equal(x, y), (key, cell)
        else:
            assert torch.equal(a[key], b[key]), (key, a[key], b[key])


@pytest.mark.parametrize("split", list(worker.SPLITS))
@pytest.mark.parametrize("name", list(worker.CONFIGS))
def test_synced_compute_equals_single_process(
    rank_results: list[dict[str, Any]], single_process: dict[str, Any], split: str, name: str
) -> None:
    for rank in range(worker.WORLD_SIZE):
        _same(rank_results[rank][f"{split}/{name}"], single_process[name])
        assert rank_results[rank][f"{split}/{name}/restored"]


def test_the_scene_is_not_trivial(single_process: dict[str, Any]) -> None:
    # the comparison above would pass on all -1: make sure there is something to sync
    assert 0.0 < float(single_process["bbox"]["map"]) < 1.0
    assert 0.0 < float(single_process["segm"]["map"]) < 1.0
    assert len(single_process["both_extended"]["bbox_ious"]) > 9
