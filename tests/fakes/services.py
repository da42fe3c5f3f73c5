"""In-memory stand-ins for the dispatch service's collaborators (unit tests and benchmarks)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from maildispatch.core.outcome import (
    Bounced,
    Deferred,
    Delivered,
    Envelope,
    Outcome,
    Uncertain,
    local_reply,
    parse_reply,
    stated_retry_delay,
)
from maildispatch.core.producer_envelope import OutboxObject
from maildispatch.core.render import TemplateSource
from maildispatch.core.report import BounceReport
from maildispatch.core.request import S3Attachment
from maildispatch.core.sns_signature import SignatureCheck
from maildispatch.core.sqs_record import SqsRecord
from maildispatch.ports import ContentMissing, ContentTooLarge, OutboxContent


def reply_outcome(recipient: str, reply_line: str) -> Outcome:
    """'250 2.0.0 ok', '550 5.1.1 unknown', '451 4.7.1 later', or 'uncertain'."""
    if reply_line == "uncertain":
        return Uncertain(recipient, local_reply("4.4.2", "connection dropped after the final dot"))
    code, _, text = reply_line.partition(" ")
    reply = parse_reply(int(code), text, remote_mta="relay.test")
    if code.startswith("4"):
        return Deferred(recipient, reply, retry_after=stated_retry_delay(text))
    return {"2": Delivered, "5": Bounced}[code[0]](recipient, reply)


@dataclass
class ScriptedTransport:
    """Answers per recipient from a script (the last reply sticks); default 250."""

    script: dict[str, list[str]] = field(default_factory=dict)
    deliveries: list[tuple[Envelope, bytes]] = field(default_factory=list)

    def copies_received(self, recipient: str) -> int:
        return sum(1 for envelope, _ in self.deliveries for r in envelope.recipients if r == recipient)

    async def deliver(self, envelope: Envelope, message: bytes) -> list[Outcome]:
        outcomes = []
        for recipient in envelope.recipients:
            replies = self.script.get(recipient, ["250 2.0.0 Ok: queued"])
            line = replies.pop(0) if len(replies) > 1 else replies[0]
            outcomes.append(reply_outcome(recipient, line))
        accepted = tuple(
            r for r, o in zip(envelope.recipients, outcomes, strict=False) if isinstance(o, (Delivered, Uncertain))
        )
        if accepted:
            self.deliveries.append((Envelope(envelope.sender, accepted, envelope.smtputf8), message))
        return outcomes


@dataclass
class FakeContentStore:
    templates: dict[str, TemplateSource] = field(default_factory=dict)
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)

    async def template(self, key: str) -> TemplateSource:
        if key not in self.templates:
            raise ContentMissing(f"template {key!r} does not exist")
        return self.templates[key]

    async def attachment(self, ref: S3Attachment, *, max_bytes: int) -> bytes:
        if (ref.bucket, ref.key) not in self.objects:
            raise ContentMissing(f"s3://{ref.bucket}/{ref.key} does not exist")
        return self.objects[(ref.bucket, ref.key)]


@dataclass
class CollectingDeadLetters:
    reports: list[BounceReport] = field(default_factory=list)

    async def send(self, report: BounceReport) -> None:
        # Through JSON, as on the real queue: the report must survive the trip.
        self.reports.append(BounceReport.from_json(report.to_json()))


ENQUEUED_AT = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def sqs_record(
    body: dict | str,
    *,
    message_id: str = "m-1",
    receive_count: int = 1,
    attributes: dict | None = None,
    sent_at: datetime = ENQUEUED_AT,
) -> SqsRecord:
    return SqsRecord(
        message_id=message_id,
        receipt_handle=f"rh-{message_id}-{receive_count}",
        body=body if isinstance(body, str) else json.dumps(body),
        receive_count=receive_count,
        sent_at=sent_at,
        event_source_arn="arn:aws:sqs:us-east-1:123456789012:send",
        message_attributes=attributes or {},
    )


@dataclass
class CollectingRequeue:
    sent: list[tuple[str, int, dict]] = field(default_factory=list)

    async def send(self, body: str, *, delay_seconds: int, attributes) -> None:
        self.sent.append((body, delay_seconds, dict(attributes)))


class ManualClock:
    """Starts when the fake records were enqueued, so a message's age starts at zero."""

    def __init__(self, start: float = ENQUEUED_AT.timestamp()) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Clock = Callable[[], float]


@dataclass
class FakeOutbox:
    """The outbox port in a dict: (bucket, key) -> (bytes, metadata); sidecars are objects too."""

    objects: dict[tuple[str, str], tuple[bytes, dict[str, str]]] = field(default_factory=dict)
    reads: int = 0

    async def read(self, obj: OutboxObject, *, max_bytes: int) -> OutboxContent:
        self.reads += 1
        if (obj.bucket, obj.key) not in self.objects:
            raise ContentMissing(f"{obj.where} does not exist")
        data, metadata = self.objects[(obj.bucket, obj.key)]
        if len(data) > max_bytes:
            raise ContentTooLarge(f"{obj.where} is {len(data)} bytes, over {max_bytes}")
        sidecar = None
        if obj.is_eml and "mail-from" not in metadata and (obj.bucket, obj.key + ".envelope") in self.objects:
            sidecar = json.loads(self.objects[(obj.bucket, obj.key + ".envelope")][0])
        return OutboxContent(data, metadata, sidecar)


@dataclass
class CollectingPublisher:
    """The event publisher port: keeps each PutEvents call's entries; `fail` raises instead."""

    calls: list[list[dict[str, Any]]] = field(default_factory=list)
    fail: bool = False
    on_publish: Any = None  # called with the entries first (to look at the world as the publisher sees it)

    async def publish(self, entries: list[dict[str, Any]]) -> None:
        if self.on_publish is not None:
            self.on_publish(entries)
        if self.fail:
            raise RuntimeError("EventBridge refused 1 event(s): InternalFailure")
        self.calls.append(list(entries))


@dataclass
class StubNotificationVerifier:
    """The NotificationVerifier port with a fixed answer; remembers the envelopes it was shown."""

    valid: bool = True
    problem: str | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def verify(self, envelope: Any) -> SignatureCheck:
        self.seen.append(dict(envelope))
        return SignatureCheck(self.valid, None if self.valid else self.problem or "bad_signature")
