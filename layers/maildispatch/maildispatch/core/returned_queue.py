"""What arrives on the returned-mail queue, as values: pure parsing of the queue's record bodies.

Two inputs share one queue: S3 event notifications for raw returned mail that an SES receipt
rule stored in a bucket, and Amazon SES bounce/complaint notifications delivered through SNS
(in the SNS envelope, whose signature the service checks; a raw one has none, so proves nothing). S3's test event, sent when the notification is set up,
is recognised and ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class StoredMail:
    """A returned message stored in S3."""

    bucket: str
    key: str


@dataclass(frozen=True)
class SesNotification:
    """An SES notification; `envelope` is the SNS envelope it came in (whose signature proves it), None when raw."""

    notification: dict[str, Any]
    envelope: dict[str, Any] | None = None


@dataclass(frozen=True)
class S3TestEvent:
    """s3:TestEvent, sent when the notification is set up: nothing to do."""


IntakeItem = StoredMail | SesNotification | S3TestEvent


class UnknownIntake(ValueError):
    """A record that is neither an S3 notification nor an SES notification."""


def intake_items(body: str) -> list[IntakeItem]:
    try:
        doc = json.loads(body)
    except ValueError:
        raise UnknownIntake("the record body is not JSON") from None
    if not isinstance(doc, dict):
        raise UnknownIntake("the record body is not a JSON object")
    if doc.get("Event") == "s3:TestEvent":
        return [S3TestEvent()]
    if isinstance(doc.get("Records"), list):
        items: list[IntakeItem] = []
        for record in doc["Records"]:
            s3 = record.get("s3") if isinstance(record, dict) else None
            if not isinstance(s3, dict):
                raise UnknownIntake("an S3 notification record without s3.bucket/s3.object")
            # S3 URL-encodes object keys in notifications (a space arrives as '+').
            items.append(StoredMail(s3["bucket"]["name"], unquote_plus(s3["object"]["key"])))
        return items
    envelope = None
    if doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
        envelope = doc
        try:
            doc = json.loads(doc["Message"])
        except ValueError:
            raise UnknownIntake("an SNS notification whose Message is not JSON") from None
    if isinstance(doc, dict) and (doc.get("notificationType") or doc.get("eventType")):
        return [SesNotification(doc, envelope)]
    raise UnknownIntake("neither an S3 event notification nor an SES notification")


_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "X-Rcpt-To")


def envelope_addresses(raw: bytes) -> list[str]:
    """Addresses a returned message was sent to, as its headers show them: where a VERP token is found."""
    headers = BytesHeaderParser().parsebytes(raw[: 256 * 1024])
    found: list[str] = []
    for name in _ENVELOPE_HEADERS:
        for value in headers.get_all(name, []):
            found += [address for _, address in getaddresses([str(value)]) if address]
    return found


# Added to the stored message by an SES receipt rule with ScanEnabled (values PASS, FAIL, GRAY,
# PROCESSING_FAILED). A sender may put its own copies below SES's: any FAIL counts, PASS proves nothing.
_SES_VERDICT_HEADERS = {"X-SES-Spam-Verdict": "spam", "X-SES-Virus-Verdict": "virus"}


def ses_scan_failures(raw: bytes) -> list[str]:
    """What SES's scan found in a stored message: "spam" and/or "virus" where a verdict header says FAIL."""
    headers = BytesHeaderParser().parsebytes(raw[: 256 * 1024])
    return [
        finding
        for name, finding in _SES_VERDICT_HEADERS.items()
        if any(str(value).strip().upper() == "FAIL" for value in headers.get_all(name, []))
    ]


def ses_envelope_addresses(notification: dict[str, Any]) -> list[str]:
    """The original message's envelope sender in an SES notification (our VERP address, if we used one)."""
    mail = notification.get("mail") or {}
    candidates = [mail.get("source"), (mail.get("commonHeaders") or {}).get("returnPath")]
    return [address for address in candidates if isinstance(address, str) and address]
