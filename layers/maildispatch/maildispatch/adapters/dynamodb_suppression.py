"""The suppression list in DynamoDB: one item per address, soft-bounce counters beside it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from typing import Any

from maildispatch.core.suppression import (
    SOFT_BOUNCE_WINDOW,
    SOFT_KEY_PREFIX,
    Suppression,
    SuppressionReason,
    suppression_key,
)
from maildispatch.ports import NoSuppressionList, SuppressionList


class DynamoDbSuppressionList:
    """One item per address (partition key `address`), read with BatchGetItem, written once. A scoped entry
    (an unsubscribe from one list) is kept under "<scope> <address>" with a `scope` attribute."""

    def __init__(self, client: Any, table_name: str, executor: Executor | None = None) -> None:
        self._client = client
        self._table = table_name
        self._executor = executor

    async def find(self, addresses: Sequence[str], *, scopes: Sequence[str] = ()) -> dict[str, Suppression]:
        if not addresses:
            return {}
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.find_now, addresses, scopes)

    async def add(self, entries: Sequence[Suppression]) -> None:
        if entries:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.add_now, entries)

    async def count_soft_bounce(self, address: str, *, at: float, event_id: str) -> int:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self.count_soft_bounce_now, address, at, event_id
        )

    def count_soft_bounce_now(self, address: str, at: float, event_id: str) -> int:
        """Soft bounces live beside the list, keyed SOFT_KEY_PREFIX + address, as a string set of
        "<time>|<event id>": adding the same event again changes nothing."""
        key = {"address": {"S": f"{SOFT_KEY_PREFIX}{address.lower()}"}}
        response = self._client.update_item(
            TableName=self._table,
            Key=key,
            UpdateExpression="ADD soft_bounces :event",
            ExpressionAttributeValues={":event": {"SS": [f"{at:.3f}|{event_id}"]}},  # the time as compared below
            ReturnValues="ALL_NEW",
        )
        entries = response["Attributes"]["soft_bounces"]["SS"]
        recent = [e for e in entries if at - SOFT_BOUNCE_WINDOW < float(e.split("|", 1)[0]) <= at]
        stale = [e for e in entries if float(e.split("|", 1)[0]) <= at - SOFT_BOUNCE_WINDOW]
        if stale:  # keep the item small
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="DELETE soft_bounces :stale",
                ExpressionAttributeValues={":stale": {"SS": stale}},
            )
        return len(recent)

    def find_now(self, addresses: Iterable[str], scopes: Sequence[str] = ()) -> dict[str, Suppression]:
        plain = {a.strip().lower() for a in addresses}
        keys = sorted(plain | {suppression_key(a, scope) for a in plain for scope in scopes})
        found: dict[str, Suppression] = {}
        for start in range(0, len(keys), 100):
            request = {
                self._table: {
                    "Keys": [{"address": {"S": k}} for k in keys[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table, []):
                    entry = _from_item(item)
                    if entry.scope is not None or entry.address not in found:  # a scoped entry wins
                        found[entry.address] = entry
                request = response.get("UnprocessedKeys") or {}
        return found

    def add_now(self, entries: Sequence[Suppression]) -> None:
        for entry in entries:
            try:  # the first reason an address was suppressed is kept
                self._client.put_item(
                    TableName=self._table, Item=_to_item(entry), ConditionExpression="attribute_not_exists(address)"
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                pass

    def remove_now(self, address: str) -> bool:
        response = self._client.delete_item(
            TableName=self._table, Key={"address": {"S": address.lower()}}, ReturnValues="ALL_OLD"
        )
        return "Attributes" in response

    def all_now(self) -> list[Suppression]:
        items, start = [], None
        while True:
            page = self._client.scan(TableName=self._table, **({"ExclusiveStartKey": start} if start else {}))
            items += [_from_item(i) for i in page["Items"] if not i["address"]["S"].startswith(SOFT_KEY_PREFIX)]
            start = page.get("LastEvaluatedKey")
            if not start:
                return sorted(items, key=lambda e: e.address)


def _to_item(entry: Suppression) -> dict[str, Any]:
    item: dict[str, Any] = {
        "address": {"S": entry.key},
        "reason": {"S": entry.reason},
        "created_at": {"N": f"{entry.created_at:.3f}"},
    }
    for name in ("status", "diagnostic", "message_key", "scope"):
        value = getattr(entry, name)
        if value:
            item[name] = {"S": value}
    return item


def _from_item(item: dict[str, Any]) -> Suppression:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    scope = text("scope")
    key = item["address"]["S"]
    return Suppression(
        key[len(scope) + 1 :] if scope and key.startswith(scope + " ") else key,
        SuppressionReason(item["reason"]["S"]),
        text("status"),
        text("diagnostic"),
        text("message_key"),
        float(item["created_at"]["N"]),
        scope,
    )


def suppression_list(client: Any, table_name: str | None, executor: Executor | None = None) -> SuppressionList:
    """The deployment's suppression list: its DynamoDB table, or none at all when no table is configured."""
    return DynamoDbSuppressionList(client, table_name, executor) if table_name else NoSuppressionList()
