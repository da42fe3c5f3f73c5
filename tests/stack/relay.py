"""A scriptable SMTP relay for tests and the local demo: a real aiosmtpd server in its own process.

    python -m tests.stack.relay --ready-file F --maildir DIR --script SCRIPT.json --log LOG.jsonl \\
        [--security starttls|tls|none] [--cert C --key K] [--auth USER:PASS] [--no-smtputf8]

It binds 127.0.0.1 on a free port and writes the port to the ready file once it listens. Stop it
by its PID (SIGTERM).

The script (JSON, re-read whenever the file changes; a change restarts every sequence):

    {"mail": {"shop@example.com": ["451 4.3.0 try later", "250 OK"]},
     "rcpt": {"ghost@example.net": ["550 5.1.1 <ghost@example.net>: User unknown"]},
     "data": {"dropme@example.net": ["drop_after_dot", "250"]}}

"mail" is keyed by sender ("<>" for the null sender), "rcpt" and "data" by recipient. Each command
for that address takes the next entry; the last one sticks. An entry is a reply line ("250 ...",
"451 ...", "550 ..."; a 421 reply also closes the connection) or, at any stage, "drop" (close
without a reply). At "data", the entry of the first accepted recipient that has a script and
is not a 2xx decides; further entries:
  "drop_mid_data"   reset the connection after the first 16 KiB of content, before the final dot
                    (send a message larger than the socket buffers, a few MiB, so that the
                    client is still sending when it happens)
  "drop_after_dot"  store the message, then close without a reply
  "hang_after_dot"  store the message, then never reply (longer than any client timeout)
  "slow:SECONDS"    wait, then accept

Accepted messages go to DIR/new/<unique>.eml with X-Envelope-From (the null sender as "<>") and
one X-Envelope-To per recipient prepended. Every session event and command outcome is appended
to the JSONL log: {"session", "event", "sender"/"recipient", "reply", ...}. Passwords are never
logged.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import ssl
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

DROP_MID_DATA_AFTER_BYTES = 16 * 1024
HANG_SECONDS = 3600.0
DEFAULT_DATA_REPLY = "250 2.0.0 OK"


class Script:
    """The reply script, reloaded when its file changes; one counter per (stage, address)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._stamp: tuple[int, int, int] | None = None
        self._replies: dict[str, dict[str, list[str]]] = {}
        self._counters: dict[tuple[str, str], int] = {}

    def next_entry(self, stage: str, address: str) -> str | None:
        """The next scripted entry for `address` at `stage`, or None when it has no script."""
        self._reload_if_changed()
        entries = self._replies.get(stage, {}).get(address.lower())
        if not entries:
            return None
        key = (stage, address.lower())
        index = self._counters.get(key, 0)
        self._counters[key] = index + 1
        return entries[min(index, len(entries) - 1)]

    def _reload_if_changed(self) -> None:
        if self._path is None:
            return
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp == self._stamp:
            return
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # a half-written file: keep the previous script and look again next time
        self._stamp = stamp
        self._replies = {
            stage: {address.lower(): list(entries) for address, entries in table.items()}
            for stage, table in raw.items()
        }
        self._counters.clear()


class EventLog:
    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")

    def write(self, **event: Any) -> None:
        event["t"] = round(time.time(), 6)
        self._file.write(json.dumps(event, ensure_ascii=False) + "\n")
        self._file.flush()


class Maildir:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._count = 0
        for sub in ("tmp", "new", "cur"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def store(self, sender: str, recipients: list[str], content: bytes) -> str:
        """Store one message; `sender` is the envelope sender as logged ("<>" for the null sender)."""
        self._count += 1
        name = f"{time.time_ns():020d}.{os.getpid()}.{self._count:06d}.eml"
        headers = [f"X-Envelope-From: {sender}"]
        headers += [f"X-Envelope-To: {recipient}" for recipient in recipients]
        data = ("\r\n".join(headers) + "\r\n").encode("utf-8") + content
        temporary = self._root / "tmp" / name
        temporary.write_bytes(data)
        os.replace(temporary, self._root / "new" / name)
        return name


class ScriptedHandler:
    """aiosmtpd hooks that answer from the script, store accepted mail and log every outcome."""

    def __init__(self, script: Script, log: EventLog, maildir: Maildir) -> None:
        self.script = script
        self.log = log
        self.maildir = maildir

    async def handle_EHLO(
        self, server: ScriptedSMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname  # aiosmtpd leaves this to an EHLO hook
        server.log_event("ehlo", hostname=hostname, tls=server.is_tls)
        return responses

    async def handle_MAIL(
        self, server: ScriptedSMTP, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> str | None:
        entry = self.script.next_entry("mail", address) or "250 2.1.0 OK"
        server.log_event("mail", sender=address, options=options, reply=entry)
        if entry.startswith("2"):
            envelope.mail_from = address  # "<>" for the null sender: aiosmtpd needs a true value
            envelope.mail_options.extend(options)
        return await server.reply_or_close(entry)

    async def handle_RCPT(
        self, server: ScriptedSMTP, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> str | None:
        entry = self.script.next_entry("rcpt", address) or "250 2.1.5 OK"
        server.log_event("rcpt", recipient=address, reply=entry)
        if entry.startswith("2"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        return await server.reply_or_close(entry)

    def data_entry(self, envelope: Envelope) -> str:
        """Take the data entry for this transaction (advances every scripted recipient)."""
        entries = [self.script.next_entry("data", recipient) for recipient in envelope.rcpt_tos]
        scripted = [entry for entry in entries if entry is not None]
        faults = [entry for entry in scripted if not entry.startswith("2")]
        return (faults or scripted or [DEFAULT_DATA_REPLY])[0]

    async def handle_DATA(self, server: ScriptedSMTP, session: Session, envelope: Envelope) -> str | None:
        entry = server.pending_data_entry or DEFAULT_DATA_REPLY
        server.pending_data_entry = None
        accepts = entry.startswith("2") or entry.startswith("slow:") or entry.endswith("_after_dot")
        stored = None
        if accepts:
            content = envelope.original_content or b""
            stored = self.maildir.store(envelope.mail_from or "<>", list(envelope.rcpt_tos), content)
        for recipient in envelope.rcpt_tos:
            server.log_event("data", recipient=recipient, reply=entry, stored=stored)
        if entry.startswith("slow:"):
            await asyncio.sleep(float(entry.split(":", 1)[1]))
            return f"{DEFAULT_DATA_REPLY}: queued as {stored}"
        if entry == "drop_after_dot":
            return await server.reply_or_close("drop")
        if entry == "hang_after_dot":
            await asyncio.sleep(HANG_SECONDS)
            return None
        if entry.strip() in ("250", DEFAULT_DATA_REPLY):
            return f"{DEFAULT_DATA_REPLY}: queued as {stored}"
        return await server.reply_or_close(entry)

    async def handle_RSET(self, server: ScriptedSMTP, session: Session, envelope: Envelope) -> str:
        server.log_event("rset", reply="250 2.0.0 OK")
        return "250 2.0.0 OK"

    async def handle_QUIT(self, server: ScriptedSMTP, session: Session, envelope: Envelope) -> str:
        server.log_event("quit", reply="221 2.0.0 Bye")
        return "221 2.0.0 Bye"


class ScriptedSMTP(SMTP):
    """aiosmtpd's SMTP with the null sender allowed, session logging and the drop_mid_data fault."""

    _sessions = 0

    def __init__(self, handler: ScriptedHandler, *, implicit_tls: bool, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.handler = handler
        self.implicit_tls = implicit_tls
        self.pending_data_entry: str | None = None
        ScriptedSMTP._sessions += 1
        self.session_id = ScriptedSMTP._sessions

    @property
    def is_tls(self) -> bool:
        return self.implicit_tls or self._tls_protocol is not None

    def log_event(self, event: str, **fields: Any) -> None:
        self.handler.log.write(session=self.session_id, event=event, **fields)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        starttls_done = self._original_transport is not None
        if not starttls_done:
            # aiosmtpd writes multi-line replies line by line: without this, Nagle's algorithm and
            # the client's delayed ACK add 40 ms to every EHLO.
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self.log_event("starttls" if starttls_done else "connect", tls=self.is_tls)

    def connection_lost(self, error: Exception | None) -> None:
        self.log_event("disconnect", error=repr(error) if error else None)
        super().connection_lost(error)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        # aiosmtpd refuses MAIL FROM:<>; bounces and DSNs need the null sender.
        stripped = arg.lstrip()
        if stripped.startswith("<>"):
            return "<>", stripped[2:]
        return super()._getaddr(arg)

    async def smtp_DATA(self, arg: str) -> None:
        envelope = self.envelope
        ready = self.session is not None and self.session.host_name and envelope is not None
        if ready and envelope is not None and envelope.rcpt_tos and not arg and not self._auth_blocked():
            self.pending_data_entry = self.handler.data_entry(envelope)
            if self.pending_data_entry == "drop_mid_data":
                await self._drop_mid_data()
                return
        await super().smtp_DATA(arg)

    def _auth_blocked(self) -> bool:
        return bool(self._auth_required and not (self.session and self.session.authenticated))

    async def _drop_mid_data(self) -> None:
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        received = b""
        while len(received) < DROP_MID_DATA_AFTER_BYTES and b"\r\n.\r\n" not in received:
            chunk = await self._reader.read(64 * 1024)
            if not chunk:
                break
            received += chunk
        dot_seen = b"\r\n.\r\n" in received
        for recipient in self.envelope.rcpt_tos if self.envelope else []:
            self.log_event("data", recipient=recipient, reply="drop_mid_data",
                           bytes_read=len(received), dot_seen=dot_seen)
        assert isinstance(self.transport, asyncio.Transport)
        self.transport.abort()  # unread content is still queued: the client gets a reset
        await asyncio.sleep(HANG_SECONDS)  # connection_lost cancels this session's task

    async def reply_or_close(self, entry: str) -> str | None:
        """Return a reply for aiosmtpd to send; for "drop" and 421, end the session here."""
        if entry == "drop":
            assert self.transport is not None
            self.transport.close()
            await asyncio.sleep(HANG_SECONDS)
            return None
        if entry.startswith("421"):
            await self.push(entry)
            assert self.transport is not None
            self.transport.close()
            await asyncio.sleep(HANG_SECONDS)
            return None
        return entry


@dataclass(frozen=True)
class RelayOptions:
    ready_file: Path
    maildir: Path
    script: Path | None
    log: Path
    security: str = "starttls"
    cert: Path | None = None
    key: Path | None = None
    auth: tuple[str, str] | None = None
    smtputf8: bool = True
    hostname: str = "relay.test"


def parse_args(argv: list[str] | None = None) -> RelayOptions:
    parser = argparse.ArgumentParser(prog="python -m tests.stack.relay", description=__doc__.split("\n")[0])
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--script", type=Path)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--security", choices=("starttls", "tls", "none"), default="starttls")
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    parser.add_argument("--auth", metavar="USER:PASS")
    parser.add_argument("--no-smtputf8", dest="smtputf8", action="store_false")
    parser.add_argument("--hostname", default="relay.test")
    args = parser.parse_args(argv)
    if args.security != "none" and not (args.cert and args.key):
        parser.error(f"--security {args.security} needs --cert and --key")
    if args.auth and args.security == "none":
        parser.error("--auth needs TLS: AUTH is never offered in the clear")
    user, _, password = (args.auth or "").partition(":")
    return RelayOptions(
        ready_file=args.ready_file, maildir=args.maildir, script=args.script, log=args.log,
        security=args.security, cert=args.cert, key=args.key, auth=(user, password) if args.auth else None,
        smtputf8=args.smtputf8, hostname=args.hostname,
    )


async def serve(options: RelayOptions) -> None:
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    # Implicit TLS encrypts the whole session, but aiosmtpd only counts STARTTLS as TLS for AUTH.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    tls_context = None
    if options.security != "none":
        assert options.cert and options.key
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(options.cert, options.key)
    handler = ScriptedHandler(Script(options.script), EventLog(options.log), Maildir(options.maildir))

    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        ok = (
            options.auth is not None
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login.decode(errors="replace"), auth_data.password.decode(errors="replace"))
            == options.auth
        )
        user = auth_data.login.decode(errors="replace") if isinstance(auth_data, LoginPassword) else None
        assert isinstance(server, ScriptedSMTP)
        server.log_event("auth", mechanism=mechanism, user=user, reply="235" if ok else "535")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535

    def make_session() -> ScriptedSMTP:
        return ScriptedSMTP(
            handler,
            implicit_tls=options.security == "tls",
            hostname=options.hostname,
            enable_SMTPUTF8=options.smtputf8,
            tls_context=tls_context if options.security == "starttls" else None,
            require_starttls=options.security == "starttls",
            authenticator=authenticate,
            auth_required=options.auth is not None,
            auth_require_tls=options.security != "tls",
        )

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A small receive window keeps what the kernel buffers for a session small, so that a client
    # sending a large message is still sending when drop_mid_data resets the connection.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        make_session, sock=listener, ssl=tls_context if options.security == "tls" else None
    )
    port = listener.getsockname()[1]
    temporary = options.ready_file.with_name(options.ready_file.name + ".tmp")
    temporary.write_text(str(port), encoding="ascii")
    os.replace(temporary, options.ready_file)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
