"""The one SQS batch runtime every function uses: records in, Lambda's partial-batch answer out.

powertools' AsyncBatchProcessor gathers every record at once and runs its own event loop;
we need a bound (the relay allows a few connections), one event loop shared with the SMTP
connection pool, and to stop starting records when the invocation is about to time out.
A function supplies a session (its service, wired to adapters for this invocation); this
module runs the records through it, changes the visibility of those that asked to wait, and
answers `batchItemFailures`.

The event loop belongs to the function object, so it lives as long as the container: warm
invocations run on the same loop, and whatever a function keeps across them (the dispatch
function's relay connections) stays usable. Between invocations the loop does not run (Lambda
freezes the container); what a function keeps must expect the world to have moved meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Self, TypeVar

from maildispatch.adapters.aws import change_visibility
from maildispatch.core.sqs_record import RecordResult, SqsRecord
from maildispatch.core.tally import Tally

log = logging.getLogger("maildispatch.batch")
_T = TypeVar("_T")


@dataclass(frozen=True)
class BatchSession:
    """What a function brings to one invocation: how to process a record, and its limits."""

    process: Callable[[SqsRecord], Awaitable[RecordResult]]
    tally: Tally
    concurrency: int
    reserve_seconds: float  # a record is not started with less than this left
    summary: Callable[[], Mapping[str, Any]] | None = None  # more for the invocation's one INFO line


class FunctionSettings(Protocol):
    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Any: ...


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class SqsBatchFunction:
    """Base of the three functions: subclasses implement `session`; `handle` is the same for all."""

    settings_type: ClassVar[type[FunctionSettings]]  # read once per container from the environment
    queue_url: str | None = None  # the queue the records came from, for per-record visibility changes
    _runner: asyncio.Runner | None = None  # the container's event loop, made by the first invocation

    def __init__(self, settings: Any) -> None:
        raise NotImplementedError

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Self:
        return cls(cls.settings_type.from_environ(env))

    def session(self, context: Any) -> AbstractAsyncContextManager[BatchSession]:
        raise NotImplementedError

    def handle(self, event: Mapping[str, Any], context: Any) -> tuple[dict[str, Any], dict[str, int]]:
        """Process one SQS batch. Returns Lambda's batch response and the invocation's tally."""
        records = [SqsRecord.from_lambda(r) for r in event.get("Records", [])]
        results, tally = self.run_async(self._run(records, context))
        retries = [
            (record.receipt_handle, result.visible_after)
            for record, result in zip(records, results, strict=True)
            if not result.done and result.visible_after is not None
        ]
        if retries and self.queue_url:
            refused = change_visibility(self.queue_url, retries)
            if refused:
                log.warning(
                    "visibility change refused; those records return after the queue's visibility timeout",
                    extra={"refused": len(refused)},
                )
        return batch_response(results), dict(tally)

    def run_async(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run `coroutine` on the container's event loop (made on first use, kept for warm invocations)."""
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(coroutine)

    async def aclose(self) -> None:
        """Release what the function keeps across invocations (subclasses: connections)."""

    def close(self) -> None:
        """Release what the function keeps, and close its event loop (tests; Lambda just ends the process)."""
        if self._runner is not None:
            try:
                self._runner.run(self.aclose())
            finally:
                self._runner.close()
                self._runner = None

    async def _run(self, records: list[SqsRecord], context: Any) -> tuple[list[RecordResult], Tally]:
        async with self.session(context) as session:

            def record_failed(record: SqsRecord, error: BaseException) -> None:
                session.tally.add("record_errors")
                log.exception(
                    "record failed unexpectedly; SQS will show it again",
                    extra={"sqs_message_id": record.message_id, "error_type": type(error).__name__},
                )

            results = await run_records(
                records,
                session.process,
                concurrency=session.concurrency,
                remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
                reserve_seconds=session.reserve_seconds,
                on_error=record_failed,
            )
            log_summary(records, results, session)
        return results, session.tally


async def run_records(
    records: Sequence[SqsRecord],
    process: Callable[[SqsRecord], Awaitable[RecordResult]],
    *,
    concurrency: int,
    remaining_seconds: Callable[[], float],
    reserve_seconds: float,
    on_error: Callable[[SqsRecord, BaseException], None],
) -> list[RecordResult]:
    """Process records with at most `concurrency` in flight.

    A record is not started when less than `reserve_seconds` remain (it is left for the
    next attempt, untouched); a record whose processing raises is reported failed, so SQS
    retries it and, after maxReceiveCount, moves it to the dead-letter queue.
    """
    results: list[RecordResult | None] = [None] * len(records)
    upcoming = iter(enumerate(records))  # shared: a worker that is free takes the next record

    async def worker() -> None:
        for index, record in upcoming:
            if remaining_seconds() < reserve_seconds:
                results[index] = RecordResult.retry(record.message_id, visible_after=0)
                continue
            try:
                results[index] = await process(record)
            except Exception as error:  # one record's bug must not fail the others
                on_error(record, error)
                results[index] = RecordResult.retry(record.message_id, visible_after=None)

    # `concurrency` workers rather than a task per record waiting for a semaphore: those tasks,
    # the semaphore's waiters and their wake-ups were a measurable part of what a message costs.
    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(records)))))
    return [result for result in results if result is not None]  # all of them: every record was taken


def log_summary(records: Sequence[SqsRecord], results: Sequence[RecordResult], session: BatchSession) -> None:
    """One INFO line per invocation (per-message lines are DEBUG): what a message costs in logs stays flat."""
    if not log.isEnabledFor(logging.INFO):
        return
    retried = sum(1 for result in results if not result.done)
    log.info(
        "invocation done",
        extra={
            "records": len(records),
            "records_retried": retried,
            "counts": dict(session.tally),
            **(session.summary() if session.summary is not None else {}),
        },
    )


def batch_response(results: Sequence[RecordResult]) -> dict[str, Any]:
    """Lambda's ReportBatchItemFailures answer: every record not done is retried."""
    return {"batchItemFailures": [{"itemIdentifier": r.message_id} for r in results if not r.done]}
