"""Which bounces put an address on the suppression list: one classification for every input,
hard bounces and complaints at once, soft ones by count, blocks aimed at us never."""

import asyncio
from datetime import UTC, datetime

import pytest

from maildispatch.core.report import BounceReport, FailedRecipient
from maildispatch.core.suppression import (
    SOFT_BOUNCE_LIMIT,
    SOFT_BOUNCE_WINDOW,
    Suppression,
    classify_failure,
    suppressed_recipient,
    suppression_decision,
)
from tests.fakes.stores import InMemorySuppressionList

ARRIVAL = datetime(2026, 11, 29, tzinfo=UTC)


def failed(diagnostic, status, code=550, **more):
    return FailedRecipient("Someone@Example.NET", status, diagnostic, code, **more)


def report(reason, *recipients, matched_by="verp"):
    return BounceReport(
        reason=reason, recipients=recipients, arrival_date=ARRIVAL, message_key="k1", source={"matched_by": matched_by}
    )


@pytest.mark.parametrize(
    "diagnostic, status, reason",
    [
        (
            "550 5.1.1 <someone@example.net>: Recipient address rejected: User unknown in virtual mailbox table",
            "5.1.1",
            "userunknown",
        ),
        ("550 5.1.2 Host unknown: domain does not exist", "5.1.2", "hostunknown"),
    ],
)
def test_a_bad_mailbox_or_domain_is_suppressed_at_once(diagnostic, status, reason):
    decision = suppression_decision(report("rejected", failed(diagnostic, status)), now=100.0)
    assert classify_failure(failed(diagnostic, status)) == (reason, True)
    assert [(s.address, s.reason, s.status) for s in decision.suppress] == [
        ("someone@example.net", "hard_bounce", status)
    ]


@pytest.mark.parametrize(
    "diagnostic, status, code",
    [
        ("550 5.4.5 Daily user sending limit exceeded. - gsmtp", "5.4.5", 550),
        ("454 Throttling failure: Daily message quota exceeded", "4.0.0", 454),
    ],
)
def test_a_relay_quota_reply_that_reaches_a_report_never_suppresses_or_counts(diagnostic, status, code):
    decision = suppression_decision(report("rejected", failed(diagnostic, status, code)), now=100.0)

    assert decision.suppress == () and decision.soft_bounces == () and decision.sender_refusals == 1


def test_a_hard_reading_on_weak_evidence_counts_as_a_soft_bounce_and_suppresses_nobody_yet():
    """5.1.0 is "other address status": with no words saying which, "user unknown" is only a guess."""
    vague = failed("550 5.1.0 Address rejected", "5.1.0")
    assert classify_failure(vague) == ("userunknown", False)
    decision = suppression_decision(report("rejected", vague), now=100.0)
    assert decision.suppress == () and decision.soft_bounces == ("someone@example.net",)


def test_returned_mail_classified_hard_on_weak_evidence_is_counted_not_suppressed():
    weak = failed("550 5.1.0 Address rejected", "5.1.0", classification="userunknown", hard=True, confidence="weak")
    strong = failed("550 5.1.1 User unknown", "5.1.1", classification="userunknown", hard=True, confidence="strong")
    assert suppression_decision(report("returned", weak), now=100.0).suppress == ()
    assert suppression_decision(report("returned", weak), now=100.0).soft_bounces == ("someone@example.net",)
    assert [s.reason for s in suppression_decision(report("returned", strong), now=100.0).suppress] == ["hard_bounce"]


@pytest.mark.parametrize(
    "diagnostic, status",
    [
        ("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "5.7.1"),
        ("550 5.7.1 Service refused: poor sender reputation", "5.7.1"),
        ("550 5.7.25 The IP address sending this message does not have a PTR record setup", "5.7.25"),
        ("550 5.7.26 This message does not pass authentication checks (SPF and DKIM both do not pass)", "5.7.26"),
    ],
)
def test_a_block_aimed_at_our_sending_reputation_never_suppresses_the_recipient(diagnostic, status):
    decision = suppression_decision(report("rejected", failed(diagnostic, status, 554)), now=100.0)
    assert decision.suppress == () and decision.soft_bounces == () and decision.reputation_blocks == 1


def test_a_full_mailbox_is_soft_and_only_counted():
    decision = suppression_decision(report("returned", failed("552 5.2.2 Mailbox full", "5.2.2", 552)), now=100.0)
    assert decision.suppress == () and decision.soft_bounces == ("someone@example.net",)


def test_a_returned_bounce_uses_the_classification_it_came_with():
    returned = failed("whatever the MTA said", "5.0.0", None, classification="userunknown", hard=True)
    assert [s.reason for s in suppression_decision(report("returned", returned), now=1.0).suppress] == ["hard_bounce"]


def test_a_complaint_suppresses_the_address():
    complaint = FailedRecipient("someone@example.net", "5.7.1", classification="feedback")
    assert [s.reason for s in suppression_decision(report("complaint", complaint), now=1.0).suppress] == ["complaint"]


def test_an_expired_message_counts_as_a_soft_bounce():
    assert suppression_decision(report("expired", failed("451 4.3.0 later", "4.4.7", 451)), now=1.0).soft_bounces == (
        "someone@example.net",
    )


@pytest.mark.parametrize("reason", ["invalid_request", "render_failed", "redriven", "suppressed", "delayed"])
def test_other_reports_do_nothing_to_the_list(reason):
    decision = suppression_decision(report(reason, failed("550 5.1.1 unknown", "5.1.1")), now=100.0)
    assert (decision.suppress, decision.soft_bounces, decision.reputation_blocks) == ((), (), 0)


def test_soft_bounces_are_counted_once_each_within_the_window():
    store = InMemorySuppressionList()
    count = lambda at, event: asyncio.run(store.count_soft_bounce("a@example.net", at=at, event_id=event))  # noqa: E731
    assert [count(0.0, "e1"), count(10.0, "e2"), count(10.0, "e2"), count(SOFT_BOUNCE_WINDOW + 5.0, "e3")] == [
        1,
        2,
        2,
        2,
    ]
    assert SOFT_BOUNCE_LIMIT == 3


def test_a_skipped_recipient_is_reported_with_why_and_since_when():
    skipped = suppressed_recipient(
        "A@example.net", Suppression("a@example.net", "hard_bounce", "5.1.1", "550 5.1.1 unknown", "k0", 1795939200.0)
    )
    assert skipped.status == "5.1.1"
    assert skipped.diagnostic == "suppressed since 2026-11-29 08:00 UTC (hard_bounce 5.1.1: 550 5.1.1 unknown)"


@pytest.mark.parametrize("reason", ["returned", "complaint"])
def test_returned_mail_that_matched_nothing_we_sent_suppresses_nothing(reason):
    """Otherwise anyone could suppress any address by mailing us a made-up bounce."""
    forged = failed("550 5.1.1 unknown", "5.1.1", classification="userunknown", hard=True)
    assert suppression_decision(report(reason, forged, matched_by="recipient"), now=1.0).suppress == ()
