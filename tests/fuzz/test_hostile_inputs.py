"""Hostile-input property tests (issue 9): the request parser, the MIME builder and the DSN builder.

`make test` runs them with the "ci" profile's case budget; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) with
10,000 cases each, every case within 2 s, the process under 256 MB.
"""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime
from email import policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maildispatch.core.dsn import build_dsn
from maildispatch.core.mime import build_message, message_id_for
from maildispatch.core.render import render_content
from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason
from maildispatch.core.request import InvalidRequest, SendRequest, parse_send_request
from tests.hypothesis_budget import case_memory_bounded

pytestmark = pytest.mark.fuzz
RELAXED = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
FIELDS = ["from", "to", "cc", "bcc", "reply_to", "subject", "text", "html", "headers", "attachments", "template"]
addresses = st.sampled_from(["a@example.net", "Bé Na <用户@例子.广告>", "x@b.c", "", "no-at", '"q t"@example.org'])
attachment = st.fixed_dictionaries(
    {"filename": st.text(min_size=1, max_size=30)},
    optional={
        "content_type": st.text(max_size=30),
        "content_base64": st.sampled_from(["", "aGk=", "!!"]),
        "s3": st.fixed_dictionaries({"bucket": st.text(max_size=10), "key": st.text(max_size=40)}),
    },
)
near_valid = st.fixed_dictionaries(
    {"from": addresses, "to": st.lists(addresses, max_size=3)},
    optional={
        "subject": st.text(max_size=200),
        "text": st.text(max_size=200),
        "headers": st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=4),
        "attachments": st.lists(attachment, max_size=3),
        "reply_to": st.lists(addresses, max_size=3),
        "bcc": st.lists(addresses, max_size=2),
    },
)


@RELAXED
@given(st.one_of(json_values, st.dictionaries(st.sampled_from(FIELDS), json_values), near_valid))
@case_memory_bounded
def test_the_parser_returns_a_request_or_raises_invalid_request_only(document):
    for body in (json.dumps(document), document):
        try:
            assert isinstance(parse_send_request(body), SendRequest)
        except InvalidRequest as error:
            assert error.field is not None


@RELAXED
@given(st.binary(max_size=300) | st.text(max_size=300))
@case_memory_bounded
def test_the_parser_takes_any_bytes_or_text(body):
    try:
        parse_send_request(body)
    except InvalidRequest:
        pass


safe_text = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=300)
valid_requests = st.fixed_dictionaries(
    {
        "from": st.sampled_from(["Shop <shop@example.com>", "Cửa hàng <shop@example.com>"]),
        "to": st.lists(st.sampled_from(["binh@example.net", "用户@例子.广告", "a@b.example"]), min_size=1, max_size=3),
        "subject": safe_text.map(lambda s: s[:998]),
        "text": st.text(max_size=2000),
    },
    optional={
        "html": st.text(max_size=500),
        "bcc": st.lists(st.sampled_from(["用户@example.net", "c@d.example"]), max_size=2),
        "headers": st.dictionaries(st.sampled_from(["X-A", "X-Tag", "Keywords"]), safe_text, max_size=3),
        "attachments": st.lists(
            st.fixed_dictionaries(
                {"filename": st.sampled_from(["a.pdf", "thẻ.png", "x"]), "content_base64": st.just("aGVsbG8=")}
            ),
            max_size=2,
        ),
    },
)


@RELAXED
@given(valid_requests)
@case_memory_bounded
def test_any_valid_request_builds_crlf_lines_within_998_octets_with_parseable_headers(document):
    try:
        request = parse_send_request(json.dumps(document))
    except InvalidRequest:
        return
    built = build_message(
        request,
        render_content(request, None),
        list(request.attachments),
        message_id=message_id_for("k", "example.com"),
        date=datetime(2026, 1, 1, tzinfo=UTC),
    )
    data = built.data
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    assert max(len(line) for line in lines) <= 998
    message = email.message_from_bytes(data, policy=policy.SMTP)
    assert message["Message-ID"] == built.message_id and not message.defects


@RELAXED
@given(
    subject=safe_text | st.text(max_size=1200),
    error=st.none() | st.text(max_size=1500),
    diagnostic=st.none() | st.text(max_size=1500),
    address=st.sampled_from(["ghost@example.net", "用户@例子.广告", "x" * 300 + "@example.net"]),
    headers=st.none() | st.text(max_size=1500),
)
@case_memory_bounded
def test_any_report_builds_a_multipart_report_with_lines_within_998_octets(
    subject, error, diagnostic, address, headers
):
    report = BounceReport(
        reason=ReportReason.REJECTED,
        recipients=(FailedRecipient(address, "5.1.1", diagnostic=diagnostic, reply_code=550 if diagnostic else None),),
        arrival_date=datetime(2026, 1, 1, tzinfo=UTC),
        message_key="k",
        envelope_sender="shop@example.com",
        from_address="shop@example.com",
        subject=subject,
        error=error,
        original_headers=headers,
    )
    raw = build_dsn(
        report,
        reporting_mta="mta.test",
        postmaster="postmaster@mta.test",
        now=datetime(2026, 1, 2, tzinfo=UTC),
        message_id="<d@mta.test>",
    )
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    message = email.message_from_bytes(raw, policy=policy.SMTP)
    assert message.get_content_type() == "multipart/report"
    assert [p.get_content_type() for p in message.iter_parts()][:2] == ["text/plain", "message/delivery-status"]
