"""Returned mail end to end: a bounce that arrives later as mail (or as an SES notification) enters
the same reporting path as one seen during the SMTP session."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.stack.local_stack import LocalStack

EVENTS = Path(__file__).resolve().parents[2] / "events" / "returned"


@pytest.fixture
def sent(tmp_path, fresh_moto):
    """A message the relay accepted for binh and an.nguyen: the later failures come back as mail."""
    with LocalStack(tmp_path / "stack", moto=fresh_moto) as stack:
        body = {"message_key": "order-1001", "from": "Shop <shop@example.com>", "to": ["binh@example.net", "an.nguyen@example.net"], "subject": "Your order", "text": "Shipped."}
        stack.enqueue([json.dumps(body)])
        stack.drain(timeout_s=30)
        stored = {m["X-Envelope-To"]: m for m in stack.delivered_messages()}
        yield stack, stored


def returned(name: str, message) -> bytes:
    return (EVENTS / name).read_bytes().replace(b"RETURN_PATH", message["X-Envelope-From"].strip("<>").encode()).replace(
        b"ORIGINAL_MESSAGE_ID", message["Message-ID"].encode()
    )


def test_each_recipient_had_its_own_signed_return_path(sent):
    _, stored = sent
    paths = {m["X-Envelope-From"] for m in stored.values()}
    assert len(paths) == 2 and all(p.startswith("bounces+") and p.endswith("@bounces.example.com") for p in paths)


def test_a_bounce_returned_as_mail_is_classified_reported_suppressed_and_recorded(sent):
    stack, stored = sent
    stack.return_mail(returned("postfix-dsn.eml", stored["binh@example.net"]))
    stack.drain(timeout_s=30)
    [event] = stack.bounce_events()
    detail = event["detail"]
    assert event["detail-type"] == "Email Bounced" and detail["reason"] == "returned" and detail["message_key"] == "order-1001"
    [recipient] = detail["recipients"]
    assert (recipient["address"], recipient["status"], recipient["classification"], recipient["hard"]) == ("binh@example.net", "5.1.1", "userunknown", True)
    assert detail["source"]["matched_by"] == "verp"
    assert stack.suppressed_addresses() == ["binh@example.net"]
    states = {i["recipient"]["S"]: i["state"]["S"] for i in stack.ledger_items()}
    assert states == {"binh@example.net": "bounced", "an.nguyen@example.net": "delivered"}
    [dsn] = stack.dsn_messages()
    assert dsn["X-Envelope-To"] == "shop@example.com" and "binh@example.net" in dsn.as_string()


def test_a_forged_bounce_cannot_suppress_an_address(sent):
    stack, stored = sent
    forged = (EVENTS / "postfix-dsn.eml").read_bytes().replace(
        b"RETURN_PATH", b"bounces+aaaaaaaaaaaaaaaabbbbbbbb@bounces.example.com"
    ).replace(b"ORIGINAL_MESSAGE_ID", b"<made-up@example.com>")
    stack.return_mail(forged)
    stack.drain(timeout_s=30)
    [event] = stack.bounce_events()
    assert event["detail"]["source"]["matched_by"] == "recipient" and event["detail"]["message_key"] is None
    assert stack.suppressed_addresses() == [] and stack.dsn_messages() == []


def test_an_ses_complaint_notification_suppresses_and_publishes_a_complaint(sent):
    stack, stored = sent
    notification = json.loads(returned("ses-complaint-via-sns.json", stored["an.nguyen@example.net"]))
    stack.notify_from_ses(json.loads(notification["Message"]))
    stack.drain(timeout_s=30)
    [event] = stack.bounce_events()
    assert event["detail-type"] == "Email Complained" and event["detail"]["message_key"] == "order-1001"
    assert stack.suppressed_addresses() == ["an.nguyen@example.net"]
    assert stack.dsn_messages() == []  # a complaint is news for the sender's systems, not a bounce


def test_a_vacation_reply_is_not_a_bounce(sent):
    stack, stored = sent
    stack.return_mail(returned("vacation-reply.eml", stored["binh@example.net"]))
    stack.drain(timeout_s=30)
    assert stack.bounce_events() == [] and stack.suppressed_addresses() == []


def test_returned_mail_that_cannot_be_classified_is_kept_and_reported_as_unclassified(sent):
    stack, _ = sent
    key = stack.return_mail(b"Subject: ???\r\n\r\nnothing to see here\r\n")
    stack.drain(timeout_s=30)
    [event] = stack.bounce_events()
    assert event["detail-type"] == "Email Returned Unclassified" and event["detail"]["source"]["key"] == key
    assert stack.queue_depth("ReturnedMailQueue") == 0
