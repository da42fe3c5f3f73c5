"""Every way a send gets in, end to end on the embedded stack: an EventBridge event, an SNS
notification and S3 outbox objects, each routed by the template's own rule, subscription and
bucket notification to the send queue, delivered once per producer delivery even when the
producer delivers twice, and bad input from each door reported alone.

One stack for the module: every test uses its own recipients.
"""

from __future__ import annotations

import json

import pytest

from tests.stack.local_stack import LocalStack

SHOP = "shop@example.com"


def request(to: str, **overrides) -> dict:
    return {"from": f"Shop <{SHOP}>", "to": [to], "subject": "Hello", "text": "Hello there.", **overrides}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    moto_server.reset()
    with LocalStack(tmp_path_factory.mktemp("producers"), moto=moto_server) as running:
        running.drain(timeout_s=30)  # S3's test event on the new notification: ignored
        yield running


def copies(stack: LocalStack, recipient: str) -> int:
    return stack.copies_received().get(recipient, 0)


def test_an_eventbridge_event_is_sent_once_even_when_delivered_twice(stack):
    event_id = stack.put_event(request("eb@example.net"))
    # EventBridge retries its target (up to 24 h): the same event twice on the queue
    url = stack.stack.queue_url("SendQueue")
    [message] = stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=2)["Messages"]
    event = json.loads(message["Body"])
    assert (event["id"], event["detail-type"]) == (event_id, "Send Email")
    stack.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    stack.enqueue([message["Body"]])
    stack.drain(timeout_s=30)
    assert copies(stack, "eb@example.net") == 1
    [sent] = [m for m in stack.delivered_messages() if "eb@example.net" in m.get_all("X-Envelope-To", [])]
    assert sent["Subject"] == "Hello"


def test_an_sns_notification_is_sent_once_even_when_delivered_twice(stack):
    envelope_id = stack.publish(request("sns@example.net"))
    stack.drain(timeout_s=30)
    assert copies(stack, "sns@example.net") == 1
    # SNS delivered the same notification again (at least once): the envelope's MessageId keys it
    duplicate = {
        "Type": "Notification",
        "MessageId": envelope_id,
        "TopicArn": stack.stack.ref("SendTopic"),
        "Message": json.dumps(request("sns@example.net")),
    }
    stack.enqueue([json.dumps(duplicate)])
    stack.drain(timeout_s=30)
    assert copies(stack, "sns@example.net") == 1


def test_an_outbox_request_and_a_ready_message_are_each_sent_once(stack):
    stack.put_outbox("outbox/order-1.json", json.dumps(request("s3@example.net")))
    eml = (
        "From: Shop <shop@example.com>\nTo: s3-eml@example.net\nSubject: Ready made\n"
        "Message-ID: <ready-1@example.com>\n\nBuilt elsewhere.\n"
    )
    stack.put_outbox("outbox/ready.eml", eml, {"mail-from": SHOP, "rcpt-to": "s3-eml@example.net"})
    stack.drain(timeout_s=30)
    assert copies(stack, "s3@example.net") == 1
    assert copies(stack, "s3-eml@example.net") == 1
    [ready] = [m for m in stack.delivered_messages() if m["Message-ID"] == "<ready-1@example.com>"]
    assert ready["Subject"] == "Ready made" and ready.get_content().strip() == "Built elsewhere."


def test_bad_input_from_each_door_fails_alone_and_is_reported(stack):
    stack.bounce_events()  # what earlier tests published
    stack.put_event("[1, 2]")  # detail that is not a request
    stack.publish("{not json")
    stack.put_outbox("outbox/norcpt.eml", "From: a@example.com\n\nx\n", {"mail-from": SHOP})
    stack.put_outbox("outbox/junk.json", b"\x89PNG\r\n")
    stack.put_event(request("after-bad@example.net"))
    stack.drain(timeout_s=30)
    assert copies(stack, "after-bad@example.net") == 1
    events = stack.bounce_events()
    errors = sorted(e["detail"]["error"].split(":")[0] for e in events if e["detail"]["reason"] == "invalid_request")
    assert errors == ["$", "$", "detail", "metadata.rcpt-to"], errors
    assert stack.queue_depth("DeadLetterQueue") == 0
