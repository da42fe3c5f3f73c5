"""Returned mail that is not a bounce: complaints (RFC 5965), auto-replies (RFC 3834), SES notifications,
and messages nothing can be read from (kept as unclassified, never an exception)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from maildispatch.core.returned_mail import classify_returned_message, classify_ses_notification

ARF = b"""\
From: Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.example.com>
To: abuse@example.com
Subject: Email Feedback Report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.1.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/1.0
Version: 1
Original-Mail-From: <shop@example.com>
Original-Rcpt-To: <reader@example.net>
Original-Rcpt-To: <other@example.net>
Arrival-Date: Sun, 29 Nov 2026 08:00:00 +0000
Reporting-MTA: dns; mta1.example.net
Source-IP: 192.0.2.1

--F
Content-Type: message/rfc822

From: shop@example.com
To: reader@example.net
Subject: Weekly offers
Message-ID: <offers-48@example.com>

Buy now
--F--
"""

VACATION = b"""\
From: Reader <reader@example.net>
To: shop@example.com
Subject: Out of Office: Your order shipped
Auto-Submitted: auto-replied
X-Autoreply: yes
Precedence: auto_reply
In-Reply-To: <order-1001@example.com>
Content-Type: text/plain; charset=utf-8

I am out of the office until Monday with limited access to e-mail.
For urgent matters please contact my colleague.
"""


def test_arf_complaint_names_every_complained_recipient():
    result = classify_returned_message(ARF)

    assert result.kind == "complaint"
    assert result.feedback_type == "abuse"
    assert [(v.recipient, v.reason, v.hard) for v in result.recipients] == [
        ("reader@example.net", "feedback", None),
        ("other@example.net", "feedback", None),
    ]
    assert result.original_message_id == "<offers-48@example.com>"
    assert result.reporting_mta == "mta1.example.net"


def test_a_vacation_reply_is_an_auto_reply_not_a_bounce():
    result = classify_returned_message(VACATION)

    assert result.kind == "auto_reply"
    assert all(v.hard is None and v.reason == "vacation" for v in result.recipients)


def test_a_bounce_marked_auto_replied_is_still_a_bounce():
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\nTo: shop@example.com\nSubject: Undelivered Mail Returned to Sender\n"
        b"Auto-Submitted: auto-replied\n\n<ghost@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 "
        b"<ghost@example.net>: User unknown (in reply to RCPT TO command)\n"
    )
    result = classify_returned_message(raw)

    assert result.kind == "bounce"
    assert result.recipients[0].reason == "userunknown"


def test_unparseable_input_is_kept_as_unclassified():
    for raw in (b"", b"\x00\xff\xfe garbage \x80", b"Subject: hello\n\njust a note between friends\n"):
        result = classify_returned_message(raw)
        assert result.kind == "unclassified"
        assert result.recipients == ()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_classification_never_raises(raw):
    result = classify_returned_message(raw)
    assert result.kind in ("bounce", "delay", "complaint", "auto_reply", "delivered", "unclassified")


def test_ses_transient_bounce_with_an_invalid_domain_is_hard():
    # SES files 5.4.4 "Invalid domain" under "Transient"; the status, not the category, decides.
    notification = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Transient",
            "bounceSubType": "General",
            "reportingMTA": "dns; a1.smtp-out.amazonses.com",
            "bouncedRecipients": [
                {
                    "emailAddress": "x@no-such-domain.example",
                    "action": "failed",
                    "status": "5.4.4",
                    "diagnosticCode": "smtp; 550 5.4.4 Invalid domain",
                }
            ],
        },
        "mail": {"messageId": "0101-abc", "commonHeaders": {"messageId": "<order-9@example.com>"}},
    }
    result = classify_ses_notification(notification)

    (verdict,) = result.recipients
    assert (verdict.reason, verdict.hard, verdict.status) == ("hostunknown", True, "5.4.4")
    assert result.original_message_id == "<order-9@example.com>"


def test_ses_notification_delivered_by_mail_is_read_from_the_body():
    doc = {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "reader@example.net"}],
            "complaintFeedbackType": "abuse",
        },
        "mail": {"messageId": "0101-abc"},
    }
    raw = (
        b"From: SES <no-reply@sns.amazonaws.com>\nSubject: AWS Notification Message\n\n"
        + json.dumps(doc).encode()
        + b"\n--\nIf you wish to stop receiving notifications ...\n"
    )
    result = classify_returned_message(raw)

    assert (result.kind, result.feedback_type) == ("complaint", "abuse")
    assert result.recipients[0].recipient == "reader@example.net"
