"""The dispatch function's runtime: wires settings and adapters into the dispatch service.

One event loop and one SMTP connection pool per invocation: asyncio objects must not
outlive the loop they were made in, and a warm container may run the next invocation on
a new loop.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, Mapping

from .aws import S3ContentStore, SqsDeadLetters, SqsRequeue, aws_client, change_visibility, fetch_relay_settings, fetch_secret_bytes, io_executor
from .batch import RecordResult, batch_response, run_records
from .dispatch import DispatchPolicy, DispatchService, VerpPolicy
from .return_paths import DynamoDbReturnPathIndex
from .ledger import DynamoDbLedger
from .settings import DEFAULT_STREAM, DispatchSettings
from .smtp_relay import RelayTransport
from .sqs_record import SqsRecord
from .suppression import DynamoDbSuppressionList, NoSuppressionList, SuppressionList

log = logging.getLogger("maildispatch.dispatch")

RESERVE_BEYOND_SMTP_TIMEOUT = 5.0  # seconds kept free after the last record could time out


class DispatchFunction:
    def __init__(self, settings: DispatchSettings) -> None:
        self.settings = settings
        self._content = S3ContentStore(settings.content_bucket)  # keeps its template cache while the container lives
        schedules = dict(settings.retry_schedules)
        self._policy = DispatchPolicy(
            reporting_mta=settings.reporting_mta,
            retry=schedules.pop(DEFAULT_STREAM),
            streams=schedules,
            uncertain_retries=settings.uncertain_retries,
            delay_warning_after=settings.delay_warning_after,
            default_envelope_sender=settings.default_envelope_sender,
            max_message_bytes=settings.max_message_bytes,
            lease_seconds=settings.lease_seconds,
            queue_retention_seconds=settings.queue_retention_seconds,
            requeue_after_receives=settings.requeue_after_receives,
        )

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> "DispatchFunction":
        return cls(DispatchSettings.from_environ(env))

    def handle(self, event: Mapping[str, Any], context: Any) -> tuple[dict, dict[str, int]]:
        """Process one SQS batch. Returns Lambda's batch response and the recipient tally."""
        records = [SqsRecord.from_lambda(r) for r in event.get("Records", [])]
        results, tally = asyncio.run(self._run(records, context))
        retries = [(r.receipt_handle, result.visible_after) for r, result in zip(records, results) if not result.done and result.visible_after is not None]
        if retries:
            refused = change_visibility(self.settings.send_queue_url, retries)
            if refused:
                log.warning("visibility change refused; those records return after the queue's visibility timeout", extra={"refused": len(refused)})
        return batch_response(results), tally

    async def _run(self, records: list[SqsRecord], context: Any) -> tuple[list[RecordResult], dict[str, int]]:
        relay = fetch_relay_settings(self.settings.relay)
        policy = self._policy
        if self.settings.verp_domain and self.settings.verp_secret:
            policy = replace(policy, verp=VerpPolicy(self.settings.verp_domain, fetch_secret_bytes(self.settings.verp_secret)))
        ledger = DynamoDbLedger(aws_client("dynamodb"), self.settings.ledger_table, io_executor())
        dead_letters = SqsDeadLetters(self.settings.dead_letter_queue_url)
        suppressions: SuppressionList = (
            DynamoDbSuppressionList(aws_client("dynamodb"), self.settings.suppression_table, io_executor())
            if self.settings.suppression_table
            else NoSuppressionList()
        )
        async with RelayTransport(relay) as transport:
            service = DispatchService(
                transport,
                ledger,
                self._content,
                dead_letters,
                policy,
                suppressions=suppressions,
                requeue=SqsRequeue(self.settings.send_queue_url),
                return_paths=DynamoDbReturnPathIndex(aws_client("dynamodb"), self.settings.ledger_table, io_executor()),
                invocation_id=getattr(context, "aws_request_id", "local"),
            )

            def record_failed(record: SqsRecord, error: BaseException) -> None:
                service.tally.add("record_errors")
                log.exception("record failed; SQS will retry it", extra={"sqs_message_id": record.message_id, "error": repr(error)})

            results = await run_records(
                records,
                service.process,
                concurrency=self.settings.concurrency,
                remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
                reserve_seconds=relay.timeout + RESERVE_BEYOND_SMTP_TIMEOUT,
                on_error=record_failed,
            )
        return results, dict(service.tally.counts)
