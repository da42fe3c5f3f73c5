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


class StoredMailBox:
    def __init__(self, raw):
        self.raw = raw

    async def read(self, bucket, key):
        return self.raw


def process_stored(raw):
    """`raw` as the SES receipt rule stores it in S3, through the returned-mail queue."""
    from tests.fakes.services import sqs_record

    h = Harness()
    h.service.mail_store = StoredMailBox(raw)
    notification = {"Records": [{"s3": {"bucket": {"name": "returned-mail"}, "object": {"key": "returned/abc"}}}]}
    result = asyncio.run(h.service.process(sqs_record(notification)))
    assert result.done
    return h


def scanned(spam, virus):
    bounce = sample(
        "postfix-dsn.eml", return_path("order-1001", "binh@example.net", secret=SECRET, domain="bounces.example.com")
    )
    return f"X-SES-Spam-Verdict: {spam}\r\nX-SES-Virus-Verdict: {virus}\r\n".encode() + bounce


def test_stored_mail_that_ses_scanned_as_spam_or_a_virus_is_counted_and_never_classified():
    for spam, virus in (("FAIL", "PASS"), ("PASS", "FAIL"), ("FAIL", "FAIL")):
        h = process_stored(scanned(spam, virus))
        assert h.dead_letters.reports == [] and h.bus.entries == [], (spam, virus)
        assert h.service.tally["scan_failed"] == 1 and h.service.tally["reports"] == 0, (spam, virus)
        assert not [name for name in h.service.tally if name.startswith("returned_")], (spam, virus)


def test_a_pass_a_gray_verdict_or_no_scan_lets_stored_mail_be_classified():
    bounce = sample(
        "postfix-dsn.eml", return_path("order-1001", "binh@example.net", secret=SECRET, domain="bounces.example.com")
    )
    for raw in (scanned("PASS", "PASS"), scanned("GRAY", "PROCESSING_FAILED"), bounce):
        h = process_stored(raw)
        [report] = h.dead_letters.reports
        assert report.message_key == "order-1001" and h.service.tally["scan_failed"] == 0


def test_a_pass_the_sender_wrote_does_not_hide_the_fail_ses_added_above_it():
    forged = scanned("FAIL", "PASS").replace(
        b"\r\nX-SES-Virus-Verdict", b"\r\nX-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict", 1
    )
    h = process_stored(forged)
    assert h.dead_letters.reports == [] and h.service.tally["scan_failed"] == 1
