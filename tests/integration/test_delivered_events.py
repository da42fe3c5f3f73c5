"""Email Delivered events through the real dispatch handler, on the local stack (moto + scripted relay),
with the template's PublishDeliveredEvents turned on (DELIVERED_EVENTS=true)."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from jsonschema import Draft202012Validator

from tests.integration.test_handlers import invoke, sqs_event
from tests.stack.local_stack import LocalStack

SCHEMA = json.loads(resources.files("maildispatch").joinpath("schema/email-delivered.v1.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    moto_server.reset()
    with LocalStack(
        tmp_path_factory.mktemp("delivered"), function_env={"DELIVERED_EVENTS": "true"}, moto=moto_server
    ) as running:
        yield running


def test_the_dispatch_handler_publishes_an_email_delivered_event_per_accepted_recipient(stack):
    body = json.dumps(
        {
            "message_key": "delivered-1",
            "from": "Shop <shop@example.com>",
            "to": ["binh@example.net", "ghost@example.net"],
            "subject": "Delivered?",
            "text": "hello",
            "tags": {"campaign": "spring"},
        }
    )
    response = invoke(stack, "DispatchFunction", sqs_event(stack, "SendQueue", [body]))
    assert response == {"batchItemFailures": []}

    delivered = [e for e in stack.bounce_events() if e["detail-type"] == "Email Delivered"]
    [event] = delivered  # ghost@ is rejected by the relay: no event for it
    assert event["source"] == "maildispatch"
    detail = event["detail"]
    assert list(Draft202012Validator(SCHEMA).iter_errors(detail)) == []
    assert (detail["message_key"], detail["recipient"], detail["tags"]) == (
        "delivered-1",
        "binh@example.net",
        {"campaign": "spring"},
    )
    assert detail["reply"].startswith("250")
