"""Typed settings, read once at the edge from the function's environment.

The core never reads environment variables; handlers call `DispatchSettings.from_environ` (or another
function's settings) once per container and pass the result in. This module holds the environment
reader, the parsers the functions share and the dispatch function's settings; each other function's
settings are in their own module (settings_api, settings_bounce, settings_fanout), so that no function's
cold start builds the settings classes of the others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, overload

from maildispatch.adapters.aws import RelaySource
from maildispatch.core.budget import BudgetConfig
from maildispatch.core.request import ascii_domain
from maildispatch.core.retry import DEFAULT_STREAM, RetrySchedule, parse_duration

if TYPE_CHECKING:  # imported when configured: relay mode never loads dnspython, a stack without DKIM_KEYS core.dkim
    from maildispatch.adapters.dns_resolver import ResolverSettings
    from maildispatch.adapters.mta_sts import MtaStsSettings
    from maildispatch.adapters.smtp_mx import MxSettings
    from maildispatch.core.dkim import SigningDomain


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


UNCERTAIN_POLICIES = {
    # how many more times a recipient whose submission ended uncertain is sent again
    "retry-once": 1,  # default: one more attempt with the same Message-ID, so a receiver can de-duplicate
    "retry": 1_000_000,  # like a transient failure (most MTAs do this; duplicates possible)
    "give-up": 0,  # never again: no duplicate, but the message may be lost
}


DELIVERY_MODES = {"relay": "relay", "mx": "mx"}


@dataclass(frozen=True)
class MxDelivery:
    """Direct-to-MX delivery (DELIVERY_MODE=mx): the transport, the DNS resolver and MTA-STS."""

    transport: MxSettings
    resolver: ResolverSettings
    mta_sts: MtaStsSettings | None  # None: MTA_STS=off, opportunistic STARTTLS only


@dataclass(frozen=True)
class DispatchSettings:
    """The dispatch function's settings, from its environment (docs/configuration.md)."""

    send_queue_url: str
    dead_letter_queue_url: str
    ledger_table: str
    relay: RelaySource | None  # required in relay mode; in mx mode only if configured
    reporting_mta: str
    content_bucket: str | None = None
    outbox_bucket: str | None = None  # the S3 outbox: send requests and ready messages put under outbox/
    attachment_prefix: str = "attachments/"  # S3 attachments must lie under it; templates/ never may
    suppression_table: str | None = None
    concurrency: int = 32
    retry_schedules: Mapping[str, RetrySchedule] = field(default_factory=lambda: {DEFAULT_STREAM: RetrySchedule()})
    uncertain_retries: int = UNCERTAIN_POLICIES["retry-once"]
    delay_warning_after: float | None = None  # seconds after arrival; None: no delay warnings
    default_envelope_sender: str | None = None
    max_message_bytes: int = 10 * 1024 * 1024
    lease_seconds: int = 300  # how long a recipient claim holds before another invocation may take it over
    queue_retention_seconds: float = 4 * 86400  # the send queue's MessageRetentionPeriod
    requeue_after_receives: int = 5  # a record received this often is re-enqueued fresh before it waits again
    verp_domain: str | None = None  # set: per-recipient return paths bounces+<token>@<domain>
    verp_secret: str | None = None  # the Secrets Manager secret holding the token-signing key
    render_timeout: float = 2.0  # CPU seconds one message's template may take
    render_memory_mb: int = 256  # memory one message's template may add to its worker
    render_workers: int = 2  # worker processes rendering templates at once
    signing_secret: str | None = None  # the Secrets Manager secret signing reports and re-enqueue attributes
    delivered_events: bool = False  # DELIVERED_EVENTS: an "Email Delivered" event per delivered recipient
    event_bus_name: str = "default"  # where those events go
    delivery_mode: str = "relay"  # DELIVERY_MODE: "relay" (a smarthost) or "mx" (direct to each domain's MX)
    mx: MxDelivery | None = None  # set in mx mode
    relay_budget_table: str | None = None  # RELAY_BUDGET_TABLE: the relay's shared budget (rate, quota, pause)
    budget: BudgetConfig = BudgetConfig()  # RELAY_RATE_PER_SECOND, RELAY_RATE_BURST, RELAY_DAILY_QUOTA: off by default
    relay_budget_key: str | None = None  # RELAY_BUDGET_KEY: which budget; default the relay's host, port and user
    budget_chunk: int = 10  # RELAY_BUDGET_CHUNK: recipients an invocation draws at once
    quota_pause_seconds: float = 3600.0  # RELAY_QUOTA_PAUSE: after a daily-quota reply
    rate_pause_seconds: float = 60.0  # RELAY_RATE_PAUSE: after a rate reply
    unsubscribe_secret: str | None = None  # UNSUBSCRIBE_SECRET: the secret signing one-click unsubscribe tokens
    unsubscribe_base_url: str | None = None  # UNSUBSCRIBE_BASE_URL: https://... serving /u/<token>
    unsubscribe_mailto: str | None = None  # UNSUBSCRIBE_MAILTO: an address for mailto unsubscribes, if any
    dkim_keys: tuple[SigningDomain, ...] = ()  # DKIM_KEYS: signing domains (names of secrets, never keys)
    dkim_strict: bool = False  # DKIM_STRICT: refuse mail whose From domain has no key, instead of sending it unsigned
    campaign_table: str | None = None  # CAMPAIGN_TABLE: campaign recipients are gated by their campaign's state
    campaign_pause_wait_seconds: int = 60  # CAMPAIGN_PAUSE_WAIT: how often a paused campaign's record asks again

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> DispatchSettings:
        reader = EnvReader(env)
        mode = reader.choice("DELIVERY_MODE", "relay", DELIVERY_MODES)
        has_relay = bool(reader.text("SMTP_HOST", None) or reader.text("RELAY_PARAMETER", None))
        return cls(
            send_queue_url=reader.required("SEND_QUEUE_URL"),
            dead_letter_queue_url=reader.required("DEAD_LETTER_QUEUE_URL"),
            ledger_table=reader.required("LEDGER_TABLE"),
            relay=relay_source_from_environ(env) if mode == "relay" or has_relay else None,
            delivery_mode=mode,
            mx=mx_delivery_from_environ(env) if mode == "mx" else None,
            reporting_mta=reader.text("REPORTING_MTA", "maildispatch.invalid"),
            content_bucket=reader.text("CONTENT_BUCKET", None),
            outbox_bucket=reader.text("OUTBOX_BUCKET", None),
            attachment_prefix=attachment_prefix(reader.text("ATTACHMENT_PREFIX", "attachments/")),
            suppression_table=reader.text("SUPPRESSION_TABLE", None),
            concurrency=reader.integer("DISPATCH_CONCURRENCY", 32, minimum=1),
            retry_schedules=retry_schedules_from_environ(reader),
            uncertain_retries=reader.choice("UNCERTAIN_POLICY", "retry-once", UNCERTAIN_POLICIES),
            delay_warning_after=reader.duration("DELAY_WARNING_AFTER", None),
            default_envelope_sender=reader.text("DEFAULT_ENVELOPE_SENDER", None),
            max_message_bytes=reader.integer("MAX_MESSAGE_BYTES", 10 * 1024 * 1024, minimum=1024),
            lease_seconds=reader.integer("CLAIM_LEASE_SECONDS", 300, minimum=1),
            queue_retention_seconds=reader.duration("SEND_QUEUE_RETENTION", 4 * 86400) or 4 * 86400,
            requeue_after_receives=reader.integer("REQUEUE_AFTER_RECEIVES", 5, minimum=1),
            verp_domain=reader.text("VERP_DOMAIN", None),
            verp_secret=reader.text("VERP_SECRET", None),
            render_timeout=reader.number("RENDER_TIMEOUT", 2.0, minimum=0.05),
            render_memory_mb=reader.integer("RENDER_MEMORY_MB", 256, minimum=32),
            render_workers=reader.integer("RENDER_WORKERS", 2, minimum=1),
            signing_secret=reader.text("SIGNING_SECRET", None),
            delivered_events=reader.flag("DELIVERED_EVENTS"),
            event_bus_name=reader.text("EVENT_BUS_NAME", "default"),
            **relay_budget_from_environ(reader),
            unsubscribe_secret=reader.text("UNSUBSCRIBE_SECRET", None),
            unsubscribe_base_url=unsubscribe_base_url(reader.text("UNSUBSCRIBE_BASE_URL", None)),
            unsubscribe_mailto=_mailto(reader.text("UNSUBSCRIBE_MAILTO", None)),
            dkim_keys=dkim_keys_from_environ(reader),
            dkim_strict=_dkim_strict(reader),
            campaign_table=reader.text("CAMPAIGN_TABLE", None),
            campaign_pause_wait_seconds=int(reader.duration("CAMPAIGN_PAUSE_WAIT", 60.0) or 60),
        )


@dataclass(frozen=True)
class DnsServers:
    """DNS_NAMESERVERS (comma-separated; empty: the system's), DNS_PORT, DNS_TIMEOUT (per try), DNS_LIFETIME
    (per lookup): the resolver of mx mode and of the campaign pre-flight check."""

    nameservers: tuple[str, ...] = ()
    port: int = 53
    timeout: float = 2.0
    lifetime: float = 5.0


_BASE_URL_RE = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?")
_LOCAL_URL_RE = re.compile(r"http://(?:127\.0\.0\.1|localhost)(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?")
_MAILTO_RE = re.compile(r"[A-Za-z0-9._+-]{1,64}@[A-Za-z0-9.-]{1,253}")


def unsubscribe_base_url(url: str | None) -> str | None:
    """RFC 8058 wants an https URI (plain http only on this machine, for local runs)."""
    if url is None:
        return None
    if not (_BASE_URL_RE.fullmatch(url) or _LOCAL_URL_RE.fullmatch(url)):
        raise SettingsError(f"UNSUBSCRIBE_BASE_URL={url!r} is not an https URL like https://mail.example.com")
    return url.rstrip("/")


def _mailto(address: str | None) -> str | None:
    if address is not None and not _MAILTO_RE.fullmatch(address):
        raise SettingsError(f"UNSUBSCRIBE_MAILTO={address!r} is not a plain ASCII address")
    return address


def relay_budget_from_environ(reader: EnvReader) -> dict[str, Any]:
    """The relay budget's settings; with a rate or a quota set, RELAY_BUDGET_TABLE is required."""
    rate = reader.optional_number("RELAY_RATE_PER_SECOND", minimum=0.001)
    quota = reader.optional_integer("RELAY_DAILY_QUOTA", minimum=1)
    burst = reader.optional_integer("RELAY_RATE_BURST", minimum=1)
    table = reader.text("RELAY_BUDGET_TABLE", None)
    if (rate is not None or quota is not None) and not table:
        raise SettingsError("RELAY_RATE_PER_SECOND/RELAY_DAILY_QUOTA need RELAY_BUDGET_TABLE (the shared budget)")
    return {
        "relay_budget_table": table,
        "budget": BudgetConfig(rate_per_second=rate, burst=burst, daily_quota=quota),
        "relay_budget_key": reader.text("RELAY_BUDGET_KEY", None),
        "budget_chunk": reader.integer("RELAY_BUDGET_CHUNK", 10, minimum=1),
        "quota_pause_seconds": reader.duration("RELAY_QUOTA_PAUSE", 3600.0) or 3600.0,
        "rate_pause_seconds": reader.duration("RELAY_RATE_PAUSE", 60.0) or 60.0,
    }


def dkim_keys_from_environ(reader: EnvReader) -> tuple[SigningDomain, ...]:
    """DKIM_KEYS (checked against DKIM_SECRETS_PREFIX when set)."""
    return parse_dkim_keys(reader.text("DKIM_KEYS", None), reader.text("DKIM_SECRETS_PREFIX", None))


def parse_dkim_keys(raw: str | None, secrets_prefix: str | None = None) -> tuple[SigningDomain, ...]:
    """DKIM_KEYS (the template's DkimKeys): a JSON object of From domain -> {"selector", "secret_arn"[,
    "ed25519_selector", "ed25519_secret_arn"]}; the secrets (names or ARNs) hold PEM private keys, and
    must be named under `secrets_prefix` when one is given. Empty or None: no signing."""
    if raw is None or not raw.strip():
        return ()
    from maildispatch.core.dkim import SigningDomain  # a stack that does not sign never loads it

    try:
        spec = json.loads(raw)
    except ValueError:
        raise SettingsError("DKIM_KEYS is not JSON: a mapping of domain -> {selector, secret_arn}") from None
    if not isinstance(spec, dict):
        raise SettingsError("DKIM_KEYS is not a JSON object of domain -> {selector, secret_arn}")
    domains = []
    for name, entry in spec.items():
        where = f"DKIM_KEYS.{name}"
        if not isinstance(entry, dict):
            raise SettingsError(f"{where} is not an object with selector and secret_arn")
        unknown = set(entry) - {"selector", "secret_arn", "ed25519_selector", "ed25519_secret_arn"}
        if unknown:
            raise SettingsError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if not all(isinstance(entry.get(key), str) and entry[key].strip() for key in ("selector", "secret_arn")):
            raise SettingsError(f"{where} needs selector and secret_arn (strings)")
        try:
            domains.append(
                SigningDomain(
                    domain=ascii_domain(str(name).strip().rstrip(".")).lower(),
                    selector=entry["selector"].strip(),
                    secret=entry["secret_arn"].strip(),
                    ed25519_selector=_optional_text(entry.get("ed25519_selector")),
                    ed25519_secret=_optional_text(entry.get("ed25519_secret_arn")),
                )
            )
        except ValueError as error:
            raise SettingsError(f"{where}: {error}") from None
    if len({d.domain for d in domains}) != len(domains):
        raise SettingsError("DKIM_KEYS names a domain twice")
    for entry in domains:
        for _, secret in entry.identities:
            if secrets_prefix and not (secret.startswith(secrets_prefix) or f":secret:{secrets_prefix}" in secret):
                raise SettingsError(
                    f"DKIM_KEYS.{entry.domain}: the secret {secret} is not named under DKIM_SECRETS_PREFIX "
                    f"{secrets_prefix!r}, so the function may not read it"
                )
    return tuple(domains)


def _optional_text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _dkim_strict(reader: EnvReader) -> bool:
    strict = reader.flag("DKIM_STRICT")
    if strict and reader.text("DKIM_KEYS", None) is None:
        raise SettingsError("DKIM_STRICT is set but DKIM_KEYS is empty: every message would be refused")
    return strict


def attachment_prefix(prefix: str) -> str:
    if (
        not prefix.endswith("/")
        or prefix.startswith("/")
        or "templates/".startswith(prefix)
        or prefix.startswith("templates/")
    ):
        raise SettingsError(
            f"ATTACHMENT_PREFIX: {prefix!r} must be a folder like 'attachments/' (ending in '/'), apart from templates/"
        )
    return prefix


def retry_schedules_from_environ(reader: EnvReader) -> dict[str, RetrySchedule]:
    """The default stream's schedule from RETRY_SCHEDULE / RETRY_MAX_AGE / RETRY_STATED_DELAY_FLOOR,
    and more streams from RETRY_STREAMS: {"campaign": {"schedule": "15m,1h,4h", "max_age": "1d"}}."""
    floor = reader.text("RETRY_STATED_DELAY_FLOOR", "60s")
    default_delays = reader.text("RETRY_SCHEDULE", "5m,10m,20m,40m,1h,2h,4h")
    default_age = reader.text("RETRY_MAX_AGE", "2d")
    schedules = {DEFAULT_STREAM: _schedule("RETRY_SCHEDULE/RETRY_MAX_AGE", default_delays, default_age, floor)}
    raw = reader.text("RETRY_STREAMS", None)
    if raw:
        try:
            streams = json.loads(raw)
            assert isinstance(streams, dict)
        except (ValueError, AssertionError):
            raise SettingsError("RETRY_STREAMS is not a JSON object of stream name -> {schedule, max_age}") from None
        for name, spec in streams.items():
            if not isinstance(spec, dict):
                raise SettingsError(f"RETRY_STREAMS.{name} is not an object with schedule and max_age")
            schedules[name] = _schedule(
                f"RETRY_STREAMS.{name}",
                str(spec.get("schedule", default_delays)),
                str(spec.get("max_age", default_age)),
                floor,
            )
    return schedules


def _schedule(where: str, delays: str, max_age: str, floor: str | None) -> RetrySchedule:
    try:
        return RetrySchedule.parse(delays, max_age, stated_delay_floor=floor)
    except ValueError as error:
        raise SettingsError(f"{where}: {error}") from None


def relay_source_from_environ(env: Mapping[str, str]) -> RelaySource:
    reader = EnvReader(env)
    ca_file = reader.text("SMTP_CA_FILE", None)
    allow_insecure = reader.flag("SMTP_ALLOW_INSECURE")
    timeout = reader.number("SMTP_TIMEOUT", 30.0, minimum=0.1)
    max_connections = reader.integer("SMTP_MAX_CONNECTIONS", 5, minimum=1)
    idle_timeout = reader.number("SMTP_IDLE_TIMEOUT", 60.0, minimum=0.1)
    chunking = reader.flag("SMTP_CHUNKING", default=True)
    if reader.text("SMTP_HOST", None):
        inline = {
            "host": reader.required("SMTP_HOST"),
            "port": reader.integer("SMTP_PORT", 587, minimum=1),
            "security": reader.text("SMTP_SECURITY", "starttls"),
            "username": reader.text("SMTP_USERNAME", None),
            "password": reader.text("SMTP_PASSWORD", None),
        }
        return RelaySource(
            inline=inline,
            ca_file=ca_file,
            allow_insecure=allow_insecure,
            timeout=timeout,
            max_connections=max_connections,
            idle_timeout=idle_timeout,
            chunking=chunking,
        )
    parameter = reader.text("RELAY_PARAMETER", None)
    if not parameter:
        raise SettingsError("no relay configured: set RELAY_PARAMETER (and RELAY_SECRET), or SMTP_HOST")
    return RelaySource(
        parameter_name=parameter,
        secret_name=reader.text("RELAY_SECRET", None),
        ca_file=ca_file,
        allow_insecure=allow_insecure,
        timeout=timeout,
        max_connections=max_connections,
        idle_timeout=idle_timeout,
        chunking=chunking,
    )


def mx_delivery_from_environ(env: Mapping[str, str]) -> MxDelivery:
    """MX_*, DNS_* and MTA_STS* variables; MX_HELO_NAME is required (the name the egress IP's PTR gives)."""
    from maildispatch.adapters.dns_resolver import ResolverSettings
    from maildispatch.adapters.mta_sts import MtaStsSettings
    from maildispatch.adapters.smtp_mx import MxSettings

    reader = EnvReader(env)
    ca_file = reader.text("MX_CA_FILE", None) or reader.text("SMTP_CA_FILE", None)
    transport = MxSettings(
        helo_name=reader.required("MX_HELO_NAME"),
        port=reader.integer("MX_PORT", 25, minimum=1),
        timeout=reader.number("MX_TIMEOUT", 30.0, minimum=0.1),
        connect_timeout=reader.number("MX_CONNECT_TIMEOUT", 10.0, minimum=0.1),
        max_connections_per_domain=reader.integer("MX_MAX_CONNECTIONS_PER_DOMAIN", 5, minimum=1),
        max_mx_hosts=reader.integer("MX_MAX_HOSTS", 5, minimum=1),
        max_addresses=reader.integer("MX_MAX_ADDRESSES", 20, minimum=1),
        allow_private_addresses=reader.flag("MX_ALLOW_PRIVATE_ADDRESSES"),
        ca_file=ca_file,
        dane=reader.flag("MX_DANE"),  # needs DNS_NAMESERVERS (or the VPC resolver) to validate DNSSEC
    )
    try:
        transport.validate()
    except ValueError as error:
        raise SettingsError(str(error)) from None
    dns = dns_servers_from_environ(reader)
    resolver = ResolverSettings(nameservers=dns.nameservers, port=dns.port, timeout=dns.timeout, lifetime=dns.lifetime)
    mta_sts = None
    if reader.text("MTA_STS", "on").lower() not in ("off", "false", "0", "no"):
        mta_sts = MtaStsSettings(ca_file=ca_file, policy_host_override=reader.text("MTA_STS_POLICY_HOST", None))
    return MxDelivery(transport=transport, resolver=resolver, mta_sts=mta_sts)


def dns_servers_from_environ(reader: EnvReader) -> DnsServers:
    nameservers = tuple(n.strip() for n in (reader.text("DNS_NAMESERVERS", "") or "").split(",") if n.strip())
    return DnsServers(
        nameservers=nameservers,
        port=reader.integer("DNS_PORT", 53, minimum=1),
        timeout=reader.number("DNS_TIMEOUT", 2.0, minimum=0.05),
        lifetime=reader.number("DNS_LIFETIME", 5.0, minimum=0.05),
    )


_N = TypeVar("_N", int, float)


class EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    @overload
    def text(self, name: str, default: str) -> str: ...

    @overload
    def text(self, name: str, default: None) -> str | None: ...

    def text(self, name: str, default: str | None) -> str | None:
        value = self._env.get(name, "").strip()
        return value if value else default

    def required(self, name: str) -> str:
        value = self.text(name, None)
        if value is None:
            raise SettingsError(f"{name} is not set")
        return value

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        return self._bounded(name, default, minimum, int, "a whole number")

    def number(self, name: str, default: float, *, minimum: float) -> float:
        return self._bounded(name, default, minimum, float, "a number")

    def _bounded(self, name: str, default: _N, minimum: _N, parse: Callable[[str], _N], what: str) -> _N:
        raw = self.text(name, None)
        if raw is None:
            return default
        try:
            value = parse(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not {what}") from None
        if value < minimum:
            raise SettingsError(f"{name}={value} is below the minimum {minimum}")
        return value

    def optional_number(self, name: str, *, minimum: float) -> float | None:
        """A number, or None when unset or "off"."""
        raw = self.text(name, None)
        if raw is None or raw.lower() in ("off", "none"):
            return None
        return self.number(name, 0.0, minimum=minimum)

    def optional_integer(self, name: str, *, minimum: int) -> int | None:
        raw = self.text(name, None)
        if raw is None or raw.lower() in ("off", "none"):
            return None
        return self.integer(name, 0, minimum=minimum)

    def duration(self, name: str, default: float | None) -> float | None:
        raw = self.text(name, None)
        if raw is None or raw.lower() in ("off", "none"):
            return default if raw is None else None
        try:
            return parse_duration(raw)
        except ValueError as error:
            raise SettingsError(f"{name}: {error}") from None

    def choice(self, name: str, default: str, choices: Mapping[str, Any]) -> Any:
        raw = self.text(name, default) or default
        if raw not in choices:
            raise SettingsError(f"{name}={raw!r} is not one of {', '.join(choices)}")
        return choices[raw]

    def flag(self, name: str, *, default: bool = False) -> bool:
        raw = (self.text(name, "") or "").lower()
        if raw == "":
            return default
        if raw in ("0", "false", "no", "off"):
            return False
        if raw in ("1", "true", "yes", "on"):
            return True
        raise SettingsError(f"{name}={raw!r} is not a boolean (true/false)")
