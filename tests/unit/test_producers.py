"""Every way a send gets in: EventBridge events, SNS notifications and S3 outbox objects on the
send queue, unwrapped (core/producer_envelope.py) and dispatched once per producer delivery id."""

from __future__ import annotations

import asyncio
import json

import pytest

from maildispatch.core.producer_envelope import (
    Direct,
    Ignored,
    OutboxObject,
    Wrapped,
    eml_request,
    normalise_line_endings,
    unwrap,
)
from maildispatch.core.request import InvalidRequest, parse_send_request
from maildispatch.core.retry import RetrySchedule
from maildispatch.services.dispatch import DispatchPolicy, DispatchService
from tests.fakes.ledger import InMemoryLedger
from tests.fakes.services import (
    CollectingDeadLetters,
    FakeContentStore,
    FakeOutbox,
    ManualClock,
    ScriptedTransport,
    sqs_record,
)

REQUEST = {"from": "Shop <shop@example.com>", "to": ["binh@example.net"], "subject": "Hi", "text": "Hello."}
BUCKET = "content-bucket"


def eventbridge(detail, *, event_id="4c1a-event-1", detail_type="Send Email"):
    event = {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "shop.orders",
        "account": "123456789012",
        "time": "2026-11-29T08:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    return json.dumps(event)


def sns(message, *, message_id="sns-msg-1"):
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:send",
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": "2026-11-29T08:00:00.000Z",
        }
    )


def s3_event(key, *, version=None, sequencer="0055AED6DCD90281E5", size=100, bucket=BUCKET, name="ObjectCreated:Put"):
    obj = {"key": key, "size": size, "sequencer": sequencer}
    if version:
        obj["versionId"] = version
    return json.dumps(
        {"Records": [{"eventSource": "aws:s3", "eventName": name, "s3": {"bucket": {"name": bucket}, "object": obj}}]}
    )


# --- unwrapping ---------------------------------------------------------------------------------


def test_a_plain_request_is_direct():
    assert unwrap(json.dumps(REQUEST)) == Direct(json.dumps(REQUEST))
    assert isinstance(unwrap("not json"), Direct)


def test_a_plain_request_is_decoded_once_and_parses_as_its_text_does():
    body = json.dumps({**REQUEST, "subject": "Đơn hàng 😀"})

    carried = unwrap(body)

    assert carried.document == json.loads(body)
    assert parse_send_request(body, decoded=carried.document) == parse_send_request(body)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_request_with_a_non_json_number_is_left_for_the_parser_to_refuse(constant):
    body = json.dumps(REQUEST)[:-1] + f', "version": {constant}}}'

    carried = unwrap(body)

    assert isinstance(carried, Direct) and carried.document is None
    with pytest.raises(InvalidRequest, match=f"{constant} is not a JSON number"):
        parse_send_request(body, decoded=carried.document)


def test_an_envelope_may_hold_a_non_json_number_outside_its_request():
    event = eventbridge(REQUEST)[:-1] + ', "replay": NaN}'

    carried = unwrap(event)

    assert isinstance(carried, Wrapped) and json.loads(carried.body) == REQUEST


def test_an_eventbridge_event_carries_its_detail_keyed_by_the_event_id():
    carried = unwrap(eventbridge(REQUEST))
    assert isinstance(carried, Wrapped) and carried.producer == "eventbridge"
    assert json.loads(carried.body) == REQUEST
    assert carried.default_key == "eb-4c1a-event-1"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (eventbridge(REQUEST, detail_type="Order Shipped"), "detail-type"),
        (json.dumps({"id": "x", "detail-type": "Send Email", "source": "s"}), "detail"),
        (eventbridge("a string"), "detail"),
        (json.dumps({"detail-type": "Send Email", "source": "s", "detail": REQUEST}), "id"),
    ],
)
def test_a_malformed_eventbridge_event_names_the_field(event, field):
    with pytest.raises(InvalidRequest) as error:
        unwrap(event)
    assert error.value.field == field


def test_an_sns_envelope_carries_its_message_keyed_by_the_message_id():
    carried = unwrap(sns(REQUEST))
    assert isinstance(carried, Wrapped) and carried.producer == "sns"
    assert json.loads(carried.body) == REQUEST and carried.default_key == "sns-sns-msg-1"
    with pytest.raises(InvalidRequest, match="Message"):
        unwrap(json.dumps({"Type": "Notification", "TopicArn": "t", "MessageId": "m"}))


def test_an_s3_notification_names_the_object_keyed_by_bucket_key_and_version():
    carried = unwrap(s3_event("outbox/order+1001.json", version="v1"))
    assert isinstance(carried, OutboxObject)
    assert (carried.bucket, carried.key, carried.version_id) == (BUCKET, "outbox/order 1001.json", "v1")
    other_version = unwrap(s3_event("outbox/order+1001.json", version="v2"))
    assert carried.default_key != other_version.default_key
    assert carried.default_key == unwrap(s3_event("outbox/order+1001.json", version="v1")).default_key
    unversioned = unwrap(s3_event("outbox/a.json", sequencer="001"))
    assert unversioned.default_key != unwrap(s3_event("outbox/a.json", sequencer="002")).default_key
    assert len(carried.default_key) <= 200 and " " not in carried.default_key


def test_s3_test_events_are_ignored_and_other_s3_events_refused():
    assert isinstance(unwrap(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})), Ignored)
    with pytest.raises(InvalidRequest) as error:
        unwrap(s3_event("outbox/a.json", name="ObjectRemoved:Delete"))
    assert error.value.field == "Records[0].eventName"
    with pytest.raises(InvalidRequest) as error:
        unwrap(json.dumps({"Records": []}))
    assert error.value.field == "Records"


def test_an_eml_is_kept_as_it_is_with_line_endings_normalised():
    raw = b"From: Shop <shop@example.com>\nTo: binh@example.net\nSubject: Ready\n\nLine one\r\nLine two\r"
    request = eml_request(
        raw, {"mail-from": "shop@example.com", "rcpt-to": "binh@example.net, an@example.net"}, None, where="x"
    )
    assert request.raw_message == normalise_line_endings(raw)
    assert request.raw_message.count(b"\r\n") == 6 and b"\n\n" not in request.raw_message
    assert [a.address for a in request.recipients] == ["binh@example.net", "an@example.net"]
    assert request.subject == "Ready"


def test_an_eml_without_recipients_names_the_field():
    raw = b"From: shop@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    with pytest.raises(InvalidRequest) as error:
        eml_request(raw, {"mail-from": "shop@example.com"}, None, where="x")
    assert error.value.field == "metadata.rcpt-to"
    with pytest.raises(InvalidRequest) as error:
        eml_request(raw, {}, {"from": "shop@example.com", "to": []}, where="x")
    assert error.value.field == "sidecar.to"
    with pytest.raises(InvalidRequest, match="not an RFC 5322 message"):
        eml_request(b"just text", {"mail-from": "a@example.com", "rcpt-to": "b@example.com"}, None, where="x")


# --- through the dispatch service ---------------------------------------------------------------


class Producers:
    def __init__(self):
        self.clock = ManualClock()
        self.transport = ScriptedTransport({})
        self.ledger = InMemoryLedger(clock=self.clock)
        self.dead_letters = CollectingDeadLetters()
        self.outbox = FakeOutbox()
        schedule = RetrySchedule(delays=(60,), max_age_seconds=3600, jitter=0)
        self.policy = DispatchPolicy(reporting_mta="dispatch.test", retry=schedule, max_message_bytes=10_000)

    def run(self, *bodies):
        service = DispatchService(
            self.transport,
            self.ledger,
            FakeContentStore(),
            self.dead_letters,
            self.policy,
            outbox=self.outbox,
            clock=self.clock,
        )

        async def go():
            return [await service.process(sqs_record(b, message_id=f"m-{i}")) for i, b in enumerate(bodies)]

        return asyncio.run(go()), service.tally


@pytest.mark.parametrize("wrap", [lambda: eventbridge(REQUEST), lambda: sns(REQUEST)], ids=["eventbridge", "sns"])
def test_a_duplicate_producer_delivery_sends_one_copy(wrap):
    producers = Producers()
    results, tally = producers.run(wrap(), wrap())  # two SQS messages, the same producer delivery
    assert all(r.done for r in results)
    assert producers.transport.copies_received("binh@example.net") == 1
    assert tally["delivered"] == 1


def test_a_request_with_its_own_key_keeps_it():
    producers = Producers()
    producers.run(eventbridge({**REQUEST, "message_key": "mine"}, event_id="e1"))
    assert ("mine", "binh@example.net") in producers.ledger.rows


def test_an_outbox_request_and_an_eml_are_sent_once_each():
    producers = Producers()
    producers.outbox.objects[(BUCKET, "outbox/r.json")] = (json.dumps(REQUEST).encode(), {})
    eml = b"From: Shop <shop@example.com>\nTo: an@example.net\nMessage-ID: <keep@example.com>\nSubject: Hi\n\nHello.\n"
    producers.outbox.objects[(BUCKET, "outbox/m.eml")] = (eml, {})
    producers.outbox.objects[(BUCKET, "outbox/m.eml.envelope")] = (
        json.dumps({"from": "shop@example.com", "to": ["an@example.net"]}).encode(),
        {},
    )
    results, tally = producers.run(
        s3_event("outbox/r.json"), s3_event("outbox/r.json"), s3_event("outbox/m.eml"), s3_event("outbox/m.eml")
    )
    assert all(r.done for r in results)
    assert [r.reason for r in producers.dead_letters.reports] == ["key_reused", "key_reused"]  # the duplicates
    assert producers.transport.copies_received("binh@example.net") == 1
    assert producers.transport.copies_received("an@example.net") == 1
    sent = next(m for e, m in producers.transport.deliveries if e.recipients == ("an@example.net",))
    assert sent == normalise_line_endings(eml)  # not re-rendered: the bytes as they were put
    assert tally["from_s3"] == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (eventbridge("nope"), "detail"),
        (sns("{not json"), "$"),
        (s3_event("outbox/missing.json"), "Records[0].s3.object.key"),
        (s3_event("outbox/big.eml", size=20_000), "Records[0].s3.object.size"),
        (s3_event("outbox/norcpt.eml"), "metadata.rcpt-to"),
        (s3_event("outbox/notarequest.json"), "$"),
    ],
)
def test_bad_input_at_each_door_fails_alone_and_is_reported(body, field):
    producers = Producers()
    producers.outbox.objects[(BUCKET, "outbox/norcpt.eml")] = (
        b"From: a@example.com\r\n\r\nx",
        {"mail-from": "a@example.com"},
    )
    producers.outbox.objects[(BUCKET, "outbox/notarequest.json")] = (b"\x89PNG....", {})
    results, _ = producers.run(body, eventbridge(REQUEST))
    assert all(r.done for r in results)
    assert [r.reason for r in producers.dead_letters.reports] == ["invalid_request"]
    assert producers.dead_letters.reports[0].error.startswith(field)
    assert producers.transport.copies_received("binh@example.net") == 1  # the good one went


# --- keys are never silently burnt ---------------------------------------------------------------


def test_a_request_that_failed_before_reaching_anyone_can_be_fixed_and_sent_under_the_same_key():
    producers = Producers()
    templated = {k: v for k, v in REQUEST.items() if k not in ("subject", "text")}
    templated |= {"message_key": "welcome-1", "template": {"key": "welcome/v1"}}
    producers.run(json.dumps(templated))
    assert [r.reason for r in producers.dead_letters.reports] == ["render_failed"]
    assert producers.ledger.state_of("welcome-1", "binh@example.net") is None
    fixed = {**templated, "template": {"subject": "Welcome", "text": "Hello."}}
    results, tally = producers.run(json.dumps(fixed))
    assert results[0].done and tally["delivered"] == 1
    assert producers.transport.copies_received("binh@example.net") == 1


def test_a_key_already_used_up_is_reported_logged_and_counted_never_silent(caplog):
    producers = Producers()
    producers.run(json.dumps({**REQUEST, "message_key": "k-1"}))
    results, tally = producers.run(json.dumps({**REQUEST, "message_key": "k-1", "subject": "Again"}))
    assert results[0].done and tally["key_reused"] == 1
    [report] = producers.dead_letters.reports
    assert report.reason == "key_reused" and report.message_key == "k-1"
    assert "message key already used at" in report.recipients[0].diagnostic
    assert "state delivered" in report.recipients[0].diagnostic
    assert "message key already used" in caplog.text
    assert producers.transport.copies_received("binh@example.net") == 1
