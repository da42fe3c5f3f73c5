"""The bounce report: plain facts about mail that could not be delivered.

It is the body of every message on the dead-letter queue that a function wrote, and the
input of the reporting path (DSN to the sender, "Email Bounced" event). It carries no SMTP
exceptions, only facts, so that a bounce seen during the SMTP session, a poison record and
(later) a returned bounce message parsed from the sender's mailbox all enter the same path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

REPORT_TYPE = "maildispatch.bounce-report"
REPORT_VERSION = 1


class ReportReason(StrEnum):
    """Why the mail is undeliverable. One of these is in every report."""

    REJECTED = "rejected"  # the server refused the recipient permanently (5xx)
    EXPIRED = "expired"  # transient failures until the last attempt
    INVALID_REQUEST = "invalid_request"  # the send request could not be parsed or validated
    RENDER_FAILED = "render_failed"  # the request was valid but its template could not be rendered
    REDRIVEN = "redriven"  # SQS moved the record after repeated crashes or timeouts of the function
    SUPPRESSED = "suppressed"  # not sent: the address is on the suppression list
    DELAYED = "delayed"  # still being retried: a delay warning (RFC 3464 Action: delayed), not a failure
    RETURNED = "returned"  # the relay accepted it; the failure came back later as mail (or an SES notification)
    COMPLAINT = "complaint"  # the recipient reported the message as abuse (RFC 5965 ARF, SES complaint)
    KEY_REUSED = "key_reused"  # the message key already reached a final state: nothing sent, said so


@dataclass(frozen=True)
class FailedRecipient:
    """One recipient of a bounce report: its status, the reply that decided it, and the classification."""

    address: str
    status: str  # RFC 3463 enhanced status, e.g. "5.1.1"
    diagnostic: str | None = None  # the remote reply as quoted in a DSN: "550 5.1.1 User unknown"
    reply_code: int | None = None
    remote_mta: str | None = None
    action: str = "failed"  # RFC 3464 Action: failed | delayed
    classification: str | None = (
        None  # the bounce reason label (userunknown, mailboxfull, blocked, ...), when classified
    )
    hard: bool | None = None  # the address is permanently bad (True), a soft failure (False), or unknown (None)
    command: str | None = None  # the SMTP command refused ("MAIL FROM": about the sender, never suppresses)
    confidence: str | None = None  # how firmly `hard` is backed when it came back as mail: "strong" or "weak"


@dataclass(frozen=True)
class BounceReport:
    """What went wrong with one message, for the sender's DSN, the events and the suppression policy."""

    reason: ReportReason
    recipients: tuple[FailedRecipient, ...]
    arrival_date: datetime
    message_key: str | None = None
    message_id: str | None = None
    envelope_sender: str | None = None  # where the DSN goes; None when no usable sender is known
    from_address: str | None = None
    subject: str | None = None
    original_headers: str | None = None  # the original's header block, for text/rfc822-headers
    error: str | None = None  # what went wrong, for failures that are not an SMTP reply
    original_body: str | None = None  # a poison record's body as received (truncated)
    tags: Mapping[str, str] = field(default_factory=dict)
    source: Mapping[str, Any] = field(default_factory=dict)  # queue, SQS message id, receive count

    def __post_init__(self) -> None:
        try:  # a report read from JSON carries the reason as text
            object.__setattr__(self, "reason", ReportReason(self.reason))
        except ValueError:
            raise ValueError(f"unknown bounce reason {self.reason!r}") from None

    def to_json(self) -> str:
        doc = asdict(self)
        doc["recipients"] = [asdict(r) for r in self.recipients]
        doc["arrival_date"] = self.arrival_date.astimezone(UTC).isoformat()
        doc["tags"] = dict(self.tags)
        doc["source"] = dict(self.source)
        return json.dumps({"type": REPORT_TYPE, "version": REPORT_VERSION, **doc}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> BounceReport:
        doc = json.loads(text)
        if not is_bounce_report(doc):
            raise ValueError("not a maildispatch bounce report")
        doc = {k: v for k, v in doc.items() if k not in ("type", "version")}
        doc["recipients"] = tuple(FailedRecipient(**r) for r in doc["recipients"])
        doc["arrival_date"] = datetime.fromisoformat(doc["arrival_date"])
        return cls(**doc)


def is_bounce_report(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("type") == REPORT_TYPE and doc.get("version") == REPORT_VERSION
