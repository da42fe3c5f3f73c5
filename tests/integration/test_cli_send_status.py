"""`maildispatch send` and `maildispatch status`, and the client's attachment upload, against moto.

The commands run in process (tests/stack/cli.py); the queue, table and bucket
are made here with unique names, so the tests share the session's moto server without resetting it.
"""

from __future__ import annotations

import json
import uuid

import pytest

from maildispatch_cli.client import MaildispatchClient
from tests.stack.cli import maildispatch, one_error_line
from tests.stack.moto import aws_client


def request(key: str, to: str = "binh@example.net") -> dict:
    return {"message_key": key, "from": "shop@example.com", "to": [to], "subject": "Hi", "text": "hello"}


@pytest.fixture
def queue(moto_env):
    sqs = aws_client("sqs", moto_env["AWS_ENDPOINT_URL"])
    return sqs, sqs.create_queue(QueueName=f"send-{uuid.uuid4().hex[:8]}")["QueueUrl"]


@pytest.fixture
def ledger(moto_env):
    ddb = aws_client("dynamodb", moto_env["AWS_ENDPOINT_URL"])
    name = f"ledger-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "message_key", "KeyType": "HASH"},
            {"AttributeName": "recipient", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "message_key", "AttributeType": "S"},
            {"AttributeName": "recipient", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return ddb, name


def received(sqs, url: str) -> list[dict]:
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        bodies += [json.loads(m["Body"]) for m in messages]


def test_send_enqueues_one_message_per_request_and_prints_the_keys(tmp_path, moto_env, queue):
    sqs, url = queue
    path = tmp_path / "requests.json"
    path.write_text(json.dumps([request(f"k-{i}") for i in range(12)]))
    result = maildispatch("send", str(path), "--queue-url", url, env=moto_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"k-{i}" for i in range(12)]
    assert sorted(b["message_key"] for b in received(sqs, url)) == sorted(f"k-{i}" for i in range(12))


def test_send_refuses_a_bad_request_naming_the_field_and_sends_nothing(tmp_path, moto_env, queue):
    sqs, url = queue
    path = tmp_path / "request.json"
    path.write_text(json.dumps([request("ok"), {**request("bad"), "to": ["nope"]}]))
    result = maildispatch("send", str(path), "--queue-url", url, env=moto_env)
    assert result.returncode == 1
    assert one_error_line(result).startswith("request 1: to[0]: ")
    assert received(sqs, url) == []


def test_status_prints_each_recipients_state_from_the_ledger(moto_env, ledger):
    ddb, table = ledger
    ddb.put_item(
        TableName=table,
        Item={
            "message_key": {"S": "order-1"},
            "recipient": {"S": "binh@example.net"},
            "state": {"S": "delivered"},
            "reply_code": {"N": "250"},
            "reply_status": {"S": "2.0.0"},
            "reply_text": {"S": "Ok: queued"},
            "updated_at": {"N": "1740830400"},
        },
    )
    ddb.put_item(
        TableName=table,
        Item={
            "message_key": {"S": "order-1"},
            "recipient": {"S": "ghost@example.net"},
            "state": {"S": "bounced"},
            "reply_code": {"N": "550"},
            "reply_status": {"S": "5.1.1"},
            "reply_text": {"S": "User unknown"},
            "updated_at": {"N": "1740830400"},
        },
    )
    result = maildispatch("status", "order-1", "--table", table, "--recipient", "Later@Example.org", env=moto_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "binh@example.net\tdelivered\t250 2.0.0 Ok: queued; updated 2025-03-01T12:00:00+00:00",
        "ghost@example.net\tbounced\t550 5.1.1 User unknown; updated 2025-03-01T12:00:00+00:00",
        "later@example.org\tqueued",
    ]


def test_status_of_an_unknown_key_exits_1(moto_env, ledger):
    _, table = ledger
    result = maildispatch("status", "nobody", "--table", table, env=moto_env)
    assert result.returncode == 1
    assert "no recipient recorded" in result.stderr


def test_status_without_a_table_or_stack_is_a_usage_error(moto_env):
    result = maildispatch("status", "k", env=moto_env)
    assert result.returncode == 2
    assert "--stack" in one_error_line(result)


def test_an_uploaded_attachment_is_a_reference_a_request_accepts(moto_env, queue, monkeypatch):
    for name, value in moto_env.items():
        monkeypatch.setenv(name, value)
    s3 = aws_client("s3", moto_env["AWS_ENDPOINT_URL"])
    bucket = f"content-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    sqs, url = queue
    client = MaildispatchClient(queue_url=url, bucket=bucket)
    ref = client.upload_attachment(b"%PDF-1.4 test", "invoice 1001.pdf", "application/pdf")
    assert ref["filename"] == "invoice 1001.pdf" and ref["s3"]["bucket"] == bucket
    assert ref["s3"]["key"].startswith("attachments/")
    assert s3.get_object(Bucket=bucket, Key=ref["s3"]["key"])["Body"].read() == b"%PDF-1.4 test"
    [key] = client.send([{**request("with-attachment"), "attachments": [ref]}])
    [body] = received(sqs, url)
    assert key == "with-attachment" and body["attachments"] == [ref]
