"""The whole relay pipeline end to end on the embedded stack, with the demo's samples: SQS -> dispatch -> relay (STARTTLS,
AUTH) -> retries -> DLQ -> bounce -> DSN to the sender + "Email Bounced" event.

Real parts only: moto server for AWS, the scripted aiosmtpd relay, the template's own resources
and the real handler modules, driven by the SQS event-source emulator.
"""

from __future__ import annotations

import pytest

from tests.stack.local_stack import LocalStack
from tests.stack.pipeline_requests import SHOP, delivery_status_groups


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, moto_server):
    """The demo's samples through the pipeline once; the tests below read different parts of the result."""
    moto_server.reset()
    with LocalStack(tmp_path_factory.mktemp("demo"), moto=moto_server, dkim=True) as stack:
        stack.enqueue_samples()
        invocations = stack.drain(timeout_s=90)
        events = stack.bounce_events()
        yield stack, invocations, events, stack.summary(events)


def test_the_demo_samples_end_as_documented(demo_run):
    _, _, _, summary = demo_run
    assert {k: summary[k] for k in ("delivered", "retried", "bounced", "dsn_delivered", "poison", "dlq_remaining")} == {
        "delivered": 3,  # an.nguyen, binh, busy (after one 451)
        "retried": 1,  # busy
        "bounced": 1,  # ghost (550)
        "dsn_delivered": 2,  # to shop@ for ghost, and for the header-injection request
        "poison": 2,  # header injection, not JSON
        "dlq_remaining": 0,
    }
    assert summary["events"] == 3
    # as make demo: signed by example.com's keys, verified by dkimpy against the DNS test server
    assert (summary["dkim_verified"], summary["dkim_failed"]) == (len(summary["files"]), 0)


def test_a_vietnamese_templated_message_arrives_with_its_attachment(demo_run):
    stack, _, _, _ = demo_run
    [message] = [m for m in stack.delivered_messages() if m["X-Envelope-To"] == "an.nguyen@example.net"]
    assert message["Subject"] == "Chào mừng An đến với Cửa hàng Hoa Sen"
    assert "Nguyễn Văn An" in str(message["To"]) and "Cửa hàng Hoa Sen" in str(message["From"])
    assert message["Message-ID"] and message["Date"] and message["MIME-Version"] == "1.0"
    assert "=?utf-8?" in message.as_string().split("\n\n", 1)[0].lower()  # RFC 2047 on the wire
    assert message.get_content_type() == "multipart/mixed"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "thẻ-thành-viên.png" and attachment.get_content_type() == "image/png"
    assert attachment.get_content().startswith(b"\x89PNG")
    body = message.get_body(("plain",)).get_content()
    assert "Xin chào An," in body and "HOASEN10 (giảm 10%" in body


def test_one_rejected_recipient_does_not_stop_the_other_and_the_sender_gets_a_dsn(demo_run):
    stack, _, events, _ = demo_run
    copies = stack.copies_received()
    assert copies["binh@example.net"] == 1 and "ghost@example.net" not in copies
    [dsn] = [d for d in stack.dsn_messages() if "ghost@example.net" in d.as_string()]
    assert dsn["X-Envelope-To"] == SHOP and dsn["Auto-Submitted"] == "auto-replied"
    assert dsn.get_content_type() == "multipart/report" and dsn.get_param("report-type") == "delivery-status"
    [group] = delivery_status_groups(dsn)
    assert group["Final-Recipient"] == "rfc822; ghost@example.net"
    assert group["Action"] == "failed" and group["Status"] == "5.1.1"
    assert group["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    assert any(p.get_content_type() == "text/rfc822-headers" for p in dsn.walk())
    [event] = [e for e in events if e["detail"].get("message_key") == "order-1001-shipped"]
    assert event["detail-type"] == "Email Bounced" and event["source"] == "maildispatch"
    assert [(r["address"], r["status"]) for r in event["detail"]["recipients"]] == [("ghost@example.net", "5.1.1")]


def test_a_greylisted_recipient_is_delivered_once_on_retry(demo_run):
    stack, _, _, _ = demo_run
    assert stack.copies_received()["busy@example.org"] == 1
    rcpt_replies = [e["reply"][:3] for e in stack.relay.log_events("rcpt", recipient="busy@example.org")]
    assert rcpt_replies == ["451", "250"]


def test_poison_records_are_reported_and_the_one_without_a_sender_still_yields_an_event(demo_run):
    _, _, events, _ = demo_run
    poison = [e["detail"] for e in events if e["detail"]["reason"] == "invalid_request"]
    assert len(poison) == 2
    injection = next(d for d in poison if d["envelope_sender"])
    assert "headers.X-Campaign" in injection["error"]
    not_json = next(d for d in poison if not d["envelope_sender"])
    assert not_json["error"]


def test_relay_settings_come_from_ssm_and_secrets_manager(demo_run):
    stack, _, _, _ = demo_run
    env = stack.functions["DispatchFunction"].environment
    assert env["RELAY_PARAMETER"] and env["RELAY_SECRET"] and "SMTP_HOST" not in env
    assert stack.relay.log_events("auth"), "the relay saw AUTH (credentials from the secret)"
