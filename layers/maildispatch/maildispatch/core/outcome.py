"""Delivery outcomes: what happened to one recipient of one message, as values.

Every layer speaks this vocabulary: the SMTP transport produces it, the dispatch service
decides on it, the ledger stores it and the bounce path reports it. No SMTP exception ever
crosses a layer boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from maildispatch.core.enhanced_status import ENHANCED_STATUS

_ENHANCED = re.compile(rf"^({ENHANCED_STATUS})\b")


@dataclass(frozen=True)
class Reply:
    """What the server said about a recipient (or what went wrong locally, when code is None).

    `status` is always an RFC 3463 enhanced status code ("5.1.1"); when the server gave
    none, it is derived from the reply code's class ("4.0.0") or set by whoever made
    the reply (a network error is "4.4.2").
    """

    code: int | None
    status: str
    text: str
    remote_mta: str | None = None
    command: str | None = None  # the SMTP command this replied to ("MAIL FROM", "RCPT TO", "DATA", ...), when known

    @property
    def diagnostic(self) -> str:
        """The reply as an RFC 3464 Diagnostic-Code value would quote it: '550 5.1.1 text'."""
        if self.code is None:
            return self.text
        if self.text.startswith(self.status):
            return f"{self.code} {self.text}"
        return f"{self.code} {self.status} {self.text}".rstrip()

    @property
    def is_permanent(self) -> bool:
        return self.status.startswith("5")


def parse_reply(code: int, text: str, remote_mta: str | None = None, *, command: str | None = None) -> Reply:
    """Build a Reply from an SMTP reply code and text, extracting the enhanced status.

    An enhanced code whose class contradicts the reply code (a '250 5.1.1') is ignored,
    as RFC 3463 requires the classes to agree.
    """
    text = " ".join(text.split()) if "\n" in text else text.strip()
    match = _ENHANCED.match(text)
    if match and match.group(1)[0] == str(code)[0]:
        status = match.group(1)
        text = text[match.end() :].strip()
    else:
        status = f"{str(code)[0]}.0.0"
    return Reply(code=code, status=status, text=text, remote_mta=remote_mta, command=command)


def local_reply(status: str, text: str, remote_mta: str | None = None, *, command: str | None = None) -> Reply:
    """A reply made here, when no SMTP reply was received (timeouts, dropped connections)."""
    return Reply(code=None, status=status, text=text, remote_mta=remote_mta, command=command)


@dataclass(frozen=True)
class Delivered:
    """The relay (or MX) accepted the message for this recipient."""

    recipient: str
    reply: Reply


@dataclass(frozen=True)
class Deferred:
    """A transient failure: try again later. `retry_after` is a delay the server asked for, if any."""

    recipient: str
    reply: Reply
    retry_after: float | None = None


@dataclass(frozen=True)
class Bounced:
    """A permanent failure: never try this recipient again for this message."""

    recipient: str
    reply: Reply


@dataclass(frozen=True)
class Uncertain:
    """The server may or may not have taken the message (the connection ended after the final dot)."""

    recipient: str
    reply: Reply


Outcome = Delivered | Deferred | Bounced | Uncertain


def outcome_for_reply(recipient: str, reply: Reply) -> Outcome:
    """Classify a reply by its class: 2xx delivered, 4xx deferred, 5xx bounced."""
    klass = reply.status[0]
    if reply.code is not None:
        klass = str(reply.code)[0]
    if klass == "2":
        return Delivered(recipient, reply)
    if klass == "5":
        return Bounced(recipient, reply)
    return Deferred(recipient, reply)


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope of one transaction: MAIL FROM and the RCPT TO addresses."""

    sender: str  # "" is the null sender <>
    recipients: tuple[str, ...]
    smtputf8: bool = False  # also implied by any non-ASCII address

    @property
    def needs_smtputf8(self) -> bool:
        return self.smtputf8 or not (self.sender.isascii() and all(map(str.isascii, self.recipients)))


_RETRY_HINT = re.compile(
    r"\b(?:try\s+again|try\s+later|retry|greylist\w*|wait|come\s+back)\b"
    r"\s+(?:(?:in|after|for|within)\s+)?(?:about\s+)?"
    r"(\d{1,9}(?:\.\d{1,3})?)\s*"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b",
    re.IGNORECASE,
)


def stated_retry_delay(text: str) -> float | None:
    """The delay, in seconds, a reply asks for ("try again in 300 seconds", "Greylisted for 60s")."""
    match = _RETRY_HINT.search(text)
    if match is None:
        return None
    unit = match.group(2).lower()
    scale = 3600 if unit.startswith("h") else 60 if unit.startswith("m") else 1
    return float(match.group(1)) * scale
