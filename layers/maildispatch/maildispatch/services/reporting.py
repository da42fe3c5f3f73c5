"""The bounce function's logic: a dead-letter record in, an "Email Bounced" event and a DSN out.

Every record on the dead-letter queue becomes a BounceReport (report_from_dlq_message never
raises), and every report is published as an event, even when nobody can be mailed about it.
The event is published first and the DSN sent second: when the relay cannot take the DSN
yet, handle() raises BounceReportFailed and the record is retried, which publishes the event
again with the same event_id (consumers de-duplicate on it). The other order would mail the
sender twice when EventBridge fails, which is worse.

A DSN is sent from the null sender `<>`, and nothing is ever reported about a DSN (RFC 5321 §4.5.5,
RFC 3464 §2): one refused permanently (by the relay or, in mx mode, by the sender's MX: a null MX,
NXDOMAIN, a 5xx) is logged and counted (`dsn_undeliverable`) and the record finished; in mx mode one
deferred for longer than `dsn_max_age` (DSN_MAX_AGE) is given up the same way, as an MTA does.

Only reports our own functions wrote are trusted: SqsDeadLetters signs each report body with the
internal key (core.signing). A report-shaped body without a valid signature got here some other
way (a producer's body redriven after the dispatch function crash-looped on it, or a forgery): it
is published as an `invalid_request` report naming no recipient and no sender, so it suppresses
nothing and mails no one; it is logged and counted (`untrusted_reports`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from maildispatch.core.bounce_event import bounce_event_entry, bounce_event_id
from maildispatch.core.campaign_keys import campaign_of_key
from maildispatch.core.dsn import SOURCE_LAST_ATTEMPT, build_dsn, dsn_recipient
from maildispatch.core.ledger import LedgerEntry, RecipientState
from maildispatch.core.outcome import Bounced, Deferred, Delivered, Envelope, Outcome, Uncertain, local_reply
from maildispatch.core.relay_quota import relay_quota
from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason, is_bounce_report
from maildispatch.core.request import InvalidRequest, parse_send_request, salvage_envelope
from maildispatch.core.retry import GiveUp, RetrySchedule
from maildispatch.core.return_paths import VERIFIED_MATCHES
from maildispatch.core.signing import REPORT_SIGNATURE_ATTRIBUTE, report_signature_valid
from maildispatch.core.sqs_record import RecordResult, SqsRecord
from maildispatch.core.suppression import (
    SOFT_BOUNCE_LIMIT,
    SOFT_BOUNCE_WINDOW,
    Suppression,
    SuppressionReason,
    suppression_decision,
)
from maildispatch.core.tally import Tally
from maildispatch.ports import (
    CampaignStore,
    DeliveryLedger,
    EventPublisher,
    MailTransport,
    NoSuppressionList,
    SuppressionList,
)
from maildispatch.services.campaign_health import count_and_check

log = logging.getLogger("maildispatch.bounce")

# A report that cannot be delivered yet (relay down) waits on the DLQ; in relay mode it is never dropped
# (the queue keeps it 14 days and alarms on its age); in mx mode it is given up after `dsn_max_age`.
REPORT_RETRY = RetrySchedule(delays=(30, 60, 120, 300, 600, 1800, 3600), max_age_seconds=float("inf"))

POISON_BODY_LIMIT = 64 * 1024  # bytes of an unprocessable body kept in its report
STATUS_REDRIVEN = "4.3.0"  # RFC 3463: other or undefined mail system status
STATUS_INVALID_CONTENT = "5.6.0"  # RFC 3463: other or undefined media error
REDRIVEN_DIAGNOSTIC = "delivery attempts exhausted: the dispatch function failed repeatedly"
UNTRUSTED_REPORT_ERROR = (
    "a bounce report without a valid signature (a redriven or forged body): published, never acted on"
)


@dataclass(frozen=True)
class BounceSettings:
    reporting_mta: str  # our host name, in Reporting-MTA and the DSN's Message-ID
    postmaster: str  # the DSN's From address
    event_bus_name: str = "default"
    default_envelope_sender: str | None = None  # the dispatch function's DEFAULT_ENVELOPE_SENDER, for redriven requests
    signing_key: bytes | None = field(default=None, repr=False)  # verifies reports; None: no report is trusted
    # How long a DSN the sender's side keeps deferring is retried, counted from when its record reached the
    # dead-letter queue; None: as long as the queue keeps it (relay mode: the relay down is our problem).
    dsn_max_age: float | None = None


@dataclass(frozen=True)
class BounceHandled:
    dsn: Outcome | None  # what the relay (mx mode: the sender's MX) said about the DSN; None: no one to send it to
    event_published: bool
    suppressed: int = 0  # addresses this report put on the suppression list
    reputation_blocks: int = 0  # recipients refused because of our sending reputation or set-up
    sender_refusals: int = 0  # failures about our envelope sender (a refused MAIL FROM): a configuration problem

    @property
    def dsn_rejected(self) -> bool:
        """The sender's own address was refused: final, worth a warning, never retried."""
        return isinstance(self.dsn, Bounced)


class BounceReportFailed(Exception):
    """Transient: the event could not be published or the DSN was not accepted yet; retry the record."""

    def __init__(self, message: str, *, event_published: bool, dsn: Outcome | None = None) -> None:
        super().__init__(message)
        self.event_published = event_published
        self.dsn = dsn


def report_from_dlq_message(
    body: str,
    *,
    message_id: str,
    receive_count: int,
    source_queue: str | None,
    sent_at: datetime,
    default_envelope_sender: str | None = None,
) -> BounceReport:
    """The report for one dead-letter record, whatever its body; never raises.

    - a bounce report written by the dispatch function: that report, with this record's
      facts added to its source (and, for reports of delivery attempts, `last_attempt_at`:
      the record was written right after the last attempt);
    - a send request that SQS moved here after repeated crashes or timeouts: a `redriven`
      report naming every recipient (4.3.0, no SMTP reply); the DSN goes to the return path,
      else `default_envelope_sender` (the dispatch function's DEFAULT_ENVELOPE_SENDER), else From;
    - anything else: an `invalid_request` report with the parse error, the body (first 64 KiB)
      and whatever sender and recipients can be salvaged from it (5.6.0).
    """
    record = {
        "queue": source_queue,
        "sqs_message_id": message_id,
        "receive_count": receive_count,
        "sent_at": _iso(sent_at),
    }
    try:
        return _report(body, record, sent_at, default_envelope_sender)
    except Exception as error:  # a record must always yield a report, whatever the parsers do
        return _poison(body, f"unprocessable record ({type(error).__name__}: {error})", record, sent_at)


class BounceService:
    def __init__(
        self,
        transport: MailTransport,
        publisher: EventPublisher,
        settings: BounceSettings,
        *,
        suppressions: SuppressionList | None = None,
        ledger: DeliveryLedger | None = None,
        campaigns: CampaignStore | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._transport = transport
        self._publisher = publisher
        self._settings = settings
        self._suppressions = suppressions or NoSuppressionList()
        self._ledger = ledger
        self._campaigns = campaigns
        self._clock = clock
        self.tally = Tally()

    async def process(self, record: SqsRecord) -> RecordResult:
        """One dead-letter record: its report, published and mailed; retried later when that fails."""
        signature = (record.message_attributes or {}).get(REPORT_SIGNATURE_ATTRIBUTE)
        if _looks_like_report(record.body) and not report_signature_valid(
            self._settings.signing_key, record.body, signature
        ):
            report = untrusted_report(
                record.body,
                message_id=record.message_id,
                receive_count=record.receive_count,
                source_queue=record.event_source_arn or None,
                sent_at=record.sent_at,
            )
            self.tally.add("untrusted_reports")
            log.warning(
                "a report-shaped dead-letter body without a valid signature: published, not acted on",
                extra={"sqs_message_id": record.message_id, "signed": signature is not None},
            )
        else:
            report = report_from_dlq_message(
                record.body,
                message_id=record.message_id,
                receive_count=record.receive_count,
                source_queue=record.event_source_arn or None,
                sent_at=record.sent_at,
                default_envelope_sender=self._settings.default_envelope_sender,
            )
        try:
            handled = await self.handle(report)
        except BounceReportFailed as error:
            if self._dsn_expired(error, record):
                self.tally.add("events_published")
                self.tally.add("dsn_undeliverable")
                log.warning(
                    "DSN undeliverable: still not accepted after DSN_MAX_AGE; dropped (no DSN about a DSN)",
                    extra={"message_key": report.message_key, "error": str(error)},
                )
                return RecordResult.finished(record.message_id)
            log.warning(
                "bounce report not delivered yet; retrying",
                extra={"message_key": report.message_key, "error": str(error)},
            )
            wait = REPORT_RETRY.after_failure(record.receive_count, age_seconds=0, jitter_key=record.message_id)
            return RecordResult.retry(record.message_id, 3600 if isinstance(wait, GiveUp) else int(wait.seconds))
        self.tally.add("events_published", int(handled.event_published))
        self.tally.add("dsn_sent", int(isinstance(handled.dsn, Delivered)))
        if handled.dsn_rejected:
            assert handled.dsn is not None
            self.tally.add("dsn_undeliverable")
            log.warning(
                "DSN undeliverable: refused permanently; dropped (no DSN about a DSN)",
                extra={
                    "message_key": report.message_key,
                    "status": handled.dsn.reply.status,
                    "error": handled.dsn.reply.diagnostic,
                },
            )
        self.tally.add("suppressed_addresses", handled.suppressed)
        self.tally.add("reputation_blocks", handled.reputation_blocks)
        self.tally.add("sender_refusals", handled.sender_refusals)
        if handled.sender_refusals:
            log.warning(
                "recipients refused because of our envelope sender: check the sender address and relay set-up",
                extra={"message_key": report.message_key, "sender_refusals": handled.sender_refusals},
            )
        log.info(
            "bounce reported",
            extra={
                "message_key": report.message_key,
                "reason": report.reason,
                "recipients": len(report.recipients),
                "dsn": type(handled.dsn).__name__,
            },
        )
        return RecordResult.finished(record.message_id)

    async def _count_complaint(self, report: BounceReport, now: datetime) -> None:
        """A complaint about a campaign's message counts toward its complaint rate (which may pause it)."""
        campaign_id = campaign_of_key(report.message_key)
        if self._campaigns is None or campaign_id is None or report.reason != ReportReason.COMPLAINT:
            return
        if report.source.get("matched_by") not in VERIFIED_MATCHES:
            return  # a complaint that proves nothing about what we sent counts for nothing
        try:
            paused = await count_and_check(
                self._campaigns,
                self._publisher,
                campaign_id,
                complained=len(report.recipients),
                now=now.timestamp(),
                event_bus_name=self._settings.event_bus_name,
            )
        except Exception as error:  # a counter: the report itself goes on
            log.warning("campaign complaint not counted", extra={"campaign": campaign_id, "error": str(error)})
            return
        self.tally.add("campaign_complaints", len(report.recipients))
        if paused is not None:
            self.tally.add("campaigns_auto_paused")

    def _dsn_expired(self, failure: BounceReportFailed, record: SqsRecord) -> bool:
        """A DSN the sender's side kept deferring past `dsn_max_age`: given up, as an MTA gives up on a
        bounce (Postfix's bounce_queue_lifetime, Exim's ignore_bounce_errors_after); the event was published."""
        if self._settings.dsn_max_age is None or not failure.event_published or failure.dsn is None:
            return False
        age = (self._clock() - record.sent_at).total_seconds()
        return age >= self._settings.dsn_max_age

    async def handle(self, report: BounceReport) -> BounceHandled:
        """Publish the report's event, then send its DSN (if anyone can receive it) with the null sender.

        Raises BounceReportFailed when the event cannot be published or the DSN was deferred or
        its fate is uncertain; a DSN refused permanently is final and returned, not raised.
        """
        now = self._clock()
        # The suppression policy and the ledger first: both are idempotent, and a later send to a
        # dead address should be skipped even if this report has to be retried.
        suppressed, blocks, sender = await self._apply_suppression_policy(report, now)
        if report.reason == ReportReason.RETURNED and report.message_key and self._ledger is not None:
            await self._ledger.record(
                report.message_key, [_returned_entry(r) for r in report.recipients if r.action == "failed"]
            )
        await self._count_complaint(report, now)
        try:
            await self._publisher.publish(
                [bounce_event_entry(report, event_bus_name=self._settings.event_bus_name, now=now)]
            )
        except Exception as error:  # the publisher is an adapter; any failure means "try again later"
            raise BounceReportFailed(
                f"the Email Bounced event could not be published: {error}", event_published=False
            ) from error

        recipient = (
            dsn_recipient(report) if report.reason not in (ReportReason.COMPLAINT, ReportReason.KEY_REUSED) else None
        )  # a complaint, or a key used again, is news for the sender's systems, not a bounce
        if recipient is None:
            return BounceHandled(None, True, suppressed, blocks, sender)
        message = build_dsn(
            report,
            reporting_mta=self._settings.reporting_mta,
            postmaster=self._settings.postmaster,
            now=now,
            message_id=f"<{bounce_event_id(report)[:40]}.dsn@{self._settings.reporting_mta}>",
        )
        envelope = Envelope(sender="", recipients=(recipient,), smtputf8=not message.isascii())
        outcomes = await self._transport.deliver(envelope, message)
        outcome = (
            outcomes[0]
            if outcomes
            else Deferred(recipient, local_reply("4.3.0", "the relay returned no outcome for the DSN"))
        )
        if isinstance(outcome, (Deferred, Uncertain)):
            raise BounceReportFailed(
                f"the DSN to the sender was not accepted yet: {outcome.reply.diagnostic}",
                event_published=True,
                dsn=outcome,
            )
        if isinstance(outcome, Bounced) and relay_quota(outcome.reply) is not None:
            # A sending quota or rate limit ("550 5.4.5 Daily user sending limit exceeded") is about the
            # relay account, not the sender's address: the DSN waits for the window like any deferral.
            raise BounceReportFailed(
                f"the relay's quota or rate limit refused the DSN for now: {outcome.reply.diagnostic}",
                event_published=True,
                dsn=outcome,
            )
        assert isinstance(outcome, (Delivered, Bounced))
        return BounceHandled(outcome, True, suppressed, blocks, sender)

    async def _apply_suppression_policy(self, report: BounceReport, now: datetime) -> tuple[int, int, int]:
        decision = suppression_decision(report, now=now.timestamp())
        suppress = list(decision.suppress)
        for address in decision.soft_bounces:
            count = await self._suppressions.count_soft_bounce(
                address, at=report.arrival_date.timestamp(), event_id=bounce_event_id(report)
            )
            if count >= SOFT_BOUNCE_LIMIT:
                suppress.append(
                    Suppression(
                        address,
                        SuppressionReason.SOFT_BOUNCES,
                        None,
                        f"{count} soft bounces in {SOFT_BOUNCE_WINDOW // 86400} days",
                        report.message_key,
                        now.timestamp(),
                    )
                )
        await self._suppressions.add(suppress)
        return len(suppress), decision.reputation_blocks, decision.sender_refusals


# -- reading dead-letter records ----------------------------------------------------------


def _looks_like_report(body: str) -> bool:
    try:
        return is_bounce_report(json.loads(body))
    except (ValueError, TypeError, RecursionError):
        return False


def untrusted_report(
    body: str, *, message_id: str, receive_count: int, source_queue: str | None, sent_at: datetime
) -> BounceReport:
    """A report-shaped body no function of ours signed: kept for the event, trusted for nothing.

    No recipient (so no suppression and no DSN: RFC 3464 needs one), no sender, no message key
    (so no ledger change); the body travels, truncated, for whoever investigates.
    """
    data = body.encode("utf-8", "replace")
    record = {
        "queue": source_queue,
        "sqs_message_id": message_id,
        "receive_count": receive_count,
        "sent_at": _iso(sent_at),
        "body_bytes": len(data),
        "untrusted": True,
    }
    return BounceReport(
        reason=ReportReason.INVALID_REQUEST,
        recipients=(),
        arrival_date=sent_at,
        error=UNTRUSTED_REPORT_ERROR,
        original_body=data[:POISON_BODY_LIMIT].decode("utf-8", "ignore"),
        source=record,
    )


def _report(body: str, record: dict[str, Any], sent_at: datetime, default_envelope_sender: str | None) -> BounceReport:
    try:
        doc = json.loads(body)
    except (ValueError, TypeError):
        doc = None
    if is_bounce_report(doc):
        try:
            report = BounceReport.from_json(body)
            _check_types(report)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            return _poison(body, f"malformed bounce report: {error}", record, sent_at)
        source = {**report.source, "dead_letter": record}
        if report.reason in (ReportReason.REJECTED, ReportReason.EXPIRED):
            source.setdefault(SOURCE_LAST_ATTEMPT, record["sent_at"])
        return replace(report, source=source)
    try:
        request = parse_send_request(body)
    except InvalidRequest as error:
        return _poison(body, str(error), record, sent_at)
    if request.return_path is not None:
        sender = request.return_path.address
    else:
        sender = default_envelope_sender or request.from_.address
    return BounceReport(
        reason=ReportReason.REDRIVEN,
        recipients=tuple(
            FailedRecipient(r.address, STATUS_REDRIVEN, diagnostic=REDRIVEN_DIAGNOSTIC) for r in request.recipients
        ),
        arrival_date=sent_at,
        message_key=request.message_key,
        envelope_sender=sender,
        from_address=request.from_.address,
        subject=request.subject,
        tags=dict(request.tags),
        source=record,
    )


def _poison(body: str, error: str, record: dict[str, Any], sent_at: datetime) -> BounceReport:
    text = body if isinstance(body, str) else repr(body)
    try:
        sender, recipients = salvage_envelope(text)
    except Exception:  # salvage is best effort by contract; a bug there must not lose the report
        sender, recipients = None, []
    data = text.encode("utf-8", "replace")
    return BounceReport(
        reason=ReportReason.INVALID_REQUEST,
        recipients=tuple(FailedRecipient(str(r), STATUS_INVALID_CONTENT, diagnostic=error) for r in recipients),
        arrival_date=sent_at,
        envelope_sender=sender if isinstance(sender, str) else None,
        error=error,
        original_body=data[:POISON_BODY_LIMIT].decode("utf-8", "ignore"),
        source={**record, "body_bytes": len(data)},
    )


def _check_types(report: BounceReport) -> None:
    """A report read from JSON holds what its annotations say, or TypeError (then it is poison)."""
    optional_text = (
        report.message_key,
        report.message_id,
        report.envelope_sender,
        report.from_address,
        report.subject,
        report.original_headers,
        report.error,
        report.original_body,
    )
    if not all(v is None or isinstance(v, str) for v in optional_text):
        raise TypeError("a text field is not a string")
    if not isinstance(report.tags, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in report.tags.items()
    ):
        raise TypeError("tags must map strings to strings")
    if not isinstance(report.source, Mapping):
        raise TypeError("source must be an object")
    for r in report.recipients:
        if not (isinstance(r.address, str) and isinstance(r.status, str) and isinstance(r.action, str)):
            raise TypeError("a recipient's address, status and action must be strings")
        if not (r.diagnostic is None or isinstance(r.diagnostic, str)) or not (
            r.remote_mta is None or isinstance(r.remote_mta, str)
        ):
            raise TypeError("a recipient's diagnostic and remote_mta must be strings")
        if not (r.reply_code is None or (isinstance(r.reply_code, int) and not isinstance(r.reply_code, bool))):
            raise TypeError("a recipient's reply_code must be an integer")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _returned_entry(recipient: FailedRecipient) -> LedgerEntry:
    """A recipient the relay had accepted, whose failure came back later: bounced after all."""
    reply = local_reply(recipient.status, recipient.diagnostic or recipient.classification or "returned")
    return LedgerEntry(recipient.address, RecipientState.BOUNCED, reply)
