"""The suppression list: addresses we no longer send to, and the policy that puts them there.

The policy, on one classification for every input (an SMTP reply during the session, a bounce
that came back as mail, an SES notification): a hard bounce (no such mailbox or domain, moved)
suppresses the address; soft bounces are counted and suppress it once there are
SOFT_BOUNCE_LIMIT within SOFT_BOUNCE_WINDOW; a complaint suppresses it; a block aimed at our own
sending reputation or set-up (blocked, badreputation, requireptr, authfailure) never does: it
says nothing about the recipient, and is counted for its own metric and alarm instead. Later
sends to a suppressed address are skipped and reported as suppressed, unless a request says
`"ignore_suppression": true`.

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

from .report import REASON_COMPLAINT as REPORT_COMPLAINT
from .report import REASON_EXPIRED, REASON_REJECTED, REASON_RETURNED, BounceReport, FailedRecipient

# How returned mail was matched to what we sent (returned_intake): only these can suppress.
VERIFIED_MATCHES = ("verp", "message_id")
# Mirrors returned.model.REPUTATION_REASONS without importing the classifier at cold start.
REPUTATION_REASONS = frozenset({"blocked", "badreputation", "requireptr", "authfailure"})

REASON_HARD_BOUNCE = "hard_bounce"
REASON_SOFT_BOUNCES = "soft_bounces"
REASON_COMPLAINT = "complaint"
REASON_MANUAL = "manual"

SOFT_BOUNCE_LIMIT = 3  # soft bounces ...
SOFT_BOUNCE_WINDOW = 14 * 86400  # ... within this many seconds suppress the address
SOFT_KEY_PREFIX = "soft bounces: "  # the soft-bounce counter's key beside the address's (a space: never in a valid key)


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


def classify_failure(recipient: FailedRecipient) -> tuple[str, bool | None]:
    """The reason label and hard/soft of a failed recipient: as classified when it came back as
    mail, else read from its SMTP reply by the same classifier."""
    if recipient.classification is not None:
        return recipient.classification, recipient.hard
    from .returned.model import is_hard
    from .returned.reason import classify_reason

    reason, _ = classify_reason(recipient.status, recipient.reply_code, recipient.diagnostic)
    return reason, is_hard(reason, recipient.status, recipient.reply_code)


@dataclass(frozen=True)
class SuppressionDecision:
    suppress: tuple[Suppression, ...] = ()
    soft_bounces: tuple[str, ...] = ()  # addresses whose soft bounce is counted toward the limit
    reputation_blocks: int = 0  # recipients refused because of us, not them


def suppression_decision(report: BounceReport, *, now: float) -> SuppressionDecision:
    """What a bounce report does to the suppression list (the policy, as a pure function)."""
    if report.reason in (REASON_RETURNED, REPORT_COMPLAINT) and report.source.get("matched_by") not in VERIFIED_MATCHES:
        return SuppressionDecision()  # returned mail that proved nothing about what we sent suppresses nothing
    if report.reason == REPORT_COMPLAINT:
        return SuppressionDecision(tuple(_entry(r, REASON_COMPLAINT, report, now) for r in report.recipients))
    if report.reason not in (REASON_REJECTED, REASON_RETURNED, REASON_EXPIRED):
        return SuppressionDecision()
    suppress, soft, blocks = [], [], 0
    for recipient in report.recipients:
        reason, hard = classify_failure(recipient) if report.reason != REASON_EXPIRED else ("expired", False)
        if reason in REPUTATION_REASONS:
            blocks += 1
        elif hard:
            suppress.append(_entry(recipient, REASON_HARD_BOUNCE, report, now))
        elif hard is False:
            soft.append(recipient.address.strip().lower())
    return SuppressionDecision(tuple(suppress), tuple(soft), blocks)


def _entry(recipient: FailedRecipient, reason: str, report: BounceReport, now: float) -> Suppression:
    return Suppression(recipient.address.strip().lower(), reason, recipient.status, (recipient.diagnostic or "")[:500] or None, report.message_key, now)


def suppressed_recipient(address: str, entry: Suppression) -> FailedRecipient:
    """How a skipped recipient appears in the report to the sender."""
    return FailedRecipient(address=address, status=entry.status if entry.status and entry.status.startswith("5.") else "5.0.0", diagnostic=entry.summary)


class SuppressionList(Protocol):
    async def find(self, addresses: Sequence[str]) -> dict[str, Suppression]: ...  # keyed by lower-cased address

    async def add(self, entries: Sequence[Suppression]) -> None: ...

    async def count_soft_bounce(self, address: str, *, at: float, event_id: str) -> int:
        """Soft bounces within the window before `at`, this one included; counting the same event twice counts it once."""
        ...


@dataclass
class InMemorySuppressionList:
    entries: dict[str, Suppression] = field(default_factory=dict)

    async def find(self, addresses: Sequence[str]) -> dict[str, Suppression]:
        return {a.lower(): self.entries[a.lower()] for a in addresses if a.lower() in self.entries}

    soft: dict[str, dict[str, float]] = field(default_factory=dict)

    async def add(self, entries: Sequence[Suppression]) -> None:
        for entry in entries:
            self.entries.setdefault(entry.address, entry)

    async def count_soft_bounce(self, address: str, *, at: float, event_id: str) -> int:
        seen = self.soft.setdefault(address.lower(), {})
        seen[event_id] = at
        return sum(1 for t in seen.values() if at - SOFT_BOUNCE_WINDOW < t <= at)


class NoSuppressionList:
    """For deployments without a suppression table: nothing is ever suppressed."""

    async def find(self, addresses: Sequence[str]) -> dict[str, Suppression]:
        return {}

    async def add(self, entries: Sequence[Suppression]) -> None:
        return None

    async def count_soft_bounce(self, address: str, *, at: float, event_id: str) -> int:
        return 0


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

    async def count_soft_bounce(self, address: str, *, at: float, event_id: str) -> int:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.count_soft_bounce_now, address, at, event_id)

    def count_soft_bounce_now(self, address: str, at: float, event_id: str) -> int:
        """Soft bounces live beside the list, keyed SOFT_KEY_PREFIX + address, as a string set of
        "<time>|<event id>": adding the same event again changes nothing."""
        key = {"address": {"S": f"{SOFT_KEY_PREFIX}{address.lower()}"}}
        response = self._client.update_item(
            TableName=self._table,
            Key=key,
            UpdateExpression="ADD soft_bounces :event",
            ExpressionAttributeValues={":event": {"SS": [f"{at:.0f}|{event_id}"]}},
            ReturnValues="ALL_NEW",
        )
        entries = response["Attributes"]["soft_bounces"]["SS"]
        recent = [e for e in entries if at - SOFT_BOUNCE_WINDOW < float(e.split("|", 1)[0]) <= at]
        stale = [e for e in entries if float(e.split("|", 1)[0]) <= at - SOFT_BOUNCE_WINDOW]
        if stale:  # keep the item small
            self._client.update_item(TableName=self._table, Key=key, UpdateExpression="DELETE soft_bounces :stale", ExpressionAttributeValues={":stale": {"SS": stale}})
        return len(recent)

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
            items += [_from_item(i) for i in page["Items"] if not i["address"]["S"].startswith(SOFT_KEY_PREFIX)]
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
