"""The fan-out function's wiring: a message {"campaign": ID} on the fan-out queue -> one fan-out run.

The queue is the continuation: a run that stops (time nearly up, a rate to keep, the list read and
recipients still pending) sends the next message itself; a run that dies leaves its message to come
back after the visibility timeout, and the next run resumes at the checkpoint. Batch size 1: one
campaign per invocation, with the invocation's whole time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from maildispatch.adapters.aws import EventBridgePublisher, aws_client, io_executor
from maildispatch.adapters.campaign_aws import S3RecipientList, SqsFanoutTrigger, SqsSendBatches
from maildispatch.adapters.dynamodb_campaigns import DynamoDbCampaignStore, DynamoDbLedgerCounts
from maildispatch.adapters.dynamodb_suppression import suppression_list
from maildispatch.core.sqs_record import RecordResult, SqsRecord
from maildispatch.core.tally import Tally
from maildispatch.runtime.settings import FanoutSettings
from maildispatch.runtime.sqs_batch import BatchSession, SqsBatchFunction
from maildispatch.services.fanout import FanoutPolicy, FanoutService

log = logging.getLogger("maildispatch.fanout")
START_RESERVE_SECONDS = 1.0  # a run checks its own time (FANOUT_RESERVE) between groups


class FanoutFunction(SqsBatchFunction):
    settings_type = FanoutSettings

    def __init__(self, settings: FanoutSettings) -> None:
        self.settings = settings
        self.queue_url = settings.fanout_queue_url

    @asynccontextmanager
    async def session(self, context: Any) -> AsyncIterator[BatchSession]:
        s = self.settings
        ddb = aws_client("dynamodb")
        service = FanoutService(
            DynamoDbCampaignStore(ddb, s.campaign_table, io_executor()),
            S3RecipientList(),
            SqsSendBatches(s.send_queue_url),
            SqsFanoutTrigger(s.fanout_queue_url),
            DynamoDbLedgerCounts(ddb, s.ledger_table, io_executor()),
            suppressions=suppression_list(ddb, s.suppression_table, io_executor()),
            events=EventBridgePublisher(),
            policy=FanoutPolicy(
                read_bytes=s.read_bytes,
                group_batches=s.group_batches,
                reserve_seconds=s.reserve_seconds,
                finish_poll_seconds=s.finish_poll_seconds,
                event_bus_name=s.event_bus_name,
            ),
        )
        tally = Tally()

        def time_left() -> float:
            getter = getattr(context, "get_remaining_time_in_millis", None)
            return getter() / 1000 if getter else 900.0

        async def process(record: SqsRecord) -> RecordResult:
            try:
                message = json.loads(record.body)
                campaign_id = str(message["campaign"])
                progress = message.get("progress")
                progress = int(progress) if progress is not None else None
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning("not a fan-out message: dropped", extra={"sqs_message_id": record.message_id})
                tally.add("ignored")
                return RecordResult.finished(record.message_id)
            outcome = await service.run(campaign_id, time_left=time_left, progress=progress)
            tally.update(outcome.tally)
            log.info(
                "fan-out run",
                extra={
                    "campaign": campaign_id,
                    "state": outcome.state,
                    "continue_after": outcome.continue_after,
                    **dict(outcome.tally),
                },
            )
            return RecordResult.finished(record.message_id)

        yield BatchSession(process, tally, concurrency=1, reserve_seconds=START_RESERVE_SECONDS)
