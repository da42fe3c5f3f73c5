"""The "Email Bounced" EventBridge entry: its shape, its schema, its id and its size limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources

import pytest
from jsonschema import Draft202012Validator

from maildispatch.core.bounce_event import MAX_ENTRY_BYTES, bounce_event_entry, bounce_event_id, entry_size
from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason

ARRIVED = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 8, 5, 30, tzinfo=UTC)
SCHEMA = json.loads(resources.files("maildispatch").joinpath("schema/email-bounced.v1.json").read_text("utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA)

GHOST = FailedRecipient("ghost@example.net", "5.1.1", "550 5.1.1 User unknown", 550, "mx.example.net")
BUSY = FailedRecipient("busy@example.org", "4.4.7", "451 4.7.1 Greylisted", 451, "mx.example.org")


def report(**overrides) -> BounceReport:
    fields = dict(
        reason=ReportReason.REJECTED,
        recipients=(GHOST,),
        arrival_date=ARRIVED,
        message_key="order-1001",
        message_id="<order-1001@example.com>",
        envelope_sender="bounces@example.com",
        from_address="shop@example.com",
        subject="Đơn hàng #1001",
        tags={"campaign": "autumn"},
        source={"queue": "arn:aws:sqs:us-east-1:123456789012:send", "sqs_message_id": "m-1", "receive_count": 1},
    )
    fields.update(overrides)
    return BounceReport(**fields)


def entry_for(r: BounceReport, bus: str = "mail-events") -> dict:
    return bounce_event_entry(r, event_bus_name=bus, now=NOW)


def detail_of(r: BounceReport) -> dict:
    detail = json.loads(entry_for(r)["Detail"])
    VALIDATOR.validate(detail)
    return detail


def test_the_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(SCHEMA)


def test_an_entry_is_one_putevents_entry_from_maildispatch():
    entry = entry_for(report(), bus="mail-events")
    assert set(entry) == {"Source", "DetailType", "EventBusName", "Detail"}
    assert entry["Source"] == "maildispatch"
    assert entry["DetailType"] == "Email Bounced"
    assert entry["EventBusName"] == "mail-events"
    assert isinstance(entry["Detail"], str)


def test_the_detail_carries_the_report_facts():
    detail = detail_of(report())
    assert detail == {
        "version": 1,
        "event_id": bounce_event_id(report()),
        "message_key": "order-1001",
        "message_id": "<order-1001@example.com>",
        "reason": "rejected",
        "envelope_sender": "bounces@example.com",
        "from": "shop@example.com",
        "subject": "Đơn hàng #1001",
        "tags": {"campaign": "autumn"},
        "arrival_date": "2026-11-29T08:00:00+00:00",
        "reported_at": "2026-11-29T08:05:30+00:00",
        "recipients": [
            {
                "address": "ghost@example.net",
                "status": "5.1.1",
                "action": "failed",
                "reply_code": 550,
                "diagnostic": "550 5.1.1 User unknown",
                "remote_mta": "mx.example.net",
                "permanent": True,
                "classification": None,
                "hard": None,
            }
        ],
        "recipients_total": 1,
        "error": None,
        "original_body": None,
        "original_body_bytes": None,
        "source": {"queue": "arn:aws:sqs:us-east-1:123456789012:send", "sqs_message_id": "m-1", "receive_count": 1},
        "truncated": [],
    }


def test_only_status_class_5_is_permanent():
    recipients = detail_of(report(reason=ReportReason.EXPIRED, recipients=(GHOST, BUSY)))["recipients"]
    assert [(r["address"], r["permanent"]) for r in recipients] == [
        ("ghost@example.net", True),
        ("busy@example.org", False),
    ]


def test_a_poison_record_with_no_sender_and_no_recipients_is_still_a_valid_event():
    poison = BounceReport(
        reason=ReportReason.INVALID_REQUEST,
        recipients=(),
        arrival_date=ARRIVED,
        error="body: not JSON",
        original_body="<html>",
        source={"sqs_message_id": "m-9"},
    )
    detail = detail_of(poison)
    assert detail["envelope_sender"] is None
    assert detail["recipients"] == [] and detail["recipients_total"] == 0
    assert detail["error"] == "body: not JSON"
    assert detail["original_body"] == "<html>" and detail["original_body_bytes"] == 6
    assert detail["truncated"] == []


def test_a_large_original_body_travels_as_a_4_kib_excerpt_marked_truncated():
    body = "ệ" * 30_000  # 3 bytes each: 90,000 bytes
    detail = detail_of(report(reason=ReportReason.INVALID_REQUEST, original_body=body, error="body: not JSON"))
    assert len(detail["original_body"].encode("utf-8")) <= 4096
    assert body.startswith(detail["original_body"]) and len(detail["original_body"]) == 4096 // 3
    assert detail["original_body_bytes"] == 90_000
    assert "original_body" in detail["truncated"]


def test_a_body_already_cut_upstream_is_reported_with_its_size_as_received():
    detail = detail_of(
        report(reason=ReportReason.INVALID_REQUEST, original_body="{}", source={"body_bytes": 2_000_000})
    )
    assert detail["original_body_bytes"] == 2_000_000
    assert detail["truncated"] == ["original_body"]


def test_the_event_id_is_stable_for_a_report_and_differs_between_reports():
    first = bounce_event_id(report())
    assert first == bounce_event_id(report(subject="changed", tags={}))  # not part of the identity
    assert (
        json.loads(entry_for(report())["Detail"])["event_id"]
        == json.loads(bounce_event_entry(report(), event_bus_name="x", now=ARRIVED)["Detail"])["event_id"]
    )
    assert len(first) == 64 and int(first, 16) >= 0
    assert first != bounce_event_id(report(message_key="order-1002"))
    assert first != bounce_event_id(report(reason=ReportReason.EXPIRED))
    assert first != bounce_event_id(report(recipients=(GHOST, BUSY)))
    assert first != bounce_event_id(report(arrival_date=NOW))


def test_reports_without_a_message_key_are_told_apart_by_their_sqs_record():
    a = report(message_key=None, source={"sqs_message_id": "m-1"})
    b = report(message_key=None, source={"sqs_message_id": "m-2"})
    assert bounce_event_id(a) != bounce_event_id(b)


def test_a_report_with_thousands_of_recipients_fits_in_256_kb_and_says_how_many_were_left_out():
    many = tuple(
        FailedRecipient(f"user{i:05d}@example.net", "5.1.1", "550 5.1.1 " + "x" * 300, 550, "mx.example.net")
        for i in range(5000)
    )
    entry = entry_for(report(recipients=many))
    assert entry_size(entry) <= MAX_ENTRY_BYTES
    assert len(json.dumps(entry).encode("utf-8")) < 300_000
    detail = json.loads(entry["Detail"])
    VALIDATOR.validate(detail)
    assert detail["recipients_total"] == 5000
    assert 100 < len(detail["recipients"]) < 5000
    assert [r["address"] for r in detail["recipients"]] == [r.address for r in many[: len(detail["recipients"])]]
    assert detail["truncated"] == ["recipients"]


def test_huge_free_text_is_clipped_and_named():
    giant = "a" * 500_000
    detail = detail_of(
        report(subject=giant, error=giant, recipients=(FailedRecipient("ghost@example.net", "5.1.1", giant, 550),))
    )
    assert len(detail["subject"]) == 2048 and len(detail["error"]) == 2048
    assert len(detail["recipients"][0]["diagnostic"]) == 2048
    assert set(detail["truncated"]) == {"subject", "error", "recipients.diagnostic"}


def test_huge_tags_are_dropped_rather_than_breaking_the_limit():
    tags = {f"tag{i}": "v" * 1000 for i in range(400)}
    entry = entry_for(report(tags=tags))
    assert entry_size(entry) <= MAX_ENTRY_BYTES
    detail = json.loads(entry["Detail"])
    VALIDATOR.validate(detail)
    assert detail["tags"] == {} and "tags" in detail["truncated"]
    assert detail["recipients"][0]["address"] == "ghost@example.net"


def test_text_that_is_not_valid_unicode_is_made_safe_for_utf8():
    entry = entry_for(report(subject="bad \ud800 surrogate"))
    entry["Detail"].encode("utf-8")  # would raise on a lone surrogate
    assert json.loads(entry["Detail"])["subject"] == "bad ? surrogate"


def test_naive_dates_are_read_as_utc():
    assert detail_of(report(arrival_date=datetime(2026, 11, 29, 8, 0)))["arrival_date"] == "2026-11-29T08:00:00+00:00"


@pytest.mark.parametrize(
    "broken",
    [
        {"event_id": None},
        {"reason": "lost"},
        {
            "recipients": [
                {
                    "address": "a@b",
                    "status": "5.1",
                    "action": "failed",
                    "reply_code": None,
                    "diagnostic": None,
                    "remote_mta": None,
                    "permanent": True,
                }
            ]
        },
        {"unexpected": 1},
    ],
)
def test_the_schema_rejects_details_that_break_the_contract(broken):
    detail = json.loads(entry_for(report())["Detail"])
    detail.update(broken)
    assert not VALIDATOR.is_valid(detail)
