"""The dispatch service signs what it sends (DKIM): the bytes handed to the transport are the bytes signed."""

from __future__ import annotations

import asyncio
import logging

from maildispatch.services.dispatch import DispatchService
from tests.fakes import dkim as keys
from tests.fakes.services import FakeOutbox, sqs_record
from tests.unit.test_dispatch_service import Harness, request
from tests.unit.test_producers import BUCKET, s3_event


class SigningHarness(Harness):
    def __init__(self, *args, signer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.signer = signer

    outbox = None

    def service(self) -> DispatchService:
        return DispatchService(
            self.transport,
            self.ledger,
            self.content,
            self.dead_letters,
            self.policy,
            suppressions=self.suppressions,
            requeue=self.requeue,
            signer=self.signer,
            outbox=self.outbox,
            invocation_id="inv-1",
            clock=self.clock,
        )


def test_the_bytes_sent_carry_signatures_that_verify():
    h = SigningHarness(signer=keys.signer(with_ed25519=True))
    result, tally = h.process(
        request(
            headers={
                "List-Unsubscribe": "<https://example.com/u/1>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        )
    )
    assert result.done and tally["delivered"] == 1 and tally["dkim_signed"] == 1
    [(_, sent)] = h.transport.deliveries
    assert sent.startswith(b"DKIM-Signature: v=1; a=rsa-sha256;")
    assert keys.verify_all(sent) == [True, True]


def test_a_subdomain_sender_is_signed_with_its_parent_domains_key():
    h = SigningHarness(signer=keys.signer())
    h.process(request(**{"from": "News <news@mail.example.com>"}))
    [(_, sent)] = h.transport.deliveries
    assert b"d=example.com;" in sent and keys.verify_all(sent) == [True]


def test_every_transaction_carries_the_signed_message():
    h = SigningHarness(signer=keys.signer())
    h.process(request(to=["a@example.net", "b@example.org"]))
    sent = [data for _, data in h.transport.deliveries]
    assert all(keys.verify_all(data) == [True] for data in sent)


def test_the_reports_original_headers_show_the_signature():
    h = SigningHarness({"ghost@example.net": ["550 5.1.1 unknown"]}, signer=keys.signer())
    h.process(request(to=["ghost@example.net"]))
    [report] = h.dead_letters.reports
    assert report.original_headers.startswith("DKIM-Signature: v=1;")


def test_a_from_domain_without_a_key_is_sent_unsigned_counted_and_warned_once(caplog):
    h = SigningHarness(signer=keys.signer())
    with caplog.at_level(logging.WARNING, logger="maildispatch.dispatch"):
        service = h.service()
        for key in ("k1", "k2"):
            asyncio.run(service.process(sqs_record(request(message_key=key, **{"from": "x@other.example"}))))
    assert service.tally.counts["unsigned_messages"] == 2
    assert service.tally.counts["delivered"] == 2
    assert all(not data.startswith(b"DKIM-Signature") for _, data in h.transport.deliveries)
    warnings = [r for r in caplog.records if "without a DKIM signature" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].domain == "other.example"


def test_strict_refuses_a_from_domain_without_a_key_with_a_report_that_says_why():
    h = SigningHarness(signer=keys.signer(), dkim_strict=True)
    result, tally = h.process(request(**{"from": "x@other.example"}))
    assert result.done
    assert h.transport.deliveries == []
    assert tally["unsigned_refused"] == 1 and tally.get("delivered", 0) == 0
    [report] = h.dead_letters.reports
    assert report.reason == "render_failed"
    assert [r.status for r in report.recipients] == ["5.7.0"]
    assert "no DKIM key for the From domain other.example" in report.error and "DKIM_STRICT" in report.error
    # the key is not used up: once a key is configured, the same request sends
    h.signer = keys.signer(domain="other.example")
    h.process(request(**{"from": "x@other.example"}))
    assert len(h.transport.deliveries) == 1


def test_strict_still_sends_what_it_can_sign():
    h = SigningHarness(signer=keys.signer(), dkim_strict=True)
    result, _ = h.process(request())
    assert result.done and len(h.transport.deliveries) == 1


def test_without_a_signer_nothing_is_signed_or_counted():
    h = SigningHarness()
    _, tally = h.process(request())
    [(_, sent)] = h.transport.deliveries
    assert not sent.startswith(b"DKIM-Signature") and "unsigned_messages" not in tally


def test_a_ready_message_from_the_outbox_is_signed_by_its_from_field_not_its_envelope():
    raw = (
        b"From: Shop <shop@example.com>\r\nTo: binh@example.net\r\nSubject: ready\r\n"
        b"Date: Sat, 05 Dec 2026 09:00:00 +0000\r\n\r\nmade elsewhere\r\n"
    )
    h = SigningHarness(signer=keys.signer())
    h.outbox = FakeOutbox()
    h.outbox.objects[(BUCKET, "outbox/m.eml")] = (
        raw,
        {"mail-from": "bounces@bounce.other.example", "rcpt-to": "binh@example.net"},
    )
    result, tally = h.process(s3_event("outbox/m.eml"))
    assert result.done and tally["dkim_signed"] == 1
    [(envelope, sent)] = h.transport.deliveries
    assert envelope.sender == "bounces@bounce.other.example"
    assert sent.endswith(raw) and b"\r\nMessage-ID: <" in sent  # as it was put, with the Message-ID it lacked
    assert keys.verify_all(sent) == [True]


def test_a_ready_message_without_a_from_field_goes_unsigned_or_is_refused_when_strict():
    raw = b"To: binh@example.net\r\nSubject: no From\r\n\r\nbody\r\n"
    metadata = {"mail-from": "shop@example.com", "rcpt-to": "binh@example.net"}
    for strict in (False, True):
        h = SigningHarness(signer=keys.signer(), dkim_strict=strict)
        h.outbox = FakeOutbox()
        h.outbox.objects[(BUCKET, "outbox/m.eml")] = (raw, metadata)
        _, tally = h.process(s3_event("outbox/m.eml"))
        if strict:
            assert h.transport.deliveries == [] and tally["unsigned_refused"] == 1
            assert "no DKIM key for the From domain (none)" in h.dead_letters.reports[0].error
        else:
            assert len(h.transport.deliveries) == 1 and tally["unsigned_messages"] == 1
