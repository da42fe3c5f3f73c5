"""Returned mail: bounces, delay warnings, complaints and auto-replies that come back after the relay took a message.

    from maildispatch.core.returned_mail import classify_returned_message
    verdict = classify_returned_message(raw_bytes)   # -> ReturnedMessage, never raises

A pure function of the message bytes (no I/O, stdlib `email` only), so that the intake plumbing
(S3 objects written by an SES receipt rule, SNS notifications, VERP-addressed mail) can call it
wherever the bytes come from. The parsers load on the first call, not at import, to keep cold
starts of functions that only import the model cheap.

Modules, one job each:
  model             the verdict values and the hard/soft rule
  mimewalk          MIME walking and decoding; splitting an inline original from the notification
  delivery_status   RFC 3464 per-message fields and per-recipient groups
  arf               RFC 5965 complaint reports (and unsubscribe requests sent back by providers)
  auto_reply        RFC 3834 automatic replies
  bounce_text       recipients and diagnostics in the human-readable text of non-standard bounces
  smtp_text         reply codes, enhanced status codes and the SMTP command in free text
  codes             RFC 3463 enhanced status codes and SMTP reply codes -> meaning and reason (data)
  wording           the phrase catalog, organised by reason, with sources (data)
  reason            status + reply code + command + wording -> reason label
  ses_notification  Amazon SES notifications (SNS JSON)
  classify          the order in which all of the above are read
"""

from __future__ import annotations

from .model import (
    CONFIDENCE_STRONG,
    CONFIDENCE_WEAK,
    CONFIDENCES,
    HARD_REASONS,
    KINDS,
    REASONS,
    REPUTATION_REASONS,
    Confidence,
    RecipientVerdict,
    ReturnedMessage,
    is_hard,
)


def classify_returned_message(raw: bytes) -> ReturnedMessage:
    """Classify the raw bytes of one returned message (see `classify`)."""
    from .classify import classify_returned_message as _classify

    return _classify(raw)


def classify_ses_notification(notification: dict) -> ReturnedMessage:
    """Classify an Amazon SES bounce/complaint/delivery notification (the decoded SNS `Message`)."""
    from .ses_notification import verdicts_from_ses

    return verdicts_from_ses(notification)


__all__ = [
    "CONFIDENCES",
    "CONFIDENCE_STRONG",
    "CONFIDENCE_WEAK",
    "HARD_REASONS",
    "KINDS",
    "REASONS",
    "REPUTATION_REASONS",
    "Confidence",
    "RecipientVerdict",
    "ReturnedMessage",
    "classify_returned_message",
    "classify_ses_notification",
    "is_hard",
]
