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
     the handler set with ChangeMessageVisibility). The error goes to the function's log as the Lambda
     runtime writes it (stdout) and is kept in `handler_errors`.
   - handler ran longer than the function timeout: as a Lambda timeout, nothing is deleted. (The handler
     is not killed here; it runs to the end and its result is discarded.)
   - `lose_response_for(event)` is true: the fault hook for chaos tests. The handler runs on the whole
     event, then its response is discarded and nothing is deleted. That is exactly what a timeout or a
     crashed runtime does to an SQS batch: the work (sends, ledger writes, visibility changes) happened,
     yet every record is delivered again.

Cut-offs (`cut_offs=CutOffs(...)`, off by default): a chosen fraction of invocations run in a forked
child process that is SIGKILLed a random delay after the handler started, as a Lambda timeout ends a
runtime mid-batch: whatever the handler did so far (sends, ledger writes) stays done, nothing after
happens (no ChangeMessageVisibility, no response), and nothing is deleted, so every record of the batch
comes back after the queue's visibility timeout. An invocation that finishes before its delay is settled
as usual. The children are forked by a `ForkServer`, not by this process: see its docstring for why.

moto specifics worth knowing: redrive to the DLQ happens on *receive* (once ApproximateReceiveCount has
reached maxReceiveCount the next ReceiveMessage moves the message), so `drain` keeps polling while
messages are in flight; and moto slows down as a queue deepens, so keep test queues shallow.

Not emulated: concurrent batches (batches run one at a time), the batching window, the 6 MB invoke
payload cap, Lambda's error backoff, and the DeadLetterQueueSourceArn attribute (moto does not set it).

    python -m tests.stack.event_source --fork-server REPLY_FD    (started by ForkServer, not by hand)
"""

from __future__ import annotations

import base64
import enum
import hashlib
import importlib.util
import json
import logging
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.stack.lambda_context import FakeLambdaContext, HandlerError, handler_raised
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
    CUT_OFF = "cut_off"  # cut-off fault: the runtime was SIGKILLed mid-batch, nothing deleted


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
    cut_off_after_s: float | None = None  # for an invocation chosen for a cut-off: the planned delay
    handler_error: HandlerError | None = None  # HANDLER_ERROR: what was raised, with its traceback

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


class HandlerKeepsFailing(RuntimeError):
    """A drain gave up early: every invocation in a row raised the same error (see `EventSourceRunner.drain`)."""

    def __init__(self, errors: Sequence[HandlerError], why: str) -> None:
        self.errors = tuple(errors)
        first = errors[0]
        super().__init__(
            f"{first.function_name}: {len(errors)} invocation(s) in a row raised {first.error_type}: "
            f"{first.message} ({why})\n{first.traceback}".rstrip()
        )


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
        cut_offs: CutOffs | None = None,
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
        self.cut_offs = cut_offs
        self.poll_interval_s = poll_interval_s
        self.handler_errors: list[HandlerError] = []  # every invocation whose handler raised, in order
        self._visibility_timeout_s: float | None = None

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
        cut_off_after_s = self.cut_offs.draw() if self.cut_offs is not None else None
        if cut_off_after_s is not None:
            assert self.cut_offs is not None
            kill_on_store = self.cut_offs.kill_on_store
            return self._invoke_forked(event, record_ids, lose_response, cut_off_after_s, kill_on_store)
        context = FakeLambdaContext(self.function_name, self.function_timeout_s, self.memory_mb, region=self.region)
        started = time.monotonic()
        try:
            response = self.handler(json.loads(json.dumps(event)), context)
        except Exception as raised:
            return self._settle(event, InvocationOutcome.HANDLER_ERROR, record_ids, started, error=raised)
        return self._settle_response(event, record_ids, started, response, lose_response)

    def _invoke_forked(
        self,
        event: dict[str, Any],
        record_ids: tuple[str, ...],
        lose_response: bool,
        cut_off_after_s: float,
        kill_on_store: str | None = None,
    ) -> InvocationResult:
        assert self.cut_offs is not None
        started = time.monotonic()
        forked = self.cut_offs.fork_server.invoke(
            self.cut_offs.handler,
            event,
            function_name=self.function_name,
            timeout_s=self.function_timeout_s,
            memory_mb=self.memory_mb,
            region=self.region,
            kill_after_s=cut_off_after_s,
            kill_on_store=kill_on_store,
        )
        settle = {"cut_off_after_s": cut_off_after_s}
        if forked.outcome == "killed":
            error = TimeoutError(f"{self.function_name} cut off (SIGKILL) {cut_off_after_s:.2f} s into the batch")
            return self._settle(event, InvocationOutcome.CUT_OFF, record_ids, started, error=error, **settle)
        if forked.outcome == "timed_out":
            timeout = TimeoutError(f"{self.function_name} ran past its {self.function_timeout_s} s timeout")
            return self._settle(event, InvocationOutcome.TIMED_OUT, record_ids, started, error=timeout, **settle)
        if forked.outcome == "raised":
            error = ForkedHandlerError(forked.error or "the handler raised")
            return self._settle(event, InvocationOutcome.HANDLER_ERROR, record_ids, started, error=error, **settle)
        if forked.outcome == "unserializable":
            invalid = InvalidBatchResponse(f"the response is not JSON: {forked.error}")
            return self._settle(event, InvocationOutcome.INVALID_RESPONSE, record_ids, started, error=invalid, **settle)
        return self._settle_response(event, record_ids, started, forked.response, lose_response, **settle)

    def _settle_response(
        self,
        event: dict[str, Any],
        record_ids: tuple[str, ...],
        started: float,
        response: object,
        lose_response: bool,
        **settle: Any,
    ) -> InvocationResult:
        """Settle a batch whose handler returned `response`."""
        if lose_response:
            return self._settle(
                event, InvocationOutcome.RESPONSE_LOST, record_ids, started, response=response, **settle
            )
        if time.monotonic() - started > self.function_timeout_s:
            timeout = TimeoutError(f"{self.function_name} ran past its {self.function_timeout_s} s timeout")
            return self._settle(
                event, InvocationOutcome.TIMED_OUT, record_ids, started, error=timeout, response=response, **settle
            )
        try:
            wire_response = json.loads(json.dumps(response))  # Lambda serializes the response to JSON
            failed_ids = parse_batch_item_failures(wire_response, record_ids) if self.report_batch_item_failures else ()
        except (TypeError, ValueError) as invalid:
            return self._settle(
                event,
                InvocationOutcome.INVALID_RESPONSE,
                record_ids,
                started,
                error=invalid,
                response=response,
                **settle,
            )
        outcome = InvocationOutcome.PARTIAL if failed_ids else InvocationOutcome.SUCCEEDED
        return self._settle(event, outcome, failed_ids, started, response=response, **settle)

    def _settle(
        self,
        event: dict[str, Any],
        outcome: InvocationOutcome,
        failed_ids: tuple[str, ...],
        started: float,
        *,
        error: BaseException | None = None,
        response: object = None,
        cut_off_after_s: float | None = None,
    ) -> InvocationResult:
        duration_s = time.monotonic() - started
        raised = None
        if outcome is InvocationOutcome.HANDLER_ERROR and error is not None:
            formatted = str(error) if isinstance(error, ForkedHandlerError) else None
            raised = handler_raised(self.function_name, error, formatted=formatted)  # logged, as Lambda does
            self.handler_errors.append(raised)
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
            cut_off_after_s=cut_off_after_s,
            handler_error=raised,
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
    def visibility_timeout_s(self) -> float:
        """The queue's VisibilityTimeout: when the records of a batch whose handler raised come back."""
        if self._visibility_timeout_s is None:
            attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"])
            self._visibility_timeout_s = float(attributes["Attributes"]["VisibilityTimeout"])
        return self._visibility_timeout_s

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
        give_up_after_errors: int | None = None,
    ) -> list[InvocationResult]:
        """Poll every source in turn until all queues have been empty for `idle_s`, `until()` is true,
        or `timeout_s` passed; returns every invocation in the order it happened.

        `give_up_after_errors=N`: raise HandlerKeepsFailing, with the first traceback, as soon as the last
        N invocations all raised the same error (same function, type and message), or the last ones
        did, nothing is left on the queues but their records, and those come back (after the queue's
        visibility timeout) only past `timeout_s`: the drain would just wait and time out."""
        results: list[InvocationResult] = []
        deadline = time.monotonic() + timeout_s
        empty_since: float | None = None
        streak: list[InvocationResult] = []  # the latest invocations, all raising the same error
        while not (until is not None and until()):
            batch_results = [result for source in self.sources if (result := source.poll_once()) is not None]
            results.extend(batch_results)
            if give_up_after_errors is not None:
                streak = _same_error_streak(streak, batch_results)
                self._give_up_if_failing(streak, give_up_after_errors, waiting=not batch_results, deadline=deadline)
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

    def _give_up_if_failing(
        self, streak: list[InvocationResult], limit: int, *, waiting: bool, deadline: float
    ) -> None:
        errors = [result.handler_error for result in streak if result.handler_error is not None]
        if not errors:
            return
        if len(errors) >= limit:
            raise HandlerKeepsFailing(errors, f"giving up after {limit}")
        if not waiting:
            return
        stuck = {record_id for result in streak for record_id in result.record_ids}
        if sum(source.pending_messages() for source in self.sources) > len(stuck):
            return  # something else is still to run
        visibility = {source.function_name: source.visibility_timeout_s() for source in self.sources}
        back = min(error.at + visibility[error.function_name] for error in errors)
        if back > deadline:
            raise HandlerKeepsFailing(
                errors, "nothing else to run, and their records return only after the queue's visibility timeout"
            )


def _same_error_streak(streak: list[InvocationResult], latest: list[InvocationResult]) -> list[InvocationResult]:
    """`streak` extended by `latest`: the invocations at the end that all raised one same error."""

    def signature(result: InvocationResult) -> tuple[str, str, str] | None:
        error = result.handler_error
        return None if error is None else (error.function_name, error.error_type, error.message)

    for result in latest:
        mark = signature(result)
        if mark is None:
            streak = []
        elif streak and signature(streak[0]) == mark:
            streak = [*streak, result]
        else:
            streak = [result]
    return streak


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


# -- cut-offs: invocations SIGKILLed mid-batch, as a Lambda timeout ends them --------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]
_FORK_START_TIMEOUT_S = 60.0  # from the fork to the handler's first line (module load is done before)
_FORK_SERVER_START_TIMEOUT_S = 60.0


class ForkServerError(RuntimeError):
    """The fork server failed or went away; the message carries the tail of its log."""


class ForkedHandlerError(RuntimeError):
    """What a handler running in a forked child raised (its type, message and traceback as text)."""


@dataclass(frozen=True)
class HandlerSpec:
    """How a forked child finds a handler: the handler module's file, and the environment it reads
    (at import, and while it runs)."""

    app_path: str
    environment: Mapping[str, str]
    attribute: str = "handler"

    @property
    def key(self) -> str:
        doc = json.dumps([self.app_path, dict(self.environment), self.attribute], sort_keys=True)
        return hashlib.sha256(doc.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ForkedInvocation:
    """How a forked invocation ended: "returned", "raised", "unserializable", "killed" or "timed_out"."""

    outcome: str
    response: object = None
    error: str | None = None
    ran_s: float = 0.0  # from the handler's start to its end or its SIGKILL


class CutOffs:
    """Which invocations to cut off: each is chosen with probability `fraction` and killed a delay drawn
    uniformly from `delay_s` after its handler started; seeded, so a seed replays the same choices.

    With `ladder_s`, the chosen invocations take its delays in turn instead (each within ±15 %): kills
    early and late whatever the machine's speed, where a uniform range suits only one speed (on a fast
    machine late kills land after the batch finished, on a slow one early kills land before any send).
    With `store_log` (the relay's log) as well, every other chosen invocation is killed right after the
    relay logs a stored copy: the window where a takeover could send a second copy, hit by construction."""

    def __init__(
        self,
        fork_server: ForkServer,
        handler: HandlerSpec,
        *,
        fraction: float,
        delay_s: tuple[float, float] = (0.05, 1.0),
        seed: int = 0,
        ladder_s: tuple[float, ...] = (),
        store_log: Path | None = None,
    ) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be in [0, 1], got {fraction}")
        if not 0 <= delay_s[0] <= delay_s[1]:
            raise ValueError(f"delay_s must be (low, high) with 0 <= low <= high, got {delay_s}")
        self.fork_server = fork_server
        self.handler = handler
        self.fraction = fraction
        self.delay_s = delay_s
        self.ladder_s = ladder_s
        self.store_log = store_log  # every other chosen invocation dies when the relay stores a copy
        self.kill_on_store: str | None = None  # for the invocation drawn last
        self._chosen = 0
        self._random = random.Random(seed)

    def draw(self) -> float | None:
        """The delay after which to kill the next invocation, or None to run it in process."""
        chosen = self._random.random() < self.fraction
        delay = self._random.uniform(*self.delay_s)  # drawn either way: choices and delays stay in step
        if chosen and self.ladder_s:
            delay = self.ladder_s[self._chosen % len(self.ladder_s)] * self._random.uniform(0.85, 1.15)
        self.kill_on_store = str(self.store_log) if chosen and self.store_log and self._chosen % 2 else None
        if self.kill_on_store and self.ladder_s:
            delay = 2 * max(self.ladder_s)  # killed at the relay's first stored copy; this only bounds it
        self._chosen += chosen
        return delay if chosen else None


class ForkServer:
    """A helper process that forks one child per invocation, so that the child can be SIGKILLed.

    Why not fork this process: forking a process that runs threads is unsafe. Only the forking
    thread exists in the child, and whatever another thread held at that moment stays held forever:
    a logging or import lock, a connection half-used in a boto3/urllib3 pool, a ThreadPoolExecutor
    whose idle workers the child believes it still has (work submitted to it never runs). The test
    process has such threads as soon as a handler ran in process (the functions' I/O executor).

    So the children come from a fresh interpreter, `python -m tests.stack.event_source --fork-server`,
    that imports each handler module once (`load`) and then only forks: it never starts a thread and
    never opens a connection (it refuses to fork if it finds more than one thread), so every child
    starts clean, makes its own clients and connections, and takes them down with it when killed.
    Requests go to the server's stdin and replies come back on a pipe, both as JSON lines; the
    children's stdout and stderr (the functions' logs) go to `log_path`. Stop it with `stop()`
    (SIGTERM to its PID; it SIGKILLs its running child, by PID, first).
    """

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._replies: int | None = None
        self._buffer = b""
        self._loaded: set[str] = set()

    def start(self) -> ForkServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        read_end, write_end = os.pipe()
        try:
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "tests.stack.event_source", "--fork-server", str(write_end)],
                    cwd=REPO_ROOT,
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_end,),
                )
        finally:
            os.close(write_end)
        self._replies = read_end
        self._request({"op": "ping"}, timeout_s=_FORK_SERVER_START_TIMEOUT_S)
        return self

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def load(self, spec: HandlerSpec) -> None:
        """Import the handler module in the server (once per spec), with its environment."""
        if spec.key in self._loaded:
            return
        reply = self._request(
            {
                "op": "load",
                "key": spec.key,
                "app_path": spec.app_path,
                "environment": dict(spec.environment),
                "attribute": spec.attribute,
            },
            timeout_s=_FORK_START_TIMEOUT_S,
        )
        if not reply.get("ok"):
            raise ForkServerError(f"the fork server could not load {spec.app_path}: {reply.get('error')}")
        self._loaded.add(spec.key)

    def invoke(
        self,
        spec: HandlerSpec,
        event: Mapping[str, Any],
        *,
        function_name: str,
        timeout_s: float,
        memory_mb: int = 512,
        region: str = DEFAULT_REGION,
        kill_after_s: float | None = None,
        kill_on_store: str | None = None,
    ) -> ForkedInvocation:
        """Run the handler on `event` in a forked child; SIGKILL it `kill_after_s` after it started
        (outcome "killed"), or at `timeout_s` (outcome "timed_out"). With `kill_on_store` (the relay's
        log), it is killed as soon as the relay logs a stored copy after the child started, if sooner."""
        self.load(spec)
        reply = self._request(
            {
                "op": "invoke",
                "key": spec.key,
                "event": event,
                "function_name": function_name,
                "timeout_s": timeout_s,
                "memory_mb": memory_mb,
                "region": region,
                "kill_after_s": kill_after_s,
                "kill_on_store": kill_on_store,
            },
            timeout_s=_FORK_START_TIMEOUT_S + timeout_s,
        )
        if "outcome" not in reply:
            raise ForkServerError(f"the fork server could not run {function_name}: {reply.get('error')}")
        return ForkedInvocation(reply["outcome"], reply.get("response"), reply.get("error"), reply.get("ran_s", 0.0))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()  # SIGTERM to this PID; the server kills its child by PID, then exits
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process is not None and process.stdin is not None:
            process.stdin.close()
        if self._replies is not None:
            os.close(self._replies)
            self._replies = None

    def __enter__(self) -> ForkServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _request(self, request: Mapping[str, Any], *, timeout_s: float) -> dict[str, Any]:
        process = self._process
        if process is None or process.stdin is None or self._replies is None:
            raise ForkServerError("the fork server is not running")
        try:
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.flush()
        except BrokenPipeError:
            raise ForkServerError(f"the fork server exited:\n{self._log_tail()}") from None
        line, self._buffer = _read_line(self._replies, self._buffer, time.monotonic() + timeout_s)
        if line is None:
            raise ForkServerError(f"no answer from the fork server within {timeout_s:g} s:\n{self._log_tail()}")
        return json.loads(line)

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _read_line(fd: int, buffer: bytes, deadline: float) -> tuple[bytes | None, bytes]:
    """The next line from `fd` (without its newline) and what was read past it; None at EOF or the deadline."""
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return None, buffer
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None, buffer
        buffer += chunk
    line, _, rest = buffer.partition(b"\n")
    return line, rest


def _read_line_until_stored(fd: int, buffer: bytes, deadline: float, store_log: Path) -> tuple[bytes | None, bool]:
    """The child's result line, or None with True as soon as the relay's log gains a stored copy of a
    message that is not a DSN (None with False at the deadline)."""
    offset = store_log.stat().st_size if store_log.exists() else 0
    while True:
        line, buffer = _read_line(fd, buffer, min(deadline, time.monotonic() + 0.02))
        if line is not None:
            return line, False
        if store_log.exists() and store_log.stat().st_size > offset:
            with store_log.open("rb") as log:
                log.seek(offset)
                added = log.read()
            offset += len(added)
            # the relay logs a stored copy with the file it went to ("stored": "<name>"; null: refused)
            if any(b'"stored": "' in row and b'"sender": "<>"' not in row for row in added.splitlines()):
                return None, True
        if time.monotonic() >= deadline:
            return None, False


# -- the fork server's side (runs in its own interpreter) ----------------------------------------------


@contextmanager
def environment_set_to(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with these values for the duration (the functions read their settings from it)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def serve_forks(reply_fd: int) -> None:
    """The fork server's loop: requests from stdin, one reply line each on `reply_fd`."""
    handlers: dict[str, tuple[Callable[..., Any], dict[str, str]]] = {}
    running: dict[str, int] = {}

    def terminate(signum: int, frame: Any) -> None:
        if "pid" in running:
            os.kill(running["pid"], signal.SIGKILL)
        os._exit(0)

    signal.signal(signal.SIGTERM, terminate)
    replies = os.fdopen(reply_fd, "w", encoding="utf-8")
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "ping":
                reply: dict[str, Any] = {"ok": True}
            elif request["op"] == "load":
                handlers[request["key"]] = _load_handler(request), dict(request["environment"])
                reply = {"ok": True}
            else:
                handler, environment = handlers[request["key"]]
                reply = _fork_invocation(handler, environment, request, running)
        except Exception:
            reply = {"ok": False, "error": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def _load_handler(request: Mapping[str, Any]) -> Callable[..., Any]:
    name = f"forked_{Path(request['app_path']).parent.name}_{request['key']}"
    spec = importlib.util.spec_from_file_location(name, request["app_path"])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with environment_set_to(request["environment"]):
        spec.loader.exec_module(module)  # the handler module reads its settings at import, as in Lambda
    return getattr(module, request.get("attribute", "handler"))


def _fork_invocation(
    handler: Callable[..., Any], environment: Mapping[str, str], request: Mapping[str, Any], running: dict[str, int]
) -> dict[str, Any]:
    if threading.active_count() != 1:
        raise RuntimeError(f"the fork server has {threading.active_count()} threads; forking now would be unsafe")
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: run the handler, report, and leave without any clean-up of the server's state
        try:
            os.close(read_end)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _run_in_child(handler, environment, request, write_end)
        finally:
            os._exit(0)
    os.close(write_end)
    running["pid"] = pid
    try:
        return _supervise(pid, read_end, request)
    finally:
        running.pop("pid", None)
        os.close(read_end)


def _run_in_child(
    handler: Callable[..., Any], environment: Mapping[str, str], request: Mapping[str, Any], out_fd: int
) -> None:
    os.environ.update(environment)
    out = os.fdopen(out_fd, "w", encoding="utf-8")
    context = FakeLambdaContext(
        request["function_name"], request["timeout_s"], request["memory_mb"], region=request["region"]
    )
    out.write("started\n")
    out.flush()
    try:
        response = handler(request["event"], context)
        try:
            message = json.dumps({"outcome": "returned", "response": response})
        except (TypeError, ValueError) as invalid:
            message = json.dumps({"outcome": "unserializable", "error": f"{invalid}: {response!r}"[:2000]})
    except BaseException as raised:
        message = json.dumps({"outcome": "raised", "error": "".join(traceback.format_exception(raised))[-4000:]})
    sys.stdout.flush()
    sys.stderr.flush()
    out.write(message + "\n")
    out.flush()


def _supervise(pid: int, read_end: int, request: Mapping[str, Any]) -> dict[str, Any]:
    """Wait for the child to start, then for its result until the kill delay or the timeout."""
    started_line, buffer = _read_line(read_end, b"", time.monotonic() + _FORK_START_TIMEOUT_S)
    if started_line != b"started":
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return {"ok": False, "error": "the forked child did not start"}
    started = time.monotonic()
    timeout_s = float(request["timeout_s"])
    kill_after_s = request.get("kill_after_s")
    limit = timeout_s if kill_after_s is None else min(float(kill_after_s), timeout_s)
    store_log = request.get("kill_on_store")
    if store_log:
        line, stored = _read_line_until_stored(read_end, buffer, started + limit, Path(store_log))
        if line is None and stored:
            os.kill(pid, signal.SIGKILL)  # right after the relay accepted a copy: the window that matters
            os.waitpid(pid, 0)
            return {"outcome": "killed", "ran_s": time.monotonic() - started}
    else:
        line, _ = _read_line(read_end, buffer, started + limit)
    if line is None:
        os.kill(pid, signal.SIGKILL)  # the Lambda timeout: no clean-up, no response
        os.waitpid(pid, 0)
        outcome = "killed" if kill_after_s is not None and limit < timeout_s else "timed_out"
        return {"outcome": outcome, "ran_s": time.monotonic() - started}
    os.waitpid(pid, 0)
    return {**json.loads(line), "ran_s": time.monotonic() - started}


if __name__ == "__main__":
    if sys.argv[1:2] != ["--fork-server"] or len(sys.argv) != 3:
        sys.exit("usage: python -m tests.stack.event_source --fork-server REPLY_FD")
    serve_forks(int(sys.argv[2]))
