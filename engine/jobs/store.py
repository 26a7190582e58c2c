"""Where job records and results live: the :class:`JobStore` protocol and the in-memory store.

The executor is the only writer. It replaces a job's whole :class:`JobRecord` at each
transition and hands a result over only together with the ``succeeded`` record
(:meth:`JobStore.publish`), in one step: a job that fails or is cancelled leaves no result,
and a reader never sees a result without its record or a ``succeeded`` record without its
result. A persistent store (Parquet rows + a catalog) implements the same five methods.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable

from .errors import UnknownJobError
from .records import JobRecord

__all__ = ["JobStore", "MemoryJobStore"]


@runtime_checkable
class JobStore(Protocol):
    """Records and results of jobs, keyed by job id; every method is thread-safe."""

    def add(self, record: JobRecord) -> None:
        """Store a new job's first record (its id must be new)."""

    def update(self, record: JobRecord) -> None:
        """Replace a job's record (status and progress changes; never a result)."""

    def publish(self, record: JobRecord, result: Any) -> None:
        """Replace a job's record with its ``succeeded`` record and store its result, atomically."""

    def get(self, job_id: str) -> JobRecord:
        """The job's current record; :class:`UnknownJobError` for an unknown id."""
        ...

    def result(self, job_id: str) -> Any:
        """A succeeded job's result; ``LookupError`` when none was published."""

    def records(self) -> list[JobRecord]:
        """Every record, in submission order."""
        ...

    def remove(self, job_id: str) -> None:
        """Forget a job's record and result."""


class MemoryJobStore:
    """A :class:`JobStore` in this process's memory (the default).

    Example:
        >>> store = MemoryJobStore()
        >>> store.add(JobRecord(id="a" * 32, kind="demo"))
        >>> store.get("a" * 32).status, len(store.records())
        ('queued', 1)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, JobRecord] = {}
        self._results: dict[str, Any] = {}

    def add(self, record: JobRecord) -> None:
        """Store a new job's first record (its id must be new)."""
        with self._lock:
            if record.id in self._records:
                raise ValueError(
                    f"Expected `record.id` to be a new job id, but got {record.id!r} again"
                )
            self._records[record.id] = record

    def update(self, record: JobRecord) -> None:
        """Replace a job's record (status and progress changes; never a result)."""
        with self._lock:
            self._known(record.id)
            self._records[record.id] = record

    def publish(self, record: JobRecord, result: Any) -> None:
        """Replace a job's record with its ``succeeded`` record and store its result, atomically."""
        with self._lock:
            self._known(record.id)
            self._results[record.id] = result
            self._records[record.id] = record

    def get(self, job_id: str) -> JobRecord:
        """The job's current record; :class:`UnknownJobError` for an unknown id."""
        with self._lock:
            return self._known(job_id)

    def result(self, job_id: str) -> Any:
        """A succeeded job's result; ``LookupError`` when none was published."""
        with self._lock:
            record = self._known(job_id)
            if job_id not in self._results:
                raise LookupError(
                    f"Job {job_id} ({record.kind}) has no result: it is {record.status}"
                )
            return self._results[job_id]

    def records(self) -> list[JobRecord]:
        """Every record, in submission order."""
        with self._lock:
            return list(self._records.values())

    def remove(self, job_id: str) -> None:
        """Forget a job's record and result."""
        with self._lock:
            self._known(job_id)
            del self._records[job_id]
            self._results.pop(job_id, None)

    def _known(self, job_id: str) -> JobRecord:
        try:
            return self._records[job_id]
        except (KeyError, TypeError):
            raise UnknownJobError(job_id, len(self._records)) from None
