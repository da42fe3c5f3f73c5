"""A Python client for a deployed maildispatch: send requests, upload attachments, read delivery state.

    from maildispatch_cli.client import MaildispatchClient

    client = MaildispatchClient(stack="maildispatch")  # or queue_url=, bucket=, table=
    ref = client.upload_attachment("invoice.pdf", "invoice.pdf", "application/pdf")
    [key] = client.send([{"from": "shop@example.com", "to": ["binh@example.net"], "subject": "Hi",
                          "text": "...", "attachments": [ref]}])
    for recipient in client.status(key): print(recipient.recipient, recipient.state)

Every request is checked with the dispatch function's own parser (maildispatch.core.request, which
the published schema mirrors) before anything is sent: a bad one raises `RequestRejected` naming
the request and the field, and nothing of the call is enqueued. A request without a message_key
gets one (`client-<uuid>`), so its state can be read back. Requests go one per SQS message, in
SendMessageBatch calls of at most 10 entries and 256 KiB; entries SQS reports as failed are sent
again a few times with backoff, then `SendFailed` names them.

The queue URL, content bucket and ledger table are given, or read from the stack's outputs
(SendQueueUrl, ContentBucketName, DeliveryLedgerTableName) through `maildispatch_cli.aws`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from maildispatch.adapters.dynamodb_message_status import DynamoDbMessageStatus
from maildispatch.core.message_status import RecipientStatus, recipient_status
from maildispatch.core.request import InvalidRequest, parse_send_request
from maildispatch.runtime.settings import DispatchSettings
from maildispatch_cli.aws import Aws
from maildispatch_cli.errors import CliError, UsageError

__all__ = ["MaildispatchClient", "RecipientStatus", "RequestRejected", "SendFailed", "recipient_status"]

QUEUE_OUTPUT = "SendQueueUrl"
BUCKET_OUTPUT = "ContentBucketName"
TABLE_OUTPUT = "DeliveryLedgerTableName"
ATTACHMENT_PREFIX = DispatchSettings.attachment_prefix  # the dispatch function's default ATTACHMENT_PREFIX
MAX_BATCH_ENTRIES = 10  # SendMessageBatch: entries per call
MAX_BATCH_BYTES = 256 * 1024  # SendMessageBatch: message bodies per call, summed
SEND_ATTEMPTS = 4  # a failed entry is sent this often in all before SendFailed
BACKOFF_SECONDS = 0.2  # before the first resend; doubled each time


class MaildispatchClientError(CliError):
    """What the client raises on purpose (one line; the command line prints it as is)."""


class RequestRejected(MaildispatchClientError):
    """A request breaks the send-request contract. `index` is its place in the call, `field` the path."""

    def __init__(self, index: int, error: InvalidRequest) -> None:
        super().__init__(f"request {index}: {error.field}: {error.message}")
        self.index = index
        self.field = error.field


class SendFailed(MaildispatchClientError):
    """Entries SQS kept refusing. `failed` maps message key -> "Code: message"; `sent` the keys enqueued."""

    def __init__(self, failed: Mapping[str, str], sent: Sequence[str]) -> None:
        named = "; ".join(f"{key} ({why})" for key, why in failed.items())
        super().__init__(f"{len(failed)} request(s) not enqueued after {SEND_ATTEMPTS} attempts: {named}")
        self.failed = dict(failed)
        self.sent = list(sent)


class MaildispatchClient:
    def __init__(
        self,
        *,
        queue_url: str | None = None,
        bucket: str | None = None,
        table: str | None = None,
        stack: str | None = None,
        aws: Aws | None = None,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        attachment_prefix: str = ATTACHMENT_PREFIX,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.aws = aws or Aws(profile, region, endpoint_url)
        self.stack = stack
        self._queue_url, self._bucket, self._table = queue_url, bucket, table
        self.attachment_prefix = attachment_prefix
        self._sleep = sleep

    # -- where things are ---------------------------------------------------------------------

    @property
    def queue_url(self) -> str:
        self._queue_url = self._queue_url or self._output(QUEUE_OUTPUT, "queue_url")
        return self._queue_url

    @property
    def bucket(self) -> str:
        self._bucket = self._bucket or self._output(BUCKET_OUTPUT, "bucket")
        return self._bucket

    @property
    def table(self) -> str:
        self._table = self._table or self._output(TABLE_OUTPUT, "table")
        return self._table

    def _output(self, key: str, argument: str) -> str:
        if not self.stack:
            raise UsageError(f"no {argument}: give it, or the stack whose {key} output names it (--stack)")
        return self.aws.stack_output(self.stack, key)

    # -- send ---------------------------------------------------------------------------------

    def send(self, requests: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[str]:
        """Enqueue the requests (all checked first); returns their message keys, in order."""
        docs = [requests] if isinstance(requests, Mapping) else list(requests)
        bodies = [self._checked_body(i, doc) for i, doc in enumerate(docs)]
        keys = [key for key, _ in bodies]
        sqs = self.aws.client("sqs")
        for batch in _batches(bodies):
            self._send_batch(sqs, batch, keys)
        return keys

    def _checked_body(self, index: int, doc: Mapping[str, Any]) -> tuple[str, str]:
        if not isinstance(doc, Mapping):
            raise RequestRejected(index, InvalidRequest("$", "a send request is a JSON object"))
        doc = dict(doc)
        if doc.get("message_key") is None:
            doc["message_key"] = f"client-{uuid.uuid4().hex}"
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        try:
            request = parse_send_request(body)
        except InvalidRequest as error:
            raise RequestRejected(index, error) from None
        return str(request.message_key), body

    def _send_batch(self, sqs: Any, batch: list[tuple[str, str]], all_keys: list[str]) -> None:
        pending = {str(i): entry for i, entry in enumerate(batch)}
        why: dict[str, str] = {}
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                self._sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            response = sqs.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": entry_id, "MessageBody": body} for entry_id, (_, body) in pending.items()],
            )
            failed = response.get("Failed", [])
            why = {f["Id"]: f"{f.get('Code', '?')}: {f.get('Message', '')}".strip() for f in failed}
            pending = {entry_id: pending[entry_id] for entry_id in why if entry_id in pending}
            if not pending or any(f.get("SenderFault") for f in failed):
                break  # done, or refused for what the entry is: sending it again would not help
        if pending:
            failed_keys = {pending[i][0]: why[i] for i in pending}
            raise SendFailed(failed_keys, [k for k in all_keys if k not in failed_keys])

    # -- attachments --------------------------------------------------------------------------

    def upload_attachment(
        self, source: str | Path | bytes, filename: str | None = None, content_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """Put the file (a path, or the bytes) under the content bucket's attachment prefix; returns the
        attachment reference to put in a request's `attachments`."""
        if isinstance(source, bytes):
            data = source
            if not filename:
                raise UsageError("upload_attachment: bytes need a filename")
        else:
            path = Path(source)
            data = path.read_bytes()
            filename = filename or path.name
        assert filename is not None
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename).strip(".") or "attachment"
        key = f"{self.attachment_prefix}{uuid.uuid4().hex}/{safe}"
        response = self.aws.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        s3: dict[str, Any] = {"bucket": self.bucket, "key": key}
        if response.get("VersionId") and response["VersionId"] != "null":
            s3["version_id"] = response["VersionId"]
        return {"filename": filename, "content_type": content_type, "s3": s3}

    # -- status -------------------------------------------------------------------------------

    def status(self, message_key: str, recipients: Iterable[str] = ()) -> list[RecipientStatus]:
        """Per-recipient state of the message, from the ledger (as `GET /v1/messages/{key}` reads it).
        `recipients` named but without a row are queued (not tried yet), as are those the HTTP API
        recorded on accepting the message; otherwise only the recipients the ledger knows are listed."""
        reader = DynamoDbMessageStatus(self.aws.client("dynamodb"), self.table)
        return list(reader.status(message_key, tuple(recipients)).recipients)


def _batches(bodies: Sequence[tuple[str, str]]) -> Iterable[list[tuple[str, str]]]:
    """At most 10 entries and 256 KiB of bodies per batch (a larger body goes alone)."""
    batch: list[tuple[str, str]] = []
    size = 0
    for key, body in bodies:
        body_size = len(body.encode("utf-8"))
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + body_size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((key, body))
        size += body_size
    if batch:
        yield batch
