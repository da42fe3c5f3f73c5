"""The bounce function's runtime: dead-letter records -> DSN to the sender + "Email Bounced" event."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Mapping

from .aws import EventBridgePublisher, aws_client, change_visibility, fetch_relay_settings, io_executor
from .batch import RecordResult, batch_response, run_records
from .bounce import BounceReportFailed, BounceService, BounceSettings, report_from_dlq_message
from .outcome import Delivered
from .retry import RetrySchedule
from .settings import BounceFunctionSettings
from .smtp_relay import RelayTransport
from .sqs_record import SqsRecord
from .ledger import DynamoDbLedger
from .suppression import DynamoDbSuppressionList

log = logging.getLogger("maildispatch.bounce")

# A report that cannot be delivered yet (relay down) waits on the DLQ; it is never dropped
# (the queue keeps it 14 days and alarms on its age).
REPORT_RETRY = RetrySchedule(delays=(30, 60, 120, 300, 600, 1800, 3600), max_age_seconds=float("inf"))


class BounceFunction:
    def __init__(self, settings: BounceFunctionSettings, queue_url: str | None) -> None:
        self.settings = settings
        self._queue_url = queue_url
        self._service_settings = BounceSettings(
            reporting_mta=settings.reporting_mta, postmaster=settings.postmaster, event_bus_name=settings.event_bus_name
        )

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> "BounceFunction":
        return cls(BounceFunctionSettings.from_environ(env), env.get("DEAD_LETTER_QUEUE_URL") or None)

    def handle(self, event: Mapping[str, Any], context: Any) -> tuple[dict, dict[str, int]]:
        records = [SqsRecord.from_lambda(r) for r in event.get("Records", [])]
        tally: dict[str, int] = {}
        results = asyncio.run(self._run(records, context, tally))
        retries = [(r.receipt_handle, res.visible_after) for r, res in zip(records, results) if not res.done and res.visible_after is not None]
        if retries and self._queue_url:
            change_visibility(self._queue_url, retries, aws_client("sqs"))
        return batch_response(results), tally

    async def _run(self, records: list[SqsRecord], context: Any, tally: dict[str, int]) -> list[RecordResult]:
        relay = fetch_relay_settings(self.settings.relay)
        async with RelayTransport(relay) as transport:
            suppressions = (
                DynamoDbSuppressionList(aws_client("dynamodb"), self.settings.suppression_table, io_executor())
                if self.settings.suppression_table
                else None
            )
            ledger = DynamoDbLedger(aws_client("dynamodb"), self.settings.ledger_table, io_executor()) if self.settings.ledger_table else None
            service = BounceService(transport, EventBridgePublisher(), self._service_settings, suppressions=suppressions, ledger=ledger)

            async def process(record: SqsRecord) -> RecordResult:
                report = report_from_dlq_message(
                    record.body,
                    message_id=record.message_id,
                    receive_count=record.receive_count,
                    source_queue=record.event_source_arn or None,
                    sent_at=record.sent_at,
                    default_envelope_sender=self.settings.default_envelope_sender,
                )
                try:
                    handled = await service.handle(report)
                except BounceReportFailed as error:
                    log.warning("bounce report not delivered yet; retrying", extra={"message_key": report.message_key, "error": str(error)})
                    wait = REPORT_RETRY.after_failure(record.receive_count, age_seconds=0, jitter_key=record.message_id)
                    return RecordResult.retry(record.message_id, int(getattr(wait, "seconds", 3600)))
                _count(tally, "events_published", int(handled.event_published))
                _count(tally, "dsn_sent", int(isinstance(handled.dsn, Delivered)))
                _count(tally, "suppressed_addresses", handled.suppressed)
                _count(tally, "reputation_blocks", handled.reputation_blocks)
                log.info(
                    "bounce reported",
                    extra={"message_key": report.message_key, "reason": report.reason, "recipients": len(report.recipients), "dsn": type(handled.dsn).__name__},
                )
                return RecordResult.finished(record.message_id)

            def record_failed(record: SqsRecord, error: BaseException) -> None:
                _count(tally, "record_errors", 1)
                log.exception("bounce record failed; it stays on the dead-letter queue", extra={"sqs_message_id": record.message_id})

            return await run_records(
                records,
                process,
                concurrency=8,
                remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
                reserve_seconds=relay.timeout + 5,
                on_error=record_failed,
            )


def _count(tally: dict[str, int], name: str, n: int) -> None:
    if n:
        tally[name] = tally.get(name, 0) + n
