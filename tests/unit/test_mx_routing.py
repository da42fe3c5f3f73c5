"""MX resolution decisions (RFC 5321 §5, RFC 7505), from DNS answers given as values."""

from __future__ import annotations

import random

from maildispatch.core.mx import (
    AddressPolicy,
    Destination,
    Found,
    LookupFailed,
    MxHost,
    MxRecord,
    NoData,
    NoRoute,
    NxDomain,
    destinations,
    group_by_domain,
    mx_hosts,
    recipient_domain,
)


def mx(*pairs: tuple[int, str]) -> Found[MxRecord]:
    return Found(tuple(MxRecord(p, e) for p, e in pairs))


def names(hosts) -> list[str]:
    return [h.name for h in hosts]


def test_hosts_are_tried_by_preference_lowest_first():
    hosts = mx_hosts("example.net", mx((20, "b.example.net"), (10, "a.example.net"), (30, "c.example.net")))
    assert names(hosts) == ["a.example.net", "b.example.net", "c.example.net"]


def test_equal_preferences_are_shuffled_by_the_given_rng_and_stay_behind_better_ones():
    answer = mx((10, "x1"), (10, "x2"), (10, "x3"), (10, "x4"), (5, "best"))
    orders = {tuple(names(mx_hosts("d.test", answer, random.Random(seed)))) for seed in range(30)}
    assert len(orders) > 1, "equal preferences are not shuffled"
    assert all(order[0] == "best" and sorted(order[1:]) == ["x1", "x2", "x3", "x4"] for order in orders)
    # the same seed gives the same order: tests can pin it
    assert mx_hosts("d.test", answer, random.Random(4)) == mx_hosts("d.test", answer, random.Random(4))


def test_at_most_five_hosts_are_tried():
    answer = mx(*[(i, f"mx{i}.d.test") for i in range(9)])
    assert names(mx_hosts("d.test", answer)) == [f"mx{i}.d.test" for i in range(5)]


def test_no_mx_means_the_domain_itself_is_the_implicit_mx():
    assert mx_hosts("nomx.test", NoData()) == [MxHost("nomx.test", 0, implicit=True)]


def test_a_null_mx_alone_refuses_mail_permanently_without_falling_back_to_a_records():
    route = mx_hosts("nullmx.test", mx((0, "")))
    assert isinstance(route, NoRoute)
    assert route.reply.status == "5.1.10" and route.reply.is_permanent
    assert "null MX" in route.reply.text


def test_a_null_mx_among_real_ones_is_ignored():
    assert names(mx_hosts("mixed.test", mx((0, ""), (10, "mx.mixed.test")))) == ["mx.mixed.test"]


def test_nxdomain_is_permanent_5_1_2():
    route = mx_hosts("nosuch.test", NxDomain())
    assert isinstance(route, NoRoute) and route.reply.status == "5.1.2"


def test_servfail_or_timeout_is_transient_4_4_3():
    route = mx_hosts("broken.test", LookupFailed("SERVFAIL from 127.0.0.1"))
    assert isinstance(route, NoRoute) and route.reply.status == "4.4.3" and not route.reply.is_permanent
    assert "SERVFAIL" in route.reply.text


def test_addresses_ipv4_before_ipv6_per_host_in_host_order():
    hosts = [MxHost("a.test", 10), MxHost("b.test", 20)]
    found = destinations(
        "d.test",
        hosts,
        {"a.test": (Found(("192.0.2.1",)), Found(("2001:db8::1",))), "b.test": (Found(("198.51.100.7",)), NoData())},
        AddressPolicy(allow_private=True),
    )
    assert found == [
        Destination("a.test", "192.0.2.1", 10),
        Destination("a.test", "2001:db8::1", 10),
        Destination("b.test", "198.51.100.7", 20),
    ]


def test_private_loopback_and_link_local_addresses_are_refused_unless_allowed():
    bad = ("10.1.2.3", "127.0.0.1", "169.254.169.254", "192.168.0.1", "::1", "fe80::1", "fd00::1", "0.0.0.0")
    hosts = [MxHost("evil.test", 10)]
    lookups = {"evil.test": (Found(bad[:5] + bad[7:]), Found(bad[5:7]))}
    route = destinations("evil.test", hosts, lookups, AddressPolicy())
    assert isinstance(route, NoRoute) and route.reply.status == "5.4.4"
    allowed = destinations("evil.test", hosts, lookups, AddressPolicy(allow_private=True))
    assert [d.address for d in allowed] == [
        "10.1.2.3",
        "127.0.0.1",
        "169.254.169.254",
        "192.168.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
    ]
    public = destinations(
        "ok.test", [MxHost("ok.test", 0)], {"ok.test": (Found(("8.8.8.8", "10.0.0.1")), NoData())}, AddressPolicy()
    )
    assert [d.address for d in public] == ["8.8.8.8"]


def test_at_most_twenty_addresses_per_domain():
    hosts = [MxHost(f"h{i}.test", i) for i in range(5)]
    lookups = {h.name: (Found(tuple(f"192.0.2.{10 * i + j}" for j in range(8))), NoData()) for i, h in enumerate(hosts)}
    found = destinations("d.test", hosts, lookups, AddressPolicy(allow_private=True))  # TEST-NET is not global
    assert len(found) == 20 and found[0].address == "192.0.2.0"


def test_no_address_for_any_host():
    failed = destinations(
        "d.test", [MxHost("a.test", 1)], {"a.test": (LookupFailed("timeout"), NoData())}, AddressPolicy()
    )
    assert isinstance(failed, NoRoute) and failed.reply.status == "4.4.3"
    missing = destinations("d.test", [MxHost("a.test", 1)], {"a.test": (NxDomain(), NxDomain())}, AddressPolicy())
    assert isinstance(missing, NoRoute) and missing.reply.status == "5.4.4" and "a.test" in missing.reply.text
    implicit = destinations("d.test", [MxHost("d.test", 0, implicit=True)], {}, AddressPolicy())
    assert isinstance(implicit, NoRoute) and implicit.reply.status == "5.1.2"


def test_recipients_are_grouped_by_domain_case_insensitively():
    recipients = ["a@Example.NET", "b@other.test", "c@example.net.", "broken"]
    assert group_by_domain(recipients) == {"example.net": [0, 2], "other.test": [1], "": [3]}
    assert recipient_domain("x@y@Z.test") == "z.test"
