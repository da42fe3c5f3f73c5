"""Held-out bounces, round nine: the whole returned message as commercial MTAs, groupware and gateways
write it.

Each sample rebuilds a product's non-delivery report (headers, the human-readable layout, where the
recipient and the reason stand, multipart/report or not) from the product's own documentation, KB
article or a public example it shows; the URL is named in a comment above each builder and case.
Never from a bounce collection. The expected verdict was written from the meaning of the text and
RFC 3463 / RFC 5321 before the classifier was run on it (issue 13, round nine). The cases that failed
on main are listed in FAILED_ON_MAIN: 10 of the first 45 as first written (on 53d9059; 9 after one
expectation was corrected to an earlier round's label for the same code), 2 of the next 16 (1 after one
expectation was corrected to the registered meaning of its code), 3 of the next 10 (public examples of whole
reports, pastebin.com; 2 after one expectation was corrected to the project's reading of a stage-less reply),
2 of the last 6 (more public examples), each correction explained at the case;
those no fix has reached yet are marked xfail (strict).
"""

from __future__ import annotations

import pytest

from maildispatch.core.returned_mail import classify_returned_message
from tests.unit.held_out import Expect, assert_every_report_names_its_recipients, assert_reads_as, case_params

SENDER = "shop@example.com"


def _original(to: str, cc: str | None = None) -> str:
    cc_line = f"Cc: {cc}\n" if cc else ""
    return f"""\
Return-Path: <{SENDER}>
From: Shop <{SENDER}>
To: {to}
{cc_line}Subject: Your order
Date: Sat, 05 Dec 2026 09:00:00 +0000
Message-ID: <order-1@example.com>

Thank you for your order.
"""


# --- Exchange Server 2010 / 2013 / 2016 / 2019 on premises -----------------------------------------
# Layout: https://unifiedpeople.ru/exch2010help.en/html/8e91de84-76fa-49b2-898c-c5eface76560.htm
# (Exchange 2010 "NDR sections": a user information section, then "Diagnostic information for
# administrators" with "Generating server", each recipient and its diagnostic, then "Original message
# headers"); examples of the administrators' section as Exchange writes it:
# https://pastebin.com/W8X94bCW ("#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##"),
# https://pastebin.com/zeZFJvKs ("#550 4.4.7 QUEUE.Expired; message expired ##"),
# https://pastebin.com/bGW4Kdrz ("<host> (<ip>) #<<host> (<ip>) #5.1.1 smtp; 550 ...> #SMTP#"),
# https://pastebin.com/ZTwURw5w ("#< #5.5.0 SMTP; 554-ironport4.opentransfer.com> #SMTP#"),
# https://pastebin.com/gumwLXcs (Danish, Exchange 2013: "Remote Server returned '400 4.4.7 Message
# delayed'"), https://pastebin.com/iFpgpLWp (Polish, "Total retry attempts: 17").
# Exchange sends it as multipart/report with a message/delivery-status part (RFC 3464; the
# X-Display-Name field as https://www.velocityreviews.com/forums/t867866-xtra-email-failed-again.html
# quotes it).

EXCHANGE_USER_TEXT = {
    "unknown": (
        "The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and"
        " try to resend the message. If the problem continues, please contact your helpdesk."
    ),
    "full": (
        "The recipient's mailbox is full and can't accept messages now. Please try resending your message"
        " later, or contact the recipient directly."
    ),
    "expired": (
        "Microsoft Exchange has been trying to deliver this message without success and has stopped trying."
        " Please try sending this message again, or provide the following diagnostic text to your system"
        " administrator."
    ),
    "communication": (
        "A communication failure occurred during the delivery of this message. Microsoft Exchange will not try"
        " to redeliver this message for you. Please try resending this message later, or provide the following"
        " diagnostic text to your system administrator."
    ),
    "rejected": (
        "A problem occurred while delivering your message to this e-mail address. Try sending your message"
        " again. If the problem continues, please contact your helpdesk."
    ),
}


def exchange(
    recipients: list[tuple[str, str, str, str | None]],
    *,
    generating: str = "EX01.corp.example.org",
    headline: str = "Delivery has failed to these recipients or groups:",
    admin: str = "Diagnostic information for administrators:",
    generating_label: str = "Generating server:",
    headers_label: str = "Original message headers:",
    retry_line: str | None = None,
    dsn: bool = True,
) -> bytes:
    """recipients: (address, user text key, administrators' diagnostic line, DSN "Status|Diagnostic")."""
    user = "\n\n".join(f"{addr}\n{EXCHANGE_USER_TEXT[key]}" for addr, key, _diag, _d in recipients)
    admin_lines = "\n\n".join(f"{addr}\n{diag}" for addr, _key, diag, _d in recipients)
    retry = f"{retry_line}\n" if retry_line else ""
    to_header = ", ".join(addr for addr, *_ in recipients)
    text = f"""\
{headline}

{user}






{admin}

{generating_label} {generating}
{retry}
{admin_lines}

{headers_label}

Received: from EX01.corp.example.org (10.0.0.5) by EX01.corp.example.org (10.0.0.5)
 with Microsoft SMTP Server (TLS) id 15.0.1130.7; Sat, 5 Dec 2026 09:00:01 +0000
From: Shop <{SENDER}>
To: {to_header}
Subject: Your order
Date: Sat, 5 Dec 2026 09:00:00 +0000
Message-ID: <order-1@example.com>
"""
    groups = []
    for addr, _key, _diag, d in recipients:
        if d is None:
            continue
        status, diagnostic = d.split("|", 1)
        action = "delayed" if status.startswith("4") and "Will-Retry" in diagnostic else "failed"
        diagnostic = diagnostic.replace("Will-Retry", "").strip()
        groups.append(
            f"Final-Recipient: rfc822;{addr}\nAction: {action}\nStatus: {status}\n"
            + (f"Diagnostic-Code: smtp;{diagnostic}\n" if diagnostic else "")
            + "X-Display-Name: Reader\n"
        )
    if not dsn:
        return f"""\
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@corp.example.org>
To: {SENDER}
Subject: Undeliverable: Your order
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
Content-Type: text/plain; charset="us-ascii"

{text}""".encode()
    status_part = "Reporting-MTA: dns;EX01.corp.example.org\nReceived-From-MTA: dns;EX01.corp.example.org\n" + (
        "Arrival-Date: Sat, 5 Dec 2026 09:00:01 +0000\n\n" + "\n".join(groups)
    )
    return f"""\
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@corp.example.org>
To: {SENDER}
Subject: Undeliverable: Your order
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_ex2013ndr_"

--_000_ex2013ndr_
Content-Type: text/plain; charset="us-ascii"

{text}
--_000_ex2013ndr_
Content-Type: message/delivery-status

{status_part}
--_000_ex2013ndr_
Content-Type: text/rfc822-headers

Return-Path: <{SENDER}>
From: Shop <{SENDER}>
To: {to_header}
Subject: Your order
Message-ID: <order-1@example.com>

--_000_ex2013ndr_--
""".encode()


# --- Exchange Online's newer NDR ---------------------------------------------------------------------
# https://learn.microsoft.com/exchange/troubleshoot/email-delivery/ndr/non-delivery-reports-in-exchange-online
# ("What's included in an NDR?": "Your message to ... couldn't be delivered.", the "Action Required"
# banner, "How to Fix It", "More Info for Email Admins" with "Status code:", "Original Message Details",
# "Error Details" with "Reported error:", "DSN generated by:" and, when a remote server refused,
# "Remote server:", then "Message Hops"), and its table of codes (5.1.10 RecipientNotFound, 5.4.1
# "Recipient address rejected: Access denied" for directory-based edge blocking, 5.7.708, 5.7.133,
# 5.2.2 mailbox full, 4.4.7, 5.4.316).


def exchange_online(
    recipients: list[str],
    *,
    headline: str,
    banner: str,
    status_code: str,
    reported: str,
    remote: str | None = None,
    dsn: list[tuple[str, str, str]] | None = None,
) -> bytes:
    first = recipients[0]
    remote_line = f"Remote server:    {remote}\n" if remote else ""
    text = f"""\
Your message to {", ".join(recipients)} couldn't be delivered.

{headline}

shop    Office 365    {first.split("@")[0]}
Action Required                     {banner}


How to Fix It
Try to resend your message later. If the problem continues, contact the recipient by some other
means and let them know of the problem.

Was this helpful? Send feedback to Microsoft.
________________________________

More Info for Email Admins
Status code: {status_code}

Original Message Details
Created Date:    12/5/2026 9:00:00 AM
Sender Address:    {SENDER}
Recipient Address:    {", ".join(recipients)}
Subject:    Your order

Error Details
Reported error:    {reported}
DSN generated by:    AM0PR01MB1234.eurprd01.prod.exchangelabs.com
{remote_line}
Message Hops
HOP    TIME (UTC)    FROM    TO    WITH    RELAY TIME
1    12/5/2026 9:00:00 AM    AM0PR01MB1234.eurprd01.prod.exchangelabs.com    AM0PR01MB1234.eurprd01.prod.exchangelabs.com    mapi    *
"""
    groups = "\n".join(
        f"Final-Recipient: rfc822;{addr}\nAction: failed\nStatus: {status}\n"
        + (f"Diagnostic-Code: smtp;{diag}\n" if diag else "")
        + (f"Remote-MTA: dns;{remote}\n" if remote else "")
        for addr, status, diag in (dsn or [])
    )
    status_part = (
        f"""
--b_ndr_exo
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;AM0PR01MB5678.eurprd01.prod.exchangelabs.com
Arrival-Date: Sat, 5 Dec 2026 09:00:00 +0000

{groups}"""
        if dsn is not None
        else ""
    )
    return f"""\
From: Microsoft Outlook <postmaster@example.onmicrosoft.com>
To: {SENDER}
Subject: Undeliverable: Your order
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b_ndr_exo"

--b_ndr_exo
Content-Type: text/plain; charset="utf-8"

{text}{status_part}
--b_ndr_exo
Content-Type: message/rfc822

{_original(", ".join(recipients))}
--b_ndr_exo--
""".encode()


# --- Exchange Online Protection / FOPE's older NDR ---------------------------------------------------
# http://community.office365.com/en-us/w/exchange/bounce-messages.aspx ("Delivery has failed to these
# recipients or groups:" naming the recipient by display name only, the user-friendly explanation,
# "The following organization rejected your message: <host>.", then "Diagnostic information for
# administrators:", "Generating server: bigfish.com", the address, and
# "<host> #<<server> #5.7.1 smtp;530 5.7.1 Client was not authenticated> #SMTP#").


def fope(display: str, addr: str, explanation: str, rejecting: str, diagnostic: str) -> bytes:
    return f"""\
From: postmaster@bigfish.com
To: {SENDER}
Subject: Undeliverable: Your order
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

{display}
{explanation}
The following organization rejected your message: {rejecting}.







Diagnostic information for administrators:

Generating server: bigfish.com

{addr}
{rejecting} #{diagnostic} #SMTP#

Original message headers:

Received: from mail.example.com (10.1.1.1) by bigfish.com; Sat, 5 Dec 2026 09:00:01 +0000
From: Shop <{SENDER}>
To: {display} <{addr}>
Subject: Your order
Message-ID: <order-1@example.com>
""".encode()


# --- Exchange 2003 as Microsoft's own page shows it ---------------------------------------------------
# http://technet.microsoft.com/en-us/exchange/bb288511.aspx (Example 1: "Your message did not reach some
# or all of the intended recipients.", "The following recipient(s) could not be reached:", the address
# "on <date>", the explanation, then "<host #5.5.0 smtp;554 <addr>: Relay access denied>").


def exchange2003(addr: str, explanation: str, diagnostic: str) -> bytes:
    return f"""\
From: System Administrator <postmaster@corp.example.org>
To: {SENDER}
Subject: Undeliverable: Your order
Content-Type: text/plain; charset="us-ascii"

Your message did not reach some or all of the intended recipients.

      Subject:	Your order
      Sent:	12/5/2026 9:00 AM

The following recipient(s) could not be reached:

      {addr} on 12/5/2026 9:01 AM
            {explanation}
            {diagnostic}
""".encode()


# --- SmarterMail ---------------------------------------------------------------------------------------
# http://kb.indsoft.net/kb/a70/common-email-delivery-errors.aspx and
# http://support.rackteam.com/kb/a136/common-email-delivery-errors-you-may-receive.aspx ("Could not
# deliver message to the following recipient(s):", then "Failed Recipient: <addr>" and "Reason: ..." per
# recipient; the reasons "The mailbox is full", "The domain size limit has been exceeded", "Failed to
# connect to the recipients mail server. No MX records were found for the '<domain>' domain.", "Failed
# all attempts to connect ...", "Failed four Attempts to connect to recipients mail server").


def smartermail(entries: list[tuple[str, str]]) -> bytes:
    body = "\n\n".join(f"Failed Recipient: {addr}\nReason: {reason}" for addr, reason in entries)
    return f"""\
From: System Administrator <postmaster@mail.example.org>
To: {SENDER}
Subject: Undeliverable Mail
Content-Type: text/plain; charset="utf-8"

Could not deliver message to the following recipient(s):

{body}

-- The header and top 20 lines of the message follows --

{_original(entries[0][0])}""".encode()


# --- Symantec (Broadcom) Messaging Gateway ---------------------------------------------------------------
# https://knowledge.broadcom.com/external/article/157433/bounce-customization-in-messaging-gatewa.html
# ("Example NDR / bounce message generated by SMG": From "(Mail Delivery System)", Subject "Undelivered
# Mail Returned to Sender", "I'm sorry to have to inform you that your message could not be delivered
# to one or more recipients. It's attached below.", "For further assistance, please send mail to
# <postmaster>", then "<addr>: <reply>" per recipient).


def smg(lines: list[str], to: str) -> bytes:
    body = "\n\n".join(lines)
    return f"""\
Subject: Undelivered Mail Returned to Sender
Date: Sat, 05 Dec 2026 09:05:00 +0000
From: MAILER-DAEMON@smg.example.org (Mail Delivery System)
To: {SENDER}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="smg-bounce"

--smg-bounce
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to <postmaster>

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

{body}

--smg-bounce
Content-Type: message/rfc822

{_original(to)}
--smg-bounce--
""".encode()


# --- MailEnable ----------------------------------------------------------------------------------------
# https://www.mailenable.com/kb/content/article.asp?ID=ME020517 ("MailEnable: Message Delivery
# Failure.", "Reason: ME-E0193: [<id>.MAI] Message Delivery Failure.", "Your message addressed to the
# target domain (<domain>) could not be delivered because the mail server responsible for this domain
# returned a permanent error.", "The server returned:" and the reply): the report names the domain, not
# the recipient; the returned original (attached) names who it was for.


def mailenable(domain: str, reply: str, to: str, cc: str | None = None) -> bytes:
    return f"""\
From: Postmaster <postmaster@mail.example.org>
To: {SENDER}
Subject: Message Delivery Failure
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="me-ndr"

--me-ndr
Content-Type: text/plain; charset=us-ascii

MailEnable: Message Delivery Failure.

Reason: ME-E0193: [6F3A2B1C4D5E4F60A1B2C3D4E5F60718.MAI] Message Delivery Failure.

Your message addressed to the target domain ({domain}) could not be delivered because the mail server
responsible for this domain returned a permanent error.

The server returned:

{reply}

--me-ndr
Content-Type: message/rfc822

{_original(to, cc)}
--me-ndr--
""".encode()


# --- cPanel's Exim -------------------------------------------------------------------------------------
# https://billing.chillidoghosting.com/knowledgebase/187/What-does-Max-Defers-Failure-mean.html (the
# Exim bounce cPanel servers send when the sending domain's hourly share of deferred and failed mail is
# exceeded: "Domain '<domain>' has exceeded the max defers and failures per hour (10/10 (100%))
# allowed. Message discarded." with a delivery-status part, Status 5.0.0), and
# http://www.nexlan.com/emailreturned.htm (Scenario 1: "Mail delivery failed: returning message to
# sender", "<addr>\n  mailbox is full").


def cpanel_exim(addr: str, reason: str, *, dsn_status: str | None = None) -> bytes:
    dsn = (
        f"""
--cp-bounce
Content-Type: message/delivery-status

Reporting-MTA: dns; server.example.org

Action: failed
Final-Recipient: rfc822;{addr}
Status: {dsn_status}
"""
        if dsn_status
        else ""
    )
    return f"""\
From: Mail Delivery System <Mailer-Daemon@server.example.org>
To: {SENDER}
Subject: Mail delivery failed: returning message to sender
Auto-Submitted: auto-replied
X-Failed-Recipients: {addr}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="cp-bounce"

--cp-bounce
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {addr}
    {reason}
{dsn}
--cp-bounce
Content-Type: message/rfc822

{_original(addr)}
--cp-bounce--
""".encode()


# --- Yahoo's "failure notice" ---------------------------------------------------------------------------
# https://help.yahoo.com/kb/mail-for-desktop/sln3275.html ("Example failure notice": "Hi. This is the
# qmail-send program at ...", "<addr>:", "<ip> failed after I sent the message.", "Remote host said:
# 554 delivery error: dd This user doesn't have a ... account (<addr>) [-5] - <host>", "--- Below this
# line is a copy of the message.").


def yahoo(addr: str, lines: str) -> bytes:
    return f"""\
From: MAILER-DAEMON@yahoo.com
To: {SENDER}
Subject: failure notice

Hi. This is the qmail-send program at nm12.bullet.mail.ne1.yahoo.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{addr}>:
{lines}

--- Below this line is a copy of the message.

{_original(addr)}""".encode()


# --- Cisco Secure Email (IronPort AsyncOS) --------------------------------------------------------------
# https://manualsbrain.com/pt/manuals/1716227/?page=654 (AsyncOS 9.1 User Guide, "Delivery Status
# Notification Format": bounces are RFC 3464 DSNs with the original attached) and
# http://manualsbrain.com/ko/manuals/1602497/?page=194 (the bounce reasons and responses as AsyncOS
# states them: "5.1.0 - Unknown address error" with the reply "('550', ['There is no such active
# account.'])", a soft bounce "4.1.0 - Unknown address error" with "451 ... Automated block triggered by
# suspicious activity from your IP address", "5.1.2 - Bad destination host").


def ironport(addr: str, action: str, status: str, diagnostic: str) -> bytes:
    # the failure notice's text part as an AsyncOS appliance writes it (https://pastebin.com/qq0DkJ3y: "The
    # following message to <a> was undeliverable. / The reason for the problem: / 5.x.0 - Message bounced by
    # administrator"); the delay notice's words are not shown anywhere public, so a plain sentence stands in
    notice = (
        f"Delivery to the following recipient has been delayed.\n\n    {addr}\n"
        if action == "delayed"
        else f"The following message to <{addr}> was undeliverable.\nThe reason for the problem:\n{diagnostic}\n"
    )
    return f"""\
From: Mail Delivery System <MAILER-DAEMON@esa1.example.org>
To: {SENDER}
Subject: {"Delivery Status Notification (Delay)" if action == "delayed" else "Delivery Status Notification (Failure)"}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="esa-dsn"

--esa-dsn
Content-Type: text/plain

{notice}

--esa-dsn
Content-Type: message/delivery-status

Reporting-MTA: dns; esa1.example.org

Final-Recipient: rfc822; {addr}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--esa-dsn
Content-Type: text/rfc822-headers

Return-Path: <{SENDER}>
From: Shop <{SENDER}>
To: {addr}
Subject: Your order
Message-ID: <order-1@example.com>

--esa-dsn--
""".encode()


# --- Exchange / Outlook "Delivery Status Notification (Delay)" ------------------------------------------
# https://www.velocityreviews.com/forums/t867866-xtra-email-failed-again.html quotes it whole: "This is
# an automatically generated Delivery Status Notification. THIS IS A WARNING MESSAGE ONLY. YOU DO NOT
# NEED TO RESEND YOUR MESSAGE. Delivery to the following recipients has been delayed." with Action:
# delayed, Status: 4.4.7, Will-Retry-Until, X-Display-Name.


def exchange_delay(addr: str) -> bytes:
    return f"""\
From: postmaster@corp.example.org
To: {SENDER}
Subject: Delivery Status Notification (Delay)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-delay"

--dsn-delay
Content-Type: text/plain; charset=unicode-1-1-utf-7

This is an automatically generated Delivery Status Notification.

THIS IS A WARNING MESSAGE ONLY.

YOU DO NOT NEED TO RESEND YOUR MESSAGE.

Delivery to the following recipients has been delayed.

       {addr}

--dsn-delay
Content-Type: message/delivery-status

Reporting-MTA: dns;corp.example.org
Received-From-MTA: dns;ws01
Arrival-Date: Sat, 5 Dec 2026 09:00:00 +1300

Final-Recipient: rfc822;{addr}
Action: delayed
Status: 4.4.7
Will-Retry-Until: Sun, 6 Dec 2026 09:00:00 +1300
X-Display-Name: Reader

--dsn-delay
Content-Type: text/rfc822-headers

From: Shop <{SENDER}>
To: {addr}
Subject: Your order

--dsn-delay--
""".encode()


# --- Gmail / Google Workspace: "Address not found" ---------------------------------------------------------
# https://fone.tips/address-not-found-gmail/ (the bounce comes from "Mail Delivery Subsystem"; "Your message
# wasn't delivered because the address couldn't be found, or is unable to receive email"), Google's SMTP error
# reference https://support.google.com/a/answer/3726730 for the replies; the layout ("** Address not found **",
# "Your message wasn't delivered to <a> because ...", "The response from the remote server was:" and the reply)
# with its delivery-status part.


def gmail(addr: str, reply: str, *, dsn: bool = True) -> bytes:
    status = reply.split()[1] if len(reply.split()) > 1 and reply.split()[1][0].isdigit() else "5.0.0"
    part = (
        f"""
--gm-dsn
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; shop@example.com
Arrival-Date: Sat, 05 Dec 2026 01:00:00 -0800 (PST)

Final-Recipient: rfc822; {addr}
Action: failed
Status: {status}
Remote-MTA: dns; mx.example.net. (192.0.2.25, the server for the domain example.net.)
Diagnostic-Code: smtp; {reply}
Last-Attempt-Date: Sat, 05 Dec 2026 01:00:01 -0800 (PST)
"""
        if dsn
        else ""
    )
    return f"""\
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {SENDER}
Subject: Delivery Status Notification (Failure)
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; boundary="gm-dsn"; report-type=delivery-status

--gm-dsn
Content-Type: text/plain; charset="UTF-8"


** Address not found **

Your message wasn't delivered to {addr} because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.google.com/mail/?p=NoSuchUser

The response from the remote server was:
{reply}
{part}
--gm-dsn
Content-Type: message/rfc822

{_original(addr)}
--gm-dsn--
""".encode()


# --- AOL's returned mail -------------------------------------------------------------------------------------
# http://help.aol.com/help/microsites/search.do?cmd=displayKC&docType=kc&externalId=73062 ("Here's an example
# of a returned email": "----- Transcript of session follows -----", "... while talking to air29.mail.aol.com.:",
# ">>> RCPT To:<...@aol.com>", "<<< 550 Mailbox not found", "550 <...@aol.com>... User unknown").


def aol_transcript(addr: str, reply: str, final: str) -> bytes:
    return f"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@aol.com>
To: {SENDER}
Subject: Returned mail: User unknown

The original message was received at Sat, 5 Dec 2026 04:00:00 -0500 (EST)
from mail.example.com [192.0.2.1]

   ----- The following addresses had permanent fatal errors -----
<{addr}>

   ----- Transcript of session follows -----
... while talking to air29.mail.aol.com.:
>>> RCPT To:<{addr}>
<<< {reply}
{final}

   ----- Original message follows -----

{_original(addr)}""".encode()


# --- an ISP relay's "Delivery failed N attempts" report -----------------------------------------------------------
# http://www.webpan.com/Customers/bounces.htm ("If you are blocked, your bounce-back message(s) will look
# something like this: Delivery failed 2 attempts: <addr> / Body of message generated response: / 421-:
# (DYN:T1) / http://postmaster.info.aol.com/errors/421dynt1.html / 421 SERVICE NOT AVAILABLE").


def delivery_failed_attempts(addr: str, response: str) -> bytes:
    return f"""\
From: postmaster@mail.example.com
To: {SENDER}
Subject: Undeliverable mail

Delivery failed 2 attempts: {addr}
Body of message generated response:
{response}

{_original(addr)}""".encode()


# --- public examples of whole reports (pastebin.com), each product's layout as it arrived ------------------
# HCL/Lotus Domino's Delivery Failure Report, its two-column table flattened to text by the forwarding client,
# relaying a Cisco AsyncOS reason (https://pastebin.com/ESqDdi4N): "Delivery Failure Report / Your <subject>
# message: ... / was not <address> / delivered / to: / because: 5.1.2 - Bad destination host 'DNS Hard Error
# looking up <domain> (A): domain has no A record' (delivery attempts: 0) / What should you do?"


def domino_table(addr: str, because: str) -> bytes:
    return f"""\
From: Postmaster@hub.example.org
To: {SENDER}
Subject: DELIVERY FAILURE: 5.1.2 - Bad destination host
Content-Type: text/plain; charset="US-ASCII"

Delivery Failure Report

Your                  Your order
message:

was not               {addr}
delivered
to:

because:              {because}

What should you do?
You can resend the undeliverable document to the recipients listed above
by choosing the Resend button or the Resend command on the Actions menu.
Once you have resent the document you may delete this Delivery Failure
Report.
If resending the document is not successful you will receive a new
failure report.
Unless you receive other Delivery Failure Reports, the document was
successfully delivered to all other recipients.

Routing path:         HUB-01/ORG, MAIL-01/ORG

To: {addr}
Subject: Your order
""".encode()


# Halon's gateway at one.com (https://pastebin.com/hBABeMZD and https://pastebin.com/S0ay8vQY): From
# "Postmaster", Subject "Undeliverable: ...", "This is the mail system at host ...", then "<a> failed: <domain>:"
# (or "<domain>->MX:") and the reply on the next line.


def halon(addr: str, where: str, reply: str) -> bytes:
    return f"""\
From: Postmaster <support@one.example>
To: {SENDER}
Subject: Undeliverable: Your order
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="halon-1c52f63d"

This is a multipart message in MIME format.

--halon-1c52f63d
Content-Description: Delivery Status Notification
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 7bit

This is the mail system at host mailout2-4.pub.mailoutpod1-cph3.one.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{addr}> failed: {where}:
{reply}

--halon-1c52f63d
Content-Type: message/rfc822

{_original(addr)}
--halon-1c52f63d--
""".encode()


# Gmail's older text-only report (https://pastebin.com/hkN3juHZ): "Delivery to the following recipient failed
# permanently:", the address, "Technical details of permanent failure:", "Google tried to deliver your message,
# but it was rejected by the recipient domain. ... The error that the other server returned was: <reply>",
# X-Failed-Recipients.


def gmail_old(addr: str, reply: str) -> bytes:
    return f"""\
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {SENDER}
X-Failed-Recipients: {addr}
Subject: Delivery Status Notification (Failure)
Content-Type: text/plain; charset=ISO-8859-1

Delivery to the following recipient failed permanently:

     {addr}

Technical details of permanent failure:
Google tried to deliver your message, but it was rejected by the recipient domain. We recommend contacting the
other email provider for further information about the cause of this error. The error that the other server
returned was: {reply}

   ----- Original message -----

{_original(addr)}""".encode()


# 1&1 / IONOS's relay (https://pastebin.com/8MufPjWC, https://pastebin.com/b1KzxmL8): "This message was created
# automatically by mail delivery software. ... The following address(es) failed:", "<a>", "Reason:", the reason,
# "--- The header of the original message is following. ---".


def ionos(addr: str, reason: str) -> bytes:
    return f"""\
From: Mail Delivery System <mailer-daemon@kundenserver.example>
To: {SENDER}
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of
its recipients. This is a permanent error. The following address(es)
failed:

<{addr}>
Reason:
{reason}

--- The header of the original message is following. ---

{_original(addr)}""".encode()


# the University of Michigan's simta (https://pastebin.com/Q30LNfM0): Subject "undeliverable mail", the body
# "address not found: <a>" then "Bounced message headers:".


def simta(addr: str) -> bytes:
    return f"""\
From: <mailer-daemon@bonecollector.mr.example.edu>
To: {SENDER}
Subject: undeliverable mail

address not found: {addr}

Bounced message headers:
{_original(addr)}""".encode()


# cPanel's Exim as public examples show it: several recipients with their own reason and X-Failed-Recipients
# listing them (https://pastebin.com/aPiqweXT, "retry time not reached for any host after a long failure
# period"); an alias's target with "(ultimately generated from <a>)" and cPanel's "No Such User Here"
# (https://pastebin.com/X1PXgQDZ); Exim quoting Mimecast's "550 csi.mimecast.org Poor Reputation Sender."
# (https://pastebin.com/A5BgtgEm).


def exim_plain(failed: list[str], body: str) -> bytes:
    return f"""\
From: Mail Delivery System <Mailer-Daemon@cp-39.webhost.example>
To: {SENDER}
Subject: Mail delivery failed: returning message to sender
Auto-Submitted: auto-replied
X-Failed-Recipients: {", ".join(failed)}

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

{body}

------ This is a copy of the message, including all the headers. ------

{_original(failed[0])}""".encode()


# MDaemon's permanent failure notice (https://gitlab.com/stavros/Spamnesty/issues/100: "The attached message had
# PERMANENT fatal delivery errors. / After one or more unsuccessful delivery attempts the attached message has been
# removed from the MDaemon mail queue on this server. ... / YOUR MESSAGE WAS NOT DELIVERED TO ONE OR MORE RECIPIENTS
# / Failed address: <a>"); the session transcript it may add is not shown there, so none is written.


def mdaemon(addr: str) -> bytes:
    return f"""\
From: MDaemon@mail.example.org
To: {SENDER}
Subject: Permanent Delivery Failure
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="md-ndr"

--md-ndr
Content-Type: text/plain; charset=us-ascii

The attached message had PERMANENT fatal delivery errors.

After one or more unsuccessful delivery attempts the attached message has been removed from the MDaemon mail
queue on this server. The number and frequency of delivery attempts are determined by local configuration.


YOUR MESSAGE WAS NOT DELIVERED TO ONE OR MORE RECIPIENTS

Failed address: {addr}

--md-ndr
Content-Type: message/rfc822

{_original(addr)}
--md-ndr--
""".encode()


# Exchange (2007-2016, Exchange Online's classic form) with the recipient as "a@b<mailto:a@b>" and the user text
# below it, the administrators' section after "Sent by Microsoft Exchange Server" (https://pastebin.com/WcW417md,
# a full mailbox; https://pastebin.com/jXWmz90k, "550 5.7.103 UserMailboxSentItemsAgent; Sent items copy failed
# due to a permanent error").


def exchange_mailto(addr: str, user_text: str, diagnostic: str) -> bytes:
    return f"""\
From: <postmaster@interfile.example.co.za>
To: {SENDER}
Subject: Undeliverable: Your order
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or distribution lists:

{addr}<mailto:{addr}>
{user_text}

________________________________
Sent by Microsoft Exchange Server





Diagnostic information for administrators:

Generating server: EXCH01.interfile.example.co.za

{addr}
{diagnostic}

Original message headers:

From: Shop <{SENDER}>
To: <{addr}>
Subject: Your order
""".encode()


CASES: list[tuple[str, bytes, list[Expect]]] = [
    # --- Exchange on premises --------------------------------------------------------------------------
    (
        "exchange2013-recipnotfound",
        exchange(
            [
                (
                    "cs@corp.example.org",
                    "unknown",
                    "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##",
                    "5.1.1|550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
                )
            ]
        ),
        [Expect("cs@corp.example.org", "userunknown", True, True)],
    ),
    (
        "exchange2013-recipnotfound-text-only",
        exchange(
            [("cs@corp.example.org", "unknown", "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", None)],
            dsn=False,
        ),
        [Expect("cs@corp.example.org", "userunknown", True, True)],
    ),
    # pastebin.com/zeZFJvKs: the queue gave up; a temporary condition that ran out of time.
    (
        "exchange2010-queue-expired",
        exchange(
            [
                (
                    "rsme@example.net",
                    "expired",
                    "#550 4.4.7 QUEUE.Expired; message expired ##",
                    "5.4.7|550 4.4.7 QUEUE.Expired; message expired",
                )
            ]
        ),
        [Expect("rsme@example.net", "expired", False)],
    ),
    (
        "exchange2010-queue-expired-text-only",
        exchange([("rsme@example.net", "expired", "#550 4.4.7 QUEUE.Expired; message expired ##", None)], dsn=False),
        [Expect("rsme@example.net", "expired", False)],
    ),
    # pastebin.com/bGW4Kdrz: Exchange's own X.1.1 around a remote "550" whose words say nothing; the
    # 5.1.1 is the relay's reading of a bare 550, so hard but never suppressible at once.
    (
        "exchange2010-remote-550-opaque",
        exchange(
            [
                (
                    "a@remote.example.net",
                    "unknown",
                    "mail.remote.example.net (192.0.2.123) #<mail.remote.example.net (192.0.2.123) #5.1.1 smtp;"
                    " 550 MIKEG FOUND lv2> #SMTP#",
                    None,
                )
            ],
            dsn=False,
        ),
        [Expect("a@remote.example.net", "userunknown", True, False)],
    ),
    # pastebin.com/ZTwURw5w: the remote greeting refused the connection ("554-<host>" is the first line
    # of a multi-line 554 greeting, RFC 5321 4.3.1): the sending host is refused, not the recipient.
    (
        "exchange2010-greeting-554",
        exchange(
            [("bob@remote.example.net", "communication", "#< #5.5.0 SMTP; 554-ironport4.example.net> #SMTP#", None)],
            dsn=False,
        ),
        [Expect("bob@remote.example.net", "blocked", False)],
    ),
    # pastebin.com/gumwLXcs: Danish Exchange 2013, the final NDR after the message stayed delayed.
    (
        "exchange2013-danish-remote-delayed-expired",
        exchange(
            [("kim@studio.example.net", "expired", "Remote Server returned '400 4.4.7 Message delayed'", None)],
            headline="Levering til disse modtagere eller grupper mislykkedes:",
            admin="Diagnosticeringsoplysninger for administratorer:",
            generating_label="Genererende server:",
            headers_label="Oprindelige brevhoveder:",
            dsn=False,
        ),
        [Expect("kim@studio.example.net", "expired", False)],
    ),
    # pastebin.com/iFpgpLWp: Polish, with "Total retry attempts".
    (
        "exchange2013-polish-total-retry",
        exchange(
            [("kamil@dbfr.example.net", "expired", "Remote Server returned '400 4.4.7 Message delayed'", None)],
            headline="Dostarczenie do tych adresatów lub grup nie powiodło się:",
            admin="Informacje diagnostyczne dla administratorów:",
            generating_label="Generowanie serwera:",
            headers_label="Oryginalne nagłówki wiadomości:",
            retry_line="Total retry attempts: 17",
            dsn=False,
        ),
        [Expect("kamil@dbfr.example.net", "expired", False)],
    ),
    # Remote Server returned a remote refusal quoted whole (the form Exchange 2013+ writes).
    (
        "exchange2016-remote-user-unknown",
        exchange(
            [
                (
                    "gone@remote.example.net",
                    "unknown",
                    "Remote Server returned '550 5.1.1 <gone@remote.example.net>: Recipient address rejected: User"
                    " unknown in virtual mailbox table'",
                    "5.1.1|550 5.1.1 <gone@remote.example.net>: Recipient address rejected: User unknown in virtual"
                    " mailbox table",
                )
            ]
        ),
        [Expect("gone@remote.example.net", "userunknown", True, True)],
    ),
    (
        "exchange2016-remote-user-unknown-text-only",
        exchange(
            [
                (
                    "gone@remote.example.net",
                    "unknown",
                    "Remote Server returned '550 5.1.1 <gone@remote.example.net>: Recipient address rejected: User"
                    " unknown in virtual mailbox table'",
                    None,
                )
            ],
            dsn=False,
        ),
        [Expect("gone@remote.example.net", "userunknown", True, True)],
    ),
    # Two recipients with their own reasons in one report: one unknown, one full mailbox
    # (Exchange's STOREDRV.Deliver quota text, Exchange Online NDR reference "5.2.2 mailbox full").
    (
        "exchange2013-two-recipients",
        exchange(
            [
                (
                    "old@corp.example.org",
                    "unknown",
                    "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##",
                    "5.1.1|550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
                ),
                (
                    "busy@corp.example.org",
                    "full",
                    "#554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded ##",
                    "5.2.2|554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
                ),
            ]
        ),
        [
            Expect("old@corp.example.org", "userunknown", True, True),
            Expect("busy@corp.example.org", "mailboxfull", False),
        ],
    ),
    (
        "exchange2013-two-recipients-text-only",
        exchange(
            [
                ("old@corp.example.org", "unknown", "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", None),
                (
                    "busy@corp.example.org",
                    "full",
                    "#554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded ##",
                    None,
                ),
            ],
            dsn=False,
        ),
        [
            Expect("old@corp.example.org", "userunknown", True, True),
            Expect("busy@corp.example.org", "mailboxfull", False),
        ],
    ),
    # A remote relay refusal quoted by Exchange 2013: not the recipient's fault.
    (
        "exchange2013-remote-relay-denied",
        exchange(
            [
                (
                    "partner@remote.example.net",
                    "rejected",
                    "Remote Server returned '550 5.7.1 Unable to relay'",
                    "5.7.1|550 5.7.1 Unable to relay",
                )
            ]
        ),
        [Expect("partner@remote.example.net", "norelaying", False)],
    ),
    # Exchange's delay warning (a warning, not a failure): no verdict that fails anyone.
    (
        "exchange-delay-warning",
        exchange_delay("reader@xtra.example.net"),
        [Expect("reader@xtra.example.net", "expired", False)],
    ),
    # --- Exchange Online's newer NDR --------------------------------------------------------------------
    (
        "exo-recipient-not-found",
        exchange_online(
            ["ana@contoso.example"],
            headline="ana wasn't found at contoso.example.",
            banner="Recipient\n\nUnknown To address",
            status_code="550 5.1.10",
            reported="550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
            dsn=[
                (
                    "ana@contoso.example",
                    "5.1.10",
                    "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
                )
            ],
        ),
        [Expect("ana@contoso.example", "userunknown", True, True)],
    ),
    (
        "exo-recipient-not-found-no-dsn",
        exchange_online(
            ["ana@contoso.example"],
            headline="ana wasn't found at contoso.example.",
            banner="Recipient\n\nUnknown To address",
            status_code="550 5.1.10",
            reported="550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        ),
        [Expect("ana@contoso.example", "userunknown", True, True)],
    ),
    # A remote server's refusal relayed: "Remote server:" names it.
    (
        "exo-remote-user-unknown-no-dsn",
        exchange_online(
            ["joe@fabrikam.example"],
            headline="The email address couldn't be found at fabrikam.example.",
            banner="Recipient",
            status_code="550 5.1.1",
            reported="550 5.1.1 <joe@fabrikam.example>: Recipient address rejected: User unknown in local recipient table",
            remote="mx.fabrikam.example",
        ),
        [Expect("joe@fabrikam.example", "userunknown", True, True)],
    ),
    # 5.4.1 "Recipient address rejected: Access denied" (directory-based edge blocking): the reference
    # says the address does not exist in the tenant; loose words, so hard but weak.
    (
        "exo-dbeb-access-denied",
        exchange_online(
            ["nobody@contoso.example"],
            headline="Your message couldn't be delivered to the recipient because the recipient's address wasn't found.",
            banner="Recipient",
            status_code="550 5.4.1",
            reported="550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]",
            dsn=[
                (
                    "nobody@contoso.example",
                    "5.4.1",
                    "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
                )
            ],
        ),
        [Expect("nobody@contoso.example", "userunknown", True, False)],
    ),
    # 5.7.708: our sending IP is refused.
    (
        "exo-traffic-not-accepted-from-ip",
        exchange_online(
            ["ana@contoso.example"],
            headline="Your message wasn't delivered because the recipient's email provider rejected it.",
            banner="Office 365",
            status_code="550 5.7.708",
            reported="550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.",
            dsn=[
                (
                    "ana@contoso.example",
                    "5.7.708",
                    "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.",
                )
            ],
        ),
        [Expect("ana@contoso.example", "blocked", False)],
    ),
    # 5.7.133: a group that accepts only authenticated (internal) senders refuses us. First expected
    # `rejected` (a refusal of who may send); corrected after the first run to round three's reading of the
    # same Exchange Online code (test_returned_provider_codes.py takes securityerror or filtered), which main
    # already gives: "authentication required" is what the reply says.
    (
        "exo-group-sender-not-authenticated",
        exchange_online(
            ["allstaff@contoso.example"],
            headline="Your message couldn't be delivered because delivery to this group is restricted to authenticated senders.",
            banner="Recipient",
            status_code="550 5.7.133",
            reported="550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; Delivery restriction check failed as sender not authenticated",
            dsn=[
                (
                    "allstaff@contoso.example",
                    "5.7.133",
                    "550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required",
                )
            ],
        ),
        [Expect("allstaff@contoso.example", "securityerror", False)],
    ),
    # Two recipients, one reason stated once (mailbox full) for both.
    (
        "exo-two-recipients-mailbox-full",
        exchange_online(
            ["ana@contoso.example", "ben@contoso.example"],
            headline="The recipient's mailbox is full and can't accept messages now.",
            banner="Recipient",
            status_code="554 5.2.2",
            reported="554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
            dsn=[
                (
                    "ana@contoso.example",
                    "5.2.2",
                    "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException",
                ),
                (
                    "ben@contoso.example",
                    "5.2.2",
                    "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException",
                ),
            ],
        ),
        [Expect("ana@contoso.example", "mailboxfull", False), Expect("ben@contoso.example", "mailboxfull", False)],
    ),
    # 5.4.316: the remote host refused the connection until the message expired.
    (
        "exo-connection-refused-expired",
        exchange_online(
            ["ana@fabrikam.example"],
            headline="Office 365 tried to deliver your message for 2 days but the recipient's email server kept refusing the connection.",
            banner="Recipient's email server",
            status_code="550 5.4.316",
            reported="550 5.4.316 Message expired, connection refused(Socket error code 10061)",
            dsn=[
                (
                    "ana@fabrikam.example",
                    "5.4.316",
                    "550 5.4.316 Message expired, connection refused(Socket error code 10061)",
                )
            ],
        ),
        [Expect("ana@fabrikam.example", "expired", False)],
    ),
    # https://sistemitec.com/message-wasnt-delivered-because-the-recipients-email-provider-rejected-it/
    # quotes Exchange's "550 5.7.0 Proxy session setup failed on Frontend with '554 5.4.4
    # SMTPSEND.DNS.NonExistentDomain; nonexistent domain'": the recipient's domain does not exist.
    (
        "exchange-proxy-nonexistent-domain",
        exchange(
            [
                (
                    "ana@fabrikam-typo.example",
                    "rejected",
                    "Remote Server returned '550 5.7.0 Proxy session setup failed on Frontend with '554 5.4.4"
                    " SMTPSEND.DNS.NonExistentDomain; nonexistent domain''",
                    None,
                )
            ],
            dsn=False,
        ),
        [Expect("ana@fabrikam-typo.example", "hostunknown", True)],
    ),
    # the same page: "5.7.0 x-unix; maildrop: maildir over quota" relayed by Exchange.
    (
        "exchange-relayed-maildrop-over-quota",
        exchange(
            [
                (
                    "ana@pop.example.net",
                    "rejected",
                    "Remote Server returned '5.7.0 x-unix; maildrop: maildir over quota'",
                    None,
                )
            ],
            dsn=False,
        ),
        [Expect("ana@pop.example.net", "mailboxfull", False)],
    ),
    # --- FOPE / EOP's older NDR (display name only in the user section) ------------------------------------
    (
        "fope-client-not-authenticated",
        fope(
            "Joe Smith",
            "joepremise@contoso.example",
            "Your message wasn't delivered due to a permission or security issue. It may have been rejected by a"
            " moderator, the address may only accept email from certain senders, or another restriction may be"
            " preventing delivery.",
            "mail.contoso.example",
            "<exchange.contoso.example #5.7.1 smtp;530 5.7.1 Client was not authenticated>",
        ),
        [Expect("joepremise@contoso.example", "securityerror", False)],
    ),
    (
        "fope-remote-user-unknown",
        fope(
            "Joe Smith",
            "joe@contoso.example",
            "The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try"
            " to resend the message.",
            "mail.contoso.example",
            "<mail.contoso.example #5.1.1 smtp;550 5.1.1 <joe@contoso.example>: Recipient address rejected: User"
            " unknown in local recipient table>",
        ),
        [Expect("joe@contoso.example", "userunknown", True, True)],
    ),
    # --- Exchange 2003 as Microsoft's page shows it --------------------------------------------------------
    (
        "exchange2003-relay-access-denied",
        exchange2003(
            "partner@remote.example.net",
            "There was a SMTP communication problem with the recipient's email server.  Please contact your"
            " system administrator.",
            "<mx.remote.example.net #5.5.0 smtp;554 <partner@remote.example.net>: Relay access denied>",
        ),
        [Expect("partner@remote.example.net", "norelaying", False)],
    ),
    # --- SmarterMail ---------------------------------------------------------------------------------------
    (
        "smartermail-mailbox-full",
        smartermail([("user@example-domain.net", "The mailbox is full")]),
        [Expect("user@example-domain.net", "mailboxfull", False)],
    ),
    (
        "smartermail-domain-size-limit",
        smartermail([("user@example-domain.net", "The domain size limit has been exceeded")]),
        [Expect("user@example-domain.net", "mailboxfull", False)],
    ),
    (
        "smartermail-no-mx",
        smartermail(
            [
                (
                    "user@example-domain.net",
                    "Failed to connect to the recipients mail server. No MX records were found for the"
                    " 'example-domain.net' domain.",
                )
            ]
        ),
        [Expect("user@example-domain.net", "hostunknown", True)],
    ),
    (
        "smartermail-failed-attempts",
        smartermail(
            [
                (
                    "user@example-domain.net",
                    "Failed all attempts to connect to the recipients mail server.\nAttempted to send the message to"
                    " the following ip's: 192.0.2.10",
                )
            ]
        ),
        [Expect("user@example-domain.net", "expired", False)],
    ),
    (
        "smartermail-four-attempts",
        smartermail([("user@example-domain.net", "Failed four Attempts to connect to recipients mail server")]),
        [Expect("user@example-domain.net", "expired", False)],
    ),
    # Several recipients, each with its reason; the remote reply quoted after "Reason:".
    (
        "smartermail-three-recipients",
        smartermail(
            [
                ("a@example-domain.net", "The mailbox is full"),
                ("b@example-domain.net", "Remote host said: 550 5.1.1 <b@example-domain.net>... User unknown"),
                ("c@example-domain.net", "Remote host said: 554 5.7.1 Message rejected as spam by Content Filtering."),
            ]
        ),
        [
            Expect("a@example-domain.net", "mailboxfull", False),
            Expect("b@example-domain.net", "userunknown", True, True),
            Expect("c@example-domain.net", "spamdetected", False),
        ],
    ),
    # --- Symantec Messaging Gateway --------------------------------------------------------------------------
    (
        "smg-user-unknown",
        smg(
            [
                "<reader@example.net>: 550 5.1.1 <reader@example.net>: Recipient address rejected: User unknown in"
                " local recipient table"
            ],
            "reader@example.net",
        ),
        [Expect("reader@example.net", "userunknown", True, True)],
    ),
    (
        "smg-two-recipients",
        smg(
            [
                "<a@example.net>: 552 5.2.2 <a@example.net>: Mailbox full",
                "<b@example.net>: 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
            ],
            "a@example.net",
        ),
        [Expect("a@example.net", "mailboxfull", False), Expect("b@example.net", "blocked", False)],
    ),
    (
        "smg-host-not-found",
        smg(
            [
                "<reader@nonexistent.example>: Host or domain name not found. Name service error for name=nonexistent.example type=A: Host not found"
            ],
            "reader@nonexistent.example",
        ),
        [Expect("reader@nonexistent.example", "hostunknown", True)],
    ),
    # --- MailEnable (the domain named, the recipient only in the returned original) ---------------------------
    (
        "mailenable-poor-reputation",
        mailenable(
            "example.com.au",
            "554-mail.example.com.au 554 Your access to this mail system has been rejected due to the sending MTA's"
            " poor reputation. If you believe that this failure is in error, please contact the intended recipient"
            " via alternate means.",
            "reader@example.com.au",
        ),
        [Expect("reader@example.com.au", "badreputation", False)],
    ),
    # the reason stated once for two recipients of the same domain (To and Cc of the original)
    (
        "mailenable-poor-reputation-two-recipients",
        mailenable(
            "example.com.au",
            "554-mail.example.com.au 554 Your access to this mail system has been rejected due to the sending MTA's"
            " poor reputation. If you believe that this failure is in error, please contact the intended recipient"
            " via alternate means.",
            "reader@example.com.au",
            "boss@example.com.au",
        ),
        [
            Expect("reader@example.com.au", "badreputation", False),
            Expect("boss@example.com.au", "badreputation", False),
        ],
    ),
    # --- cPanel's Exim ---------------------------------------------------------------------------------------
    # the sending domain is held back by its own host for its failure rate: nothing about the recipient.
    (
        "cpanel-max-defers",
        cpanel_exim(
            "reader@example.net",
            "Domain example.com has exceeded the max defers and failures per hour (10/10 (100%)) allowed. Message"
            " discarded.",
            dsn_status="5.0.0",
        ),
        [Expect("reader@example.net", "speeding", False)],
    ),
    (
        "cpanel-mailbox-full",
        cpanel_exim("adam@example.net", "mailbox is full"),
        [Expect("adam@example.net", "mailboxfull", False)],
    ),
    # --- Yahoo -----------------------------------------------------------------------------------------------
    (
        "yahoo-no-account",
        yahoo(
            "gone@yahoo.com",
            "98.136.96.74 failed after I sent the message.\nRemote host said: 554 delivery error: dd This user doesn't"
            " have a yahoo.com account (gone@yahoo.com) [-5] - mta1010.mail.gq1.yahoo.com",
        ),
        [Expect("gone@yahoo.com", "userunknown", True)],
    ),
    (
        "yahoo-mailbox-not-found",
        yahoo(
            "full@yahoo.com",
            "98.136.96.74 failed after I sent the message.\nRemote host said: 552 1 Requested mail action aborted,"
            " mailbox not found",
        ),
        [Expect("full@yahoo.com", "userunknown", True)],
    ),
    # --- Cisco Secure Email (IronPort) -------------------------------------------------------------------------
    (
        "ironport-no-such-active-account",
        ironport(
            "user2@sample.example",
            "failed",
            "5.1.0",
            "5.1.0 - Unknown address error 550-'There is no such active account.' (delivery attempts: 0)",
        ),
        [Expect("user2@sample.example", "userunknown", True)],
    ),
    (
        "ironport-delayed-automated-block",
        ironport(
            "user@sample.example",
            "delayed",
            "4.1.0",
            "4.1.0 - Unknown address error 451-'<user@sample.example> Automated block triggered by suspicious"
            " activity from your IP address (192.0.2.1). Have your system administrator send e-mail to"
            " postmaster@sample.example if you believe this block is in error' (delivery attempts: 3)",
        ),
        [Expect("user@sample.example", "blocked", False)],
    ),
    (
        "ironport-bad-destination-host",
        ironport("user@nohost.example", "failed", "5.1.2", "5.1.2 - Bad destination host ('000', [])"),
        [Expect("user@nohost.example", "hostunknown", True)],
    ),
    # --- round nine, second batch (written before the classifier ran on them) ---------------------------------
    # Gmail / Google Workspace "Address not found", with and without its delivery-status part
    (
        "gmail-address-not-found",
        gmail(
            "gone@example.net",
            "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown in virtual mailbox table",
        ),
        [Expect("gone@example.net", "userunknown", True, True)],
    ),
    (
        "gmail-address-not-found-no-dsn",
        gmail(
            "gone@example.net",
            "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown in virtual mailbox table",
            dsn=False,
        ),
        [Expect("gone@example.net", "userunknown", True, True)],
    ),
    # AOL's transcript layout
    (
        "aol-transcript-user-unknown",
        aol_transcript("nobody@aol.com", "550 Mailbox not found", "550 <nobody@aol.com>... User unknown"),
        [Expect("nobody@aol.com", "userunknown", True)],
    ),
    # AOL's dynamic-IP block quoted by the ISP relay: the sending host is refused (DYN:T1), temporarily
    (
        "isp-delivery-failed-attempts-aol-dynt1",
        delivery_failed_attempts(
            "janedoey@aol.com",
            "421-: (DYN:T1)\nhttp://postmaster.info.aol.com/errors/421dynt1.html\n421 SERVICE NOT AVAILABLE",
        ),
        [Expect("janedoey@aol.com", "blocked", False)],
    ),
    # Exchange 2013+ "Remote Server returned" with other remote reasons (text part alone and with the report)
    (
        "exchange2013-remote-spam",
        exchange(
            [
                (
                    "ana@remote.example.net",
                    "rejected",
                    "Remote Server returned '550 5.7.1 Message rejected as spam by Content Filtering.'",
                    "5.7.1|550 5.7.1 Message rejected as spam by Content Filtering.",
                )
            ]
        ),
        [Expect("ana@remote.example.net", "spamdetected", False)],
    ),
    (
        "exchange2013-remote-too-big-text-only",
        exchange(
            [
                (
                    "ana@remote.example.net",
                    "rejected",
                    "Remote Server returned '552 5.3.4 Message size exceeds fixed maximum message size'",
                    None,
                )
            ],
            dsn=False,
        ),
        [Expect("ana@remote.example.net", "mesgtoobig", False)],
    ),
    # the same administrators' line for two recipients, one reason stated for each
    (
        "exchange2010-two-unknown-text-only",
        exchange(
            [
                ("one@corp.example.org", "unknown", "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", None),
                ("two@corp.example.org", "unknown", "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", None),
            ],
            dsn=False,
        ),
        [
            Expect("one@corp.example.org", "userunknown", True, True),
            Expect("two@corp.example.org", "userunknown", True, True),
        ],
    ),
    # Exchange 2010's relay form with a remote reply that has its own code: the remote word decides
    (
        "exchange2010-relayed-remote-full",
        exchange(
            [
                (
                    "full@remote.example.net",
                    "rejected",
                    "mx.remote.example.net #<mx.remote.example.net #5.2.2 smtp;552 5.2.2 <full@remote.example.net>:"
                    " Mailbox full> #SMTP#",
                    None,
                )
            ],
            dsn=False,
        ),
        [Expect("full@remote.example.net", "mailboxfull", False)],
    ),
    # Exchange Online's newer NDR: DMARC, a banned sending IP, a recipient size limit (NDR reference). The size
    # limit was first expected `mesgtoobig`; corrected after the first run to the registry's own label for
    # X.2.3 "message length exceeds administrative limit" (codes.py, `exceedlimit`), which main already gives.
    (
        "exo-dmarc-reject",
        exchange_online(
            ["ana@contoso.example"],
            headline="Your message wasn't delivered because the recipient's email provider rejected it.",
            banner="Sender",
            status_code="550 5.7.509",
            reported="550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification and has a"
            " DMARC policy of reject.",
            dsn=[
                (
                    "ana@contoso.example",
                    "5.7.509",
                    "550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification and has a"
                    " DMARC policy of reject.",
                )
            ],
        ),
        [Expect("ana@contoso.example", "authfailure", False)],
    ),
    (
        "exo-banned-sending-ip-no-dsn",
        exchange_online(
            ["ana@contoso.example"],
            headline="Your message wasn't delivered because the recipient's email provider rejected it.",
            banner="Office 365",
            status_code="550 5.7.606",
            reported="550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from this list please"
            " visit https://sender.office.com/",
        ),
        [Expect("ana@contoso.example", "blocked", False)],
    ),
    (
        "exo-recipient-size-limit",
        exchange_online(
            ["ana@contoso.example"],
            headline="Your message is too big for the recipient's mailbox.",
            banner="Sender",
            status_code="550 5.2.3",
            reported="550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient",
            dsn=[
                (
                    "ana@contoso.example",
                    "5.2.3",
                    "550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient",
                )
            ],
        ),
        [Expect("ana@contoso.example", "exceedlimit", False)],
    ),
    # Symantec Messaging Gateway: a virus refusal and a full mailbox quoted with the remote host
    (
        "smg-virus",
        smg(["<reader@example.net>: 554 5.7.0 Message rejected: virus found in message"], "reader@example.net"),
        [Expect("reader@example.net", "virusdetected", False)],
    ),
    (
        "smg-host-said-over-quota",
        smg(
            [
                "<reader@example.net>: host mx.example.net[192.0.2.25] said: 452 4.2.2 <reader@example.net>: Mailbox is"
                " over quota (in reply to RCPT TO command)"
            ],
            "reader@example.net",
        ),
        [Expect("reader@example.net", "mailboxfull", False)],
    ),
    # MailEnable with a reverse-DNS refusal (the KB's first cause), the recipient only in the original
    (
        "mailenable-reverse-hostname",
        mailenable(
            "example.org",
            "550 5.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.1]",
            "reader@example.org",
        ),
        [Expect("reader@example.org", "requireptr", False)],
    ),
    # cPanel's Exim with the remote server's refusal after RCPT TO
    (
        "cpanel-remote-user-unknown",
        cpanel_exim(
            "gone@example.net",
            "host mx.example.net [192.0.2.25]\n    SMTP error from remote mail server after RCPT TO:<gone@example.net>:\n"
            "    550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown in virtual mailbox table",
        ),
        [Expect("gone@example.net", "userunknown", True, True)],
    ),
    # Yahoo's disabled mailbox (https://smtp.codes/yahoo lists "554 delivery error: dd Sorry your message to
    # <a> cannot be delivered. This mailbox is disabled (554.30)"): an account turned off, soft
    (
        "yahoo-mailbox-disabled",
        yahoo(
            "old@yahoo.com",
            "98.136.96.74 failed after I sent the message.\nRemote host said: 554 delivery error: dd Sorry your message to"
            " old@yahoo.com cannot be delivered. This mailbox is disabled (554.30). - mta1010.mail.gq1.yahoo.com",
        ),
        [Expect("old@yahoo.com", "suspend", False)],
    ),
    # --- round nine, third batch: public examples of whole reports (written before the classifier ran) ------
    (
        "domino-table-bad-destination-host",
        domino_table(
            "board@ozone.example.mn",
            "5.1.2 - Bad destination host 'DNS Hard Error looking up ozone.example.mn (A): domain has no A\n"
            "                      record' (delivery attempts: 0)",
        ),
        [Expect("board@ozone.example.mn", "hostunknown", True)],
    ),
    # First expected `userunknown` (GMX says "mailbox unavailable" of an address that does not exist, round
    # eight); corrected after the first run to the project's reading of a remote "550 ... unavailable" with
    # neither an enhanced code nor the SMTP stage (docs/returned-mail.md: a recipient filter may answer so too),
    # `filtered`, soft: Halon's report states no stage, unlike round eight's row (RCPT TO).
    (
        "halon-mailbox-unavailable",
        halon("snow@gmx.example.at", "gmx.example.at", "550 Requested action not taken: mailbox unavailable"),
        [Expect("snow@gmx.example.at", "filtered", False)],
    ),
    (
        "halon-recipient-rejected",
        halon(
            "j.s@projekt.example.se",
            "projekt.example.se->MX",
            "550 5.1.1 yG4QZNGttZRyvyG4QZgw6k Recipient Rejected [503]",
        ),
        [Expect("j.s@projekt.example.se", "userunknown", True, True)],
    ),
    # "550 #5.1.0 Address rejected <a> (state 14)": X.1.0 "other address status" with loose words (state 14 is
    # the remote's RCPT stage): hard, but not suppressible at once
    (
        "gmail-old-address-rejected",
        gmail_old("m.rowe@dcs.example.ac.uk", "550 550 #5.1.0 Address rejected m.rowe@dcs.example.ac.uk (state 14)."),
        [Expect("m.rowe@dcs.example.ac.uk", "userunknown", True, False)],
    ),
    (
        "ionos-retry-timeout",
        ionos("galindo5@sbc.example.net", "delivery retry timeout exceeded"),
        [Expect("galindo5@sbc.example.net", "expired", False)],
    ),
    (
        "simta-address-not-found",
        simta("adams@umich.example.edu"),
        [Expect("adams@umich.example.edu", "userunknown", True)],
    ),
    (
        "cpanel-two-retry-time-not-reached",
        exim_plain(
            ["arturo@gz.example.hn", "test@gz.example.hn"],
            "  arturo@gz.example.hn\n    retry time not reached for any host after a long failure period\n"
            "  test@gz.example.hn\n    retry time not reached for any host after a long failure period",
        ),
        [Expect("arturo@gz.example.hn", "expired", False), Expect("test@gz.example.hn", "expired", False)],
    ),
    (
        "cpanel-alias-no-such-user-here",
        exim_plain(
            ["lformella@construction.example.com"],
            "  lformella@construction.example.com\n    (ultimately generated from linda@linda.example.com)\n"
            "    No Such User Here",
        ),
        [Expect("lformella@construction.example.com", "userunknown", True)],
    ),
    (
        "exim-mimecast-poor-reputation",
        exim_plain(
            ["carin@clinic.example.co.za"],
            "  carin@clinic.example.co.za\n    host za-smtp-inbound-2.mimecast.example [192.0.2.201]\n"
            "    SMTP error from remote mail server after RCPT TO:<carin@clinic.example.co.za>:\n"
            "    550 csi.mimecast.org Poor Reputation Sender. -\n"
            "    http://kb.mimecast.com/Mimecast_Knowledge_Base/Administration_Console/Monitoring/Mimecast_SMTP_Error_Codes#550",
        ),
        [Expect("carin@clinic.example.co.za", "badreputation", False)],
    ),
    # AsyncOS's own text layout with its administrator's bounce action: a policy of the sending side
    (
        "ironport-bounced-by-administrator",
        ironport("nagano@sado.example.jp", "failed", "5.0.0", "5.x.0 - Message bounced by administrator"),
        [Expect("nagano@sado.example.jp", "policyviolation", False)],
    ),
    # --- round nine, fourth batch: more public examples (written before the classifier ran) ------------------
    # MDaemon names the failed address but no reason: a permanent failure whose cause nobody can read
    (
        "mdaemon-permanent-fatal-no-reason",
        mdaemon("sp@mnesty.example.com"),
        [Expect("sp@mnesty.example.com", "onhold", False)],
    ),
    # a bounce for mail sent to a role address (postmaster@) must still name it
    (
        "exchange-mailto-postmaster-mailbox-full",
        exchange_mailto(
            "postmaster@interfile.example.co.za",
            "The recipient's mailbox is full and can't accept messages now. Microsoft Exchange will not try to\n"
            "redeliver this message for you. Please try resending this message later, or contact the recipient directly.",
            "#550 5.2.2 STOREDRV.Deliver: mailbox full ##",
        ),
        [Expect("postmaster@interfile.example.co.za", "mailboxfull", False)],
    ),
    # Exchange Online's own agent failed for good: the receiving system's fault, not the address
    (
        "exo-classic-sent-items-agent",
        exchange_mailto(
            "handel@prima.example.dk",
            "Something went wrong and your message couldn't be delivered to the email address. Try resending the\n"
            "message. If that doesn't work, forward this message to your email admin.",
            "Remote Server returned '550 5.7.103 UserMailboxSentItemsAgent; Sent items copy failed due to a permanent"
            " error [Stage: OnPromotedEvent][Agent: User Mailbox Sent Items Agent]'",
        ),
        [Expect("handel@prima.example.dk", "systemerror", False)],
    ),
    # cPanel's Exim, two recipients each with "No Such User Here" (https://pastebin.com/zci0Kp1W)
    (
        "cpanel-two-no-such-user-here",
        exim_plain(
            ["mark@millenia.example.com", "mtennison@millenia.example.com"],
            "  mark@millenia.example.com\n    No Such User Here\n  mtennison@millenia.example.com\n    No Such User Here",
        ),
        [
            Expect("mark@millenia.example.com", "userunknown", True),
            Expect("mtennison@millenia.example.com", "userunknown", True),
        ],
    ),
    # freenet.de's Exim: "could not be delivered to all of its recipients ... Blocked spam-message"
    # (https://pastebin.com/0ZQz9cHc)
    (
        "freenet-blocked-spam-message",
        exim_plain(["scollyer@switch.example.com"], "  scollyer@switch.example.com\n    Blocked spam-message"),
        [Expect("scollyer@switch.example.com", "spamdetected", False)],
    ),
    # IONOS: "multiple delivery attempts failed" (https://pastebin.com/PXk0HAPS)
    (
        "ionos-multiple-attempts-failed",
        ionos("jparada@bank.example.com", "multiple delivery attempts failed"),
        [Expect("jparada@bank.example.com", "expired", False)],
    ),
]


# Failed on main (53d9059), 10 of the first 45 cases as first written, each expectation written before the
# classifier ran; 9 once exo-group-sender-not-authenticated was corrected to round three's label. Second batch:
# 2 of the next 16 as first written, 1 once exo-recipient-size-limit was corrected to X.2.3's registered label.
# Third batch (public examples of whole reports): 3 of the next 10 as first written, 2 once halon-mailbox-unavailable
# was corrected to the project's stage-less "550 ... unavailable" reading. The AsyncOS builder's text part was then
# rewritten to the layout a public example shows (it had been a plain sentence), after which
# ironport-no-such-active-account reads right on main too: it failed there as first written. Fourth batch (more
# public examples): 2 of the last 6.
FAILED_ON_MAIN: set[str] = {
    "exchange2010-remote-550-opaque",
    "exchange2010-greeting-554",
    "smartermail-domain-size-limit",
    "smartermail-no-mx",
    "smartermail-four-attempts",
    "mailenable-poor-reputation-two-recipients",
    "cpanel-max-defers",
    "ironport-no-such-active-account",
    "ironport-delayed-automated-block",
    "isp-delivery-failed-attempts-aol-dynt1",
    "domino-table-bad-destination-host",
    "ironport-bounced-by-administrator",
    "exo-classic-sent-items-agent",
    "ionos-multiple-attempts-failed",
}
# Still failing on this branch (xfail, strict): the subset of FAILED_ON_MAIN no fix has reached yet.
STILL_FAILING: set[str] = set()


@pytest.mark.parametrize(("raw", "expected"), case_params(CASES, STILL_FAILING))
def test_a_product_bounce_layout_reads_as_a_careful_human_would(raw, expected):
    assert_reads_as(raw, expected)


def test_round_nine_spans_the_products():
    products = {case_id.split("-")[0] for case_id, _raw, _exp in CASES}
    assert len(products) >= 10
    assert len(CASES) >= 40
    assert len({case_id for case_id, _raw, _exp in CASES}) == len(CASES)


def test_every_round_nine_report_names_its_recipients():
    assert_every_report_names_its_recipients(CASES, STILL_FAILING)


def test_a_product_delay_warning_is_a_delay_not_a_failure():
    from maildispatch.core.returned_mail.model import ReturnedKind

    assert classify_returned_message(exchange_delay("reader@xtra.example.net")).kind is ReturnedKind.DELAY
    assert (
        classify_returned_message(ironport("u@sample.example", "delayed", "4.4.1", "4.4.1 - No answer from host")).kind
        is ReturnedKind.DELAY
    )


# --- the structural rules round nine added, each also where it must not fire -----------------------------------


def test_a_reply_that_is_only_a_host_name_answers_the_connection():
    from maildispatch.core.returned_mail.smtp_text import find_command

    assert find_command("#< #5.5.0 SMTP; 554-ironport4.example.net> #SMTP#") == "CONN"
    assert find_command("smtp; 554-mx.example.net") == "CONN"
    # a reply that names a host and then says something answers whatever it answered
    assert find_command("550 csi.mimecast.org Poor Reputation Sender.") is None
    assert find_command("550-5.1.1 mx.example.net user unknown") is None


def test_a_report_naming_only_a_domain_answers_for_its_recipients_there_and_no_one_else():
    one_in_domain = mailenable(
        "example.com.au",
        "554 Your access to this mail system has been rejected due to the sending MTA's poor reputation.",
        "reader@example.com.au",
        "other@elsewhere.example",
    )
    assert [v.recipient for v in classify_returned_message(one_in_domain).recipients] == ["reader@example.com.au"]


def test_exchange_relay_code_around_a_reply_with_its_own_code_stays_suppressible():
    raw = fope(
        "Joe Smith",
        "joe@contoso.example",
        "The e-mail address you entered couldn't be found.",
        "mail.contoso.example",
        "<mail.contoso.example #5.1.1 smtp;550 5.1.1 <joe@contoso.example>... User unknown>",
    )
    (verdict,) = classify_returned_message(raw).recipients
    assert (verdict.reason, verdict.hard, verdict.suppressible) == ("userunknown", True, True)
