"""The returned-mail function's wiring: S3-stored returned mail and SES notifications -> the returned-mail service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from maildispatch.adapters.aws import (
    EventBridgePublisher,
    S3ObjectReader,
    SqsDeadLetters,
    aws_client,
    fetch_secret_bytes,
    io_executor,
)
from maildispatch.adapters.dynamodb_return_paths import DynamoDbReturnPathIndex
from maildispatch.adapters.sns_signature import SnsSignatureVerifier
from maildispatch.runtime.settings_bounce import ReturnedFunctionSettings
from maildispatch.runtime.sqs_batch import BatchSession, SqsBatchFunction
from maildispatch.services.returned_mail import ReturnedMailService

CONCURRENCY = 8
RESERVE_SECONDS = 10.0  # reading one stored message and writing its report


class ReturnedFunction(SqsBatchFunction):
    settings_type = ReturnedFunctionSettings

    def __init__(self, settings: ReturnedFunctionSettings) -> None:
        self.settings = settings

    @asynccontextmanager
    async def session(self, context: Any) -> AsyncIterator[BatchSession]:
        signing_key = fetch_secret_bytes(self.settings.signing_secret) if self.settings.signing_secret else None
        service = ReturnedMailService(
            DynamoDbReturnPathIndex(aws_client("dynamodb"), self.settings.ledger_table, io_executor()),
            SqsDeadLetters(self.settings.dead_letter_queue_url, signing_key=signing_key),
            EventBridgePublisher(),
            fetch_secret_bytes(self.settings.verp_secret) if self.settings.verp_secret else None,
            self.settings.event_bus_name,
            mail_store=S3ObjectReader(),
            notification_verifier=notification_verifier(self.settings),
        )
        yield BatchSession(service.process, service.tally, concurrency=CONCURRENCY, reserve_seconds=RESERVE_SECONDS)


_verifiers: dict[tuple[str | None, str | None], SnsSignatureVerifier] = {}


def notification_verifier(settings: ReturnedFunctionSettings) -> SnsSignatureVerifier:
    """One verifier per container (and settings), so each signing certificate is fetched once."""
    key = (settings.ses_notification_topic_arn, settings.sns_signing_cert_test_host)
    if key not in _verifiers:
        _verifiers[key] = SnsSignatureVerifier(
            io_executor(),
            expected_topic_arn=settings.ses_notification_topic_arn,
            test_cert_host=settings.sns_signing_cert_test_host,
        )
    return _verifiers[key]
