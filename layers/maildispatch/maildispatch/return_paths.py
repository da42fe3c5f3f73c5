"""What a returned message needs to find its way back: which message, which recipient, whose report.

When the dispatcher sends with a VERP return path it remembers, under the token's id and under
the Message-ID, the message key, the recipient and where reports go. Returned mail is matched by
the token first, then by the Message-ID of the returned original, then only by the recipient it
names. The entries live in the ledger table (partition keys `verp#<id>` and `msgid#<id>`), with
the ledger's retention.
"""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from .ledger import RETENTION_SECONDS


@dataclass(frozen=True)
class SentMessage:
    message_key: str
    recipient: str | None  # None for an entry found by Message-ID (the returned report names the recipient)
    report_to: str | None  # the original sender's address, where reports about this message go
    from_address: str | None = None
    subject: str | None = None
    message_id: str | None = None


def verp_key(verp_id: str) -> str:
    return f"verp#{verp_id}"


def message_id_key(message_id: str) -> str:
    return f"msgid#{message_id.strip().strip('<>').lower()}"


class ReturnPathIndex(Protocol):
    async def remember(self, entries: Sequence[tuple[str, SentMessage]]) -> None: ...

    async def lookup(self, key: str) -> SentMessage | None: ...


@dataclass
class InMemoryReturnPathIndex:
    entries: dict[str, SentMessage] = field(default_factory=dict)

    async def remember(self, entries: Sequence[tuple[str, SentMessage]]) -> None:
        self.entries.update(entries)

    async def lookup(self, key: str) -> SentMessage | None:
        return self.entries.get(key)


class DynamoDbReturnPathIndex:
    def __init__(self, client: Any, table_name: str, executor: Executor | None = None, *, clock: Any = time.time) -> None:
        self._client = client
        self._table = table_name
        self._executor = executor
        self._clock = clock

    async def remember(self, entries: Sequence[tuple[str, SentMessage]]) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._executor, self._put, key, sent) for key, sent in entries))

    async def lookup(self, key: str) -> SentMessage | None:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._get, key)

    def _put(self, key: str, sent: SentMessage) -> None:
        item: dict[str, Any] = {
            "message_key": {"S": key},
            "recipient": {"S": "-"},
            "target_key": {"S": sent.message_key},
            "expires_at": {"N": str(int(self._clock() + RETENTION_SECONDS))},
        }
        for name, value in (("target_recipient", sent.recipient), ("report_to", sent.report_to), ("from_address", sent.from_address),
                            ("subject", sent.subject), ("message_id", sent.message_id)):
            if value:
                item[name] = {"S": value}
        self._client.put_item(TableName=self._table, Item=item)

    def _get(self, key: str) -> SentMessage | None:
        item = self._client.get_item(TableName=self._table, Key={"message_key": {"S": key}, "recipient": {"S": "-"}}).get("Item")
        if not item:
            return None
        text = lambda name: item[name]["S"] if name in item else None  # noqa: E731
        return SentMessage(item["target_key"]["S"], text("target_recipient"), text("report_to"), text("from_address"), text("subject"), text("message_id"))
