"""The byte writer against the email package: build_message() must give exactly the bytes the SMTP
policy's generator gave over an EmailMessage tree, which _build_message_via_email_package() still does.

Boundaries are random, so both builds draw them from the same counter; everything else is
compared as it is: the data, the header block, the Message-ID and whether SMTPUTF8 is needed. For
input either path refuses, the other must refuse it with the same exception type (the email
package's generator fails on a message/delivery-status attachment with an AttributeError, say).
"""

from __future__ import annotations

import base64
import itertools
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from maildispatch.core import mime
from maildispatch.core.mime import AttachmentData, BuiltMessage, build_message
from maildispatch.core.render import RenderedContent, render_content
from maildispatch.core.request import UNSAFE_HEADER_TEXT, Address, InlineAttachment, SendRequest, parse_send_request

EVENTS = Path(__file__).resolve().parents[2] / "events" / "requests"
DATE = datetime(2025, 3, 8, 9, 30, tzinfo=timezone(timedelta(hours=7)))
MESSAGE_ID = "<3f2a9c@example.com>"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

Attachments = Sequence[AttachmentData | InlineAttachment]


@contextmanager
def counted_boundaries() -> Iterator[None]:
    counter = itertools.count()
    with mock.patch.object(mime, "_new_boundary", lambda: f"=_{next(counter):032x}"):
        yield


@contextmanager
def no_email_package() -> Iterator[None]:
    """The writer's own path: taking the email package's would make the comparison say nothing."""

    def refuse(*args: Any, **kwargs: Any) -> BuiltMessage:
        raise AssertionError("build_message() fell back to the email package")

    with mock.patch.object(mime, "_build_message_via_email_package", refuse):
        yield


def outcome(
    build: Any, req: SendRequest, content: RenderedContent, attachments: Attachments
) -> BuiltMessage | type[Exception]:
    with counted_boundaries():
        try:
            built: BuiltMessage = build(req, content, attachments, message_id=MESSAGE_ID, date=DATE)
        except Exception as error:
            return type(error)
    return built


def assert_same_bytes(
    req: SendRequest, content: RenderedContent, attachments: Attachments = (), *, fast: bool = True
) -> None:
    expected = outcome(mime._build_message_via_email_package, req, content, attachments)
    if fast:
        assert mime._generator_writes_verbatim(req, attachments)
        with no_email_package():
            actual = outcome(build_message, req, content, attachments)
    else:
        actual = outcome(build_message, req, content, attachments)
    if isinstance(expected, BuiltMessage) and isinstance(actual, BuiltMessage):
        assert actual.data == expected.data
    assert actual == expected


def request(**fields: Any) -> SendRequest:
    doc: dict[str, Any] = {"from": "shop@example.com", "to": ["binh@example.net"], "subject": "Hello", "text": "Hi"}
    doc.update(fields)
    return parse_send_request({name: value for name, value in doc.items() if value is not None})


# --- every sample request -------------------------------------------------------------------


def sample_requests() -> list[tuple[str, SendRequest]]:
    samples = []
    for path in sorted(EVENTS.iterdir()):
        try:
            samples.append((path.name, parse_send_request(path.read_bytes())))
        except ValueError:
            continue  # the poison samples: refused before any message is built
    return samples


SAMPLES = sample_requests()


def test_most_samples_parse() -> None:
    assert len(SAMPLES) >= 3 and "welcome-vi.json" in dict(SAMPLES)


@pytest.mark.parametrize("name, req", SAMPLES, ids=[name for name, _ in SAMPLES])
def test_every_sample_is_written_byte_for_byte_as_the_email_package_wrote_it(name: str, req: SendRequest) -> None:
    attachments = [AttachmentData(a.filename, a.content_type, a.content) for a in req.attachments]  # type: ignore[union-attr]

    assert_same_bytes(req, render_content(req), attachments)


# --- the messages test_mime.py builds -------------------------------------------------------


def shapes() -> list[tuple[str, SendRequest, RenderedContent, list[AttachmentData]]]:
    pdf, csv = AttachmentData("a.pdf", "application/pdf", PDF), AttachmentData("b.csv", "text/csv", b"a,b\n")
    plain = request()
    cases = [
        ("text", plain, RenderedContent("s", "t", None), []),
        ("html", plain, RenderedContent("s", None, "<p>h</p>"), []),
        ("alternative", plain, RenderedContent("s", "t", "<p>h</p>"), []),
        ("text+pdf", plain, RenderedContent("s", "t", None), [pdf]),
        ("html+pdf", plain, RenderedContent("s", None, "<p>h</p>"), [pdf]),
        ("alternative+pdf+csv", plain, RenderedContent("s", "t", "<p>h</p>"), [pdf, csv]),
        ("no body", plain, RenderedContent("s", None, None), []),
        ("empty text", plain, RenderedContent("s", "", None), []),
        (
            "empty attachment",
            plain,
            RenderedContent("s", "t", None),
            [AttachmentData("e.bin", "application/octet-stream", b"")],
        ),
        (
            "qp",
            plain,
            RenderedContent("s", "Your order #1001 has shipped and should arrive within 3 days. Cảm ơn!\n", None),
            [],
        ),
        ("cjk base64", plain, RenderedContent("s", "您的订单已发货。" * 20, None), []),
        ("long lines", plain, RenderedContent("s", "x" * 5000 + "\n" + "ệ" * 3000, None), []),
        ("line ends", plain, RenderedContent("s", "a\r\nb\rc\nd\r\n\r\n", "x\ry\n\n"), []),
        ("nul", plain, RenderedContent("s", "a\0b\n", None), []),
        ("no final newline", plain, RenderedContent("s", "a\nb", "c"), []),
        ("cc and bcc", request(cc=["lan@example.org"], bcc=["Secret Person <hidden@example.org>"]), None, []),
        ("bcc only", request(to=None, bcc=["hidden@example.org"]), None, []),
        ("idn", request(to=["Bé Na <na@bücher.example>"]), None, []),
        ("smtputf8", request(to=["Bé Na <用户@例子.广告>"], subject="Chào"), None, []),
        ("smtputf8 bcc", request(bcc=["用户@例子.广告"]), None, []),
        ("many recipients", request(to=[f"Khách hàng số {i} <customer{i}@example.net>" for i in range(40)]), None, []),
        (
            "quoted",
            request(to=['"Doe, John \\"JD\\"" <"john doe"@example.org>', "Plain Name <p@example.org>"]),
            None,
            [],
        ),
        ("encoded subject", request(subject="Đơn hàng #1001 đã giao"), None, []),
        ("lookalike subject", request(subject="Why does =?utf-8?q?abc?= show up?"), None, []),
        (
            "headers",
            request(
                headers={"X-Campaign": "mùa xuân", "List-Unsubscribe": "<https://example.com/u?t=" + "a" * 150 + ">"}
            ),
            None,
            [],
        ),
        (
            "odd filenames",
            plain,
            RenderedContent("s", "t", "h"),
            [
                AttachmentData("Hoá đơn tháng 3 – bản chính thức.pdf" * 7, "application/pdf", b"%PDF"),
                AttachmentData("=?utf-8?q?abc?=.pdf", "application/pdf", b""),
                AttachmentData("ệ" * 255, "application/octet-stream", b"\x00\xff"),
                AttachmentData('a "quoted" \\ name.txt', "text/plain", b"x" * 58),
            ],
        ),
    ]
    return [(name, req, content or render_content(req), attachments) for name, req, content, attachments in cases]


SHAPES = shapes()


@pytest.mark.parametrize("name, req, content, attachments", SHAPES, ids=[name for name, *_ in SHAPES])
def test_every_shape_is_written_byte_for_byte(
    name: str, req: SendRequest, content: RenderedContent, attachments: list[AttachmentData]
) -> None:
    assert_same_bytes(req, content, attachments)


@pytest.mark.parametrize(
    "subject", ["x" * 998, "漢" * 998, "a" + " " * 996 + "b", "a" + " " * 900 + "漢" * 97, "  padded\t "]
)
def test_the_long_subjects_are_written_byte_for_byte(subject: str) -> None:
    assert_same_bytes(request(), RenderedContent(subject, "t", None))


@pytest.mark.parametrize("name", ["Nguyễn Văn An", "ệ" * 998, '"' * 998, "=?utf-8?q?x?=", "a  b"])
@pytest.mark.parametrize("local", ["an", "用户"])
def test_the_display_names_are_written_byte_for_byte(name: str, local: str) -> None:
    req = SendRequest(
        from_=Address("shop@example.com", name), to=(Address(f"{local}@example.net", name),), subject="s", text="t"
    )

    assert_same_bytes(req, render_content(req))


@pytest.mark.parametrize(
    "size", [0, 1, 2, 3, 56, 57, 58, 57 * 256 - 1, 57 * 256, 57 * 256 + 1, 57 * 512 + 100, 100_000, 1_000_003]
)
def test_attachments_of_every_size_are_written_byte_for_byte(size: int) -> None:
    content = random.Random(size).randbytes(size)

    assert_same_bytes(
        request(), RenderedContent("s", "t", "h"), [AttachmentData("data.bin", "application/octet-stream", content)]
    )


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 57 * 256 - 1, 57 * 256, 57 * 256 + 1, 57 * 1000 + 5])
def test_base64_is_written_in_crlf_lines_a_chunk_at_a_time(size: int) -> None:
    content = random.Random(size).randbytes(size)
    out: list[bytes] = []

    mime._write_base64(out, content)

    assert b"".join(out) == base64.encodebytes(content).replace(b"\n", b"\r\n")
    assert all(len(piece) <= 78 * 256 for piece in out)  # never the whole attachment in one more copy


# --- what still goes to the email package ---------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["multipart/mixed", "Multipart/Signed", "message/rfc822", "message/delivery-status", "multipart_signed/x"],
)
def test_types_the_generator_has_a_handler_for_go_to_the_email_package(content_type: str) -> None:
    assert not mime._written_as_text(content_type)
    attachments = [AttachmentData("a.bin", content_type, b"line\nline\n" * 20)]

    assert not mime._generator_writes_verbatim(request(), attachments)
    assert_same_bytes(request(), RenderedContent("s", "t", None), attachments, fast=False)


@pytest.mark.parametrize(
    "content_type",
    ["application/pdf", "text/csv", "image/png", "TEXT/HTML", "application/x-a+b", "x-foo/bar", "not a type"],
)
def test_other_types_are_written_here(content_type: str) -> None:
    assert mime._written_as_text(content_type)


def test_a_content_type_among_the_requests_headers_goes_to_the_email_package() -> None:
    req = SendRequest(
        from_=Address("shop@example.com"),
        to=(Address("an@example.net"),),
        subject="s",
        text="t",
        headers=(("content-type", 'multipart/mixed; boundary="x"'),),
    )

    assert not mime._generator_writes_verbatim(req, [])
    assert_same_bytes(req, RenderedContent("s", "t", "h"), fast=False)


# --- properties -------------------------------------------------------------------------------

any_character = st.characters(codec="utf-8")  # every code point but the surrogates
SCRIPTS = [
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.sampled_from("àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ"),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
    st.characters(min_codepoint=0x0400, max_codepoint=0x04FF),  # Cyrillic
    st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),  # Arabic
    st.characters(min_codepoint=0x0900, max_codepoint=0x097F),  # Devanagari
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
    st.sampled_from(
        ["=?", "?=", "?q?", "?b?", " ", "  ", "\t", '"', "\\", "(", ")", "<", ">", ",", ";", ":", "@", "."]
    ),
    any_character,
]
any_text = st.lists(st.one_of(*SCRIPTS), max_size=120).map("".join)
long_word = st.builds(lambda char, count: char * count, st.one_of(*SCRIPTS[:7]), st.integers(60, 1000))
header_text = st.one_of(any_text, long_word).map(lambda text: UNSAFE_HEADER_TEXT.sub("", text))
body_text = st.one_of(
    st.lists(st.one_of(*SCRIPTS, st.sampled_from(["\n", "\r\n", "\r", "\0", "=", "." * 80])), max_size=400).map(
        "".join
    ),
    long_word,
)
bodies = st.one_of(st.tuples(body_text, st.none()), st.tuples(st.none(), body_text), st.tuples(body_text, body_text))
addresses = st.builds(
    lambda local, domain, name: Address(f"{local}@{domain}", name or None),
    st.sampled_from(["an", "an.nguyen", '"john doe"', "o'brien", "用户", "josé"]),
    st.sampled_from(["example.net", "bücher.example", "例子.广告"]),
    st.one_of(st.none(), header_text),
)
ascii_addresses = st.builds(
    lambda address, name: Address(address, name or None),
    st.sampled_from(["shop@example.com", "o'brien@bücher.example", '"the shop"@example.com']),
    st.one_of(st.none(), header_text),
)
filenames = st.one_of(
    st.text(any_character, min_size=1, max_size=300).map(lambda text: UNSAFE_HEADER_TEXT.sub("", text) or "-"),
    st.lists(st.one_of(*SCRIPTS[:8]), min_size=1, max_size=80).map("".join),
)
sizes = st.one_of(st.integers(0, 300), st.sampled_from([56, 57, 58, 57 * 256, 57 * 256 + 1, 100_000]))
attachments = st.builds(
    lambda filename, content_type, size, seed: AttachmentData(
        filename, content_type, random.Random(seed).randbytes(size)
    ),
    filenames,
    st.sampled_from(
        ["application/pdf", "text/csv", "text/plain", "image/png", "application/octet-stream", "Application/X-Odd+Type"]
    ),
    sizes,
    st.integers(0, 2**32),
)


@settings(max_examples=200, deadline=None)
@given(
    from_=ascii_addresses,
    to=st.lists(addresses, max_size=3),
    cc=st.lists(addresses, max_size=2),
    reply_to=st.lists(ascii_addresses, max_size=1),
    subject=header_text,
    headers=st.lists(
        st.tuples(
            st.sampled_from(["X-Campaign", "List-Unsubscribe", "X-A-Rather-Long-Header-Name-For-Folding"]), header_text
        ),
        max_size=2,
        unique_by=lambda header: header[0],
    ),
    text_and_html=bodies,
    files=st.lists(attachments, max_size=3),
)
@example(
    from_=Address("shop@example.com", "Cửa hàng"),
    to=[],
    cc=[],
    reply_to=[],
    subject="漢" * 998,
    headers=[],
    text_and_html=("t", None),
    files=[],
)
def test_any_message_is_written_byte_for_byte(
    from_: Address,
    to: list[Address],
    cc: list[Address],
    reply_to: list[Address],
    subject: str,
    headers: list[tuple[str, str]],
    text_and_html: tuple[str | None, str | None],
    files: list[AttachmentData],
) -> None:
    req = SendRequest(
        from_=from_, to=tuple(to), cc=tuple(cc), reply_to=tuple(reply_to), subject=subject, headers=tuple(headers)
    )

    assert_same_bytes(req, RenderedContent(subject, *text_and_html), files)
