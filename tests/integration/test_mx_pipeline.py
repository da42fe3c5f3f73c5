"""Direct-to-MX through the real handlers: the dispatch function in mx mode on the local stack, DSNs by
the bounce function. What `make demo` shows in its MX phase (tests/stack/mx_world.py)."""

from __future__ import annotations

import json

import pytest

from tests.stack.local_stack import REPO, LocalStack
from tests.stack.mx_world import MxWorld


@pytest.fixture(scope="module")
def mx_run(tmp_path_factory, moto_server):
    moto_server.reset()
    root = tmp_path_factory.mktemp("mx-pipeline")
    with LocalStack(root / "stack", moto=moto_server) as stack, MxWorld(root / "mx") as world:
        stack.use_mx_mode(world)
        world.dns.servfail.add("flaky-dns.test")
        stack.enqueue_samples(REPO / "events" / "mx-requests")
        stack.enqueue(
            [
                json.dumps(
                    {
                        "message_key": "mx-servfail-1",
                        "from": "shop@example.com",
                        "to": ["lan@flaky-dns.test"],
                        "subject": "DNS fails first",
                        "text": "SERVFAIL first, then the domain resolves.",
                    }
                )
            ]
        )
        # the first attempt meets SERVFAIL (4.4.3, deferred); the DNS recovers before the retry (1 s later)
        first = stack.runner.drain(timeout_s=1.5, idle_s=0.3)
        deferred = {i["recipient"]["S"]: i["state"]["S"] for i in stack.ledger_items()}.get("lan@flaky-dns.test")
        world.dns.servfail.discard("flaky-dns.test")
        world.dns.add("flaky-dns.test", "MX", "10 mx2.two-mx.test.")
        stack.drain(timeout_s=30)
        yield stack, world, deferred, first


def test_mx_delivery_and_dns_bounces_end_as_the_demo_says(mx_run):
    stack, world, _, _ = mx_run
    summary = stack.mx_summary()
    assert (summary["mx_delivered"], summary["mx_bounced"]) == (2, 2)
    assert summary["mx_outcomes"]["chi@null-mx.test"] == "bounced 5.1.10"
    assert summary["mx_outcomes"]["dung@no-such-domain.test"] == "bounced 5.1.2"
    received = {m["X-Envelope-To"] for m in world.mx.messages()}
    assert {"an@two-mx.test", "binh@two-mx.test"} <= received
    assert all(e["hostname"] == "out.maildispatch.test" for e in world.mx.log_events("ehlo"))


def test_the_null_mx_bounce_reaches_the_sender_as_a_dsn(mx_run):
    stack, _, _, _ = mx_run
    [dsn] = [m for m in stack.dsn_messages() if "chi@null-mx.test" in m.as_string()]
    text = dsn.as_string()
    assert dsn["To"] and "shop@example.com" in dsn["To"]
    assert "Status: 5.1.10" in text and "null MX" in text


def test_servfail_is_retried_and_delivered_once_dns_answers(mx_run):
    stack, world, deferred, _ = mx_run
    assert deferred == "deferred"
    rows = {i["recipient"]["S"]: i for i in stack.ledger_items()}
    assert rows["lan@flaky-dns.test"]["state"]["S"] == "delivered"
    assert int(rows["lan@flaky-dns.test"]["attempts"]["N"]) >= 2
    assert "lan@flaky-dns.test" in {m["X-Envelope-To"] for m in world.mx.messages()}
