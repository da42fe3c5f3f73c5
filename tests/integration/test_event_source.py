"""The SQS event source emulator behaves like Lambda's SQS event source mapping, against a real moto server."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser.models import SqsModel

from tests.stack.event_source import EventSourceRunner, HandlerKeepsFailing, InvocationOutcome, SqsEventSource
from tests.stack.moto import MotoServer, aws_client

EXAMPLE_EVENT = Path(__file__).resolve().parents[2] / "events" / "sqs-event-example.json"


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str


@pytest.fixture(scope="module")
def sqs_client(moto_server: MotoServer) -> Any:
    return aws_client("sqs", moto_server.endpoint_url)


@pytest.fixture
def sqs(fresh_moto: MotoServer, sqs_client: Any) -> Any:
    return sqs_client


def make_queue(sqs: Any, name: str, *, visibility_s: int = 30, dlq: Queue | None = None, max_receive: int = 3) -> Queue:
    attributes = {"VisibilityTimeout": str(visibility_s)}
    if dlq is not None:
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": max_receive})
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queue(url, arn)


def send(sqs: Any, queue: Queue, *bodies: str) -> dict[str, str]:
    """Sends each body; returns body -> MessageId."""
    return {body: sqs.send_message(QueueUrl=queue.url, MessageBody=body)["MessageId"] for body in bodies}


def visible_and_in_flight(sqs: Any, queue: Queue) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


Handler = Callable[[dict[str, Any], Any], object]


def event_source(sqs: Any, queue: Queue, handler: Handler, **options: Any) -> SqsEventSource:
    options.setdefault("function_name", "dispatch")
    return SqsEventSource(sqs, queue.url, queue.arn, handler, **options)


def fail(*message_ids: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in message_ids]}


# -- partial batch responses ---------------------------------------------------------------------------


def test_records_not_named_in_batch_item_failures_are_deleted_and_named_ones_stay(sqs: Any) -> None:
    queue = make_queue(sqs, "send")
    ids = send(sqs, queue, "a", "b", "c")

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return fail(*(r["messageId"] for r in event["Records"] if r["body"] == "b"))

    result = event_source(sqs, queue, handler).poll_once()

    assert result is not None
    assert result.outcome is InvocationOutcome.PARTIAL
    assert sorted(result.record_ids) == sorted(ids.values())
    assert result.failed_ids == (ids["b"],)
    assert sorted(result.deleted_ids) == sorted([ids["a"], ids["c"]])
    assert visible_and_in_flight(sqs, queue) == (0, 1)


def test_a_failed_record_comes_back_after_the_visibility_its_handler_set_with_receive_count_incremented(
    sqs: Any,
) -> None:
    queue = make_queue(sqs, "send", visibility_s=30)  # only the handler's visibility can bring records back
    ids = send(sqs, queue, "soon", "later")
    delay_for = {"soon": 0, "later": 1}
    seen: list[tuple[str, int]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failed = []
        for record in event["Records"]:
            count = int(record["attributes"]["ApproximateReceiveCount"])
            seen.append((record["body"], count))
            if count == 1:
                sqs.change_message_visibility(
                    QueueUrl=queue.url,
                    ReceiptHandle=record["receiptHandle"],
                    VisibilityTimeout=delay_for[record["body"]],
                )
                failed.append(record["messageId"])
        return fail(*failed)

    source = event_source(sqs, queue, handler)
    first = source.poll_once()
    failed_at = time.monotonic()
    assert first is not None and sorted(first.failed_ids) == sorted(ids.values())

    again = source.poll_once()
    assert again is not None and again.record_ids == (ids["soon"],)
    assert source.poll_once() is None  # "later" is still hidden

    time.sleep(max(0.0, failed_at + 1.1 - time.monotonic()))
    last = source.poll_once()
    assert last is not None and last.record_ids == (ids["later"],)
    assert sorted(seen) == [("later", 1), ("later", 2), ("soon", 1), ("soon", 2)]
    assert visible_and_in_flight(sqs, queue) == (0, 0)


def test_an_exception_fails_the_whole_batch_and_every_record_returns_after_the_queue_visibility(sqs: Any) -> None:
    queue = make_queue(sqs, "send", visibility_s=1)
    ids = send(sqs, queue, "a", "b", "c")
    calls: list[dict[str, int]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        calls.append({r["body"]: int(r["attributes"]["ApproximateReceiveCount"]) for r in event["Records"]})
        if len(calls) == 1:
            raise RuntimeError("relay unreachable")

    source = event_source(sqs, queue, handler)
    first = source.poll_once()

    assert first is not None
    assert first.outcome is InvocationOutcome.HANDLER_ERROR
    assert isinstance(first.error, RuntimeError) and str(first.error) == "relay unreachable"
    assert sorted(first.failed_ids) == sorted(ids.values()) and first.deleted_ids == ()
    assert visible_and_in_flight(sqs, queue) == (0, 3)

    later = source.drain(timeout_s=5, idle_s=0.1)
    # They come back together, or split over batches when a poll lands just as they become visible.
    assert {r.outcome for r in later} == {InvocationOutcome.SUCCEEDED}
    assert {body: count for redelivery in calls[1:] for body, count in redelivery.items()} == {"a": 2, "b": 2, "c": 2}
    assert visible_and_in_flight(sqs, queue) == (0, 0)


def test_a_handler_error_is_logged_as_the_lambda_runtime_logs_it_and_kept(sqs: Any, capsys: Any) -> None:
    queue = make_queue(sqs, "send")
    send(sqs, queue, "a")

    def handler(event: dict[str, Any], context: Any) -> None:
        raise KeyError("relay")

    source = event_source(sqs, queue, handler)
    result = source.poll_once()

    assert result is not None and result.handler_error is not None
    assert source.handler_errors == [result.handler_error]
    assert (result.handler_error.error_type, result.handler_error.message) == ("KeyError", "'relay'")
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["level"] == "ERROR" and line["function"] == "dispatch"
    assert line["message"]["errorType"] == "KeyError" and "raise KeyError" in "\n".join(line["message"]["stackTrace"])


def test_drain_gives_up_after_identical_handler_errors_in_a_row(sqs: Any) -> None:
    queue = make_queue(sqs, "send", visibility_s=0)  # the records come straight back
    send(sqs, queue, "a")

    def handler(event: dict[str, Any], context: Any) -> None:
        raise AttributeError("'NoneType' object has no attribute 'table'")

    source = event_source(sqs, queue, handler)
    started = time.monotonic()
    with pytest.raises(HandlerKeepsFailing, match=r"3 invocation.*AttributeError: 'NoneType' object") as raised:
        EventSourceRunner([source]).drain(timeout_s=30, give_up_after_errors=3)

    assert time.monotonic() - started < 10
    assert len(source.handler_errors) == 3 and "Traceback" in str(raised.value) and "in handler" in str(raised.value)


def test_drain_gives_up_when_only_failed_records_are_left_and_they_return_past_its_timeout(sqs: Any) -> None:
    queue = make_queue(sqs, "send", visibility_s=60)
    send(sqs, queue, "a", "b")

    def handler(event: dict[str, Any], context: Any) -> None:
        raise AttributeError("no relay")

    started = time.monotonic()
    with pytest.raises(HandlerKeepsFailing, match=r"1 invocation.*AttributeError: no relay.*visibility timeout"):
        EventSourceRunner([event_source(sqs, queue, handler)]).drain(timeout_s=30, give_up_after_errors=3)
    assert time.monotonic() - started < 5


def test_drain_waits_for_records_that_return_before_its_timeout_after_one_handler_error(sqs: Any) -> None:
    queue = make_queue(sqs, "send", visibility_s=1)
    send(sqs, queue, "a")
    calls: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("relay unreachable")

    results = EventSourceRunner([event_source(sqs, queue, handler)]).drain(
        timeout_s=10, idle_s=0.1, give_up_after_errors=3
    )

    assert [r.outcome for r in results] == [InvocationOutcome.HANDLER_ERROR, InvocationOutcome.SUCCEEDED]


MALFORMED_RESPONSES: dict[str, Callable[[list[str]], object]] = {
    "empty itemIdentifier": lambda ids: {"batchItemFailures": [{"itemIdentifier": ""}]},
    "null itemIdentifier": lambda ids: {"batchItemFailures": [{"itemIdentifier": None}]},
    "wrong key name": lambda ids: {"batchItemFailures": [{"messageId": ids[0]}]},
    "id not in the batch": lambda ids: fail("4b0f5f1e-0000-4000-8000-000000000000"),
    "one good and one empty": lambda ids: {"batchItemFailures": [{"itemIdentifier": ids[0]}, {"itemIdentifier": ""}]},
    "bare list of ids": lambda ids: {"batchItemFailures": list(ids)},
    "not serializable to JSON": lambda ids: {"batchItemFailures": [], "detail": object()},
}


@pytest.mark.parametrize("case", MALFORMED_RESPONSES)
def test_a_malformed_batch_response_fails_the_whole_batch(sqs: Any, case: str) -> None:
    queue = make_queue(sqs, "send")
    send(sqs, queue, "a", "b")
    respond = MALFORMED_RESPONSES[case]
    source = event_source(sqs, queue, lambda event, context: respond([r["messageId"] for r in event["Records"]]))

    result = source.poll_once()

    assert result is not None
    assert result.outcome is InvocationOutcome.INVALID_RESPONSE
    assert result.error is not None
    assert result.deleted_ids == ()
    assert visible_and_in_flight(sqs, queue) == (0, 2)


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_a_null_or_empty_response_deletes_the_whole_batch(sqs: Any, response: object) -> None:
    queue = make_queue(sqs, "send")
    send(sqs, queue, "a", "b")

    result = event_source(sqs, queue, lambda event, context: response).poll_once()

    assert result is not None and result.outcome is InvocationOutcome.SUCCEEDED
    assert len(result.deleted_ids) == 2
    assert visible_and_in_flight(sqs, queue) == (0, 0)


def test_without_report_batch_item_failures_the_response_is_ignored(sqs: Any) -> None:
    queue = make_queue(sqs, "send")
    send(sqs, queue, "a", "b")
    source = event_source(
        sqs, queue, lambda event, context: fail(event["Records"][0]["messageId"]), report_batch_item_failures=False
    )

    result = source.poll_once()

    assert result is not None and result.outcome is InvocationOutcome.SUCCEEDED
    assert visible_and_in_flight(sqs, queue) == (0, 0)


# -- the event and the context ---------------------------------------------------------------------------


def test_the_event_has_the_shape_of_the_documented_lambda_sqs_event(sqs: Any) -> None:
    example = json.loads(EXAMPLE_EVENT.read_text())
    example_record = example["Records"][0]
    queue = make_queue(sqs, "send")
    with_attributes = sqs.send_message(
        QueueUrl=queue.url,
        MessageBody="Test message.",
        MessageAttributes={
            "myAttribute": {"DataType": "String", "StringValue": "myValue"},
            "attempt": {"DataType": "Number", "StringValue": "42"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffmail"},
        },
    )["MessageId"]
    plain = sqs.send_message(QueueUrl=queue.url, MessageBody='{"to": "an.nguyen@example.net"}')["MessageId"]
    events: list[dict[str, Any]] = []
    source = event_source(sqs, queue, lambda event, context: events.append(event))

    result = source.poll_once()

    assert result is not None and len(events) == 1
    event = events[0]
    assert event == result.event
    assert set(event) == set(example) == {"Records"}
    records = {record["messageId"]: record for record in event["Records"]}
    assert set(records) == {with_attributes, plain}
    for record in records.values():
        # Lambda also sends md5OfMessageAttributes (null when there are none); the docs example leaves it out.
        assert set(record) == set(example_record) | {"md5OfMessageAttributes"}
        assert set(record["attributes"]) == set(example_record["attributes"])
        assert all(isinstance(value, str) for value in record["attributes"].values())
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert record["attributes"]["SentTimestamp"].isdigit()
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == queue.arn
        assert record["awsRegion"] == "us-east-1"
        assert isinstance(record["receiptHandle"], str) and record["receiptHandle"]

    attributes = records[with_attributes]["messageAttributes"]
    assert attributes["myAttribute"] == example_record["messageAttributes"]["myAttribute"]
    assert attributes["attempt"] == {
        "stringValue": "42",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Number",
    }
    assert attributes["blob"] == {
        "binaryValue": base64.b64encode(b"\x00\xffmail").decode(),
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }
    assert isinstance(records[with_attributes]["md5OfMessageAttributes"], str)
    assert records[plain]["messageAttributes"] == {}
    assert records[plain]["md5OfMessageAttributes"] is None

    # Handlers parse events with powertools' models: the emulated event and the example both pass.
    assert len(SqsModel.model_validate(event).Records) == 2
    assert len(SqsModel.model_validate(example).Records) == 2


def test_the_handler_gets_its_own_copy_of_the_event_as_lambda_deserializes_it(sqs: Any) -> None:
    queue = make_queue(sqs, "send")
    ids = send(sqs, queue, "a", "b")

    def handler(event: dict[str, Any], context: Any) -> None:
        for record in event["Records"]:
            record["messageId"] = "tampered"
            record["receiptHandle"] = "tampered"

    result = event_source(sqs, queue, handler).poll_once()

    assert result is not None and result.outcome is InvocationOutcome.SUCCEEDED
    assert sorted(r["messageId"] for r in result.event["Records"]) == sorted(ids.values())
    assert visible_and_in_flight(sqs, queue) == (0, 0)


def test_batches_are_filled_up_to_batch_size_over_several_receives(sqs: Any) -> None:
    queue = make_queue(sqs, "send")
    sqs_bodies = [f"m{i}" for i in range(23)]
    for start in range(0, len(sqs_bodies), 10):
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(sqs_bodies[start : start + 10])]
        sqs.send_message_batch(QueueUrl=queue.url, Entries=entries)

    results = event_source(sqs, queue, lambda event, context: None, batch_size=20).drain(timeout_s=5, idle_s=0)

    assert [len(r.record_ids) for r in results] == [20, 3]
    assert visible_and_in_flight(sqs, queue) == (0, 0)


def test_the_handler_gets_a_fresh_lambda_context_that_powertools_logger_accepts(sqs: Any) -> None:
    queue = make_queue(sqs, "send")
    send(sqs, queue, "a", "b")
    log = io.StringIO()
    logger = Logger(service="maildispatch-test", stream=log)
    contexts: list[tuple[str, int]] = []

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> None:
        contexts.append((context.aws_request_id, context.get_remaining_time_in_millis()))
        logger.info("batch received")

    results = event_source(sqs, queue, handler, batch_size=1, function_timeout_s=30, memory_mb=256).drain(
        timeout_s=5, idle_s=0
    )

    assert [r.outcome for r in results] == [InvocationOutcome.SUCCEEDED] * 2
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [line["function_request_id"] for line in lines] == [request_id for request_id, _ in contexts]
    assert len({request_id for request_id, _ in contexts}) == 2
    assert all(0 < remaining <= 30_000 for _, remaining in contexts)
    assert lines[0]["function_name"] == "dispatch"
    assert lines[0]["function_memory_size"] == 256
    assert lines[0]["function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:dispatch"


def test_a_handler_that_runs_past_the_function_timeout_fails_the_whole_batch(sqs: Any) -> None:
    queue = make_queue(sqs, "send")
    send(sqs, queue, "a")

    def handler(event: dict[str, Any], context: Any) -> None:
        while context.get_remaining_time_in_millis() > 0:
            time.sleep(0.02)
        time.sleep(0.02)

    result = event_source(sqs, queue, handler, function_timeout_s=0.2).poll_once()

    assert result is not None
    assert result.outcome is InvocationOutcome.TIMED_OUT
    assert result.duration_s > 0.2
    assert visible_and_in_flight(sqs, queue) == (0, 1)


# -- retries, DLQ and faults -----------------------------------------------------------------------------


def test_a_record_that_always_fails_is_redriven_to_the_dlq_after_max_receive_count_and_reaches_its_consumer(
    sqs: Any,
) -> None:
    dlq = make_queue(sqs, "dead-letters")
    queue = make_queue(sqs, "send", dlq=dlq, max_receive=3)
    ids = send(sqs, queue, "ghost", "fine")
    dispatch_counts: list[tuple[str, int]] = []
    bounced: list[tuple[str, str]] = []

    def dispatch(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failed = []
        for record in event["Records"]:
            dispatch_counts.append((record["body"], int(record["attributes"]["ApproximateReceiveCount"])))
            if record["body"] == "ghost":
                sqs.change_message_visibility(
                    QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
                failed.append(record["messageId"])
        return fail(*failed)

    def bounce(event: dict[str, Any], context: Any) -> None:
        bounced.extend((record["messageId"], record["body"]) for record in event["Records"])

    runner = EventSourceRunner(
        [
            event_source(sqs, queue, dispatch),
            event_source(sqs, dlq, bounce, function_name="bounce"),
        ]
    )
    results = runner.drain(timeout_s=10, idle_s=0.2)

    assert sorted(dispatch_counts) == [("fine", 1), ("ghost", 1), ("ghost", 2), ("ghost", 3)]
    assert bounced == [(ids["ghost"], "ghost")]
    assert [r.outcome for r in results if r.function_name == "bounce"] == [InvocationOutcome.SUCCEEDED]
    assert visible_and_in_flight(sqs, queue) == (0, 0)
    assert visible_and_in_flight(sqs, dlq) == (0, 0)


def test_lose_response_for_delivers_again_a_batch_whose_handler_already_ran(sqs: Any) -> None:
    queue = make_queue(sqs, "send", visibility_s=1)
    ids = send(sqs, queue, "a", "b")
    handled: list[tuple[str, int]] = []
    invocations: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        handled.extend((r["body"], int(r["attributes"]["ApproximateReceiveCount"])) for r in event["Records"])

    def lose_first_response(event: dict[str, Any]) -> bool:
        invocations.append(len(event["Records"]))
        return len(invocations) == 1

    source = event_source(sqs, queue, handler, lose_response_for=lose_first_response)
    results = source.drain(timeout_s=5, idle_s=0.1)

    assert results[0].outcome is InvocationOutcome.RESPONSE_LOST
    assert {r.outcome for r in results[1:]} == {InvocationOutcome.SUCCEEDED}
    assert sorted(results[0].failed_ids) == sorted(ids.values())
    assert sorted(handled) == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    assert visible_and_in_flight(sqs, queue) == (0, 0)


def test_drain_stops_as_soon_as_until_is_true(sqs: Any) -> None:
    queue = make_queue(sqs, "send")
    send(sqs, queue, "a", "b", "c")
    handled: list[str] = []
    source = event_source(
        sqs, queue, lambda event, context: handled.extend(r["body"] for r in event["Records"]), batch_size=1
    )

    results = source.drain(lambda: len(handled) >= 2, timeout_s=5, idle_s=0)

    assert len(results) == 2
    assert visible_and_in_flight(sqs, queue) == (1, 0)


def test_drain_waits_idle_s_for_messages_that_arrive_after_the_queue_went_empty(sqs: Any) -> None:
    queue = make_queue(sqs, "send")
    handled: list[str] = []
    late_sender = threading.Timer(0.2, lambda: send(sqs, queue, "late"))
    source = event_source(sqs, queue, lambda event, context: handled.extend(r["body"] for r in event["Records"]))

    late_sender.start()
    try:
        source.drain(timeout_s=5, idle_s=0.6)
    finally:
        late_sender.join()

    assert handled == ["late"]


# -- the moto server itself ------------------------------------------------------------------------------


def test_reset_wipes_all_state(fresh_moto: MotoServer, sqs: Any) -> None:
    make_queue(sqs, "send")

    fresh_moto.reset()

    assert sqs.list_queues().get("QueueUrls", []) == []


def test_aws_env_points_plain_boto3_clients_at_moto(aws_env: dict[str, str], sqs: Any) -> None:
    plain = boto3.client("sqs")

    plain.create_queue(QueueName="made-by-plain-client")

    assert aws_env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert [url.rsplit("/", 1)[1] for url in sqs.list_queues()["QueueUrls"]] == ["made-by-plain-client"]


def test_stop_ends_the_server_process_by_its_pid() -> None:
    server = MotoServer().start()
    pid, port = server.pid, server.port
    assert pid is not None and port is not None
    aws_client("sqs", server.endpoint_url).create_queue(QueueName="alive")

    server.stop()

    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
