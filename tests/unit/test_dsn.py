"""RFC 3464 delivery status notifications, read back with the stdlib email parser."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildispatch.core.dsn import address_field, build_dsn, delivery_status, dsn_recipient, xtext
from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason

ARRIVED = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 8, 5, tzinfo=UTC)
VIETNAMESE = "Đơn hàng #1001 của bạn đã được giao — cảm ơn quý khách!"
ORIGINAL_HEADERS = (
    "From: Shop <shop@example.com>\r\n"
    "To: ghost@example.net\r\n"
    "Subject: Your order shipped\r\n"
    "Message-ID: <order-1001@example.com>\r\n"
    "Date: Sun, 29 Nov 2026 08:00:00 +0000\r\n"
)

GHOST = FailedRecipient(
    address="ghost@example.net",
    status="5.1.1",
    diagnostic="550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown",
    reply_code=550,
    remote_mta="mx.example.net",
)
ALICE = FailedRecipient(
    address="alice@example.org",
    status="5.2.2",
    diagnostic="552 5.2.2 Mailbox full",
    reply_code=552,
    remote_mta="mx.example.org",
)


def report(**overrides) -> BounceReport:
    fields = dict(
        reason=ReportReason.REJECTED,
        recipients=(GHOST,),
        arrival_date=ARRIVED,
        message_key="order-1001",
        message_id="<order-1001@example.com>",
        envelope_sender="shop@example.com",
        from_address="shop@example.com",
        subject="Your order shipped",
        original_headers=ORIGINAL_HEADERS,
        source={"last_attempt_at": "2026-11-29T08:00:07+00:00"},
    )
    fields.update(overrides)
    return BounceReport(**fields)


def build(r: BounceReport | None = None) -> bytes:
    return build_dsn(
        r or report(),
        reporting_mta="mta.maildispatch.test",
        postmaster="postmaster@maildispatch.test",
        now=NOW,
        message_id="<dsn-1@mta.maildispatch.test>",
    )


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(raw: bytes) -> tuple[EmailMessage, ...]:
    return tuple(parse(raw).iter_parts())  # type: ignore[arg-type]


def groups(raw: bytes) -> list[dict[str, str]]:
    """The delivery-status part as field dicts: [per-message, recipient 1, recipient 2, ...]."""
    status = parts(raw)[1]
    return [{name: " ".join(str(value).split()) for name, value in group.items()} for group in status.get_payload()]


def notification(raw: bytes) -> str:
    return parts(raw)[0].get_content()


# -- who gets it --------------------------------------------------------------------------


def test_the_dsn_goes_to_the_envelope_sender():
    assert (
        dsn_recipient(report(envelope_sender="bounces@example.com", from_address="shop@example.com"))
        == "bounces@example.com"
    )
    assert dsn_recipient(report(envelope_sender="<bounces@example.com>")) == "bounces@example.com"


@pytest.mark.parametrize(
    "sender",
    [
        None,
        "",
        "  ",
        "<>",
        "MAILER-DAEMON@example.com",
        "shop",
        "@example.com",
        "shop@",
        "shop@example.com\r\nBcc: victim@example.net",
        "a@b, c@d",
    ],
)
def test_a_report_with_no_usable_sender_gets_no_dsn(sender):
    assert dsn_recipient(report(envelope_sender=sender)) is None
    with pytest.raises(ValueError):
        build(report(envelope_sender=sender))


def test_a_report_naming_no_recipient_gets_no_dsn_as_rfc3464_needs_one_group():
    assert dsn_recipient(report(reason=ReportReason.INVALID_REQUEST, recipients=(), error="to: required")) is None


# -- structure and headers ---------------------------------------------------------------


def test_a_dsn_is_a_multipart_report_with_notification_status_and_original_headers():
    message = parse(build())
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert [p.get_content_type() for p in message.iter_parts()] == [
        "text/plain",
        "message/delivery-status",
        "text/rfc822-headers",
    ]
    assert message.defects == []


def test_the_dsn_headers_say_who_from_what_and_in_reply_to_which_message():
    message = parse(build())
    assert message["From"] == "Mail Delivery System <postmaster@maildispatch.test>"
    assert message["To"] == "shop@example.com"
    assert message["Subject"] == "Undelivered Mail Returned to Sender"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["MIME-Version"] == "1.0"
    assert parsedate_to_datetime(message["Date"]) == NOW
    assert message["Message-ID"] == "<dsn-1@mta.maildispatch.test>"
    assert message["In-Reply-To"] == "<order-1001@example.com>"
    assert message["References"] == "<order-1001@example.com>"


def test_without_the_original_message_id_there_is_no_in_reply_to():
    message = parse(build(report(message_id=None)))
    assert message["In-Reply-To"] is None and message["References"] is None


def test_the_per_message_fields_name_the_reporting_mta_the_envelope_id_and_the_arrival():
    per_message = groups(build())[0]
    assert per_message == {
        "Reporting-MTA": "dns; mta.maildispatch.test",
        "Original-Envelope-Id": "order-1001",
        "Arrival-Date": "Sun, 29 Nov 2026 08:00:00 +0000",
    }


def test_the_envelope_id_is_xtext_and_absent_when_the_message_key_is_unknown():
    assert groups(build(report(message_key="a+b=c d")))[0]["Original-Envelope-Id"] == "a+2Bb+3Dc+20d"
    assert "Original-Envelope-Id" not in groups(build(report(message_key=None)))[0]
    assert xtext("ê") == "+C3+AA"


def test_each_recipient_has_a_group_with_every_known_fact():
    _, ghost, alice = groups(build(report(recipients=(GHOST, ALICE))))
    assert ghost == {
        "Final-Recipient": "rfc822; ghost@example.net",
        "Action": "failed",
        "Status": "5.1.1",
        "Remote-MTA": "dns; mx.example.net",
        "Diagnostic-Code": "smtp; 550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown",
        "Last-Attempt-Date": "Sun, 29 Nov 2026 08:00:07 +0000",
    }
    assert alice["Final-Recipient"] == "rfc822; alice@example.org"
    assert alice["Status"] == "5.2.2"
    assert alice["Diagnostic-Code"] == "smtp; 552 5.2.2 Mailbox full"


def test_groups_are_separated_by_one_empty_line_and_every_field_ends_in_crlf():
    text = delivery_status(report(recipients=(GHOST, ALICE)), "mta.maildispatch.test")
    blocks = text.split("\r\n\r\n")
    assert len(blocks) == 3
    assert text.endswith("\r\n") and not text.endswith("\r\n\r\n")
    assert blocks[1].startswith("Final-Recipient: rfc822; ghost@example.net\r\n")
    assert blocks[2].startswith("Final-Recipient: rfc822; alice@example.org\r\n")


def test_a_failure_without_an_smtp_reply_has_no_remote_mta_and_a_local_diagnostic_type():
    local = FailedRecipient("binh@example.net", "5.6.0", diagnostic="template 'welcome' does not exist")
    group = groups(
        build(report(reason=ReportReason.RENDER_FAILED, recipients=(local,), error="template 'welcome' does not exist"))
    )[1]
    assert group["Status"] == "5.6.0"
    assert group["Diagnostic-Code"] == "x-maildispatch; template 'welcome' does not exist"
    assert "Remote-MTA" not in group


def test_last_attempt_date_is_left_out_when_no_attempt_time_is_known():
    assert "Last-Attempt-Date" not in groups(build(report(source={})))[1]


def test_a_long_diagnostic_is_folded_and_unfolds_to_the_same_text():
    words = " ".join(f"word{i}" for i in range(60))
    long_reply = FailedRecipient("ghost@example.net", "5.7.1", diagnostic=f"550 5.7.1 {words}", reply_code=550)
    raw = build(report(recipients=(long_reply,)))
    assert groups(raw)[1]["Diagnostic-Code"] == f"smtp; 550 5.7.1 {words}"
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))


def test_server_text_cannot_add_fields_or_headers():
    evil = FailedRecipient(
        "ghost@example.net", "5.1.1", diagnostic="550 no\r\nAction: delivered\r\n\r\nBcc: x@evil.test", reply_code=550
    )
    raw = build(report(recipients=(evil,)))
    group = groups(raw)[1]
    assert group["Action"] == "failed"
    assert group["Diagnostic-Code"] == "smtp; 550 no Action: delivered Bcc: x@evil.test"
    assert len(groups(raw)) == 2
    assert parse(raw)["Bcc"] is None


def test_a_reply_code_missing_from_the_diagnostic_text_is_added():
    bare = FailedRecipient("ghost@example.net", "5.1.1", diagnostic="User unknown", reply_code=550)
    assert groups(build(report(recipients=(bare,))))[1]["Diagnostic-Code"] == "smtp; 550 User unknown"


# -- ASCII, CRLF, non-ASCII text -------------------------------------------------------------


def test_the_dsn_is_ascii_with_crlf_line_endings():
    raw = build(report(subject=VIETNAMESE, recipients=(GHOST, ALICE)))
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")


def test_a_vietnamese_subject_survives_in_the_notification():
    raw = build(report(subject=VIETNAMESE))
    assert raw.isascii()
    assert VIETNAMESE in notification(raw)


def test_vietnamese_original_headers_survive_in_the_headers_part():
    headers = f"From: shop@example.com\nSubject: {VIETNAMESE}\nMessage-ID: <order-1001@example.com>\n\n"
    raw = build(report(original_headers=headers))
    assert raw.isascii()
    returned = parts(raw)[2]
    assert returned.get_content_type() == "text/rfc822-headers"
    assert (
        returned.get_payload(decode=True).decode(returned.get_content_charset())
        == headers.rstrip("\n").replace("\n", "\r\n") + "\r\n"
    )


def test_the_original_headers_are_returned_verbatim_and_only_when_known():
    raw = build()
    assert parts(raw)[2].get_payload(decode=True).decode("ascii") == ORIGINAL_HEADERS
    assert b"\r\n\r\nFrom: Shop <shop@example.com>\r\n" in raw
    assert [p.get_content_type() for p in parts(build(report(original_headers=None)))] == [
        "text/plain",
        "message/delivery-status",
    ]


def test_an_idn_domain_is_written_in_idna_and_a_utf8_local_part_as_rfc6533_xtext():
    assert address_field("binh@ví-dụ.vn") == "rfc822; binh@xn--v-d-rma6749a.vn"
    assert address_field("ân@example.net") == "utf-8; \\x{E2}n@example.net"
    assert address_field("a+b@example.net") == "rfc822; a+b@example.net"
    assert address_field("ân+x@example.net") == "utf-8; \\x{E2}n\\x{2B}x@example.net"


def test_an_idn_sender_gets_the_dsn_addressed_in_idna():
    raw = build(report(envelope_sender="shop@ví-dụ.vn"))
    assert raw.isascii()
    assert parse(raw)["To"] == "shop@xn--v-d-rma6749a.vn"


def test_a_sender_with_a_utf8_local_part_gets_a_utf8_to_header_and_nothing_else_changes():
    raw = build(report(envelope_sender="chủ@example.vn"))
    assert parse(raw)["To"] == "chủ@example.vn"
    _head, _, body = raw.partition(b"\r\n\r\n")
    assert body.isascii()


# -- what the notification tells people -------------------------------------------------------


def test_the_notification_names_each_recipient_and_quotes_the_server():
    text = notification(build(report(recipients=(GHOST, ALICE))))
    assert "<ghost@example.net>: the address does not exist" in text
    assert "550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown" in " ".join(text.split())
    assert "<alice@example.org>: the mailbox is full" in text
    assert "What you can do:" in text


def test_an_invalid_request_notification_explains_the_error_and_says_nothing_was_sent():
    error = "to[0]: 'not-an-address' is not an email address"
    r = report(
        reason=ReportReason.INVALID_REQUEST,
        recipients=(FailedRecipient("not-an-address@x", "5.6.0"),),
        error=error,
        original_headers=None,
        message_id=None,
    )
    text = " ".join(notification(build(r)).split())
    assert "your send request could not be read" in text
    assert error in text
    assert "not sent to any recipient" in text


def test_a_render_failure_notification_explains_the_template_error():
    error = "template 'welcome': 'customer' is undefined"
    r = report(
        reason=ReportReason.RENDER_FAILED, recipients=(FailedRecipient("binh@example.net", "5.6.0"),), error=error
    )
    text = " ".join(notification(build(r)).split())
    assert "could not be built from its template" in text
    assert error in text


def test_an_expired_notification_says_how_long_delivery_was_tried():
    tried = ARRIVED + timedelta(days=2, hours=3, minutes=10)
    busy = FailedRecipient("busy@example.org", "4.4.7", diagnostic="451 4.7.1 Greylisted", reply_code=451)
    r = report(reason=ReportReason.EXPIRED, recipients=(busy,), source={"last_attempt_at": tried.isoformat()})
    text = " ".join(notification(build(r)).split())
    assert "retried for 2 days 3 hours" in text
    assert groups(build(r))[1]["Status"] == "4.4.7"


def test_when_every_recipient_is_delayed_the_dsn_is_a_delay_warning():
    later = FailedRecipient(
        "busy@example.org", "4.7.1", diagnostic="451 4.7.1 Greylisted", reply_code=451, action="delayed"
    )
    r = report(
        reason=ReportReason.EXPIRED, recipients=(later,), source={"will_retry_until": "2026-12-01T08:00:00+00:00"}
    )
    raw = build(r)
    assert parse(raw)["Subject"] == "Delayed Mail (still being retried)"
    group = groups(raw)[1]
    assert group["Action"] == "delayed"
    assert group["Will-Retry-Until"] == "Tue, 01 Dec 2026 08:00:00 +0000"
    assert "still being retried" in notification(raw)


def test_a_failed_group_never_carries_will_retry_until():
    r = report(source={"will_retry_until": "2026-12-01T08:00:00+00:00"})
    assert parse(build(r))["Subject"] == "Undelivered Mail Returned to Sender"
    assert "Will-Retry-Until" not in groups(build(r))[1]


# -- any input -----------------------------------------------------------------------------------

any_text = st.text(max_size=300)  # any code points, lone surrogates and controls included


@settings(max_examples=60, deadline=None)
@given(
    subject=any_text,
    error=any_text,
    diagnostics=st.lists(any_text, min_size=1, max_size=4),
    key=st.one_of(st.none(), any_text),
    odd_address=any_text,
    headers=st.one_of(st.none(), any_text),
)
def test_any_text_yields_a_parseable_ascii_dsn_with_one_group_per_recipient(
    subject, error, diagnostics, key, odd_address, headers
):
    recipients = tuple(
        FailedRecipient(f"r{i}@example.net", "5.0.0", diagnostic=d, reply_code=550) for i, d in enumerate(diagnostics)
    )
    recipients += (FailedRecipient(odd_address, "5.1.1", diagnostic=error),)
    raw = build(report(subject=subject, error=error, message_key=key, recipients=recipients, original_headers=headers))
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    found = groups(raw)
    assert len(found) == len(recipients) + 1
    assert [g["Final-Recipient"] for g in found[1:-1]] == [f"rfc822; r{i}@example.net" for i in range(len(diagnostics))]
    assert re.fullmatch(r"(rfc822; [\x21-\x7e]+|utf-8;( [\x21-\x7e]+)?)", found[-1]["Final-Recipient"])
    assert all(re.fullmatch(r"[245]\.\d+\.\d+", g["Status"]) for g in found[1:])
    assert parse(raw).defects == []


@pytest.mark.parametrize("sender", ["shop\ud800@example.com", "shop\x00@example.com", "shop\u2028@example.com"])
def test_a_sender_address_with_unprintable_characters_gets_no_dsn(sender):
    assert dsn_recipient(report(envelope_sender=sender)) is None


def test_original_headers_with_controls_or_overlong_lines_are_quoted_printable():
    headers = "Subject: a\x00b\r\nX-Long: " + "y" * 1200 + "\r\n"
    raw = build(report(original_headers=headers))
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and b"\x00" not in raw
    returned = parts(raw)[2]
    assert returned["Content-Transfer-Encoding"] == "quoted-printable"
    assert returned.get_payload(decode=True).decode("utf-8") == headers


def test_a_998_character_subject_keeps_every_line_within_998_octets():
    """Issue 9: "  Subject:    " + a 998-character subject made a 1,013-octet line."""
    for subject in ("s" * 998, " ".join(["word"] * 199), "ệ" * 998):
        raw = build(report(subject=subject))

        assert max(len(line) for line in raw.split(b"\r\n")) <= 998
        text = notification(raw)
        assert "".join(text.split()).count("".join(subject.split())) == 1  # the subject is all there
