"""The parts of a Lambda SQS event record that the functions use, and what becomes of each, as values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class SqsRecord:
    """One SQS record as the batch runtime hands it to a service."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int  # ApproximateReceiveCount: 1 on the first attempt
    sent_at: datetime  # when the producer enqueued it (SentTimestamp)
    event_source_arn: str = ""
    message_attributes: Mapping[str, str] | None = None

    @classmethod
    def from_lambda(cls, record: Mapping[str, Any]) -> SqsRecord:
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
            sent_at=datetime.fromtimestamp(sent_ms / 1000, tz=UTC) if sent_ms else datetime.now(UTC),
            event_source_arn=record.get("eventSourceARN", ""),
            message_attributes=message_attributes,
        )


@dataclass(frozen=True)
class RecordResult:
    """What becomes of a record: deleted, or shown again (after `visible_after` seconds)."""

    message_id: str
    done: bool  # done: delete the record; not done: SQS shows it again for another attempt
    visible_after: int | None = None  # seconds until it shows again; None keeps the queue's visibility timeout

    @classmethod
    def finished(cls, message_id: str) -> RecordResult:
        return cls(message_id, done=True)

    @classmethod
    def retry(cls, message_id: str, visible_after: int | None) -> RecordResult:
        return cls(message_id, done=False, visible_after=visible_after)
