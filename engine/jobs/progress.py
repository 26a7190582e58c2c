"""The callback object a running job reports progress through (and learns it was cancelled)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from .errors import JobCancelledError

__all__ = ["ProgressCallback", "ProgressReporter"]

ProgressCallback = Callable[[float | None, str | None], None]
"""``callback(fraction, message)``: what a runner calls; either may be ``None`` (unchanged)."""


class ProgressReporter:
    """Passed to a job: ``progress(fraction, message)`` reports, and checks for cancellation.

    Cancellation is cooperative: :meth:`JobExecutor.cancel` sets a flag, and the job's next
    call to the reporter raises :class:`JobCancelledError`, which ends the job as
    ``cancelled`` (catch it only to clean up, then re-raise). A job that never reports runs
    to its end. Outside an executor, a reporter forwards to ``on_update`` (e.g. a progress
    bar) and is never cancelled.

    Args:
        on_update: called with ``(fraction, message)`` after validation and
            :meth:`span` mapping; ``fraction`` or ``message`` may be ``None`` (unchanged).
        cancel_event: set when the job is to stop.
        job_id, kind: named in the cancellation error.

    Example:
        >>> seen = []
        >>> progress = ProgressReporter(lambda f, m: seen.append((f, m)))
        >>> progress(0.5, "scoring")
        >>> progress.span(0.5, 1.0)(0.5, "selecting")
        >>> seen
        [(0.5, 'scoring'), (0.75, 'selecting')]
    """

    def __init__(
        self,
        on_update: ProgressCallback | None = None,
        *,
        cancel_event: threading.Event | None = None,
        job_id: str = "",
        kind: str = "",
        _range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        self._on_update = on_update
        self._cancel = cancel_event if cancel_event is not None else threading.Event()
        self._job_id = job_id
        self._kind = kind
        self._range = _range

    @property
    def cancelled(self) -> bool:
        """True once cancellation was requested (the next report raises)."""
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelledError` if cancellation was requested."""
        if self._cancel.is_set():
            raise JobCancelledError(self._job_id, self._kind)

    def __call__(self, fraction: float | None = None, message: str | None = None) -> None:
        """Report ``fraction`` in [0, 1] of this reporter's span done, and what is happening.

        Raises:
            JobCancelledError: cancellation was requested.
            ValueError: ``fraction`` is not a finite number in [0, 1].
        """
        self.check_cancelled()
        if fraction is not None:
            if not isinstance(fraction, (int, float)) or not (
                math.isfinite(fraction) and 0.0 <= fraction <= 1.0
            ):
                raise ValueError(
                    f"Expected `fraction` to be a number in [0, 1], but got {fraction!r}"
                )
            lo, hi = self._range
            fraction = lo + float(fraction) * (hi - lo)
        if message is not None and not isinstance(message, str):
            raise TypeError(f"Expected `message` to be a str, but got {type(message).__name__}")
        if self._on_update is not None:
            self._on_update(fraction, message)

    update = __call__

    def span(self, start: float, stop: float) -> ProgressReporter:
        """A reporter whose [0, 1] covers [start, stop] of this one (for a stage of a job)."""
        if not (0.0 <= start <= stop <= 1.0):
            raise ValueError(
                f"Expected `start`, `stop` to satisfy 0 <= start <= stop <= 1, but got "
                f"{start!r}, {stop!r}"
            )
        lo, hi = self._range
        return ProgressReporter(
            self._on_update,
            cancel_event=self._cancel,
            job_id=self._job_id,
            kind=self._kind,
            _range=(lo + start * (hi - lo), lo + stop * (hi - lo)),
        )
