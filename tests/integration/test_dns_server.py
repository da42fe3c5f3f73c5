"""The test DNS server answers as an authoritative server behind a recursive resolver would."""

from __future__ import annotations

import asyncio

import dns.asyncresolver
import dns.flags
import dns.message
import dns.query
import dns.resolver
import pytest

from tests.stack.dns_server import DnsServer, ptr_name

LONG_KEY = "v=DKIM1; k=rsa; p=" + "A" * 400

ZONE = {
    "example.test": [("MX", "10 mx1.example.test."), ("MX", "20 mx2.example.test."), ("TXT", "v=spf1 -all")],
    "mx1.example.test": [("A", "127.0.0.2")],
    "mx2.example.test": [("A", "127.0.0.3"), ("AAAA", "::1")],
    "nullmx.test": [("MX", "0 .")],
    "alias.test": [("CNAME", "hop.test.")],
    "hop.test": [("CNAME", "example.test.")],
    "sel._domainkey.example.test": [("TXT", LONG_KEY)],
    "_25._tcp.mx1.example.test": [("TLSA", "3 1 1 " + "ab" * 32)],
    ptr_name("127.0.0.2"): [("PTR", "mx1.example.test.")],
}


@pytest.fixture(scope="module")
def server():
    with DnsServer(ZONE, servfail={"broken.test"}, silent={"slow.test"}, authenticated={"mx1.example.test"}) as s:
        yield s


def resolver_for(server: DnsServer) -> dns.resolver.Resolver:
    r = dns.resolver.Resolver(configure=False)
    r.nameservers, r.port, r.timeout, r.lifetime = [server.host], server.port, 0.3, 0.6
    return r


def test_mx_a_aaaa_txt_ptr_tlsa_are_served(server):
    r = resolver_for(server)
    assert sorted((mx.preference, mx.exchange.to_text()) for mx in r.resolve("example.test", "MX")) == [
        (10, "mx1.example.test."),
        (20, "mx2.example.test."),
    ]
    assert [a.address for a in r.resolve("mx2.example.test", "AAAA")] == ["::1"]
    assert b"".join(r.resolve("sel._domainkey.example.test", "TXT")[0].strings).decode() == LONG_KEY
    assert r.resolve(ptr_name("127.0.0.2"), "PTR")[0].target.to_text() == "mx1.example.test."
    assert r.resolve("_25._tcp.mx1.example.test", "TLSA")[0].selector == 1


def test_null_mx_is_the_root_name(server):
    (mx,) = resolver_for(server).resolve("nullmx.test", "MX")
    assert (mx.preference, mx.exchange.to_text()) == (0, ".")


def test_unknown_name_is_nxdomain_and_missing_type_is_nodata(server):
    r = resolver_for(server)
    with pytest.raises(dns.resolver.NXDOMAIN):
        r.resolve("nosuch.test", "MX")
    with pytest.raises(dns.resolver.NoAnswer):
        r.resolve("mx1.example.test", "MX")


def test_servfail_outside_zones_and_silence(server):
    r = resolver_for(server)
    with pytest.raises(dns.resolver.NoNameservers):
        r.resolve("broken.test", "MX")
    with pytest.raises(dns.resolver.NoNameservers):
        r.resolve("example.com", "MX")
    with pytest.raises(dns.resolver.LifetimeTimeout):
        r.resolve("slow.test", "MX")


def test_cname_chain_is_followed(server):
    answer = resolver_for(server).resolve("alias.test", "MX")
    assert answer.canonical_name.to_text() == "example.test."
    assert len(answer) == 2


def test_ad_flag_for_authenticated_names_and_tcp(server):
    query = dns.message.make_query("mx1.example.test", "A")
    reply = dns.query.tcp(query, server.host, port=server.port, timeout=2)
    assert reply.flags & dns.flags.AD
    assert reply.answer[0][0].address == "127.0.0.2"
    reply = dns.query.udp(dns.message.make_query("example.test", "MX"), server.host, port=server.port, timeout=2)
    assert not reply.flags & dns.flags.AD


def test_records_added_while_running_and_queries_counted(server):
    async def lookup():
        r = dns.asyncresolver.Resolver(configure=False)
        r.nameservers, r.port = [server.host], server.port
        return await r.resolve("late.test", "A")

    server.add("late.test", "A", "127.0.0.9")
    try:
        assert asyncio.run(lookup())[0].address == "127.0.0.9"
        assert server.queried("late.test", "A") == 1
    finally:
        server.remove("late.test")


def test_stop_frees_the_port():
    with DnsServer({"a.test": [("A", "127.0.0.1")]}) as s:
        port = s.port
    r = dns.resolver.Resolver(configure=False)
    r.nameservers, r.port, r.lifetime = ["127.0.0.1"], port, 0.3
    with pytest.raises(dns.exception.DNSException):
        r.resolve("a.test", "A")


def test_bad_record_is_refused_at_configuration():
    with pytest.raises(dns.exception.SyntaxError):
        DnsServer({"a.test": [("MX", "not-a-number mx.test.")]})
