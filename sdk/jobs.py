"""Sampling as a background job: ``assay.submit_sampling(request) -> SamplingJob``.

Jobs run on a :class:`~assay.engine.jobs.JobExecutor`: a process-wide one created on
first use (:func:`default_executor`), or one you create and pass in (its own worker
count and store).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

import torch

from .engine.jobs import (
    JobError,
    JobExecutor,
    JobProgress,
    JobRecord,
    JobStatus,
)
from .engine.jobs.sampling import SamplingJobSpec
from .engine.sampling import ClassificationSamplingRequest, SamplingRequest, SamplingResult
from .engine.sampling.embeddings import EmbeddingsLike

__all__ = ["SamplingJob", "default_executor", "submit_sampling"]

_DEFAULT: JobExecutor | None = None
_DEFAULT_LOCK = threading.Lock()


def default_executor() -> JobExecutor:
    """The process-wide executor (created on first use, ``min(4, cpu count)`` workers).

    Example:
        >>> default_executor() is default_executor()
        True
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = JobExecutor(name="assay-sampling")
        return _DEFAULT


class SamplingJob:
    """A submitted sampling run: poll ``status`` / ``progress``, ``wait`` for the result.

    Attributes:
        id: the job id (32 hex digits), the same on the executor and in its store.
        executor: the executor that runs it.
    """

    def __init__(self, job_id: str, executor: JobExecutor) -> None:
        self.id = job_id
        self.executor = executor

    @property
    def record(self) -> JobRecord:
        """The job's current record (status, progress, error, timestamps, request options)."""
        return self.executor.get(self.id)

    @property
    def status(self) -> JobStatus:
        """``queued``, ``running``, ``succeeded``, ``failed`` or ``cancelled``."""
        return self.executor.status(self.id)

    @property
    def progress(self) -> JobProgress:
        """Fraction done in [0, 1] and what the job is doing."""
        return self.executor.progress(self.id)

    @property
    def error(self) -> JobError | None:
        """Why the job failed (exception type and message), or ``None``."""
        return self.executor.error(self.id)

    def done(self) -> bool:
        """True once the job succeeded, failed or was cancelled."""
        return self.record.done

    def wait(self, timeout: float | None = None) -> SamplingResult:
        """Block until the job finishes and return its result.

        Args:
            timeout: seconds to wait at most (``None``: no limit).

        Raises:
            JobTimeoutError: (a ``TimeoutError``) not finished in time; names the job,
                its status and progress. The job keeps running.
            JobFailedError: the run raised; the message carries the original exception's
                type and message (e.g. a ``ValueError`` naming a bad frame).
            JobCancelledError: the job was cancelled.
        """
        self.executor.wait(self.id, timeout)
        return self.result()

    def result(self) -> SamplingResult:
        """The result of a finished job, without waiting.

        Raises:
            JobNotDoneError: the job is still queued or running.
            JobFailedError: the run raised.
            JobCancelledError: the job was cancelled.
        """
        return cast(SamplingResult, self.executor.result(self.id))

    def cancel(self) -> bool:
        """Ask the job to stop (at its next progress report); False if it already finished."""
        return self.executor.cancel(self.id)

    def __repr__(self) -> str:
        record = self.record
        progress = str(record.progress)
        return f"SamplingJob(id={self.id!r}, status={record.status!r}, progress={progress!r})"


def submit_sampling(
    request: SamplingRequest | ClassificationSamplingRequest | Mapping[str, Any],
    *,
    embeddings: EmbeddingsLike | None = None,
    device: torch.device | str | None = None,
    executor: JobExecutor | None = None,
) -> SamplingJob:
    """Start ``assay.sample(request, embeddings=...)`` in the background; return at once.

    The request is validated now (a bad field raises ``ValueError`` here), and so are
    the embeddings a diversity stage needs: their form, and every id a first
    diversity stage looks up, with :func:`assay.sample`'s messages (``TypeError`` /
    ``ValueError``). Scoring and selection run on the executor's worker threads,
    reporting progress, and the result is published only if the whole run succeeds;
    the run checks the embeddings again (they may have changed since), and an id a
    later diversity stage looks up (its pool depends on the scores).

    Args:
        request: a :class:`~assay.engine.sampling.SamplingRequest`, a
            :class:`~assay.engine.sampling.ClassificationSamplingRequest` or a dict of
            their fields (see :func:`assay.sample`).
        embeddings: for ``coreset``, ``clustering`` and ``hierarchical`` (see
            :func:`assay.sample`).
        device: where the kernels run: ``None``/``"cpu"``, ``"cuda"`` or ``"auto"``.
        executor: the :class:`~assay.engine.jobs.JobExecutor` to run on (default: the
            process-wide :func:`default_executor`).

    Returns:
        :class:`SamplingJob`.

    Raises:
        TypeError: ``embeddings`` of a form :func:`assay.sample` does not take.
        ValueError: an invalid request; embeddings missing, malformed, not finite or
            without an id the first diversity stage looks up (the first named).

    Example:
        >>> import assay
        >>> job = assay.submit_sampling({
        ...     "num_of_samples": 1, "selection_strategy": "margin",
        ...     "frames": [{"frame_id": "a", "predictions": [{"score": 0.97}]},
        ...                {"frame_id": "b", "predictions": [{"score": 0.51}]}]})
        >>> result = job.wait(timeout=60)
        >>> result.frame_ids, job.status, job.progress.fraction
        (('b',), 'succeeded', 1.0)
    """
    spec = SamplingJobSpec(request, embeddings=embeddings, device=device)
    runner = executor if executor is not None else default_executor()
    return SamplingJob(runner.submit(spec), runner)
