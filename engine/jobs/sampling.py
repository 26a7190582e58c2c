"""A sampling run as a typed job: :class:`SamplingJobSpec` for :class:`JobExecutor`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..sampling import ClassificationSamplingRequest, SamplingRequest, parse_request, run_sampling
from ..sampling.embeddings import EmbeddingsLike
from ..sampling.result import SamplingResult
from ..sampling.selection import check_embeddings
from .progress import ProgressReporter

__all__ = ["SamplingJobSpec"]


class SamplingJobSpec:
    """``run_sampling(request, embeddings=...)`` as a job (kind ``"sampling"``).

    The request and the embeddings are validated when the spec is made
    (:func:`~assay.engine.sampling.selection.check_embeddings`: their form, and the ids
    a first diversity stage looks up), so bad ones raise at submission, with the
    messages of the synchronous run, rather than as a failed job. The run checks the
    embeddings again (the caller may change them in between), as does an id a later
    diversity stage looks up (its pool depends on the scores). The job's record keeps
    the request's options and the pool's size (``describe()``), never the frames
    themselves.

    Args:
        request: :class:`~assay.engine.sampling.SamplingRequest`,
            :class:`~assay.engine.sampling.ClassificationSamplingRequest` or a dict of
            their fields.
        embeddings: for diversity strategies (see :func:`~assay.engine.sampling.select`).
        device: where the kernels run (default CPU).

    Example:
        >>> from assay.engine.jobs import JobExecutor
        >>> spec = SamplingJobSpec({"num_of_samples": 1, "selection_strategy": "least",
        ...     "frames": [{"frame_id": "a", "predictions": [{"score": 0.9}]},
        ...                {"frame_id": "b", "predictions": [{"score": 0.6}]}]})
        >>> spec.describe()["num_frames"]
        2
        >>> with JobExecutor(max_workers=1) as executor:
        ...     job_id = executor.submit(spec)
        ...     executor.wait(job_id, timeout=60).status, executor.result(job_id).frame_ids
        ('succeeded', ('b',))
    """

    kind = "sampling"

    def __init__(
        self,
        request: SamplingRequest | ClassificationSamplingRequest | Mapping[str, Any],
        *,
        embeddings: EmbeddingsLike | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        self.request = parse_request(request)
        check_embeddings(self.request, embeddings)
        self.embeddings = embeddings
        self.device = device

    def describe(self) -> dict[str, Any]:
        """The request's options (no frames), the pool's size and the task."""
        params: dict[str, Any] = self.request.model_dump(
            mode="json", exclude={"frames"}, exclude_none=True
        )
        params["task"] = self.request.task
        params["num_frames"] = self.request.frames.num_frames
        params["num_predictions"] = self.request.frames.num_boxes
        params["embeddings"] = None if self.embeddings is None else type(self.embeddings).__name__
        if self.device is not None:
            params["device"] = str(self.device)
        return params

    def run(self, progress: ProgressReporter) -> SamplingResult:
        """Score and select, reporting progress (scoring the first half, selection the second)."""
        progress(0.0, "starting")
        return run_sampling(
            self.request, embeddings=self.embeddings, device=self.device, progress=progress
        )
