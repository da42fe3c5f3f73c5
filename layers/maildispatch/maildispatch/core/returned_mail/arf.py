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
    """The fields of a feedback report, names lower-cased (RFC 5965 3.1: case-insensitive) and values
    unfolded before they are read, so that a folded Original-Rcpt-To is read whole."""
    entries: list[tuple[str, str]] = []
    for line in text.replace("\r", "").split("\n"):
        if line[:1] in " \t" and entries:
            name, value = entries[-1]
            if len(value) < 4000:
                entries[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        match = _FIELD.match(line)
        if not match:
            if entries and entries[-1][0]:
                entries.append(("", ""))  # a line that is no field ends the previous field's value
            continue
        entries.append((match.group(1).lower(), match.group(2).strip()))
    fields: dict[str, str] = {}
    recipients: list[str] = []
    seen: set[str] = set()
    for name, value in entries:
        if not name:
            continue
        if name in ("original-rcpt-to", "removal-recipient"):
            address = address_of(value)
            if address and address.lower() not in seen and len(recipients) < MAX_RECIPIENTS:
                seen.add(address.lower())
                recipients.append(address)
        fields.setdefault(name, value)
    feedback_type = (fields.get("feedback-type") or "").strip().lower() or None
    return FeedbackReport(feedback_type=feedback_type, recipients=recipients, fields=fields)


def is_unsubscribe_request(subject: str | None, headers: dict[str, str], body: str) -> bool:
    """A one-click/mailto unsubscribe (RFC 2369/8058) sent back by a mailbox provider: an opt-out."""
    if any(name.lower() == "x-apple-unsubscribe" for name in headers):
        return True
    return (subject or "").strip().lower() == "unsubscribe" and "unsubscribe" in body.lower()
