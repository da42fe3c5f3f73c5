"""DELIVERY_MODE and the direct-to-MX settings, read from the environment with errors naming the variable."""

import pytest

from maildispatch.runtime.settings import DispatchSettings, SettingsError
from maildispatch.runtime.settings_bounce import BounceFunctionSettings

BASE = {"SEND_QUEUE_URL": "q", "DEAD_LETTER_QUEUE_URL": "dlq", "LEDGER_TABLE": "t"}
MX = {**BASE, "DELIVERY_MODE": "mx", "MX_HELO_NAME": "out.example.com"}


def test_relay_mode_is_the_default_and_has_no_mx_settings():
    settings = DispatchSettings.from_environ({**BASE, "SMTP_HOST": "127.0.0.1"})
    assert settings.delivery_mode == "relay" and settings.mx is None and settings.relay is not None


def test_mx_mode_needs_no_relay_and_has_safe_defaults():
    settings = DispatchSettings.from_environ(MX)
    assert settings.delivery_mode == "mx" and settings.relay is None
    assert settings.mx is not None
    transport = settings.mx.transport
    assert (transport.helo_name, transport.port, transport.max_connections_per_domain) == ("out.example.com", 25, 5)
    assert (transport.max_mx_hosts, transport.max_addresses, transport.allow_private_addresses) == (5, 20, False)
    assert settings.mx.resolver.nameservers == ()  # the system's resolver
    assert settings.mx.mta_sts is not None and settings.mx.mta_sts.policy_host_override is None


def test_mx_mode_for_tests_points_at_local_servers():
    settings = DispatchSettings.from_environ(
        {
            **MX,
            "MX_PORT": "2525",
            "MX_ALLOW_PRIVATE_ADDRESSES": "true",
            "DNS_NAMESERVERS": "127.0.0.1, 127.0.0.53",
            "DNS_PORT": "5353",
            "MTA_STS_POLICY_HOST": "127.0.0.1:8443",
            "SMTP_CA_FILE": "/tmp/ca.pem",
        }
    )
    assert settings.mx is not None
    assert settings.mx.transport.port == 2525 and settings.mx.transport.allow_private_addresses
    assert settings.mx.transport.ca_file == "/tmp/ca.pem"
    assert (settings.mx.resolver.nameservers, settings.mx.resolver.port) == (("127.0.0.1", "127.0.0.53"), 5353)
    assert settings.mx.mta_sts is not None and settings.mx.mta_sts.policy_host_override == "127.0.0.1:8443"
    assert DispatchSettings.from_environ({**MX, "MTA_STS": "off"}).mx.mta_sts is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({**BASE, "DELIVERY_MODE": "smtp"}, "DELIVERY_MODE"),
        ({**BASE, "DELIVERY_MODE": "mx"}, "MX_HELO_NAME"),
        ({**MX, "MX_HELO_NAME": "localhost"}, "MX_HELO_NAME"),
        ({**MX, "MX_PORT": "0"}, "MX_PORT"),
    ],
)
def test_bad_mx_settings_are_refused_naming_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        DispatchSettings.from_environ(env)


# -- the bounce function: DSNs by MX in mx mode -------------------------------------------------

BOUNCE_MX = {"DELIVERY_MODE": "mx", "MX_HELO_NAME": "out.example.com"}


def test_the_bounce_function_in_relay_mode_needs_a_relay_and_keeps_every_dsn_until_delivered():
    settings = BounceFunctionSettings.from_environ({"SMTP_HOST": "127.0.0.1"})
    assert settings.delivery_mode == "relay" and settings.mx is None and settings.relay is not None
    assert settings.dsn_max_age is None
    with pytest.raises(SettingsError, match="no relay configured"):
        BounceFunctionSettings.from_environ({})


def test_the_bounce_function_in_mx_mode_needs_no_relay_and_gives_up_a_deferred_dsn_after_two_days():
    settings = BounceFunctionSettings.from_environ(BOUNCE_MX)
    assert settings.delivery_mode == "mx" and settings.relay is None
    assert settings.mx is not None and settings.mx.transport.helo_name == "out.example.com"
    assert settings.dsn_max_age == 2 * 86400
    assert BounceFunctionSettings.from_environ({**BOUNCE_MX, "DSN_MAX_AGE": "6h"}).dsn_max_age == 6 * 3600


def test_the_bounce_function_reads_the_same_mx_settings_as_the_dispatch_function():
    env = {**MX, "MX_PORT": "2525", "MX_ALLOW_PRIVATE_ADDRESSES": "true", "DNS_NAMESERVERS": "127.0.0.1"}
    env |= {"DNS_PORT": "5353", "MTA_STS": "off", "MX_DANE": "true"}
    assert BounceFunctionSettings.from_environ(env).mx == DispatchSettings.from_environ(env).mx


@pytest.mark.parametrize(
    ("env", "names"),
    [({"DELIVERY_MODE": "mx"}, "MX_HELO_NAME"), ({**BOUNCE_MX, "DSN_MAX_AGE": "soon"}, "DSN_MAX_AGE")],
)
def test_bad_bounce_mx_settings_are_refused_naming_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        BounceFunctionSettings.from_environ(env)
