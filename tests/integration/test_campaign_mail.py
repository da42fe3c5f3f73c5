"""Campaign mail through the real dispatch handler, on the local stack (moto server, the template's
resources including RelayBudgetTable and UnsubscribeSigningSecret, the scripted TLS+AUTH relay), with a
daily quota, a rate and an unsubscribe URL configured:

- a quota reply (the relay answers the first RCPT for one recipient as Gmail answers a sender over its
  daily limit): nobody bounces, the record waits, the relay's budget pauses, then the message is delivered;
- one-click unsubscribe: the delivered message's List-Unsubscribe URL, POSTed to the unsubscribe router
  wired to DynamoDB and EventBridge, stops the list's next message to the address and publishes
  `Email Unsubscribed`; another list's message still goes.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.stack.event_source import build_sqs_event
from tests.stack.lambda_context import FakeLambdaContext
from tests.stack.local_stack import LocalStack
from tests.stack.moto import aws_client
from tests.stack.unsubscribe_events import http_event

GMAIL_DAILY = "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits - gsmtp"
RECIPIENT = "subscriber@example.net"
BASE_URL = "https://mail.example.com"
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
        "UNSUBSCRIBE_BASE_URL": BASE_URL,
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


def campaign_request(key: str, list_id: str) -> dict:
    return {
        "message_key": key,
        "from": "News <news@example.com>",
        "to": ["reader@example.net"],
        "template": {"subject": "News", "text": "Hello. To leave: {{ unsubscribe_url }}"},
        "campaign": {"id": key.rsplit("-", 1)[0], "list": list_id},
    }


def test_a_one_click_unsubscribe_stops_the_lists_next_message(stack):
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from maildispatch.runtime.api_unsubscribe import unsubscribe_router, unsubscribe_service
    from maildispatch.runtime.settings import UnsubscribeSettings

    ids = stack.enqueue([json.dumps(campaign_request("spring-1", "news"))])
    assert dispatch(stack, received(stack, ids)) == {"batchItemFailures": []}
    [message] = [m for m in stack.delivered_messages() if m["X-Envelope-To"] == "reader@example.net"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith(f"{BASE_URL}/u/") and url in message.get_content()
    env = stack.functions["DispatchFunction"].environment
    settings = UnsubscribeSettings(
        suppression_table=env["SUPPRESSION_TABLE"], unsubscribe_secret=env["UNSUBSCRIBE_SECRET"]
    )
    app = APIGatewayHttpResolver()
    app.include_router(unsubscribe_router(unsubscribe_service(settings)))
    path = url.removeprefix(BASE_URL)

    assert app.resolve(http_event("GET", path), {})["statusCode"] == 200
    assert stack.suppressed_addresses() == []  # a GET changes nothing
    answer = app.resolve(http_event("POST", path, "List-Unsubscribe=One-Click"), {})
    assert answer["statusCode"] == 200

    ids = stack.enqueue(
        [json.dumps(campaign_request("summer-1", "news")), json.dumps(campaign_request("offers-1", "offers"))]
    )
    assert dispatch(stack, received(stack, ids)) == {"batchItemFailures": []}
    states = {
        i["message_key"]["S"]: i["state"]["S"]
        for i in stack.ledger_items()
        if i["recipient"]["S"] == "reader@example.net"
    }
    assert states == {"spring-1": "delivered", "summer-1": "suppressed", "offers-1": "delivered"}
    events = [e for e in stack.bounce_events() if e["detail-type"] == "Email Unsubscribed"]
    assert [(e["detail"]["address"], e["detail"]["list"], e["detail"]["how"]) for e in events] == [
        ("reader@example.net", "news", "one-click")
    ]
