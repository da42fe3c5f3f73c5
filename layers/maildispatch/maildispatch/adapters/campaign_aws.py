"""AWS adapters of the campaign fan-out: the list in S3 (ranged reads), the send queue (SendMessageBatch),
the fan-out queue (continuations) and EventBridge Scheduler (a start more than 15 minutes away)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from maildispatch.adapters.aws import _call, _content_error, aws_client

SCHEDULE_NAME_PREFIX = "campaign-"


class S3RecipientList:
    """Ranged GETs of the list object: each read is one request for at most `length` bytes."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    async def read(self, bucket: str, key: str, *, start: int, length: int) -> bytes:
        client = self._client or aws_client("s3")
        what = f"recipient list s3://{bucket}/{key}"
        try:
            response = await _call(
                client.get_object, Bucket=bucket, Key=key, Range=f"bytes={start}-{start + length - 1}"
            )
            body = response["Body"]
            try:
                data: bytes = await _call(body.read)
            finally:
                body.close()
        except Exception as error:
            code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
            if code == "InvalidRange":  # at or past the end of the object
                return b""
            raise _content_error(error, what) from None
        return data


class SqsSendBatches:
    """SendMessageBatch to the send queue; an entry SQS refused (or a call that failed) comes back failed."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client

    async def send(self, entries: Sequence[tuple[str, str]]) -> list[str]:
        client = self._client or aws_client("sqs")
        try:
            response = await _call(
                client.send_message_batch,
                QueueUrl=self._queue_url,
                Entries=[{"Id": entry_id, "MessageBody": body} for entry_id, body in entries],
            )
        except Exception:  # throttled, unreachable: every entry is retried by the fan-out
            return [entry_id for entry_id, _ in entries]
        return [failed["Id"] for failed in response.get("Failed", [])]


class SqsFanoutTrigger:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client

    async def run_fanout(self, campaign_id: str, *, delay_seconds: int = 0, progress: int | None = None) -> None:
        client = self._client or aws_client("sqs")
        body: dict[str, object] = {"campaign": campaign_id}
        if progress is not None:
            body["progress"] = progress
        await _call(
            client.send_message,
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(body),
            DelaySeconds=max(0, min(900, delay_seconds)),
        )


class SchedulerCampaignSchedules:
    """One one-time EventBridge Scheduler schedule per campaign, deleted after it fired; its target is
    the fan-out queue (the template's scheduler role may send to it)."""

    def __init__(self, group: str, queue_arn: str, role_arn: str, client: Any = None) -> None:
        self._group = group
        self._queue_arn = queue_arn
        self._role_arn = role_arn
        self._client = client

    async def schedule_start(self, campaign_id: str, *, at: float) -> None:
        client = self._client or aws_client("scheduler")
        when = datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        await _call(
            client.create_schedule,
            Name=f"{SCHEDULE_NAME_PREFIX}{campaign_id}",
            GroupName=self._group,
            ScheduleExpression=f"at({when})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={
                "Arn": self._queue_arn,
                "RoleArn": self._role_arn,
                "Input": json.dumps({"campaign": campaign_id}),
                "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
            },
        )
