"""The HTTP API function's wiring: settings and adapters into the message API service, the
Powertools resolver with its routers, and the errors every router shares, answered as RFC 9457
problem details.

One function object per container (functions/api/app.py). The message routes and, when
CAMPAIGN_TABLE is set, the campaign routes are included under /v1; the public one-click unsubscribe
routes (/u/{token}) at the root, when UNSUBSCRIBE_SECRET is set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from maildispatch.adapters.aws import aws_client
from maildispatch.adapters.dynamodb_message_status import DynamoDbMessageStatus
from maildispatch.adapters.http_api_aws import S3UploadSigner, SqsSubmissionQueue
from maildispatch.core.request import InvalidRequest
from maildispatch.ports import SubmissionFailed
from maildispatch.runtime.api_campaigns import campaigns_router
from maildispatch.runtime.api_idempotency import IdempotentSubmissions, InvalidIdempotencyKey
from maildispatch.runtime.api_messages import BodyTooLarge, messages_router
from maildispatch.runtime.api_problems import field_error, problem
from maildispatch.runtime.api_unsubscribe import unsubscribe_router, unsubscribe_service
from maildispatch.runtime.settings_api import ApiSettings, UnsubscribeSettings
from maildispatch.services.campaigns import CampaignControl
from maildispatch.services.message_api import MessageApi, MessageApiPolicy, UnknownMessage
from maildispatch.services.unsubscribe import UnsubscribeService

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "1"


class ApiFunction:
    def __init__(
        self,
        settings: ApiSettings,
        unsubscribe: UnsubscribeService | None = None,
        campaigns: CampaignControl | None = None,
    ) -> None:
        self.settings = settings
        self.messages = MessageApi(
            SqsSubmissionQueue(settings.send_queue_url),
            DynamoDbMessageStatus(aws_client("dynamodb"), settings.ledger_table),
            S3UploadSigner(settings.content_bucket),
            MessageApiPolicy(
                attachment_prefix=settings.attachment_prefix,
                max_upload_bytes=settings.max_upload_bytes,
                upload_expires_seconds=settings.upload_expires_seconds,
            ),
        )
        self.idempotency = IdempotentSubmissions(
            settings.idempotency_table,
            expires_after_seconds=settings.idempotency_seconds,
            client=aws_client("dynamodb"),
        )
        self.app = APIGatewayHttpResolver()
        self.app.include_router(messages_router(self.messages, self.idempotency), prefix="/v1")
        if campaigns is not None:
            self.app.include_router(campaigns_router(campaigns), prefix="/v1")
        if unsubscribe is not None:
            self.app.include_router(unsubscribe_router(unsubscribe))
        _answer_errors_as_problems(self.app)

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> ApiFunction:
        unsubscribe = (
            unsubscribe_service(UnsubscribeSettings.from_environ(env)) if env.get("UNSUBSCRIBE_SECRET") else None
        )
        return cls(ApiSettings.from_environ(env), unsubscribe)

    def handle(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        return self.app.resolve(dict(event), context)


def _answer_errors_as_problems(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(InvalidRequest)  # type: ignore[untyped-decorator]
    def invalid_request(error: InvalidRequest) -> Response[str]:
        return problem(
            400, "invalid-request", f"{error.field}: {error.message}", errors=[field_error(error.field, error.message)]
        )

    @app.exception_handler(InvalidIdempotencyKey)  # type: ignore[untyped-decorator]
    def invalid_key(error: InvalidIdempotencyKey) -> Response[str]:
        return problem(
            400,
            "invalid-header",
            f"Idempotency-Key: {error}",
            errors=[field_error("header:Idempotency-Key", str(error))],
        )

    @app.exception_handler(BodyTooLarge)  # type: ignore[untyped-decorator]
    def too_large(error: BodyTooLarge) -> Response[str]:
        return problem(413, "body-too-large", f"{error}: put large attachments in S3 (POST /v1/uploads)")

    @app.exception_handler(UnknownMessage)  # type: ignore[untyped-decorator]
    def unknown(error: UnknownMessage) -> Response[str]:
        return problem(
            404,
            "unknown-message",
            f"{error.args[0]!r}: not accepted by this API, not tried yet, or expired",
            message_key=error.args[0],
        )

    @app.exception_handler(IdempotencyAlreadyInProgressError)  # type: ignore[untyped-decorator]
    def in_flight(error: Exception) -> Response[str]:
        return problem(
            409,
            "idempotency-key-in-use",
            "the first request with this Idempotency-Key has not finished: retry later",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    @app.exception_handler(IdempotencyValidationError)  # type: ignore[untyped-decorator]
    def reused(error: Exception) -> Response[str]:
        return problem(
            422,
            "idempotency-key-reused",
            "this Idempotency-Key was sent before with a different request body; use a new key for a new request",
        )

    @app.exception_handler(SubmissionFailed)  # type: ignore[untyped-decorator]
    def queue_down(error: SubmissionFailed) -> Response[str]:
        log.error("send queue failed", exc_info=error)
        return problem(
            503,
            "unavailable",
            "the send queue did not take the request; nothing was enqueued: retry (with the same Idempotency-Key)",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    @app.exception_handler(IdempotencyPersistenceLayerError)  # type: ignore[untyped-decorator]
    def store_down(error: Exception) -> Response[str]:
        log.error("idempotency store failed", exc_info=error)
        return problem(
            503,
            "unavailable",
            "the idempotency store could not be reached: retry later",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    @app.not_found
    def not_found(error: Exception) -> Response[str]:
        return problem(404, "not-found", "no such route: see docs/request.md for the API")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def failed(error: Exception) -> Response[str]:
        log.error("request failed", exc_info=error)
        return problem(500, "internal-error", "the request failed; it may be retried (with the same Idempotency-Key)")
