"""The reason rules: hard/soft follows the reason, and blocks aimed at our own sending reputation
are labelled as such, never as an unknown user (they must not suppress the recipient)."""

from __future__ import annotations

import pytest

from maildispatch.core.returned_mail import REPUTATION_REASONS, is_hard
from maildispatch.core.returned_mail.reason import classify_reason


@pytest.mark.parametrize(
    ("status", "code", "diagnostic", "command", "reason"),
    [
        # the sending host's reputation or set-up: at RCPT, with user-ish words around, still not userunknown
        (
            "5.7.1",
            554,
            "5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
            "RCPT",
            "blocked",
        ),
        (
            "5.7.1",
            550,
            "5.7.1 <u@example.net>: Recipient address rejected: your IP 192.0.2.1 is blacklisted",
            "RCPT",
            "blocked",
        ),
        (
            "5.7.1",
            550,
            "5.7.1 Our system has detected that this message is likely unsolicited mail. "
            "The IP you're using has a low reputation",
            "DATA",
            "badreputation",
        ),
        (
            "5.7.1",
            550,
            "5.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.1]",
            "RCPT",
            "requireptr",
        ),
        (
            "5.7.25",
            550,
            "5.7.25 [192.0.2.1] The IP address sending this message does not have a PTR record setup",
            "RCPT",
            "requireptr",
        ),
        (
            "5.7.26",
            550,
            "5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users",
            "DATA",
            "authfailure",
        ),
        ("5.7.1", 550, "5.7.1 Email rejected per DMARC policy for example.com", "DATA", "authfailure"),
        (
            None,
            554,
            "554 Your access to this mail system has been rejected due to the sending MTA's poor reputation",
            "CONN",
            "badreputation",
        ),
        (None, 550, "550 Connection refused, host is on a dial-up list", "CONN", "blocked"),
    ],
)
def test_reputation_blocks_are_labelled_as_such(status, code, diagnostic, command, reason):
    got, _rule = classify_reason(status, code, diagnostic, command, "failed")

    assert got == reason
    assert got in REPUTATION_REASONS
    assert is_hard(got, status, code) is False


@pytest.mark.parametrize(
    ("status", "code", "diagnostic", "command", "reason", "hard"),
    [
        ("5.1.1", 550, "5.1.1 <a@example.net>: Recipient address rejected: User unknown", "RCPT", "userunknown", True),
        (
            "4.1.1",
            450,
            "4.1.1 <a@example.net>: Recipient address rejected: unverified address: User unknown",
            "RCPT",
            "userunknown",
            True,
        ),
        ("5.2.2", 552, "5.2.2 Mailbox full", "RCPT", "mailboxfull", False),
        ("5.1.2", 550, "5.1.2 Host or domain name not found", None, "hostunknown", True),
        ("5.1.6", 551, "5.1.6 recipient no longer on server", "RCPT", "hasmoved", True),
        ("5.3.4", 552, "5.3.4 Message size exceeds fixed limit", "DATA", "mesgtoobig", False),
        ("5.7.1", 554, "5.7.1 <a@example.net>: Relay access denied", "RCPT", "norelaying", False),
        ("5.1.10", 550, "5.1.10 Recipient domain has null MX", None, "notaccept", True),
        ("4.4.7", None, "delivery time expired", None, "expired", False),
        ("5.7.1", 550, "5.7.1 Message rejected as spam by Content Filtering", "DATA", "spamdetected", False),
        ("5.2.1", 550, "5.2.1 The email account that you tried to reach is disabled", "RCPT", "suspend", False),
        (None, 550, "550 Unrouteable sender address", "MAIL", "rejected", False),
        (None, 421, "421 Too many concurrent SMTP connections; please try again later", "CONN", "toomanyconn", False),
    ],
)
def test_reason_and_hard_follow_the_reason_not_the_first_digit(status, code, diagnostic, command, reason, hard):
    got, _rule = classify_reason(status, code, diagnostic, command, "failed")

    assert got == reason
    assert is_hard(got, status, code) is hard


def test_an_unknown_user_refused_after_data_is_a_filter_not_a_bad_address():
    # The address was accepted at RCPT TO; the refusal after DATA is the recipient's filter.
    reason, rule = classify_reason(None, 550, "550 Unknown user kijitora@example.jp", "DATA", "failed")

    assert (reason, is_hard(reason, None, 550)) == ("filtered", False)
    assert rule.endswith("after-rcpt")


def test_nothing_said_is_undefined_and_an_unread_reply_is_onhold():
    assert classify_reason(None, None, None)[0] == "undefined"
    assert classify_reason(None, None, "something nobody can read")[0] == "onhold"
    assert classify_reason(None, None, None, action="delayed")[0] == "expired"


def test_a_report_that_contradicts_itself_reads_soft():
    """Its one recipient's reply says "user unknown", its own explanation says otherwise: when unsure, soft."""
    from maildispatch.core.returned_mail.reason import assess

    full = assess(
        "5.1.1", 550, "550 5.1.1 <u@example.net>... User Unknown", None, "failed", "was rejected: Not enough disk space"
    )
    assert (full.reason, is_hard(full.reason, "5.1.1", 550)) == ("systemfull", False)
    disabled = assess(
        "5.0.0", 550, "550 User unknown", "RCPT", "failed", "This account has been disabled or discontinued"
    )
    assert disabled.reason == "suspend"
    # an explicit X.1.1 is not overruled by a mention of a disabled account (it may have been removed)
    assert assess("5.1.1", 550, "550 5.1.1 User unknown", None, "failed", "account is disabled").reason == "userunknown"


@pytest.mark.parametrize(
    ("status", "code", "diagnostic", "command", "reason", "confidence"),
    [
        # RFC 3463 X.4.4 "unable to route": given up on for good, the domain has no route
        ("5.4.4", 550, "550 5.4.4 Unable to route", None, "hostunknown", "weak"),
        ("4.4.4", 451, "451 4.4.4 Unable to route", None, "networkerror", "weak"),
        # RFC 5321 4.2.2: 50x says the command was not understood, even in reply to DATA
        (None, 501, "501 what?", "DATA", "syntaxerror", "weak"),
        ("5.5.0", 503, "503 5.5.0 say hello first", None, "syntaxerror", "weak"),
        # Google's SMTP error reference, 550 5.2.1 (RFC 3463 X.2.1 "mailbox disabled")
        ("5.2.1", 550, "550 5.2.1 The email account that you tried to reach is disabled.", None, "suspend", "strong"),
        ("5.2.1", 550, "550 5.2.1 The email account that you tried to reach is inactive.", None, "suspend", "strong"),
        # Postfix's default access(5) REJECT text: a hard reading, never strong enough to suppress at once
        (
            "5.7.1",
            554,
            "554 5.7.1 <u@example.net>: Recipient address rejected: Access denied",
            "RCPT",
            "userunknown",
            "weak",
        ),
    ],
)
def test_codes_and_wording_read_as_the_standards_and_references_say(
    status, code, diagnostic, command, reason, confidence
):
    from maildispatch.core.returned_mail.reason import assess

    found = assess(status, code, diagnostic, command, "failed")
    assert (found.reason, found.confidence) == (reason, confidence)
