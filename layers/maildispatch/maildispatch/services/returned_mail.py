"""Returned mail into the reporting path: map a classified returned message back to what we sent.

Matched by the VERP token in the address it was returned to, else by the Message-ID of the
returned original, else only by the recipient it names. Every bounce, delay warning and
complaint then becomes a bounce report on the dead-letter queue, the same path as a bounce seen
during the SMTP session: the bounce function applies the suppression policy, updates the ledger,
publishes the event and reports to the original sender. Only a returned message matched by a
signed token can suppress its one recipient; a match by Message-ID (visible to every recipient,
so forgeable by any of them) can suppress only addresses that message was sent to (kept in the
index entry) and that the report names. Every other recipient a report names is reported and
counted (`unproven_recipients`) in a report of its own with no sender to mail and no message key,
so it never suppresses, changes the ledger or mails anyone. An SES notification from the queue is
trusted only when its SNS envelope's signature verifies (SNS's certificate, our topic); one that is
raw, unsigned or badly signed is reported the same unproven way and counted
(`forged_notifications`), as is SES JSON inside a stored mail's body (`unsigned_notifications`). Auto-replies
and delivery notices are counted, not reported; what cannot be classified is published as
"Email Returned Unclassified", counted, and kept where it came from. Stored mail that SES's scan
marked as spam or a virus (X-SES-Spam-Verdict / X-SES-Virus-Verdict FAIL) is counted and dropped
unread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason
from maildispatch.core.return_paths import MatchedBy, SentMessage, message_id_key, verp_key
from maildispatch.core.returned_mail import classify_returned_message, classify_ses_notification
from maildispatch.core.returned_mail.model import RecipientVerdict, ReturnedKind, ReturnedMessage
from maildispatch.core.returned_provenance import carries_ses_notification
from maildispatch.core.returned_queue import (
    S3TestEvent,
    SesNotification,
    StoredMail,
    UnknownIntake,
    envelope_addresses,
    intake_items,
    ses_envelope_addresses,
    ses_scan_failures,
)
from maildispatch.core.sns_signature import SignatureCheck
from maildispatch.core.sqs_record import RecordResult, SqsRecord
from maildispatch.core.tally import Tally
from maildispatch.core.verp import PREFIX, parse_return_path
from maildispatch.ports import DeadLetters, EventPublisher, MailStore, NotificationVerifier, ReturnPathIndex

log = logging.getLogger("maildispatch.returned")

UNCLASSIFIED_DETAIL_TYPE = "Email Returned Unclassified"
_REASON_FOR_KIND = {
    ReturnedKind.BOUNCE: ReportReason.RETURNED,
    ReturnedKind.DELAY: ReportReason.DELAYED,
    ReturnedKind.COMPLAINT: ReportReason.COMPLAINT,
}


@dataclass
class ReturnedMailService:
    index: ReturnPathIndex
    dead_letters: DeadLetters
    publisher: EventPublisher
    verp_secret: bytes | None = field(repr=False)  # the VERP key: never in a repr or a log
    event_bus_name: str = "default"
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    mail_store: MailStore | None = None  # where stored returned mail is read (S3)
    tally: Tally = field(default_factory=Tally)
    notification_verifier: NotificationVerifier | None = None  # None: no SES notification is trusted

    async def process(self, record: SqsRecord) -> RecordResult:
        """One record of the returned-mail queue: each stored message or notification it names, reported."""
        try:
            items = intake_items(record.body)
        except UnknownIntake as error:
            log.warning("not returned mail", extra={"sqs_message_id": record.message_id, "error": str(error)})
            self.tally["unknown_records"] += 1
            return RecordResult.finished(record.message_id)  # retrying cannot help; the queue's own DLQ is for crashes
        for item in items:
            if isinstance(item, S3TestEvent):
                continue
            if isinstance(item, StoredMail):
                if self.mail_store is None:
                    raise RuntimeError("stored returned mail needs a mail store")
                raw = await self.mail_store.read(item.bucket, item.key)
                failures = ses_scan_failures(raw)
                if failures:  # spam or a virus, not a bounce: never classified, so it can suppress nothing
                    log.warning("SES scan failed; dropped", extra={"key": item.key, "verdicts": failures})
                    self.tally["scan_failed"] += 1
                    continue
                await self.handle(
                    classify_returned_message(raw),
                    addressed_to=envelope_addresses(raw),
                    source={"bucket": item.bucket, "key": item.key},
                    unsigned_notification=carries_ses_notification(raw),
                )
            elif isinstance(item, SesNotification):
                mail = item.notification.get("mail") or {}
                signature = await self._check_signature(item)
                await self.handle(
                    classify_ses_notification(item.notification),
                    addressed_to=ses_envelope_addresses(item.notification),
                    source={"ses_message_id": mail.get("messageId"), "sns_signature": signature.problem or "valid"},
                    forged_notification=not signature.valid,
                )
        return RecordResult.finished(record.message_id)

    async def handle(
        self,
        returned: ReturnedMessage,
        *,
        addressed_to: Sequence[str],
        source: Mapping[str, Any],
        unsigned_notification: bool = False,
        forged_notification: bool = False,
    ) -> BounceReport | None:
        """Report one classified returned message; returns the report written, if any (the proven one first).

        `unsigned_notification`: the verdict comes from SES JSON found in a mail body, which proves nothing.
        `forged_notification`: an SES notification from the queue whose SNS signature did not verify.
        """
        sent, matched_by = await self._match(returned, addressed_to)
        self.tally[f"returned_{returned.kind}"] += 1
        if returned.kind in (ReturnedKind.AUTO_REPLY, ReturnedKind.DELIVERED):
            return None  # a vacation reply or a delivery notice is not a bounce
        reason = _REASON_FOR_KIND.get(returned.kind)
        recipients = [
            _failed(v, sent, returned.kind) for v in returned.recipients if v.recipient or (sent and sent.recipient)
        ]
        if reason is None or not recipients:
            await self._publish_unclassified(returned, sent, matched_by, source)
            return None
        if sent is not None and sent.recipient:  # VERP: one recipient per return path, whatever the report names
            recipients = recipients[:1]
        proven, unproven = recipients, []
        if unsigned_notification or forged_notification:
            proven, unproven = [], recipients
            self.tally["unsigned_notifications" if unsigned_notification else "forged_notifications"] += 1
        elif matched_by == MatchedBy.MESSAGE_ID and sent is not None:
            sent_to = frozenset(sent.sent_to or ())
            proven = [r for r in recipients if r.address.strip().lower() in sent_to]
            unproven = [r for r in recipients if r.address.strip().lower() not in sent_to]
        written = None
        if proven:
            written = await self._report(returned, reason, proven, sent, matched_by, source)
        if unproven:
            self.tally["unproven_recipients"] += len(unproven)
            log.warning(
                "returned mail names recipients nothing proves: reported, not acted on",
                extra={"matched_by": matched_by, "unproven_recipients": len(unproven), "source": dict(source)},
            )
            unproven_report = await self._report(
                returned, reason, unproven, sent, MatchedBy.UNPROVEN, source, trusted=False
            )
            written = written or unproven_report
        return written

    async def _check_signature(self, item: SesNotification) -> SignatureCheck:
        if item.envelope is None:
            check = SignatureCheck(False, "raw_delivery")  # no SNS envelope, so no signature to prove it
        elif self.notification_verifier is None:
            check = SignatureCheck(False, "no_verifier")
        else:
            check = await self.notification_verifier.verify(item.envelope)
        if not check.valid:
            log.warning("SES notification without a valid SNS signature", extra={"problem": check.problem})
        return check

    async def _report(
        self,
        returned: ReturnedMessage,
        reason: ReportReason,
        recipients: Sequence[FailedRecipient],
        sent: SentMessage | None,
        matched_by: MatchedBy,
        source: Mapping[str, Any],
        *,
        trusted: bool = True,
    ) -> BounceReport:
        if not trusted:  # published and counted only: no message key (ledger), no one to mail
            sent = None
        report = BounceReport(
            reason=reason,
            recipients=tuple(recipients),
            arrival_date=self.clock(),
            message_key=sent.message_key if sent else None,
            message_id=(sent.message_id if sent else None) or returned.original_message_id,
            envelope_sender=sent.report_to if sent else None,  # unmatched: no one to tell but the event's subscribers
            from_address=sent.from_address if sent else returned.from_address,
            subject=sent.subject if sent else returned.subject,
            original_headers=returned.original_headers,
            source={**source, "matched_by": matched_by, "feedback_type": returned.feedback_type},
        )
        await self.dead_letters.send(report)
        self.tally["reports"] += 1
        return report

    async def _match(
        self, returned: ReturnedMessage, addressed_to: Sequence[str]
    ) -> tuple[SentMessage | None, MatchedBy]:
        for address in addressed_to:
            if not address.lower().startswith(PREFIX + "+") or self.verp_secret is None:
                continue
            token = parse_return_path(address, secret=self.verp_secret)
            if token is None:
                self.tally["forged_return_paths"] += 1  # looks like ours, signature wrong: trust nothing it says
                continue
            sent = await self.index.lookup(verp_key(token.id))
            if sent is not None:
                return sent, MatchedBy.VERP
        if returned.original_message_id:
            sent = await self.index.lookup(message_id_key(returned.original_message_id))
            if sent is not None:
                return sent, MatchedBy.MESSAGE_ID
        return None, MatchedBy.RECIPIENT

    async def _publish_unclassified(
        self, returned: ReturnedMessage, sent: SentMessage | None, matched_by: str, source: Mapping[str, Any]
    ) -> None:
        detail = {
            "version": 1,
            "kind": returned.kind,
            "message_key": sent.message_key if sent else None,
            "matched_by": matched_by,
            "original_message_id": returned.original_message_id,
            "subject": (returned.subject or "")[:500] or None,
            "parse_error": getattr(returned, "parse_error", None),
            "source": dict(source),
            "received_at": self.clock().isoformat(),
        }
        await self.publisher.publish(
            [
                {
                    "Source": "maildispatch",
                    "DetailType": UNCLASSIFIED_DETAIL_TYPE,
                    "EventBusName": self.event_bus_name,
                    "Detail": json.dumps(detail, default=str),
                }
            ]
        )
        self.tally["unclassified"] += 1


def _failed(verdict: RecipientVerdict, sent: SentMessage | None, kind: str) -> FailedRecipient:
    address = (sent.recipient if sent and sent.recipient else None) or verdict.recipient or ""
    status = verdict.status or ("4.0.0" if kind == ReturnedKind.DELAY else "5.0.0")
    return FailedRecipient(
        address=address,
        status=status,
        diagnostic=verdict.diagnostic,
        reply_code=verdict.reply_code,
        remote_mta=verdict.remote_mta,
        action="delayed" if kind == ReturnedKind.DELAY else "failed",
        classification=verdict.reason,
        hard=verdict.hard,
        confidence=verdict.confidence,
        command=verdict.command,
    )
