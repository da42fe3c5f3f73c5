"""Issue 9: classification is linear in its input and never raises, on crafted and mutated bounces.

Every crafted input must finish well within ~2 s; mutated real-looking bounces must never raise
out of classification, and a malformed one is read again as flat text (`degraded`) rather than
silently becoming `unclassified`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maildispatch.core.returned_mail import classify_returned_message
from maildispatch.core.returned_mail.classify import MAX_BYTES, MAX_VERDICTS
from tests.hypothesis_budget import case_memory_bounded, examples

LIMIT_S = 2.0
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "bounces" / "corpus"

DSN = (
    b"From: MAILER-DAEMON@example.org\nTo: sender@example.com\nSubject: Undelivered Mail Returned to Sender\n"
    b"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
    b"--B\nContent-Type: text/plain; charset=us-ascii\n\n"
    b"<user@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 <user@example.net>: Recipient\n"
    b"    address rejected: User unknown in local recipient table (in reply to RCPT TO command)\n\n"
    b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
    b"Final-Recipient: rfc822; user@example.net\nAction: failed\nStatus: 5.1.1\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown\n\n"
    b"--B\nContent-Type: text/rfc822-headers\n\nFrom: sender@example.com\nTo: user@example.net\nSubject: hi\n\n--B--\n"
)
TEXT_BOUNCE = (
    b"From: Mail Delivery System <Mailer-Daemon@example.org>\nTo: sender@example.com\nSubject: Mail delivery failed\n\n"
    b"This message was created automatically by mail delivery software.\n\n"
    b"A message that you sent could not be delivered to one or more of its recipients.\n\n"
    b"  user@example.net\n    mailbox is full: retry timeout exceeded\n"
)


def _timed(raw: bytes):
    """The result and the CPU seconds it took: the bound is on the parser's work (the crafted inputs
    took minutes before parsing was made linear), not on how busy the machine is."""
    start = time.process_time()
    result = classify_returned_message(raw)
    return result, time.process_time() - start


def _report(groups: str) -> bytes:
    return (
        b"From: MAILER-DAEMON@example.org\nSubject: Undelivered\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\nContent-Type: text/plain\n\nfailed\n\n"
        b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        + groups.encode()
        + b"--B--\n"
    )


def test_three_thousand_status_groups_finish_fast_and_are_capped():
    groups = "".join(
        f"Final-Recipient: rfc822; u{i}@example.net\nAction: failed\nStatus: 5.1.1\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
        for i in range(3000)
    )
    result, took = _timed(_report(groups))
    assert took < LIMIT_S
    assert result.kind == "bounce" and len(result.recipients) == MAX_VERDICTS


def test_fifty_thousand_arf_recipients_finish_fast():
    rcpts = "".join(f"Original-Rcpt-To: u{i}@example.net\n" for i in range(50_000))
    raw = (
        b"From: fbl@example.org\nSubject: complaint\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/report; report-type=feedback-report; boundary=B\n\n--B\nContent-Type: text/plain\n\nx\n"
        b"--B\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nVersion: 1\n"
        + rcpts.encode()
        + b"\n--B--\n"
    )
    result, took = _timed(raw)
    assert took < LIMIT_S
    assert result.kind == "complaint" and 0 < len(result.recipients) <= 1000


def test_fifty_thousand_unclosed_script_tags_finish_fast():
    raw = b"From: MAILER-DAEMON@example.org\nSubject: Undelivered\nContent-Type: text/html\n\n" + b"<script>" * 50_000
    _result, took = _timed(raw)
    assert took < LIMIT_S


def test_unclosed_tags_in_text_before_a_reply_do_not_hide_it():
    raw = (
        b"From: MAILER-DAEMON@example.org\nSubject: Undelivered\nContent-Type: text/html\n\n"
        b"<p>&lt;user@example.net&gt;: 550 5.1.1 User unknown</p>" + b"<b" * 20_000
    )
    _result, took = _timed(raw)
    assert took < LIMIT_S


def test_a_forty_megabyte_bounce_is_cut_at_the_cap_and_finishes_fast():
    line = b"<user@example.net>: host mx said: 550 5.1.1 User unknown (in reply to RCPT TO command)\n"
    raw = TEXT_BOUNCE.split(b"\n\n", 1)[0] + b"\n\n" + line * (40 * 1024 * 1024 // len(line))
    assert len(raw) > 20 * MAX_BYTES
    result, took = _timed(raw)
    assert took < LIMIT_S
    assert result.recipients and result.recipients[0].reason == "userunknown"


@pytest.mark.parametrize("depth", [50, 2000])
def test_deep_mime_nesting_finishes_and_is_still_read(depth):
    parts = b"".join(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n".encode() for i in range(depth))
    raw = (
        b"From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail\nMIME-Version: 1.0\n"
        + parts
        + b"Content-Type: text/plain\n\n<user@example.net>: 550 5.1.1 User unknown\n"
    )
    result, took = _timed(raw)
    assert took < LIMIT_S
    assert result.parse_error is None
    assert result.recipients and result.recipients[0].recipient == "user@example.net"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            TEXT_BOUNCE.replace(b"Subject: Mail delivery failed", b"Subject: =?utf-8?B?!!!?= =?x-bogus?Q?=ZZ?="),
            id="bad-encoded-words",
        ),
        pytest.param(
            TEXT_BOUNCE.replace(b"Subject: Mail delivery failed", b"Subject: =?punycode?Q?x<y?= failed"),
            id="punycode-word",
        ),
        pytest.param(
            TEXT_BOUNCE.replace(b"\n\nThis", b"\nContent-Type: text/plain; charset=punycode\n\nThis"),
            id="charset-punycode",
        ),
        pytest.param(
            TEXT_BOUNCE.replace(b"\n\nThis", b'\nContent-Type: text/plain; charset="utf\x00-8"\n\nThis'),
            id="nul-in-charset",
        ),
        pytest.param(
            TEXT_BOUNCE.replace(b"To: sender", b"To: \xff\xfe\x80 sender").replace(
                b"Subject: Mail", b"Subject: \xe3\x81 Mail"
            ),
            id="8bit-headers",
        ),
        pytest.param(DSN.replace(b"charset=us-ascii", b"charset=idna"), id="dsn-charset-idna"),
        pytest.param(
            DSN.replace(
                b"Content-Type: message/delivery-status", b"Content-Type: message/delivery-status; charset=\x00\x00"
            ),
            id="dsn-nul-charset",
        ),
    ],
)
def test_mutated_bounces_are_still_classified(raw):
    result, took = _timed(raw)
    assert took < LIMIT_S
    assert result.parse_error is None
    assert result.kind in ("bounce", "delay") and result.recipients
    assert result.recipients[0].recipient == "user@example.net"


def _seeds() -> list[bytes]:
    seeds = [DSN, TEXT_BOUNCE]
    if SHARED.is_dir():  # real bounces when the shared corpus is beside the repo
        seeds += [p.read_bytes() for p in sorted(SHARED.glob("*.eml"))[::40]]
    return seeds


SEEDS = _seeds()
_INSERTS = [
    b"\x00",
    b"\xff",
    b"\x80\x81",
    b"=?utf-8?B?",
    b"=?punycode?Q?",
    b"?=",
    b"charset=punycode",
    b'charset="\x00"',
    b"\n--",
    b"\nContent-Type: multipart/mixed; boundary=x\n\n--x\n",
    b"<script>",
    b"\r",
    b"\n\n",
    b"Status: 5.1.1\n",
    b"Final-Recipient: rfc822; a@b\n",
    b"Content-Transfer-Encoding: base64\n",
    b"=\n",
    b"\t",
    b"<",
]


@st.composite
def mutated(draw):
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, max(0, len(raw))))
        op = draw(st.integers(0, 3))
        if op == 0:
            raw[at:at] = draw(st.sampled_from(_INSERTS))
        elif op == 1:
            raw[at : at + draw(st.integers(1, 64))] = b""
        elif op == 2 and at < len(raw):
            raw[at] = draw(st.integers(0, 255))
        else:
            raw[at:at] = draw(st.binary(max_size=32))
    return bytes(raw)


@pytest.mark.fuzz
@settings(
    max_examples=examples(200), deadline=2000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(mutated())
@case_memory_bounded
def test_mutated_real_looking_bounces_never_raise_and_stay_fast(raw):
    result, took = _timed(raw)
    assert took < LIMIT_S
    assert result.kind in ("bounce", "delay", "complaint", "auto_reply", "delivered", "unclassified")
    for verdict in result.recipients:
        assert verdict.confidence in ("strong", "weak")
        assert not verdict.suppressible or verdict.hard is True


@pytest.mark.fuzz
@settings(max_examples=examples(100), deadline=2000)
@given(st.binary(max_size=4096))
@case_memory_bounded
def test_arbitrary_bytes_never_raise(raw):
    result = classify_returned_message(raw)
    assert result.parse_error is None or result.kind == "unclassified"
