"""Held-out bounces, round two: MTA families and providers still missing from the shared corpus.

Like `test_returned_other_mtas.py`, each sample is written from the MTA's or provider's own source,
documentation or published error reference (named in a comment above it), never from a bounce
collection. The verdict asserted is the one a careful human gives: the reason, hard or soft, and
that a soft verdict can never suppress the address. A hard verdict asserted `strong` rests on an
explicit code or an unambiguous phrase; `strong=False` marks wording too loose to suppress at once.
"""

from __future__ import annotations

import pytest

from maildispatch.core.returned_mail import classify_returned_message
from tests.unit.held_out import Expect, assert_reads_as


def dsn(human: str, groups: str, reporting: str = "mta1.example.com", extra: str = "") -> bytes:
    """An RFC 3464 multipart/report around a human-readable part and per-recipient groups."""
    return f"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@{reporting}>
To: shop@example.com
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b0"
{extra}
--b0
Content-Type: text/plain; charset=us-ascii

{human}
--b0
Content-Type: message/delivery-status

Reporting-MTA: dns; {reporting}

{groups}
--b0
Content-Type: text/rfc822-headers

From: shop@example.com
To: someone@example.net
Subject: hello
Message-ID: <m1@example.com>

--b0--
""".encode()


# --- PowerMTA --------------------------------------------------------------------------------------
# PowerMTA User's Guide: its DSNs are RFC 3464 reports; the per-recipient group carries the remote
# reply in Diagnostic-Code and PowerMTA's own bounce category (bad-mailbox, inactive-mailbox,
# quota-issues, message-expired, spam-related, policy-related, ...) in X-PowerMTA-BounceCategory.
PMTA_BAD_MAILBOX = dsn(
    "This message was created automatically by the mail system.\n"
    "The message could not be delivered to one or more recipients.\n",
    """Final-Recipient: rfc822;ghost@example.net
Action: failed
Status: 5.0.0 (permanent failure)
Remote-MTA: dns; mx.example.net (192.0.2.10)
Diagnostic-Code: smtp; 5.1.1 - Unknown address error 550-'5.1.1 <ghost@example.net>... No such user' (delivery attempts: 0)
X-PowerMTA-BounceCategory: bad-mailbox
""",
    reporting="pmta1.example.com",
)

PMTA_INACTIVE = dsn(
    "This message was created automatically by the mail system.\n",
    """Final-Recipient: rfc822;sleeper@example.net
Action: failed
Status: 5.2.1
Remote-MTA: dns; mx.example.net (192.0.2.10)
Diagnostic-Code: smtp;550 5.2.1 The email account that you tried to reach is inactive
X-PowerMTA-BounceCategory: inactive-mailbox
""",
    reporting="pmta1.example.com",
)

# bounce-after: a message that stayed queued past its limit is bounced with the last transient reply.
# The reason is the last failure's cause when the reply names one (a timeout: networkerror, as the
# shared corpus labels Postfix's "lost connection ... while ..."), `expired` when nothing more is said.
PMTA_EXPIRED_TIMEOUT = dsn(
    "This message was created automatically by the mail system.\n",
    """Final-Recipient: rfc822;slow@example.net
Action: failed
Status: 4.4.7
Remote-MTA: dns; mx.example.net (192.0.2.10)
Diagnostic-Code: smtp;421 4.4.2 mx.example.net Error: timeout exceeded
X-PowerMTA-BounceCategory: message-expired
""",
    reporting="pmta1.example.com",
)

PMTA_EXPIRED = dsn(
    "This message was created automatically by the mail system.\n",
    """Final-Recipient: rfc822;slow@example.net
Action: failed
Status: 4.4.7
Remote-MTA: dns; mx.example.net (192.0.2.10)
X-PowerMTA-BounceCategory: message-expired
""",
    reporting="pmta1.example.com",
)

PMTA_QUOTA = dsn(
    "This message was created automatically by the mail system.\n",
    """Final-Recipient: rfc822;stuffed@example.net
Action: failed
Status: 5.0.0
Remote-MTA: dns; mx.example.net (192.0.2.10)
Diagnostic-Code: smtp;552 Requested mail action aborted: exceeded storage allocation
X-PowerMTA-BounceCategory: quota-issues
""",
    reporting="pmta1.example.com",
)

# --- SendGrid --------------------------------------------------------------------------------------
# SendGrid's bounce notices carry the receiving server's reply as its "reason" (SendGrid Bounces API:
# "reason: the bounce code, an enhanced code and a description"), one "address: reason" per line.
SENDGRID_UNKNOWN = b"""\
From: SendGrid Mail Delivery <no-reply@sendgrid.example>
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is an automatically generated message from the mail delivery service.
Your message could not be delivered to one of its recipients.

ghost@example.net: 550 5.1.1 unknown or illegal user: ghost@example.net
"""

SENDGRID_SPAM = b"""\
From: SendGrid Mail Delivery <no-reply@sendgrid.example>
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is an automatically generated message from the mail delivery service.
Your message could not be delivered to one of its recipients.

reader@example.net: 554 5.7.1 Message rejected as spam by Content Filtering
"""

# --- Amazon SES as the receiving MTA ---------------------------------------------------------------
# SES receipt-rule bounce action templates (SES developer guide; aws-cdk BounceTemplate):
# "Mailbox does not exist" 550 5.1.1, "Message too large" 552 5.3.4, "Mailbox full" 552 5.2.2,
# "Message content rejected" 500 5.6.1, "Temporary failure" 450 4.0.0. The reply is SES's own text.
SES_INBOUND_NO_MAILBOX = b"""\
From: MAILER-DAEMON@inbound.example.org
To: shop@example.com
Subject: Delivery Status Notification (Failure)

An error occurred while trying to deliver the mail to the following recipients:
ghost@inbound.example.org

Reason: 550 5.1.1 Mailbox does not exist
"""

SES_INBOUND_TOO_LARGE = dsn(
    "An error occurred while trying to deliver the mail to the following recipients:\nreader@inbound.example.org\n",
    """Final-Recipient: rfc822; reader@inbound.example.org
Action: failed
Status: 5.3.4
Diagnostic-Code: smtp; 552 5.3.4 Message too large
""",
    reporting="inbound.example.org",
)

SES_INBOUND_TEMPORARY = dsn(
    "An error occurred while trying to deliver the mail to the following recipients:\nlater@inbound.example.org\n",
    """Final-Recipient: rfc822; later@inbound.example.org
Action: failed
Status: 4.0.0
Diagnostic-Code: smtp; 450 4.0.0 Temporary failure
""",
    reporting="inbound.example.org",
)

# --- DragonFly Mail Agent (dma) ----------------------------------------------------------------------
# dma mail.c bounce(): "This is the %s at %s.\n\nThere was an error delivering your mail to <%s>.\n\n%s
# \n\nOriginal message follows."; net.c: "%s [%s] did not like our %s:\n%s" (host, address, the
# SMTP command, the remote reply).
DMA_RCPT = b"""\
Received: from MAILER-DAEMON
	id 1a2b3c
	by dma.example.org (DragonFly Mail Agent v0.13);
	Sat, 05 Dec 2026 09:00:00 +0000
X-Original-To: <ghost@example.net>
From: MAILER-DAEMON <>
To: shop@example.com
Subject: Mail delivery failed
Message-Id: <1a2b3c@dma.example.org>
Date: Sat, 05 Dec 2026 09:00:00 +0000

This is the DragonFly Mail Agent v0.13 at dma.example.org.

There was an error delivering your mail to <ghost@example.net>.

mx.example.net [192.0.2.10] did not like our RCPT TO:
550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown in virtual mailbox table

Original message follows.

From: shop@example.com
To: ghost@example.net
Subject: hello

hello
"""

DMA_DATA = b"""\
From: MAILER-DAEMON <>
To: shop@example.com
Subject: Mail delivery failed
Message-Id: <1a2b3d@dma.example.org>

This is the DragonFly Mail Agent v0.13 at dma.example.org.

There was an error delivering your mail to <stuffed@example.net>.

mx.example.net [192.0.2.10] did not like our final DATA:
552 5.2.2 <stuffed@example.net>: mailbox full

Message headers follow.

From: shop@example.com
To: stuffed@example.net
Subject: hello
"""

# --- Verizon (vtext.com email-to-SMS gateway) ------------------------------------------------------
# Relayed by Postfix (bounce(8) template, smtp(8) "host %s said: %s (in reply to %s command)"); the
# gateway answers a number that is not a Verizon subscriber with RFC 5321's generic 550 text.
VTEXT = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<5551230000@vtext.example>: host smtp-sl.vtext.example[192.0.2.20] said: 550
    5.0.0 Requested action not taken: mailbox unavailable (in reply to RCPT TO
    command)
"""

# --- GoDaddy ---------------------------------------------------------------------------------------
# GoDaddy Help "Fix rejected email with a bounce error": content bounce "552 5.2.0 ... content judged
# to be spam by the internet community IB212"; "421 Server temporarily unavailable. Try again later.
# IB101"; "452 This message contains too many recipients ... IB605"; "550 Recipient not found".
GODADDY_SPAM = b"""\
From: Mail Delivery System <MAILER-DAEMON@mta1.example.com>
To: shop@example.com
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  reader@godaddy-hosted.example
    host smtp.secureserver.example [192.0.2.30]
    SMTP error from remote mail server after end of data:
    552 5.2.0 This message has been rejected due to content judged to be spam by the internet community IB212
"""

GODADDY_BUSY = b"""\
From: Mail Delivery System <MAILER-DAEMON@mta1.example.com>
To: shop@example.com
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  reader@godaddy-hosted.example
    retry timeout exceeded
    SMTP error from remote mail server after initial connection:
    421 Server temporarily unavailable. Try again later. IB101
"""

GODADDY_NOT_FOUND = b"""\
From: Mail Delivery System <MAILER-DAEMON@mta1.example.com>
To: shop@example.com
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  ghost@godaddy-hosted.example
    host smtp.secureserver.example [192.0.2.30]
    SMTP error from remote mail server after RCPT TO:<ghost@godaddy-hosted.example>:
    550 Recipient not found.
"""

GODADDY_TOO_MANY = b"""\
From: Mail Delivery System <MAILER-DAEMON@mta1.example.com>
To: shop@example.com
Subject: Mail delivery failed: returning message to sender

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  crowd@godaddy-hosted.example
    host smtp.secureserver.example [192.0.2.30]
    SMTP error from remote mail server after RCPT TO:<crowd@godaddy-hosted.example>:
    452 This message contains too many recipients. Reduce the number of recipients and retry. IB605
"""

# --- Outlook.com (Microsoft consumer) --------------------------------------------------------------
# Outlook.com postmaster troubleshooting: "550 5.7.1 Unfortunately, messages from [ip] weren't sent.
# Please contact your Internet service provider since part of their network is on our block list
# (S3140)"; RP-001 "We have limits for how many messages can be sent per hour and per day"; and
# RFC 5321's generic "550 5.5.0 Requested action not taken: mailbox unavailable" for an address that
# does not exist (a 5.5.0 protocol code, not a syntax error).
OUTLOOK_S3140 = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<reader@outlook.example>: host outlook-com.olc.protection.outlook.example[192.0.2.40]
    said: 550 5.7.1 Unfortunately, messages from [198.51.100.7] weren't sent.
    Please contact your Internet service provider since part of their network
    is on our block list (S3140). You can also refer your provider to
    http://mail.live.example/mail/troubleshooting.aspx#errors. (in reply to
    MAIL FROM command)
"""

OUTLOOK_NO_MAILBOX = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<ghost@hotmail.example>: host hotmail-com.olc.protection.outlook.example[192.0.2.41]
    said: 550 5.5.0 Requested action not taken: mailbox unavailable
    (S2017062302). (in reply to RCPT TO command)
"""

OUTLOOK_RATE = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<reader@outlook.example>: host outlook-com.olc.protection.outlook.example[192.0.2.40]
    said: 421 RP-001 (COL004-MC1F43) Unfortunately, some messages from
    198.51.100.7 weren't sent. Please try again. We have limits for how many
    messages can be sent per hour and per day. (in reply to MAIL FROM command)
"""

# --- Spectrum / Charter ----------------------------------------------------------------------------
# Spectrum "Understanding email error codes" (AUP#): the cmsmtp server names the sending IP
# "blocked" with an AUP code (AUP#In-1020 on the Spectrum community, a block on suspicious
# activity); AUP#In-1310 "sender rejected"; the refusal comes at the greeting (Postfix "refused to
# talk to me").
SPECTRUM_BLOCKED = dsn(
    "This is the mail system at host mta1.example.com.\n\n"
    "<reader@charter.example>: host mx0.charter.example[192.0.2.50] refused to talk to\n"
    "    me: 554 impin004.msg.chrl.nc.charter.example cmsmtp 198.51.100.7 blocked.\n"
    "    Please see https://www.spectrum.example/support/internet/understanding-email-error-codes\n"
    "    for more information. AUP#In-1020\n",
    """Final-Recipient: rfc822; reader@charter.example
Original-Recipient: rfc822; reader@charter.example
Action: failed
Status: 5.0.0
Remote-MTA: dns; mx0.charter.example
Diagnostic-Code: smtp; 554 impin004.msg.chrl.nc.charter.example cmsmtp 198.51.100.7 blocked. Please
    see https://www.spectrum.example/support/internet/understanding-email-error-codes
    for more information. AUP#In-1020
""",
)

SPECTRUM_SENDER = dsn(
    "This is the mail system at host mta1.example.com.\n\n"
    "<reader@charter.example>: host mx0.charter.example[192.0.2.50] said: 550 5.1.0\n"
    "    <shop@example.com> sender rejected. Please see\n"
    "    https://www.spectrum.example/support/internet/understanding-email-error-codes\n"
    "    for more information. AUP#In-1310 (in reply to MAIL FROM command)\n",
    """Final-Recipient: rfc822; reader@charter.example
Action: failed
Status: 5.1.0
Remote-MTA: dns; mx0.charter.example
Diagnostic-Code: smtp; 550 5.1.0 <shop@example.com> sender rejected. Please see
    https://www.spectrum.example/support/internet/understanding-email-error-codes
    for more information. AUP#In-1310
""",
)

# --- Tencent QQ mail -------------------------------------------------------------------------------
# QQ mail's published bounce explanations (service.mail.qq.com help, id=20022): "550 Mailbox not
# found." (the recipient does not exist), "550 Mail content denied." (content reported as spam),
# "550 Ip frequency limited." / "Sender frequency limited." (too many messages per minute/hour/day),
# "550 Mail is rejected by recipients" (the recipient's own blacklist or filter).
QQ_NOT_FOUND = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<ghost@qq.example>: host mx3.qq.example[192.0.2.60] said: 550 Mailbox not found.
    http://service.mail.qq.example/cgi-bin/help?subtype=1&&id=20022&&no=1000728
    (in reply to RCPT TO command)
"""

QQ_CONTENT = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<reader@qq.example>: host mx3.qq.example[192.0.2.60] said: 550 Mail content
    denied. http://service.mail.qq.example/cgi-bin/help?subtype=1&&id=20022&&no=1000726
    (in reply to end of DATA command)
"""

QQ_FREQUENCY = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<reader@qq.example>: host mx3.qq.example[192.0.2.60] said: 550 Ip frequency
    limited. http://service.mail.qq.example/cgi-bin/help?subtype=1&&id=20022&&no=1000725
    (in reply to RCPT TO command)
"""

QQ_BY_RECIPIENT = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<reader@qq.example>: host mx3.qq.example[192.0.2.60] said: 550 Mail is rejected
    by recipients (in reply to end of DATA command)
"""

# --- Anonymous gateways: "<addr>: <reply>" only, or an SMTP transcript only ------------------------
X_BARE_REPLIES = b"""\
From: postmaster@gw30.example.org
To: shop@example.com
Subject: Returned mail

ghost@example.net: 550 5.1.1 User unknown
stuffed@example.net: 452 4.2.2 Mailbox full
"""

X_TRANSCRIPT_ONLY = b"""\
From: MAILER-DAEMON@gw31.example.org
To: shop@example.com
Subject: Undeliverable message

>>> MAIL FROM:<shop@example.com>
<<< 250 2.1.0 Ok
>>> RCPT TO:<reader@example.net>
<<< 554 5.7.1 <reader@example.net>: Relay access denied
"""

# RFC 5321 4.2.2: a bare 552 "Requested mail action aborted: exceeded storage allocation".
X_BARE_552 = b"""\
From: postmaster@gw32.example.org
To: shop@example.com
Subject: Returned mail

stuffed@example.net: 552 Requested mail action aborted: exceeded storage allocation
"""

# --- Exim variants ---------------------------------------------------------------------------------
# Exim 4.9x deliver.c: "SMTP error from remote mail server after pipelined RCPT TO:<a>:" and the
# reply on the next line; "all hosts for 'x' have been failing for a long time (and retry time not
# reached)" for a recipient given up on.
EXIM_PIPELINED = b"""\
From: Mail Delivery System <Mailer-Daemon@mta2.example.com>
To: shop@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: ghost@example.net

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  ghost@example.net
    host mx.example.net [192.0.2.10]
    SMTP error from remote mail server after pipelined RCPT TO:<ghost@example.net>:
    550-5.1.1 The email account that you tried to reach does not exist. Please
    550 5.1.1 try double-checking the recipient's email address for typos.
"""

EXIM_FAILING_HOSTS = b"""\
From: Mail Delivery System <Mailer-Daemon@mta2.example.com>
To: shop@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: slow@example.net

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  slow@example.net
    all hosts for 'example.net' have been failing for a long time (and retry time not reached)
"""

# Exim: the remote reply after "SMTP error from remote mail server after end of data:" when the
# address line is the generated one ("(generated from x)").
EXIM_GENERATED = b"""\
From: Mail Delivery System <Mailer-Daemon@mta2.example.com>
To: shop@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: real@example.net

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  real@example.net
    (generated from alias@example.org)
    host mx.example.net [192.0.2.10]
    SMTP error from remote mail server after end of data:
    550 5.7.1 Message rejected: malware detected in attachment
"""

# --- Postfix variants ------------------------------------------------------------------------------
# Postfix smtp(8): "conversation with %s timed out while %s", "lost connection with %s while %s";
# a DSN whose Diagnostic-Code is Postfix's own X-Postfix text; local(8) "mail forwarding loop for".
POSTFIX_TIMEOUT = dsn(
    "This is the mail system at host mta1.example.com.\n\n"
    "<slow@example.net>: conversation with mx.example.net[192.0.2.10] timed out\n"
    "    while receiving the initial server greeting\n",
    """Final-Recipient: rfc822; slow@example.net
Action: failed
Status: 4.4.2
Diagnostic-Code: X-Postfix; conversation with mx.example.net[192.0.2.10] timed
    out while receiving the initial server greeting
""",
)

POSTFIX_LOOP = dsn(
    "This is the mail system at host mta1.example.com.\n\n"
    "<loop@example.com>: mail forwarding loop for loop@example.com\n",
    """Final-Recipient: rfc822; loop@example.com
Action: failed
Status: 5.4.6
Diagnostic-Code: X-Postfix; mail forwarding loop for loop@example.com
""",
)

# Postfix as a relay quoting the next hop, which itself quotes its next hop ("... said: 550 5.1.1
# <a>: Recipient address rejected: undeliverable address: host ... said: 550 ... (in reply to RCPT
# TO command)"): the innermost reply is what the mailbox's server said.
POSTFIX_NESTED = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<ghost@example.net>: host mx.example.net[192.0.2.10] said: 550 5.1.1
    <ghost@example.net>: Recipient address rejected: undeliverable address:
    host inner.example.net[192.0.2.11] said: 550 sorry, no mailbox here by that
    name (in reply to RCPT TO command) (in reply to RCPT TO command)
"""

# --- Multi-recipient reports -----------------------------------------------------------------------
# Postfix bounce(8): one "<a>: ..." paragraph per recipient, each with its own reply.
POSTFIX_THREE = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<ghost@example.net>: host mx.example.net[192.0.2.10] said: 550 5.1.1
    <ghost@example.net>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)

<stuffed@example.org>: host mx.example.org[192.0.2.12] said: 452 4.2.2
    <stuffed@example.org>: Recipient address rejected: Mailbox full (in reply
    to RCPT TO command)

<big@example.info>: host mx.example.info[192.0.2.13] said: 552 5.3.4 Message
    size exceeds fixed limit (in reply to end of DATA command)
"""

# One reason stated once, above the recipients it is about (a gateway's summary).
X_REASON_ABOVE = b"""\
From: postmaster@gw33.example.org
To: shop@example.com
Subject: Undeliverable mail

Delivery to the following recipients failed permanently because the recipient domain does not exist:

    a@nosuch.example
    b@nosuch.example
"""

X_DISABLED_ABOVE = b"""\
From: postmaster@gw34.example.org
To: shop@example.com
Subject: Undeliverable mail

The following recipients could not be reached because their accounts have been disabled:

    a@gw34.example.org
    b@gw34.example.org
"""


# --- Round two, second batch (written before the classifier was changed for them) ------------------
# dma net.c: "%s [%s] did not like our %s:\n%s" for the MAIL FROM command; the remote refuses our
# envelope sender (Sendmail "553 5.1.8 ... Domain of sender address ... does not exist").
DMA_MAIL = b"""\
From: MAILER-DAEMON <>
To: shop@example.com
Subject: Mail delivery failed

This is the DragonFly Mail Agent v0.13 at dma.example.org.

There was an error delivering your mail to <reader@example.net>.

mx.example.net [192.0.2.10] did not like our MAIL FROM:
553 5.1.8 <shop@example.com>... Domain of sender address shop@example.com does not exist

Message headers follow.
"""

# Outlook.com / Exchange Online: "550 5.7.1 Service unavailable, Client host [ip] blocked using
# Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/... (AS3130)".
OUTLOOK_SPAMHAUS = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<reader@outlook.example>: host outlook-com.olc.protection.outlook.example[192.0.2.40]
    said: 550 5.7.1 Service unavailable, Client host [198.51.100.7] blocked
    using Spamhaus. To request removal from this list see
    https://www.spamhaus.example/query/ip/198.51.100.7 (AS3130). (in reply to
    MAIL FROM command)
"""

# Google's SMTP error reference 550 5.7.1: "The IP you're using to send mail is not authorized to send
# email directly to our servers. Please use the SMTP relay at your service provider instead."
X_NOT_AUTHORIZED_IP = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<reader@example.net>: host mx.example.net[192.0.2.10] said: 550-5.7.1
    [198.51.100.7] The IP you're using to send mail is not authorized to send
    550-5.7.1 email directly to our servers. Please use the SMTP relay at your
    550 5.7.1 service provider instead. (in reply to RCPT TO command)
"""

# An SMTP transcript with two recipients, each answered on its own (RFC 5321 4.2 replies).
X_TRANSCRIPT_TWO = b"""\
From: MAILER-DAEMON@gw35.example.org
To: shop@example.com
Subject: Undeliverable message

>>> RCPT TO:<ghost@example.net>
<<< 550 5.1.1 <ghost@example.net>: user unknown
>>> RCPT TO:<stuffed@example.net>
<<< 452 4.2.2 <stuffed@example.net>: over quota
"""

# One statement above the addresses it is about: they do not exist here.
X_UNKNOWN_ABOVE = b"""\
From: postmaster@gw36.example.org
To: shop@example.com
Subject: Undeliverable mail

The following addresses do not exist on this server:

    a@gw36.example.org
    b@gw36.example.org
"""

# "<addr>: <reply>" with RFC 5321's generic texts only, no enhanced code and no SMTP stage: 550
# "mailbox unavailable" may be a recipient filter's refusal as well as an unknown mailbox, and 450 is
# "busy or temporarily blocked for policy reasons": soft (`filtered`), as round one reads unknown-user
# wording without a stage (expectation revised from userunknown-weak / onhold before any fix).
X_GENERIC_TEXTS = b"""\
From: postmaster@gw37.example.org
To: shop@example.com
Subject: Returned mail

gone@example.net: 550 Requested action not taken: mailbox unavailable
busy@example.net: 450 Requested mail action not taken: mailbox unavailable
"""

# Postfix smtp(8) when DNS says the domain does not exist: "Host or domain name not found. Name
# service error for name=%s type=%s: Host not found".
POSTFIX_NO_DOMAIN = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<reader@nosuch.example>: Host or domain name not found. Name service error
    for name=nosuch.example type=MX: Host not found
"""

# Exim: the remote server closed the connection after the data ("SMTP timeout after end of data"),
# retried until the retry rules gave up ("retry timeout exceeded").
EXIM_DATA_TIMEOUT = b"""\
From: Mail Delivery System <Mailer-Daemon@mta2.example.com>
To: shop@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: slow@example.net

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  slow@example.net
    retry timeout exceeded
"""

# A DSN with one group per recipient, each with its own Diagnostic-Code; the human part says nothing
# per recipient.
DSN_TWO_GROUPS = dsn(
    "Delivery has failed to these recipients or groups.\n",
    """Final-Recipient: rfc822; ghost@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <ghost@example.net>... User unknown

Final-Recipient: rfc822; big@example.org
Action: failed
Status: 5.3.4
Diagnostic-Code: smtp; 552 5.3.4 Message size exceeds fixed maximum message size
""",
)

# Tencent QQ mail help (id=20022): "550 Sender frequency limited" at MAIL FROM: the sender sent too
# much mail per minute/hour/day (a throttle of the sender, not a refusal of the address).
QQ_SENDER_FREQUENCY = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<reader@qq.example>: host mx3.qq.example[192.0.2.60] said: 550 Sender
    frequency limited. http://service.mail.qq.example/cgi-bin/help?subtype=1&&id=20022&&no=1000723
    (in reply to MAIL FROM command)
"""


# Thin per-recipient groups ("smtp; 550 5.0.0"): each recipient's own words are in the human part,
# one Postfix-style paragraph per address; each group takes the paragraph about its own recipient.
DSN_THIN_GROUPS = dsn(
    "This is the mail system at host mta1.example.com.\n\n"
    "<ghost@example.net>: host mx.example.net[192.0.2.10] said: 550 5.1.1\n"
    "    <ghost@example.net>: Recipient address rejected: User unknown in local\n"
    "    recipient table (in reply to RCPT TO command)\n\n"
    "<stuffed@example.org>: host mx.example.org[192.0.2.12] said: 552 5.2.2\n"
    "    <stuffed@example.org>: Mailbox full (in reply to RCPT TO command)\n",
    """Final-Recipient: rfc822; ghost@example.net
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 550

Final-Recipient: rfc822; stuffed@example.org
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 552
""",
)

# The reason once, above the list, in a report whose groups say nothing but "failed" / 5.0.0.
DSN_REASON_ABOVE = dsn(
    "Your message could not be delivered because the recipients' mailboxes are full:\n\n"
    "    first@example.net\n    second@example.net\n",
    """Final-Recipient: rfc822; first@example.net
Action: failed
Status: 5.0.0

Final-Recipient: rfc822; second@example.net
Action: failed
Status: 5.0.0
""",
)


# --- Third batch: probed at the reply level before the fix, then written as whole bounces ----------
# Exchange Online's NDR is HTML (Microsoft "Email non-delivery reports in Exchange Online": "Your
# message to <a> couldn't be delivered.", "<user> wasn't found at <domain>.", "Remote Server returned
# '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'"); a gateway
# may forward only that HTML part.
HTML_ONLY_NDR = b"""\
From: postmaster@gw40.example.org
To: shop@example.com
Subject: Undeliverable: hello
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><p><b>Your message to <a href="mailto:ghost@example.net">ghost@example.net</a> couldn't be
delivered.</b></p><p>ghost wasn't found at example.net.</p>
<p>Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP
address lookup'</p></body></html>
"""

# Sendmail-style reply with RFC 3463 X.1.2 (bad destination system address): "Domain of recipient
# address ... does not exist" is about the domain, not the mailbox.
X_RECIPIENT_DOMAIN = b"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@gw44.example.org>
To: shop@example.com
Subject: Returned mail: see transcript for details

   ----- The following addresses had permanent fatal errors -----
<reader@nosuch.example>
    (reason: 553 5.1.2 <reader@nosuch.example>... Domain of recipient address reader@nosuch.example does not exist)
"""

# RFC 5321 5.1: a domain with neither an MX nor an address record has no mail host.
X_NO_MX_OR_A = b"""\
From: postmaster@gw45.example.org
To: shop@example.com
Subject: Returned mail

reader@nosuch.example: No MX or A records for nosuch.example
"""

# A content filter's "appears to be unsolicited" (Google's "likely unsolicited mail" in other words).
X_APPEARS_UNSOLICITED = b"""\
From: MAILER-DAEMON@mta1.example.com (Mail Delivery System)
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mta1.example.com.

<reader@example.net>: host mx.example.net[192.0.2.10] said: 554 5.7.1 Your
    message was rejected because it appears to be unsolicited (in reply to end
    of DATA command)
"""


# A table of recipients and replies (an anonymous gateway): the address, blanks, the remote reply.
X_TABLE = b"""\
From: postmaster@gw50.example.org
To: shop@example.com
Subject: Returned mail

The following recipients failed:

  ghost@example.net     550 5.1.1 User unknown
  stuffed@example.net   552 5.2.2 Mailbox full
"""

# The same with a dash between the address and the reply.
X_DASH = b"""\
From: postmaster@gw51.example.org
To: shop@example.com
Subject: Returned mail

ghost@example.net - 550 5.1.1 User unknown
stuffed@example.net - 552 5.2.2 Mailbox full
"""

# Sendmail's "could not be delivered for N days" said with the address and hours.
X_NOT_WITHIN = b"""\
From: postmaster@gw52.example.org
To: shop@example.com
Subject: Returned mail

Message could not be delivered to slow@example.net within 72 hours.
"""

CASES = [
    ("pmta-bad-mailbox", PMTA_BAD_MAILBOX, [Expect("ghost@example.net", "userunknown", True, strong=True)]),
    ("pmta-inactive", PMTA_INACTIVE, [Expect("sleeper@example.net", "suspend", False)]),
    ("pmta-expired-timeout", PMTA_EXPIRED_TIMEOUT, [Expect("slow@example.net", "networkerror", False)]),
    ("pmta-expired", PMTA_EXPIRED, [Expect("slow@example.net", "expired", False)]),
    ("pmta-quota", PMTA_QUOTA, [Expect("stuffed@example.net", "mailboxfull", False)]),
    ("sendgrid-unknown", SENDGRID_UNKNOWN, [Expect("ghost@example.net", "userunknown", True, strong=True)]),
    ("sendgrid-spam", SENDGRID_SPAM, [Expect("reader@example.net", "spamdetected", False)]),
    (
        "sesin-no-mailbox",
        SES_INBOUND_NO_MAILBOX,
        [Expect("ghost@inbound.example.org", "userunknown", True, strong=True)],
    ),
    ("sesin-too-large", SES_INBOUND_TOO_LARGE, [Expect("reader@inbound.example.org", "mesgtoobig", False)]),
    ("sesin-temporary", SES_INBOUND_TEMPORARY, [Expect("later@inbound.example.org", "onhold", False)]),
    ("dma-rcpt", DMA_RCPT, [Expect("ghost@example.net", "userunknown", True, strong=True)]),
    ("dma-data", DMA_DATA, [Expect("stuffed@example.net", "mailboxfull", False)]),
    ("vtext", VTEXT, [Expect("5551230000@vtext.example", "userunknown", True, strong=False)]),
    ("godaddy-spam", GODADDY_SPAM, [Expect("reader@godaddy-hosted.example", "spamdetected", False)]),
    ("godaddy-busy", GODADDY_BUSY, [Expect("reader@godaddy-hosted.example", "systemerror", False)]),
    ("godaddy-not-found", GODADDY_NOT_FOUND, [Expect("ghost@godaddy-hosted.example", "userunknown", True)]),
    ("godaddy-too-many", GODADDY_TOO_MANY, [Expect("crowd@godaddy-hosted.example", "toomanyconn", False)]),
    ("outlook-s3140", OUTLOOK_S3140, [Expect("reader@outlook.example", "blocked", False)]),
    ("outlook-no-mailbox", OUTLOOK_NO_MAILBOX, [Expect("ghost@hotmail.example", "userunknown", True, strong=False)]),
    ("outlook-rate", OUTLOOK_RATE, [Expect("reader@outlook.example", "speeding", False)]),
    ("spectrum-blocked", SPECTRUM_BLOCKED, [Expect("reader@charter.example", "blocked", False)]),
    ("spectrum-sender", SPECTRUM_SENDER, [Expect("reader@charter.example", "rejected", False)]),
    ("qq-not-found", QQ_NOT_FOUND, [Expect("ghost@qq.example", "userunknown", True)]),
    ("qq-content", QQ_CONTENT, [Expect("reader@qq.example", "spamdetected", False)]),
    ("qq-frequency", QQ_FREQUENCY, [Expect("reader@qq.example", "speeding", False)]),
    ("qq-by-recipient", QQ_BY_RECIPIENT, [Expect("reader@qq.example", "filtered", False)]),
    (
        "x-bare-replies",
        X_BARE_REPLIES,
        [
            Expect("ghost@example.net", "userunknown", True, strong=True),
            Expect("stuffed@example.net", "mailboxfull", False),
        ],
    ),
    ("x-transcript-only", X_TRANSCRIPT_ONLY, [Expect("reader@example.net", "norelaying", False)]),
    ("x-bare-552", X_BARE_552, [Expect("stuffed@example.net", "mailboxfull", False)]),
    ("exim-pipelined", EXIM_PIPELINED, [Expect("ghost@example.net", "userunknown", True, strong=True)]),
    ("exim-failing-hosts", EXIM_FAILING_HOSTS, [Expect("slow@example.net", "expired", False)]),
    ("exim-generated", EXIM_GENERATED, [Expect("real@example.net", "virusdetected", False)]),
    # a report that gave up on a timeout: the cause (networkerror), as the shared corpus labels it
    ("postfix-timeout", POSTFIX_TIMEOUT, [Expect("slow@example.net", "networkerror", False)]),
    ("postfix-loop", POSTFIX_LOOP, [Expect("loop@example.com", "networkerror", False)]),
    ("postfix-nested", POSTFIX_NESTED, [Expect("ghost@example.net", "userunknown", True, strong=True)]),
    (
        "postfix-three",
        POSTFIX_THREE,
        [
            Expect("ghost@example.net", "userunknown", True, strong=True),
            Expect("stuffed@example.org", "mailboxfull", False),
            Expect("big@example.info", "mesgtoobig", False),
        ],
    ),
    (
        "x-reason-above",
        X_REASON_ABOVE,
        [Expect("a@nosuch.example", "hostunknown", True), Expect("b@nosuch.example", "hostunknown", True)],
    ),
    (
        "x-disabled-above",
        X_DISABLED_ABOVE,
        [Expect("a@gw34.example.org", "suspend", False), Expect("b@gw34.example.org", "suspend", False)],
    ),
    ("dma-mail", DMA_MAIL, [Expect("reader@example.net", "rejected", False)]),
    ("outlook-spamhaus", OUTLOOK_SPAMHAUS, [Expect("reader@outlook.example", "blocked", False)]),
    ("x-not-authorized-ip", X_NOT_AUTHORIZED_IP, [Expect("reader@example.net", "blocked", False)]),
    (
        "x-transcript-two",
        X_TRANSCRIPT_TWO,
        [
            Expect("ghost@example.net", "userunknown", True, strong=True),
            Expect("stuffed@example.net", "mailboxfull", False),
        ],
    ),
    (
        "x-unknown-above",
        X_UNKNOWN_ABOVE,
        [Expect("a@gw36.example.org", "userunknown", True), Expect("b@gw36.example.org", "userunknown", True)],
    ),
    (
        "x-generic-texts",
        X_GENERIC_TEXTS,
        [Expect("gone@example.net", "filtered", False), Expect("busy@example.net", "filtered", False)],
    ),
    ("postfix-no-domain", POSTFIX_NO_DOMAIN, [Expect("reader@nosuch.example", "hostunknown", True)]),
    ("exim-data-timeout", EXIM_DATA_TIMEOUT, [Expect("slow@example.net", "expired", False)]),
    (
        "dsn-two-groups",
        DSN_TWO_GROUPS,
        [Expect("ghost@example.net", "userunknown", True, strong=True), Expect("big@example.org", "mesgtoobig", False)],
    ),
    ("qq-sender-frequency", QQ_SENDER_FREQUENCY, [Expect("reader@qq.example", "speeding", False)]),
    (
        "dsn-thin-groups",
        DSN_THIN_GROUPS,
        [
            Expect("ghost@example.net", "userunknown", True, strong=True),
            Expect("stuffed@example.org", "mailboxfull", False),
        ],
    ),
    (
        "dsn-reason-above",
        DSN_REASON_ABOVE,
        [Expect("first@example.net", "mailboxfull", False), Expect("second@example.net", "mailboxfull", False)],
    ),
    ("html-only-ndr", HTML_ONLY_NDR, [Expect("ghost@example.net", "userunknown", True, strong=True)]),
    ("x-recipient-domain", X_RECIPIENT_DOMAIN, [Expect("reader@nosuch.example", "hostunknown", True, strong=True)]),
    ("x-no-mx-or-a", X_NO_MX_OR_A, [Expect("reader@nosuch.example", "hostunknown", True)]),
    ("x-appears-unsolicited", X_APPEARS_UNSOLICITED, [Expect("reader@example.net", "spamdetected", False)]),
    (
        "x-table",
        X_TABLE,
        [
            Expect("ghost@example.net", "userunknown", True, strong=True),
            Expect("stuffed@example.net", "mailboxfull", False),
        ],
    ),
    (
        "x-dash",
        X_DASH,
        [
            Expect("ghost@example.net", "userunknown", True, strong=True),
            Expect("stuffed@example.net", "mailboxfull", False),
        ],
    ),
    ("x-not-within", X_NOT_WITHIN, [Expect("slow@example.net", "expired", False)]),
]


@pytest.mark.parametrize(("raw", "expected"), [(raw, exp) for _id, raw, exp in CASES], ids=[c[0] for c in CASES])
def test_a_bounce_from_a_further_unseen_family_reads_as_a_careful_human_would(raw, expected):
    assert_reads_as(raw, expected)


def test_round_two_spans_the_missing_families():
    families = {case_id.split("-")[0] for case_id, _raw, _exp in CASES}

    assert {
        "pmta",
        "sendgrid",
        "sesin",
        "dma",
        "vtext",
        "godaddy",
        "outlook",
        "spectrum",
        "qq",
        "exim",
        "postfix",
    } <= families


def test_no_round_two_bounce_is_left_unexplained():
    """Every sample states why it failed: none may read `undefined`."""
    for case_id, raw, _exp in CASES:
        assert all(v.reason != "undefined" for v in classify_returned_message(raw).recipients), case_id
