"""Non-standard bounces: recipients and reasons from the human-readable text alone."""

from __future__ import annotations

from maildispatch.core.returned_mail import classify_returned_message

EXIM = b"""\
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: shop@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: ghost@example.net, sender-refused@example.jp
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  ghost@example.net
    SMTP error from remote mail server after RCPT TO:<ghost@example.net>:
    host mx.example.net [192.0.2.10]: 550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown

  sender-refused@example.jp
    SMTP error from remote mail server after MAIL FROM:<shop@example.com> SIZE=1543:
    host mx.example.jp [192.0.2.20]: 550 5.7.0 <shop@example.com>... Please use the smtp server of your ISP.

------ This is a copy of the message, including all the headers. ------

Return-path: <shop@example.com>
Received: from localhost by mx.example.org with esmtp (Exim 4.96)
From: shop@example.com
To: ghost@example.net
Subject: Your order
Message-ID: <order-7@example.com>

Hello
"""


def test_exim_text_bounce_per_recipient_with_the_smtp_stage():
    result = classify_returned_message(EXIM)

    assert result.kind == "bounce"
    ghost, refused = result.recipients
    assert (ghost.recipient, ghost.status, ghost.reply_code, ghost.command, ghost.reason, ghost.hard) == (
        "ghost@example.net",
        "5.1.1",
        550,
        "RCPT",
        "userunknown",
        True,
    )
    assert ghost.remote_mta == "mx.example.net"
    # Refused at MAIL FROM for the sending host: the recipient is not at fault.
    assert (refused.recipient, refused.command, refused.reason, refused.hard) == (
        "sender-refused@example.jp",
        "MAIL",
        "blocked",
        False,
    )
    assert result.original_message_id == "<order-7@example.com>"


def test_gmail_style_bounce_with_the_reply_away_from_the_address():
    raw = (
        b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        b"To: shop@example.com\nX-Failed-Recipients: full@example.jp\n"
        b"Subject: Delivery Status Notification (Failure)\n\n"
        b"Delivery to the following recipient failed permanently:\n\n     full@example.jp\n\n"
        b"Technical details of permanent failure:\nGoogle tried to deliver your message, but it was rejected by the server "
        b"for the recipient domain example.jp by mx.example.jp. [192.0.2.2].\n\n"
        b"The error that the other server returned was:\n550 5.2.2 <full@example.jp>... Mailbox Full\n\n"
        b"----- Original message -----\n\nFrom: shop@example.com\nTo: full@example.jp\nSubject: hi\n\nhi\n"
    )
    (verdict,) = classify_returned_message(raw).recipients

    assert (verdict.recipient, verdict.status, verdict.reply_code, verdict.reason, verdict.hard) == (
        "full@example.jp",
        "5.2.2",
        550,
        "mailboxfull",
        False,
    )


def test_connection_timeouts_until_expiry_are_expired_and_soft():
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\nTo: shop@example.com\nSubject: Undelivered Mail Returned to Sender\n\n"
        b"<late@example.net>: connect to mx.example.net[192.0.2.9]:25: Connection timed out\n"
    )
    (verdict,) = classify_returned_message(raw).recipients

    assert (verdict.recipient, verdict.reason, verdict.hard) == ("late@example.net", "expired", False)


def test_a_relays_reading_of_the_remote_reply_is_unwrapped():
    # Amazon SES quotes the remote reply after its own (wrong) reading of it.
    raw = (
        b"From: MAILER-DAEMON@email-bounces.amazonses.com\nTo: shop@example.com\n"
        b"Subject: Delivery Status Notification (Failure)\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=Z\n\n"
        b"--Z\nContent-Type: text/plain\n\nThe following message to <r@example.jp> was undeliverable.\n"
        b"--Z\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; a1.smtp-out.amazonses.com\n\n"
        b"Final-Recipient: rfc822;r@example.jp\nAction: failed\nStatus: 5.0.0 (permanent failure)\n"
        b"Diagnostic-Code: smtp; 5.1.0 - Unknown address error 550-'5.7.1 <r@example.jp>... Access denied' (delivery attempts: 0)\n"
        b"--Z--\n"
    )
    (verdict,) = classify_returned_message(raw).recipients

    assert (verdict.status, verdict.reply_code, verdict.hard) == ("5.7.1", 550, False)
    assert verdict.reason != "userunknown"


QMAIL = b"""\
From: MAILER-DAEMON@mx.example.org
To: shop@example.com
Subject: failure notice

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<ghost@example.net>:
192.0.2.1 does not like recipient.
Remote host said: 550 5.1.1 <ghost@example.net>... User unknown
Giving up on 192.0.2.1.

<nohost@example.invalid>:
Sorry, I couldn't find any host named example.invalid. (#5.1.2)

--- Below this line is a copy of the message.

Return-Path: <shop@example.com>
Received: (qmail 1234 invoked by uid 89); 29 Nov 2026 08:00:00 -0000
From: shop@example.com
To: ghost@example.net
Subject: x

x
"""


def test_qmail_style_bounce_an_mta_family_outside_the_shared_corpus():
    ghost, nohost = classify_returned_message(QMAIL).recipients

    assert (ghost.recipient, ghost.command, ghost.reason, ghost.hard) == (
        "ghost@example.net",
        "RCPT",
        "userunknown",
        True,
    )
    assert (nohost.recipient, nohost.status, nohost.reason, nohost.hard) == (
        "nohost@example.invalid",
        "5.1.2",
        "hostunknown",
        True,
    )


def test_mailenable_style_recipient_lines():
    raw = (
        b"From: POSTMASTER@mx.example.org\nTo: shop@example.com\nSubject: Message Delivery Failure\n\n"
        b"MailEnable: Message Delivery Failure.\n\nThe following recipient(s) could not be reached:\n\n"
        b"\tRecipient: [SMTP:ghost@example.net]\n"
        b"\tReason: Remote SMTP Server Returned: 550 5.1.1 Requested action not taken: mailbox unavailable\n"
    )
    (verdict,) = classify_returned_message(raw).recipients

    assert (verdict.recipient, verdict.status, verdict.reply_code, verdict.reason) == (
        "ghost@example.net",
        "5.1.1",
        550,
        "userunknown",
    )


EXCHANGE_2003 = b"""\
From: System Administrator <postmaster@corp.example.org>
To: shop@example.com
Subject: Undeliverable: hello
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-8859-1"

Your message did not reach some or all of the intended recipients.

      Subject:  hello
      Sent:     12/5/2026 9:00 AM

The following recipient(s) could not be reached:

      jdoe@corp.example.org on 12/5/2026 9:00 AM
            The e-mail account does not exist at the organization this message was sent to.
            <mail.corp.example.org #5.1.1>

      full@corp.example.org on 12/5/2026 9:00 AM
            The recipient's mailbox is full and can't accept messages now.
            <mail.corp.example.org #5.2.2>
"""


def test_exchange_2003_style_recipient_lines_with_a_date_and_the_code_below():
    """An MTA family outside the shared corpus: "address on <date>", the text, "<server #X.Y.Z>"."""
    verdicts = {v.recipient: v for v in classify_returned_message(EXCHANGE_2003).recipients}
    assert set(verdicts) == {"jdoe@corp.example.org", "full@corp.example.org"}
    jdoe, full = verdicts["jdoe@corp.example.org"], verdicts["full@corp.example.org"]
    assert (jdoe.status, jdoe.reason, jdoe.hard) == ("5.1.1", "userunknown", True)
    assert (full.status, full.reason, full.hard) == ("5.2.2", "mailboxfull", False)
