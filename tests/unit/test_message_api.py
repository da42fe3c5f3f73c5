"""The HTTP API's use cases on in-memory ports, and the header and caller rules it keys requests by."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from maildispatch.core.message_status import RecipientStatus
from maildispatch.core.request import InvalidRequest
from maildispatch.ports import SubmissionFailed
from maildispatch.runtime.api_caller import caller_identity
from maildispatch.runtime.api_idempotency import InvalidIdempotencyKey, idempotency_key
from maildispatch.runtime.settings import SettingsError
from maildispatch.runtime.settings_api import ApiSettings
from maildispatch.services.message_api import MessageApi, MessageApiPolicy, UnknownMessage, derive_message_key
from tests.fakes.message_api import FakeMessageLedger, FakeSubmissionQueue, FakeUploadSigner

REQUEST = {"from": "shop@example.com", "to": ["Binh@Example.net", "an@example.net"], "subject": "Hi", "text": "x"}


def api(**kwargs) -> MessageApi:
    ids = iter(f"id{i}" for i in range(100))
    return MessageApi(
        kwargs.pop("queue", FakeSubmissionQueue()),
        kwargs.pop("ledger", FakeMessageLedger()),
        kwargs.pop("uploads", FakeUploadSigner()),
        MessageApiPolicy(max_upload_bytes=1000),
        new_id=lambda: next(ids),
    )


def test_a_request_without_a_key_gets_a_fresh_one_and_is_enqueued_with_it():
    service = api()
    accepted = service.accept(REQUEST, caller="iam:a")
    assert accepted.message_key == "api-id0"
    [body] = service.queue.bodies
    assert json.loads(body) == {**REQUEST, "message_key": "api-id0"}
    assert service.ledger.status("api-id0").to_json()["recipients"] == [
        {"recipient": "an@example.net", "state": "queued"},
        {"recipient": "binh@example.net", "state": "queued"},
    ]


def test_with_an_idempotency_key_the_message_key_is_derived_per_caller():
    first = derive_message_key("iam:a", "k-1", lambda: "new")
    assert first == derive_message_key("iam:a", "k-1", lambda: "other")
    assert first != derive_message_key("iam:b", "k-1", lambda: "new")
    assert first.startswith("api-") and len(first) == 44


def test_a_request_naming_its_key_keeps_it():
    assert api().accept({**REQUEST, "message_key": "order-7"}, caller="iam:a", idempotency_key="k").message_key == (
        "order-7"
    )


def test_an_invalid_request_names_the_field_and_enqueues_nothing():
    service = api()
    with pytest.raises(InvalidRequest) as raised:
        service.read(json.dumps({**REQUEST, "to": ["ok@example.net", "nope"]}))
    assert raised.value.field == "to[1]"
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        service.read(b"{")
    assert service.queue.bodies == []


def test_a_queue_failure_raises_and_a_ledger_failure_after_enqueueing_does_not():
    with pytest.raises(SubmissionFailed):
        api(queue=FakeSubmissionQueue(fail=True)).accept(REQUEST, caller="iam:a")
    service = api(ledger=FakeMessageLedger(fail_recording=True))
    assert service.accept(REQUEST, caller="iam:a").message_key == "api-id0"  # it is on the queue
    assert len(service.queue.bodies) == 1


def test_status_merges_ledger_rows_with_the_recorded_recipients_and_unknown_is_an_error():
    ledger = FakeMessageLedger()
    service = api(ledger=ledger)
    key = service.accept(REQUEST, caller="iam:a").message_key
    when = datetime(2026, 1, 1, 12, tzinfo=UTC)
    ledger.rows[key] = [RecipientStatus("an@example.net", "bounced", when, reply_code=550, reply_status="5.1.1")]
    status = service.status(key).to_json()
    assert status["recipients"] == [
        {
            "recipient": "an@example.net",
            "state": "bounced",
            "updated_at": "2026-01-01T12:00:00+00:00",
            "reply": {"code": 550, "status": "5.1.1"},
        },
        {"recipient": "binh@example.net", "state": "queued"},
    ]
    with pytest.raises(UnknownMessage):
        service.status("never")


def test_an_upload_is_signed_under_the_attachment_prefix_for_its_exact_size():
    service = api()
    upload = service.upload("Q3 report.pdf", None, 900)
    [signed] = service.uploads.signed
    assert signed == {
        "key": "attachments/id0/Q3_report.pdf",
        "content_type": "application/pdf",
        "size": 900,
        "expires_in": 900,
    }
    assert upload.attachment == {
        "filename": "Q3 report.pdf",
        "content_type": "application/pdf",
        "s3": {"bucket": "content", "key": "attachments/id0/Q3_report.pdf"},
    }


@pytest.mark.parametrize(
    ("filename", "content_type", "size", "field"),
    [
        ("setup.exe", None, 10, "filename"),
        ("../a.pdf", None, 10, "filename"),
        ("a.pdf", "application/x-msdownload", 10, "content_type"),
        ("a.pdf", None, 1001, "size"),
        ("a.pdf", None, "10", "size"),
        ("a.pdf", None, True, "size"),
    ],
)
def test_an_upload_is_refused_for_what_an_attachment_may_not_be(filename, content_type, size, field):
    with pytest.raises(InvalidRequest) as raised:
        api().upload(filename, content_type, size)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ("plain-token", "plain-token"),
        ('"with \\"quote\\""', 'with "quote"'),
    ],
)
def test_the_idempotency_key_header_is_an_sf_string(header, key):
    assert idempotency_key({"idempotency-key": header}) == key
    assert idempotency_key({"Idempotency-Key": header}) == key


@pytest.mark.parametrize(
    "header", ['""', '"a", "b"', "a,b", '"unterminated', '"bad \\x"', '"' + "k" * 256 + '"', '"tab\t"']
)
def test_a_malformed_idempotency_key_is_refused(header):
    with pytest.raises(InvalidIdempotencyKey):
        idempotency_key({"idempotency-key": header})


def test_no_header_no_key():
    assert idempotency_key({"content-type": "application/json"}) is None


def test_the_caller_is_the_iam_role_without_its_session_or_the_jwt_subject():
    def iam(arn: str) -> dict:
        return {"requestContext": {"authorizer": {"iam": {"userArn": arn, "accountId": "1", "userId": "x"}}}}

    role = "arn:aws:sts::123456789012:assumed-role/producer"
    assert caller_identity(iam(role + "/session-1")) == caller_identity(iam(role + "/session-2")) == "iam:" + role
    assert caller_identity(iam("arn:aws:iam::123456789012:user/ci")) == "iam:arn:aws:iam::123456789012:user/ci"
    jwt = {"requestContext": {"authorizer": {"jwt": {"claims": {"iss": "https://idp", "sub": "u-1"}}}}}
    assert caller_identity(jwt) == "jwt:https://idp|u-1"
    assert caller_identity({"requestContext": {}}) == "anonymous"


def test_api_settings_need_the_queue_ledger_and_idempotency_table_and_keep_keys_a_day_by_default():
    env = {"SEND_QUEUE_URL": "q", "LEDGER_TABLE": "l", "IDEMPOTENCY_TABLE": "i"}
    settings = ApiSettings.from_environ(env)
    assert (settings.idempotency_seconds, settings.content_bucket, settings.attachment_prefix) == (
        86400,
        None,
        "attachments/",
    )
    assert ApiSettings.from_environ({**env, "IDEMPOTENCY_TTL": "2h"}).idempotency_seconds == 7200
    with pytest.raises(SettingsError, match="IDEMPOTENCY_TTL"):
        ApiSettings.from_environ({**env, "IDEMPOTENCY_TTL": "10s"})
    with pytest.raises(SettingsError, match="IDEMPOTENCY_TABLE"):
        ApiSettings.from_environ({"SEND_QUEUE_URL": "q", "LEDGER_TABLE": "l"})
