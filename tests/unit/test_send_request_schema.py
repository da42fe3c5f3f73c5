"""The JSON Schema and the parser state one contract: they accept and refuse the same documents.

The schema is what producers validate against; the parser is what the dispatch function runs.
A third table lists what only the parser can check (sums across fields, octet lengths, IDNA):
the schema's description names those rules, and the table keeps that list honest.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from maildispatch.core import request as request_module
from maildispatch.core.request import InvalidRequest, parse_send_request

SCHEMA_PATH = Path(request_module.__file__).parent.parent / "schema" / "send-request.v1.json"
EVENTS = Path(__file__).resolve().parents[2] / "events" / "requests"
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def doc(**fields: Any) -> dict[str, Any]:
    """A minimal valid request with `fields` replaced or added (None removes one)."""
    base: dict[str, Any] = {"from": "shop@example.com", "to": ["binh@example.net"], "subject": "Hello", "text": "Hi"}
    base.update(fields)
    return {name: value for name, value in base.items() if value is not None}


def templated(**fields: Any) -> dict[str, Any]:
    return doc(text=None, subject=None, **fields)


VALID: list[tuple[str, dict[str, Any]]] = [
    ("minimal", doc()),
    (
        "everything with bodies",
        doc(
            version=1,
            message_key="order-1001-shipped",
            cc=["Chị Lan <lan@example.org>"],
            bcc=["audit@example.com"],
            reply_to=[{"address": "support@example.com", "name": "Hỗ trợ"}],
            return_path="bounces@example.com",
            html="<p>Hi</p>",
            headers={"X-Campaign": "spring", "List-Unsubscribe": "<https://example.com/u/1>"},
            attachments=[
                {"filename": "pixel.png", "content_base64": PNG_1X1},
                {
                    "filename": "Hoá đơn.pdf",
                    "content_type": "application/pdf",
                    "s3": {"bucket": "shop-content", "key": "attachments/1001.pdf", "version_id": "v1"},
                },
            ],
            tags={"order": "1001"},
        ),
    ),
    ("html only", doc(text=None, html="<p>Hi</p>")),
    ("bcc only", doc(to=None, bcc=["hidden@example.net"])),
    (
        "fifty recipients across the lists",
        doc(to=[f"t{i}@example.net" for i in range(25)], cc=[f"c{i}@example.net" for i in range(25)]),
    ),
    (
        "inline template with subject and variables",
        templated(
            template={"subject": "Chào mừng {{ name }}", "text": "Xin chào {{ name }}", "html": "<p>{{ name }}</p>"},
            variables={"name": "An", "order": {"total": 450000}},
        ),
    ),
    (
        "inline template html only with the request's subject",
        doc(text=None, template={"html": "<p>{{ n }}</p>"}, variables={"n": 1}),
    ),
    ("stored template", templated(template={"key": "welcome/v2"}, variables={"name": "An"})),
    ("stored template with the subject overridden", doc(text=None, template={"key": "receipts/vi-VN/receipt_v3.html"})),
    (
        "addresses in every notation",
        doc(
            **{"from": {"address": "shop@example.com", "name": "Cửa hàng Hoa Sen"}},
            to=[
                '"Doe, John" <john@example.org>',
                "user@bücher.example",
                "用户@例子.广告",
                '"john doe"@example.org',
                "<bare@example.org>",
            ],
        ),
    ),
    (
        "header names in any case",
        doc(
            headers={
                "list-unsubscribe-post": "List-Unsubscribe=One-Click",
                "x-priority": "1",
                "REFERENCES": "<a@b.example>",
            }
        ),
    ),
    ("twenty tags at their longest", doc(tags={f"{i:02d}" + "k" * 62: "v" * 256 for i in range(20)})),
    ("a stream and a suppression override", doc(stream="campaign_2026-q4", ignore_suppression=True)),
    ("a campaign without a list", doc(campaign={"id": "spring-2026"})),
    ("a campaign on a list", doc(campaign={"id": "Spring_2026.v2", "list": "newsletter-" + "x" * 53})),
]

INVALID: list[tuple[str, Any, str]] = [
    ("not an object", ["from"], "$"),
    ("unknown field", doc(sender="x@example.com"), "sender"),
    ("a stream with capitals", doc(stream="Campaign"), "stream"),
    ("a stream that is not a string", doc(stream=7), "stream"),
    ("a suppression override that is not a boolean", doc(ignore_suppression="yes"), "ignore_suppression"),
    ("a campaign that is not an object", doc(campaign="spring"), "campaign"),
    ("a campaign without an id", doc(campaign={"list": "news"}), "campaign.id"),
    ("an unknown field in a campaign", doc(campaign={"id": "spring", "name": "Spring"}), "campaign.name"),
    ("a campaign id with a slash", doc(campaign={"id": "../spring"}), "campaign.id"),
    ("a campaign id with a space", doc(campaign={"id": "spring sale"}), "campaign.id"),
    ("an empty campaign id", doc(campaign={"id": ""}), "campaign.id"),
    ("a campaign id over 64 characters", doc(campaign={"id": "c" * 65}), "campaign.id"),
    ("a list id with a line break", doc(campaign={"id": "spring", "list": "news\nBcc: x"}), "campaign.list"),
    ("a list id that is not a string", doc(campaign={"id": "spring", "list": 7}), "campaign.list"),
    ("a list id starting with a dot", doc(campaign={"id": "spring", "list": ".news"}), "campaign.list"),
    ("unknown field in an address", doc(to=["a@example.net", {"email": "b@example.net"}]), "to[1].email"),
    ("unknown field in a template", templated(template={"text": "t", "body": "b"}), "template.body"),
    ("inline field in a stored template", templated(template={"key": "welcome/v2", "text": "t"}), "template.text"),
    (
        "unknown field in s3",
        doc(attachments=[{"filename": "a", "s3": {"bucket": "abc", "key": "k", "region": "x"}}]),
        "attachments[0].s3.region",
    ),
    ("version 2", doc(version=2), "version"),
    ("version as a string", doc(version="1"), "version"),
    ("message key with a space", doc(message_key="order 1001"), "message_key"),
    ("message key too long", doc(message_key="k" * 201), "message_key"),
    ("no from", doc(**{"from": None}), "from"),
    ("from as a list", doc(**{"from": ["shop@example.com"]}), "from"),
    ("no recipients", doc(to=[]), "to"),
    ("fifty-one in to", doc(to=[f"t{i}@example.net" for i in range(51)]), "to[50]"),
    ("reply_to not a list", doc(reply_to="support@example.com"), "reply_to"),
    ("bad return path", doc(return_path="bounces"), "return_path"),
    ("domain without a dot", doc(to=["an@localhost"]), "to[0]"),
    ("numeric top label", doc(to=["an@1.2.3.4"]), "to[0]"),
    ("leading dot in the local part", doc(to=[".an@example.net"]), "to[0]"),
    ("CR/LF in an address", doc(to=["an@example.net\r\nBcc: victim@example.org"]), "to[0]"),
    (
        "line break in a display name",
        doc(to=[{"address": "an@example.net", "name": "An\nBcc: x@example.org"}]),
        "to[0].name",
    ),
    ("bodies and a template", {**templated(template={"subject": "s", "text": "t"}), "text": "b"}, "text"),
    ("no body", doc(text=None), "text"),
    ("no subject", doc(subject=None), "subject"),
    ("null subject", doc(subject=None) | {"subject": None}, "subject"),
    ("subject with CR/LF", doc(subject="Hi\r\nBcc: victim@example.org"), "subject"),
    ("subject too long", doc(subject="s" * 999), "subject"),
    ("variables without a template", doc(variables={"n": 1}), "variables"),
    ("variables not an object", templated(template={"key": "k"}, variables=["n"]), "variables"),
    ("subject in two places", doc(text=None, template={"subject": "s", "text": "t"}), "template.subject"),
    ("inline template without a subject anywhere", templated(template={"text": "t"}), "subject"),
    ("inline template without a body", templated(template={"subject": "s"}), "template"),
    ("stored template key with ..", templated(template={"key": "../secrets"}), "template.key"),
    ("forbidden header", doc(headers={"From": "ceo@example.com"}), "headers.From"),
    ("forbidden header in lower case", doc(headers={"bcc": "victim@example.org"}), "headers.bcc"),
    ("header name with a space", doc(headers={"X Campaign": "x"}), "headers.X Campaign"),
    ("header injection", doc(headers={"X-Campaign": "spring\r\nBcc: victim@example.org"}), "headers.X-Campaign"),
    ("header value too long", doc(headers={"X-Campaign": "v" * 999}), "headers.X-Campaign"),
    (
        "bad base64",
        doc(attachments=[{"filename": "a.txt", "content_base64": "not base64!"}]),
        "attachments[0].content_base64",
    ),
    (
        "base64 with a line break",
        doc(attachments=[{"filename": "a.txt", "content_base64": "QUJD\nREVG"}]),
        "attachments[0].content_base64",
    ),
    (
        "one attachment over 512 KiB",
        doc(attachments=[{"filename": "big", "content_base64": base64.b64encode(b"\0" * (512 * 1024 + 3)).decode()}]),
        "attachments[0].content_base64",
    ),
    (
        "filename with a path",
        doc(attachments=[{"filename": "../etc/passwd", "content_base64": ""}]),
        "attachments[0].filename",
    ),
    ("filename too long", doc(attachments=[{"filename": "f" * 256, "content_base64": ""}]), "attachments[0].filename"),
    (
        "multipart content type",
        doc(attachments=[{"filename": "a", "content_type": "multipart/mixed", "content_base64": ""}]),
        "attachments[0].content_type",
    ),
    (
        "content type with parameters",
        doc(attachments=[{"filename": "a", "content_type": "text/plain; charset=utf-8", "content_base64": ""}]),
        "attachments[0].content_type",
    ),
    (
        "inline and s3 at once",
        doc(attachments=[{"filename": "a", "content_base64": "", "s3": {"bucket": "abc", "key": "k"}}]),
        "attachments[0].s3",
    ),
    ("neither inline nor s3", doc(attachments=[{"filename": "a"}]), "attachments[0]"),
    (
        "bad bucket name",
        doc(attachments=[{"filename": "a", "s3": {"bucket": "Bad_Bucket", "key": "k"}}]),
        "attachments[0].s3.bucket",
    ),
    ("twenty-one tags", doc(tags={f"k{i}": "v" for i in range(21)}), "tags"),
    ("tag name too long", doc(tags={"k" * 65: "v"}), "tags." + "k" * 65),
    ("tag value too long", doc(tags={"order": "v" * 257}), "tags.order"),
    ("tag value not a string", doc(tags={"order": 1001}), "tags.order"),
    # issue 9: counts, spoofed file names, keys that climb out of their prefix
    ("51 header fields", doc(headers={f"X-H{i}": "v" for i in range(51)}), "headers"),
    ("11 reply_to addresses", doc(reply_to=[f"r{i}@example.net" for i in range(11)]), "reply_to"),
    (
        "21 attachments",
        doc(attachments=[{"filename": f"{i}.txt", "content_base64": ""} for i in range(21)]),
        "attachments",
    ),
    (
        "a right-to-left override in a file name",
        doc(attachments=[{"filename": "invoice\u202efdp.exe", "content_base64": ""}]),
        "attachments[0].filename",
    ),
    (
        "an S3 key with ..",
        doc(
            attachments=[{"filename": "a.pdf", "s3": {"bucket": "abc", "key": "attachments/../templates/welcome.json"}}]
        ),
        "attachments[0].s3.key",
    ),
    (
        "an S3 key with an empty segment",
        doc(attachments=[{"filename": "a.pdf", "s3": {"bucket": "abc", "key": "attachments//a.pdf"}}]),
        "attachments[0].s3.key",
    ),
    (
        "an absolute S3 key",
        doc(attachments=[{"filename": "a.pdf", "s3": {"bucket": "abc", "key": "/attachments/a.pdf"}}]),
        "attachments[0].s3.key",
    ),
    (
        "an S3 key with a backslash",
        doc(attachments=[{"filename": "a.pdf", "s3": {"bucket": "abc", "key": "attachments\\a.pdf"}}]),
        "attachments[0].s3.key",
    ),
]

# Beyond a JSON Schema: the schema accepts these, the parser refuses them.
PARSER_ONLY: list[tuple[str, dict[str, Any], str]] = [
    (
        "fifty-one across to and cc",
        doc(to=[f"t{i}@example.net" for i in range(30)], cc=[f"c{i}@example.net" for i in range(21)]),
        "cc[20]",
    ),
    (
        "inline attachments over 512 KiB together",
        doc(
            attachments=[
                {"filename": "a", "content_base64": base64.b64encode(b"\0" * (300 * 1024)).decode()},
                {"filename": "b", "content_base64": base64.b64encode(b"\0" * (300 * 1024)).decode()},
            ]
        ),
        "attachments[1].content_base64",
    ),
    ("local part over 64 octets", doc(to=["ệ" * 22 + "@example.net"]), "to[0]"),
    ("address over 254 octets", doc(to=["an@" + ".".join(["a" * 60] * 4) + ".example.net"]), "to[0]"),
    ("domain that does not IDNA-encode", doc(to=["an@" + "ệ" * 60 + ".example"]), "to[0]"),
    ("display name over 998 characters", doc(to=[f'"{"n" * 999}" <an@example.net>']), "to[0]"),
    ("the same header twice, in different case", doc(headers={"X-Tag": "a", "x-tag": "b"}), "headers.x-tag"),
    ("an unpaired surrogate", doc(subject="\ud800"), "subject"),
    (
        "an executable file name",
        doc(attachments=[{"filename": "report.PDF.exe", "content_base64": ""}]),
        "attachments[0].filename",
    ),
    (
        "an executable behind a trailing dot",
        doc(attachments=[{"filename": "setup.scr.", "content_base64": ""}]),
        "attachments[0].filename",
    ),
    (
        "a soft hyphen (a format character) in a file name",
        doc(attachments=[{"filename": "in\u00advoice.pdf", "content_base64": ""}]),
        "attachments[0].filename",
    ),
    (
        "an executable content type",
        doc(attachments=[{"filename": "a.pdf", "content_type": "application/x-msdownload", "content_base64": ""}]),
        "attachments[0].content_type",
    ),
]


def parser_error(document: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_send_request(json.dumps(document))
    return caught.value


@pytest.mark.parametrize("name, document", VALID, ids=[name for name, _ in VALID])
def test_valid_documents_pass_the_schema_and_the_parser(
    validator: jsonschema.Draft202012Validator, name: str, document: dict[str, Any]
) -> None:
    assert list(validator.iter_errors(document)) == []
    parse_send_request(json.dumps(document))


@pytest.mark.parametrize("name, document, field", INVALID, ids=[name for name, _, _ in INVALID])
def test_invalid_documents_fail_the_schema_and_the_parser(
    validator: jsonschema.Draft202012Validator, name: str, document: Any, field: str
) -> None:
    assert not validator.is_valid(document)
    assert parser_error(document).field == field


@pytest.mark.parametrize("name, document, field", PARSER_ONLY, ids=[name for name, _, _ in PARSER_ONLY])
def test_what_a_schema_cannot_express_the_parser_still_refuses(
    validator: jsonschema.Draft202012Validator, name: str, document: dict[str, Any], field: str
) -> None:
    assert validator.is_valid(document)
    assert parser_error(document).field == field


def test_the_schema_describes_the_rules_it_cannot_express(validator: jsonschema.Draft202012Validator) -> None:
    description = validator.schema["description"]

    for rule in ("1 MiB", "50 recipients", "512 KiB", "64 octets", "254", "IDNA", "998"):
        assert rule in description


def schema_patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [p for value in node.values() for p in schema_patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in schema_patterns(value)]
    return []


def test_patterns_keep_to_syntax_that_ecma_262_reads_in_unicode_mode(
    validator: jsonschema.Draft202012Validator,
) -> None:
    """Producers validate with other languages' engines (ajv compiles patterns with the u flag)."""
    patterns = schema_patterns(validator.schema)

    assert len(patterns) >= 10
    for pattern in patterns:
        assert "(?P<" not in pattern and "(?i" not in pattern and "\\Z" not in pattern and "\\A" not in pattern
        for escaped in re.findall(r"\\(.)", pattern.replace("\\\\", "")):
            assert escaped in "^$\\.*+?()[]{}|/xutnrfvdDwWsSbB", f"\\{escaped} in {pattern[:60]}..."


SAMPLES = sorted(EVENTS.glob("*.json"))


def test_there_are_valid_and_poison_samples() -> None:
    names = {path.name for path in SAMPLES}

    assert {"welcome-vi.json", "partial-reject.json", "greylisted.json", "poison-header-injection.json"} <= names


@pytest.mark.parametrize("path", SAMPLES, ids=[path.name for path in SAMPLES])
def test_every_sample_request_is_judged_alike_by_schema_and_parser(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    body = path.read_bytes()
    document = json.loads(body)

    if path.name.startswith("poison-"):
        assert not validator.is_valid(document)
        with pytest.raises(InvalidRequest):
            parse_send_request(body)
    else:
        assert list(validator.iter_errors(document)) == []
        parse_send_request(body)


@pytest.mark.parametrize("path", sorted(EVENTS.glob("poison-*.txt")), ids=lambda path: path.name)
def test_poison_bodies_that_are_not_json_fail_the_parser(path: Path) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_send_request(path.read_bytes())

    assert caught.value.field == "$"
