"""The "Email Bounced" event: a bounce report as one EventBridge PutEvents entry, for programs.

The detail follows schema/email-bounced.v1.json. Every entry fits EventBridge's 256 KB limit:
free text is clipped, a poison record's body travels only as a short excerpt, and a report
with more recipients than fit lists the first ones and says how many there were. Whatever
was shortened is named in `truncated`.

An event may be published more than once for the same report (the bounce function retries a
record whose DSN could not be sent yet); `event_id` is the same each time, so consumers can
de-duplicate on it.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

from maildispatch.core.enhanced_status import is_enhanced_status
from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason

EVENT_SOURCE = "maildispatch"
EVENT_DETAIL_TYPE = "Email Bounced"
EVENT_DETAIL_TYPE_DELAYED = "Email Delayed"  # a delay warning: the recipients are still being retried
EVENT_DETAIL_TYPE_COMPLAINED = "Email Complained"  # a recipient reported the message as abuse
EVENT_DETAIL_TYPE_KEY_REUSED = "Message Key Reused"  # a request came again under a key already used up
EVENT_VERSION = 1
SCHEMA_RESOURCE = "schema/email-bounced.v1.json"  # inside the maildispatch package

MAX_ENTRY_BYTES = 256 * 1024  # EventBridge PutEvents: per entry (and per request)
ORIGINAL_BODY_LIMIT = 4 * 1024  # bytes of a poison record's body in the event
TEXT_LIMIT = 2 * 1024  # bytes of any other free-text value (subject, error, diagnostic, ...)
SIDE_LIMIT = 32 * 1024  # bytes of tags or source kept when the entry is too large


def bounce_event_id(report: BounceReport) -> str:
    """A stable id for the report's event: the same report always gets the same id.

    A hash of message key, reason, recipients and arrival date; for a report without a
    message key (a poison record) the SQS message id it came from stands in for the key.
    """
    key = report.message_key if report.message_key is not None else f"sqs:{report.source.get('sqs_message_id', '')}"
    material = [
        key,
        report.reason,
        sorted(r.address.strip().lower() for r in report.recipients),
        _iso(report.arrival_date),
    ]
    return hashlib.sha256(
        json.dumps(material, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    ).hexdigest()


def bounce_event_entry(report: BounceReport, *, event_bus_name: str, now: datetime) -> dict[str, Any]:
    """One PutEvents entry {Source, DetailType, EventBusName, Detail} for the report."""
    detail = bounce_event_detail(report, now=now)
    entry = _entry(detail, event_bus_name)
    if entry_size(entry) > MAX_ENTRY_BYTES:
        entry = _entry(_shrink(detail, event_bus_name), event_bus_name)
    return entry


def bounce_event_detail(report: BounceReport, *, now: datetime) -> dict[str, Any]:
    """The event's detail, with every free-text value clipped; see schema/email-bounced.v1.json."""
    truncated: list[str] = []

    def text(value: str | None, name: str, limit: int = TEXT_LIMIT) -> str | None:
        if value is None:
            return None
        clipped = _clip(value, limit)
        if clipped != _clean(value) and name not in truncated:
            truncated.append(name)
        return clipped

    body = report.original_body
    body_bytes = report.source.get("body_bytes") if isinstance(report.source.get("body_bytes"), int) else None
    if body is not None and body_bytes is None:
        body_bytes = len(body.encode("utf-8", "replace"))
    detail: dict[str, Any] = {
        "version": EVENT_VERSION,
        "event_id": bounce_event_id(report),
        "message_key": text(report.message_key, "message_key"),
        "message_id": text(report.message_id, "message_id"),
        "reason": report.reason,
        "envelope_sender": text(report.envelope_sender, "envelope_sender"),
        "from": text(report.from_address, "from"),
        "subject": text(report.subject, "subject"),
        "tags": {_clip(str(k), TEXT_LIMIT): _clip(str(v), TEXT_LIMIT) for k, v in report.tags.items()},
        "arrival_date": _iso(report.arrival_date),
        "reported_at": _iso(now),
        "recipients": [_recipient(r, text) for r in report.recipients],
        "recipients_total": len(report.recipients),
        "error": text(report.error, "error"),
        "original_body": text(body, "original_body", ORIGINAL_BODY_LIMIT),
        "original_body_bytes": body_bytes,
        "source": _jsonable(report.source),
        "truncated": truncated,
    }
    if (
        body is not None
        and body_bytes is not None
        and body_bytes > len(detail["original_body"].encode("utf-8"))
        and "original_body" not in truncated
    ):
        truncated.append("original_body")
    return detail


def entry_size(entry: dict[str, Any]) -> int:
    """The entry's size as EventBridge counts it (UTF-8 bytes of its strings), plus the bus name."""
    return sum(len(str(entry.get(k, "")).encode("utf-8")) for k in ("Source", "DetailType", "Detail", "EventBusName"))


# -- helpers --------------------------------------------------------------------------------


def _recipient(recipient: FailedRecipient, text: Any) -> dict[str, Any]:
    return {
        "address": text(recipient.address, "recipients.address"),
        "status": _status(recipient),
        "action": "delayed" if recipient.action == "delayed" else "failed",
        "reply_code": recipient.reply_code
        if isinstance(recipient.reply_code, int) and 100 <= recipient.reply_code <= 999
        else None,
        "diagnostic": text(recipient.diagnostic, "recipients.diagnostic"),
        "remote_mta": text(recipient.remote_mta, "recipients.remote_mta"),
        "permanent": _status(recipient).startswith("5"),
        "classification": recipient.classification,
        "hard": recipient.hard,
    }


def _status(recipient: FailedRecipient) -> str:
    """The RFC 3463 status; a malformed one becomes the class default, as in the DSN."""
    if is_enhanced_status(recipient.status):
        return recipient.status
    return "4.0.0" if recipient.action == "delayed" else "5.0.0"


def _shrink(detail: dict[str, Any], event_bus_name: str) -> dict[str, Any]:
    """Make the entry fit: drop oversized tags or source, then trailing recipients, then tags and source."""
    detail = dict(detail, truncated=list(detail["truncated"]))

    def drop(name: str) -> None:
        detail[name] = {}
        detail["truncated"].append(name)

    def fits(candidate: dict[str, Any]) -> bool:
        return entry_size(_entry(candidate, event_bus_name)) <= MAX_ENTRY_BYTES

    for name in ("tags", "source"):
        if len(json.dumps(detail[name], ensure_ascii=False).encode("utf-8")) > SIDE_LIMIT:
            drop(name)
    recipients = detail["recipients"]
    low, high = 0, len(recipients)  # the largest count that fits lies in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if fits(dict(detail, recipients=recipients[:middle])):
            low = middle
        else:
            high = middle - 1
    if low < len(recipients):
        detail["recipients"] = recipients[:low]
        detail["truncated"].append("recipients")
    for name in ("tags", "source"):
        if not fits(detail) and name not in detail["truncated"]:
            drop(name)
    return detail


_DETAIL_TYPES: dict[str, str] = {
    ReportReason.DELAYED: EVENT_DETAIL_TYPE_DELAYED,
    ReportReason.COMPLAINT: EVENT_DETAIL_TYPE_COMPLAINED,
    ReportReason.KEY_REUSED: EVENT_DETAIL_TYPE_KEY_REUSED,
}


def _entry(detail: dict[str, Any], event_bus_name: str) -> dict[str, Any]:
    return {
        "Source": EVENT_SOURCE,
        "DetailType": _DETAIL_TYPES.get(str(detail.get("reason")), EVENT_DETAIL_TYPE),
        "EventBusName": event_bus_name,
        "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
    }


def _clean(value: str) -> str:
    """The text without lone surrogates, which neither UTF-8 nor EventBridge accept."""
    return value.encode("utf-8", "replace").decode("utf-8")


def _clip(value: str, limit: int) -> str:
    data = value.encode("utf-8", "replace")
    return data[:limit].decode("utf-8", "ignore") if len(data) > limit else data.decode("utf-8")


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy of the report's free-form source facts (clipped strings, str() for the rest)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {_clip(str(k), TEXT_LIMIT): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    if isinstance(value, datetime):
        return _iso(value)
    return _clip(str(value), TEXT_LIMIT)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()
