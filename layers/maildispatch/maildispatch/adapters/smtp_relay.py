"""The SMTP relay transport: hand one message to a relay and say what happened to each recipient.

`RelayTransport.deliver()` returns one Outcome per envelope recipient and never raises for SMTP
or network failures. Connections are pooled per transport, at most `max_connections` of them,
opened on demand and reused across deliveries. A transport can outlive an invocation (a warm
container keeps one, with its event loop): a connection idle for `idle_timeout` seconds is closed
rather than reused (`expire_idle()` QUITs them), and one idle for more than `recheck_after`
seconds is checked with NOOP before it carries a message; one that fails the check is replaced.

Rules that decide the outcomes:
- Our own problems never bounce a recipient: TLS, AUTH and connection failures are Deferred.
- Recipients refused at RCPT are Bounced (5xx) or Deferred (4xx); the reply to the end of the
  message content applies to every accepted recipient.
- A 421 or a lost connection before the message content was sent is retried once on a fresh
  connection (servers close idle connections). Once the content went out, a lost connection
  is Deferred if the final dot had not been sent, and Uncertain if it had: then the relay may
  hold the message and sending it again could duplicate it.

When the relay offers PIPELINING (RFC 2920), MAIL FROM, every RCPT TO and DATA go out in one
write and the replies are read in order: one round trip instead of two plus one per recipient,
which is most of the time a message takes against a relay some milliseconds away. The rules
above decide the outcomes either way.

When the relay offers CHUNKING (RFC 3030) as well, a message of up to CHUNKING_MAX_BYTES goes out
as `BDAT <size> LAST` right behind the envelope, in the same write: MAIL FROM, every RCPT TO, BDAT
and the content, then the replies in order. A message costs one round trip instead of two (the
354 to DATA is gone), with the same per-recipient outcomes. The point of no return moves: the
content went out before any reply came back, so a 421 to MAIL FROM or a RCPT TO (the relay ends
the session; the transaction cannot complete) is still retried once on a fresh connection, but a
connection lost or silent before the reply to BDAT makes every recipient not refused Uncertain.
Larger messages use DATA: the content goes out under flow control and a drop before the final
dot is known to be safe to retry. aiosmtplib has no BDAT; it is written on the connection here.

With PIPELINING and DATA, a delivery waiting for a connection (more deliveries in flight than
`max_connections`, as the template's defaults have it) rides on the one finishing: its MAIL FROM,
RCPT TO and DATA go out in the same write as that message's content and final dot (RFC 2920 3.1:
message content may be the first "command" of a group), and the connection passes to it once the
reply to that dot is read. A message then costs one round trip, not two, without CHUNKING. The
rider's content waits for its own 354 as before, so nothing of it can be delivered unless its own
transaction runs: if the connection ends before, it starts again on a fresh one.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import os
import re
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TypeVar

import aiosmtplib
from aiosmtplib.protocol import COMMAND_INJECTION_REGEX, SMTPProtocol, normalize_message_line_endings

from maildispatch.core.outcome import (
    Bounced,
    Deferred,
    Delivered,
    Envelope,
    Outcome,
    Reply,
    Uncertain,
    local_reply,
    parse_reply,
    stated_retry_delay,
)

SECURITY_MODES = ("starttls", "tls", "none")
# Replies that mean "you are not (properly) authenticated": our configuration, not the recipient.
AUTH_FAILURE_CODES = frozenset({530, 534, 535, 538})
_CONTENT_CHUNK = 64 * 1024
# Up to this size a message goes in one BDAT chunk, written with the envelope in one go; larger
# ones use DATA, sent under flow control (a lost connection before the final dot is then known).
CHUNKING_MAX_BYTES = 1024 * 1024
_UNUSABLE_IN_ADDRESS = re.compile(r"[\s<>\x00-\x1f\x7f]")
_E = TypeVar("_E", bound=BaseException)
_QUIT_TIMEOUT = 5.0


class RelayConfigError(ValueError):
    """The relay settings cannot work; the message says which field and why."""


@dataclass(frozen=True)
class RelaySettings:
    """Where and how to submit: host, port, TLS mode, AUTH and the pool's limits (the password never in a repr)."""

    host: str
    port: int = 587
    security: str = "starttls"  # "starttls" (587), "tls" (implicit TLS, 465), "none" (needs allow_insecure)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    allow_insecure: bool = False
    ca_file: str | None = None  # an extra trust anchor; certificates are always verified
    timeout: float = 30.0
    max_connections: int = 5
    max_messages_per_connection: int = 100
    local_hostname: str | None = None
    pipelining: bool = True  # RFC 2920, when the relay offers it; False sends one command at a time
    chunking: bool = True  # RFC 3030 BDAT, when the relay offers it along with PIPELINING; False: DATA
    idle_timeout: float = 60.0  # a pooled connection idle this long is closed, not reused
    recheck_after: float = 1.0  # a pooled connection idle this long gets a NOOP before it is reused

    def validate(self) -> None:
        if self.security not in SECURITY_MODES:
            modes = ", ".join(SECURITY_MODES)
            raise RelayConfigError(f"security must be one of {modes}, not {self.security!r}")
        if not self.host or any(ch.isspace() for ch in self.host):
            raise RelayConfigError(f"host must be a host name or address, not {self.host!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise RelayConfigError(f"port must be a number from 1 to 65535, not {self.port!r}")
        if self.security == "none" and not self.allow_insecure:
            raise RelayConfigError(
                "security 'none' sends mail unencrypted; it needs allow_insecure (local relays only)"
            )
        if self.security == "none" and (self.username is not None or self.password is not None):
            raise RelayConfigError("username/password with security 'none': AUTH is never sent unencrypted")
        if (self.username is None) != (self.password is None):
            raise RelayConfigError("username and password must be given together")
        if not self.timeout > 0:
            raise RelayConfigError(f"timeout must be positive, not {self.timeout!r}")
        if not self.idle_timeout > 0 or not self.recheck_after >= 0:
            raise RelayConfigError("idle_timeout must be positive and recheck_after not negative")
        if self.max_connections < 1 or self.max_messages_per_connection < 1:
            raise RelayConfigError("max_connections and max_messages_per_connection must be at least 1")
        name = self.local_hostname
        if name is not None and (not name or re.search(r"[\s\x00-\x1f]", name)):
            raise RelayConfigError(f"local_hostname must be a host name, not {name!r}")

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


class _SessionEnded(Exception):
    """The session ended (421, lost connection, timeout) before the message content was sent."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


@dataclass
class _Connection:
    """A pooled SMTP session and what the pool needs to know to reuse or retire it."""

    smtp: aiosmtplib.SMTP
    transactions: int = 0
    idle_since: float = 0.0  # time.monotonic() when it went back to the pool

    @property
    def is_open(self) -> bool:
        return self.smtp.is_connected

    def offers(self, extension: str) -> bool:
        return self.smtp.supports_extension(extension)


@dataclass(frozen=True)
class _ContentResult:
    """How the message content phase ended: a reply, or an end before/after the final dot."""

    response: aiosmtplib.SMTPResponse | None = None
    ended_before_dot: str | None = None
    ended_after_dot: str | None = None


@dataclass(eq=False)
class _Waiter:
    """A delivery waiting for one of the `max_connections` slots.

    It is woken with the slot alone (`connection` None: it checks a connection out itself), or with
    a connection on which a finishing delivery already sent its MAIL FROM, RCPT TO and DATA (`rcpts`:
    the recipients' indexes, in the order their replies come).
    """

    envelope: Envelope
    content: bytes  # wire form, for SIZE= and BODY=
    outcomes: list[Outcome | None]
    woken: asyncio.Future[None]
    connection: _Connection | None = None
    rcpts: list[int] = field(default_factory=list)


class RelayTransport:
    def __init__(self, settings: RelaySettings) -> None:
        settings.validate()
        self._settings = settings
        self._tls_context = client_tls_context(settings.ca_file) if settings.security != "none" else None
        self._idle: list[_Connection] = []
        self._busy = 0  # deliveries holding one of the max_connections slots
        self._waiting: collections.deque[_Waiter] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> RelayTransport:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def settings(self) -> RelaySettings:
        return self._settings

    async def close(self) -> None:
        """QUIT every pooled connection."""
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self._retire(connection) for connection in idle))

    async def expire_idle(self) -> int:
        """QUIT the pooled connections idle for `idle_timeout` or longer; returns how many.

        A warm container calls this as an invocation starts: its loop did not run while the
        container was frozen, so nothing closed them in the meantime.
        """
        self._running_pool()  # connections of another (closed) loop are dropped here
        now = time.monotonic()
        expired = [c for c in self._idle if now - c.idle_since >= self._settings.idle_timeout]
        if expired:
            self._idle = [c for c in self._idle if c not in expired]
            await asyncio.gather(*(self._retire(connection) for connection in expired))
        return len(expired)

    @property
    def pooled(self) -> int:
        """How many connections wait in the pool."""
        return len(self._idle)

    async def deliver(self, envelope: Envelope, message: bytes) -> list[Outcome]:
        """One Outcome per envelope recipient, in order; SMTP and network failures become outcomes."""
        outcomes: list[Outcome | None] = [_invalid_address(envelope, r) for r in envelope.recipients]
        if None not in outcomes:
            return _done(outcomes)
        content = _wire_form(message)
        riding = await self._take_slot(envelope, content, outcomes)
        carried: list[_Waiter] = []  # the waiting delivery whose envelope went out behind our content
        handed_on = False
        try:
            for attempt in (1, 2):
                connection: _Connection | Reply
                if riding is not None and riding.connection is not None:
                    connection, sent, riding = riding.connection, riding.rcpts, None
                else:
                    connection, sent = await self._checkout(fresh=attempt == 2), None
                if isinstance(connection, Reply):
                    return _completed(envelope, outcomes, connection)
                attempt_outcomes = list(outcomes)
                try:
                    await self._transaction(connection, envelope, content, attempt_outcomes, sent=sent, carried=carried)
                except _SessionEnded as ended:
                    connection.smtp.close()
                    if attempt == 2:  # the content was never sent: nothing can have been delivered
                        return _completed(envelope, attempt_outcomes, ended.reply)
                    continue
                except BaseException:  # cancelled mid-transaction: the session state is unknown
                    connection.smtp.close()
                    raise
                if carried:
                    self._hand_on(carried[0], connection)
                    handed_on = True
                else:
                    await self._checkin(connection)
                return _done(attempt_outcomes)
            raise AssertionError("unreachable")
        finally:
            if not carried:
                self._release_slot()
            elif not handed_on:  # cancelled after the rider's envelope went out: it gets the slot alone
                self._hand_on(carried[0], None)

    # The pool

    def _running_pool(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            for connection in self._idle:  # made in another event loop: unusable in this one
                try:
                    connection.smtp.close()
                except RuntimeError:  # that loop is closed already
                    pass
            self._loop, self._idle, self._busy, self._waiting = loop, [], 0, collections.deque()

    async def _take_slot(self, envelope: Envelope, content: bytes, outcomes: list[Outcome | None]) -> _Waiter | None:
        """A slot of the pool; with a connection that already carries this delivery's envelope
        (returned as the waiter it rode as), or None when the caller checks one out itself."""
        self._running_pool()
        if self._busy < self._settings.max_connections:
            self._busy += 1
            return None
        assert self._loop is not None
        waiter = _Waiter(envelope, content, outcomes, self._loop.create_future())
        self._waiting.append(waiter)
        try:
            await waiter.woken
        except BaseException:
            if waiter.woken.done() and not waiter.woken.cancelled():  # woken and cancelled at once
                if waiter.connection is not None:
                    waiter.connection.smtp.close()  # its envelope's replies are unread
                self._release_slot()
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            raise
        return waiter if waiter.connection is not None else None

    def _release_slot(self) -> None:
        """The slot passes to the first delivery waiting for one, or back to the pool."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.woken.done():
                waiter.woken.set_result(None)
                return
        self._busy -= 1

    def _rider_for(self, connection: _Connection) -> _Waiter | None:
        """The first waiting delivery, if this connection can carry its envelope behind the current
        message's content (taken off the queue; its slot is this delivery's once that is done)."""
        while self._waiting and self._waiting[0].woken.done():
            self._waiting.popleft()  # cancelled while waiting
        if not self._waiting or connection.transactions >= self._settings.max_messages_per_connection:
            return None
        waiter = self._waiting[0]
        if waiter.envelope.needs_smtputf8 and not connection.offers("smtputf8"):
            return None
        self._waiting.popleft()
        return waiter

    def _hand_on(self, rider: _Waiter, connection: _Connection | None) -> None:
        """Wake `rider` with this delivery's slot and, if still open, the connection carrying its
        envelope; a rider gone meanwhile (cancelled) gives the slot back."""
        if rider.woken.done():  # cancelled after its envelope went out: nobody reads those replies
            if connection is not None:
                connection.smtp.close()
            self._release_slot()
            return
        rider.connection = connection if connection is not None and connection.is_open else None
        rider.woken.set_result(None)

    async def _checkout(self, *, fresh: bool = False) -> _Connection | Reply:
        """A pooled connection that is still open, else a new one (always new when `fresh`)."""
        while self._idle and not fresh:
            connection = self._idle.pop()  # the most recently used: the others age out
            idle = time.monotonic() - connection.idle_since
            if not connection.is_open or idle >= self._settings.idle_timeout:
                connection.smtp.close()
                continue
            if idle >= self._settings.recheck_after and not await self._still_there(connection):
                continue
            return connection
        return await self._open()

    async def _still_there(self, connection: _Connection) -> bool:
        """NOOP on a connection that waited a while: the relay may have closed it meanwhile."""
        try:
            response = await connection.smtp.execute_command(
                b"NOOP", timeout=min(self._settings.timeout, _QUIT_TIMEOUT)
            )
        except (aiosmtplib.SMTPException, OSError):
            response = None
        if response is None or response.code != 250:
            connection.smtp.close()
            return False
        return True

    async def _checkin(self, connection: _Connection) -> None:
        if connection.is_open and connection.transactions < self._settings.max_messages_per_connection:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            await self._retire(connection)

    async def _retire(self, connection: _Connection) -> None:
        try:
            if connection.is_open:
                await connection.smtp.quit(timeout=min(self._settings.timeout, _QUIT_TIMEOUT))
        except (aiosmtplib.SMTPException, OSError):
            pass
        finally:
            connection.smtp.close()

    async def _open(self) -> _Connection | Reply:
        """Connect, EHLO, STARTTLS (required in starttls mode), EHLO, AUTH; or the reason it failed."""
        s = self._settings
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            local_hostname=s.local_hostname or await _local_hostname(),
            use_tls=s.security == "tls",
            start_tls=False,
            tls_context=self._tls_context,
        )
        step = "connect"
        try:
            await smtp.connect()
            step = "EHLO"
            await smtp.ehlo()
            if s.security == "starttls":
                if not smtp.supports_extension("starttls"):
                    smtp.close()
                    text = (
                        f"{s.endpoint} does not offer STARTTLS; we never send or authenticate in the "
                        "clear (is this port implicit TLS? use security 'tls')"
                    )
                    return local_reply("4.7.0", text, s.host)
                step = "STARTTLS"
                await smtp.starttls()
                step = "EHLO after STARTTLS"
                await smtp.ehlo()
            if s.username is not None and s.password is not None:
                step = "AUTH"
                await smtp.login(s.username, s.password)
        except (aiosmtplib.SMTPException, OSError) as exc:
            smtp.close()
            return _session_failure(s, step, exc)
        return _Connection(smtp)

    # One transaction on a live session

    async def _transaction(
        self,
        connection: _Connection,
        envelope: Envelope,
        content: bytes,
        outcomes: list[Outcome | None],
        *,
        sent: list[int] | None = None,
        carried: list[_Waiter],
    ) -> None:
        """MAIL, RCPT, DATA: fills `outcomes`; raises _SessionEnded if it ended before the content.

        `sent`: the envelope went out already (behind another message's content), for these
        recipients. A waiting delivery whose envelope goes out behind this content is put in `carried`.
        """
        host = self._settings.host
        if sent is None and envelope.needs_smtputf8 and not connection.offers("smtputf8"):
            reply = local_reply(
                "5.6.7",
                f"{self._settings.endpoint} does not offer SMTPUTF8, which this envelope's non-ASCII addresses need",
                host,
            )
            outcomes[:] = _completed(envelope, outcomes, reply, bounce=True)
            return
        pipelining = sent is not None or (self._settings.pipelining and connection.offers("pipelining"))
        if sent is not None:
            accepted, response = await self._read_envelope_replies(connection, envelope, sent, outcomes)
        else:
            connection.transactions += 1
            if (
                pipelining
                and self._settings.chunking
                and connection.offers("chunking")
                and len(content) <= CHUNKING_MAX_BYTES
            ):
                await self._transaction_chunked(connection, envelope, content, outcomes)
                return
            if pipelining:
                accepted, response = await self._send_envelope_pipelined(connection, envelope, content, outcomes)
            else:
                accepted, response = await self._send_envelope(connection, envelope, content, outcomes)
        if not accepted:
            if response is not None and response.code == 354:
                # RFC 2920 3.1: a server that takes DATA with no recipient gets an empty message ended at once.
                await self._end_empty_content(connection)
            await self._reset(connection)
            return
        assert response is not None, "DATA is sent whenever a recipient was accepted"
        if response.code != 354:
            await self._reset(connection)
            for index in accepted:
                outcomes[index] = _refusal(envelope.recipients[index], "DATA", response, host)
            return
        rider = self._rider_for(connection) if pipelining else None
        after = b""
        if rider is not None:
            # Behind the final dot: RFC 2920 3.1 lets message content open a group, and the reply to
            # the dot ends this transaction whatever it says (RFC 5321 4.1.1.4), so no RSET is needed.
            try:
                mail, rcpts = _envelope_commands(connection, rider.envelope, rider.content, rider.outcomes)
            except ValueError:  # its own delivery says so, when it gets a slot of its own
                self._waiting.appendleft(rider)
                rider = None
            else:
                rider.rcpts = [index for index, _ in rcpts]
                after = b"".join(command + b"\r\n" for command in (mail, *(c for _, c in rcpts), b"DATA"))
                connection.transactions += 1
                carried.append(rider)
        result = await _send_content_and_read_reply(connection.smtp, content, self._settings.timeout, after=after)
        for index in accepted:
            outcomes[index] = _content_outcome(envelope.recipients[index], result, self._settings)
        if result.response is not None and result.response.code == 421:
            connection.smtp.close()
        elif result.response is not None and not 200 <= result.response.code < 300 and rider is None:
            await self._reset(connection)

    async def _send_envelope(
        self, connection: _Connection, envelope: Envelope, content: bytes, outcomes: list[Outcome | None]
    ) -> tuple[list[int], aiosmtplib.SMTPResponse | None]:
        """MAIL FROM, one RCPT TO per recipient, then DATA if any was accepted; one command at a time.

        Returns the indexes of the accepted recipients and the reply to DATA (None if not sent).
        """
        mail, rcpts = _envelope_commands(connection, envelope, content, outcomes)
        response = await self._command(connection, "MAIL FROM", mail)
        if not 200 <= response.code < 300:
            _refuse_all(envelope, outcomes, response, self._settings.host)
            return [], None
        accepted: list[int] = []
        for index, command in rcpts:
            response = await self._command(connection, "RCPT TO", command)
            self._rcpt_outcome(envelope, index, response, outcomes, accepted)
        if not accepted:
            return [], None
        return accepted, await self._command(connection, "DATA", b"DATA")

    async def _send_envelope_pipelined(
        self, connection: _Connection, envelope: Envelope, content: bytes, outcomes: list[Outcome | None]
    ) -> tuple[list[int], aiosmtplib.SMTPResponse | None]:
        """RFC 2920: MAIL FROM, every RCPT TO and DATA in one write, then their replies in order.

        Returns what `_send_envelope` does; DATA always went out, so its reply is always there.
        """
        mail, rcpts = _envelope_commands(connection, envelope, content, outcomes)
        try:
            _write(connection.smtp, b"".join(command + b"\r\n" for command in (mail, *(c for _, c in rcpts), b"DATA")))
        except (aiosmtplib.SMTPException, OSError) as exc:
            connection.smtp.close()
            raise _SessionEnded(_session_failure(self._settings, "MAIL FROM", exc)) from exc
        return await self._read_envelope_replies(connection, envelope, [index for index, _ in rcpts], outcomes)

    async def _read_envelope_replies(
        self, connection: _Connection, envelope: Envelope, rcpts: list[int], outcomes: list[Outcome | None]
    ) -> tuple[list[int], aiosmtplib.SMTPResponse | None]:
        """The replies to a pipelined MAIL FROM, RCPT TO (for the recipients `rcpts`) and DATA, in order.

        Every reply of the group is read, even after a refused MAIL FROM, so the session stays
        in step. A 421 or a lost session anywhere in the group ends it as it would one command
        at a time: nothing of the content was sent yet.
        """
        steps = ["MAIL FROM", *("RCPT TO" for _ in rcpts), "DATA"]
        step = "MAIL FROM"
        try:
            replies = []
            for step in steps:  # noqa: B007  # `step` names the command in the except clause below
                replies.append(await _next_reply(connection.smtp, self._settings.timeout))
                if replies[-1].code == 421:
                    break
        except (aiosmtplib.SMTPException, OSError) as exc:
            connection.smtp.close()
            raise _SessionEnded(_session_failure(self._settings, step, exc)) from exc
        if replies[-1].code == 421:
            connection.smtp.close()
            raise _SessionEnded(parse_reply(421, replies[-1].message, self._settings.host))
        mail_reply, *rcpt_replies, data_reply = replies
        accepted: list[int] = []
        if not 200 <= mail_reply.code < 300:
            _refuse_all(envelope, outcomes, mail_reply, self._settings.host)
        else:
            for index, response in zip(rcpts, rcpt_replies, strict=False):
                self._rcpt_outcome(envelope, index, response, outcomes, accepted)
        return accepted, data_reply

    async def _transaction_chunked(
        self, connection: _Connection, envelope: Envelope, content: bytes, outcomes: list[Outcome | None]
    ) -> None:
        """RFC 3030 with RFC 2920: MAIL FROM, every RCPT TO, `BDAT <n> LAST` and the content in one
        write, then the replies in order; fills `outcomes`.

        Raises _SessionEnded (retried on a fresh connection) when the connection is gone before
        the write or the kernel refuses it, or the relay answers 421 to MAIL FROM or a RCPT TO: it then ends the session
        without completing the transaction. Every other way the session ends after the write
        leaves the recipients not refused Uncertain: the relay may have taken the message.
        """
        smtp, settings = connection.smtp, self._settings
        mail, rcpts = _envelope_commands(connection, envelope, content, outcomes)
        bdat = b"BDAT %d LAST" % len(content)
        group = [("MAIL FROM", mail), *(("RCPT TO", command) for _, command in rcpts), ("BDAT", bdat)]
        # Nothing is safe to retry once the content is out, so a pooled connection the relay closed
        # in the meantime must be found out before: one turn of the loop sees an EOF that arrived,
        # and a send the kernel refuses (a reset that arrived) closes the transport within `write`.
        await asyncio.sleep(0)
        try:
            if not connection.is_open:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
            _write(smtp, b"".join([*(command + b"\r\n" for _, command in group), content]))  # the point of no return
            if not connection.is_open:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        except (aiosmtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise _SessionEnded(_session_failure(settings, "MAIL FROM", exc)) from exc
        replies: list[aiosmtplib.SMTPResponse] = []
        ended: str | None = None
        try:
            for step, _ in group:
                replies.append(await _next_reply(smtp, settings.timeout))
                if replies[-1].code == 421 and step != "BDAT":
                    smtp.close()
                    raise _SessionEnded(parse_reply(421, replies[-1].message, settings.host))
        except aiosmtplib.SMTPTimeoutError:
            ended = f"no reply within {settings.timeout:g} s after the message was sent with BDAT"
        except (aiosmtplib.SMTPException, OSError):
            ended = "connection lost after the message was sent with BDAT, before the reply"
        if ended is not None:
            smtp.close()
        mail_reply, rcpt_replies = (replies[0], replies[1 : 1 + len(rcpts)]) if replies else (None, [])
        if mail_reply is not None and not 200 <= mail_reply.code < 300:
            _refuse_all(envelope, outcomes, mail_reply, settings.host)
            await self._reset(connection)
            return
        accepted: list[int] = []
        for (index, _), response in zip(rcpts, rcpt_replies, strict=False):
            self._rcpt_outcome(envelope, index, response, outcomes, accepted)
        if ended is not None:  # the replies not read may have accepted recipients too
            result = _ContentResult(ended_after_dot=ended)
            unanswered = [index for index, _ in rcpts[len(rcpt_replies) :]]
            for index in accepted + unanswered:
                outcomes[index] = _content_outcome(envelope.recipients[index], result, settings)
            return
        bdat_reply = replies[-1]
        for index in accepted:
            outcomes[index] = _content_outcome(
                envelope.recipients[index], _ContentResult(response=bdat_reply), settings, step="BDAT"
            )
        if bdat_reply.code == 421:
            smtp.close()
        elif not accepted or not 200 <= bdat_reply.code < 300:
            await self._reset(connection)

    def _rcpt_outcome(
        self,
        envelope: Envelope,
        index: int,
        response: aiosmtplib.SMTPResponse,
        outcomes: list[Outcome | None],
        accepted: list[int],
    ) -> None:
        if 200 <= response.code < 300:
            accepted.append(index)
        else:
            outcomes[index] = _refusal(envelope.recipients[index], "RCPT TO", response, self._settings.host)

    async def _end_empty_content(self, connection: _Connection) -> None:
        """Send the final dot right after a 354 and read the reply; close the session if that fails."""
        try:
            _write(connection.smtp, b".\r\n")
            await _next_reply(connection.smtp, self._settings.timeout)
        except (aiosmtplib.SMTPException, OSError):
            connection.smtp.close()

    async def _command(self, connection: _Connection, step: str, *args: bytes) -> aiosmtplib.SMTPResponse:
        """One command and its reply; a 421 or a lost session raises _SessionEnded."""
        try:
            response = await connection.smtp.execute_command(*args)
        except (aiosmtplib.SMTPException, OSError) as exc:
            connection.smtp.close()
            raise _SessionEnded(_session_failure(self._settings, step, exc)) from exc
        if response.code == 421:
            connection.smtp.close()
            raise _SessionEnded(parse_reply(421, response.message, self._settings.host))
        return response

    async def _reset(self, connection: _Connection) -> None:
        """RSET after a failed transaction, so the session can be reused; close it if that fails."""
        if not connection.is_open:
            return
        try:
            response = await connection.smtp.execute_command(b"RSET")
        except (aiosmtplib.SMTPException, OSError):
            response = None
        if response is None or response.code != 250:
            connection.smtp.close()


def _envelope_commands(
    connection: _Connection, envelope: Envelope, content: bytes, outcomes: Sequence[Outcome | None]
) -> tuple[bytes, list[tuple[int, bytes]]]:
    """The MAIL FROM command and, per recipient without an outcome yet, its index and RCPT TO command."""
    encoding = "utf-8" if envelope.needs_smtputf8 else "ascii"
    options = [b"SIZE=%d" % len(content)] if connection.offers("size") else []
    if envelope.needs_smtputf8:
        options.append(b"SMTPUTF8")
    if connection.offers("8bitmime") and not content.isascii():
        options.append(b"BODY=8BITMIME")
    mail = b" ".join([b"MAIL FROM:<" + envelope.sender.encode(encoding) + b">", *options])
    rcpts = [
        (index, b"RCPT TO:<" + recipient.encode(encoding) + b">")
        for index, recipient in enumerate(envelope.recipients)
        if outcomes[index] is None
    ]
    if any(COMMAND_INJECTION_REGEX.search(command) for command in (mail, *(c for _, c in rcpts))):
        raise ValueError("an SMTP command contains a control character")  # _invalid_address keeps them out
    return mail, rcpts


def _refuse_all(
    envelope: Envelope, outcomes: list[Outcome | None], response: aiosmtplib.SMTPResponse, host: str
) -> None:
    """A refused MAIL FROM: every recipient without an outcome yet gets that refusal."""
    for index, recipient in enumerate(envelope.recipients):
        if outcomes[index] is None:
            outcomes[index] = _refusal(recipient, "MAIL FROM", response, host)


def _write(smtp: aiosmtplib.SMTP, data: bytes) -> None:
    if smtp.protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    smtp.protocol.write(data)


async def _next_reply(smtp: aiosmtplib.SMTP, timeout: float) -> aiosmtplib.SMTPResponse:
    """The next reply of a pipelined group: one that has arrived already, else the next to arrive.

    aiosmtplib expects one reply per command written, and two of its habits matter here:
    - It parses the first reply of what arrives and keeps the rest in its buffer, where nothing
      looks until more data comes; replies to a group often arrive in one segment, so they are
      taken from the buffer first.
    - Data that arrives after a reply is parsed but before the reader has taken it is dropped.
      Our task must therefore resume as soon as the reply is there, before the loop reads the
      socket again: awaiting the reply directly (no `timeout=`, which on Python 3.11 puts
      `wait_for`'s extra step in between) and timing out around it does that.

    A reply parsed while nobody waited (the connection passing from one delivery to the next)
    sits in the waiter already, ahead of what is still in the buffer: it is taken first.
    """
    protocol = smtp.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    waiter = protocol._response_waiter
    if waiter is not None and waiter.done() and not waiter.cancelled():
        _renew_waiter(protocol)
        return waiter.result()
    buffered = protocol._read_response_from_buffer()  # aiosmtplib 5.1's parser of its own buffer
    if buffered is not None:
        return buffered
    return await _awaited_reply(protocol, timeout)


async def _awaited_reply(protocol: SMTPProtocol, timeout: float) -> aiosmtplib.SMTPResponse:
    """The reply `protocol.read_response()` waits for, or SMTPReadTimeoutError after `timeout` seconds.

    A timer fails the future the reply is awaited on (aiosmtplib 5.1's `_response_waiter`), as a lost
    connection does. That costs a third of `asyncio.timeout()` (its context, the task's cancel and
    uncancel) and, unlike `read_response(timeout=)` on Python 3.11, no extra turn of the loop; a
    message waits for a reply once or twice, so it is a measurable part of what it costs.

    The future is awaited here directly, with the bookkeeping `read_response()` does around it
    (the pending flag, a fresh waiter afterwards, none once disconnected): its coroutine and the
    `wait_for(timeout=None)` inside it are two more frames every resumption passes through.
    """
    waiter = protocol._response_waiter
    if waiter is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    expiry = asyncio.get_running_loop().call_later(timeout, _time_out, waiter)
    protocol._response_pending = True
    try:
        return await waiter
    finally:
        expiry.cancel()
        protocol._response_pending = False
        _renew_waiter(protocol)


def _renew_waiter(protocol: SMTPProtocol) -> None:
    """A fresh future for the next reply once one was taken (none once disconnected), as
    aiosmtplib 5.1's `read_response()` leaves it."""
    protocol._response_waiter = None if protocol.transport is None else protocol._loop.create_future()


def _time_out(waiter: asyncio.Future[aiosmtplib.SMTPResponse]) -> None:
    if not waiter.done():
        waiter.set_exception(aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response"))


async def _send_content_and_read_reply(
    smtp: aiosmtplib.SMTP, content: bytes, timeout: float, *, after: bytes = b""
) -> _ContentResult:
    """After the 354: send the message content and the final dot, then read the reply.

    This is done by hand, not with aiosmtplib's `data()`, to know on which side of the final dot
    a connection ended. Until we have written the terminating ".\r\n", the relay cannot have the
    complete message: no duplicate risk, Deferred. Once it is written, the relay may accept the
    message even if we never see the reply: Uncertain. (A drop we only notice after writing the
    dot counts as after it; kernel buffers make anything finer guesswork, so we err towards
    Uncertain, never towards a duplicate.)

    To notice a drop before the point of no return, the dot-stuffed content goes out in chunks
    under the transport's flow control (a server that stops reading pauses us, and a reset ends
    the wait), letting the loop run after each chunk so that an arrived reset or EOF is seen.
    Only if the connection is still up then is the dot written, with no await in between.
    A timeout while sending the content counts as before the dot; waiting for the reply, after.

    Content that fits in one chunk (most messages) goes out with the dot in one write: one send
    per message fewer, which is a large part of what a message costs us. A send the kernel
    refuses (a reset or EOF that has arrived) closes the transport before `write` returns, and
    then nothing of it went out: that is still before the dot.

    `after` (the next transaction's pipelined envelope) goes out in the same write as the dot.
    """
    protocol = smtp.protocol
    if protocol is None or not protocol.is_connected:
        return _ContentResult(ended_before_dot="connection lost before the message content was sent")
    body = _dot_stuffed(content)
    try:
        if len(body) <= _CONTENT_CHUNK:
            protocol.write(body + b".\r\n" + after)  # the point of no return, unless the send was refused
            if not protocol.is_connected:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        else:
            for start in range(0, len(body), _CONTENT_CHUNK):
                protocol.write(body[start : start + _CONTENT_CHUNK])
                async with asyncio.timeout(timeout):
                    await protocol._drain_helper()  # aiosmtplib's copy of asyncio's flow control wait
                await asyncio.sleep(0)  # let the loop see a reset or EOF that has arrived meanwhile
            if not protocol.is_connected:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
            protocol.write(b".\r\n" + after)  # the point of no return
    except (aiosmtplib.SMTPException, OSError) as exc:
        smtp.close()
        what = "timed out" if isinstance(exc, TimeoutError) else "connection lost"
        return _ContentResult(ended_before_dot=f"{what} while sending the message content, before the final dot")
    try:
        response = await _awaited_reply(protocol, timeout)
    except aiosmtplib.SMTPTimeoutError:
        smtp.close()
        return _ContentResult(ended_after_dot=f"no reply within {timeout:g} s after the final dot")
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()
        return _ContentResult(ended_after_dot="connection lost after the final dot, before the reply")
    if after:
        # The replies to `after` are on their way, and the connection changes hands before its next
        # reader runs: aiosmtplib drops what arrives while no reply is pending, so one stays pending.
        protocol._response_pending = True
    return _ContentResult(response=response)


def _wire_form(message: bytes) -> bytes:
    """The message with CRLF line endings throughout, ending in CRLF, as DATA sends it.

    Messages from mime.py are in that form already; checking is a few scans in C, while
    rewriting with aiosmtplib's regular expression costs tens of microseconds per message.
    """
    crlf = message.count(b"\r\n")
    if message.endswith(b"\r\n") and message.count(b"\n") == crlf and message.count(b"\r") == crlf:
        return message
    return normalize_message_line_endings(message)


def _dot_stuffed(content: bytes) -> bytes:
    """RFC 5321 4.5.2: a line that starts with "." gets another one (content is in wire form)."""
    # The regular expression's literal scan finds "\n." a few times faster than `in` does.
    if not content.startswith(b".") and _NEWLINE_DOT.search(content) is None:
        return content
    return _LINE_START_DOT.sub(b"..", content)


_NEWLINE_DOT = re.compile(rb"\n\.")
_LINE_START_DOT = re.compile(rb"(?m)^\.")


_local_name: str | None = None


async def _local_hostname() -> str:
    """This host's name for EHLO, looked up once per process rather than per connection.

    aiosmtplib would call socket.getfqdn() in a thread for every connection it opens: a thread
    hop per connection, and on a host like Lambda's a reverse lookup that can take a while.
    """
    global _local_name
    if _local_name is None:
        _local_name = await asyncio.to_thread(socket.getfqdn)
    return _local_name


def _content_outcome(
    recipient: str, result: _ContentResult, settings: RelaySettings, *, step: str = "end of data"
) -> Outcome:
    if result.response is not None:
        if 200 <= result.response.code < 300:
            reply = parse_reply(result.response.code, result.response.message, settings.host)
            return Delivered(recipient, reply)
        return _refusal(recipient, step, result.response, settings.host)
    if result.ended_after_dot is not None:
        text = f"{settings.endpoint}: {result.ended_after_dot}; the relay may have accepted the message"
        return Uncertain(recipient, local_reply("4.4.2", text, settings.host))
    text = f"{settings.endpoint}: {result.ended_before_dot}; the relay cannot have accepted the message"
    return Deferred(recipient, local_reply("4.4.2", text, settings.host))


def _refusal(recipient: str, step: str, response: aiosmtplib.SMTPResponse, host: str) -> Outcome:
    """A non-2xx reply: 4xx Deferred, 5xx Bounced; authentication replies are our problem: Deferred."""
    code = response.code
    if code in AUTH_FAILURE_CODES:
        diagnostic = parse_reply(code, response.message).diagnostic
        text = f"{host} requires authentication at {step}: {diagnostic}; check the relay credentials"
        return Deferred(recipient, local_reply("4.7.0", text, host, command=step))
    if not 400 <= code < 600:  # not SMTP at all (aiosmtplib says -1 for garbage)
        text = f"{host} gave an unexpected reply at {step}: {code} {response.message}"
        return Deferred(recipient, local_reply("4.5.0", text, host, command=step))
    # The step travels with the reply: a refused MAIL FROM is about the sender, never the recipient.
    reply = parse_reply(code, response.message, host, command=step)
    if code >= 500:
        return Bounced(recipient, reply)
    return Deferred(recipient, reply, stated_retry_delay(reply.text))


def _session_failure(settings: RelaySettings, step: str, exc: BaseException) -> Reply:
    """Why a session could not be set up or went away, as a local reply naming the step."""
    where, host = settings.endpoint, settings.host
    tls_error = _cause(exc, ssl.SSLError)
    if isinstance(tls_error, ssl.SSLCertVerificationError):
        return local_reply(
            "4.7.0", f"TLS certificate of {where} not accepted at {step}: {tls_error.verify_message or tls_error}", host
        )
    if tls_error is not None:
        return local_reply(
            "4.7.0",
            f"TLS handshake with {where} failed at {step}: {tls_error.reason or tls_error} "
            "(is the security mode right for this port? 465 is implicit TLS, 587 STARTTLS)",
            host,
        )
    if step == "AUTH" and isinstance(exc, aiosmtplib.SMTPResponseException):  # 535, 534, 538, 454...
        reply = parse_reply(exc.code, exc.message, host)
        return local_reply(
            "4.7.0", f"{where} refused our AUTH: {reply.diagnostic}; check the relay username and password", host
        )
    if step == "AUTH":
        return local_reply("4.7.0", f"AUTH with {where} failed: {exc}", host)
    if step == "STARTTLS" and isinstance(exc, aiosmtplib.SMTPResponseException):
        reply = parse_reply(exc.code, exc.message, host)
        return local_reply("4.7.0", f"{where} refused STARTTLS: {reply.diagnostic}", host)
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        reply = parse_reply(exc.code, exc.message, host)
        return local_reply("4.4.1", f"{where} refused the session at its greeting: {reply.diagnostic}", host)
    if isinstance(exc, aiosmtplib.SMTPConnectTimeoutError):
        return local_reply("4.4.1", f"no answer from {where} within {settings.timeout:g} s at {step}", host)
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        return local_reply("4.4.1", f"cannot connect to {where}: {_os_error_text(exc)}", host)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return local_reply("4.4.2", f"no reply from {where} within {settings.timeout:g} s at {step}", host)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        said = parse_reply(exc.code, exc.message).diagnostic if exc.code > 0 else exc.message
        return local_reply("4.4.2", f"{where} refused {step}: {said}", host)
    return local_reply("4.4.2", f"connection to {where} lost at {step}: {exc}", host)


def _os_error_text(exc: BaseException) -> str:
    """ "Connection refused" rather than "Error connecting to h on port p: [Errno 111] Connect call failed"."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno:
            return os.strerror(seen.errno)
        seen = seen.__cause__ or seen.__context__
    return str(exc)


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of `kind` in the chain of causes, starting with `exc` itself."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@functools.lru_cache(maxsize=8)
def client_tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context (system CAs plus `ca_file`, host names checked), built once per process."""
    context = ssl.create_default_context()  # the system's CAs, always: SMTP_CA_FILE adds one, it replaces none
    if ca_file is None:
        return context
    try:
        context.load_verify_locations(cafile=ca_file)
        return context
    except (OSError, ssl.SSLError) as exc:
        raise RelayConfigError(f"ca_file {ca_file!r} cannot be loaded: {exc}") from exc


def _invalid_address(envelope: Envelope, recipient: str) -> Outcome | None:
    """A permanent local refusal for an address that cannot go into an SMTP command at all."""
    bad = _UNUSABLE_IN_ADDRESS
    if bad.search(envelope.sender):
        return Bounced(
            recipient, local_reply("5.1.7", f"invalid envelope sender {envelope.sender!r}", command="MAIL FROM")
        )
    if not recipient or bad.search(recipient):
        return Bounced(recipient, local_reply("5.1.3", f"invalid recipient address {recipient!r}"))
    return None


def _completed(
    envelope: Envelope, outcomes: Sequence[Outcome | None], reply: Reply, *, bounce: bool = False
) -> list[Outcome]:
    """`outcomes` with every recipient that has none yet given `reply` (Deferred, or Bounced)."""
    completed: list[Outcome] = []
    for recipient, outcome in zip(envelope.recipients, outcomes, strict=False):
        if outcome is None and bounce:
            outcome = Bounced(recipient, reply)
        elif outcome is None:
            outcome = Deferred(recipient, reply, stated_retry_delay(reply.text))
        completed.append(outcome)
    return completed


def _done(outcomes: Sequence[Outcome | None]) -> list[Outcome]:
    done = [outcome for outcome in outcomes if outcome is not None]
    assert len(done) == len(outcomes), "a recipient was left without an outcome"
    return done
