"""Held-out bounces, round twelve: whole returned messages from products and senders round eleven did not
reach (Sun/Oracle Communications Messaging Server as Verizon ran it, Ipswitch IMail's queue report, Digital
Arts m-FILTER's own report, CommuniGate Pro's report, Exchange 2003's German, French and Japanese NDRs and
Outlook's Spanish one, Exchange's Spanish and French NDRs and delay notice, a French host's own report, Amazon
SES receiving's bounce action, Mailgun's failures as mg2dsn turns them into reports, FastMail's and IONOS's
reports, GNU Mailutils' quota texts, MailChannels, and IceWarp's, Verizon's, Yandex's, Mail.ru's, QQ's,
Tencent Exmail's, 263's, Sina's and the Korean portals' (Daum/Hanmail, Naver, Paran) replies).

Each sample rebuilds the report (headers, layout, where the recipient and the reason stand) or the reply
from the product's documentation, knowledge-base page, support page or a published example; the URL is
named in a comment above each builder or case. Never from a bounce collection. The expected verdict was
written from the meaning of the text and RFC 3463 / RFC 5321 before the classifier was run on it (issue
13, round twelve); where the label is a judgement call the comment says why (when unsure between hard and
soft, soft). The cases that failed on main are listed in FAILED_ON_MAIN; those no fix has reached yet are
marked xfail (strict).
"""

from __future__ import annotations

import pytest

from tests.unit.held_out import Expect, assert_every_report_names_its_recipients, assert_reads_as, case_params

SENDER = "shop@example.com"


def _original(to: str) -> str:
    return f"""\
Return-Path: <{SENDER}>
From: Shop <{SENDER}>
To: {to}
Subject: Your order
Date: Sat, 05 Dec 2026 09:00:00 +0000
Message-ID: <order-12@example.com>

Thank you for your order.
"""


def _plain(from_: str, subject: str, body: str, *, charset: str = "us-ascii", cte: str = "8bit") -> bytes:
    encoding = {"us-ascii": "ascii"}.get(charset, charset)
    return f"""\
From: {from_}
To: {SENDER}
Subject: {subject}
Date: Sat, 05 Dec 2026 09:05:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset={charset}
Content-Transfer-Encoding: {cte}

{body}""".encode(encoding)


def _report(from_: str, subject: str, text: str, status_part: str, to: str, *, extra_part: str = "") -> bytes:
    """An RFC 3464 multipart/report: the human text, the delivery-status part (given whole), the original's
    headers, and any part a product adds after them."""
    return f"""\
From: {from_}
To: {SENDER}
Subject: {subject}
Date: Sat, 05 Dec 2026 09:05:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="RPT-12"

--RPT-12
Content-Type: text/plain; charset=utf-8

{text}
--RPT-12
Content-Type: message/delivery-status

{status_part}
--RPT-12
Content-Type: text/rfc822-headers

{_original(to)}
{extra_part}--RPT-12--
""".encode()


# --- Sun Java System / Oracle Communications Messaging Server ------------------------------------------------
# Its report as Verizon's outbound servers (vms*.mailsrvcs.net, Sun Messaging Server) sent it:
# https://pastebin.com/nuTmn3Nu: "This report relates to a message you sent with the following header fields:"
# (Message-id, Date, From, To, Subject indented), "Your message cannot be delivered to the following
# recipients:" with "Recipient address:", "Reason:", "Diagnostic code:", "Remote system:" per recipient, and a
# delivery-status part whose field names are written as Sun writes them ("Original-recipient", "Final-recipient",
# "Diagnostic-code") with the reason in parentheses after the Status ("Status: 5.0.0 (Remote SMTP server has
# rejected address)"), "Reporting-MTA: dns;<host> (tcp-daemon)". The dispositions the MTA records per recipient:
# https://docs.oracle.com/cd/E19563-01/819-2652/gaeyj/index.html (MTA Developer's Reference).


def sun_ms(recipients: list[tuple[str, str, str | None, str]], *, remote: str | None = "mx.remote.example") -> bytes:
    """recipients: (address, reason, diagnostic or None, status with its parenthesised reason)."""
    blocks = []
    groups = []
    for addr, reason, diagnostic, status in recipients:
        lines = [f"  Recipient address: {addr}", f"  Reason: {reason}"]
        if diagnostic:
            lines.append(f"  Diagnostic code: {diagnostic}")
        if remote:
            lines.append(f"  Remote system: dns;{remote} (TCP|192.0.2.60|41423|198.51.100.25|25)")
        blocks.append("\n".join(lines))
        group = [
            f"Original-recipient: rfc822;{addr}",
            f"Final-recipient: rfc822;{addr}",
            "Action: failed",
            f"Status: {status}",
        ]
        if remote:
            group.append(f"Remote-MTA: dns;{remote} (TCP|192.0.2.60|41423|198.51.100.25|25)")
        if diagnostic:
            group.append(f"Diagnostic-code: {diagnostic}")
        groups.append("\n".join(group))
    to = ", ".join(r[0] for r in recipients)
    text = f"""\
This report relates to a message you sent with the following header fields:

  Message-id: <order-12@example.com>
  Date: Sat, 05 Dec 2026 09:00:00 +0000
  From: Shop <{SENDER}>
  To: {to}
  Subject: Your order

Your message cannot be delivered to the following recipients:

{chr(10).join(blocks)}
"""
    status_part = "Reporting-MTA: dns;vms173005.mailsrvcs.example (tcp-daemon)\n\n" + "\n\n".join(groups) + "\n"
    return _report(
        "Internet Mail Delivery <postmaster@mailsrvcs.example>",
        "Delivery Notification: Delivery has failed",
        text,
        status_part,
        to,
    )


# --- Ipswitch IMail's queue report -----------------------------------------------------------------------------
# IMail's queue manager writes "Delivery failed <n> attempts: <address>" / "Body of message generated response:"
# / the remote reply (its layout as http://www.webpan.com/Customers/bounces.htm shows it, quoting AOL's reply),
# and "Unknown user: <address>" for its own domains' unknown local users (the IMail Server guide's "Unknown Local
# User Processing": http://www.ipswitch.com/support/IMail/guide/imailug7/Imail7TOC.html), then the original.


def imail(lines: str, to: str) -> bytes:
    body = f"""\
{lines}

Original message follows.

{_original(to)}"""
    return _plain("postmaster@imail.host.example", "Undeliverable Mail", body)


# --- Digital Arts m-FILTER's own report -----------------------------------------------------------------------
# m-FILTER Ver.4/Ver.5's non-delivery notice, as Digital Arts' FAQ 2686 shows it
# (https://www.pa-solution.net/daj/bs/faq/detail.aspx?id=2686): From "N/A", Subject "failure notice", "このメールは
# 「m-FILTER」が自動的に生成して送信しています。" / "以下のメールアドレスへの送信に失敗しました。" / the address /
# "-------server message" with the receiving server's status and message / "-------SMTP command" with the last
# command m-FILTER sent / "-------original mail info". The FAQ says the reason is the receiving server's.


def mfilter(addr: str, server_message: str, command: str) -> bytes:
    body = f"""\
このメールは「m-FILTER」が自動的に生成して送信しています。
メールサーバーとの通信中、下記の理由により
このメールは送信できませんでした。

以下のメールアドレスへの送信に失敗しました。
{addr}

-------server message
{server_message}

-------SMTP command
{command}

-------original mail info
From: {SENDER}
To: {addr}
Subject: Your order
Date: Sat, 05 Dec 2026 18:00:00 +0900
"""
    return f"""\
From: N/A
To: {SENDER}
Subject: failure notice
Date: Sat, 05 Dec 2026 18:05:00 +0900
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-2022-jp"
Content-Transfer-Encoding: 7bit

{body}""".encode("iso-2022-jp")


# --- relays carrying a product's or a provider's reply -------------------------------------------------------


def postfix(addr: str, said: str, *, host: str = "mx.remote.example[192.0.2.7]", verb: str = "said") -> bytes:
    text = f"""\
This is the mail system at host relay.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<{addr}>: host {host} {verb}:
    {said}
"""
    return f"""\
From: MAILER-DAEMON@relay.example.com (Mail Delivery System)
To: {SENDER}
Subject: Undelivered Mail Returned to Sender
Date: Sat, 05 Dec 2026 09:05:00 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="PF-12"

--PF-12
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

{text}
--PF-12
Content-Description: Undelivered Message
Content-Type: message/rfc822

{_original(addr)}
--PF-12--
""".encode()


def exim(addr: str, reason: str) -> bytes:
    body = f"""\
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {addr}
    {reason}

------ This is a copy of the message, including all the headers. ------

{_original(addr)}"""
    return f"""\
From: Mail Delivery System <Mailer-Daemon@mx.hosting.example>
To: {SENDER}
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: {addr}
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=us-ascii

{body}""".encode()


def postfix_local(addr: str, line: str) -> bytes:
    """Postfix's own verdict for a recipient it delivered locally (no remote reply)."""
    body = f"""\
This is the mail system at host mx.mda.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{addr}>: {line}

{_original(addr)}"""
    return _plain("MAILER-DAEMON@mx.mda.example (Mail Delivery System)", "Undelivered Mail Returned to Sender", body)


def ionos(addr: str, reason: str) -> bytes:
    """IONOS's (kundenserver) report: https://pastebin.com/dS0JkYBA, https://pastebin.com/8MufPjWC."""
    body = f"""\
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its recipients. This is a permanent error. The following address(es)
failed:

{addr}:
{reason}

--- The header of the original message is following. ---

{_original(addr)}"""
    return _plain(
        "Mail Delivery System <mailer-daemon@kundenserver.example>",
        "Mail delivery failed: returning message to sender",
        body,
    )


def communigate(addr: str, domain: str, reports: str) -> bytes:
    body = f"""\
Failed to deliver to '{addr}'
SMTP module(domain {domain}) reports:
{reports}

Original message follows.

{_original(addr)}"""
    return _plain("Mail Delivery Subsystem <MAILER-DAEMON@cgp.host.example>", "Undeliverable: Your order", body)


def sendmail(addr: str, reason: str, transcript: str) -> bytes:
    """Sendmail V8's "Returned mail: see transcript for details", the form https://auctionpro.co.kr/?p=2544 shows
    (a Korean sender's copy of a Hanmail refusal)."""
    body = f"""\
The original message was received at Sat, 5 Dec 2026 18:00:00 +0900
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<{addr}>
    (reason: {reason})

   ----- Transcript of session follows -----
{transcript}

   ----- Original message follows -----

{_original(addr)}"""
    return _plain(
        "Mail Delivery Subsystem <MAILER-DAEMON@mail.sender.example>", "Returned mail: see transcript for details", body
    )


def yandex(addr: str, said: str, *, stage: str = "RCPT TO") -> bytes:
    """Yandex's Postfix-based notification in its two languages (a Yandex user writing to a Yandex mailbox), the
    receiving side's reply being one of those Yandex's own help lists for mail sent to Yandex
    (https://yandex.com/support/mail/bounces/yandex.html, https://yandex.com/support/yandex-360/customers/mail/en/
    bounces/yandex)."""
    body = f"""\
This is the mail system at host forward101.mail.yandex.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{addr}>: host mx.yandex.example[192.0.2.70] said: {said} (in reply to
    {stage} command)

Сообщение не доставлено одному или нескольким адресатам.
"""
    return _plain("mailer-daemon@yandex.example", "Undelivered Mail Returned to Sender", body, charset="utf-8")


# --- Exchange 2000/2003's NDR in the sender's language ---------------------------------------------------------
# The Exchange 2000/2003 layout ("Your message did not reach some or all of the intended recipients." / Subject /
# Sent / "The following recipient(s) could not be reached:" / "<address> on <date>" / the explanation / "<server
# #X.Y.Z>"), written in the language of the sending server. German: https://pastebin.com/dUJNHrB0 ("Ihre Nachricht
# hat einige oder alle Empfänger nicht erreicht." / "Betreff:" / "Gesendet am:" / "Folgende(r) Empfänger
# kann/können nicht erreicht werden:" / "<name> am <date>"), and Microsoft's German page quoting the same form
# (http://technet.microsoft.com/de-de/library/dd285509%28EXCHG.80%29.aspx); French and Japanese the same layout
# under the headings Exchange writes in those languages. The code in "<server #X.Y.Z>" (RFC 3463) decides; the
# explanation sentence under each recipient is Exchange's for that code, here in the report's language.

EXCHANGE_2003_HEADINGS = {
    "de": (
        "Ihre Nachricht hat einige oder alle Empfänger nicht erreicht.",
        "Betreff:",
        "Gesendet am:",
        "Folgende(r) Empfänger kann/können nicht erreicht werden:",
        "am",
        "Unzustellbar: Your order",
    ),
    "fr": (
        "Votre message n'a pas atteint certains ou la totalité de ses destinataires.",
        "Objet :",
        "Envoyé le :",
        "Impossible de joindre le ou les destinataires suivants :",
        "le",
        "Non remis : Your order",
    ),
    "ja": (
        "メッセージは一部またはすべての受信者に届きませんでした。",
        "件名:",
        "送信日時:",
        "次の受信者に接続できませんでした:",
        "",
        "配信不能: Your order",
    ),
}


def exchange2003(lang: str, addr: str, explanation: str, code: str, *, charset: str = "utf-8") -> bytes:
    lead, subject_label, sent_label, heading, on, subject = EXCHANGE_2003_HEADINGS[lang]
    on_date = f" {on} 05.12.2026 09:00" if on else " 2026/12/05 9:00"
    body = f"""\
{lead}

      {subject_label}\tYour order
      {sent_label}\t05.12.2026 09:00

{heading}

      {addr}{on_date}
            {explanation}
            <mail.corp.example #{code}>
"""
    return _plain("Systemadministrator <postmaster@corp.example>", subject, body, charset=charset)


# --- Outlook's own Spanish report (the client could not hand the message to its server) ----------------------
# https://pastebin.com/rrDb8Y6g, https://pastebin.com/12qpX1rU ("Algunos de los destinatarios no recibieron su
# mensaje." / "Asunto:" / "Enviado el:" / "No se puede localizar a los destinatarios siguientes:" / "'<address>' en
# <date>" / "Error del servidor: '<reply>'"), https://pastebin.com/9LAaRhhi (the same with an address the user typed
# with a stray "<" and the server's "501 Syntax error in parameters or arguments").


def outlook_es(quoted_addr: str, reply: str) -> bytes:
    body = f"""\
Algunos de los destinatarios no recibieron su mensaje.

      Asunto:\tYour order
      Enviado el:\t05/12/2026 9:00

No se puede localizar a los destinatarios siguientes:

      '{quoted_addr}' en 05/12/2026 9:00
            Error del servidor: '{reply}'
"""
    return _plain(
        "Administrador del sistema <postmaster@oficina.example>", "Sin entregar: Your order", body, charset="utf-8"
    )


# --- Amazon SES receiving: a receipt rule's bounce action ------------------------------------------------------
# https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-bounce.html and
# https://docs.aws.amazon.com/ses/latest/APIReference/API_BounceAction.html: the rule's owner sets the SMTP reply code
# (RFC 5321), the enhanced status code (RFC 3463) and the human-readable Message; SES generates the bounce itself
# (signed for amazonses.com), from the rule's Reply Sender. The report: the Message as the human-readable part, a
# delivery-status part reported by amazonses.com whose Diagnostic-Code carries the configured code and text.


def ses_bounce_action(addr: str, reply_code: str, status: str, message: str) -> bytes:
    status_part = f"""\
Reporting-MTA: dns; amazonses.com
Arrival-Date: Sat, 05 Dec 2026 09:00:01 +0000

Final-Recipient: rfc822; {addr}
Action: failed
Status: {status}
Diagnostic-Code: smtp; {reply_code} {status} {message}
"""
    return _report(
        "Mail Delivery Subsystem <mailer-daemon@inbound.customer.example>",
        "Delivery Status Notification (Failure)",
        f"{message}\n",
        status_part,
        addr,
    )


CASES: list[tuple[str, bytes, list[Expect]]] = [
    # --- Sun/Oracle Messaging Server (Verizon's outbound report) -----------------------------------------------
    # The pastebin's own recipient block: a remote Exim's "550 No Such User Here" at RCPT, Status 5.0.0.
    (
        "sunms-verizon-no-such-user-here",
        sun_ms(
            [
                (
                    "pat@remote.example",
                    "Remote SMTP server has rejected address",
                    "smtp;550 No Such User Here",
                    "5.0.0 (Remote SMTP server has rejected address)",
                )
            ]
        ),
        [Expect("pat@remote.example", "userunknown", True)],
    ),
    (
        "sunms-remote-mailbox-full",
        sun_ms(
            [
                (
                    "pat@remote.example",
                    "Remote SMTP server has rejected address",
                    "smtp;552 5.2.2 <pat@remote.example>... Mailbox full",
                    "5.0.0 (Remote SMTP server has rejected address)",
                )
            ]
        ),
        [Expect("pat@remote.example", "mailboxfull", False)],
    ),
    (
        "sunms-remote-relaying-denied",
        sun_ms(
            [
                (
                    "pat@elsewhere.example",
                    "Remote SMTP server has rejected address",
                    "smtp;550 5.7.1 <pat@elsewhere.example>... Relaying denied",
                    "5.0.0 (Remote SMTP server has rejected address)",
                )
            ]
        ),
        [Expect("pat@elsewhere.example", "norelaying", False)],
    ),
    # The server's own verdicts (no remote system): over quota (X.2.2), an illegal domain (X.1.2), an unknown local
    # address ("unknown or illegal alias", the MTA's X.1.1 text), and a delivery that timed out (X.4.7, the
    # registry's title "Delivery time expired" in parentheses, as Sun writes a status's meaning).
    (
        "sunms-local-over-quota",
        sun_ms([("pat@mailsrvcs.example", "Over quota", None, "5.2.2 (Over quota)")], remote=None),
        [Expect("pat@mailsrvcs.example", "mailboxfull", False)],
    ),
    (
        "sunms-illegal-host-domain-name",
        sun_ms(
            [
                (
                    "pat@bad_host.example",
                    "Illegal host/domain name found",
                    None,
                    "5.1.2 (Illegal host/domain name found)",
                )
            ],
            remote=None,
        ),
        [Expect("pat@bad_host.example", "hostunknown", True)],
    ),
    (
        "sunms-unknown-or-illegal-alias",
        sun_ms(
            [
                (
                    "gone@mailsrvcs.example",
                    "Unknown or illegal alias",
                    "smtp;550 5.1.1 unknown or illegal alias: gone@mailsrvcs.example",
                    "5.1.1 (unknown or illegal alias)",
                )
            ],
            remote=None,
        ),
        [Expect("gone@mailsrvcs.example", "userunknown", True, True)],
    ),
    (
        "sunms-delivery-time-expired",
        sun_ms(
            [("pat@slow.example", "Delivery time expired", None, "4.4.7 (delivery time expired)")],
            remote="mx.slow.example",
        ),
        [Expect("pat@slow.example", "expired", False)],
    ),
    # Two recipients in one report, each with its own reason.
    (
        "sunms-two-recipients-unknown-and-full",
        sun_ms(
            [
                (
                    "gone@remote.example",
                    "Remote SMTP server has rejected address",
                    "smtp;550 5.1.1 <gone@remote.example>... User unknown",
                    "5.0.0 (Remote SMTP server has rejected address)",
                ),
                (
                    "full@remote.example",
                    "Remote SMTP server has rejected address",
                    "smtp;452 4.2.2 <full@remote.example>... Mailbox full",
                    "4.0.0 (Remote SMTP server has rejected address)",
                ),
            ]
        ),
        [Expect("gone@remote.example", "userunknown", True), Expect("full@remote.example", "mailboxfull", False)],
    ),
    # --- Verizon as the receiver ---------------------------------------------------------------------------
    # Verizon's whitelist policy page quotes its block reply
    # (https://www.verizon.com/support/residential/internet/fiosinternet/email/blocked+email/questionsone/85702.htm:
    # "550 Email from your Email Service Provider is currently blocked by Verizon Online's anti-spam system. The
    # email "sender" or Email Service Provider may visit and request removal of the block."); the 571 form with the
    # sending IP and a number: http://ipblacklistremoval.com/ (rank 8). A block of the sending host, soft.
    (
        "verizon-571-blocked-anti-spam-system",
        postfix(
            "pat@verizon.example",
            "571 Email from 192.0.2.7 is currently blocked by Verizon Online's anti-spam system. The email sender or"
            " Email Service Provider may visit http://www.verizon.example/whitelist and request removal of the block."
            " 100630 (in reply to RCPT TO command)",
            host="relay.verizon.example[198.51.100.80]",
        ),
        [Expect("pat@verizon.example", "blocked", False)],
    ),
    (
        "verizon-550-esp-blocked",
        exim(
            "pat@verizon.example",
            "SMTP error from remote mail server after MAIL FROM:<shop@example.com> SIZE=1834:\n"
            "    host relay.verizon.example [198.51.100.80]: 550 Email from your Email Service Provider is currently"
            ' blocked by Verizon Online\'s anti-spam system. The email "sender" or Email Service Provider may visit'
            " http://www.verizon.example/whitelist and request removal of the block.",
        ),
        [Expect("pat@verizon.example", "blocked", False)],
    ),
    # --- Ipswitch IMail ----------------------------------------------------------------------------------------
    (
        "imail-delivery-failed-over-quota",
        imail(
            "Delivery failed 1 attempts: pat@remote.example\nBody of message generated response:\n"
            "552 5.2.2 <pat@remote.example>... Mailbox over quota",
            "pat@remote.example",
        ),
        [Expect("pat@remote.example", "mailboxfull", False)],
    ),
    (
        "imail-delivery-failed-user-unknown",
        imail(
            "Delivery failed 1 attempts: pat@remote.example\nBody of message generated response:\n"
            "550 5.1.1 <pat@remote.example>... User unknown",
            "pat@remote.example",
        ),
        [Expect("pat@remote.example", "userunknown", True)],
    ),
    # IMail's own unknown local users, two of them: hard (its own directory says so), weak by the project's reading
    # of a reporting system's own words without a quoted reply; strength not asserted.
    (
        "imail-unknown-user-two-local",
        imail(
            "Unknown user: ann@imail.host.example\nUnknown user: bob@imail.host.example",
            "ann@imail.host.example, bob@imail.host.example",
        ),
        [
            Expect("ann@imail.host.example", "userunknown", True),
            Expect("bob@imail.host.example", "userunknown", True),
        ],
    ),
    # A remote content restriction after several attempts: the content, not the address (contenterror).
    (
        "imail-delivery-failed-content-restrictions",
        imail(
            "Delivery failed 3 attempts: pat@remote.example\nBody of message generated response:\n"
            "554 5.6.0 Message rejected due to content restrictions",
            "pat@remote.example",
        ),
        [Expect("pat@remote.example", "contenterror", False)],
    ),
    # --- Digital Arts m-FILTER ------------------------------------------------------------------------------------
    (
        "mfilter-user-unknown-at-rcpt",
        mfilter(
            "taro@remote.example.jp",
            "550 5.1.1 <taro@remote.example.jp>: Recipient address rejected: User unknown in local recipient table",
            "RCPT TO:<taro@remote.example.jp>",
        ),
        [Expect("taro@remote.example.jp", "userunknown", True, True)],
    ),
    (
        "mfilter-mailbox-full-at-rcpt",
        mfilter("taro@remote.example.jp", "452 4.2.2 Mailbox full", "RCPT TO:<taro@remote.example.jp>"),
        [Expect("taro@remote.example.jp", "mailboxfull", False)],
    ),
    (
        "mfilter-spam-after-data",
        mfilter("taro@remote.example.jp", "550 5.7.1 Message rejected as spam", "DATA"),
        [Expect("taro@remote.example.jp", "spamdetected", False)],
    ),
    # A stage-less "550 User unknown" answered after DATA (m-FILTER names its last command): the Japanese carriers'
    # reception refusals answer so (round eleven, au/docomo); after DATA the address was already accepted at RCPT,
    # so it is a filter, soft (the project's reading of an unknown user after DATA).
    (
        "mfilter-user-unknown-after-data",
        mfilter("taro@carrier.example.jp", "550 User unknown", "DATA"),
        [Expect("taro@carrier.example.jp", "filtered", False)],
    ),
    (
        "mfilter-client-blocked-at-ehlo",
        mfilter(
            "taro@remote.example.jp",
            "554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using bl.spamcop.net",
            "EHLO mfilter.sender.example.jp",
        ),
        [Expect("taro@remote.example.jp", "blocked", False)],
    ),
    # --- Korean portals (Daum/Hanmail, Naver, Paran) ------------------------------------------------------------
    # https://oliveit.tistory.com/39 (a Korean portal's return-mail list: the Postfix report it quotes with "550
    # 5.1.1 RUSR <ip>: No such user: <addr>", "421 4.4.1 CHIC <ip>: Network is busy." explained as the receiving
    # server temporarily unable to answer, "421 4.4.5 CCRT <ip>: Connection refused. Server is busy(RT)" explained
    # as the spam centre having temporarily blocked the sending IP).
    (
        "daum-rusr-no-such-user",
        postfix(
            "minsu@daum.example",
            "550 5.1.1 RUSR 192.0.2.7: No such user: <minsu@daum.example> (in reply to RCPT TO command)",
            host="mx1.daum.example[203.0.113.10]",
        ),
        [Expect("minsu@daum.example", "userunknown", True, True)],
    ),
    (
        "daum-chic-network-busy",
        postfix(
            "minsu@daum.example",
            "421 4.4.1 CHIC 192.0.2.7: Network is busy.",
            host="mx1.daum.example[203.0.113.10]",
            verb="refused to talk to me",
        ),
        [Expect("minsu@daum.example", "systemerror", False)],
    ),
    # Judgement: the words say "Server is busy", the portal's own list says the sending IP was temporarily blocked
    # as a spam source; read by the provider's explanation (blocked). Soft either way.
    (
        "daum-ccrt-connection-refused-busy",
        postfix(
            "minsu@daum.example",
            "421 4.4.5 CCRT 192.0.2.7: Connection refused. Server is busy(RT)",
            host="mx1.daum.example[203.0.113.10]",
            verb="refused to talk to me",
        ),
        [Expect("minsu@daum.example", "blocked", False)],
    ),
    # https://auctionpro.co.kr/?p=2544: "(reason: 554 5.7.1 DAS51 <ip>: Your mail is blocked automatically by
    # anti-spam system. (E06))" in sendmail's report; the page explains a hijacked account sent spam and the sending
    # IP was block-listed (blocked, not a verdict on this message's content; judgement, soft either way).
    (
        "hanmail-das51-anti-spam-system",
        sendmail(
            "minsu@hanmail.example",
            "554 5.7.1 DAS51 192.0.2.7: Your mail is blocked automatically by anti-spam system. (E06)",
            "... while talking to mx1.hanmail.example.:\n>>> MAIL From:<shop@example.com>\n"
            "<<< 554 5.7.1 DAS51 192.0.2.7: Your mail is blocked automatically by anti-spam system. (E06)\n"
            "554 5.0.0 Service unavailable",
        ),
        [Expect("minsu@hanmail.example", "blocked", False)],
    ),
    # https://puffinknight.tistory.com/102 (Korean list of return-mail replies by cause): Naver's "421 4.3.2 Your
    # IP(<ip>) is filtered and this connection will be closed. You must register your IP to http://realip.naver.com"
    # (IP blocked after bulk sending), "421 4.3.1 You send too many messages." (same group: sending volume),
    # "550 5.1.1 Inactive mbox" and "Suspended user" (recipient account out of use), "550 You are registered as
    # spammer (by user's reject list)" and "554 5.0.0 Service unavailable (userid: mail is denied, by spam filter)"
    # (the recipient's own reject settings), "5.1.0 - Unknown address error 550-'Transaction failed.
    # (SPAM_SUSPECT:IP_CONTROL) (http://cleanip.paran.com)'" (Paran's IP control, relayed by Amazon SES).
    (
        "naver-ip-filtered-register-realip",
        postfix(
            "minsu@naver.example",
            "421 4.3.2 Your IP(192.0.2.7) is filtered and this connection will be closed. You must register your IP"
            " to http://realip.naver.example",
            host="mx1.naver.example[203.0.113.20]",
            verb="refused to talk to me",
        ),
        [Expect("minsu@naver.example", "blocked", False)],
    ),
    # Judgement: X.3.1 is "mail system full" by the registry, but the words say our volume: speeding.
    (
        "naver-you-send-too-many-messages",
        postfix(
            "minsu@naver.example",
            "421 4.3.1 You send too many messages. (in reply to MAIL FROM command)",
            host="mx1.naver.example[203.0.113.20]",
        ),
        [Expect("minsu@naver.example", "speeding", False)],
    ),
    # Judgement: X.1.1's registered meaning is a bad mailbox, the words say the mailbox exists but is inactive;
    # the page lists it with disabled accounts: suspend (soft; the conservative reading of a contradiction).
    (
        "korean-inactive-mbox",
        postfix(
            "minsu@portal.example",
            "550 5.1.1 Inactive mbox (in reply to RCPT TO command)",
            host="mx.portal.example[203.0.113.30]",
        ),
        [Expect("minsu@portal.example", "suspend", False)],
    ),
    (
        "korean-registered-as-spammer-by-users-reject-list",
        postfix(
            "minsu@portal.example",
            "550 You are registered as spammer (by user's reject list) (in reply to RCPT TO command)",
            host="mx.portal.example[203.0.113.30]",
        ),
        [Expect("minsu@portal.example", "filtered", False)],
    ),
    # Judgement: "denied by spam filter" could be read as spam; the page files it with the recipient's own reject
    # settings, and "(userid: ...)" names the user's filter: filtered. Soft either way.
    (
        "korean-mail-denied-by-users-spam-filter",
        postfix(
            "minsu@portal.example",
            "554 5.0.0 Service unavailable (minsu: mail is denied, by spam filter) (in reply to end of DATA command)",
            host="mx.portal.example[203.0.113.30]",
        ),
        [Expect("minsu@portal.example", "filtered", False)],
    ),
    # Amazon SES relaying Paran's refusal under its own "Unknown address error" reading (X.1.0): the quoted reply
    # says the sending IP is under control as a spam suspect: a block of the sending host, never an unknown address.
    (
        "paran-ip-control-via-ses-unknown-address-error",
        _report(
            "MAILER-DAEMON@amazonses.com",
            "Delivery Status Notification (Failure)",
            "An error occurred while trying to deliver the mail to the following recipients:\nminsu@paran.example\n",
            "Reporting-MTA: dns; a8-50.smtp-out.amazonses.com\n\nFinal-Recipient: rfc822; minsu@paran.example\n"
            "Action: failed\nStatus: 5.1.0\nRemote-MTA: dns; mx.paran.example. 203.0.113.40 smtp\n"
            "Diagnostic-Code: smtp; 5.1.0 - Unknown address error 550-'Transaction failed. (SPAM_SUSPECT:IP_CONTROL)"
            " (http://cleanip.paran.example)' (delivery attempts: 0)\n",
            "minsu@paran.example",
        ),
        [Expect("minsu@paran.example", "blocked", False)],
    ),
    # Judgement: "sent too many e-mails ... not allowed to send more e-mails within 24 hours": our volume, a rate
    # limit for a day (speeding), not a verdict on the address. Soft.
    (
        "korean-portal-24-hours-too-many-emails",
        postfix(
            "minsu@portal.example",
            "550 5.7.1 <minsu@portal.example>... Error.your access was denied. Since you sent too many e-mails,you are"
            " not allowed to send more e-mails within 24 hours.After 24 hours,you can send e-mails as usual."
            " (in reply to RCPT TO command)",
            host="mx.portal.example[203.0.113.30]",
        ),
        [Expect("minsu@portal.example", "speeding", False)],
    ),
    # --- QQ Mail, Tencent Exmail, 263, Sina -----------------------------------------------------------------------
    # QQ Mail's return-mail help (https://qqmailbox.com/transceivers/169.html): "550 Mailbox not found", "550 Error:
    # content rejected" (QQ's filter judged the content as unwanted mail: spamdetected, as the shared corpus reads
    # "content rejected, UBE"), "该用户不存在" (the user does not exist), "收件人空间不足" (the recipient's space is
    # insufficient: a full mailbox), "该用户未开通QQ邮箱" (the user has not opened a QQ mailbox: no such mailbox).
    (
        "exmail-mailbox-not-found",
        postfix(
            "li@exmail-customer.example.cn",
            "550 Mailbox not found. http://service.exmail.qq.example/cgi-bin/help?subtype=1&&id=20022&&no=1000728"
            " (in reply to RCPT TO command)",
            host="mxbiz1.qq.example[203.0.113.50]",
        ),
        [Expect("li@exmail-customer.example.cn", "userunknown", True)],
    ),
    (
        "qq-error-content-rejected",
        postfix(
            "li@qq.example",
            "550 Error: content rejected.http://mail.qq.example/zh_CN/help/content/rejectedmail.html"
            " (in reply to end of DATA command)",
            host="mx3.qq.example[203.0.113.51]",
        ),
        [Expect("li@qq.example", "spamdetected", False)],
    ),
    (
        "qq-chinese-recipient-space-insufficient",
        _plain(
            "QQ邮箱 <postmaster@qq.example>",
            "=?utf-8?b?6YCA5L+h?=",
            "很抱歉您发送的邮件被退回，以下是该邮件的相关信息：\n\n"
            "    收件人：li@qq.example\n"
            "    退信原因：收件人空间不足\n\n"
            "    主题：Your order\n",
            charset="utf-8",
        ),
        [Expect("li@qq.example", "mailboxfull", False)],
    ),
    # Hard, but the project's rule for a localised "no such user" without a permanent code: never suppressed at once.
    (
        "qq-chinese-user-has-not-opened-qq-mail",
        _plain(
            "QQ邮箱 <postmaster@qq.example>",
            "=?utf-8?b?6YCA5L+h?=",
            "很抱歉您发送的邮件被退回，以下是该邮件的相关信息：\n\n"
            "    收件人：123456789@qq.example\n"
            "    退信原因：该用户未开通QQ邮箱\n\n"
            "    主题：Your order\n",
            charset="utf-8",
        ),
        [Expect("123456789@qq.example", "userunknown", True, False)],
    ),
    # 263 enterprise mail's help (http://www.263gmail.js.cn/help/13/2.htm): "信箱超容退信提示: mail size limit
    # exceeded (in reply to end of DATA command)" -- the page gives this as the reply for a mailbox over its
    # capacity. Judgement: the words alone would read as a message-size limit; 263's own explanation says full
    # mailbox; soft either way.
    (
        "263-mail-size-limit-exceeded-mailbox-over-capacity",
        postfix(
            "li@263-customer.example.cn",
            "552 mail size limit exceeded (in reply to end of DATA command)",
            host="mx.263.example[203.0.113.52]",
        ),
        [Expect("li@263-customer.example.cn", "mailboxfull", False)],
    ),
    # A Chinese host's return-mail list (https://www.emailhost.com.cn/service.html?article_category=25&brd=1):
    # "网络异常: rcpt handle timeout" (a network fault at the receiving side) and "域名不存在: DNS query error" (the
    # domain does not exist). The first, given up after retries, takes its last error's reason (networkerror);
    # the second is the domain (hostunknown), but a DNS query error may be transient: hard, never suppressed at once.
    (
        "cnhost-rcpt-handle-timeout-gave-up",
        exim(
            "li@slow-customer.example.cn",
            "SMTP error from remote mail server after RCPT TO:<li@slow-customer.example.cn>:\n"
            "    host mx.slow-customer.example.cn [203.0.113.53]: 451 rcpt handle timeout: retry timeout exceeded",
        ),
        [Expect("li@slow-customer.example.cn", "networkerror", False)],
    ),
    (
        "cnhost-dns-query-error",
        _plain(
            "postmaster@mail.cnhost.example",
            "=?utf-8?b?6YCA5L+h?= Undelivered Mail",
            "您发送的邮件未能投递到以下收件人：\n\nli@no-such-domain.example.cn\n原因：DNS query error\n",
            charset="utf-8",
        ),
        [Expect("li@no-such-domain.example.cn", "hostunknown", True, False)],
    ),
    # A Chinese server's reply list (https://blog.sina.com.cn/s/blog_8dc13ec50101fxxr.html): "550 user is locked.
    # (邮箱被锁)" -- the mailbox is locked: an account put out of use, not an unknown one (suspend, soft).
    (
        "cnserver-user-is-locked",
        postfix(
            "li@locked-customer.example.cn",
            "550 user is locked. (in reply to RCPT TO command)",
            host="mx.locked-customer.example.cn[203.0.113.54]",
        ),
        [Expect("li@locked-customer.example.cn", "suspend", False)],
    ),
    # --- Yandex and Mail.ru --------------------------------------------------------------------------------------
    # Yandex's help for mail sent to Yandex (above): "Policy rejection on the target address" = the recipient's
    # account was blocked for breaking the user agreement (suspend: judgement, the words say policy; soft either
    # way), "Mailbox size exceeded" / "Mailbox size limit exceeded" = full, "Message infected by virus", "Bad
    # recipient address syntax" = a non-existing address.
    (
        "yandex-policy-rejection-on-target-address",
        yandex("ivan@yandex.example", "550 5.7.1 Policy rejection on the target address"),
        [Expect("ivan@yandex.example", "suspend", False)],
    ),
    (
        "yandex-mailbox-size-limit-exceeded",
        yandex("ivan@yandex.example", "552 5.2.2 Mailbox size limit exceeded"),
        [Expect("ivan@yandex.example", "mailboxfull", False)],
    ),
    (
        "yandex-message-infected-by-virus",
        yandex("ivan@yandex.example", "554 5.7.1 Message infected by virus", stage="end of DATA"),
        [Expect("ivan@yandex.example", "virusdetected", False)],
    ),
    (
        "yandex-bad-recipient-address-syntax",
        yandex("ivan..@yandex.example", "501 5.1.3 Bad recipient address syntax"),
        [Expect("ivan..@yandex.example", "userunknown", True)],
    ),
    # Mail.ru (https://mailout.ru/2015/09: errors containing "User not found" or "No such user" = a wrong or
    # deleted address; "Mailbox Full" or "User quota exceeded" = full), as Mail.ru's MX words them.
    (
        "mailru-invalid-mailbox-user-not-found",
        postfix(
            "ivan@mail.example.ru",
            "550 Message was not accepted -- invalid mailbox.  Local mailbox ivan@mail.example.ru is unavailable:"
            " user not found (in reply to end of DATA command)",
            host="mxs.mail.example.ru[203.0.113.60]",
        ),
        [Expect("ivan@mail.example.ru", "userunknown", True)],
    ),
    (
        "mailru-user-quota-exceeded",
        postfix(
            "ivan@mail.example.ru",
            "452 4.2.2 Mailbox Full / User quota exceeded (in reply to RCPT TO command)",
            host="mxs.mail.example.ru[203.0.113.60]",
        ),
        [Expect("ivan@mail.example.ru", "mailboxfull", False)],
    ),
    # --- Exchange 2003's NDR in German, French and Japanese ----------------------------------------------------
    (
        "exchange2003-de-recipient-not-found",
        exchange2003(
            "de",
            "hans@firma.example",
            "Die E-Mail-Adresse wurde im E-Mail-System des Empfängers nicht gefunden. Überprüfen Sie die"
            " E-Mail-Adresse, und versuchen Sie es erneut.",
            "5.1.1",
        ),
        [Expect("hans@firma.example", "userunknown", True)],
    ),
    (
        "exchange2003-de-mailbox-full",
        exchange2003(
            "de",
            "hans@firma.example",
            "Das Postfach des Empfängers ist voll, die Nachricht kann nicht zugestellt werden.",
            "5.2.2",
        ),
        [Expect("hans@firma.example", "mailboxfull", False)],
    ),
    (
        "exchange2003-fr-recipient-not-found",
        exchange2003(
            "fr",
            "jean@societe.example",
            "L'adresse de messagerie que vous avez entrée est introuvable. Vérifiez l'adresse du destinataire et"
            " renvoyez le message.",
            "5.1.1",
        ),
        [Expect("jean@societe.example", "userunknown", True)],
    ),
    # Exchange 2003's "not found in DNS" (#5.4.0): the project's reading, hard but never suppressed at once (round
    # one: Exchange writes it for its own smart-host faults too).
    (
        "exchange2003-fr-destination-not-in-dns",
        exchange2003(
            "fr",
            "jean@nulle-part.example",
            "Le serveur de destination pour ce destinataire est introuvable dans le DNS (Domain Name Service)."
            " Vérifiez l'adresse de messagerie et réessayez.",
            "5.4.0",
        ),
        [Expect("jean@nulle-part.example", "hostunknown", True, False)],
    ),
    (
        "exchange2003-ja-recipient-not-found",
        exchange2003(
            "ja",
            "taro@kaisha.example.jp",
            "電子メール アドレスが見つかりませんでした。電子メール アドレスを確認して、もう一度送信してください。",
            "5.1.1",
            charset="iso-2022-jp",
        ),
        [Expect("taro@kaisha.example.jp", "userunknown", True)],
    ),
    (
        "exchange2003-ja-time-limit",
        exchange2003(
            "ja",
            "taro@kaisha.example.jp",
            "指定された時間内にメッセージを配信できませんでした。",
            "4.4.7",
            charset="iso-2022-jp",
        ),
        [Expect("taro@kaisha.example.jp", "expired", False)],
    ),
    # --- Outlook's Spanish report --------------------------------------------------------------------------------
    (
        "outlook-es-451-local-error-in-processing",
        outlook_es("rosa@banco.example", "451 Requested action aborted: local error in processing"),
        [Expect("rosa@banco.example", "systemerror", False)],
    ),
    # The user typed "<jose@..." (a stray "<"): the server's 501 is a syntax error of our own command, soft; the
    # recipient is the address inside the quotes.
    (
        "outlook-es-501-syntax-error-stray-bracket",
        outlook_es("<jose@sanvicente.example", "501 Syntax error in parameters or arguments"),
        [Expect("jose@sanvicente.example", "syntaxerror", False)],
    ),
    # --- Exchange 2007's Spanish NDR for several full mailboxes ---------------------------------------------------
    # https://pastebin.com/HGKcccQU: "No se ha podido realizar la entrega a estos destinatarios o listas de
    # distribución:" / each address / "El buzón del destinatario está lleno y no puede aceptar mensajes. Microsoft
    # Exchange no intentará volver a entregar este mensaje. ..."
    (
        "exchange2007-es-two-mailboxes-full",
        _plain(
            "Microsoft Exchange <postmaster@senado.example>",
            "No se puede entregar: Your order",
            "No se ha podido realizar la entrega a estos destinatarios o listas de distribución:\n\n"
            "ana@senado.example\n"
            "El buzón del destinatario está lleno y no puede aceptar mensajes. Microsoft Exchange no intentará volver"
            " a entregar este mensaje. Intente reenviarlo más tarde o póngase en contacto con el destinatario"
            " directamente.\n\n"
            "luis@senado.example\n"
            "El buzón del destinatario está lleno y no puede aceptar mensajes. Microsoft Exchange no intentará volver"
            " a entregar este mensaje. Intente reenviarlo más tarde o póngase en contacto con el destinatario"
            " directamente.\n",
            charset="utf-8",
        ),
        [Expect("ana@senado.example", "mailboxfull", False), Expect("luis@senado.example", "mailboxfull", False)],
    ),
    # --- Exchange's French delay notice ----------------------------------------------------------------------
    # https://pastebin.com/SYa736QZ: "Remise retardée :" / "La remise est retardée pour ces destinataires ou groupes :"
    # / "Ce message n'a pas encore été remis. De nouvelles tentatives de remise seront effectuées." / "Informations de
    # diagnostic pour les administrateurs :" / "Serveur de génération :" / "Server at <host> returned '400 4.4.7
    # Message delayed'" and the last error. A delay: not a failure yet (expired, soft: the label the project gives a
    # delay notice).
    (
        "exchange-fr-delay-notice-two-recipients",
        _plain(
            "Microsoft Outlook <postmaster@cabinet.example>",
            "Remise retardée : Your order",
            "La remise est retardée pour ces destinataires ou groupes :\n\n"
            "Mélanie Martin (melanie.martin@avocats.example)\nNadia Amrani (nadia.amrani@avocats.example)\n\n"
            "Objet : Your order\n\n"
            "Ce message n'a pas encore été remis. De nouvelles tentatives de remise seront effectuées.\n\n"
            "Le serveur va tenter de remettre ce message pendant les prochains 1 jours, 19 heures et 59 minutes. Vous"
            " serez informé si le message ne peut pas être remis à temps.\n\n"
            "Informations de diagnostic pour les administrateurs :\n\n"
            "Serveur de génération : EX1.cabinet.example\nServeur de réception : mx2.filtre.example (192.0.2.90)\n\n"
            "melanie.martin@avocats.example\n"
            "Server at mx2.filtre.example (192.0.2.90) returned '400 4.4.7 Message delayed'\n"
            "05/12/2026 08:58:33 - Server at mx2.filtre.example (192.0.2.90) returned '441 4.4.1 Error communicating"
            ' with target host: "421 4.4.2 Connection dropped due to SocketError." Last endpoint attempted was'
            " 192.0.2.90:25'\n\n"
            "nadia.amrani@avocats.example\n"
            "Server at mx2.filtre.example (192.0.2.90) returned '400 4.4.7 Message delayed'\n",
            charset="utf-8",
        ),
        [
            Expect("melanie.martin@avocats.example", "expired", False),
            Expect("nadia.amrani@avocats.example", "expired", False),
        ],
    ),
    # --- A French host's own report (o2switch) ---------------------------------------------------------------------
    # https://pastebin.com/eR77TFeJ: "Ceci est un message d'echec automatiquement envoye par nos systemes." ...
    # "######## Details de l'erreur ci-dessous ########" then the Postfix line for the recipient ("Host or domain
    # name not found").
    (
        "o2switch-fr-host-or-domain-name-not-found",
        _plain(
            "Le Serveur Mail <mailer-daemon@o2switch.example>",
            "[Important] Impossible d'envoyer l'email",
            "Bonjour,\n\nCeci est un message d'echec automatiquement envoye par nos systemes.\n\n"
            "Nous sommes desoles de vous informer que l'email n'a pu etre envoye.\n"
            "En effet le serveur destinataire n'a pas ete en mesure de traiter le message.\n"
            "Pour toute assistance merci de prendre contact avec votre destinataire par un moyen different.\n\n"
            "Le Serveur Mail.\n\n"
            "################################################\n"
            "## Ce message est volontairement sans accent. ##\n"
            "######## Details de l'erreur ci-dessous ########\n"
            "################################################\n\n"
            "<mairie@commune-nulle.example>: Host or domain name not found. Name service error for\n"
            "    name=commune-nulle.example type=A: Host not found\n",
        ),
        [Expect("mairie@commune-nulle.example", "hostunknown", True)],
    ),
    # --- Amazon SES receiving's bounce action -------------------------------------------------------------------------
    (
        "ses-bounce-action-mailbox-does-not-exist",
        ses_bounce_action("old@inbound.customer.example", "550", "5.1.1", "Mailbox does not exist"),
        [Expect("old@inbound.customer.example", "userunknown", True, True)],
    ),
    # A rule's own wording that the address takes no mail from outside: the recipient's policy (filtered), not
    # RFC 7504's domain that accepts no mail at all; soft.
    (
        "ses-bounce-action-no-outside-mail",
        ses_bounce_action(
            "board@inbound.customer.example",
            "550",
            "5.7.1",
            "This address does not accept mail from senders outside the organisation",
        ),
        [Expect("board@inbound.customer.example", "filtered", False)],
    ),
    (
        "ses-bounce-action-mailbox-full",
        ses_bounce_action("busy@inbound.customer.example", "452", "4.2.2", "Mailbox full, try again later"),
        [Expect("busy@inbound.customer.example", "mailboxfull", False)],
    ),
    # --- Mailgun's failures as mg2dsn reports them -------------------------------------------------------------------
    # https://github.com/glyph/mg2dsn (mg2dsn/_impl.py): a report to the sender for each permanent Mailgun failure,
    # its text "This is the mail system at <domain>.  We are sorry to inform you that the following message, which
    # we believe you sent, could not be delivered.", the delivery-status part with "Status: 5.1.0 (Remote SMTP server
    # has rejected address)" and "Diagnostic-Code: smtp;<code>" (the bare code only), the original, then Mailgun's
    # event JSON whose delivery-status message holds the remote reply (here its own example, Gmail's NoSuchUser).
    (
        "mailgun-mg2dsn-reply-only-in-event-json",
        _report(
            '"Bounce Generator" <bounce-generator@lists.example.org>',
            "Delivery Status Notification: Deferred Bounce",
            "This is the mail system at lists.example.org.  We are sorry to\n"
            "inform you that the following message, which we believe you\n"
            "sent, could not be delivered.\n\n---\nFrom: shop@example.com\nTo: george@coalition.example\n"
            "Subject: Your order\n---\n",
            "Reporting-MTA: dns;lists.example.org\nArrival-Date: Sat, 05 Dec 2026 09:00:01 +0000\n"
            "Original-Envelope-Id: <order-12@example.com>\n\n"
            "Original-Recipient: rfc822;george@coalition.example\nFinal-Recipient: rfc822;george@coalition.example\n"
            "Action: failed\nStatus: 5.1.0 (Remote SMTP server has rejected address)\n"
            "Remote-MTA: dns;aspmx.l.google.example\nDiagnostic-Code: smtp;550\n",
            "george@coalition.example",
            extra_part='--RPT-12\nContent-Type: text/plain; charset="utf-8"\n\n---\n\n'
            "original mailgun delivery status failure follows:\n\n"
            '{\n  "severity": "permanent",\n  "delivery-status": {\n    "message": "smtp; 550-5.1.1 The email account'
            " that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email"
            " address for typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1"
            '  https://support.google.com/mail/?p=NoSuchUser q57si464420qtq.5 - gsmtp",\n    "code": 550,\n'
            '    "description": ""\n  },\n  "reason": "bounce",\n  "recipient": "george@coalition.example",\n'
            '  "event": "failed"\n}\n\n',
        ),
        [Expect("george@coalition.example", "userunknown", True)],
    ),
    # --- second batch (written after the first fixes, run on main's classifier first) -------------------------------
    # FastMail's help on returned mail (https://www.fastmail.com/help/send/undeliverable.html): its Postfix report
    # "<a>: host xyz[/var/run/lmtpforward/outgoing] said: 550 5.1.1 <a>: Recipient address rejected: User unknown in
    # local recipient table (in reply to end of DATA command)" -- "this error message means the user ... doesn't
    # exist" (an LMTP hop answers after DATA; the registered X.1.1 decides over the stage) -- and "<a>: connect to
    # m1.somemail.com[]: Connection refused" -- "the other end refused our connection ... the system is down, or
    # they are specifically blocking" us: no server replied, the report names the connection it tried (the project's
    # reading of such a give-up: X.4.1 no answer from host, expired; soft either way).
    (
        "fastmail-lmtp-user-unknown-after-data",
        _plain(
            "MAILER-DAEMON@mail.fastmail.example (Mail Delivery System)",
            "Undelivered Mail Returned to Sender",
            "This is the Postfix program at host www.fastmail.example.\n\n"
            "I'm sorry to have to inform you that the message returned\nbelow could not be delivered to one or more"
            " destinations.\n\n                        The Postfix program\n\n"
            "<joebloggs@fastmail.example>: host xyz[/var/run/lmtpforward/outgoing] said: 550 5.1.1\n"
            "    <joebloggs@fastmail.example>: Recipient address rejected: User unknown in local recipient table (in"
            " reply\n    to end of DATA command)\n",
        ),
        [Expect("joebloggs@fastmail.example", "userunknown", True, True)],
    ),
    (
        "fastmail-connect-refused-gave-up",
        _plain(
            "MAILER-DAEMON@mail.fastmail.example (Mail Delivery System)",
            "Undelivered Mail Returned to Sender",
            "This is the Postfix program at host www.fastmail.example.\n\n"
            "I'm sorry to have to inform you that the message returned\nbelow could not be delivered to one or more"
            " destinations.\n\n                        The Postfix program\n\n"
            "<joebloggs@somemail.example>: connect to m1.somemail.example[192.0.2.120]: Connection refused\n",
        ),
        [Expect("joebloggs@somemail.example", "expired", False)],
    ),
    # GNU Mailutils' mda/maidag as a local delivery agent (https://gnu.org/software/mailutils/manual/html_node/
    # Mailbox-Quotas.html): "user: mailbox quota exceeded for this recipient", and "user: message would exceed maximum
    # mailbox size for this recipient" when this message would take the mailbox over its quota (both a full mailbox,
    # not a message too big), returned as "service unavailable"; Postfix local(8) reports a mailbox_command's failure
    # as 'Command died with status N: "<command>". Command output: <output>' (Postfix local(8), pipe_command).
    (
        "mailutils-maidag-mailbox-quota-exceeded",
        postfix_local(
            "kim@mda.example",
            'Command died with status 69: "/usr/bin/maidag". Command output: kim: mailbox quota exceeded for this'
            " recipient",
        ),
        [Expect("kim@mda.example", "mailboxfull", False)],
    ),
    (
        "mailutils-maidag-message-would-exceed-mailbox-size",
        postfix_local(
            "kim@mda.example",
            'Command died with status 69: "/usr/bin/maidag". Command output: kim: message would exceed maximum mailbox'
            " size for this recipient",
        ),
        [Expect("kim@mda.example", "mailboxfull", False)],
    ),
    # IONOS (1&1, kundenserver) reports a remote refusal as "SMTP error from remote server for <command> command, host:
    # <host> (<ip>) reason: <reply>" (https://pastebin.com/dS0JkYBA: "for RCPT TO command, host: mx01.1and1.es
    # (217.72.192.67) reason: 552-Requested mail action aborted: exceeded storage allocation 552-Quota exceeded."); the
    # same line for the TEXT (DATA) command with rspamd's multimap refusal, as NethServer's issue quotes it
    # (https://github.com/NethServer/dev/issues/5811: "reason: 554 5.7.1 Matched map: FORBIDDEN_FILE_EXTENSION", an
    # attachment of a forbidden file type: the content, contenterror as the catalog reads forbidden attachments).
    (
        "ionos-rcpt-exceeded-storage-allocation",
        ionos(
            "lara@remote.example",
            "SMTP error from remote server for RCPT TO command, host: mx01.remote.example (192.0.2.121) reason:"
            " 552-Requested mail action aborted: exceeded storage allocation 552-Quota exceeded.\n552 For explanation"
            " visit http://postmaster.1and1.example/en/error-messages?ip=192.0.2.9&c=quot",
        ),
        [Expect("lara@remote.example", "mailboxfull", False)],
    ),
    (
        "ionos-text-rspamd-forbidden-file-extension",
        ionos(
            "lara@remote.example",
            "SMTP error from remote server for TEXT command, host: mail.remote.example (192.0.2.122) reason: 554 5.7.1"
            " Matched map: FORBIDDEN_FILE_EXTENSION",
        ),
        [Expect("lara@remote.example", "contenterror", False)],
    ),
    # MailChannels (the outbound relay of many hosts) refusing at the end of DATA, relayed by cPanel's Exim
    # (https://pastebin.com/J5U2cP8j): "550 5.7.1 [CS] Message blocked. If this is a false positive, please report
    # this to your hosting service provider. See https://console.mailchannels.net/insights/bounce?...". Judgement: a
    # content scan that can have false positives (spamdetected); soft either way.
    (
        "mailchannels-cs-message-blocked",
        exim(
            "info@hotel.example",
            "host smtp.mailchannels.example [192.0.2.123]\n    SMTP error from remote mail server after end of data:\n"
            "    550 5.7.1 [CS] Message blocked. If this is a false positive, please report this to your hosting service"
            " provider. See https://console.mailchannels.example/insights/bounce?auid=host&txid=30ebd7a0",
        ),
        [Expect("info@hotel.example", "spamdetected", False)],
    ),
    # --- third batch: CommuniGate Pro's own report (run on main's classifier first) ------------------------------
    # CommuniGate Pro's failure notice: "Failed to deliver to '<a>'" / "SMTP module(domain <d>) reports:" / what the
    # module found (the layout as PHPMailer-BMH's bounce rules quote it, github.com/voku/PHPMailer-BMH
    # phpmailer-bmh_rules.php rule 0231: "connection with mx1.mail.domain.com is broken"; and as a public test fixture
    # quotes AppRiver's CommuniGate-based NDR: "SMTP module(domain aol.com) reports: message text rejected by
    # mx-aol.mail.gm0.yahoodns.net: 552 1 Requested mail action aborted, mailbox not found", Yahoo's published text
    # for an address with no mailbox).
    (
        "communigate-connection-broken",
        communigate("pat@remote.example", "remote.example", " connection with mx1.mail.remote.example is broken"),
        [Expect("pat@remote.example", "networkerror", False)],
    ),
    (
        "communigate-message-text-rejected-mailbox-not-found",
        communigate(
            "nicole@aol.example",
            "aol.example",
            " message text rejected by mx-aol.mail.gm0.yahoodns.example:\n 552 1 Requested mail action aborted, mailbox"
            " not found",
        ),
        [Expect("nicole@aol.example", "userunknown", True)],
    ),
    # --- fourth batch: published whole reports of kinds not yet covered (run on main's classifier first) ----------
    # cPanel's Exim refused at the greeting for three recipients of one domain, with its RFC 3464 part
    # (https://pastebin.com/uqn1m9qf: "SMTP error from remote mail server after initial connection: 554 Transaction
    # failed" for each): RFC 5321 554 at the greeting refuses this client, a block of the sending host for all three.
    (
        "exim-three-recipients-554-transaction-failed-at-greeting",
        _report(
            "Mail Delivery System <Mailer-Daemon@host40.registrar.example>",
            "Mail delivery failed: returning message to sender",
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            + "".join(
                f"  {a}@costar.example\n    host mailer.costar.example [192.0.2.130]\n"
                "    SMTP error from remote mail server after initial connection:\n    554 Transaction failed\n"
                for a in ("ricky", "katherine", "calvin")
            ),
            "Reporting-MTA: dns; host40.registrar.example\n\n"
            + "\n".join(
                f"Action: failed\nFinal-Recipient: rfc822;{a}@costar.example\nStatus: 5.0.0\n"
                "Remote-MTA: dns; mailer.costar.example\nDiagnostic-Code: smtp; 554 Transaction failed\n"
                for a in ("calvin", "katherine", "ricky")
            ),
            "ricky@costar.example",
        ),
        [
            Expect("calvin@costar.example", "blocked", False),
            Expect("katherine@costar.example", "blocked", False),
            Expect("ricky@costar.example", "blocked", False),
        ],
    ),
    # Exchange 2013's final NDR after the queue expired (https://pastebin.com/EimgND2Y): per recipient "Remote Server at
    # <host> (<ip>) returned '550 4.4.7 QUEUE.Expired; message expired'" and, above it, the last error: "451-4.4.0
    # Primary target IP address responded with: "550-"[<ip>]:50565 is in an RBL on bl.websitewelcome.com, see Blocked
    # 451 4.4.0 550 - Too many failed logins"." The give-up quotes why every attempt failed: the sending IP is on the
    # receiver's block list (blocked, the project's reading of a give-up that quotes its last error); soft either way.
    (
        "exchange2013-queue-expired-after-rbl-two-recipients",
        _plain(
            "Microsoft Outlook <postmaster@peo.example>",
            "Undeliverable: Your order",
            "Delivery has failed to these recipients or groups:\n\nit@getc.example\nhasan@getc.example\n\n"
            "The recipient server did not accept our requests to connect.\n\n"
            "Diagnostic information for administrators:\n\nGenerating server: EXCH02.peo.example\n"
            "Receiving server: mail.getc.example (192.0.2.131)\n\n"
            + "".join(
                f"{a}@getc.example\n"
                "3/12/2019 11:47:03 AM - Remote Server at mail.getc.example (192.0.2.131) returned '550 4.4.7"
                " QUEUE.Expired; message expired'\n"
                "3/12/2019 11:39:02 AM - Remote Server at mail.getc.example (192.0.2.131) returned '451-4.4.0 Primary"
                ' target IP address responded with: "550-"[192.0.2.132]:50565 is in an RBL on bl.websitewelcome.example,'
                ' see Blocked 451 4.4.0 550 - Too many failed logins"." Attempted failover to alternate host, but that'
                " did not succeed. Either there are no alternate hosts, or delivery failed to all alternate hosts. The"
                " last endpoint attempted was 192.0.2.131:25'\n\n"
                for a in ("it", "hasan")
            ),
            charset="utf-8",
        ),
        [Expect("it@getc.example", "blocked", False), Expect("hasan@getc.example", "blocked", False)],
    ),
    # Gmail's older delay warning (https://gist.github.com/filler/37c77542f42285627ddd330453078596): "THIS IS A
    # WARNING MESSAGE ONLY. YOU DO NOT NEED TO RESEND YOUR MESSAGE. Delivery to the following recipient has been
    # delayed: <a> Message will be retried for 2 more day(s) Technical details of temporary failure: ... The error
    # that the other server returned was: 554-mx1.cpa.state.tx.us 554 Your access to this mail system has been rejected
    # due to the sending MTA's poor reputation." Still being retried, and the reason is our sending host's reputation:
    # badreputation, soft.
    (
        "gmail-delay-poor-reputation-multiline-greeting",
        _plain(
            "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
            "Delivery Status Notification (Delay)",
            "This is an automatically generated Delivery Status Notification\n\n"
            "THIS IS A WARNING MESSAGE ONLY.\n\nYOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\n"
            "Delivery to the following recipient has been delayed:\n\n     jane.doe@cpa.example\n\n"
            "Message will be retried for 2 more day(s)\n\nTechnical details of temporary failure:\n"
            "Google tried to deliver your message, but it was rejected by the server for the recipient domain"
            " cpa.example by mx1.cpa.example. [192.0.2.133].\n\nThe error that the other server returned was:\n"
            "554-mx1.cpa.example\n554 Your access to this mail system has been rejected due to the sending MTA's poor"
            " reputation. If you believe that this failure is in error, please contact the CPA Postmaster.\n",
        ),
        [Expect("jane.doe@cpa.example", "badreputation", False)],
    ),
    # IONOS's older layout (https://pastebin.com/Qxbj9YWr): the address quoted and followed by a colon, then "SMTP error
    # from remote server after RCPT command:" / "host: <host>" / the reply, and 1&1's pointer to its explanation.
    (
        "ionos-quoted-address-rcpt-quota-exceeded",
        ionos(
            '"roger@legalmusic.example"',
            "SMTP error from remote server after RCPT command:\nhost: mx01.legalmusic.example\nRequested mail action"
            " aborted: exceeded storage allocation Quota exceeded.\nFor explanation visit"
            " http://postmaster.1and1.example/en/error-messages?ip=192.0.2.9&c=quot",
        ),
        [Expect("roger@legalmusic.example", "mailboxfull", False)],
    ),
    # --- fifth batch: receivers' replies as SendGrid's own documentation lists them (run on main first) -----------
    # https://sendgrid.com/docs/API_Reference/SMTP_API/errors_and_troubleshooting.html ("Response codes", replies
    # SendGrid meets at receiving servers): "450 too frequent connects from 198.37.147.135, please try again later."
    # (the sending IP connects too often: a connection-rate limit, toomanyconn) and "452 Too many recipients received
    # this hour (throttled)" (a limit per hour on what we send: speeding), here given up on and returned by a relay.
    (
        "sendgrid-doc-too-frequent-connects",
        postfix(
            "pat@receiver.example",
            "450 too frequent connects from 192.0.2.140, please try again later. (in reply to MAIL FROM command)",
            host="mx.receiver.example[192.0.2.141]",
        ),
        [Expect("pat@receiver.example", "toomanyconn", False)],
    ),
    (
        "sendgrid-doc-too-many-recipients-this-hour",
        postfix(
            "pat@receiver.example",
            "452 Too many recipients received this hour (throttled) (in reply to RCPT TO command)",
            host="mx.receiver.example[192.0.2.141]",
        ),
        [Expect("pat@receiver.example", "speeding", False)],
    ),
    # --- IceWarp as the receiver ---------------------------------------------------------------------------------------
    # IceWarp's own table of its 5xx replies (https://docs.icewarp.com/Content/IceWarp-Server/Administration-Nodes/
    # Status/Logs/Interpretation%20of%205xx%20Errors%20in%20Icewarp%20SMTP.htm, also esupport.icewarp.com KB 12):
    # "501 5.7.1 Message is too long" = "Exceeded message size limit" (the words decide over a 501 / X.7.1 pair).
    (
        "icewarp-501-message-is-too-long",
        postfix(
            "pat@icewarp-customer.example",
            "501 5.7.1 Message is too long (in reply to MAIL FROM command)",
            host="mail.icewarp-customer.example[192.0.2.95]",
        ),
        [Expect("pat@icewarp-customer.example", "mesgtoobig", False)],
    ),
]


# Failed on main's classifier (this branch's base, 73a6139), each expectation written before the classifier ran:
# 25 of the first 60. Two read a soft bounce hard: korean-inactive-mbox (X.1.1 with "Inactive mbox": hard and
# suppressible) and korean-registered-as-spammer-by-users-reject-list (a stage-less refusal at RCPT: hard, weak).
FAILED_ON_MAIN: set[str] = {
    "sunms-verizon-no-such-user-here",
    "verizon-571-blocked-anti-spam-system",
    "verizon-550-esp-blocked",
    "imail-delivery-failed-content-restrictions",
    "daum-chic-network-busy",
    "hanmail-das51-anti-spam-system",
    "naver-ip-filtered-register-realip",
    "korean-inactive-mbox",
    "korean-registered-as-spammer-by-users-reject-list",
    "korean-mail-denied-by-users-spam-filter",
    "paran-ip-control-via-ses-unknown-address-error",
    "korean-portal-24-hours-too-many-emails",
    "qq-error-content-rejected",
    "qq-chinese-recipient-space-insufficient",
    "qq-chinese-user-has-not-opened-qq-mail",
    "263-mail-size-limit-exceeded-mailbox-over-capacity",
    "cnhost-rcpt-handle-timeout-gave-up",
    "cnhost-dns-query-error",
    "yandex-policy-rejection-on-target-address",
    "mailru-invalid-mailbox-user-not-found",
    "exchange2003-de-recipient-not-found",
    "exchange2003-fr-destination-not-in-dns",
    "exchange2003-ja-time-limit",
    "outlook-es-451-local-error-in-processing",
    "exchange-fr-delay-notice-two-recipients",
    # second batch (FastMail, GNU Mailutils, IONOS, MailChannels), written after the first fixes and run on main's
    # classifier first: 4 of its 7 fail there, none read hard
    "fastmail-connect-refused-gave-up",
    "mailutils-maidag-message-would-exceed-mailbox-size",
    "ionos-text-rspamd-forbidden-file-extension",
    "mailchannels-cs-message-blocked",
    # third batch (CommuniGate Pro), run on main's classifier first: 1 of its 2 fails there, not read hard
    "communigate-connection-broken",
    # fourth batch (cPanel's Exim refused at the greeting, Exchange 2013's expired queue after an RBL refusal, Gmail's
    # older delay warning, IONOS's older layout): none of its 4 fails on main
    # fifth batch (receivers' replies from SendGrid's documentation): both fail on main, neither read hard
    "sendgrid-doc-too-frequent-connects",
    "sendgrid-doc-too-many-recipients-this-hour",
}
# Still failing on this branch (xfail, strict): the subset of FAILED_ON_MAIN no fix has reached yet.
STILL_FAILING: set[str] = FAILED_ON_MAIN - {
    # structure (bounce_text.py): Exchange's and Outlook's "<address> <on> <date>" line in the sender's language,
    # the address quoted as typed; then the "<server #X.Y.Z>" code under it decides
    "exchange2003-de-recipient-not-found",
    "exchange2003-ja-time-limit",
    "outlook-es-451-local-error-in-processing",
    # catalog: Exchange 2003's #5.4.0 "not found in DNS" sentence in French (loose, as in English)
    "exchange2003-fr-destination-not-in-dns",
    # catalog, the two harmful ones: "Inactive mbox" (a mailbox out of use, X.2.1 by its words whatever X.1.1 says)
    # is suspend, soft; a refusal "by user's reject list" is the recipient's own list (filtered), not an unknown user
    "korean-inactive-mbox",
    "korean-registered-as-spammer-by-users-reject-list",
    # structure (smtp_text.py): Sun Messaging Server's "Remote SMTP server has rejected address" names the stage,
    # RCPT TO, so "550 No Such User Here" there is an unknown user, not a filter after DATA
    "sunms-verizon-no-such-user-here",
    # catalog / wording: "Email from <ip> / your Email Service Provider is currently blocked" (Verizon) and "Your
    # IP(<ip>) is filtered" (Naver) name the sending host as blocked, whatever system blocks it
    "verizon-571-blocked-anti-spam-system",
    "verizon-550-esp-blocked",
    "naver-ip-filtered-register-realip",
    # catalog / reason.py: "Network is busy" at the greeting is the receiving system's state (systemerror); a greeting
    # that says "Connection refused" stays a refusal of this client even when it adds "Server is busy" (the CCRT case,
    # which passed on main, is what guards it); "sent too many e-mails" is a stated volume limit (speeding), read
    # before the generic sender refusal "you are not allowed"
    "daum-chic-network-busy",
    "korean-portal-24-hours-too-many-emails",
    # reason.py: generic refusal words ("Message rejected due to content restrictions") do not pre-empt an explicit
    # RFC 3463 X.6.X, which says the refusal is about the content
    "imail-delivery-failed-content-restrictions",
    # catalog, localised words with their source: QQ's "收件人空间不足" (full) and "该用户未开通QQ邮箱" (no such
    # mailbox; hard, weak without a code); Yandex's "Policy rejection on the target address" (its help: the account
    # was blocked; narrow, one provider's words)
    "qq-chinese-recipient-space-insufficient",
    "qq-chinese-user-has-not-opened-qq-mail",
    "yandex-policy-rejection-on-target-address",
    # one provider's words, registered narrow, each with its source: Mail.ru's "Local mailbox <a> is unavailable: user
    # not found" says the address does not exist even after DATA (where a bare "User unknown" is read as a filter);
    # Paran's "SPAM_SUSPECT:IP_CONTROL" is its IP control (a block of the sending host, not an unknown address)
    "mailru-invalid-mailbox-user-not-found",
    "paran-ip-control-via-ses-unknown-address-error",
    # second batch, catalog with sources: rspamd's FORBIDDEN_FILE_EXTENSION is the content (a refused attachment type);
    # Mailutils' "message would exceed maximum mailbox size" is a full mailbox
    "ionos-text-rspamd-forbidden-file-extension",
    "mailutils-maidag-message-would-exceed-mailbox-size",
    # third batch, catalog with its source: CommuniGate's "connection with <host> is broken" is the network
    "communigate-connection-broken",
    # reason.py, structure: no reply, no code, the connection attempt named with the socket's error ("connect to
    # <host>[<ip>]: Connection refused") in a report that gave up is RFC 3463 X.4.1 "no answer from host", expired
    # (the shared corpus's label for such give-ups)
    "fastmail-connect-refused-gave-up",
    # fifth batch: "too frequent connects" is a connection-rate limit (catalog, with its source); "too many recipients
    # received this hour" a rate (speeding), not RFC 5321's per-transaction recipient limit (wording)
    "sendgrid-doc-too-frequent-connects",
    "sendgrid-doc-too-many-recipients-this-hour",
}

# Why each one still fails, and why no rule was written for it.
WHY_STILL_FAILING: dict[str, str] = {
    "hanmail-das51-anti-spam-system": "'Your mail is blocked automatically by anti-spam system' reads as spam; the"
    " portal's page says the sending IP was block-listed, but the words name the mail, not the host; soft either way",
    "korean-mail-denied-by-users-spam-filter": "'mail is denied, by spam filter' reads as spam; the page files it"
    " with the recipient's own reject settings (filtered); a judgement, soft either way",
    "qq-error-content-rejected": "'550 Error: content rejected' reads as the generic filter the project gives"
    " 'content rejected'; QQ's help link says its filter judged the content (spam); soft either way",
    "263-mail-size-limit-exceeded-mailbox-over-capacity": "'mail size limit exceeded' reads as a message too big, as"
    " the words say; only 263's own page says it means a full mailbox; a rule for one page's meaning would misread"
    " the same words elsewhere; soft either way",
    "cnhost-rcpt-handle-timeout-gave-up": "a give-up that quotes '451 rcpt handle timeout' reads as expired: no"
    " catalog reason for the quoted error; soft either way",
    "cnhost-dns-query-error": "'DNS query error' reads as a network error (transient DNS); the host's page says the"
    " domain does not exist; soft is the conservative reading of a DNS failure",
    "exchange-fr-delay-notice-two-recipients": "the first recipient's delay reads by the last error Exchange quotes"
    " ('Connection dropped due to SocketError': networkerror) rather than as a delay (expired); soft either way",
    "mailchannels-cs-message-blocked": "'[CS] Message blocked. If this is a false positive ...' reads as the generic"
    " block of the sending host; only MailChannels' tag says content scan, and 'false positive' is also written for IP"
    " block lists; soft either way",
}


@pytest.mark.parametrize(("raw", "expected"), case_params(CASES, STILL_FAILING, WHY_STILL_FAILING))
def test_an_unreached_product_bounce_reads_as_a_careful_human_would(raw, expected):
    assert_reads_as(raw, expected)


def test_round_twelve_spans_the_products():
    products = {case_id.split("-")[0] for case_id, _raw, _exp in CASES}
    assert len(products) >= 15
    assert len(CASES) >= 60
    assert len({case_id for case_id, _raw, _exp in CASES}) == len(CASES)
    assert STILL_FAILING <= FAILED_ON_MAIN
    assert set(WHY_STILL_FAILING) == STILL_FAILING


def test_every_round_twelve_report_names_its_recipients():
    assert_every_report_names_its_recipients(CASES, STILL_FAILING)


# --- the rules round twelve added, each also where it must not fire ------------------------------------------------


def test_a_mailbox_out_of_use_is_suspend_whatever_x11_says_but_an_unknown_user_stays_hard():
    from maildispatch.core.returned_mail.reason import classify_reason

    assert classify_reason("5.1.1", 550, "550 5.1.1 Inactive mbox", "RCPT")[0] == "suspend"
    assert classify_reason("5.2.1", 550, "550 5.2.1 Suspended user", "RCPT")[0] == "suspend"
    unknown = "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in local recipient table"
    assert classify_reason("5.1.1", 550, unknown, "RCPT")[0] == "userunknown"


def test_a_users_own_reject_list_is_a_filter_and_a_blacklisted_sender_stays_a_sender_refusal():
    from maildispatch.core.returned_mail.reason import classify_reason

    assert classify_reason(None, 550, "550 You are registered as spammer (by user's reject list)", "RCPT")[0] == (
        "filtered"
    )
    assert classify_reason("5.7.1", 550, "550 5.7.1 Sender address is blacklisted", "RCPT")[0] == "rejected"


def test_your_ip_filtered_is_a_block_and_a_busy_greeting_is_the_system_unless_it_refuses_the_connection():
    from maildispatch.core.returned_mail.reason import classify_reason

    filtered_ip = "421 4.3.2 Your IP(192.0.2.7) is filtered and this connection will be closed."
    assert classify_reason("4.3.2", 421, filtered_ip, "CONN")[0] == "blocked"
    assert classify_reason("4.3.2", 421, "421 4.3.2 All server ports are busy", "CONN")[0] == "systemerror"
    assert classify_reason(None, 550, "550 Message filtered", "DATA")[0] == "filtered"
    assert classify_reason("4.4.1", 421, "421 4.4.1 CHIC 192.0.2.7: Network is busy.", "CONN")[0] == "systemerror"
    refused = "421 4.4.5 CCRT 192.0.2.7: Connection refused. Server is busy(RT)"
    assert classify_reason("4.4.5", 421, refused, "CONN")[0] == "blocked"


def test_generic_refusal_words_give_way_to_an_explicit_x6_code_only():
    from maildispatch.core.returned_mail.reason import classify_reason

    content = "554 5.6.0 Message rejected due to content restrictions"
    assert classify_reason("5.6.0", 554, content, None)[0] == "contenterror"
    assert classify_reason("5.7.1", 554, "554 5.7.1 Message rejected", None)[0] == "filtered"


def test_a_stated_volume_limit_is_speeding_and_a_plain_not_allowed_stays_a_sender_refusal():
    from maildispatch.core.returned_mail.reason import classify_reason

    volume = (
        "550 5.7.1 Error.your access was denied. Since you sent too many e-mails,you are not allowed to send more"
        " e-mails within 24 hours."
    )
    assert classify_reason("5.7.1", 550, volume, "RCPT")[0] == "speeding"
    assert classify_reason("5.7.1", 550, "550 5.7.1 You are not allowed to send mail to this list", None)[0] == (
        "rejected"
    )


def test_mail_from_an_ip_or_a_provider_blocked_is_a_block_and_a_message_blocked_as_spam_stays_spam():
    from maildispatch.core.returned_mail.reason import classify_reason

    verizon = "571 Email from 192.0.2.7 is currently blocked by Verizon Online's anti-spam system."
    assert classify_reason(None, 571, verizon, None)[0] == "blocked"
    assert classify_reason("5.7.1", 554, "554 5.7.1 Message blocked as spam", None)[0] == "spamdetected"


def test_sun_messaging_servers_rejected_address_names_rcpt_and_other_words_name_no_stage():
    from maildispatch.core.returned_mail.smtp_text import find_command

    assert find_command("Reason: Remote SMTP server has rejected address") == "RCPT"
    assert find_command("Reason: Over quota") is None


def test_exchanges_address_and_date_line_in_the_senders_language_names_the_recipient_and_nothing_else():
    from maildispatch.core.returned_mail.bounce_text import recipients_in_text

    text = (
        "Folgende(r) Empfänger kann/können nicht erreicht werden:\n\n"
        "      hans@firma.example am 05.12.2026 09:00\n            Text\n            <mail.corp.example #5.1.1>\n\n"
        "      'rosa@banco.example' en 05/12/2026 9:00\n            Error del servidor: '451 Requested action aborted'\n"
    )
    found = recipients_in_text(text, set())
    assert [f.recipient for f in found] == ["hans@firma.example", "rosa@banco.example"]
    assert "#5.1.1" in found[0].block
    # a header line of the quoted original is no recipient, whatever follows it
    assert recipients_in_text("From: shop@example.com 05.12.2026\n", set()) == []


def test_a_refused_connection_no_server_answered_is_no_answer_from_host_only_in_a_report_that_gave_up():
    from maildispatch.core.returned_mail.reason import classify_reason

    attempt = "connect to mx.remote.example[192.0.2.5]:25: Connection refused"
    assert classify_reason(None, None, attempt, None, "failed")[0] == "expired"
    assert classify_reason(None, None, attempt, None, "delayed")[0] == "networkerror"  # still being retried
    assert classify_reason(None, None, "Connection refused", None, "failed")[0] == "networkerror"  # no attempt named
    refused = "421 4.4.5 CCRT 192.0.2.7: Connection refused. Server is busy(RT)"
    assert classify_reason(None, 421, refused, "CONN", "failed")[0] == "blocked"  # a server answered and refused
