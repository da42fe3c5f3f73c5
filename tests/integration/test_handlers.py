"""The three handlers, Powertools style: each sample in events/ goes into an SQS event, the real
`handler(event, context)` runs on it, and the test asserts the exact `batchItemFailures` it returns.

One local stack for the module (moto server, the scripted relay, the template's resources, the
handler modules loaded from functions/<name>/app.py). Each sample is sent to the queue its function
reads and received back, so the record is a real one (messageId, receiptHandle, attributes,
eventSourceARN) and the visibility changes the handler makes take effect; after the call the test
deletes the records the handler did not report, as Lambda does.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from tests.stack.event_source import build_sqs_event
from tests.stack.lambda_context import FakeLambdaContext
from tests.stack.local_stack import DEMO_RELAY_SCRIPT, LocalStack
from tests.stack.moto import aws_client

EVENTS = Path(__file__).resolve().parents[2] / "events"
REQUESTS = EVENTS / "requests"
RETURNED = EVENTS / "returned"
QUEUE_OF = {
    "DispatchFunction": "SendQueue",
    "BounceFunction": "DeadLetterQueue",
    "ReturnedFunction": "ReturnedMailQueue",
}
SLOW_SENDER = "late-reader@example.com"  # the relay defers mail to it: a DSN to it cannot be delivered yet
RELAY_SCRIPT = {"rcpt": {**DEMO_RELAY_SCRIPT["rcpt"], SLOW_SENDER: ["451 4.2.1 mailbox busy, try again later"]}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    moto_server.reset()
    with LocalStack(tmp_path_factory.mktemp("handlers"), relay_script=RELAY_SCRIPT, moto=moto_server) as running:
        yield running


def receive(stack, queue_logical_id: str, ids: list[str], timeout_s: float = 10.0) -> list[dict]:
    """The messages `ids` from the queue (boto3 shape), in the order of `ids`."""
    url, got = stack.stack.queue_url(queue_logical_id), {}
    deadline = time.monotonic() + timeout_s
    while len(got) < len(ids) and time.monotonic() < deadline:
        response = stack.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        )
        got.update((m["MessageId"], m) for m in response.get("Messages", []) if m["MessageId"] in ids)
        if len(got) < len(ids):
            time.sleep(0.1)
    assert set(got) == set(ids), f"{queue_logical_id}: {len(got)} of {len(ids)} messages received"
    return [got[i] for i in ids]


def sqs_event(stack, queue_logical_id: str, bodies: list[str], attributes: list[dict] | None = None) -> dict:
    """Each body sent to the queue (with its message attributes) and received: the event Lambda would hand over."""
    url = stack.stack.queue_url(queue_logical_id)
    ids = [
        stack.sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)["MessageId"]
        for body, attrs in zip(bodies, attributes or [{}] * len(bodies), strict=True)
    ]
    return build_sqs_event(receive(stack, queue_logical_id, ids), stack.stack.arn(queue_logical_id), "us-east-1")


def invoke(stack, function: str, event: dict) -> dict:
    """The real handler on `event`; then, as Lambda does, the records it did not report are deleted."""
    response = stack.functions[function].handler(json.loads(json.dumps(event)), FakeLambdaContext(function, 60))
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for record in event["Records"]:
        if record["messageId"] not in failed:
            stack.sqs.delete_message(
                QueueUrl=stack.stack.queue_url(QUEUE_OF[function]), ReceiptHandle=record["receiptHandle"]
            )
    return response


def failures(*records: dict) -> dict:
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}


def dead_letters(stack) -> list[dict]:
    """The messages now on the dead-letter queue (received, so a following receive does not see them)."""
    url, messages = stack.stack.queue_url("DeadLetterQueue"), []
    while True:
        got = stack.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not got:
            return messages
        messages += got


# -- the dispatch function: send requests ------------------------------------------------------


@pytest.fixture(scope="module")
def dispatched(stack):
    """Every request sample in one batch, as the event source mapping could deliver them."""
    samples = {p.stem: p.read_text(encoding="utf-8") for p in sorted(REQUESTS.iterdir())}
    event = sqs_event(stack, "SendQueue", list(samples.values()))
    records = dict(zip(samples, event["Records"], strict=True))
    response = invoke(stack, "DispatchFunction", event)
    return records, response, dead_letters(stack)


def test_dispatch_reports_only_the_greylisted_request_of_the_sample_batch(dispatched):
    records, response, _ = dispatched
    assert set(records) == {
        "greylisted",
        "partial-reject",
        "poison-header-injection",
        "poison-not-json",
        "welcome-vi",
    }
    # delivered (welcome-vi), partly rejected (partial-reject: a DSN is due, nothing to retry) and
    # poison records are done; only the 451 waits for a later attempt.
    assert response == failures(records["greylisted"])


def test_dispatch_writes_a_report_for_the_rejection_and_each_poison_record(dispatched):
    records, _, dlq = dispatched
    reports = [json.loads(m["Body"]) for m in dlq]
    assert sorted((r["reason"], r.get("message_key")) for r in reports) == [
        ("invalid_request", None),
        ("invalid_request", None),
        ("rejected", "order-1001-shipped"),
    ]
    poison_ids = {r["source"]["sqs_message_id"] for r in reports if r["reason"] == "invalid_request"}
    assert poison_ids == {records["poison-header-injection"]["messageId"], records["poison-not-json"]["messageId"]}


def test_the_greylisted_request_comes_back_by_itself_and_is_then_delivered(stack, dispatched):
    records, _, _ = dispatched
    greylisted = records["greylisted"]
    url = stack.stack.queue_url("SendQueue")
    # The handler set its visibility to the retry delay (seconds), not the queue's 360 s.
    [again] = receive(stack, "SendQueue", [greylisted["messageId"]], timeout_s=15)
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    event = build_sqs_event([again], stack.stack.arn("SendQueue"), "us-east-1")
    assert invoke(stack, "DispatchFunction", event) == failures()
    assert stack.copies_received()["busy@example.org"] == 1
    assert stack.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []


def test_a_request_sent_again_after_delivery_is_done_without_a_second_copy(stack, dispatched):
    event = sqs_event(stack, "SendQueue", [(REQUESTS / "welcome-vi.json").read_text(encoding="utf-8")])
    assert invoke(stack, "DispatchFunction", event) == failures()
    assert stack.copies_received()["an.nguyen@example.net"] == 1
    # never silence: the used key is reported (to the event bus, not as a bounce to anyone)
    assert [json.loads(m["Body"])["reason"] for m in dead_letters(stack)] == ["key_reused"]


def test_dispatch_takes_the_documented_sqs_example_as_two_poison_records(stack):
    """events/sqs-event-example.json (receipt handles made up, body "Test message."): reported, not retried."""
    event = json.loads((EVENTS / "sqs-event-example.json").read_text(encoding="utf-8"))
    response = stack.functions["DispatchFunction"].handler(event, FakeLambdaContext("DispatchFunction", 60))
    assert response == failures()
    reports = [json.loads(m["Body"]) for m in dead_letters(stack)]
    assert sorted(r["source"]["sqs_message_id"] for r in reports) == sorted(r["messageId"] for r in event["Records"])
    assert {r["reason"] for r in reports} == {"invalid_request"}


# -- the bounce function: dead-letter bodies ---------------------------------------------------


def test_bounce_reports_every_dead_letter_of_the_sample_batch(stack, dispatched):
    """The reports the dispatch function wrote for the samples: DSNs to the sender (if any) and events."""
    _, _, dlq = dispatched
    # as the dispatch function wrote them: each report with its signature attribute
    event = sqs_event(stack, "DeadLetterQueue", [m["Body"] for m in dlq], [m.get("MessageAttributes", {}) for m in dlq])
    before = len(stack.dsn_messages())
    assert invoke(stack, "BounceFunction", event) == failures()
    assert len(stack.dsn_messages()) - before == 2  # ghost's rejection, the header injection; not JSON: no sender
    assert "ghost@example.net" in stack.suppressed_addresses()


def test_bounce_reports_a_send_request_sqs_redrove_after_repeated_crashes(stack):
    request = json.dumps({"from": "shop@example.com", "to": ["binh@example.net"], "subject": "Hi", "text": "Hi."})
    event = sqs_event(stack, "DeadLetterQueue", [request])
    assert invoke(stack, "BounceFunction", event) == failures()
    [event_sent] = [e for e in stack.bounce_events() if e["detail"]["reason"] == "redriven"]
    assert [r["address"] for r in event_sent["detail"]["recipients"]] == ["binh@example.net"]


def test_bounce_retries_a_report_whose_dsn_the_relay_deferred_and_only_that_one(stack):
    deferred = json.dumps({"from": SLOW_SENDER, "to": ["binh@example.net"], "subject": "Hi", "text": "Hi."})
    delivered = json.dumps({"from": "shop@example.com", "to": ["an@example.net"], "subject": "Hi", "text": "Hi."})
    event = sqs_event(stack, "DeadLetterQueue", [deferred, "not a report, not a request", delivered])
    deferred_record, _, _ = event["Records"]
    assert invoke(stack, "BounceFunction", event) == failures(deferred_record)


def test_warm_bounce_invocations_send_their_dsns_over_the_connection_the_first_left_open(stack):
    def redriven(to: str) -> str:
        return json.dumps({"from": "shop@example.com", "to": [to], "subject": "Hi", "text": "Hi."})

    dsns = len(stack.dsn_messages())
    assert (
        invoke(stack, "BounceFunction", sqs_event(stack, "DeadLetterQueue", [redriven("lan@example.net")]))
        == failures()
    )
    connects, quits = len(stack.relay.log_events("connect")), len(stack.relay.log_events("quit"))
    assert (
        invoke(stack, "BounceFunction", sqs_event(stack, "DeadLetterQueue", [redriven("minh@example.net")]))
        == failures()
    )
    assert len(stack.dsn_messages()) - dsns == 2
    assert len(stack.relay.log_events("connect")) == connects, "the second DSN went over the kept connection"
    assert len(stack.relay.log_events("quit")) == quits, "nothing was closed between the invocations"


# -- the returned-mail function: S3 notifications and SES notifications ------------------------


def sent_to(stack, recipient: str):
    [message] = [m for m in stack.delivered_messages() if m["X-Envelope-To"] == recipient]
    return message


def returned_mail(stack, sample: str, original) -> bytes:
    """A returned-mail sample as it would come back for `original` (one of the messages the relay took)."""
    raw = (RETURNED / sample).read_bytes()
    return raw.replace(b"RETURN_PATH", original["X-Envelope-From"].strip("<>").encode()).replace(
        b"ORIGINAL_MESSAGE_ID", original["Message-ID"].encode()
    )


def s3_notification(stack, key: str) -> str:
    """events/returned/s3-object-created.json pointed at `key` in the stack's returned-mail bucket."""
    doc = json.loads((RETURNED / "s3-object-created.json").read_text(encoding="utf-8"))
    s3 = doc["Records"][0]["s3"]
    s3["bucket"]["name"] = stack.stack.name("ReturnedMailBucket")
    s3["bucket"]["arn"] = f"arn:aws:s3:::{s3['bucket']['name']}"
    s3["object"]["key"] = key
    return json.dumps(doc)


def store(stack, raw: bytes) -> str:
    """Put returned mail in the bucket (outside the `returned/` prefix, so moto sends no notification of its own)."""
    key = f"handler-tests/{uuid.uuid4().hex}"
    aws_client("s3", stack.moto.endpoint_url).put_object(
        Bucket=stack.stack.name("ReturnedMailBucket"), Key=key, Body=raw
    )
    return key


def ses_notification(stack, sample: str, original) -> str:
    """The sample's SES notification for `original`, in an SNS envelope signed as SNS signs it."""
    unsigned = json.loads(returned_mail(stack, sample, original))
    return json.dumps(stack.ses_notification_envelope(json.loads(unsigned["Message"])))


def test_returned_retries_only_the_notification_whose_object_is_missing(stack, dispatched):
    binh = sent_to(stack, "binh@example.net")
    bodies = {
        "postfix dsn in s3": s3_notification(stack, store(stack, returned_mail(stack, "postfix-dsn.eml", binh))),
        "vacation reply in s3": s3_notification(stack, store(stack, returned_mail(stack, "vacation-reply.eml", binh))),
        "arf complaint in s3": s3_notification(stack, store(stack, returned_mail(stack, "arf-complaint.eml", binh))),
        "missing object": s3_notification(stack, f"handler-tests/{uuid.uuid4().hex}-never-stored"),
        "s3 test event": (RETURNED / "s3-test-event.json").read_text(encoding="utf-8"),
        "ses bounce": ses_notification(stack, "ses-bounce-via-sns.json", binh),
        "ses complaint": ses_notification(stack, "ses-complaint-via-sns.json", sent_to(stack, "an.nguyen@example.net")),
        "not returned mail": "Test message.",
    }
    dead_letters(stack)  # start with an empty dead-letter queue
    event = sqs_event(stack, "ReturnedMailQueue", list(bodies.values()))
    records = dict(zip(bodies, event["Records"], strict=True))
    assert invoke(stack, "ReturnedFunction", event) == failures(records["missing object"])
    reports = sorted(
        (r["reason"], r["source"].get("matched_by"), r["message_key"])
        for r in (json.loads(m["Body"]) for m in dead_letters(stack))
    )
    # Every sample came back to a signed return path (SES names it as the mail's source): matched by VERP.
    assert reports == [
        ("complaint", "verp", "order-1001-shipped"),  # the ARF report, stored in S3
        ("complaint", "verp", "welcome-an-0001"),  # the SES complaint
        ("returned", "verp", "order-1001-shipped"),  # the Postfix DSN, stored in S3
        ("returned", "verp", "order-1001-shipped"),  # the SES bounce
    ]
