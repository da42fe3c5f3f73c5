"""The send request contract: what parse_send_request accepts, what it refuses, and how it names the field."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildispatch.core.request import (
    Address,
    Campaign,
    InlineAttachment,
    InlineTemplate,
    InvalidRequest,
    S3Attachment,
    SendRequest,
    StoredTemplateRef,
    parse_send_request,
    salvage_envelope,
)

EVENTS = Path(__file__).resolve().parents[2] / "events" / "requests"


def request(**fields: Any) -> dict[str, Any]:
    """A minimal valid request, with `fields` replacing or adding top-level fields (None removes one)."""
    doc: dict[str, Any] = {"from": "shop@example.com", "to": ["binh@example.net"], "subject": "Hello", "text": "Hi"}
    doc.update(fields)
    return {name: value for name, value in doc.items() if value is not None}


def rejection(body: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_send_request(body if isinstance(body, (str, bytes)) else json.dumps(body))
    return caught.value


# --- the sample requests --------------------------------------------------------------------


def test_the_vietnamese_welcome_sample_parses_to_a_templated_request_with_an_attachment() -> None:
    parsed = parse_send_request((EVENTS / "welcome-vi.json").read_bytes())

    assert parsed.from_ == Address("shop@example.com", "Cửa hàng Hoa Sen")
    assert parsed.to == (Address("an.nguyen@example.net", "Nguyễn Văn An"),)
    assert parsed.message_key == "welcome-an-0001"
    assert isinstance(parsed.template, InlineTemplate)
    assert parsed.template.subject == "Chào mừng {{ name }} đến với Cửa hàng Hoa Sen"
    assert parsed.variables["name"] == "An"
    (attachment,) = parsed.attachments
    assert isinstance(attachment, InlineAttachment)
    assert attachment.content_type == "image/png"
    assert attachment.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert parsed.tags["locale"] == "vi-VN"


def test_the_partial_reject_sample_goes_to_two_recipients() -> None:
    parsed = parse_send_request((EVENTS / "partial-reject.json").read_text(encoding="utf-8"))

    assert [r.address for r in parsed.recipients] == ["binh@example.net", "ghost@example.net"]
    assert parsed.text and parsed.html and parsed.template is None


def test_the_header_injection_sample_is_refused_naming_the_header() -> None:
    error = rejection((EVENTS / "poison-header-injection.json").read_bytes())

    assert error.field == "headers.X-Campaign"
    assert "line break" in error.message


def test_a_body_that_is_not_json_is_refused_for_the_whole_document() -> None:
    error = rejection((EVENTS / "poison-not-json.txt").read_bytes())

    assert error.field == "$"
    assert "not valid JSON" in error.message


# --- the document as a whole ----------------------------------------------------------------


def test_the_error_reads_field_then_message() -> None:
    error = rejection(request(to=["nobody"]))

    assert (error.field, str(error)) == ("to[0]", f"to[0]: {error.message}")
    assert isinstance(error, ValueError)


def test_str_bytes_and_mapping_bodies_parse_to_the_same_request() -> None:
    doc = request(cc=["Chị Lan <lan@example.org>"], tags={"k": "v"})

    from_str = parse_send_request(json.dumps(doc))
    from_bytes = parse_send_request(json.dumps(doc, ensure_ascii=False).encode("utf-8"))
    from_mapping = parse_send_request(doc)

    assert from_str == from_bytes == from_mapping


def test_a_minimal_request_gets_the_defaults() -> None:
    parsed = parse_send_request(request())

    assert parsed == SendRequest(
        from_=Address("shop@example.com"), to=(Address("binh@example.net"),), subject="Hello", text="Hi"
    )
    assert parsed.version == 1 and parsed.message_key is None and dict(parsed.tags) == {}


@pytest.mark.parametrize(
    "body, why",
    [
        (b"[1, 2]", "must be a JSON object"),
        (b'"just a string"', "must be a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"from": NaN}', "NaN is not a JSON number"),
        (b'{"to": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "not valid JSON"),
        (b'{"from": "a@b.cd", "to": ["x@y.zz"], "subject": "\\ud800", "text": "t"}', "unpaired UTF-16 surrogate"),
    ],
)
def test_bodies_that_are_not_a_json_object_of_text_are_refused(body: bytes, why: str) -> None:
    error = rejection(body)

    assert why in error.message


def test_a_lone_surrogate_is_refused_naming_its_field() -> None:
    assert rejection('{"from": "a@b.cd", "to": ["x@y.zz"], "subject": "s", "text": "\\udc00"}').field == "text"


@pytest.mark.parametrize("text", ["\\udc00", "\\uDC00", "\\uD800", "\udc00"])
def test_a_lone_surrogate_in_a_queue_body_is_refused_escaped_in_either_case_or_raw(text: str) -> None:
    body = '{"from": "a@b.cd", "to": ["x@y.zz"], "subject": "s", "text": "' + text + '"}'

    assert rejection(body).field == "text"


def test_paired_surrogate_escapes_are_ordinary_text() -> None:
    parsed = parse_send_request(json.dumps(request(subject="Đơn hàng 😀")))  # ensure_ascii escapes the emoji as a pair

    assert parsed.subject == "Đơn hàng 😀"


def test_a_body_over_one_mebibyte_is_refused_before_it_is_parsed() -> None:
    body = json.dumps(request(text="x" * (1024 * 1024)))

    error = rejection(body)

    assert error.field == "$" and "1 MiB" in error.message


def test_a_body_just_under_one_mebibyte_is_accepted() -> None:
    doc = request(text="")
    doc["text"] = "x" * (1024 * 1024 - len(json.dumps(doc)))

    assert len(json.dumps(doc)) == 1024 * 1024
    assert len(parse_send_request(json.dumps(doc)).text or "") > 1_000_000


@pytest.mark.parametrize(
    "doc, field",
    [
        (request(sender="x@example.com"), "sender"),
        (request(to=["a@example.net", {"email": "b@example.net"}]), "to[1].email"),
        (request(attachments=[{"filename": "a.txt", "content_base64": "", "size": 0}]), "attachments[0].size"),
        (request(text=None, subject=None, template={"text": "t", "body": "b"}), "template.body"),
        (request(text=None, subject=None, template={"key": "welcome/v2", "text": "t"}), "template.text"),
        (
            request(attachments=[{"filename": "a.pdf", "s3": {"bucket": "abc", "key": "k", "region": "x"}}]),
            "attachments[0].s3.region",
        ),
    ],
)
def test_unknown_fields_are_refused_by_their_path(doc: dict[str, Any], field: str) -> None:
    assert rejection(doc).field == field


@pytest.mark.parametrize("version", [2, 0, "1", True, None])
def test_only_version_1_is_read(version: Any) -> None:
    assert (
        rejection(request(version=version) if version is not None else {**request(), "version": None}).field
        == "version"
    )


def test_version_1_may_be_given_or_left_out() -> None:
    assert parse_send_request(request(version=1)) == parse_send_request(request())


@pytest.mark.parametrize("key", ["order-1001/shipped:v2", "a", "k" * 200, "~!@#$%^&*()"])
def test_message_keys_are_printable_ascii_without_spaces(key: str) -> None:
    assert parse_send_request(request(message_key=key)).message_key == key


@pytest.mark.parametrize("key", ["", "order 1001", "k" * 201, "đơn-1001", "tab\there", 1001])
def test_other_message_keys_are_refused(key: Any) -> None:
    assert rejection(request(message_key=key)).field == "message_key"


# --- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written, address, name",
    [
        ("an@example.net", "an@example.net", None),
        ("Nguyễn Văn An <an.nguyen@example.net>", "an.nguyen@example.net", "Nguyễn Văn An"),
        ('"Doe, John" <john@example.org>', "john@example.org", "Doe, John"),
        ('"say \\"hi\\"" <hi@example.org>', "hi@example.org", 'say "hi"'),
        ("<bare@example.org>", "bare@example.org", None),
        ("  Spaced   <s@example.org>", "s@example.org", "Spaced"),
        ({"address": "an@example.net", "name": "Nguyễn Văn An"}, "an@example.net", "Nguyễn Văn An"),
        ({"address": "an@example.net"}, "an@example.net", None),
        ({"address": "an@example.net", "name": ""}, "an@example.net", None),
        ('"john doe"@example.org', '"john doe"@example.org', None),
        ("o'brien+tag@mail.example.co.uk", "o'brien+tag@mail.example.co.uk", None),
        ("user@bücher.example", "user@bücher.example", None),
        ("用户@例子.广告", "用户@例子.广告", None),
        ("a" * 64 + "@example.net", "a" * 64 + "@example.net", None),
        ("an@" + ".".join(["a" * 60] * 4) + ".example", "an@" + ".".join(["a" * 60] * 4) + ".example", None),  # 254
    ],
)
def test_addresses_are_strings_or_objects(written: Any, address: str, name: str | None) -> None:
    assert parse_send_request(request(to=[written])).to == (Address(address, name),)


@pytest.mark.parametrize(
    "written",
    [
        "plainaddress",
        "@example.net",
        "an@",
        "an@localhost",  # a domain needs a dot
        "an@@example.net",
        "a@b@example.net",
        ".an@example.net",
        "an.@example.net",
        "an..nguyen@example.net",
        "an nguyen@example.net",
        '""@example.net',
        "an@example..net",
        "an@.example.net",
        "an@example.net.",
        "an@-example.net",
        "an@example-.net",
        "an@exa_mple.net",
        "an@1.2.3.4",  # the top label needs a letter
        "an@[192.0.2.1]",
        "an@" + "a" * 64 + ".example",  # a label is at most 63
        "a" * 65 + "@example.net",  # a local part is at most 64 octets
        "ệ" * 22 + "@example.net",  # 66 octets in UTF-8
        "an@" + ".".join(["a" * 60] * 4) + ".example.net",  # 258 octets: over 254 in all
        "an@" + "ệ" * 60 + ".example",  # its IDNA label is longer than 63
        "an@\ufffd.example",  # prohibited by IDNA (nameprep)
        "An <an@example.net",
        "An <an@example.net> trailing",
        'An "x" <an@example.net>',
        "an@example.net\r\nBcc: victim@example.org",
        "An\r\n <an@example.net>",
        "Tab\u2028Name <an@example.net>",
        "",
        {"name": "No Address"},
        {"address": "An <an@example.net>"},
        {"address": "an@example.net", "name": "Line\nbreak"},
        {"address": "an@example.net", "name": 7},
        42,
        None,
    ],
)
def test_malformed_addresses_are_refused(written: Any) -> None:
    error = rejection(request(to=["ok@example.net", written]))

    assert error.field.startswith("to[1]")


def test_a_huge_address_string_is_refused_before_it_is_matched() -> None:
    error = rejection(request(to=["N" * 5000 + " <an@example.net>"]))

    assert error.field == "to[0]" and "longer than any address" in error.message


def test_an_address_error_says_what_is_wrong() -> None:
    assert "no @" in rejection(request(to=["nobody"])).message
    assert "no dot" in rejection(request(to=["an@localhost"])).message
    assert "IDNA" in rejection(request(to=["an@" + "ệ" * 60 + ".example"])).message


def test_an_internationalised_domain_is_idna_encoded_for_the_envelope() -> None:
    address = parse_send_request(request(to=["Bé <user@Bücher.example>"])).to[0]

    assert address.domain == "Bücher.example"
    assert address.local_part == "user"
    assert address.envelope == "user@xn--bcher-kva.example"
    assert not address.needs_smtputf8


def test_a_utf8_local_part_is_allowed_but_needs_smtputf8() -> None:
    address = parse_send_request(request(to=["用户@例子.广告"])).to[0]

    assert address.needs_smtputf8
    assert address.envelope == "用户@xn--fsqu00a.xn--4rr70v"  # the local part stays as it is


def test_a_quoted_local_part_keeps_its_quotes() -> None:
    address = parse_send_request(request(to=['"john doe"@example.org'])).to[0]

    assert address.local_part == '"john doe"'
    assert address.envelope == '"john doe"@example.org'


def test_display_names_may_be_any_unicode_on_one_line() -> None:
    name = "Đặng Thị Ánh Tuyết (Phòng kế toán) 🌸 <ceo>"
    parsed = parse_send_request(request(to=[{"address": "tuyet@example.vn", "name": name}]))

    assert parsed.to[0].name == name


@pytest.mark.parametrize("field", ["from", "return_path"])
def test_from_and_return_path_are_single_addresses(field: str) -> None:
    assert rejection(request(**{field: ["shop@example.com"]})).field == field


def test_from_is_required() -> None:
    assert rejection(request(**{"from": None})).field == "from"


def test_return_path_is_the_envelope_sender_apart_from_from() -> None:
    parsed = parse_send_request(request(return_path="bounces+1001@mail.example.com"))

    assert parsed.return_path == Address("bounces+1001@mail.example.com")
    assert parsed.from_ == Address("shop@example.com")


# --- recipients -----------------------------------------------------------------------------


def test_at_least_one_recipient_is_needed() -> None:
    assert rejection(request(to=[])).field == "to"
    assert rejection(request(to=None)).field == "to"


def test_bcc_alone_is_enough() -> None:
    parsed = parse_send_request(request(to=None, bcc=["hidden@example.net"]))

    assert parsed.recipients == (Address("hidden@example.net"),)


def test_fifty_recipients_are_allowed_in_all() -> None:
    to = [f"to{i}@example.net" for i in range(20)]
    cc = [f"cc{i}@example.net" for i in range(20)]
    bcc = [f"bcc{i}@example.net" for i in range(10)]

    assert len(parse_send_request(request(to=to, cc=cc, bcc=bcc)).recipients) == 50


def test_the_fifty_first_recipient_is_named() -> None:
    to = [f"to{i}@example.net" for i in range(30)]
    cc = [f"cc{i}@example.net" for i in range(25)]

    error = rejection(request(to=to, cc=cc))

    assert error.field == "cc[20]"
    assert "50" in error.message


def test_recipients_are_deduplicated_case_insensitively_in_order() -> None:
    parsed = parse_send_request(
        request(
            to=["B <binh@example.net>", "an@example.net"],
            cc=["BINH@Example.NET", "lan@example.org"],
            bcc=["an@EXAMPLE.net", "hidden@example.org"],
        )
    )

    assert [r.address for r in parsed.recipients] == [
        "binh@example.net",
        "an@example.net",
        "lan@example.org",
        "hidden@example.org",
    ]


def test_a_domain_and_its_idna_form_are_the_same_recipient() -> None:
    parsed = parse_send_request(request(to=["u@bücher.example", "u@xn--bcher-kva.example"]))

    assert len(parsed.recipients) == 1


# --- subject, bodies and templates ----------------------------------------------------------


def test_bodies_need_a_subject() -> None:
    assert rejection(request(subject=None)).field == "subject"


def test_a_request_needs_a_body_or_a_template() -> None:
    assert rejection(request(text=None)).field == "text"


def test_html_alone_is_a_body() -> None:
    parsed = parse_send_request(request(text=None, html="<p>Hi</p>"))

    assert (parsed.text, parsed.html) == (None, "<p>Hi</p>")


@pytest.mark.parametrize("body", ["text", "html"])
def test_bodies_and_a_template_are_mutually_exclusive(body: str) -> None:
    doc = {**request(text=None, subject=None, template={"subject": "s", "text": "t"}), body: "b"}

    assert rejection(doc).field == body


def test_an_inline_template_supplies_the_subject() -> None:
    parsed = parse_send_request(
        request(
            text=None, subject=None, template={"subject": "Hi {{ n }}", "html": "<p>{{ n }}</p>"}, variables={"n": 1}
        )
    )

    assert parsed.template == InlineTemplate(subject="Hi {{ n }}", text=None, html="<p>{{ n }}</p>")
    assert parsed.subject is None
    assert dict(parsed.variables) == {"n": 1}


def test_an_inline_template_without_a_subject_needs_the_requests_subject() -> None:
    assert rejection(request(text=None, subject=None, template={"text": "t"})).field == "subject"
    assert parse_send_request(request(text=None, template={"text": "t"})).subject == "Hello"


def test_the_subject_is_given_in_one_place_only() -> None:
    assert rejection(request(text=None, template={"subject": "s", "text": "t"})).field == "template.subject"


def test_an_inline_template_needs_a_body() -> None:
    assert rejection(request(text=None, subject=None, template={"subject": "s"})).field == "template"


def test_a_stored_template_supplies_the_subject_and_may_be_overridden() -> None:
    stored = parse_send_request(request(text=None, subject=None, template={"key": "welcome/v2"}))
    overridden = parse_send_request(request(text=None, template={"key": "welcome/v2"}))

    assert stored.template == StoredTemplateRef("welcome/v2") and stored.subject is None
    assert overridden.subject == "Hello"


@pytest.mark.parametrize("key", ["../secrets", "/abs", "a//b", "a/", "a b", "", "k" * 201, "a/../b", 7])
def test_stored_template_keys_cannot_escape_the_templates_prefix(key: Any) -> None:
    assert rejection(request(text=None, subject=None, template={"key": key})).field == "template.key"


def test_variables_come_only_with_a_template_and_are_an_object() -> None:
    assert rejection(request(variables={"n": 1})).field == "variables"
    assert rejection(request(text=None, template={"text": "t"}, variables=[1])).field == "variables"


def test_variables_cannot_be_changed_through_the_request() -> None:
    parsed = parse_send_request(request(text=None, template={"text": "t"}, variables={"n": 1}))

    with pytest.raises(TypeError):
        parsed.variables["n"] = 2  # type: ignore[index]


@pytest.mark.parametrize(
    "subject", ["a\r\nBcc: x@example.org", "a\nb", "a\rb", "nul\x00", "a\u2028b", "a\x85b", "x" * 999]
)
def test_subjects_are_one_line_of_at_most_998_characters(subject: str) -> None:
    assert rejection(request(subject=subject)).field == "subject"


def test_a_subject_may_hold_tabs_and_unicode() -> None:
    assert parse_send_request(request(subject="Đơn hàng\t#1001 🚚")).subject == "Đơn hàng\t#1001 🚚"


# --- headers --------------------------------------------------------------------------------


def test_x_headers_and_listed_headers_are_allowed_with_their_usual_spelling() -> None:
    parsed = parse_send_request(
        request(
            headers={
                "X-Campaign": "spring",
                "list-unsubscribe": "<https://example.com/u/1>",
                "LIST-UNSUBSCRIBE-POST": "List-Unsubscribe=One-Click",
                "x-priority": "1",
                "Auto-Submitted": "auto-generated",
            }
        )
    )

    assert parsed.headers == (
        ("X-Campaign", "spring"),
        ("List-Unsubscribe", "<https://example.com/u/1>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("x-priority", "1"),
        ("Auto-Submitted", "auto-generated"),
    )


@pytest.mark.parametrize(
    "name",
    [
        "From",
        "To",
        "Cc",
        "bcc",
        "Sender",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Return-Path",
        "Received",
        "DKIM-Signature",
        "Resent-From",
        "Disposition-Notification-To",
        "X-",
        "Xfoo",
    ],
)
def test_other_headers_are_refused_naming_the_header(name: str) -> None:
    error = rejection(request(headers={name: "x"}))

    assert error.field == f"headers.{name}"


@pytest.mark.parametrize("name", ["X Campaign", "X-Campaign:", "X-Chiến-dịch", "X-" + "a" * 75, ""])
def test_header_names_must_be_field_names(name: str) -> None:
    assert rejection(request(headers={name: "x"})).field == f"headers.{name}"


@pytest.mark.parametrize(
    "value", ["spring\r\nBcc: victim@example.org", "a\nb", "a\rb", "a\x00b", "a\x1bb", "a\u2029b", "v" * 999, 5]
)
def test_header_values_are_one_line_of_at_most_998_characters(value: Any) -> None:
    assert rejection(request(headers={"X-Campaign": value})).field == "headers.X-Campaign"


def test_the_same_header_twice_in_different_case_is_refused() -> None:
    assert rejection(request(headers={"X-Tag": "a", "x-tag": "b"})).field == "headers.x-tag"


# --- attachments ----------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_an_inline_attachment_is_decoded_and_its_type_guessed_from_the_name() -> None:
    parsed = parse_send_request(
        request(
            attachments=[
                {"filename": "Hoá đơn 1001.PDF", "content_base64": b64(b"%PDF-1.4")},
                {"filename": "notes", "content_base64": b64(b"x")},
                {"filename": "data.bin", "content_type": "Text/CSV", "content_base64": ""},
            ]
        )
    )

    assert parsed.attachments == (
        InlineAttachment("Hoá đơn 1001.PDF", "application/pdf", b"%PDF-1.4"),
        InlineAttachment("notes", "application/octet-stream", b"x"),
        InlineAttachment("data.bin", "text/csv", b""),
    )


def test_an_s3_attachment_refers_to_a_stored_file() -> None:
    parsed = parse_send_request(
        request(
            attachments=[
                {
                    "filename": "catalogue.pdf",
                    "s3": {
                        "bucket": "shop-content",
                        "key": "attachments/catalogue.pdf",
                        "version_id": "3HL4kqtJlcpXroDTDmJ",
                    },
                },
                {"filename": "photo.jpg", "s3": {"bucket": "shop-content", "key": "attachments/photo.jpg"}},
            ]
        )
    )

    assert parsed.attachments == (
        S3Attachment(
            "catalogue.pdf", "application/pdf", "shop-content", "attachments/catalogue.pdf", "3HL4kqtJlcpXroDTDmJ"
        ),
        S3Attachment("photo.jpg", "image/jpeg", "shop-content", "attachments/photo.jpg"),
    )


@pytest.mark.parametrize("encoded", ["not base64!", "QUJD\n", "QUJ", "QQ", "QUJD=", "=QUJD", "QUJDRA==QQ==", "ÀÀÀÀ"])
def test_bad_base64_is_refused_naming_the_field(encoded: str) -> None:
    error = rejection(request(attachments=[{"filename": "a.txt", "content_base64": encoded}]))

    assert error.field == "attachments[0].content_base64"


def test_inline_attachments_total_at_most_512_kib() -> None:
    half = b64(b"\0" * (256 * 1024))
    assert (
        len(parse_send_request(request(attachments=[{"filename": "a", "content_base64": half}] * 2)).attachments) == 2
    )

    error = rejection(
        request(
            attachments=[
                {"filename": "a", "content_base64": half},
                {"filename": "b", "content_base64": half},
                {"filename": "c", "content_base64": b64(b"!")},
            ]
        )
    )

    assert error.field == "attachments[2].content_base64"
    assert "S3" in error.message


@pytest.mark.parametrize(
    "filename",
    ["../etc/passwd", "dir/file.pdf", "C:\\file.pdf", "a\x00.pdf", "a\nb.pdf", "a\x7f", "..", ".", "", "f" * 256, 3],
)
def test_filenames_are_names_not_paths(filename: Any) -> None:
    error = rejection(request(attachments=[{"filename": filename, "content_base64": ""}]))

    assert error.field == "attachments[0].filename"


@pytest.mark.parametrize(
    "content_type",
    ["pdf", "application/pdf; charset=x", "multipart/mixed", "message/rfc822", "a/b/c", "", "text/ plain"],
)
def test_content_types_are_bare_media_types_of_a_single_part(content_type: str) -> None:
    error = rejection(request(attachments=[{"filename": "a", "content_type": content_type, "content_base64": ""}]))

    assert error.field == "attachments[0].content_type"


@pytest.mark.parametrize(
    "attachment, field",
    [
        ({"filename": "a"}, "attachments[0]"),
        ({"content_base64": ""}, "attachments[0].filename"),
        ({"filename": "a", "content_base64": "", "s3": {"bucket": "abc", "key": "k"}}, "attachments[0].s3"),
        ({"filename": "a", "s3": {"bucket": "Bad_Bucket", "key": "k"}}, "attachments[0].s3.bucket"),
        ({"filename": "a", "s3": {"bucket": "abc"}}, "attachments[0].s3.key"),
        ({"filename": "a", "s3": {"bucket": "abc", "key": ""}}, "attachments[0].s3.key"),
        ({"filename": "a", "s3": {"bucket": "abc", "key": "k", "version_id": ""}}, "attachments[0].s3.version_id"),
        ("a.pdf", "attachments[0]"),
    ],
)
def test_attachments_are_inline_or_in_s3(attachment: Any, field: str) -> None:
    assert rejection(request(attachments=[attachment])).field == field


# --- tags -----------------------------------------------------------------------------------


def test_tags_are_short_strings() -> None:
    tags = {f"k{i}": "v" * 256 for i in range(20)}
    tags["k" * 64] = tags.pop("k0")

    assert dict(parse_send_request(request(tags=tags)).tags) == tags


@pytest.mark.parametrize(
    "tags, field",
    [
        ({f"k{i}": "v" for i in range(21)}, "tags"),
        ({"k" * 65: "v"}, "tags." + "k" * 65),
        ({"": "v"}, "tags."),
        ({"order": "v" * 257}, "tags.order"),
        ({"order": 1001}, "tags.order"),
        (["order"], "tags"),
    ],
)
def test_other_tags_are_refused(tags: Any, field: str) -> None:
    assert rejection(request(tags=tags)).field == field


# --- campaign -------------------------------------------------------------------------------


def test_a_request_is_not_campaign_mail_unless_it_says_so() -> None:
    assert parse_send_request(request()).campaign is None


def test_the_list_defaults_to_the_campaign_id() -> None:
    assert parse_send_request(request(campaign={"id": "spring-2026"})).campaign == Campaign(
        "spring-2026", "spring-2026"
    )


def test_a_campaign_names_its_list() -> None:
    parsed = parse_send_request(request(campaign={"id": "spring-2026", "list": "newsletter"}))

    assert parsed.campaign == Campaign(id="spring-2026", list_id="newsletter")


@pytest.mark.parametrize(
    "recipients, field",
    [
        ({"to": ["a@example.net", "b@example.net"]}, "to"),
        ({"cc": ["c@example.net"]}, "cc"),
        ({"to": None, "bcc": ["c@example.net"]}, "bcc"),
    ],
)
def test_campaign_mail_goes_to_one_recipient_in_to(recipients: dict[str, Any], field: str) -> None:
    assert rejection(request(campaign={"id": "spring"}, **recipients)).field == field


@pytest.mark.parametrize(
    "campaign, field",
    [
        ({}, "campaign.id"),
        ({"id": None}, "campaign.id"),
        ({"id": "a/b"}, "campaign.id"),
        ({"id": "-spring"}, "campaign.id"),
        ({"id": "x" * 65}, "campaign.id"),
        ({"id": "spring", "list": ""}, "campaign.list"),
        ({"id": "spring", "list": "news letter"}, "campaign.list"),
        ({"id": "spring", "list": "nyhetsbrev-å"}, "campaign.list"),
        ({"id": "spring", "list": "news\r\nX: y"}, "campaign.list"),
        ({"id": "spring", "stream": "broadcast"}, "campaign.stream"),
        (["spring"], "campaign"),
    ],
)
def test_campaign_and_list_ids_are_short_and_plain(campaign: Any, field: str) -> None:
    assert rejection(request(campaign=campaign)).field == field


# --- salvage --------------------------------------------------------------------------------


def test_salvage_finds_the_sender_and_recipients_of_a_request_that_failed_validation() -> None:
    body = (EVENTS / "poison-header-injection.json").read_bytes()

    assert salvage_envelope(body) == ("shop@example.com", ["an.nguyen@example.net"])


def test_salvage_prefers_the_return_path_and_skips_what_is_not_an_address() -> None:
    body = json.dumps(
        {
            "return_path": "bounces@example.com",
            "from": "Shop <shop@example.com>",
            "to": ["An <an@example.net>", "broken", 7, {"address": "lan@example.org"}],
            "cc": ["AN@example.net"],
            "bcc": "not-a-list",
            "subject": ["wrong"],
        }
    )

    assert salvage_envelope(body) == ("bounces@example.com", ["an@example.net", "lan@example.org"])


def test_salvage_falls_back_to_from_when_the_return_path_is_broken() -> None:
    assert salvage_envelope(json.dumps({"return_path": "nope", "from": "shop@example.com"})) == ("shop@example.com", [])


def test_salvage_of_something_that_is_not_a_request_finds_nothing() -> None:
    assert salvage_envelope((EVENTS / "poison-not-json.txt").read_text()) == (None, [])
    assert salvage_envelope(b"\xff\xfe") == (None, [])
    assert salvage_envelope("[]") == (None, [])


def test_salvage_returns_at_most_fifty_recipients() -> None:
    body = json.dumps({"from": "shop@example.com", "to": [f"r{i}@example.net" for i in range(80)]})

    assert len(salvage_envelope(body)[1]) == 50


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["from", "to", "cc", "bcc", "return_path", "address", "name", "x"]) | st.text(max_size=5),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200), json_values.map(json.dumps)))
def test_salvage_never_raises_and_returns_only_valid_addresses(body: str | bytes) -> None:
    sender, recipients = salvage_envelope(body)

    for address in ([sender] if sender else []) + recipients:
        assert parse_send_request(request(to=[address])).to[0].address == address


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_the_parser_raises_only_invalid_request(doc: Any) -> None:
    try:
        parse_send_request(json.dumps(doc))
    except InvalidRequest:
        pass


dot_atoms = st.from_regex(r"\A[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\.[a-z0-9_-]{1,8}){0,2}\Z")
domains = st.from_regex(r"\A([a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\.){1,3}[a-z]{2,6}\Z")
names = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40)


@settings(max_examples=100, deadline=None)
@given(dot_atoms, domains, names)
def test_any_well_formed_address_and_name_parse_in_both_notations(local: str, domain: str, name: str) -> None:
    spec = f"{local}@{domain}"
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

    from_object = parse_send_request(request(to=[{"address": spec, "name": name}])).to[0]
    from_string = parse_send_request(request(to=[f"{quoted} <{spec}>"])).to[0]

    assert from_object == from_string == Address(spec, name.strip() or None)
