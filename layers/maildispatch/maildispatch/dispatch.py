"""The dispatch service: one SQS record in, per-recipient outcomes out.

parse -> claim recipients in the ledger -> render and build MIME -> submit -> record
outcomes -> report the undeliverable to the dead-letter queue -> decide when to retry.
Every collaborator is behind a small interface, so this runs the same against AWS and
the relay, against moto and aiosmtpd, or against in-memory fakes in benchmarks.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Protocol, Sequence

from .batch import RecordResult
from .ledger import Claim, DeliveryLedger, LedgerEntry, RecipientState
from .mime import AttachmentData, BuiltMessage, build_message, message_id_for
from .outcome import Bounced, Deferred, Delivered, Outcome, Reply, Uncertain, local_reply
from .render import RenderError, TemplateSource, render_content
from .report import (
    REASON_EXPIRED,
    REASON_INVALID_REQUEST,
    REASON_REJECTED,
    REASON_RENDER_FAILED,
    BounceReport,
    FailedRecipient,
)
from .request import InvalidRequest, S3Attachment, SendRequest, StoredTemplateRef, parse_send_request, salvage_envelope
from .retry import RetrySchedule
from .smtp_relay import Envelope
from .sqs_record import SqsRecord

log = logging.getLogger("maildispatch.dispatch")

POISON_BODY_LIMIT = 64 * 1024  # how much of an unparseable body travels with its report
STATUS_EXPIRED = "4.4.7"  # RFC 3463: delivery time expired
STATUS_CONTENT_ERROR = "5.6.0"  # RFC 3463: other or undefined media error
STATUS_TOO_BIG = "5.3.4"  # RFC 3463: message too big for system


class MailTransport(Protocol):
    async def deliver(self, envelope: Envelope, message: bytes) -> list[Outcome]: ...


class ContentStore(Protocol):
    """Stored templates and large attachments (S3 on AWS)."""

    async def template(self, key: str) -> TemplateSource: ...  # raises ContentMissing when there is no such template

    async def attachment(self, ref: S3Attachment) -> bytes: ...  # raises ContentMissing when there is no such object


class ContentMissing(LookupError):
    """A stored template or attachment the request names does not exist: permanent for this request."""


class DeadLetters(Protocol):
    async def send(self, report: BounceReport) -> None: ...


@dataclass(frozen=True)
class DispatchPolicy:
    retry: RetrySchedule
    reporting_mta: str
    default_envelope_sender: str | None = None
    max_message_bytes: int = 10 * 1024 * 1024
    lease_seconds: int = 300


@dataclass
class DispatchTally:
    """Recipient counts of one invocation, for metrics and logs."""

    counts: Counter = field(default_factory=Counter)

    def add(self, name: str, n: int = 1) -> None:
        if n:
            self.counts[name] += n


class DispatchService:
    def __init__(
        self,
        transport: MailTransport,
        ledger: DeliveryLedger,
        content: ContentStore,
        dead_letters: DeadLetters,
        policy: DispatchPolicy,
        *,
        invocation_id: str = "local",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._transport = transport
        self._ledger = ledger
        self._content = content
        self._dead_letters = dead_letters
        self._policy = policy
        self._invocation_id = invocation_id
        self._clock = clock
        self._message_locks: dict[str, asyncio.Lock] = {}
        self.tally = DispatchTally()

    async def process(self, record: SqsRecord) -> RecordResult:
        try:
            request = parse_send_request(record.body)
        except InvalidRequest as error:
            await self._report_poison(record, error)
            return RecordResult.finished(record.message_id)

        message_key = request.message_key or f"sqs-{record.message_id}"
        # Duplicates of one message in the same batch wait for each other here instead of
        # finding the ledger claim taken and waiting out its lease on the queue.
        async with self._message_locks.setdefault(message_key, asyncio.Lock()):
            return await self._process_request(record, request, message_key)

    async def _process_request(self, record: SqsRecord, request: SendRequest, message_key: str) -> RecordResult:
        by_address = {a.address: a for a in request.recipients}
        claims = await self._ledger.claim(
            message_key, list(by_address), owner=f"{self._invocation_id}/{record.message_id}", lease_seconds=self._policy.lease_seconds
        )
        granted = [c.recipient for c in claims if c.granted]
        held_elsewhere = [c for c in claims if not c.granted and c.state is RecipientState.SENDING]
        unreported = [c for c in claims if not c.granted and c.state is RecipientState.BOUNCED and not c.reported]
        self.tally.add("skipped_duplicate", sum(1 for c in claims if not c.granted and c.state is not None and c.state.is_final and c.reported))

        entries: list[LedgerEntry] = []
        reports: list[BounceReport] = []
        stated_delays: list[float] = []
        built: BuiltMessage | None = None
        if granted:
            built, failure = await self._build(request, message_key, record)
            if failure is not None:
                entries, reports = self._content_failure(failure, granted, request, message_key, record)
            else:
                assert built is not None
                envelope = Envelope(
                    sender=self._envelope_sender(request),
                    recipients=tuple(by_address[r].envelope for r in granted),
                    smtputf8=built.requires_smtputf8,
                )
                outcomes = await self._transport.deliver(envelope, built.data)
                entries, failed, stated_delays = self._decide(granted, outcomes, record.receive_count)
                reports = self._reports_for(failed, request, message_key, built, record)
        if unreported:
            reports.append(self._re_report(unreported, request, message_key, built, record))

        if entries:
            await self._ledger.record(message_key, entries)
        for report in reports:
            await self._dead_letters.send(report)
        if unreported or any(e.state is RecipientState.BOUNCED and not e.reported for e in entries):
            await self._ledger.mark_reported(message_key, [f.address for r in reports for f in r.recipients])

        outstanding = [e for e in entries if e.state in (RecipientState.DEFERRED, RecipientState.UNCERTAIN)]
        if entries:
            log.info(
                "message attempted",
                extra={
                    "message_key": message_key,
                    "attempt": record.receive_count,
                    # domains, not addresses: logs at INFO never carry full addresses
                    "outcomes": dict(Counter(f"{e.state.value}@{_domain(e.recipient)}" for e in entries)),
                    "replies": sorted({_redact(e.reply.diagnostic[:200]) for e in entries if e.reply and e.state is not RecipientState.DELIVERED}),
                },
            )
        if not outstanding and not held_elsewhere:
            return RecordResult.finished(record.message_id)
        if held_elsewhere and not outstanding:
            # Another invocation holds the claim (a duplicate record in flight): look again after its lease.
            wait = max(int(max(c.lease_expires_at or 0 for c in held_elsewhere) - self._clock()) + 1, 1)
            return RecordResult.retry(record.message_id, visible_after=min(wait, self._policy.lease_seconds + 1))
        delay = self._policy.retry.delay_after(
            record.receive_count, stated_delay=max(stated_delays) if stated_delays else None, jitter_key=message_key
        )
        return RecordResult.retry(record.message_id, visible_after=delay)

    # -- steps ---------------------------------------------------------------------------

    async def _build(self, request: SendRequest, message_key: str, record: SqsRecord) -> tuple[BuiltMessage | None, "ContentFailure | None"]:
        try:
            template = await self._content.template(request.template.key) if isinstance(request.template, StoredTemplateRef) else None
            content = render_content(request, template)
            attachments = [
                AttachmentData(a.filename, a.content_type, await self._content.attachment(a) if isinstance(a, S3Attachment) else a.content)
                for a in request.attachments
            ]
        except RenderError as error:
            return None, ContentFailure(STATUS_CONTENT_ERROR, str(error))
        except ContentMissing as error:
            return None, ContentFailure(STATUS_CONTENT_ERROR, str(error))
        built = build_message(
            request, content, attachments, message_id=message_id_for(message_key, request.from_.domain), date=record.sent_at
        )
        if len(built.data) > self._policy.max_message_bytes:
            size_mb, limit_mb = len(built.data) / 1e6, self._policy.max_message_bytes / 1e6
            return built, ContentFailure(STATUS_TOO_BIG, f"the message is {size_mb:.1f} MB, over the {limit_mb:.1f} MB limit")
        return built, None

    def _envelope_sender(self, request: SendRequest) -> str:
        if request.return_path is not None:
            return request.return_path.envelope
        return self._policy.default_envelope_sender or request.from_.envelope

    def _decide(self, recipients: Sequence[str], outcomes: Sequence[Outcome], attempt: int) -> tuple[list[LedgerEntry], list[tuple[str, FailedRecipient]], list[float]]:
        last_attempt = self._policy.retry.is_last_attempt(attempt)
        entries: list[LedgerEntry] = []
        failed: list[tuple[str, FailedRecipient]] = []
        stated: list[float] = []
        for recipient, outcome in zip(recipients, outcomes):
            reply = outcome.reply
            if isinstance(outcome, Delivered):
                entries.append(LedgerEntry(recipient, RecipientState.DELIVERED, reply))
                self.tally.add("delivered")
            elif isinstance(outcome, Bounced):
                entries.append(LedgerEntry(recipient, RecipientState.BOUNCED, reply, reported=False))
                failed.append((REASON_REJECTED, _failed_recipient(recipient, reply, reply.status)))
                self.tally.add("bounced")
            elif last_attempt:
                entries.append(LedgerEntry(recipient, RecipientState.BOUNCED, reply, reported=False))
                failed.append((REASON_EXPIRED, _failed_recipient(recipient, reply, STATUS_EXPIRED)))
                self.tally.add("expired")
            else:
                state = RecipientState.UNCERTAIN if isinstance(outcome, Uncertain) else RecipientState.DEFERRED
                entries.append(LedgerEntry(recipient, state, reply))
                self.tally.add("uncertain" if state is RecipientState.UNCERTAIN else "deferred")
                if isinstance(outcome, Deferred) and outcome.retry_after:
                    stated.append(outcome.retry_after)
        return entries, failed, stated

    def _content_failure(self, failure: "ContentFailure", recipients: Sequence[str], request: SendRequest, message_key: str, record: SqsRecord) -> tuple[list[LedgerEntry], list[BounceReport]]:
        reply = local_reply(failure.status, failure.error)
        entries = [LedgerEntry(r, RecipientState.BOUNCED, reply, reported=False) for r in recipients]
        report = self._report(
            REASON_RENDER_FAILED, [FailedRecipient(r, failure.status) for r in recipients], request, message_key, None, record, error=failure.error
        )
        self.tally.add("rejected_input", len(recipients))
        log.warning("request cannot be rendered", extra={"message_key": message_key, "error": failure.error})
        return entries, [report]

    def _reports_for(self, failed: list[tuple[str, FailedRecipient]], request: SendRequest, message_key: str, built: BuiltMessage, record: SqsRecord) -> list[BounceReport]:
        reports = []
        for reason in (REASON_REJECTED, REASON_EXPIRED):
            recipients = [f for r, f in failed if r == reason]
            if recipients:
                reports.append(self._report(reason, recipients, request, message_key, built, record))
        return reports

    def _re_report(self, claims: Sequence[Claim], request: SendRequest, message_key: str, built: BuiltMessage | None, record: SqsRecord) -> BounceReport:
        """A bounce recorded by an attempt that died before writing its report: write it now, without sending again."""
        recipients = [_failed_recipient(c.recipient, c.reply or local_reply("5.0.0", "rejected"), (c.reply.status if c.reply else "5.0.0")) for c in claims]
        expired = any(c.reply is not None and not c.reply.is_permanent for c in claims)
        return self._report(REASON_EXPIRED if expired else REASON_REJECTED, recipients, request, message_key, built, record)

    def _report(self, reason: str, recipients: Sequence[FailedRecipient], request: SendRequest, message_key: str, built: BuiltMessage | None, record: SqsRecord, *, error: str | None = None) -> BounceReport:
        return BounceReport(
            reason=reason,
            recipients=tuple(recipients),
            arrival_date=record.sent_at,
            message_key=message_key,
            message_id=built.message_id if built else None,
            envelope_sender=self._envelope_sender(request),
            from_address=request.from_.address,
            subject=request.subject,
            original_headers=built.header_block if built else None,
            error=error,
            tags=dict(request.tags),
            source=_source_of(record),
        )

    async def _report_poison(self, record: SqsRecord, error: InvalidRequest) -> None:
        sender, recipients = salvage_envelope(record.body)
        report = BounceReport(
            reason=REASON_INVALID_REQUEST,
            recipients=tuple(FailedRecipient(r, STATUS_CONTENT_ERROR) for r in recipients),
            arrival_date=record.sent_at,
            envelope_sender=sender,
            error=str(error),
            original_body=record.body[:POISON_BODY_LIMIT],
            source=_source_of(record),
        )
        await self._dead_letters.send(report)
        self.tally.add("rejected_input")
        log.warning("invalid send request", extra={"sqs_message_id": record.message_id, "error": str(error)})


@dataclass(frozen=True)
class ContentFailure:
    status: str
    error: str


def _failed_recipient(recipient: str, reply: Reply, status: str) -> FailedRecipient:
    return FailedRecipient(
        address=recipient, status=status, diagnostic=reply.diagnostic if reply.code is not None else reply.text, reply_code=reply.code, remote_mta=reply.remote_mta
    )


def _source_of(record: SqsRecord) -> dict:
    return {"queue": record.event_source_arn, "sqs_message_id": record.message_id, "receive_count": record.receive_count}


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


_ADDRESS_IN_TEXT = re.compile(r"[^\s<>\"'@]+@([A-Za-z0-9.-]+)")


def _redact(text: str) -> str:
    """Servers quote the recipient in their replies; keep only its domain in logs."""
    return _ADDRESS_IN_TEXT.sub(r"…@\1", text)
