"""RFC 5965 Abuse Reporting Format: complaint reports (and RFC 6591 authentication-failure reports).

A `multipart/report; report-type=feedback-report` carries a `message/feedback-report` part with
Feedback-Type, Original-Rcpt-To (one per complained-about recipient), Original-Mail-From,
Arrival-Date, Reporting-MTA and Source-IP. Older provider loops (and one-click unsubscribe mails)
say the same in headers; those are read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .delivery_status import address_of

MAX_RECIPIENTS = 1000  # complained-about recipients read from one report (a real one has 1)
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$")


@dataclass
class FeedbackReport:
    feedback_type: str | None
    recipients: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # first value of each field, names lower-cased


def parse_feedback_report(text: str) -> FeedbackReport:
    fields: dict[str, str] = {}
    recipients: list[str] = []
    seen: set[str] = set()
    last: str | None = None
    for line in text.replace("\r", "").split("\n"):
        if line[:1] in " \t" and last:
            if len(fields[last]) < 4000:
                fields[last] = f"{fields[last]} {line.strip()}"
            continue
        match = _FIELD.match(line)
        if not match:
            last = None
            continue
        name, value = match.group(1).lower(), match.group(2).strip()
        if name in ("original-rcpt-to", "removal-recipient"):
            address = address_of(value)
            if address and address.lower() not in seen and len(recipients) < MAX_RECIPIENTS:
                seen.add(address.lower())
                recipients.append(address)
        fields.setdefault(name, value)
        last = name
    feedback_type = (fields.get("feedback-type") or "").strip().lower() or None
    return FeedbackReport(feedback_type=feedback_type, recipients=recipients, fields=fields)


def is_unsubscribe_request(subject: str | None, headers: dict[str, str], body: str) -> bool:
    """A one-click/mailto unsubscribe (RFC 2369/8058) sent back by a mailbox provider: an opt-out."""
    if any(name.lower() == "x-apple-unsubscribe" for name in headers):
        return True
    return (subject or "").strip().lower() == "unsubscribe" and "unsubscribe" in body.lower()
