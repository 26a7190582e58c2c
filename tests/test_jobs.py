"""The job executor: lifecycle, progress, wait/timeout, failure, cancellation, concurrency.

Jobs here block on events the test controls, so every state is observed on purpose (no
sleeps, no timing thresholds); ``_WAIT`` only bounds a hang if the executor is broken.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import assay
import numpy as np
import pytest
from assay.engine.jobs import (
    JobCancelledError,
    JobExecutor,
    JobFailedError,
    JobNotDoneError,
    JobRecord,
    MemoryJobStore,
    ProgressReporter,
    UnknownJobError,
)

_WAIT = 30.0  # seconds: only reached when something is broken


@pytest.fixture
def executor() -> Iterator[JobExecutor]:
    ex = JobExecutor(max_workers=1)
    yield ex
    ex.shutdown(wait=True, cancel=True)


class _Gate:
    """A job that reports, signals it started, then blocks until released."""

    def __init__(self, result: Any = "ok", report: tuple[float, str] | None = None) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.result = result
        self.report = report
        self.ran = False

    def __call__(self, progress: ProgressReporter) -> Any:
        self.ran = True
        if self.report is not None:
            progress(*self.report)
        self.started.set()
        assert self.release.wait(_WAIT)
        return self.result


class _SpyStore(MemoryJobStore):
    """Counts publications: a result reaches the store only with a succeeded record."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[JobRecord, Any]] = []

    def publish(self, record: JobRecord, result: Any) -> None:
        self.published.append((record, result))
        super().publish(record, result)


def test_lifecycle_queued_running_succeeded(executor: JobExecutor) -> None:
    first, second = _Gate("first"), _Gate("second")
    a = executor.submit(first, kind="gate")
    b = executor.submit(second, kind="gate")
    assert len(a) == 32 and int(a, 16) >= 0 and a != b
    assert first.started.wait(_WAIT)
    assert executor.status(a) == "running"
    assert executor.status(b) == "queued"  # one worker: b waits for a
    with pytest.raises(JobNotDoneError, match=f"job {b} \\(gate\\) to have finished"):
        executor.result(b)
    first.release.set()
    assert second.started.wait(_WAIT)
    record = executor.wait(a, timeout=_WAIT)
    assert record.status == "succeeded" and record.progress.fraction == 1.0
    assert record.submitted_at <= record.started_at <= record.finished_at  # type: ignore[operator]
    assert executor.result(a) == "first"
    second.release.set()
    assert executor.wait(b, timeout=_WAIT).status == "succeeded"
    assert executor.result(b) == "second"
    # Records outlive the jobs, in submission order, JSON-ready.
    assert [r.id for r in executor.list()] == [a, b]
    assert [r.id for r in executor.list("succeeded")] == [a, b]
    assert executor.list("failed") == []
    json.dumps(executor.get(a).to_dict())


def test_progress_is_reported_and_spans_map(executor: JobExecutor) -> None:
    gate = _Gate(report=(0.25, "scoring frames"))
    job = executor.submit(gate)
    assert gate.started.wait(_WAIT)
    progress = executor.progress(job)
    assert (progress.fraction, progress.message) == (0.25, "scoring frames")
    assert str(progress) == "25% (scoring frames)"
    gate.release.set()
    executor.wait(job, timeout=_WAIT)

    def staged(progress: ProgressReporter) -> str:
        progress(1.0, "stage one")
        progress.span(0.5, 1.0)(0.5)  # message unchanged, fraction mapped to 0.75
        seen.append(executor.progress(job2))
        progress.span(0.5, 1.0).span(0.5, 1.0)(0.0, "last quarter")
        seen.append(executor.progress(job2))
        return "done"

    seen: list[Any] = []
    job2 = executor.submit(staged)
    executor.wait(job2, timeout=_WAIT)
    assert [(p.fraction, p.message) for p in seen] == [
        (0.75, "stage one"),
        (0.75, "last quarter"),
    ]


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), float("inf"), "half"])
def test_bad_progress_fails_the_job_with_the_reason(executor: JobExecutor, bad: Any) -> None:
    job = executor.submit(lambda progress: progress(bad))
    record = executor.wait(job, timeout=_WAIT)
    assert record.status == "failed"
    assert record.error is not None and record.error.type == "ValueError"
    assert "Expected `fraction` to be a number in [0, 1]" in record.error.message


def test_wait_timeout_names_the_job_and_its_status(executor: JobExecutor) -> None:
    gate = _Gate(report=(0.4, "scoring"))
    job = executor.submit(gate, kind="slow")
    assert gate.started.wait(_WAIT)
    with pytest.raises(TimeoutError) as info:
        executor.wait(job, timeout=0.01)
    message = str(info.value)
    assert f"Job {job} (slow) did not finish within 0.01 s" in message
    assert "running (40% (scoring))" in message
    assert executor.status(job) == "running"  # a timeout does not stop the job
    gate.release.set()
    assert executor.wait(job, timeout=_WAIT).status == "succeeded"
    with pytest.raises(ValueError, match="Expected `timeout` to be None or seconds >= 0"):
        executor.wait(job, timeout=-1)


def test_failure_carries_type_and_message_and_publishes_nothing() -> None:
    store = _SpyStore()
    with JobExecutor(max_workers=1, store=store) as executor:

        def broken(progress: ProgressReporter) -> None:
            progress(0.5, "half way")
            raise ValueError("Expected `num_of_samples` to be >= 1, but got 0")

        job = executor.submit(broken)
        record = executor.wait(job, timeout=_WAIT)
    assert record.status == "failed" and record.kind == "broken"
    assert record.error is not None
    assert (record.error.type, record.error.message) == (
        "ValueError",
        "Expected `num_of_samples` to be >= 1, but got 0",
    )
    assert "raise ValueError" in record.error.traceback
    assert record.progress.fraction == 0.5  # the last report, not a fake 100%
    assert executor.error(job) == record.error
    with pytest.raises(JobFailedError, match=f"Job {job} \\(broken\\) failed: ValueError: E") as e:
        executor.result(job)
    assert isinstance(e.value.__cause__, ValueError)
    assert e.value.job_id == job
    assert store.published == []
    with pytest.raises(LookupError, match="has no result: it is failed"):
        store.result(job)


def test_cancel_queued_job_never_runs(executor: JobExecutor) -> None:
    blocker, queued = _Gate(), _Gate()
    a = executor.submit(blocker)
    b = executor.submit(queued)
    assert blocker.started.wait(_WAIT)
    assert executor.cancel(b) is True
    assert executor.status(b) == "cancelled"
    assert executor.wait(b, timeout=_WAIT).status == "cancelled"
    blocker.release.set()
    executor.wait(a, timeout=_WAIT)
    c = executor.submit(lambda progress: "after")  # the worker skipped b and goes on
    assert executor.wait(c, timeout=_WAIT).status == "succeeded"
    assert queued.ran is False
    with pytest.raises(JobCancelledError, match=f"Job {b} \\(_Gate\\) was cancelled"):
        executor.result(b)
    assert executor.cancel(a) is False  # already finished


def test_cancel_running_job_stops_at_its_next_report() -> None:
    store = _SpyStore()
    started, steps = threading.Event(), []

    def loop(progress: ProgressReporter) -> str:
        for i in range(1000):
            progress(i / 1000, f"step {i}")
            steps.append(i)
            started.set()
            if i == 0:
                assert cancelled.wait(_WAIT)
        return "finished"  # never reached

    cancelled = threading.Event()
    with JobExecutor(max_workers=1, store=store) as executor:
        job = executor.submit(loop)
        assert started.wait(_WAIT)
        assert executor.cancel(job) is True
        assert executor.get(job).cancel_requested is True
        cancelled.set()
        record = executor.wait(job, timeout=_WAIT)
    assert record.status == "cancelled" and record.error is None
    assert steps == [0]  # the report after the cancel raised
    assert store.published == []
    with pytest.raises(JobCancelledError, match=f"Job {job} \\(loop\\) was cancelled"):
        executor.result(job)


def test_cancelled_job_that_returns_without_reporting_publishes_nothing() -> None:
    store = _SpyStore()
    with JobExecutor(max_workers=1, store=store) as executor:
        gate = _Gate("late result")
        job = executor.submit(gate)
        assert gate.started.wait(_WAIT)
        assert executor.cancel(job) is True
        gate.release.set()
        assert executor.wait(job, timeout=_WAIT).status == "cancelled"
    assert store.published == []


def test_jobs_run_concurrently_up_to_max_workers() -> None:
    barrier = threading.Barrier(2, timeout=_WAIT)  # passes only if both run at once
    release = threading.Event()

    def meet(progress: ProgressReporter) -> int:
        index = barrier.wait()
        assert release.wait(_WAIT)
        return index

    with JobExecutor(max_workers=2) as executor:
        a, b = executor.submit(meet), executor.submit(meet)
        third = _Gate()
        c = executor.submit(third)
        for job in (a, b):
            while executor.status(job) == "queued":
                threading.Event().wait(0.001)
        assert executor.status(c) == "queued"  # both workers busy
        release.set()
        third.release.set()
        assert {executor.result(j) for j in (a, b) if executor.wait(j, _WAIT)} == {0, 1}
        assert executor.wait(c, timeout=_WAIT).status == "succeeded"


def test_submit_and_read_from_many_threads() -> None:
    with JobExecutor(max_workers=3) as executor:
        ids: dict[int, str] = {}
        lock = threading.Lock()

        def submitter(start: int) -> None:
            for n in range(start, start + 25):
                job = executor.submit(lambda progress, n=n: (progress(0.5), n * n)[1])
                executor.status(job)
                with lock:
                    ids[n] = job

        threads = [threading.Thread(target=submitter, args=(k * 25,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(_WAIT)
        assert len(ids) == 100 and len(set(ids.values())) == 100
        for n, job in ids.items():
            assert executor.wait(job, timeout=_WAIT).status == "succeeded"
            assert executor.result(job) == n * n
        assert len(executor.list("succeeded")) == 100


def test_unknown_ids_bad_jobs_and_shutdown(executor: JobExecutor) -> None:
    with pytest.raises(UnknownJobError, match="Expected `job_id` to be the id of a submitted job"):
        executor.status("nope")
    with pytest.raises(LookupError):
        executor.wait("nope")
    with pytest.raises(TypeError, match="Expected `job` to be a JobSpec or a function"):
        executor.submit(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Expected `max_workers` to be an int >= 1"):
        JobExecutor(max_workers=0)
    job = executor.submit(lambda progress: 1)
    executor.wait(job, timeout=_WAIT)
    executor.forget(job)
    with pytest.raises(UnknownJobError):
        executor.get(job)
    executor.shutdown()
    with pytest.raises(RuntimeError, match="it was shut down"):
        executor.submit(lambda progress: 1)


def test_forget_refuses_a_running_job(executor: JobExecutor) -> None:
    gate = _Gate()
    job = executor.submit(gate)
    assert gate.started.wait(_WAIT)
    with pytest.raises(ValueError, match=f"to name a finished job, but job {job} .* is running"):
        executor.forget(job)
    gate.release.set()
    executor.wait(job, timeout=_WAIT)


def test_reporter_outside_an_executor_is_never_cancelled() -> None:
    seen: list[tuple[float | None, str | None]] = []
    reporter = ProgressReporter(lambda f, m: seen.append((f, m)))
    reporter(0.1)
    reporter(message="only a message")
    assert seen == [(0.1, None), (None, "only a message")]
    assert reporter.cancelled is False
    with pytest.raises(ValueError, match="Expected `start`, `stop` to satisfy"):
        reporter.span(0.8, 0.2)


# ---------------------------------------------------------------------- sampling jobs


def _pool(num_frames: int = 60, seed: int = 0) -> list[dict[str, Any]]:
    """Frames with 0-4 boxes, scores on a coarse grid (ties), some with probabilities."""
    rng = np.random.default_rng(seed)
    frames = []
    for f in range(num_frames):
        preds = []
        for b in range(int(rng.integers(0, 5))):
            pred: dict[str, Any] = {"category_id": int(rng.integers(1, 4)),
                                    "score": float(rng.integers(0, 11)) / 10,
                                    "embedding_id": f"f{f:03d}-b{b}"}
            if f % 3 == 0:
                p = rng.dirichlet(np.ones(3))
                pred["probabilities"] = (p / p.sum()).tolist()
            preds.append(pred)
        frames.append({"frame_id": f"f{f:03d}", "predictions": preds})
    return frames


def _embeddings(frames: list[dict[str, Any]], dim: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    ids = [p["embedding_id"] for fr in frames for p in fr["predictions"]]
    ids += [fr["frame_id"] for fr in frames if not fr["predictions"]]
    return {i: rng.normal(size=dim).astype(np.float32) for i in ids}


REQUESTS = {
    "entropy-max": {"num_of_samples": 7, "selection_strategy": "entropy",
                    "bbox_selection_policy": "max"},
    "probability-min": {"num_of_samples": 5, "selection_strategy": "probability"},
    "entropy-then-coreset": {"num_of_samples": 4,
                             "stages": [{"strategy": "entropy", "num_of_samples": 12},
                                        {"strategy": "coreset"}]},
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_sampling_job_equals_synchronous_sample(name: str) -> None:
    frames = _pool()
    request = {**REQUESTS[name], "frames": frames}
    embeddings = _embeddings(frames)
    expected = assay.sample(request, embeddings=embeddings)
    with JobExecutor(max_workers=2) as executor:
        job = assay.submit_sampling(request, embeddings=embeddings, executor=executor)
        assert isinstance(job, assay.SamplingJob) and job.executor is executor
        result = job.wait(timeout=_WAIT)
    assert result == expected
    assert job.status == "succeeded" and job.done() and job.error is None
    assert job.result() == expected
    record = job.record
    assert record.kind == "sampling" and record.params["num_frames"] == len(frames)
    assert "frames" not in record.params  # the record describes, it does not copy the pool
    assert json.loads(json.dumps(record.to_dict()))["status"] == "succeeded"
    assert repr(job).startswith(f"SamplingJob(id={job.id!r}, status='succeeded'")


def test_sampling_job_reports_progress_through_the_runner() -> None:
    seen: list[JobRecord] = []

    class _Recording(MemoryJobStore):
        def update(self, record: JobRecord) -> None:
            seen.append(record)
            super().update(record)

    frames = _pool(20)
    with JobExecutor(max_workers=1, store=_Recording()) as executor:
        job = assay.submit_sampling(
            {"num_of_samples": 3, "selection_strategy": "margin", "frames": frames},
            executor=executor,
        )
        job.wait(timeout=_WAIT)
    running = [r.progress for r in seen if r.status == "running"]
    fractions = [p.fraction for p in running]
    messages = {p.message for p in running}
    assert fractions == sorted(fractions) and 0.0 < max(fractions) < 1.0 + 1e-12
    assert any(m.startswith("scoring") for m in messages)
    assert any(m.startswith("select") for m in messages)


def test_sampling_job_failure_says_why_and_publishes_nothing() -> None:
    # probabilities that do not sum to 1: found while scoring, in the job
    frames = _pool(10)
    frames[4] = {"frame_id": "f004", "predictions": [{"probabilities": [0.2, 0.2, 0.2]}]}
    request = {"num_of_samples": 2, "selection_strategy": "entropy", "frames": frames}
    store = _SpyStore()
    with JobExecutor(max_workers=1, store=store) as executor:
        job = assay.submit_sampling(request, executor=executor)
        with pytest.raises(assay.JobFailedError) as info:
            job.wait(timeout=_WAIT)
    message = str(info.value)
    assert f"Job {job.id} (sampling) failed: ValueError: " in message
    assert job.status == "failed"
    assert job.error is not None and job.error.type == "ValueError"
    with pytest.raises(ValueError) as direct:
        assay.sample(request)
    assert job.error.message == str(direct.value)  # the same reason as the synchronous call
    assert store.published == []


def _coreset_request(**fields: Any) -> dict[str, Any]:
    return {"num_of_samples": 2, "selection_strategy": "coreset", "frames": _pool(10), **fields}


_FRAMES_10 = _pool(10)
_GOOD_10 = _embeddings(_FRAMES_10)
BAD_EMBEDDINGS = {
    "none": (_coreset_request(), None),
    "wrong type": (_coreset_request(), "embeddings.npy"),
    "a list": (_coreset_request(), [[0.0, 1.0]]),
    "vectors of two lengths": (
        _coreset_request(), {**_GOOD_10, next(iter(_GOOD_10)): np.zeros(3, np.float32)}
    ),
    "a 3-D array": (_coreset_request(), (["a"], np.zeros((1, 2, 2), np.float32))),
    "ids and rows": (_coreset_request(), (["a", "b"], np.zeros((3, 2), np.float32))),
    "NaN": (_coreset_request(), {**_GOOD_10, next(iter(_GOOD_10)): np.full(4, np.nan)}),
    "unknown ids": (_coreset_request(), {"unrelated": [0.0, 1.0, 2.0, 3.0]}),
    "a missing frame": (
        _coreset_request(), {k: v for k, v in _GOOD_10.items() if not k.startswith("f007")}
    ),
    "a missing labeled id": (_coreset_request(labeled_ids=["f001", "elsewhere"]), _GOOD_10),
    "clustering": (
        _coreset_request(selection_strategy="clustering"), {"unrelated": [0.0, 1.0]}
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_EMBEDDINGS))
def test_submit_sampling_validates_the_embeddings_at_once(case: str) -> None:
    """Audit: bad embeddings were reported only as a failed job, later. They are now
    refused at submission, with the message and type of the synchronous assay.sample."""
    request, embeddings = BAD_EMBEDDINGS[case]
    with pytest.raises((TypeError, ValueError)) as direct:
        assay.sample(request, embeddings=embeddings)
    with JobExecutor(max_workers=1) as executor:
        with pytest.raises(type(direct.value)) as submitted:
            assay.submit_sampling(request, embeddings=embeddings, executor=executor)
        assert executor.list() == []  # no job was made
    assert str(submitted.value) == str(direct.value)


def test_submit_sampling_checks_only_what_the_run_looks_up() -> None:
    """A later coreset stage sees only the frames an earlier stage kept: an embedding
    missing for a frame it drops is no error for assay.sample, nor at submission."""
    frames = _pool(30)
    narrow = {"strategy": "margin", "num_of_samples": 6, "mode": "narrow"}
    request = {"num_of_samples": 3, "stages": [narrow, {"strategy": "coreset"}],
               "frames": frames}
    full = _embeddings(frames)
    top = {"num_of_samples": 6, "selection_strategy": "margin", "frames": frames}
    kept = set(assay.sample(top).frame_ids)
    dropped = next(f["frame_id"] for f in frames if f["frame_id"] not in kept and f["predictions"])
    partial = {k: v for k, v in full.items() if not k.startswith(dropped)}
    expected = assay.sample(request, embeddings=partial)
    with JobExecutor(max_workers=1) as executor:
        job = assay.submit_sampling(request, embeddings=partial, executor=executor)
        assert job.wait(timeout=_WAIT) == expected
        # no diversity stage: embeddings are not read, as by assay.sample
        plain = {"num_of_samples": 2, "selection_strategy": "margin", "frames": frames}
        job = assay.submit_sampling(plain, embeddings="not read", executor=executor)
        assert job.wait(timeout=_WAIT) == assay.sample(plain, embeddings="not read")


def test_a_sampling_job_checks_the_embeddings_again_when_it_runs() -> None:
    """The caller may change the embeddings between submission and the run: the job
    checks them again, as assay.sample would then."""
    request = _coreset_request()
    embeddings = dict(_GOOD_10)
    gate = _Gate()
    with JobExecutor(max_workers=1) as executor:
        blocker = executor.submit(gate)
        assert gate.started.wait(_WAIT)
        job = assay.submit_sampling(request, embeddings=embeddings, executor=executor)
        assert job.status == "queued"
        embeddings.pop(next(k for k in embeddings if k.startswith("f002")))
        gate.release.set()
        executor.wait(blocker, timeout=_WAIT)
        with pytest.raises(assay.JobFailedError):
            job.wait(timeout=_WAIT)
    with pytest.raises(ValueError) as direct:
        assay.sample(request, embeddings=embeddings)
    assert job.error is not None and job.error.message == str(direct.value)


def test_submit_sampling_validates_the_request_at_once() -> None:
    with pytest.raises(ValueError, match=r"Expected `request\.selection_strategy` to be one of"):
        assay.submit_sampling({"num_of_samples": 1, "selection_strategy": "nope", "frames": []})


def test_default_executor_is_shared_and_sampling_jobs_cancel() -> None:
    from assay.jobs import default_executor

    assert default_executor() is default_executor()
    gate = _Gate()
    executor = JobExecutor(max_workers=1)
    try:
        blocker = executor.submit(gate)
        assert gate.started.wait(_WAIT)
        job = assay.submit_sampling(
            {"num_of_samples": 1, "selection_strategy": "least", "frames": _pool(5)},
            executor=executor,
        )
        assert job.status == "queued"
        assert job.cancel() is True
        gate.release.set()
        executor.wait(blocker, timeout=_WAIT)
        with pytest.raises(assay.JobCancelledError, match=f"Job {job.id} \\(sampling\\)"):
            job.wait(timeout=_WAIT)
    finally:
        executor.shutdown(cancel=True)


# ------------------------------------------------------- found by fuzzing (session 10)


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt()])
def test_a_job_raising_system_exit_fails_and_the_worker_keeps_going(
    executor: JobExecutor, exc: BaseException
) -> None:
    def job(progress: Any) -> None:
        raise exc

    first = executor.submit(job)
    record = executor.wait(first, _WAIT)
    assert record.status == "failed" and record.error is not None
    assert record.error.type == type(exc).__name__
    second = executor.submit(lambda progress: "ok")
    assert executor.wait(second, _WAIT).status == "succeeded"  # a worker was left to run it
    assert executor.result(second) == "ok"


def test_wait_timeouts_infinite_and_nan(executor: JobExecutor) -> None:
    job = executor.submit(lambda progress: "ok")
    assert executor.wait(job, float("inf")).status == "succeeded"
    with pytest.raises(ValueError, match=r"`timeout` to be None or seconds >= 0, but got nan"):
        executor.wait(job, float("nan"))


def test_a_cancelled_error_nobody_asked_for_is_a_failure(executor: JobExecutor) -> None:
    def job(progress: Any) -> None:
        raise JobCancelledError("job-b", "sampling")  # as reading a cancelled job would

    record = executor.wait(executor.submit(job), _WAIT)
    assert (record.status, record.cancel_requested) == ("failed", False)
    assert record.error is not None and record.error.type == "JobCancelledError"
