"""Adapters for AWS: SQS, S3, EventBridge, SSM + Secrets Manager (relay settings).

boto3 clients are plain `boto3.client(service)` so `AWS_ENDPOINT_URL` points them at moto
server in local runs; they are made on first use (each costs tens of milliseconds of cold
start) and kept for the container's life. boto3 is synchronous: calls run on an executor.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from maildispatch.adapters.smtp_relay import RelayConfigError, RelaySettings
from maildispatch.core.producer_envelope import META_MAIL_FROM, SIDECAR_SUFFIX, OutboxObject
from maildispatch.core.render import TemplateSource
from maildispatch.core.report import BounceReport
from maildispatch.core.request import S3Attachment
from maildispatch.core.signing import REPORT_SIGNATURE_ATTRIBUTE, sign_report
from maildispatch.ports import ContentMissing, ContentTooLarge, ContentUnavailable, OutboxContent

REPORT_ATTRIBUTE = "maildispatch-document"  # message attribute that marks a report written by a function
TEMPLATE_PREFIX = "templates/"
OUTBOX_PREFIX = "outbox/"  # where producers put send requests (.json) and ready messages (.eml)
ATTACHMENT_PREFIX = "attachments/"  # where producers put attachments (the bucket expires them after 30 days)
READ_CHUNK_BYTES = 256 * 1024
# S3 error codes that another attempt may get past; any other 4xx is the request's (or the deployment's) fault.
_TRANSIENT_S3_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "OperationAborted",
        "PreconditionFailed",
        "412",
    }
)
_S3_CODE_MEANING = {
    "NoSuchKey": "does not exist",
    "404": "does not exist (or its version does not)",
    "NoSuchBucket": "names a bucket that does not exist",
    "NoSuchVersion": "has no such version",
    "AccessDenied": "may not be read by the dispatch function (access denied)",
    "403": "may not be read by the dispatch function (access denied)",
    "InvalidObjectState": "is archived (restore it first)",
    "400": "was refused as a bad request (S3 answered 400: is the version_id right?)",
    "InvalidArgument": "was refused as a bad request (S3 answered InvalidArgument: is the version_id right?)",
}
TEMPLATE_CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class RelaySource:
    """Where the relay's settings come from.

    Local runs give them inline (SMTP_* variables); on AWS they live in an SSM parameter
    (host, port, security) and a Secrets Manager secret (username, password), fetched
    with caching by the AWS adapter.
    """

    inline: Mapping[str, Any] | None = field(default=None, repr=False)  # holds the SMTP password
    parameter_name: str | None = None
    secret_name: str | None = None
    # Always taken from the environment, whatever the source:
    ca_file: str | None = None
    allow_insecure: bool = False
    timeout: float = 30.0
    max_connections: int = 5
    idle_timeout: float = 60.0  # a warm connection idle this long is closed, not reused
    chunking: bool = True  # BDAT (RFC 3030) where the relay offers it; False: always DATA


@cache
def aws_client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 5})
    return boto3.client(service, config=config)


@lru_cache(maxsize=1)
def io_executor() -> Executor:
    """Threads for blocking AWS calls, sized for many small concurrent calls rather than CPU work."""
    return ThreadPoolExecutor(max_workers=32, thread_name_prefix="aws-io")


async def _call(fn: Any, /, **kwargs: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(io_executor(), lambda: fn(**kwargs))


class SqsDeadLetters:
    """Writes bounce reports to the dead-letter queue, where the bounce function picks them up.

    Each report is signed with the internal key (REPORT_SIGNATURE_ATTRIBUTE): the bounce function
    acts only on reports that verify, never on a report-shaped body that reached the queue otherwise.
    """

    def __init__(self, queue_url: str, client: Any = None, *, signing_key: bytes | None = None) -> None:
        self._queue_url = queue_url
        self._client = client
        self._signing_key = signing_key

    def __repr__(self) -> str:  # never show the key
        return f"SqsDeadLetters({self._queue_url!r}, signed={self._signing_key is not None})"

    async def send(self, report: BounceReport) -> None:
        client = self._client or aws_client("sqs")
        body = report.to_json()
        attributes = {REPORT_ATTRIBUTE: {"DataType": "String", "StringValue": "bounce-report"}}
        if self._signing_key:
            attributes[REPORT_SIGNATURE_ATTRIBUTE] = {
                "DataType": "String",
                "StringValue": sign_report(self._signing_key, body),
            }
        await _call(client.send_message, QueueUrl=self._queue_url, MessageBody=body, MessageAttributes=attributes)


class SqsRequeue:
    """Sends a fresh copy of a record to the send queue, for waits its visibility cannot reach."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client

    async def send(self, body: str, *, delay_seconds: int, attributes: Mapping[str, str]) -> None:
        client = self._client or aws_client("sqs")
        await _call(
            client.send_message,
            QueueUrl=self._queue_url,
            MessageBody=body,
            DelaySeconds=delay_seconds,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            },
        )


def change_visibility(queue_url: str, changes: Sequence[tuple[str, int]], client: Any = None) -> list[str]:
    """Set per-record visibility (the retry backoff). Returns the receipt handles SQS refused."""
    client = client or aws_client("sqs")
    refused: list[str] = []
    for start in range(0, len(changes), 10):
        chunk = changes[start : start + 10]
        response = client.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                for i, (handle, seconds) in enumerate(chunk)
            ],
        )
        refused += [chunk[int(f["Id"])][0] for f in response.get("Failed", [])]
    return refused


class S3ContentStore:
    """Stored templates (`templates/<key>.json` holding subject, text, html) and large attachments."""

    def __init__(
        self,
        bucket: str | None,
        client: Any = None,
        *,
        clock: Any = time.monotonic,
        attachment_prefix: str = ATTACHMENT_PREFIX,
    ) -> None:
        self._bucket = bucket
        self._attachment_prefix = attachment_prefix
        self._client = client
        self._clock = clock
        self._templates: dict[str, tuple[float, TemplateSource]] = {}

    async def template(self, key: str) -> TemplateSource:
        cached = self._templates.get(key)
        if cached and self._clock() - cached[0] < TEMPLATE_CACHE_SECONDS:
            return cached[1]
        if not self._bucket:
            raise ContentMissing(f"template {key!r}: no content bucket is configured")
        raw = await self._get(self._bucket, TEMPLATE_PREFIX + key + ".json", None, what=f"template {key!r}")
        try:
            doc = json.loads(raw)
            source = TemplateSource(subject=doc["subject"], text=doc.get("text"), html=doc.get("html"))
        except (ValueError, KeyError, TypeError) as error:
            raise ContentMissing(
                f"template {key!r} is not a JSON object with subject, text and/or html: {error}"
            ) from None
        self._templates[key] = (self._clock(), source)
        return source

    async def attachment(self, ref: S3Attachment, *, max_bytes: int) -> bytes:
        """Only objects under the attachment prefix of the content bucket, sized with HEAD, read in chunks."""
        what = f"attachment {ref.filename!r}"
        where = f"s3://{ref.bucket}/{ref.key}"
        if not self._bucket or ref.bucket != self._bucket:
            raise ContentMissing(f"{what}: {where} is not in the content bucket ({self._bucket or 'none configured'})")
        if not ref.key.startswith(self._attachment_prefix) or ref.key.startswith(TEMPLATE_PREFIX):
            raise ContentMissing(f"{what}: {where} is outside the attachment prefix {self._attachment_prefix!r}")
        client = self._client or aws_client("s3")
        args: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            args["VersionId"] = ref.version_id
        head = await _s3_call(client.head_object, what=f"{what}: {where}", **args)
        size = int(head.get("ContentLength", 0))
        if size > max_bytes:
            raise ContentTooLarge(
                f"{what}: {where} is {size} bytes; the message size limit leaves room for {max(max_bytes, 0)}"
            )
        if head.get("ETag"):
            args["IfMatch"] = head["ETag"]  # the object HEAD measured, not one put in its place since
        response = await _s3_call(client.get_object, what=f"{what}: {where}", **args)
        return await _read_capped(response["Body"], min(size, max_bytes), what=f"{what}: {where}")

    async def _get(self, bucket: str, key: str, version_id: str | None, *, what: str) -> bytes:
        client = self._client or aws_client("s3")
        args: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            args["VersionId"] = version_id
        response = await _s3_call(client.get_object, what=f"{what}: s3://{bucket}/{key}", **args)
        return await _read_capped(response["Body"], MAX_TEMPLATE_BYTES, what=what)


MAX_TEMPLATE_BYTES = 1024 * 1024
MAX_SIDECAR_BYTES = 64 * 1024


class S3Outbox:
    """The outbox port on S3: objects under `prefix` of one bucket, sized with HEAD before they are read."""

    def __init__(self, bucket: str | None, prefix: str, client: Any = None) -> None:
        self._bucket = bucket
        self._prefix = prefix
        self._client = client

    async def read(self, obj: OutboxObject, *, max_bytes: int) -> OutboxContent:
        where = obj.where
        if not self._bucket or obj.bucket != self._bucket or not obj.key.startswith(self._prefix):
            raise ContentMissing(f"{where} is not in the outbox (s3://{self._bucket or '-'}/{self._prefix})")
        client = self._client or aws_client("s3")
        args: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version_id:
            args["VersionId"] = obj.version_id
        head = await _s3_call(client.head_object, what=where, **args)
        size = int(head.get("ContentLength", 0))
        if size > max_bytes:
            raise ContentTooLarge(f"{where} is {size} bytes, over the {max_bytes} bytes an outbox object may be")
        if head.get("ETag"):
            args["IfMatch"] = head["ETag"]
        response = await _s3_call(client.get_object, what=where, **args)
        data = await _read_capped(response["Body"], min(size, max_bytes), what=where)
        metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        sidecar = None
        if obj.is_eml and META_MAIL_FROM not in metadata:
            sidecar = await self._sidecar(client, obj)
        return OutboxContent(data, metadata, sidecar)

    async def _sidecar(self, client: Any, obj: OutboxObject) -> dict[str, Any] | None:
        key = obj.key + SIDECAR_SUFFIX
        try:
            response = await _s3_call(client.get_object, what=f"s3://{obj.bucket}/{key}", Bucket=obj.bucket, Key=key)
        except ContentUnavailable:
            raise
        except ContentMissing:
            return None
        raw = await _read_capped(response["Body"], MAX_SIDECAR_BYTES, what=f"s3://{obj.bucket}/{key}")
        try:
            doc = json.loads(raw)
        except ValueError as error:
            raise ContentMissing(f"sidecar s3://{obj.bucket}/{key} is not JSON: {error}") from None
        if not isinstance(doc, dict):
            raise ContentMissing(f"sidecar s3://{obj.bucket}/{key} is not a JSON object")
        return doc


async def _s3_call(fn: Any, /, *, what: str, **kwargs: Any) -> Any:
    """An S3 call whose every failure is ContentMissing (permanent) or ContentUnavailable (transient)."""
    try:
        return await _call(fn, **kwargs)
    except Exception as error:
        raise _content_error(error, what) from None


def _content_error(error: BaseException, what: str) -> ContentMissing | ContentUnavailable:
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):  # connection errors, timeouts, truncated reads: may pass
        return ContentUnavailable(f"{what}: S3 could not be reached ({type(error).__name__}: {error})")
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _TRANSIENT_S3_CODES or status >= 500 or status in (0, 408, 429):
        return ContentUnavailable(f"{what}: S3 answered {code or status}; will try again")
    meaning = _S3_CODE_MEANING.get(code, f"cannot be read (S3 answered {code or status})")
    return ContentMissing(f"{what} {meaning}")


async def _read_capped(body: Any, limit: int, *, what: str) -> bytes:
    """The body in chunks, refusing more than `limit` bytes (an object replaced after HEAD, a lying length)."""

    def read() -> bytes:
        out = bytearray()
        try:
            while chunk := body.read(READ_CHUNK_BYTES):
                out += chunk
                if len(out) > limit:
                    raise ContentTooLarge(f"{what} is larger than the {limit} bytes it may be")
        finally:
            body.close()
        return bytes(out)

    try:
        return await asyncio.get_running_loop().run_in_executor(io_executor(), read)
    except (ContentMissing, ContentUnavailable):
        raise
    except Exception as error:
        raise _content_error(error, what) from None


class EventBridgePublisher:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    async def publish(self, entries: list[dict[str, Any]]) -> None:
        client = self._client or aws_client("events")
        response = await _call(client.put_events, Entries=entries)
        if response.get("FailedEntryCount"):
            codes = {e.get("ErrorCode") for e in response.get("Entries", []) if e.get("ErrorCode")}
            raise RuntimeError(
                f"EventBridge refused {response['FailedEntryCount']} event(s): {', '.join(sorted(codes))}"
            )


class S3ObjectReader:
    """The mail store port on S3."""

    async def read(self, bucket: str, key: str) -> bytes:
        return await read_object(bucket, key)


async def read_object(bucket: str, key: str) -> bytes:
    client = aws_client("s3")
    response = await _call(client.get_object, Bucket=bucket, Key=key)
    return await asyncio.get_running_loop().run_in_executor(io_executor(), response["Body"].read)


def fetch_secret_bytes(secret_name: str) -> bytes:
    """A secret string (the VERP signing key), cached for 5 minutes."""
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(secret_name, max_age=300)).encode()


def fetch_relay_settings(source: RelaySource) -> RelaySettings:
    """The relay's settings: inline (local runs) or from SSM + Secrets Manager, cached for 5 minutes."""
    if source.inline is not None:
        values = dict(source.inline)
    else:
        from aws_lambda_powertools.utilities import parameters

        if not source.parameter_name:
            raise RelayConfigError("no relay parameter configured")
        values = dict(parameters.get_parameter(source.parameter_name, transform="json", max_age=300))
        if source.secret_name:
            values.update(parameters.get_secret(source.secret_name, transform="json", max_age=300))
    settings = RelaySettings(
        host=str(values["host"]),
        port=int(values.get("port", 587)),
        security=str(values.get("security", "starttls")),
        username=values.get("username") or None,
        password=values.get("password") or None,
        allow_insecure=source.allow_insecure,
        ca_file=source.ca_file,
        timeout=source.timeout,
        max_connections=source.max_connections,
        idle_timeout=source.idle_timeout,
        chunking=source.chunking,
    )
    settings.validate()
    return settings
