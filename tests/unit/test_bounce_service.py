"""The bounce function's logic: dead-letter records become reports, events and DSNs."""

from __future__ import annotations

import asyncio
import email
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from importlib import resources

import pytest
from jsonschema import Draft202012Validator

from maildispatch.core.outcome import Bounced, Deferred, Delivered, Outcome, Uncertain, local_reply, parse_reply
from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason
from maildispatch.core.request import InvalidRequest, parse_send_request
from maildispatch.services.reporting import (
    REDRIVEN_DIAGNOSTIC,
    BounceHandled,
    BounceReportFailed,
    BounceService,
    BounceSettings,
    report_from_dlq_message,
)

SENT_AT = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
DLQ_SENT_AT = datetime(2026, 11, 29, 8, 0, 9, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 8, 1, tzinfo=UTC)
SETTINGS = BounceSettings(
    reporting_mta="bounce.maildispatch.test", postmaster="postmaster@maildispatch.test", event_bus_name="mail-events"
)
EVENT_SCHEMA = Draft202012Validator(
    json.loads(resources.files("maildispatch").joinpath("schema/email-bounced.v1.json").read_text("utf-8"))
)

GHOST = FailedRecipient("ghost@example.net", "5.1.1", "550 5.1.1 User unknown", 550, "mx.example.net")


def rejected_report(**overrides) -> BounceReport:
    fields = dict(
        reason=ReportReason.REJECTED,
        recipients=(GHOST,),
        arrival_date=SENT_AT,
        message_key="order-1001",
        message_id="<order-1001@example.com>",
        envelope_sender="shop@example.com",
        from_address="shop@example.com",
        subject="Your order shipped",
        original_headers="From: shop@example.com\r\nSubject: Your order shipped\r\n",
        source={"queue": "arn:aws:sqs:us-east-1:123456789012:send", "sqs_message_id": "send-1", "receive_count": 1},
    )
    fields.update(overrides)
    return BounceReport(**fields)


def send_request(**overrides) -> dict:
    doc = {
        "message_key": "order-1001",
        "from": "Shop <shop@example.com>",
        "to": ["an.nguyen@example.net", "binh@example.net"],
        "subject": "Đơn hàng",
        "text": "Hi",
    }
    doc.update(overrides)
    return doc


def from_dlq(body: str, **overrides) -> BounceReport:
    args = dict(
        message_id="dlq-1", receive_count=1, source_queue="arn:aws:sqs:us-east-1:123456789012:dlq", sent_at=DLQ_SENT_AT
    )
    args.update(overrides)
    return report_from_dlq_message(body, **args)


# -- fakes -------------------------------------------------------------------------------------


@dataclass
class Journal:
    steps: list[str] = field(default_factory=list)


@dataclass
class FakeRelay:
    """Answers every DSN with `answer` ('250 ...', '451 ...', '550 ...' or 'uncertain')."""

    journal: Journal
    answer: str = "250 2.0.0 Ok: queued"
    sent: list[tuple] = field(default_factory=list)  # (envelope, message)

    async def deliver(self, envelope, message: bytes) -> list[Outcome]:
        self.journal.steps.append("dsn")
        self.sent.append((envelope, message))
        outcomes: list[Outcome] = []
        for recipient in envelope.recipients:
            if self.answer == "uncertain":
                outcomes.append(Uncertain(recipient, local_reply("4.4.2", "connection lost after the final dot")))
                continue
            code, _, text = self.answer.partition(" ")
            reply = parse_reply(int(code), text, remote_mta="relay.test")
            outcomes.append({"2": Delivered, "4": Deferred, "5": Bounced}[code[0]](recipient, reply))
        return outcomes


@dataclass
class FakeEventBus:
    journal: Journal
    failure: Exception | None = None
    entries: list[dict] = field(default_factory=list)

    async def publish(self, entries: list[dict]) -> None:
        self.journal.steps.append("event")
        if self.failure is not None:
            raise self.failure
        self.entries.extend(entries)

    def details(self) -> list[dict]:
        return [json.loads(e["Detail"]) for e in self.entries]


class Harness:
    def __init__(self, answer: str = "250 2.0.0 Ok: queued", publish_failure: Exception | None = None) -> None:
        self.journal = Journal()
        self.relay = FakeRelay(self.journal, answer)
        self.bus = FakeEventBus(self.journal, publish_failure)
        self.service = BounceService(self.relay, self.bus, SETTINGS, clock=lambda: NOW)

    def handle(self, report: BounceReport) -> BounceHandled:
        return asyncio.run(self.service.handle(report))


# -- handling a report ---------------------------------------------------------------------------


def test_a_bounce_is_published_then_reported_to_the_envelope_sender_with_the_null_sender():
    h = Harness()
    handled = h.handle(rejected_report(envelope_sender="bounces@example.com"))
    assert h.journal.steps == ["event", "dsn"]
    [(envelope, message)] = h.relay.sent
    assert envelope.sender == ""
    assert envelope.recipients == ("bounces@example.com",)
    assert envelope.smtputf8 is False
    dsn = email.message_from_bytes(message, policy=policy.default)
    assert dsn["To"] == "bounces@example.com"
    assert dsn.get_content_type() == "multipart/report"
    assert isinstance(handled.dsn, Delivered) and handled.event_published
    [entry] = h.bus.entries
    assert entry["EventBusName"] == "mail-events" and entry["DetailType"] == "Email Bounced"
    EVENT_SCHEMA.validate(json.loads(entry["Detail"]))


@pytest.mark.parametrize("sender", [None, "", "<>"])
def test_a_report_without_a_sender_is_published_but_never_mailed(sender):
    h = Harness()
    handled = h.handle(rejected_report(envelope_sender=sender))
    assert h.relay.sent == []
    assert (handled.dsn, handled.event_published) == (None, True)
    assert [d["message_key"] for d in h.bus.details()] == ["order-1001"]


def test_a_sender_with_a_utf8_mailbox_name_gets_the_dsn_over_smtputf8():
    h = Harness()
    h.handle(rejected_report(envelope_sender="chủ@example.vn"))
    [(envelope, _)] = h.relay.sent
    assert envelope.recipients == ("chủ@example.vn",) and envelope.smtputf8 is True


@pytest.mark.parametrize("answer", ["451 4.3.0 Relay busy", "uncertain"])
def test_a_dsn_the_relay_did_not_take_fails_the_record_after_the_event_was_published(answer):
    h = Harness(answer)
    with pytest.raises(BounceReportFailed) as failure:
        h.handle(rejected_report())
    assert failure.value.event_published is True
    assert isinstance(failure.value.dsn, (Deferred, Uncertain))
    assert h.journal.steps == ["event", "dsn"]
    assert len(h.bus.entries) == 1


def test_a_retried_record_publishes_the_same_event_id_and_the_same_dsn_message_id():
    h = Harness("451 4.3.0 Relay busy")
    report = rejected_report()
    with pytest.raises(BounceReportFailed):
        h.handle(report)
    h.relay.answer = "250 2.0.0 Ok"
    h.handle(report)
    first, second = h.bus.details()
    assert first["event_id"] == second["event_id"]
    ids = [email.message_from_bytes(m, policy=policy.default)["Message-ID"] for _, m in h.relay.sent]
    assert ids[0] == ids[1] and ids[0].endswith("@bounce.maildispatch.test>")


def test_a_dsn_refused_permanently_is_final_and_not_retried():
    h = Harness("550 5.1.1 <shop@example.com>: Recipient address rejected")
    handled = h.handle(rejected_report())
    assert isinstance(handled.dsn, Bounced) and handled.dsn_rejected
    assert handled.event_published
    assert len(h.relay.sent) == 1


@pytest.mark.parametrize(
    "answer",
    [
        # Gmail's published sending limits; a relay's own quota says nothing about the DSN's recipient
        "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to ...",
        "550 5.7.1 Daily SMTP relay limit exceeded for customer. For more information on SMTP relay sending limits",
    ],
    ids=["gmail-daily-limit", "workspace-relay-limit"],
)
def test_a_dsn_the_relay_refuses_for_its_own_quota_waits_and_is_never_dropped(answer):
    h = Harness(answer)
    with pytest.raises(BounceReportFailed) as failure:
        h.handle(rejected_report())
    assert failure.value.event_published is True  # the retry publishes it again with the same event id
    assert "quota or rate" in str(failure.value)
    h.relay.answer = "250 2.0.0 Ok"
    handled = h.handle(rejected_report())
    assert isinstance(handled.dsn, Delivered) and not handled.dsn_rejected


def test_a_relay_that_answers_nothing_counts_as_deferred():
    class SilentRelay:
        async def deliver(self, envelope, message):
            return []

    bus = FakeEventBus(Journal())
    with pytest.raises(BounceReportFailed):
        asyncio.run(BounceService(SilentRelay(), bus, SETTINGS, clock=lambda: NOW).handle(rejected_report()))
    assert len(bus.entries) == 1


def test_an_event_that_cannot_be_published_fails_the_record_before_any_dsn_is_sent():
    h = Harness(publish_failure=RuntimeError("EventBridge refused 1 event(s): ThrottlingException"))
    with pytest.raises(BounceReportFailed) as failure:
        h.handle(rejected_report())
    assert failure.value.event_published is False
    assert "ThrottlingException" in str(failure.value)
    assert h.relay.sent == []


# -- reading dead-letter records ---------------------------------------------------------------------


def test_a_bounce_report_on_the_dlq_is_read_back_with_the_dead_letter_record_noted():
    original = rejected_report()
    report = from_dlq(original.to_json())
    assert report.reason == ReportReason.REJECTED
    assert report.recipients == original.recipients
    assert (report.message_key, report.envelope_sender, report.subject, report.original_headers) == (
        original.message_key,
        original.envelope_sender,
        original.subject,
        original.original_headers,
    )
    assert report.source["sqs_message_id"] == "send-1"  # the report's own facts are kept
    assert report.source["dead_letter"] == {
        "queue": "arn:aws:sqs:us-east-1:123456789012:dlq",
        "sqs_message_id": "dlq-1",
        "receive_count": 1,
        "sent_at": DLQ_SENT_AT.isoformat(),
    }
    assert (
        report.source["last_attempt_at"] == DLQ_SENT_AT.isoformat()
    )  # the report was written right after the last attempt


def test_a_report_that_made_no_delivery_attempt_gets_no_last_attempt_time():
    render = rejected_report(
        reason=ReportReason.RENDER_FAILED,
        recipients=(FailedRecipient("binh@example.net", "5.6.0"),),
        error="bad template",
    )
    assert "last_attempt_at" not in from_dlq(render.to_json()).source


def test_a_redriven_send_request_becomes_a_report_for_every_recipient():
    report = from_dlq(json.dumps(send_request(tags={"campaign": "autumn"})), receive_count=3)
    assert report.reason == ReportReason.REDRIVEN
    assert [(r.address, r.status, r.diagnostic, r.reply_code, r.action) for r in report.recipients] == [
        ("an.nguyen@example.net", "4.3.0", REDRIVEN_DIAGNOSTIC, None, "failed"),
        ("binh@example.net", "4.3.0", REDRIVEN_DIAGNOSTIC, None, "failed"),
    ]
    assert report.envelope_sender == "shop@example.com"
    assert (report.from_address, report.message_key, report.subject, dict(report.tags)) == (
        "shop@example.com",
        "order-1001",
        "Đơn hàng",
        {"campaign": "autumn"},
    )
    assert report.arrival_date == DLQ_SENT_AT
    assert report.source == {
        "queue": "arn:aws:sqs:us-east-1:123456789012:dlq",
        "sqs_message_id": "dlq-1",
        "receive_count": 3,
        "sent_at": DLQ_SENT_AT.isoformat(),
    }


def test_a_redriven_request_is_reported_to_its_return_path_else_the_default_sender_else_from():
    with_return_path = from_dlq(
        json.dumps(send_request(return_path="bounces@example.com")), default_envelope_sender="ops@example.com"
    )
    assert with_return_path.envelope_sender == "bounces@example.com"
    assert (
        from_dlq(json.dumps(send_request()), default_envelope_sender="ops@example.com").envelope_sender
        == "ops@example.com"
    )
    assert from_dlq(json.dumps(send_request())).envelope_sender == "shop@example.com"


def test_a_redriven_request_is_mailed_and_published():
    h = Harness()
    h.handle(from_dlq(json.dumps(send_request())))
    [detail] = h.bus.details()
    assert detail["reason"] == "redriven" and [r["status"] for r in detail["recipients"]] == ["4.3.0", "4.3.0"]
    [(envelope, message)] = h.relay.sent
    assert envelope.recipients == ("shop@example.com",)
    assert b"Diagnostic-Code: x-maildispatch; delivery attempts exhausted" in message


def test_an_invalid_request_is_a_poison_report_with_the_parse_error_and_the_salvaged_envelope():
    body = json.dumps(send_request(subject=["not", "text"]))
    with pytest.raises(InvalidRequest) as parse_error:
        parse_send_request(body)
    report = from_dlq(body)
    assert report.reason == ReportReason.INVALID_REQUEST
    assert report.error == str(parse_error.value)
    assert report.envelope_sender == "shop@example.com"
    assert [(r.address, r.status, r.diagnostic) for r in report.recipients] == [
        ("an.nguyen@example.net", "5.6.0", str(parse_error.value)),
        ("binh@example.net", "5.6.0", str(parse_error.value)),
    ]
    assert report.original_body == body
    assert report.arrival_date == DLQ_SENT_AT


def test_a_poison_record_with_a_salvaged_sender_is_mailed_the_error():
    h = Harness()
    h.handle(from_dlq(json.dumps(send_request(subject=["not", "text"]))))
    [(envelope, message)] = h.relay.sent
    assert envelope.recipients == ("shop@example.com",)
    text = email.message_from_bytes(message, policy=policy.default).get_body(("plain",)).get_content()
    assert "your send request could not be read" in " ".join(text.split())


GARBAGE = {
    "empty": "",
    "not JSON": "<html>oops</html>",
    "JSON array": "[1, 2, 3]",
    "JSON null": "null",
    "JSON string": '"hello"',
    "unknown document": '{"kind": "something else"}',
    "report without fields": '{"type": "maildispatch.bounce-report", "version": 1}',
    "report with a bad reason": rejected_report().to_json().replace('"rejected"', '"lost"'),
    "report with a bad date": rejected_report().to_json().replace("2026-11-29T08:00:00+00:00", "yesterday"),
    "report with recipients as text": json.dumps(
        {**json.loads(rejected_report().to_json()), "recipients": "ghost@example.net"}
    ),
    "report with a numeric address": json.dumps(
        {**json.loads(rejected_report().to_json()), "recipients": [{"address": 5, "status": "5.1.1"}]}
    ),
    "report with an unknown field": json.dumps({**json.loads(rejected_report().to_json()), "extra": 1}),
    "deeply nested": "[" * 100_000 + "]" * 100_000,
    "lone surrogate": '{"from": "shop@example.com", "to": ["\\ud800@example.net"]}',
    "huge": json.dumps({"from": "shop@example.com", "text": "x" * 2_000_000}),
}


@pytest.mark.parametrize("body", GARBAGE.values(), ids=GARBAGE.keys())
def test_any_body_yields_an_invalid_request_report_and_a_valid_event(body):
    report = from_dlq(body)
    assert report.reason == ReportReason.INVALID_REQUEST
    assert report.error
    assert report.original_body is not None and len(report.original_body.encode("utf-8")) <= 64 * 1024
    assert body.startswith(report.original_body)
    assert report.source["body_bytes"] == len(body.encode("utf-8", "replace"))
    h = Harness()
    handled = h.handle(report)
    assert handled.event_published
    [detail] = h.bus.details()
    EVENT_SCHEMA.validate(detail)
    assert detail["reason"] == "invalid_request" and detail["error"] == report.error


def test_a_poison_record_with_no_sender_is_published_and_not_mailed():
    h = Harness()
    handled = h.handle(from_dlq("not json at all"))
    assert (handled.dsn, handled.event_published) == (None, True)
    assert h.relay.sent == []
    [detail] = h.bus.details()
    assert detail["original_body"] == "not json at all" and detail["source"]["sqs_message_id"] == "dlq-1"


# -- the suppression policy ----------------------------------------------------------------------


def test_a_hard_bounce_suppresses_the_address_even_when_the_report_must_be_retried():
    from tests.fakes.stores import InMemorySuppressionList

    suppressions = InMemorySuppressionList()
    harness = Harness(answer="451 4.3.0 try later")
    harness.service = BounceService(harness.relay, harness.bus, SETTINGS, suppressions=suppressions, clock=lambda: NOW)
    full = FailedRecipient("full@example.net", "5.2.2", "552 5.2.2 Mailbox full", 552, "mx.example.net")
    with pytest.raises(BounceReportFailed):
        harness.handle(rejected_report(recipients=(GHOST, full)))
    assert list(suppressions.entries) == ["ghost@example.net"]  # a full mailbox is not a bad address
    assert suppressions.entries["ghost@example.net"].status == "5.1.1"


def test_soft_bounces_suppress_an_address_at_the_limit_and_a_retried_report_counts_once():
    from tests.fakes.stores import InMemorySuppressionList

    suppressions = InMemorySuppressionList()
    harness = Harness()
    harness.service = BounceService(harness.relay, harness.bus, SETTINGS, suppressions=suppressions, clock=lambda: NOW)
    full = FailedRecipient("full@example.net", "5.2.2", "552 5.2.2 Mailbox full", 552, "mx.example.net")
    for day in (1, 2, 2):  # the third is the second report again (a retried record): counted once
        harness.handle(
            rejected_report(recipients=(full,), message_key=f"m{day}", arrival_date=SENT_AT.replace(day=day))
        )
    assert suppressions.entries == {}
    handled = harness.handle(rejected_report(recipients=(full,), message_key="m3", arrival_date=SENT_AT.replace(day=3)))
    assert handled.suppressed == 1 and suppressions.entries["full@example.net"].reason == "soft_bounces"


def test_a_block_aimed_at_us_is_counted_and_never_suppresses():
    from tests.fakes.stores import InMemorySuppressionList

    suppressions = InMemorySuppressionList()
    harness = Harness()
    harness.service = BounceService(harness.relay, harness.bus, SETTINGS, suppressions=suppressions, clock=lambda: NOW)
    blocked = FailedRecipient(
        "an@example.net",
        "5.7.1",
        "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
        554,
    )
    handled = harness.handle(rejected_report(recipients=(blocked,)))
    assert handled.reputation_blocks == 1 and suppressions.entries == {} and suppressions.soft == {}


def test_a_complaint_is_published_and_suppresses_but_mails_nobody():
    from tests.fakes.stores import InMemorySuppressionList

    suppressions = InMemorySuppressionList()
    harness = Harness()
    harness.service = BounceService(harness.relay, harness.bus, SETTINGS, suppressions=suppressions, clock=lambda: NOW)
    complaint = FailedRecipient("an@example.net", "5.7.1", "abuse", classification="feedback")
    handled = harness.handle(
        rejected_report(reason="complaint", recipients=(complaint,), source={"matched_by": "verp"})
    )
    assert handled.dsn is None and harness.relay.sent == []
    [entry] = harness.bus.entries
    assert entry["DetailType"] == "Email Complained"
    assert suppressions.entries["an@example.net"].reason == "complaint"
