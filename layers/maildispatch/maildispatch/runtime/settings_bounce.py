"""The settings of the functions that report: the bounce function (reports to DSNs and events) and the
returned-mail function (mail and notifications that come back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maildispatch.runtime.settings import (
    DELIVERY_MODES,
    EnvReader,
    MxDelivery,
    SettingsError,
    dkim_keys_from_environ,
    mx_delivery_from_environ,
    relay_source_from_environ,
)

if TYPE_CHECKING:
    from maildispatch.adapters.aws import RelaySource
    from maildispatch.core.dkim import SigningDomain

# How long the bounce function in mx mode retries a DSN the sender's MX keeps deferring: Exim's default
# ignore_bounce_errors_after (Postfix's bounce_queue_lifetime is 5 days); then it is dropped and counted.
DSN_MAX_AGE_MX = 2 * 86400.0


@dataclass(frozen=True)
class BounceFunctionSettings:
    ledger_table: str | None
    dead_letter_queue_url: str | None  # the queue this function reads: reports that must wait change its visibility
    suppression_table: str | None
    relay: RelaySource | None  # required in relay mode; in mx mode only if configured (and unused)
    reporting_mta: str
    postmaster: str
    event_bus_name: str = "default"
    default_envelope_sender: str | None = None
    signing_secret: str | None = None  # verifies the reports on the dead-letter queue; unset: none is trusted
    dkim_keys: tuple[SigningDomain, ...] = ()  # DKIM_KEYS: DSNs from a domain with a key are signed
    campaign_table: str | None = None  # CAMPAIGN_TABLE: complaints count toward their campaign's health
    delivery_mode: str = "relay"  # DELIVERY_MODE: DSNs to the relay, or (mx) to the sender domain's MX
    mx: MxDelivery | None = None  # set in mx mode: the same MX_*, DNS_* and MTA_STS settings as dispatch
    dsn_max_age: float | None = None  # DSN_MAX_AGE: a DSN still deferred after this is dropped (mx mode: 2d)

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> BounceFunctionSettings:
        reader = EnvReader(env)
        reporting_mta = reader.text("REPORTING_MTA", "maildispatch.invalid")
        mode = reader.choice("DELIVERY_MODE", "relay", DELIVERY_MODES)
        has_relay = bool(reader.text("SMTP_HOST", None) or reader.text("RELAY_PARAMETER", None))
        return cls(
            ledger_table=reader.text("LEDGER_TABLE", None),
            dead_letter_queue_url=reader.text("DEAD_LETTER_QUEUE_URL", None),
            suppression_table=reader.text("SUPPRESSION_TABLE", None),
            relay=relay_source_from_environ(env) if mode == "relay" or has_relay else None,
            delivery_mode=mode,
            mx=mx_delivery_from_environ(env) if mode == "mx" else None,
            dsn_max_age=reader.duration("DSN_MAX_AGE", DSN_MAX_AGE_MX if mode == "mx" else None),
            reporting_mta=reporting_mta,
            postmaster=reader.text("POSTMASTER_ADDRESS", None) or f"MAILER-DAEMON@{reporting_mta}",
            event_bus_name=reader.text("EVENT_BUS_NAME", "default"),
            default_envelope_sender=reader.text("DEFAULT_ENVELOPE_SENDER", None),
            signing_secret=reader.text("SIGNING_SECRET", None),
            dkim_keys=dkim_keys_from_environ(reader),
            campaign_table=reader.text("CAMPAIGN_TABLE", None),
        )


@dataclass(frozen=True)
class ReturnedFunctionSettings:
    ledger_table: str
    dead_letter_queue_url: str
    verp_secret: str | None
    event_bus_name: str = "default"
    signing_secret: str | None = None  # signs the reports it writes to the dead-letter queue
    # The SNS topic SES notifications must come from (TopicArn of the signed envelope); None: any topic.
    ses_notification_topic_arn: str | None = None
    # Tests only: a loopback host[:port] also allowed in SigningCertURL, beside sns.<region>.amazonaws.com.
    sns_signing_cert_test_host: str | None = None

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> ReturnedFunctionSettings:
        reader = EnvReader(env)
        test_host = reader.text("SNS_SIGNING_CERT_TEST_HOST", None)
        if test_host is not None:  # tests only: the module is not loaded for it otherwise
            from maildispatch.core.sns_signature import is_loopback_host

            if not is_loopback_host(test_host):
                raise SettingsError(
                    f"SNS_SIGNING_CERT_TEST_HOST={test_host!r}: only a loopback host[:port] (tests) may be added"
                )
        return cls(
            ledger_table=reader.required("LEDGER_TABLE"),
            dead_letter_queue_url=reader.required("DEAD_LETTER_QUEUE_URL"),
            verp_secret=reader.text("VERP_SECRET", None),
            event_bus_name=reader.text("EVENT_BUS_NAME", "default") or "default",
            signing_secret=reader.text("SIGNING_SECRET", None),
            ses_notification_topic_arn=reader.text("SES_NOTIFICATION_TOPIC_ARN", None),
            sns_signing_cert_test_host=test_host,
        )
