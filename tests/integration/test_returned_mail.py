"""Returned mail end to end: a bounce that arrives later as mail (or as an SES notification) enters
the same reporting path as one seen during the SMTP session."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.stack.local_stack import LocalStack

EVENTS = Path(__file__).resolve().parents[2] / "events" / "returned"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    moto_server.reset()
    with LocalStack(tmp_path_factory.mktemp("returned"), moto=moto_server) as running:
        yield running


@pytest.fixture
def sent(stack):
    """A message the relay accepted for two recipients of its own: the later failures come back as mail."""
    n = next(_numbers)
    key, binh, an = f"order-{n}", f"binh{n}@example.net", f"an{n}@example.net"
    stack.enqueue(
        [
            json.dumps(
                {
                    "message_key": key,
                    "from": "Shop <shop@example.com>",
                    "to": [binh, an],
                    "subject": "Your order",
                    "text": "Shipped.",
                }
            )
        ]
    )
    stack.drain(timeout_s=30)
    stack.bounce_events()  # start each test with no events pending
    stored = {m["X-Envelope-To"]: m for m in stack.delivered_messages() if m["X-Envelope-To"] in (binh, an)}
    return stack, key, binh, an, stored


def returned(name: str, message, recipient: str | None = None) -> bytes:
    raw = (EVENTS / name).read_bytes().replace(b"RETURN_PATH", message["X-Envelope-From"].strip("<>").encode())
    raw = raw.replace(b"ORIGINAL_MESSAGE_ID", message["Message-ID"].encode())
    if recipient:
        raw = raw.replace(b"binh@example.net", recipient.encode()).replace(b"an.nguyen@example.net", recipient.encode())
    return raw


def dsns_about(stack, address):
    return [d for d in stack.dsn_messages() if address in d.as_string()]


def test_each_recipient_had_its_own_signed_return_path(sent):
    _, _, binh, an, stored = sent
    paths = {stored[binh]["X-Envelope-From"], stored[an]["X-Envelope-From"]}
    assert len(paths) == 2 and all(p.startswith("bounces+") and p.endswith("@bounces.example.com") for p in paths)


def test_a_bounce_returned_as_mail_is_classified_reported_suppressed_and_recorded(sent):
    stack, key, binh, an, stored = sent
    stack.return_mail(returned("postfix-dsn.eml", stored[binh], binh))
    stack.drain(timeout_s=30)
    [event] = stack.bounce_events()
    detail = event["detail"]
    assert event["detail-type"] == "Email Bounced" and detail["reason"] == "returned" and detail["message_key"] == key
    [recipient] = detail["recipients"]
    assert (recipient["address"], recipient["status"], recipient["classification"], recipient["hard"]) == (
        binh,
        "5.1.1",
        "userunknown",
        True,
    )
    assert detail["source"]["matched_by"] == "verp"
    assert binh in stack.suppressed_addresses() and an not in stack.suppressed_addresses()
    states = {i["recipient"]["S"]: i["state"]["S"] for i in stack.ledger_items() if i["message_key"]["S"] == key}
    assert states == {binh: "bounced", an: "delivered"}
    [dsn] = dsns_about(stack, binh)
    assert dsn["X-Envelope-To"] == "shop@example.com"


def test_a_forged_bounce_cannot_suppress_an_address(sent):
    stack, _, binh, _, _ = sent
    forged = (
        (EVENTS / "postfix-dsn.eml")
        .read_bytes()
        .replace(b"RETURN_PATH", b"bounces+aaaaaaaaaaaaaaaabbbbbbbb@bounces.example.com")
    )
    forged = forged.replace(b"ORIGINAL_MESSAGE_ID", b"<made-up@example.com>").replace(
        b"binh@example.net", binh.encode()
    )
    stack.return_mail(forged)
    stack.drain(timeout_s=30)
    [event] = stack.bounce_events()
    assert event["detail"]["source"]["matched_by"] == "recipient" and event["detail"]["message_key"] is None
    assert binh not in stack.suppressed_addresses() and dsns_about(stack, binh) == []


def test_an_ses_complaint_notification_suppresses_and_publishes_a_complaint(sent):
    stack, key, _, an, stored = sent
    notification = json.loads(returned("ses-complaint-via-sns.json", stored[an], an))
    stack.notify_from_ses(json.loads(notification["Message"]))
    stack.drain(timeout_s=30)
    [event] = stack.bounce_events()
    assert event["detail-type"] == "Email Complained" and event["detail"]["message_key"] == key
    assert an in stack.suppressed_addresses()
    assert dsns_about(stack, an) == []  # a complaint is news for the sender's systems, not a bounce


def ses_bounce(stack, message, recipient) -> dict:
    unsigned = json.loads(returned("ses-bounce-via-sns.json", message, recipient))
    return json.loads(unsigned["Message"])


@pytest.mark.parametrize("version", ["1", "2"])
def test_an_ses_bounce_with_a_valid_sns_signature_suppresses_its_recipient(sent, version):
    """SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA), the certificate fetched over HTTPS and
    its chain checked against the (test) system CAs."""
    stack, key, binh, _, stored = sent
    stack.notify_from_ses(ses_bounce(stack, stored[binh], binh), version=version)
    stack.drain(timeout_s=30)
    [event] = stack.bounce_events()
    detail = event["detail"]
    assert (detail["message_key"], detail["source"]["matched_by"], detail["source"]["sns_signature"]) == (
        key,
        "verp",
        "valid",
    )
    assert binh in stack.suppressed_addresses()


def test_ses_notifications_without_a_valid_sns_signature_are_published_but_suppress_no_one(sent):
    stack, _, binh, _, stored = sent
    bounce = ses_bounce(stack, stored[binh], binh)
    altered = stack.ses_notification_envelope(bounce)
    altered["Message"] = altered["Message"].replace("5.1.1", "5.1.1 ")
    http = stack.ses_notification_envelope(bounce, cert_url=stack.sns_signing.cert_url().replace("https:", "http:"))
    forged = {
        "altered message": altered,
        "certificate on another host": stack.ses_notification_envelope(
            bounce, cert_url="https://sns.us-east-1.amazonaws.com.attacker.example/SimpleNotificationService-x.pem"
        ),
        "certificate over http": http,
        "expired certificate": stack.ses_notification_envelope(bounce, cert="expired"),
        "self-signed certificate": stack.ses_notification_envelope(bounce, cert="self-signed"),
        "another topic": stack.sns_signing.envelope(bounce, "arn:aws:sns:us-east-1:999999999999:theirs"),
        "raw delivery": bounce,
    }
    for envelope in forged.values():
        stack.deliver_to_returned_mail_queue(json.dumps(envelope))
    stack.drain(timeout_s=30)
    events = stack.bounce_events()
    assert len(events) == len(forged)
    assert all(e["detail"]["source"]["matched_by"] == "unproven" and e["detail"]["message_key"] is None for e in events)
    assert sorted(e["detail"]["source"]["sns_signature"] for e in events) == sorted(
        [
            "bad_signature",
            "untrusted_cert_url",
            "untrusted_cert_url",
            "certificate_untrusted",
            "certificate_untrusted",
            "wrong_topic",
            "raw_delivery",
        ]
    )
    assert binh not in stack.suppressed_addresses() and dsns_about(stack, binh) == []
    states = {i["recipient"]["S"]: i["state"]["S"] for i in stack.ledger_items()}
    assert states[binh] == "delivered"


def test_a_vacation_reply_is_not_a_bounce(sent):
    stack, _, binh, _, stored = sent
    stack.return_mail(returned("vacation-reply.eml", stored[binh], binh))
    stack.drain(timeout_s=30)
    assert stack.bounce_events() == [] and binh not in stack.suppressed_addresses()


def test_returned_mail_that_cannot_be_classified_is_kept_and_reported_as_unclassified(stack):
    key = stack.return_mail(b"Subject: ???\r\n\r\nnothing to see here\r\n")
    stack.drain(timeout_s=30)
    [event] = stack.bounce_events()
    assert event["detail-type"] == "Email Returned Unclassified" and event["detail"]["source"]["key"] == key
    assert stack.queue_depth("ReturnedMailQueue") == 0
