"""The bounce function's wiring: dead-letter records -> the reporting service (DSN + "Email Bounced" event).

Like the dispatch function, it keeps its relay connections across warm invocations
(runtime/warm_relay.py): a DSN in a warm container costs no new TCP, TLS and AUTH handshake.

With DELIVERY_MODE=mx it needs no relay: each DSN goes, from the null sender, to the MX of the
envelope sender's domain through its own MxTransport (the same MX_*, DNS_* and MTA_STS settings as the
dispatch function, kept warm by runtime/warm_mx.py), DKIM-signed by `signed()` as in relay mode. A DSN
that cannot be delivered (null MX, NXDOMAIN, a 5xx, or deferred past DSN_MAX_AGE) is logged, counted
and dropped by the reporting service: nothing is ever reported about a DSN.
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
from maildispatch.ports import MailTransport
from maildispatch.runtime.settings_bounce import BounceFunctionSettings
from maildispatch.runtime.sqs_batch import BatchSession, SqsBatchFunction
from maildispatch.runtime.warm_transports import WarmTransports
from maildispatch.services.reporting import BounceService, BounceSettings

CONCURRENCY = 8  # reports in flight; each is one DSN (to the relay, or to the sender's MX) at most
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
            dsn_max_age=settings.dsn_max_age,
        )
        self._dkim_keyring: Any = None  # adapters.dkim_signer.DkimKeyring, made when DKIM_KEYS is set
        self._transports = WarmTransports()  # kept across warm invocations

    def signed(self, transport: MailTransport) -> MailTransport:
        """`transport`, DKIM-signing the DSNs when DKIM_KEYS has a key for their From domain (cryptography is
        imported only then, as in the dispatch function)."""
        if not self.settings.dkim_keys:
            return transport
        from maildispatch.adapters.dkim_signer import DkimKeyring, SigningTransport

        if self._dkim_keyring is None:
            self._dkim_keyring = DkimKeyring(fetch_secret_bytes)
        return SigningTransport(transport, self._dkim_keyring.signer(self.settings.dkim_keys))

    async def aclose(self) -> None:
        await self._transports.close()

    @asynccontextmanager
    async def session(self, context: Any) -> AsyncIterator[BatchSession]:
        service_settings = self._service_settings
        if self.settings.signing_secret:
            service_settings = replace(service_settings, signing_key=fetch_secret_bytes(self.settings.signing_secret))
        transport: MailTransport
        if self.settings.mx is not None:
            transport = await self._transports.mx(self.settings.mx)
            # one command timeout, plus the connect timeout of a next MX tried just before the deadline
            smtp_timeout = self.settings.mx.transport.timeout + self.settings.mx.transport.connect_timeout
        else:
            assert self.settings.relay is not None, "relay mode needs a relay (settings check it)"
            relay = fetch_relay_settings(self.settings.relay)
            transport = await self._transports.relay(relay)
            smtp_timeout = relay.timeout
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
        self._transports.tally = service.tally
        yield BatchSession(
            service.process,
            service.tally,
            concurrency=CONCURRENCY,
            reserve_seconds=smtp_timeout + RESERVE_BEYOND_SMTP_TIMEOUT,
        )
