"""The delivery ledger contract in a dict."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maildispatch.core.ledger import DUE_TOLERANCE_SECONDS, Claim, LedgerEntry, RecipientState, ledger_key
from maildispatch.core.outcome import Reply

# A row is stored as a plain tuple of strings, numbers and None (the state by its value, the reply as
# its fields), which CPython's garbage collector stops tracking: a benchmark that keeps 20,000
# messages' rows in one fake does not have every collection walk them, as a Lambda container (whose
# ledger is DynamoDB) would not. `rows` shows them as `_Row` values.
_STATE = 0
_LEASE_UNTIL = 1
_OWNER = 2
_ATTEMPTS = 3
_REPORTED = 4
_REPLY = 5
_UNCERTAIN = 6
_WARNED = 7
_NEXT_ATTEMPT_AT = 8
_UPDATED_AT = 9

_STATES = {state.value: state for state in RecipientState}
_SENDING = RecipientState.SENDING.value
_DUE_STATES = (RecipientState.DEFERRED.value, RecipientState.UNCERTAIN.value)

_RowTuple = tuple[str, float, str, int, bool, "tuple[Any, ...] | None", int, bool, float, "float | None"]


@dataclass
class _Row:
    """A row as the tests read it (a copy: changing it does not change the ledger)."""

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


def _new_row(state: str) -> _RowTuple:
    return (state, 0.0, "", 0, True, None, 0, False, 0.0, None)


def _reply_of(fields: tuple[Any, ...] | None) -> Reply | None:
    return None if fields is None else Reply(*fields)


def _claimable(row: _RowTuple, now: float) -> bool:
    if row[_STATE] in _DUE_STATES:
        return row[_NEXT_ATTEMPT_AT] <= now + DUE_TOLERANCE_SECONDS
    return row[_STATE] == _SENDING and row[_LEASE_UNTIL] < now


def _as_row(row: _RowTuple) -> _Row:
    return _Row(_STATES[row[_STATE]], *row[_LEASE_UNTIL:_REPLY], _reply_of(row[_REPLY]), *row[_UNCERTAIN:])


class _Rows(Mapping[tuple[str, str], _Row]):
    """The rows by (message key, ledger key), read-only."""

    def __init__(self, data: dict[tuple[str, str], _RowTuple]) -> None:
        self._data = data

    def __getitem__(self, key: tuple[str, str]) -> _Row:
        return _as_row(self._data[key])

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data


@dataclass
class InMemoryLedger:
    """The ledger contract in a dict; `call_latency` simulates a remote store for benchmarks."""

    clock: Any = time.time
    call_latency: float = 0.0
    _data: dict[tuple[str, str], _RowTuple] = field(default_factory=dict, repr=False)

    @property
    def rows(self) -> Mapping[tuple[str, str], _Row]:
        return _Rows(self._data)

    async def claim(
        self, message_key: str, recipients: Sequence[str], *, owner: str, lease_seconds: int
    ) -> list[Claim]:
        if self.call_latency:
            await asyncio.sleep(self.call_latency)
        now = self.clock()
        data = self._data
        claims = []
        for recipient in recipients:
            key = (message_key, ledger_key(recipient))
            row = data.get(key)
            if row is None or _claimable(row, now):
                took_over = row is not None and row[_STATE] == _SENDING
                row = row or _new_row(_SENDING)
                attempts = row[_ATTEMPTS] + 1
                data[key] = (_SENDING, now + lease_seconds, owner, attempts, *row[_REPORTED:])
                claims.append(
                    Claim(
                        recipient,
                        True,
                        attempts=attempts,
                        uncertain=row[_UNCERTAIN],
                        warned=row[_WARNED],
                        took_over=took_over,
                    )
                )
            else:
                state = row[_STATE]
                lease = row[_LEASE_UNTIL] if state == _SENDING else None
                due = row[_NEXT_ATTEMPT_AT] if state in _DUE_STATES else None
                claims.append(
                    Claim(
                        recipient,
                        False,
                        _STATES[state],
                        row[_REPORTED],
                        _reply_of(row[_REPLY]),
                        lease,
                        row[_ATTEMPTS],
                        row[_UNCERTAIN],
                        row[_WARNED],
                        due,
                        updated_at=row[_UPDATED_AT],
                    )
                )
        return claims

    async def record(self, message_key: str, entries: Sequence[LedgerEntry]) -> None:
        if self.call_latency:
            await asyncio.sleep(self.call_latency)
        data = self._data
        for entry in entries:
            key = (message_key, ledger_key(entry.recipient))
            row = data.get(key) or _new_row(entry.state.value)
            reply = entry.reply
            data[key] = (
                entry.state.value,
                0.0,
                "",
                row[_ATTEMPTS] - (0 if entry.counts_as_attempt else 1),
                entry.reported,
                row[_REPLY]
                if reply is None
                else (reply.code, reply.status, reply.text, reply.remote_mta, reply.command),
                row[_UNCERTAIN] + (entry.state is RecipientState.UNCERTAIN) + entry.uncertain_attempts,
                row[_WARNED] or entry.warned,
                entry.next_attempt_at or 0.0,
                self.clock(),
            )

    async def mark_reported(self, message_key: str, recipients: Sequence[str]) -> None:
        data = self._data
        for recipient in recipients:
            key = (message_key, ledger_key(recipient))
            row = data.get(key)
            if row is not None:
                data[key] = (*row[:_REPORTED], True, *row[_REPORTED + 1 :])

    async def release(self, message_key: str, recipients: Sequence[str], *, owner: str) -> None:
        data = self._data
        for recipient in recipients:
            key = (message_key, ledger_key(recipient))
            row = data.get(key)
            if row is not None and row[_STATE] == _SENDING and row[_OWNER] == owner:
                del data[key]

    def state_of(self, message_key: str, recipient: str) -> RecipientState | None:
        row = self._data.get((message_key, ledger_key(recipient)))
        return _STATES[row[_STATE]] if row else None
