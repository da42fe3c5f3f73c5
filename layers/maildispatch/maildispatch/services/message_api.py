"""The HTTP API's use cases: accept a send request, read a message's state, hand out an upload URL.

Written against the ports (SubmissionQueue, MessageLedger, UploadSigner); HTTP, Powertools and
the Idempotency-Key header live in runtime/api_*.py. A request is checked with the dispatch
function's own parser (core/request.py) before anything is enqueued, so a caller learns at once,
with the field named, what the dispatch function would otherwise report later as a bounce.

Message keys: a request that names its own message_key keeps it. Otherwise the key is derived:
from the caller and its Idempotency-Key when it sent one (the same retry gets the same key, so the
ledger sends it once even after the API has forgotten the idempotency key), else a fresh UUID.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from maildispatch.core.message_status import MessageStatus
from maildispatch.core.request import InvalidRequest, check_attachment_file, parse_send_request
from maildispatch.ports import MessageLedger, PresignedUpload, SubmissionQueue, UploadSigner

log = logging.getLogger(__name__)

API_KEY_PREFIX = "api-"  # message keys the API makes begin with it
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class MessageApiPolicy:
    attachment_prefix: str = "attachments/"
    max_upload_bytes: int = 10 * 1024 * 1024  # the dispatch function's message size limit
    upload_expires_seconds: int = 900


@dataclass(frozen=True)
class Accepted:
    """A request on the send queue: its message key and who it is for."""

    message_key: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Upload:
    """Where to PUT an attachment, and the reference to put in a request's `attachments`."""

    target: PresignedUpload
    filename: str
    content_type: str

    @property
    def attachment(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "s3": {"bucket": self.target.bucket, "key": self.target.key},
        }


class UnknownMessage(LookupError):
    """The ledger knows nothing of the key: never accepted, or expired."""


def derive_message_key(caller: str, idempotency_key: str | None, new_id: Callable[[], str]) -> str:
    """The message key of a request that names none: deterministic for (caller, Idempotency-Key), else new."""
    if idempotency_key is None:
        return API_KEY_PREFIX + new_id()
    digest = hashlib.sha256(f"{caller}\n{idempotency_key}".encode()).hexdigest()
    return API_KEY_PREFIX + digest[:40]


class MessageApi:
    def __init__(
        self,
        queue: SubmissionQueue,
        ledger: MessageLedger,
        uploads: UploadSigner,
        policy: MessageApiPolicy = MessageApiPolicy(),
        *,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.queue = queue
        self.ledger = ledger
        self.uploads = uploads
        self.policy = policy
        self._new_id = new_id

    def read(self, body: str | bytes) -> dict[str, Any]:
        """The send request in an HTTP body, checked whole (JSON, size, every field) before anything else
        happens. Raises InvalidRequest naming the field."""
        parse_send_request(body)
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        doc = json.loads(text.removeprefix("\ufeff"))
        assert isinstance(doc, dict)
        return doc

    def accept(self, doc: Mapping[str, Any], *, caller: str, idempotency_key: str | None = None) -> Accepted:
        """Check and enqueue one request; its message key is the request's own or one derived for it."""
        if not isinstance(doc, Mapping):
            raise InvalidRequest("$", "a send request is a JSON object")
        doc = dict(doc)
        if doc.get("message_key") is None:
            doc["message_key"] = derive_message_key(caller, idempotency_key, self._new_id)
        body = _body(doc)
        request = parse_send_request(body)
        assert request.message_key is not None
        recipients = tuple(address.address for address in request.recipients)
        self.queue.send(body)
        try:
            self.ledger.record_submission(request.message_key, recipients)
        except Exception:  # enqueued all the same: the status reads "unknown" until the first attempt
            log.warning("could not record the submission of %s", request.message_key, exc_info=True)
        return Accepted(request.message_key, recipients)

    def status(self, message_key: str) -> MessageStatus:
        status = self.ledger.status(message_key)
        if not status.known:
            raise UnknownMessage(message_key)
        return status

    def upload_from(self, body: bytes | str) -> Upload:
        """An upload for the JSON body `{"filename": ..., "content_type": ... (optional), "size": ...}`."""
        try:
            doc = json.loads(body) if body.strip() else None
        except ValueError as error:
            raise InvalidRequest("$", f"not valid JSON: {error}") from None
        if not isinstance(doc, dict):
            raise InvalidRequest("$", 'an object like {"filename": "invoice.pdf", "size": 48213}')
        unknown = sorted(set(doc) - {"filename", "content_type", "size"})
        if unknown:
            raise InvalidRequest(unknown[0], "unknown field")
        if "filename" not in doc:
            raise InvalidRequest("filename", "required")
        return self.upload(doc["filename"], doc.get("content_type"), doc.get("size"))

    def upload(self, filename: Any, content_type: Any | None, size: Any) -> Upload:
        """A pre-signed PUT for one attachment of `size` bytes under the attachment prefix."""
        name, media_type = check_attachment_file(filename, content_type)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidRequest("size", "the file's size in bytes (a positive whole number) is required")
        if size > self.policy.max_upload_bytes:
            raise InvalidRequest(
                "size", f"{size} bytes; an attachment may be at most {self.policy.max_upload_bytes} bytes"
            )
        safe = _SAFE_NAME.sub("_", name).strip(".") or "attachment"
        key = f"{self.policy.attachment_prefix}{self._new_id()}/{safe}"
        target = self.uploads.presign_put(
            key, content_type=media_type, size=size, expires_in=self.policy.upload_expires_seconds
        )
        return Upload(target, name, media_type)


def _body(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
