"""What a job is, as data: its status, progress, error and timestamps.

A :class:`JobRecord` is a frozen snapshot; the executor replaces it at every transition
(``queued -> running -> succeeded | failed | cancelled``), so a reader never sees half an
update, and a store (in memory today, Parquet/DuckDB or an HTTP poll later) keeps plain
records that serialise with :meth:`JobRecord.to_dict`.
"""

from __future__ import annotations

import traceback
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FINISHED_STATUSES",
    "JOB_STATUSES",
    "JobError",
    "JobProgress",
    "JobRecord",
    "JobStatus",
]

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JOB_STATUSES: tuple[JobStatus, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


def _now() -> datetime:
    return datetime.now(timezone.utc)


class JobError(BaseModel):
    """Why a job failed: the exception's type and message, and where it was raised.

    Attributes:
        type: the exception's class name, e.g. ``"ValueError"``.
        message: ``str(exception)``.
        traceback: the formatted traceback (for logs; not part of ``str()``).

    Example:
        >>> err = JobError.from_exception(ValueError("Expected `k` to be >= 1, but got 0"))
        >>> str(err)
        'ValueError: Expected `k` to be >= 1, but got 0'
    """

    model_config = ConfigDict(frozen=True)

    type: str
    message: str
    traceback: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException) -> JobError:
        """The error of ``exc`` (type name, message, formatted traceback)."""
        return cls(
            type=type(exc).__name__,
            message=str(exc),
            traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        )

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return self.model_dump(mode="json")


class JobProgress(BaseModel):
    """How far a job is: a fraction in [0, 1] and what it is doing.

    Example:
        >>> str(JobProgress(fraction=0.25, message="scoring frames"))
        '25% (scoring frames)'
    """

    model_config = ConfigDict(frozen=True)

    fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    message: str = ""

    def __str__(self) -> str:
        pct = f"{self.fraction:.0%}"
        return f"{pct} ({self.message})" if self.message else pct


class JobRecord(BaseModel):
    """A job's state at one instant.

    Attributes:
        id: the job id (32 hex digits).
        kind: what the job does, e.g. ``"sampling"`` or a function's name.
        params: a JSON-ready description of the job's input (a request's fields), for
            listing and for a persistent store; never the bulk data itself.
        status: ``queued``, ``running``, ``succeeded``, ``failed`` or ``cancelled``.
        progress: the last :class:`JobProgress` the job reported (1.0 once it succeeded).
        error: why it failed (``failed`` only).
        cancel_requested: :meth:`JobExecutor.cancel` was called while it ran.
        submitted_at, started_at, finished_at: UTC timestamps (``None`` until reached).

    Example:
        >>> rec = JobRecord(id="0" * 32, kind="demo")
        >>> rec.status, rec.done, str(rec.progress)
        ('queued', False, '0%')
    """

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)
    status: JobStatus = "queued"
    progress: JobProgress = Field(default_factory=JobProgress)
    error: JobError | None = None
    cancel_requested: bool = False
    submitted_at: datetime = Field(default_factory=_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def done(self) -> bool:
        """True once the job succeeded, failed or was cancelled."""
        return self.status in FINISHED_STATUSES

    def describe(self) -> str:
        """One line for messages: ``job <id> (<kind>) is running, 40% (scoring)``."""
        line = f"job {self.id} ({self.kind}) is {self.status}"
        if self.status == "running":
            line += f", {self.progress}"
        elif self.status == "failed" and self.error is not None:
            line += f": {self.error}"
        return line

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready: timestamps as ISO strings)."""
        return self.model_dump(mode="json")
