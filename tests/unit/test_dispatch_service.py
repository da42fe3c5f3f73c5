"""The dispatch service's decisions, per recipient, with in-memory collaborators."""

from __future__ import annotations

import asyncio
import email
from email import policy

import pytest

from maildispatch.core.ledger import LedgerEntry, RecipientState
from maildispatch.core.outcome import parse_reply
from maildispatch.core.render import TemplateSource
from maildispatch.core.retry import RetrySchedule
from maildispatch.core.signing import REQUEUE_SIGNATURE_ATTRIBUTE, sign_requeue
from maildispatch.core.suppression import Suppression
from maildispatch.services.dispatch import ATTRIBUTE_ARRIVAL, ATTRIBUTE_MESSAGE_KEY, DispatchPolicy, DispatchService
from tests.fakes.ledger import InMemoryLedger
from tests.fakes.services import (
    CollectingDeadLetters,
    CollectingRequeue,
    FakeContentStore,
    ManualClock,
    ScriptedTransport,
    sqs_record,
)
from tests.fakes.stores import InMemorySuppressionList

SIGNING_KEY = b"test signing key"
SCHEDULE = RetrySchedule(delays=(60, 120, 240), max_age_seconds=3600, jitter=0, stated_delay_floor=30)


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
    def __init__(self, script=None, *, templates=None, suppressed=(), **policy):
        self.clock = ManualClock()
        self.transport = ScriptedTransport(script or {})
        self.ledger = InMemoryLedger(clock=self.clock)
        self.dead_letters = CollectingDeadLetters()
        self.content = FakeContentStore(templates=templates or {})
        self.suppressions = InMemorySuppressionList(
            {a: Suppression(a, "hard_bounce", "5.1.1", "550 5.1.1 unknown", "old-1", 0.0) for a in suppressed}
        )
        self.requeue = CollectingRequeue()
        self.policy = DispatchPolicy(
            reporting_mta="dispatch.test", **{"retry": SCHEDULE, "signing_key": SIGNING_KEY, **policy}
        )

    def service(self) -> DispatchService:
        return DispatchService(
            self.transport,
            self.ledger,
            self.content,
            self.dead_letters,
            self.policy,
            suppressions=self.suppressions,
            requeue=self.requeue,
            invocation_id="inv-1",
            clock=self.clock,
        )

    def process(self, body, **record_args):
        service = self.service()
        result = asyncio.run(service.process(sqs_record(body, **record_args)))
        return result, service.tally.counts

    def reasons(self):
        return [r.reason for r in self.dead_letters.reports]


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


def test_transient_failures_follow_the_schedule_attempt_by_attempt():
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]})
    waits = []
    for _ in range(3):
        result, _ = h.process(request(to=["busy@example.org"]))
        waits.append(result.visible_after)
        h.clock.advance(result.visible_after)
    assert waits == [60, 120, 240]
    assert h.ledger.state_of("order-1001", "busy@example.org") is RecipientState.DEFERRED
    assert h.dead_letters.reports == []


def test_a_record_that_comes_back_early_waits_for_what_is_due():
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]})
    h.process(request(to=["busy@example.org"]))
    h.clock.advance(20)
    result, _ = h.process(request(to=["busy@example.org"]), message_id="m-duplicate")
    assert not result.done and result.visible_after == 40
    assert len(h.transport.deliveries) == 0 and h.transport.script["busy@example.org"] == ["451 4.7.1 Try later"]


def test_a_delay_the_server_states_is_honoured_with_a_floor():
    h = Harness(
        {
            "a@example.org": ["450 4.2.0 Greylisted, try again in 300 seconds"],
            "b@example.org": ["450 4.2.0 try again in 1 seconds"],
        }
    )
    assert h.process(request(to=["a@example.org"]))[0].visible_after == 300
    assert h.process(request(message_key="other", to=["b@example.org"]))[0].visible_after == 30


def test_a_retry_never_sends_again_to_recipients_that_accepted():
    h = Harness({"busy@example.org": ["451 4.7.1 Greylisted", "250 2.1.5 OK"]})
    body = request(to=["binh@example.net", "busy@example.org"])
    first, _ = h.process(body)
    h.clock.advance(first.visible_after)
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


def test_duplicates_in_one_batch_wait_for_each_other_and_send_once():
    h = Harness()
    service = h.service()

    async def batch():
        return await asyncio.gather(*(service.process(sqs_record(request(), message_id=f"m-{i}")) for i in range(3)))

    assert all(r.done for r in asyncio.run(batch()))
    assert h.transport.copies_received("binh@example.net") == 1


def test_without_a_message_key_the_sqs_message_id_identifies_the_message():
    h = Harness()
    body = request()
    del body["message_key"]
    h.process(body, message_id="abc", receive_count=1)
    h.process(body, message_id="abc", receive_count=2)  # the same record, delivered again
    assert h.transport.copies_received("binh@example.net") == 1
    assert h.ledger.state_of("sqs-abc", "binh@example.net") is RecipientState.DELIVERED


def test_a_recipient_still_deferred_at_the_horizon_bounces_as_expired():
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]})
    h.process(request(to=["busy@example.org"]))
    h.clock.advance(3600)
    result, tally = h.process(request(to=["busy@example.org"]))
    assert result.done
    [report] = h.dead_letters.reports
    assert report.reason == "expired"
    assert report.recipients[0].status == "4.4.7"
    assert "451 4.7.1 Try later" in report.recipients[0].diagnostic
    assert tally["expired"] == 1
    assert h.ledger.state_of("order-1001", "busy@example.org") is RecipientState.BOUNCED


def test_the_last_wait_ends_at_the_horizon():
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]})
    h.process(request(to=["busy@example.org"]))
    h.clock.advance(3550)
    result, _ = h.process(request(to=["busy@example.org"]))
    assert result.visible_after == 50


def test_a_delay_warning_goes_to_the_sender_once():
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]}, delay_warning_after=100)
    h.process(request(to=["busy@example.org"]))
    assert h.reasons() == []  # too early
    for _ in range(2):
        h.clock.advance(200)
        h.process(request(to=["busy@example.org"]))
    assert h.reasons() == ["delayed"]
    [warning] = h.dead_letters.reports
    assert warning.recipients[0].action == "delayed" and warning.recipients[0].status == "4.7.1"
    assert warning.source["will_retry_until"].startswith("2026-11-29T09:00")


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


def test_an_unknown_stream_is_an_invalid_request_naming_the_streams_there_are():
    h = Harness(streams={"campaign": RetrySchedule()})
    result, _ = h.process(request(stream="newsletter"))
    assert result.done and h.transport.deliveries == []
    assert "stream: unknown stream 'newsletter'" in h.dead_letters.reports[0].error
    assert "campaign, transactional" in h.dead_letters.reports[0].error


def test_a_named_stream_uses_its_own_schedule():
    h = Harness(
        {"busy@example.org": ["451 4.7.1 Try later"]},
        streams={"campaign": RetrySchedule(delays=(900,), max_age_seconds=86400, jitter=0)},
    )
    result, _ = h.process(request(to=["busy@example.org"], stream="campaign"))
    assert result.visible_after == 900


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
    assert h.ledger.state_of("order-1001", "binh@example.net") is None  # reached no one: the key is not used up


def test_a_stored_template_is_fetched_and_rendered():
    h = Harness(
        templates={"welcome": TemplateSource(subject="Chào {{ name }}", text="Xin chào {{ name }}!", html=None)}
    )
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
    h = Harness()
    asyncio.run(h.ledger.claim("order-1001", ["binh@example.net"], owner="other", lease_seconds=120))
    result, _ = h.process(request())
    assert not result.done and result.visible_after == 120
    assert h.transport.deliveries == []


def test_a_claim_whose_lease_ran_out_is_taken_over_and_counted_uncertain():
    """The invocation that held it died at an unknown point, perhaps after the relay's 250."""
    h = Harness()
    asyncio.run(h.ledger.claim("order-1001", ["binh@example.net"], owner="died", lease_seconds=120))
    h.clock.advance(121)
    result, tally = h.process(request())
    assert result.done and h.transport.copies_received("binh@example.net") == 1
    assert tally["uncertain_retried"] == 1
    assert h.ledger.rows[("order-1001", "binh@example.net")].uncertain == 1  # recorded: a copy may exist twice


def test_with_the_give_up_policy_a_dead_attempt_is_not_repeated():
    h = Harness(uncertain_retries=0)
    asyncio.run(h.ledger.claim("order-1001", ["binh@example.net"], owner="died", lease_seconds=120))
    h.clock.advance(121)
    result, tally = h.process(request())
    assert result.done and h.transport.deliveries == [] and tally["uncertain"] == 1
    assert h.ledger.state_of("order-1001", "binh@example.net") is RecipientState.UNCERTAIN


def test_a_takeover_after_an_uncertain_attempt_is_not_repeated_under_retry_once():
    h = Harness({"binh@example.net": ["uncertain"]})
    first, _ = h.process(request())
    h.clock.advance(first.visible_after)
    asyncio.run(
        h.ledger.claim("order-1001", ["binh@example.net"], owner="died", lease_seconds=120)
    )  # the retry's invocation died
    h.clock.advance(121)
    result, _ = h.process(request())
    assert result.done and len(h.transport.deliveries) == 1


def test_a_bounce_recorded_but_not_reported_is_reported_without_sending_again():
    h = Harness()
    reply = parse_reply(550, "5.1.1 User unknown", remote_mta="relay.test")
    asyncio.run(
        h.ledger.record("order-1001", [LedgerEntry("ghost@example.net", RecipientState.BOUNCED, reply, reported=False)])
    )
    result, _ = h.process(request(to=["ghost@example.net"]))
    assert result.done and h.transport.deliveries == []
    [report] = h.dead_letters.reports
    assert report.recipients[0].address == "ghost@example.net" and report.recipients[0].status == "5.1.1"
    h.process(request(to=["ghost@example.net"]))
    assert h.reasons() == ["rejected", "key_reused"]  # the bounce reported once; the key's reuse said so


def test_return_path_is_the_envelope_sender_apart_from_from():
    h = Harness()
    h.process(request(return_path="bounces@mail.example.com"))
    [(envelope, data)] = h.transport.deliveries
    assert envelope.sender == "bounces@mail.example.com"
    assert b"From: Shop <shop@example.com>" in data


def test_an_uncertain_submission_is_retried_once_with_the_same_message_id_then_left_uncertain():
    h = Harness({"binh@example.net": ["uncertain"]})
    first, tally = h.process(request())
    assert not first.done and tally["uncertain_retried"] == 1
    assert h.ledger.state_of("order-1001", "binh@example.net") is RecipientState.UNCERTAIN
    h.clock.advance(first.visible_after)
    second, tally = h.process(request())
    assert second.done and tally["uncertain"] == 1
    [(_, one), (_, two)] = h.transport.deliveries
    assert message_id(one) == message_id(two)
    h.clock.advance(10_000)
    third, tally = h.process(request(), message_id="late-duplicate")
    assert third.done and len(h.transport.deliveries) == 2  # never again


def test_with_the_give_up_policy_an_uncertain_submission_is_never_repeated():
    h = Harness({"binh@example.net": ["uncertain"]}, uncertain_retries=0)
    result, tally = h.process(request())
    assert result.done and tally["uncertain"] == 1
    h.clock.advance(10_000)
    h.process(request(), message_id="dup")
    assert len(h.transport.deliveries) == 1


def test_a_suppressed_address_is_skipped_and_reported_as_suppressed():
    h = Harness(suppressed=["ghost@example.net"])
    result, tally = h.process(request(to=["binh@example.net", "Ghost@Example.net"]))
    assert result.done and tally["suppressed"] == 1
    assert (
        h.transport.copies_received("binh@example.net") == 1 and h.transport.copies_received("Ghost@Example.net") == 0
    )
    [report] = h.dead_letters.reports
    assert report.reason == "suppressed" and report.recipients[0].address == "Ghost@Example.net"
    assert "suppressed since" in report.recipients[0].diagnostic
    assert h.ledger.state_of("order-1001", "ghost@example.net") is RecipientState.SUPPRESSED


def test_a_request_may_override_the_suppression_list():
    h = Harness(suppressed=["ghost@example.net"])
    h.process(request(to=["ghost@example.net"], ignore_suppression=True))
    assert h.transport.copies_received("ghost@example.net") == 1 and h.dead_letters.reports == []


def test_a_record_received_often_is_re_enqueued_with_its_identity_instead_of_waiting_again():
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]}, requeue_after_receives=3)
    body = request(to=["busy@example.org"])
    del body["message_key"]
    result, tally = h.process(body, message_id="orig", receive_count=3)
    assert result.done and tally["requeued"] == 1
    [(sent_body, delay, attributes)] = h.requeue.sent
    assert delay == 60 and sent_body == sqs_record(body).body
    assert attributes[ATTRIBUTE_MESSAGE_KEY] == "sqs-orig"
    # The copy continues the same message: same key, same age.
    h.clock.advance(3600)
    h.process(sent_body, message_id="copy", attributes=attributes)
    assert h.reasons() == ["expired"] and h.dead_letters.reports[0].message_key == "sqs-orig"


def test_a_wait_longer_than_sqs_visibility_allows_is_re_enqueued():
    long = RetrySchedule(delays=(86400,), max_age_seconds=5 * 86400, jitter=0)
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]}, retry=long, queue_retention_seconds=14 * 86400)
    result, _ = h.process(request(to=["busy@example.org"]))
    assert result.done and h.requeue.sent[0][1] == 900
    assert float(h.requeue.sent[0][2][ATTRIBUTE_ARRIVAL]) == h.clock.now


def test_the_re_enqueue_attributes_carry_our_signature():
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]}, requeue_after_receives=1)
    h.process(request(to=["busy@example.org"]))
    [(body, _, attributes)] = h.requeue.sent
    expected = sign_requeue(SIGNING_KEY, body, attributes[ATTRIBUTE_MESSAGE_KEY], attributes[ATTRIBUTE_ARRIVAL])
    assert attributes[REQUEUE_SIGNATURE_ATTRIBUTE] == expected


@pytest.mark.parametrize("arrival", ["abc", "nan", "inf", "-inf", "0", "1e300"])
def test_producer_set_arrival_attributes_are_ignored_and_counted_never_a_crash(arrival):
    # Issue 9 point 6: `abc` crashed, nan/inf never expired, 0 expired at once.
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]})
    result, tally = h.process(request(to=["busy@example.org"]), attributes={ATTRIBUTE_ARRIVAL: arrival})
    assert not result.done and tally["untrusted_attributes"] == 1 and h.reasons() == []
    assert h.ledger.state_of("order-1001", "busy@example.org") is RecipientState.DEFERRED


def test_a_producer_set_message_key_does_not_skip_the_message():
    # Issue 9 point 6: another message's key made this message a "duplicate" of it, silently skipped.
    h = Harness()
    h.process(request(message_key="order-1"))
    result, tally = h.process(
        request(message_key="order-2", to=["binh@example.net"]),
        message_id="m-2",
        attributes={ATTRIBUTE_MESSAGE_KEY: "order-1", ATTRIBUTE_ARRIVAL: "1", REQUEUE_SIGNATURE_ATTRIBUTE: "0" * 64},
    )
    assert result.done and tally["untrusted_attributes"] == 1 and tally["delivered"] == 1
    assert h.transport.copies_received("binh@example.net") == 2


def test_signed_attributes_copied_onto_another_body_do_not_verify():
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]}, requeue_after_receives=1)
    h.process(request(to=["busy@example.org"]))
    [(_, _, attributes)] = h.requeue.sent
    _, tally = h.process(request(message_key="order-2", to=["busy@example.org"]), attributes=attributes)
    assert tally["untrusted_attributes"] == 1 and h.ledger.state_of("order-2", "busy@example.org") is not None


def test_without_a_signing_key_no_attribute_is_trusted():
    h = Harness({"busy@example.org": ["451 4.7.1 Try later"]}, signing_key=None, requeue_after_receives=1)
    h.process(request(to=["busy@example.org"]))
    [(body, _, attributes)] = h.requeue.sent
    assert REQUEUE_SIGNATURE_ATTRIBUTE not in attributes
    _, tally = h.process(body, attributes=attributes)
    assert tally["untrusted_attributes"] == 1


def test_the_message_id_entry_records_every_recipient_the_message_went_to():
    from maildispatch.core.return_paths import message_id_key
    from maildispatch.services.dispatch import VerpPolicy
    from tests.fakes.stores import InMemoryReturnPathIndex

    h = Harness(verp=VerpPolicy("bounces.example.com", b"verp key"))
    index = InMemoryReturnPathIndex()
    service = DispatchService(
        h.transport, h.ledger, h.content, h.dead_letters, h.policy, return_paths=index, clock=h.clock
    )
    asyncio.run(service.process(sqs_record(request(to=["Binh@Example.net", "ana@example.org"]))))
    entries = [sent for key, sent in index.entries.items() if key.startswith("msgid#")]
    assert [e.sent_to for e in entries] == [("ana@example.org", "binh@example.net")]
    assert entries[0].recipient is None and message_id_key(entries[0].message_id) in index.entries


def message_id(data: bytes) -> str:
    return email.message_from_bytes(data, policy=policy.default)["Message-ID"]


def test_with_verp_each_recipient_gets_its_own_signed_return_path_that_maps_back():
    from maildispatch.core.return_paths import message_id_key, verp_key
    from maildispatch.core.verp import parse_return_path
    from maildispatch.services.dispatch import VerpPolicy
    from tests.fakes.stores import InMemoryReturnPathIndex

    h = Harness(verp=VerpPolicy("bounce.example.com", b"s" * 32))
    index = InMemoryReturnPathIndex()
    service = DispatchService(
        h.transport, h.ledger, h.content, h.dead_letters, h.policy, return_paths=index, clock=h.clock
    )
    asyncio.run(service.process(sqs_record(request(to=["binh@example.net", "an@example.net"]))))
    senders = {envelope.recipients[0]: envelope.sender for envelope, _ in h.transport.deliveries}
    assert len(h.transport.deliveries) == 2 and len(set(senders.values())) == 2
    for recipient, sender in senders.items():
        token = parse_return_path(sender, secret=b"s" * 32)
        remembered = index.entries[verp_key(token.id)]
        assert (remembered.message_key, remembered.recipient, remembered.report_to) == (
            "order-1001",
            recipient,
            "shop@example.com",
        )
    [(_, data)] = h.transport.deliveries[:1]
    assert index.entries[message_id_key(message_id(data))].message_key == "order-1001"


def test_a_producers_own_return_path_wins_over_verp():
    from maildispatch.services.dispatch import VerpPolicy
    from tests.fakes.stores import InMemoryReturnPathIndex

    h = Harness(verp=VerpPolicy("bounce.example.com", b"s" * 32))
    service = DispatchService(
        h.transport,
        h.ledger,
        h.content,
        h.dead_letters,
        h.policy,
        return_paths=InMemoryReturnPathIndex(),
        clock=h.clock,
    )
    asyncio.run(service.process(sqs_record(request(return_path="bounces@shop.example.com"))))
    assert [e.sender for e, _ in h.transport.deliveries] == ["bounces@shop.example.com"]


def test_a_utf8_bcc_gets_its_own_smtputf8_transaction_and_the_ascii_recipients_one_without():
    """Issue 9 point 7: SMTPUTF8 is decided per envelope, not per message."""
    h = Harness()
    result, _ = h.process(request(to=["binh@example.net"], cc=["an@example.net"], bcc=["用户@example.net"]))

    assert result.done
    envelopes = sorted((e.recipients, e.needs_smtputf8) for e, _ in h.transport.deliveries)
    assert envelopes == [(("binh@example.net", "an@example.net"), False), (("用户@example.net",), True)]


def test_a_transient_content_failure_defers_the_recipients_instead_of_failing_the_record():
    """Issue 9 point 5: S3 throttling or a 5xx is a per-request retry, not an exception through the batch."""
    from maildispatch.ports import ContentUnavailable

    h = Harness()

    async def unavailable(ref, *, max_bytes):
        raise ContentUnavailable("attachment 'a.pdf': S3 answered SlowDown; will try again")

    h.content.attachment = unavailable
    s3 = {"filename": "a.pdf", "s3": {"bucket": "content", "key": "attachments/a.pdf"}}
    result, _ = h.process(request(attachments=[s3]))

    assert not result.done  # waits on the queue for the schedule's next attempt
    assert h.ledger.state_of("order-1001", "binh@example.net") is RecipientState.DEFERRED
    assert h.dead_letters.reports == [] and h.transport.deliveries == []


def test_messages_log_at_debug_only_and_the_invocation_summary_counts_them(caplog):
    h = Harness({"ghost@example.net": ["550 5.1.1 <ghost@example.net>: User unknown"]})
    service = h.service()
    records = [
        sqs_record(request(message_key=f"order-{n}", to=["binh@example.net", "ghost@example.net"]), message_id=str(n))
        for n in range(3)
    ]

    async def run():
        for record in records:
            await service.process(record)

    with caplog.at_level("INFO", logger="maildispatch.dispatch"):
        asyncio.run(run())
    assert [r for r in caplog.records if r.name == "maildispatch.dispatch" and r.levelname == "INFO"] == []
    assert service.summary() == {
        "outcomes": {"delivered@example.net": 3, "bounced@example.net": 3},
        "replies": ["550 5.1.1 <…@example.net>: User unknown"],
    }
    caplog.clear()
    with caplog.at_level("DEBUG", logger="maildispatch.dispatch"):
        asyncio.run(service.process(sqs_record(request(message_key="order-9"), message_id="9")))
    assert [r.getMessage() for r in caplog.records if r.levelname == "DEBUG"] == ["message attempted"]
