"""Campaign mail through the real dispatch handler, on the local stack (moto server, the template's
resources including RelayBudgetTable and UnsubscribeSigningSecret, the scripted TLS+AUTH relay), with a
daily quota and a rate configured:

- a quota reply (the relay answers the first RCPT for one recipient as Gmail answers a sender over its
  daily limit): nobody bounces, the record waits, the relay's budget pauses, then the message is delivered;
- one-click unsubscribe with no URL configured: the delivered message's List-Unsubscribe points at the
  stack's own HTTP API (the local API server here); POSTed there, it stops the list's next message to
  the address and publishes `Email Unsubscribed`; a GET changes nothing; another list's message still goes.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.stack.event_source import build_sqs_event
from tests.stack.lambda_context import FakeLambdaContext
from tests.stack.local_stack import LocalStack
from tests.stack.moto import aws_client

GMAIL_DAILY = "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits - gsmtp"
RECIPIENT = "subscriber@example.net"
PAUSE_SECONDS = 2
REQUEST = {
    "message_key": "spring-2026-0001",
    "from": "News <news@example.com>",
    "to": [RECIPIENT],
    "subject": "Spring news",
    "text": "Hello",
    "campaign": {"id": "spring-2026"},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    moto_server.reset()
    script = {"rcpt": {RECIPIENT: [GMAIL_DAILY, "250 2.1.5 OK"]}}
    env = {
        "RELAY_DAILY_QUOTA": "500",
        "RELAY_RATE_PER_SECOND": "20",
        "RELAY_QUOTA_PAUSE": f"{PAUSE_SECONDS}s",
    }
    with LocalStack(tmp_path_factory.mktemp("quota"), relay_script=script, function_env=env, moto=moto_server) as s:
        yield s


def received(stack, ids: list[str], timeout_s: float = 10.0) -> list[dict]:
    url, got = stack.stack.queue_url("SendQueue"), {}
    deadline = time.monotonic() + timeout_s
    while len(got) < len(ids) and time.monotonic() < deadline:
        response = stack.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        )
        got.update((m["MessageId"], m) for m in response.get("Messages", []) if m["MessageId"] in ids)
        if len(got) < len(ids):
            time.sleep(0.1)
    assert set(got) == set(ids)
    return [got[i] for i in ids]


def dispatch(stack, messages: list[dict]) -> dict:
    event = build_sqs_event(messages, stack.stack.arn("SendQueue"), "us-east-1")
    response = stack.functions["DispatchFunction"].handler(event, FakeLambdaContext("DispatchFunction", 60))
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] not in failed:
            stack.sqs.delete_message(
                QueueUrl=stack.stack.queue_url("SendQueue"), ReceiptHandle=message["ReceiptHandle"]
            )
    return response


def budget_state(stack) -> dict:
    ddb = aws_client("dynamodb", stack.moto.endpoint_url)
    items = ddb.scan(TableName=stack.stack.name("RelayBudgetTable"))["Items"]
    return {i["slot"]["S"]: {k: v.get("N") for k, v in i.items() if "N" in v} for i in items}


def test_a_quota_reply_pauses_the_relay_and_the_message_is_delivered_after_the_pause(stack):
    [message_id] = stack.enqueue([json.dumps(REQUEST)])
    [message] = received(stack, [message_id])
    started = time.time()

    first = dispatch(stack, [message])

    # The record waits (reported failed, visible again after the pause); nothing bounced or was suppressed.
    assert first == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert stack.queue_depth("DeadLetterQueue") == 0
    assert stack.suppressed_addresses() == []
    assert [i for i in stack.ledger_items() if i["recipient"]["S"] == RECIPIENT] == []  # still queued: no attempt
    budget = budget_state(stack)
    assert started + PAUSE_SECONDS - 1 <= float(budget["pace"]["paused_until"]) <= time.time() + PAUSE_SECONDS
    assert sum(int(v["count"]) for slot, v in budget.items() if slot.startswith("q#")) == 0  # quota given back
    assert stack.delivered_messages() == []

    # Before the pause ends the record is not visible; after it, it is delivered once.
    assert stack.sqs.receive_message(QueueUrl=stack.stack.queue_url("SendQueue")).get("Messages", []) == []
    [again] = received(stack, [message_id], timeout_s=PAUSE_SECONDS + 8)
    assert time.time() >= started + PAUSE_SECONDS - 0.5
    second = dispatch(stack, [again])

    assert second == {"batchItemFailures": []}
    assert stack.copies_received() == {RECIPIENT: 1}
    [row] = [i for i in stack.ledger_items() if i["recipient"]["S"] == RECIPIENT]
    assert row["state"]["S"] == "delivered" and row["attempts"]["N"] == "1"  # the quota reply was no attempt
    assert stack.queue_depth("DeadLetterQueue") == 0 and stack.suppressed_addresses() == []
    budget = budget_state(stack)
    assert sum(int(v["count"]) for slot, v in budget.items() if slot.startswith("q#")) == 1  # the one delivery


def campaign_request(key: str, campaign: dict) -> dict:
    return {
        "message_key": key,
        "from": "News <news@example.com>",
        "to": ["reader@example.net"],
        "template": {"subject": "News", "text": "Hello. To leave: {{ unsubscribe_url }}"},
        "campaign": campaign,
    }


def http(method: str, url: str, body: bytes | None = None) -> int:
    """One request to the local API server, as a mailbox provider (POST) or a link scanner (GET) makes it."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_campaign_mail_unsubscribes_in_one_click_at_the_stacks_own_api(stack):
    # No UNSUBSCRIBE_BASE_URL given: the template's default, the stack's HTTP API (served on loopback here).
    ids = stack.enqueue([json.dumps(campaign_request("c1-first", {"id": "c1"}))])
    assert dispatch(stack, received(stack, ids)) == {"batchItemFailures": []}
    [message] = [m for m in stack.delivered_messages() if m["X-Envelope-To"] == "reader@example.net"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith(f"{stack.api.url}/u/") and url in message.get_content()

    assert http("GET", url) == 200
    assert stack.suppressed_addresses() == []  # a GET (a link scanner) changes nothing
    assert http("POST", url, b"List-Unsubscribe=One-Click") == 200  # what the mailbox provider sends

    ids = stack.enqueue(
        [
            json.dumps(campaign_request("c1-second", {"id": "c1"})),  # the same list (the campaign's own)
            json.dumps(campaign_request("offers-1", {"id": "offers-1", "list": "offers"})),
        ]
    )
    assert dispatch(stack, received(stack, ids)) == {"batchItemFailures": []}
    states = {
        i["message_key"]["S"]: i["state"]["S"]
        for i in stack.ledger_items()
        if i["recipient"]["S"] == "reader@example.net"
    }
    assert states == {"c1-first": "delivered", "c1-second": "suppressed", "offers-1": "delivered"}
    events = [e for e in stack.bounce_events() if e["detail-type"] == "Email Unsubscribed"]
    assert [(e["detail"]["address"], e["detail"]["list"], e["detail"]["how"]) for e in events] == [
        ("reader@example.net", "c1", "one-click")
    ]
