"""What happened to a message, per recipient, as the delivery ledger knows it.

One reading for everyone who asks: `maildispatch status KEY`, the Python client and the HTTP
API's `GET /v1/messages/{key}` all build these values from the same ledger rows
(adapters/dynamodb_message_status.py), so a recipient's state reads the same wherever it is read.

A recipient without a ledger row is `queued`: accepted, not tried yet. The HTTP API records the
recipients of a message it accepts (a submission row beside the recipients' rows), so a message it
accepted lists its recipients as queued before the dispatch function first tries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from maildispatch.core.ledger import NEVER, RecipientState, ledger_key

QUEUED = "queued"
StateName = Literal["queued", "sending", "delivered", "deferred", "bounced", "suppressed", "uncertain"]
STATE_NAMES: tuple[str, ...] = (QUEUED, *(state.value for state in RecipientState))
SUBMISSION_ROW = "#submission"  # the ledger row (message_key, SUBMISSION_ROW) the HTTP API writes on acceptance


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient of a message as the ledger has it. state: queued (no row yet), sending, delivered,
    deferred, bounced, suppressed or uncertain."""

    recipient: str
    state: str
    updated_at: datetime | None = None
    next_attempt_at: datetime | None = None  # deferred/uncertain: not tried again before then
    attempts: int = 0
    reply_code: int | None = None
    reply_status: str | None = None  # RFC 3463 ("5.1.1")
    reply: str | None = None  # the server's text, or what failed locally
    remote_mta: str | None = None

    def describe(self) -> str:
        """One line: `recipient<TAB>state<TAB>details`."""
        parts = []
        if self.reply_status or self.reply:
            code = f"{self.reply_code} " if self.reply_code is not None else ""
            parts.append(f"{code}{self.reply_status or ''} {self.reply or ''}".strip())
        if self.next_attempt_at is not None:
            parts.append(f"next attempt {iso(self.next_attempt_at)}")
        if self.updated_at is not None:
            parts.append(f"updated {iso(self.updated_at)}")
        if self.attempts:
            parts.append(f"attempts {self.attempts}")
        return "\t".join([self.recipient, self.state, "; ".join(parts)]).rstrip("\t")

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the HTTP API's): times as RFC 3339 UTC, absent values left out."""
        doc: dict[str, Any] = {"recipient": self.recipient, "state": self.state}
        if self.updated_at is not None:
            doc["updated_at"] = iso(self.updated_at)
        if self.next_attempt_at is not None:
            doc["next_attempt_at"] = iso(self.next_attempt_at)
        if self.attempts:
            doc["attempts"] = self.attempts
        if self.reply_code is not None or self.reply_status or self.reply:
            reply: dict[str, Any] = {}
            if self.reply_code is not None:
                reply["code"] = self.reply_code
            if self.reply_status:
                reply["status"] = self.reply_status
            if self.reply:
                reply["text"] = self.reply
            if self.remote_mta:
                reply["remote_mta"] = self.remote_mta
            doc["reply"] = reply
        return doc


@dataclass(frozen=True)
class Submission:
    """What the HTTP API recorded when it accepted a message: its recipients and when."""

    recipients: tuple[str, ...]
    accepted_at: datetime


@dataclass(frozen=True)
class MessageStatus:
    message_key: str
    recipients: tuple[RecipientStatus, ...]
    accepted_at: datetime | None = None  # when the HTTP API accepted it (None: it came another way)

    @property
    def known(self) -> bool:
        return bool(self.recipients) or self.accepted_at is not None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"message_key": self.message_key}
        if self.accepted_at is not None:
            doc["accepted_at"] = iso(self.accepted_at)
        doc["recipients"] = [r.to_json() for r in self.recipients]
        return doc


def message_status(
    message_key: str,
    rows: list[RecipientStatus],
    submission: Submission | None = None,
    named: tuple[str, ...] = (),
) -> MessageStatus:
    """The ledger's rows, plus every recipient the submission (or the caller, `named`) knows of and the
    ledger has no row for yet, as queued; sorted by recipient."""
    found = {row.recipient: row for row in rows}
    for recipient in (*(submission.recipients if submission else ()), *named):
        key = ledger_key(recipient)
        found.setdefault(key, RecipientStatus(key, QUEUED))
    return MessageStatus(
        message_key,
        tuple(found[r] for r in sorted(found)),
        accepted_at=submission.accepted_at if submission else None,
    )


def recipient_status(item: dict[str, Any]) -> RecipientStatus:
    """A ledger item (DynamoDB JSON: {"state": {"S": ...}, ...}) as a RecipientStatus."""

    def number(name: str) -> float | None:
        return float(item[name]["N"]) if name in item else None

    def text(name: str) -> str | None:
        return str(item[name]["S"]) if name in item else None

    state = str(item["state"]["S"])
    next_attempt = number("next_attempt_at") if state in (RecipientState.DEFERRED, RecipientState.UNCERTAIN) else None
    code = number("reply_code")
    return RecipientStatus(
        recipient=str(item["recipient"]["S"]),
        state=state,
        updated_at=moment(number("updated_at")),
        next_attempt_at=moment(next_attempt) if next_attempt is not None and next_attempt < NEVER / 10 else None,
        attempts=int(number("attempts") or 0),
        reply_code=int(code) if code is not None else None,
        reply_status=text("reply_status"),
        reply=text("reply_text"),
        remote_mta=text("remote_mta"),
    )


def moment(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")
