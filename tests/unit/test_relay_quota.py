"""Quota and rate replies are about the relay, not the recipient: the classification table."""

from __future__ import annotations

import pytest

from maildispatch.core.outcome import local_reply, parse_reply
from maildispatch.core.relay_quota import QuotaKind, RelayQuota, pause_seconds, relay_quota


def classify(line: str) -> RelayQuota | None:
    code, _, text = line.partition(" ")
    return relay_quota(parse_reply(int(code), text, "relay.test"))


QUOTA_REPLIES = [
    # Gmail and Google Workspace (support.google.com/a/answer/3726730)
    ("550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to", "daily"),
    ("550 5.4.5 Daily user sending quota exceeded. - gsmtp", "daily"),
    ("550 5.4.5 Daily SMTP relay limit exceeded for user. - gsmtp", "daily"),
    ("550 5.4.5 Daily SMTP relay limit exceeded for customer.", "daily"),
    ("550 5.4.5 Something new Google says one day", "daily"),  # the status alone
    ("450 4.2.1 Peak SMTP relay limit exceeded for customer. This is a temporary error.", "rate"),
    (
        "421 4.7.28 Gmail has detected an unusual rate of unsolicited mail. To protect our users from spam, "
        "mail has been temporarily rate limited.",
        "rate",
    ),
    ("421 4.7.28 Our system has detected an unusual rate of mail", "rate"),  # the status alone
    ("421 4.7.0 Try again later: you are being rate limited", "rate"),
    (
        "452 4.5.3 Your message has too many recipients. For more information regarding Google's sending limits",
        "recipients",
    ),
    (
        "452 4.5.3 Domain policy size per transaction exceeded, please try this recipient in a separate transaction",
        "recipients",
    ),
    # Amazon SES (docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html)
    ("454 Throttling failure: Maximum sending rate exceeded", "rate"),
    ("454 Throttling failure: Daily message quota exceeded", "daily"),
    ("554 Transaction failed: Recipient count exceeds 50", "recipients"),
    # Microsoft 365
    ("554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message", "daily"),
    # generic 4xx wording
    ("451 4.7.1 Sending rate exceeded, slow down", "rate"),
    ("550 5.7.0 Sending quota exceeded for this account", "daily"),
    ("450 4.7.1 Too many messages from this account, try again in 120 seconds", "rate"),
    ("421 4.3.2 Throttled: try later", "rate"),
    ("451 4.7.1 Too many messages in this minute, slow down", "rate"),
]

NOT_QUOTA = [
    "550 5.1.1 The email account that you tried to reach does not exist.",
    "452 4.2.2 The email account that you tried to reach is over quota.",  # the recipient's mailbox
    "552 5.2.2 Mailbox full: quota exceeded",  # the recipient's mailbox
    "452 4.2.2 Message quota exceeded for this mailbox",  # the recipient's mailbox, in other words
    "452 4.2.2 Too many messages in mailbox",  # the recipient's mailbox again
    "450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend later.",
    "450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages",
    "421 4.4.5 Server busy, try again later.",
    "421 4.7.0 Try again later, closing connection.",
    "421 4.7.0 Too many concurrent SMTP connections from this IP; try again later",
    "421 4.7.0 Our system has detected an unusual rate of unsolicited mail originating from your IP address. "
    "To protect our users from spam, mail sent from your IP address has been temporarily blocked.",
    "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy.",
    "451 4.7.1 Greylisted, please try again in 300 seconds",
    "550 5.7.1 Message rejected: rate of spam complaints too high",  # a 5xx naming a rate: a policy block
    "250 2.0.0 OK daily quota exceeded",  # success is success
]


@pytest.mark.parametrize("line, kind", QUOTA_REPLIES, ids=[line[:48] for line, _ in QUOTA_REPLIES])
def test_quota_and_rate_replies_are_about_the_relay(line: str, kind: str) -> None:
    found = classify(line)

    assert found is not None, line
    assert found.kind == QuotaKind(kind)


@pytest.mark.parametrize("line", NOT_QUOTA, ids=[line[:48] for line in NOT_QUOTA])
def test_replies_about_the_recipient_or_the_server_are_not(line: str) -> None:
    assert classify(line) is None


def test_a_local_reply_without_a_code_is_read_by_its_status() -> None:
    assert relay_quota(local_reply("4.4.2", "connection dropped after the final dot")) is None
    assert relay_quota(local_reply("4.7.28", "rate limited")) == RelayQuota(QuotaKind.RATE, "rate_limited")


def test_the_reply_names_the_rule_that_matched() -> None:
    found = classify("454 Throttling failure: Maximum sending rate exceeded")

    assert found is not None and found.rule == "ses_max_rate"


def test_a_stated_delay_is_kept_and_lengthens_the_pause() -> None:
    found = classify("450 4.7.1 Too many messages from this account, try again in 120 seconds")

    assert found is not None and found.stated_delay == 120
    assert pause_seconds(found, daily=3600, rate=60) == 120


def test_each_kind_pauses_for_its_own_time() -> None:
    daily, rate, recipients = (
        classify("550 5.4.5 Daily user sending limit exceeded"),
        classify("454 Throttling failure: Maximum sending rate exceeded"),
        classify("452 4.5.3 Your message has too many recipients"),
    )
    assert daily and rate and recipients

    assert [pause_seconds(q, daily=3600, rate=60) for q in (daily, rate, recipients)] == [3600, 60, 1.0]
