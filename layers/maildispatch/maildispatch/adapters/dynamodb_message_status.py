"""A message's state from the delivery ledger in DynamoDB (the MessageLedger port), and the row the
HTTP API writes when it accepts a message.

Synchronous: the command line, the Python client and the HTTP API function (one request per
invocation) read one message at a time. Return-path rows, which share the table under their own
keys, never match a message key's query; the submission row is told apart by its recipient value.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from maildispatch.core.ledger import RETENTION_SECONDS, ledger_key
from maildispatch.core.message_status import (
    SUBMISSION_ROW,
    MessageStatus,
    Submission,
    message_status,
    recipient_status,
)


class DynamoDbMessageStatus:
    def __init__(self, client: Any, table_name: str, *, clock: Any = time.time) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def status(self, message_key: str, named: Sequence[str] = ()) -> MessageStatus:
        """Every row of the key (paged): recipients' rows, and the submission row if there is one."""
        args: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "message_key = :key",
            "ExpressionAttributeValues": {":key": {"S": message_key}},
            "ConsistentRead": True,
        }
        rows, submission = [], None
        while True:
            page = self._client.query(**args)
            for item in page.get("Items", []):
                if item["recipient"]["S"] == SUBMISSION_ROW:
                    submission = _submission(item)
                elif "state" in item:
                    rows.append(recipient_status(item))
            if not page.get("LastEvaluatedKey"):
                break
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return message_status(message_key, rows, submission, tuple(named))

    def record_submission(self, message_key: str, recipients: Sequence[str]) -> None:
        """Remember who a message is for, so it reads as queued before it is first tried. A repeat keeps
        the first acceptance time; the row expires with the ledger's other rows."""
        now = self._clock()
        self._client.update_item(
            TableName=self._table,
            Key={"message_key": {"S": message_key}, "recipient": {"S": SUBMISSION_ROW}},
            UpdateExpression="SET accepted_at = if_not_exists(accepted_at, :now), recipients = :recipients, "
            "expires_at = :expires",
            ExpressionAttributeValues={
                ":now": {"N": repr(now)},
                ":recipients": {"L": [{"S": ledger_key(r)} for r in recipients]},
                ":expires": {"N": str(int(now + RETENTION_SECONDS))},
            },
        )


def _submission(item: dict[str, Any]) -> Submission:
    accepted = datetime.fromtimestamp(float(item.get("accepted_at", {}).get("N", "0")), UTC)
    recipients = tuple(str(r["S"]) for r in item.get("recipients", {}).get("L", []))
    return Submission(recipients, accepted)
