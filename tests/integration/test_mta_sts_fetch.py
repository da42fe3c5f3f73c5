"""MTA-STS policies fetched over HTTPS from a test server, cached for max_age, refetched when the id changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from maildispatch.adapters.dns_resolver import DnsResolver, ResolverSettings
from maildispatch.adapters.mta_sts import MtaStsPolicies, MtaStsSettings
from tests.stack.dns_server import DnsServer
from tests.stack.mta_sts_server import PolicyServer, policy_text


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path: Path):
    zone = {"a.test": [("MX", "10 mx.a.test.")], "_mta-sts.a.test": [("TXT", "v=STSv1; id=one")]}
    with (
        DnsServer(zone, zones=("test",)) as dns,
        PolicyServer(
            tmp_path, {"a.test": policy_text("enforce", "mx.a.test", max_age=60)}, extra_names=["mta-sts.nopolicy.test"]
        ) as sts,
    ):
        resolver = DnsResolver(ResolverSettings(nameservers=(dns.host,), port=dns.port, cache=False, lifetime=1))
        clock = Clock()
        policies = MtaStsPolicies(
            resolver,
            MtaStsSettings(ca_file=str(sts.ca_file), policy_host_override=sts.endpoint, timeout=2),
            clock=clock,
        )
        yield dns, sts, policies, clock


def test_cached_for_max_age_and_refetched_when_the_id_changes(setup):
    dns, sts, policies, clock = setup

    async def scenario():
        first = await policies.policy("a.test")
        assert first is not None and first.mode == "enforce" and first.mx == ("mx.a.test",)
        await policies.policy("a.test")
        assert sts.hits["a.test"] == 1, "the cached policy is used while the id is the same"
        sts.policies["a.test"] = policy_text("testing", "mx.a.test", max_age=60)
        dns.replace("_mta-sts.a.test", "TXT", ["v=STSv1; id=two"])
        assert (await policies.policy("a.test")).mode == "testing"
        assert sts.hits["a.test"] == 2
        clock.now += 61  # max_age passed: fetched again even with the same id
        await policies.policy("a.test")
        assert sts.hits["a.test"] == 3

    asyncio.run(scenario())


def test_a_failed_fetch_keeps_the_cached_policy_and_without_one_there_is_no_policy(setup):
    dns, sts, policies, _clock = setup

    async def scenario():
        assert (await policies.policy("a.test")).mode == "enforce"
        sts.policies["a.test"] = "<html>oops</html>"
        dns.replace("_mta-sts.a.test", "TXT", ["v=STSv1; id=three"])
        assert (await policies.policy("a.test")).mode == "enforce", "a broken web server does not drop the policy"
        assert policies.failures and "key: value" in policies.failures[-1][1]
        assert await policies.policy("none.test") is None  # no TXT record: no policy, no fetch
        dns.add("_mta-sts.nopolicy.test", "TXT", "v=STSv1; id=x")
        assert await policies.policy("nopolicy.test") is None  # TXT but the web server has none (404)
        assert "404" in policies.failures[-1][1]

    asyncio.run(scenario())


def test_the_policy_host_certificate_is_verified(setup, tmp_path: Path):
    _dns, sts, policies, _clock = setup
    untrusting = MtaStsPolicies(policies._resolver, MtaStsSettings(policy_host_override=sts.endpoint, timeout=2))
    assert asyncio.run(untrusting.policy("a.test")) is None
    assert "certificate" in untrusting.failures[-1][1].lower()
