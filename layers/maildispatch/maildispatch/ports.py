"""The ports: every interface the services talk through, once.

Services depend on these Protocols only; adapters (DynamoDB, SQS, S3, EventBridge, SMTP)
implement them, and tests/fakes holds in-memory stand-ins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from maildispatch.core.ledger import Claim, LedgerEntry
from maildispatch.core.outcome import Envelope, Outcome
from maildispatch.core.producer_envelope import OutboxObject
from maildispatch.core.render import RenderedContent, TemplateSource, render_content
from maildispatch.core.report import BounceReport
from maildispatch.core.request import S3Attachment, SendRequest
from maildispatch.core.return_paths import SentMessage
from maildispatch.core.sns_signature import SignatureCheck
from maildispatch.core.suppression import Suppression


class DeliveryLedger(Protocol):
    async def claim(
        self, message_key: str, recipients: Sequence[str], *, owner: str, lease_seconds: int
    ) -> list[Claim]: ...

    async def record(self, message_key: str, entries: Sequence[LedgerEntry]) -> None: ...

    async def mark_reported(self, message_key: str, recipients: Sequence[str]) -> None: ...

    async def release(self, message_key: str, recipients: Sequence[str], *, owner: str) -> None:
        """Forget claims this owner holds (SENDING) that reached no one: the key is not used up."""
        ...


class SuppressionList(Protocol):
    async def find(self, addresses: Sequence[str]) -> dict[str, Suppression]: ...  # keyed by lower-cased address

    async def add(self, entries: Sequence[Suppression]) -> None: ...

    async def count_soft_bounce(self, address: str, *, at: float, event_id: str) -> int:
        """Soft bounces within the window before `at`, this one included; counting the same event twice counts it once."""
        ...


class NoSuppressionList:
    """For deployments without a suppression table: nothing is ever suppressed."""

    async def find(self, addresses: Sequence[str]) -> dict[str, Suppression]:
        return {}

    async def add(self, entries: Sequence[Suppression]) -> None:
        return None

    async def count_soft_bounce(self, address: str, *, at: float, event_id: str) -> int:
        return 0


class ReturnPathIndex(Protocol):
    async def remember(self, entries: Sequence[tuple[str, SentMessage]]) -> None: ...

    async def lookup(self, key: str) -> SentMessage | None: ...


class MailTransport(Protocol):
    async def deliver(self, envelope: Envelope, message: bytes) -> list[Outcome]: ...  # never raises


class ContentStore(Protocol):
    """Stored templates and large attachments (S3 on AWS)."""

    async def template(self, key: str) -> TemplateSource: ...  # raises ContentMissing when there is no such template

    async def attachment(self, ref: S3Attachment, *, max_bytes: int) -> bytes:
        """The object's bytes. Raises ContentMissing (permanent: no such object, not allowed, outside the
        attachment prefix), ContentTooLarge (over `max_bytes`, found before it is downloaded) or
        ContentUnavailable (transient: throttling, a server error; try again later)."""
        ...


@dataclass(frozen=True)
class OutboxContent:
    data: bytes
    metadata: Mapping[str, str]  # the object's user metadata (x-amz-meta-*), names lower-cased
    sidecar: Mapping[str, Any] | None = None  # an .eml's <key>.envelope.json, when there is one


class Outbox(Protocol):
    """Objects producers put in the S3 outbox (a JSON send request or a ready .eml)."""

    async def read(self, obj: OutboxObject, *, max_bytes: int) -> OutboxContent:
        """Raises ContentMissing (no such object, outside the outbox), ContentTooLarge (over `max_bytes`, found
        before it is downloaded) or ContentUnavailable (transient)."""
        ...


class TemplateRenderer(Protocol):
    """Subject and bodies of a request; a template's failure, or its exceeding the render budget, is a RenderError."""

    async def render(self, request: SendRequest, template: TemplateSource | None) -> RenderedContent: ...


class InProcessRenderer:
    """Renders in this process, on the event loop, without a CPU or memory budget: for trusted
    templates, tests and benchmarks. Deployments render through a budgeted worker process."""

    async def render(self, request: SendRequest, template: TemplateSource | None) -> RenderedContent:
        return render_content(request, template)


class ContentMissing(LookupError):
    """A stored template or attachment the request names does not exist or may not be used: permanent for this request."""


class ContentTooLarge(ContentMissing):
    """An attachment larger than what is left of the message size limit: permanent for this request."""


class ContentUnavailable(Exception):
    """The content store failed in a way that may pass (throttling, a server error): retry the request later."""


class DeadLetters(Protocol):
    async def send(self, report: BounceReport) -> None: ...


class Requeue(Protocol):
    """Puts a fresh copy of a record on the send queue (for waits visibility cannot reach)."""

    async def send(self, body: str, *, delay_seconds: int, attributes: Mapping[str, str]) -> None: ...


class EventPublisher(Protocol):
    async def publish(self, entries: list[dict[str, Any]]) -> None: ...  # raises on failure


class NotificationVerifier(Protocol):
    """Checks the signature of an Amazon SNS envelope (adapters/sns_signature.py).

    Returns the verdict; raises only when the signing certificate cannot be fetched for a reason that
    may pass (the record is then retried, not distrusted).
    """

    async def verify(self, envelope: Mapping[str, Any]) -> SignatureCheck: ...


class MailStore(Protocol):
    """Where returned mail is stored as it arrived (S3, written by an SES receipt rule)."""

    async def read(self, bucket: str, key: str) -> bytes: ...
