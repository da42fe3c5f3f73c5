"""The pre-flight check of a sending domain (`maildispatch check-sender`): DNS lookups through the
DnsLookup port, decisions by core/sender_check.py, one line per check.

SPF is evaluated as a receiver would for the envelope domain (RFC 7208 check_host, without macros,
`ptr` or `exists`), counting DNS-querying terms against the limit of 10.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from maildispatch.core.dkim import Algorithm
from maildispatch.core.sender_check import (
    QUALIFIER_RESULT,
    SPF_LOOKUP_LIMIT,
    CheckLine,
    DmarcPolicy,
    DnsAnswer,
    SpfTerm,
    alignment_verdict,
    dkim_key_verdict,
    failed,
    ip_matches,
    ok,
    organizational_domain,
    parse_dmarc,
    parse_spf,
    ptr_verdict,
    relay_include,
    skipped,
    spf_records,
    unsubscribe_verdict,
)
from maildispatch.ports import DnsLookup

Mode = Literal["relay", "mx"]


@dataclass(frozen=True)
class DkimKeyToCheck:
    selector: str
    algorithm: Algorithm
    public_key: bytes  # as p= publishes it: SubjectPublicKeyInfo DER (RSA), the raw 32 bytes (Ed25519)


@dataclass(frozen=True)
class SenderSetup:
    """What we send with, for one From domain."""

    domain: str  # the From domain
    mode: Mode = "relay"
    envelope_domain: str | None = None  # MAIL FROM's domain, which SPF checks; default: `domain`
    relay_host: str | None = None
    spf_include: str | None = None  # the relay's SPF include, when it is not a known relay's
    egress_ip: str | None = None  # MX mode: the NAT gateway's Elastic IP
    helo_name: str | None = None  # MX mode: the EHLO name, which the PTR should name
    dkim_domain: str | None = None  # d=; default: `domain`
    dkim_keys: tuple[DkimKeyToCheck, ...] = ()
    bulk_streams: tuple[str, ...] = ()
    one_click_url: str | None = None
    sample_headers: Mapping[str, str] | None = field(default=None)  # a bulk message's header fields, lower-case names
    dkim_required: bool = True  # False: no key configured is a skipped line (the deployment sends such mail unsigned)

    @property
    def spf_domain(self) -> str:
        return (self.envelope_domain or self.domain).lower()

    @property
    def signing_domain(self) -> str:
        return (self.dkim_domain or self.domain).lower()


class SenderCheck:
    def __init__(self, dns: DnsLookup) -> None:
        self._dns = dns

    async def run(self, setup: SenderSetup) -> list[CheckLine]:
        lines = [await self.spf(setup)]
        lines += await self.dkim(setup)
        lines += await self.dmarc(setup)
        lines.append(await self.ptr(setup))
        sample = dict(setup.sample_headers) if setup.sample_headers is not None else None
        lines.append(unsubscribe_verdict(setup.bulk_streams, setup.one_click_url, sample))
        return lines

    # -- SPF ---------------------------------------------------------------------------------

    async def spf(self, setup: SenderSetup) -> CheckLine:
        domain = setup.spf_domain
        answer = await self._dns.query(domain, "TXT")
        if answer.failed:
            return failed("spf", f"TXT lookup of {domain} failed ({answer.status})", "try again; check the DNS servers")
        records = spf_records(answer.records)
        if not records:
            return failed("spf", f"{domain} has no SPF record (v=spf1)", _spf_hint(setup))
        if len(records) > 1:
            return failed("spf", f"{domain} has {len(records)} SPF records: a permanent error for receivers")
        evaluator = _SpfEvaluator(self._dns)
        if setup.mode == "mx":
            if not setup.egress_ip:
                return failed("spf", "MX mode: the egress IP is not known", "give the NAT gateway's Elastic IP")
            result, why = await evaluator.check_host(setup.egress_ip, domain)
            if result == "pass":
                return ok("spf", f"{domain} authorises {setup.egress_ip}: {why}")
            return failed("spf", f"{domain} gives {result} for {setup.egress_ip}: {why}", _spf_hint(setup))
        include = _relay_include(setup)
        if include is None:
            return ok("spf", f"{domain}: {records[0]} (which include the relay needs is unknown: name it to check it)")
        path = await evaluator.reaches(domain, include.lower())
        if isinstance(path, list):
            return ok("spf", f"{domain} includes {include}: {' -> '.join(path)}")
        return failed("spf", f"{domain} does not include {include}: {path}", _spf_hint(setup))

    # -- DKIM --------------------------------------------------------------------------------

    async def dkim(self, setup: SenderSetup) -> list[CheckLine]:
        if not setup.dkim_keys and not setup.dkim_required:
            return [skipped("dkim", f"no DKIM key configured for {setup.domain}: mail from it goes out unsigned")]
        if not setup.dkim_keys:
            return [
                failed(
                    "dkim",
                    f"no DKIM key configured for {setup.domain}",
                    "give the selector and the key (DKIM_KEYS in the deployment); unsigned mail fails DMARC at most relays",
                )
            ]
        lines = []
        for key in setup.dkim_keys:
            name = f"{key.selector}._domainkey.{setup.signing_domain}"
            answer = await self._dns.query(name, "TXT")
            lines.append(dkim_key_verdict(name, answer, key.algorithm, base64.b64encode(key.public_key).decode()))
        return lines

    # -- DMARC -------------------------------------------------------------------------------

    async def dmarc(self, setup: SenderSetup) -> list[CheckLine]:
        domain = setup.domain.lower()
        policy = await self._dmarc_policy(domain)
        if isinstance(policy, CheckLine):
            line = policy
            policy = DmarcPolicy("(none)", "none")  # what alignment would need, relaxed as DMARC's default
        else:
            note = " (monitoring only: nothing is refused)" if policy.policy == "none" else ""
            line = ok("dmarc", f"{policy.found_at}: p={policy.policy}, adkim={policy.adkim}, aspf={policy.aspf}{note}")
        dkim_domain = setup.signing_domain if setup.dkim_keys else None
        return [line, alignment_verdict(domain, policy, dkim_domain, setup.spf_domain)]

    async def _dmarc_policy(self, domain: str) -> DmarcPolicy | CheckLine:
        names = [f"_dmarc.{domain}"]
        if organizational_domain(domain) != domain:
            names.append(f"_dmarc.{organizational_domain(domain)}")  # RFC 7489 §6.6.3
        why = ""
        for name in names:
            answer = await self._dns.query(name, "TXT")
            if answer.failed:
                return failed("dmarc", f"TXT lookup of {name} failed ({answer.status})", "try again")
            parsed = parse_dmarc(name, answer.records)
            if isinstance(parsed, DmarcPolicy):
                return parsed
            why = parsed
            if answer.found and "no v=DMARC1" not in parsed:
                break  # a broken record at the domain itself is what receivers see
        return failed(
            "dmarc",
            why,
            f'publish a TXT record at _dmarc.{domain}: "v=DMARC1; p=none; rua=mailto:dmarc@{domain}" to start '
            "(Gmail and Yahoo require one from bulk senders)",
        )

    # -- PTR ---------------------------------------------------------------------------------

    async def ptr(self, setup: SenderSetup) -> CheckLine:
        if setup.mode != "mx":
            return skipped("ptr", "relay mode: the relay's IP and reverse DNS are what receivers see")
        if not setup.egress_ip:
            return failed("ptr", "MX mode: the egress IP is not known", "give the NAT gateway's Elastic IP")
        names = await self._dns.query(setup.egress_ip, "PTR")
        confirmed = []
        for name in names.records if names.found else ():
            rdtype = "AAAA" if ipaddress.ip_address(setup.egress_ip).version == 6 else "A"
            forward = await self._dns.query(name, rdtype)
            if setup.egress_ip in forward.records:
                confirmed.append(name)
        return ptr_verdict(setup.egress_ip, names, confirmed, setup.helo_name)


def _relay_include(setup: SenderSetup) -> str | None:
    if setup.spf_include:
        return setup.spf_include
    known = relay_include(setup.relay_host) if setup.relay_host else None
    return known[0] if known else None


def _spf_hint(setup: SenderSetup) -> str:
    if setup.mode == "mx":
        return f'publish "v=spf1 ip4:{setup.egress_ip or "<egress IP>"} -all" (or add ip4:… to the existing record)'
    include = _relay_include(setup) or "<the relay's include>"
    return f'publish "v=spf1 include:{include} ~all" (or add the include to the existing record)'


class _SpfEvaluator:
    """check_host() of RFC 7208 over the DnsLookup port, with the limit of 10 DNS-querying terms."""

    def __init__(self, dns: DnsLookup) -> None:
        self._dns = dns
        self.lookups = 0

    async def _terms(self, domain: str) -> list[SpfTerm] | tuple[str, str]:
        answer = await self._dns.query(domain, "TXT")
        if answer.failed:
            return "temperror", f"TXT lookup of {domain} failed ({answer.status})"
        records = spf_records(answer.records) if answer.status == "ok" else []
        if len(records) != 1:
            return (
                ("none", f"{domain} has no SPF record")
                if not records
                else ("permerror", f"{domain}: {len(records)} SPF records")
            )
        return list(parse_spf(records[0]))

    def _count(self) -> bool:
        self.lookups += 1
        return self.lookups <= SPF_LOOKUP_LIMIT

    async def check_host(self, ip: str, domain: str) -> tuple[str, str]:
        """(result, why): pass, fail, softfail, neutral, none, permerror or temperror."""
        terms = await self._terms(domain)
        if isinstance(terms, tuple):
            return terms
        for term in terms:
            mechanism, value, qualifier = term.mechanism, term.value, term.qualifier
            if mechanism in ("include", "a", "mx", "ptr", "exists", "redirect") and not self._count():
                return "permerror", f"more than {SPF_LOOKUP_LIMIT} DNS lookups (RFC 7208 §4.6.4)"
            if mechanism == "all":
                return QUALIFIER_RESULT[qualifier], f"{domain}: {qualifier}all"
            if mechanism in ("ip4", "ip6") and ip_matches(ip, term):
                return QUALIFIER_RESULT[qualifier], f"{domain}: {mechanism}:{value}"
            if mechanism in ("a", "mx"):
                host, _, cidr = value.partition("/")
                matched = await self._address_match(ip, host or domain, cidr, via_mx=mechanism == "mx")
                if isinstance(matched, tuple):
                    return matched
                if matched:
                    return QUALIFIER_RESULT[qualifier], f"{domain}: {mechanism}{':' + value if value else ''}"
            if mechanism == "include":
                result, why = await self.check_host(ip, value)
                if result in ("temperror", "permerror"):
                    return result, why
                if result == "none":
                    return "permerror", f"{domain}: include:{value}, which has no SPF record"
                if result == "pass":
                    return QUALIFIER_RESULT[qualifier], f"{domain}: include:{value} -> {why}"
            if mechanism == "redirect":
                result, why = await self.check_host(ip, value)
                return ("permerror" if result == "none" else result), f"{domain}: redirect={value} -> {why}"
        return "neutral", f"{domain}: nothing matched (no 'all')"

    async def _address_match(self, ip: str, host: str, cidr: str, *, via_mx: bool) -> bool | tuple[str, str]:
        hosts = [host]
        if via_mx:
            answer = await self._dns.query(host, "MX")
            if answer.failed:
                return "temperror", f"MX lookup of {host} failed ({answer.status})"
            hosts = [record.split()[-1] for record in answer.records] if answer.found else []
        rdtype = "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"
        for name in hosts:
            answer = await self._dns.query(name, rdtype)
            if answer.failed:
                return "temperror", f"{rdtype} lookup of {name} failed ({answer.status})"
            for address in answer.records:
                try:
                    network = ipaddress.ip_network(f"{address}/{cidr}" if cidr else address, strict=False)
                except ValueError:
                    continue
                if ipaddress.ip_address(ip) in network:
                    return True
        return False

    async def reaches(self, domain: str, target: str, seen: tuple[str, ...] = ()) -> list[str] | str:
        """The include/redirect path from `domain` to `target`, or why there is none."""
        path = [*seen, domain]
        terms = await self._terms(domain)
        if isinstance(terms, tuple):
            return terms[1]
        nested: list[str] = []
        for term in terms:
            mechanism, value = term.mechanism, term.value.lower()
            if mechanism not in ("include", "redirect"):
                if mechanism in ("a", "mx", "ptr", "exists") and not self._count():
                    return f"more than {SPF_LOOKUP_LIMIT} DNS lookups (RFC 7208 §4.6.4)"
                continue
            if not self._count():
                return f"more than {SPF_LOOKUP_LIMIT} DNS lookups (RFC 7208 §4.6.4)"
            if value == target:
                return [*path, value]
            nested.append(value)
        why = f"not found in {domain}'s record"
        for value in nested:
            if value in path:
                continue
            found = await self.reaches(value, target, tuple(path))
            if isinstance(found, list):
                return found
            if "more than" in found:
                return found
        return why


# -- a campaign's pre-flight --------------------------------------------------------------------


@dataclass(frozen=True)
class SendingPath:
    """How the deployment sends, which a campaign's From domain is checked against (the fan-out's settings)."""

    mode: Mode = "relay"
    relay_host: str | None = None
    egress_ip: str | None = None  # MX mode
    helo_name: str | None = None  # MX mode
    one_click_url: str | None = None  # UNSUBSCRIBE_BASE_URL: campaign mail is bulk
    # From domain -> (the signing domain, its keys as published), or (None, ()) when no key signs its mail
    dkim_keys: Callable[[str], tuple[str | None, tuple[DkimKeyToCheck, ...]]] | None = None


@dataclass(frozen=True)
class PreflightResult:
    domain: str
    lines: tuple[CheckLine, ...]
    dns_failed: bool = False  # a lookup said nothing either way (SERVFAIL, timeout): no verdict

    @property
    def passed(self) -> bool:
        return not any(line.failed for line in self.lines)

    @property
    def transient(self) -> bool:
        """Failed lines, but DNS did not answer: try again rather than blame the domain."""
        return not self.passed and self.dns_failed

    def reason(self) -> str:
        """The failed lines in one sentence, for the campaign's reason (status, the Paused event)."""
        failures = "; ".join(f"{line.check}: {line.detail}" for line in self.lines if line.failed)
        return f"sender check of {self.domain} failed: {failures}"


class _Recorded:
    """A DnsLookup that remembers whether any lookup failed (SERVFAIL, timeout)."""

    def __init__(self, dns: DnsLookup) -> None:
        self._dns = dns
        self.failed = False

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        answer = await self._dns.query(name, rdtype)
        self.failed = self.failed or answer.failed
        return answer


class CampaignPreflight:
    """The sender check before a campaign's first send: SPF, DKIM (when a key is configured for the domain),
    DMARC and alignment, one-click unsubscribe (campaign mail is bulk), PTR in MX mode."""

    def __init__(self, dns: DnsLookup, path: SendingPath) -> None:
        self._dns = dns
        self._path = path

    async def check(self, domain: str, *, stream: str | None = None) -> PreflightResult:
        path = self._path
        dkim_domain, keys = path.dkim_keys(domain) if path.dkim_keys is not None else (None, ())
        setup = SenderSetup(
            domain=domain,
            mode=path.mode,
            relay_host=path.relay_host,
            egress_ip=path.egress_ip,
            helo_name=path.helo_name,
            dkim_domain=dkim_domain,
            dkim_keys=keys,
            bulk_streams=(stream or "campaign",),
            one_click_url=path.one_click_url,
            dkim_required=False,
        )
        recorded = _Recorded(self._dns)
        lines = await SenderCheck(recorded).run(setup)
        return PreflightResult(domain, tuple(lines), dns_failed=recorded.failed)
