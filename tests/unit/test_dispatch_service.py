"""The dispatch service's decisions, per recipient, with in-memory collaborators."""
from __future__ import annotations

import asyncio
import email
from email import policy

import pytest

from maildispatch.dispatch import DispatchPolicy, DispatchService
from maildispatch.ledger import InMemoryLedger, LedgerEntry, RecipientState
from maildispatch.outcome import parse_reply
from maildispatch.render import TemplateSource
from maildispatch.retry import RetrySchedule
from tests.unit.fakes import CollectingDeadLetters, FakeContentStore, ManualClock, ScriptedTransport, sqs_record

SCHEDULE = RetrySchedule(base_seconds=60, max_delay_seconds=3600, max_attempts=4, jitter=0)


def request(**overrides):
    doc = {
        "message_key": "order-1001",
        "from": "Shop <shop@example.com>",
        "to": ["binh@example.net"],
        "subject": "Your order shipped",
        "text": "It is on its way.",
    }
    doc.update(overrides)
    return doc


class Harness:
    def __init__(self, script=None, *, clock=None, templates=None, max_message_bytes=10_000_000):
        self.clock = clock or ManualClock()
        self.transport = ScriptedTransport(script or {})
        self.ledger = InMemoryLedger(clock=self.clock)
        self.dead_letters = CollectingDeadLetters()
        self.content = FakeContentStore(templates=templates or {})
        self.policy = DispatchPolicy(retry=SCHEDULE, reporting_mta="dispatch.test", max_message_bytes=max_message_bytes)

    def service(self, invocation: str = "inv-1") -> DispatchService:
        return DispatchService(self.transport, self.ledger, self.content, self.dead_letters, self.policy, invocation_id=invocation, clock=self.clock)

    def process(self, body, **record_args):
        service = self.service()
        result = asyncio.run(service.process(sqs_record(body, **record_args)))
        return result, service.tally.counts


def test_a_message_is_delivered_and_the_record_is_done():
    h = Harness()
    result, tally = h.process(request())
    assert result.done
    assert h.transport.copies_received("binh@example.net") == 1
    assert tally["delivered"] == 1
    assert h.ledger.state_of("order-1001", "binh@example.net") is RecipientState.DELIVERED
    assert h.dead_letters.reports == []


def test_one_rejected_recipient_does_not_stop_delivery_to_the_others():
    h = Harness({"ghost@example.net": ["550 5.1.1 <ghost@example.net>: User unknown"]})
    result, _ = h.process(request(to=["binh@example.net", "ghost@example.net"]))
    assert result.done  # a permanent failure is not retried
    assert h.transport.copies_received("binh@example.net") == 1
    [report] = h.dead_letters.reports
    assert report.reason == "rejected"
    [failed] = report.recipients
    assert (failed.address, failed.status, failed.reply_code) == ("ghost@example.net", "5.1.1", 550)
    assert failed.diagnostic == "550 5.1.1 <ghost@example.net>: User unknown"
    assert report.envelope_sender == "shop@example.com" and report.message_key == "order-1001"
    assert report.original_headers and "Subject: Your order shipped" in report.original_headers


def test_a_transient_failure_is_retried_with_backoff_from_the_receive_count():
    h = Harness({"busy@example.org": ["451 4.7.1 Greylisted"]})
    first, _ = h.process(request(to=["busy@example.org"]), receive_count=1)
    third, _ = h.process(request(to=["busy@example.org"]), receive_count=3)
    assert not first.done and first.visible_after == 60
    assert not third.done and third.visible_after == 240
    assert h.ledger.state_of("order-1001", "busy@example.org") is RecipientState.DEFERRED
    assert h.dead_letters.reports == []


def test_a_delay_the_server_states_is_honoured_when_longer():
    h = Harness({"busy@example.org": ["450 4.2.0 Greylisted, try again in 300 seconds"]})
    result, _ = h.process(request(to=["busy@example.org"]))
    assert result.visible_after == 300


def test_a_retry_never_sends_again_to_recipients_that_accepted():
    h = Harness({"busy@example.org": ["451 4.7.1 Greylisted", "250 2.1.5 OK"]})
    body = request(to=["binh@example.net", "busy@example.org"])
    first, _ = h.process(body, receive_count=1)
    second, tally = h.process(body, receive_count=2)
    assert not first.done and second.done
    assert h.transport.copies_received("binh@example.net") == 1
    assert h.transport.copies_received("busy@example.org") == 1
    assert tally["skipped_duplicate"] == 1


def test_a_duplicated_sqs_record_sends_nothing_twice():
    h = Harness()
    h.process(request(), message_id="m-1")
    result, tally = h.process(request(), message_id="m-1-duplicate")
    assert result.done
    assert h.transport.copies_received("binh@example.net") == 1
    assert tally["skipped_duplicate"] == 1


def test_without_a_message_key_the_sqs_message_id_identifies_the_message():
    h = Harness()
    body = request()
    del body["message_key"]
    h.process(body, message_id="abc", receive_count=1)
    h.process(body, message_id="abc", receive_count=2)  # the same record, delivered again
    assert h.transport.copies_received("binh@example.net") == 1
    assert h.ledger.state_of("sqs-abc", "binh@example.net") is RecipientState.DELIVERED


def test_the_last_attempt_turns_transient_failures_into_an_expired_bounce():
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]})
    result, tally = h.process(request(to=["busy@example.org"]), receive_count=SCHEDULE.max_attempts)
    assert result.done
    [report] = h.dead_letters.reports
    assert report.reason == "expired"
    assert report.recipients[0].status == "4.4.7"
    assert "451 4.7.1 Try later" in report.recipients[0].diagnostic
    assert tally["expired"] == 1
    assert h.ledger.state_of("order-1001", "busy@example.org") is RecipientState.BOUNCED


def test_an_invalid_request_fails_alone_and_lands_in_the_dead_letters_with_the_reason():
    h = Harness()
    result, tally = h.process(request(headers={"X-Campaign": "spring\r\nBcc: victim@example.org"}))
    assert result.done  # retrying cannot fix it
    assert h.transport.deliveries == []
    [report] = h.dead_letters.reports
    assert report.reason == "invalid_request"
    assert "headers.X-Campaign" in report.error
    assert report.envelope_sender == "shop@example.com"
    assert report.original_body and "X-Campaign" in report.original_body
    assert tally["rejected_input"] == 1


def test_a_body_that_is_not_json_is_reported_without_a_sender():
    h = Harness()
    result, _ = h.process("this is not json {")
    assert result.done
    [report] = h.dead_letters.reports
    assert report.reason == "invalid_request" and report.envelope_sender is None
    assert report.original_body == "this is not json {"


def test_a_missing_template_variable_is_a_render_failure_naming_the_variable():
    h = Harness()
    body = request(template={"subject": "Hi {{ name }}", "text": "Total {{ order.total }}"}, variables={"name": "An"})
    del body["subject"], body["text"]
    result, _ = h.process(body)
    assert result.done and h.transport.deliveries == []
    [report] = h.dead_letters.reports
    assert report.reason == "render_failed"
    assert "order" in report.error
    assert h.ledger.state_of("order-1001", "binh@example.net") is RecipientState.BOUNCED


def test_a_stored_template_is_fetched_and_rendered():
    h = Harness(templates={"welcome": TemplateSource(subject="Chào {{ name }}", text="Xin chào {{ name }}!", html=None)})
    body = request(template={"key": "welcome"}, variables={"name": "Bình"})
    del body["subject"], body["text"]
    result, _ = h.process(body)
    assert result.done
    [(_, data)] = h.transport.deliveries
    message = email.message_from_bytes(data, policy=policy.default)
    assert message["Subject"] == "Chào Bình"
    assert message.get_content().strip() == "Xin chào Bình!"


def test_a_missing_stored_template_is_reported_not_retried():
    h = Harness()
    body = request(template={"key": "nope"})
    del body["subject"], body["text"]
    result, _ = h.process(body)
    assert result.done
    assert h.dead_letters.reports[0].reason == "render_failed" and "nope" in h.dead_letters.reports[0].error


def test_an_oversize_message_is_rejected_with_5_3_4():
    h = Harness(max_message_bytes=2048)
    result, _ = h.process(request(text="x" * 10_000))
    assert result.done and h.transport.deliveries == []
    [report] = h.dead_letters.reports
    assert report.recipients[0].status == "5.3.4" and "limit" in report.error


def test_a_claim_held_by_a_live_invocation_is_left_for_later():
    clock = ManualClock()
    h = Harness(clock=clock)
    asyncio.run(h.ledger.claim("order-1001", ["binh@example.net"], owner="other", lease_seconds=120))
    result, _ = h.process(request())
    assert not result.done and 1 <= result.visible_after <= 121
    assert h.transport.deliveries == []


def test_a_claim_whose_lease_ran_out_is_taken_over():
    clock = ManualClock()
    h = Harness(clock=clock)
    asyncio.run(h.ledger.claim("order-1001", ["binh@example.net"], owner="died", lease_seconds=120))
    clock.advance(121)
    result, _ = h.process(request())
    assert result.done and h.transport.copies_received("binh@example.net") == 1


def test_a_bounce_recorded_but_not_reported_is_reported_without_sending_again():
    h = Harness()
    reply = parse_reply(550, "5.1.1 User unknown", remote_mta="relay.test")
    asyncio.run(h.ledger.record("order-1001", [LedgerEntry("ghost@example.net", RecipientState.BOUNCED, reply, reported=False)]))
    result, _ = h.process(request(to=["ghost@example.net"]))
    assert result.done and h.transport.deliveries == []
    [report] = h.dead_letters.reports
    assert report.recipients[0].address == "ghost@example.net" and report.recipients[0].status == "5.1.1"
    second, _ = h.process(request(to=["ghost@example.net"]))
    assert len(h.dead_letters.reports) == 1  # reported once


def test_return_path_is_the_envelope_sender_apart_from_from():
    h = Harness()
    h.process(request(return_path="bounces@mail.example.com"))
    [(envelope, data)] = h.transport.deliveries
    assert envelope.sender == "bounces@mail.example.com"
    assert b"From: Shop <shop@example.com>" in data


@pytest.mark.parametrize("receive_count", [1, 2])
def test_an_uncertain_submission_is_recorded_apart_from_deferred(receive_count):
    h = Harness({"binh@example.net": ["uncertain"]})
    result, tally = h.process(request(), receive_count=receive_count)
    assert not result.done
    assert h.ledger.state_of("order-1001", "binh@example.net") is RecipientState.UNCERTAIN
    assert tally["uncertain"] == 1


def test_duplicates_in_one_batch_wait_for_each_other_and_send_once():
    h = Harness()
    service = h.service()

    async def batch():
        return await asyncio.gather(*(service.process(sqs_record(request(), message_id=f"m-{i}")) for i in range(3)))

    results = asyncio.run(batch())
    assert all(r.done for r in results)
    assert h.transport.copies_received("binh@example.net") == 1
