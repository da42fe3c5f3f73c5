"""Replies about the relay's quota or rate, not about a recipient: pause the relay, never bounce.

Gmail answers a sender over its daily limit `550 5.4.5 Daily user sending limit exceeded`: a 5xx,
which a classifier that reads the reply class bounces, and then suppresses, every recipient left
in a campaign. SES answers `454 Throttling failure: Maximum sending rate exceeded` and `454
Throttling failure: Daily message quota exceeded` (and drops the message: "wait ... up to 10
minutes, and then retry"). None of these says anything about the recipient. `relay_quota` picks
them out before any outcome is decided, so the dispatch service can leave the recipient pending
(not an attempt), pause the relay's shared budget (core/budget.py) and let the record wait.

Kinds:
- DAILY: the relay's rolling quota is spent (Gmail 5.4.5, SES "Daily message quota exceeded",
  Microsoft "SubmissionQuotaExceeded"): pause the relay for a long while (RELAY_QUOTA_PAUSE).
- RATE: too fast (SES "Maximum sending rate exceeded", Gmail `450 4.2.1 Peak SMTP relay limit
  exceeded`, `421 4.7.28 ... rate limited`, a 4xx that says rate limit or throttling): pause
  briefly (RELAY_RATE_PAUSE), or as long as the reply asks.
- RECIPIENTS: too many recipients in one transaction (`452 4.5.3`, SES `554 ... Recipient count
  exceeds 50`): the relay took the others; these go again in a new transaction a moment later.
  Nothing is paused.

What is *not* here: a recipient's own mailbox over quota (`452 4.2.2`), a recipient receiving
too fast (`450 4.2.1 The user you are trying to contact is receiving mail too quickly`: that
recipient's deferral), a server that is merely busy (`421 4.4.5`), too many connections (the
transport's pool handles those).

Sources: Google's "Gmail SMTP errors and codes" (support.google.com/a/answer/3726730), Google's
sending limits (answer/22839, answer/166852), and SES's "Errors related to the sending quotas"
(docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from maildispatch.core.outcome import Reply, stated_retry_delay


class QuotaKind(StrEnum):
    DAILY = "daily"
    RATE = "rate"
    RECIPIENTS = "recipients"


@dataclass(frozen=True)
class RelayQuota:
    """A relay's reply that says our quota or rate is used up (the recipient stays queued)."""

    kind: QuotaKind
    rule: str  # which rule matched, for logs and metrics
    stated_delay: float | None = None  # seconds the reply asks for ("try again in 60 seconds"), if any


# (rule, kind, status classes it applies to, pattern on the reply text); the first match wins.
_RULES: tuple[tuple[str, QuotaKind, str, re.Pattern[str]], ...] = (
    (
        "ses_daily_quota",
        QuotaKind.DAILY,
        "45",
        re.compile(r"daily\s+message\s+quota\s+exceeded", re.I),
    ),
    (
        "ses_max_rate",
        QuotaKind.RATE,
        "45",
        re.compile(r"maximum\s+sending\s+rate\s+exceeded", re.I),
    ),
    (
        "daily_sending_limit",
        QuotaKind.DAILY,
        "45",
        re.compile(
            r"daily\s+(?:user\s+|smtp\s+relay\s+|message\s+)?(?:sending\s+)?(?:limit|quota)\s+(?:exceeded|reached)"
            r"|(?:sending|submission)\s*quota\s*(?:exceeded|reached)"  # not "message quota": a mailbox's words
            r"|SubmissionQuotaExceeded",
            re.I,
        ),
    ),
    (
        "too_many_recipients",
        QuotaKind.RECIPIENTS,
        "45",
        re.compile(r"too\s+many\s+recipients|recipient\s+count\s+exceeds", re.I),
    ),
    (
        "peak_relay_limit",
        QuotaKind.RATE,
        "4",
        re.compile(r"peak\s+smtp\s+relay\s+limit", re.I),
    ),
    (
        "rate_limited",
        QuotaKind.RATE,
        "4",
        re.compile(
            r"rate[\s-]*limit(?:ed|ing)?|sending\s+rate|message\s+rate|throttl\w*"
            r"|too\s+many\s+messages\s+(?:from|sent|per|in\s+(?:a|the|this)\s+(?:second|minute|hour|session))",
            re.I,
        ),
    ),
)

# Enhanced status codes that mean a quota or rate whatever the words (checked after the wording).
_STATUS_KINDS = {
    "5.4.5": (QuotaKind.DAILY, "status_5.4.5"),  # Gmail: daily sending limit (RFC 3463: mail system congestion)
    "4.7.28": (QuotaKind.RATE, "status_4.7.28"),  # Gmail: rate limited (unusual rate, bulk rules)
    "4.5.3": (QuotaKind.RECIPIENTS, "status_4.5.3"),  # RFC 3463: too many recipients
    "5.5.3": (QuotaKind.RECIPIENTS, "status_5.5.3"),
}


def relay_quota(reply: Reply) -> RelayQuota | None:
    """The relay quota or rate limit this reply reports, or None when it is about something else."""
    klass = str(reply.code)[0] if reply.code is not None else reply.status[:1]
    if klass not in ("4", "5"):
        return None
    text = reply.text[:2000]
    for rule, kind, classes, pattern in _RULES:
        if klass in classes and pattern.search(text):
            return RelayQuota(kind, rule, stated_retry_delay(text))
    found = _STATUS_KINDS.get(reply.status)
    if found is not None:
        return RelayQuota(found[0], found[1], stated_retry_delay(text))
    return None


def pause_seconds(quota: RelayQuota, *, daily: float, rate: float, recipients: float = 1.0) -> float:
    """How long the relay (or, for RECIPIENTS, just the record) waits after this reply."""
    base = {QuotaKind.DAILY: daily, QuotaKind.RATE: rate, QuotaKind.RECIPIENTS: recipients}[quota.kind]
    return max(base, quota.stated_delay or 0.0)
