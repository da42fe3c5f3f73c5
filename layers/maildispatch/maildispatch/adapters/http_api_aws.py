"""The HTTP API's AWS adapters: the send queue it writes to (SubmissionQueue) and pre-signed S3
uploads (UploadSigner). Synchronous, like the API function: one request per invocation.

A pre-signed PUT carries its signature, not the caller's: it lets whoever holds the URL put one
object, under the key the API chose, with the media type and the exact length that were signed
(S3 refuses a body of another length), until it expires. The API function's role needs
s3:PutObject on the attachment prefix for the URL to work.
"""

from __future__ import annotations

import time
from typing import Any

from maildispatch.adapters.aws import aws_client
from maildispatch.ports import PresignedUpload, SubmissionFailed


class SqsSubmissionQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client

    def send(self, body: str) -> None:
        client = self._client or aws_client("sqs")
        try:
            client.send_message(QueueUrl=self._queue_url, MessageBody=body)
        except Exception as error:  # botocore's ClientError, connection errors, timeouts: not enqueued
            raise SubmissionFailed(
                f"the send queue did not take the request ({type(error).__name__}: {error})"
            ) from error


class S3UploadSigner:
    def __init__(self, bucket: str | None, client: Any = None, *, clock: Any = time.time) -> None:
        self._bucket = bucket
        self._client = client
        self._clock = clock

    def presign_put(self, key: str, *, content_type: str, size: int, expires_in: int) -> PresignedUpload:
        if not self._bucket:
            raise RuntimeError("no content bucket configured (CONTENT_BUCKET): uploads are not available")
        client = self._client or aws_client("s3")
        url = client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type, "ContentLength": size},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )
        headers = {"Content-Type": content_type, "Content-Length": str(size)}
        return PresignedUpload(url, headers, self._bucket, key, self._clock() + expires_in)
