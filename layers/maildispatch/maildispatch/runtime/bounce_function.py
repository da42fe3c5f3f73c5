"""The bounce function's wiring: dead-letter records -> the reporting service (DSN + "Email Bounced" event).

Like the dispatch function, it keeps its relay connections across warm invocations
(runtime/warm_relay.py): a DSN in a warm container costs no new TCP, TLS and AUTH handshake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from maildispatch.adapters.aws import (
    EventBridgePublisher,
    aws_client,
    fetch_relay_settings,
    fetch_secret_bytes,
    io_executor,
)
from maildispatch.adapters.dynamodb_campaigns import DynamoDbCampaignStore
from maildispatch.adapters.dynamodb_ledger import DynamoDbLedger
from maildispatch.adapters.dynamodb_suppression import suppression_list
from maildispatch.adapters.smtp_relay import RelaySettings, RelayTransport
from maildispatch.ports import MailTransport
from maildispatch.runtime.settings import BounceFunctionSettings
from maildispatch.runtime.sqs_batch import BatchSession, SqsBatchFunction
from maildispatch.runtime.warm_relay import WarmRelay
from maildispatch.services.reporting import BounceService, BounceSettings

CONCURRENCY = 8  # reports in flight; each is one DSN to the relay at most
RESERVE_BEYOND_SMTP_TIMEOUT = 5.0


class BounceFunction(SqsBatchFunction):
    settings_type = BounceFunctionSettings

    def __init__(self, settings: BounceFunctionSettings) -> None:
        self.settings = settings
        self.queue_url = settings.dead_letter_queue_url
        self._service_settings = BounceSettings(
            reporting_mta=settings.reporting_mta,
            postmaster=settings.postmaster,
            event_bus_name=settings.event_bus_name,
            default_envelope_sender=settings.default_envelope_sender,
        )
        self._dkim_keyring: Any = None  # adapters.dkim_signer.DkimKeyring, made when DKIM_KEYS is set
        self._relay = WarmRelay()  # kept across warm invocations

    def signed(self, transport: MailTransport) -> MailTransport:
        """`transport`, DKIM-signing the DSNs when DKIM_KEYS has a key for their From domain (cryptography is
        imported only then, as in the dispatch function)."""
        if not self.settings.dkim_keys:
            return transport
        from maildispatch.adapters.dkim_signer import DkimKeyring, SigningTransport

        if self._dkim_keyring is None:
            self._dkim_keyring = DkimKeyring(fetch_secret_bytes)
        return SigningTransport(transport, self._dkim_keyring.signer(self.settings.dkim_keys))

    async def relay_transport(self, relay: RelaySettings) -> RelayTransport:
        """The container's transport for `relay`, with its expired idle connections closed."""
        return await self._relay.transport(relay)

    async def aclose(self) -> None:
        await self._relay.close()

    @asynccontextmanager
    async def session(self, context: Any) -> AsyncIterator[BatchSession]:
        relay = fetch_relay_settings(self.settings.relay)
        service_settings = self._service_settings
        if self.settings.signing_secret:
            service_settings = replace(service_settings, signing_key=fetch_secret_bytes(self.settings.signing_secret))
        transport = await self.relay_transport(relay)
        suppressions = suppression_list(aws_client("dynamodb"), self.settings.suppression_table, io_executor())
        ledger = (
            DynamoDbLedger(aws_client("dynamodb"), self.settings.ledger_table, io_executor())
            if self.settings.ledger_table
            else None
        )
        campaigns = (
            DynamoDbCampaignStore(aws_client("dynamodb"), self.settings.campaign_table, io_executor())
            if self.settings.campaign_table
            else None
        )
        service = BounceService(
            self.signed(transport),
            EventBridgePublisher(),
            service_settings,
            suppressions=suppressions,
            ledger=ledger,
            campaigns=campaigns,
        )
        yield BatchSession(
            service.process,
            service.tally,
            concurrency=CONCURRENCY,
            reserve_seconds=relay.timeout + RESERVE_BEYOND_SMTP_TIMEOUT,
        )
