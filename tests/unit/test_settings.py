"""Settings are read once from the environment, with errors that name the variable."""
import pytest

from maildispatch.settings import DispatchSettings, SettingsError

BASE = {"SEND_QUEUE_URL": "q", "DEAD_LETTER_QUEUE_URL": "dlq", "LEDGER_TABLE": "t"}


def test_relay_from_ssm_and_secrets_manager_by_default():
    settings = DispatchSettings.from_environ({**BASE, "RELAY_PARAMETER": "/md/relay", "RELAY_SECRET": "md/relay"})
    assert (settings.relay.parameter_name, settings.relay.secret_name, settings.relay.inline) == ("/md/relay", "md/relay", None)


def test_relay_inline_for_local_runs():
    settings = DispatchSettings.from_environ({**BASE, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "2525", "SMTP_SECURITY": "tls"})
    assert settings.relay.inline["port"] == 2525 and settings.relay.inline["security"] == "tls"


def test_retry_schedule_from_the_environment():
    settings = DispatchSettings.from_environ({**BASE, "SMTP_HOST": "h", "MAX_ATTEMPTS": "3", "RETRY_BASE_SECONDS": "1"})
    assert settings.retry.max_attempts == 3 and settings.retry.base_seconds == 1


@pytest.mark.parametrize(
    "env, named",
    [
        ({k: v for k, v in BASE.items() if k != "LEDGER_TABLE"} | {"SMTP_HOST": "h"}, "LEDGER_TABLE"),
        ({**BASE}, "RELAY_PARAMETER"),
        ({**BASE, "SMTP_HOST": "h", "MAX_ATTEMPTS": "many"}, "MAX_ATTEMPTS"),
        ({**BASE, "SMTP_HOST": "h", "DISPATCH_CONCURRENCY": "0"}, "DISPATCH_CONCURRENCY"),
        ({**BASE, "SMTP_HOST": "h", "SMTP_ALLOW_INSECURE": "perhaps"}, "SMTP_ALLOW_INSECURE"),
    ],
)
def test_a_bad_setting_is_an_error_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        DispatchSettings.from_environ(env)
