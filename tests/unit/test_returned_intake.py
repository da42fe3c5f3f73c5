"""Returned mail mapped back to what we sent, and into the reporting path."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

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
                    (
                        message_id_key(MESSAGE_ID),
                        SentMessage(
                            "order-1001", None, "shop@example.com", sent_to=("ana@example.org", "binh@example.net")
                        ),
                    ),
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


# --- Issue 9 point 1: a match by Message-ID proves only what that message was sent to ---------------


def forged_report(addresses, message_id=MESSAGE_ID):
    from maildispatch.core.returned_mail.model import RecipientVerdict, ReturnedKind, ReturnedMessage

    verdicts = tuple(
        RecipientVerdict(a, "5.1.1", 550, "550 5.1.1 User unknown", "userunknown", True, confidence="strong")
        for a in addresses
    )
    return ReturnedMessage(ReturnedKind.BOUNCE, verdicts, original_message_id=message_id)


def suppressed_by(reports):
    from maildispatch.core.suppression import suppression_decision

    return sorted(e.address for r in reports for e in suppression_decision(r, now=0).suppress)


def test_a_forged_bounce_quoting_a_real_message_id_suppresses_only_recipients_of_that_message():
    h = Harness()
    strangers = [f"victim{i}@example.net" for i in range(1000)]
    asyncio.run(
        h.service.handle(
            forged_report(["binh@example.net", *strangers]), addressed_to=["bounces@x.example"], source={"key": "k"}
        )
    )
    proven, unproven = h.dead_letters.reports
    assert proven.source["matched_by"] == "message_id" and [r.address for r in proven.recipients] == [
        "binh@example.net"
    ]
    assert unproven.source["matched_by"] == "unproven" and len(unproven.recipients) == 1000
    assert unproven.envelope_sender is None and unproven.message_key is None  # no DSN, no ledger change
    assert suppressed_by(h.dead_letters.reports) == ["binh@example.net"]
    assert h.service.tally["unproven_recipients"] == 1000


def test_a_message_id_entry_without_the_recipients_it_went_to_proves_nothing():
    h = Harness()
    asyncio.run(
        h.index.remember([(message_id_key("<old@example.com>"), SentMessage("order-9", None, "s@example.com"))])
    )
    report = asyncio.run(
        h.service.handle(forged_report(["binh@example.net"], "<old@example.com>"), addressed_to=[], source={"key": "k"})
    )
    assert report.source["matched_by"] == "unproven" and suppressed_by(h.dead_letters.reports) == []


def test_ses_json_in_a_mail_body_is_reported_but_never_suppresses():
    import json

    class Store:
        async def read(self, bucket, key):
            return raw

    from tests.fakes.services import sqs_record

    envelope = json.loads((EVENTS / "ses-bounce-via-sns.json").read_text())
    notification = json.loads(envelope["Message"]) if "Message" in envelope else envelope
    notification.setdefault("mail", {})
    notification["mail"].setdefault("commonHeaders", {})["messageId"] = MESSAGE_ID
    notification["mail"]["headers"] = [{"name": "Message-ID", "value": MESSAGE_ID}]
    notification["bounce"]["bouncedRecipients"] = [
        {
            "emailAddress": "binh@example.net",
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 unknown",
        }
    ]
    raw = (
        "From: attacker@evil.example\r\nTo: bounces@b.example\r\nSubject: fwd\r\n"
        "Content-Type: text/plain\r\n\r\n" + json.dumps(notification) + "\r\n"
    ).encode()
    h = Harness()
    h.service.mail_store = Store()
    body = {"Records": [{"s3": {"bucket": {"name": "returned"}, "object": {"key": "returned/x"}}}]}
    asyncio.run(h.service.process(sqs_record(body)))
    [report] = h.dead_letters.reports
    assert report.source["matched_by"] == "unproven" and report.recipients[0].address == "binh@example.net"
    assert suppressed_by(h.dead_letters.reports) == [] and h.service.tally["unsigned_notifications"] == 1


def ses_bounce_via_sns(return_address):
    import json

    return json.loads(
        (EVENTS / "ses-bounce-via-sns.json")
        .read_text()
        .replace("ORIGINAL_MESSAGE_ID", MESSAGE_ID)
        .replace("RETURN_PATH", return_address)
    )


def test_an_ses_notification_from_the_queue_is_trusted_when_its_sns_signature_verifies():
    import json

    from tests.fakes.services import StubNotificationVerifier, sqs_record

    h = Harness()
    h.service.notification_verifier = verifier = StubNotificationVerifier(valid=True)
    envelope = ses_bounce_via_sns(return_path("order-1001", "binh@example.net", secret=SECRET, domain="b.example"))
    asyncio.run(h.service.process(sqs_record(json.dumps(envelope))))
    assert verifier.seen == [envelope]  # the whole envelope, as SNS signed it
    [report] = h.dead_letters.reports
    assert report.source["matched_by"] == "verp" and report.source["sns_signature"] == "valid"
    assert suppressed_by(h.dead_letters.reports) == ["binh@example.net"]
    assert h.service.tally["forged_notifications"] == 0


@pytest.mark.parametrize(
    "setup",
    ["signature does not verify", "delivered raw, without the SNS envelope", "no verifier configured"],
)
def test_an_ses_notification_without_a_valid_sns_signature_is_reported_but_never_suppresses(setup):
    import json

    from tests.fakes.services import StubNotificationVerifier, sqs_record

    h = Harness()
    h.service.notification_verifier = None if setup == "no verifier configured" else StubNotificationVerifier(False)
    envelope = ses_bounce_via_sns(return_path("order-1001", "binh@example.net", secret=SECRET, domain="b.example"))
    body = envelope["Message"] if setup.startswith("delivered raw") else json.dumps(envelope)
    asyncio.run(h.service.process(sqs_record(body)))
    [report] = h.dead_letters.reports
    assert report.source["matched_by"] == "unproven" and report.envelope_sender is None and report.message_key is None
    assert report.source["sns_signature"] != "valid"
    assert suppressed_by(h.dead_letters.reports) == [] and h.service.tally["forged_notifications"] == 1
