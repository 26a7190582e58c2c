"""Long jobs owned by the engine: submit -> job id; status, progress, result, cancel.

Example:
    >>> from assay.engine.jobs import JobExecutor
    >>> with JobExecutor(max_workers=1) as executor:
    ...     job_id = executor.submit(lambda progress: sum(range(10)), kind="sum")
    ...     executor.wait(job_id, timeout=10).status, executor.result(job_id)
    ('succeeded', 45)
"""

from __future__ import annotations

from .errors import (
    JobCancelledError,
    JobFailedError,
    JobNotDoneError,
    JobTimeoutError,
    UnknownJobError,
)
from .executor import FunctionJob, JobExecutor, JobSpec
from .progress import ProgressCallback, ProgressReporter
from .records import FINISHED_STATUSES, JOB_STATUSES, JobError, JobProgress, JobRecord, JobStatus
from .sampling import SamplingJobSpec
from .store import JobStore, MemoryJobStore

__all__ = [
    "FINISHED_STATUSES",
    "FunctionJob",
    "JOB_STATUSES",
    "JobCancelledError",
    "JobError",
    "JobExecutor",
    "JobFailedError",
    "JobNotDoneError",
    "JobProgress",
    "JobRecord",
    "JobSpec",
    "JobStatus",
    "JobStore",
    "JobTimeoutError",
    "MemoryJobStore",
    "ProgressCallback",
    "ProgressReporter",
    "SamplingJobSpec",
    "UnknownJobError",
]
