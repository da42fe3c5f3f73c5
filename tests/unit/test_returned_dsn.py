"""RFC 3464 reports read back: every per-recipient group, multi-line Diagnostic-Code, the SMTP command."""

from __future__ import annotations

from maildispatch.core.returned_mail import classify_returned_message
from maildispatch.core.returned_mail.delivery_status import parse_delivery_status

POSTFIX_TWO_RECIPIENTS = b"""\
Return-Path: <>
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"
Message-Id: <20261129080000.AAA@mx.example.org>

--B1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<ghost@example.net>: host mx.example.net[192.0.2.10] said: 550 5.1.1
    <ghost@example.net>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

<full@example.net>: host mx.example.net[192.0.2.10] said: 552 5.2.2
    <full@example.net>: Mailbox full (in reply to RCPT TO command)

--B1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: AAA
Arrival-Date: Sun, 29 Nov 2026 08:00:00 +0000 (UTC)
Original-Envelope-Id: order-1001

Final-Recipient: rfc822; ghost@example.net
Original-Recipient: rfc822;Ghost@Example.NET
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <ghost@example.net>: Recipient address
    rejected: User unknown in virtual mailbox table

Final-Recipient: rfc822; full@example.net
Original-Recipient: rfc822;full@example.net
Action: failed
Status: 5.2.2
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 552 5.2.2 <full@example.net>: Mailbox full

--B1
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Shop <shop@example.com>
To: ghost@example.net, full@example.net
Subject: Your order shipped
Message-ID: <order-1001@example.com>
X-Maildispatch-Key: order-1001

--B1--
"""


def test_postfix_dsn_with_two_recipients_gives_one_verdict_each():
    result = classify_returned_message(POSTFIX_TWO_RECIPIENTS)

    assert result.kind == "bounce"
    ghost, full = result.recipients
    assert (ghost.recipient, ghost.status, ghost.reply_code, ghost.reason, ghost.hard) == (
        "ghost@example.net",
        "5.1.1",
        550,
        "userunknown",
        True,
    )
    assert ghost.original_recipient == "Ghost@Example.NET"
    assert ghost.remote_mta == "mx.example.net"
    assert ghost.action == "failed"
    assert ghost.command == "RCPT"
    assert "User unknown in virtual mailbox table" in ghost.diagnostic  # the folded Diagnostic-Code, unfolded
    # A full mailbox is a soft bounce, even with a 5.X.X status.
    assert (full.recipient, full.status, full.reason, full.hard) == ("full@example.net", "5.2.2", "mailboxfull", False)


def test_message_level_facts_map_the_bounce_back_to_the_original():
    result = classify_returned_message(POSTFIX_TWO_RECIPIENTS)

    assert result.original_message_id == "<order-1001@example.com>"
    assert result.original_envelope_id == "order-1001"
    assert ("X-Maildispatch-Key", "order-1001") in result.original_x_headers
    assert result.reporting_mta == "mx.example.org"
    assert result.arrival_date.startswith("Sun, 29 Nov 2026")
    assert "Subject: Your order shipped" in result.original_headers


def test_groups_without_blank_lines_and_x_actual_recipient_are_split_per_recipient():
    report = parse_delivery_status(
        "Reporting-MTA: dns; mx.example.org\n"
        "Final-Recipient: rfc822; a@example.net\n"
        "X-Actual-Recipient: rfc822; a.local@example.net\n"
        "Action: failed\n"
        "Status: 5.1.1\n"
        "Final-Recipient: rfc822; b@example.net\n"
        "Action: delayed\n"
        "Status: 4.4.1\n"
        "Diagnostic-Code: smtp; 451 4.4.1 first line\n"
        "  second line\n"
    )

    assert report.message_fields == {"reporting-mta": "dns; mx.example.org"}
    assert [g["final-recipient"] for g in report.recipients] == ["rfc822; a@example.net", "rfc822; b@example.net"]
    assert report.recipients[0]["x-actual-recipient"] == "rfc822; a.local@example.net"
    assert report.recipients[1]["diagnostic-code"] == "smtp; 451 4.4.1 first line second line"


def test_a_delay_warning_is_a_delay_and_soft():
    raw = POSTFIX_TWO_RECIPIENTS.replace(b"Action: failed", b"Action: delayed").replace(b"Status: 5.", b"Status: 4.")
    result = classify_returned_message(raw)

    assert result.kind == "delay"
    assert {v.action for v in result.recipients} == {"delayed"}


def test_a_success_notification_is_not_a_bounce():
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\r\nSubject: Successful Mail Delivery Report\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=X\r\n\r\n"
        b"--X\r\nContent-Type: text/plain\r\n\r\nYour message was delivered.\r\n"
        b"--X\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        b"Final-Recipient: rfc822; ok@example.net\r\nAction: delivered\r\nStatus: 2.0.0\r\n"
        b"Diagnostic-Code: smtp; 250 2.0.0 Ok: queued\r\n--X--\r\n"
    )
    result = classify_returned_message(raw)

    assert result.kind == "delivered"
    assert [(v.recipient, v.reason, v.hard) for v in result.recipients] == [("ok@example.net", "delivered", None)]
