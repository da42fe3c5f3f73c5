"""The delivery ledger contract in a dict."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from maildispatch.core.ledger import DUE_TOLERANCE_SECONDS, Claim, LedgerEntry, RecipientState, ledger_key
from maildispatch.core.outcome import Reply


@dataclass
class _Row:
    state: RecipientState
    lease_until: float = 0.0
    owner: str = ""
    attempts: int = 0
    reported: bool = True
    reply: Reply | None = None
    uncertain: int = 0
    warned: bool = False
    next_attempt_at: float = 0.0
    updated_at: float | None = None

    def claimable(self, now: float) -> bool:
        if self.state in (RecipientState.DEFERRED, RecipientState.UNCERTAIN):
            return self.next_attempt_at <= now + DUE_TOLERANCE_SECONDS
        return self.state is RecipientState.SENDING and self.lease_until < now


@dataclass
class InMemoryLedger:
    """The ledger contract in a dict; `call_latency` simulates a remote store for benchmarks."""

    clock: Any = time.time
    call_latency: float = 0.0
    rows: dict[tuple[str, str], _Row] = field(default_factory=dict)

    async def claim(
        self, message_key: str, recipients: Sequence[str], *, owner: str, lease_seconds: int
    ) -> list[Claim]:
        if self.call_latency:
            await asyncio.sleep(self.call_latency)
        now = self.clock()
        claims = []
        for recipient in recipients:
            key = (message_key, ledger_key(recipient))
            row = self.rows.get(key)
            if row is None or row.claimable(now):
                took_over = row is not None and row.state is RecipientState.SENDING
                row = row or _Row(RecipientState.SENDING)
                row.state, row.lease_until, row.owner, row.attempts = (
                    RecipientState.SENDING,
                    now + lease_seconds,
                    owner,
                    row.attempts + 1,
                )
                self.rows[key] = row
                claims.append(
                    Claim(
                        recipient,
                        True,
                        attempts=row.attempts,
                        uncertain=row.uncertain,
                        warned=row.warned,
                        took_over=took_over,
                    )
                )
            else:
                lease = row.lease_until if row.state is RecipientState.SENDING else None
                due = row.next_attempt_at if row.state in (RecipientState.DEFERRED, RecipientState.UNCERTAIN) else None
                claims.append(
                    Claim(
                        recipient,
                        False,
                        row.state,
                        row.reported,
                        row.reply,
                        lease,
                        row.attempts,
                        row.uncertain,
                        row.warned,
                        due,
                        updated_at=row.updated_at,
                    )
                )
        return claims

    async def record(self, message_key: str, entries: Sequence[LedgerEntry]) -> None:
        if self.call_latency:
            await asyncio.sleep(self.call_latency)
        for entry in entries:
            key = (message_key, ledger_key(entry.recipient))
            row = self.rows.setdefault(key, _Row(entry.state))
            row.state, row.lease_until, row.owner, row.reported = entry.state, 0.0, "", entry.reported
            row.reply = entry.reply or row.reply
            row.uncertain += (entry.state is RecipientState.UNCERTAIN) + entry.uncertain_attempts
            row.warned = row.warned or entry.warned
            row.attempts -= 0 if entry.counts_as_attempt else 1
            row.next_attempt_at = entry.next_attempt_at or 0.0
            row.updated_at = self.clock()

    async def mark_reported(self, message_key: str, recipients: Sequence[str]) -> None:
        for recipient in recipients:
            row = self.rows.get((message_key, ledger_key(recipient)))
            if row is not None:
                row.reported = True

    async def release(self, message_key: str, recipients: Sequence[str], *, owner: str) -> None:
        for recipient in recipients:
            key = (message_key, ledger_key(recipient))
            row = self.rows.get(key)
            if row is not None and row.state is RecipientState.SENDING and row.owner == owner:
                del self.rows[key]

    def state_of(self, message_key: str, recipient: str) -> RecipientState | None:
        row = self.rows.get((message_key, ledger_key(recipient)))
        return row.state if row else None
