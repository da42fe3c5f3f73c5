"""Pre-flight check of a sending domain: what receivers will look up before they trust our mail.

Pure decisions over DNS answers (the lookups are services/sender_check.py's, through the DnsLookup
port), one `CheckLine` each: pass or fail, and why.

- SPF (RFC 7208): one `v=spf1` record for the envelope domain; in relay mode it must reach the
  relay's include (Gmail/Workspace `_spf.google.com`, SES `amazonses.com`); in MX mode it must
  authorise our egress IP (ip4/ip6, a, mx, include, redirect), within RFC 7208's 10 lookups.
- DKIM: `<selector>._domainkey.<domain>` publishes the public key of the key we sign with.
- DMARC (RFC 7489): a policy at `_dmarc.<domain>` (or the organisational domain's), and the From
  domain aligned, relaxed or strict per `adkim`/`aspf`, with the DKIM `d=` or the SPF domain.
- PTR (MX mode): the egress IP has a reverse name that resolves back to it (forward-confirmed),
  ideally the EHLO name.
- One-click unsubscribe (RFC 8058) for bulk streams.

The organisational domain is approximated without the Public Suffix List (the layer ships no copy):
the last two labels, or three under a two-letter country code's second level such as co.uk.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from maildispatch.core.dkim import parse_tag_list

Status = Literal["ok", "failed", "skipped"]
LookupStatus = Literal["ok", "nxdomain", "nodata", "servfail", "timeout"]

SPF_LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4: include, a, mx, ptr, exists and redirect count
KNOWN_RELAY_INCLUDES = (  # host name fragments -> the SPF include the relay's senders must publish
    (("gmail.com", "google.com", "googlemail.com"), "_spf.google.com", "Gmail / Google Workspace"),
    (("amazonaws.com", "amazonses.com"), "amazonses.com", "Amazon SES"),
)
_SECOND_LEVELS = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go"})


@dataclass(frozen=True)
class DnsAnswer:
    """One lookup's outcome: records as text (TXT strings joined, addresses, host names without the dot)."""

    status: LookupStatus
    records: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return self.status == "ok" and bool(self.records)

    @property
    def failed(self) -> bool:
        """A lookup that said nothing either way (SERVFAIL, timeout): the check cannot decide."""
        return self.status in ("servfail", "timeout")


@dataclass(frozen=True)
class CheckLine:
    check: str  # spf, dkim, dmarc, alignment, ptr, unsubscribe
    status: Status
    detail: str
    hint: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def ok(check: str, detail: str) -> CheckLine:
    return CheckLine(check, "ok", detail)


def failed(check: str, detail: str, hint: str | None = None) -> CheckLine:
    return CheckLine(check, "failed", detail, hint)


def skipped(check: str, detail: str) -> CheckLine:
    return CheckLine(check, "skipped", detail)


# --- SPF -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpfTerm:
    qualifier: str  # + - ~ ?
    mechanism: str  # all, include, a, mx, ip4, ip6, ptr, exists, redirect (a modifier, kept in order last)
    value: str = ""


def spf_records(texts: Sequence[str]) -> list[str]:
    return [t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]


def parse_spf(text: str) -> list[SpfTerm]:
    """The terms of a `v=spf1` record, in order, with `redirect=` last (RFC 7208 §6.1); other modifiers dropped."""
    terms: list[SpfTerm] = []
    redirect: SpfTerm | None = None
    for word in text.split()[1:]:
        lowered = word.lower()
        if lowered.startswith("redirect="):
            redirect = SpfTerm("+", "redirect", word.partition("=")[2])
            continue
        if "=" in word.partition(":")[0]:
            continue  # exp= and unknown modifiers
        qualifier = word[0] if word[0] in "+-~?" else "+"
        body = word[1:] if word[0] in "+-~?" else word
        name, _, value = body.partition(":")
        if "/" in name and not value:  # a/24, mx/24
            name, _, cidr = name.partition("/")
            value = "/" + cidr
        terms.append(SpfTerm(qualifier, name.lower(), value))
    return terms + ([redirect] if redirect else [])


def ip_matches(ip: str, term: SpfTerm) -> bool:
    """Whether `ip` lies in an ip4:/ip6: term's network."""
    try:
        address = ipaddress.ip_address(ip)
        network = ipaddress.ip_network(term.value, strict=False)
    except ValueError:
        return False
    return address.version == network.version and address in network


def relay_include(relay_host: str) -> tuple[str, str] | None:
    """The SPF include (and the provider's name) a known relay's senders must publish; None if unknown."""
    host = relay_host.lower().rstrip(".")
    for fragments, include, provider in KNOWN_RELAY_INCLUDES:
        if any(host == f or host.endswith("." + f) for f in fragments):
            return include, provider
    return None


QUALIFIER_RESULT = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}


# --- DKIM ----------------------------------------------------------------------------------


def dkim_key_verdict(record_name: str, answer: DnsAnswer, algorithm: str, public_key_b64: str) -> CheckLine:
    """Whether the TXT at `record_name` publishes exactly the configured public key."""
    kind = "ed25519" if algorithm.startswith("ed25519") else "rsa"
    if answer.failed:
        return failed("dkim", f"{record_name}: the lookup failed ({answer.status})", "try again; check the DNS servers")
    records = [t for t in answer.records if "p=" in t]
    if not records:
        return failed(
            "dkim",
            f"no DKIM key published at {record_name}",
            f"publish the TXT record `v=DKIM1; k={kind}; p=<public key>` (maildispatch docs: delivery.md, DKIM)",
        )
    if len(records) > 1:
        return failed("dkim", f"{record_name} has {len(records)} key records: receivers fail on more than one")
    tags = parse_tag_list(records[0])
    published_kind = tags.get("k", "rsa").lower()
    if not tags.get("p"):
        return failed("dkim", f"{record_name}: the key is revoked (empty p=)", "publish the current public key")
    if published_kind != kind:
        return failed("dkim", f"{record_name} publishes a k={published_kind} key; we sign with {kind}")
    if tags["p"] != public_key_b64:
        return failed(
            "dkim",
            f"{record_name} publishes another key than the one configured ({_short(tags['p'])} vs {_short(public_key_b64)})",
            "the DNS record and the secret must hold the same key pair: publish the configured key (a rotation "
            "needs a new selector first)",
        )
    return ok("dkim", f"{record_name} publishes the configured {kind} key ({_short(public_key_b64)})")


def _short(b64: str) -> str:
    return f"…{b64[-12:]}" if len(b64) > 12 else b64


# --- DMARC and alignment ------------------------------------------------------------------


@dataclass(frozen=True)
class DmarcPolicy:
    found_at: str
    policy: str  # none, quarantine, reject
    adkim: str = "r"
    aspf: str = "r"
    tags: dict[str, str] = field(default_factory=dict)


def parse_dmarc(found_at: str, texts: Sequence[str]) -> DmarcPolicy | str:
    """The DMARC policy in the TXT answer, or why there is none that counts (RFC 7489 §6.6.3)."""
    records = [t for t in texts if t.replace(" ", "").lower().startswith("v=dmarc1")]
    if not records:
        return f"no v=DMARC1 record at {found_at}"
    if len(records) > 1:
        return f"{found_at} has {len(records)} DMARC records: receivers ignore them all"
    tags = {k.lower(): v for k, v in parse_tag_list(records[0]).items()}
    policy = tags.get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return f"{found_at}: p={policy or '(missing)'} is not none, quarantine or reject"
    adkim, aspf = tags.get("adkim", "r").lower(), tags.get("aspf", "r").lower()
    return DmarcPolicy(
        found_at, policy, adkim if adkim in ("r", "s") else "r", aspf if aspf in ("r", "s") else "r", tags
    )


def organizational_domain(domain: str) -> str:
    """The registrable domain, approximately (no Public Suffix List): example.com, example.co.uk."""
    labels = domain.lower().rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVELS:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def aligned(from_domain: str, other: str, mode: str) -> bool:
    """RFC 7489 §3.1: strict is the same domain; relaxed is the same organisational domain."""
    a, b = from_domain.lower().rstrip("."), other.lower().rstrip(".")
    return a == b if mode == "s" else organizational_domain(a) == organizational_domain(b)


def alignment_verdict(from_domain: str, policy: DmarcPolicy, dkim_domain: str | None, spf_domain: str) -> CheckLine:
    """DMARC passes when DKIM or SPF passes *aligned* with the From domain: say which ones align."""
    mode = {"r": "relaxed", "s": "strict"}
    parts = []
    dkim_ok = dkim_domain is not None and aligned(from_domain, dkim_domain, policy.adkim)
    spf_ok = aligned(from_domain, spf_domain, policy.aspf)
    if dkim_domain is None:
        parts.append("no DKIM signing domain configured")
    else:
        parts.append(f"DKIM d={dkim_domain} {'aligns' if dkim_ok else 'does NOT align'} ({mode[policy.adkim]})")
    parts.append(f"SPF domain {spf_domain} {'aligns' if spf_ok else 'does NOT align'} ({mode[policy.aspf]})")
    detail = f"From {from_domain}: " + "; ".join(parts)
    if dkim_ok:
        return ok("alignment", detail)
    if spf_ok:
        return ok("alignment", detail + " (DKIM alignment survives forwarding, SPF does not: configure DKIM too)")
    return failed(
        "alignment",
        detail,
        "sign with a DKIM key of the From domain (or its organisational domain), or use an envelope sender "
        "under it; otherwise DMARC fails",
    )


# --- PTR -----------------------------------------------------------------------------------


def ptr_verdict(ip: str, names: DnsAnswer, confirmed: Sequence[str], helo_name: str | None) -> CheckLine:
    """`confirmed`: the PTR names whose A/AAAA include `ip` (forward-confirmed reverse DNS)."""
    if names.failed:
        return failed("ptr", f"reverse lookup of {ip} failed ({names.status})", "try again; check the DNS servers")
    if not names.found:
        return failed(
            "ptr",
            f"{ip} has no PTR record",
            "ask AWS to set reverse DNS for the Elastic IP (the port-25 request form); receivers refuse mail from IPs without one",
        )
    if not confirmed:
        return failed(
            "ptr",
            f"{ip} -> {', '.join(names.records)}, which does not resolve back to {ip}",
            "the PTR name's A/AAAA record must include the egress IP (forward-confirmed reverse DNS)",
        )
    detail = f"{ip} -> {confirmed[0]} -> {ip} (forward-confirmed)"
    if helo_name and helo_name.lower().rstrip(".") not in {n.lower().rstrip(".") for n in confirmed}:
        return failed("ptr", detail + f", but the EHLO name is {helo_name}", f"set the EHLO name to {confirmed[0]}")
    return ok("ptr", detail)


# --- one-click unsubscribe ------------------------------------------------------------------


def unsubscribe_verdict(
    bulk_streams: Sequence[str], one_click_url: str | None, sample_headers: dict[str, str] | None
) -> CheckLine:
    """RFC 8058 for bulk mail (Gmail and Yahoo require it from bulk senders): an HTTPS one-click URL in
    List-Unsubscribe, with List-Unsubscribe-Post: List-Unsubscribe=One-Click."""
    if not bulk_streams:
        return skipped("unsubscribe", "no bulk streams configured (transactional mail needs no one-click unsubscribe)")
    streams = ", ".join(bulk_streams)
    if not one_click_url:
        return failed(
            "unsubscribe",
            f"bulk stream(s) {streams} have no one-click unsubscribe URL configured",
            "give bulk mail List-Unsubscribe: <https://...> and List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058)",
        )
    if not one_click_url.lower().startswith("https://"):
        return failed("unsubscribe", f"{one_click_url} is not an https:// URL: RFC 8058 one-click needs HTTPS")
    if sample_headers is not None:
        header = sample_headers.get("list-unsubscribe", "")
        post = sample_headers.get("list-unsubscribe-post", "")
        if "<https://" not in header.lower():
            return failed("unsubscribe", "the sample message has no List-Unsubscribe with an https:// URI")
        if post.replace(" ", "").lower() != "list-unsubscribe=one-click":
            return failed("unsubscribe", "the sample message lacks List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    return ok("unsubscribe", f"bulk stream(s) {streams}: one-click unsubscribe at {one_click_url}")
