"""Errors a job's caller sees: failed, cancelled, not finished, timed out, unknown id."""

from __future__ import annotations

from .records import JobError, JobRecord

__all__ = [
    "JobCancelledError",
    "JobFailedError",
    "JobNotDoneError",
    "JobTimeoutError",
    "UnknownJobError",
]


class JobFailedError(RuntimeError):
    """A job raised: ``str()`` names the job and carries the original type and message.

    Attributes:
        job_id: the failed job.
        error: its :class:`JobError` (type, message, traceback).
    """

    def __init__(self, record: JobRecord) -> None:
        self.job_id = record.id
        self.error: JobError | None = record.error
        super().__init__(f"Job {record.id} ({record.kind}) failed: {record.error}")


class JobCancelledError(RuntimeError):
    """A job was cancelled; also what a cancelled job's progress reporter raises inside it."""

    def __init__(self, job_id: str, kind: str) -> None:
        self.job_id = job_id
        super().__init__(f"Job {job_id} ({kind}) was cancelled")


class JobNotDoneError(RuntimeError):
    """A job's result was asked for before the job finished."""

    def __init__(self, record: JobRecord) -> None:
        self.job_id = record.id
        super().__init__(
            f"Expected job {record.id} ({record.kind}) to have finished, but it is "
            f"{record.status} ({record.progress}); wait for it with wait(job_id, timeout)"
        )


class JobTimeoutError(TimeoutError):
    """``wait`` ran out of time: names the job, its status and progress.

    Attributes:
        job_id: the job waited on.
        record: its state when the time ran out.
    """

    def __init__(self, record: JobRecord, timeout: float) -> None:
        self.job_id = record.id
        self.record = record
        super().__init__(
            f"Job {record.id} ({record.kind}) did not finish within {timeout:g} s: it is "
            f"{record.status} ({record.progress}); wait again or cancel it"
        )


class UnknownJobError(LookupError):
    """No job has this id (in this executor's store)."""

    def __init__(self, job_id: object, known: int) -> None:
        self.job_id = job_id
        super().__init__(
            f"Expected `job_id` to be the id of a submitted job, but got {job_id!r} "
            f"({known} jobs known)"
        )
