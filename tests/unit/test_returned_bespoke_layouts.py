"""Held-out bounces, round fifteen: bespoke and localised LAYOUTS (issue 13).

Small or bespoke MTAs write returned mail that follows no standard: a subject line, a sentence, the address
somewhere, the remote reply somewhere, maybe the original attached. Earlier rounds covered products and
receivers; this file varies the STRUCTURE around replies whose meaning is plain: where the address stands
(only in the quoted original's "To:", in angle brackets on the line before the reply, after the reply),
several recipients with different replies in one text, replies continued over several lines, replies quoted
after "said:", "answered:", "returned:", "Remote host said:", in parentheses, "(in reply to RCPT TO command)",
the explanation in twelve languages (Exchange / Office 365's localised NDR sentences and Postfix-based ISPs'
translated templates), HTML-only bounces, base64 / quoted-printable bodies, a bounce forwarded by a user and
mailing-list software's notices (Mailman, Sympa, LISTSERV) that quote a bounce.

Sources (each case names its own): the layouts of qmail-send's bounce (qmail's qmail-send.c, "Hi. This is the
qmail-send program ..."; https://cr.yp.to/qmail.html), Postfix's bounce templates
(https://www.postfix.org/bounce.5.html), Exim's error message (https://www.exim.org/exim-html-current/doc/html/
spec_html/ch-message_processing.html and its retry texts), Courier's (https://www.courier-mta.org/), Mailman 2's
templates/en/bounce.txt ("Uncaught bounce notification"; https://gitlab.com/mailman/mailman 2.1 branch), Sympa's
bounce handling manual (https://www.sympa.community/manual/), L-Soft LISTSERV's delivery error notices
(https://www.lsoft.com/manuals/), Microsoft's localised NDR texts (https://learn.microsoft.com/exchange/
mail-flow-best-practices/non-delivery-reports-in-exchange-online/non-delivery-reports-in-exchange-online),
Gmail's "Address not found" notice (https://support.google.com/mail/answer/6596), MasqMail's bounce templates
(https://github.com/ossilator/masqmail tpl/*.tpl*, read this round) and forum posts quoting bounces (Server Fault /
Super User questions named per case). Texts are written "(recalled)": as those pages
publish them, from memory, not re-read this round; the reading asked of the classifier does not hang on
small wording differences. Nothing was taken from any bounce collection.

The expected verdict was written before the classifier was run (round fifteen). Hard or soft follows the
reason (`model.is_hard`); when unsure between hard and soft the case says soft. Cases that failed on main are
in FAILED_ON_MAIN; those no fix reached are xfail (strict).
"""

from __future__ import annotations

import base64
import quopri
from email.header import Header

import pytest

from maildispatch.core.returned_mail import classify_returned_message
from tests.unit.held_out import Expect, assert_reads_as, case_params

SENDER = "news@example.com"
A = "anna.berg@remote.example"
B = "bo.lind@other.example"
C = "carl@third.example"


def _original(to: str, *, subject: str = "Spring newsletter") -> str:
    return (
        f"Return-Path: <{SENDER}>\nFrom: Example News <{SENDER}>\nTo: {to}\nSubject: {subject}\n"
        "Date: Sat, 05 Dec 2026 08:00:00 +0000\nMessage-ID: <nl-15@example.com>\n\nHello, here is the news.\n"
    )


def plain(
    body: str,
    *,
    from_: str = "MAILER-DAEMON@mx.bespoke.example",
    subject: str = "Returned mail",
    charset: str = "utf-8",
    cte: str = "8bit",
    ctype: str = "text/plain",
) -> bytes:
    data = body.encode(charset)
    if cte == "base64":
        payload = base64.encodebytes(data).decode("ascii")
    elif cte == "quoted-printable":
        payload = quopri.encodestring(data).decode("ascii")
    else:
        payload = data.decode(charset)
    head = (
        f"From: {from_}\nTo: {SENDER}\nSubject: {_subject(subject)}\nDate: Sat, 05 Dec 2026 08:05:00 +0000\n"
        f"MIME-Version: 1.0\nContent-Type: {ctype}; charset={charset}\nContent-Transfer-Encoding: {cte}\n\n"
    )
    return head.encode("ascii") + payload.encode(charset if cte == "8bit" else "ascii")


def with_original(
    text: str,
    to: str,
    *,
    from_: str = "MAILER-DAEMON@mx.bespoke.example",
    subject: str = "Undeliverable mail",
    charset: str = "utf-8",
    cte: str = "8bit",
    ctype: str = "text/plain",
) -> bytes:
    """multipart/mixed: the text (in `charset` / `cte`), then the original as message/rfc822."""
    data = text.encode(charset)
    if cte == "base64":
        payload = base64.encodebytes(data).decode("ascii")
    elif cte == "quoted-printable":
        payload = quopri.encodestring(data).decode("ascii")
    else:
        payload = text
    return (
        f"From: {from_}\nTo: {SENDER}\nSubject: {_subject(subject)}\nDate: Sat, 05 Dec 2026 08:05:00 +0000\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B15"\n\n'
        f"--B15\nContent-Type: {ctype}; charset={charset}\nContent-Transfer-Encoding: {cte}\n\n{payload}\n"
        f"--B15\nContent-Type: message/rfc822\n\n{_original(to)}\n--B15--\n"
    ).encode(charset if cte == "8bit" else "ascii")


def quoted_original(text: str, to: str, **kw: str) -> bytes:
    """The original pasted under the text, after a separator line (no MIME)."""
    return plain(f"{text}\n\n------ Original message follows ------\n\n{_original(to)}", **kw)


def _subject(text: str) -> str:
    """An RFC 2047 encoded word when the subject is not ASCII (as localised MTAs send it)."""
    return text if text.isascii() else Header(text, "utf-8").encode()


CASES: list[tuple[str, bytes, list[Expect]]] = []


def case(case_id: str, raw: bytes, *expected: Expect) -> None:
    CASES.append((case_id, raw, list(expected)))


HARD_UNKNOWN = Expect(A, "userunknown", True)

# --- 1. Where the address stands ------------------------------------------------------------------------------------
# The address only in the quoted original's "To:": a bespoke appliance's notice with the reply alone (a Super User
# question "Bounce message doesn't say which address failed", recalled; the reply is RFC 3463's 5.1.1).
case(
    "address-only-in-quoted-to",
    quoted_original("Your message could not be delivered.\n\nThe remote server replied:\n550 5.1.1 User unknown\n", A),
    HARD_UNKNOWN,
)
case(
    "address-only-in-attached-to",
    with_original("Delivery failed.\nReason: 550 5.1.1 No such user here\n", A),
    HARD_UNKNOWN,
)
# qmail-send's layout: "<addr>:" on the line before the remote's reply (qmail-send.c; qmail-remote's "Remote host
# said:" wording, https://cr.yp.to/qmail.html).
case(
    "qmail-address-line-before-reply",
    plain(
        "Hi. This is the qmail-send program at mx.bespoke.example.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{A}>:\n192.0.2.25 does not like recipient.\nRemote host said: 550 5.1.1 <{A}>... User unknown\n"
        "Giving up on 192.0.2.25.\n\n--- Below this line is a copy of the message.\n\n" + _original(A),
        subject="failure notice",
    ),
    HARD_UNKNOWN,
)
# The reply first, the address after it (a home-grown relay's log-style notice; the "for <addr>" form appears in
# many posts quoting appliance bounces, e.g. Server Fault "What does this bounce mean", recalled).
case(
    "reply-before-address",
    plain(f"Delivery failed.\n\n550 5.1.1 Mailbox does not exist\n    for <{A}>\n", subject="Mail delivery failed"),
    HARD_UNKNOWN,
)
case(
    "reply-then-recipient-label",
    plain(
        "The following message could not be delivered.\n\n"
        f"Error: 552 5.2.2 Mailbox full, quota exceeded\nRecipient: {A}\n",
        subject="Undelivered Mail",
    ),
    Expect(A, "mailboxfull", False),
)
# Angle brackets on the line before an indented reply (Courier's layout, https://www.courier-mta.org/, recalled).
case(
    "courier-rcpt-transcript",
    plain(
        "This is a delivery status notification from mx.bespoke.example,\n"
        "running the Courier mail server.\n\nThe original message was received on Sat, 05 Dec 2026 08:00:00 +0000\n"
        "from [192.0.2.10]\n\n"
        "---------------------------------------------------------------------------\n\n"
        f"                           UNDELIVERABLE MAIL\n\nYour message to the following recipients cannot be "
        f"delivered:\n\n<{A}>:\n    mx.remote.example [198.51.100.25]:\n>>> RCPT TO:<{A}>\n<<< 550 5.1.1 "
        "Recipient address rejected: User unknown in local recipient table\n",
        from_="postmaster@mx.bespoke.example",
        subject="NOTICE: mail delivery status.",
    ),
    HARD_UNKNOWN,
)

# --- 2. Several recipients with different replies in one text -------------------------------------------------------
# Postfix's template (https://www.postfix.org/bounce.5.html) as a bespoke relay reuses it for several recipients.
case(
    "two-recipients-postfix-style",
    plain(
        "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"
        f"<{A}>: host mx.remote.example[198.51.100.25] said: 550 5.1.1 <{A}>:\n"
        "    Recipient address rejected: User unknown (in reply to RCPT TO command)\n\n"
        f"<{B}>: host mx.other.example[198.51.100.26] said: 452 4.2.2 <{B}>:\n"
        "    Mailbox is full (in reply to RCPT TO command)\n",
        subject="Undelivered Mail Returned to Sender",
    ),
    HARD_UNKNOWN,
    Expect(B, "mailboxfull", False),
)
case(
    "three-recipients-qmail",
    plain(
        "Hi. This is the qmail-send program at mx.bespoke.example.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{A}>:\nRemote host said: 550 5.1.1 unknown user\n\n"
        f"<{B}>:\nSorry, I couldn't find any host named other.example. (#5.1.2)\n\n"
        f"<{C}>:\nRemote host said: 552 5.2.2 over quota\n\n--- Below this line is a copy of the message.\n",
        subject="failure notice",
    ),
    HARD_UNKNOWN,
    Expect(B, "hostunknown", True),
    Expect(C, "mailboxfull", False),
)
case(
    "two-recipients-listed-with-reasons",
    plain(
        "Your message was not delivered to the following recipients:\n\n"
        f"  {A} - 550 5.1.1 The email account that you tried to reach does not exist\n"
        f"  {B} - 554 5.7.1 Message rejected as spam\n",
        subject="Delivery failure",
    ),
    HARD_UNKNOWN,
    Expect(B, "spamdetected", False),
)

# --- 3. Replies continued over several lines ------------------------------------------------------------------------
# Gmail's multi-line reply (https://support.google.com/a/answer/3726730, recalled) quoted by a bespoke relay.
case(
    "continued-550-dash-lines",
    plain(
        f"Could not deliver to <{A}>.\nThe remote server answered:\n"
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
        "550-5.1.1 double-checking the recipient's email address for typos or\n"
        "550-5.1.1 unnecessary spaces. Learn more at\n550 5.1.1  https://support.google.com/mail/?p=NoSuchUser\n",
    ),
    HARD_UNKNOWN,
)
case(
    "continued-452-quota-lines",
    plain(
        f"Could not deliver to <{A}>.\nThe remote server answered:\n"
        "452-4.2.2 The email account that you tried to reach is over quota. Please direct\n"
        "452 4.2.2 the recipient to https://support.google.com/mail/?p=OverQuotaTemp\n",
        subject="Delivery delayed",
    ),
    Expect(A, "mailboxfull", False),
)
case(
    "continued-wrapped-indented",
    plain(
        f"{A}\n    SMTP error from remote mail server after RCPT TO:<{A}>:\n"
        "    550-Verification failed for <news@example.com>\n    550-Called:   192.0.2.10\n"
        "    550-Sent:     RCPT TO:<news@example.com>\n    550-Response: 550 Unrouteable address\n"
        "    550 Sender verify failed\n",
        subject="Mail delivery failed: returning message to sender",
    ),
    # the refusal is about OUR sender address (sender verify), never about the recipient: soft
    Expect(A, "rejected", False),
)

# --- 4. The reply after a verb or in parentheses ---------------------------------------------------------------------
case(
    "said-colon",
    plain(f"Delivery to {A} failed: mx.remote.example said: 550 5.1.1 no mailbox by that name\n"),
    HARD_UNKNOWN,
)
case(
    "answered-colon",
    plain(
        f"Sorry, we could not deliver to {A}.\nmx.remote.example answered: 550 Requested action not taken: "
        "mailbox unavailable (user unknown)\n"
    ),
    HARD_UNKNOWN,
)
case(
    "returned-colon",
    plain(
        f"Message to {A} was returned.\nThe server returned: 554 5.7.1 Service unavailable; Client host "
        "[192.0.2.10] blocked using zen.spamhaus.org\n"
    ),
    Expect(A, "blocked", False),
)
case(
    "remote-host-said",
    plain(f"Failed recipient: {A}\nRemote host said: 550 5.1.1 Recipient address rejected: User unknown\n"),
    HARD_UNKNOWN,
)
case(
    "reply-in-parentheses",
    plain(f"Unable to deliver to <{A}> (550 5.1.1 user does not exist)\n", subject="Delivery Status Notification"),
    HARD_UNKNOWN,
)
case(
    "in-reply-to-rcpt",
    plain(
        f"<{A}>: host mx.remote.example[198.51.100.25] refused to talk to me: 554 5.7.1 Your IP is listed "
        "in our block list (in reply to RCPT TO command)\n"
    ),
    Expect(A, "blocked", False),
)
case(
    "in-reply-to-end-of-data-spam",
    plain(
        f"<{A}>: host mx.remote.example[198.51.100.25] said: 550 5.7.1 Message rejected as spam by "
        "Content Filtering (in reply to end of DATA command)\n"
    ),
    Expect(A, "spamdetected", False),
)
case(
    "timeout-expired",
    plain(
        f"<{A}>: delivery temporarily suspended: connect to mx.remote.example[198.51.100.25]:25: "
        "Connection timed out\nMessage could not be delivered for 5 days. Giving up.\n",
        subject="Undelivered Mail Returned to Sender",
    ),
    Expect(A, "expired", False),
)

# --- 5. Localised sentences: Exchange / Office 365's NDR header line per language (recalled from Microsoft's
# localised NDRs) with an English remote reply, and alone (the localised "address not found" sentence). ----------
LOCAL_INTRO = {
    "de": ("Ihre Nachricht konnte nicht übermittelt werden", "Fehler bei der Zustellung an folgende Empfänger:"),
    "fr": ("Non remis", "La remise aux destinataires suivants a échoué :"),
    "es": ("No se puede entregar", "Error en la entrega a estos destinatarios o grupos:"),
    "it": ("Non recapitabile", "Recapito non riuscito ai seguenti destinatari o gruppi:"),
    "pt": ("Não entregue", "Falha na entrega a estes destinatários ou grupos:"),
    "nl": ("Onbestelbaar", "Aflevering mislukt voor deze geadresseerden of groepen:"),
    "pl": ("Niedostarczalne", "Dostarczenie do tych adresatów lub grup nie powiodło się:"),
    "cs": ("Nedoručitelné", "Doručení těmto příjemcům nebo skupinám se nezdařilo:"),
    "ru": ("Не доставлено", "Не удалось доставить сообщение следующим получателям или группам:"),
    "zh": ("无法投递", "邮件无法传递到以下收件人或组:"),
    "ja": ("配信不能", "次の受信者またはグループへの配信に失敗しました:"),
    "ko": ("배달 못 함", "다음 받는 사람 또는 그룹에게 배달하지 못했습니다."),
}
for lang, (subj, intro) in LOCAL_INTRO.items():
    case(
        f"localised-{lang}-english-reply",
        with_original(
            f"{intro}\n\n{A}\n\nRemote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'\n",
            A,
            from_="postmaster@outlook.example",
            subject=subj,
        ),
        HARD_UNKNOWN,
    )

# The localised sentence alone: "the e-mail address could not be found" / "the mailbox is full" in the language
# (Exchange's localised NDR bodies, recalled). The sentence, no code: a careful human reads the mailbox-full sentences
# as mailboxfull (soft); an "address not found" sentence alone is userunknown but without a code stays weak.
LOCAL_ALONE = [
    ("de", "Das Postfach des Empfängers ist voll und kann zurzeit keine Nachrichten annehmen.", "mailboxfull"),
    (
        "fr",
        "La boîte aux lettres du destinataire est pleine et ne peut pas accepter de messages pour l'instant.",
        "mailboxfull",
    ),
    ("es", "El buzón del destinatario está lleno y no puede aceptar mensajes ahora.", "mailboxfull"),
    ("it", "La cassetta postale del destinatario è piena e al momento non può accettare messaggi.", "mailboxfull"),
    ("pt", "A caixa de correio do destinatário está cheia e não pode aceitar mensagens no momento.", "mailboxfull"),
    ("ru", "Почтовый ящик получателя переполнен и сейчас не может принимать сообщения.", "mailboxfull"),
]
for lang, sentence, reason in LOCAL_ALONE:
    case(
        f"localised-{lang}-sentence-alone",
        with_original(
            f"{LOCAL_INTRO[lang][1]}\n\n{A}\n{sentence}\n",
            A,
            from_="postmaster@outlook.example",
            subject=LOCAL_INTRO[lang][0],
        ),
        Expect(A, reason, False),
    )

# A Postfix-based ISP's translated template (German ISPs translate bounce.cf: "Dies ist das Mailsystem auf dem
# Rechner ... Ihre Nachricht konnte nicht zugestellt werden", recalled from posts on German forums quoting them).
case(
    "postfix-german-template",
    plain(
        "Dies ist das Mailsystem auf dem Rechner mx.isp.example.\n\n"
        "Leider muss ich Ihnen mitteilen, dass Ihre Nachricht nicht an einen oder\nmehrere Empfänger "
        "zugestellt werden konnte.\n\n"
        f"<{A}>: host mx.remote.example[198.51.100.25] said: 550 5.1.1 <{A}>: Recipient\n"
        "    address rejected: User unknown (in reply to RCPT TO command)\n",
        subject="Unzustellbar: Spring newsletter",
    ),
    HARD_UNKNOWN,
)
case(
    "postfix-french-template",
    plain(
        "Ceci est le système de messagerie du serveur mx.isp.example.\n\n"
        "J'ai le regret de vous informer que votre message n'a pas pu être\nremis à un ou plusieurs destinataires.\n\n"
        f"<{A}>: host mx.remote.example[198.51.100.25] said: 552 5.2.2 Quota exceeded\n"
        "    (in reply to RCPT TO command)\n",
        subject="Message non remis",
        charset="iso-8859-1",
    ),
    Expect(A, "mailboxfull", False),
)

# --- 6. HTML-only, base64 and quoted-printable ------------------------------------------------------------------------
case(
    "html-only",
    plain(
        f"<html><body><p>Your message to <b>{A}</b> couldn't be delivered.</p>"
        "<p>Remote server said:<br>550 5.1.1 &lt;" + A + "&gt; User unknown</p></body></html>\n",
        ctype="text/html",
        subject="Undeliverable: Spring newsletter",
    ),
    HARD_UNKNOWN,
)
case(
    "html-only-with-table",
    plain(
        "<html><body><table><tr><td>Recipient</td><td>" + A + "</td></tr><tr><td>Status</td>"
        "<td>5.2.2 Mailbox full</td></tr></table></body></html>\n",
        ctype="text/html",
        subject="Delivery failure",
    ),
    Expect(A, "mailboxfull", False),
)
case(
    "base64-body",
    plain(f"Delivery to {A} failed.\nRemote host said: 550 5.1.1 User unknown\n", cte="base64"),
    HARD_UNKNOWN,
)
case(
    "quoted-printable-body",
    plain(
        f"Delivery to {A} failed permanently.\nRemote host said: 550 5.1.1 The email account that you tried "
        "to reach does not exist =E2=80=94 check the address\n",
        cte="quoted-printable",
    ),
    HARD_UNKNOWN,
)
case(
    "base64-localised-with-original",
    with_original(f"{LOCAL_INTRO['ja'][1]}\n\n{A}\n\n550 5.1.1 User unknown\n", A, cte="base64", subject="配信不能"),
    HARD_UNKNOWN,
)
case(
    "qp-html-multipart-alternative",
    (
        f"From: MAILER-DAEMON@mx.bespoke.example\nTo: {SENDER}\nSubject: Undeliverable\n"
        'MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="ALT"\n\n'
        "--ALT\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
        + quopri.encodestring(
            f"<p>Delivery to {A} has failed.</p><p>554 5.7.1 Message rejected: virus found (Eicar-Test-Signature)"
            "</p>".encode()
        ).decode()
        + "\n--ALT--\n"
    ).encode(),
    Expect(A, "virusdetected", False),
)

# --- 7. A bounce forwarded by a user -------------------------------------------------------------------------------
# Gmail's "Address not found" notice (https://support.google.com/mail/answer/6596, recalled) forwarded inline
# and as an attachment.
GMAIL_NOTICE = (
    "Address not found\n\n"
    f"Your message wasn't delivered to {A} because the address couldn't be found, or is unable to receive mail.\n\n"
    "The response from the remote server was:\n"
    f"550 5.1.1 <{A}>: Recipient address rejected: User unknown in virtual mailbox table\n"
)
case(
    "forwarded-inline",
    plain(
        "Hi, this bounced, can you check?\n\n---------- Forwarded message ---------\n"
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nDate: Sat, 5 Dec 2026 at 08:05\n"
        f"Subject: Delivery Status Notification (Failure)\nTo: <{SENDER}>\n\n" + GMAIL_NOTICE,
        from_="Colleague <colleague@example.com>",
        subject="Fwd: Delivery Status Notification (Failure)",
    ),
    HARD_UNKNOWN,
)
case(
    "forwarded-as-attachment",
    (
        f"From: Colleague <colleague@example.com>\nTo: {SENDER}\nSubject: Fwd: Undelivered Mail\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="FWD"\n\n'
        "--FWD\nContent-Type: text/plain\n\nSee below.\n"
        "--FWD\nContent-Type: message/rfc822\n\n"
        f"From: MAILER-DAEMON@mx.bespoke.example\nTo: {SENDER}\nSubject: Undelivered Mail Returned to Sender\n\n"
        f"<{A}>: host mx.remote.example[198.51.100.25] said: 550 5.1.1 User unknown (in reply to RCPT TO command)\n"
        "--FWD--\n"
    ).encode(),
    HARD_UNKNOWN,
)
case(
    "forwarded-inline-quoted-gt",
    plain(
        "FYI\n\n> -----Original Message-----\n> From: postmaster@mx.bespoke.example\n> Subject: Undeliverable\n>\n"
        f"> Delivery to {A} failed.\n> 552 5.2.2 Mailbox full\n",
        from_="Colleague <colleague@example.com>",
        subject="FW: Undeliverable",
    ),
    Expect(A, "mailboxfull", False),
)

# --- 8. Mailing-list software's notices that quote a bounce ---------------------------------------------------------
# Mailman 2.1 templates/en/bounce.txt: "The attached message was received as a bounce, but either the bounce format
# was not recognized, or no member addresses could be extracted from it. ..." (recalled); the bounce attached.
MAILMAN_TEXT = (
    "This is a Mailman mailing list bounce action notice:\n\n"
    "The attached message was received as a bounce, but either the bounce\nformat was not recognized, or no member "
    "addresses could be extracted\nfrom it.  This mailing list has been configured to send all\nunrecognized bounce "
    "messages to the list administrator(s).\n"
)


def mailman(inner: str) -> bytes:
    return (
        f"From: news-bounces@lists.example.com\nTo: {SENDER}\nSubject: Uncaught bounce notification\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="MM"\n\n'
        f"--MM\nContent-Type: text/plain; charset=us-ascii\n\n{MAILMAN_TEXT}\n"
        f"--MM\nContent-Type: message/rfc822\n\n{inner}\n--MM--\n"
    ).encode()


case(
    "mailman-uncaught-qmail",
    mailman(
        f"From: MAILER-DAEMON@mx.remote.example\nTo: news-bounces@lists.example.com\nSubject: failure notice\n\n"
        f"Hi. This is the qmail-send program at mx.remote.example.\n\n<{A}>:\n"
        "Sorry, no mailbox here by that name. (#5.1.1)\n"
    ),
    HARD_UNKNOWN,
)
case(
    "mailman-uncaught-bespoke-full",
    mailman(
        f"From: postmaster@mx.remote.example\nTo: news-bounces@lists.example.com\nSubject: Returned mail\n\n"
        f"Message to {A} could not be delivered: 552 5.2.2 mailbox over quota\n"
    ),
    Expect(A, "mailboxfull", False),
)
# Sympa forwards unrecognised bounces to the list owner ("bounce" notices; https://www.sympa.community/manual/,
# recalled) with the bounce attached.
case(
    "sympa-forwarded-bounce",
    (
        f"From: sympa-request@lists.example.com\nTo: {SENDER}\nSubject: Bounce for list news\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="SY"\n\n'
        "--SY\nContent-Type: text/plain\n\nSympa could not process this non-delivery report; it is forwarded "
        "to you.\n--SY\nContent-Type: message/rfc822\n\n"
        f"From: MAILER-DAEMON@mx.remote.example\nTo: news-owner@lists.example.com\nSubject: Mail delivery failed\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent "
        f"error. The following address(es) failed:\n\n  {A}\n    host mx.remote.example [198.51.100.25]\n"
        f"    SMTP error from remote mail server after RCPT TO:<{A}>:\n    550 5.1.1 unknown user account\n"
        "--SY--\n"
    ).encode(),
    HARD_UNKNOWN,
)
# L-Soft LISTSERV's delivery error notice (recalled from LISTSERV's manuals): the error quoted per address.
case(
    "listserv-delivery-error",
    plain(
        "The enclosed message has been identified as a delivery error for the NEWS\nlist because it was sent "
        "to 'owner-news@listserv.example.com'.\n\n"
        f"------------------------------ Rejected message ------------------------------\n\n"
        f"Delivery to the following recipient failed permanently:\n\n     {A}\n\n"
        "Technical details of permanent failure:\n550 5.1.1 User unknown\n",
        from_="L-Soft list server at LISTSERV.EXAMPLE.COM <LISTSERV@listserv.example.com>",
        subject="Delivery error report",
    ),
    HARD_UNKNOWN,
)

# --- 9. Bespoke one-liners with hosts, delays and policy refusals ----------------------------------------------------
case(
    "bespoke-host-not-found",
    plain(
        f"Could not deliver message to {A}: Host or domain name not found. Name service error for "
        "name=remote.example type=MX: Host not found\n"
    ),
    Expect(A, "hostunknown", True),
)
case(
    "bespoke-delay-warning",
    plain(
        f"This is a warning only. Your message to {A} has not yet been delivered.\n"
        "Reason: 451 4.3.0 Temporary system failure, please try again later.\nWe will keep trying for 4 more "
        "days.\n",
        subject="Delivery delayed: Spring newsletter",
    ),
    # a delay notice: soft; the remote's own temporary failure (RFC 3463 X.3.0, mail system status)
    Expect(A, "systemerror", False),
)
case(
    "bespoke-message-too-big",
    plain(f"Delivery to {A} failed.\nReason: 552 5.3.4 Message size exceeds fixed maximum message size\n"),
    Expect(A, "mesgtoobig", False),
)
case(
    "bespoke-relay-denied",
    plain(f"Delivery to {A} failed.\nRemote host said: 554 5.7.1 <{A}>: Relay access denied\n"),
    Expect(A, "norelaying", False),
)
case(
    "bespoke-disabled-account",
    plain(
        f"Delivery to {A} failed.\nRemote host said: 550 5.2.1 The email account that you tried to reach is disabled.\n"
    ),
    Expect(A, "suspend", False),
)


# --- 10. More structures (added in the same round, before any fix) --------------------------------------------------
# Exchange's localised "The e-mail address you entered couldn't be found" sentence alone (Exchange 2007/2010 NDR
# strings in those languages, recalled): a careful human reads an unknown address; with no code it is hard but weak.
LOCAL_NOT_FOUND = [
    ("nl", "Het e-mailadres dat u hebt ingevoerd, is niet gevonden."),
    ("pl", "Nie można odnaleźć wprowadzonego adresu e-mail."),
    ("cs", "Zadaná e-mailová adresa nebyla nalezena."),
    ("zh", "找不到您输入的电子邮件地址。"),
    ("ja", "入力した電子メール アドレスが見つかりませんでした。"),
    ("ko", "입력한 전자 메일 주소를 찾을 수 없습니다."),
]
for lang, sentence in LOCAL_NOT_FOUND:
    case(
        f"localised-{lang}-not-found-alone",
        with_original(
            f"{LOCAL_INTRO[lang][1]}\n\n{A}\n{sentence}\n",
            A,
            from_="postmaster@outlook.example",
            subject=LOCAL_INTRO[lang][0],
        ),
        Expect(A, "userunknown", True, strong=False),
    )
# The "recipient's mailbox is full" sentence alone in the other six languages (Exchange's localised NDR strings,
# recalled): soft, whatever the confidence.
LOCAL_FULL = [
    ("nl", "Het postvak van de geadresseerde is vol en kan momenteel geen berichten accepteren."),
    ("pl", "Skrzynka pocztowa adresata jest pełna i w tej chwili nie może przyjmować wiadomości."),
    ("cs", "Poštovní schránka příjemce je plná a momentálně nemůže přijímat zprávy."),
    ("zh", "收件人的邮箱已满，现在无法接受邮件。"),
    ("ja", "受信者のメールボックスがいっぱいで、現在メッセージを受信できません。"),
    ("ko", "받는 사람의 사서함이 가득 차서 지금은 메시지를 받을 수 없습니다."),
]
for lang, sentence in LOCAL_FULL:
    case(
        f"localised-{lang}-full-alone",
        with_original(
            f"{LOCAL_INTRO[lang][1]}\n\n{A}\n{sentence}\n",
            A,
            from_="postmaster@outlook.example",
            subject=LOCAL_INTRO[lang][0],
        ),
        Expect(A, "mailboxfull", False),
    )
# Postfix-based ISPs' translated templates in Spanish, Italian, Portuguese (Brazilian hosters) and Russian, each with
# the remote's English reply (recalled from forum posts quoting them).
case(
    "postfix-spanish-template",
    plain(
        "Este es el sistema de correo del servidor mx.isp.example.\n\n"
        "Lamento informarle que su mensaje no pudo ser entregado a uno o más\ndestinatarios.\n\n"
        f"<{A}>: host mx.remote.example[198.51.100.25] said: 550 5.1.1 User unknown (in\n"
        "    reply to RCPT TO command)\n",
        subject="Correo no entregado",
    ),
    HARD_UNKNOWN,
)
case(
    "postfix-italian-template",
    plain(
        "Questo è il sistema di posta del server mx.isp.example.\n\n"
        "Siamo spiacenti di informarla che il suo messaggio non può essere\nconsegnato a uno o più destinatari.\n\n"
        f"<{A}>: host mx.remote.example[198.51.100.25] said: 452 4.2.2 Mailbox full (in\n"
        "    reply to RCPT TO command)\n",
        subject="Messaggio non consegnato",
    ),
    Expect(A, "mailboxfull", False),
)
case(
    "postfix-portuguese-template",
    plain(
        "Esta é uma mensagem do sistema de e-mail do servidor mx.isp.example.\n\n"
        "Lamentamos informar que sua mensagem não pôde ser entregue a um ou mais\ndestinatários.\n\n"
        f"<{A}>: host mx.remote.example[198.51.100.25] said: 554 5.7.1 Service unavailable;\n"
        "    Client host [192.0.2.10] blocked using bl.spamcop.net (in reply to RCPT TO command)\n",
        subject="Mensagem não entregue",
    ),
    Expect(A, "blocked", False),
)
case(
    "postfix-russian-template",
    plain(
        "Это почтовая система сервера mx.isp.example.\n\n"
        "К сожалению, ваше сообщение не может быть доставлено одному или\nнескольким получателям.\n\n"
        f"<{A}>: host mx.remote.example[198.51.100.25] said: 550 5.1.1 No such user (in\n"
        "    reply to RCPT TO command)\n",
        subject="Сообщение не доставлено",
        charset="koi8-r",
    ),
    HARD_UNKNOWN,
)
# A Russian host's own sentence alone, no code ("Пользователь не найден" = user not found): hard, weak.
case(
    "russian-user-not-found-alone",
    quoted_original(f"Сообщение не может быть доставлено.\n\nАдрес: {A}\nПричина: пользователь не найден.\n", A),
    Expect(A, "userunknown", True, strong=False),
)
# Only one of the original's two recipients failed; the text names it (the other must not be reported).
case(
    "one-of-two-original-recipients",
    with_original(
        f"Delivery to the following recipient failed permanently:\n\n     {B}\n\n"
        "Technical details of permanent failure:\n550 5.1.1 No such user\n",
        f"{A}, {B}",
    ),
    Expect(B, "userunknown", True),
)
# The sender's address named before the failed one ("Your message from news@example.com to X ..."): never the sender.
case(
    "sender-named-first",
    plain(f"Your message from {SENDER} to {A} could not be delivered.\nReason: 550 5.1.1 Recipient unknown\n"),
    HARD_UNKNOWN,
)
# Office 365-style HTML-only body: the address in a mailto link and the explanation sentence.
case(
    "html-only-mailto-not-found",
    plain(
        f'<html><body><p><b>Your message to <a href="mailto:{A}">{A}</a> couldn\'t be delivered.</b></p>'
        "<p>anna.berg wasn't found at remote.example.</p>"
        "<p>Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address "
        "lookup'</p></body></html>\n",
        ctype="text/html",
        subject="Undeliverable: Spring newsletter",
    ),
    HARD_UNKNOWN,
)
# Exim's retry timeout with the address after the explanation (Exim's "retry timeout exceeded", spec ch. 32).
case(
    "exim-retry-timeout-address-after",
    plain(
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent "
        f"error. The following address(es) failed:\n\n  {A}\n    retry timeout exceeded\n",
        subject="Mail delivery failed: returning message to sender",
    ),
    Expect(A, "expired", False),
)
# Apple Mail's "Begin forwarded message:" around a qmail bounce.
case(
    "forwarded-apple-mail",
    plain(
        "Got this back.\n\nBegin forwarded message:\n\n> From: MAILER-DAEMON@mx.remote.example\n"
        "> Subject: failure notice\n>\n> Hi. This is the qmail-send program at mx.remote.example.\n"
        "> I'm afraid I wasn't able to deliver your message to the following addresses.\n>\n"
        f"> <{A}>:\n> Sorry, no mailbox here by that name. (#5.1.1)\n",
        from_="Colleague <colleague@example.com>",
        subject="Fwd: failure notice",
    ),
    HARD_UNKNOWN,
)
# Mailman's uncaught notice around an RFC 3464 report.
case(
    "mailman-uncaught-dsn",
    (
        f"From: news-bounces@lists.example.com\nTo: {SENDER}\nSubject: Uncaught bounce notification\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="MM"\n\n'
        f"--MM\nContent-Type: text/plain; charset=us-ascii\n\n{MAILMAN_TEXT}\n"
        "--MM\nContent-Type: message/rfc822\n\n"
        "From: MAILER-DAEMON@mx.remote.example\nTo: news-bounces@lists.example.com\nSubject: Returned mail\n"
        'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="IN"\n\n'
        "--IN\nContent-Type: text/plain\n\nDelivery failed.\n"
        "--IN\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.remote.example\n\n"
        f"Final-Recipient: rfc822; {A}\nAction: failed\nStatus: 5.2.2\n"
        "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n\n--IN--\n\n--MM--\n"
    ).encode(),
    Expect(A, "mailboxfull", False),
)
# A bare 550 with the RFC 5321 default text and an explanation in parentheses, stage stated (Sendmail-style).
case(
    "parenthesised-reason-with-stage",
    plain(
        "----- The following addresses had permanent fatal errors -----\n"
        f"<{A}>\n    (reason: 550 Requested action not taken: mailbox unavailable)\n\n"
        "   ----- Transcript of session follows -----\n"
        f"... while talking to mx.remote.example.:\n>>> RCPT To:<{A}>\n<<< 550 Requested action not taken: "
        "mailbox unavailable\n550 5.1.1 " + A + "... User unknown\n",
        subject="Returned mail: see transcript for details",
    ),
    HARD_UNKNOWN,
)

# Postfix's "(expanded from <addr>)": the address we sent to is the one in parentheses, the failed one its alias's
# target (https://www.postfix.org/bounce.5.html, recalled). As in an RFC 3464 report, the verdict's recipient is the
# final (failed) address; the address we sent to must come along as its original recipient (the test below).
EXPANDED_FINAL = "old.anna@mx.remote.example"
case(
    "postfix-expanded-from",
    plain(
        "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"
        f"<old.anna@mx.remote.example> (expanded from <{A}>): host\n    mx.remote.example[198.51.100.25] said: "
        "550 5.1.1 <old.anna@mx.remote.example>:\n    Recipient address rejected: User unknown (in reply to RCPT TO "
        "command)\n",
        subject="Undelivered Mail Returned to Sender",
    ),
    Expect(EXPANDED_FINAL, "userunknown", True),
)
# Exchange's list of recipients with one shared explanation (a Korean ISP's Postfix-based notice with an English
# reply, recalled): both recipients, same verdict.
case(
    "korean-two-recipients-one-reply",
    plain(
        f"메일을 전송하지 못했습니다.\n\n받는 사람:\n  {A}\n  {B}\n\n서버 응답: 550 5.1.1 User unknown\n",
        subject="메일 전송 실패",
    ),
    HARD_UNKNOWN,
    Expect(B, "userunknown", True),
)
# A Chinese provider's own notice with the remote reply after a Chinese label ("对方服务器返回" = the other server
# returned), recalled from forum posts quoting such notices.
case(
    "chinese-label-english-reply",
    plain(
        f"您发送的邮件未能成功投递。\n\n收件人：{A}\n对方服务器返回：552 5.2.2 Mailbox quota exceeded\n",
        subject="退信通知",
        charset="gb18030",
    ),
    Expect(A, "mailboxfull", False),
)


# --- 11. The address only outside the text, and "user unknown" in a host's own words in other languages -----------
# The address only in the Subject ("Delivery failure to <addr>", a bespoke relay; forum posts quoting such
# notices, recalled), the body the reply alone.
case(
    "address-only-in-subject",
    plain(
        "The remote server rejected the message.\n\n550 5.1.1 Recipient address rejected: User unknown\n",
        subject=f"Delivery failure to {A}",
    ),
    HARD_UNKNOWN,
)
# The address only in Exim's X-Failed-Recipients header (Exim spec, "X-Failed-Recipients:"), a bespoke body.
case(
    "address-only-in-x-failed-recipients",
    (
        f"From: MAILER-DAEMON@mx.bespoke.example\nTo: {SENDER}\nSubject: Mail delivery failed\n"
        f"X-Failed-Recipients: {A}\nMIME-Version: 1.0\nContent-Type: text/plain\n\n"
        "Your message could not be delivered.\n550 5.2.2 mailbox full\n"
    ).encode(),
    Expect(A, "mailboxfull", False),
)
# Labelled fields, the reply above the address ("Diagnostic:" then "Original recipient:"; a bespoke gateway's
# report layout, recalled from a Server Fault question quoting one).
case(
    "labelled-diagnostic-before-recipient",
    plain(
        "Message delivery failed.\n\nDiagnostic: 550 5.1.1 The recipient does not exist\n"
        f"Original recipient: {A}\nRemote MTA: mx.remote.example\n",
        subject="Message delivery failed",
    ),
    HARD_UNKNOWN,
)
# An HTML-only body naming the address only in a link's href (the visible text the display name).
case(
    "html-address-only-in-href",
    plain(
        f'<html><body><p>Your message to <a href="mailto:{A}">Anna Berg</a> could not be delivered.</p>'
        "<p>The server said: 552 5.2.2 Mailbox quota exceeded</p></body></html>\n",
        ctype="text/html",
        subject="Undeliverable",
    ),
    Expect(A, "mailboxfull", False),
)
# Hosts' own "unknown user" words with no code (hard, weak: a phrase alone never suppresses). Generic words of each
# language for RFC 3463 X.1.1, as ISPs' localised notices write them (recalled from their help pages).
LOCAL_UNKNOWN_USER = [
    ("de", "Empfänger unbekannt: Diese E-Mail-Adresse existiert nicht."),
    ("fr", "Destinataire inconnu : cette adresse n'existe pas."),
    ("es", "Usuario desconocido: la dirección de correo no existe."),
    ("it", "Utente sconosciuto: l'indirizzo di posta non esiste."),
    ("pt", "Usuário desconhecido: a conta de e-mail não existe."),
    ("cs", "Neznámý uživatel: adresát neexistuje."),
    ("zh", "收件人不存在。"),
]
for lang, sentence in LOCAL_UNKNOWN_USER:
    case(
        f"host-own-{lang}-unknown-user",
        quoted_original(f"{A}\n{sentence}\n", A),
        Expect(A, "userunknown", True, strong=False),
    )
# Japanese ISP notice with the reply quoted in Japanese brackets ("相手サーバーからの応答" = the remote server's reply).
case(
    "japanese-bracketed-reply",
    plain(
        f"メールを配信できませんでした。\n宛先: {A}\n相手サーバーからの応答:「550 5.1.1 User unknown」\n",
        subject="メール配信エラー",
        charset="iso-2022-jp",
    ),
    HARD_UNKNOWN,
)


# --- 12. MasqMail, a small MTA whose bounce is a template with the recipients and one error message apart ----------
# Its templates (read this round): https://github.com/ossilator/masqmail tpl/failmsg.tpl, failmsg.tpl.de,
# failmsg.tpl.it and warnmsg.tpl; src/fail_msg.c writes each failed recipient as "\t<addr>" in place of
# "@failed_rcpts" and the error text in place of "${err_msg}" (the remote's reply, as we fill it in here).
MASQ_DE = """\
Diese Nachricht wurde Ihnen von dem Mail Agenten
(masqmail 0.3.6) auf mx.bespoke.example geschickt.
(This message was sent to you by the mailer daemon (masqmail 0.3.6)
at mx.bespoke.example.)

Bedauerlicherweise konnte Ihre Mail nicht an alle Empfänger weitergeleitet
werden.
(Sorry, but your mail could not be delivered to all recipients.)

Die Zustellung zu den folgenden Empfängern ist permanent
fehlgeschlagen. Es wird kein weiterer Versuch unternommen:
(Delivery to the following recipients failed permanently and has been given
up:)

\t<{rcpt}>

Diese Fehlermeldung könnte einen Hinweis über die Ursache geben:
(This error message may give you a hint about what caused the
failure:)

{err}

Für weitere Hilfe, schreiben Sie an <postmaster@mx.bespoke.example>.
(If you need help, write to <postmaster@mx.bespoke.example>.)
"""
MASQ_WARN = """\
This message was sent to you by the mailer daemon (masqmail 0.3.6)
at mx.bespoke.example.

Sorry, but your mail could not yet be delivered to all recipients.
Delivery to the following recipients has been defered:

\t<{rcpt}>

Delivery will be tried again, until it is either successful or a
timeout has been reached. If the latter happens, you will get a
delivery failure notice.


This error message may give you a hint about what caused the
delay:

{err}

If you need help, write to <postmaster@mx.bespoke.example>.
"""


def masqmail(text: str, subject: str, *, charset: str = "utf-8") -> bytes:
    return (
        f"Subject: {subject}\nFrom: MAILER-DAEMON@mx.bespoke.example\nTo: {SENDER}\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed;\n        boundary="1Kx9-0001/mx.bespoke.example"\n\n'
        "This is a MIME-encapsulated message.\n\n--1Kx9-0001/mx.bespoke.example\n"
        f"Content-Description: Notification\nContent-Type: text/plain;\n  charset={charset}\n\n{text}\n"
        "--1Kx9-0001/mx.bespoke.example\nContent-Description: Undelivered Message\nContent-Type: message/rfc822\n\n"
        f"{_original(A)}\n--1Kx9-0001/mx.bespoke.example--\n"
    ).encode(charset)


case(
    "masqmail-german-unknown-user",
    masqmail(
        MASQ_DE.format(rcpt=A, err="550 5.1.1 <" + A + ">: Recipient address rejected: User unknown"),
        "Mail Delivery Failure Notice",
    ),
    HARD_UNKNOWN,
)
case(
    "masqmail-german-host-not-found",
    masqmail(
        MASQ_DE.format(rcpt=A, err="could not resolve remote.example: Host not found"), "Mail Delivery Failure Notice"
    ),
    # no reply: the sending MTA's own lookup failed; "host not found" names the domain (hard, weak)
    Expect(A, "hostunknown", True, strong=False),
)
case(
    "masqmail-warning-deferred",
    masqmail(
        MASQ_WARN.format(rcpt=A, err="451 4.7.1 Greylisting in action, please come back later"),
        "Warning: could not yet send message",
    ),
    # a delay notice about greylisting: soft; the greylisting refusal aims at unknown senders (RFC 6647)
    Expect(A, "blocked", False),
)
# The Italian template's header block ends after its Subject (a blank line before MIME-Version): the MIME structure
# arrives as plain text in the body, boundaries and all (failmsg.tpl.it as read this round).
case(
    "masqmail-italian-broken-headers",
    (
        f"From: MAILER-DAEMON@mx.bespoke.example\nTo: {SENDER}\n"
        "Subject: invio messaggio FALLITO / Mail Delivery Failure Notice\n\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed;\n        boundary="1Kx9-0002/mx.bespoke.example"\n\n'
        "Messaggio in formato MIME multi-parti.\nThis is a MIME-encapsulated message.\n\n"
        "--1Kx9-0002/mx.bespoke.example--\nContent-Description: Notifica-Notify\nContent-Type: text/plain\n\n"
        "Questo messaggio ti e' stato spedito dal demone: \n (This message was sent to you by the mailer daemon:)\n"
        "(masqmail 0.2.21) @ mx.bespoke.example:\n\n"
        "Spiacente ma non e' stato possibile spedire il tuo msg a tutti\ni destinatari. L'invio ai seguenti "
        "destinatari e' fallito in modo\npermanente e non verra' ritentato:\n (Sorry, but your mail could not be "
        "delivered to all recipients.\n  Delivery to the following recipients failed permanently and has \n  been "
        f"given up:)\n\n\t{A}\n\nIl seguente msg d'errore potrebbe aiutarti a capire la causa \ndell'errore:\n"
        " (This error message may give you a hint about what caused the\n  failure:)\n\n"
        "552 5.2.2 Mailbox full\n\nIn caso ti serva aiuto scrivi a <postmatster@mx.bespoke.example>.\n"
    ).encode(),
    Expect(A, "mailboxfull", False),
)


# --- 13. Encodings that split or hide the structure ------------------------------------------------------------------
# Quoted-printable soft line breaks ("=" at the end of a line, RFC 2045 6.7) falling inside the address and the reply.
_LONG = (
    "Delivery to the following recipient failed permanently (remote refusal): "  # 73 characters: the break
    f"{A} - the remote server said 550 5.1.1 The email account that you tried to reach does not exist.\n"
)
assert quopri.encodestring(_LONG.encode()).decode().startswith(_LONG[:73] + "an=\n")
case("qp-soft-break-inside-address", plain(_LONG, cte="quoted-printable"), HARD_UNKNOWN)
# Base64 HTML only, two recipients in a table with their replies (an Office 365-like HTML body, recalled).
case(
    "base64-html-table-two-recipients",
    plain(
        "<html><body><p>Delivery has failed to these recipients or groups:</p><table>"
        f"<tr><td>{A}</td><td>550 5.1.1 User unknown</td></tr>"
        f"<tr><td>{B}</td><td>552 5.2.2 Mailbox full</td></tr></table></body></html>\n",
        ctype="text/html",
        cte="base64",
        subject="Undeliverable: Spring newsletter",
    ),
    HARD_UNKNOWN,
    Expect(B, "mailboxfull", False),
)


# Failed on main when first run (round fifteen), before any classifier change: case id -> what main read.
FAILED_ON_MAIN: dict[str, str] = {
    # Left failing on purpose: reading a bare 550 "user unknown" with no stage and no enhanced code as an unknown
    # user (reason.py `_refine`) turns three soft (filtered) shared-corpus messages hard (soft predicted hard
    # 0.67 % -> 1.68 %); the stage is what tells the two apart, and this text does not state it.
    "answered-colon": "filtered (a bare 550 'user unknown' with no stage read as a filter after RCPT)",
    "localised-pl-not-found-alone": "onhold (the Polish sentence unknown)",
    "localised-cs-not-found-alone": "onhold (the Czech sentence unknown)",
    "localised-zh-not-found-alone": "onhold (the Chinese sentence unknown)",
    "localised-ko-not-found-alone": "onhold (the Korean sentence unknown)",
    "localised-nl-full-alone": "onhold (the Dutch sentence unknown)",
    "localised-pl-full-alone": "onhold (the Polish sentence unknown)",
    "localised-cs-full-alone": "onhold (the Czech sentence unknown)",
    "localised-ko-full-alone": "onhold (the Korean sentence unknown)",
    "address-only-in-subject": "no recipient (the Subject's address not read)",
    "html-address-only-in-href": "no recipient (the mailto link's address not read)",
    "host-own-es-unknown-user": "filtered ('no existe' read as a loose phrase after RCPT; 'usuario desconocido' unknown)",
    "host-own-cs-unknown-user": "onhold (the Czech words unknown)",
    "postfix-expanded-from (original recipient)": "the address in '(expanded from <...>)' not kept as the original",
}
# Fixed by catalogue entries (catalog.py, Exchange's localised sentences in pl / cs / zh / ko / nl).
FIXED_PHRASES = tuple(f"localised-{lang}-" for lang in ("pl", "cs", "zh", "ko", "nl")) + (
    "host-own-es-",  # reason.py: plain unknown-user words of another rule decide over loose ones
    "host-own-cs-",  # catalog.py: Czech unknown-user words
    "address-only-in-subject",  # classify.py: the Subject's one address when the body names none
    "html-address-only-in-href",  # mimewalk.py: a mailto link's address kept beside its display name
)
# Still failing on this branch (xfail, strict): the subset of FAILED_ON_MAIN no fix has reached yet.
WHY_STILL_FAILING: dict[str, str] = {
    case_id: f"fails on main: {why}"
    for case_id, why in FAILED_ON_MAIN.items()
    if "(original recipient)" not in case_id and not case_id.startswith(FIXED_PHRASES)
}


@pytest.mark.parametrize(("raw", "expected"), case_params(CASES, WHY_STILL_FAILING, WHY_STILL_FAILING))
def test_a_bespoke_layout_reads_as_a_careful_human_would(raw: bytes, expected: list[Expect]) -> None:
    assert_reads_as(raw, expected)


def test_round_fifteen_has_at_least_fifty_distinct_messages() -> None:
    ids = [case_id for case_id, _, _ in CASES]
    assert len(ids) >= 50
    assert len(set(ids)) == len(ids)
    assert len({raw for _, raw, _ in CASES}) == len(ids)


def test_every_case_names_a_recipient_that_is_in_the_message() -> None:
    for case_id, raw, expected in CASES:
        for exp in expected:
            assert exp.recipient.encode() in raw or case_id.startswith(("base64", "quoted", "qp")), case_id


def test_no_soft_case_is_ever_suppressible() -> None:
    for case_id, raw, expected in CASES:
        if case_id in WHY_STILL_FAILING:
            continue
        result = classify_returned_message(raw)
        for verdict, exp in zip(result.recipients, expected, strict=False):
            if not exp.hard:
                assert not verdict.hard and not verdict.suppressible, (case_id, verdict.evidence)


def test_postfix_expanded_from_keeps_the_address_we_sent_to_as_the_original_recipient() -> None:
    raw = next(raw for case_id, raw, _ in CASES if case_id == "postfix-expanded-from")
    (verdict,) = classify_returned_message(raw).recipients
    assert (verdict.recipient, verdict.original_recipient) == (EXPANDED_FINAL, A)
