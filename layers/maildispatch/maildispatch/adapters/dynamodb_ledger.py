"""The delivery ledger in DynamoDB: one item per (message_key, recipient), conditional writes for claims."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from maildispatch.core.campaign_keys import campaign_of_key
from maildispatch.core.ledger import (
    DUE_TOLERANCE_SECONDS,
    RETENTION_SECONDS,
    Claim,
    LedgerEntry,
    RecipientState,
    ledger_key,
)
from maildispatch.core.outcome import Reply

LEDGER_CAMPAIGN_INDEX = "ByCampaign"  # campaign_shard + state: a campaign's recipients counted by state
LEDGER_CAMPAIGN_SHARDS = 8  # the index's partition key is campaign#shard: one partition takes ~1000 writes/s


def ledger_campaign_shard(campaign_id: str, recipient: str) -> str:
    """The ledger item's ByCampaign partition: the campaign and a shard from the recipient."""
    shard = sum(ledger_key(recipient).encode("utf-8")) % LEDGER_CAMPAIGN_SHARDS
    return f"{campaign_id}#{shard}"


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

    async def claim(
        self, message_key: str, recipients: Sequence[str], *, owner: str, lease_seconds: int
    ) -> list[Claim]:
        loop = asyncio.get_running_loop()
        now = self._clock()
        calls = [
            loop.run_in_executor(self._executor, self._claim_one, message_key, r, owner, now, lease_seconds)
            for r in recipients
        ]
        return list(await asyncio.gather(*calls))

    def _claim_one(self, message_key: str, recipient: str, owner: str, now: float, lease_seconds: int) -> Claim:
        campaign = campaign_of_key(message_key)
        # A campaign's items carry their ByCampaign partition, so its status counts them by state.
        tagged = {":campaign": {"S": ledger_campaign_shard(campaign, recipient)}} if campaign else {}
        try:
            granted = self._client.update_item(
                TableName=self._table,
                Key=_item_key(message_key, recipient),
                UpdateExpression=(
                    "SET #state = :sending, lease_until = :lease_until, #owner = :owner, "
                    "attempts = if_not_exists(attempts, :zero) + :one, updated_at = :now, expires_at = :expires"
                    + (", campaign_shard = :campaign" if campaign else "")
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
                    **tagged,
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
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, self._record_one, message_key, e, now) for e in entries)
        )

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
        if not entry.counts_as_attempt:
            sets.append("attempts = attempts - :one")
            values[":one"] = {"N": "1"}
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
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, self._mark_one, message_key, r) for r in recipients)
        )

    async def release(self, message_key: str, recipients: Sequence[str], *, owner: str) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(
                loop.run_in_executor(self._executor, _release_one, self._client, self._table, message_key, r, owner)
                for r in recipients
            )
        )

    def _mark_one(self, message_key: str, recipient: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_item_key(message_key, recipient),
            UpdateExpression="SET reported = :yes",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )


def _release_one(client: Any, table: str, message_key: str, recipient: str, owner: str) -> None:
    try:
        client.delete_item(
            TableName=table,
            Key=_item_key(message_key, recipient),
            ConditionExpression="#state = :sending AND #owner = :owner",
            ExpressionAttributeNames={"#state": "state", "#owner": "owner"},
            ExpressionAttributeValues={":sending": {"S": RecipientState.SENDING.value}, ":owner": {"S": owner}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        pass  # another invocation took the claim over: it is theirs now


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
    due = (
        float(item["next_attempt_at"]["N"])
        if state in (RecipientState.DEFERRED, RecipientState.UNCERTAIN) and "next_attempt_at" in item
        else None
    )
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
        updated_at=float(item["updated_at"]["N"]) if "updated_at" in item else None,
    )
