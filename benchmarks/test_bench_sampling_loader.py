"""pytest-benchmark smoke suite for loading a sampling pool (small, generated data).

Run the timings with ``pytest benchmarks/test_bench_sampling_loader.py
--benchmark-enable``; in the normal test run each benchmark runs once, as a smoke test.
Nothing here asserts anything about time: only that every source and row order loads
the same table and picks the same frames. The full-size runs (1 M frames x 20 boxes)
are ``benchmarks/bench_sampling_loader.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import assay
import numpy as np
import pytest
from assay.engine.sampling import PredictionTable
from bench_sampling_loader import ORDERS, SOURCES, _loader, main, make_table

FRAMES = 3_000


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("order", ORDERS)
def test_bench_load(benchmark: Any, tmp_path: Path, source: str, order: str) -> None:
    table = make_table(FRAMES, 20, order, seed=0)
    reference = PredictionTable.from_arrow(make_table(FRAMES, 20, "sorted", seed=0))
    loaded = benchmark(_loader(table, source, tmp_path))
    assert loaded.num_frames == FRAMES and loaded.num_boxes == 20 * FRAMES
    np.testing.assert_array_equal(loaded.frame_ids, reference.frame_ids)
    # the same boxes per frame, whatever the row order (scores are drawn per row)
    np.testing.assert_array_equal(loaded.boxes_per_frame(), reference.boxes_per_frame())
    request = {"num_of_samples": 50, "selection_strategy": "margin", "frames": loaded}
    assert len(assay.sample(request).frame_ids) == 50


def test_script_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rows.json"
    assert main(["--frames", "500", "--repeat", "1", "--source", "jsonl", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "load / sample" in printed and all(order in printed for order in ORDERS)
    assert out.exists()
