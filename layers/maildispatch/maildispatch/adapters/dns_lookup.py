"""DNS lookups with dnspython's asyncio resolver, as the core's DnsAnswer values (never exceptions).

For the pre-flight check (`maildispatch check-sender`): TXT (strings of one record joined, as SPF,
DKIM and DMARC read them), A, AAAA, MX (`"<preference> <host>"`) and PTR (asked with the IP address;
the reverse name is made here). Nameservers and port are configurable: tests point them at
tests/stack/dns_server.py; otherwise /etc/resolv.conf's are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.resolver
import dns.reversename

from maildispatch.core.sender_check import DnsAnswer


@dataclass(frozen=True)
class LookupSettings:
    nameservers: tuple[str, ...] = ()  # empty: the system's
    port: int = 53
    timeout: float = 2.0  # per try
    lifetime: float = 5.0  # per lookup


@dataclass
class DnsLookup:
    settings: LookupSettings = field(default_factory=LookupSettings)

    def __post_init__(self) -> None:
        resolver = dns.asyncresolver.Resolver(configure=not self.settings.nameservers)
        if self.settings.nameservers:
            resolver.nameservers = list(self.settings.nameservers)
        resolver.port = self.settings.port
        resolver.timeout = self.settings.timeout
        resolver.lifetime = self.settings.lifetime
        self._resolver = resolver

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        rdtype = rdtype.upper()
        qname = dns.reversename.from_address(name).to_text() if rdtype == "PTR" else name
        try:
            answer = await self._resolver.resolve(qname, rdtype, search=False)
        except dns.resolver.NXDOMAIN:
            return DnsAnswer("nxdomain")
        except dns.resolver.NoAnswer:
            return DnsAnswer("nodata")
        except (dns.resolver.LifetimeTimeout, dns.exception.Timeout):
            return DnsAnswer("timeout")
        except (dns.resolver.NoNameservers, dns.exception.DNSException, ValueError):
            return DnsAnswer("servfail")
        return DnsAnswer("ok", tuple(_text(rdtype, rdata) for rdata in answer))


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
