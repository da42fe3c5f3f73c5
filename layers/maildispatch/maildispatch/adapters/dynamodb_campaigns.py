"""Campaigns in DynamoDB (CampaignTable, keys pk/sk), and the ledger counted by campaign.

Items:
  pk campaign#<id>, sk campaign      the campaign: spec (JSON), state, version, checkpoint (JSON),
                                     reason, times, health counters (attempted, bounced, complained)
  pk campaign#<id>, sk bad#<row>     a bad row (few per campaign: one partition is fine)
  pk recipient#<id>#<hash>, sk seen  the first row with that address; spread over partitions, since a
                                     list of a million writes a million of them in minutes

Every state change and checkpoint is a conditional update, so two writers (a pause and a fan-out, two
fan-outs of one campaign) cannot both win.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from maildispatch.adapters.dynamodb_ledger import LEDGER_CAMPAIGN_INDEX, LEDGER_CAMPAIGN_SHARDS
from maildispatch.core.campaign import (
    TRANSITIONS,
    BadRow,
    CampaignRecord,
    CampaignState,
    Checkpoint,
    TransitionRefused,
    parse_campaign,
)
from maildispatch.core.ledger import NEVER

CAMPAIGN_SK = "campaign"
MARKER_RETENTION_SECONDS = 90 * 24 * 3600


def _pk(campaign_id: str) -> dict[str, Any]:
    return {"S": f"campaign#{campaign_id}"}


def _key(campaign_id: str) -> dict[str, Any]:
    return {"pk": _pk(campaign_id), "sk": {"S": CAMPAIGN_SK}}


class DynamoDbCampaignStore:
    def __init__(self, client: Any, table_name: str, executor: Executor, *, clock: Any = time.time) -> None:
        self._client = client
        self._table = table_name
        self._executor = executor
        self._clock = clock

    async def _run(self, fn: Any, /, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def create(self, record: CampaignRecord) -> bool:
        return bool(await self._run(self._create, record))

    def _create(self, record: CampaignRecord) -> bool:
        item = {
            **_key(record.campaign_id),
            "spec": {"S": json.dumps(record.spec.to_document(), separators=(",", ":"))},
            "state": {"S": record.state.value},
            "version": {"N": str(record.version)},
            "checkpoint": {"S": _checkpoint_json(record.checkpoint)},
            "created_at": {"N": f"{record.created_at:.3f}"},
            "updated_at": {"N": f"{self._clock():.3f}"},
            "attempted": {"N": "0"},
            "bounced": {"N": "0"},
            "complained": {"N": "0"},
            "unsubscribed": {"N": "0"},
        }
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    async def get(self, campaign_id: str) -> CampaignRecord | None:
        return await self._run(self._get, campaign_id)  # type: ignore[no-any-return]

    def _get(self, campaign_id: str) -> CampaignRecord | None:
        item = self._client.get_item(TableName=self._table, Key=_key(campaign_id), ConsistentRead=True).get("Item")
        return _record(item) if item else None

    async def transition(
        self, campaign_id: str, action: str, *, now: float, reason: str | None = None
    ) -> CampaignRecord:
        return await self._run(self._transition, campaign_id, action, now, reason)  # type: ignore[no-any-return]

    def _transition(self, campaign_id: str, action: str, now: float, reason: str | None) -> CampaignRecord:
        sources, target = TRANSITIONS[action]
        allowed = sorted(s.value for s in sources)
        values: dict[str, Any] = {f":s{i}": {"S": s} for i, s in enumerate(allowed)}
        values.update({":target": {"S": target.value}, ":now": {"N": f"{now:.3f}"}})
        sets = ["#state = :target", "updated_at = :now"]
        if reason is not None:
            sets.append("reason = :reason")
            values[":reason"] = {"S": reason[:500]}
        elif action in ("resume", "start"):
            sets.append("reason = :none")
            values[":none"] = {"NULL": True}
        if action == "start":
            sets.append("started_at = if_not_exists(started_at, :now)")
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(campaign_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"#state IN ({', '.join(f':s{i}' for i in range(len(allowed)))})",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as refused:
            old = refused.response.get("Item")
            if not old:
                raise LookupError(campaign_id) from None
            raise TransitionRefused(campaign_id, action, CampaignState(old["state"]["S"])) from None
        return _record(response["Attributes"])

    async def save_checkpoint(self, campaign_id: str, checkpoint: Checkpoint, *, version: int) -> bool:
        return bool(await self._run(self._save_checkpoint, campaign_id, checkpoint, version))

    def _save_checkpoint(self, campaign_id: str, checkpoint: Checkpoint, version: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(campaign_id),
                UpdateExpression="SET checkpoint = :cp, version = :next, updated_at = :now",
                ConditionExpression="#state = :running AND version = :version",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":cp": {"S": _checkpoint_json(checkpoint)},
                    ":next": {"N": str(version + 1)},
                    ":version": {"N": str(version)},
                    ":running": {"S": CampaignState.RUNNING.value},
                    ":now": {"N": f"{self._clock():.3f}"},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    async def first_seen(self, campaign_id: str, rows: Sequence[tuple[str, int]]) -> list[bool]:
        return list(await asyncio.gather(*(self._run(self._first_seen, campaign_id, h, row) for h, row in rows)))

    def _first_seen(self, campaign_id: str, digest: str, row: int) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"recipient#{campaign_id}#{digest}"},
                    "sk": {"S": "seen"},
                    "row_number": {"N": str(row)},
                    "expires_at": {"N": str(int(self._clock() + MARKER_RETENTION_SECONDS))},
                },
                ConditionExpression="attribute_not_exists(pk) OR row_number = :row",
                ExpressionAttributeValues={":row": {"N": str(row)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    async def report_bad_rows(self, campaign_id: str, rows: Sequence[BadRow]) -> None:
        await self._run(self._report_bad_rows, campaign_id, list(rows))

    def _report_bad_rows(self, campaign_id: str, rows: list[BadRow]) -> None:
        expires = str(int(self._clock() + MARKER_RETENTION_SECONDS))
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": _pk(campaign_id),
                        "sk": {"S": f"bad#{row.row:012d}"},
                        "doc": {"S": json.dumps(row.to_document(), ensure_ascii=False)},
                        "expires_at": {"N": expires},
                    }
                }
            }
            for row in rows
        ]
        for start in range(0, len(requests), 25):
            pending = {self._table: requests[start : start + 25]}
            for attempt in range(8):
                response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise RuntimeError(f"bad rows of campaign {campaign_id} not stored (DynamoDB kept refusing)")

    async def bad_rows(self, campaign_id: str, *, limit: int = 1000) -> list[BadRow]:
        return await self._run(self._bad_rows, campaign_id, limit)  # type: ignore[no-any-return]

    def _bad_rows(self, campaign_id: str, limit: int) -> list[BadRow]:
        found: list[BadRow] = []
        start = None
        while len(found) < limit:
            page = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :bad)",
                ExpressionAttributeValues={":pk": _pk(campaign_id), ":bad": {"S": "bad#"}},
                Limit=min(1000, limit - len(found)),
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for item in page["Items"]:
                doc = json.loads(item["doc"]["S"])
                found.append(BadRow(doc["row"], doc["offset"], doc["field"], doc["problem"]))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return found

    async def count_outcomes(
        self,
        campaign_id: str,
        *,
        attempted: int,
        bounced: int,
        complained: int = 0,
        final: int = 0,
        unsubscribed: int = 0,
    ) -> CampaignRecord | None:
        counts = (attempted, bounced, complained, final, unsubscribed)
        return await self._run(self._count, campaign_id, counts)  # type: ignore[no-any-return]

    def _count(self, campaign_id: str, counts: tuple[int, int, int, int, int]) -> CampaignRecord | None:
        attempted, bounced, complained, final, unsubscribed = counts
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(campaign_id),
                UpdateExpression="ADD attempted :a, bounced :b, complained :c, final_count :f, unsubscribed :u",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":a": {"N": str(attempted)},
                    ":b": {"N": str(bounced)},
                    ":c": {"N": str(complained)},
                    ":f": {"N": str(final)},
                    ":u": {"N": str(unsubscribed)},
                },
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return _record(response["Attributes"])


def _checkpoint_json(cp: Checkpoint) -> str:
    doc = {
        "offset": cp.offset,
        "row": cp.row,
        "header": list(cp.header) if cp.header is not None else None,
        "enqueued": cp.enqueued,
        "invalid": cp.invalid,
        "suppressed": cp.suppressed,
        "duplicates": cp.duplicates,
        "done": cp.done,
        "preflight_passed": cp.preflight_passed,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _checkpoint(text: str) -> Checkpoint:
    doc = json.loads(text)
    header = doc.get("header")
    return Checkpoint(
        offset=int(doc["offset"]),
        row=int(doc["row"]),
        header=tuple(header) if header is not None else None,
        enqueued=int(doc["enqueued"]),
        invalid=int(doc["invalid"]),
        suppressed=int(doc["suppressed"]),
        duplicates=int(doc["duplicates"]),
        done=bool(doc["done"]),
        preflight_passed=bool(doc.get("preflight_passed", False)),
    )


def _number(item: dict[str, Any], name: str) -> int:
    return int(float(item.get(name, {}).get("N", "0")))


def _record(item: dict[str, Any]) -> CampaignRecord:
    spec_doc = json.loads(item["spec"]["S"])
    return CampaignRecord(
        spec=parse_campaign(spec_doc),
        state=CampaignState(item["state"]["S"]),
        checkpoint=_checkpoint(item["checkpoint"]["S"]),
        version=_number(item, "version"),
        reason=item.get("reason", {}).get("S"),
        created_at=float(item.get("created_at", {}).get("N", "0")),
        started_at=float(item["started_at"]["N"]) if "started_at" in item else None,
        attempted=_number(item, "attempted"),
        bounced=_number(item, "bounced"),
        complained=_number(item, "complained"),
        unsubscribed=_number(item, "unsubscribed"),
        final=_number(item, "final_count"),
    )


# --- The ledger, counted by campaign ---------------------------------------------------------------


class DynamoDbLedgerCounts:
    """Counts a campaign's ledger items by state through the ByCampaign index (keys, plus next_attempt_at):
    one paginated query per shard, states counted from the items."""

    def __init__(self, client: Any, table_name: str, executor: Executor) -> None:
        self._client = client
        self._table = table_name
        self._executor = executor

    async def by_state(self, campaign_id: str) -> dict[str, int]:
        loop = asyncio.get_running_loop()
        calls = [
            loop.run_in_executor(self._executor, self._count, f"{campaign_id}#{shard}")
            for shard in range(LEDGER_CAMPAIGN_SHARDS)
        ]
        counts: dict[str, int] = {}
        for found in await asyncio.gather(*calls):
            for state, n in found.items():
                counts[state] = counts.get(state, 0) + n
        return counts

    def _count(self, partition: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        start = None
        while True:
            page = self._client.query(
                TableName=self._table,
                IndexName=LEDGER_CAMPAIGN_INDEX,
                KeyConditionExpression="campaign_shard = :c",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":c": {"S": partition}},
                ProjectionExpression="#state, next_attempt_at",
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for item in page["Items"]:
                state = item["state"]["S"]
                if state == "uncertain" and float(item.get("next_attempt_at", {}).get("N", "1e12")) < NEVER / 10:
                    state = "uncertain_retry"  # a retry is due: pending, not final
                counts[state] = counts.get(state, 0) + 1
            start = page.get("LastEvaluatedKey")
            if not start:
                return counts
