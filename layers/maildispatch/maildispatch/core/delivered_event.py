"""The "Email Delivered" event: one EventBridge PutEvents entry per recipient the relay accepted.

Optional (DELIVERED_EVENTS=true; the template's PublishDeliveredEvents): published by the dispatch
service after the ledger records the delivery. The detail follows schema/email-delivered.v1.json.
An event may be missing (a publish failure is logged and counted, never a reason to send again)
but is never published for a recipient the ledger does not hold as delivered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from maildispatch.core.bounce_event import EVENT_SOURCE, TEXT_LIMIT
from maildispatch.core.outcome import Reply

EVENT_DETAIL_TYPE_DELIVERED = "Email Delivered"
DELIVERED_EVENT_VERSION = 1
SCHEMA_RESOURCE = "schema/email-delivered.v1.json"  # inside the maildispatch package
ENTRIES_PER_CALL = 10  # EventBridge PutEvents takes at most 10 entries per call

T = TypeVar("T")


def delivered_event_detail(
    *,
    message_key: str,
    message_id: str | None,
    recipient: str,
    reply: Reply | None,
    delivered_at: datetime,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    """The event's detail; see schema/email-delivered.v1.json. Free text is clipped to 2 KiB."""
    return {
        "version": DELIVERED_EVENT_VERSION,
        "message_key": _clip(message_key),
        "message_id": _clip(message_id) if message_id is not None else None,
        "recipient": _clip(recipient),
        "remote_mta": _clip(reply.remote_mta) if reply is not None and reply.remote_mta else None,
        "reply": _clip(reply.diagnostic) if reply is not None else None,
        "delivered_at": _iso(delivered_at),
        "tags": {_clip(str(k)): _clip(str(v)) for k, v in tags.items()},
    }


def delivered_event_entry(detail: Mapping[str, Any], *, event_bus_name: str) -> dict[str, Any]:
    """One PutEvents entry {Source, DetailType, EventBusName, Detail}."""
    return {
        "Source": EVENT_SOURCE,
        "DetailType": EVENT_DETAIL_TYPE_DELIVERED,
        "EventBusName": event_bus_name,
        "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
    }


def in_batches(items: Sequence[T], size: int = ENTRIES_PER_CALL) -> Iterator[list[T]]:
    """The items in consecutive lists of at most `size` (one PutEvents call each)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _clip(value: str) -> str:
    data = value.encode("utf-8", "replace")
    return data[:TEXT_LIMIT].decode("utf-8", "ignore")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()
