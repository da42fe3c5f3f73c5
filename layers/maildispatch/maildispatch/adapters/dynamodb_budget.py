"""The relay's budget in DynamoDB (RelayBudgetTable): conditional writes, no locks, no read-modify-write.

Items, partition key `relay` (the relay's budget key), sort key `slot`:
- `pace`: `tat` (the GCRA theoretical arrival time, core/budget.py) and `paused_until`;
- `q#<bucket>`: `count`, recipients counted in that quota bucket (10 minutes), `expires_at` (TTL).

A rate draw is one UpdateItem: `SET tat = tat + :cost` when the relay is busy (tat >= now and
within the tolerance), else `SET tat = :now + :cost` when it is idle; both conditioned on the
relay not being paused. A failed condition returns the item (ReturnValuesOnConditionCheckFailure),
which says which case holds, so a refusal costs no extra read. A quota draw is one UpdateItem on
the current bucket, `ADD count :n` if `count <= quota - older - n`, where `older` (the window's
other buckets) is read with one Query per bucket period and kept: past buckets no longer grow.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Any

from maildispatch.core import budget as arithmetic
from maildispatch.core.budget import BudgetConfig, Draw, Granted, Refused

PACE_SLOT = "pace"
QUOTA_PREFIX = "q#"
CONTENTION_RETRIES = 4  # both rate branches lost to other writers this often: call it a refusal for a moment
CONTENTION_WAIT = 1.0


def quota_slot(bucket: int) -> str:
    return f"{QUOTA_PREFIX}{bucket:012d}"  # fixed width: string order is number order


class DynamoDbRelayBudget:
    """ports.RelayBudget for one relay. Keep one per container: it remembers the quota window's older buckets."""

    def __init__(
        self, client: Any, table_name: str, relay_key: str, config: BudgetConfig, executor: Executor | None = None
    ) -> None:
        self._client = client
        self._table = table_name
        self._relay = relay_key
        self._config = config
        self._executor = executor
        self._older: tuple[int, dict[int, int]] | None = None  # (current bucket, counts of the buckets before it)
        self._idle_last_time = True  # which rate branch to try first

    async def draw(self, count: int, *, now: float) -> Draw:
        draw: Draw = await self._run(self.draw_now, count, now)
        return draw

    async def refund(self, granted: Granted, count: int, *, now: float) -> None:
        await self._run(self.refund_now, granted, count, now)

    async def pause(self, until: float, *, now: float) -> None:
        await self._run(self.pause_now, until, now)

    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    # --- synchronous, for the executor and the command line ------------------------------------

    def draw_now(self, count: int, now: float) -> Draw:
        start = now
        if self._config.rate_per_second is not None:
            rate = self._draw_rate(count, now)
            if isinstance(rate, Refused):
                return rate
            start = rate.start_at
        else:
            paused = self._paused_until()
            if paused > now:
                return Refused(paused, "paused")
        bucket = None
        if self._config.daily_quota is not None:
            quota = self._draw_quota(count, now)
            if isinstance(quota, Refused):
                if self._config.rate_per_second is not None:
                    self._give_back_rate(count)
                return quota
            bucket = quota
        return Granted(count, start, bucket)

    def refund_now(self, granted: Granted, count: int, now: float) -> None:
        if self._config.rate_per_second is not None:
            self._give_back_rate(count)
        if granted.quota_bucket is not None:
            self._conditional(
                Key=self._key(quota_slot(granted.quota_bucket)),
                UpdateExpression="ADD #count :minus",
                ConditionExpression="attribute_exists(#count)",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={":minus": {"N": str(-count)}},
            )
            if self._older is not None and granted.quota_bucket in self._older[1]:
                self._older[1][granted.quota_bucket] -= count

    def pause_now(self, until: float, now: float) -> None:
        self._conditional(
            Key=self._key(PACE_SLOT),
            UpdateExpression="SET paused_until = :until",
            ConditionExpression="attribute_not_exists(paused_until) OR paused_until < :until",
            ExpressionAttributeValues={":until": _n(until)},
        )

    def state_now(self) -> dict[str, Any]:
        """The pace item and the quota buckets, as numbers (for tests and the command line)."""
        pace = self._client.get_item(TableName=self._table, Key=self._key(PACE_SLOT), ConsistentRead=True)
        item = pace.get("Item") or {}
        counts = self._query_counts(QUOTA_PREFIX, QUOTA_PREFIX + "~")
        return {
            "tat": float(item["tat"]["N"]) if "tat" in item else None,
            "paused_until": float(item["paused_until"]["N"]) if "paused_until" in item else None,
            "quota_buckets": counts,
        }

    # --- rate ------------------------------------------------------------------------------------

    def _draw_rate(self, count: int, now: float) -> Draw:
        config = self._config
        cost = arithmetic.cost_seconds(config, count)
        not_paused = "(attribute_not_exists(paused_until) OR paused_until <= :now)"
        for _ in range(CONTENTION_RETRIES):
            if not self._idle_last_time:
                ok, item = self._update_pace(
                    "SET tat = tat + :cost",
                    f"attribute_exists(tat) AND tat >= :now AND tat <= :limit AND {not_paused}",
                    {":cost": _n(cost), ":now": _n(now), ":limit": _n(arithmetic.busy_limit(config, count, now))},
                )
                if ok:
                    new_tat = float(item["tat"]["N"])
                    return Granted(count, arithmetic.start_after(config, new_tat, count, now))
                refused = self._refusal(item, count, now)
                if refused is not None:
                    return refused
            ok, item = self._update_pace(
                "SET tat = :new_tat",
                f"(attribute_not_exists(tat) OR tat < :now) AND {not_paused}",
                {":new_tat": _n(now + cost), ":now": _n(now)},
            )
            if ok:
                self._idle_last_time = True
                return Granted(count, arithmetic.start_after(config, now + cost, count, now))
            refused = self._refusal(item, count, now)
            if refused is not None:
                self._idle_last_time = False
                return refused
            self._idle_last_time = False  # busy: try the busy branch next
        return Refused(now + CONTENTION_WAIT, "rate")

    def _refusal(self, item: dict[str, Any], count: int, now: float) -> Refused | None:
        """Why a rate update's condition failed, when it is a refusal (None: the other branch may work)."""
        paused = float(item["paused_until"]["N"]) if "paused_until" in item else 0.0
        if paused > now:
            return Refused(paused, "paused")
        if "tat" in item:
            tat = float(item["tat"]["N"])
            if tat >= now and tat > arithmetic.busy_limit(self._config, count, now):
                return Refused(arithmetic.rate_retry_at(self._config, tat, count), "rate")
        return None

    def _update_pace(self, expression: str, condition: str, values: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(PACE_SLOT),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return True, response.get("Attributes") or {}
        except self._client.exceptions.ConditionalCheckFailedException as failed:
            return False, failed.response.get("Item") or {}

    def _give_back_rate(self, count: int) -> None:
        self._conditional(
            Key=self._key(PACE_SLOT),
            UpdateExpression="SET tat = tat - :cost",
            ConditionExpression="attribute_exists(tat)",
            ExpressionAttributeValues={":cost": _n(arithmetic.cost_seconds(self._config, count))},
        )

    def _paused_until(self) -> float:
        item = self._client.get_item(TableName=self._table, Key=self._key(PACE_SLOT), ConsistentRead=True).get("Item")
        return float(item["paused_until"]["N"]) if item and "paused_until" in item else 0.0

    # --- quota -----------------------------------------------------------------------------------

    def _draw_quota(self, count: int, now: float) -> int | Refused:
        config = self._config
        current = arithmetic.bucket_of(config, now)
        older = self._older_counts(current, now)
        limit = arithmetic.current_bucket_limit(config, sum(older.values()), count)
        if limit >= 0:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(quota_slot(current)),
                    UpdateExpression="SET expires_at = :expires ADD #count :n",
                    ConditionExpression="attribute_not_exists(#count) OR #count <= :limit",
                    ExpressionAttributeNames={"#count": "count"},
                    ExpressionAttributeValues={
                        ":n": {"N": str(count)},
                        ":limit": {"N": str(limit)},
                        ":expires": {"N": str(arithmetic.bucket_expiry(config, current))},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return current
            except self._client.exceptions.ConditionalCheckFailedException as failed:
                item = failed.response.get("Item") or {}
                current_count = int(item["count"]["N"]) if "count" in item else 0
        else:
            current_count = 0
        counts = {**older, current: current_count}
        return Refused(arithmetic.quota_frees_at(config, counts, now, count), "quota")

    def _older_counts(self, current: int, now: float) -> dict[int, int]:
        if self._older is not None and self._older[0] == current:
            return self._older[1]
        span = arithmetic.window(self._config, now)
        counts = self._query_counts(quota_slot(span.start), quota_slot(current - 1))
        self._older = (current, counts)
        return counts

    def _query_counts(self, low: str, high: str) -> dict[int, int]:
        counts: dict[int, int] = {}
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#relay = :relay AND #slot BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#relay": "relay", "#slot": "slot"},  # never mind reserved words
            "ExpressionAttributeValues": {":relay": {"S": self._relay}, ":low": {"S": low}, ":high": {"S": high}},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**request)
            for item in page["Items"]:
                slot = item["slot"]["S"]
                if slot.startswith(QUOTA_PREFIX) and "count" in item:
                    counts[int(slot[len(QUOTA_PREFIX) :])] = int(item["count"]["N"])
            if "LastEvaluatedKey" not in page:
                return counts
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- plumbing --------------------------------------------------------------------------------

    def _key(self, slot: str) -> dict[str, Any]:
        return {"relay": {"S": self._relay}, "slot": {"S": slot}}

    def _conditional(self, **request: Any) -> bool:
        try:
            self._client.update_item(TableName=self._table, **request)
            return True
        except self._client.exceptions.ConditionalCheckFailedException:
            return False


def _n(value: float) -> dict[str, str]:
    return {"N": f"{value:.6f}"}


def relay_budget(
    client: Any, table_name: str | None, relay_key: str, config: BudgetConfig, executor: Executor | None = None
) -> DynamoDbRelayBudget | None:
    """The relay's budget when one is configured (a table and a rate or a quota), else None: no budget calls."""
    if not table_name or not config.enabled:
        return None
    return DynamoDbRelayBudget(client, table_name, relay_key, config, executor)
