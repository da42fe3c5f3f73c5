"""Verdicts carry their evidence and a confidence; only strong hard verdicts are suppressible;
the standard code tables cover the registries; the leave-one-family-out measurement works."""

from __future__ import annotations

import pytest

from maildispatch.core.returned_mail import CONFIDENCES, classify_returned_message, codes
from maildispatch.core.returned_mail.reason import assess, classify_reason, disabled_phrases


def _bounce(diagnostic: str, status: str = "5.1.1", command_note: str = "") -> bytes:
    return (
        "From: MAILER-DAEMON@example.org\nTo: s@example.com\nSubject: Undelivered Mail\nMIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
        f"<u@example.net>: {diagnostic} {command_note}\n\n--B\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; u@example.net\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n\n--B--\n"
    ).encode()


def test_a_coded_unknown_user_is_hard_strong_and_suppressible():
    v = classify_returned_message(
        _bounce("550 5.1.1 <u@example.net>: Recipient address rejected: User unknown in local recipient table")
    ).recipients[0]
    assert (v.reason, v.hard, v.confidence, v.suppressible) == ("userunknown", True, "strong", True)
    assert "user unknown" in v.evidence.lower()


def test_a_temporary_unknown_user_is_hard_but_not_suppressible():
    found = assess(
        "4.1.1", 450, "450 4.1.1 <u@example.net>: Recipient address rejected: User unknown", "RCPT", "failed"
    )
    assert found.reason == "userunknown" and found.confidence == "weak"


def test_loose_wording_never_makes_a_strong_hard_verdict():
    found = assess("5.0.0", 550, "550 Requested action not taken: mailbox unavailable", "RCPT", "failed")
    assert found.reason == "userunknown" and found.confidence == "weak"


def test_a_bare_refusal_at_rcpt_is_weak():
    found = assess(None, 550, "550 go away", "RCPT", "failed")
    assert found.confidence == "weak"


def test_a_status_that_contradicts_the_wording_makes_it_weak():
    found = assess("5.2.2", 552, "552 5.2.2 user unknown", "RCPT", "failed")
    assert found.confidence == "weak" or found.reason == "mailboxfull"


@pytest.mark.parametrize(
    ("status", "code", "text", "reason"),
    [
        (None, 552, "552 sorry", "mailboxfull"),  # RFC 5321 552: exceeded storage allocation
        (None, 521, "521 example.net", "notaccept"),  # RFC 7504
        (None, 421, "421 closing", "systemerror"),
        ("4.4.7", 451, "", "expired"),
        ("5.7.26", 550, "", "authfailure"),
        ("5.3.4", 552, "", "mesgtoobig"),
        ("5.7.13", 550, "", "suspend"),
        ("5.6.1", 554, "", "contenterror"),
    ],
)
def test_codes_decide_when_the_words_say_nothing(status, code, text, reason):
    found = assess(status, code, text, None, "failed")
    assert found.reason == reason
    assert found.evidence and found.confidence in CONFIDENCES


def test_temporary_reply_codes_are_soft():
    for code in (421, 450, 451, 452):
        reason, _rule = classify_reason(None, code, f"{code} something", None, "failed")
        from maildispatch.core.returned_mail import is_hard

        assert is_hard(reason, None, code) is False, (code, reason)


def test_the_enhanced_code_table_covers_every_registered_subject_detail():
    for subject, last in ((1, 10), (2, 4), (3, 5), (4, 7), (5, 5), (6, 9), (7, 30)):
        for detail in range(0, last + 1):
            assert f"{subject}.{detail}" in codes.ENHANCED, f"X.{subject}.{detail}"
    assert codes.permanent("5.2.2", 452) is True and codes.permanent(None, 421) is False


def test_switching_a_phrase_off_changes_the_reading_and_comes_back():
    text = "550 sorry, no mailbox here by that name"
    before = classify_reason(None, 550, text, "RCPT", "failed")
    assert before[0] == "userunknown"
    from maildispatch.core.returned_mail import wording

    every_user_phrase = [a for reason, _n, p in wording.STRONG if reason == "userunknown" for a in p.alternatives]
    with disabled_phrases(every_user_phrase):
        assert classify_reason(None, 550, text, "RCPT", "failed")[1] != before[1]
    assert classify_reason(None, 550, text, "RCPT", "failed") == before


def test_leave_one_out_table_on_a_tiny_folder(tmp_path, capsys):
    import json

    from maildispatch_cli.app import main

    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "lhost-a-01.eml").write_bytes(_bounce("550 5.1.1 User unknown"))
    (folder / "lhost-b-01.eml").write_bytes(_bounce("552 5.2.2 Mailbox full", "5.2.2"))
    truth = [
        {
            "file": "corpus/lhost-a-01.eml",
            "recipient_index": 1,
            "recipients": 1,
            "status": "5.1.1",
            "reason": "userunknown",
            "hard": True,
        },
        {
            "file": "corpus/lhost-b-01.eml",
            "recipient_index": 1,
            "recipients": 1,
            "status": "5.2.2",
            "reason": "mailboxfull",
            "hard": False,
        },
    ]
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    assert main(["classify-bounces", str(folder), "--leave-one-out"]) == 0
    out = capsys.readouterr().out
    assert "lhost-a" in out and "leave-one-family-out" in out and "soft predicted hard" in out
