"""A message's status as read from ledger rows: one reading for the CLI, the client and the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime

from maildispatch.core.ledger import NEVER
from maildispatch.core.message_status import Submission, message_status, recipient_status


def row(recipient: str, state: str, **numbers: float) -> dict:
    item = {"message_key": {"S": "k"}, "recipient": {"S": recipient}, "state": {"S": state}}
    item.update({name: {"N": repr(value)} for name, value in numbers.items()})
    return item


def test_an_uncertain_recipient_the_policy_will_not_retry_has_no_next_attempt():
    status = recipient_status(row("a@example.net", "uncertain", next_attempt_at=NEVER, updated_at=1_700_000_000))
    assert status.state == "uncertain" and status.next_attempt_at is None
    assert status.to_json() == {
        "recipient": "a@example.net",
        "state": "uncertain",
        "updated_at": "2023-11-14T22:13:20+00:00",
    }


def test_a_next_attempt_is_shown_only_for_recipients_that_wait():
    deferred = recipient_status(row("a@example.net", "deferred", next_attempt_at=1_700_000_060))
    delivered = recipient_status(row("b@example.net", "delivered", next_attempt_at=1_700_000_060))
    assert deferred.to_json()["next_attempt_at"] == "2023-11-14T22:14:20+00:00"
    assert "next_attempt_at" not in delivered.to_json()


def test_a_suppressed_recipient_reads_as_suppressed_and_the_others_accepted_read_as_queued():
    accepted = Submission(("Binh@Example.net", "a@example.net"), datetime(2026, 1, 1, tzinfo=UTC))
    status = message_status("k", [recipient_status(row("a@example.net", "suppressed"))], accepted)
    assert [(r.recipient, r.state) for r in status.recipients] == [
        ("a@example.net", "suppressed"),
        ("binh@example.net", "queued"),
    ]
    assert status.known and status.to_json()["accepted_at"] == "2026-01-01T00:00:00+00:00"
    assert not message_status("other", []).known
