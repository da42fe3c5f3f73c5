"""Direct-to-MX delivery: a MailTransport that finds each recipient domain's mail hosts in DNS.

`MxTransport.deliver()` groups the envelope's recipients by domain and, per domain, concurrently:
1. Resolves the route (core/mx.py decides: MX by preference with equal ones shuffled, the implicit
   MX, null MX → 5.1.10, NXDOMAIN → 5.1.2, SERVFAIL/timeout → 4.4.3, refused addresses, caps).
2. Reads the TLS policy: the domain's MTA-STS policy when one is configured (enforce: only MX hosts
   matching it, each with a certificate valid for its name, else no delivery — transient; testing:
   deliver, and report what would have failed); otherwise opportunistic STARTTLS (encrypt when
   offered, without checking the certificate; plaintext when not offered or when the handshake fails).
3. Hands the domain's recipients to the best destination. A destination that cannot be used —
   no connection, a 4xx at the greeting, a TLS policy it fails, a 421 or a session lost before the
   message content was complete — passes the recipients still waiting to the next one. Replies
   about recipients (RCPT 4xx/5xx, the reply to the final dot) are final for this attempt, and an
   ambiguous end after the final dot (Uncertain) is never sent elsewhere.

A destination whose connection failed is remembered until `begin_invocation()` (the dispatch
function calls it as each invocation starts): later messages skip it instead of knocking again.
At most `max_connections_per_domain` sessions to one domain run at once.

The SMTP session itself is the relay transport's (adapters/smtp_relay.py): pipelining, SIZE,
SMTPUTF8 and 8BITMIME per what the destination offers, the before/after-the-dot rules and the same
per-recipient outcomes, so the ledger, retries, bounces and DSNs work unchanged; replies name the MX
host (Remote-MTA in DSNs). Only opening the session differs: connect to one address, EHLO with the
configured name (it must match the PTR of the egress IP), STARTTLS by the TLS policy, no AUTH.

DANE (RFC 7672), with MX_DANE on and a DNSSEC-validating resolver: an MX host whose TLSA records
come back validated (AD) must offer STARTTLS and present a certificate matching them (DANE-EE), or
it is not used (transient); DANE wins over MTA-STS for that host (RFC 8461 §2). Unvalidated TLSA
records are ignored. core/dane.py says what is matched and what is not supported.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import aiosmtplib

from maildispatch.adapters.dns_resolver import DnsResolver
from maildispatch.adapters.mta_sts import MtaStsPolicies
from maildispatch.adapters.smtp_relay import (
    RelayConfigError,
    RelaySettings,
    RelayTransport,
    _Connection,
    _session_failure,
    client_tls_context,
)
from maildispatch.core.dane import Tlsa, certificate_matches, usable
from maildispatch.core.mta_sts import StsPolicy
from maildispatch.core.mx import (
    MAX_ADDRESSES,
    MAX_MX_HOSTS,
    AddressPolicy,
    Destination,
    Found,
    MxHost,
    NoRoute,
    destinations,
    group_by_domain,
    mx_hosts,
)
from maildispatch.core.outcome import Bounced, Deferred, Envelope, Outcome, Reply, local_reply, stated_retry_delay

logger = logging.getLogger(__name__)

TlsMode = Literal["opportunistic", "report", "required", "dane"]
TlsReporter = Callable[["TlsReport"], None]


@dataclass(frozen=True)
class MxSettings:
    helo_name: str  # EHLO name: the host name the egress IP's PTR points to
    port: int = 25
    timeout: float = 30.0  # per SMTP command
    connect_timeout: float = 10.0  # TCP connect and the greeting: a dead MX should not cost a whole timeout
    max_connections_per_domain: int = 5
    max_messages_per_connection: int = 100
    max_mx_hosts: int = MAX_MX_HOSTS
    max_addresses: int = MAX_ADDRESSES
    allow_private_addresses: bool = False  # loopback and RFC 1918 destinations: tests and labs only
    ca_file: str | None = None  # an extra trust anchor for verified TLS (MTA-STS); tests' CA
    idle_timeout: float = 30.0
    dane: bool = False  # consult DNSSEC-validated TLSA records (needs a validating resolver)

    def validate(self) -> None:
        if not self.helo_name or any(ch.isspace() for ch in self.helo_name) or "." not in self.helo_name:
            raise RelayConfigError(f"MX_HELO_NAME must be a fully qualified host name, not {self.helo_name!r}")
        if not 0 < self.port < 65536:
            raise RelayConfigError(f"MX port must be a number from 1 to 65535, not {self.port!r}")
        if not self.timeout > 0 or not self.connect_timeout > 0:
            raise RelayConfigError("MX timeouts must be positive")
        if self.max_connections_per_domain < 1 or self.max_mx_hosts < 1 or self.max_addresses < 1:
            raise RelayConfigError("MX caps (connections per domain, hosts, addresses) must be at least 1")


@dataclass(frozen=True)
class TlsReport:
    """A TLS policy failure (RFC 8460 result types): reported in testing mode, fatal to a destination in enforce."""

    domain: str
    host: str
    result: str  # "starttls-not-supported", "certificate-host-mismatch", "validation-failure", "tlsa-invalid", "dane-required"
    detail: str
    mode: str  # the policy: MTA-STS "enforce" or "testing", or "dane"


@dataclass(frozen=True)
class _Tls:
    mode: TlsMode = "opportunistic"
    domain: str = ""  # the policy's domain, for reports
    policy_mode: str = ""
    tlsa: tuple[Tlsa, ...] = ()  # mode "dane": the host's validated TLSA records


# Session-open failures of the delivery running in this task (see _MxSession._open).
_OPEN_FAILURES: contextvars.ContextVar[list[Reply] | None] = contextvars.ContextVar("mx_open_failures", default=None)


class _MxSession(RelayTransport):
    """The relay transport's session, opened to one MX address with the TLS policy's STARTTLS."""

    def __init__(self, destination: Destination, tls: _Tls, owner: MxTransport) -> None:
        s = owner.settings
        super().__init__(
            RelaySettings(
                host=destination.host,
                port=s.port,
                security="none",  # no AUTH; STARTTLS is decided here, per the TLS policy
                allow_insecure=True,
                timeout=s.timeout,
                max_connections=s.max_connections_per_domain,
                max_messages_per_connection=s.max_messages_per_connection,
                local_hostname=s.helo_name,
                idle_timeout=s.idle_timeout,
            )
        )
        self.destination = destination
        self.tls = tls
        self._owner = owner

    async def _open(self) -> _Connection | Reply:
        result = await self._connect(self.tls.mode)
        if isinstance(result, _TlsFailure):
            report = TlsReport(
                self.tls.domain, self.destination.host, result.result, result.reply.text, self.tls.policy_mode
            )
            if self.tls.mode in ("required", "dane"):
                self._owner.report_tls(report)
                result = result.reply
            else:  # testing mode reports and delivers; opportunistic just delivers
                if self.tls.mode == "report":
                    self._owner.report_tls(report)
                result = await self._connect("plaintext" if result.handshake_failed else "opportunistic")
                if isinstance(result, _TlsFailure):
                    result = result.reply
        if isinstance(result, Reply):
            failures = _OPEN_FAILURES.get()
            if failures is not None:
                failures.append(result)
        return result

    async def _connect(self, mode: TlsMode | Literal["plaintext"]) -> _Connection | Reply | _TlsFailure:
        s, d = self.settings, self.destination
        smtp = aiosmtplib.SMTP(
            hostname=d.address, port=s.port, timeout=s.timeout, local_hostname=s.local_hostname, start_tls=False
        )
        step = "connect"
        connect_timeout = min(s.timeout, self._owner.settings.connect_timeout)
        try:
            await smtp.connect(timeout=connect_timeout)
            step = "EHLO"
            await smtp.ehlo()
            if mode != "plaintext" and smtp.supports_extension("starttls"):
                step = "STARTTLS"
                verify = mode in ("report", "required")
                context = client_tls_context(self._owner.settings.ca_file) if verify else _unverified_context()
                try:
                    await smtp.starttls(server_hostname=d.host, tls_context=context)
                except (aiosmtplib.SMTPException, OSError) as exc:
                    smtp.close()
                    reply = _session_failure(s, step, exc)
                    cert_error = isinstance(_ssl_cause(exc), ssl.SSLCertVerificationError)
                    result = (
                        "certificate-host-mismatch" if cert_error and "match" in reply.text else "validation-failure"
                    )
                    handshake_failed = mode != "dane" and (not verify or not cert_error)
                    return _TlsFailure(_policy_reply(reply.text, d.host), result, handshake_failed=handshake_failed)
                if mode == "dane" and not self._dane_match(smtp):
                    smtp.close()
                    text = (
                        f"the certificate of {d.host} ({d.address}) matches none of its DNSSEC-validated TLSA records"
                    )
                    return _TlsFailure(_policy_reply(text, d.host), "tlsa-invalid", handshake_failed=False)
                step = "EHLO after STARTTLS"
                await smtp.ehlo()
            elif mode in ("report", "required", "dane"):
                smtp.close()
                if mode == "dane":
                    text = f"{d.host} ({d.address}) does not offer STARTTLS, which its DNSSEC-validated TLSA records require"
                    return _TlsFailure(_policy_reply(text, d.host), "dane-required", handshake_failed=False)
                text = f"{d.host} ({d.address}) does not offer STARTTLS, which the domain's MTA-STS policy requires"
                return _TlsFailure(_policy_reply(text, d.host), "starttls-not-supported", handshake_failed=False)
        except (aiosmtplib.SMTPException, OSError) as exc:
            smtp.close()
            if isinstance(exc, aiosmtplib.SMTPConnectTimeoutError):
                text = f"no greeting from {s.endpoint} within {connect_timeout:g} s (address {d.address})"
                return local_reply("4.4.1", text, d.host)
            reply = _session_failure(s, step, exc)
            return local_reply(reply.status, f"{reply.text} (address {d.address})", d.host)
        return _Connection(smtp)

    def _dane_match(self, smtp: aiosmtplib.SMTP) -> bool:
        """RFC 7672: with no usable record TLS is still mandatory but unauthenticated; else one must match."""
        if not usable(self.tls.tlsa):
            return True
        ssl_object = smtp.get_transport_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        return isinstance(der, bytes) and certificate_matches(self.tls.tlsa, der)


@dataclass(frozen=True)
class _TlsFailure:
    reply: Reply
    result: str
    handshake_failed: bool  # the TLS handshake itself failed (not a policy check): retry without TLS


def _policy_reply(text: str, host: str) -> Reply:
    return local_reply("4.7.5", text, host)


def _ssl_cause(exc: BaseException) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


_UNVERIFIED: ssl.SSLContext | None = None


def _unverified_context() -> ssl.SSLContext:
    """Opportunistic TLS (RFC 7435): encrypt without authenticating; most MX certificates would not verify."""
    global _UNVERIFIED
    if _UNVERIFIED is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        _UNVERIFIED = context
    return _UNVERIFIED


class MxTransport:
    def __init__(
        self,
        settings: MxSettings,
        resolver: DnsResolver,
        *,
        mta_sts: MtaStsPolicies | None = None,
        rng: random.Random | None = None,
        tls_reporter: TlsReporter | None = None,
    ) -> None:
        settings.validate()
        self.settings = settings
        self._resolver = resolver
        self._mta_sts = mta_sts
        self._rng = rng or random.Random()
        self._tls_reporter = tls_reporter
        self._addresses = AddressPolicy(settings.allow_private_addresses, settings.max_addresses)
        self._sessions: dict[tuple[Destination, _Tls], _MxSession] = {}
        self._failed: dict[tuple[str, int], Reply] = {}  # (address, port) -> why it failed, this invocation
        self._domain_slots: dict[str, asyncio.Semaphore] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.tls_reports: list[TlsReport] = []

    @property
    def sessions(self) -> int:
        """How many MX destinations this transport holds sessions (and pooled connections) for."""
        return len(self._sessions)

    @property
    def failed_destinations(self) -> int:
        """How many destinations failed to connect in this invocation (and are skipped)."""
        return len(self._failed)

    def begin_invocation(self) -> None:
        """Forget the destinations that failed: a new invocation tries them again."""
        self._failed.clear()

    async def expire_idle(self) -> int:
        """QUIT connections idle past `idle_timeout` and forget destinations with none left (called
        between invocations: a container that sent to thousands of domains keeps only live sessions)."""
        expired = sum([await session.expire_idle() for session in list(self._sessions.values())])
        self._sessions = {key: session for key, session in self._sessions.items() if session.pooled}
        self._domain_slots = {}
        return expired

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(session.close() for session in sessions))

    def report_tls(self, report: TlsReport) -> None:
        self.tls_reports.append(report)
        logger.warning(
            "TLS policy failure for %s at %s (%s, MTA-STS %s): %s",
            report.domain,
            report.host,
            report.result,
            report.mode,
            report.detail,
        )
        if self._tls_reporter is not None:
            self._tls_reporter(report)

    async def deliver(self, envelope: Envelope, message: bytes) -> list[Outcome]:
        """One Outcome per envelope recipient, in order; DNS, SMTP and network failures become outcomes."""
        self._bind_loop()
        outcomes: list[Outcome | None] = [None] * len(envelope.recipients)
        groups = group_by_domain(envelope.recipients)

        async def deliver_domain(domain: str, indexes: list[int]) -> None:
            results = await self._deliver_domain(domain, envelope, [envelope.recipients[i] for i in indexes], message)
            for index, outcome in zip(indexes, results, strict=True):
                outcomes[index] = outcome

        await asyncio.gather(*(deliver_domain(domain, indexes) for domain, indexes in groups.items()))
        done = [outcome for outcome in outcomes if outcome is not None]
        assert len(done) == len(outcomes), "a recipient was left without an outcome"
        return done

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._domain_slots = loop, {}

    async def _deliver_domain(
        self, domain: str, envelope: Envelope, recipients: list[str], message: bytes
    ) -> list[Outcome]:
        if not domain:
            return [Bounced(r, local_reply("5.1.3", f"recipient address {r!r} has no domain")) for r in recipients]
        route = await self._route(domain)
        if isinstance(route, NoRoute):
            return [_final(r, route.reply) for r in recipients]
        targets = route
        final: dict[str, Outcome] = {}
        waiting = list(recipients)
        last: Reply | None = None
        slots = self._domain_slots.setdefault(domain, asyncio.Semaphore(self.settings.max_connections_per_domain))
        deadline = asyncio.get_running_loop().time() + self.settings.timeout
        for attempt, (destination, tls) in enumerate(targets):
            remembered = self._failed.get((destination.address, self.settings.port))
            if remembered is not None:
                last = remembered
                continue
            if attempt and asyncio.get_running_loop().time() > deadline:
                break  # no new destination once a command timeout's worth has gone: the rest waits for a retry
            session = self._session(destination, tls)
            failures: list[Reply] = []
            token = _OPEN_FAILURES.set(failures)
            try:
                async with slots:
                    results = await session.deliver(
                        Envelope(envelope.sender, tuple(waiting), envelope.smtputf8), message
                    )
            finally:
                _OPEN_FAILURES.reset(token)
            if failures:
                self._failed[(destination.address, self.settings.port)] = failures[-1]
            still: list[str] = []
            for outcome in results:
                if _try_elsewhere(outcome):
                    still.append(outcome.recipient)
                    last = outcome.reply
                else:
                    final[outcome.recipient.lower()] = outcome
            waiting = still
            if not waiting:
                break
        if waiting:
            reply = last or local_reply("4.4.1", f"no mail host of {domain} could be reached")
            if last is not None and all((d.address, self.settings.port) in self._failed for d, _ in targets):
                reply = local_reply(
                    reply.status, f"no mail host of {domain} could be used; the last: {reply.text}", reply.remote_mta
                )
            for recipient in waiting:
                final[recipient.lower()] = Deferred(recipient, reply, stated_retry_delay(reply.text))
        return [final[r.lower()] for r in recipients]

    async def _route(self, domain: str) -> list[tuple[Destination, _Tls]] | NoRoute:
        """The destinations to try, best first, each with the TLS it must use."""
        hosts = mx_hosts(domain, await self._resolver.mx(domain), self._rng, max_hosts=self.settings.max_mx_hosts)
        if isinstance(hosts, NoRoute):
            return hosts
        dane = await self._dane(hosts) if self.settings.dane else {}
        sts_tls = _Tls()
        policy = await self._mta_sts.policy(domain) if self._mta_sts is not None else None
        if policy is not None and policy.mode != "none":
            # DANE wins over MTA-STS (RFC 8461 §2): hosts with validated TLSA are not held to the policy.
            hosts = self._apply_policy(domain, policy, hosts, exempt=set(dane))
            if isinstance(hosts, NoRoute):
                return hosts
            sts_tls = _Tls("required" if policy.mode == "enforce" else "report", domain, policy.mode)
        lookups = await asyncio.gather(*(self._resolver.addresses(host.name) for host in hosts))
        found = destinations(domain, hosts, dict(zip((h.name for h in hosts), lookups, strict=True)), self._addresses)
        if isinstance(found, NoRoute):
            return found
        return [(d, _Tls("dane", domain, "dane", dane[d.host]) if d.host in dane else sts_tls) for d in found]

    async def _dane(self, hosts: Sequence[MxHost]) -> dict[str, tuple[Tlsa, ...]]:
        """The hosts whose TLSA records come back DNSSEC-validated (AD), with those records."""
        answers = await asyncio.gather(*(self._resolver.tlsa(host.name, self.settings.port) for host in hosts))
        return {
            host.name: lookup.records
            for host, (lookup, validated) in zip(hosts, answers, strict=True)
            if validated and isinstance(lookup, Found) and lookup.records
        }

    def _apply_policy(
        self, domain: str, policy: StsPolicy, hosts: Sequence[MxHost], *, exempt: set[str]
    ) -> list[MxHost] | NoRoute:
        matching = [host for host in hosts if host.name in exempt or policy.allows(host.name)]
        for host in hosts:
            if host not in matching:
                self.report_tls(
                    TlsReport(
                        domain,
                        host.name,
                        "certificate-host-mismatch",
                        f"{host.name} matches no mx pattern of the MTA-STS policy ({', '.join(policy.mx)})",
                        policy.mode,
                    )
                )
        if policy.mode == "testing":
            return list(hosts)
        if not matching:
            names = ", ".join(host.name for host in hosts)
            return NoRoute(
                local_reply("4.7.5", f"no MX host of {domain} ({names}) matches its MTA-STS policy (enforce)")
            )
        return matching

    def _session(self, destination: Destination, tls: _Tls) -> _MxSession:
        key = (destination, tls)
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = _MxSession(destination, tls, self)
        return session


def _try_elsewhere(outcome: Outcome) -> bool:
    """A Deferred that came from the session (no connection, a 421, a policy, a drop before the dot),
    not from the server's verdict on this recipient: the next MX may take it."""
    return isinstance(outcome, Deferred) and (outcome.reply.code is None or outcome.reply.code == 421)


def _final(recipient: str, reply: Reply) -> Outcome:
    if reply.is_permanent:
        return Bounced(recipient, reply)
    return Deferred(recipient, reply)
