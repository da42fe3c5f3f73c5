"""Decide a recipient's reason: RFC 3463 status + SMTP reply + command + wording -> reason label.

Order of the evidence, strongest first:
  1. success (2.X.X, Action: delivered/relayed/expanded) -> delivered
  2. wording about the sender's own set-up (reverse DNS, SPF/DKIM/DMARC, IP reputation)
  3. the SMTP stage: a refusal at connect/HELO is a block of the sending host, at MAIL FROM a
     refusal of the sender (unless the wording names the host's IP or a block list)
  4. the specific wording rules of `wording.STRONG`
  5. a specific enhanced status code (X.1.1 user unknown, X.2.2 full, X.3.4 too big, ...)
  6. generic refusal wording (block lists, "sender rejected", "blocked", "filtered")
  7. the status code's class and subject (X.7.X security, X.4.X network, ...)
  8. Action: delayed -> expired; anything else said -> onhold; nothing at all -> undefined
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from . import wording

SENDER_SIDE = ("requireptr", "authfailure", "badreputation")
AT_CONNECT_EXCEPTIONS = ("toomanyconn", "speeding", "failedstarttls", "networkerror", "syntaxerror")
AT_MAIL_EXCEPTIONS = (
    "mesgtoobig",
    "exceedlimit",
    "systemfull",
    "spamdetected",
    "policyviolation",
    "speeding",
    "toomanyconn",
    "norelaying",
    "failedstarttls",
    "systemerror",
    "securityerror",
)

# Enhanced status codes specific enough to decide alone (RFC 3463, RFC 7372, RFC 7505).
SPECIFIC_STATUS = {
    "1.1": "userunknown",
    "1.2": "hostunknown",
    "1.3": "userunknown",
    "1.6": "hasmoved",
    "1.7": "rejected",
    "1.8": "rejected",
    "1.10": "notaccept",
    "2.1": "filtered",
    "2.2": "mailboxfull",
    "2.3": "exceedlimit",
    "3.1": "systemfull",
    "3.2": "notaccept",
    "3.4": "mesgtoobig",
    "4.7": "expired",
    "4.1": "expired",
    "7.13": "suspend",
    "7.20": "authfailure",
    "7.21": "authfailure",
    "7.22": "authfailure",
    "7.23": "authfailure",
    "7.24": "authfailure",
    "7.25": "requireptr",
    "7.26": "authfailure",
    "7.27": "rejected",
    "7.28": "speeding",
    "7.30": "failedstarttls",
}
# Less specific codes: read after the generic refusal wording.
STATUS_DETAIL = {
    "4.2": "networkerror",
    "4.3": "systemerror",
    "4.4": "networkerror",
    "4.6": "networkerror",
    "7.1": "securityerror",
}
# What the status subject says when nothing more specific did.
STATUS_SUBJECT = {
    "1": "userunknown",
    "2": "mailboxfull",
    "3": "systemerror",
    "4": "networkerror",
    "5": "syntaxerror",
    "6": "contenterror",
    "7": "securityerror",
}
NOT_DELIVERY = ("delivered", "relayed", "expanded")


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


def _strong(reasons: tuple[str, ...] | None = None, exclude: tuple[str, ...] = ()):
    for reason, name, pattern in wording.STRONG:
        if (reasons is None or reason in reasons) and reason not in exclude:
            yield reason, name, _compiled(pattern)


_INNER_REPLY = re.compile(r"(?<=\S) [245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3} )?(?=\S)")


def normalise(text: str | None) -> str:
    """Lower case, one line, and without the reply code repeated inside a multi-line reply
    ("... multiple 550-5.7.1 addresses ..." -> "... multiple addresses ...")."""
    text = " ".join((text or "").lower().replace("’", "'").split())
    head, sep, rest = text.partition(" ")
    return head + sep + _INNER_REPLY.sub(" ", rest) if rest else text


def classify_reason(
    status: str | None,
    reply_code: int | None,
    diagnostic: str | None,
    command: str | None = None,
    action: str | None = None,
    context: str | None = None,
    single: bool = True,
) -> tuple[str, str]:
    """(reason, rule name) for one recipient.

    `context` is the rest of the notification, read only when the recipient's own diagnostic
    decides nothing (some MTAs say why once for all recipients, away from the addresses).
    """
    text = normalise(diagnostic)
    action = (action or "").lower()
    if (
        action in NOT_DELIVERY
        or (status or "").startswith("2")
        or (reply_code and 200 <= reply_code < 300 and not status)
    ):
        return "delivered", "success"

    for reason, name, pattern in _strong(SENDER_SIDE):
        if pattern.search(text):
            return reason, name
    if text.startswith("x-unix;") and not any(p.search(text) for _, _, p in _strong(("mailboxfull",))):
        return "mailererror", "local-mailer"

    if command in ("CONN", "HELO"):
        # A network failure only when no server replied: a reply that says "connection refused" is a block.
        exceptions = (
            AT_CONNECT_EXCEPTIONS
            if reply_code is None
            else tuple(r for r in AT_CONNECT_EXCEPTIONS if r != "networkerror")
        )
        for reason, name, pattern in _strong(exceptions):
            if pattern.search(text):
                return reason, name
        return "blocked", f"refused-at-{command.lower()}"
    if command == "MAIL":
        for reason, name, pattern in _strong(("blocked",) + AT_MAIL_EXCEPTIONS):
            if pattern.search(text):
                return _refine(reason, name, status, _detail(status), command, text)
        return "rejected", "refused-at-mail"

    if _compiled(wording.SENDER_REFUSED).search(text) and not _user_words(text):
        return "rejected", "sender-refused"
    detail = _detail(status)
    for reason, name, pattern in _strong(exclude=SENDER_SIDE):
        if pattern.search(text):
            return _refine(reason, name, status, detail, command, text)

    if detail in SPECIFIC_STATUS:
        return SPECIFIC_STATUS[detail], f"status-{status}"
    for reason, name, pattern in GENERIC():
        if pattern.search(text):
            return reason, name
    if detail in STATUS_DETAIL:
        return STATUS_DETAIL[detail], f"status-{status}"
    if context:
        found = _from_context(normalise(context), single)
        if found:
            return found
    if detail and detail != "0.0" and detail.split(".")[0] in STATUS_SUBJECT:
        return STATUS_SUBJECT[detail.split(".")[0]], f"status-class-{status}"
    if command == "DATA":
        return "filtered", "refused-at-data"
    if command == "RCPT" and (status or "5").startswith("5"):
        return "userunknown", "refused-at-rcpt"
    if action == "delayed":
        return "expired", "delayed"
    if text or context:
        return "onhold", "unrecognised"
    return "undefined", "nothing-said"


def _refine(
    reason: str, name: str, status: str | None, detail: str | None, command: str | None, text: str = ""
) -> tuple[str, str]:
    """Wording read against the status and the SMTP stage it came with."""
    if (
        reason == "userunknown"
        and command != "RCPT"
        and not (detail or "").startswith("1.")
        and not _compiled(wording.USER_CERTAIN).search(text)
    ):
        # "User unknown" refused after DATA (or with a mailbox status that is not X.1.X) is a
        # recipient-side filter dressed as an unknown user: the address was accepted at RCPT.
        if command == "DATA" or detail in ("2.1", "2.0", "0.0", "7.1") or detail is None:
            return "filtered", f"{name}-after-rcpt"
    if reason == "mesgtoobig" and detail == "2.3":
        return "exceedlimit", f"status-{status}"
    if reason == "hostunknown" and (status or "").startswith("4"):
        return "networkerror", f"{name}-temporary"
    return reason, name


def _from_context(context: str, single: bool) -> tuple[str, str] | None:
    for reason, name, pattern in wording.CONTEXT:
        if _compiled(pattern).search(context):
            return reason, name
    if not single:  # the notification may be about another recipient
        return None
    for reason, name, pattern in _strong(exclude=SENDER_SIDE + ("systemerror", "securityerror", "blocked")):
        if pattern.search(context):
            return reason, f"{name}-in-notification"
    return None


@lru_cache(maxsize=1)
def GENERIC() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    return (
        ("rejected", "sender-refused", _compiled(wording.SENDER_REFUSED)),
        ("blocked", "host-refused", _compiled(wording.HOST_BLOCKED)),
        ("filtered", "filtered", _compiled(wording.FILTERED)),
    )


def _detail(status: str | None) -> str | None:
    """'5.1.1' -> '1.1'."""
    if not status or status.count(".") != 2:
        return None
    return status.split(".", 1)[1]


def _user_words(text: str) -> bool:
    return bool(re.search(r"\b(?:recipient|mailbox|user)\b", text))


def is_vacation_text(text: str | None) -> bool:
    return bool(text) and _compiled(wording.VACATION).search(normalise(text)) is not None
