"""Building the message: every test parses the bytes back with the stdlib parser and checks what a reader sees."""

from __future__ import annotations

import base64
import email
import email.quoprimime
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from maildispatch.core import mime
from maildispatch.core.mime import AttachmentData, BuiltMessage, build_message, message_id_for
from maildispatch.core.render import RenderedContent, render_content
from maildispatch.core.request import UNSAFE_HEADER_TEXT, Address, SendRequest, parse_send_request

EVENTS = Path(__file__).resolve().parents[2] / "events" / "requests"
DATE = datetime(2025, 3, 8, 9, 30, tzinfo=timezone(timedelta(hours=7)))
MESSAGE_ID = "<3f2a9c@example.com>"


def request(**fields: Any) -> SendRequest:
    doc: dict[str, Any] = {"from": "shop@example.com", "to": ["binh@example.net"], "subject": "Hello", "text": "Hi"}
    doc.update(fields)
    return parse_send_request({name: value for name, value in doc.items() if value is not None})


def build(
    req: SendRequest,
    content: RenderedContent | None = None,
    attachments: Sequence[AttachmentData] = (),
) -> BuiltMessage:
    return build_message(req, content or render_content(req), attachments, message_id=MESSAGE_ID, date=DATE)


def parsed(built: BuiltMessage) -> EmailMessage:
    if built.requires_smtputf8:
        # The stdlib reads UTF-8 headers only from text, not from bytes.
        message = email.message_from_string(built.data.decode("utf-8"), policy=policy.default)
    else:
        message = email.message_from_bytes(built.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def structure(message: EmailMessage) -> Any:
    if message.is_multipart():
        return (message.get_content_type(), [structure(part) for part in message.iter_parts()])  # type: ignore[arg-type]
    return message.get_content_type()


def as_sent(text: str) -> str:
    """Text as a reader gets it back: CRLF line endings, ending in one."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines[-1] == "" and len(lines) > 1:
        lines.pop()
    return "".join(line + "\r\n" for line in lines)


def display_name(built: BuiltMessage, header: str) -> str:
    """The display name of a one-address header, read as RFC 2047 says.

    Python's modern parser keeps the space between two adjacent encoded-words in a display
    name (RFC 2047 section 6.2 says to drop it; the stdlib's own output reads back wrong the
    same way), so an encoded name is read with the RFC 2047 decoder instead.
    """
    message = parsed(built)
    legacy = email.message_from_string(built.data.decode("utf-8"), policy=policy.compat32)[header]
    phrase = " ".join(legacy.split()).rpartition("<")[0].strip()
    if phrase.startswith("=?"):
        return str(make_header(decode_header(phrase)))
    return message[header].addresses[0].display_name


def assert_wire_format(data: bytes) -> None:
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert all(b"\r" not in line and b"\n" not in line for line in lines), "bare CR or LF"


# --- the sample -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def welcome() -> tuple[SendRequest, BuiltMessage]:
    req = parse_send_request((EVENTS / "welcome-vi.json").read_bytes())
    attachments = [AttachmentData(a.filename, a.content_type, a.content) for a in req.attachments]  # type: ignore[union-attr]
    return req, build(req, attachments=attachments)


def test_the_vietnamese_sample_reads_back_in_vietnamese(welcome: tuple[SendRequest, BuiltMessage]) -> None:
    _, built = welcome
    message = parsed(built)

    assert message["Subject"] == "Chào mừng An đến với Cửa hàng Hoa Sen"
    assert message["From"].addresses[0].display_name == "Cửa hàng Hoa Sen"
    assert message["To"].addresses[0].display_name == "Nguyễn Văn An"
    assert message["To"].addresses[0].addr_spec == "an.nguyen@example.net"
    assert message["Reply-To"].addresses[0].display_name == "Hỗ trợ khách hàng"
    assert not built.requires_smtputf8
    assert built.data.isascii()


def test_the_sample_is_mixed_with_alternative_bodies_then_the_attachment(
    welcome: tuple[SendRequest, BuiltMessage],
) -> None:
    message = parsed(welcome[1])

    assert structure(message) == (
        "multipart/mixed",
        [("multipart/alternative", ["text/plain", "text/html"]), "image/png"],
    )


def test_the_attachment_round_trips_byte_for_byte_with_an_rfc2231_filename(
    welcome: tuple[SendRequest, BuiltMessage],
) -> None:
    req, built = welcome
    attachment = next(parsed(built).iter_attachments())

    assert attachment.get_filename() == "thẻ-thành-viên.png"
    assert attachment.get_content() == req.attachments[0].content  # type: ignore[union-attr]
    assert attachment["Content-Transfer-Encoding"] == "base64"
    assert b"filename*=utf-8''th%E1%BA%BB-th%C3%A0nh-vi%C3%AAn.png" in built.data


def test_headers_come_in_the_documented_order(welcome: tuple[SendRequest, BuiltMessage]) -> None:
    names = [name for name, _ in parsed(welcome[1]).items()]

    assert names == [
        "From",
        "To",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "X-Campaign",
        "List-Unsubscribe",
        "Content-Type",
    ]


def test_date_message_id_and_mime_version_are_set(welcome: tuple[SendRequest, BuiltMessage]) -> None:
    message = parsed(welcome[1])

    assert message["Date"].datetime == DATE
    assert message["Message-ID"] == MESSAGE_ID
    assert welcome[1].message_id == MESSAGE_ID
    assert message["MIME-Version"] == "1.0"


def test_the_header_block_is_the_header_section_of_the_data(welcome: tuple[SendRequest, BuiltMessage]) -> None:
    built = welcome[1]

    assert built.data.startswith(built.header_block.encode() + b"\r\n")
    assert built.header_block.endswith("\r\n") and "\r\n\r\n" not in built.header_block
    headers = email.message_from_string(built.header_block, policy=policy.default)
    assert headers["Subject"] == "Chào mừng An đến với Cửa hàng Hoa Sen"
    assert "Xin ch" not in built.header_block


def test_the_data_uses_crlf_and_short_lines(welcome: tuple[SendRequest, BuiltMessage]) -> None:
    assert_wire_format(welcome[1].data)


# --- recipients in headers ------------------------------------------------------------------


def test_bcc_never_appears_in_the_message() -> None:
    built = build(request(cc=["lan@example.org"], bcc=["Secret Person <hidden@example.org>"]))
    message = parsed(built)

    assert "Bcc" not in message
    assert b"hidden@example.org" not in built.data and b"Secret" not in built.data
    assert [a.addr_spec for a in message["Cc"].addresses] == ["lan@example.org"]


def test_a_bcc_only_message_says_its_recipients_are_undisclosed() -> None:
    message = parsed(build(request(to=None, bcc=["hidden@example.org"])))

    assert message["To"] == "undisclosed-recipients:;"


def test_an_internationalised_domain_is_written_in_idna() -> None:
    built = build(request(to=["Bé Na <na@bücher.example>"]))

    assert parsed(built)["To"].addresses[0].addr_spec == "na@xn--bcher-kva.example"
    assert built.data.isascii() and not built.requires_smtputf8


def test_a_utf8_local_part_makes_a_utf8_message_that_needs_smtputf8() -> None:
    built = build(request(to=["Bé Na <用户@例子.广告>"], subject="Chào"))
    message = parsed(built)

    assert built.requires_smtputf8
    assert message["To"].addresses[0].addr_spec == "用户@例子.广告"
    assert message["To"].addresses[0].display_name == "Bé Na"
    assert message["Subject"] == "Chào"
    assert "用户@例子.广告".encode() in built.data


def test_a_utf8_local_part_in_bcc_keeps_ascii_headers_and_leaves_smtputf8_to_its_envelope() -> None:
    """Issue 9 point 7: the hidden Bcc needs SMTPUTF8 in its own envelope only, not the message's."""
    built = build(request(bcc=["用户@例子.广告"]))

    assert not built.requires_smtputf8
    assert built.data.isascii()


def test_many_recipients_fold_into_short_lines() -> None:
    to = [f"Khách hàng số {i} <customer{i}@example.net>" for i in range(40)]
    built = build(request(to=to))

    assert [a.display_name for a in parsed(built)["To"].addresses] == [f"Khách hàng số {i}" for i in range(40)]
    assert max(len(line) for line in built.header_block.split("\r\n")) <= 78


def test_quoted_local_parts_and_special_display_names_survive() -> None:
    built = build(request(to=['"Doe, John \\"JD\\"" <"john doe"@example.org>', "Plain Name <p@example.org>"]))
    to = parsed(built)["To"].addresses

    assert (to[0].display_name, to[0].username) == ('Doe, John "JD"', "john doe")
    assert to[1].display_name == "Plain Name"


# --- subject and extra headers --------------------------------------------------------------


def test_a_non_ascii_subject_is_encoded_words() -> None:
    built = build(request(subject="Đơn hàng #1001 đã giao"))

    assert b"=?utf-8?" in built.data
    assert parsed(built)["Subject"] == "Đơn hàng #1001 đã giao"


def test_text_that_looks_like_an_encoded_word_is_kept_literally() -> None:
    subject = "Why does =?utf-8?q?abc?= show up?"

    assert parsed(build(request(subject=subject)))["Subject"] == subject


def test_the_requests_headers_follow_in_order() -> None:
    built = build(
        request(headers={"X-Campaign": "mùa xuân", "List-Unsubscribe": "<https://example.com/u?t=" + "a" * 150 + ">"})
    )
    message = parsed(built)

    assert message["X-Campaign"] == "mùa xuân"
    assert message["List-Unsubscribe"] == "<https://example.com/u?t=" + "a" * 150 + ">"
    assert b"List-Unsubscribe: <https://example.com/u?t=" in built.data  # a URL is never encoded


@pytest.mark.parametrize(
    "content, addresses",
    [
        (RenderedContent("Hi\r\nBcc: victim@example.org", "t", None), None),
        (RenderedContent("Hi\nthere", "t", None), None),
        (RenderedContent("Hi", "t", None), [Address("an@example.net", "An\r\nBcc: victim@example.org")]),
        (RenderedContent("Hi", "t", None), [Address("an@example.net\r\nBcc: victim@example.org")]),
    ],
)
def test_cr_lf_never_reaches_a_header_even_from_a_careless_caller(
    content: RenderedContent, addresses: list[Address] | None
) -> None:
    req = request()
    if addresses is not None:
        req = SendRequest(from_=req.from_, to=tuple(addresses), subject="Hi", text="t")

    with pytest.raises(ValueError):
        build(req, content)


def test_an_injected_header_value_is_refused_too() -> None:
    req = SendRequest(
        from_=Address("shop@example.com"),
        to=(Address("an@example.net"),),
        subject="s",
        text="t",
        headers=(("X-Campaign", "spring\r\nBcc: victim@example.org"),),
    )

    with pytest.raises(ValueError):
        build(req)


# --- structure and bodies -------------------------------------------------------------------

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize(
    "text, html, attachments, shape",
    [
        ("t", None, [], "text/plain"),
        (None, "<p>h</p>", [], "text/html"),
        ("t", "<p>h</p>", [], ("multipart/alternative", ["text/plain", "text/html"])),
        (
            "t",
            None,
            [AttachmentData("a.pdf", "application/pdf", PDF)],
            ("multipart/mixed", ["text/plain", "application/pdf"]),
        ),
        (
            None,
            "<p>h</p>",
            [AttachmentData("a.pdf", "application/pdf", PDF)],
            ("multipart/mixed", ["text/html", "application/pdf"]),
        ),
        (
            "t",
            "<p>h</p>",
            [AttachmentData("a.pdf", "application/pdf", PDF), AttachmentData("b.csv", "text/csv", b"a,b\n")],
            (
                "multipart/mixed",
                [("multipart/alternative", ["text/plain", "text/html"]), "application/pdf", "text/csv"],
            ),
        ),
    ],
)
def test_the_structure_follows_the_content(
    text: str | None, html: str | None, attachments: list[AttachmentData], shape: Any
) -> None:
    built = build(request(), RenderedContent("s", text, html), attachments)
    message = parsed(built)

    assert structure(message) == shape
    bodies = {
        part.get_content_type(): part
        for part in message.walk()
        if part.get_content_maintype() == "text" and not part.get_filename()
    }
    for body, subtype in ((text, "text/plain"), (html, "text/html")):
        if body is not None:
            assert bodies[subtype].get_content() == as_sent(body)
            assert bodies[subtype].get_content_charset() == "utf-8"
    assert [a.get_payload(decode=True) for a in message.iter_attachments()] == [a.content for a in attachments]


def test_text_is_quoted_printable_or_base64_whichever_is_smaller() -> None:
    mostly_ascii = parsed(
        build(
            request(),
            RenderedContent("s", "Your order #1001 has shipped and should arrive within 3 days. Cảm ơn!\n", None),
        )
    )
    cjk = parsed(build(request(), RenderedContent("s", "您的订单已发货。" * 20, None)))

    assert mostly_ascii["Content-Transfer-Encoding"] == "quoted-printable"
    assert cjk["Content-Transfer-Encoding"] == "base64"


@pytest.mark.parametrize(
    "text",
    ["Xin chào, đơn hàng của bạn đã được giao.\n" * 5, "Order #1001 — thanks!\n" * 5, "ệ" * 200, "a=b\tc ệ \n" * 40],
)
def test_the_chosen_encoding_is_never_the_larger_one(text: str) -> None:
    part = parsed(build(request(), RenderedContent("s", text, None)))
    body = part.get_payload()
    data = "".join(line + "\r\n" for line in re.split(r"\r\n|\r|\n", text.rstrip("\n"))).encode()
    quoted = email.quoprimime.body_encode(data.decode("latin-1"))
    encoded = base64.encodebytes(data).decode()

    assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    assert len(body) <= max(len(quoted), len(encoded)) and len(body) <= min(len(quoted), len(encoded)) * 1.1
    assert part.get_content() == as_sent(text)


def test_a_very_long_line_is_wrapped_by_the_encoding() -> None:
    text = "x" * 5000 + "\n" + "ệ" * 3000
    built = build(request(), RenderedContent("s", text, None))

    assert_wire_format(built.data)
    assert parsed(built).get_content() == as_sent(text)


def test_only_the_top_level_carries_mime_version() -> None:
    built = build(request(), RenderedContent("s", "t", "<p>h</p>"), [AttachmentData("a.pdf", "application/pdf", PDF)])

    assert built.data.count(b"MIME-Version:") == 1


@pytest.mark.parametrize(
    "message_id, date", [("3f2a9c@example.com", DATE), ("<a b@example.com>", DATE), (MESSAGE_ID, datetime(2025, 1, 1))]
)
def test_a_bad_message_id_or_a_naive_date_is_a_programming_error(message_id: str, date: datetime) -> None:
    with pytest.raises(ValueError):
        build_message(request(), RenderedContent("s", "t", None), [], message_id=message_id, date=date)


# --- Message-ID -----------------------------------------------------------------------------


def test_the_message_id_is_stable_for_a_key_and_differs_for_another() -> None:
    first = message_id_for("order-1001-shipped", "example.com")

    assert message_id_for("order-1001-shipped", "example.com") == first
    assert message_id_for("order-1002-shipped", "example.com") != first
    assert message_id_for("order-1001-shipped", "example.org") != first
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.com>", first)


def test_the_message_id_domain_is_ascii() -> None:
    assert message_id_for("k", "Bücher.example").endswith("@xn--bcher-kva.example>")


@pytest.mark.parametrize("domain", ["", "exa mple.com", "a@b.com", "<x>"])
def test_the_message_id_needs_a_domain(domain: str) -> None:
    with pytest.raises(ValueError):
        message_id_for("k", domain)


def test_a_message_key_with_any_printable_characters_gives_a_valid_message_id() -> None:
    message_id = message_id_for('<weird> "key" @ (x)', "example.com")

    assert (
        parsed(build_message(request(), RenderedContent("s", "t", None), [], message_id=message_id, date=DATE))[
            "Message-ID"
        ]
        == message_id
    )


# --- properties over large input spaces -----------------------------------------------------

header_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
one_line = header_text.filter(lambda text: not UNSAFE_HEADER_TEXT.search(text))
ascii_only = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)
tricky = st.lists(
    st.sampled_from(
        [
            "=?",
            "?=",
            "utf-8",
            "?q?",
            "?b?",
            " ",
            "  ",
            "\t",
            '"',
            "\\",
            "(",
            ")",
            "<",
            ">",
            ",",
            ";",
            ":",
            "@",
            ".",
            "ệ",
            "漢",
            "😀",
            "a",
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=80, deadline=None)
@given(st.one_of(header_text, ascii_only, tricky))
@example("x" * 998)
@example("漢" * 998)
@example("a" + " " * 996 + "b")
@example("a" + " " * 900 + "漢" * 97)
def test_any_subject_reads_back_unchanged_or_is_refused(subject: str) -> None:
    content = RenderedContent(subject, "t", None)
    if UNSAFE_HEADER_TEXT.search(subject):
        with pytest.raises(ValueError):
            build(request(), content)
        return

    built = build(request(), content)

    assert_wire_format(built.data)
    message = parsed(built)
    assert message["Subject"] == subject.strip(" \t")
    assert message.keys()[:4] == ["From", "To", "Subject", "Date"]  # nothing slipped in between


@settings(max_examples=80, deadline=None)
@given(st.one_of(one_line, tricky.filter(lambda text: not UNSAFE_HEADER_TEXT.search(text))))
@example("漢" * 998)
def test_any_header_value_reads_back_unchanged(value: str) -> None:
    req = SendRequest(
        from_=Address("shop@example.com"),
        to=(Address("an@example.net"),),
        subject="s",
        text="t",
        headers=(("X-Long-Campaign-Name", value),),
    )

    built = build(req)

    assert_wire_format(built.data)
    assert parsed(built)["X-Long-Campaign-Name"] == value.strip(" \t")


@settings(max_examples=80, deadline=None)
@given(st.one_of(one_line, tricky.filter(lambda text: not UNSAFE_HEADER_TEXT.search(text))), st.booleans())
@example("Nguyễn Văn An", False)
@example("ệ" * 998, True)
@example('"' * 998, False)
def test_any_display_name_reads_back_unchanged(name: str, utf8: bool) -> None:
    assume(name.strip())
    local = "用户" if utf8 else "an"
    req = SendRequest(
        from_=Address("shop@example.com", name), to=(Address(f"{local}@example.net", name),), subject="s", text="t"
    )

    built = build(req)

    assert_wire_format(built.data)
    assert built.requires_smtputf8 is utf8
    assert display_name(built, "From") == name
    assert display_name(built, "To") == name
    assert parsed(built)["To"].addresses[0].addr_spec == f"{local}@example.net"


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(ascii_only, tricky, one_line), st.sampled_from(["Subject", "X-Campaign", "X-A-Rather-Long-Header-Name"])
)
@example("", "Subject")
@example(" \t ", "Subject")
@example("a  b\tc", "Subject")
@example("x" * 69, "Subject")
@example("x" * 70, "Subject")
@example("x" * 66 + " ab", "Subject")  # 78 octets: one line
@example("x" * 67 + " ab", "Subject")  # 79: folds before "ab"
@example("=?utf-8?q?hi?=", "Subject")
def test_a_short_plain_header_is_written_as_word_by_word_folding_writes_it(value: str, name: str) -> None:
    """Plain ASCII text that fits on one line is written at once; it must be the same field, byte for byte."""
    assume(not UNSAFE_HEADER_TEXT.search(value))

    for utf8 in (False, True):
        assert mime._text_header(name, value, utf8).folded == mime._folded_text(name, value.strip(" \t"), utf8)


@pytest.mark.parametrize(
    "date",
    [
        datetime(2026, 12, 5, 10, 0, 0, 999_999, tzinfo=UTC),
        datetime(2026, 12, 5, 17, 0, 0, 1, tzinfo=timezone(timedelta(hours=7))),  # the same instant, another zone
        datetime(2026, 12, 5, 5, 0, 0, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 12, 5, 10, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30, seconds=15))),
    ],
)
def test_the_date_field_is_the_email_packages_in_every_zone(date: datetime) -> None:
    def built_at(when: datetime) -> BuiltMessage:
        return build_message(request(), RenderedContent("s", "t", None), [], message_id=MESSAGE_ID, date=when)

    for earlier in (date.replace(microsecond=0), date.astimezone(UTC)):  # an equal time first, for any cache
        built_at(earlier)

    built = built_at(date)

    assert f"\r\nDate: {format_datetime(date)}\r\n" in built.header_block


filenames = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="/\\"), min_size=1, max_size=255
)


@settings(max_examples=60, deadline=None)
@given(filenames, st.binary(max_size=300))
@example("Hoá đơn tháng 3 – bản chính thức.pdf" * 7, b"%PDF")
@example("=?utf-8?q?abc?=.pdf", b"")
@example("ệ" * 255, b"\x00\xff")
def test_any_attachment_round_trips(filename: str, content: bytes) -> None:
    assume(filename.strip() == filename and filename not in (".", ".."))  # readers trim names
    # Python's get_filename() strips a surrounding <...> as if it were quoting: its quirk, not ours.
    assume(not (filename.startswith("<") and filename.endswith(">")))
    built = build(
        request(), RenderedContent("s", "t", None), [AttachmentData(filename, "application/octet-stream", content)]
    )

    assert_wire_format(built.data)
    attachment = next(parsed(built).iter_attachments())
    assert attachment.get_filename() == filename
    assert attachment.get_payload(decode=True) == content


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=400), st.sampled_from(["plain", "html"]))
def test_any_body_round_trips(text: str, subtype: str) -> None:
    content = RenderedContent("s", text, None) if subtype == "plain" else RenderedContent("s", None, text)

    built = build(request(), content)

    assert_wire_format(built.data)
    message = parsed(built)
    assert message.get_content_type() == f"text/{subtype}"
    assert message.get_content() == as_sent(text)
