"""A scriptable SMTP relay for tests and the local demo: a real aiosmtpd server in its own process.

    python -m tests.stack.relay --ready-file F --maildir DIR --script SCRIPT.json --log LOG.jsonl \\
        [--security starttls|tls|none] [--cert C --key K] [--auth USER:PASS] [--no-smtputf8] \\
        [--faults PROFILE.json [--seed N]] [--idle-timeout SECONDS] \\
        [--host 127.0.0.2 --port N] [--greeting "421 4.3.2 busy"] [--tls-optional]

It binds 127.0.0.1 (or --host, another loopback address: an MX host in the direct-to-MX tests) on
a free port (or --port) and writes the port to the ready file once it listens. Stop it by its PID
(SIGTERM). --greeting answers every connection with that reply and closes it (a 421 at the
greeting); --tls-optional offers STARTTLS without requiring it, as an MX on port 25 does.

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
logged. A stored message logs, per recipient, its "message_id" and "copy": how many copies of
that (Message-ID, recipient) the relay has stored so far, so duplicates are max(copy) - 1.

Random faults (`--faults PROFILE.json --seed N`, or a "faults" object in the script, which
replaces the profile): seeded and reproducible, for the addresses the script does not name.

    {"seed": 7,
     "rcpt": {"421": 0.01, "450": 0.01, "451": 0.01, "452": 0.01, "550": 0.002, "552": 0.002, "554": 0.002},
     "dead": ["gone@example.net"],
     "greylist": {"probability": 0.1, "delay_seconds": 2},
     "data": {"drop_mid_data": 0.5, "drop_mid_data_min_bytes": 5242880, "drop_after_dot": 0.01,
              "hang_after_dot": 0.005, "slow": 0.02, "slow_seconds": [0.2, 1.0]}}

- "rcpt": the probability of each reply per RCPT (421 also closes the connection).
- "dead": mailboxes that always answer 550 5.1.1.
- "greylist": a (sender, recipient, Message-ID) drawn for greylisting gets "451 4.7.1 Greylisted,
  try again in N seconds" at the end of its first DATA (the Message-ID is only known there, so
  the reply covers the transaction; each triple is greylisted once).
- "data": per transaction, the faults described for the script above. "drop_mid_data" applies
  only to messages whose declared SIZE is at least drop_mid_data_min_bytes: a smaller message
  fits whole in the socket buffers, so the client has sent the final dot before it sees the drop.
- "at_least_once": true injects each fault that has a chance at its first opportunity (the first
  RCPTs, transactions, large messages, new triples), then draws: a short test covers every type.
- The null sender (DSNs) gets no random faults.

Every draw is a hash of (seed, stage, addresses, how many draws that key had before), so a seed
replays the same faults per address, whatever the interleaving of concurrent sessions. Injected
faults are logged as {"event": "fault", "fault": "rcpt_451" | "dead" | "greylist" | "drop_after_dot" | ...}
(once per RCPT or transaction), and the rcpt/data events they affected carry the same "fault" field.
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import hashlib
import json
import logging
import os
import socket
import ssl
import time
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

DROP_MID_DATA_AFTER_BYTES = 16 * 1024
HANG_SECONDS = 3600.0
DEFAULT_DATA_REPLY = "250 2.0.0 OK"


RCPT_FAULT_REPLIES = {
    "421": "421 4.7.0 relay.test Too many concurrent sessions, closing connection",
    "450": "450 4.2.1 <{rcpt}>: Mailbox busy, try again later",
    "451": "451 4.3.0 <{rcpt}>: Temporary lookup failure",
    "452": "452 4.2.2 <{rcpt}>: Mailbox over quota, try again later",
    "454": "454 4.7.0 Throttling failure: Daily message quota exceeded",  # SES's quota reply: pause, not bounce
    "550": "550 5.7.1 <{rcpt}>: Recipient address rejected: Access denied",
    "552": "552 5.2.2 <{rcpt}>: Mailbox full",
    "554": "554 5.7.1 <{rcpt}>: Relay access denied",
}
DEAD_REPLY = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"
GREYLIST_REPLY = "451 4.7.1 Greylisted, try again in {seconds:g} seconds"
DATA_FAULTS = ("drop_mid_data", "drop_after_dot", "hang_after_dot", "slow")


class FaultProfileError(ValueError):
    """The fault profile is malformed; the message names the field."""


@dataclass(frozen=True)
class FaultProfile:
    """Probabilities of random faults; see the module docstring for the JSON form."""

    seed: int = 0
    rcpt: Mapping[str, float] = field(default_factory=dict)
    dead: frozenset[str] = frozenset()
    greylist_probability: float = 0.0
    greylist_delay_s: float = 1.0
    data: Mapping[str, float] = field(default_factory=dict)
    drop_mid_data_min_bytes: int = 5 * 1024 * 1024
    slow_seconds: tuple[float, float] = (0.2, 1.0)
    at_least_once: bool = False

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], seed: int | None = None) -> FaultProfile:
        unknown = set(doc) - {"seed", "rcpt", "dead", "greylist", "data", "at_least_once"}
        if unknown:
            raise FaultProfileError(f"unknown fault profile fields: {', '.join(sorted(unknown))}")
        rcpt = {str(code): _probability(f"rcpt.{code}", p) for code, p in dict(doc.get("rcpt", {})).items()}
        if set(rcpt) - set(RCPT_FAULT_REPLIES):
            raise FaultProfileError(f"rcpt: codes must be among {', '.join(RCPT_FAULT_REPLIES)}")
        data_doc = dict(doc.get("data", {}))
        min_bytes = int(data_doc.pop("drop_mid_data_min_bytes", cls.drop_mid_data_min_bytes))
        slow_lo, slow_hi = (float(x) for x in data_doc.pop("slow_seconds", cls.slow_seconds))
        if set(data_doc) - set(DATA_FAULTS):
            raise FaultProfileError(f"data: faults must be among {', '.join(DATA_FAULTS)}")
        data = {name: _probability(f"data.{name}", p) for name, p in data_doc.items()}
        greylist = dict(doc.get("greylist", {}))
        for stage, table in (("rcpt", rcpt), ("data", {k: v for k, v in data.items() if k != "drop_mid_data"})):
            if sum(table.values()) > 1:
                raise FaultProfileError(f"{stage}: the probabilities add up to more than 1")
        return cls(
            seed=int(seed if seed is not None else doc.get("seed", 0)),
            rcpt=rcpt,
            dead=frozenset(str(a).lower() for a in doc.get("dead", [])),
            greylist_probability=_probability("greylist.probability", greylist.get("probability", 0.0)),
            greylist_delay_s=float(greylist.get("delay_seconds", 1.0)),
            data=data,
            drop_mid_data_min_bytes=min_bytes,
            slow_seconds=(slow_lo, slow_hi),
            at_least_once=bool(doc.get("at_least_once", False)),
        )


def _probability(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise FaultProfileError(f"{name}: a probability must be a number from 0 to 1, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class Fault:
    """One injected fault: the script entry that carries it out and its name in the log."""

    entry: str
    name: str


class FaultPlan:
    """Draws the random faults of a profile, reproducibly (see the module docstring)."""

    def __init__(self, profile: FaultProfile) -> None:
        self.profile = profile
        self._draws: Counter[str] = Counter()
        self._greylist_seen: set[tuple[str, str, str]] = set()
        owed = profile.at_least_once  # each fault with a chance is injected at its first opportunity
        self._owed_rcpt = [code for code, p in profile.rcpt.items() if p > 0] if owed else []
        self._owed_data = (
            [name for name, p in profile.data.items() if p > 0 and name != "drop_mid_data"] if owed else []
        )
        self._owed_mid_data = owed and profile.data.get("drop_mid_data", 0) > 0
        self._owed_greylist = owed and profile.greylist_probability > 0

    def _uniform(self, *key: str) -> float:
        """A number in [0, 1) from (seed, key, n), n counting this key's earlier draws."""
        joined = "\x1f".join(key).lower()
        n = self._draws[joined]
        self._draws[joined] = n + 1
        digest = hashlib.blake2b(f"{self.profile.seed}\x1e{joined}\x1e{n}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def rcpt(self, sender: str, recipient: str) -> Fault | None:
        if recipient.lower() in self.profile.dead:
            return Fault(DEAD_REPLY.format(rcpt=recipient), "dead")
        if sender == "<>" or not self.profile.rcpt:
            return None
        chosen = _pick(self._uniform("rcpt", sender, recipient), self.profile.rcpt.items())
        if self._owed_rcpt:
            chosen = self._owed_rcpt.pop(0)
        if chosen is None:
            return None
        return Fault(RCPT_FAULT_REPLIES[chosen].format(rcpt=recipient), f"rcpt_{chosen}")

    def data(self, sender: str, recipients: Sequence[str], size: int | None) -> Fault | None:
        if sender == "<>" or not self.profile.data:
            return None
        key = ("data", sender, *sorted(r.lower() for r in recipients))
        mid = self.profile.data.get("drop_mid_data", 0.0)
        if mid and size is not None and size >= self.profile.drop_mid_data_min_bytes:
            if self._uniform("mid", *key) < mid or self._owed_mid_data:
                self._owed_mid_data = False
                return Fault("drop_mid_data", "drop_mid_data")
        others = [(name, p) for name, p in self.profile.data.items() if name != "drop_mid_data"]
        chosen = _pick(self._uniform(*key), others)
        if self._owed_data:
            chosen = self._owed_data.pop(0)
        if chosen == "slow":
            lo, hi = self.profile.slow_seconds
            return Fault(f"slow:{lo + (hi - lo) * self._uniform('slow', *key):.3f}", "slow")
        return Fault(chosen, chosen) if chosen else None

    def greylist(self, sender: str, recipients: Sequence[str], message_id: str) -> Fault | None:
        """The greylisting reply if a new (sender, recipient, Message-ID) of this transaction is drawn."""
        if sender == "<>" or not self.profile.greylist_probability:
            return None
        triples = [(sender.lower(), r.lower(), message_id) for r in recipients]
        new = [t for t in triples if t not in self._greylist_seen]
        self._greylist_seen.update(triples)
        drawn = [self._uniform("greylist", *t) < self.profile.greylist_probability for t in new]
        if any(drawn) or (new and self._owed_greylist):
            self._owed_greylist = False
            return Fault(GREYLIST_REPLY.format(seconds=self.profile.greylist_delay_s), "greylist")
        return None


def _pick(u: float, table: Any) -> str | None:
    """The entry of a {name: probability} table that `u` falls into, or None (no fault)."""
    for name, probability in table:
        if u < probability:
            return name
        u -= probability
    return None


class Script:
    """The reply script, reloaded when its file changes; one counter per (stage, address)."""

    def __init__(self, path: Path | None, faults: FaultProfile | None = None) -> None:
        self._path = path
        self._stamp: tuple[int, int, int] | None = None
        self._replies: dict[str, dict[str, list[str]]] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._default_faults = FaultPlan(faults) if faults is not None else None
        self._script_faults: FaultPlan | None = None

    def fault_plan(self) -> FaultPlan | None:
        """The random faults in force: the script's own "faults" object, else the --faults profile."""
        self._reload_if_changed()
        return self._script_faults or self._default_faults

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
        faults = raw.pop("faults", None)
        self._replies = {
            stage: {address.lower(): list(entries) for address, entries in table.items()}
            for stage, table in raw.items()
        }
        self._counters.clear()
        if faults is None:
            self._script_faults = None
        elif self._script_faults is None or self._script_faults.profile != FaultProfile.from_json(faults):
            self._script_faults = FaultPlan(FaultProfile.from_json(faults))  # a changed profile starts afresh


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
        self.copies: Counter[tuple[str, str]] = Counter()  # (Message-ID, recipient) -> copies stored
        for sub in ("tmp", "new", "cur"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def count_copy(self, message_id: str, recipient: str) -> int:
        """Count one more stored copy of this message for this recipient; returns the count."""
        key = (message_id, recipient.lower())
        self.copies[key] += 1
        return self.copies[key]

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

    def __init__(self, script: Script, log: EventLog, maildir: Maildir, *, pipelining: bool = False) -> None:
        self.script = script
        self.log = log
        self.maildir = maildir
        self.pipelining = pipelining

    async def handle_EHLO(
        self,
        server: ScriptedSMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname  # aiosmtpd leaves this to an EHLO hook
        server.log_event("ehlo", hostname=hostname, tls=server.is_tls)
        if self.pipelining:
            return [responses[0], "250-PIPELINING", *responses[1:]]
        return responses

    async def handle_MAIL(
        self,
        server: ScriptedSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str | None:
        entry = self.script.next_entry("mail", address) or "250 2.1.0 OK"
        server.log_event("mail", sender=address, options=options, reply=entry)
        if entry.startswith("2"):
            envelope.mail_from = address  # "<>" for the null sender: aiosmtpd needs a true value
            envelope.mail_options.extend(options)
        return await server.reply_or_close(entry)

    async def handle_RCPT(
        self,
        server: ScriptedSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str | None:
        entry = self.script.next_entry("rcpt", address)
        fault = None
        if entry is None and (plan := self.script.fault_plan()) is not None:
            fault = plan.rcpt(envelope.mail_from or "<>", address)
        entry = entry or (fault.entry if fault else "250 2.1.5 OK")
        server.log_event("rcpt", recipient=address, reply=entry, **({"fault": fault.name} if fault else {}))
        if fault:
            server.log_event("fault", fault=fault.name, recipients=[address])
        if entry.startswith("2"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        return await server.reply_or_close(entry)

    def data_entry(self, envelope: Envelope) -> tuple[str, Fault | None]:
        """Take the data entry for this transaction (advances every scripted recipient), and the
        random fault it carries, if any (only when no recipient has a data script)."""
        entries = [self.script.next_entry("data", recipient) for recipient in envelope.rcpt_tos]
        scripted = [entry for entry in entries if entry is not None]
        faults = [entry for entry in scripted if not entry.startswith("2")]
        if not scripted and (plan := self.script.fault_plan()) is not None:
            fault = plan.data(envelope.mail_from or "<>", envelope.rcpt_tos, _declared_size(envelope.mail_options))
            if fault is not None:
                return fault.entry, fault
        return (faults or scripted or [DEFAULT_DATA_REPLY])[0], None

    async def handle_DATA(self, server: ScriptedSMTP, session: Session, envelope: Envelope) -> str | None:
        entry = server.pending_data_entry or DEFAULT_DATA_REPLY
        fault, server.pending_data_entry, server.pending_data_fault = server.pending_data_fault, None, None
        sender = envelope.mail_from or "<>"
        content = envelope.original_content or b""
        message_id = _message_id(content)
        accepts = entry.startswith("2") or entry.startswith("slow:") or entry.endswith("_after_dot")
        if accepts and fault is None and (plan := self.script.fault_plan()) is not None:
            greylisted = plan.greylist(sender, envelope.rcpt_tos, message_id)
            if greylisted is not None:  # the policy check before accepting: nothing is stored
                entry, fault, accepts = greylisted.entry, greylisted, False
        stored = self.maildir.store(sender, list(envelope.rcpt_tos), content) if accepts else None
        for recipient in envelope.rcpt_tos:
            facts: dict[str, Any] = {"message_id": message_id}
            if stored:
                facts["copy"] = self.maildir.count_copy(message_id, recipient)
            if fault:
                facts["fault"] = fault.name
            server.log_event("data", recipient=recipient, reply=entry, stored=stored, sender=sender, **facts)
        if fault:
            server.log_event("fault", fault=fault.name, recipients=list(envelope.rcpt_tos), message_id=message_id)
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

    async def handle_NOOP(self, server: ScriptedSMTP, session: Session, envelope: Envelope, arg: str) -> str:
        server.log_event("noop", reply="250 2.0.0 OK")
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
        self.pending_data_fault: Fault | None = None
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

    def _timeout_cb(self) -> None:  # aiosmtpd's idle timeout (--idle-timeout): it closes the session
        self.log_event("idle_timeout")
        super()._timeout_cb()

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
            self.pending_data_entry, self.pending_data_fault = self.handler.data_entry(envelope)
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
            self.log_event(
                "data",
                recipient=recipient,
                reply="drop_mid_data",
                bytes_read=len(received),
                dot_seen=dot_seen,
                sender=self.envelope.mail_from if self.envelope else None,
                **({"fault": "drop_mid_data"} if self.pending_data_fault else {}),
            )
        if self.pending_data_fault:
            self.log_event(
                "fault",
                fault="drop_mid_data",
                recipients=list(self.envelope.rcpt_tos) if self.envelope else [],
                dot_seen=dot_seen,
            )
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


class RefusingGreeting(asyncio.Protocol):
    """A server that answers every connection with one reply (a 421 at the greeting) and closes it."""

    def __init__(self, greeting: str, log: EventLog) -> None:
        self.greeting = greeting
        self.log = log

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.log.write(event="greeting", reply=self.greeting)
        transport.write(self.greeting.encode() + b"\r\n")
        transport.close()


def _declared_size(mail_options: Sequence[str]) -> int | None:
    """The SIZE= the client declared at MAIL FROM (RFC 1870), if any."""
    for option in mail_options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE" and value.isdigit():
            return int(value)
    return None


def _message_id(content: bytes) -> str:
    """The Message-ID header of a message ("" if it has none), read from its header block only."""
    end = content.find(b"\r\n\r\n")
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(content[: end + 4 if end >= 0 else None])
    return " ".join(str(headers.get("Message-ID", "")).split())


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
    faults: FaultProfile | None = None
    idle_timeout: float = 300.0  # aiosmtpd closes a session that sent nothing for this long
    host: str = "127.0.0.1"
    port: int = 0
    greeting: str | None = None  # answer every connection with this reply, then close
    tls_optional: bool = False  # offer STARTTLS without requiring it
    pipelining: bool = False  # offer RFC 2920 PIPELINING (aiosmtpd reads commands in order anyway)


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
    parser.add_argument("--faults", type=Path, metavar="PROFILE.json", help="random faults (see the module docstring)")
    parser.add_argument("--seed", type=int, help="the faults' seed (overrides the profile's)")
    parser.add_argument(
        "--idle-timeout", type=float, default=300.0, help="close a session idle this many seconds (aiosmtpd's timeout)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="the port (0: a free one)")
    parser.add_argument("--greeting", help='answer each connection with this reply and close it ("421 ...")')
    parser.add_argument("--tls-optional", action="store_true", help="offer STARTTLS without requiring it")
    parser.add_argument("--pipelining", action="store_true", help="offer PIPELINING (RFC 2920)")
    args = parser.parse_args(argv)
    if args.security != "none" and not (args.cert and args.key):
        parser.error(f"--security {args.security} needs --cert and --key")
    if args.auth and args.security == "none":
        parser.error("--auth needs TLS: AUTH is never offered in the clear")
    if args.seed is not None and args.faults is None:
        parser.error("--seed needs --faults")
    faults = None
    if args.faults is not None:
        try:
            faults = FaultProfile.from_json(json.loads(args.faults.read_text(encoding="utf-8")), seed=args.seed)
        except (OSError, ValueError) as error:
            parser.error(f"--faults {args.faults}: {error}")
    user, _, password = (args.auth or "").partition(":")
    return RelayOptions(
        ready_file=args.ready_file,
        maildir=args.maildir,
        script=args.script,
        log=args.log,
        security=args.security,
        cert=args.cert,
        key=args.key,
        auth=(user, password) if args.auth else None,
        smtputf8=args.smtputf8,
        hostname=args.hostname,
        faults=faults,
        idle_timeout=args.idle_timeout,
        host=args.host,
        port=args.port,
        greeting=args.greeting,
        tls_optional=args.tls_optional,
        pipelining=args.pipelining,
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
    handler = ScriptedHandler(
        Script(options.script, options.faults),
        EventLog(options.log),
        Maildir(options.maildir),
        pipelining=options.pipelining,
    )

    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            options.auth is not None
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login.decode(errors="replace"), auth_data.password.decode(errors="replace")) == options.auth
        )
        user = auth_data.login.decode(errors="replace") if isinstance(auth_data, LoginPassword) else None
        assert isinstance(server, ScriptedSMTP)
        server.log_event("auth", mechanism=mechanism, user=user, reply="235" if ok else "535")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535

    def make_session() -> ScriptedSMTP | RefusingGreeting:
        if options.greeting is not None:
            return RefusingGreeting(options.greeting, handler.log)
        return ScriptedSMTP(
            handler,
            implicit_tls=options.security == "tls",
            hostname=options.hostname,
            enable_SMTPUTF8=options.smtputf8,
            tls_context=tls_context if options.security == "starttls" else None,
            require_starttls=options.security == "starttls" and not options.tls_optional,
            authenticator=authenticate,
            auth_required=options.auth is not None,
            auth_require_tls=options.security != "tls",
            timeout=options.idle_timeout,
        )

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A small receive window keeps what the kernel buffers for a session small, so that a client
    # sending a large message is still sending when drop_mid_data resets the connection.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    listener.bind((options.host, options.port))
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
