"""The suppression list: addresses we no longer send to, and the policy that puts them there.

A hard bounce (the mailbox or domain does not exist, the account is disabled) suppresses the
address; later sends to it are skipped and reported as suppressed, unless a request says
`"ignore_suppression": true`. Failures that say nothing bad about the address (a full
mailbox, a policy or reputation block aimed at us, a temporary failure) never suppress it.

`python -m maildispatch.suppression list|show|add|remove` lists and edits the list.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Protocol, Sequence

from .report import REASON_REJECTED, BounceReport, FailedRecipient

REASON_HARD_BOUNCE = "hard_bounce"
REASON_MANUAL = "manual"

# RFC 3463 subject.detail codes that say the address itself is bad: bad mailbox (1.1), bad
# system/domain (1.2), bad syntax (1.3), moved (1.6), null MX (1.10), disabled mailbox (2.1).
# Not 2.2 (mailbox full: soft) and never 7.x (policy, reputation, authentication: about us).
HARD_BOUNCE_DETAILS = frozenset({"1.1", "1.2", "1.3", "1.6", "1.10", "2.1"})


@dataclass(frozen=True)
class Suppression:
    address: str  # lower case
    reason: str
    status: str | None = None
    diagnostic: str | None = None
    message_key: str | None = None
    created_at: float = field(default_factory=time.time)

    @property
    def summary(self) -> str:
        when = datetime.fromtimestamp(self.created_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        what = f"{self.reason} {self.status}" if self.status else self.reason
        return f"suppressed since {when} ({what}{': ' + self.diagnostic if self.diagnostic else ''})"


def is_hard_bounce(status: str | None) -> bool:
    if not status or not status.startswith("5."):
        return False
    return status.split(".", 1)[1] in HARD_BOUNCE_DETAILS


def suppressions_for(report: BounceReport, *, now: float) -> list[Suppression]:
    """The addresses a bounce report puts on the suppression list (the policy, as a pure function)."""
    if report.reason != REASON_REJECTED:
        return []
    return [
        Suppression(r.address.strip().lower(), REASON_HARD_BOUNCE, r.status, (r.diagnostic or "")[:500] or None, report.message_key, now)
        for r in report.recipients
        if is_hard_bounce(r.status)
    ]


def suppressed_recipient(address: str, entry: Suppression) -> FailedRecipient:
    """How a skipped recipient appears in the report to the sender."""
    return FailedRecipient(address=address, status=entry.status if entry.status and entry.status.startswith("5.") else "5.0.0", diagnostic=entry.summary)


class SuppressionList(Protocol):
    async def find(self, addresses: Sequence[str]) -> dict[str, Suppression]: ...  # keyed by lower-cased address

    async def add(self, entries: Sequence[Suppression]) -> None: ...


@dataclass
class InMemorySuppressionList:
    entries: dict[str, Suppression] = field(default_factory=dict)

    async def find(self, addresses: Sequence[str]) -> dict[str, Suppression]:
        return {a.lower(): self.entries[a.lower()] for a in addresses if a.lower() in self.entries}

    async def add(self, entries: Sequence[Suppression]) -> None:
        for entry in entries:
            self.entries.setdefault(entry.address, entry)


class NoSuppressionList:
    """For deployments without a suppression table: nothing is ever suppressed."""

    async def find(self, addresses: Sequence[str]) -> dict[str, Suppression]:
        return {}

    async def add(self, entries: Sequence[Suppression]) -> None:
        return None


class DynamoDbSuppressionList:
    """One item per address (partition key `address`), read with BatchGetItem, written once."""

    def __init__(self, client: Any, table_name: str, executor: Executor | None = None) -> None:
        self._client = client
        self._table = table_name
        self._executor = executor

    async def find(self, addresses: Sequence[str]) -> dict[str, Suppression]:
        if not addresses:
            return {}
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.find_now, addresses)

    async def add(self, entries: Sequence[Suppression]) -> None:
        if entries:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.add_now, entries)

    def find_now(self, addresses: Iterable[str]) -> dict[str, Suppression]:
        keys = sorted({a.lower() for a in addresses})
        found: dict[str, Suppression] = {}
        for start in range(0, len(keys), 100):
            request = {self._table: {"Keys": [{"address": {"S": k}} for k in keys[start : start + 100]], "ConsistentRead": True}}
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table, []):
                    entry = _from_item(item)
                    found[entry.address] = entry
                request = response.get("UnprocessedKeys") or None
        return found

    def add_now(self, entries: Sequence[Suppression]) -> None:
        for entry in entries:
            try:  # the first reason an address was suppressed is kept
                self._client.put_item(TableName=self._table, Item=_to_item(entry), ConditionExpression="attribute_not_exists(address)")
            except self._client.exceptions.ConditionalCheckFailedException:
                pass

    def remove_now(self, address: str) -> bool:
        response = self._client.delete_item(TableName=self._table, Key={"address": {"S": address.lower()}}, ReturnValues="ALL_OLD")
        return "Attributes" in response

    def all_now(self) -> list[Suppression]:
        items, start = [], None
        while True:
            page = self._client.scan(TableName=self._table, **({"ExclusiveStartKey": start} if start else {}))
            items += [_from_item(i) for i in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return sorted(items, key=lambda e: e.address)


def _to_item(entry: Suppression) -> dict[str, Any]:
    item: dict[str, Any] = {"address": {"S": entry.address}, "reason": {"S": entry.reason}, "created_at": {"N": f"{entry.created_at:.3f}"}}
    for name in ("status", "diagnostic", "message_key"):
        value = getattr(entry, name)
        if value:
            item[name] = {"S": value}
    return item


def _from_item(item: dict[str, Any]) -> Suppression:
    text = lambda name: item[name]["S"] if name in item else None  # noqa: E731
    return Suppression(item["address"]["S"], item["reason"]["S"], text("status"), text("diagnostic"), text("message_key"), float(item["created_at"]["N"]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maildispatch.suppression", description="List and edit the suppression list.")
    parser.add_argument("--table", required=True, help="the stack's SuppressionTableName output")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every suppressed address, why and since when")
    for name, help_text in (("show", "one address"), ("remove", "send to the address again"), ("add", "suppress an address by hand")):
        commands.add_parser(name, help=help_text).add_argument("address")
    args = parser.parse_args(argv)
    import boto3

    store = DynamoDbSuppressionList(boto3.client("dynamodb"), args.table)
    if args.command == "list":
        for entry in store.all_now():
            print(f"{entry.address}\t{entry.summary}")
        return 0
    if args.command == "show":
        entry = store.find_now([args.address]).get(args.address.lower())
        print(f"{args.address.lower()}\t{entry.summary}" if entry else f"{args.address.lower()} is not suppressed")
        return 0 if entry else 1
    if args.command == "remove":
        removed = store.remove_now(args.address)
        print(f"{args.address.lower()} {'removed' if removed else 'was not on the list'}")
        return 0 if removed else 1
    store.add_now([Suppression(args.address.lower(), REASON_MANUAL)])
    print(f"{args.address.lower()} suppressed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
