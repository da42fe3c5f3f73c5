"""What a delivery outcome means for a recipient, and how a record waits: pure functions.

`decide` turns one recipient's outcome into its next ledger state, whether it is reported
(bounced, expired, a delay warning) and when it is due again. `plan_wait` chooses how a
record that must come back later waits on SQS: its own visibility, or a fresh copy of the
record when visibility cannot reach (12 hours at most per receive, the queue's retention, a
receive count close to the redrive limit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from maildispatch.core.ledger import NEVER, Claim, LedgerEntry, RecipientState
from maildispatch.core.outcome import Bounced, Deferred, Delivered, Outcome, Reply
from maildispatch.core.report import FailedRecipient, ReportReason
from maildispatch.core.retry import GiveUp, RetrySchedule

STATUS_EXPIRED = "4.4.7"  # RFC 3463: delivery time expired
MAX_VISIBILITY_SECONDS = 43_200 - 60  # SQS: at most 12 hours from the receive
SQS_MAX_DELAY_SECONDS = 900
RETENTION_MARGIN_SECONDS = 3600  # never let a waiting record come near the queue's retention limit


@dataclass(frozen=True)
class RetryPolicy:
    """How failures are retried: the schedule, uncertain submissions and delay warnings."""

    schedule: RetrySchedule
    uncertain_retries: int = 1  # attempts after an uncertain one (UNCERTAIN_POLICY)
    delay_warning_after: float | None = None  # seconds after arrival


@dataclass(frozen=True)
class Decision:
    """A recipient's outcome turned into its ledger entry, counter and report."""

    entry: LedgerEntry
    tally: str  # which counter the outcome adds to
    report: tuple[str, FailedRecipient] | None = None  # (reason, recipient) for the sender's report

    @property
    def due_at(self) -> float | None:
        """When the recipient must be tried again, if it must."""
        due = self.entry.next_attempt_at
        return due if due is not None and due < NEVER else None


def decide(
    claim: Claim, outcome: Outcome, policy: RetryPolicy, *, age_seconds: float, now: float, jitter_key: str
) -> Decision:
    recipient, reply = claim.recipient, outcome.reply
    if isinstance(outcome, Delivered):
        return Decision(LedgerEntry(recipient, RecipientState.DELIVERED, reply), "delivered")
    if isinstance(outcome, Bounced):
        return Decision(
            LedgerEntry(recipient, RecipientState.BOUNCED, reply, reported=False),
            "bounced",
            (ReportReason.REJECTED, failed_recipient(recipient, reply)),
        )
    stated = outcome.retry_after if isinstance(outcome, Deferred) else None
    after = policy.schedule.after_failure(
        claim.attempts, age_seconds=age_seconds, stated_delay=stated, jitter_key=jitter_key
    )
    if isinstance(outcome, Deferred):
        if isinstance(after, GiveUp):
            entry = LedgerEntry(recipient, RecipientState.BOUNCED, reply, reported=False)
            return Decision(
                entry, "expired", (ReportReason.EXPIRED, failed_recipient(recipient, reply, STATUS_EXPIRED))
            )
        warn = policy.delay_warning_after is not None and not claim.warned and age_seconds >= policy.delay_warning_after
        entry = LedgerEntry(recipient, RecipientState.DEFERRED, reply, warned=warn, next_attempt_at=now + after.seconds)
        warning = (ReportReason.DELAYED, failed_recipient(recipient, reply, action="delayed")) if warn else None
        return Decision(entry, "deferred", warning)
    # Uncertain: the relay may have the message. Another attempt risks a duplicate, so the
    # policy allows a fixed number; after that the recipient stays uncertain for good.
    if claim.uncertain < policy.uncertain_retries and not isinstance(after, GiveUp):
        return Decision(
            LedgerEntry(recipient, RecipientState.UNCERTAIN, reply, next_attempt_at=now + after.seconds),
            "uncertain_retried",
        )
    return Decision(LedgerEntry(recipient, RecipientState.UNCERTAIN, reply, next_attempt_at=NEVER), "uncertain")


def failed_recipient(
    recipient: str, reply: Reply, status: str | None = None, *, action: str = "failed"
) -> FailedRecipient:
    return FailedRecipient(
        address=recipient,
        status=status or reply.status,
        diagnostic=reply.diagnostic if reply.code is not None else reply.text,
        reply_code=reply.code,
        remote_mta=reply.remote_mta,
        action=action,
        command=reply.command,
    )


@dataclass(frozen=True)
class WaitVisible:
    """Leave the record on the queue, invisible for this long."""

    seconds: int


@dataclass(frozen=True)
class WaitRequeued:
    """Send a fresh copy of the record (delayed by up to 15 minutes) and finish this one."""

    delay_seconds: int


WaitPlan = WaitVisible | WaitRequeued


def plan_wait(
    wait_seconds: float,
    *,
    receive_count: int,
    enqueued_age_seconds: float,
    retention_seconds: float,
    requeue_after_receives: int,
) -> WaitPlan:
    seconds = max(1, math.ceil(wait_seconds))
    if (
        receive_count >= requeue_after_receives  # keep well below maxReceiveCount, which is for crashes
        or seconds > MAX_VISIBILITY_SECONDS
        or enqueued_age_seconds + seconds + RETENTION_MARGIN_SECONDS > retention_seconds
    ):
        return WaitRequeued(min(seconds, SQS_MAX_DELAY_SECONDS))
    return WaitVisible(seconds)
