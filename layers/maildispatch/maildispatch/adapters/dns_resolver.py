"""DNS lookups with dnspython's asyncio resolver: for direct-to-MX delivery, and (`query`) for the
sender check (`maildispatch check-sender`, the campaign pre-flight: the DnsLookup port).

Answers come back as the core's values (core/mx.py: Found, NoData, NxDomain, LookupFailed; for the
sender check core/sender_check.py's DnsAnswer), never as dnspython exceptions. CNAME chains are followed by dnspython within the answer (the recursive
resolver returns the chain; `Answer` walks it). Nameservers and port are configurable (tests point
them at tests/stack/dns_server.py; on Lambda the VPC resolver from /etc/resolv.conf is used).

`tlsa()` also reports whether the answer carried the AD flag: only a DNSSEC-validated TLSA answer may
turn on DANE (RFC 7672), and Lambda's VPC resolver does not validate DNSSEC unless told to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.name
import dns.rdatatype
import dns.resolver
import dns.reversename

from maildispatch.core.dane import Tlsa
from maildispatch.core.mx import Found, Lookup, LookupFailed, MxRecord, NoData, NxDomain
from maildispatch.core.sender_check import DnsAnswer


@dataclass(frozen=True)
class ResolverSettings:
    nameservers: tuple[str, ...] = ()  # empty: the system's (/etc/resolv.conf)
    port: int = 53
    timeout: float = 2.0  # per nameserver try
    lifetime: float = 5.0  # per lookup, all tries included
    cache: bool = True  # dnspython's in-memory cache, honouring TTLs, for the container's life (the sender
    # check turns it off: a record fixed after a failed check must be seen when the check runs again)


@dataclass
class DnsResolver:
    settings: ResolverSettings = field(default_factory=ResolverSettings)

    def __post_init__(self) -> None:
        s = self.settings
        resolver = dns.asyncresolver.Resolver(configure=not s.nameservers)
        if s.nameservers:
            resolver.nameservers = list(s.nameservers)
        resolver.port = s.port
        resolver.timeout = s.timeout
        resolver.lifetime = s.lifetime
        if s.cache:
            resolver.cache = dns.resolver.Cache()
        self._resolver = resolver
        self._validating = self._make_validating()

    def _make_validating(self) -> dns.asyncresolver.Resolver:
        """The same resolver asking for DNSSEC (DO bit), so a validating resolver sets AD."""
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = list(self._resolver.nameservers)
        resolver.port, resolver.timeout, resolver.lifetime = (
            self._resolver.port,
            self._resolver.timeout,
            self._resolver.lifetime,
        )
        resolver.use_edns(0, dns.flags.DO, 1232)
        resolver.flags = dns.flags.RD | dns.flags.AD
        return resolver

    async def mx(self, domain: str) -> Lookup[MxRecord]:
        answer = await self._query(domain, "MX")
        if not isinstance(answer, dns.resolver.Answer):
            return answer
        return Found(tuple(MxRecord(r.preference, r.exchange.to_text(omit_final_dot=True).lower()) for r in answer))

    async def addresses(self, host: str) -> tuple[Lookup[str], Lookup[str]]:
        """The host's A and AAAA lookups (AAAA only asked when A gave none: fewer round trips)."""
        a = await self._addresses(host, "A")
        if isinstance(a, Found) and a.records:
            return a, NoData()
        if isinstance(a, NxDomain):
            return a, NxDomain()
        return a, await self._addresses(host, "AAAA")

    async def txt(self, name: str) -> Lookup[str]:
        answer = await self._query(name, "TXT")
        if not isinstance(answer, dns.resolver.Answer):
            return answer
        return Found(tuple(b"".join(r.strings).decode("utf-8", "replace") for r in answer))

    async def tlsa(self, host: str, port: int = 25) -> tuple[Lookup[Tlsa], bool]:
        """The TLSA records of `_port._tcp.host` and whether the answer was DNSSEC-validated (AD)."""
        answer = await self._query(f"_{port}._tcp.{host}", "TLSA", resolver=self._validating)
        if not isinstance(answer, dns.resolver.Answer):
            return answer, False
        records = tuple(Tlsa(r.usage, r.selector, r.mtype, bytes(r.cert)) for r in answer)
        return Found(records), bool(answer.response.flags & dns.flags.AD)

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Any record as the sender check reads it: TXT strings of one record joined (SPF, DKIM, DMARC), A,
        AAAA, MX as "<preference> <host>", PTR asked with the IP address (the reverse name is made here)."""
        rdtype = rdtype.upper()
        try:
            qname = dns.reversename.from_address(name).to_text() if rdtype == "PTR" else name
        except ValueError:
            return DnsAnswer("servfail")  # not an IP address: nothing to ask
        answer = await self._query(qname, rdtype)
        if isinstance(answer, NxDomain):
            return DnsAnswer("nxdomain")
        if isinstance(answer, NoData):
            return DnsAnswer("nodata")
        if isinstance(answer, LookupFailed):
            return DnsAnswer("timeout" if answer.timed_out else "servfail")
        return DnsAnswer("ok", tuple(_text(rdtype, rdata) for rdata in answer))

    async def _addresses(self, host: str, rdtype: str) -> Lookup[str]:
        answer = await self._query(host, rdtype)
        if not isinstance(answer, dns.resolver.Answer):
            return answer
        return Found(tuple(r.address for r in answer))

    async def _query(
        self, name: str, rdtype: str, *, resolver: dns.asyncresolver.Resolver | None = None
    ) -> dns.resolver.Answer | NoData | NxDomain | LookupFailed:
        try:
            return await (resolver or self._resolver).resolve(name, rdtype, search=False)
        except (
            dns.resolver.NXDOMAIN,
            dns.name.NameTooLong,
            dns.name.LabelTooLong,
            dns.name.EmptyLabel,
            dns.name.IDNAException,
        ):
            return NxDomain()  # a name that cannot be written in DNS cannot exist either
        except dns.resolver.NoAnswer:
            return NoData()
        except dns.resolver.NoNameservers as exc:
            return LookupFailed(_servfail_text(exc, name, rdtype))
        except (dns.resolver.LifetimeTimeout, dns.exception.Timeout):
            return LookupFailed(f"no answer for {name} {rdtype} within {self.settings.lifetime:g} s", timed_out=True)
        except dns.exception.DNSException as exc:
            return LookupFailed(f"{name} {rdtype}: {exc.__class__.__name__}: {exc}")


def _servfail_text(exc: dns.resolver.NoNameservers, name: str, rdtype: str) -> str:
    """'example.com MX: SERVFAIL from 10.0.0.2' (what each nameserver said, once)."""
    errors: Sequence[tuple[object, ...]] = exc.kwargs.get("errors", ())
    said = sorted({f"{error[3]} from {error[0]}" for error in errors if len(error) > 3 and error[3] is not None})
    return f"{name} {rdtype}: {'; '.join(said) or 'no nameserver answered'}"


def _text(rdtype: str, rdata: object) -> str:
    if rdtype == "TXT":
        strings: Sequence[bytes] = getattr(rdata, "strings", ())
        return b"".join(strings).decode("utf-8", "replace")
    if rdtype in ("A", "AAAA"):
        return str(getattr(rdata, "address", ""))
    if rdtype == "MX":
        exchange = getattr(rdata, "exchange", None)
        host = exchange.to_text(omit_final_dot=True).lower() if exchange is not None else ""
        return f"{getattr(rdata, 'preference', 0)} {host}"
    if rdtype == "PTR":
        target = getattr(rdata, "target", None)
        return target.to_text(omit_final_dot=True).lower() if target is not None else ""
    return str(rdata)
