"""Run the records of one SQS batch concurrently, bounded, and answer Lambda's partial-batch contract.

powertools' AsyncBatchProcessor gathers every record at once and runs its own event loop;
we need a bound (the relay allows a few connections), one event loop shared with the SMTP
connection pool, and to stop starting records when the invocation is about to time out.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable, Sequence

from .sqs_record import SqsRecord


@dataclass(frozen=True)
class RecordResult:
    message_id: str
    done: bool  # done: delete the record; not done: SQS shows it again for another attempt
    visible_after: int | None = None  # seconds until it shows again; None keeps the queue's visibility timeout

    @classmethod
    def finished(cls, message_id: str) -> "RecordResult":
        return cls(message_id, done=True)

    @classmethod
    def retry(cls, message_id: str, visible_after: int | None) -> "RecordResult":
        return cls(message_id, done=False, visible_after=visible_after)


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
    gate = asyncio.Semaphore(concurrency)

    async def guarded(record: SqsRecord) -> RecordResult:
        async with gate:
            if remaining_seconds() < reserve_seconds:
                return RecordResult.retry(record.message_id, visible_after=0)
            try:
                return await process(record)
            except Exception as error:  # one record's bug must not fail the others
                on_error(record, error)
                return RecordResult.retry(record.message_id, visible_after=None)

    return list(await asyncio.gather(*(guarded(r) for r in records)))


def batch_response(results: Sequence[RecordResult]) -> dict:
    """Lambda's ReportBatchItemFailures answer: every record not done is retried."""
    return {"batchItemFailures": [{"itemIdentifier": r.message_id} for r in results if not r.done]}
