"""The return-path index in DynamoDB: items in the ledger table under `verp#<id>` and `msgid#<id>`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from maildispatch.core.ledger import RETENTION_SECONDS
from maildispatch.core.return_paths import SentMessage


class DynamoDbReturnPathIndex:
    def __init__(
        self, client: Any, table_name: str, executor: Executor | None = None, *, clock: Any = time.time
    ) -> None:
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
        for name, value in (
            ("target_recipient", sent.recipient),
            ("report_to", sent.report_to),
            ("from_address", sent.from_address),
            ("subject", sent.subject),
            ("message_id", sent.message_id),
        ):
            if value:
                item[name] = {"S": value}
        if sent.sent_to:
            item["sent_to"] = {"SS": sorted(set(sent.sent_to))}
        self._client.put_item(TableName=self._table, Item=item)

    def _get(self, key: str) -> SentMessage | None:
        item = self._client.get_item(
            TableName=self._table, Key={"message_key": {"S": key}, "recipient": {"S": "-"}}
        ).get("Item")
        if not item:
            return None

        def text(name: str) -> str | None:
            return item[name]["S"] if name in item else None

        return SentMessage(
            item["target_key"]["S"],
            text("target_recipient"),
            text("report_to"),
            text("from_address"),
            text("subject"),
            text("message_id"),
            tuple(sorted(item["sent_to"]["SS"])) if "sent_to" in item else None,
        )
