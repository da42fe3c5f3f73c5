"""Returned mail written in languages other than English (issue 13, round five).

MTAs and mailbox providers localise their bounces: Exchange / Office 365 writes its NDR in the
sender's language, and Russian, Chinese, Japanese, German, French, Italian and Portuguese providers
write theirs in their own. Each sample below is written from that product's localised message text
(Microsoft's localised Exchange NDR strings, the providers' help pages on returned mail), as the
comment above it says, never from a bounce collection; the wording is as those texts read, the
addresses and hosts are example ones. They use the encodings those systems send (UTF-8,
ISO-8859-1, ISO-2022-JP, GB2312/GBK, KOI8-R, Windows-1251) with an RFC 2047 encoded Subject.

Where a bounce carries an RFC 3464 part or an English remote reply the standard decides; these
carry none, so the localised explanation is all there is. Conservative as everywhere: a localised
"could not be delivered" alone says nothing about why and is never a hard verdict.
"""

from __future__ import annotations

import base64
import quopri
from email.header import Header

import pytest

from maildispatch.core.returned_mail import classify_returned_message

ORIGINAL = "From: shop@example.com\nTo: {rcpt}\nSubject: Order 42\nMessage-ID: <order-42@example.com>\n"


def localised_bounce(
    subject: str, intro: str, rcpt: str, explanation: str, charset: str, transfer: str = "8bit", sender: str = ""
) -> bytes:
    """A non-standard bounce: a localised intro, the failed address alone on a line, the
    localised explanation indented below it and the original's headers, in `charset`."""
    body = f"{intro}\n\n    {rcpt}\n    {explanation}\n\n------\n\n" + ORIGINAL.format(rcpt=rcpt)
    data = body.encode(charset)
    if transfer == "base64":
        payload = base64.encodebytes(data)
    elif transfer == "quoted-printable":
        payload = quopri.encodestring(data)
    else:
        payload = data
    head = (
        f"From: {sender or 'MAILER-DAEMON@mx.example.org'}\n"
        "To: shop@example.com\n"
        f"Subject: {Header(subject, charset).encode()}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: text/plain; charset="{charset}"\n'
        f"Content-Transfer-Encoding: {transfer}\n\n"
    )
    return head.encode("ascii") + payload


# (id, subject, intro, explanation, charset, transfer, reason, hard)
CASES = [
    # Exchange / Office 365 NDR, German (Microsoft's localised NDR strings): the address was not found
    (
        "exchange-de-unknown",
        "Unzustellbar: Order 42",
        "Die Nachricht konnte nicht zugestellt werden. Ihre Nachricht konnte nicht an folgende Empfänger "
        "zugestellt werden:",
        "Die E-Mail-Adresse, die Sie eingegeben haben, wurde nicht gefunden.",
        "iso-8859-1",
        "quoted-printable",
        "userunknown",
        True,
    ),
    # Exchange / Office 365 NDR, French: "Remise impossible", the address cannot be found
    (
        "exchange-fr-unknown",
        "Non remis : Order 42",
        "Remise impossible à ces destinataires ou groupes :",
        "L'adresse de messagerie que vous avez entrée est introuvable.",
        "iso-8859-1",
        "quoted-printable",
        "userunknown",
        True,
    ),
    # Exchange / Office 365 NDR, Spanish: "No se puede entregar", the address was not found
    (
        "exchange-es-unknown",
        "No se puede entregar: Order 42",
        "No se puede entregar a estos destinatarios o grupos:",
        "No se encontró la dirección de correo electrónico que escribió.",
        "utf-8",
        "base64",
        "userunknown",
        True,
    ),
    # Exchange / Office 365 NDR, Portuguese: the recipient's mailbox is full
    (
        "exchange-pt-full",
        "Não é possível entregar: Order 42",
        "Não é possível entregar a estes destinatários ou grupos:",
        "A caixa de correio do destinatário está cheia e não pode aceitar mensagens agora.",
        "utf-8",
        "quoted-printable",
        "mailboxfull",
        False,
    ),
    # Exchange / Office 365 NDR, Italian: "Recapito non riuscito", the mailbox is full
    (
        "exchange-it-full",
        "Non recapitabile: Order 42",
        "Recapito non riuscito a questi destinatari o gruppi:",
        "La cassetta postale del destinatario è piena e non può accettare messaggi in questo momento.",
        "iso-8859-1",
        "8bit",
        "mailboxfull",
        False,
    ),
    # Exchange / Office 365 NDR, Dutch: "Onbestelbaar", the address was not found
    (
        "exchange-nl-unknown",
        "Onbestelbaar: Order 42",
        "Bezorging is mislukt voor deze geadresseerden of groepen:",
        "Het e-mailadres dat u hebt ingevoerd, is niet gevonden.",
        "utf-8",
        "8bit",
        "userunknown",
        True,
    ),
    # Yandex (yandex.ru help, "Письмо не доставлено"): no such mailbox
    (
        "yandex-ru-unknown",
        "Недоставленное сообщение",
        "Сообщение не доставлено следующим получателям:",
        "Такого ящика нет.",
        "koi8-r",
        "8bit",
        "userunknown",
        True,
    ),
    # Mail.ru (help.mail.ru, returned letters): the recipient's mailbox is full
    (
        "mailru-ru-full",
        "Письмо не доставлено",
        "Ваше письмо не может быть доставлено адресату:",
        "Ящик получателя переполнен.",
        "windows-1251",
        "base64",
        "mailboxfull",
        False,
    ),
    # Mail.ru: the user was not found
    (
        "mailru-ru-unknown",
        "Письмо не доставлено",
        "Ваше письмо не может быть доставлено адресату:",
        "Пользователь не найден.",
        "utf-8",
        "base64",
        "userunknown",
        True,
    ),
    # QQ Mail (service.mail.qq.com, 退信 help): the recipient's address does not exist
    (
        "qq-zh-unknown",
        "系统退信",
        "很抱歉您发送的邮件被退回，以下是该邮件的相关信息：",
        "收件人地址不存在。",
        "gb18030",
        "base64",
        "userunknown",
        True,
    ),
    # NetEase 163 (help.mail.163.com, 退信代码说明): the recipient's mailbox is full
    (
        "163-zh-full",
        "系统退信",
        "您发送的邮件未能投递到以下收件人：",
        "对方邮箱已满，无法接收邮件。",
        "gbk",
        "base64",
        "mailboxfull",
        False,
    ),
    # Sina Mail: the domain does not exist
    (
        "sina-zh-nodomain",
        "退信通知",
        "您发送的邮件未能投递到以下收件人：",
        "收件人域名不存在。",
        "gb2312",
        "base64",
        "hostunknown",
        True,
    ),
    # Japanese ISP / carrier mail servers (their return-mail help pages): address unknown
    (
        "jp-isp-unknown",
        "配信エラー",
        "以下のアドレスへの配信に失敗しました。",
        "宛先不明（ユーザが存在しません）",
        "iso-2022-jp",
        "7bit",
        "userunknown",
        True,
    ),
    # Japanese carrier: the mailbox is full
    (
        "jp-carrier-full",
        "メール配信エラー",
        "以下のアドレスへの配信に失敗しました。",
        "メールボックスが一杯のため配信できませんでした。",
        "iso-2022-jp",
        "7bit",
        "mailboxfull",
        False,
    ),
    # Japanese ISP: the domain does not exist
    (
        "jp-isp-nodomain",
        "配信エラー",
        "以下のアドレスへの配信に失敗しました。",
        "ドメインが存在しません。",
        "utf-8",
        "base64",
        "hostunknown",
        True,
    ),
    # GMX (hilfe.gmx.net, returned mail): the recipient's mailbox is full
    (
        "gmx-de-full",
        "Unzustellbare Nachricht",
        "Ihre Nachricht konnte nicht zugestellt werden an:",
        "Das Postfach des Empfängers ist voll.",
        "iso-8859-1",
        "quoted-printable",
        "mailboxfull",
        False,
    ),
    # Web.de (hilfe.web.de): the recipient is unknown
    (
        "webde-de-unknown",
        "Unzustellbare Nachricht",
        "Ihre Nachricht konnte nicht zugestellt werden an:",
        "Empfänger unbekannt: Die Empfängeradresse existiert nicht.",
        "utf-8",
        "quoted-printable",
        "userunknown",
        True,
    ),
    # Orange (assistance.orange.fr, message non distribué): the mailbox is full
    (
        "orange-fr-full",
        "Message non distribué",
        "Votre message n'a pas pu être remis au destinataire suivant :",
        "Boîte aux lettres pleine.",
        "iso-8859-1",
        "quoted-printable",
        "mailboxfull",
        False,
    ),
    # Free (assistance.free.fr): unknown recipient
    (
        "free-fr-unknown",
        "Message non distribué",
        "Votre message n'a pas pu être remis au destinataire suivant :",
        "Destinataire inconnu : cette adresse n'existe pas.",
        "utf-8",
        "8bit",
        "userunknown",
        True,
    ),
    # Libero (aiuto.libero.it, messaggio non recapitato): the user does not exist
    (
        "libero-it-unknown",
        "Messaggio non recapitato",
        "Il messaggio non è stato recapitato al seguente destinatario:",
        "Utente inesistente.",
        "iso-8859-1",
        "8bit",
        "userunknown",
        True,
    ),
    # Tiscali: the mailbox is full
    (
        "tiscali-it-full",
        "Messaggio non recapitato",
        "Il messaggio non è stato recapitato al seguente destinatario:",
        "Casella di posta piena.",
        "utf-8",
        "quoted-printable",
        "mailboxfull",
        False,
    ),
    # UOL (ajuda UOL, mensagem não entregue): the user is unknown
    (
        "uol-pt-unknown",
        "Mensagem não entregue",
        "Não foi possível entregar a mensagem ao destinatário:",
        "Usuário desconhecido.",
        "iso-8859-1",
        "quoted-printable",
        "userunknown",
        True,
    ),
    # Terra (ajuda Terra): the mailbox is full ("caixa postal lotada")
    (
        "terra-pt-full",
        "Mensagem não entregue",
        "Não foi possível entregar a mensagem ao destinatário:",
        "Caixa postal lotada.",
        "utf-8",
        "8bit",
        "mailboxfull",
        False,
    ),
]

# Reasons beyond unknown users and full mailboxes, each soft: the address is good or may be.
MORE_CASES = [
    # NetEase 163 (help.mail.163.com, 退信代码说明 DT:SPM): identified as spam
    (
        "163-zh-spam",
        "系统退信",
        "您发送的邮件未能投递到以下收件人：",
        "您的邮件被识别为垃圾邮件，已被退回。",
        "gbk",
        "base64",
        "spamdetected",
        False,
    ),
    # QQ Mail: the recipient's mailbox is frozen / disabled
    (
        "qq-zh-suspend",
        "系统退信",
        "很抱歉您发送的邮件被退回：",
        "收件人邮箱已被冻结。",
        "gb18030",
        "base64",
        "suspend",
        False,
    ),
    # Mail.ru: the recipient's mailbox is blocked (disabled by the provider)
    (
        "mailru-ru-suspend",
        "Письмо не доставлено",
        "Ваше письмо не может быть доставлено адресату:",
        "Ящик получателя заблокирован.",
        "koi8-r",
        "8bit",
        "suspend",
        False,
    ),
    # Yandex: the message is too big
    (
        "yandex-ru-toobig",
        "Недоставленное сообщение",
        "Сообщение не доставлено следующим получателям:",
        "Письмо слишком большое.",
        "windows-1251",
        "base64",
        "mesgtoobig",
        False,
    ),
    # GMX: the message is too big
    (
        "gmx-de-toobig",
        "Unzustellbare Nachricht",
        "Ihre Nachricht konnte nicht zugestellt werden an:",
        "Die Nachricht ist zu groß.",
        "iso-8859-1",
        "quoted-printable",
        "mesgtoobig",
        False,
    ),
    # Japanese ISP: the message size exceeds the limit
    (
        "jp-isp-toobig",
        "配信エラー",
        "以下のアドレスへの配信に失敗しました。",
        "メールサイズが制限を超えています。",
        "iso-2022-jp",
        "7bit",
        "mesgtoobig",
        False,
    ),
    # Japanese carrier: the account is suspended
    (
        "jp-carrier-suspend",
        "配信エラー",
        "以下のアドレスへの配信に失敗しました。",
        "このアカウントは利用停止されています。",
        "iso-2022-jp",
        "7bit",
        "suspend",
        False,
    ),
    # Libero: the mailbox is disabled
    (
        "libero-it-suspend",
        "Messaggio non recapitato",
        "Il messaggio non è stato recapitato al seguente destinatario:",
        "Casella disattivata.",
        "iso-8859-1",
        "8bit",
        "suspend",
        False,
    ),
    # UOL: the account is disabled
    (
        "uol-pt-suspend",
        "Mensagem não entregue",
        "Não foi possível entregar a mensagem ao destinatário:",
        "Conta desativada.",
        "iso-8859-1",
        "quoted-printable",
        "suspend",
        False,
    ),
    # Orange: the delivery time expired
    (
        "orange-fr-expired",
        "Message non distribué",
        "Votre message n'a pas pu être remis au destinataire suivant :",
        "Le délai de remise du message a expiré.",
        "iso-8859-1",
        "quoted-printable",
        "expired",
        False,
    ),
    # Exchange, Spanish: delivery timed out
    (
        "exchange-es-expired",
        "No se puede entregar: Order 42",
        "No se puede entregar a estos destinatarios o grupos:",
        "Se agotó el tiempo de espera para la entrega del mensaje.",
        "utf-8",
        "base64",
        "expired",
        False,
    ),
]


@pytest.mark.parametrize(
    ("subject", "intro", "explanation", "charset", "transfer", "reason", "hard"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES + MORE_CASES],
)
def test_a_localised_explanation_gives_the_reason(subject, intro, explanation, charset, transfer, reason, hard):
    raw = localised_bounce(subject, intro, "someone@example.net", explanation, charset, transfer)
    result = classify_returned_message(raw)
    assert result.kind == "bounce"
    (verdict,) = result.recipients
    assert verdict.recipient == "someone@example.net"
    assert (verdict.reason, verdict.hard) == (reason, hard)


@pytest.mark.parametrize(
    ("subject", "intro", "charset"),
    [
        ("Unzustellbar: Order 42", "Die Nachricht konnte nicht zugestellt werden.", "iso-8859-1"),
        ("Non remis : Order 42", "Remise impossible à ces destinataires ou groupes :", "iso-8859-1"),
        ("No se puede entregar: Order 42", "No se puede entregar a estos destinatarios o grupos:", "utf-8"),
        ("Недоставленное сообщение", "Сообщение не доставлено.", "koi8-r"),
        ("系统退信", "很抱歉您发送的邮件被退回。", "gb2312"),
        ("配信エラー", "以下のアドレスへの配信に失敗しました。", "iso-2022-jp"),
    ],
)
def test_a_localised_failure_without_a_reason_is_never_hard(subject, intro, charset):
    # "could not be delivered" says nothing about why: the address must not be suppressed on it
    raw = localised_bounce(subject, intro, "someone@example.net", "", charset)
    result = classify_returned_message(raw)
    assert all(v.hard is not True for v in result.recipients)


def test_a_localised_exchange_ndr_with_a_delivery_status_part_is_decided_by_the_standard():
    # Office 365 writes the localised explanation beside the RFC 3464 part: the Status decides
    raw = (
        "From: Microsoft Outlook <postmaster@example.onmicrosoft.com>\n"
        "To: shop@example.com\n"
        f"Subject: {Header('Unzustellbar: Order 42', 'iso-8859-1').encode()}\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\n"
        "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
        "Die Nachricht konnte nicht zugestellt werden. Das Postfach des Empf=E4ngers ist voll.\n\n"
        "--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; example.prod.outlook.com\n\n"
        "Final-Recipient: rfc822; someone@example.net\nAction: failed\nStatus: 5.2.2\n"
        "Diagnostic-Code: smtp; 554 5.2.2 mailbox full\n\n"
        "--b--\n"
    ).encode("ascii")
    (verdict,) = classify_returned_message(raw).recipients
    assert (verdict.reason, verdict.hard) == ("mailboxfull", False)


@pytest.mark.parametrize(
    ("explanation", "charset"),
    [
        ("Usuário desconhecido.", "iso-8859-1"),  # UOL
        ("Utente inesistente.", "iso-8859-1"),  # Libero
        ("Пользователь не найден.", "windows-1251"),  # Mail.ru
        ("收件人地址不存在。", "gb18030"),  # QQ Mail
    ],
)
def test_a_localised_unknown_user_without_a_code_is_hard_but_never_suppresses_at_once(explanation, charset):
    # The reporting system's own words and no permanent code beside them: hard, on weak evidence
    raw = localised_bounce("Undelivered", "Delivery failed:", "someone@example.net", explanation, charset)
    (verdict,) = classify_returned_message(raw).recipients
    assert (verdict.reason, verdict.hard, verdict.suppressible) == ("userunknown", True, False)


def test_a_localised_unknown_user_with_a_permanent_reply_is_strong():
    # Libero's wording in the remote server's 550 reply to RCPT TO, as a relay quotes it (Postfix's
    # "host ... said: ... (in reply to RCPT TO command)")
    raw = localised_bounce(
        "Messaggio non recapitato",
        "Il messaggio non è stato recapitato al seguente destinatario:",
        "someone@example.net",
        "host mx.example.net[192.0.2.7] said: 550 Utente inesistente (in reply to RCPT TO command)",
        "iso-8859-1",
    )
    (verdict,) = classify_returned_message(raw).recipients
    assert (verdict.reason, verdict.hard, verdict.suppressible) == ("userunknown", True, True)


# Real localised mail declares the narrow charset and uses its vendor superset: GB2312 labels
# carry GBK/GB18030 characters (names such as 喆), Shift_JIS labels carry Windows-31J (cp932)
# characters such as ①, ISO-2022-JP carries NEC's row-13 characters (①) no strict codec knows.
def raw_bounce(charset: str, body: bytes) -> bytes:
    return (
        b"From: MAILER-DAEMON@mx.example.org\nTo: shop@example.com\nSubject: =?"
        + charset.encode()
        + b"?B?"
        + base64.b64encode("退信".encode("gb18030") if charset.startswith("gb") else "配信エラー".encode(charset))
        + b"?=\nMIME-Version: 1.0\nContent-Type: text/plain; charset="
        + charset.encode()
        + b"\nContent-Transfer-Encoding: 8bit\n\n"
        + body
    )


def test_a_gb2312_label_over_gbk_characters_still_reads():
    body = "张喆，您发送的邮件未能投递到以下收件人：\n\n    someone@example.net\n    收件人地址不存在。\n".encode("gbk")
    (verdict,) = classify_returned_message(raw_bounce("gb2312", body)).recipients
    assert verdict.reason == "userunknown"


def test_a_shift_jis_label_over_windows_31j_characters_still_reads():
    body = (
        "①以下のアドレスへの配信に失敗しました。\n\n    someone@example.net\n    メールボックスが一杯です。\n".encode(
            "cp932"
        )
    )
    (verdict,) = classify_returned_message(raw_bounce("shift_jis", body)).recipients
    assert verdict.reason == "mailboxfull"


def test_iso_2022_jp_with_a_nec_special_character_still_reads():
    text = "以下のアドレスへの配信に失敗しました。\n\n    someone@example.net\n    メールボックスが一杯です。\n"
    body = b"\x1b$B-!\x1b(B" + text.encode("iso-2022-jp")  # "①" in NEC's row 13, then the text
    (verdict,) = classify_returned_message(raw_bounce("iso-2022-jp", body)).recipients
    assert verdict.reason == "mailboxfull"


@pytest.mark.parametrize(
    "explanation",
    [
        "550 Domaine expéditeur inconnu",  # fr: the SENDER's domain is unknown
        "550 Domain des Absenders existiert nicht",  # de
        "550 Dominio remitente inexistente",  # es
        "550 Domínio remetente inexistente",  # pt
    ],
)
def test_a_localised_unknown_sender_domain_never_reads_as_the_recipients_domain(explanation):
    raw = localised_bounce("Undelivered", "Delivery failed:", "someone@example.net", explanation, "utf-8")
    (verdict,) = classify_returned_message(raw).recipients
    assert verdict.reason != "hostunknown"
    assert verdict.hard is not True
