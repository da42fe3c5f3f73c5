"""What a returned message says, as values: one verdict per recipient, and the message around them.

The labels are the reason labels of the shared bounce corpus (`../shared/bounces/README.md`), so
that the classification can be measured against it and compared with other classifiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class ReturnedKind(StrEnum):
    """Kinds of returned message."""

    BOUNCE = "bounce"  # at least one recipient failed
    DELAY = "delay"  # a warning: delivery is still being retried
    COMPLAINT = "complaint"  # an abuse/fraud report (RFC 5965 ARF, or a provider's notification)
    AUTO_REPLY = "auto_reply"  # a vacation or other automatic reply (RFC 3834): not a bounce
    DELIVERED = "delivered"  # a success notification (DSN with Action: delivered/relayed/expanded)
    UNCLASSIFIED = "unclassified"  # nothing readable: kept and counted, never dropped


KINDS = tuple(ReturnedKind)

# Reason labels (shared/bounces/README.md).
BOUNCE_REASONS = (
    "userunknown",
    "hostunknown",
    "hasmoved",
    "mailboxfull",
    "exceedlimit",
    "mesgtoobig",
    "expired",
    "filtered",
    "rejected",
    "blocked",
    "badreputation",
    "requireptr",
    "policyviolation",
    "spamdetected",
    "virusdetected",
    "contenterror",
    "notcompliantrfc",
    "authfailure",
    "securityerror",
    "failedstarttls",
    "norelaying",
    "notaccept",
    "suspend",
    "toomanyconn",
    "speeding",
    "networkerror",
    "systemerror",
    "systemfull",
    "mailererror",
    "syntaxerror",
    "onhold",
    "undefined",
)
NON_BOUNCE_REASONS = ("delivered", "feedback", "vacation")
REASONS = BOUNCE_REASONS + NON_BOUNCE_REASONS

# The address itself is bad: suppress it. Every other bounce reason is soft.
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})
# Blocks aimed at the sender's own reputation or set-up: they say nothing about the recipient and
# must never suppress it (they raise their own metric and alarm instead).
REPUTATION_REASONS = frozenset({"blocked", "badreputation", "requireptr", "authfailure"})


# How much a verdict's evidence is worth (defined once; see `RecipientVerdict.confidence`).
#   strong: an explicit enhanced status code or SMTP reply whose meaning agrees with the reason, or
#           an unambiguous phrase from the catalog, with a permanent class for a hard verdict
#   weak:   inferred (a bare reply class, the SMTP stage, loose wording, a fallback)
Confidence = Literal["strong", "weak"]
CONFIDENCE_STRONG: Confidence = "strong"
CONFIDENCE_WEAK: Confidence = "weak"
CONFIDENCES: tuple[Confidence, ...] = (CONFIDENCE_STRONG, CONFIDENCE_WEAK)


def is_hard(reason: str, status: str | None, reply_code: int | None) -> bool | None:
    """Hard/soft follows the reason, not the code's first digit (a 5.2.2 full mailbox is soft).

    `notaccept` (the domain accepts no mail, e.g. a null MX) is hard only when it was permanent.
    None for non-bounces.
    """
    if reason in NON_BOUNCE_REASONS:
        return None
    if reason in HARD_REASONS:
        return True
    if reason == "notaccept":
        klass = (status or "")[:1] or (str(reply_code)[:1] if reply_code else "")
        return klass != "4"
    return False


@dataclass(frozen=True)
class RecipientVerdict:
    """One recipient as the returned message reports it."""

    recipient: str | None
    status: str | None  # RFC 3463 enhanced status, "5.1.1"; derived from the reply code's class when only that is known
    reply_code: int | None  # the remote server's SMTP reply code
    diagnostic: str | None  # what the remote server (or the reporting MTA) said, on one line
    reason: str  # one of REASONS
    hard: bool | None  # True: the address is bad; False: soft; None: not a bounce
    remote_mta: str | None = None
    action: str | None = None  # failed / delayed / delivered / relayed / expanded, when stated
    original_recipient: str | None = None  # RFC 3464 Original-Recipient (or X-Actual-Recipient)
    command: str | None = None  # the SMTP command the remote server answered (RCPT, MAIL, DATA, ...)
    rule: str | None = None  # which classification rule decided the reason, for audits
    evidence: str | None = None  # what decided it, readable: "status 5.1.1 (RFC 3463: bad destination mailbox)"
    confidence: Confidence = CONFIDENCE_WEAK  # strong / weak (see Confidence)

    @property
    def is_reputation_block(self) -> bool:
        return self.reason in REPUTATION_REASONS

    @property
    def suppressible(self) -> bool:
        """True only for a hard verdict backed by strong evidence: the one verdict that may take the
        address off future sends. A hard verdict on weak evidence is reported but should be
        confirmed (e.g. by a second bounce) before it suppresses."""
        return self.hard is True and self.confidence == CONFIDENCE_STRONG


@dataclass(frozen=True)
class ReturnedMessage:
    kind: ReturnedKind
    recipients: tuple[RecipientVerdict, ...]
    original_message_id: str | None = None
    original_headers: str | None = None  # the returned original's header block, when enclosed
    original_envelope_id: str | None = None  # RFC 3464 Original-Envelope-Id
    original_x_headers: tuple[tuple[str, str], ...] = ()  # the original's X-* headers, to map it back
    feedback_type: str | None = None  # ARF Feedback-Type (abuse, fraud, ...)
    reporting_mta: str | None = None
    arrival_date: str | None = None  # as the report states it
    subject: str | None = None  # of the returned message itself
    from_address: str | None = None  # of the returned message itself (MAILER-DAEMON@..., a provider)
    parse_error: str | None = None  # set (with kind "unclassified") when the bytes could not be parsed at all
    degraded: str | None = None  # set when the MIME reading failed and the message was read as flat text
