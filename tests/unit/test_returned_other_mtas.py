"""Held-out bounces from MTA families that are NOT in the shared corpus.

Each sample is written from the MTA's own documented or source wording and layout (the source is
named in a comment above it), never from any bounce collection. They check that the classifier
reads what a bounce says and where its parts are (the failed address, the remote reply, the
quoted original), not the wording of the families it was measured on.

The verdict asserted is the one a careful human gives: the reason, hard or soft, and, for every
soft verdict, that it can never suppress the address (`suppressible` is False). A hard verdict
asserted `strong` rests on an explicit code or an unambiguous phrase.
"""

from __future__ import annotations

import pytest

from maildispatch.core.returned_mail import classify_returned_message
from tests.unit.held_out import Expect, assert_reads_as

# --- qmail ----------------------------------------------------------------------------------------
# qmail-send.c: "Hi. This is the qmail-send program at ...", the permanent-failure paragraph, one
# "<address>:" block per recipient with qmail-remote's/qmail-local's text, and for a message that
# stayed too long "I'm not going to try again; this message has been in the queue too long."
# qmail-remote.c: "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)".
QMAIL_EXPIRED = b"""\
From: MAILER-DAEMON@mx.example.org
To: shop@example.com
Subject: failure notice

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<late@example.net>:
Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)
I'm not going to try again; this message has been in the queue too long.

--- Below this line is a copy of the message.

Return-Path: <shop@example.com>
Received: (qmail 1234 invoked by uid 89); 29 Nov 2026 08:00:00 -0000
From: shop@example.com
To: late@example.net
Subject: x

x
"""

# qmail-local.c: "Sorry, no mailbox here by that name. (#5.1.1)" for a local address without a
# mailbox; qmail-remote.c: "Connected to %s but sender was rejected." + "Remote host said: ...".
QMAIL_LOCAL = b"""\
From: MAILER-DAEMON@mx.example.org
To: shop@example.com
Subject: failure notice

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<nobody@mx.example.org>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <shop@example.com>
Received: (qmail 1235 invoked by uid 89); 29 Nov 2026 08:00:00 -0000
From: shop@example.com
To: nobody@mx.example.org
Subject: x

x
"""

# qmail-remote.c: "%s does not like recipient." with the remote reply; the remote answered with a
# virus-scanner refusal (Exim's av_scanner ACL text "This message contains a virus (%s)").
QMAIL_VIRUS = b"""\
From: MAILER-DAEMON@mx.example.org
To: shop@example.com
Subject: failure notice

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<clean@example.net>:
192.0.2.1 failed after I sent the message.
Remote host said: 550 5.7.1 This message contains a virus (Eicar-Test-Signature)

--- Below this line is a copy of the message.

Return-Path: <shop@example.com>
From: shop@example.com
To: clean@example.net
Subject: x

x
"""

# --- Courier ----------------------------------------------------------------------------------------
# Courier's DSN (courier/module.dsn, courierdsn): multipart/report with the text "This is a delivery
# status notification from <host>, running the Courier mail server", "UNDELIVERABLE MAIL", the
# ">>> RCPT TO" / "<<<" transcript, and a message/delivery-status part.
COURIER = b"""\
From: Courier mail server at mx.example.org <@>
To: shop@example.com
Subject: NOTICE: mail delivery status.
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="=_courier_0"

--=_courier_0
Content-Type: text/plain; charset="utf-8"

This is a delivery status notification from mx.example.org,
running the Courier mail server, version 1.1.

The original message was received on Sat, 05 Dec 2026 09:00:00 +0000
from localhost [127.0.0.1]

---------------------------------------------------------------------------

                           UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<many@example.net>:
    mx.example.net [192.0.2.1]:
>>> RCPT TO:<many@example.net>
<<< 452 4.5.3 Too many recipients

---------------------------------------------------------------------------

--=_courier_0
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
Arrival-Date: Sat, 05 Dec 2026 09:00:00 +0000

Final-Recipient: rfc822; many@example.net
Action: failed
Status: 5.0.0
Remote-MTA: dns; mx.example.net [192.0.2.1]
Diagnostic-Code: smtp; 452 4.5.3 Too many recipients

--=_courier_0--
"""

# --- Microsoft Exchange 2003 ----------------------------------------------------------------------
# Exchange 2000/2003 NDR text ("Your message did not reach some or all of the intended recipients",
# "<server #X.Y.Z>"), with the texts of its NDR reference (KB 284204): #4.4.7 "Could not deliver the
# message in the time limit specified", #5.7.1 "You do not have permission to send to this recipient".
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

      slow@corp.example.org on 12/7/2026 9:00 AM
            Could not deliver the message in the time limit specified.  Please retry or contact your administrator.
            <mail.corp.example.org #4.4.7>

      nohost@nowhere.example on 12/5/2026 9:00 AM
            The destination server for this recipient could not be found in Domain Name Service (DNS).  Please verify the email address and retry. If that fails, contact your administrator.
            <mail.corp.example.org #5.4.0>
"""

# --- Lotus Domino / Notes ---------------------------------------------------------------------------
# Domino router delivery failure report: "Your message ... was not delivered to: <address>
# because: <reason>"; the router's "Error transferring to <host>; SMTP Protocol Returned a Permanent
# Error <reply>" for a remote refusal (Domino Administrator help, "Delivery Failure Reports").
DOMINO = b"""\
From: Postmaster@notes.example.org
To: shop@example.com
Subject: DELIVERY FAILURE: Error transferring to mx.example.net; SMTP Protocol Returned a Permanent Error 550 5.7.1 Message rejected as spam
MIME-Version: 1.0
Content-Type: text/plain; charset=US-ASCII

Your message

  Subject: hello

was not delivered to:

  spamcheck@example.net

because:

  Error transferring to mx.example.net; SMTP Protocol Returned a Permanent Error 550 5.7.1 Message rejected as spam by Content Filtering.
"""

# Domino router, local: "User <name> (<address>) not listed in Domino Directory".
DOMINO_LOCAL = b"""\
From: Postmaster@notes.example.org
To: shop@example.com
Subject: DELIVERY FAILURE: User jdoe (jdoe@notes.example.org) not listed in Domino Directory
MIME-Version: 1.0
Content-Type: text/plain; charset=US-ASCII

Your message

  Subject: hello

was not delivered to:

  jdoe@notes.example.org

because:

  User jdoe (jdoe@notes.example.org) not listed in Domino Directory
"""

# --- Apache James -----------------------------------------------------------------------------------
# James' DSNBounce mailet text: "Hi. This is the James mail server at <host>. I'm afraid I wasn't
# able to deliver your message to the following addresses. ... Failed recipient(s): ... Error message: ..."
JAMES = b"""\
From: MAILER-DAEMON@james.example.org
To: shop@example.com
Subject: [BOUNCE]
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hi. This is the James mail server at james.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.  Below
I include the list of recipients and the reason why I was unable to deliver
your message.

Failed recipient(s):
ghost@example.net

Error message:
550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown in local recipient table
"""

# --- Sun Java System / Oracle Communications Messaging Server -------------------------------------
# Its notification text (the "Your message cannot be delivered to the following recipients:" block
# with "Recipient address:", "Reason:", "Diagnostic code:", "Remote system:"), here without a DSN
# part, for a local mailbox over its quota (the server's "Over quota" reason, X.2.2).
SUN_MS = b"""\
From: Internet Mail Delivery <postmaster@ms.example.org>
To: shop@example.com
Subject: Delivery Notification: Delivery has failed
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

This report relates to a message you sent with the following header fields:

  Message-id: <order-1@example.com>
  Date: Sat, 05 Dec 2026 09:00:00 +0000
  From: shop@example.com
  To: full@ms.example.org
  Subject: hello

Your message cannot be delivered to the following recipients:

  Recipient address: full@ms.example.org
  Reason: Over quota
"""

# --- Yahoo (as the sending provider) --------------------------------------------------------------
# Yahoo's own notification: "Sorry, we were unable to deliver your message to the following address."
# in qmail's "<address>:" / "Remote host said:" shape with the stage in brackets ("[RCPT_TO]").
YAHOO = b"""\
From: MAILER-DAEMON@yahoo.com
To: shop@yahoo.com
Subject: Failure Notice

Sorry, we were unable to deliver your message to the following address.

<ghost@example.net>:
Remote host said: 550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown in virtual alias table [RCPT_TO]

--- Below this line is a copy of the message.

Received: from [192.0.2.5] by nm1.bullet.mail.ne1.yahoo.com
From: shop@yahoo.com
To: ghost@example.net
Subject: x

x
"""

# --- Yandex -------------------------------------------------------------------------------------
# Yandex's Postfix-based notification in its two languages, the remote refusal quoted with
# "said:" and "(in reply to end of DATA command)"; the refusal text is Yandex's documented
# "Message rejected under suspicion of SPAM" (Yandex help, "Error messages").
YANDEX = """\
From: mailer-daemon@yandex.ru
To: shop@yandex.ru
Subject: =?utf-8?B?0J3QtdC00L7RgdGC0LDQstC70LXQvdC90L7QtSDRgdC+0L7QsdGJ0LXQvdC40LU=?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

This is the mail system at host forward1.mail.yandex.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<reader@example.net>: host mx.example.net[192.0.2.7] said: 554 5.7.1
    Message rejected under suspicion of SPAM (in reply to end of DATA command)

Сообщение не доставлено одному или нескольким адресатам.
""".encode()

# --- Zoho Mail --------------------------------------------------------------------------------------
# Zoho's notification: the explanation, then one line per recipient "<address>, ERROR CODE :<reply>".
ZOHO = b"""\
From: Mail Delivery System <mailer-daemon@mail.zoho.com>
To: shop@zoho.example
Subject: Undelivered Mail Returned to Sender

This message was created automatically by mail delivery software.
A message that you sent could not be delivered to one or more of its recipients. This is a permanent error.

full@example.net, ERROR CODE :552 - 5.2.2 The email account that you tried to reach is over quota.
"""

# --- KDDI (au) --------------------------------------------------------------------------------------
# The au mail gateway's notice: "Your mail sent on: <date> Could not be delivered to: <address>
# As their mailbox is full." (KDDI's documented notice to senders).
KDDI = b"""\
From: postmaster@ezweb.example.jp
To: shop@example.com
Subject: Mail Delivery Failure

Your mail sent on: Sat, 05 Dec 2026 18:00:00 +0900
     Could not be delivered to: <full@ezweb.example.jp>
     As their mailbox is full.
"""

# --- Trend Micro InterScan Messaging Security Suite ----------------------------------------------
# IMSS's delivery failure notice: the transcript as "Sent <<< RCPT TO:<address>" /
# "Received >>> <reply>", then "Could not deliver mail to this user."
INTERSCAN = b"""\
From: postmaster@imss.example.org
To: shop@example.com
Subject: Mail could not be delivered

Sent <<< RCPT TO:<ghost@example.net>
Received >>> 550 5.1.1 <ghost@example.net>... User unknown

Could not deliver mail to this user.
"""

# --- SurfControl E-mail Filter ----------------------------------------------------------------------
# Its non-delivery text: "Your message could not be sent. A transcript of the attempts to send the
# message follows. The number of attempts made: N Addressed To: <address>" and the failed attempt.
SURFCONTROL = b"""\
From: postmaster@filter.example.org
To: shop@example.com
Subject: Failed to deliver to 'nohost@unknown.example'

Your message could not be sent.
A transcript of the attempts to send the message follows.
The number of attempts made: 1
Addressed To: nohost@unknown.example

Sat, 5 Dec 2026 09:00:00 +0000
Failed to send to identified host,
nohost@unknown.example: [192.0.2.8], 550 5.1.2 Host unknown
--- Message non-deliverable.
"""

# --- MailFoundry ------------------------------------------------------------------------------------
# MailFoundry's notice: "Unable to deliver message to: <address>", "Delivery failed for the
# following reason:", "Server <host>[<ip>] failed with: <reply>".
MAILFOUNDRY = b"""\
From: MAILER-DAEMON@mailfoundry.example.org
To: shop@example.com
Subject: Message delivery has failed

Unable to deliver message to: <ghost@example.net>
Delivery failed for the following reason:
Server mx.example.net[192.0.2.9] failed with: 550 <ghost@example.net> No such user here

This has been a permanent failure.  No further delivery attempts will be made.
"""

# --- Activehunter -----------------------------------------------------------------------------------
# A Sendmail-derived gateway: "----- The following addresses had permanent fatal errors -----",
# then "----- Transcript of session follows -----" with the remote reply (here vpopmail's chkuser).
ACTIVEHUNTER = b"""\
From: MAILER-DAEMON@ah.example.jp
To: shop@example.com
Subject: Returned mail: see transcript for details

  ----- The following addresses had permanent fatal errors -----

<ghost@example.net>

  ----- Transcript of session follows -----
550 sorry, no mailbox here by that name (#5.1.1 - chkuser)
"""

# --- Openwave Email MX --------------------------------------------------------------------------------
# Openwave's qmail-like notice ("Unable to deliver message to the following address(es).", the
# "<address>:" block and "Remote host said:"); the refusal at the end of DATA for unsolicited mail.
OPENWAVE = b"""\
From: MAILER-DAEMON@mx.openwave.example.net
To: shop@example.com
Subject: Delivery failure

Unable to deliver message to the following address(es).

<reader@example.net>:
192.0.2.10 failed after I sent the message.
Remote host said: 554 5.7.1 Message content rejected, UBE, id=12345-01
"""

# --- V5 Sendmail --------------------------------------------------------------------------------------
# Old Sendmail V5: "----- Transcript of session follows -----" with ">>> RCPT To:<address>" /
# "<<< 550 ...", then "----- Recipients of this delivery -----" "Bounced, cannot deliver:".
V5_SENDMAIL = b"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@v5.example.org>
To: shop@example.com
Subject: Returned mail: Host unknown

   ----- Transcript of session follows -----
550 nohost@unknown.example... Host unknown (Name server: unknown.example: host not found)

   ----- Recipients of this delivery -----
Bounced, cannot deliver:
   <nohost@unknown.example>

   ----- Unsent message follows -----
Received: by v5.example.org (5.65/1.1)
From: shop@example.com
To: nohost@unknown.example
Subject: x

x
"""

# --- Mimecast -----------------------------------------------------------------------------------------
# Mimecast's "Mimecast SMTP error codes" reference: "550 Rejected by header based Blocked Senders -
# block policy for Blocked Sender" (the recipient organisation blocks our sender address: a refusal
# of the sender, not an unknown address), in an Exchange-like "Remote server returned" notice.
MIMECAST = b"""\
From: Mail Delivery System <postmaster@relay.mimecast.example>
To: shop@example.com
Subject: Undeliverable: hello

Your message couldn't be delivered to the recipients shown below.

reader@corp.example.net
Remote server returned '550 Rejected by header based Blocked Senders - block policy for Blocked Sender'
"""

# --- MessageLabs (Symantec.cloud) -----------------------------------------------------------------
# Its delivery agent: "This is the mail delivery agent at messagelabs.com. I was unable to deliver
# your message to the following addresses:", then "Reason:" with the remote reply; here a qmail-smtpd
# relay refusal ("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)").
MESSAGELABS = b"""\
From: Mail Delivery System <MAILER-DAEMON@messagelabs.com>
To: shop@example.com
Subject: Mail Delivery Failure

This is the mail delivery agent at messagelabs.com.
I was unable to deliver your message to the following addresses:

reader@example.net

Reason: 553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)

The message subject was: hello
"""

# --- IMail (Ipswitch) ---------------------------------------------------------------------------------
# IMail's undeliverable notice: "Unknown user: <address>" on its own line, then "Original message
# follows.".
IMAIL = b"""\
From: postmaster@imail.example.org
To: shop@example.com
Subject: Undeliverable Mail

Unknown user: ghost@imail.example.org

Original message follows.

Received: from shop.example.com by imail.example.org
From: shop@example.com
To: ghost@imail.example.org
Subject: x

x
"""

# --- A list server (Google Groups-like) ---------------------------------------------------------------
# A list refusing a poster who is not a member (RFC 2369/2919 list; the refusal is about the sender).
LIST_SERVER = b"""\
From: Mail Delivery Subsystem <mailer-daemon@lists.example.org>
To: shop@example.com
Subject: Delivery Status Notification (Failure)
X-Failed-Recipients: announce@lists.example.org

Hello shop@example.com,

We're writing to let you know that the group you tried to contact (announce) may not exist, or you
may not have permission to post messages to the group.
"""

# --- Generic anonymous MTAs ---------------------------------------------------------------------------
# Shapes many unnamed gateways write: an RFC 3464 report with a domain whose MX is a null MX
# (RFC 7505: "556 5.1.10 Recipient address has null MX"), and a temporary refusal for too many
# connections (Postfix anvil's "421 4.7.0 Error: too many connections from <ip>").
X_NULL_MX = b"""\
From: MAILER-DAEMON@gw.example.org
To: shop@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Delivery to the following recipient failed permanently: nomail@nullmx.example

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; gw.example.org

Final-Recipient: rfc822; nomail@nullmx.example
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp; 556 5.1.10 Recipient address has null MX

--B--
"""

X_TOO_MANY = b"""\
From: MAILER-DAEMON@gw.example.org
To: shop@example.com
Subject: Warning: message delayed

This is a warning: delivery of your message is still being retried.

Failed recipient:
  busy@example.net
  The remote server said: 421 4.7.0 mx.example.net Error: too many connections from 192.0.2.12
"""

# An anonymous gateway's local delivery that failed inside its own system (RFC 3463 X.3.5
# "system incorrectly configured"; Sendmail's "Local configuration error").
X_SYSTEM = b"""\
From: MAILER-DAEMON@gw2.example.org
To: shop@example.com
Subject: Returned mail: Local configuration error

The following address had permanent fatal errors:

reader@gw2.example.org
    (reason: 554 5.3.5 Local configuration error)
"""

# An anonymous gateway's security refusal: the remote relay wants authentication (RFC 4954
# "530 5.7.0 Authentication required").
X_SECURITY = b"""\
From: MAILER-DAEMON@gw3.example.org
To: shop@example.com
Subject: Undeliverable mail

Your message could not be delivered to:

   reader@example.net

Remote server said: 530 5.7.0 Authentication required
"""

# A recipient-side filter: the address exists, its owner refuses mail from this sender
# (Exchange Online's "550 5.7.1 Delivery to this address is restricted"-like text of a
# per-recipient block rule).
X_FILTERED = b"""\
From: MAILER-DAEMON@gw4.example.org
To: shop@example.com
Subject: Mail delivery failed

The following address failed:

  reader@example.net
    host mx.example.net [192.0.2.13]: 550 5.7.1 <reader@example.net>: Recipient refuses to accept mail from this sender
"""


# --- More anonymous gateways: shapes, not wording ----------------------------------------------------
# Several recipients listed first, one explanation for all of them below (Domino, Exchange 2003 and
# many gateways write "The following recipients could not be reached:" this way).
X_LIST_THEN_REASON = b"""\
From: MAILER-DAEMON@gw5.example.org
To: shop@example.com
Subject: Undeliverable mail

The following recipients could not be reached:

  first@example.net
  second@example.net

Reason: 550 5.1.1 Recipient address rejected: User unknown
"""

# Sendmail's "The following addresses had permanent fatal errors" list, then its transcript with one
# ">>> RCPT To:" / "<<< reply" pair per recipient (sendmail/savemail.c, deliver.c).
X_TRANSCRIPT = b"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@gw6.example.org>
To: shop@example.com
Subject: Returned mail: see transcript for details

   ----- The following addresses had permanent fatal errors -----
<gone@example.net>
<stuffed@example.net>

   ----- Transcript of session follows -----
... while talking to mx.example.net.:
>>> RCPT To:<gone@example.net>
<<< 550 5.1.1 <gone@example.net>... User unknown
>>> RCPT To:<stuffed@example.net>
<<< 552 5.2.2 <stuffed@example.net>... Mailbox full
"""

# Postfix smtp(8) for a domain with a null MX (RFC 7505), as a plain-text notice.
X_NULL_MX_TEXT = b"""\
From: MAILER-DAEMON@gw7.example.org
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host gw7.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nomail@nullmx.example>: Domain nullmx.example does not accept mail (nullMX)
"""

# Sendmail giving up after its queue timeout (sendmail/savemail.c: "Message could not be delivered
# for %s", the recipient's "(reason: Deferred: Connection timed out with ...)").
X_SENDMAIL_EXPIRED = b"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@gw8.example.org>
To: shop@example.com
Subject: Returned mail: see transcript for details

The original message was received at Sat, 28 Nov 2026 09:00:00 +0000
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<slow@example.net>
    (reason: Deferred: Connection timed out with mx.example.net.)

   ----- Transcript of session follows -----
<slow@example.net>... Deferred: Connection timed out with mx.example.net.
Message could not be delivered for 5 days
Message will be deleted from queue
"""

# An RFC 3464 report whose status is the only explanation: X.3.0 "other or undefined mail system
# status" from a server that failed internally (RFC 3463: the mail system, not the address).
X_SYSTEM_DSN = b"""\
From: MAILER-DAEMON@gw9.example.org
To: shop@example.com
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="C"

--C
Content-Type: text/plain

Your message could not be delivered.

--C
Content-Type: message/delivery-status

Reporting-MTA: dns; gw9.example.org

Final-Recipient: rfc822; reader@example.net
Action: failed
Status: 5.3.0
Diagnostic-Code: smtp; 554 5.3.0 Internal error while storing message

--C--
"""

# --- Novell GroupWise-like gateways -------------------------------------------------------------------
# "The message that you sent was undeliverable to the following:" with "<address> (<reason>)" lines.
X_PAREN_REASON = b"""\
From: postmaster@gw10.example.org
To: shop@example.com
Subject: Undeliverable mail

The message that you sent was undeliverable to the following:
        gone@gw10.example.org (user not found)
        stuffed@gw10.example.org (mailbox full)

Possibly truncated original message follows:
"""

# qmail-local.c for a maildir it cannot write: "Temporary error on maildir delivery. (#4.3.0)";
# qmail-send gave up: "I'm not going to try again; this message has been in the queue too long."
# Nothing said about the address: a delivery that expired, soft.
QMAIL_LOCAL_EXPIRED = b"""\
From: MAILER-DAEMON@mx.example.org
To: shop@example.com
Subject: failure notice

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<reader@mx.example.org>:
Temporary error on maildir delivery. (#4.3.0)
I'm not going to try again; this message has been in the queue too long.
"""

# An RFC 3464 report for a temporary failure at the mail system that was finally returned (Exchange's
# "4.3.2 System not accepting network messages", Action: failed): a system problem, not the address.
X_SYSTEM_NOT_ACCEPTING = b"""\
From: postmaster@gw11.example.org
To: shop@example.com
Subject: Undeliverable: hello
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="D"

--D
Content-Type: text/plain

Delivery has failed to these recipients or groups:

reader@example.net

--D
Content-Type: message/delivery-status

Reporting-MTA: dns; gw11.example.org

Final-Recipient: rfc822; reader@example.net
Action: failed
Status: 4.3.2
Diagnostic-Code: smtp; 421 4.3.2 Service not available, closing transmission channel

--D--
"""

# Postfix smtpd reject_sender_login_mismatch (postconf(5)): the relay refuses a sender address the
# client is not logged in as: an authentication problem of ours, never the recipient's.
X_NOT_LOGGED_IN = b"""\
From: MAILER-DAEMON@gw12.example.org
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host gw12.example.org.

<reader@example.net>: host smtp.example.net[192.0.2.14] said: 553 5.7.1
    <shop@example.com>: Sender address rejected: not owned by user
    shop@example.com (in reply to RCPT TO command)
"""

# A spam verdict stated in the notification, the per-recipient reply only "rejected" (content
# filters such as Barracuda or Proofpoint write the verdict once, above the addresses).
X_SPAM_NOTICE = b"""\
From: postmaster@filter.example.org
To: shop@example.com
Subject: Message rejected

Your message was identified as spam by the recipient's content filter and was not delivered.

Recipient: reader@example.net
Reason: 550 Message rejected
"""

# A virus gateway's notice (Sophos / McAfee style): the verdict in the prose, the recipient listed.
X_VIRUS_NOTICE = b"""\
From: postmaster@av.example.org
To: shop@example.com
Subject: Undeliverable message: virus found

The message you sent could not be delivered because it was found to be infected with a virus
(W32/Netsky-P).

Intended recipient: reader@example.net
"""

# Postfix smtp_proto.c "host %s refused to talk to me: %s" for a greeting that was not 220, here
# RFC 7504's "521 ... does not accept mail": the domain accepts no mail at all (not a block of us).
X_GREETING_521 = b"""\
From: MAILER-DAEMON@gw14.example.org
To: shop@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host gw14.example.org.

<info@parked.example>: host mx.parked.example[192.0.2.15] refused to talk to me:
    521 5.3.2 mx.parked.example does not accept mail
"""

# Exchange 2007/2010 NDR: "Delivery has failed to these recipients or groups:", then under
# "Diagnostic information for administrators" the "#550 5.4.4 SMTPSEND.DNS.NonExistentDomain;
# nonexistent domain ##" line.
EXCHANGE_2007_NXDOMAIN = b"""\
From: Microsoft Outlook <postmaster@corp.example.org>
To: shop@example.com
Subject: Undeliverable: hello

Delivery has failed to these recipients or groups:

reader@nowhere.example
The domain name in the email address is incorrect. Check the address.

Diagnostic information for administrators:

Generating server: mail.corp.example.org

reader@nowhere.example
#550 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain ##
"""

# Sun/Oracle Messaging Server for an address whose domain part cannot exist.
SUN_MS_BAD_DOMAIN = b"""\
From: Internet Mail Delivery <postmaster@ms.example.org>
To: shop@example.com
Subject: Delivery Notification: Delivery has failed

This report relates to a message you sent with the following header fields:

  Message-id: <order-2@example.com>
  Subject: hello

Your message cannot be delivered to the following recipients:

  Recipient address: reader@bad_host.example
  Reason: Illegal host/domain name found
"""

# An RFC 3464 report of a qmail-smtpd that could not queue the message ("451 qq temporary problem
# (#4.3.0)"), finally returned: the remote system failed, the address is fine.
X_QQ_PROBLEM = b"""\
From: MAILER-DAEMON@gw15.example.org
To: shop@example.com
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="E"

--E
Content-Type: text/plain

Delivery to the following recipient failed: reader@example.net

--E
Content-Type: message/delivery-status

Reporting-MTA: dns; gw15.example.org

Final-Recipient: rfc822; reader@example.net
Action: failed
Status: 4.3.0
Diagnostic-Code: smtp; 451 qq temporary problem (#4.3.0)

--E--
"""

# A gateway naming the recipient only in a sentence; the returned original's To: says who it was.
X_SENTENCE_ONLY = b"""\
From: relay@gw16.example.org
To: shop@example.com
Subject: Failed to deliver your message

Your message to the recipient could not be delivered because the recipient's mailbox is full.
Please try again later.

----- Original message -----

From: shop@example.com
To: reader@example.net
Subject: hello
Message-ID: <order-3@example.com>

hello
"""

# --- Japanese gateways (m-FILTER, carriers) ------------------------------------------------------------
# DigitalArts m-FILTER's notice in ISO-2022-JP (RFC 1468): the address on its own line under
# "以下のメールアドレスへの送信に失敗しました。" and the server's reply under a dashed heading.
MFILTER = """\
From: MAILER-DAEMON@mfilter.example.jp
To: shop@example.com
Subject: failure notice
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-2022-jp"

このメールは「m-FILTER」が自動生成して送信しています。
メールサーバーとの通信中、下記の理由により
このメールは送信できませんでした。

以下のメールアドレスへの送信に失敗しました。
ghost@example.jp


-------サーバからのエラーメッセージ-------
550 5.1.1 <ghost@example.jp>... User Unknown
""".encode("iso-2022-jp")

# An old Japanese gateway that declares no charset at all: ISO-2022-JP is 7-bit, so only its escape
# sequences say what it is. "メールボックスがいっぱいです" is RFC 3463 X.2.2 "mailbox full" in Japanese.
X_JIS_UNDECLARED = """\
From: postmaster@gw17.example.jp
To: shop@example.com
Subject: Returned mail

以下の宛先に配送できませんでした。

full@example.jp
    宛先のメールボックスがいっぱいです。
""".encode("iso-2022-jp")

# The explanation once, above the list of the addresses it is about.
X_REASON_THEN_LIST = b"""\
From: MAILER-DAEMON@gw18.example.org
To: shop@example.com
Subject: Undeliverable mail

Your message could not be delivered because the recipient's mailbox is full:

  first@example.net
  second@example.net
"""

# Exim-like: X-Failed-Recipients names two addresses, the text lists one in its usual shape and
# speaks of the other only in a sentence (Exim's "retry timeout exceeded" for a host that never
# answered, spec.txt "Retry configuration").
X_HEADER_AND_SENTENCE = b"""\
From: Mail Delivery System <Mailer-Daemon@gw19.example.org>
To: shop@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: gone@example.net, away@example.org

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  gone@example.net
    SMTP error from remote mail server after RCPT TO:<gone@example.net>:
    host mx.example.net [192.0.2.10]: 550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown

The mail to away@example.org could not be delivered: retry timeout exceeded
"""

# --- AOL -----------------------------------------------------------------------------------------
# AOL's Sendmail-style notice for a member whose mail controls refuse the sender: "not accepting
# mail from" a sender is a recipient's filter, not RFC 7504's "does not accept mail" (null MX).
AOL_MAIL_CONTROLS = b"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@aol.com>
To: shop@example.com
Subject: Returned mail: see transcript for details

   ----- The following addresses had permanent fatal errors -----
<reader@aol.com>
    (reason: 550 5.7.1 reader@aol.com is not accepting mail from this sender)
"""

# A Japanese gateway labelling its fields in Japanese with full-width colons ("宛先：" recipient,
# "理由：" reason), the remote reply quoted after the label.
X_JAPANESE_LABELS = """\
From: postmaster@gw20.example.jp
To: shop@example.com
Subject: =?iso-2022-jp?b?GyRCR1tBdyRHJC0kXiQ7JHMkRyQ3JD8bKEI=?=
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-2022-jp"

以下のアドレスにメールを送信できませんでした。

宛先：full@example.jp
理由：552 5.2.2 Mailbox full
""".encode("iso-2022-jp")

# Lotus Notes (R5-era router): the reason above the address, under "------- Failure Reasons --------",
# then "------- Returned Message --------" and the original.
NOTES_R5 = b"""\
From: Mail Router <postmaster@notes5.example.org>
To: shop@example.com
Subject: Delivery Failure Report

------- Failure Reasons --------

User not listed in public Name & Address Book
jsmith@notes5.example.org


------- Returned Message --------
Received: from shop.example.com by notes5.example.org
From: shop@example.com
To: jsmith@notes5.example.org
Subject: hello

hello
"""

CASES = [
    ("qmail-expired", QMAIL_EXPIRED, [Expect("late@example.net", "expired", False)]),
    ("qmail-local-nouser", QMAIL_LOCAL, [Expect("nobody@mx.example.org", "userunknown", True, strong=True)]),
    ("qmail-virus", QMAIL_VIRUS, [Expect("clean@example.net", "virusdetected", False)]),
    ("courier-too-many", COURIER, [Expect("many@example.net", "toomanyconn", False)]),
    (
        "exchange2003",
        EXCHANGE_2003,
        [
            Expect("slow@corp.example.org", "expired", False),
            Expect("nohost@nowhere.example", "hostunknown", True, strong=False),
        ],
    ),
    ("domino-spam", DOMINO, [Expect("spamcheck@example.net", "spamdetected", False)]),
    ("domino-local", DOMINO_LOCAL, [Expect("jdoe@notes.example.org", "userunknown", True)]),
    ("james", JAMES, [Expect("ghost@example.net", "userunknown", True, strong=True)]),
    ("sun-messaging", SUN_MS, [Expect("full@ms.example.org", "mailboxfull", False)]),
    ("yahoo", YAHOO, [Expect("ghost@example.net", "userunknown", True, strong=True)]),
    ("yandex", YANDEX, [Expect("reader@example.net", "spamdetected", False)]),
    ("zoho", ZOHO, [Expect("full@example.net", "mailboxfull", False)]),
    ("kddi", KDDI, [Expect("full@ezweb.example.jp", "mailboxfull", False)]),
    ("interscan", INTERSCAN, [Expect("ghost@example.net", "userunknown", True, strong=True)]),
    ("surfcontrol", SURFCONTROL, [Expect("nohost@unknown.example", "hostunknown", True)]),
    # A remote reply with no SMTP stage and no code: "no such user" may be a recipient filter's words
    # (RFC 5321 lets a filter answer 550 after DATA); read soft until a code or the stage says more.
    ("mailfoundry", MAILFOUNDRY, [Expect("ghost@example.net", "filtered", False)]),
    ("activehunter", ACTIVEHUNTER, [Expect("ghost@example.net", "userunknown", True, strong=True)]),
    ("openwave", OPENWAVE, [Expect("reader@example.net", "spamdetected", False)]),
    ("v5sendmail", V5_SENDMAIL, [Expect("nohost@unknown.example", "hostunknown", True)]),
    ("mimecast", MIMECAST, [Expect("reader@corp.example.net", "rejected", False)]),
    ("messagelabs", MESSAGELABS, [Expect("reader@example.net", "norelaying", False)]),
    ("imail", IMAIL, [Expect("ghost@imail.example.org", "userunknown", True)]),
    ("list-server", LIST_SERVER, [Expect("announce@lists.example.org", "rejected", False)]),
    ("x-null-mx", X_NULL_MX, [Expect("nomail@nullmx.example", "notaccept", True)]),
    ("x-too-many-connections", X_TOO_MANY, [Expect("busy@example.net", "toomanyconn", False)]),
    ("x-system", X_SYSTEM, [Expect("reader@gw2.example.org", "systemerror", False)]),
    ("x-security", X_SECURITY, [Expect("reader@example.net", "securityerror", False)]),
    ("x-filtered", X_FILTERED, [Expect("reader@example.net", "filtered", False)]),
    (
        "x-list-then-reason",
        X_LIST_THEN_REASON,
        [Expect("first@example.net", "userunknown", True), Expect("second@example.net", "userunknown", True)],
    ),
    (
        "x-transcript",
        X_TRANSCRIPT,
        [
            Expect("gone@example.net", "userunknown", True, strong=True),
            Expect("stuffed@example.net", "mailboxfull", False),
        ],
    ),
    ("x-null-mx-text", X_NULL_MX_TEXT, [Expect("nomail@nullmx.example", "notaccept", True)]),
    ("x-sendmail-expired", X_SENDMAIL_EXPIRED, [Expect("slow@example.net", "expired", False)]),
    ("x-system-dsn", X_SYSTEM_DSN, [Expect("reader@example.net", "systemerror", False)]),
    (
        "x-paren-reason",
        X_PAREN_REASON,
        [
            Expect("gone@gw10.example.org", "userunknown", True),
            Expect("stuffed@gw10.example.org", "mailboxfull", False),
        ],
    ),
    ("qmail-local-expired", QMAIL_LOCAL_EXPIRED, [Expect("reader@mx.example.org", "expired", False)]),
    ("x-system-not-accepting", X_SYSTEM_NOT_ACCEPTING, [Expect("reader@example.net", "systemerror", False)]),
    ("x-not-logged-in", X_NOT_LOGGED_IN, [Expect("reader@example.net", "securityerror", False)]),
    ("x-spam-notice", X_SPAM_NOTICE, [Expect("reader@example.net", "spamdetected", False)]),
    ("x-virus-notice", X_VIRUS_NOTICE, [Expect("reader@example.net", "virusdetected", False)]),
    ("x-greeting-521", X_GREETING_521, [Expect("info@parked.example", "notaccept", True)]),
    ("exchange2007-nxdomain", EXCHANGE_2007_NXDOMAIN, [Expect("reader@nowhere.example", "hostunknown", True)]),
    ("sun-messaging-bad-domain", SUN_MS_BAD_DOMAIN, [Expect("reader@bad_host.example", "hostunknown", True)]),
    ("x-qq-problem", X_QQ_PROBLEM, [Expect("reader@example.net", "systemerror", False)]),
    ("x-sentence-only", X_SENTENCE_ONLY, [Expect("reader@example.net", "mailboxfull", False)]),
    ("mfilter", MFILTER, [Expect("ghost@example.jp", "userunknown", True, strong=True)]),
    ("x-jis-undeclared", X_JIS_UNDECLARED, [Expect("full@example.jp", "mailboxfull", False)]),
    (
        "x-reason-then-list",
        X_REASON_THEN_LIST,
        [Expect("first@example.net", "mailboxfull", False), Expect("second@example.net", "mailboxfull", False)],
    ),
    (
        "x-header-and-sentence",
        X_HEADER_AND_SENTENCE,
        [Expect("gone@example.net", "userunknown", True, strong=True), Expect("away@example.org", "expired", False)],
    ),
    ("aol-mail-controls", AOL_MAIL_CONTROLS, [Expect("reader@aol.com", "filtered", False)]),
    ("x-japanese-labels", X_JAPANESE_LABELS, [Expect("full@example.jp", "mailboxfull", False)]),
    ("notes-r5", NOTES_R5, [Expect("jsmith@notes5.example.org", "userunknown", True)]),
]


@pytest.mark.parametrize(("raw", "expected"), [(raw, exp) for _id, raw, exp in CASES], ids=[c[0] for c in CASES])
def test_a_bounce_from_an_unseen_mta_family_reads_as_a_careful_human_would(raw, expected):
    assert_reads_as(raw, expected)


def test_the_held_out_samples_span_at_least_fifteen_families_and_the_weak_reasons():
    families = {case_id.split("-")[0] for case_id, _raw, _exp in CASES}
    reasons = {e.reason for _id, _raw, exp in CASES for e in exp}

    assert len(families) >= 15
    assert {
        "filtered",
        "userunknown",
        "systemerror",
        "spamdetected",
        "toomanyconn",
        "securityerror",
        "virusdetected",
        "hostunknown",
        "notaccept",
        "expired",
        "mailboxfull",
    } <= reasons


def test_no_held_out_bounce_is_left_on_hold():
    """`onhold` means 'nothing understood': every sample here says why it failed."""
    for _id, raw, _exp in CASES:
        assert all(v.reason not in ("onhold", "undefined") for v in classify_returned_message(raw).recipients), _id
