"""The HTTP API function's settings: messages, campaigns and the unsubscribe endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from maildispatch.runtime.settings import EnvReader, SettingsError, attachment_prefix


@dataclass(frozen=True)
class ApiSettings:
    """The HTTP API function's settings."""

    send_queue_url: str
    ledger_table: str
    idempotency_table: str
    content_bucket: str | None = None  # attachments are uploaded here (pre-signed PUT); unset: no uploads
    attachment_prefix: str = "attachments/"
    idempotency_seconds: int = 24 * 3600  # IDEMPOTENCY_TTL: how long an Idempotency-Key's response is kept
    max_upload_bytes: int = 10 * 1024 * 1024  # = the dispatch function's MAX_MESSAGE_BYTES
    upload_expires_seconds: int = 900

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> ApiSettings:
        reader = EnvReader(env)
        ttl = reader.duration("IDEMPOTENCY_TTL", 24 * 3600.0) or 24 * 3600.0
        if ttl < 60:
            raise SettingsError(f"IDEMPOTENCY_TTL={ttl:g}s is below the minimum of 60 s")
        return cls(
            send_queue_url=reader.required("SEND_QUEUE_URL"),
            ledger_table=reader.required("LEDGER_TABLE"),
            idempotency_table=reader.required("IDEMPOTENCY_TABLE"),
            content_bucket=reader.text("CONTENT_BUCKET", None),
            attachment_prefix=attachment_prefix(reader.text("ATTACHMENT_PREFIX", "attachments/")),
            idempotency_seconds=int(ttl),
            max_upload_bytes=reader.integer("MAX_MESSAGE_BYTES", 10 * 1024 * 1024, minimum=1024),
            upload_expires_seconds=reader.integer("UPLOAD_URL_SECONDS", 900, minimum=60),
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
        reader = EnvReader(env)
        return cls(
            campaign_table=reader.required("CAMPAIGN_TABLE"),
            fanout_queue_url=reader.required("FANOUT_QUEUE_URL"),
            ledger_table=reader.required("LEDGER_TABLE"),
            event_bus_name=reader.text("EVENT_BUS_NAME", "default"),
            fanout_queue_arn=reader.text("FANOUT_QUEUE_ARN", None),
            schedule_group=reader.text("CAMPAIGN_SCHEDULE_GROUP", None),
            scheduler_role_arn=reader.text("CAMPAIGN_SCHEDULER_ROLE_ARN", None),
        )


@dataclass(frozen=True)
class UnsubscribeSettings:
    """The unsubscribe endpoint's settings (runtime/api_unsubscribe.py), read by the HTTP API function."""

    suppression_table: str
    unsubscribe_secret: str
    event_bus_name: str = "default"
    campaign_table: str | None = None  # CAMPAIGN_TABLE: an unsubscribe counts toward its campaign's status

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> UnsubscribeSettings:
        reader = EnvReader(env)
        return cls(
            suppression_table=reader.required("SUPPRESSION_TABLE"),
            unsubscribe_secret=reader.required("UNSUBSCRIBE_SECRET"),
            event_bus_name=reader.text("EVENT_BUS_NAME", "default") or "default",
            campaign_table=reader.text("CAMPAIGN_TABLE", None),
        )
