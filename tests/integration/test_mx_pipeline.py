"""Direct-to-MX through the real handlers, with no relay at all: the dispatch function delivers by MX
lookup and the bounce function delivers its DSNs to the MX of the sender's domain, on a stack that
never started a relay and whose functions are told of none. What `make demo` shows in its MX phase
(tests/stack/mx_world.py)."""

from __future__ import annotations

import json

import pytest

from maildispatch.runtime.metric_names import METRIC_NAMES
from maildispatch.runtime.sqs_batch import SqsBatchFunction
from tests.stack.local_stack import REPO, LocalStack
from tests.stack.mx_world import GONE_SENDER, NO_SUCH_DOMAIN, NULL_MX, SENDER_MX, TWO_MX, UNKNOWN_RECIPIENT, MxWorld

# Refused by the recipients' MX, each from a sender whose DSN cannot be delivered: the senders' MX
# refuses it (550), the sender's domain has a null MX, the sender's domain does not exist.
UNDELIVERABLE_DSNS = {
    f"nobody+gone@{TWO_MX}": GONE_SENDER,
    f"nobody+null-mx@{TWO_MX}": f"shop@{NULL_MX}",
    f"nobody+nxdomain@{TWO_MX}": f"shop@{NO_SUCH_DOMAIN}",
}


def request(key: str, sender: str, recipient: str, subject: str) -> str:
    return json.dumps({"message_key": key, "from": sender, "to": [recipient], "subject": subject, "text": "Hello."})


@pytest.fixture(scope="module")
def mx_run(tmp_path_factory, moto_server):
    moto_server.reset()
    root = tmp_path_factory.mktemp("mx-pipeline")
    with MxWorld(root / "mx") as world, LocalStack(root / "stack", moto=moto_server, mx_world=world) as stack:
        world.dns.servfail.add("flaky-dns.test")
        refused = [UNKNOWN_RECIPIENT, *UNDELIVERABLE_DSNS]
        world.mx.set_script(
            {"rcpt": {r: [f"550 5.1.1 <{r}>: Recipient address rejected: User unknown"] for r in refused}}
        )
        stack.enqueue_samples(REPO / "events" / "mx-requests")
        stack.enqueue(
            [
                request("mx-servfail-1", "shop@example.com", "lan@flaky-dns.test", "DNS fails first"),
                request("mx-refused-1", "Hoa Sen Shop <shop@example.com>", UNKNOWN_RECIPIENT, "To nobody"),
                *(
                    request(f"mx-dsn-lost-{n}", sender, recipient, "Its DSN goes nowhere")
                    for n, (recipient, sender) in enumerate(UNDELIVERABLE_DSNS.items())
                ),
            ]
        )
        # the first attempt meets SERVFAIL (4.4.3, deferred); the DNS recovers before the retry (1 s later)
        first = stack.runner.drain(timeout_s=1.5, idle_s=0.3)
        deferred = {i["recipient"]["S"]: i["state"]["S"] for i in stack.ledger_items()}.get("lan@flaky-dns.test")
        world.dns.servfail.discard("flaky-dns.test")
        world.dns.add("flaky-dns.test", "MX", "10 mx2.two-mx.test.")
        stack.drain(timeout_s=30)
        yield stack, world, deferred, first


def test_the_stack_runs_no_relay_and_neither_function_knows_one(mx_run):
    stack, _, _, _ = mx_run
    assert stack.relay is None
    for logical_id in ("DispatchFunction", "BounceFunction"):
        [function] = [v for v in vars(stack.functions[logical_id].module).values() if isinstance(v, SqsBatchFunction)]
        assert (function.settings.delivery_mode, function.settings.relay) == ("mx", None)


def test_mx_delivery_and_dns_bounces_end_as_the_demo_says(mx_run):
    stack, world, _, _ = mx_run
    summary = stack.mx_summary()
    # delivered: an@ and binh@; bounced with a DSN delivered: chi@, dung@ and nobody@ (not the three whose
    # DSN could not be delivered, below)
    assert (summary["mx_delivered"], summary["mx_bounced"]) == (2, 3)
    assert summary["mx_outcomes"]["chi@null-mx.test"] == "bounced 5.1.10"
    assert summary["mx_outcomes"]["dung@no-such-domain.test"] == "bounced 5.1.2"
    assert summary["mx_outcomes"][UNKNOWN_RECIPIENT] == "bounced 5.1.1"
    received = {m["X-Envelope-To"] for m in world.mx.messages()}
    assert {"an@two-mx.test", "binh@two-mx.test"} <= received
    assert all(e["hostname"] == "out.maildispatch.test" for e in world.mx.log_events("ehlo"))


def test_a_refused_recipients_dsn_is_delivered_to_the_senders_mx_from_the_null_sender(mx_run):
    _, world, _, _ = mx_run
    [dsn] = [m for m in world.sender_mx.messages() if UNKNOWN_RECIPIENT in m.as_string()]
    assert dsn["X-Envelope-From"] == "<>" and dsn["X-Envelope-To"] == "shop@example.com"
    assert dsn.get_content_type() == "multipart/report" and dsn.get_param("report-type") == "delivery-status"
    text = dsn.as_string()
    assert "Status: 5.1.1" in text and f"Remote-MTA: dns; mx2.{TWO_MX}" in text
    # it went by MX lookup: to mx.example.com's address, in a session that said our EHLO name
    assert all(e["hostname"] == "out.maildispatch.test" for e in world.sender_mx.log_events("ehlo"))
    assert world.sender_mx.host == SENDER_MX


def test_the_null_mx_bounce_reaches_the_sender_as_a_dsn(mx_run):
    stack, world, _, _ = mx_run
    [dsn] = [m for m in stack.dsn_messages() if "chi@null-mx.test" in m.as_string()]
    text = dsn.as_string()
    assert dsn["To"] and "shop@example.com" in dsn["To"]
    assert "Status: 5.1.10" in text and "null MX" in text
    assert dsn["Message-ID"] in {m["Message-ID"] for m in world.sender_mx.messages()}  # delivered by MX


def test_a_dsn_nobody_can_take_is_counted_and_dropped_never_retried_and_never_reported(mx_run):
    stack, world, _, _ = mx_run
    states = {i["recipient"]["S"]: i["state"]["S"] for i in stack.ledger_items()}
    assert all(states[recipient] == "bounced" for recipient in UNDELIVERABLE_DSNS)
    # each bounce was reported (the event) and its DSN tried once: the senders' MX refused gone@ ...
    refusals = world.sender_mx.log_events("rcpt", recipient=GONE_SENDER)
    assert [e["reply"][:3] for e in refusals] == ["550"]
    # ... while null-mx.test and no-such-domain.test have nowhere to deliver to
    events = [e["detail"] for e in stack.bounce_events()]
    assert {r["address"] for e in events for r in e["recipients"]} >= set(UNDELIVERABLE_DSNS)
    counts = stack.functions["BounceFunction"].counts
    assert counts["dsn_undeliverable"] == len(UNDELIVERABLE_DSNS)
    assert METRIC_NAMES["dsn_undeliverable"] == "DsnUndeliverable"
    # no DSN about a DSN: the only DSNs anywhere are the three delivered ones (chi@, dung@, nobody@, all to
    # shop@example.com), and nothing waits on the dead-letter queue
    dsns = world.dsn_messages()
    assert [m["X-Envelope-To"] for m in dsns] == ["shop@example.com"] * 3
    assert not [m for m in dsns if any(r in m.as_string() for r in UNDELIVERABLE_DSNS)]
    assert stack.queue_depth("DeadLetterQueue") == 0


def test_warm_bounce_invocations_send_their_dsns_over_the_mx_connection_the_first_left_open(mx_run):
    stack, world, _, _ = mx_run
    dead_letters = stack.stack.queue_url("DeadLetterQueue")

    def redriven(key: str) -> None:  # a send request SQS moved to the dead-letter queue: reported to its sender
        stack.sqs.send_message(
            QueueUrl=dead_letters, MessageBody=request(key, "shop@example.com", "x@two-mx.test", "Hi")
        )
        stack.runner.drain(timeout_s=10, idle_s=0.2)

    before = len(world.sender_mx.messages())
    redriven("mx-redriven-1")
    connects = len(world.sender_mx.log_events("connect"))
    redriven("mx-redriven-2")
    assert len(world.sender_mx.messages()) - before == 2
    assert len(world.sender_mx.log_events("connect")) == connects, "the second DSN went over the kept connection"


def test_servfail_is_retried_and_delivered_once_dns_answers(mx_run):
    stack, world, deferred, _ = mx_run
    assert deferred == "deferred"
    rows = {i["recipient"]["S"]: i for i in stack.ledger_items()}
    assert rows["lan@flaky-dns.test"]["state"]["S"] == "delivered"
    assert int(rows["lan@flaky-dns.test"]["attempts"]["N"]) >= 2
    assert "lan@flaky-dns.test" in {m["X-Envelope-To"] for m in world.mx.messages()}
