"""Email Delivered events: off by default; when on, one per delivered recipient, after the ledger has it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from importlib import resources

from jsonschema import Draft202012Validator

from maildispatch.core.delivered_event import (
    EVENT_DETAIL_TYPE_DELIVERED,
    delivered_event_detail,
    delivered_event_entry,
    in_batches,
)
from maildispatch.core.ledger import RecipientState
from maildispatch.core.outcome import parse_reply
from maildispatch.runtime.dispatch_function import dispatch_policy
from maildispatch.runtime.settings import DispatchSettings
from maildispatch.services.dispatch import DispatchService
from tests.fakes.services import CollectingPublisher, sqs_record
from tests.unit.test_dispatch_service import Harness, request

SCHEMA = json.loads(resources.files("maildispatch").joinpath("schema/email-delivered.v1.json").read_text("utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA)
ENV = {
    "SEND_QUEUE_URL": "https://sqs.test/send",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.test/dead",
    "LEDGER_TABLE": "ledger",
    "SMTP_HOST": "relay.test",
}


def run(h: Harness, publisher: CollectingPublisher, body) -> dict[str, int]:
    service = DispatchService(
        h.transport, h.ledger, h.content, h.dead_letters, h.policy, publisher=publisher, clock=h.clock
    )
    asyncio.run(service.process(sqs_record(body)))
    return dict(service.tally.counts)


def details(publisher: CollectingPublisher) -> list[dict]:
    return [json.loads(entry["Detail"]) for call in publisher.calls for entry in call]


def test_the_detail_follows_the_published_schema():
    detail = delivered_event_detail(
        message_key="order-1001",
        message_id="<abc@dispatch.test>",
        recipient="binh@example.net",
        reply=parse_reply(250, "2.0.0 Ok: queued as 4ABC", remote_mta="relay.test"),
        delivered_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        tags={"campaign": "spring"},
    )
    assert list(VALIDATOR.iter_errors(detail)) == []
    assert detail["reply"] == "250 2.0.0 Ok: queued as 4ABC"
    assert detail["remote_mta"] == "relay.test"
    assert detail["delivered_at"] == "2025-03-01T12:00:00+00:00"
    entry = delivered_event_entry(detail, event_bus_name="mail-events")
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        "maildispatch",
        EVENT_DETAIL_TYPE_DELIVERED,
        "mail-events",
    )


def test_entries_go_ten_per_put_events_call():
    assert [len(b) for b in in_batches(list(range(23)))] == [10, 10, 3]


def test_no_events_unless_the_deployment_asks_for_them():
    h = Harness()
    publisher = CollectingPublisher()
    run(h, publisher, request())
    assert publisher.calls == []
    assert DispatchSettings.from_environ(ENV).delivered_events is False


def test_the_setting_comes_from_DELIVERED_EVENTS_and_reaches_the_policy():
    settings = DispatchSettings.from_environ({**ENV, "DELIVERED_EVENTS": "true", "EVENT_BUS_NAME": "mail-events"})
    policy = dispatch_policy(settings)
    assert (policy.delivered_events, policy.event_bus_name) == (True, "mail-events")


def test_one_event_per_delivered_recipient_after_the_ledger_records_it():
    h = Harness({"ghost@example.net": ["550 5.1.1 unknown"]}, delivered_events=True, event_bus_name="mail-events")
    seen_states = []
    publisher = CollectingPublisher(
        on_publish=lambda entries: seen_states.extend(
            h.ledger.state_of("order-1001", json.loads(e["Detail"])["recipient"]) for e in entries
        )
    )
    tally = run(h, publisher, request(to=["binh@example.net", "ghost@example.net"], tags={"campaign": "spring"}))
    [detail] = details(publisher)
    assert detail["recipient"] == "binh@example.net"
    assert detail["message_key"] == "order-1001"
    assert detail["reply"].startswith("250 2.0.0")
    assert detail["tags"] == {"campaign": "spring"}
    assert detail["message_id"] and detail["message_id"].startswith("<")
    assert list(VALIDATOR.iter_errors(detail)) == []
    assert seen_states == [RecipientState.DELIVERED]  # the ledger already had it when the event went out
    assert tally["delivered_events"] == 1


def test_many_recipients_are_published_in_calls_of_ten():
    h = Harness(delivered_events=True)
    publisher = CollectingPublisher()
    to = [f"r{i}@example.net" for i in range(12)]
    run(h, publisher, request(to=to[:1], cc=to[1:]))
    assert [len(call) for call in publisher.calls] == [10, 2]
    assert sorted(d["recipient"] for d in details(publisher)) == sorted(to)


def test_a_publish_failure_is_counted_and_never_sends_the_mail_again():
    h = Harness(delivered_events=True)
    tally = run(h, CollectingPublisher(fail=True), request())
    assert tally["delivered_events_failed"] == 1
    assert h.ledger.state_of("order-1001", "binh@example.net") is RecipientState.DELIVERED
    run(h, CollectingPublisher(), request())  # the record comes again: nothing is sent, nothing published
    assert h.transport.copies_received("binh@example.net") == 1
