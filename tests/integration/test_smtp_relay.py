"""RelayTransport against the scripted test relay: a real aiosmtpd server with STARTTLS and AUTH.

Each test reads as a rule of the transport: what outcome each recipient gets, when a connection
is reused, retried or discarded, and where the line between Deferred and Uncertain runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maildispatch.adapters.smtp_relay import RelayConfigError, RelaySettings, RelayTransport
from maildispatch.core.outcome import Bounced, Deferred, Delivered, Envelope, Outcome, Uncertain
from tests.conftest import require_binary
from tests.stack.moto import free_port, refusing_port
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


def deliver_one(
    settings: RelaySettings, *recipients: str, sender: str = SHOP, data: bytes | None = None
) -> list[Outcome]:
    return deliver(settings, (Envelope(sender, recipients), data or message(recipients=recipients)))[0]


# The scripted relay, twice: as aiosmtpd is (one command at a time) and advertising RFC 2920
# PIPELINING, which aiosmtpd handles (it reads commands in order from its stream) but does not
# offer. Every test that takes the `relay` fixture runs against both: outcomes must not depend
# on whether the envelope went out command by command or as one group.


@pytest.fixture(params=["one command at a time", "pipelining"])
def relay(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RelayProcess]:
    """The `relay` of tests/stack/relay_fixtures.py, also as a relay that offers PIPELINING."""
    with RelayProcess().start(
        tmp_path / "relay",
        security="starttls",
        auth=(RELAY_USER, RELAY_PASSWORD),
        pipelining=request.param == "pipelining",
    ) as process:
        yield process


def logged_soon(relay: RelayProcess, expected: list[str], within: float = 2.0) -> list[str]:
    """The names of the relay's logged events, once they are `expected` or `within` seconds have passed."""
    deadline = time.monotonic() + within
    while (logged := [e["event"] for e in relay.log_events()]) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return logged


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


def test_every_recipient_gets_its_own_outcome_in_envelope_order(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    relay.set_script(
        {
            "rcpt": {
                GHOST: ["550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown"],
                BUSY: ["451 4.7.1 Greylisted, please try again in 1 seconds", "250 2.1.5 OK"],
            }
        }
    )
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
    relay.set_script(
        {
            "rcpt": {GHOST: ["550 5.1.1 User unknown"]},
            "data": {AN: ["554 5.7.1 Message rejected as spam", "451 4.3.0 Queue full, try again in 2 minutes"]},
        }
    )
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
    with RelayProcess().start(
        tmp_path, security="starttls", auth=(RELAY_USER, RELAY_PASSWORD), smtputf8=False
    ) as relay:
        settings = RelaySettings(
            host=relay.host,
            port=relay.port,
            username=RELAY_USER,
            password=RELAY_PASSWORD,
            ca_file=relay.ca_file,
            timeout=5,
        )
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


def test_concurrent_deliveries_share_at_most_max_connections(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
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
        "mail",
        "rcpt",
        "rset",
        "mail",
        "rcpt",
    ]


def test_one_transport_works_in_successive_event_loops(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    transport = RelayTransport(relay_settings)  # no running loop here: nothing asyncio is made yet
    first = asyncio.run(transport.deliver(Envelope(SHOP, (AN,)), message()))
    second = asyncio.run(transport.deliver(Envelope(SHOP, (BINH,)), message()))
    assert isinstance(first[0], Delivered) and isinstance(second[0], Delivered)


# 421 and lost connections before the content: retried once on a fresh connection


def test_a_421_at_rcpt_is_retried_once_on_a_fresh_connection(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
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
    assert 0.5 <= elapsed < 10  # waited for the timeout, then gave up rather than hanging


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
        # The relay logs the disconnect when it notices it, which may be just after we return.
        assert logged_soon(relay, ["connect", "ehlo", "disconnect"]) == ["connect", "ehlo", "disconnect"]


def test_implicit_tls_delivers(tmp_path: Path) -> None:
    with RelayProcess().start(tmp_path, security="tls", auth=(RELAY_USER, RELAY_PASSWORD)) as relay:
        settings = RelaySettings(
            host=relay.host,
            port=relay.port,
            security="tls",
            username=RELAY_USER,
            password=RELAY_PASSWORD,
            ca_file=relay.ca_file,
            timeout=5,
        )
        (outcome,) = deliver(settings, (Envelope(SHOP, (AN,)), message()))[0]
        assert isinstance(outcome, Delivered)
        assert relay.log_events("connect")[0]["tls"] is True


def test_plain_smtp_needs_allow_insecure_and_then_delivers(tmp_path: Path) -> None:
    with RelayProcess().start(tmp_path, security="none") as relay:
        settings = RelaySettings(host=relay.host, port=relay.port, security="none", allow_insecure=True, timeout=5)
        (outcome,) = deliver(settings, (Envelope(SHOP, (AN,)), message()))[0]
        assert isinstance(outcome, Delivered)


def test_nothing_listening_defers_with_4_4_1() -> None:
    with refusing_port() as port:
        outcomes = deliver_one(RelaySettings(host="127.0.0.1", port=port, timeout=2), AN, BINH)
    assert all(isinstance(o, Deferred) and o.reply.status == "4.4.1" for o in outcomes)
    assert outcomes[0].reply.text == f"cannot connect to 127.0.0.1:{port}: Connection refused"


# RFC 2920 PIPELINING: the envelope as one group


@dataclasses.dataclass
class GroupServer(asyncio.Protocol):
    """A few lines of SMTP server that offers PIPELINING and shows how the client's commands arrive.

    With `withhold` it answers a transaction's commands only once its DATA has arrived, so a
    client that waits for each reply before the next command waits forever. `apart` writes the
    replies of a group 2 ms apart, so they arrive one by one rather than in one segment. RCPT replies come from `rcpt` (default 250); with no recipient accepted,
    DATA gets `data_without_recipients`. With `chunking` it offers RFC 3030 CHUNKING too: BDAT's chunk
    is read by its size and answered with `bdat` (the no-recipients reply when none was accepted);
    `hang_up_after_bdat` closes the connection once a chunk has arrived, without a reply.
    The final dot is answered from `dot_replies` in turn (then 250), `dot_delay` seconds late;
    `close_after_dot` ends the session right after that many dots were answered. `turns_after_dot`
    holds the replies that follow a final dot's reply back for that many turns of the event loop
    (the client runs in the same loop), so they arrive in a read of their own at a chosen moment.
    `mail_after_dot` records, per MAIL FROM, whether it came in the same read as the previous
    message's final dot.
    """

    rcpt: dict[str, str] = dataclasses.field(default_factory=dict)
    data_without_recipients: str = "554 5.5.1 Error: no valid recipients"
    withhold: bool = True
    apart: bool = False
    chunking: bool = False
    bdat: str = "250 2.0.0 Ok: queued"
    hang_up_after_bdat: bool = False
    close_after_bdat: bool = False  # reply to the chunk, then end the session (as a relay's idle or message limit does)
    dot_replies: list[str] = dataclasses.field(default_factory=list)
    dot_delay: float = 0.0
    close_after_dot: int = 0
    turns_after_dot: int = 0
    reads: list[list[str]] = dataclasses.field(default_factory=list)  # the commands in each read
    messages: list[bytes] = dataclasses.field(default_factory=list)
    mail_after_dot: list[bool] = dataclasses.field(default_factory=list)
    connections: list[int] = dataclasses.field(default_factory=list)

    def __call__(self) -> GroupServer:  # a protocol factory: one fresh session per connection
        self.connections.append(len(self.connections) + 1)
        return dataclasses.replace(self, reads=self.reads, messages=self.messages, mail_after_dot=self.mail_after_dot)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport, self.buffer, self.content, self.replies, self.accepted = transport, b"", None, [], 0
        self.chunk: tuple[int, str] | None = None  # a BDAT chunk being read: its size and the reply it gets
        self.held_turns = 0  # the next write waits this many turns of the loop
        transport.write(b"220 group.test ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.dot_in_this_read = False
        if self.content is None:
            self.reads.append([line.split(b" ")[0].decode() for line in data.split(b"\r\n") if line])
        while self.buffer:
            if self.chunk is not None:
                size, answer = self.chunk
                if len(self.buffer) < size:
                    return
                self.messages.append(self.buffer[:size])
                self.buffer, self.chunk, self.accepted = self.buffer[size:], None, 0
                if self.hang_up_after_bdat:
                    self.transport.close()
                    return
                self.reply(answer, flush=True)
                if self.close_after_bdat:
                    self.transport.close()
                    return
                continue
            if self.content is not None:
                end = 0 if self.buffer.startswith(b".\r\n") else self.buffer.find(b"\r\n.\r\n") + 2
                if end < 2 and not self.buffer.startswith(b".\r\n"):
                    return
                self.messages.append(self.buffer[:end])
                self.buffer, self.content, self.accepted = self.buffer[end + 3 :], None, 0
                self.dot_in_this_read = True
                answer = self.dot_replies.pop(0) if self.dot_replies else "250 2.0.0 Ok: queued"
                dots = len(self.messages)
                if self.dot_delay:
                    self.transport.pause_reading()  # what follows the dot waits for its reply, as in order
                    asyncio.get_running_loop().call_later(self.dot_delay, self.answer_dot, answer, dots)
                    return
                self.answer_dot(answer, dots)
                if self.transport.is_closing():
                    return
                continue
            if b"\r\n" not in self.buffer:
                return
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            self.command(line.decode())

    def answer_dot(self, answer: str, dots: int) -> None:
        if self.transport.is_closing():
            return
        self.reply(answer, flush=True)
        self.held_turns = self.turns_after_dot
        if self.close_after_dot and dots >= self.close_after_dot:
            self.transport.close()
        elif self.dot_delay:
            self.transport.resume_reading()
            if self.buffer:
                self.data_received(b"")

    def command(self, line: str) -> None:
        verb = line.split(" ")[0].upper()
        if verb == "MAIL":
            self.mail_after_dot.append(self.dot_in_this_read)
        if verb == "EHLO":
            chunking = "250-CHUNKING\r\n" if self.chunking else ""
            self.reply(f"250-group.test\r\n250-PIPELINING\r\n{chunking}250 8BITMIME", flush=True)
        elif verb == "MAIL":
            self.reply("250 2.1.0 Ok")
        elif verb == "RCPT":
            address = line[line.index("<") + 1 : line.index(">")]
            answer = self.rcpt.get(address, "250 2.1.5 Ok")
            self.accepted += answer.startswith("2")
            self.reply(answer)
        elif verb == "DATA":
            answer = "354 End data with <CR><LF>.<CR><LF>" if self.accepted else self.data_without_recipients
            self.content = b"" if answer.startswith("354") else None
            self.reply(answer, flush=True)
        elif verb == "BDAT" and self.chunking:
            self.chunk = (int(line.split(" ")[1]), self.bdat if self.accepted else self.data_without_recipients)
        elif verb == "RSET":
            self.accepted = 0
            self.reply("250 2.0.0 Ok", flush=True)
        elif verb == "QUIT":
            self.reply("221 2.0.0 Bye", flush=True)
            self.transport.close()

    def reply(self, line: str, *, flush: bool = False) -> None:
        self.replies.append(line.encode() + b"\r\n")
        if flush or not self.withhold:
            replies, self.replies = self.replies, []
            if self.held_turns:
                turns, self.held_turns = self.held_turns, 0
                self.write_after_turns(b"".join(replies), turns)
            elif self.apart:
                self.write_one_per_turn(replies)
            else:
                self.transport.write(b"".join(replies))

    def write_after_turns(self, data: bytes, turns: int) -> None:
        # A timer due now runs after the turn's socket reads (asyncio's order: callbacks, reads, timers).
        if turns:
            asyncio.get_running_loop().call_later(0, self.write_after_turns, data, turns - 1)
        elif not self.transport.is_closing():
            self.transport.write(data)

    def write_one_per_turn(self, replies: list[bytes]) -> None:
        if replies and not self.transport.is_closing():
            self.transport.write(replies[0])
            asyncio.get_running_loop().call_later(0.002, self.write_one_per_turn, replies[1:])


def deliver_to_group_server(
    server: GroupServer, *deliveries: tuple[Envelope, bytes], pipelining: bool = True, chunking: bool = True
) -> list[list[Outcome]]:
    async def run() -> list[list[Outcome]]:
        listener = await asyncio.get_running_loop().create_server(server, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        settings = RelaySettings(
            host="127.0.0.1",
            port=port,
            security="none",
            allow_insecure=True,
            timeout=2,
            pipelining=pipelining,
            chunking=chunking,
        )
        try:
            async with RelayTransport(settings) as transport:
                return [await transport.deliver(envelope, data) for envelope, data in deliveries]
        finally:
            listener.close()
            await listener.wait_closed()

    return asyncio.run(run())


@pytest.mark.parametrize("apart", [False, True], ids=["replies in one segment", "replies one by one"])
def test_with_pipelining_mail_rcpt_and_data_go_out_as_one_group(apart: bool) -> None:
    server = GroupServer(rcpt={GHOST: "550 5.1.1 User unknown", BUSY: "451 4.7.1 Try again in 5 seconds"}, apart=apart)
    recipients = (AN, GHOST, BUSY, BINH)
    (outcomes, again) = deliver_to_group_server(
        server, (Envelope(SHOP, recipients), message(recipients=recipients)), (Envelope(SHOP, (AN,)), message())
    )

    assert [type(o) for o in outcomes] == [Delivered, Bounced, Deferred, Delivered]
    assert outcomes[1].reply.status == "5.1.1" and outcomes[2].retry_after == 5.0
    assert isinstance(again[0], Delivered), "the session stayed in step for the next message"
    groups = [read for read in server.reads if "MAIL" in read]
    assert groups == [["MAIL", "RCPT", "RCPT", "RCPT", "RCPT", "DATA"], ["MAIL", "RCPT", "DATA"]]
    assert len(server.messages) == 2


def test_replies_arriving_in_consecutive_turns_of_the_event_loop_are_all_read() -> None:
    """aiosmtplib drops data that arrives while a parsed reply waits to be taken: the reader must
    resume before the loop reads the socket again (see `_next_reply`)."""
    from types import SimpleNamespace

    from aiosmtplib.protocol import SMTPProtocol

    from maildispatch.adapters.smtp_relay import _next_reply

    class Transport(asyncio.Transport):
        def is_closing(self) -> bool:
            return False

        def get_extra_info(self, name: str, default: object = None) -> object:
            return default

    async def run() -> list[str]:
        protocol = SMTPProtocol()
        protocol.connection_made(Transport())
        session = SimpleNamespace(protocol=protocol)

        async def read_three() -> list[str]:
            return [(await _next_reply(session, timeout=1)).message for _ in range(3)]  # type: ignore[arg-type]

        reader = asyncio.ensure_future(read_three())
        await asyncio.sleep(0)  # the reader now waits for the first reply
        loop = asyncio.get_running_loop()
        protocol.data_received(b"250 one\r\n")
        loop.call_soon(protocol.data_received, b"250 two\r\n")  # the very next turn
        await asyncio.sleep(0.05)
        protocol.data_received(b"250 three\r\n")
        return await reader

    assert asyncio.run(run()) == ["one", "two", "three"]


def test_without_pipelining_each_command_waits_for_its_reply() -> None:
    server = GroupServer(withhold=False)
    (outcomes,) = deliver_to_group_server(server, (Envelope(SHOP, (AN, BINH)), message()), pipelining=False)
    assert all(isinstance(o, Delivered) for o in outcomes)
    assert [read for read in server.reads if read[0] in ("MAIL", "RCPT", "DATA")] == [
        ["MAIL"],
        ["RCPT"],
        ["RCPT"],
        ["DATA"],
    ]


def test_a_pipelined_data_the_server_takes_without_recipients_ends_an_empty_message() -> None:
    # RFC 2920 3.1 allows a server to answer 354 even though every RCPT was refused.
    server = GroupServer(rcpt={GHOST: "550 5.1.1 User unknown"}, data_without_recipients="354 go ahead")
    (ghost,), (an,) = deliver_to_group_server(
        server, (Envelope(SHOP, (GHOST,)), message()), (Envelope(SHOP, (AN,)), message())
    )
    assert isinstance(ghost, Bounced) and ghost.reply.status == "5.1.1"
    assert isinstance(an, Delivered)
    assert server.messages[0] == b"", "only the final dot went out: no content without a recipient"
    assert server.messages[1].startswith(b"From: shop@example.com")
    assert ["RSET"] in server.reads


def test_a_421_in_the_middle_of_a_group_retries_the_whole_message_once(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    relay.set_script({"rcpt": {BUSY: ["421 4.7.0 Too many errors", "250 2.1.5 OK"]}})
    an, busy, binh = deliver_one(relay_settings, AN, BUSY, BINH)
    assert isinstance(an, Delivered) and isinstance(busy, Delivered) and isinstance(binh, Delivered)
    assert len(relay.log_events("connect")) == 2
    (stored,) = relay.messages()
    assert stored.get_all("X-Envelope-To") == [AN, BUSY, BINH], "one copy, to every recipient"


def test_data_refused_because_no_recipient_was_accepted_keeps_the_rcpt_replies(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    relay.set_script({"rcpt": {GHOST: ["550 5.1.1 User unknown"], BUSY: ["452 4.2.2 Mailbox full"]}})
    (ghost, busy), (an,) = deliver(
        relay_settings, (Envelope(SHOP, (GHOST, BUSY)), message()), (Envelope(SHOP, (AN,)), message())
    )
    assert isinstance(ghost, Bounced) and ghost.reply.status == "5.1.1"
    assert isinstance(busy, Deferred) and busy.reply.status == "4.2.2"
    assert isinstance(an, Delivered)
    assert len(relay.log_events("connect")) == 1 and len(relay.log_events("rset")) == 1


# A waiting delivery rides behind the final dot of the one finishing on its connection


def deliver_at_once(
    server: GroupServer, *deliveries: tuple[Envelope, bytes], connections: int = 1, cancel: int | None = None
) -> list[list[Outcome] | None]:
    """Start every delivery at once over `connections` connections, then one more delivery when all
    have ended (a slot lost to the pool would keep it waiting); `cancel`: that delivery's index is
    cancelled once the first message's content has gone out. None for the cancelled one."""

    async def run() -> list[list[Outcome] | None]:
        listener = await asyncio.get_running_loop().create_server(server, "127.0.0.1", 0)
        settings = RelaySettings(
            host="127.0.0.1",
            port=listener.sockets[0].getsockname()[1],
            security="none",
            allow_insecure=True,
            timeout=2,
            chunking=False,
            max_connections=connections,
        )
        try:
            async with RelayTransport(settings) as transport:
                tasks = [asyncio.ensure_future(transport.deliver(e, data)) for e, data in deliveries]
                if cancel is not None:
                    while not server.messages:
                        await asyncio.sleep(0.005)
                    tasks[cancel].cancel()
                results: list[list[Outcome] | None] = []
                for task in tasks:
                    try:
                        results.append(await task)
                    except asyncio.CancelledError:
                        results.append(None)
                after = await asyncio.wait_for(transport.deliver(Envelope(SHOP, (BINH,)), message()), 5)
                assert [type(o) for o in after] == [Delivered], "the pool still has its slots"
                return results
        finally:
            listener.close()
            await listener.wait_closed()

    return asyncio.run(run())


@pytest.mark.parametrize("apart", [False, True], ids=["replies in one segment", "replies one by one"])
def test_a_delivery_waiting_for_the_connection_sends_its_envelope_with_the_previous_final_dot(apart: bool) -> None:
    server = GroupServer(rcpt={GHOST: "550 5.1.1 User unknown", BUSY: "451 4.7.1 Try again later"}, apart=apart)
    first, second, third = deliver_at_once(
        server,
        (Envelope(SHOP, (AN,)), message()),
        (Envelope(SHOP, (GHOST, BINH)), message(recipients=(GHOST, BINH))),
        (Envelope(SHOP, (BUSY, AN)), message(recipients=(BUSY, AN))),
    )
    assert first is not None and second is not None and third is not None
    assert [type(o) for o in first + second + third] == [Delivered, Bounced, Delivered, Deferred, Delivered]
    assert second[0].reply.status == "5.1.1" and third[0].reply.status == "4.7.1"
    # one connection, and each waiting message's MAIL FROM went out with the final dot before it
    assert server.connections == [1]
    assert server.mail_after_dot == [False, True, True, False]  # the last: sent when nothing was in flight
    assert len(server.messages) == 4
    assert ["RSET"] not in server.reads


@pytest.mark.parametrize("turns", [1, 2, 3, 4])
def test_the_riders_replies_arriving_while_the_connection_changes_hands_are_read(turns: int) -> None:
    # The finishing delivery takes its dot's reply and hands the connection on; the rider's own
    # replies may arrive in the turns of the loop before the rider runs. aiosmtplib drops data that
    # arrives while no reply is pending: lost, the rider would wait for its timeout and reconnect.
    server = GroupServer(turns_after_dot=turns)
    outcomes = deliver_at_once(server, *((Envelope(SHOP, (AN,)), message(body=f"message {n}\r\n")) for n in range(4)))
    assert [type(o) for o in itertools.chain.from_iterable(filter(None, outcomes))] == [Delivered] * 4
    assert server.connections == [1], "no reply was lost, no delivery reconnected after a timeout"
    assert server.mail_after_dot[:4] == [False, True, True, True]


def test_a_refused_message_does_not_disturb_the_one_riding_behind_it() -> None:
    # RFC 5321 4.1.1.4: the reply to the final dot ends the transaction, accepted or not: the next
    # MAIL FROM, already sent, starts the rider's; no RSET in between.
    server = GroupServer(dot_replies=["554 5.7.1 Message rejected as spam"])
    first, second = deliver_at_once(server, (Envelope(SHOP, (AN,)), message()), (Envelope(SHOP, (BINH,)), message()))
    assert first is not None and second is not None
    assert isinstance(first[0], Bounced) and first[0].reply.status == "5.7.1"
    assert isinstance(second[0], Delivered)
    assert server.mail_after_dot[:2] == [False, True] and ["RSET"] not in server.reads


def test_a_session_the_relay_ends_after_a_final_dot_sends_the_rider_again_on_a_fresh_one_once() -> None:
    # The rider's MAIL FROM, RCPT TO and DATA went out, its content never did: nothing of it can
    # have been delivered, so it starts again on a new connection.
    server = GroupServer(close_after_dot=1)
    first, second = deliver_at_once(server, (Envelope(SHOP, (AN,)), message()), (Envelope(SHOP, (BINH,)), message()))
    assert first is not None and second is not None
    assert isinstance(first[0], Delivered) and isinstance(second[0], Delivered)
    assert len(server.connections) >= 2
    assert [m.count(b"To: ") for m in server.messages[:2]] == [1, 1], "each message arrived once"


def test_a_rider_cancelled_after_its_envelope_went_out_gives_the_slot_back() -> None:
    # The first message's content (and the second's envelope behind it) are out; its reply comes
    # late, and meanwhile the second delivery is cancelled: the connection, with replies nobody
    # will read, is closed; the third delivery gets the slot and is delivered.
    server = GroupServer(dot_delay=0.3)
    first, second, third = deliver_at_once(
        server,
        (Envelope(SHOP, (AN,)), message()),
        (Envelope(SHOP, (BINH,)), message(body="second\r\n")),
        (Envelope(SHOP, (AN,)), message(body="third\r\n")),
        cancel=1,
    )
    assert first is not None and second is None and third is not None
    assert isinstance(first[0], Delivered) and isinstance(third[0], Delivered)
    assert not any(b"second" in m for m in server.messages), "the cancelled message's content never went out"


# RFC 3030 CHUNKING: BDAT <size> LAST in the same write as the envelope


def commands(server: GroupServer) -> list[list[str]]:
    """The SMTP verbs of each read that started a transaction (a BDAT chunk's own lines left out)."""
    verbs = {"MAIL", "RCPT", "DATA", "BDAT"}
    return [[word for word in read if word in verbs] for read in server.reads if read and read[0] == "MAIL"]


@pytest.mark.parametrize("apart", [False, True], ids=["replies in one segment", "replies one by one"])
def test_with_chunking_the_envelope_bdat_and_the_content_go_out_as_one_write(apart: bool) -> None:
    server = GroupServer(
        rcpt={GHOST: "550 5.1.1 User unknown", BUSY: "451 4.7.1 Try again in 5 seconds"}, apart=apart, chunking=True
    )
    recipients = (AN, GHOST, BUSY, BINH)
    dotted = message(".a line that DATA would dot-stuff\r\n.\r\nend\r\n", recipients=recipients)
    (outcomes, again) = deliver_to_group_server(
        server, (Envelope(SHOP, recipients), dotted), (Envelope(SHOP, (AN,)), message())
    )

    assert [type(o) for o in outcomes] == [Delivered, Bounced, Deferred, Delivered]
    assert outcomes[1].reply.status == "5.1.1" and outcomes[2].retry_after == 5.0
    assert outcomes[0].reply.text.endswith("Ok: queued")
    assert isinstance(again[0], Delivered), "the session stayed in step for the next message"
    assert commands(server) == [["MAIL", "RCPT", "RCPT", "RCPT", "RCPT", "BDAT"], ["MAIL", "RCPT", "BDAT"]]
    assert server.messages == [dotted, message()], "the content as it is: BDAT needs no dot-stuffing, no final dot"


def test_without_chunking_offered_or_wanted_the_message_goes_with_data() -> None:
    offered_not_wanted, not_offered = GroupServer(chunking=True), GroupServer()
    deliver_to_group_server(offered_not_wanted, (Envelope(SHOP, (AN,)), message()), chunking=False)
    deliver_to_group_server(not_offered, (Envelope(SHOP, (AN,)), message()))
    assert commands(offered_not_wanted) == commands(not_offered) == [["MAIL", "RCPT", "DATA"]]


def test_a_message_over_the_chunking_limit_goes_with_data_under_flow_control() -> None:
    from maildispatch.adapters.smtp_relay import CHUNKING_MAX_BYTES

    server = GroupServer(chunking=True)
    big = message(("y" * 76 + "\r\n") * (CHUNKING_MAX_BYTES // 78 + 1))
    ((outcome,),) = deliver_to_group_server(server, (Envelope(SHOP, (AN,)), big))
    assert isinstance(outcome, Delivered)
    assert commands(server) == [["MAIL", "RCPT", "DATA"]]


def test_a_refused_bdat_bounces_the_accepted_recipients_naming_bdat_and_resets() -> None:
    server = GroupServer(chunking=True, bdat="552 5.3.4 Message too big for system", rcpt={GHOST: "550 5.1.1 No"})
    (an, ghost), (binh,) = deliver_to_group_server(
        server, (Envelope(SHOP, (AN, GHOST)), message()), (Envelope(SHOP, (BINH,)), message())
    )
    assert isinstance(an, Bounced) and an.reply.status == "5.3.4" and an.reply.command == "BDAT"
    assert isinstance(ghost, Bounced) and ghost.reply.status == "5.1.1"
    assert ["RSET"] in server.reads
    assert isinstance(binh, Bounced), "the same refusal for the next message: the session stayed in step"


def test_with_chunking_no_recipient_accepted_keeps_the_rcpt_replies() -> None:
    server = GroupServer(chunking=True, rcpt={GHOST: "550 5.1.1 User unknown", BUSY: "452 4.2.2 Mailbox full"})
    (ghost, busy), (an,) = deliver_to_group_server(
        server, (Envelope(SHOP, (GHOST, BUSY)), message()), (Envelope(SHOP, (AN,)), message())
    )
    assert isinstance(ghost, Bounced) and ghost.reply.status == "5.1.1"
    assert isinstance(busy, Deferred) and busy.reply.status == "4.2.2"
    assert isinstance(an, Delivered)
    assert ["RSET"] in server.reads


def test_a_connection_lost_after_bdat_before_its_reply_is_uncertain_for_recipients_not_refused() -> None:
    # The envelope's replies go out as each command is read; then the chunk, and the connection ends.
    server = GroupServer(chunking=True, withhold=False, hang_up_after_bdat=True, rcpt={GHOST: "550 5.1.1 User unknown"})
    ((an, ghost, binh),) = deliver_to_group_server(server, (Envelope(SHOP, (AN, GHOST, BINH)), message()))
    assert isinstance(an, Uncertain) and isinstance(binh, Uncertain)
    assert "may have accepted" in an.reply.text
    assert isinstance(ghost, Bounced), "a refusal read before the connection went is kept"
    assert len(server.messages) == 1, "sent once: an Uncertain recipient is never sent again by the transport"


def test_a_connection_lost_before_any_reply_to_a_chunked_message_is_uncertain_for_everyone() -> None:
    # A relay that answers a pipelined group at the end (as Postfix may) can take the message and go
    # before its replies are out: no reply read does not mean nothing was accepted.
    server = GroupServer(chunking=True, hang_up_after_bdat=True, rcpt={GHOST: "550 5.1.1 User unknown"})
    ((an, ghost),) = deliver_to_group_server(server, (Envelope(SHOP, (AN, GHOST)), message()))
    assert isinstance(an, Uncertain) and isinstance(ghost, Uncertain)


def test_a_pooled_connection_the_relay_closed_is_replaced_before_bdat_not_made_uncertain() -> None:
    server = GroupServer(chunking=True, close_after_bdat=True)
    results = deliver_to_group_server(server, *[(Envelope(SHOP, (AN,)), message())] * 5)
    assert all(isinstance(outcome, Delivered) for (outcome,) in results), results
    assert len(server.messages) == 5, "each message once, each on a connection of its own"


def test_a_421_at_rcpt_with_chunking_retries_the_whole_message_once_on_a_fresh_connection() -> None:
    server = GroupServer(chunking=True, rcpt={BUSY: "421 4.7.0 Too many errors"})
    ((an, busy),) = deliver_to_group_server(server, (Envelope(SHOP, (AN, BUSY)), message()))
    assert isinstance(an, Deferred) and isinstance(busy, Deferred) and busy.reply.code == 421
    assert len(commands(server)) == 2, "retried once, on a new connection"


# Against Postfix's smtp-sink, which offers PIPELINING and answers a group in one segment


@pytest.fixture
def smtp_sink() -> Iterator[tuple[int, list[str]]]:
    """Start smtp-sink on a free port with extra options; yields a starter, stops by PID."""
    binary = require_binary("smtp-sink", "postfix")
    started: list[subprocess.Popen[bytes]] = []

    def start(*options: str) -> int:
        for _ in range(5):  # a port free a moment ago may be taken before smtp-sink binds it: another
            port = free_port()
            process = subprocess.Popen(
                [binary, "-u", "nobody", *options, f"127.0.0.1:{port}", "64"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            started.append(process)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return port
                except OSError:
                    time.sleep(0.02)
            if process.poll() is None:  # running, never answering: no other port would help
                process.terminate()
                break
        raise RuntimeError(f"smtp-sink did not start: {process.stderr.read() if process.stderr else ''}")

    yield start  # type: ignore[misc]
    for process in started:
        process.terminate()  # its own PID only
        process.wait(timeout=5)


def sink_settings(port: int, **changes: object) -> RelaySettings:
    return dataclasses.replace(
        RelaySettings(host="127.0.0.1", port=port, security="none", allow_insecure=True, timeout=5), **changes
    )


@pytest.mark.needs_binary("smtp-sink")
def test_pipelined_deliveries_to_smtp_sink_all_arrive_once(smtp_sink) -> None:  # type: ignore[no-untyped-def]
    # 200 deliveries at once over 5 connections: most ride behind the final dot of the one before
    # (smtp-sink is Postfix's own SMTP server code, offering PIPELINING without CHUNKING).
    with tempfile.TemporaryDirectory() as where:  # not under pytest's tmp_path: smtp-sink runs as nobody
        dump = Path(where)
        dump.chmod(0o777)
        delivered_to_sink(smtp_sink("-d", f"{dump}/%M."), dump)


def delivered_to_sink(port: int, dump: Path) -> None:
    settings = sink_settings(port, max_connections=5)

    async def run() -> list[list[Outcome]]:
        async with RelayTransport(settings) as transport:
            recipients = (AN, BINH, BUSY)
            return await asyncio.gather(
                *(
                    transport.deliver(Envelope(SHOP, recipients), message(f"message {i}\r\n", recipients=recipients))
                    for i in range(200)
                )
            )

    results = asyncio.run(run())
    assert all(isinstance(o, Delivered) and o.reply.code == 250 for outcomes in results for o in outcomes), results
    bodies = sorted(f.read_bytes().replace(b"\r\n", b"\n").strip().rsplit(b"\n\n", 1)[-1] for f in dump.iterdir())
    assert bodies == sorted(f"message {i}".encode() for i in range(200)), "each message arrived, once"


@pytest.mark.needs_binary("smtp-sink")
def test_smtp_sink_closing_with_421_at_rcpt_defers_after_one_retry(smtp_sink) -> None:  # type: ignore[no-untyped-def]
    port = smtp_sink("-Q", "RCPT")
    outcomes = deliver_one(sink_settings(port), AN, BINH)
    assert all(isinstance(o, Deferred) and o.reply.code == 421 for o in outcomes)


@pytest.mark.needs_binary("smtp-sink")
def test_smtp_sink_hanging_up_at_data_defers_naming_the_step(smtp_sink) -> None:  # type: ignore[no-untyped-def]
    port = smtp_sink("-q", "DATA")
    (outcome,) = deliver_one(sink_settings(port), AN)
    assert isinstance(outcome, Deferred) and outcome.reply.status == "4.4.2"
    assert "at DATA" in outcome.reply.text


# The content as DATA sends it: the checks that skip rewriting must agree with the rewriting


@given(
    st.binary(max_size=300)
    | st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"..x"]), max_size=40).map(b"".join)
)
def test_line_endings_and_dot_stuffing_agree_with_the_full_rewrite(data: bytes) -> None:
    import re

    from aiosmtplib.protocol import normalize_message_line_endings

    from maildispatch.adapters.smtp_relay import _dot_stuffed, _wire_form

    wire = _wire_form(data)
    assert wire == normalize_message_line_endings(data)
    assert _dot_stuffed(wire) == re.sub(rb"(?m)^\.", b"..", wire)
