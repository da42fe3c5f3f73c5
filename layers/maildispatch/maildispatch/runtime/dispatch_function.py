"""The dispatch function's wiring: settings and adapters into the dispatch service, per invocation.

The SMTP connection pool (one RelayTransport) lives as long as the container, on the event loop
the function object owns (runtime/sqs_batch.py): a warm invocation sends over the connections the
previous one left open, without a new TCP, TLS and AUTH handshake. Each invocation starts by
QUITting connections idle past the relay settings' `idle_timeout`; the transport checks one that
waited longer than `recheck_after` with NOOP before reusing it. When the relay settings change
(fetched with a 5-minute cache: a rotated password, a new host), the old pool is closed and a new
one made.

With DELIVERY_MODE=mx the transport is an MxTransport instead (adapters/smtp_mx.py), kept across
warm invocations the same way by runtime/warm_mx.py (its connections per MX host, its MTA-STS policy
cache); each invocation starts by forgetting the destinations that failed in the previous one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

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
from maildispatch.adapters.dynamodb_budget import DynamoDbRelayBudget, relay_budget
from maildispatch.adapters.dynamodb_ledger import DynamoDbLedger
from maildispatch.adapters.dynamodb_return_paths import DynamoDbReturnPathIndex
from maildispatch.adapters.dynamodb_suppression import suppression_list
from maildispatch.adapters.render_worker import RenderBudget, WorkerRenderer
from maildispatch.adapters.smtp_relay import RelaySettings, RelayTransport
from maildispatch.core.retry import DEFAULT_STREAM
from maildispatch.ports import CampaignStore, MessageSigner
from maildispatch.runtime.settings import DispatchSettings
from maildispatch.runtime.sqs_batch import BatchSession, SqsBatchFunction
from maildispatch.runtime.warm_transports import WarmTransports
from maildispatch.services.dispatch import DispatchPolicy, DispatchService, UnsubscribePolicy, VerpPolicy
from maildispatch.services.pacing import RelayPacer

if TYPE_CHECKING:  # mx mode imports them when it starts: relay mode's cold start never loads dnspython
    from maildispatch.adapters.smtp_mx import MxTransport

RESERVE_BEYOND_SMTP_TIMEOUT = 5.0  # seconds kept free after the last record could time out


class CampaignStoreOnFirstUse:
    """The campaign store, built when dispatch meets its first campaign record: transactional mail's
    cold start never loads the campaign model, its adapter or the health service."""

    def __init__(self, table: str) -> None:
        self._table = table
        self._store: CampaignStore | None = None

    def __getattr__(self, name: str) -> Any:
        if self._store is None:
            from maildispatch.adapters.dynamodb_campaigns import DynamoDbCampaignStore

            self._store = DynamoDbCampaignStore(aws_client("dynamodb"), self._table, io_executor())
        return getattr(self._store, name)


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
        self._transports = WarmTransports()  # kept across warm invocations
        self._budgets: dict[str, DynamoDbRelayBudget | None] = {}  # per relay key, kept (their quota window cache)
        self._dkim_keyring: Any = None  # adapters.dkim_signer.DkimKeyring, made when DKIM_KEYS is set
        self.campaigns = (
            cast(CampaignStore, CampaignStoreOnFirstUse(settings.campaign_table)) if settings.campaign_table else None
        )

    def relay_budget(self, relay: RelaySettings) -> DynamoDbRelayBudget | None:
        """The shared budget of `relay`, or None when no rate or quota is configured (no budget calls)."""
        key = self.settings.relay_budget_key or budget_key(relay)
        if key not in self._budgets:
            self._budgets[key] = relay_budget(
                aws_client("dynamodb"), self.settings.relay_budget_table, key, self.settings.budget, io_executor()
            )
        return self._budgets[key]

    def dkim_signer(self) -> MessageSigner | None:
        """The DKIM signer with the keys as they are now (secrets cached 5 minutes, keys parsed once per
        container); None without DKIM_KEYS. Only then is `cryptography` imported: a stack that does not
        sign never pays for loading it."""
        if not self.settings.dkim_keys:
            return None
        if self._dkim_keyring is None:
            from maildispatch.adapters.dkim_signer import DkimKeyring

            self._dkim_keyring = DkimKeyring(fetch_secret_bytes)
        signer: MessageSigner = self._dkim_keyring.signer(self.settings.dkim_keys)
        return signer

    async def aclose(self) -> None:
        await self._transports.close()

    @asynccontextmanager
    async def session(self, context: Any) -> AsyncIterator[BatchSession]:
        policy = self._policy
        if self.settings.verp_domain and self.settings.verp_secret:
            policy = replace(
                policy, verp=VerpPolicy(self.settings.verp_domain, fetch_secret_bytes(self.settings.verp_secret))
            )
        signing_key = fetch_secret_bytes(self.settings.signing_secret) if self.settings.signing_secret else None
        policy = replace(policy, signing_key=signing_key)
        if self.settings.unsubscribe_secret:
            unsubscribe = UnsubscribePolicy(
                fetch_secret_bytes(self.settings.unsubscribe_secret),
                self.settings.unsubscribe_base_url,
                self.settings.unsubscribe_mailto,
            )
            policy = replace(policy, unsubscribe=unsubscribe)
        suppressions = suppression_list(aws_client("dynamodb"), self.settings.suppression_table, io_executor())
        transport: RelayTransport | MxTransport
        pacer: RelayPacer | None = None
        if self.settings.mx is not None:
            transport = await self._transports.mx(self.settings.mx)
            # one command timeout, plus the connect timeout of a next MX tried just before the deadline
            smtp_timeout = self.settings.mx.transport.timeout + self.settings.mx.transport.connect_timeout
        else:
            assert self.settings.relay is not None, "relay mode needs a relay (settings check it)"
            relay = fetch_relay_settings(self.settings.relay)
            transport = await self._transports.relay(relay)
            smtp_timeout = relay.timeout
            budget = self.relay_budget(relay)  # the relay's shared pace (mx mode has no relay to pace)
            if budget is not None:
                pacer = RelayPacer(budget, self.settings.budget, chunk=self.settings.budget_chunk, clock=time.time)
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
            pacer=pacer,
            signer=self.dkim_signer(),
            campaigns=self.campaigns,
            campaign_events=EventBridgePublisher(),
            invocation_id=getattr(context, "aws_request_id", "local"),
        )
        self._transports.tally = service.tally
        try:
            yield BatchSession(
                service.process,
                service.tally,
                concurrency=self.settings.concurrency,
                reserve_seconds=smtp_timeout
                + RESERVE_BEYOND_SMTP_TIMEOUT
                + (self.settings.budget.max_sleep if pacer else 0.0),
                summary=service.summary,
            )
            await service.flush_campaign_counts()  # one write per campaign and invocation
        finally:
            if pacer is not None:
                await pacer.settle()


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
        quota_pause_seconds=settings.quota_pause_seconds,
        rate_pause_seconds=settings.rate_pause_seconds,
        dkim_strict=settings.dkim_strict,
        campaign_pause_wait_seconds=settings.campaign_pause_wait_seconds,
    )


def budget_key(relay: RelaySettings) -> str:
    """One budget per relay account: host, port and user name (never the password)."""
    return f"{relay.host}:{relay.port}:{relay.username or '-'}"
