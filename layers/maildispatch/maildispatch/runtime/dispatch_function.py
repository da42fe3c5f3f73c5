"""The dispatch function's wiring: settings and adapters into the dispatch service, per invocation.

The SMTP connection pool (one RelayTransport) lives as long as the container, on the event loop
the function object owns (runtime/sqs_batch.py): a warm invocation sends over the connections the
previous one left open, without a new TCP, TLS and AUTH handshake. Each invocation starts by
QUITting connections idle past the relay settings' `idle_timeout`; the transport checks one that
waited longer than `recheck_after` with NOOP before reusing it. When the relay settings change
(fetched with a 5-minute cache: a rotated password, a new host), the old pool is closed and a new
one made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from maildispatch.adapters.aws import (
    OUTBOX_PREFIX,
    EventBridgePublisher,
    S3ContentStore,
    S3Outbox,
    SqsDeadLetters,
    SqsRequeue,
    aws_client,
    fetch_relay_settings,
    fetch_secret_bytes,
    io_executor,
)
from maildispatch.adapters.dynamodb_campaigns import DynamoDbCampaignStore
from maildispatch.adapters.dynamodb_ledger import DynamoDbLedger
from maildispatch.adapters.dynamodb_return_paths import DynamoDbReturnPathIndex
from maildispatch.adapters.dynamodb_suppression import suppression_list
from maildispatch.adapters.render_worker import RenderBudget, WorkerRenderer
from maildispatch.adapters.smtp_relay import RelaySettings, RelayTransport
from maildispatch.core.retry import DEFAULT_STREAM
from maildispatch.runtime.settings import DispatchSettings
from maildispatch.runtime.sqs_batch import BatchSession, SqsBatchFunction
from maildispatch.services.dispatch import DispatchPolicy, DispatchService, VerpPolicy

RESERVE_BEYOND_SMTP_TIMEOUT = 5.0  # seconds kept free after the last record could time out


class DispatchFunction(SqsBatchFunction):
    settings_type = DispatchSettings

    def __init__(self, settings: DispatchSettings) -> None:
        self.settings = settings
        self.queue_url = settings.send_queue_url
        self._content = S3ContentStore(
            settings.content_bucket, attachment_prefix=settings.attachment_prefix
        )  # keeps its template cache while the container lives
        # Worker processes live with the container (started on the first template, replaced when one
        # breaches its budget); a hostile template costs its own render, never the batch.
        self.renderer = WorkerRenderer(
            RenderBudget(
                cpu_seconds=settings.render_timeout,
                memory_mb=settings.render_memory_mb,
                workers=settings.render_workers,
            )
        )
        self._policy = dispatch_policy(settings)
        self._transport: RelayTransport | None = None  # kept across warm invocations

    async def relay_transport(self, relay: RelaySettings) -> RelayTransport:
        """The container's transport for `relay`, with its expired idle connections closed."""
        if self._transport is not None and self._transport.settings != relay:
            old, self._transport = self._transport, None
            await old.close()
        if self._transport is None:
            self._transport = RelayTransport(relay)
        await self._transport.expire_idle()
        return self._transport

    async def aclose(self) -> None:
        if self._transport is not None:
            transport, self._transport = self._transport, None
            await transport.close()

    @asynccontextmanager
    async def session(self, context: Any) -> AsyncIterator[BatchSession]:
        relay = fetch_relay_settings(self.settings.relay)
        policy = self._policy
        if self.settings.verp_domain and self.settings.verp_secret:
            policy = replace(
                policy, verp=VerpPolicy(self.settings.verp_domain, fetch_secret_bytes(self.settings.verp_secret))
            )
        signing_key = fetch_secret_bytes(self.settings.signing_secret) if self.settings.signing_secret else None
        policy = replace(policy, signing_key=signing_key)
        suppressions = suppression_list(aws_client("dynamodb"), self.settings.suppression_table, io_executor())
        transport = await self.relay_transport(relay)
        service = DispatchService(
            transport,
            DynamoDbLedger(aws_client("dynamodb"), self.settings.ledger_table, io_executor()),
            self._content,
            SqsDeadLetters(self.settings.dead_letter_queue_url, signing_key=signing_key),
            policy,
            suppressions=suppressions,
            requeue=SqsRequeue(self.settings.send_queue_url),
            return_paths=DynamoDbReturnPathIndex(aws_client("dynamodb"), self.settings.ledger_table, io_executor()),
            renderer=self.renderer,
            outbox=S3Outbox(self.settings.outbox_bucket, OUTBOX_PREFIX),
            publisher=EventBridgePublisher() if self.settings.delivered_events else None,
            campaigns=(
                DynamoDbCampaignStore(aws_client("dynamodb"), self.settings.campaign_table, io_executor())
                if self.settings.campaign_table
                else None
            ),
            campaign_events=EventBridgePublisher(),
            invocation_id=getattr(context, "aws_request_id", "local"),
        )
        yield BatchSession(
            service.process,
            service.tally,
            concurrency=self.settings.concurrency,
            reserve_seconds=relay.timeout + RESERVE_BEYOND_SMTP_TIMEOUT,
            summary=service.summary,
        )
        await service.flush_campaign_counts()  # one write per campaign and invocation


def dispatch_policy(settings: DispatchSettings) -> DispatchPolicy:
    """The service's policy from the function's settings (the default stream's schedule apart)."""
    schedules = dict(settings.retry_schedules)
    return DispatchPolicy(
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
        delivered_events=settings.delivered_events,
        event_bus_name=settings.event_bus_name,
        campaign_pause_wait_seconds=settings.campaign_pause_wait_seconds,
    )
