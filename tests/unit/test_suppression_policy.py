"""Which bounces put an address on the suppression list: hard ones about the address, never about us."""
from datetime import datetime, timezone

import pytest

from maildispatch.report import BounceReport, FailedRecipient
from maildispatch.suppression import is_hard_bounce, suppressed_recipient, suppressions_for, Suppression


@pytest.mark.parametrize("status", ["5.1.1", "5.1.2", "5.1.10", "5.2.1", "5.1.6"])
def test_a_bad_mailbox_or_domain_is_a_hard_bounce(status):
    assert is_hard_bounce(status)


@pytest.mark.parametrize("status", ["5.2.2", "5.7.1", "5.7.26", "5.4.4", "5.3.4", "4.1.1", "4.4.7", "5.0.0", None])
def test_full_mailboxes_policy_blocks_and_temporary_failures_are_not(status):
    assert not is_hard_bounce(status)


def report(reason, *statuses):
    recipients = tuple(FailedRecipient(f"u{i}@Example.NET", s, f"550 {s} no") for i, s in enumerate(statuses))
    return BounceReport(reason=reason, recipients=recipients, arrival_date=datetime(2026, 11, 29, tzinfo=timezone.utc), message_key="k1")


def test_a_rejected_report_suppresses_its_hard_bounced_addresses_only():
    entries = suppressions_for(report("rejected", "5.1.1", "5.7.1", "5.2.2"), now=100.0)
    assert [(e.address, e.reason, e.status, e.message_key) for e in entries] == [("u0@example.net", "hard_bounce", "5.1.1", "k1")]


@pytest.mark.parametrize("reason", ["expired", "invalid_request", "render_failed", "redriven", "suppressed", "delayed"])
def test_other_reports_suppress_nothing(reason):
    assert suppressions_for(report(reason, "5.1.1"), now=100.0) == []


def test_a_skipped_recipient_is_reported_with_why_and_since_when():
    failed = suppressed_recipient("A@example.net", Suppression("a@example.net", "hard_bounce", "5.1.1", "550 5.1.1 unknown", "k0", 1795939200.0))
    assert failed.status == "5.1.1"
    assert failed.diagnostic == "suppressed since 2026-11-29 08:00 UTC (hard_bounce 5.1.1: 550 5.1.1 unknown)"
