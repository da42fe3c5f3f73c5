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

from maildispatch.adapters.aws import EventBridgePublisher, aws_client, fetch_secret_bytes, io_executor
from maildispatch.adapters.campaign_aws import S3RecipientList, SqsFanoutTrigger, SqsSendBatches
from maildispatch.adapters.dynamodb_campaigns import DynamoDbCampaignStore, DynamoDbLedgerCounts
from maildispatch.adapters.dynamodb_suppression import suppression_list
from maildispatch.core.sqs_record import RecordResult, SqsRecord
from maildispatch.core.tally import Tally
from maildispatch.runtime.settings_fanout import FanoutSettings
from maildispatch.runtime.sqs_batch import BatchSession, SqsBatchFunction
from maildispatch.services.fanout import FanoutPolicy, FanoutService
from maildispatch.services.sender_check import CampaignPreflight, DkimKeyToCheck, SendingPath

log = logging.getLogger("maildispatch.fanout")
START_RESERVE_SECONDS = 1.0  # a run checks its own time (FANOUT_RESERVE) between groups


class FanoutFunction(SqsBatchFunction):
    settings_type = FanoutSettings

    def __init__(self, settings: FanoutSettings) -> None:
        self.settings = settings
        self.queue_url = settings.fanout_queue_url
        self._preflight: CampaignPreflight | None = None  # made at the first run: dnspython is loaded then

    def preflight(self) -> CampaignPreflight | None:
        """The campaign pre-flight sender check over dnspython (imported here, on first use), or None (PREFLIGHT=off)."""
        s = self.settings
        if not s.preflight:
            return None
        if self._preflight is None:
            from maildispatch.adapters.dns_resolver import DnsResolver, ResolverSettings

            dns = ResolverSettings(
                nameservers=s.dns.nameservers,
                port=s.dns.port,
                timeout=s.dns.timeout,
                lifetime=s.dns.lifetime,
                cache=False,
            )
            path = SendingPath(
                mode="mx" if s.delivery_mode == "mx" else "relay",
                relay_host=s.relay_host,
                egress_ip=s.egress_ip,
                helo_name=s.helo_name,
                one_click_url=s.unsubscribe_base_url,
                dkim_keys=self._dkim_keys,
            )
            self._preflight = CampaignPreflight(DnsResolver(dns), path)
        return self._preflight

    def _dkim_keys(self, from_domain: str) -> tuple[str | None, tuple[DkimKeyToCheck, ...]]:
        """The signing domain DKIM_KEYS gives mail from `from_domain`, with its keys as published (read from
        Secrets Manager, cached 5 minutes), or (None, ()) when no key signs it."""
        from maildispatch.adapters.dkim_signer import published_key
        from maildispatch.core.dkim import signing_domain

        configured = {entry.domain: entry for entry in self.settings.dkim_keys}
        found = signing_domain(from_domain, configured)
        if found is None:
            return None, ()
        keys = []
        for identity, secret in configured[found].identities:
            algorithm, public = published_key(fetch_secret_bytes(secret))
            keys.append(DkimKeyToCheck(identity.selector, algorithm, public))
        return found, tuple(keys)

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
            preflight=self.preflight(),
            policy=FanoutPolicy(
                read_bytes=s.read_bytes,
                group_batches=s.group_batches,
                reserve_seconds=s.reserve_seconds,
                finish_poll_seconds=s.finish_poll_seconds,
                event_bus_name=s.event_bus_name,
                preflight_retry_seconds=s.preflight_retry_seconds,
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
            if outcome.retry_after is not None:  # the sender check's DNS did not answer: this message again, later
                return RecordResult.retry(record.message_id, outcome.retry_after)
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
