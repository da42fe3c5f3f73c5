"""The parts of a Lambda SQS event record that the functions use, as a value."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping


@dataclass(frozen=True)
class SqsRecord:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int  # ApproximateReceiveCount: 1 on the first attempt
    sent_at: datetime  # when the producer enqueued it (SentTimestamp)
    event_source_arn: str = ""
    message_attributes: Mapping[str, str] | None = None

    @classmethod
    def from_lambda(cls, record: Mapping[str, Any]) -> "SqsRecord":
        attributes = record.get("attributes") or {}
        sent_ms = int(attributes.get("SentTimestamp") or 0)
        message_attributes = {
            name: value.get("stringValue", "")
            for name, value in (record.get("messageAttributes") or {}).items()
            if isinstance(value, Mapping)
        }
        return cls(
            message_id=record["messageId"],
            receipt_handle=record.get("receiptHandle", ""),
            body=record.get("body") or "",
            receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
            sent_at=datetime.fromtimestamp(sent_ms / 1000, tz=timezone.utc) if sent_ms else datetime.now(timezone.utc),
            event_source_arn=record.get("eventSourceARN", ""),
            message_attributes=message_attributes,
        )
