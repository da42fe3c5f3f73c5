"""RFC 3834 automatic replies (vacation, out-of-office): mail that came back but is not a bounce.

A DSN carries `Auto-Submitted: auto-replied` too, so the headers alone do not tell: an auto-reply is
a message with auto-reply markers (RFC 3834 headers, the de-facto X-Autoreply / X-Autorespond /
Precedence: auto_reply headers, "Out of office"/"Automatic reply" subjects, vacation wording) and
no sign of a delivery failure (no report part, no failed recipient).
"""

from __future__ import annotations

import re

from .reason import is_vacation_text

_SUBJECT = re.compile(
    r"^\s*(?:(?:auto(?:matic)?[ -]?(?:reply|response|antwort)|autoreply|out of (?:the )?office|ooo|vacation|away|abwesend|absence|"
    r"r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica|automatisch antwoord|abwesenheitsnotiz)\b)",
    re.I,
)
_HEADER_MARKERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-mailautoreply")


def auto_reply_signals(headers: dict[str, str], subject: str | None, body: str) -> bool:
    """True when the message presents itself as an automatic reply."""
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    precedence = headers.get("precedence", "").strip().lower()
    if any(h in headers for h in _HEADER_MARKERS) or precedence == "auto_reply":
        return True
    subject_says = bool(_SUBJECT.match(subject or "")) or bool(re.match(r"^\s*auto:\s", subject or "", re.I))
    if subject_says:
        return True
    # RFC 3834 5.1: "auto-replied" marks a message a responder generated in response to another one (a
    # vacation notice, a ticket acknowledgement). The caller asks only when the message showed no sign of a
    # delivery failure (no report part, no failed recipient, no daemon sender or failure subject), which is
    # what tells such a reply from a DSN carrying the same header.
    return auto_submitted.startswith("auto-replied") or (
        auto_submitted.startswith("auto-") and is_vacation_text(body[:2000])
    )
