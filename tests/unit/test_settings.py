"""Settings are read once from the environment, with errors that name the variable."""

import pytest

from maildispatch.core.retry import RetrySchedule
from maildispatch.runtime.settings import DispatchSettings, SettingsError

BASE = {"SEND_QUEUE_URL": "q", "DEAD_LETTER_QUEUE_URL": "dlq", "LEDGER_TABLE": "t"}
LOCAL = {**BASE, "SMTP_HOST": "127.0.0.1"}


def test_relay_from_ssm_and_secrets_manager_by_default():
    settings = DispatchSettings.from_environ({**BASE, "RELAY_PARAMETER": "/md/relay", "RELAY_SECRET": "md/relay"})
    assert (settings.relay.parameter_name, settings.relay.secret_name, settings.relay.inline) == (
        "/md/relay",
        "md/relay",
        None,
    )


def test_relay_inline_for_local_runs():
    settings = DispatchSettings.from_environ({**LOCAL, "SMTP_PORT": "2525", "SMTP_SECURITY": "tls"})
    assert settings.relay.inline["port"] == 2525 and settings.relay.inline["security"] == "tls"


def test_warm_relay_connections_are_closed_after_a_minute_idle_unless_configured():
    assert DispatchSettings.from_environ(LOCAL).relay.idle_timeout == 60.0
    assert DispatchSettings.from_environ({**LOCAL, "SMTP_IDLE_TIMEOUT": "5"}).relay.idle_timeout == 5.0
    with pytest.raises(SettingsError, match="SMTP_IDLE_TIMEOUT"):
        DispatchSettings.from_environ({**LOCAL, "SMTP_IDLE_TIMEOUT": "0"})


def test_bdat_is_used_where_the_relay_offers_chunking_unless_smtp_chunking_is_false():
    from maildispatch.adapters.aws import fetch_relay_settings

    assert fetch_relay_settings(DispatchSettings.from_environ(LOCAL).relay).chunking is True
    off = DispatchSettings.from_environ({**LOCAL, "SMTP_CHUNKING": "false"}).relay
    assert fetch_relay_settings(off).chunking is False
    with pytest.raises(SettingsError, match="SMTP_CHUNKING"):
        DispatchSettings.from_environ({**LOCAL, "SMTP_CHUNKING": "maybe"})


def test_the_default_retry_schedule_is_mta_like():
    settings = DispatchSettings.from_environ(LOCAL)
    assert settings.retry_schedules["transactional"] == RetrySchedule.parse(
        "5m,10m,20m,40m,1h,2h,4h", "2d", stated_delay_floor="60s"
    )
    assert settings.uncertain_retries == 1 and settings.delay_warning_after is None


def test_schedules_per_stream_from_the_environment():
    settings = DispatchSettings.from_environ(
        {
            **LOCAL,
            "RETRY_SCHEDULE": "1s,2s",
            "RETRY_MAX_AGE": "30s",
            "RETRY_STREAMS": '{"campaign": {"schedule": "15m,1h", "max_age": "1d"}}',
        }
    )
    assert settings.retry_schedules["transactional"].delays == (1, 2)
    assert (
        settings.retry_schedules["campaign"].delays == (900, 3600)
        and settings.retry_schedules["campaign"].max_age_seconds == 86400
    )


def test_uncertain_policy_and_delay_warnings():
    settings = DispatchSettings.from_environ({**LOCAL, "UNCERTAIN_POLICY": "give-up", "DELAY_WARNING_AFTER": "4h"})
    assert settings.uncertain_retries == 0 and settings.delay_warning_after == 4 * 3600
    assert DispatchSettings.from_environ({**LOCAL, "DELAY_WARNING_AFTER": "off"}).delay_warning_after is None


def test_the_relay_budget_is_off_unless_a_rate_or_a_quota_is_set():
    assert not DispatchSettings.from_environ({**LOCAL, "RELAY_BUDGET_TABLE": "b"}).budget.enabled
    off = {**LOCAL, "RELAY_BUDGET_TABLE": "b", "RELAY_RATE_PER_SECOND": "off", "RELAY_DAILY_QUOTA": "off"}
    assert not DispatchSettings.from_environ(off).budget.enabled


def test_a_rate_and_a_quota_from_the_environment():
    settings = DispatchSettings.from_environ(
        {
            **LOCAL,
            "RELAY_BUDGET_TABLE": "budget",
            "RELAY_RATE_PER_SECOND": "14",
            "RELAY_DAILY_QUOTA": "500",
            "RELAY_QUOTA_PAUSE": "2h",
            "RELAY_RATE_PAUSE": "30s",
        }
    )
    assert (settings.budget.rate_per_second, settings.budget.burst_size, settings.budget.daily_quota) == (14, 14, 500)
    assert (settings.relay_budget_table, settings.quota_pause_seconds, settings.rate_pause_seconds) == (
        "budget",
        7200,
        30,
    )


@pytest.mark.parametrize(
    "env, named",
    [
        ({k: v for k, v in BASE.items() if k != "LEDGER_TABLE"} | {"SMTP_HOST": "h"}, "LEDGER_TABLE"),
        ({**BASE}, "RELAY_PARAMETER"),
        ({**LOCAL, "RETRY_SCHEDULE": "soon"}, "RETRY_SCHEDULE"),
        ({**LOCAL, "RETRY_STREAMS": "[1]"}, "RETRY_STREAMS"),
        ({**LOCAL, "RETRY_STREAMS": '{"campaign": {"schedule": "x"}}'}, "RETRY_STREAMS.campaign"),
        ({**LOCAL, "UNCERTAIN_POLICY": "maybe"}, "UNCERTAIN_POLICY"),
        ({**LOCAL, "DELAY_WARNING_AFTER": "later"}, "DELAY_WARNING_AFTER"),
        ({**LOCAL, "DISPATCH_CONCURRENCY": "0"}, "DISPATCH_CONCURRENCY"),
        ({**LOCAL, "SMTP_ALLOW_INSECURE": "perhaps"}, "SMTP_ALLOW_INSECURE"),
        ({**LOCAL, "RELAY_RATE_PER_SECOND": "14"}, "RELAY_BUDGET_TABLE"),
        ({**LOCAL, "RELAY_BUDGET_TABLE": "b", "RELAY_RATE_PER_SECOND": "fast"}, "RELAY_RATE_PER_SECOND"),
        ({**LOCAL, "RELAY_BUDGET_TABLE": "b", "RELAY_DAILY_QUOTA": "0"}, "RELAY_DAILY_QUOTA"),
        ({**LOCAL, "RELAY_QUOTA_PAUSE": "later"}, "RELAY_QUOTA_PAUSE"),
        ({**LOCAL, "UNSUBSCRIBE_BASE_URL": "http://mail.example.com"}, "UNSUBSCRIBE_BASE_URL"),
        ({**LOCAL, "UNSUBSCRIBE_MAILTO": "Unsubscribe <u@example.com>"}, "UNSUBSCRIBE_MAILTO"),
    ],
)
def test_a_bad_setting_is_an_error_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        DispatchSettings.from_environ(env)


def test_no_settings_repr_holds_the_smtp_password_or_the_verp_key():
    """Issue 9: a logged settings object must not leak the relay password or the VERP signing key."""
    from maildispatch.adapters.aws import fetch_relay_settings
    from maildispatch.services.dispatch import DispatchPolicy, VerpPolicy
    from maildispatch.services.returned_mail import ReturnedMailService

    settings = DispatchSettings.from_environ(
        {**LOCAL, "SMTP_SECURITY": "tls", "SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "hunter2-password"}
    )
    relay = fetch_relay_settings(settings.relay)
    policy = DispatchPolicy(reporting_mta="mx.example", verp=VerpPolicy("bounces.example", b"verp-key-material"))
    service = ReturnedMailService(index=None, dead_letters=None, publisher=None, verp_secret=b"verp-key-material")

    assert relay.password == "hunter2-password"  # it is there, just not shown
    for shown in (repr(settings), repr(settings.relay), repr(relay), repr(policy), repr(service)):
        assert "hunter2" not in shown and "verp-key-material" not in shown


def test_smtp_ca_file_adds_a_trust_anchor_to_the_system_cas(tmp_path):
    """Issue 9: SMTP_CA_FILE replaced the system CAs, where the docs say it adds one."""
    import ssl

    from maildispatch.adapters.smtp_relay import client_tls_context
    from tests.stack.certs import make_certificates

    ca_file = str(make_certificates(tmp_path).ca_file)
    system = ssl.create_default_context().cert_store_stats()["x509_ca"]

    assert system > 0
    assert client_tls_context(ca_file).cert_store_stats()["x509_ca"] == system + 1
    assert client_tls_context(None).cert_store_stats()["x509_ca"] == system
