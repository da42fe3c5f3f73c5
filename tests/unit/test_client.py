"""The Python client without AWS: requests checked before sending, batches, resends, ledger rows as states."""

from __future__ import annotations

import json

import pytest

from maildispatch_cli.client import MaildispatchClient, RequestRejected, SendFailed, recipient_status


def request(n: int = 0, **overrides):
    return {
        "message_key": f"k-{n}",
        "from": "shop@example.com",
        "to": ["binh@example.net"],
        "subject": "Hi",
        "text": "x",
        **overrides,
    }


class FakeSqs:
    """SendMessageBatch that fails the entries named in `fail` (by message key) for `times` calls."""

    def __init__(self, fail=(), times=1, sender_fault=False):
        self.calls, self.fail, self.times, self.sender_fault = [], set(fail), times, sender_fault

    def send_message_batch(self, QueueUrl, Entries):
        self.calls.append(Entries)
        failed = []
        if len(self.calls) <= self.times:
            failed = [
                {"Id": e["Id"], "Code": "InternalError", "Message": "try again", "SenderFault": self.sender_fault}
                for e in Entries
                if json.loads(e["MessageBody"])["message_key"] in self.fail
            ]
        return {"Successful": [], "Failed": failed}


class FakeAws:
    def __init__(self, sqs):
        self.sqs = sqs

    def client(self, service):
        return self.sqs


def client_with(sqs, sleeps=None):
    return MaildispatchClient(
        queue_url="https://sqs.test/send", aws=FakeAws(sqs), sleep=(sleeps if sleeps is not None else []).append
    )


def test_requests_go_ten_per_batch_one_per_message_and_their_keys_come_back_in_order():
    sqs = FakeSqs()
    keys = client_with(sqs).send([request(i) for i in range(23)])
    assert keys == [f"k-{i}" for i in range(23)]
    assert [len(call) for call in sqs.calls] == [10, 10, 3]


def test_a_batch_holds_at_most_256_kib_of_bodies():
    sqs = FakeSqs()
    big = "x" * (100 * 1024)
    client_with(sqs).send([request(i, text=big) for i in range(5)])
    assert [len(call) for call in sqs.calls] == [2, 2, 1]


def test_a_request_without_a_key_gets_one():
    [key] = client_with(FakeSqs()).send(request(message_key=None))
    assert key.startswith("client-")


def test_a_bad_request_is_refused_naming_it_and_the_field_before_anything_is_sent():
    sqs = FakeSqs()
    with pytest.raises(RequestRejected) as raised:
        client_with(sqs).send([request(0), request(1, to=["binh@example.net", "not an address"])])
    assert raised.value.index == 1 and raised.value.field == "to[1]"
    assert "request 1: to[1]" in raised.value.message
    assert sqs.calls == []


def test_failed_entries_are_sent_again_with_backoff():
    sqs, sleeps = FakeSqs(fail={"k-1"}, times=2), []
    keys = client_with(sqs, sleeps).send([request(0), request(1)])
    assert keys == ["k-0", "k-1"]
    assert [len(call) for call in sqs.calls] == [2, 1, 1]
    assert sleeps == [0.2, 0.4]


def test_entries_failing_every_time_are_named_in_the_error():
    sqs = FakeSqs(fail={"k-1"}, times=99)
    with pytest.raises(SendFailed) as raised:
        client_with(sqs).send([request(0), request(1)])
    assert raised.value.failed == {"k-1": "InternalError: try again"}
    assert raised.value.sent == ["k-0"]
    assert len(sqs.calls) == 4


def test_a_sender_fault_is_not_sent_again():
    sqs = FakeSqs(fail={"k-0"}, times=99, sender_fault=True)
    with pytest.raises(SendFailed):
        client_with(sqs).send([request(0)])
    assert len(sqs.calls) == 1


def test_a_ledger_row_reads_as_state_reply_and_times():
    item = {
        "message_key": {"S": "k"},
        "recipient": {"S": "busy@example.org"},
        "state": {"S": "deferred"},
        "reply_code": {"N": "451"},
        "reply_status": {"S": "4.7.1"},
        "reply_text": {"S": "Greylisted"},
        "next_attempt_at": {"N": "1740830400"},
        "updated_at": {"N": "1740830000.5"},
        "attempts": {"N": "2"},
    }
    status = recipient_status(item)
    assert (status.state, status.reply_code, status.reply_status, status.attempts) == ("deferred", 451, "4.7.1", 2)
    assert status.next_attempt_at.isoformat() == "2025-03-01T12:00:00+00:00"
    assert status.describe() == (
        "busy@example.org\tdeferred\t451 4.7.1 Greylisted; next attempt 2025-03-01T12:00:00+00:00; "
        "updated 2025-03-01T11:53:20+00:00; attempts 2"
    )


def test_without_a_queue_or_a_stack_the_client_says_what_it_needs():
    with pytest.raises(Exception, match="no queue_url"):
        MaildispatchClient(aws=FakeAws(FakeSqs())).send(request())
