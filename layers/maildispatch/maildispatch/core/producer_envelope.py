"""What arrives on the send queue, unwrapped: a send request put there directly, or carried by
an EventBridge event, an SNS notification or an S3 event notification.

Pure: no I/O. The dispatch service unwraps every record before it parses the request, and
uses the producer's own delivery id (the event `id`, the SNS `MessageId`, the S3 object's
bucket, key and version or sequencer) as the message key when the request names none, so
a producer's retries and duplicate deliveries never send twice.

A send request itself never has the fields these envelopes are told apart by (`detail-type`,
`Type` + `TopicArn`, `Records`, `Event`): the request contract rejects unknown fields, so
there is no ambiguity.
"""

from __future__ import annotations

import email.policy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from typing import Any
from urllib.parse import unquote_plus

from maildispatch.core.request import InvalidRequest, SendRequest, parse_address

SEND_EMAIL_DETAIL_TYPE = "Send Email"
EML_SUFFIX = ".eml"
# S3 object metadata (x-amz-meta-*) that carries an .eml object's envelope.
META_MAIL_FROM = "mail-from"
META_RCPT_TO = "rcpt-to"
SIDECAR_SUFFIX = ".envelope"  # or a sidecar object <key>.envelope, put first: {"from": ..., "to": [...]}


@dataclass(frozen=True)
class Direct:
    """A send request written straight to the queue (or by SNS with raw message delivery)."""

    body: str
    producer: str = "sqs"
    default_key: str | None = None  # None: the SQS message id keys it
    # The body as the request parser decodes it (parse_send_request's `decoded`), when it was: not twice.
    document: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Wrapped:
    """A send request carried in an EventBridge event's `detail` or an SNS notification's `Message`."""

    body: str
    producer: str  # "eventbridge" | "sns"
    default_key: str


@dataclass(frozen=True)
class OutboxObject:
    """An object put in the S3 outbox: a JSON send request, or a ready RFC 5322 message (.eml)."""

    bucket: str
    key: str
    version_id: str | None
    sequencer: str | None
    size: int | None
    default_key: str
    producer: str = "s3"

    @property
    def is_eml(self) -> bool:
        return self.key.lower().endswith(EML_SUFFIX)

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.key}" + (f"?versionId={self.version_id}" if self.version_id else "")


@dataclass(frozen=True)
class Ignored:
    """Nothing to send: S3's test event when a notification is configured."""

    why: str
    producer: str = "s3"


Unwrapped = Direct | Wrapped | OutboxObject | Ignored


def unwrap(body: str) -> Unwrapped:
    """The request a queue record carries. Raises InvalidRequest (naming the field) for a producer's
    envelope of the wrong shape; anything that is not a recognised envelope is returned as Direct, for
    the request parser to judge."""
    strict = True  # decoded as the request parser decodes: NaN and Infinity refused
    try:
        try:
            doc = _strict_json(body)
        except _NotStrictJson:
            doc, strict = json.loads(body), False  # an envelope may hold them: only its request may not
    except (ValueError, RecursionError):
        return Direct(body)
    if not isinstance(doc, dict):
        return Direct(body)
    if "detail-type" in doc or ("source" in doc and "detail" in doc and "id" in doc):
        return _eventbridge(doc)
    if doc.get("Type") == "Notification" and "TopicArn" in doc:
        return _sns(doc)
    if "Records" in doc:
        return _s3(doc)
    if doc.get("Event") == "s3:TestEvent":
        return Ignored("S3 test event (sent when a bucket notification is configured)")
    return Direct(body, document=doc if strict else None)


class _NotStrictJson(Exception):
    """NaN or Infinity in a body: JSON allows neither, json.loads() both (not a ValueError: not a decoding failure)."""


def _refuse_constant(name: str) -> Any:
    raise _NotStrictJson(name)


# json.loads() with parse_constant builds a decoder (and its scanner) on every call: one, kept.
_STRICT_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _strict_json(body: str) -> Any:
    """json.loads(body, parse_constant=_refuse_constant), with the decoder made once."""
    if isinstance(body, str) and not body.startswith("\ufeff"):
        return _STRICT_DECODER.decode(body)
    return json.loads(body, parse_constant=_refuse_constant)  # its errors for a BOM, and bytes


def _eventbridge(doc: Mapping[str, Any]) -> Wrapped:
    detail_type = doc.get("detail-type")
    if detail_type != SEND_EMAIL_DETAIL_TYPE:
        raise InvalidRequest(
            "detail-type", f"an EventBridge event for maildispatch has detail-type {SEND_EMAIL_DETAIL_TYPE!r}"
        )
    event_id = doc.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidRequest("id", "an EventBridge event has an id")
    if "detail" not in doc:
        raise InvalidRequest("detail", "missing: the event's detail is the send request")
    detail = doc["detail"]
    if not isinstance(detail, dict):
        raise InvalidRequest("detail", f"must be the send request (a JSON object), not {type(detail).__name__}")
    return Wrapped(json.dumps(detail, ensure_ascii=False), "eventbridge", _key("eb", event_id))


def _sns(doc: Mapping[str, Any]) -> Wrapped:
    message_id = doc.get("MessageId")
    if not isinstance(message_id, str) or not message_id:
        raise InvalidRequest("MessageId", "an SNS notification has a MessageId")
    message = doc.get("Message")
    if not isinstance(message, str) or not message.strip():
        raise InvalidRequest("Message", "missing: the notification's Message is the send request (JSON text)")
    return Wrapped(message, "sns", _key("sns", message_id))


def _s3(doc: Mapping[str, Any]) -> OutboxObject:
    records = doc.get("Records")
    if not isinstance(records, list) or len(records) != 1:
        raise InvalidRequest("Records", "an S3 event notification carries exactly one record")
    record = records[0]
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        raise InvalidRequest("Records[0].eventSource", "only S3 event notifications (aws:s3) are understood")
    name = record.get("eventName")
    if not isinstance(name, str) or not name.startswith("ObjectCreated:"):
        raise InvalidRequest("Records[0].eventName", f"only ObjectCreated events put mail in the outbox, not {name!r}")
    s3 = record.get("s3")
    bucket = s3.get("bucket") if isinstance(s3, dict) else None
    obj = s3.get("object") if isinstance(s3, dict) else None
    if not isinstance(bucket, dict) or not isinstance(bucket.get("name"), str):
        raise InvalidRequest("Records[0].s3.bucket.name", "missing")
    if not isinstance(obj, dict) or not isinstance(obj.get("key"), str) or not obj["key"]:
        raise InvalidRequest("Records[0].s3.object.key", "missing")
    key = unquote_plus(obj["key"])  # S3 events URL-encode keys, "+" for a space
    version = obj.get("versionId") if isinstance(obj.get("versionId"), str) and obj.get("versionId") else None
    sequencer = obj.get("sequencer") if isinstance(obj.get("sequencer"), str) else None
    size = obj.get("size") if isinstance(obj.get("size"), int) else None
    identity = "\n".join([bucket["name"], key, version or "", "" if version else sequencer or ""])
    return OutboxObject(bucket["name"], key, version, sequencer, size, _key("s3", identity))


_KEY_SAFE = re.compile(r"[!-~]{1,150}")


def _key(prefix: str, identity: str) -> str:
    """A message key (printable ASCII, no spaces, at most 200 characters) from a producer's delivery id."""
    if _KEY_SAFE.fullmatch(identity):
        return f"{prefix}-{identity}"
    return f"{prefix}-{hashlib.sha256(identity.encode('utf-8')).hexdigest()}"


_LINE_END = re.compile(rb"\r\n|\r|\n")
MAX_RAW_RECIPIENTS = 50


def normalise_line_endings(data: bytes) -> bytes:
    """CRLF everywhere (SMTP DATA's line ending); nothing else in the message changes."""
    return _LINE_END.sub(b"\r\n", data)


def eml_request(
    data: bytes, metadata: Mapping[str, str], sidecar: Mapping[str, Any] | None, *, where: str
) -> SendRequest:
    """A send request for a ready message from the outbox: its envelope from the object's metadata
    (`mail-from`, `rcpt-to` comma-separated) or a sidecar (JSON `{"from": ..., "to": [...]}`), its bytes as
    they are (line endings normalised). Raises InvalidRequest naming what is missing."""
    message = normalise_line_endings(data)
    head, sep, _ = message.partition(b"\r\n\r\n")
    if not sep or not head or b":" not in head.split(b"\r\n", 1)[0]:
        raise InvalidRequest("eml", f"{where} is not an RFC 5322 message (no header section before a blank line)")
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(head + b"\r\n\r\n")
    if sidecar is not None:
        sender_value: Any = sidecar.get("from")
        recipients_value: Any = sidecar.get("to")
        origin = "sidecar"
    else:
        sender_value = metadata.get(META_MAIL_FROM)
        rcpt = metadata.get(META_RCPT_TO)
        recipients_value = [r.strip() for r in rcpt.split(",") if r.strip()] if rcpt else None
        origin = "metadata"
    if not sender_value:
        raise InvalidRequest(
            f"{origin}.{META_MAIL_FROM if origin == 'metadata' else 'from'}",
            f"{where}: an .eml needs its envelope sender (object metadata {META_MAIL_FROM} or a sidecar)",
        )
    if not recipients_value:
        raise InvalidRequest(
            f"{origin}.{META_RCPT_TO if origin == 'metadata' else 'to'}",
            f"{where}: an .eml without recipients (object metadata {META_RCPT_TO} or a sidecar's to)",
        )
    if not isinstance(recipients_value, list):
        raise InvalidRequest(f"{origin}.to", "must be a list of addresses")
    if len(recipients_value) > MAX_RAW_RECIPIENTS:
        raise InvalidRequest(f"{origin}.to", f"at most {MAX_RAW_RECIPIENTS} recipients")
    sender = parse_address(sender_value, f"{origin}.from")
    to = tuple(parse_address(r, f"{origin}.to[{i}]") for i, r in enumerate(recipients_value))
    subject = headers.get("Subject")
    return SendRequest(
        from_=sender,
        to=to,
        subject=str(subject)[:998] if subject is not None else None,
        raw_message=message,
    )
