"""What a sampling run returns: the ranked frame ids, their scores and the stage of each pick."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["SamplingResult"]


def _json_float(x: float) -> float | None:
    return x if math.isfinite(x) else None


class SamplingResult(BaseModel):
    """The frames to label next, best first.

    Attributes:
        frame_ids: the selected frames, ranked (rank 0 first).
        scores: each pick's score from the stage that picked it: the frame score of a
            score strategy (see ``docs/sampling.md``), the distance to the selected set
            of ``coreset`` (``inf`` for a first pick without labeled frames), the size
            of the pick's cluster for ``clustering`` and ``hierarchical``.
        stages: the strategy of the stage that picked each frame.
        stage_index: the position of that stage in the pipeline.
        strategy: the request's strategy, or its pipeline as ``"entropy -> coreset"``.
        num_of_samples: how many frames the request asked for.
        pool_size: frames that could be picked (the request's frames less labeled ones).
        truncated: fewer frames than asked for were returned (the pool was smaller).
        note: why, when something about the result needs saying (truncation, labeled
            frames taken out of the pool); None otherwise.
        parameters: the effective settings of each stage (defaults resolved), and the
            request's ``seed``.

    Example:
        >>> r = SamplingResult(frame_ids=("b", "a"), scores=(0.9, 0.4),
        ...                    stages=("entropy", "entropy"), stage_index=(0, 0),
        ...                    strategy="entropy", num_of_samples=2, pool_size=3)
        >>> r.to_dict()["frame_ids"], len(r)
        (['b', 'a'], 2)
    """

    model_config = ConfigDict(frozen=True)

    frame_ids: tuple[str, ...]
    scores: tuple[float, ...]
    stages: tuple[str, ...]
    stage_index: tuple[int, ...]
    strategy: str
    num_of_samples: int
    pool_size: int
    truncated: bool = False
    note: str | None = None
    parameters: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.frame_ids)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe dict (non-finite scores become None)."""
        out = self.model_dump()
        for key in ("frame_ids", "stages", "stage_index"):
            out[key] = list(out[key])
        out["scores"] = [_json_float(s) for s in self.scores]
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-safe dict per pick: ``rank``, ``frame_id``, ``score``, ``stage``.

        Example:
            >>> SamplingResult(frame_ids=("a",), scores=(1.0,), stages=("random",),
            ...                stage_index=(0,), strategy="random", num_of_samples=1,
            ...                pool_size=1).rows()
            [{'rank': 0, 'frame_id': 'a', 'score': 1.0, 'stage': 'random'}]
        """
        picks = zip(self.frame_ids, self.scores, self.stages, strict=True)
        return [
            {"rank": i, "frame_id": f, "score": _json_float(s), "stage": st}
            for i, (f, s, st) in enumerate(picks)
        ]
