"""Emulates a Lambda SQS event source mapping against moto.

What `SqsEventSource.poll_once` does is what Lambda's poller does for one batch:

1. ReceiveMessage (up to 10 per call, repeated to fill `batch_size`) with all system and message
   attributes; the queue's own visibility timeout applies, as it does for Lambda.
2. Build the event exactly as Lambda does (see `events/sqs-event-example.json`), including the
   camel-cased `messageAttributes` shape and base64 binary values.
3. Invoke the handler with a `FakeLambdaContext` (a JSON copy of the event, as Lambda deserializes it).
4. Settle the batch:
   - handler returned, `ReportBatchItemFailures` on: delete every record not named in
     `batchItemFailures`. A null/empty response or list means success. A malformed response (an empty,
     null or unknown `itemIdentifier`, a wrong key, a response that is not JSON) fails the whole batch.
   - handler returned, `ReportBatchItemFailures` off: the response is ignored; delete everything.
   - handler raised: delete nothing; the records come back after their visibility timeout (or whatever
     the handler set with ChangeMessageVisibility).
   - handler ran longer than the function timeout: as a Lambda timeout, nothing is deleted. (The handler
     is not killed here; it runs to the end and its result is discarded.)
   - `lose_response_for(event)` is true: the fault hook for chaos tests. The handler runs on the whole
     event, then its response is discarded and nothing is deleted. That is exactly what a timeout or a
     crashed runtime does to an SQS batch: the work (sends, ledger writes, visibility changes) happened,
     yet every record is delivered again.

moto specifics worth knowing: redrive to the DLQ happens on *receive* (once ApproximateReceiveCount has
reached maxReceiveCount the next ReceiveMessage moves the message), so `drain` keeps polling while
messages are in flight; and moto slows down as a queue deepens, so keep test queues shallow.

Not emulated: concurrent batches (batches run one at a time), the batching window, the 6 MB invoke
payload cap, Lambda's error backoff, and the DeadLetterQueueSourceArn attribute (moto does not set it).
"""

from __future__ import annotations

import base64
import enum
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.stack.lambda_context import FakeLambdaContext
from tests.stack.moto import DEFAULT_REGION

logger = logging.getLogger(__name__)

SqsHandler = Callable[[dict[str, Any], Any], object]
"""A Lambda handler: (event, context) -> response (`{"batchItemFailures": [...]}` or None)."""

MAX_MESSAGES_PER_RECEIVE = 10
MAX_BATCH_SIZE = 10_000
DEFAULT_POLL_INTERVAL_S = 0.05

# Lambda lists these system attributes first, in this order; any others (AWSTraceHeader, MessageGroupId…) follow.
_LAMBDA_ATTRIBUTE_ORDER = ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")


class InvocationOutcome(enum.Enum):
    """How the event source settled one batch."""

    SUCCEEDED = "succeeded"  # every record deleted
    PARTIAL = "partial"  # records named in batchItemFailures stay on the queue, the rest deleted
    HANDLER_ERROR = "handler_error"  # the handler raised: nothing deleted
    INVALID_RESPONSE = "invalid_response"  # malformed batchItemFailures or a non-JSON response: nothing deleted
    TIMED_OUT = "timed_out"  # ran past the function timeout: response discarded, nothing deleted
    RESPONSE_LOST = "response_lost"  # lose_response_for fault: response discarded, nothing deleted


@dataclass(frozen=True)
class InvocationResult:
    """One handler invocation and what the event source did with its batch."""

    function_name: str
    record_ids: tuple[str, ...]
    failed_ids: tuple[str, ...]  # left on the queue; they come back after their visibility timeout
    outcome: InvocationOutcome
    duration_s: float
    error: BaseException | None = None  # what the handler raised, or why its response was rejected
    response: object = None  # what the handler returned (None if it raised)
    delete_failed_ids: tuple[str, ...] = ()  # deletions SQS refused (the record will come back)
    event: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def deleted_ids(self) -> tuple[str, ...]:
        left = set(self.failed_ids) | set(self.delete_failed_ids)
        return tuple(record_id for record_id in self.record_ids if record_id not in left)

    @property
    def batch_failed(self) -> bool:
        """True when the whole batch was left on the queue for a reason other than batchItemFailures."""
        return self.outcome not in (InvocationOutcome.SUCCEEDED, InvocationOutcome.PARTIAL)

    @property
    def receive_counts(self) -> dict[str, int]:
        """messageId -> ApproximateReceiveCount as delivered in this event."""
        return {
            record["messageId"]: int(record["attributes"]["ApproximateReceiveCount"])
            for record in self.event.get("Records", [])
        }


class InvalidBatchResponse(ValueError):
    """The handler's response is not a valid partial batch response; Lambda fails the whole batch."""


class SqsEventSource:
    """One SQS event source mapping: `queue_url` feeds `handler`, batches of up to `batch_size`."""

    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        queue_arn: str,
        handler: SqsHandler,
        *,
        function_name: str,
        batch_size: int = 10,
        function_timeout_s: float = 60,
        memory_mb: int = 512,
        region: str = DEFAULT_REGION,
        report_batch_item_failures: bool = True,
        lose_response_for: Callable[[dict[str, Any]], bool] | None = None,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH_SIZE}, got {batch_size}")
        if function_timeout_s <= 0:
            raise ValueError(f"function_timeout_s must be positive, got {function_timeout_s}")
        self.sqs = sqs_client
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.function_name = function_name
        self.batch_size = batch_size
        self.function_timeout_s = function_timeout_s
        self.memory_mb = memory_mb
        self.region = region
        self.report_batch_item_failures = report_batch_item_failures
        self.lose_response_for = lose_response_for
        self.poll_interval_s = poll_interval_s

    # -- one batch -----------------------------------------------------------------------------------
    def poll_once(self, wait_s: float = 0) -> InvocationResult | None:
        """Receive one batch and invoke the handler on it; None when the queue gave nothing.

        `wait_s` > 0 long-polls the first ReceiveMessage; the serial moto server answers no one else meanwhile.
        """
        messages = self._receive_batch(wait_s)
        if not messages:
            return None
        return self._invoke(build_sqs_event(messages, self.queue_arn, self.region))

    def _receive_batch(self, wait_s: float) -> list[dict[str, Any]]:
        by_id: dict[str, dict[str, Any]] = {}
        wait = int(wait_s)
        while len(by_id) < self.batch_size:
            wanted = min(MAX_MESSAGES_PER_RECEIVE, self.batch_size - len(by_id))
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=wanted,
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            repeated = any(message["MessageId"] in by_id for message in received)
            # A message received twice (visibility 0) keeps its latest receipt handle, as SQS requires.
            by_id.update((message["MessageId"], message) for message in received)
            if len(received) < wanted or repeated:
                break
            wait = 0
        return list(by_id.values())

    def _invoke(self, event: dict[str, Any]) -> InvocationResult:
        records = event["Records"]
        record_ids = tuple(record["messageId"] for record in records)
        lose_response = self.lose_response_for is not None and self.lose_response_for(event)
        context = FakeLambdaContext(self.function_name, self.function_timeout_s, self.memory_mb, region=self.region)
        started = time.monotonic()
        try:
            response = self.handler(json.loads(json.dumps(event)), context)
        except Exception as raised:  # noqa: BLE001 - any handler exception fails the batch, as in Lambda
            return self._settle(event, InvocationOutcome.HANDLER_ERROR, record_ids, started, error=raised)
        if lose_response:
            return self._settle(event, InvocationOutcome.RESPONSE_LOST, record_ids, started, response=response)
        if time.monotonic() - started > self.function_timeout_s:
            timeout = TimeoutError(f"{self.function_name} ran past its {self.function_timeout_s} s timeout")
            return self._settle(
                event, InvocationOutcome.TIMED_OUT, record_ids, started, error=timeout, response=response
            )
        try:
            wire_response = json.loads(json.dumps(response))  # Lambda serializes the response to JSON
            failed_ids = parse_batch_item_failures(wire_response, record_ids) if self.report_batch_item_failures else ()
        except (TypeError, ValueError) as invalid:
            return self._settle(
                event, InvocationOutcome.INVALID_RESPONSE, record_ids, started, error=invalid, response=response
            )
        outcome = InvocationOutcome.PARTIAL if failed_ids else InvocationOutcome.SUCCEEDED
        return self._settle(event, outcome, failed_ids, started, response=response)

    def _settle(
        self,
        event: dict[str, Any],
        outcome: InvocationOutcome,
        failed_ids: tuple[str, ...],
        started: float,
        *,
        error: BaseException | None = None,
        response: object = None,
    ) -> InvocationResult:
        duration_s = time.monotonic() - started
        failed = set(failed_ids)
        to_delete = [record for record in event["Records"] if record["messageId"] not in failed]
        delete_failed_ids = self._delete(to_delete)
        result = InvocationResult(
            function_name=self.function_name,
            record_ids=tuple(record["messageId"] for record in event["Records"]),
            failed_ids=failed_ids,
            outcome=outcome,
            duration_s=duration_s,
            error=error,
            response=response,
            delete_failed_ids=delete_failed_ids,
            event=event,
        )
        logger.debug(
            "%s: %d records, outcome %s, %d left on the queue (%.3f s)%s",
            self.function_name,
            len(result.record_ids),
            outcome.value,
            len(failed_ids),
            duration_s,
            f": {error!r}" if error else "",
        )
        return result

    def _delete(self, records: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
        refused: list[str] = []
        for start in range(0, len(records), MAX_MESSAGES_PER_RECEIVE):
            chunk = records[start : start + MAX_MESSAGES_PER_RECEIVE]
            response = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": r["receiptHandle"]} for index, r in enumerate(chunk)],
            )
            refused.extend(chunk[int(entry["Id"])]["messageId"] for entry in response.get("Failed", []))
        return tuple(refused)

    # -- until the queue is empty ----------------------------------------------------------------------
    def pending_messages(self) -> int:
        """Messages visible, in flight or delayed on the queue (approximate, as SQS reports them)."""
        return pending_messages(self.sqs, self.queue_url)

    def drain(
        self,
        until: Callable[[], bool] | None = None,
        *,
        timeout_s: float = 10.0,
        idle_s: float = 0.2,
    ) -> list[InvocationResult]:
        """Poll until the queue has been empty for `idle_s`, `until()` is true, or `timeout_s` passed.

        Returns the invocations in order; on a timeout it returns what it has (check the queue).
        """
        return EventSourceRunner([self]).drain(until, timeout_s=timeout_s, idle_s=idle_s)


class EventSourceRunner:
    """Runs several event sources round-robin (e.g. dispatch on the send queue, bounce on the DLQ)."""

    def __init__(self, sources: Sequence[SqsEventSource], *, poll_interval_s: float | None = None) -> None:
        if not sources:
            raise ValueError("EventSourceRunner needs at least one event source")
        self.sources = list(sources)
        self.poll_interval_s = (
            poll_interval_s if poll_interval_s is not None else min(s.poll_interval_s for s in self.sources)
        )

    def drain(
        self,
        until: Callable[[], bool] | None = None,
        *,
        timeout_s: float = 10.0,
        idle_s: float = 0.2,
    ) -> list[InvocationResult]:
        """Poll every source in turn until all queues have been empty for `idle_s`, `until()` is true,
        or `timeout_s` passed; returns every invocation in the order it happened."""
        results: list[InvocationResult] = []
        deadline = time.monotonic() + timeout_s
        empty_since: float | None = None
        while not (until is not None and until()):
            batch_results = [result for source in self.sources if (result := source.poll_once()) is not None]
            results.extend(batch_results)
            now = time.monotonic()
            if now >= deadline:
                logger.warning("event sources still busy after %.1f s; returning what ran so far", timeout_s)
                break
            if batch_results:
                empty_since = None
                continue
            if all(source.pending_messages() == 0 for source in self.sources):
                empty_since = now if empty_since is None else empty_since
                if now - empty_since >= idle_s:
                    break
            else:
                empty_since = None
            time.sleep(self.poll_interval_s)
        return results


def pending_messages(sqs_client: Any, queue_url: str) -> int:
    """ApproximateNumberOfMessages + …NotVisible + …Delayed for one queue."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def parse_batch_item_failures(response: object, record_ids: Sequence[str]) -> tuple[str, ...]:
    """The message ids a (JSON-decoded) handler response reports as failed.

    Success: None, {}, a dict without `batchItemFailures`, or a null/empty list. Raises InvalidBatchResponse
    (Lambda fails the whole batch) for anything else that is not a list of {"itemIdentifier": <messageId of
    this batch>}. A response that is not a JSON object is rejected too: the docs do not say what Lambda does
    with one, and here it is always a handler bug worth seeing.
    """
    if response is None:
        return ()
    if not isinstance(response, dict):
        raise InvalidBatchResponse(f"response is a {type(response).__name__}, not an object")
    failures = response.get("batchItemFailures")
    if failures is None:
        return ()
    if not isinstance(failures, list):
        raise InvalidBatchResponse(f"batchItemFailures is a {type(failures).__name__}, not a list")
    known = set(record_ids)
    failed: list[str] = []
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in known:
            raise InvalidBatchResponse(f"batchItemFailures entry {item!r} does not name a message of this batch")
        if identifier not in failed:
            failed.append(identifier)
    return tuple(failed)


def build_sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda SQS event for ReceiveMessage results (boto3 shape) from the queue `queue_arn`."""
    return {"Records": [_lambda_record(message, queue_arn, region) for message in messages]}


def _lambda_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes: dict[str, str] = message.get("Attributes", {})
    ordered = {name: attributes[name] for name in _LAMBDA_ATTRIBUTE_ORDER if name in attributes}
    ordered.update((name, value) for name, value in attributes.items() if name not in ordered)
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": ordered,
        "messageAttributes": {
            name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        # Lambda sends the key with null when the message has no attributes.
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """boto3's {"StringValue"|"BinaryValue", "DataType"} -> Lambda's camel-cased shape, binary as base64."""
    shaped: dict[str, Any] = {}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = _base64(value["BinaryValue"])
    shaped["stringListValues"] = list(value.get("StringListValues", []))
    shaped["binaryListValues"] = [_base64(item) for item in value.get("BinaryListValues", [])]
    shaped["dataType"] = value["DataType"]
    return shaped


def _base64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")
