"""RelayTransport against the scripted test relay: a real aiosmtpd server with STARTTLS and AUTH.

Each test reads as a rule of the transport: what outcome each recipient gets, when a connection
is reused, retried or discarded, and where the line between Deferred and Uncertain runs.
"""
from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from pathlib import Path

import pytest

from maildispatch.outcome import Bounced, Deferred, Delivered, Outcome, Uncertain
from maildispatch.smtp_relay import Envelope, RelayConfigError, RelaySettings, RelayTransport
from tests.stack.relay_fixtures import RELAY_PASSWORD, RELAY_USER, RelayProcess

SHOP = "shop@example.com"
AN, BINH = "an.nguyen@example.net", "binh@example.net"
GHOST, BUSY = "ghost@example.net", "busy@example.org"


def message(body: str = "Hello from maildispatch.\r\n", recipients: tuple[str, ...] = (AN,)) -> bytes:
    head = f"From: {SHOP}\r\nTo: {', '.join(recipients)}\r\nSubject: test\r\nMessage-ID: <t@example.com>\r\n\r\n"
    return (head + body).encode("utf-8")


def deliver(settings: RelaySettings, *deliveries: tuple[Envelope, bytes]) -> list[list[Outcome]]:
    """Deliver one after another through one transport (one pool), then close it."""

    async def run() -> list[list[Outcome]]:
        async with RelayTransport(settings) as transport:
            return [await transport.deliver(envelope, data) for envelope, data in deliveries]

    return asyncio.run(run())


def deliver_one(settings: RelaySettings, *recipients: str, sender: str = SHOP, data: bytes | None = None) -> list[Outcome]:
    return deliver(settings, (Envelope(sender, recipients), data or message(recipients=recipients)))[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def larger_than_socket_buffers() -> int:
    """A size the kernel cannot buffer whole, so a relay that stops reading stops us mid-content."""
    try:
        wmem_max = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        wmem_max = 4 * 1024 * 1024
    return wmem_max + 2 * 1024 * 1024


# Settings


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"security": "ssl"}, "security"),
        ({"security": "none"}, "allow_insecure"),
        ({"security": "none", "allow_insecure": True, "username": "u", "password": "p"}, "never sent unencrypted"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"username": "u"}, "together"),
        ({"timeout": 0}, "timeout"),
        ({"max_connections": 0}, "max_connections"),
    ],
)
def test_settings_that_cannot_work_are_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    settings = dataclasses.replace(RelaySettings(host="smtp.example.com"), **changes)  # type: ignore[arg-type]
    with pytest.raises(RelayConfigError, match=field):
        settings.validate()
    with pytest.raises(RelayConfigError):
        RelayTransport(settings)


def test_the_password_never_shows_in_the_settings_repr() -> None:
    assert "s3cret" not in repr(RelaySettings(host="smtp.example.com", username="me", password="s3cret"))


def test_an_unreadable_ca_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(RelayConfigError, match="ca_file"):
        RelayTransport(RelaySettings(host="smtp.example.com", ca_file=str(tmp_path / "missing.pem")))


# Outcomes per recipient


def test_every_recipient_gets_its_own_outcome_in_envelope_order(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    relay.set_script({"rcpt": {
        GHOST: ["550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown"],
        BUSY: ["451 4.7.1 Greylisted, please try again in 1 seconds", "250 2.1.5 OK"],
    }})
    an, ghost, busy, binh = deliver_one(relay_settings, AN, GHOST, BUSY, BINH)

    assert [type(o) for o in (an, ghost, busy, binh)] == [Delivered, Bounced, Deferred, Delivered]
    assert [o.recipient for o in (an, ghost, busy, binh)] == [AN, GHOST, BUSY, BINH]
    assert (an.reply.code, an.reply.remote_mta) == (250, "127.0.0.1")
    assert (ghost.reply.code, ghost.reply.status) == (550, "5.1.1")
    assert "User unknown" in ghost.reply.text
    assert isinstance(busy, Deferred) and busy.reply.status == "4.7.1" and busy.retry_after == 1.0
    (stored,) = relay.messages()
    assert stored["X-Envelope-From"] == SHOP
    assert stored.get_all("X-Envelope-To") == [AN, BINH]
    assert stored["Subject"] == "test"

    (busy_again,) = deliver_one(relay_settings, BUSY)
    assert isinstance(busy_again, Delivered), "the greylisting relay takes it the second time"


def test_the_null_sender_is_sent_as_empty_path(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    (outcome,) = deliver_one(relay_settings, AN, sender="")
    assert isinstance(outcome, Delivered)
    assert relay.log_events("mail")[0]["sender"] == "<>"
    assert relay.messages()[0]["X-Envelope-From"] == "<>"


def test_the_reply_to_the_content_applies_to_every_accepted_recipient(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    relay.set_script({
        "rcpt": {GHOST: ["550 5.1.1 User unknown"]},
        "data": {AN: ["554 5.7.1 Message rejected as spam", "451 4.3.0 Queue full, try again in 2 minutes"]},
    })
    an, ghost, binh = deliver_one(relay_settings, AN, GHOST, BINH)
    assert isinstance(an, Bounced) and isinstance(binh, Bounced)
    assert an.reply == binh.reply and (an.reply.code, an.reply.status) == (554, "5.7.1")
    assert isinstance(ghost, Bounced) and ghost.reply.status == "5.1.1", "refused at RCPT, keeps its own reply"

    an, binh = deliver_one(relay_settings, AN, BINH)
    assert isinstance(an, Deferred) and isinstance(binh, Deferred)
    assert an.retry_after == binh.retry_after == 120.0
    assert relay.messages() == []


def test_a_refused_sender_bounces_every_recipient(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    relay.set_script({"mail": {SHOP: ["553 5.7.1 <shop@example.com>: Sender address rejected: not owned by user"]}})
    outcomes = deliver_one(relay_settings, AN, BINH)
    assert all(isinstance(o, Bounced) and o.reply.status == "5.7.1" for o in outcomes)
    assert relay.log_events("rcpt") == [], "no RCPT after MAIL FROM was refused"


def test_an_authentication_reply_at_mail_from_is_our_problem_not_the_recipients(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    relay.set_script({"mail": {SHOP: ["530 5.7.0 Authentication required"]}})
    (outcome,) = deliver_one(relay_settings, AN)
    assert isinstance(outcome, Deferred)
    assert outcome.reply.status == "4.7.0"
    assert "MAIL FROM" in outcome.reply.text and "530 5.7.0 Authentication required" in outcome.reply.text


def test_invalid_addresses_bounce_locally_without_smtp(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    bad, good = deliver_one(relay_settings, "a@b.example\r\nRCPT TO:<x@y.example>", AN)
    assert isinstance(bad, Bounced) and bad.reply.code is None and bad.reply.status == "5.1.3"
    assert isinstance(good, Delivered)
    assert [e["recipient"] for e in relay.log_events("rcpt")] == [AN]


def test_lines_starting_with_a_dot_arrive_unchanged(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    body = ".hidden\r\n..two dots\r\n.\r\nlast line\r\n"
    (outcome,) = deliver_one(relay_settings, AN, data=message(body))
    assert isinstance(outcome, Delivered)
    assert relay.messages()[0].get_content() == body


# SMTPUTF8


def test_non_ascii_addresses_go_out_with_smtputf8(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    (outcome,) = deliver_one(relay_settings, "zoë@example.net")
    assert isinstance(outcome, Delivered)
    assert "SMTPUTF8" in relay.log_events("mail")[0]["options"]
    assert relay.messages()[0]["X-Envelope-To"] == "zoë@example.net"


def test_smtputf8_envelope_bounces_with_5_6_7_when_the_relay_lacks_it(tmp_path: Path) -> None:
    with RelayProcess().start(tmp_path, security="starttls", auth=(RELAY_USER, RELAY_PASSWORD), smtputf8=False) as relay:
        settings = RelaySettings(host=relay.host, port=relay.port, username=RELAY_USER, password=RELAY_PASSWORD,
                                 ca_file=relay.ca_file, timeout=5)
        (outcome,) = deliver(settings, (Envelope(SHOP, (AN,), smtputf8=True), message()))[0]
        assert isinstance(outcome, Bounced) and outcome.reply.status == "5.6.7"
        assert "SMTPUTF8" in outcome.reply.text
        assert relay.log_events("mail") == []


# The pool


def test_connections_are_reused_across_deliveries(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    results = deliver(relay_settings, *[(Envelope(SHOP, (AN,)), message())] * 3)
    assert all(isinstance(o, Delivered) for (o,) in results)
    assert len(relay.log_events("connect")) == 1
    assert len(relay.log_events("auth")) == 1
    assert len(relay.log_events("quit")) == 1, "close() QUITs the pooled connection"


def test_concurrent_deliveries_share_at_most_max_connections(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    settings = dataclasses.replace(relay_settings, max_connections=2)

    async def run() -> list[list[Outcome]]:
        async with RelayTransport(settings) as transport:
            return await asyncio.gather(*(transport.deliver(Envelope(SHOP, (AN,)), message()) for _ in range(8)))

    results = asyncio.run(run())
    assert all(isinstance(o, Delivered) for (o,) in results)
    assert 1 <= len(relay.log_events("connect")) <= 2
    assert len(relay.messages()) == 8


def test_a_connection_is_replaced_after_max_messages_per_connection(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    settings = dataclasses.replace(relay_settings, max_messages_per_connection=2)
    deliver(settings, *[(Envelope(SHOP, (AN,)), message())] * 5)
    mails_per_session: dict[int, int] = {}
    for event in relay.log_events("mail"):
        mails_per_session[event["session"]] = mails_per_session.get(event["session"], 0) + 1
    assert sorted(mails_per_session.values()) == [1, 2, 2]


def test_a_failed_transaction_is_reset_before_the_connection_is_reused(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    relay.set_script({"rcpt": {GHOST: ["550 5.1.1 User unknown"]}})
    (ghost,), (an,) = deliver(relay_settings, (Envelope(SHOP, (GHOST,)), message()), (Envelope(SHOP, (AN,)), message()))
    assert isinstance(ghost, Bounced) and isinstance(an, Delivered)
    assert len(relay.log_events("connect")) == 1
    assert [e["event"] for e in relay.log_events() if e["event"] in ("rcpt", "rset", "mail")] == [
        "mail", "rcpt", "rset", "mail", "rcpt"]


def test_one_transport_works_in_successive_event_loops(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    transport = RelayTransport(relay_settings)  # no running loop here: nothing asyncio is made yet
    first = asyncio.run(transport.deliver(Envelope(SHOP, (AN,)), message()))
    second = asyncio.run(transport.deliver(Envelope(SHOP, (BINH,)), message()))
    assert isinstance(first[0], Delivered) and isinstance(second[0], Delivered)


# 421 and lost connections before the content: retried once on a fresh connection


def test_a_421_at_rcpt_is_retried_once_on_a_fresh_connection(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    relay.set_script({"rcpt": {AN: ["421 4.3.2 Service shutting down", "250 2.1.5 OK"]}})
    (outcome,) = deliver_one(relay_settings, AN)
    assert isinstance(outcome, Delivered)
    assert len(relay.log_events("connect")) == 2


def test_a_second_421_defers_with_the_servers_reply(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    relay.set_script({"rcpt": {AN: ["421 4.7.0 Too many connections, try again in 30 seconds"]}})
    (outcome,) = deliver_one(relay_settings, AN)
    assert isinstance(outcome, Deferred)
    assert (outcome.reply.code, outcome.reply.status, outcome.retry_after) == (421, "4.7.0", 30.0)
    assert len(relay.log_events("connect")) == 2, "one retry, not more"


def test_a_pooled_connection_the_server_dropped_is_replaced(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    async def run() -> tuple[list[Outcome], list[Outcome]]:
        async with RelayTransport(relay_settings) as transport:
            first = await transport.deliver(Envelope(SHOP, (AN,)), message())
            relay.set_script({"mail": {SHOP: ["drop", "250 2.1.0 OK"]}})  # dropped at the next MAIL FROM
            second = await transport.deliver(Envelope(SHOP, (BINH,)), message())
            return first, second

    first, second = asyncio.run(run())
    assert isinstance(first[0], Delivered) and isinstance(second[0], Delivered)
    assert len(relay.log_events("connect")) == 2
    assert [m["X-Envelope-To"] for m in relay.messages()] == [AN, BINH]


# After the content: Deferred before the final dot, Uncertain after it


def test_a_drop_in_the_middle_of_the_content_is_deferred(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    relay.set_script({"data": {AN: ["drop_mid_data"]}})
    line = "x" * 76 + "\r\n"
    big = message(line * (larger_than_socket_buffers() // len(line)))
    (outcome,) = deliver_one(relay_settings, AN, data=big)

    (drop,) = relay.log_events("data")
    assert drop["dot_seen"] is False, "the relay really dropped before the final dot"
    assert isinstance(outcome, Deferred)
    assert outcome.reply.status == "4.4.2" and "before the final dot" in outcome.reply.text
    assert relay.messages() == []
    assert len(relay.log_events("connect")) == 1, "the content was sent: no immediate retry"


def test_a_drop_right_after_the_final_dot_is_uncertain(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    relay.set_script({"data": {AN: ["drop_after_dot", "250"]}})
    an, binh = deliver_one(relay_settings, AN, BINH)
    assert isinstance(an, Uncertain) and isinstance(binh, Uncertain)
    assert an.reply.status == "4.4.2" and "after the final dot" in an.reply.text
    assert len(relay.messages()) == 1, "the relay does hold the message: sending again would duplicate it"
    assert len(relay.log_events("connect")) == 1, "never retried by the transport"


def test_no_reply_after_the_final_dot_within_the_timeout_is_uncertain(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    relay.set_script({"data": {AN: ["hang_after_dot"]}})
    started = time.monotonic()
    (outcome,) = deliver_one(dataclasses.replace(relay_settings, timeout=0.5), AN)
    elapsed = time.monotonic() - started
    assert isinstance(outcome, Uncertain)
    assert "no reply within 0.5 s after the final dot" in outcome.reply.text
    assert 0.5 <= elapsed < 3


def test_a_slow_reply_within_the_timeout_is_delivered(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    relay.set_script({"data": {AN: ["slow:0.3"]}})
    (outcome,) = deliver_one(dataclasses.replace(relay_settings, timeout=2), AN)
    assert isinstance(outcome, Delivered)


# Our own problems: TLS, AUTH, connecting. Deferred, never bounced, and nothing sent


def test_a_wrong_password_defers_and_names_auth(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    outcomes = deliver_one(dataclasses.replace(relay_settings, password="wrong"), AN, BINH)
    assert all(isinstance(o, Deferred) and o.reply.status == "4.7.0" for o in outcomes)
    assert "AUTH" in outcomes[0].reply.text and "535 5.7.8" in outcomes[0].reply.text
    assert "wrong" not in outcomes[0].reply.text
    assert relay.log_events("mail") == []


def test_an_untrusted_certificate_defers_before_anything_is_sent(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    (outcome,) = deliver_one(dataclasses.replace(relay_settings, ca_file=None), AN)
    assert isinstance(outcome, Deferred) and outcome.reply.status == "4.7.0"
    assert "certificate" in outcome.reply.text and "STARTTLS" in outcome.reply.text
    assert relay.log_events("auth") == [] and relay.log_events("mail") == []


def test_a_relay_without_starttls_gets_nothing_in_the_clear(tmp_path: Path) -> None:
    with RelayProcess().start(tmp_path, security="none") as relay:
        settings = RelaySettings(host=relay.host, port=relay.port, username=RELAY_USER, password=RELAY_PASSWORD)
        (outcome,) = deliver(settings, (Envelope(SHOP, (AN,)), message()))[0]
        assert isinstance(outcome, Deferred) and outcome.reply.status == "4.7.0"
        assert "does not offer STARTTLS" in outcome.reply.text
        assert [e["event"] for e in relay.log_events()] == ["connect", "ehlo", "disconnect"]


def test_implicit_tls_delivers(tmp_path: Path) -> None:
    with RelayProcess().start(tmp_path, security="tls", auth=(RELAY_USER, RELAY_PASSWORD)) as relay:
        settings = RelaySettings(host=relay.host, port=relay.port, security="tls", username=RELAY_USER,
                                 password=RELAY_PASSWORD, ca_file=relay.ca_file, timeout=5)
        (outcome,) = deliver(settings, (Envelope(SHOP, (AN,)), message()))[0]
        assert isinstance(outcome, Delivered)
        assert relay.log_events("connect")[0]["tls"] is True


def test_plain_smtp_needs_allow_insecure_and_then_delivers(tmp_path: Path) -> None:
    with RelayProcess().start(tmp_path, security="none") as relay:
        settings = RelaySettings(host=relay.host, port=relay.port, security="none", allow_insecure=True, timeout=5)
        (outcome,) = deliver(settings, (Envelope(SHOP, (AN,)), message()))[0]
        assert isinstance(outcome, Delivered)


def test_nothing_listening_defers_with_4_4_1() -> None:
    port = free_port()
    outcomes = deliver_one(RelaySettings(host="127.0.0.1", port=port, timeout=2), AN, BINH)
    assert all(isinstance(o, Deferred) and o.reply.status == "4.4.1" for o in outcomes)
    assert outcomes[0].reply.text == f"cannot connect to 127.0.0.1:{port}: Connection refused"
