"""Typed settings, read once at the edge from the function's environment.

The core never reads environment variables; handlers call `DispatchSettings.from_environ`
or `BounceSettings.from_environ` once per container and pass the result in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, overload

from maildispatch.adapters.aws import RelaySource
from maildispatch.core.retry import DEFAULT_STREAM, RetrySchedule, parse_duration


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


UNCERTAIN_POLICIES = {
    # how many more times a recipient whose submission ended uncertain is sent again
    "retry-once": 1,  # default: one more attempt with the same Message-ID, so a receiver can de-duplicate
    "retry": 1_000_000,  # like a transient failure (most MTAs do this; duplicates possible)
    "give-up": 0,  # never again: no duplicate, but the message may be lost
}


@dataclass(frozen=True)
class DispatchSettings:
    send_queue_url: str
    dead_letter_queue_url: str
    ledger_table: str
    relay: RelaySource
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
    campaign_table: str | None = None  # CAMPAIGN_TABLE: campaign recipients are gated by their campaign's state
    campaign_pause_wait_seconds: int = 60  # CAMPAIGN_PAUSE_WAIT: how often a paused campaign's record asks again

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> DispatchSettings:
        reader = _EnvReader(env)
        return cls(
            send_queue_url=reader.required("SEND_QUEUE_URL"),
            dead_letter_queue_url=reader.required("DEAD_LETTER_QUEUE_URL"),
            ledger_table=reader.required("LEDGER_TABLE"),
            relay=relay_source_from_environ(env),
            reporting_mta=reader.text("REPORTING_MTA", "maildispatch.invalid"),
            content_bucket=reader.text("CONTENT_BUCKET", None),
            outbox_bucket=reader.text("OUTBOX_BUCKET", None),
            attachment_prefix=_attachment_prefix(reader.text("ATTACHMENT_PREFIX", "attachments/")),
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
            campaign_table=reader.text("CAMPAIGN_TABLE", None),
            campaign_pause_wait_seconds=int(reader.duration("CAMPAIGN_PAUSE_WAIT", 60.0) or 60),
        )


@dataclass(frozen=True)
class FanoutSettings:
    """The fan-out function: a campaign's list to send requests (runtime/fanout_function.py)."""

    campaign_table: str
    send_queue_url: str
    fanout_queue_url: str
    ledger_table: str
    suppression_table: str | None = None
    event_bus_name: str = "default"
    group_batches: int = 10  # SendMessageBatch calls between two checkpoints (10 recipients each)
    finish_poll_seconds: int = 60  # how often a fully read campaign counts what is still pending
    read_bytes: int = 1024 * 1024
    reserve_seconds: float = 20.0  # FANOUT_RESERVE: a run stops (and continues) with this much time left

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> FanoutSettings:
        reader = _EnvReader(env)
        return cls(
            campaign_table=reader.required("CAMPAIGN_TABLE"),
            send_queue_url=reader.required("SEND_QUEUE_URL"),
            fanout_queue_url=reader.required("FANOUT_QUEUE_URL"),
            ledger_table=reader.required("LEDGER_TABLE"),
            suppression_table=reader.text("SUPPRESSION_TABLE", None),
            event_bus_name=reader.text("EVENT_BUS_NAME", "default"),
            group_batches=reader.integer("FANOUT_GROUP_BATCHES", 10, minimum=1),
            finish_poll_seconds=int(reader.duration("FANOUT_FINISH_POLL", 60.0) or 60),
            read_bytes=reader.integer("FANOUT_READ_BYTES", 1024 * 1024, minimum=4096),
            reserve_seconds=reader.duration("FANOUT_RESERVE", 20.0) or 20.0,
        )


@dataclass(frozen=True)
class CampaignApiSettings:
    """What the campaign routes of the HTTP API need (runtime/api_campaigns.py)."""

    campaign_table: str
    fanout_queue_url: str
    ledger_table: str
    event_bus_name: str = "default"
    fanout_queue_arn: str | None = None  # with the two below: starts over 15 minutes away go through a schedule
    schedule_group: str | None = None
    scheduler_role_arn: str | None = None

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> CampaignApiSettings:
        reader = _EnvReader(env)
        return cls(
            campaign_table=reader.required("CAMPAIGN_TABLE"),
            fanout_queue_url=reader.required("FANOUT_QUEUE_URL"),
            ledger_table=reader.required("LEDGER_TABLE"),
            event_bus_name=reader.text("EVENT_BUS_NAME", "default"),
            fanout_queue_arn=reader.text("FANOUT_QUEUE_ARN", None),
            schedule_group=reader.text("CAMPAIGN_SCHEDULE_GROUP", None),
            scheduler_role_arn=reader.text("CAMPAIGN_SCHEDULER_ROLE_ARN", None),
        )


def _attachment_prefix(prefix: str) -> str:
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


def retry_schedules_from_environ(reader: _EnvReader) -> dict[str, RetrySchedule]:
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


@dataclass(frozen=True)
class BounceFunctionSettings:
    ledger_table: str | None
    dead_letter_queue_url: str | None  # the queue this function reads: reports that must wait change its visibility
    suppression_table: str | None
    relay: RelaySource
    reporting_mta: str
    postmaster: str
    event_bus_name: str = "default"
    default_envelope_sender: str | None = None
    signing_secret: str | None = None  # verifies the reports on the dead-letter queue; unset: none is trusted
    campaign_table: str | None = None  # CAMPAIGN_TABLE: complaints count toward their campaign's health

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> BounceFunctionSettings:
        reader = _EnvReader(env)
        reporting_mta = reader.text("REPORTING_MTA", "maildispatch.invalid")
        return cls(
            ledger_table=reader.text("LEDGER_TABLE", None),
            dead_letter_queue_url=reader.text("DEAD_LETTER_QUEUE_URL", None),
            suppression_table=reader.text("SUPPRESSION_TABLE", None),
            relay=relay_source_from_environ(env),
            reporting_mta=reporting_mta,
            postmaster=reader.text("POSTMASTER_ADDRESS", None) or f"MAILER-DAEMON@{reporting_mta}",
            event_bus_name=reader.text("EVENT_BUS_NAME", "default"),
            default_envelope_sender=reader.text("DEFAULT_ENVELOPE_SENDER", None),
            signing_secret=reader.text("SIGNING_SECRET", None),
            campaign_table=reader.text("CAMPAIGN_TABLE", None),
        )


@dataclass(frozen=True)
class ReturnedFunctionSettings:
    ledger_table: str
    dead_letter_queue_url: str
    verp_secret: str | None
    event_bus_name: str = "default"
    signing_secret: str | None = None  # signs the reports it writes to the dead-letter queue

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> ReturnedFunctionSettings:
        reader = _EnvReader(env)
        return cls(
            ledger_table=reader.required("LEDGER_TABLE"),
            dead_letter_queue_url=reader.required("DEAD_LETTER_QUEUE_URL"),
            verp_secret=reader.text("VERP_SECRET", None),
            event_bus_name=reader.text("EVENT_BUS_NAME", "default") or "default",
            signing_secret=reader.text("SIGNING_SECRET", None),
        )


def relay_source_from_environ(env: Mapping[str, str]) -> RelaySource:
    reader = _EnvReader(env)
    ca_file = reader.text("SMTP_CA_FILE", None)
    allow_insecure = reader.flag("SMTP_ALLOW_INSECURE")
    timeout = reader.number("SMTP_TIMEOUT", 30.0, minimum=0.1)
    max_connections = reader.integer("SMTP_MAX_CONNECTIONS", 5, minimum=1)
    idle_timeout = reader.number("SMTP_IDLE_TIMEOUT", 60.0, minimum=0.1)
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
    )


class _EnvReader:
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
        raw = self.text(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not a whole number") from None
        if value < minimum:
            raise SettingsError(f"{name}={value} is below the minimum {minimum}")
        return value

    def number(self, name: str, default: float, *, minimum: float) -> float:
        raw = self.text(name, None)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not a number") from None
        if value < minimum:
            raise SettingsError(f"{name}={value} is below the minimum {minimum}")
        return value

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

    def flag(self, name: str) -> bool:
        raw = (self.text(name, "") or "").lower()
        if raw in ("", "0", "false", "no", "off"):
            return False
        if raw in ("1", "true", "yes", "on"):
            return True
        raise SettingsError(f"{name}={raw!r} is not a boolean (true/false)")
