"""An engine-owned executor for long jobs: ids, status, progress, results, cancellation.

Jobs run on a bounded pool of worker threads (torch and FAISS release the GIL while they
compute). Each job is a :class:`JobSpec` (``kind``, ``describe()``, ``run(progress)``) or a
plain function of a :class:`ProgressReporter`. The executor is the only writer of a
:class:`JobStore`: it replaces a job's record at each transition and publishes a result
only together with the ``succeeded`` record, so a failed or cancelled job leaves the store
with no result. An HTTP service (202 + poll) or a persistent store sits on top of the same
calls: ``submit`` -> id, ``get`` -> record, ``result`` -> data, ``cancel``.
"""

from __future__ import annotations

import atexit
import builtins
import math
import os
import threading
import traceback
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from queue import SimpleQueue
from typing import Any, Protocol, runtime_checkable

from .errors import (
    JobCancelledError,
    JobFailedError,
    JobNotDoneError,
    JobTimeoutError,
)
from .progress import ProgressReporter
from .records import JobError, JobProgress, JobRecord, JobStatus, _now
from .store import JobStore, MemoryJobStore

__all__ = ["FunctionJob", "JobExecutor", "JobSpec"]


@runtime_checkable
class JobSpec(Protocol):
    """A typed job: what it is (``kind``, ``describe()``) and how it runs (``run``)."""

    @property
    def kind(self) -> str:
        """A short name for listings, e.g. ``"sampling"``."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-ready description of the input, kept in the job's record."""
        ...

    def run(self, progress: ProgressReporter) -> Any:
        """Do the work, reporting through ``progress``; the return value is the result."""
        ...


@dataclass(frozen=True)
class FunctionJob:
    """A plain function as a :class:`JobSpec`: ``fn(progress)`` is the job.

    Example:
        >>> job = FunctionJob(lambda progress: 42, kind="answer")
        >>> job.kind, job.run(ProgressReporter())
        ('answer', 42)
    """

    fn: Callable[[ProgressReporter], Any]
    kind: str = "function"
    params: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The ``params`` given at construction."""
        return dict(self.params)

    def run(self, progress: ProgressReporter) -> Any:
        """Call ``fn(progress)``."""
        return self.fn(progress)


@dataclass
class _Live:
    """What the executor holds for a job of this process (besides its stored record)."""

    spec: JobSpec | None
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    exception: BaseException | None = None


_EXECUTORS: weakref.WeakSet[JobExecutor] = weakref.WeakSet()


def _shutdown_all() -> None:  # pragma: no cover - runs at interpreter exit
    for executor in list(_EXECUTORS):
        executor.shutdown(wait=False, cancel=True)


atexit.register(_shutdown_all)


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class JobExecutor:
    """Runs jobs on up to ``max_workers`` threads; records outlive the jobs.

    Args:
        max_workers: threads running jobs at once (default ``min(4, cpu count)``); more
            jobs wait in submission order as ``queued``.
        store: where records and results live (default :class:`MemoryJobStore`).
        name: thread-name prefix.

    Worker threads are daemons: at interpreter exit queued jobs are cancelled and running
    ones asked to stop; wait for the jobs whose results you need.

    Example:
        >>> def count(progress):
        ...     for i in range(4):
        ...         progress((i + 1) / 4, f"step {i + 1}")
        ...     return "done"
        >>> with JobExecutor(max_workers=1) as executor:
        ...     job_id = executor.submit(count)
        ...     record = executor.wait(job_id, timeout=10)
        ...     record.status, str(record.progress), executor.result(job_id)
        ('succeeded', '100% (step 4)', 'done')
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        store: JobStore | None = None,
        name: str = "assay-job",
    ) -> None:
        if max_workers is None:
            max_workers = _default_workers()
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"Expected `max_workers` to be an int >= 1, but got {max_workers!r}")
        self._max_workers = max_workers
        self._store: JobStore = store if store is not None else MemoryJobStore()
        self._name = name
        self._lock = threading.RLock()  # orders record transitions against cancel()
        self._live: dict[str, _Live] = {}
        self._queue: SimpleQueue[str | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False
        _EXECUTORS.add(self)

    @property
    def max_workers(self) -> int:
        """Threads running jobs at once."""
        return self._max_workers

    @property
    def store(self) -> JobStore:
        """The store holding this executor's records and results."""
        return self._store

    # -- submitting -----------------------------------------------------------------------

    def submit(
        self, job: JobSpec | Callable[[ProgressReporter], Any], *, kind: str | None = None
    ) -> str:
        """Queue a job and return its id at once.

        Args:
            job: a :class:`JobSpec`, or a function called as ``fn(progress)`` with a
                :class:`ProgressReporter` (bind other arguments with a closure or
                ``functools.partial``); its return value is the result.
            kind: the record's ``kind`` for a function (default: its ``__name__``).

        Returns:
            The job id: 32 hex digits (``uuid4().hex``).
        """
        spec: JobSpec
        if isinstance(job, JobSpec):
            spec = job
        elif callable(job):
            name = kind if kind is not None else getattr(job, "__name__", type(job).__name__)
            spec = FunctionJob(job, kind=str(name))
        else:
            raise TypeError(
                "Expected `job` to be a JobSpec or a function of a ProgressReporter, but got "
                f"{type(job).__name__}"
            )
        params = spec.describe()
        if not isinstance(params, Mapping):
            raise TypeError(
                f"Expected `{type(spec).__name__}.describe()` to return a dict, but got "
                f"{type(params).__name__}"
            )
        job_id = uuid.uuid4().hex
        record = JobRecord(id=job_id, kind=str(spec.kind), params=dict(params))
        with self._lock:
            if self._closed:
                raise RuntimeError(
                    "Expected the executor to accept jobs, but it was shut down; "
                    "create a new JobExecutor"
                )
            self._store.add(record)
            self._live[job_id] = _Live(spec)
            self._queue.put(job_id)
            if len(self._threads) < self._max_workers:
                thread = threading.Thread(
                    target=self._work,
                    name=f"{self._name}-{len(self._threads)}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
        return job_id

    # -- reading --------------------------------------------------------------------------

    def get(self, job_id: str) -> JobRecord:
        """The job's current :class:`JobRecord` (status, progress, error, timestamps)."""
        return self._store.get(job_id)

    def status(self, job_id: str) -> JobStatus:
        """``queued``, ``running``, ``succeeded``, ``failed`` or ``cancelled``."""
        return self._store.get(job_id).status

    def progress(self, job_id: str) -> JobProgress:
        """The last progress the job reported (fraction and message)."""
        return self._store.get(job_id).progress

    def error(self, job_id: str) -> JobError | None:
        """Why the job failed (exception type, message, traceback), or ``None``."""
        return self._store.get(job_id).error

    def list(self, status: JobStatus | None = None) -> builtins.list[JobRecord]:
        """Records of all jobs (or those with ``status``), in submission order."""
        records = self._store.records()
        return records if status is None else [r for r in records if r.status == status]

    def result(self, job_id: str) -> Any:
        """A finished job's result, without waiting.

        Raises:
            JobFailedError: the job raised (its type and message, chained to the original).
            JobCancelledError: the job was cancelled.
            JobNotDoneError: the job is still queued or running (use :meth:`wait`).
        """
        record = self._store.get(job_id)
        if record.status == "succeeded":
            return self._store.result(job_id)
        if record.status == "failed":
            live = self._live.get(job_id)
            raise JobFailedError(record) from (live.exception if live is not None else None)
        if record.status == "cancelled":
            raise JobCancelledError(record.id, record.kind)
        raise JobNotDoneError(record)

    def wait(self, job_id: str, timeout: float | None = None) -> JobRecord:
        """Block until the job finished (any way); return its final record.

        Args:
            job_id: the job.
            timeout: seconds to wait at most (``None``: no limit).

        Raises:
            JobTimeoutError: (a ``TimeoutError``) the job did not finish in time; the message
                names it with its status and progress. The job keeps running.
        """
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or math.isnan(timeout)
            or timeout < 0
        ):
            raise ValueError(f"Expected `timeout` to be None or seconds >= 0, but got {timeout!r}")
        if timeout == math.inf:  # Event.wait cannot take it: no limit
            timeout = None
        record = self._store.get(job_id)
        live = self._live.get(job_id)
        if record.done or live is None:
            return record
        if not live.done.wait(timeout):
            raise JobTimeoutError(self._store.get(job_id), float(timeout or 0.0))
        return self._store.get(job_id)

    # -- controlling ----------------------------------------------------------------------

    def cancel(self, job_id: str) -> bool:
        """Ask a job to stop.

        A queued job is cancelled at once and never runs. A running job is flagged: its
        next progress report raises :class:`JobCancelledError` inside it, and it ends
        ``cancelled`` even if it returns without reporting again (its result is dropped);
        it ends ``failed`` only if it raises some other error first.

        Returns:
            True if the job was queued or running, False if it had already finished.
        """
        with self._lock:
            record = self._store.get(job_id)
            live = self._live.get(job_id)
            if record.done or live is None:
                return False
            live.cancel.set()
            if record.status == "queued":
                self._finish(record, "cancelled", live)
            else:
                self._store.update(record.model_copy(update={"cancel_requested": True}))
            return True

    def forget(self, job_id: str) -> None:
        """Drop a finished job's record and result (they are kept until then)."""
        with self._lock:
            record = self._store.get(job_id)
            if not record.done:
                raise ValueError(
                    f"Expected `job_id` to name a finished job, but {record.describe()}"
                )
            self._store.remove(job_id)
            self._live.pop(job_id, None)

    def shutdown(self, wait: bool = True, *, cancel: bool = False) -> None:
        """Stop accepting jobs; optionally cancel the unfinished ones and wait for threads.

        Queued jobs still run unless ``cancel`` is true. Records and results stay readable.
        """
        with self._lock:
            if cancel:
                for job_id, live in builtins.list(self._live.items()):
                    if not live.done.is_set():
                        self.cancel(job_id)
            if not self._closed:
                self._closed = True
                for _ in self._threads:
                    self._queue.put(None)
            threads = builtins.list(self._threads)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

    def __enter__(self) -> JobExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(wait=True)

    # -- running --------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            self._run(job_id)

    def _run(self, job_id: str) -> None:
        with self._lock:
            live = self._live.get(job_id)
            if live is None or live.done.is_set() or live.spec is None:
                return  # cancelled (or forgotten) while queued
            record = self._store.get(job_id)
            running = record.model_copy(update={"status": "running", "started_at": _now()})
            self._store.update(running)
            spec = live.spec
        progress = ProgressReporter(
            lambda fraction, message: self._report(job_id, fraction, message),
            cancel_event=live.cancel,
            job_id=job_id,
            kind=record.kind,
        )
        try:
            result = spec.run(progress)
        except BaseException as exc:  # the job says why it failed; the worker keeps going
            if isinstance(exc, JobCancelledError) and live.cancel.is_set():
                self._end(job_id, "cancelled", None)
                return
            # A JobCancelledError nobody asked for (e.g. another job's result read inside
            # this one) is a failure. Nothing is re-raised, SystemExit and
            # KeyboardInterrupt included: in a worker thread they would only end the
            # worker, and the jobs queued behind it would never run.
            error = JobError.from_exception(exc)
            traceback.clear_frames(exc.__traceback__)  # keep the trace, free the frames' data
            live.exception = exc
            self._end(job_id, "failed", error)
        else:
            with self._lock:
                record = self._store.get(job_id)
                if live.cancel.is_set():
                    self._finish(record, "cancelled", live)
                else:
                    finished = record.model_copy(
                        update={
                            "status": "succeeded",
                            "progress": JobProgress(fraction=1.0, message=record.progress.message),
                            "finished_at": _now(),
                        }
                    )
                    self._store.publish(finished, result)
                    self._release(live)
            del result

    def _end(self, job_id: str, status: JobStatus, error: JobError | None) -> None:
        with self._lock:
            live = self._live[job_id]
            self._finish(self._store.get(job_id), status, live, error)

    def _finish(
        self, record: JobRecord, status: JobStatus, live: _Live, error: JobError | None = None
    ) -> None:
        """Write a final record without a result (failed or cancelled)."""
        self._store.update(
            record.model_copy(update={"status": status, "error": error, "finished_at": _now()})
        )
        self._release(live)

    @staticmethod
    def _release(live: _Live) -> None:
        live.spec = None  # the input (embeddings...) can be freed now
        live.done.set()

    def _report(self, job_id: str, fraction: float | None, message: str | None) -> None:
        with self._lock:
            record = self._store.get(job_id)
            if record.status != "running":
                return
            progress = JobProgress(
                fraction=record.progress.fraction if fraction is None else fraction,
                message=record.progress.message if message is None else message,
            )
            self._store.update(record.model_copy(update={"progress": progress}))
