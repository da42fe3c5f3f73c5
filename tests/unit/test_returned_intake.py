"""Returned mail mapped back to what we sent, and into the reporting path."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from maildispatch.core.return_paths import SentMessage, message_id_key, verp_key
from maildispatch.core.returned_mail import classify_returned_message
from maildispatch.core.verp import return_path, verp_id
from maildispatch.services.returned_mail import ReturnedMailService
from tests.fakes.services import CollectingDeadLetters
from tests.fakes.stores import InMemoryReturnPathIndex

EVENTS = Path(__file__).resolve().parents[2] / "events" / "returned"
SECRET = b"v" * 32
NOW = datetime(2026, 11, 29, 8, 5, tzinfo=UTC)
MESSAGE_ID = "<a1b2c3@example.com>"


class Bus:
    def __init__(self):
        self.entries = []

    async def publish(self, entries):
        self.entries += entries


def sample(name, return_address):
    raw = (EVENTS / name).read_bytes()
    return raw.replace(b"RETURN_PATH", return_address.encode()).replace(b"ORIGINAL_MESSAGE_ID", MESSAGE_ID.encode())


class Harness:
    def __init__(self):
        self.index = InMemoryReturnPathIndex()
        self.dead_letters = CollectingDeadLetters()
        self.bus = Bus()
        self.service = ReturnedMailService(self.index, self.dead_letters, self.bus, SECRET, clock=lambda: NOW)
        sent = SentMessage(
            "order-1001", "binh@example.net", "shop@example.com", "shop@example.com", "Your order", MESSAGE_ID
        )
        asyncio.run(
            self.index.remember(
                [
                    (verp_key(verp_id("order-1001", "binh@example.net")), sent),
                    (message_id_key(MESSAGE_ID), SentMessage("order-1001", None, "shop@example.com")),
                ]
            )
        )

    def handle(self, raw):
        from maildispatch.core.returned_queue import envelope_addresses

        return asyncio.run(
            self.service.handle(
                classify_returned_message(raw), addressed_to=envelope_addresses(raw), source={"key": "returned/x"}
            )
        )


def test_a_bounce_returned_to_a_verp_address_is_reported_for_that_message_and_recipient():
    h = Harness()
    report = h.handle(
        sample(
            "postfix-dsn.eml",
            return_path("order-1001", "binh@example.net", secret=SECRET, domain="bounces.example.com"),
        )
    )
    assert (
        report.reason == "returned"
        and report.message_key == "order-1001"
        and report.envelope_sender == "shop@example.com"
    )
    [r] = report.recipients
    assert (r.address, r.status, r.classification, r.hard, r.reply_code) == (
        "binh@example.net",
        "5.1.1",
        "userunknown",
        True,
        550,
    )
    assert report.source["matched_by"] == "verp" and h.dead_letters.reports == [report]


def test_a_forged_token_proves_nothing_and_the_message_id_is_tried_next():
    h = Harness()
    forged = return_path("order-1001", "binh@example.net", secret=b"not ours", domain="bounces.example.com")
    report = h.handle(sample("postfix-dsn.eml", forged))
    assert report.source["matched_by"] == "message_id" and h.service.tally["forged_return_paths"] == 1


def test_a_bounce_matching_nothing_is_reported_by_the_recipient_it_names_without_a_sender_to_tell():
    h = Harness()
    raw = sample("postfix-dsn.eml", "bounces@elsewhere.example").replace(MESSAGE_ID.encode(), b"<unknown@example.com>")
    report = h.handle(raw)
    assert report.source["matched_by"] == "recipient" and report.message_key is None and report.envelope_sender is None
    assert report.recipients[0].address == "binh@example.net"


def test_a_vacation_reply_is_counted_and_not_reported():
    h = Harness()
    assert h.handle(sample("vacation-reply.eml", "bounces@x.example")) is None
    assert h.dead_letters.reports == [] and h.service.tally["returned_auto_reply"] == 1


def test_a_complaint_is_reported_as_one():
    h = Harness()
    report = h.handle(
        sample("arf-complaint.eml", return_path("order-1001", "binh@example.net", secret=SECRET, domain="b.example"))
    )
    assert report.reason == "complaint" and report.source["feedback_type"] == "abuse"


def test_what_cannot_be_classified_is_published_counted_and_not_dropped():
    h = Harness()
    assert h.handle(b"\x00\xff garbage that is no mail at all") is None
    [entry] = h.bus.entries
    assert entry["DetailType"] == "Email Returned Unclassified" and h.service.tally["unclassified"] == 1
