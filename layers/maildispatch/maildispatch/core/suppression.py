"""The suppression list: addresses we no longer send to, and the policy that puts them there.

The policy, on one classification for every input (an SMTP reply during the session, a bounce
that came back as mail, an SES notification): a hard bounce (no such mailbox or domain, moved)
suppresses the address; soft bounces are counted and suppress it once there are
SOFT_BOUNCE_LIMIT within SOFT_BOUNCE_WINDOW; a complaint suppresses it; a block aimed at our own
sending reputation or set-up (blocked, badreputation, requireptr, authfailure) never does: it
says nothing about the recipient, and is counted for its own metric and alarm instead; nor does a
refusal about the sender (a refused MAIL FROM, a bad sender status or wording: sender_refusal),
counted as a sender refusal; nor does a reply about the relay's quota or rate (relay_quota:
Gmail's `550 5.4.5 Daily user sending limit exceeded`), should one reach a report, counted with
the sender refusals. Later
sends to a suppressed address are skipped and reported as suppressed, unless a request says
`"ignore_suppression": true`.

An entry may be scoped (`scope`, e.g. "list:newsletter"): a one-click unsubscribe (core/unsubscribe.py)
blocks only that list's mail, and holds even for a request with `ignore_suppression`; an entry
without a scope blocks every mail to the address.

`maildispatch suppression list|show|add|remove` lists and edits the list.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from maildispatch.core.outcome import Reply
from maildispatch.core.relay_quota import relay_quota
from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason
from maildispatch.core.return_paths import VERIFIED_MATCHES
from maildispatch.core.sender_refusal import is_about_sender


class SuppressionReason(StrEnum):
    """Why an address is on the suppression list."""

    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCES = "soft_bounces"
    COMPLAINT = "complaint"
    MANUAL = "manual"
    UNSUBSCRIBED = "unsubscribed"  # from one list (a scoped entry)


SOFT_BOUNCE_LIMIT = 3  # soft bounces ...
SOFT_BOUNCE_WINDOW = 14 * 86400  # ... within this many seconds suppress the address
SOFT_KEY_PREFIX = "soft bounces: "  # the soft-bounce counter's key beside the address's (a space: never in a valid key)


@dataclass(frozen=True)
class Suppression:
    """An address we no longer send to, and why."""

    address: str  # lower case
    reason: SuppressionReason
    status: str | None = None
    diagnostic: str | None = None
    message_key: str | None = None
    created_at: float = field(default_factory=time.time)
    scope: str | None = None  # None: every mail to the address; "list:<id>": only that list's

    @property
    def summary(self) -> str:
        when = datetime.fromtimestamp(self.created_at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        what = f"{self.reason} {self.status}" if self.status else self.reason
        where = f" from {self.scope}" if self.scope else ""
        return f"suppressed{where} since {when} ({what}{': ' + self.diagnostic if self.diagnostic else ''})"

    @property
    def key(self) -> str:
        return suppression_key(self.address, self.scope)


def suppression_key(address: str, scope: str | None = None) -> str:
    """Where an entry is kept: the address, or "<scope> <address>" for a scoped one. A scope holds a ':'
    and no space, and an address holds a ':' only inside quotes (so it starts with '"'): never alike."""
    address = address.strip().lower()
    return f"{scope} {address}" if scope else address


def classify_failure(recipient: FailedRecipient) -> tuple[str, bool | None]:
    """The reason label and hard/soft of a failed recipient, as the suppression policy reads them: as
    classified when it came back as mail, else read from its SMTP reply by the same classifier.

    Hard only on strong evidence (an explicit code, an unambiguous phrase); when unsure, soft: a wrong
    hard verdict takes a working address off every future send, a missed one costs a few attempts.
    """
    # The classifier loads with the first failure to read, not with dispatch's cold start.
    from maildispatch.core.returned_mail.model import CONFIDENCE_WEAK, is_hard
    from maildispatch.core.returned_mail.reason import assess

    if recipient.classification is not None:  # a report without a confidence predates it: as classified
        weak = recipient.confidence == CONFIDENCE_WEAK
        return recipient.classification, (False if weak and recipient.hard else recipient.hard)
    found = assess(recipient.status, recipient.reply_code, recipient.diagnostic)
    hard = is_hard(found.reason, recipient.status, recipient.reply_code)
    return found.reason, (False if hard and found.confidence == CONFIDENCE_WEAK else hard)


@dataclass(frozen=True)
class SuppressionDecision:
    """What one bounce report does to the suppression list."""

    suppress: tuple[Suppression, ...] = ()
    soft_bounces: tuple[str, ...] = ()  # addresses whose soft bounce is counted toward the limit
    reputation_blocks: int = 0  # recipients refused because of us, not them
    sender_refusals: int = 0  # failures about our envelope sender or set-up, reported against a recipient


def suppression_decision(report: BounceReport, *, now: float) -> SuppressionDecision:
    """What a bounce report does to the suppression list (the policy, as a pure function)."""
    if (
        report.reason in (ReportReason.RETURNED, ReportReason.COMPLAINT)
        and report.source.get("matched_by") not in VERIFIED_MATCHES
    ):
        return SuppressionDecision()  # returned mail that proved nothing about what we sent suppresses nothing
    if report.reason == ReportReason.COMPLAINT:
        return SuppressionDecision(
            tuple(_entry(r, SuppressionReason.COMPLAINT, report, now) for r in report.recipients)
        )
    if report.reason not in (ReportReason.REJECTED, ReportReason.RETURNED, ReportReason.EXPIRED):
        return SuppressionDecision()
    from maildispatch.core.returned_mail.model import REPUTATION_REASONS

    suppress, soft, blocks, sender = [], [], 0, 0
    for recipient in report.recipients:
        if is_about_sender(recipient.command, recipient.status, recipient.diagnostic) or _about_relay_quota(recipient):
            sender += 1  # says nothing about the recipient: never suppress, never count a soft bounce
            continue
        reason, hard = classify_failure(recipient) if report.reason != ReportReason.EXPIRED else ("expired", False)
        if reason in REPUTATION_REASONS:
            blocks += 1
        elif hard:
            suppress.append(_entry(recipient, SuppressionReason.HARD_BOUNCE, report, now))
        elif hard is False:  # soft, or hard on weak evidence: counted, suppressed only when it repeats
            soft.append(recipient.address.strip().lower())
    return SuppressionDecision(tuple(suppress), tuple(soft), blocks, sender)


def _about_relay_quota(recipient: FailedRecipient) -> bool:
    reply = Reply(recipient.reply_code, recipient.status, recipient.diagnostic or "")
    return relay_quota(reply) is not None


def _entry(recipient: FailedRecipient, reason: SuppressionReason, report: BounceReport, now: float) -> Suppression:
    return Suppression(
        recipient.address.strip().lower(),
        reason,
        recipient.status,
        (recipient.diagnostic or "")[:500] or None,
        report.message_key,
        now,
    )


def suppressed_recipient(address: str, entry: Suppression) -> FailedRecipient:
    """How a skipped recipient appears in the report to the sender."""
    return FailedRecipient(
        address=address,
        status=entry.status if entry.status and entry.status.startswith("5.") else "5.0.0",
        diagnostic=entry.summary,
    )
