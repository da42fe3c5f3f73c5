"""The delivery ledger: per (message key, recipient) state, so nothing is sent twice.

SQS delivers a record at least once and Lambda can die mid-batch. Before talking to the
relay about a recipient, the dispatcher claims it with a conditional write; a recipient
already delivered or bounced is skipped, and a claim whose lease ran out (the invocation
died) can be taken over. Two implementations share one contract: DynamoDB for AWS and an
in-memory one for unit tests and benchmarks.
"""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, Sequence

from .outcome import Reply


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


@dataclass(frozen=True)
class LedgerEntry:
    recipient: str
    state: RecipientState
    reply: Reply | None = None
    reported: bool = True  # False for a BOUNCED/SUPPRESSED entry whose report is not written yet
    warned: bool = False  # set the delay-warning flag
    next_attempt_at: float | None = None  # for DEFERRED/UNCERTAIN: not to be claimed before then
    uncertain_attempts: int = 0  # attempts of unknown outcome to count besides this entry's own state


class DeliveryLedger(Protocol):
    async def claim(self, message_key: str, recipients: Sequence[str], *, owner: str, lease_seconds: int) -> list[Claim]: ...

    async def record(self, message_key: str, entries: Sequence[LedgerEntry]) -> None: ...

    async def mark_reported(self, message_key: str, recipients: Sequence[str]) -> None: ...


def ledger_key(recipient: str) -> str:
    """Recipients are keyed case-insensitively: one mailbox, one ledger row."""
    return recipient.strip().lower()


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

    async def claim(self, message_key: str, recipients: Sequence[str], *, owner: str, lease_seconds: int) -> list[Claim]:
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
                row.state, row.lease_until, row.owner, row.attempts = RecipientState.SENDING, now + lease_seconds, owner, row.attempts + 1
                self.rows[key] = row
                claims.append(Claim(recipient, True, attempts=row.attempts, uncertain=row.uncertain, warned=row.warned, took_over=took_over))
            else:
                lease = row.lease_until if row.state is RecipientState.SENDING else None
                due = row.next_attempt_at if row.state in (RecipientState.DEFERRED, RecipientState.UNCERTAIN) else None
                claims.append(Claim(recipient, False, row.state, row.reported, row.reply, lease, row.attempts, row.uncertain, row.warned, due))
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
            row.next_attempt_at = entry.next_attempt_at or 0.0

    async def mark_reported(self, message_key: str, recipients: Sequence[str]) -> None:
        for recipient in recipients:
            row = self.rows.get((message_key, ledger_key(recipient)))
            if row is not None:
                row.reported = True

    def state_of(self, message_key: str, recipient: str) -> RecipientState | None:
        row = self.rows.get((message_key, ledger_key(recipient)))
        return row.state if row else None


class DynamoDbLedger:
    """The ledger in DynamoDB: one item per (message_key, recipient), conditional writes for claims.

    boto3 is synchronous, so calls run on an executor; claims and results for a message are
    issued concurrently, never one after another.
    """

    def __init__(self, client: Any, table_name: str, executor: Executor, *, clock: Any = time.time) -> None:
        self._client = client
        self._table = table_name
        self._executor = executor
        self._clock = clock

    async def claim(self, message_key: str, recipients: Sequence[str], *, owner: str, lease_seconds: int) -> list[Claim]:
        loop = asyncio.get_running_loop()
        now = self._clock()
        calls = [loop.run_in_executor(self._executor, self._claim_one, message_key, r, owner, now, lease_seconds) for r in recipients]
        return list(await asyncio.gather(*calls))

    def _claim_one(self, message_key: str, recipient: str, owner: str, now: float, lease_seconds: int) -> Claim:
        try:
            granted = self._client.update_item(
                TableName=self._table,
                Key=_item_key(message_key, recipient),
                UpdateExpression=(
                    "SET #state = :sending, lease_until = :lease_until, #owner = :owner, "
                    "attempts = if_not_exists(attempts, :zero) + :one, updated_at = :now, expires_at = :expires"
                ),
                ConditionExpression=(
                    "attribute_not_exists(#state) "
                    "OR (#state IN (:deferred, :uncertain) AND (attribute_not_exists(next_attempt_at) OR next_attempt_at <= :due)) "
                    "OR (#state = :sending AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#state": "state", "#owner": "owner"},
                ExpressionAttributeValues={
                    ":sending": {"S": RecipientState.SENDING.value},
                    ":deferred": {"S": RecipientState.DEFERRED.value},
                    ":uncertain": {"S": RecipientState.UNCERTAIN.value},
                    ":lease_until": {"N": _number(now + lease_seconds)},
                    ":owner": {"S": owner},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":now": {"N": _number(now)},
                    ":expires": {"N": str(int(now + RETENTION_SECONDS))},
                    ":due": {"N": _number(now + DUE_TOLERANCE_SECONDS)},
                },
                ReturnValues="ALL_OLD",  # what the claim replaced: a SENDING row means a takeover
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            old = granted.get("Attributes") or {}
            return Claim(
                recipient,
                True,
                attempts=int(old.get("attempts", {}).get("N", "0")) + 1,
                uncertain=int(old.get("uncertain_count", {}).get("N", "0")),
                warned=old.get("warned", {}).get("BOOL", False),
                took_over=old.get("state", {}).get("S") == RecipientState.SENDING.value,
            )
        except self._client.exceptions.ConditionalCheckFailedException as refused:
            item = refused.response.get("Item") or {}
            return _claim_from_item(recipient, item)

    async def record(self, message_key: str, entries: Sequence[LedgerEntry]) -> None:
        loop = asyncio.get_running_loop()
        now = self._clock()
        await asyncio.gather(*(loop.run_in_executor(self._executor, self._record_one, message_key, e, now) for e in entries))

    def _record_one(self, message_key: str, entry: LedgerEntry, now: float) -> None:
        names = {"#state": "state"}
        values: dict[str, Any] = {
            ":state": {"S": entry.state.value},
            ":reported": {"BOOL": entry.reported},
            ":now": {"N": _number(now)},
            ":expires": {"N": str(int(now + RETENTION_SECONDS))},
        }
        sets = ["#state = :state", "reported = :reported", "updated_at = :now", "expires_at = :expires"]
        uncertain = (entry.state is RecipientState.UNCERTAIN) + entry.uncertain_attempts
        if uncertain:
            sets.append("uncertain_count = if_not_exists(uncertain_count, :zero) + :uncertain")
            values[":zero"], values[":uncertain"] = {"N": "0"}, {"N": str(uncertain)}
        if entry.warned:
            sets.append("warned = :warned")
            values[":warned"] = {"BOOL": True}
        removes = ["lease_until", "#owner"]
        if entry.next_attempt_at is not None:
            sets.append("next_attempt_at = :next")
            values[":next"] = {"N": _number(entry.next_attempt_at)}
        else:
            removes.append("next_attempt_at")
        if entry.reply is not None:
            sets += ["reply_status = :status", "reply_text = :text"]
            values[":status"] = {"S": entry.reply.status}
            values[":text"] = {"S": entry.reply.text[:2000] or "-"}
            if entry.reply.code is not None:
                sets.append("reply_code = :code")
                values[":code"] = {"N": str(entry.reply.code)}
            if entry.reply.remote_mta:
                sets.append("remote_mta = :mta")
                values[":mta"] = {"S": entry.reply.remote_mta}
        self._client.update_item(
            TableName=self._table,
            Key=_item_key(message_key, entry.recipient),
            UpdateExpression="SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
            ExpressionAttributeNames={**names, "#owner": "owner"},
            ExpressionAttributeValues=values,
        )

    async def mark_reported(self, message_key: str, recipients: Sequence[str]) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._executor, self._mark_one, message_key, r) for r in recipients))

    def _mark_one(self, message_key: str, recipient: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_item_key(message_key, recipient),
            UpdateExpression="SET reported = :yes",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )


def _item_key(message_key: str, recipient: str) -> dict[str, Any]:
    return {"message_key": {"S": message_key}, "recipient": {"S": ledger_key(recipient)}}


def _number(value: float) -> str:
    return f"{value:.3f}"


def _claim_from_item(recipient: str, item: dict[str, Any]) -> Claim:
    state = RecipientState(item["state"]["S"]) if "state" in item else None
    reply = None
    if "reply_status" in item:
        reply = Reply(
            code=int(item["reply_code"]["N"]) if "reply_code" in item else None,
            status=item["reply_status"]["S"],
            text=item.get("reply_text", {}).get("S", ""),
            remote_mta=item.get("remote_mta", {}).get("S"),
        )
    lease = float(item["lease_until"]["N"]) if state is RecipientState.SENDING and "lease_until" in item else None
    due = float(item["next_attempt_at"]["N"]) if state in (RecipientState.DEFERRED, RecipientState.UNCERTAIN) and "next_attempt_at" in item else None
    return Claim(
        recipient,
        False,
        state,
        item.get("reported", {}).get("BOOL", True),
        reply,
        lease,
        int(item.get("attempts", {}).get("N", "0")),
        int(item.get("uncertain_count", {}).get("N", "0")),
        item.get("warned", {}).get("BOOL", False),
        due,
    )
