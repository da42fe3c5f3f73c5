"""The pipeline end to end, record by record: bad inputs, duplicated records, the redrive policy,
suppression after a hard bounce. Each test on a stack of its own."""

from __future__ import annotations

import base64
import json

import pytest

from tests.stack.local_stack import LocalStack
from tests.stack.pipeline_requests import SHOP, send_request


@pytest.fixture
def stack(tmp_path, fresh_moto):
    with LocalStack(tmp_path / "stack", moto=fresh_moto) as running:
        yield running


def test_bad_inputs_fail_alone_with_clear_errors(stack):
    good = send_request(message_key="good-1")
    bad = {
        "header injection": (send_request(headers={"X-Tag": "a\r\nBcc: x@example.org"}), "headers.X-Tag"),
        "invalid address": (send_request(to=["not an address"]), "to[0]"),
        "unknown field": (send_request(priority="high"), "priority"),
        "oversize attachment": (
            send_request(
                attachments=[{"filename": "big.bin", "content_base64": base64.b64encode(b"x" * 600_000).decode()}]
            ),
            "attachments",
        ),
        "unknown template variable": (
            json.dumps(
                {
                    "from": SHOP,
                    "to": ["binh@example.net"],
                    "template": {"subject": "Hi {{ name }}", "text": "{{ nope }}"},
                    "variables": {"name": "A"},
                }
            ),
            "nope",
        ),
        "sandbox escape": (
            json.dumps(
                {
                    "from": SHOP,
                    "to": ["binh@example.net"],
                    "template": {"subject": "x", "text": "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
                }
            ),
            "unsafe",
        ),
    }
    stack.enqueue([good] + [body for body, _ in bad.values()])
    stack.drain(timeout_s=60)
    events = stack.bounce_events()
    assert stack.copies_received() == {"binh@example.net": 1}
    errors = [e["detail"]["error"] or "" for e in events]
    assert len(events) == len(bad)
    for name, (_, named) in bad.items():
        assert any(named in error for error in errors), f"{name}: no event error names {named!r}: {errors}"
    assert stack.queue_depth("DeadLetterQueue") == 0 and stack.queue_depth("SendQueue") == 0


def test_duplicated_records_send_each_recipient_one_copy(stack):
    body = send_request(message_key="dup-1", to=["binh@example.net", "an.nguyen@example.net"])
    stack.enqueue([body, body, body])
    stack.drain(timeout_s=60)
    assert stack.copies_received() == {"an.nguyen@example.net": 1, "binh@example.net": 1}


def test_a_record_moved_by_the_redrive_policy_is_still_reported(stack):
    """SQS moves a record to the DLQ by itself after maxReceiveCount crashes; no report was written."""
    stack.sqs.send_message(
        QueueUrl=stack.stack.queue_url("DeadLetterQueue"), MessageBody=send_request(message_key="crashed-1")
    )
    stack.drain(timeout_s=30)
    [event] = stack.bounce_events()
    assert event["detail"]["reason"] == "redriven" and event["detail"]["message_key"] == "crashed-1"
    [dsn] = stack.dsn_messages()
    assert dsn["X-Envelope-To"] == SHOP


def test_a_hard_bounced_address_is_suppressed_and_later_sends_to_it_are_skipped(stack):
    stack.enqueue([send_request(message_key="first", to=["ghost@example.net"])])
    stack.drain(timeout_s=30)
    stack.enqueue([send_request(message_key="second", to=["ghost@example.net", "binh@example.net"])])
    stack.drain(timeout_s=30)
    events = {e["detail"]["message_key"]: e["detail"] for e in stack.bounce_events()}
    assert events["first"]["reason"] == "rejected" and events["second"]["reason"] == "suppressed"
    assert "suppressed since" in events["second"]["recipients"][0]["diagnostic"]
    assert len(stack.relay.log_events("rcpt", recipient="ghost@example.net")) == 1  # never asked again
    assert stack.copies_received() == {"binh@example.net": 1}
    assert len(stack.dsn_messages()) == 2
