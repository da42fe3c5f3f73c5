"""The fan-out function's pre-flight sender check over dnspython, against the DNS test server on loopback:
the function's own settings (DNS_NAMESERVERS, DNS_PORT, RELAY_HOST, UNSUBSCRIBE_BASE_URL) build it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from maildispatch.runtime.fanout_function import FanoutFunction
from maildispatch.runtime.settings import FanoutSettings
from tests.stack.campaign_chaos import sender_dns
from tests.stack.dns_server import DnsServer

DOMAIN = "shop.example.com"


def function_for(dns: DnsServer, **env: str) -> FanoutFunction:
    environ = {
        "CAMPAIGN_TABLE": "campaigns",
        "SEND_QUEUE_URL": "http://127.0.0.1:1/send",
        "FANOUT_QUEUE_URL": "http://127.0.0.1:1/fanout",
        "LEDGER_TABLE": "ledger",
        "RELAY_HOST": "smtp.gmail.com",
        "UNSUBSCRIBE_BASE_URL": "https://mail.shop.example.com",
        "DNS_NAMESERVERS": dns.host,
        "DNS_PORT": str(dns.port),
        "DNS_TIMEOUT": "0.3",
        "DNS_LIFETIME": "1",
        **env,
    }
    return FanoutFunction(FanoutSettings.from_environ(environ))


def test_the_function_checks_the_from_domain_with_its_settings_and_a_broken_one_fails_with_why():
    with DnsServer(sender_dns(DOMAIN)) as dns:
        preflight = function_for(dns).preflight()
        assert preflight is not None
        result = asyncio.run(preflight.check(DOMAIN, stream=None))
        assert result.passed and not result.dns_failed, result.lines
        statuses = {line.check: line.status for line in result.lines}
        assert statuses == {
            "spf": "ok",
            "dkim": "skipped",  # no DKIM_KEYS for the domain
            "dmarc": "ok",
            "alignment": "ok",
            "ptr": "skipped",  # relay mode
            "unsubscribe": "ok",
        }
        dns.replace(DOMAIN, "TXT", ["v=spf1 include:amazonses.com -all"])  # SES's include, but the relay is Gmail
        result = asyncio.run(preflight.check(DOMAIN, stream="news"))
        assert not result.passed and not result.transient
        assert result.reason() == (
            f"sender check of {DOMAIN} failed: spf: {DOMAIN} does not include _spf.google.com: "
            f"not found in {DOMAIN}'s record"
        )


def test_servfail_is_no_verdict_and_the_run_is_retried_not_paused():
    with DnsServer(sender_dns(DOMAIN), servfail={f"_dmarc.{DOMAIN}"}) as dns:
        result = asyncio.run(function_for(dns).preflight().check(DOMAIN))
        assert not result.passed and result.dns_failed and result.transient


def test_preflight_off_builds_no_check_and_dnspython_is_not_loaded_until_a_run_needs_it():
    with DnsServer(sender_dns(DOMAIN)) as dns:
        assert function_for(dns, PREFLIGHT="off").preflight() is None
    probe = "import sys, maildispatch.runtime.fanout_function; print('dns' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ, check=True)
    assert loaded.stdout.strip() == "False", loaded.stderr
