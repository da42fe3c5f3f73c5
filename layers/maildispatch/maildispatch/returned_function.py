"""The returned-mail function's runtime: S3-stored returned mail and SES notifications -> reports."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Mapping

from .aws import EventBridgePublisher, SqsDeadLetters, aws_client, fetch_secret_bytes, io_executor, read_object
from .batch import RecordResult, batch_response, run_records
from .intake import SesNotification, StoredMail, S3TestEvent, UnknownIntake, envelope_addresses, intake_items, ses_envelope_addresses
from .return_paths import DynamoDbReturnPathIndex
from .returned import classify_returned_message, classify_ses_notification
from .returned_intake import ReturnedMailService
from .settings import ReturnedFunctionSettings
from .sqs_record import SqsRecord

log = logging.getLogger("maildispatch.returned")


class ReturnedFunction:
    def __init__(self, settings: ReturnedFunctionSettings) -> None:
        self.settings = settings

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> "ReturnedFunction":
        return cls(ReturnedFunctionSettings.from_environ(env))

    def handle(self, event: Mapping[str, Any], context: Any) -> tuple[dict, dict[str, int]]:
        records = [SqsRecord.from_lambda(r) for r in event.get("Records", [])]
        service = ReturnedMailService(
            DynamoDbReturnPathIndex(aws_client("dynamodb"), self.settings.ledger_table, io_executor()),
            SqsDeadLetters(self.settings.dead_letter_queue_url),
            EventBridgePublisher(),
            fetch_secret_bytes(self.settings.verp_secret) if self.settings.verp_secret else None,
            self.settings.event_bus_name,
        )

        async def process(record: SqsRecord) -> RecordResult:
            try:
                items = intake_items(record.body)
            except UnknownIntake as error:
                log.warning("not returned mail", extra={"sqs_message_id": record.message_id, "error": str(error)})
                service.tally["unknown_records"] += 1
                return RecordResult.finished(record.message_id)  # retrying cannot help; the queue's own DLQ is for crashes
            for item in items:
                if isinstance(item, S3TestEvent):
                    continue
                if isinstance(item, StoredMail):
                    raw = await read_object(item.bucket, item.key)
                    returned = classify_returned_message(raw)
                    await service.handle(returned, addressed_to=envelope_addresses(raw), source={"bucket": item.bucket, "key": item.key})
                elif isinstance(item, SesNotification):
                    returned = classify_ses_notification(item.notification)
                    mail = item.notification.get("mail") or {}
                    await service.handle(returned, addressed_to=ses_envelope_addresses(item.notification), source={"ses_message_id": mail.get("messageId")})
            return RecordResult.finished(record.message_id)

        def record_failed(record: SqsRecord, error: BaseException) -> None:
            service.tally["record_errors"] += 1
            log.exception("returned-mail record failed; SQS will retry it", extra={"sqs_message_id": record.message_id})

        results = asyncio.run(
            run_records(
                records,
                process,
                concurrency=8,
                remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
                reserve_seconds=10,
                on_error=record_failed,
            )
        )
        return batch_response(results), dict(service.tally)
