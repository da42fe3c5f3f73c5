"""Issue 9 points 2 and 4 at the unit level: sender refusals never suppress; unsigned DLQ reports are never acted on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from maildispatch.core.decisions import failed_recipient
from maildispatch.core.outcome import parse_reply
from maildispatch.core.report import BounceReport, FailedRecipient
from maildispatch.core.signing import REPORT_SIGNATURE_ATTRIBUTE, sign_report
from maildispatch.core.suppression import suppression_decision
from maildispatch.services.reporting import BounceService, BounceSettings
from tests.fakes.services import ScriptedTransport, sqs_record
from tests.fakes.stores import InMemorySuppressionList

KEY = b"internal key"
NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
POSTFIX = "<shop@example.com>: Sender address rejected: User unknown in local recipient table"


def rejected(*recipients: FailedRecipient, reason: str = "rejected") -> BounceReport:
    return BounceReport(reason, recipients, NOW, message_key="m-1", envelope_sender="shop@example.com")


def test_a_refused_mail_from_worded_like_user_unknown_suppresses_no_recipient():
    reply = parse_reply(550, f"5.1.0 {POSTFIX}", command="MAIL FROM")
    report = rejected(*(failed_recipient(a, reply) for a in ("a@x.example", "b@x.example", "c@x.example")))
    decision = suppression_decision(report, now=0)
    assert decision.suppress == () and decision.soft_bounces == () and decision.sender_refusals == 3


@pytest.mark.parametrize(
    ("status", "diagnostic"),
    [
        ("5.1.0", f"550 5.1.0 {POSTFIX}"),  # returned mail quoting Postfix's sender refusal
        ("5.1.7", "550 5.1.7 bad sender's mailbox address syntax"),
        ("5.1.8", "553 5.1.8 Domain of sender address does not exist"),
        ("5.7.1", "550 5.7.1 Sender verify failed"),
    ],
)
def test_returned_mail_about_the_sender_never_suppresses_the_recipient(status, diagnostic):
    r = FailedRecipient("a@x.example", status, diagnostic, 550, classification="userunknown", hard=True)
    report = BounceReport("returned", (r,), NOW, message_key="m-1", source={"matched_by": "verp"})
    assert suppression_decision(report, now=0).suppress == ()


def test_a_recipient_refused_at_rcpt_is_still_suppressed():
    reply = parse_reply(550, "5.1.1 <a@x.example>: Recipient address rejected: User unknown", command="RCPT TO")
    assert [s.address for s in suppression_decision(rejected(failed_recipient("a@x.example", reply)), now=0).suppress]


class Bus:
    def __init__(self):
        self.entries = []

    async def publish(self, entries):
        self.entries += entries


def bounce_service(key=KEY):
    transport, bus, suppressions = ScriptedTransport(), Bus(), InMemorySuppressionList({})
    service = BounceService(
        transport, bus, BounceSettings("mta.test", "postmaster@mta.test", signing_key=key), suppressions=suppressions
    )
    return service, transport, bus, suppressions


def hard(address):
    return FailedRecipient(address, "5.1.1", "550 5.1.1 User unknown", 550, classification="userunknown", hard=True)


@pytest.mark.parametrize("signature", [None, "0" * 64, "signed with another key"])
def test_an_unsigned_report_on_the_dlq_suppresses_nothing_and_mails_no_one(signature):
    body = BounceReport(
        "rejected", tuple(hard(f"v{i}@x.example") for i in range(500)), NOW, envelope_sender="third@party.example"
    ).to_json()
    if signature == "signed with another key":
        signature = sign_report(b"other", body)
    attributes = {REPORT_SIGNATURE_ATTRIBUTE: signature} if signature else {}
    service, transport, bus, suppressions = bounce_service()
    result = asyncio.run(service.process(sqs_record(body, attributes=attributes)))
    assert result.done and service.tally["untrusted_reports"] == 1
    assert transport.deliveries == [] and asyncio.run(suppressions.find([f"v{i}@x.example" for i in range(500)])) == {}
    assert len(bus.entries) == 1  # published, for whoever investigates


def test_a_report_we_signed_is_acted_on():
    body = BounceReport("rejected", (hard("v@x.example"),), NOW, envelope_sender="shop@example.com").to_json()
    service, transport, _, suppressions = bounce_service()
    asyncio.run(service.process(sqs_record(body, attributes={REPORT_SIGNATURE_ATTRIBUTE: sign_report(KEY, body)})))
    assert service.tally["untrusted_reports"] == 0 and len(transport.deliveries) == 1
    assert "v@x.example" in asyncio.run(suppressions.find(["v@x.example"]))


def test_without_a_key_no_report_is_trusted():
    body = BounceReport("rejected", (hard("v@x.example"),), NOW, envelope_sender="shop@example.com").to_json()
    service, transport, _, _ = bounce_service(key=None)
    asyncio.run(service.process(sqs_record(body, attributes={REPORT_SIGNATURE_ATTRIBUTE: sign_report(KEY, body)})))
    assert service.tally["untrusted_reports"] == 1 and transport.deliveries == []


def test_the_signing_key_never_shows_in_reprs():
    from maildispatch.adapters.aws import SqsDeadLetters

    assert "internal key" not in repr(BounceSettings("m", "p", signing_key=KEY))
    assert "internal key" not in repr(SqsDeadLetters("url", signing_key=KEY))
