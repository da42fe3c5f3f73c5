"""The HTTP API end to end: requests over HTTP to the local server (tests/stack/http_api.py), which
hands API Gateway HTTP API events to the real handler (functions/api/app.py) against the embedded
stack, whose dispatch function then delivers through the scripted relay.

One stack for the module: every test uses its own recipients and keys.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid

import pytest

from maildispatch.adapters.http_api_aws import SqsSubmissionQueue
from tests.stack.local_stack import REPO, LocalStack, http_request

SHOP = "shop@example.com"
OTHER_CALLER = "arn:aws:sts::123456789012:assumed-role/billing/session-9"
RELAY_SCRIPT = {
    "rcpt": {
        "gone@example.net": ["550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown"],
        "later@example.org": ["451 4.7.1 Greylisted, please try again in 1 seconds", "250 2.1.5 OK"],
    }
}


def request(*to: str, **overrides) -> dict:
    return {"from": f"Shop <{SHOP}>", "to": list(to), "subject": "Hello", "text": "Hello there.", **overrides}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    moto_server.reset()
    with LocalStack(tmp_path_factory.mktemp("http-api"), moto=moto_server, relay_script=RELAY_SCRIPT) as running:
        yield running


def get(stack: LocalStack, path: str) -> tuple[int, dict]:
    return http_request(stack.api.url + path)


def key() -> str:
    return str(uuid.uuid4())


# --- What is delivered: posted first, then one dispatch attempt, then drained (one drain for the module) ---

UPLOADED = b"%PDF-1.7 invoice " * 1000
PRODUCER_REQUEST = json.loads((REPO / "events" / "producers" / "send-request.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def delivered(stack):
    """Requests sent every way this module delivers, the state of one message read before dispatch,
    after one attempt and at the end, and the relay's mail."""
    seen: dict = {}
    seen["plain"] = stack.post_message(request("http@example.net"))
    idempotency_key = key()
    seen["first"] = stack.post_message(request("replay@example.net"), idempotency_key=idempotency_key)
    seen["again"] = stack.post_message(request("replay@example.net"), idempotency_key=idempotency_key)
    seen["upload"] = http_request(
        stack.api.url + "/v1/uploads",
        {"filename": "invoice 7.pdf", "content_type": "application/pdf", "size": len(UPLOADED)},
    )
    upload = seen["upload"][1]["upload"]
    put = urllib.request.Request(upload["url"], data=UPLOADED, method="PUT", headers=upload["headers"])
    with urllib.request.urlopen(put, timeout=10) as response:
        seen["put_status"] = response.status
    seen["with_file"] = stack.post_message(request("files@example.net", attachments=[seen["upload"][1]["attachment"]]))
    seen["direct_key"] = f"queue-{uuid.uuid4().hex}"
    stack.enqueue([json.dumps(request("direct@example.net", message_key=seen["direct_key"]))])
    seen["producers"] = stack.send_through_each_producer(PRODUCER_REQUEST)  # what `make demo` does
    seen["states"] = stack.post_message(
        request("ok@example.net", "later@example.org", "gone@example.net", message_key=f"order-{uuid.uuid4().hex}")
    )
    url = seen["states"][1]["status_url"]
    seen["queued"] = get(stack, url)[1]
    stack.runner.sources[0].poll_once(wait_s=2)  # one dispatch attempt: the greylisted recipient waits
    seen["after_one_attempt"] = get(stack, url)[1]
    stack.drain(timeout_s=30)
    seen["at_the_end"] = get(stack, url)[1]
    seen["copies"] = stack.copies_received()
    seen["messages"] = stack.delivered_messages()
    seen["summary"] = stack.summary([])
    return seen


def test_a_posted_request_is_accepted_then_delivered(stack, delivered):
    status, answer = delivered["plain"]

    assert status == 202, answer
    message_key = answer["message_key"]
    assert message_key.startswith("api-")
    assert answer["status_url"] == f"/v1/messages/{message_key}"
    assert answer["_headers"]["location"] == answer["status_url"]
    assert delivered["copies"].get("http@example.net") == 1
    _, state = get(stack, answer["status_url"])
    [recipient] = state["recipients"]
    assert (recipient["recipient"], recipient["state"]) == ("http@example.net", "delivered")
    assert recipient["reply"]["code"] == 250


def test_the_demo_sends_one_request_through_each_producer_and_counts_each_path(delivered):
    copies = delivered["copies"]
    for producer in ("eventbridge", "sns", "s3", "http"):
        assert copies.get(f"lan+{producer}@example.net") == 1, producer
    producers = delivered["summary"]["producers"]
    assert set(producers) == {"eventbridge", "sns", "s3", "http"}
    assert producers["eventbridge"] == producers["sns"] == producers["s3"] == 1
    assert producers["http"] >= 1  # the module's other posted requests count too


def test_a_bad_request_gets_400_problem_details_naming_the_field(stack):
    status, answer = stack.post_message(request("ok@example.net", "not an address"))

    assert status == 400
    assert answer["_headers"]["content-type"] == "application/problem+json"
    assert answer["type"] == "urn:maildispatch:problem:invalid-request"
    assert answer["status"] == 400 and answer["title"] and "to[1]" in answer["detail"]
    assert [e["field"] for e in answer["errors"]] == ["to[1]"]
    assert get(stack, "/v1/messages/" + answer.get("message_key", "none"))[0] == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "$"),
        ("[1, 2]", "$"),
        ('{"from": "shop@example.com", "to": ["a@example.net"], "subject": "x", "text": "y", "colour": 1}', "colour"),
        ("", "$"),
    ],
)
def test_malformed_bodies_are_400_never_500(stack, body, field):
    status, answer = http_request(stack.api.url + "/v1/messages", body, method="POST")
    assert status == 400, answer
    assert answer["errors"][0]["field"] == field


def test_a_body_over_the_request_size_limit_is_refused_as_a_problem(stack):
    status, answer = stack.post_message(request("big@example.net", text="x" * (1024 * 1024 + 1)))
    assert status == 413
    assert answer["type"] == "urn:maildispatch:problem:body-too-large"


# --- Idempotency-Key ---------------------------------------------------------------------------------


def test_the_same_key_and_payload_replays_the_first_response_and_sends_once(delivered):
    first, again = delivered["first"], delivered["again"]

    assert first[0] == again[0] == 202
    assert {k: v for k, v in again[1].items() if k != "_headers"} == {
        k: v for k, v in first[1].items() if k != "_headers"
    }
    assert again[1]["_headers"].get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first[1]["_headers"]
    assert delivered["copies"].get("replay@example.net") == 1


def test_the_same_key_with_another_payload_is_422(stack):
    idempotency_key = key()
    assert stack.post_message(request("first@example.net"), idempotency_key=idempotency_key)[0] == 202
    status, answer = stack.post_message(request("second@example.net"), idempotency_key=idempotency_key)
    assert status == 422
    assert answer["type"] == "urn:maildispatch:problem:idempotency-key-reused"


def test_a_key_is_derived_from_the_idempotency_key_and_a_refused_request_does_not_use_it_up(stack):
    idempotency_key = key()
    assert stack.post_message(request("x@example.net", "bad"), idempotency_key=idempotency_key)[0] == 400
    status, answer = stack.post_message(request("fixed@example.net"), idempotency_key=idempotency_key)
    assert status == 202
    # a different caller with the same key: its own record, its own derived message key
    other = http_request(
        stack.api.url + "/v1/messages",
        request("fixed@example.net"),
        idempotency_key=idempotency_key,
        headers={"X-Local-Caller-Arn": OTHER_CALLER},
    )
    assert other[0] == 202 and "idempotent-replayed" not in other[1]["_headers"]
    assert other[1]["message_key"] != answer["message_key"]


def test_different_callers_with_the_same_key_do_not_meet(stack):
    idempotency_key = key()
    mine = stack.post_message(request("mine@example.net"), idempotency_key=idempotency_key)
    theirs = http_request(
        stack.api.url + "/v1/messages",
        request("theirs@example.net"),  # another payload: would be 422 under one caller
        idempotency_key=idempotency_key,
        headers={"X-Local-Caller-Arn": OTHER_CALLER},
    )
    assert mine[0] == theirs[0] == 202
    assert mine[1]["message_key"] != theirs[1]["message_key"]


def test_a_key_still_in_flight_is_409_and_the_first_request_then_completes(stack):
    """The first request is held inside its container (its queue write waits) while a second one, in a
    container of its own, arrives with the same key."""
    idempotency_key = key()
    entered, release = threading.Event(), threading.Event()
    held = _container_with_held_queue(stack, entered, release)
    stack.api._idle.append(held)  # the next request lands in it
    first: dict = {}
    thread = threading.Thread(
        target=lambda: first.update(
            answer=stack.post_message(request("inflight@example.net"), idempotency_key=idempotency_key)
        )
    )
    thread.start()
    try:
        assert entered.wait(10)
        status, answer = stack.post_message(request("inflight@example.net"), idempotency_key=idempotency_key)
        assert status == 409, answer
        assert answer["type"] == "urn:maildispatch:problem:idempotency-key-in-use"
        assert answer["_headers"]["retry-after"]
    finally:
        release.set()
        thread.join(10)
    assert first["answer"][0] == 202
    replay = stack.post_message(request("inflight@example.net"), idempotency_key=idempotency_key)
    assert replay[0] == 202 and replay[1]["message_key"] == first["answer"][1]["message_key"]


def test_a_request_the_queue_refused_is_503_and_frees_its_key(stack):
    idempotency_key = key()
    stack.api._idle.append(_container_with_failing_queue(stack))
    status, answer = stack.post_message(request("retry@example.net"), idempotency_key=idempotency_key)
    assert status == 503
    assert answer["type"] == "urn:maildispatch:problem:unavailable"
    assert answer["_headers"]["retry-after"]
    status, answer = stack.post_message(request("retry@example.net"), idempotency_key=idempotency_key)
    assert status == 202 and "idempotent-replayed" not in answer["_headers"]


def _container_with_failing_queue(stack: LocalStack):
    """A container whose first queue write goes to a queue that does not exist (as when SQS refuses)."""
    function = stack._load_function("ApiFunction")
    messages = function.module.api.messages
    real, missing = messages.queue, SqsSubmissionQueue(stack.stack.queue_url("SendQueue") + "-gone")

    class RefusesOnce:
        def send(self, body: str) -> None:
            messages.queue = real
            missing.send(body)

    messages.queue = RefusesOnce()
    return function.module.handler


def _container_with_held_queue(stack: LocalStack, entered: threading.Event, release: threading.Event):
    function = stack._load_function("ApiFunction")
    messages = function.module.api.messages
    real = messages.queue

    class HeldQueue:
        def send(self, body: str) -> None:
            entered.set()
            release.wait(10)
            real.send(body)

    messages.queue = HeldQueue()
    return function.module.handler


# --- GET /v1/messages/{key} ------------------------------------------------------------------------


def test_status_goes_from_queued_to_delivered_deferred_and_bounced(delivered):
    assert delivered["states"][0] == 202
    queued = delivered["queued"]
    assert {r["recipient"]: r["state"] for r in queued["recipients"]} == dict.fromkeys(
        ["gone@example.net", "later@example.org", "ok@example.net"], "queued"
    )
    assert queued["accepted_at"]

    by_recipient = {r["recipient"]: r for r in delivered["after_one_attempt"]["recipients"]}
    assert by_recipient["ok@example.net"]["state"] == "delivered"
    gone = by_recipient["gone@example.net"]
    assert gone["state"] == "bounced"
    assert (gone["reply"]["code"], gone["reply"]["status"]) == (550, "5.1.1")
    assert "User unknown" in gone["reply"]["text"]
    deferred = by_recipient["later@example.org"]
    assert deferred["state"] == "deferred" and deferred["next_attempt_at"] >= deferred["updated_at"]
    assert deferred["reply"]["code"] == 451

    at_the_end = {r["recipient"]: r["state"] for r in delivered["at_the_end"]["recipients"]}
    assert at_the_end == {
        "gone@example.net": "bounced",
        "later@example.org": "delivered",
        "ok@example.net": "delivered",
    }


def test_an_unknown_key_is_404_problem_details(stack):
    status, answer = get(stack, "/v1/messages/never-sent%2Fwith-a-slash")
    assert status == 404
    assert answer["type"] == "urn:maildispatch:problem:unknown-message"
    assert answer["message_key"] == "never-sent/with-a-slash"


def test_a_message_from_another_producer_reads_the_same(stack, delivered):
    status, answer = get(stack, f"/v1/messages/{delivered['direct_key']}")
    assert status == 200
    assert [(r["recipient"], r["state"]) for r in answer["recipients"]] == [("direct@example.net", "delivered")]
    assert "accepted_at" not in answer


# --- POST /v1/uploads ----------------------------------------------------------------------------------


def test_an_upload_url_takes_the_file_and_the_reference_sends_it(delivered):
    status, answer = delivered["upload"]
    assert status == 201, answer
    assert delivered["put_status"] == 200
    reference = answer["attachment"]
    assert reference["s3"]["key"].startswith("attachments/") and reference["s3"]["key"].endswith("/invoice_7.pdf")
    assert delivered["with_file"][0] == 202
    [sent] = [m for m in delivered["messages"] if "files@example.net" in m.get_all("X-Envelope-To", [])]
    [attachment] = list(sent.iter_attachments())
    assert attachment.get_filename() == "invoice 7.pdf" and attachment.get_content() == UPLOADED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filename": "run.exe", "size": 10}, "filename"),
        ({"filename": "a.pdf"}, "size"),
        ({"filename": "a.pdf", "size": 11 * 1024 * 1024}, "size"),
        ({"filename": "a.pdf", "size": 1, "bucket": "mine"}, "bucket"),
    ],
)
def test_an_upload_request_is_checked_like_an_attachment(stack, body, field):
    status, answer = http_request(stack.api.url + "/v1/uploads", body)
    assert status == 400
    assert answer["errors"][0]["field"] == field
