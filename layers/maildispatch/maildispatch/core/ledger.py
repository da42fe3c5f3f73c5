"""The delivery ledger: per (message key, recipient) state, so nothing is sent twice.

SQS delivers a record at least once and Lambda can die mid-batch. Before talking to the
relay about a recipient, the dispatcher claims it with a conditional write; a recipient
already delivered or bounced is skipped, and a claim whose lease ran out (the invocation
died) can be taken over. This module is the model; the port is `ports.DeliveryLedger`, the
DynamoDB adapter `adapters.dynamodb_ledger`, and the in-memory fake lives in tests/fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from maildispatch.core.outcome import Reply


class RecipientState(str, Enum):
    SENDING = "sending"  # claimed by an invocation holding a lease
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    SUPPRESSED = "suppressed"  # never sent: the address is on the suppression list
    UNCERTAIN = "uncertain"  # the relay may have the message (the connection ended after the final dot)


# A recipient with no ledger row is "queued". DEFERRED and UNCERTAIN may be claimed again once their
# next attempt is due (an uncertain recipient the policy will not retry is due NEVER), SENDING once its
# lease ran out; DELIVERED, BOUNCED and SUPPRESSED are final.
FINAL_STATES = (RecipientState.DELIVERED, RecipientState.BOUNCED, RecipientState.SUPPRESSED)
NEVER = 1e12  # a next-attempt time that never comes (year 33658)
DUE_TOLERANCE_SECONDS = 1.0  # SQS visibility is approximate: an attempt this early counts as due

RETENTION_SECONDS = 30 * 24 * 3600  # ledger items expire (DynamoDB TTL) a month after their last change


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: granted, or the state that another attempt left."""

    recipient: str
    granted: bool
    state: RecipientState | None = None  # the recipient's state when the claim was refused
    reported: bool = True  # for a BOUNCED/SUPPRESSED recipient: whether its report was written
    reply: Reply | None = None  # the last reply recorded for the recipient, if any
    lease_expires_at: float | None = None  # for a claim held by another invocation
    attempts: int = 0  # with this claim, for a granted one: how many times the recipient was claimed
    uncertain: int = 0  # how many attempts ended uncertain so far
    warned: bool = False  # a delay warning was sent for this recipient
    next_attempt_at: float | None = None  # for a refused DEFERRED/UNCERTAIN claim: when it is due
    took_over: bool = False  # granted over an expired lease: the previous attempt died, its outcome unknown
    updated_at: float | None = None  # for a refused claim: when the recipient's state was last written


@dataclass(frozen=True)
class LedgerEntry:
    """A recipient's row in the delivery ledger: its state and what the next attempt needs."""

    recipient: str
    state: RecipientState
    reply: Reply | None = None
    reported: bool = True  # False for a BOUNCED/SUPPRESSED entry whose report is not written yet
    warned: bool = False  # set the delay-warning flag
    next_attempt_at: float | None = None  # for DEFERRED/UNCERTAIN: not to be claimed before then
    uncertain_attempts: int = 0  # attempts of unknown outcome to count besides this entry's own state
    counts_as_attempt: bool = True  # False: the claim that led here is not an attempt (the relay's quota refused it)


def ledger_key(recipient: str) -> str:
    """Recipients are keyed case-insensitively: one mailbox, one ledger row."""
    return recipient.strip().lower()
