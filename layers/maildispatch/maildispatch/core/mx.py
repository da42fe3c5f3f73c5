"""Where mail for a domain goes: MX resolution decisions as pure functions (RFC 5321 §5, RFC 7505).

The DNS adapter asks the questions and hands the answers here as values (`Found`, `NoData`,
`NxDomain`, `LookupFailed`); these functions decide, so every rule is testable without a socket:

- MX records sorted by preference; equal preferences shuffled (with the RNG passed in), so load
  spreads as the receiver intended; at most `max_mx_hosts` hosts are tried.
- No MX records (NODATA): the implicit MX, the domain itself (its A, then AAAA addresses).
- A null MX (`0 .`, RFC 7505) alone: the domain accepts no mail, permanently (5.1.10), and there
  is no fallback to its A records. A null MX among real ones is ignored.
- NXDOMAIN: no such domain, permanently (5.1.2). SERVFAIL or a timeout: try again later (4.4.3).
- Addresses: IPv4 before IPv6 per host, at most `max_addresses` per domain; private, loopback,
  link-local and other non-global addresses are refused (a DNS record must not point our sender
  at the VPC or at itself) unless the policy allows them (tests on 127.0.0.x).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from maildispatch.core.outcome import Reply, local_reply

T = TypeVar("T")

MAX_MX_HOSTS = 5
MAX_ADDRESSES = 20


@dataclass(frozen=True)
class Found(Generic[T]):
    records: tuple[T, ...]


@dataclass(frozen=True)
class NoData:
    """The name exists but has no records of the type asked for (NOERROR, empty answer)."""


@dataclass(frozen=True)
class NxDomain:
    """The name does not exist."""


@dataclass(frozen=True)
class LookupFailed:
    """SERVFAIL, a timeout, no nameserver answering: nothing is known, try later."""

    reason: str
    timed_out: bool = False  # no answer within the lookup's lifetime (else a server said SERVFAIL or worse)


Lookup = Found[T] | NoData | NxDomain | LookupFailed


@dataclass(frozen=True)
class MxRecord:
    preference: int
    exchange: str  # a host name without the trailing dot; "" is the root (a null MX)

    @property
    def is_null(self) -> bool:
        return self.exchange in ("", ".")


@dataclass(frozen=True)
class MxHost:
    name: str
    preference: int
    implicit: bool = False  # the domain itself, for want of MX records


@dataclass(frozen=True)
class Destination:
    """One address to connect to, and the MX host it belongs to (named in replies and checked in TLS)."""

    host: str
    address: str
    preference: int


@dataclass(frozen=True)
class NoRoute:
    """The domain cannot be delivered to now; `reply.is_permanent` says whether it ever can."""

    reply: Reply


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool = False  # loopback, RFC 1918, link-local, ULA...: tests and labs only
    max_addresses: int = MAX_ADDRESSES

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.is_unspecified or ip.is_multicast:
            return False
        return self.allow_private or ip.is_global


def recipient_domain(recipient: str) -> str:
    """The domain of an address, lower-cased, without a trailing dot; "" when there is none."""
    _, at, domain = recipient.rpartition("@")
    return domain.rstrip(".").lower() if at else ""


def group_by_domain(recipients: Sequence[str]) -> dict[str, list[int]]:
    """The indexes of the recipients per domain, in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for index, recipient in enumerate(recipients):
        groups.setdefault(recipient_domain(recipient), []).append(index)
    return groups


def mx_hosts(
    domain: str, answer: Lookup[MxRecord], rng: random.Random | None = None, *, max_hosts: int = MAX_MX_HOSTS
) -> list[MxHost] | NoRoute:
    """The hosts to try for `domain`, best first, or why there are none."""
    if isinstance(answer, NxDomain):
        return NoRoute(local_reply("5.1.2", f"the recipient domain {domain} does not exist (NXDOMAIN)"))
    if isinstance(answer, LookupFailed):
        return NoRoute(local_reply("4.4.3", f"MX lookup for {domain} failed: {answer.reason}"))
    if isinstance(answer, NoData) or not answer.records:
        return [MxHost(domain, 0, implicit=True)]
    real = [record for record in answer.records if not record.is_null]
    if not real:
        return NoRoute(local_reply("5.1.10", f"{domain} publishes a null MX (RFC 7505): it accepts no mail"))
    rng = rng or random.Random()
    ordered: list[MxHost] = []
    for preference in sorted({record.preference for record in real}):
        names = sorted({record.exchange.rstrip(".").lower() for record in real if record.preference == preference})
        rng.shuffle(names)
        ordered.extend(MxHost(name, preference) for name in names)
    return ordered[:max_hosts]


def destinations(
    domain: str,
    hosts: Sequence[MxHost],
    addresses: Mapping[str, tuple[Lookup[str], Lookup[str]]],
    policy: AddressPolicy,
) -> list[Destination] | NoRoute:
    """Addresses to connect to, in order: each host's IPv4 then IPv6 addresses, refused ones left out.

    `addresses` maps a host name to its (A, AAAA) lookups. With none usable: a lookup that failed
    makes it transient (4.4.3); otherwise it is permanent (5.4.4 — 5.1.2 for an implicit MX whose
    domain has no address at all).
    """
    found: list[Destination] = []
    refused: list[str] = []
    failures: list[str] = []
    for host in hosts:
        for lookup in addresses.get(host.name, (NoData(), NoData())):
            if isinstance(lookup, LookupFailed):
                failures.append(f"{host.name}: {lookup.reason}")
            elif isinstance(lookup, Found):
                for address in lookup.records:
                    if policy.allows(address):
                        found.append(Destination(host.name, address, host.preference))
                    else:
                        refused.append(f"{host.name} ({address})")
    unique = list(dict.fromkeys(found))[: policy.max_addresses]
    if unique:
        return unique
    if failures:
        return NoRoute(local_reply("4.4.3", f"address lookup for the mail hosts of {domain} failed: {failures[0]}"))
    if refused:
        return NoRoute(
            local_reply("5.4.4", f"the mail hosts of {domain} have only addresses we refuse: {', '.join(refused[:3])}")
        )
    if len(hosts) == 1 and hosts[0].implicit:
        return NoRoute(local_reply("5.1.2", f"{domain} has no MX and no address record: no mail route"))
    names = ", ".join(host.name for host in hosts)
    return NoRoute(local_reply("5.4.4", f"no mail host of {domain} has an address ({names})"))


def parse_mx_text(records: Iterable[tuple[int, str]]) -> Found[MxRecord]:
    """MX records from (preference, exchange) pairs as DNS gives them ('.' for the root)."""
    return Found(tuple(MxRecord(preference, exchange.rstrip(".").lower()) for preference, exchange in records))
