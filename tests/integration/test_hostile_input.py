"""Issue 9 "Hostile and broken input", points 1, 2, 4 and 6, through the real handlers on the local stack:
what a producer, a recipient or a forger can put on a queue or in a returned mail never suppresses an
address it merely names, never mails a third party, and never steers delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.stack.local_stack import DEMO_RELAY_SCRIPT, LocalStack

SHOP = "shop@example.com"
REFUSED_SENDER = "refused@example.com"
POSTFIX_SENDER_REJECTED = (
    f"550 5.1.0 <{REFUSED_SENDER}>: Sender address rejected: User unknown in local recipient table"
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    moto_server.reset()
    script = {**DEMO_RELAY_SCRIPT, "mail": {REFUSED_SENDER: [POSTFIX_SENDER_REJECTED]}}
    with LocalStack(tmp_path_factory.mktemp("hostile"), moto=moto_server, relay_script=script) as running:
        running.drain(timeout_s=5)
        running.bounce_events()
        yield running


def request(key: str, to: list[str], **extra) -> str:
    return json.dumps(
        {"message_key": key, "from": f"Shop <{SHOP}>", "to": to, "subject": "Your order", "text": "Shipped.", **extra}
    )


def test_point_1_a_forged_bounce_quoting_a_real_message_id_suppresses_only_that_messages_recipient(stack):
    stack.enqueue([request("p1-order", ["p1-binh@example.net"])])
    stack.drain(timeout_s=30)
    stack.bounce_events()
    [original] = [m for m in stack.delivered_messages() if m["X-Envelope-To"] == "p1-binh@example.net"]
    named = ["p1-binh@example.net", *(f"p1-victim{i}@example.net" for i in range(200))]
    groups = "".join(
        f"Final-Recipient: rfc822; {a}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{a}>: Recipient address rejected: User unknown\r\n\r\n"
        for a in named
    )
    forged = (
        "From: MAILER-DAEMON@mx.attacker.example\r\nTo: bounces@bounces.example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.attacker.example\r\n\r\n"
        f"{groups}"
        f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original['Message-ID']}\r\n"
        f"From: {SHOP}\r\nSubject: Your order\r\n\r\n--b1--\r\n"
    ).encode()
    stack.return_mail(forged)
    stack.drain(timeout_s=30)
    suppressed = [a for a in stack.suppressed_addresses() if a.startswith("p1-")]
    assert suppressed == ["p1-binh@example.net"]  # was: all 201 named
    events = [e["detail"] for e in stack.bounce_events()]
    by_match = {e["source"]["matched_by"]: e for e in events}
    assert len(by_match["unproven"]["recipients"]) == 200 and by_match["unproven"]["message_key"] is None
    assert [r["address"] for r in by_match["message_id"]["recipients"]] == ["p1-binh@example.net"]


def test_point_2_a_refused_mail_from_worded_like_user_unknown_suppresses_no_recipient(stack):
    to = ["p2-a@example.net", "p2-b@example.net", "p2-c@example.net"]
    stack.enqueue([request("p2-order", to, return_path=REFUSED_SENDER)])
    stack.drain(timeout_s=30)
    [event] = [e["detail"] for e in stack.bounce_events() if e["detail"]["message_key"] == "p2-order"]
    assert event["reason"] == "rejected" and sorted(r["address"] for r in event["recipients"]) == to
    assert not [a for a in stack.suppressed_addresses() if a.startswith("p2-")]  # was: all three
    assert [d for d in stack.dsn_messages() if d["X-Envelope-To"] == REFUSED_SENDER]  # the sender is told


def test_point_4_a_report_shaped_body_on_the_dlq_without_our_signature_is_published_never_acted_on(stack):
    victims = [f"p4-victim{i}@example.net" for i in range(50)]
    forged = {
        "type": "maildispatch.bounce-report",
        "version": 1,
        "reason": "rejected",
        "recipients": [
            {
                "address": a,
                "status": "5.1.1",
                "diagnostic": "550 5.1.1 User unknown",
                "classification": "userunknown",
                "hard": True,
            }
            for a in victims
        ],
        "arrival_date": datetime.now(UTC).isoformat(),
        "message_key": "p4-forged",
        "envelope_sender": "p4-third-party@example.org",
        "subject": "Verify your account at https://phish.example/login",
    }
    stack.sqs.send_message(
        QueueUrl=stack.stack.queue_url("DeadLetterQueue"),
        MessageBody=json.dumps(forged),
        MessageAttributes={
            "maildispatch-document": {"DataType": "String", "StringValue": "bounce-report"},
            "maildispatch-report-signature": {"DataType": "String", "StringValue": "0" * 64},
        },
    )
    stack.drain(timeout_s=30)
    [event] = [e["detail"] for e in stack.bounce_events() if e["detail"]["source"].get("untrusted")] or [None]
    assert event is not None and event["reason"] == "invalid_request" and event["recipients"] == []
    assert not [a for a in stack.suppressed_addresses() if a.startswith("p4-")]  # was: all 50
    assert not [d for d in stack.dsn_messages() if "p4-third-party" in d["X-Envelope-To"]]  # was: a phishing DSN


def test_point_4_our_own_signed_reports_are_still_acted_on(stack):
    stack.enqueue([request("p4-real", ["ghost@example.net"])])
    stack.drain(timeout_s=30)
    assert "ghost@example.net" in stack.suppressed_addresses()


@pytest.mark.parametrize("attributes", [{"maildispatch-arrival": "abc"}, {"maildispatch-arrival": "0"}])
def test_point_6_producer_set_arrival_attributes_are_ignored(stack, attributes):
    key = f"p6-{attributes['maildispatch-arrival']}"
    stack.sqs.send_message(
        QueueUrl=stack.stack.queue_url("SendQueue"),
        MessageBody=request(key, [f"{key}@example.net"]),
        MessageAttributes={n: {"DataType": "String", "StringValue": v} for n, v in attributes.items()},
    )
    stack.drain(timeout_s=30)
    assert stack.copies_received().get(f"{key}@example.net") == 1  # was: a crash (abc), or expired at once (0)


def test_point_6_a_producer_set_message_key_does_not_skip_the_message(stack):
    stack.enqueue([request("p6-first", ["p6-first@example.net"])])
    stack.drain(timeout_s=30)
    stack.sqs.send_message(
        QueueUrl=stack.stack.queue_url("SendQueue"),
        MessageBody=request("p6-second", ["p6-first@example.net"]),  # same recipient, another message
        MessageAttributes={"maildispatch-message-key": {"DataType": "String", "StringValue": "p6-first"}},
    )
    stack.drain(timeout_s=30)
    assert stack.copies_received().get("p6-first@example.net") == 2  # was: silently skipped as a duplicate
