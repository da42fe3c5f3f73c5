"""Relay connections that outlive an invocation, against the scripted relay.

A warm container keeps one event loop and one RelayTransport (runtime/sqs_batch.py,
runtime/dispatch_function.py). Each invocation below is one `Runner.run`, as `handle` does it:
between two of them the loop does not run, as in a frozen Lambda container.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildispatch.adapters.smtp_relay import RelayTransport
from maildispatch.core.outcome import Delivered, Envelope, Outcome
from tests.stack.relay_fixtures import RELAY_PASSWORD, RELAY_USER, RelayProcess, relay_settings_for

SHOP = "shop@example.com"
RECIPIENTS = ("an.nguyen@example.net", "binh@example.net", "chi@example.org")


def message(recipients: tuple[str, ...], message_id: str) -> bytes:
    head = f"From: {SHOP}\r\nTo: {', '.join(recipients)}\r\nSubject: warm\r\nMessage-ID: <{message_id}@example.com>\r\n"
    return (head + "\r\nHello again.\r\n").encode()


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


def invocation(
    runner: asyncio.Runner, transport: RelayTransport, recipients: tuple[str, ...], message_id: str
) -> list[Outcome]:
    """One warm invocation: expire idle connections, then deliver one message, as the dispatch function does."""

    async def run() -> list[Outcome]:
        await transport.expire_idle()
        return await transport.deliver(Envelope(SHOP, recipients), message(recipients, message_id))

    return runner.run(run())


def events(relay: RelayProcess, *names: str) -> list[str]:
    return [e["event"] for e in relay.log_events() if e["event"] in names]


def test_two_invocations_share_one_connection(tmp_path: Path, runner: asyncio.Runner) -> None:
    with RelayProcess().start(tmp_path / "relay", auth=(RELAY_USER, RELAY_PASSWORD)) as relay:
        transport = RelayTransport(relay_settings_for(relay))
        first = invocation(runner, transport, RECIPIENTS[:1], "one")
        second = invocation(runner, transport, RECIPIENTS[1:2], "two")
        assert all(isinstance(o, Delivered) for o in first + second)
        assert len(relay.log_events("connect")) == 1
        assert len(relay.log_events("auth")) == 1
        assert relay.log_events("quit") == [], "the connection stays open between invocations"
        assert transport.pooled == 1
        runner.run(transport.close())
        assert len(relay.log_events("quit")) == 1


def test_a_connection_idle_past_the_limit_is_closed_and_replaced(tmp_path: Path, runner: asyncio.Runner) -> None:
    with RelayProcess().start(tmp_path / "relay", auth=(RELAY_USER, RELAY_PASSWORD)) as relay:
        transport = RelayTransport(relay_settings_for(relay, idle_timeout=0.3))
        invocation(runner, transport, RECIPIENTS[:1], "one")
        time.sleep(0.4)
        assert runner.run(transport.expire_idle()) == 1
        assert transport.pooled == 0
        assert len(relay.log_events("quit")) == 1, "an expired connection is QUIT, not just dropped"
        (outcome,) = invocation(runner, transport, RECIPIENTS[1:2], "two")
        assert isinstance(outcome, Delivered)
        assert len(relay.log_events("connect")) == 2


def test_a_connection_that_waited_is_checked_with_noop_before_reuse(tmp_path: Path, runner: asyncio.Runner) -> None:
    with RelayProcess().start(tmp_path / "relay", auth=(RELAY_USER, RELAY_PASSWORD)) as relay:
        transport = RelayTransport(relay_settings_for(relay, recheck_after=0.2))
        invocation(runner, transport, RECIPIENTS[:1], "one")
        invocation(runner, transport, RECIPIENTS[1:2], "two")  # at once: no check
        time.sleep(0.3)
        invocation(runner, transport, RECIPIENTS[2:], "three")
        assert events(relay, "connect", "mail", "noop") == ["connect", "mail", "mail", "noop", "mail"]


@pytest.mark.parametrize("recheck_after", [0.0, 3600.0], ids=["checked with NOOP", "found out by MAIL FROM"])
def test_a_connection_the_relay_dropped_between_invocations_is_replaced_and_each_recipient_sent_once(
    tmp_path: Path, runner: asyncio.Runner, recheck_after: float
) -> None:
    with RelayProcess().start(tmp_path / "relay", auth=(RELAY_USER, RELAY_PASSWORD), idle_timeout=0.5) as relay:
        transport = RelayTransport(relay_settings_for(relay, recheck_after=recheck_after))
        first = invocation(runner, transport, RECIPIENTS[:1], "one")
        deadline = time.monotonic() + 5
        while not relay.log_events("idle_timeout") and time.monotonic() < deadline:
            time.sleep(0.05)  # the relay closes the idle session while our loop is not running
        assert relay.log_events("idle_timeout"), "the relay should have closed the idle session"
        second = invocation(runner, transport, RECIPIENTS, "two")
        assert all(isinstance(o, Delivered) for o in first + second)
        assert len(relay.log_events("connect")) == 2
        copies = relay.stored_copies()
        assert copies == {("<one@example.com>", RECIPIENTS[0]): 1, **{("<two@example.com>", r): 1 for r in RECIPIENTS}}
        runner.run(transport.close())
