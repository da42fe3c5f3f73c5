"""What each service does with one SQS record: the decisions that moved out of the function runtimes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from maildispatch.core.sqs_record import RecordResult, SqsRecord
from maildispatch.services.reporting import REPORT_RETRY, BounceService, BounceSettings
from maildispatch.services.returned_mail import ReturnedMailService
from tests.fakes.stores import InMemoryReturnPathIndex
from tests.unit.test_bounce_service import FakeEventBus, FakeRelay, Journal, send_request

SETTINGS = BounceSettings(reporting_mta="bounce.test", postmaster="postmaster@bounce.test")


def dead_letter(body: str, *, receive_count: int = 1) -> SqsRecord:
    return SqsRecord(
        message_id="dlq-1",
        receipt_handle="rh-1",
        body=body,
        receive_count=receive_count,
        sent_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        event_source_arn="arn:aws:sqs:us-east-1:123456789012:dlq",
    )


def bounce_service(relay_answer: str = "250 2.0.0 Ok") -> tuple[BounceService, FakeRelay]:
    journal = Journal()
    relay = FakeRelay(journal, answer=relay_answer)
    return BounceService(relay, FakeEventBus(journal), SETTINGS), relay


def test_a_reported_dead_letter_is_finished_and_counted():
    service, relay = bounce_service()
    result = asyncio.run(service.process(dead_letter(json.dumps(send_request()))))
    assert result == RecordResult.finished("dlq-1")
    assert service.tally["events_published"] == 1 and service.tally["dsn_sent"] == 1
    assert len(relay.sent) == 1


def test_a_report_the_relay_cannot_take_yet_waits_on_the_retry_schedule_for_reports():
    service, _ = bounce_service("451 4.3.0 try later")
    for receive_count in (1, 3, 9):
        result = asyncio.run(service.process(dead_letter(json.dumps(send_request()), receive_count=receive_count)))
        expected = REPORT_RETRY.after_failure(receive_count, age_seconds=0, jitter_key="dlq-1")
        assert result == RecordResult.retry("dlq-1", int(expected.seconds))  # type: ignore[union-attr]
    assert "dsn_sent" not in service.tally


# -- a DSN nobody takes: counted and dropped, never reported (no DSN about a DSN) -----------------

MX_SETTINGS = BounceSettings(reporting_mta="bounce.test", postmaster="postmaster@bounce.test", dsn_max_age=2 * 86400)
DLQ_AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def mx_bounce_service(answer: str, *, age: timedelta) -> tuple[BounceService, FakeRelay]:
    """The bounce function's service in mx mode, `age` after the record reached the dead-letter queue."""
    journal = Journal()
    sender_mx = FakeRelay(journal, answer=answer)
    return BounceService(sender_mx, FakeEventBus(journal), MX_SETTINGS, clock=lambda: DLQ_AT + age), sender_mx


@pytest.mark.parametrize(
    "answer",
    [
        "550 5.1.10 example.com publishes a null MX (RFC 7505): it accepts no mail",
        "550 5.1.2 example.com does not exist (NXDOMAIN)",
        "550 5.1.1 <shop@example.com>: Recipient address rejected: User unknown",
    ],
)
def test_a_dsn_refused_for_good_is_counted_and_finished_with_nothing_sent_about_it(answer):
    service, sender_mx = mx_bounce_service(answer, age=timedelta(seconds=5))
    result = asyncio.run(service.process(dead_letter(json.dumps(send_request()))))
    assert result == RecordResult.finished("dlq-1")
    assert service.tally["dsn_undeliverable"] == 1 and service.tally["events_published"] == 1
    assert "dsn_sent" not in service.tally
    [(envelope, _)] = sender_mx.sent  # the one DSN, from <>; nothing about its failure
    assert envelope.sender == ""


def test_in_mx_mode_a_deferred_dsn_is_retried_until_dsn_max_age_then_counted_and_dropped():
    young, _ = mx_bounce_service("451 4.4.1 no mail host of example.com could be reached", age=timedelta(hours=47))
    result = asyncio.run(young.process(dead_letter(json.dumps(send_request()), receive_count=40)))
    expected = REPORT_RETRY.after_failure(40, age_seconds=0, jitter_key="dlq-1")
    assert result == RecordResult.retry("dlq-1", int(expected.seconds))  # type: ignore[union-attr]
    assert "dsn_undeliverable" not in young.tally

    old, sender_mx = mx_bounce_service("451 4.4.1 no mail host of example.com could be reached", age=timedelta(days=2))
    result = asyncio.run(old.process(dead_letter(json.dumps(send_request()), receive_count=41)))
    assert result == RecordResult.finished("dlq-1")
    assert old.tally["dsn_undeliverable"] == 1 and old.tally["events_published"] == 1
    assert len(sender_mx.sent) == 1


def test_in_relay_mode_a_deferred_dsn_is_never_given_up():
    service, _ = bounce_service("451 4.3.0 relay busy")
    service._clock = lambda: DLQ_AT + timedelta(days=13)  # the queue keeps records 14 days
    assert not asyncio.run(service.process(dead_letter(json.dumps(send_request()), receive_count=300))).done


def test_a_body_that_is_nothing_we_know_still_ends_in_a_report_and_is_finished():
    service, _ = bounce_service()
    result = asyncio.run(service.process(dead_letter("{not json")))
    assert result.done
    assert service.tally["events_published"] == 1


class Nothing:
    async def send(self, report) -> None:  # pragma: no cover - never reached in these tests
        raise AssertionError("no report expected")

    async def publish(self, entries) -> None:  # pragma: no cover
        raise AssertionError("no event expected")


def test_a_returned_mail_record_that_is_not_returned_mail_is_finished_and_counted_not_retried():
    service = ReturnedMailService(InMemoryReturnPathIndex(), Nothing(), Nothing(), None)
    result = asyncio.run(service.process(dead_letter('{"hello": "world"}')))
    assert result == RecordResult.finished("dlq-1")
    assert service.tally["unknown_records"] == 1


def test_an_s3_test_event_is_finished_without_reading_anything():
    service = ReturnedMailService(InMemoryReturnPathIndex(), Nothing(), Nothing(), None)
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "returned-mail"})
    assert asyncio.run(service.process(dead_letter(body))).done
    assert sum(service.tally.values()) == 0
